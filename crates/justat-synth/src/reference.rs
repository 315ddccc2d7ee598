//! The reference data the generator draws from: the shipped codelists, and the calibration
//! files embedded from `data/` (court caseload weights, offence legal classes and frequencies,
//! prison establishments' types and places).

use justat_model::codelist::{Codelist, shipped_codelist};

/// A tribunal judiciaire.
#[derive(Debug, Clone)]
pub(crate) struct Court {
    pub(crate) code: String,
    pub(crate) label: String,
    /// Relative caseload (roughly the population of its ressort, in thousands).
    pub(crate) weight: f64,
}

/// A leaf of `CL_OFFENCE`.
#[derive(Debug, Clone)]
pub(crate) struct Offence {
    pub(crate) code: String,
    /// `C`, `D` or `X`.
    pub(crate) legal_class: String,
    /// Index of its group in [`GROUPS`].
    pub(crate) group: usize,
    /// Relative frequency within its group.
    pub(crate) weight: f64,
}

/// A prison establishment.
#[derive(Debug, Clone)]
pub(crate) struct Establishment {
    pub(crate) code: String,
    /// A code of `CL_ESTABLISHMENT_TYPE`.
    pub(crate) kind: String,
    pub(crate) places: f64,
    pub(crate) women_share: f64,
    pub(crate) minor_share: f64,
}

/// The publication groups of `CL_OFFENCE`, in the order of the calibration tables.
pub(crate) const GROUPS: [&str; 7] = [
    "G_BIENS",
    "G_PERSONNE",
    "G_CIRCULATION",
    "G_AUTORITE",
    "G_STUPEFIANTS",
    "G_ECOFI",
    "G_ENVIRONNEMENT",
];

const COURTS_CSV: &str = include_str!("../data/courts.csv");
const OFFENCES_CSV: &str = include_str!("../data/offences.csv");
const ESTABLISHMENTS_CSV: &str = include_str!("../data/establishments.csv");

/// Everything the generator needs, loaded once per call.
#[derive(Debug)]
pub(crate) struct Reference {
    pub(crate) courts: Vec<Court>,
    pub(crate) offences: Vec<Offence>,
    pub(crate) establishments: Vec<Establishment>,
}

fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').collect())
}

fn number(s: &str, what: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|_| panic!("embedded {what}: `{s}` is not a number"))
}

fn codelist(id: &str) -> Codelist {
    shipped_codelist(id).unwrap_or_else(|| panic!("codelist {id} is not shipped"))
}

impl Reference {
    /// Loads the embedded data. The files are part of the crate and checked by its tests, so
    /// an inconsistency is a bug, reported by a panic naming it.
    pub(crate) fn load() -> Reference {
        let court_list = codelist("CL_COURT");
        let courts = rows(COURTS_CSV)
            .map(|r| {
                let code = r[0].to_string();
                let label = court_list
                    .get(&code)
                    .unwrap_or_else(|| panic!("courts.csv: {code} is not in CL_COURT"))
                    .label
                    .clone();
                Court {
                    code,
                    label,
                    weight: number(r[1], "courts.csv"),
                }
            })
            .collect();
        let offence_list = codelist("CL_OFFENCE");
        let offences = rows(OFFENCES_CSV)
            .map(|r| {
                let code = r[0].to_string();
                let parent = offence_list
                    .parent(&code)
                    .unwrap_or_else(|| panic!("offences.csv: {code} is not in CL_OFFENCE"));
                Offence {
                    group: GROUPS
                        .iter()
                        .position(|g| *g == parent)
                        .unwrap_or_else(|| panic!("{code}: unknown group {parent}")),
                    code,
                    legal_class: r[1].to_string(),
                    weight: number(r[2], "offences.csv"),
                }
            })
            .collect();
        let establishments = rows(ESTABLISHMENTS_CSV)
            .map(|r| Establishment {
                code: r[0].to_string(),
                kind: r[1].to_string(),
                places: number(r[2], "establishments.csv"),
                women_share: number(r[3], "establishments.csv"),
                minor_share: number(r[4], "establishments.csv"),
            })
            .collect();
        Reference {
            courts,
            offences,
            establishments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_files_cover_exactly_the_leaves_of_their_codelists() {
        let r = Reference::load();
        let leaves = |id: &str| -> Vec<String> {
            codelist(id)
                .leaves()
                .into_iter()
                .map(String::from)
                .collect()
        };
        let codes = |v: Vec<&String>| -> Vec<String> { v.into_iter().cloned().collect() };
        assert_eq!(
            codes(r.courts.iter().map(|c| &c.code).collect()),
            leaves("CL_COURT")
        );
        assert_eq!(
            codes(r.offences.iter().map(|c| &c.code).collect()),
            leaves("CL_OFFENCE")
        );
        assert_eq!(
            codes(r.establishments.iter().map(|c| &c.code).collect()),
            leaves("CL_ESTABLISHMENT")
        );
        let classes = codelist("CL_LEGAL_CLASS");
        assert!(r.offences.iter().all(|o| classes.is_leaf(&o.legal_class)));
        let types = codelist("CL_ESTABLISHMENT_TYPE");
        assert!(r.establishments.iter().all(|e| types.is_leaf(&e.kind)));
    }

    #[test]
    fn establishment_labels_name_their_type() {
        let r = Reference::load();
        let list = codelist("CL_ESTABLISHMENT");
        for e in &r.establishments {
            let label = &list.get(&e.code).unwrap().label;
            let prefix = match e.kind.as_str() {
                "MA" => "Maison d'arrêt",
                "CD" => "Centre de détention",
                "MC" => "Maison centrale",
                "CP" => "Centre pénitentiaire",
                "CSL" => "Centre de semi-liberté",
                _ => "Établissement pénitentiaire pour mineurs",
            };
            assert!(label.starts_with(prefix), "{} {label}", e.kind);
        }
        let places: f64 = r.establishments.iter().map(|e| e.places).sum();
        assert!((60_000.0..64_000.0).contains(&places), "{places}");
    }
}

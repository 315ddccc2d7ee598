//! An indicator's versioned definition (`indicators/<id>.toml`), checked when loaded against
//! the cubes the chains produce: an unknown cube, measure or dimension, or a formula that does
//! not parse, is refused at its file and line.

use crate::formula::{Formula, FormulaError};
use justat_model::cube::CubeSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

/// The largest indicator file accepted, in bytes.
pub const MAX_FILE_LEN: usize = 64 * 1024;

/// An administration of the ministry an indicator is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Administration {
    /// Direction des affaires criminelles et des grâces.
    #[serde(rename = "DACG")]
    Dacg,
    /// Direction des affaires civiles et du sceau.
    #[serde(rename = "DACS")]
    Dacs,
    /// Direction de l'administration pénitentiaire.
    #[serde(rename = "DAP")]
    Dap,
    /// Direction de la protection judiciaire de la jeunesse.
    #[serde(rename = "DPJJ")]
    Dpjj,
    /// Direction des services judiciaires.
    #[serde(rename = "DSJ")]
    Dsj,
    /// Service de l'accès au droit et à la justice et de l'aide aux victimes.
    #[serde(rename = "SADJAV")]
    Sadjav,
}

impl Administration {
    /// Every administration, in display order.
    pub const ALL: [Administration; 6] = [
        Administration::Dacg,
        Administration::Dacs,
        Administration::Dap,
        Administration::Dpjj,
        Administration::Dsj,
        Administration::Sadjav,
    ];

    /// Its acronym, as in files, addresses and the database.
    pub fn code(self) -> &'static str {
        match self {
            Administration::Dacg => "DACG",
            Administration::Dacs => "DACS",
            Administration::Dap => "DAP",
            Administration::Dpjj => "DPJJ",
            Administration::Dsj => "DSJ",
            Administration::Sadjav => "SADJAV",
        }
    }

    /// Its name in French.
    pub fn name(self) -> &'static str {
        match self {
            Administration::Dacg => "Direction des affaires criminelles et des grâces",
            Administration::Dacs => "Direction des affaires civiles et du sceau",
            Administration::Dap => "Direction de l'administration pénitentiaire",
            Administration::Dpjj => "Direction de la protection judiciaire de la jeunesse",
            Administration::Dsj => "Direction des services judiciaires",
            Administration::Sadjav => {
                "Service de l'accès au droit et à la justice et de l'aide aux victimes"
            }
        }
    }

    /// The administration of an acronym, in any case.
    pub fn parse(code: &str) -> Option<Administration> {
        Administration::ALL
            .into_iter()
            .find(|a| a.code().eq_ignore_ascii_case(code))
    }
}

impl fmt::Display for Administration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What an indicator is: management information or a series of official statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Nature {
    /// Management information for steering, on short notice; not official statistics.
    #[serde(rename = "pilotage")]
    Pilotage,
    /// A series the service publishes on its calendar: never shown before its release.
    #[serde(rename = "statistique publique")]
    StatistiquePublique,
}

impl Nature {
    /// Its French label.
    pub fn label(self) -> &'static str {
        match self {
            Nature::Pilotage => "pilotage",
            Nature::StatistiquePublique => "statistique publique",
        }
    }
}

/// A geographic level of the breakdown, in the courts' codelist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum AreaLevel {
    /// The whole country (the codelist's root).
    #[serde(rename = "France")]
    France,
    /// A court of appeal (the root's children).
    #[serde(rename = "cour d'appel")]
    CourtOfAppeal,
    /// A court (the leaves).
    #[serde(rename = "tribunal")]
    Court,
}

impl AreaLevel {
    /// Its depth in the codelist (0 is the root).
    pub fn depth(self) -> usize {
        self as usize
    }

    /// Its French label.
    pub fn label(self) -> &'static str {
        match self {
            AreaLevel::France => "France",
            AreaLevel::CourtOfAppeal => "cour d'appel",
            AreaLevel::Court => "tribunal",
        }
    }
}

/// A time granularity of the breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Granularity {
    /// Months, `2024-03`.
    #[serde(rename = "mois")]
    Month,
    /// Quarters, `2024-T1`.
    #[serde(rename = "trimestre")]
    Quarter,
    /// Years, `2024`.
    #[serde(rename = "année")]
    Year,
}

impl Granularity {
    /// Every granularity, finest first.
    pub const ALL: [Granularity; 3] = [Granularity::Month, Granularity::Quarter, Granularity::Year];

    /// Its French label, as in files and forms.
    pub fn label(self) -> &'static str {
        match self {
            Granularity::Month => "mois",
            Granularity::Quarter => "trimestre",
            Granularity::Year => "année",
        }
    }

    /// The granularity of a label.
    pub fn parse(label: &str) -> Option<Granularity> {
        Granularity::ALL.into_iter().find(|g| g.label() == label)
    }

    /// The period of this granularity that holds the month `month` (`YYYY-MM`); `None` for
    /// a text that is not a month.
    pub fn period_of(self, month: &str) -> Option<String> {
        let (year, m) = month.split_once('-')?;
        let m: u32 = m.parse().ok()?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) || !(1..=12).contains(&m) {
            return None;
        }
        Some(match self {
            Granularity::Month => format!("{year}-{m:02}"),
            Granularity::Quarter => format!("{year}-T{}", (m - 1) / 3 + 1),
            Granularity::Year => year.to_string(),
        })
    }
}

/// How months add up into quarters and years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TimeAggregation {
    /// Flows (cases, decisions, days): the months' measures are summed.
    #[serde(rename = "somme")]
    Sum,
    /// Stocks (devices active at the month's end): the last month's measures.
    #[serde(rename = "fin de période")]
    EndOfPeriod,
}

/// Which way a target is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Direction {
    /// The value should be at least the target.
    #[serde(rename = "au moins")]
    AtLeast,
    /// The value should be at most the target.
    #[serde(rename = "au plus")]
    AtMost,
}

/// A target the value is compared with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The target value, in the indicator's unit.
    pub value: f64,
    /// Which way it is met.
    pub direction: Direction,
    /// Where it comes from, in French (« CJPM, art. L. 521-9 »).
    pub label: String,
}

impl Target {
    /// Whether `value` meets the target.
    pub fn is_met(&self, value: f64) -> bool {
        match self.direction {
            Direction::AtLeast => value >= self.value,
            Direction::AtMost => value <= self.value,
        }
    }
}

/// A loaded indicator, checked against its cube.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    /// Its id, the file's name without `.toml`.
    pub id: String,
    /// Its version: bump it whenever what it measures changes.
    pub version: u32,
    /// Its short French label.
    pub label: String,
    /// Its definition, in French, as the definition page shows it.
    pub definition: String,
    /// The cube (a chain's cube step name) it is computed from.
    pub cube: String,
    /// The cube's geographic dimension (coded in `CL_COURT`).
    pub dimension: String,
    /// The measure counting the cases behind a value: a court's value whose count is small
    /// is protected by the secret statistique.
    pub count: String,
    /// The formula over the cube's measures.
    pub formula: Formula,
    /// The formula as written.
    pub formula_text: String,
    /// The unit shown after a value (`%`, `jours`, `affaires`).
    pub unit: String,
    /// Decimals shown (0–3).
    pub decimals: u8,
    /// Management information or official statistics.
    pub nature: Nature,
    /// The administrations it is made for (at least one).
    pub administrations: Vec<Administration>,
    /// The geographic levels offered, from the coarsest.
    pub areas: Vec<AreaLevel>,
    /// The time granularities offered, from the finest.
    pub periods: Vec<Granularity>,
    /// How months add up.
    pub time_aggregation: TimeAggregation,
    /// Its target, if it has one.
    pub target: Option<Target>,
    /// For official statistics: the slugs of the publications whose versions release the
    /// series (one edition after another: `chiffres-cles-2025`, then `chiffres-cles-2026`);
    /// empty for management information.
    pub publications: Vec<String>,
}

impl Indicator {
    /// Whether `administration` may see it.
    pub fn is_for(&self, administration: Administration) -> bool {
        self.administrations.contains(&administration)
    }
}

/// The cubes indicators may be computed from: each cube's measures and dimensions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    cubes: BTreeMap<String, (Vec<String>, Vec<String>)>,
}

impl Catalog {
    /// The catalog of these cube schemas (the shipped chains' cube steps, or stored cubes).
    pub fn from_schemas<'a>(schemas: impl IntoIterator<Item = &'a CubeSchema>) -> Catalog {
        let mut c = Catalog::default();
        for s in schemas {
            c.add(
                &s.name,
                s.measures.iter().map(|m| m.name.clone()).collect(),
                s.dimensions.iter().map(|d| d.column.clone()).collect(),
            );
        }
        c
    }

    /// Adds a cube with its measures and dimensions.
    pub fn add(&mut self, cube: &str, measures: Vec<String>, dimensions: Vec<String>) {
        self.cubes.insert(cube.to_string(), (measures, dimensions));
    }

    /// The catalog of the cube steps of these chain files (`chains/*.toml` texts); a text
    /// that is not a chain with a cube step adds nothing (the engine checks chains).
    pub fn from_chain_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Catalog {
        let mut c = Catalog::default();
        for text in texts {
            let Ok(t) = text.parse::<toml::Table>() else {
                continue;
            };
            let steps = t.get("steps").and_then(|s| s.as_array());
            for step in steps.into_iter().flatten() {
                if step.get("kind").and_then(|k| k.as_str()) != Some("cube") {
                    continue;
                }
                let names = |key: &str, field: &str| -> Vec<String> {
                    step.get(key)
                        .and_then(|v| v.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|m| m.get(field).and_then(|n| n.as_str()).map(String::from))
                        .collect()
                };
                if let Some(name) = step.get("name").and_then(|n| n.as_str()) {
                    c.add(
                        name,
                        names("measures", "name"),
                        names("dimensions", "column"),
                    );
                }
            }
        }
        c
    }

    /// The catalog of the shipped chains the indicators read ([`CHAINS`]).
    pub fn shipped_chains() -> Catalog {
        Catalog::from_chain_texts(CHAINS.iter().copied())
    }

    fn cube(&self, name: &str) -> Option<&(Vec<String>, Vec<String>)> {
        self.cubes.get(name)
    }

    fn names(&self) -> String {
        self.cubes.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Why an indicator file was refused: where, as an editor shows it, and why, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LoadError {
    /// The file, as given.
    pub file: String,
    /// The line (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    id: Spanned<String>,
    version: u32,
    label: String,
    definition: String,
    cube: Spanned<String>,
    dimension: Spanned<String>,
    count: Spanned<String>,
    formula: Spanned<String>,
    unit: String,
    decimals: Spanned<u8>,
    nature: Nature,
    administrations: Spanned<Vec<Administration>>,
    areas: Spanned<Vec<AreaLevel>>,
    periods: Spanned<Vec<Granularity>>,
    time_aggregation: TimeAggregation,
    target: Option<Target>,
    publication: Option<Spanned<OneOrMany>>,
}

/// `publication = "slug"` or `publication = ["slug", …]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The line (1-based) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parses and checks an indicator file; `origin` names it in errors (`indicators/x.toml`).
pub fn parse(text: &str, origin: &str, catalog: &Catalog) -> Result<Indicator, LoadError> {
    let at = |offset: usize, message: String| LoadError {
        file: origin.to_string(),
        line: line_of(text, offset),
        message,
    };
    if text.len() > MAX_FILE_LEN {
        return Err(at(
            0,
            format!("fichier trop long (plus de {} Kio)", MAX_FILE_LEN / 1024),
        ));
    }
    let raw: RawIndicator = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        at(offset, e.message().trim().to_string())
    })?;
    let id = raw.id.get_ref();
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !id_ok {
        return Err(at(
            raw.id.span().start,
            format!(
                "identifiant « {id} » invalide : lettres minuscules, chiffres et _, 64 au plus"
            ),
        ));
    }
    if let Some(stem) = origin
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".toml"))
        && stem != id
    {
        return Err(at(
            raw.id.span().start,
            format!("l'identifiant « {id} » doit être le nom du fichier (« {stem}.toml »)"),
        ));
    }
    let Some((measures, dimensions)) = catalog.cube(raw.cube.get_ref()) else {
        return Err(at(
            raw.cube.span().start,
            format!(
                "cube « {} » inconnu : les cubes des chaînes sont {}",
                raw.cube.get_ref(),
                catalog.names()
            ),
        ));
    };
    if !dimensions.contains(raw.dimension.get_ref()) {
        return Err(at(
            raw.dimension.span().start,
            format!(
                "le cube « {} » n'a pas de dimension « {} » (il a : {})",
                raw.cube.get_ref(),
                raw.dimension.get_ref(),
                dimensions.join(", ")
            ),
        ));
    }
    let unknown_measure = |name: &str| {
        format!(
            "mesure « {name} » inconnue du cube « {} » (il a : {})",
            raw.cube.get_ref(),
            measures.join(", ")
        )
    };
    if !measures.contains(raw.count.get_ref()) {
        return Err(at(
            raw.count.span().start,
            unknown_measure(raw.count.get_ref()),
        ));
    }
    let formula_text = raw.formula.get_ref().clone();
    // Where the formula's text starts in the file: after its opening quote, or after `"""`
    // and the newline TOML trims, so that an error in a multi-line formula is on its line.
    let start = raw.formula.span().start;
    let quoted = &text[start..raw.formula.span().end.min(text.len())];
    let content_start = if quoted.starts_with("\"\"\"") || quoted.starts_with("'''") {
        let after = &quoted[3..];
        start
            + 3
            + if after.starts_with("\r\n") {
                2
            } else {
                usize::from(after.starts_with('\n'))
            }
    } else {
        start + 1
    };
    let formula_at = |offset: usize| content_start + offset;
    let formula = Formula::parse(&formula_text).map_err(|FormulaError { offset, message }| {
        at(formula_at(offset), format!("formule : {message}"))
    })?;
    for m in formula.measures() {
        if !measures.iter().any(|x| x == m) {
            let offset = formula_text.find(m).unwrap_or(0);
            return Err(at(
                formula_at(offset),
                format!("formule : {}", unknown_measure(m)),
            ));
        }
    }
    if *raw.decimals.get_ref() > 3 {
        return Err(at(
            raw.decimals.span().start,
            "decimals va de 0 à 3".to_string(),
        ));
    }
    let non_empty = |span: std::ops::Range<usize>, empty: bool, what: &str| {
        if empty {
            Err(at(span.start, format!("{what} : au moins un")))
        } else {
            Ok(())
        }
    };
    non_empty(
        raw.administrations.span(),
        raw.administrations.get_ref().is_empty(),
        "administrations",
    )?;
    non_empty(raw.areas.span(), raw.areas.get_ref().is_empty(), "areas")?;
    non_empty(
        raw.periods.span(),
        raw.periods.get_ref().is_empty(),
        "periods",
    )?;
    let publications = match (raw.nature, raw.publication) {
        (Nature::StatistiquePublique, Some(p)) => {
            let start = p.span().start;
            let slugs = match p.into_inner() {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            if slugs.is_empty() {
                return Err(at(
                    start,
                    "une série de statistique publique nomme au moins une publication".to_string(),
                ));
            }
            if let Some(bad) = slugs
                .iter()
                .find(|s| !justat_model::publication::is_valid_slug(s))
            {
                return Err(at(
                    start,
                    format!("« {bad} » n'est pas l'adresse d'une publication"),
                ));
            }
            slugs
        }
        (Nature::StatistiquePublique, None) => {
            return Err(at(
                0,
                "une série de statistique publique nomme la publication qui la diffuse (publication = \"…\")"
                    .to_string(),
            ));
        }
        (Nature::Pilotage, Some(p)) => {
            return Err(at(
                p.span().start,
                "un indicateur de pilotage n'est pas diffusé par une publication : retirez publication ou choisissez nature = \"statistique publique\"".to_string(),
            ));
        }
        (Nature::Pilotage, None) => Vec::new(),
    };
    let mut administrations = raw.administrations.into_inner();
    administrations.sort_unstable();
    administrations.dedup();
    let mut areas = raw.areas.into_inner();
    areas.sort_unstable();
    areas.dedup();
    let mut periods = raw.periods.into_inner();
    periods.sort_unstable();
    periods.dedup();
    Ok(Indicator {
        id: raw.id.into_inner(),
        version: raw.version,
        label: raw.label,
        definition: raw.definition,
        cube: raw.cube.into_inner(),
        dimension: raw.dimension.into_inner(),
        count: raw.count.into_inner(),
        formula,
        formula_text,
        unit: raw.unit,
        decimals: raw.decimals.into_inner(),
        nature: raw.nature,
        administrations,
        areas,
        periods,
        time_aggregation: raw.time_aggregation,
        target: raw.target,
        publications,
    })
}

/// The shipped chains whose cubes the indicators read (the engine lists them too, in
/// `justat_engine::chain::SHIPPED`; `justat-publish` checks both give the same catalog).
pub const CHAINS: &[&str] = &[
    include_str!("../../../chains/cjpm_delays.toml"),
    include_str!("../../../chains/protection_orders.toml"),
    include_str!("../../../chains/protection_devices.toml"),
];

/// The indicators shipped with Justat, as `(file, text)`.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "indicators/cjpm_culpabilite_3_mois.toml",
        include_str!("../../../indicators/cjpm_culpabilite_3_mois.toml"),
    ),
    (
        "indicators/cjpm_delai_culpabilite_moyen.toml",
        include_str!("../../../indicators/cjpm_delai_culpabilite_moyen.toml"),
    ),
    (
        "indicators/cjpm_delai_culpabilite_median.toml",
        include_str!("../../../indicators/cjpm_delai_culpabilite_median.toml"),
    ),
    (
        "indicators/cjpm_sanction_6_9_mois.toml",
        include_str!("../../../indicators/cjpm_sanction_6_9_mois.toml"),
    ),
    (
        "indicators/cjpm_mejp.toml",
        include_str!("../../../indicators/cjpm_mejp.toml"),
    ),
    (
        "indicators/cjpm_detention_provisoire.toml",
        include_str!("../../../indicators/cjpm_detention_provisoire.toml"),
    ),
    (
        "indicators/cjpm_saisines.toml",
        include_str!("../../../indicators/cjpm_saisines.toml"),
    ),
    (
        "indicators/op_decisions_6_jours.toml",
        include_str!("../../../indicators/op_decisions_6_jours.toml"),
    ),
    (
        "indicators/op_delai_median.toml",
        include_str!("../../../indicators/op_delai_median.toml"),
    ),
    (
        "indicators/op_demandes.toml",
        include_str!("../../../indicators/op_demandes.toml"),
    ),
    (
        "indicators/op_taux_acceptation.toml",
        include_str!("../../../indicators/op_taux_acceptation.toml"),
    ),
    (
        "indicators/tgd_actifs.toml",
        include_str!("../../../indicators/tgd_actifs.toml"),
    ),
    (
        "indicators/bar_actifs.toml",
        include_str!("../../../indicators/bar_actifs.toml"),
    ),
];

/// Parses every shipped indicator against `catalog`; the first refusal is returned.
pub fn shipped(catalog: &Catalog) -> Result<Vec<Indicator>, LoadError> {
    SHIPPED
        .iter()
        .map(|(file, text)| parse(text, file, catalog))
        .collect()
}

//! The work programme of a year, in the layout the Cnis uses for a ministerial statistical
//! service: the synthesis, the new work (new surveys; new uses of administrative files; other
//! new work), the permanent operations, and the Cnis's opinions with the service's response
//! to each.
//!
//! What the head of service types is read here ([`OperationForm::read`],
//! [`OpinionForm::read`], [`read_synthesis`]): every field bounded, every problem a French
//! message naming its field, all of them at once so that the form comes back with each beside
//! its field and nothing lost.

use crate::publication::{Collection, is_valid_slug};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The first and last years a programme may be written for.
pub const YEARS: std::ops::RangeInclusive<i16> = 2000..=2100;
/// The longest title of an operation or an opinion, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest description, reason or response, in characters.
pub const MAX_TEXT_CHARS: usize = 4_000;
/// The longest synthesis of a year, in characters.
pub const MAX_SYNTHESIS_CHARS: usize = 20_000;
/// The longest reference of an opinion (`2025_12345_DG75-L002`), in characters.
pub const MAX_REFERENCE_CHARS: usize = 60;
/// The most operations one opinion may be answered by.
pub const MAX_ANSWERING_OPERATIONS: usize = 50;

macro_rules! stored_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal, $fr:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $v,)+ }
        impl $name {
            /// Every value, in the order forms list them.
            pub const ALL: &'static [$name] = &[$($name::$v,)+];
            /// The stable identifier stored and used in forms.
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $s,)+ } }
            /// The French label shown.
            pub fn label_fr(self) -> &'static str { match self { $($name::$v => $fr,)+ } }
            /// The value stored as `s`, if it is one.
            pub fn parse(s: &str) -> Option<Self> { Self::ALL.iter().copied().find(|v| v.as_str() == s) }
        }
    };
}

stored_enum!(
    /// What an operation of the programme is.
    OperationKind {
        /// A survey (with its campaign once there is one).
        Survey = "survey", "Enquête";
        /// An exploitation of a management application: a processing chain.
        Exploitation = "exploitation", "Exploitation d’un fichier administratif";
        /// A publication, with its calendar entries.
        Publication = "publication", "Publication";
        /// A study.
        Study = "study", "Étude";
    }
);

stored_enum!(
    /// Where an operation stands.
    OperationStatus {
        /// Not started.
        Planned = "planned", "Prévue";
        /// Under way.
        Running = "running", "En cours";
        /// Done.
        Done = "done", "Réalisée";
        /// Put off to a later year (its reason is required).
        Postponed = "postponed", "Reportée";
        /// Given up (its reason is required).
        Abandoned = "abandoned", "Abandonnée";
    }
);

impl OperationStatus {
    /// Whether this status must say why: a postponement or an abandonment is explained to the
    /// Cnis and the public.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            OperationStatus::Postponed | OperationStatus::Abandoned
        )
    }
}

stored_enum!(
    /// Whether an operation is new this year or a permanent one.
    Novelty {
        /// New, renewed or less than yearly work: presented to the Cnis as new work.
        New = "new", "Nouvelle";
        /// A permanent operation, listed in the programme's annex.
        Permanent = "permanent", "Permanente";
    }
);

stored_enum!(
    /// The kinds of opinion the Cnis gives.
    OpinionKind {
        /// The avis d'opportunité of a survey, by the president of the commission.
        Opportunity = "opportunity", "Avis d’opportunité";
        /// The Comité du label's opinion (label of general interest and statistical quality).
        Label = "label", "Avis du Comité du label";
        /// The visa of a survey (its number, for its year).
        Visa = "visa", "Visa";
        /// A medium-term opinion of the Cnis commission.
        MediumTerm = "medium_term", "Avis de moyen terme de la commission";
    }
);

/// The section of the Cnis's layout an operation is presented in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Section {
    /// 2.1 New, renewed or less than yearly surveys.
    NewSurveys,
    /// 2.2 New uses of administrative files.
    NewAdministrativeFiles,
    /// 2.3 Other new work: publications and studies.
    OtherNewWork,
    /// The annex: permanent operations.
    Permanent,
}

impl Section {
    /// Every section, in the programme's order.
    pub const ALL: [Section; 4] = [
        Section::NewSurveys,
        Section::NewAdministrativeFiles,
        Section::OtherNewWork,
        Section::Permanent,
    ];

    /// The section of an operation of this kind and novelty.
    pub fn of(kind: OperationKind, novelty: Novelty) -> Section {
        match (novelty, kind) {
            (Novelty::Permanent, _) => Section::Permanent,
            (Novelty::New, OperationKind::Survey) => Section::NewSurveys,
            (Novelty::New, OperationKind::Exploitation) => Section::NewAdministrativeFiles,
            (Novelty::New, OperationKind::Publication | OperationKind::Study) => {
                Section::OtherNewWork
            }
        }
    }

    /// Its heading, numbered as the Cnis's layout numbers it.
    pub fn heading_fr(self) -> &'static str {
        match self {
            Section::NewSurveys => {
                "2.1 Enquêtes nouvelles, rénovées ou de périodicité supérieure à l’année"
            }
            Section::NewAdministrativeFiles => {
                "2.2 Nouvelles exploitations de fichiers administratifs"
            }
            Section::OtherNewWork => "2.3 Autres travaux nouveaux : publications et études",
            Section::Permanent => "Annexe : opérations permanentes",
        }
    }

    /// Its anchor on the page.
    pub fn anchor(self) -> &'static str {
        match self {
            Section::NewSurveys => "enquetes-nouvelles",
            Section::NewAdministrativeFiles => "fichiers-administratifs",
            Section::OtherNewWork => "autres-travaux",
            Section::Permanent => "operations-permanentes",
        }
    }
}

/// What an operation is attached to, by its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Link {
    /// Nothing (a study; a survey before its campaign exists).
    None,
    /// A survey's campaign, by its number.
    Campaign {
        /// The campaign's number.
        campaign: i64,
    },
    /// A processing chain, by its id.
    Chain {
        /// The chain's id (`cjpm_delays`).
        chain: String,
    },
    /// A publication, whose calendar entries are found by its collection and slug.
    Publication {
        /// Its collection.
        collection: Collection,
        /// Its slug.
        slug: String,
    },
}

/// An operation of a year's programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// The programme's year.
    pub year: i16,
    /// What it is.
    pub kind: OperationKind,
    /// New or permanent.
    pub novelty: Novelty,
    /// Its title.
    pub title: String,
    /// What it does and why.
    pub description: String,
    /// Where it stands.
    pub status: OperationStatus,
    /// Why it stands there (required when postponed or abandoned).
    pub status_reason: Option<String>,
    /// What it is attached to.
    pub link: Link,
}

impl Operation {
    /// The section it is presented in.
    pub fn section(&self) -> Section {
        Section::of(self.kind, self.novelty)
    }
}

/// An opinion of the Cnis, with the service's response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opinion {
    /// The programme's year it is filed under.
    pub year: i16,
    /// Its kind.
    pub kind: OpinionKind,
    /// Its reference (a visa number, an opinion's number).
    pub reference: String,
    /// The day it was given.
    pub issued_on: Date,
    /// What it says, in short.
    pub summary: String,
    /// The service's response (none yet: « réponse à venir »).
    pub response: Option<String>,
    /// The operations (by number) that answer it.
    pub operations: Vec<i64>,
}

/// A problem with one field of a form, in French.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The form's field (its `name`).
    pub field: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

fn problem(errors: &mut Vec<FieldError>, field: &'static str, message: String) {
    errors.push(FieldError { field, message });
}

/// A text field trimmed, checked against its length; `None` when empty.
fn text(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Option<String> {
    let t = value.trim();
    if t.is_empty() {
        if required {
            problem(errors, field, "ce champ est obligatoire".into());
        }
        return None;
    }
    let n = t.chars().count();
    if n > max {
        problem(
            errors,
            field,
            format!("{n} caractères : {max} au plus, raccourcissez le texte"),
        );
        return None;
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        problem(
            errors,
            field,
            "le texte contient un caractère de contrôle".into(),
        );
        return None;
    }
    Some(t.to_string())
}

/// A programme's year as typed in an address or a form.
pub fn read_year(s: &str) -> Option<i16> {
    let y: i16 = s.trim().parse().ok()?;
    (s.trim().len() == 4 && YEARS.contains(&y)).then_some(y)
}

fn year_field(errors: &mut Vec<FieldError>, value: &str) -> i16 {
    read_year(value).unwrap_or_else(|| {
        problem(
            errors,
            "year",
            format!(
                "« {} » n’est pas une année de programme ({} à {})",
                value.trim(),
                YEARS.start(),
                YEARS.end()
            ),
        );
        *YEARS.start()
    })
}

fn choice<T: Copy>(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    fallback: T,
) -> T {
    parse(value.trim()).unwrap_or_else(|| {
        problem(errors, field, "choisissez une valeur de la liste".into());
        fallback
    })
}

/// The synthesis of a year as typed, or what is wrong with it (it may be empty).
pub fn read_synthesis(value: &str) -> Result<String, FieldError> {
    let mut errors = Vec::new();
    let t = text(&mut errors, "synthesis", value, MAX_SYNTHESIS_CHARS, false);
    match errors.pop() {
        Some(e) => Err(e),
        None => Ok(t.unwrap_or_default()),
    }
}

/// Whether a chain id is well formed (the shipped chains' ids: lower-case letters, digits, `_`).
pub fn is_chain_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// An operation's form as typed: every field a string, kept as is to show it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OperationForm {
    /// The programme's year.
    pub year: String,
    /// [`OperationKind::as_str`].
    pub kind: String,
    /// [`Novelty::as_str`].
    pub novelty: String,
    /// The title.
    pub title: String,
    /// The description.
    pub description: String,
    /// [`OperationStatus::as_str`].
    pub status: String,
    /// The status's reason.
    pub status_reason: String,
    /// A survey's campaign number (may be empty).
    pub campaign: String,
    /// An exploitation's chain id.
    pub chain: String,
    /// A publication's collection slug.
    pub collection: String,
    /// A publication's slug.
    pub slug: String,
}

impl OperationForm {
    /// The form filled with an operation, to edit it.
    pub fn of(op: &Operation) -> Self {
        let mut f = OperationForm {
            year: op.year.to_string(),
            kind: op.kind.as_str().into(),
            novelty: op.novelty.as_str().into(),
            title: op.title.clone(),
            description: op.description.clone(),
            status: op.status.as_str().into(),
            status_reason: op.status_reason.clone().unwrap_or_default(),
            ..Default::default()
        };
        match &op.link {
            Link::None => {}
            Link::Campaign { campaign } => f.campaign = campaign.to_string(),
            Link::Chain { chain } => f.chain = chain.clone(),
            Link::Publication { collection, slug } => {
                f.collection = collection.slug().into();
                f.slug = slug.clone();
            }
        }
        f
    }

    /// The operation this form describes, or every problem with it.
    pub fn read(&self) -> Result<Operation, Vec<FieldError>> {
        let mut e = Vec::new();
        let year = year_field(&mut e, &self.year);
        let kind = choice(
            &mut e,
            "kind",
            &self.kind,
            OperationKind::parse,
            OperationKind::Study,
        );
        let novelty = choice(
            &mut e,
            "novelty",
            &self.novelty,
            Novelty::parse,
            Novelty::New,
        );
        let status = choice(
            &mut e,
            "status",
            &self.status,
            OperationStatus::parse,
            OperationStatus::Planned,
        );
        let title = text(&mut e, "title", &self.title, MAX_TITLE_CHARS, true);
        let description = text(
            &mut e,
            "description",
            &self.description,
            MAX_TEXT_CHARS,
            false,
        );
        let reason = text(
            &mut e,
            "status_reason",
            &self.status_reason,
            MAX_TEXT_CHARS,
            false,
        );
        if status.needs_reason()
            && reason.is_none()
            && !e.iter().any(|x| x.field == "status_reason")
        {
            problem(
                &mut e,
                "status_reason",
                format!(
                    "une opération {} doit en donner la raison",
                    status.label_fr().to_lowercase()
                ),
            );
        }
        let (campaign, chain, collection, slug) = (
            self.campaign.trim(),
            self.chain.trim(),
            self.collection.trim(),
            self.slug.trim(),
        );
        let only_for = |e: &mut Vec<FieldError>, field, what: &str| {
            problem(
                e,
                field,
                format!("ce champ ne vaut que pour {what} : videz-le"),
            )
        };
        if !campaign.is_empty() && kind != OperationKind::Survey {
            only_for(&mut e, "campaign", "une enquête");
        }
        if !chain.is_empty() && kind != OperationKind::Exploitation {
            only_for(&mut e, "chain", "une exploitation de fichier administratif");
        }
        if !slug.is_empty() && kind != OperationKind::Publication {
            only_for(&mut e, "slug", "une publication");
        }
        let link = match kind {
            OperationKind::Study => Link::None,
            OperationKind::Survey if campaign.is_empty() => Link::None,
            OperationKind::Survey => match campaign.parse::<i64>() {
                Ok(n) if n > 0 => Link::Campaign { campaign: n },
                _ => {
                    problem(
                        &mut e,
                        "campaign",
                        format!("« {campaign} » n’est pas un numéro de campagne"),
                    );
                    Link::None
                }
            },
            OperationKind::Exploitation => {
                if !is_chain_id(chain) {
                    problem(
                        &mut e,
                        "chain",
                        if chain.is_empty() {
                            "indiquez la chaîne de traitement exploitée".into()
                        } else {
                            format!(
                                "« {chain} » n’est pas un identifiant de chaîne (minuscules, chiffres, _)"
                            )
                        },
                    );
                }
                Link::Chain {
                    chain: chain.to_string(),
                }
            }
            OperationKind::Publication => {
                let c = Collection::ALL
                    .iter()
                    .copied()
                    .find(|c| c.slug() == collection);
                if c.is_none() {
                    problem(
                        &mut e,
                        "collection",
                        "choisissez la collection de la publication".into(),
                    );
                }
                if !is_valid_slug(slug) {
                    problem(
                        &mut e,
                        "slug",
                        if slug.is_empty() {
                            "indiquez l’adresse (slug) de la publication".into()
                        } else {
                            format!(
                                "« {slug} » n’est pas une adresse de publication (minuscules, chiffres et tirets)"
                            )
                        },
                    );
                }
                Link::Publication {
                    collection: c.unwrap_or(Collection::ChiffresCles),
                    slug: slug.to_string(),
                }
            }
        };
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Operation {
            year,
            kind,
            novelty,
            title: title.unwrap_or_default(),
            description: description.unwrap_or_default(),
            status,
            status_reason: reason,
            link,
        })
    }
}

/// An opinion's form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpinionForm {
    /// The programme's year it is filed under.
    pub year: String,
    /// [`OpinionKind::as_str`].
    pub kind: String,
    /// Its reference.
    pub reference: String,
    /// The day it was given (`AAAA-MM-JJ`).
    pub issued_on: String,
    /// What it says.
    pub summary: String,
    /// The service's response.
    pub response: String,
    /// The numbers of the operations that answer it, as the form's checkboxes send them.
    pub operations: Vec<String>,
}

impl OpinionForm {
    /// The form filled with an opinion, to edit it.
    pub fn of(o: &Opinion) -> Self {
        OpinionForm {
            year: o.year.to_string(),
            kind: o.kind.as_str().into(),
            reference: o.reference.clone(),
            issued_on: o.issued_on.to_string(),
            summary: o.summary.clone(),
            response: o.response.clone().unwrap_or_default(),
            operations: o.operations.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// The opinion this form describes, or every problem with it.
    pub fn read(&self) -> Result<Opinion, Vec<FieldError>> {
        let mut e = Vec::new();
        let year = year_field(&mut e, &self.year);
        let kind = choice(
            &mut e,
            "kind",
            &self.kind,
            OpinionKind::parse,
            OpinionKind::Opportunity,
        );
        let reference = text(
            &mut e,
            "reference",
            &self.reference,
            MAX_REFERENCE_CHARS,
            true,
        );
        let summary = text(&mut e, "summary", &self.summary, MAX_TEXT_CHARS, true);
        let response = text(&mut e, "response", &self.response, MAX_TEXT_CHARS, false);
        let day = self.issued_on.trim();
        let issued_on = match day.parse::<Date>() {
            Ok(d) if (1950..=2100).contains(&d.year()) => Some(d),
            _ => {
                problem(
                    &mut e,
                    "issued_on",
                    if day.is_empty() {
                        "indiquez la date de l’avis".into()
                    } else {
                        format!("« {day} » n’est pas une date (AAAA-MM-JJ)")
                    },
                );
                None
            }
        };
        let mut operations = Vec::new();
        for o in &self.operations {
            match o.trim().parse::<i64>() {
                Ok(n) if n > 0 => {
                    if !operations.contains(&n) {
                        operations.push(n);
                    }
                }
                _ => problem(
                    &mut e,
                    "operations",
                    format!("« {} » n’est pas un numéro d’opération", o.trim()),
                ),
            }
        }
        if operations.len() > MAX_ANSWERING_OPERATIONS {
            problem(
                &mut e,
                "operations",
                format!("{MAX_ANSWERING_OPERATIONS} opérations au plus répondent à un avis"),
            );
        }
        operations.sort_unstable();
        match (e.is_empty(), issued_on) {
            (true, Some(issued_on)) => Ok(Opinion {
                year,
                kind,
                reference: reference.unwrap_or_default(),
                issued_on,
                summary: summary.unwrap_or_default(),
                response,
                operations,
            }),
            _ => Err(e),
        }
    }
}

/// An operation as the programme's page and PDF present it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationView {
    /// Its number.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its kind, in French.
    pub kind: &'static str,
    /// Its kind's stored name.
    pub kind_key: &'static str,
    /// Its status, in French.
    pub status: &'static str,
    /// Its status's stored name.
    pub status_key: &'static str,
    /// Why it stands there.
    pub reason: Option<String>,
    /// What it does.
    pub description: String,
    /// What it is attached to, in French (`Chaîne de traitement cjpm_delays`).
    pub attached: Option<String>,
    /// What it is attached to.
    pub link: Link,
    /// The references of the opinions it answers.
    pub answers: Vec<String>,
}

/// A section of the programme with its operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionView {
    /// The section.
    pub section: Section,
    /// Its heading.
    pub heading: &'static str,
    /// Its anchor.
    pub anchor: &'static str,
    /// Its operations, in the order they were added.
    pub operations: Vec<OperationView>,
}

/// An opinion as the programme presents it, with the service's response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpinionView {
    /// Its number.
    pub id: i64,
    /// Its kind, in French.
    pub kind: &'static str,
    /// Its reference.
    pub reference: String,
    /// The day it was given, in French.
    pub issued_on: String,
    /// What it says.
    pub summary: String,
    /// The service's response.
    pub response: Option<String>,
    /// The operations that answer it: number and title.
    pub answered_by: Vec<(i64, String)>,
}

/// A year's programme in the Cnis's layout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearView {
    /// The year.
    pub year: i16,
    /// The synthesis, by paragraph.
    pub synthesis: Vec<String>,
    /// The four sections, each even when empty (the layout is fixed).
    pub sections: Vec<SectionView>,
    /// The Cnis's opinions filed under the year, oldest first.
    pub opinions: Vec<OpinionView>,
}

/// What an operation is attached to, in French.
pub fn attached_fr(link: &Link) -> Option<String> {
    match link {
        Link::None => None,
        Link::Campaign { campaign } => Some(format!("Campagne de collecte n° {campaign}")),
        Link::Chain { chain } => Some(format!("Chaîne de traitement {chain}")),
        Link::Publication { collection, slug } => {
            Some(format!("{} ({slug})", collection.label_fr()))
        }
    }
}

/// A year's programme in the Cnis's layout: the synthesis in paragraphs, the operations in
/// their sections, each opinion with the titles of the operations that answer it (`titles`
/// gives those of other years).
pub fn year_view(
    year: i16,
    synthesis: &str,
    operations: &[(i64, Operation)],
    opinions: &[(i64, Opinion)],
    titles: &[(i64, String)],
) -> YearView {
    let title_of = |id: i64| {
        operations
            .iter()
            .find(|(n, _)| *n == id)
            .map(|(_, o)| o.title.clone())
            .or_else(|| {
                titles
                    .iter()
                    .find(|(n, _)| *n == id)
                    .map(|(_, t)| t.clone())
            })
    };
    let sections = Section::ALL
        .iter()
        .map(|section| SectionView {
            section: *section,
            heading: section.heading_fr(),
            anchor: section.anchor(),
            operations: operations
                .iter()
                .filter(|(_, o)| o.section() == *section)
                .map(|(id, o)| OperationView {
                    id: *id,
                    title: o.title.clone(),
                    kind: o.kind.label_fr(),
                    kind_key: o.kind.as_str(),
                    status: o.status.label_fr(),
                    status_key: o.status.as_str(),
                    reason: o.status_reason.clone(),
                    description: o.description.clone(),
                    attached: attached_fr(&o.link),
                    link: o.link.clone(),
                    answers: opinions
                        .iter()
                        .filter(|(_, op)| op.operations.contains(id))
                        .map(|(_, op)| format!("{} {}", op.kind.label_fr(), op.reference))
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let mut sorted: Vec<&(i64, Opinion)> = opinions.iter().collect();
    sorted.sort_by_key(|(id, o)| (o.issued_on, *id));
    YearView {
        year,
        synthesis: synthesis
            .replace("\r\n", "\n")
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect(),
        sections,
        opinions: sorted
            .into_iter()
            .map(|(id, o)| OpinionView {
                id: *id,
                kind: o.kind.label_fr(),
                reference: o.reference.clone(),
                issued_on: crate::french::day_of(o.issued_on),
                summary: o.summary.clone(),
                response: o.response.clone(),
                answered_by: o
                    .operations
                    .iter()
                    .filter_map(|n| title_of(*n).map(|t| (*n, t)))
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey_form() -> OperationForm {
        OperationForm {
            year: "2026".into(),
            kind: "survey".into(),
            novelty: "new".into(),
            title: "Enquête BAV".into(),
            status: "running".into(),
            campaign: "3".into(),
            ..Default::default()
        }
    }

    fn fields(r: Result<impl std::fmt::Debug, Vec<FieldError>>) -> Vec<&'static str> {
        r.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn an_operation_round_trips_through_its_form() {
        let op = survey_form().read().unwrap();
        assert_eq!(op.link, Link::Campaign { campaign: 3 });
        assert_eq!(op.section(), Section::NewSurveys);
        assert_eq!(OperationForm::of(&op).read().unwrap(), op);
        let publication = OperationForm {
            kind: "publication".into(),
            campaign: String::new(),
            collection: "chiffres-cles".into(),
            slug: "chiffres-cles-2026".into(),
            novelty: "permanent".into(),
            ..survey_form()
        }
        .read()
        .unwrap();
        assert_eq!(publication.section(), Section::Permanent);
        assert_eq!(OperationForm::of(&publication).read().unwrap(), publication);
    }

    #[test]
    fn a_postponed_or_abandoned_operation_needs_its_reason() {
        for status in OperationStatus::ALL {
            let f = OperationForm {
                status: status.as_str().into(),
                ..survey_form()
            };
            assert_eq!(f.read().is_err(), status.needs_reason(), "{status:?}");
            let with = OperationForm {
                status_reason: "moyens redéployés".into(),
                ..f
            };
            assert_eq!(
                with.read().unwrap().status_reason.as_deref(),
                Some("moyens redéployés")
            );
        }
        assert_eq!(
            fields(
                OperationForm {
                    status: "postponed".into(),
                    status_reason: "  ".into(),
                    ..survey_form()
                }
                .read()
            ),
            ["status_reason"]
        );
    }

    #[test]
    fn every_problem_is_named_by_its_field_at_once() {
        let f = OperationForm {
            year: "1999".into(),
            kind: "sondage".into(),
            novelty: "".into(),
            title: " ".into(),
            status: "x".into(),
            ..Default::default()
        };
        assert_eq!(
            fields(f.read()),
            ["year", "kind", "novelty", "status", "title"]
        );
        let chain = OperationForm {
            kind: "exploitation".into(),
            campaign: "3".into(),
            chain: "CJPM delays".into(),
            ..survey_form()
        };
        assert_eq!(fields(chain.read()), ["campaign", "chain"]);
        let publication = OperationForm {
            kind: "publication".into(),
            campaign: String::new(),
            collection: "blog".into(),
            slug: "A b".into(),
            ..survey_form()
        };
        assert_eq!(fields(publication.read()), ["collection", "slug"]);
        let campaign = OperationForm {
            campaign: "0".into(),
            ..survey_form()
        };
        assert_eq!(fields(campaign.read()), ["campaign"]);
    }

    #[test]
    fn texts_are_bounded_at_their_limits() {
        let at = |n| OperationForm {
            title: "é".repeat(n),
            ..survey_form()
        };
        assert!(at(MAX_TITLE_CHARS).read().is_ok());
        assert_eq!(fields(at(MAX_TITLE_CHARS + 1).read()), ["title"]);
        let d = |n| OperationForm {
            description: "a".repeat(n),
            ..survey_form()
        };
        assert!(d(MAX_TEXT_CHARS).read().is_ok());
        assert_eq!(fields(d(MAX_TEXT_CHARS + 1).read()), ["description"]);
        assert!(read_synthesis(&"x".repeat(MAX_SYNTHESIS_CHARS)).is_ok());
        assert!(read_synthesis(&"x".repeat(MAX_SYNTHESIS_CHARS + 1)).is_err());
        assert_eq!(read_synthesis("  ").unwrap(), "");
        assert_eq!(
            fields(
                OperationForm {
                    title: "a\u{0}b".into(),
                    ..survey_form()
                }
                .read()
            ),
            ["title"]
        );
    }

    #[test]
    fn years_are_those_of_a_programme() {
        assert_eq!(read_year("2000"), Some(2000));
        assert_eq!(read_year("2100"), Some(2100));
        for bad in ["1999", "2101", "26", "02026", "x", ""] {
            assert_eq!(read_year(bad), None, "{bad}");
        }
    }

    #[test]
    fn sections_follow_the_cnis_layout() {
        use OperationKind::*;
        assert_eq!(Section::of(Survey, Novelty::New), Section::NewSurveys);
        assert_eq!(
            Section::of(Exploitation, Novelty::New),
            Section::NewAdministrativeFiles
        );
        assert_eq!(
            Section::of(Publication, Novelty::New),
            Section::OtherNewWork
        );
        assert_eq!(Section::of(Study, Novelty::New), Section::OtherNewWork);
        for k in OperationKind::ALL {
            assert_eq!(Section::of(*k, Novelty::Permanent), Section::Permanent);
        }
    }

    fn opinion_form() -> OpinionForm {
        OpinionForm {
            year: "2026".into(),
            kind: "visa".into(),
            reference: "2026X004JU".into(),
            issued_on: "2025-11-25".into(),
            summary: "Visa d’intérêt général et de qualité statistique, obligatoire".into(),
            response: String::new(),
            operations: vec!["4".into(), "2".into(), "4".into()],
        }
    }

    #[test]
    fn an_opinion_round_trips_and_lists_its_operations_once() {
        let o = opinion_form().read().unwrap();
        assert_eq!(o.operations, [2, 4]);
        assert_eq!(o.response, None);
        assert_eq!(OpinionForm::of(&o).read().unwrap(), o);
    }

    #[test]
    fn a_bad_opinion_is_refused_field_by_field() {
        let f = OpinionForm {
            kind: "blame".into(),
            reference: "r".repeat(MAX_REFERENCE_CHARS + 1),
            issued_on: "25/11/2025".into(),
            summary: String::new(),
            operations: vec!["x".into()],
            ..opinion_form()
        };
        assert_eq!(
            fields(f.read()),
            ["kind", "reference", "summary", "issued_on", "operations"]
        );
        let many = OpinionForm {
            operations: (1..=MAX_ANSWERING_OPERATIONS as i64 + 1)
                .map(|n| n.to_string())
                .collect(),
            ..opinion_form()
        };
        assert_eq!(fields(many.read()), ["operations"]);
        let enough = OpinionForm {
            operations: (1..=MAX_ANSWERING_OPERATIONS as i64)
                .map(|n| n.to_string())
                .collect(),
            ..opinion_form()
        };
        assert!(enough.read().is_ok());
    }

    #[test]
    fn stored_names_round_trip() {
        for k in OperationKind::ALL {
            assert_eq!(OperationKind::parse(k.as_str()), Some(*k));
        }
        for s in OperationStatus::ALL {
            assert_eq!(OperationStatus::parse(s.as_str()), Some(*s));
        }
        for k in OpinionKind::ALL {
            assert_eq!(OpinionKind::parse(k.as_str()), Some(*k));
        }
        let op = survey_form().read().unwrap();
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), op);
    }

    #[test]
    fn the_year_view_puts_each_operation_in_its_section_and_each_opinion_with_its_answers() {
        let survey = survey_form().read().unwrap();
        let permanent = OperationForm {
            kind: "exploitation".into(),
            novelty: "permanent".into(),
            campaign: String::new(),
            chain: "penal_orientations".into(),
            title: "Orientations pénales".into(),
            ..survey_form()
        }
        .read()
        .unwrap();
        let mut visa = opinion_form().read().unwrap();
        visa.operations = vec![1, 9];
        let mut early = visa.clone();
        early.issued_on = "2024-06-01".parse().unwrap();
        early.operations = vec![];
        let v = year_view(
            2026,
            "Premier.\n\nSecond\n paragraphe.\n\n\n",
            &[(1, survey), (2, permanent)],
            &[(5, visa), (6, early)],
            &[(9, "Opération de 2025".into())],
        );
        assert_eq!(v.synthesis, ["Premier.", "Second paragraphe."]);
        assert_eq!(v.sections.len(), 4);
        assert_eq!(v.sections[0].operations[0].id, 1);
        assert_eq!(v.sections[0].operations[0].answers, ["Visa 2026X004JU"]);
        assert!(v.sections[1].operations.is_empty() && v.sections[2].operations.is_empty());
        assert_eq!(
            v.sections[3].operations[0].attached.as_deref(),
            Some("Chaîne de traitement penal_orientations")
        );
        assert_eq!(v.opinions.iter().map(|o| o.id).collect::<Vec<_>>(), [6, 5]);
        assert_eq!(v.opinions[1].issued_on, "25 novembre 2025");
        assert_eq!(
            v.opinions[1].answered_by,
            [
                (1, "Enquête BAV".to_string()),
                (9, "Opération de 2025".to_string())
            ]
        );
    }
}

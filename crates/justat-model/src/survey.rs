//! Surveys of justice actors, as the store keeps them: the kinds of surveyed units, the states
//! of a campaign and of a unit's response with the moves allowed between them, access codes,
//! the unit register's CSV format, the reference courts, and response rates.
//!
//! Questionnaire-agnostic: answers are JSON values keyed by a question path (`q3`,
//! `victimes.G_BIENS.F`, `services[2].effectif`); what a path means is `justat-survey`'s.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $stored:literal, $label:literal;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        // In JSON as in the database: by its stored name.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &[$name] = &[$($name::$variant,)*];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $stored,)* }
            }

            /// The French label shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)* }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($stored => Ok($name::$variant),)*
                    other => Err(UnknownName { what: $what, name: other.to_string() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored name that names nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`")]
pub struct UnknownName {
    /// What kind of name.
    pub what: &'static str,
    /// The name.
    pub name: String,
}

stored_enum! {
    /// The kind of a surveyed unit (an organisation, or a person acting as one).
    UnitKind, "unit kind" {
        /// A first-instance court.
        TribunalJudiciaire = "tribunal_judiciaire", "tribunal judiciaire";
        /// A court of appeal.
        CourAppel = "cour_appel", "cour d'appel";
        /// An association (victim support, judicial control, …).
        Association = "association", "association";
        /// A mediator (familial or penal).
        Mediator = "mediateur", "médiateur";
        /// An organisation hosting community service (travail d'intérêt général).
        TigHost = "structure_tig", "structure d'accueil de TIG";
        /// A conciliator of justice.
        Conciliator = "conciliateur", "conciliateur de justice";
        /// A guardian of protected adults (mandataire judiciaire à la protection des majeurs).
        Guardian = "mandataire", "mandataire judiciaire à la protection des majeurs";
        /// Another kind of justice actor.
        Other = "autre", "autre";
    }
}

stored_enum! {
    /// The state of a collection campaign.
    CampaignState, "campaign state" {
        /// Being prepared: questionnaire, legal standing, sample.
        Draft = "draft", "en préparation";
        /// Collecting answers (between its open and close dates).
        Open = "open", "ouverte";
        /// No more answers; editing and imputation.
        Closed = "closed", "close";
        /// Validated: its answers may become a delivery.
        Validated = "validated", "validée";
    }
}

impl CampaignState {
    /// Whether a campaign in this state may move to `next`. A closed campaign may reopen
    /// (collection extended); a validated one never changes.
    pub fn can_become(self, next: CampaignState) -> bool {
        use CampaignState::*;
        matches!(
            (self, next),
            (Draft, Open) | (Open, Closed) | (Closed, Open) | (Closed, Validated)
        )
    }
}

stored_enum! {
    /// Where a sampled unit's response stands.
    ResponseStatus, "response status" {
        /// Nothing saved yet.
        NotStarted = "not_started", "non commencé";
        /// Answers saved, not submitted.
        InProgress = "in_progress", "en cours";
        /// Submitted by the respondent: read-only for them.
        Submitted = "submitted", "envoyé";
        /// Checked and accepted by a statistician.
        Validated = "validated", "validé";
        /// The unit refused to answer.
        Refused = "refused", "refus";
        /// The unit is outside the survey's scope (closed, merged, no such activity).
        OutOfScope = "out_of_scope", "hors champ";
    }
}

/// Who or what moves a response from one status to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusSource {
    /// The respondent, through the portal (saving, submitting).
    Respondent,
    /// A statistician of the service.
    Statistician,
    /// Justat itself.
    System,
}

impl StatusSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusSource::Respondent => "respondent",
            StatusSource::Statistician => "statistician",
            StatusSource::System => "system",
        }
    }
}

impl std::str::FromStr for StatusSource {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        match s {
            "respondent" => Ok(StatusSource::Respondent),
            "statistician" => Ok(StatusSource::Statistician),
            "system" => Ok(StatusSource::System),
            other => Err(UnknownName {
                what: "status source",
                name: other.to_string(),
            }),
        }
    }
}

/// A move between response statuses that the rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a response {} cannot become {} by the {}", from.as_str(), to.as_str(), by.as_str())]
pub struct StatusTransitionError {
    /// The status now.
    pub from: ResponseStatus,
    /// The status asked.
    pub to: ResponseStatus,
    /// Who asked.
    pub by: StatusSource,
}

impl ResponseStatus {
    /// Whether answers saved or submitted count as a response (for rates and reminders).
    pub fn has_responded(self) -> bool {
        matches!(self, ResponseStatus::Submitted | ResponseStatus::Validated)
    }

    /// Whether the unit still owes an answer: the ones reminders go to.
    pub fn awaits_answer(self) -> bool {
        matches!(
            self,
            ResponseStatus::NotStarted | ResponseStatus::InProgress
        )
    }

    /// Whether the respondent may save or submit answers in this status.
    pub fn respondent_may_write(self) -> bool {
        self.awaits_answer()
    }

    /// Checks a move. The respondent only starts and submits; a statistician validates a
    /// submission, reopens one (submitted or validated) for the respondent, records a refusal
    /// or an out-of-scope unit, and can undo those two.
    pub fn transition(
        self,
        to: ResponseStatus,
        by: StatusSource,
    ) -> Result<(), StatusTransitionError> {
        use ResponseStatus::*;
        use StatusSource::*;
        let allowed = match by {
            Respondent => matches!(
                (self, to),
                (NotStarted, InProgress) | (NotStarted, Submitted) | (InProgress, Submitted)
            ),
            Statistician | System => matches!(
                (self, to),
                (Submitted, Validated)
                    | (Submitted, InProgress)
                    | (Validated, InProgress)
                    | (NotStarted | InProgress, Refused | OutOfScope)
                    | (Refused | OutOfScope, NotStarted)
            ),
        };
        if allowed && self != to {
            Ok(())
        } else {
            Err(StatusTransitionError { from: self, to, by })
        }
    }
}

/// How a campaign's sample was drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum SampleMethod {
    /// Every unit of the register of one kind.
    AllOfKind {
        /// The kind.
        kind: UnitKind,
    },
    /// A random sample within strata, reproducible from its seed.
    Stratified {
        /// The seed of the draw.
        seed: u64,
    },
}

impl SampleMethod {
    /// The stored name of the method.
    pub fn name(&self) -> &'static str {
        match self {
            SampleMethod::AllOfKind { .. } => "all_of_kind",
            SampleMethod::Stratified { .. } => "stratified",
        }
    }
}

/// The letters of an access code: no `0/O`, `1/I/L` or `U`, so a code read from a letter is
/// typed right (Crockford's base 32).
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The characters of a code, without its separators: 20 × 5 = 100 random bits.
pub const ACCESS_CODE_LEN: usize = 20;

/// The random bytes an access code is made from.
pub const ACCESS_CODE_RANDOM_BYTES: usize = 13;

/// A respondent's access code, as printed (`ABCD-EFGH-…`). Shown once; only its digest is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessCode(String);

impl std::fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessCode(…)")
    }
}

impl AccessCode {
    /// The code made of these random bytes (100 of their 104 bits are used).
    pub fn from_random(bytes: [u8; ACCESS_CODE_RANDOM_BYTES]) -> AccessCode {
        let mut bits: u128 = 0;
        for b in bytes {
            bits = (bits << 8) | u128::from(b);
        }
        let mut chars = Vec::with_capacity(ACCESS_CODE_LEN + 4);
        for i in 0..ACCESS_CODE_LEN {
            if i > 0 && i % 4 == 0 {
                chars.push(b'-');
            }
            let index = ((bits >> (5 * i)) & 31) as usize;
            chars.push(CODE_ALPHABET[index]);
        }
        AccessCode(String::from_utf8_lossy(&chars).into_owned())
    }

    /// The code as printed, in groups of four.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest stored for it.
    pub fn digest(&self) -> crate::Sha256Hex {
        access_code_digest(&self.0).unwrap_or_else(|| crate::Sha256Hex::of(self.0.as_bytes()))
    }
}

/// The digest of a code as typed: case, spaces and dashes ignored, and the letters people
/// confuse read as the digits they stand for. `None` when it cannot be a code at all.
pub fn access_code_digest(typed: &str) -> Option<crate::Sha256Hex> {
    if typed.len() > 100 {
        return None;
    }
    let mut normal = String::with_capacity(ACCESS_CODE_LEN);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !CODE_ALPHABET.contains(&(c as u8)) || !c.is_ascii() {
            return None;
        }
        normal.push(c);
    }
    (normal.len() == ACCESS_CODE_LEN).then(|| crate::Sha256Hex::of(normal.as_bytes()))
}

/// Whether `path` can name a question: `q3`, `victimes.G_BIENS.F`, `services[2].effectif`
/// (letters, digits, `_`, dotted segments, an index after a segment), at most 200 bytes.
pub fn is_answer_path(path: &str) -> bool {
    if path.is_empty() || path.len() > 200 {
        return false;
    }
    path.split('.').all(|segment| {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => match rest.strip_suffix(']') {
                Some(index) => (name, Some(index)),
                None => return false,
            },
            None => (segment, None),
        };
        let name_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let index_ok = index
            .is_none_or(|i| !i.is_empty() && i.len() <= 6 && i.chars().all(|c| c.is_ascii_digit()));
        name_ok && index_ok
    })
}

// ---------------------------------------------------------------------------------------
// The register's CSV.

/// The header of a register CSV, in this order.
pub const UNIT_CSV_HEADER: &[&str] = &[
    "type",
    "code",
    "nom",
    "cour_appel",
    "adresse",
    "contact_nom",
    "contact_fonction",
    "contact_courriel",
    "contact_adresse",
];

/// The most lines a register CSV may hold.
pub const UNIT_CSV_MAX_LINES: usize = 50_000;
/// The largest register CSV accepted, in bytes.
pub const UNIT_CSV_MAX_BYTES: usize = 16 * 1024 * 1024;
/// The longest field accepted, in characters.
pub const UNIT_FIELD_MAX_CHARS: usize = 300;

/// A contact of a unit: a person, whose name, e-mail and address are personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactFields {
    /// Name.
    pub name: String,
    /// Function in the organisation.
    pub function: String,
    /// E-mail address.
    pub email: String,
    /// Postal address.
    pub address: String,
}

/// One unit read from a register CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRow {
    /// Its line in the file, as an editor numbers lines (the header is line 1).
    pub line: u64,
    /// Its kind.
    pub kind: UnitKind,
    /// Its code, unique in the register.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The code of its court of appeal, where it has one.
    pub court_of_appeal: Option<String>,
    /// Its postal address.
    pub address: String,
    /// Its contact, when the line names one.
    pub contact: Option<ContactFields>,
}

/// One mistake of a register CSV, at its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// The line, as an editor numbers lines.
    pub line: u64,
    /// What is wrong, in French.
    pub message: String,
}

/// Every mistake of a register CSV: nothing of it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct UnitCsvErrors {
    /// The file's name as given.
    pub file: String,
    /// The mistakes, by line.
    pub errors: Vec<LineError>,
}

impl UnitCsvErrors {
    /// One line per mistake, `file:line: message`, as editors and terminals link them.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} : {} erreur(s), rien n'a été importé",
            self.file,
            self.errors.len()
        );
        for e in &self.errors {
            out.push_str(&format!("\n{}:{}: {}", self.file, e.line, e.message));
        }
        out
    }
}

/// Reads a register CSV: UTF-8 (a byte-order mark is allowed), comma-separated, with the
/// header [`UNIT_CSV_HEADER`]. Returns every unit, or every mistake with its line.
/// `known_courts_of_appeal` are the codes of the courts of appeal already in the register;
/// those declared in the same file count too.
pub fn parse_unit_csv(
    file: &str,
    bytes: &[u8],
    known_courts_of_appeal: &BTreeSet<String>,
) -> Result<Vec<UnitRow>, UnitCsvErrors> {
    let fail = |line: u64, message: String| UnitCsvErrors {
        file: file.to_string(),
        errors: vec![LineError { line, message }],
    };
    if bytes.len() > UNIT_CSV_MAX_BYTES {
        return Err(fail(
            1,
            format!(
                "fichier trop gros ({} octets, au plus {UNIT_CSV_MAX_BYTES}) : découpez-le",
                bytes.len()
            ),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        return Err(fail(
            line,
            "le fichier n'est pas en UTF-8 : enregistrez-le en « CSV UTF-8 »".into(),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut records = reader.records();
    match records.next() {
        Some(Ok(header)) => {
            let got: Vec<&str> = header.iter().map(str::trim).collect();
            if got != UNIT_CSV_HEADER {
                return Err(fail(
                    1,
                    format!(
                        "l'en-tête doit être exactement « {} » (lu : « {} »)",
                        UNIT_CSV_HEADER.join(","),
                        got.join(",")
                    ),
                ));
            }
        }
        Some(Err(e)) => return Err(fail(1, format!("en-tête illisible : {e}"))),
        None => {
            return Err(fail(
                1,
                "le fichier est vide : il faut au moins l'en-tête".into(),
            ));
        }
    }
    let mut first_line_of: BTreeMap<String, u64> = BTreeMap::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(bytes, p.byte()));
                errors.push(LineError {
                    line,
                    message: format!("ligne illisible : {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(bytes, p.byte()));
        if rows.len() + errors.len() >= UNIT_CSV_MAX_LINES {
            return Err(fail(
                line,
                format!("plus de {UNIT_CSV_MAX_LINES} lignes : découpez le fichier"),
            ));
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        match unit_row(line, &record) {
            Ok(row) => {
                if let Some(first) = first_line_of.get(&row.code) {
                    errors.push(LineError {
                        line,
                        message: format!(
                            "le code « {} » figure déjà ligne {first} : un code par unité",
                            row.code
                        ),
                    });
                } else {
                    first_line_of.insert(row.code.clone(), line);
                    rows.push(row);
                }
            }
            Err(messages) => errors.extend(
                messages
                    .into_iter()
                    .map(|message| LineError { line, message }),
            ),
        }
    }
    let declared: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.kind == UnitKind::CourAppel)
        .map(|r| r.code.as_str())
        .collect();
    for row in &rows {
        if let Some(ca) = &row.court_of_appeal
            && !declared.contains(ca.as_str())
            && !known_courts_of_appeal.contains(ca)
        {
            errors.push(LineError {
                line: row.line,
                message: format!(
                    "cour_appel « {ca} » : aucune cour d'appel de ce code dans le registre ni dans le fichier"
                ),
            });
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(UnitCsvErrors {
            file: file.to_string(),
            errors,
        })
    }
}

/// The line an editor shows for a byte offset: the csv crate's own count skips blank lines.
fn line_at(bytes: &[u8], offset: u64) -> u64 {
    let mut end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    // A record's position may be that of the blank lines before it.
    while end < bytes.len() && matches!(bytes[end], b'\n' | b'\r') {
        end += 1;
    }
    1 + bytes[..end].iter().filter(|b| **b == b'\n').count() as u64
}

/// One data line, or every mistake on it.
fn unit_row(line: u64, record: &csv::StringRecord) -> Result<UnitRow, Vec<String>> {
    let mut problems = Vec::new();
    if record.len() != UNIT_CSV_HEADER.len() {
        return Err(vec![format!(
            "{} colonnes au lieu de {} (une virgule dans un champ doit être entre guillemets)",
            record.len(),
            UNIT_CSV_HEADER.len()
        )]);
    }
    let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
    for (i, name) in UNIT_CSV_HEADER.iter().enumerate() {
        let value = field(i);
        if value.chars().count() > UNIT_FIELD_MAX_CHARS {
            problems.push(format!(
                "{name} : plus de {UNIT_FIELD_MAX_CHARS} caractères"
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\n') {
            problems.push(format!("{name} : caractère de contrôle interdit"));
        }
    }
    let kind = match field(0).parse::<UnitKind>() {
        Ok(k) => Some(k),
        Err(_) => {
            problems.push(format!(
                "type « {} » inconnu : un de {}",
                field(0),
                UnitKind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            None
        }
    };
    let code = field(1);
    if code.is_empty() {
        problems.push("code manquant".into());
    } else if code.chars().count() > 40 || code.chars().any(char::is_whitespace) {
        problems.push(format!(
            "code « {code} » : 40 caractères au plus, sans espace"
        ));
    }
    let name = field(2);
    if name.is_empty() {
        problems.push("nom manquant".into());
    }
    let court_of_appeal = Some(field(3)).filter(|c| !c.is_empty());
    match (kind, &court_of_appeal) {
        (Some(UnitKind::TribunalJudiciaire), None) => problems
            .push("cour_appel manquante : un tribunal judiciaire relève d'une cour d'appel".into()),
        (Some(UnitKind::CourAppel), Some(_)) => {
            problems.push("cour_appel : une cour d'appel n'en a pas (laisser vide)".into())
        }
        _ => {}
    }
    let contact = ContactFields {
        name: field(5),
        function: field(6),
        email: field(7),
        address: field(8),
    };
    let has_contact = [
        &contact.name,
        &contact.function,
        &contact.email,
        &contact.address,
    ]
    .iter()
    .any(|f| !f.is_empty());
    if has_contact {
        if contact.name.is_empty() {
            problems.push("contact_nom manquant (le contact a d'autres champs remplis)".into());
        }
        if !is_email(&contact.email) {
            problems.push(format!(
                "contact_courriel « {} » n'est pas une adresse électronique",
                contact.email
            ));
        }
    }
    match (kind, problems.is_empty()) {
        (Some(kind), true) => Ok(UnitRow {
            line,
            kind,
            code,
            name,
            court_of_appeal,
            address: field(4),
            contact: has_contact.then_some(contact),
        }),
        _ => Err(problems),
    }
}

/// A plausible e-mail address: one `@`, a local part, a dotted domain, no space.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

// ---------------------------------------------------------------------------------------
// Reference courts.

/// A court of the reference lists shipped with Justat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceCourt {
    /// Tribunal judiciaire or cour d'appel.
    pub kind: UnitKind,
    /// Its SRJ code (the ministry's structure code), used as its unit code.
    pub code: String,
    /// Its name, as the register shows it (« Tribunal judiciaire d'Agen »).
    pub name: String,
    /// Its court of appeal's code (tribunaux judiciaires only).
    pub court_of_appeal: Option<String>,
}

const COURS_APPEL_CSV: &str = include_str!("../reference/cours_appel.csv");
const TRIBUNAUX_CSV: &str = include_str!("../reference/tribunaux_judiciaires.csv");

/// The 36 cours d'appel then the 164 tribunaux judiciaires (`reference/README.md` says where
/// they come from). The Tribunal supérieur d'appel of Saint-Pierre-et-Miquelon, listed beside
/// the courts of appeal, is not one and is left out.
pub fn reference_courts() -> Result<Vec<ReferenceCourt>, String> {
    let mut courts = Vec::new();
    let mut ca_by_name = BTreeMap::new();
    let mut ca = csv::Reader::from_reader(COURS_APPEL_CSV.as_bytes());
    for record in ca.records() {
        let r = record.map_err(|e| format!("reference/cours_appel.csv: {e}"))?;
        let (code, name) = (r.get(0).unwrap_or("").trim(), r.get(1).unwrap_or("").trim());
        if name.starts_with('*') || code.is_empty() {
            continue;
        }
        ca_by_name.insert(name.to_string(), code.to_string());
        courts.push(ReferenceCourt {
            kind: UnitKind::CourAppel,
            code: code.to_string(),
            name: format!("Cour d'appel {}", de(name)),
            court_of_appeal: None,
        });
    }
    let mut tj = csv::Reader::from_reader(TRIBUNAUX_CSV.as_bytes());
    for record in tj.records() {
        let r = record.map_err(|e| format!("reference/tribunaux_judiciaires.csv: {e}"))?;
        let (code, name, ca_name) = (
            r.get(0).unwrap_or("").trim(),
            r.get(1).unwrap_or("").trim(),
            r.get(2).unwrap_or("").trim(),
        );
        let ca_code = ca_by_name.get(ca_name).ok_or_else(|| {
            format!("reference/tribunaux_judiciaires.csv: unknown cour d'appel `{ca_name}`")
        })?;
        courts.push(ReferenceCourt {
            kind: UnitKind::TribunalJudiciaire,
            code: code.to_string(),
            name: format!("Tribunal judiciaire {}", de(name)),
            court_of_appeal: Some(ca_code.clone()),
        });
    }
    Ok(courts)
}

/// « de Paris », « d'Agen », as French writes a place after « de ».
fn de(place: &str) -> String {
    let elides = place
        .chars()
        .next()
        .is_some_and(|c| "AEIOUYÉÈÊÂÎÔHaeiouyéèêâîôh".contains(c));
    if elides {
        format!("d'{place}")
    } else {
        format!("de {place}")
    }
}

// ---------------------------------------------------------------------------------------
// Response rates.

/// What the rates need of one sampled unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitOutcome {
    /// Its kind.
    pub kind: UnitKind,
    /// Its court of appeal's code, if any (a court of appeal counts as its own).
    pub court_of_appeal: Option<String>,
    /// Its status now.
    pub status: ResponseStatus,
    /// When it first submitted, if it did.
    pub submitted_at: Option<Timestamp>,
}

/// The response rate of one group of units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateRow {
    /// The group: a kind's stored name, a court of appeal's code (`-` for none), or the
    /// week's number since opening (`1` is the first seven days).
    pub group: String,
    /// Units sampled, out-of-scope ones excluded.
    pub in_scope: u64,
    /// Units that submitted (validated included); for weeks, the total by the week's end.
    pub responded: u64,
    /// `responded / in_scope`, 0 when the group is empty.
    pub rate: f64,
}

/// Response rates by unit kind, court of appeal and week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseRates {
    /// All units.
    pub total: RateRow,
    /// By kind of unit.
    pub by_kind: Vec<RateRow>,
    /// By court of appeal.
    pub by_court_of_appeal: Vec<RateRow>,
    /// Cumulated, by week since the campaign opened, up to the week of `now`.
    pub by_week: Vec<RateRow>,
}

fn rate_row(group: String, in_scope: u64, responded: u64) -> RateRow {
    let rate = if in_scope == 0 {
        0.0
    } else {
        responded as f64 / in_scope as f64
    };
    RateRow {
        group,
        in_scope,
        responded,
        rate,
    }
}

/// Computes the rates: out-of-scope units leave the denominator; a response counts in the
/// week it was first submitted, weeks counted from `opens_at` (week 1 is its first 7 days).
pub fn response_rates(units: &[UnitOutcome], opens_at: Timestamp, now: Timestamp) -> ResponseRates {
    let in_scope: Vec<&UnitOutcome> = units
        .iter()
        .filter(|u| u.status != ResponseStatus::OutOfScope)
        .collect();
    let responded = |u: &&&UnitOutcome| u.status.has_responded();
    let group = |key: &dyn Fn(&UnitOutcome) -> String| {
        let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for u in &in_scope {
            let e = groups.entry(key(u)).or_default();
            e.0 += 1;
            e.1 += u64::from(u.status.has_responded());
        }
        groups
            .into_iter()
            .map(|(g, (n, r))| rate_row(g, n, r))
            .collect::<Vec<_>>()
    };
    let week_of = |t: Timestamp| -> i64 {
        let secs = t.as_second() - opens_at.as_second();
        secs.div_euclid(7 * 86_400) + 1
    };
    let weeks = week_of(now.max(opens_at)).max(1);
    let n = in_scope.len() as u64;
    let by_week = (1..=weeks.min(520))
        .map(|w| {
            let r = in_scope
                .iter()
                .filter(|u| {
                    u.status.has_responded() && u.submitted_at.is_some_and(|t| week_of(t) <= w)
                })
                .count() as u64;
            rate_row(w.to_string(), n, r)
        })
        .collect();
    ResponseRates {
        total: rate_row(
            "ensemble".into(),
            n,
            in_scope.iter().filter(responded).count() as u64,
        ),
        by_kind: group(&|u| u.kind.as_str().to_string()),
        by_court_of_appeal: group(&|u| u.court_of_appeal.clone().unwrap_or_else(|| "-".into())),
        by_week,
    }
}

// ---------------------------------------------------------------------------------------
// The statisticians' actions, and why one is refused (in French, as the back office says it).

/// An action on a whole campaign from the back office or the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignAction {
    /// End the collection (open → closed).
    Close,
    /// Impute the unit non-response (while closed).
    Impute,
    /// Validate the campaign (closed → validated): its answers may become a delivery.
    Validate,
}

/// Why a campaign in `state` refuses `action`, in French; `None` when it is allowed. The store
/// checks the same rules again under its write lock.
pub fn campaign_action_refusal(state: CampaignState, action: CampaignAction) -> Option<String> {
    let allowed = match action {
        CampaignAction::Close => state.can_become(CampaignState::Closed),
        CampaignAction::Impute => state == CampaignState::Closed,
        CampaignAction::Validate => state.can_become(CampaignState::Validated),
    };
    if allowed {
        return None;
    }
    let what = match action {
        CampaignAction::Close => "clore la collecte",
        CampaignAction::Impute => "imputer la non-réponse",
        CampaignAction::Validate => "valider la campagne",
    };
    let needs = match action {
        CampaignAction::Close => "une campagne ouverte",
        CampaignAction::Impute | CampaignAction::Validate => {
            "une campagne dont la collecte est close"
        }
    };
    Some(format!(
        "Impossible de {what} : la campagne est « {} », et cette action demande {needs}. Rien n’a été modifié.",
        state.label()
    ))
}

/// Why a statistician cannot move a unit's response from `from` to `to` while its campaign
/// is in `campaign`, in French; `None` when [`ResponseStatus::transition`] allows it.
pub fn status_change_refusal(
    campaign: CampaignState,
    from: ResponseStatus,
    to: ResponseStatus,
) -> Option<String> {
    if campaign == CampaignState::Validated {
        return Some(
            "La campagne est validée : le statut de ses unités ne change plus. Rien n’a été modifié."
                .into(),
        );
    }
    from.transition(to, StatusSource::Statistician)
        .err()
        .map(|_| {
            format!(
                "Une réponse au statut « {} » ne peut pas passer au statut « {} ». Rien n’a été modifié.",
                from.label(),
                to.label()
            )
        })
}

/// Why a statistician cannot correct an answer of a unit whose response is `status` while its
/// campaign is in `campaign`, in French; `None` when the edit is allowed.
pub fn edit_refusal(campaign: CampaignState, status: ResponseStatus) -> Option<String> {
    if campaign == CampaignState::Validated {
        return Some(
            "La campagne est validée : ses réponses ne peuvent plus être corrigées. Rien n’a été modifié."
                .into(),
        );
    }
    (status != ResponseStatus::Submitted).then(|| {
        format!(
            "Seule une réponse envoyée peut être corrigée ; celle-ci est « {} ». Rien n’a été modifié.",
            status.label()
        )
    })
}

/// One sampled unit's values as imputation reads them: the store gathers them, the survey
/// core decides what to impute (`justat_survey::campaign::impute::impute_non_response`).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitValues {
    /// The unit's code.
    pub unit_code: String,
    /// Its stratum.
    pub stratum: String,
    /// Its status.
    pub status: ResponseStatus,
    /// This campaign's values by path: the statistician's edit, else the collected value
    /// (earlier imputed values left out).
    pub current: BTreeMap<String, serde_json::Value>,
    /// The values the statistics used in the previous validated campaign of the same survey,
    /// if the unit was in it.
    pub previous: Option<BTreeMap<String, serde_json::Value>>,
}

/// Values to impute, by unit code then path: each value with its method's stored name.
pub type ImputedValues = BTreeMap<String, BTreeMap<String, (serde_json::Value, String)>>;

/// One line of a respondent's acknowledgement of receipt (typeset by
/// `justat-render`): a page heading or a question and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptLine {
    /// A page's title.
    Page(String),
    /// A question's label and the answer given, as the respondent reads it.
    Answer {
        /// The question.
        label: String,
        /// The answer.
        value: String,
    },
}

/// What the acknowledgement says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyReceipt {
    /// The survey's title.
    pub survey_title: String,
    /// The period the answers cover.
    pub period: String,
    /// The unit's name.
    pub unit_name: String,
    /// The unit's code.
    pub unit_code: String,
    /// The instant the answers were submitted.
    pub submitted_at: Timestamp,
    /// The answers, page by page.
    pub lines: Vec<ReceiptLine>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_each_value_as_the_database_does() {
        for kind in UnitKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str());
            assert_eq!(serde_json::from_value::<UnitKind>(json).unwrap(), *kind);
        }
        assert_eq!(
            serde_json::to_value(UnitKind::Mediator).unwrap(),
            "mediateur"
        );
        for status in ResponseStatus::ALL {
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(
                serde_json::from_value::<ResponseStatus>(json).unwrap(),
                *status
            );
        }
        assert!(serde_json::from_value::<CampaignState>("ouverte".into()).is_err());
    }

    #[test]
    fn stored_names_round_trip() {
        for k in UnitKind::ALL {
            assert_eq!(k.as_str().parse::<UnitKind>(), Ok(*k));
        }
        for s in ResponseStatus::ALL {
            assert_eq!(s.as_str().parse::<ResponseStatus>(), Ok(*s));
        }
        for s in CampaignState::ALL {
            assert_eq!(s.as_str().parse::<CampaignState>(), Ok(*s));
        }
        assert!("tribunal".parse::<UnitKind>().is_err());
    }

    #[test]
    fn campaign_states_move_forward_only_but_a_closed_one_may_reopen() {
        use CampaignState::*;
        let allowed: Vec<(CampaignState, CampaignState)> = CampaignState::ALL
            .iter()
            .flat_map(|a| CampaignState::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(
            allowed,
            [
                (Draft, Open),
                (Open, Closed),
                (Closed, Open),
                (Closed, Validated)
            ]
        );
    }

    #[test]
    fn every_response_transition_is_decided() {
        use ResponseStatus::*;
        use StatusSource::*;
        let mut respondent = vec![];
        let mut staff = vec![];
        for a in ResponseStatus::ALL {
            for b in ResponseStatus::ALL {
                if a.transition(*b, Respondent).is_ok() {
                    respondent.push((*a, *b));
                }
                if a.transition(*b, Statistician).is_ok() {
                    staff.push((*a, *b));
                }
            }
        }
        assert_eq!(
            respondent,
            [
                (NotStarted, InProgress),
                (NotStarted, Submitted),
                (InProgress, Submitted)
            ]
        );
        assert_eq!(
            staff,
            [
                (NotStarted, Refused),
                (NotStarted, OutOfScope),
                (InProgress, Refused),
                (InProgress, OutOfScope),
                (Submitted, InProgress),
                (Submitted, Validated),
                (Validated, InProgress),
                (Refused, NotStarted),
                (OutOfScope, NotStarted),
            ]
        );
        let e = Submitted.transition(InProgress, Respondent).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a response submitted cannot become in_progress by the respondent"
        );
    }

    #[test]
    fn access_codes_are_long_unambiguous_and_typed_loosely() {
        let code = AccessCode::from_random([0xA5; ACCESS_CODE_RANDOM_BYTES]);
        let s = code.as_str();
        assert_eq!(s.len(), ACCESS_CODE_LEN + 4);
        assert_eq!(s.matches('-').count(), 4);
        assert!(!s.contains(['I', 'L', 'O', 'U']));
        let typed = s.to_lowercase().replace('-', " ");
        assert_eq!(access_code_digest(&typed), Some(code.digest()));
        assert_ne!(
            AccessCode::from_random([0; ACCESS_CODE_RANDOM_BYTES]).digest(),
            AccessCode::from_random([1; ACCESS_CODE_RANDOM_BYTES]).digest()
        );
        // Letters read as digits.
        let zeros = AccessCode::from_random([0; ACCESS_CODE_RANDOM_BYTES]);
        assert_eq!(
            access_code_digest(&zeros.as_str().replace('0', "o")),
            Some(zeros.digest())
        );
        assert_eq!(access_code_digest("ABCD"), None);
        assert_eq!(access_code_digest(&"A".repeat(21)), None);
        assert_eq!(access_code_digest(&format!("{}é", &s[..23])), None);
        assert_eq!(access_code_digest(&"-".repeat(200)), None);
        assert!(!format!("{code:?}").contains(&s[..4]));
    }

    #[test]
    fn answer_paths() {
        for ok in ["q3", "victimes.G_BIENS.F", "services[2].effectif", "a[0]"] {
            assert!(is_answer_path(ok), "{ok}");
        }
        for bad in [
            "",
            "3q",
            "a..b",
            "a[",
            "a[]",
            "a[x]",
            "a b",
            "a.",
            ".a",
            "a[1234567]",
            "é",
        ] {
            assert!(!is_answer_path(bad), "{bad}");
        }
        assert!(!is_answer_path(&"a".repeat(201)));
        assert!(is_answer_path(&"a".repeat(200)));
    }

    const HEADER: &str = "type,code,nom,cour_appel,adresse,contact_nom,contact_fonction,contact_courriel,contact_adresse\n";

    fn known() -> BTreeSet<String> {
        ["1/14".to_string()].into_iter().collect()
    }

    #[test]
    fn a_good_register_file_is_read_with_its_lines() {
        let text = format!(
            "\u{feff}{HEADER}association,AV-47,\"France Victimes 47, Agen\",1/14,\"1 rue X, 47000 Agen\",Marie Dupont,Directrice,marie@fv47.fr,\n\
             \n\
             cour_appel,CA-X,Cour X,,,,,,\n\
             tribunal_judiciaire,TJ-Y,Tribunal Y,CA-X,,,,,\n"
        );
        let rows = parse_unit_csv("u.csv", text.as_bytes(), &known()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].name, "France Victimes 47, Agen");
        assert_eq!(rows[0].contact.as_ref().unwrap().email, "marie@fv47.fr");
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].contact, None);
        assert_eq!(rows[2].court_of_appeal.as_deref(), Some("CA-X"));
    }

    #[test]
    fn every_bad_line_is_named_with_what_is_wrong() {
        let text = format!(
            "{HEADER}tribunal,A,Nom,,,,,,\n\
             association,B,Bonne,,,,,,\n\
             association,,,,,,,,\n\
             association,B,Doublon,,,,,,\n\
             association,C,Nom,,,Jean,,pas-un-courriel,\n\
             tribunal_judiciaire,D,Nom,9/99,,,,,\n\
             association,E,Nom\n\
             cour_appel,F,Nom,1/14,,,,,\n"
        );
        let err = parse_unit_csv("unites.csv", text.as_bytes(), &known()).unwrap_err();
        let lines: Vec<u64> = err.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 4, 5, 6, 7, 8, 9]);
        let text = err.render();
        assert!(
            text.starts_with("unites.csv : 8 erreur(s), rien n'a été importé"),
            "{text}"
        );
        assert!(
            text.contains("unites.csv:2: type « tribunal » inconnu"),
            "{text}"
        );
        assert!(
            text.contains("unites.csv:5: le code « B » figure déjà ligne 3"),
            "{text}"
        );
        assert!(
            text.contains("unites.csv:6: contact_courriel « pas-un-courriel »"),
            "{text}"
        );
        assert!(text.contains("unites.csv:7: cour_appel « 9/99 »"), "{text}");
        assert!(
            text.contains("unites.csv:8: 3 colonnes au lieu de 9"),
            "{text}"
        );
        assert!(
            text.contains("unites.csv:9: cour_appel : une cour d'appel n'en a pas"),
            "{text}"
        );
    }

    #[test]
    fn a_quoted_newline_keeps_later_lines_numbered_as_an_editor_shows_them() {
        let text =
            format!("{HEADER}association,A,Nom,,\"ligne 1\nligne 2\",,,,\nassociation,B,,,,,,,\n");
        let err = parse_unit_csv("u.csv", text.as_bytes(), &known()).unwrap_err();
        assert_eq!(err.errors[0].line, 4);
    }

    #[test]
    fn header_encoding_and_size_are_checked_first() {
        let err = parse_unit_csv("u.csv", b"code,nom\n", &known()).unwrap_err();
        assert!(
            err.errors[0]
                .message
                .contains("l'en-tête doit être exactement")
        );
        let err = parse_unit_csv("u.csv", b"", &known()).unwrap_err();
        assert!(err.errors[0].message.contains("vide"));
        let mut latin1 = HEADER.as_bytes().to_vec();
        latin1.extend_from_slice(b"association,A,Soci\xe9t\xe9,,,,,,\n");
        let err = parse_unit_csv("u.csv", &latin1, &known()).unwrap_err();
        assert_eq!(err.errors[0].line, 2);
        assert!(err.errors[0].message.contains("UTF-8"));
        let big = vec![b'a'; UNIT_CSV_MAX_BYTES + 1];
        assert!(parse_unit_csv("u.csv", &big, &known()).is_err());
        let long = format!("{HEADER}association,A,{},,,,,,\n", "n".repeat(301));
        let err = parse_unit_csv("u.csv", long.as_bytes(), &known()).unwrap_err();
        assert!(err.errors[0].message.contains("plus de 300 caractères"));
    }

    #[test]
    fn the_reference_lists_hold_36_courts_of_appeal_and_164_tribunals() {
        let courts = reference_courts().unwrap();
        let cas: BTreeSet<&str> = courts
            .iter()
            .filter(|c| c.kind == UnitKind::CourAppel)
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(cas.len(), 36);
        let tjs: Vec<&ReferenceCourt> = courts
            .iter()
            .filter(|c| c.kind == UnitKind::TribunalJudiciaire)
            .collect();
        assert_eq!(tjs.len(), 164);
        assert!(
            tjs.iter()
                .all(|t| cas.contains(t.court_of_appeal.as_deref().unwrap()))
        );
        assert!(courts.iter().any(|c| c.name == "Cour d'appel d'Agen"));
        assert!(
            courts
                .iter()
                .any(|c| c.name == "Tribunal judiciaire de Paris")
        );
        let codes: BTreeSet<&str> = courts.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes.len(), 200);
    }

    fn t(day: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + day * 86_400).unwrap()
    }

    #[test]
    fn rates_exclude_out_of_scope_units_and_cumulate_by_week() {
        let unit = |kind, ca: &str, status, at: Option<i64>| UnitOutcome {
            kind,
            court_of_appeal: Some(ca.into()),
            status,
            submitted_at: at.map(t),
        };
        use ResponseStatus::*;
        use UnitKind::*;
        let units = [
            unit(TribunalJudiciaire, "A", Submitted, Some(0)),
            unit(TribunalJudiciaire, "A", Validated, Some(8)),
            unit(TribunalJudiciaire, "B", InProgress, None),
            unit(TribunalJudiciaire, "B", OutOfScope, None),
            unit(Association, "B", Refused, None),
        ];
        let r = response_rates(&units, t(0), t(15));
        assert_eq!((r.total.in_scope, r.total.responded), (4, 2));
        assert_eq!(r.total.rate, 0.5);
        assert_eq!(
            r.by_kind
                .iter()
                .map(|x| (x.group.as_str(), x.in_scope, x.responded))
                .collect::<Vec<_>>(),
            [("association", 1, 0), ("tribunal_judiciaire", 3, 2)]
        );
        assert_eq!(
            r.by_court_of_appeal
                .iter()
                .map(|x| (x.group.as_str(), x.in_scope, x.responded))
                .collect::<Vec<_>>(),
            [("A", 2, 2), ("B", 2, 0)]
        );
        // Day 0 is week 1, day 8 week 2, day 15 week 3.
        assert_eq!(
            r.by_week
                .iter()
                .map(|x| (x.group.as_str(), x.responded))
                .collect::<Vec<_>>(),
            [("1", 1), ("2", 2), ("3", 2)]
        );
        let empty = response_rates(&[], t(0), t(0));
        assert_eq!(empty.total.rate, 0.0);
        assert_eq!(empty.by_week.len(), 1);
    }

    #[test]
    fn campaign_actions_are_refused_outside_their_state_in_french() {
        use CampaignAction::*;
        use CampaignState::*;
        for state in CampaignState::ALL {
            assert_eq!(
                campaign_action_refusal(*state, Close).is_none(),
                *state == Open,
                "{state}"
            );
            for action in [Impute, Validate] {
                assert_eq!(
                    campaign_action_refusal(*state, action).is_none(),
                    *state == Closed,
                    "{state} {action:?}"
                );
            }
        }
        let m = campaign_action_refusal(Open, Validate).unwrap();
        assert!(
            m.contains("« ouverte »") && m.contains("Rien n’a été modifié"),
            "{m}"
        );
    }

    #[test]
    fn a_status_change_follows_the_transitions_and_never_in_a_validated_campaign() {
        use ResponseStatus::*;
        for from in ResponseStatus::ALL {
            for to in ResponseStatus::ALL {
                let allowed = from.transition(*to, StatusSource::Statistician).is_ok();
                assert_eq!(
                    status_change_refusal(CampaignState::Closed, *from, *to).is_none(),
                    allowed
                );
                assert!(status_change_refusal(CampaignState::Validated, *from, *to).is_some());
            }
        }
        let m = status_change_refusal(CampaignState::Open, NotStarted, Validated).unwrap();
        assert!(
            m.contains("« non commencé »") && m.contains("« validé »"),
            "{m}"
        );
    }

    #[test]
    fn only_a_submitted_response_of_a_campaign_not_validated_is_edited() {
        for campaign in CampaignState::ALL {
            for status in ResponseStatus::ALL {
                assert_eq!(
                    edit_refusal(*campaign, *status).is_none(),
                    *campaign != CampaignState::Validated && *status == ResponseStatus::Submitted,
                    "{campaign} {status}"
                );
            }
        }
    }
}

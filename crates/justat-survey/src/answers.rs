//! Answers keyed by their path, and the parsing of a submitted page's form fields.
//!
//! Answer paths: a question `q3`; a count-table cell `victimes.G_BIENS.F` (row code, then
//! column code) and, where the respondent types the totals, `victimes.G_BIENS._T`,
//! `victimes._T.F`, `victimes._T._T`; a loop's item count `services` and a question of its
//! n-th item `services[2].effectif` (items numbered from 1, as the respondent sees them); a
//! warning control the respondent chose to keep (« Poursuivre ») is recorded at the
//! control's path `c_total` or `services[2].c_effectif`.
//!
//! Form fields (plain HTML forms, no JavaScript needed): a field is named by the answer's path.
//! A multiple choice posts one field per ticked code; yes/no posts `oui` or `non`; a date
//! `AAAA-MM-JJ` (an `<input type="date">`) or `JJ/MM/AAAA`; numbers in French (`1 234`,
//! `12,5`). Besides: `<path>!missing` = `dk` or `refused` for « ne sait pas » / « refus »;
//! `<loop>!items` = the number of items; `<control path>!continue` = `1` when the respondent
//! chose « Poursuivre » on that warning. Fields of other pages are ignored.

use crate::questionnaire::{Kind, Question, Sequence, TOTAL};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One answer. A blank is no entry at all, never an `Answer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Answer {
    /// Free text.
    Text(String),
    /// An integer (also a count-table cell or total).
    Integer(i64),
    /// A decimal number.
    Decimal(f64),
    /// A date.
    Date(Date),
    /// Yes (`true`) or no.
    YesNo(bool),
    /// The code of a single choice.
    Choice(String),
    /// The codes of a multiple choice, in the questionnaire's order.
    Choices(Vec<String>),
    /// A loop's number of items.
    Items(u32),
    /// « Ne sait pas ».
    DontKnow,
    /// « Refus ».
    Refused,
    /// The respondent chose « Poursuivre » on this warning control.
    WarningKept,
}

/// A questionnaire's answers, by path. Serialises as a JSON object `{path: answer}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(BTreeMap<String, Answer>);

/// One field the respondent must correct, with the raw value kept so the page shows it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name (an answer path).
    pub field: String,
    /// What was typed.
    pub raw: String,
    /// French message.
    pub message: String,
}

/// The outcome of reading a page's form: the answers that parsed and the fields that did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormParse {
    /// The page's answers (blanks are absent).
    pub answers: Answers,
    /// The fields to correct, in the page's order.
    pub errors: Vec<FieldError>,
}

/// Longest value accepted in one form field.
pub const MAX_FIELD_LEN: usize = 10_000;

impl Answers {
    /// No answers.
    pub fn new() -> Answers {
        Answers::default()
    }
    /// The answer at `path`, if any.
    pub fn get(&self, path: &str) -> Option<&Answer> {
        self.0.get(path)
    }
    /// Sets the answer at `path`.
    pub fn set(&mut self, path: impl Into<String>, answer: Answer) {
        self.0.insert(path.into(), answer);
    }
    /// Makes `path` blank, returning what was there.
    pub fn remove(&mut self, path: &str) -> Option<Answer> {
        self.0.remove(path)
    }
    /// Every `(path, answer)`, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Answer)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// How many paths are answered.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether nothing is answered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The number of items of a loop (0 when unanswered).
    pub fn items(&self, looped: &str) -> u32 {
        match self.0.get(looped) {
            Some(Answer::Items(n)) => *n,
            _ => 0,
        }
    }

    /// Replaces everything the page `page` owns (its questions, their loop items, its
    /// controls' « Poursuivre ») by `new`: what a save of that page does.
    pub fn replace_page(&mut self, page: &Sequence, new: Answers) {
        self.0.retain(|path, _| !page.owns(path));
        for (k, v) in new.0 {
            if page.owns(&k) {
                self.0.insert(k, v);
            }
        }
    }

    /// Reads the fields a page's form posted. Every field of the page is read; a bad value is
    /// reported with a French message and its raw text, the good ones are kept.
    pub fn from_form(page: &Sequence, fields: &[(String, String)]) -> FormParse {
        let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in fields {
            by_name.entry(k.as_str()).or_default().push(v.as_str());
        }
        let mut out = FormParse::default();
        for q in &page.questions {
            read_question(q, "", &by_name, &mut out);
        }
        for c in page.controls_paths(&by_name_items(&by_name)) {
            if by_name
                .get(format!("{c}!continue").as_str())
                .is_some_and(|v| v.contains(&"1"))
            {
                out.answers.set(c, Answer::WarningKept);
            }
        }
        out
    }
}

fn by_name_items<'a>(by_name: &'a BTreeMap<&'a str, Vec<&'a str>>) -> impl Fn(&str) -> u32 + 'a {
    move |looped: &str| {
        by_name
            .get(format!("{looped}!items").as_str())
            .and_then(|v| v.last())
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(0)
    }
}

fn read_question(
    q: &Question,
    prefix: &str,
    by_name: &BTreeMap<&str, Vec<&str>>,
    out: &mut FormParse,
) {
    let path = format!("{prefix}{}", q.id);
    let mut error = |field: &str, raw: &str, message: String| {
        out.errors.push(FieldError {
            field: field.to_string(),
            raw: raw.to_string(),
            message,
        })
    };
    let first = |name: &str| {
        by_name
            .get(name)
            .and_then(|v| v.last())
            .map(|s| s.trim())
            .unwrap_or("")
    };
    match &q.kind {
        Kind::Loop(block) => {
            let raw = first(&format!("{path}!items"));
            let n = if raw.is_empty() {
                0
            } else {
                match raw.parse::<u32>() {
                    Ok(n) if n <= block.max_items => n,
                    _ => {
                        error(
                            &format!("{path}!items"),
                            raw,
                            format!("nombre d'éléments invalide : au plus {}", block.max_items),
                        );
                        return;
                    }
                }
            };
            if n > 0 {
                out.answers.set(path.clone(), Answer::Items(n));
            }
            for i in 1..=n {
                for inner in &block.questions {
                    read_question(inner, &format!("{path}[{i}]."), by_name, out);
                }
            }
        }
        Kind::CountTable(t) => {
            let mut cells = Vec::new();
            for r in &t.rows {
                for c in &t.columns {
                    cells.push(format!("{path}.{}.{}", r.code, c.code));
                }
                if t.totals_entered {
                    cells.push(format!("{path}.{}.{TOTAL}", r.code));
                }
            }
            if t.totals_entered {
                for c in t.columns.iter().map(|c| c.code.as_str()).chain([TOTAL]) {
                    cells.push(format!("{path}.{TOTAL}.{c}"));
                }
            }
            for cell in cells {
                let raw = first(&cell);
                if raw.is_empty() {
                    continue;
                }
                match parse_integer(raw) {
                    Ok(n) if n >= 0 => out.answers.set(cell, Answer::Integer(n)),
                    Ok(_) => error(&cell, raw, "un effectif ne peut pas être négatif".into()),
                    Err(m) => error(&cell, raw, m),
                }
            }
        }
        kind => {
            let missing = first(&format!("{path}!missing"));
            match missing {
                "dk" if q.allow_dont_know => {
                    out.answers.set(path, Answer::DontKnow);
                    return;
                }
                "refused" if q.allow_refusal => {
                    out.answers.set(path, Answer::Refused);
                    return;
                }
                "" => {}
                other => {
                    error(
                        &format!("{path}!missing"),
                        other,
                        "cette réponse n'est pas proposée pour cette question".into(),
                    );
                    return;
                }
            }
            let values: Vec<&str> = by_name.get(path.as_str()).cloned().unwrap_or_default();
            if let Some(v) = values.iter().find(|v| v.len() > MAX_FIELD_LEN) {
                error(
                    &path,
                    &v[..v.floor_char_boundary(100)],
                    format!("réponse trop longue (plus de {MAX_FIELD_LEN} caractères)"),
                );
                return;
            }
            if let Kind::MultipleChoice { options, .. } = kind {
                let mut codes = Vec::new();
                for v in &values {
                    if !options.iter().any(|o| o.code == *v) {
                        error(&path, v, "choix inconnu".into());
                        return;
                    }
                }
                for o in options {
                    if values.contains(&o.code.as_str()) {
                        codes.push(o.code.clone());
                    }
                }
                if !codes.is_empty() {
                    out.answers.set(path, Answer::Choices(codes));
                }
                return;
            }
            let raw = values.last().map(|s| s.trim()).unwrap_or("");
            if raw.is_empty() {
                return;
            }
            match parse_value(kind, raw) {
                Ok(a) => out.answers.set(path, a),
                Err(m) => error(&path, raw, m),
            }
        }
    }
}

/// Parses one typed value as a respondent types it (French conventions), checking its bounds.
pub fn parse_value(kind: &Kind, raw: &str) -> Result<Answer, String> {
    match kind {
        Kind::Text { max_length } => {
            if raw.chars().count() > *max_length {
                return Err(format!("au plus {max_length} caractères"));
            }
            Ok(Answer::Text(raw.to_string()))
        }
        Kind::Integer { min, max, .. } => {
            let n = parse_integer(raw)?;
            bounds(n as f64, min.map(|m| m as f64), max.map(|m| m as f64))?;
            Ok(Answer::Integer(n))
        }
        Kind::Decimal {
            min, max, decimals, ..
        } => {
            let x = parse_decimal(raw, *decimals)?;
            bounds(x, *min, *max)?;
            Ok(Answer::Decimal(x))
        }
        Kind::Date { min, max } => {
            let d = parse_date(raw)?;
            if min.is_some_and(|m| d < m) || max.is_some_and(|m| d > m) {
                return Err(match (min, max) {
                    (Some(a), Some(b)) => format!(
                        "date attendue entre le {} et le {}",
                        crate::french_date(*a),
                        crate::french_date(*b)
                    ),
                    (Some(a), None) => {
                        format!("date attendue à partir du {}", crate::french_date(*a))
                    }
                    (_, Some(b)) => format!("date attendue jusqu'au {}", crate::french_date(*b)),
                    _ => String::new(),
                });
            }
            Ok(Answer::Date(d))
        }
        Kind::YesNo => match raw.to_lowercase().as_str() {
            "oui" | "true" | "1" => Ok(Answer::YesNo(true)),
            "non" | "false" | "0" => Ok(Answer::YesNo(false)),
            _ => Err("répondre oui ou non".into()),
        },
        Kind::SingleChoice { options } => {
            if options.iter().any(|o| o.code == raw) {
                Ok(Answer::Choice(raw.to_string()))
            } else {
                Err("choix inconnu".into())
            }
        }
        Kind::MultipleChoice { .. } | Kind::CountTable(_) | Kind::Loop(_) => {
            Err("cette question ne se saisit pas en un seul champ".into())
        }
    }
}

fn bounds(x: f64, min: Option<f64>, max: Option<f64>) -> Result<(), String> {
    let fr = |v: f64| justat_model::french::decimal(v, if v.fract() == 0.0 { 0 } else { 2 });
    match (min, max) {
        (Some(a), Some(b)) if x < a || x > b => {
            Err(format!("valeur attendue entre {} et {}", fr(a), fr(b)))
        }
        (Some(a), None) if x < a => Err(format!("valeur attendue d'au moins {}", fr(a))),
        (None, Some(b)) if x > b => Err(format!("valeur attendue d'au plus {}", fr(b))),
        _ => Ok(()),
    }
}

fn strip_spaces(raw: &str) -> String {
    raw.chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect()
}

/// Parses an integer written in French (`1 234`, `-5`).
pub fn parse_integer(raw: &str) -> Result<i64, String> {
    let s = strip_spaces(raw);
    if s.is_empty() || s.len() > 15 {
        return Err("nombre entier attendu (au plus 15 chiffres)".into());
    }
    s.parse::<i64>()
        .map_err(|_| "nombre entier attendu, sans virgule".into())
}

fn parse_decimal(raw: &str, decimals: u8) -> Result<f64, String> {
    let s = strip_spaces(raw).replace(',', ".");
    let ok = !s.is_empty()
        && s.len() <= 20
        && s.trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
        && s.matches('.').count() <= 1;
    if !ok {
        return Err("nombre attendu, par exemple 12,5".into());
    }
    let places = s.split_once('.').map_or(0, |(_, f)| f.len());
    if places > decimals as usize {
        return Err(format!("au plus {decimals} chiffre(s) après la virgule"));
    }
    s.parse::<f64>()
        .map_err(|_| "nombre attendu, par exemple 12,5".into())
}

fn parse_date(raw: &str) -> Result<Date, String> {
    let bad = || "date attendue au format JJ/MM/AAAA".to_string();
    if let Some((d, rest)) = raw.split_once('/') {
        let (m, y) = rest.split_once('/').ok_or_else(bad)?;
        let p = |s: &str| s.trim().parse::<i16>().map_err(|_| bad());
        return Date::new(p(y)?, p(m)? as i8, p(d)? as i8)
            .map_err(|_| "cette date n'existe pas".into());
    }
    let parts: Vec<&str> = raw.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 {
        return Err(bad());
    }
    let p = |s: &str| s.parse::<i16>().map_err(|_| bad());
    Date::new(p(parts[0])?, p(parts[1])? as i8, p(parts[2])? as i8)
        .map_err(|_| "cette date n'existe pas".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::questionnaire::Choice;

    #[test]
    fn numbers_are_read_as_the_french_write_them() {
        assert_eq!(parse_integer("1 234"), Ok(1234));
        assert_eq!(parse_integer("1\u{202f}234"), Ok(1234));
        assert_eq!(parse_integer("-5"), Ok(-5));
        assert!(parse_integer("12,5").unwrap_err().contains("sans virgule"));
        assert!(parse_integer("9999999999999999").is_err());
        assert_eq!(parse_decimal("12,5", 1), Ok(12.5));
        assert_eq!(parse_decimal("12.50", 2), Ok(12.5));
        assert!(
            parse_decimal("12,555", 2)
                .unwrap_err()
                .contains("2 chiffre")
        );
        assert!(parse_decimal("1,2,3", 2).is_err());
        assert!(parse_decimal("abc", 2).is_err());
    }

    #[test]
    fn dates_are_read_in_both_forms_and_impossible_ones_refused() {
        let d = Date::new(2025, 3, 14).unwrap();
        assert_eq!(parse_date("2025-03-14"), Ok(d));
        assert_eq!(parse_date("14/03/2025"), Ok(d));
        assert_eq!(
            parse_date("31/02/2025").unwrap_err(),
            "cette date n'existe pas"
        );
        assert!(parse_date("14 mars").is_err());
        assert!(parse_date("25-03-14").is_err());
    }

    #[test]
    fn bounds_are_checked_at_both_ends() {
        let k = Kind::Integer {
            min: Some(0),
            max: Some(10),
            unit: None,
        };
        assert_eq!(parse_value(&k, "0"), Ok(Answer::Integer(0)));
        assert_eq!(parse_value(&k, "10"), Ok(Answer::Integer(10)));
        assert_eq!(
            parse_value(&k, "11").unwrap_err(),
            "valeur attendue entre 0 et 10"
        );
        assert!(parse_value(&k, "-1").is_err());
        let k = Kind::Decimal {
            min: Some(0.5),
            max: None,
            unit: None,
            decimals: 1,
        };
        assert_eq!(
            parse_value(&k, "0,4").unwrap_err(),
            "valeur attendue d'au moins 0,50"
        );
        let k = Kind::Date {
            min: Some(Date::new(2025, 1, 1).unwrap()),
            max: Some(Date::new(2025, 12, 31).unwrap()),
        };
        assert!(parse_value(&k, "31/12/2025").is_ok());
        assert_eq!(
            parse_value(&k, "01/01/2026").unwrap_err(),
            "date attendue entre le 1er janvier 2025 et le 31 décembre 2025"
        );
        let k = Kind::Text { max_length: 3 };
        assert!(parse_value(&k, "abcd").is_err());
        assert_eq!(parse_value(&k, "été"), Ok(Answer::Text("été".into())));
        let k = Kind::SingleChoice {
            options: vec![Choice {
                code: "1".into(),
                label: "Oui".into(),
            }],
        };
        assert!(parse_value(&k, "2").is_err());
        assert!(parse_value(&Kind::YesNo, "peut-être").is_err());
        assert_eq!(parse_value(&Kind::YesNo, "Oui"), Ok(Answer::YesNo(true)));
    }

    #[test]
    fn answers_serialise_as_json_per_path() {
        let mut a = Answers::new();
        a.set("q1", Answer::Integer(3));
        a.set("q2", Answer::DontKnow);
        a.set("d", Answer::Date(Date::new(2025, 1, 2).unwrap()));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"d":{"kind":"date","value":"2025-01-02"},"q1":{"kind":"integer","value":3},"q2":{"kind":"dont_know"}}"#
        );
        let back: Answers = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }
}

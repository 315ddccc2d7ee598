//! The postal invitation letter of a survey, as Typst source: the address block where a
//! window envelope shows it, the invitation, the portal's address and the unit's access code,
//! and the legal notice's paragraphs. Every text reaches Typst as a string literal.

use crate::typst::{TypstDocument, lit};
use jiff::civil::Date;
use justat_model::french;
use std::fmt::Write;

/// The most lines of a postal address (AFNOR NF Z10-011, La Poste's standard).
pub const MAX_ADDRESS_LINES: usize = 6;
/// The most characters of an address line (same standard).
pub const MAX_ADDRESS_LINE_CHARS: usize = 38;
/// The most paragraphs of the legal notice.
pub const MAX_NOTICE_PARAGRAPHS: usize = 20;
/// The longest paragraph of the legal notice, or other text of the letter, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// What the letter says to one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyLetter {
    /// The address block, one line each: the unit, the contact, the street, the postcode and
    /// town (1 to 6 lines of at most 38 characters).
    pub address: Vec<String>,
    /// The day the letter is dated (Paris).
    pub dated: Date,
    /// The survey's title.
    pub survey_title: String,
    /// The period the answers cover: `2025`.
    pub period: String,
    /// The last day answers are accepted.
    pub close_date: Date,
    /// The respondent portal's address.
    pub portal_url: String,
    /// The unit's access code, in clear.
    pub access_code: String,
    /// The legal notice, paragraph by paragraph, as the campaign generated it.
    pub legal_notice: Vec<String>,
}

/// Why a letter cannot be written: an input out of its limits, named in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LetterError {
    /// The address block has no line, or more than the standard allows.
    #[error("l’adresse postale compte {found} lignes : il en faut de 1 à {MAX_ADDRESS_LINES}")]
    AddressLines {
        /// Its number of lines.
        found: usize,
    },
    /// An address line is longer than the standard allows.
    #[error(
        "la ligne {line} de l’adresse postale compte {found} caractères : {MAX_ADDRESS_LINE_CHARS} au plus"
    )]
    AddressLineTooLong {
        /// The line, 1-based.
        line: usize,
        /// Its length.
        found: usize,
    },
    /// A field is empty.
    #[error("le champ « {field} » est vide")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A field is longer than its limit.
    #[error("le champ « {field} » dépasse {MAX_TEXT_CHARS} caractères")]
    TooLong {
        /// The field.
        field: &'static str,
    },
    /// The legal notice has no paragraph, or too many.
    #[error(
        "les mentions légales comptent {found} paragraphes : il en faut de 1 à {MAX_NOTICE_PARAGRAPHS}"
    )]
    NoticeParagraphs {
        /// Their number.
        found: usize,
    },
}

/// The letter's Typst source (no image files).
pub fn survey_letter(l: &SurveyLetter) -> Result<TypstDocument, LetterError> {
    check(l)?;
    let mut s = String::new();
    let title = format!("Enquête « {} » ({})", l.survey_title, l.period);
    let _ = writeln!(s, "#set document(title: {})", lit(&title));
    let _ = writeln!(s, "#set page(paper: \"a4\", margin: (x: 2cm, y: 1.8cm))");
    let _ = writeln!(s, "#set text(lang: \"fr\", size: 10.5pt)");
    let _ = writeln!(s, "#set par(justify: true)");
    let _ = writeln!(
        s,
        "#text(size: 9pt, {})\\\n#text(size: 9pt, {})",
        lit("Ministère de la Justice"),
        lit("Service statistique ministériel de la Justice (SSER)")
    );
    // The address where a DL window envelope (right window) shows it.
    let lines: Vec<String> = l.address.iter().map(|a| lit(a)).collect();
    let _ = writeln!(
        s,
        "#place(top + left, dx: 9.5cm, dy: 3.2cm, block(width: 8.5cm, par(justify: false, {})))",
        lines.join(" + linebreak() + ")
    );
    let _ = writeln!(s, "#v(6.5cm)");
    let _ = writeln!(
        s,
        "#align(right, text({}))",
        lit(&format!("Paris, le {}", french::day_of(l.dated)))
    );
    let _ = writeln!(s, "#v(0.8em)");
    let _ = writeln!(
        s,
        "#text(weight: \"bold\", {})",
        lit(&format!("Objet : {title}, invitation à répondre"))
    );
    let _ = writeln!(s, "#v(0.8em)");
    let _ = writeln!(s, "#par({})", lit("Madame, Monsieur,"));
    let _ = writeln!(
        s,
        "#par({})",
        lit(&format!(
            "Le service statistique ministériel de la Justice réalise l’enquête « {} » portant sur {}. Nous vous remercions d’y répondre sur internet avant le {}.",
            l.survey_title,
            l.period,
            french::day_of(l.close_date)
        ))
    );
    // Inside `[…]` a literal needs its `#`, or Typst shows its quotes as text.
    let _ = writeln!(
        s,
        "#block(inset: 10pt, stroke: 0.6pt, radius: 3pt, width: 100%)[#{} \\\n#text(weight: \"bold\", {}) \\\n#{} #text(size: 13pt, weight: \"bold\", font: \"DejaVu Sans Mono\", {})]",
        lit("Pour répondre, rendez-vous sur le portail de l’enquête :"),
        lit(&l.portal_url),
        lit("et saisissez votre code d’accès :"),
        lit(&l.access_code)
    );
    let _ = writeln!(
        s,
        "#par({})",
        lit(
            "Ce code est personnel : il ne donne accès qu’aux réponses de votre organisme. Conservez ce courrier : le code vous permet d’enregistrer vos réponses et de les reprendre plus tard."
        )
    );
    let _ = writeln!(
        s,
        "#par({})",
        lit("Nous vous remercions de votre participation.")
    );
    let _ = writeln!(s, "#v(0.5em)");
    let _ = writeln!(
        s,
        "#align(right, text({}))",
        lit("Le service statistique ministériel de la Justice (SSER)")
    );
    let _ = writeln!(s, "#v(1.2em)");
    let _ = writeln!(s, "#line(length: 100%, stroke: 0.4pt)");
    let _ = writeln!(
        s,
        "#text(size: 9pt, weight: \"bold\", {})",
        lit("Mentions légales")
    );
    for p in &l.legal_notice {
        let _ = writeln!(s, "#par(text(size: 8.5pt, {}))", lit(p));
    }
    Ok(TypstDocument {
        source: s,
        files: Vec::new(),
    })
}

fn check(l: &SurveyLetter) -> Result<(), LetterError> {
    if l.address.is_empty() || l.address.len() > MAX_ADDRESS_LINES {
        return Err(LetterError::AddressLines {
            found: l.address.len(),
        });
    }
    for (i, line) in l.address.iter().enumerate() {
        let found = line.chars().count();
        if found > MAX_ADDRESS_LINE_CHARS {
            return Err(LetterError::AddressLineTooLong { line: i + 1, found });
        }
    }
    for (field, value) in [
        ("titre de l’enquête", &l.survey_title),
        ("période", &l.period),
        ("adresse du portail", &l.portal_url),
        ("code d’accès", &l.access_code),
    ] {
        text(field, value)?;
    }
    if l.legal_notice.is_empty() || l.legal_notice.len() > MAX_NOTICE_PARAGRAPHS {
        return Err(LetterError::NoticeParagraphs {
            found: l.legal_notice.len(),
        });
    }
    for p in &l.legal_notice {
        text("mentions légales", p)?;
    }
    Ok(())
}

fn text(field: &'static str, value: &str) -> Result<(), LetterError> {
    if value.trim().is_empty() {
        return Err(LetterError::Empty { field });
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(LetterError::TooLong { field });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn letter() -> SurveyLetter {
        SurveyLetter {
            address: vec![
                "Tribunal judiciaire de Lyon".into(),
                "Bureau d’aide aux victimes".into(),
                "67 rue Servient".into(),
                "69003 LYON".into(),
            ],
            dated: date(2026, 1, 12),
            survey_title: "Activité des bureaux d’aide aux victimes".into(),
            period: "2025".into(),
            close_date: date(2026, 3, 1),
            portal_url: "https://enquetes.justice.example/repondre".into(),
            access_code: "K7QF-2M9X-PL4D".into(),
            legal_notice: vec![
                "Vu l’avis favorable du Conseil national de l’information statistique.".into(),
                "Réponses couvertes par le \"secret statistique\" #strong[x].".into(),
            ],
        }
    }

    #[test]
    fn every_text_reaches_typst_as_a_string_literal() {
        let doc = survey_letter(&letter()).unwrap();
        let s = &doc.source;
        assert!(
            s.contains(
                "\"Tribunal judiciaire de Lyon\" + linebreak() + \"Bureau d’aide aux victimes\""
            ),
            "{s}"
        );
        assert!(s.contains("\"K7QF-2M9X-PL4D\""));
        assert!(s.contains("\"https://enquetes.justice.example/repondre\""));
        assert!(s.contains("\"Paris, le 12 janvier 2026\""));
        assert!(s.contains("avant le 1er mars 2026"));
        // Markup and quotes in an input stay text.
        assert!(
            s.contains("\"Réponses couvertes par le \\\"secret statistique\\\" #strong[x].\""),
            "{s}"
        );
        assert!(doc.files.is_empty());
    }

    #[test]
    fn the_address_block_follows_the_postal_standard() {
        let mut l = letter();
        l.address = vec!["x".repeat(MAX_ADDRESS_LINE_CHARS); MAX_ADDRESS_LINES];
        assert!(survey_letter(&l).is_ok());
        l.address.push("y".into());
        assert_eq!(
            survey_letter(&l).unwrap_err(),
            LetterError::AddressLines { found: 7 }
        );
        l.address = vec![];
        assert_eq!(
            survey_letter(&l).unwrap_err(),
            LetterError::AddressLines { found: 0 }
        );
        l.address = vec!["ok".into(), "é".repeat(MAX_ADDRESS_LINE_CHARS + 1)];
        assert_eq!(
            survey_letter(&l).unwrap_err(),
            LetterError::AddressLineTooLong { line: 2, found: 39 }
        );
    }

    #[test]
    fn empty_or_oversized_fields_are_refused_by_name() {
        let mut l = letter();
        l.access_code = " ".into();
        assert_eq!(
            survey_letter(&l).unwrap_err(),
            LetterError::Empty {
                field: "code d’accès"
            }
        );
        let mut l = letter();
        l.legal_notice = vec![];
        assert_eq!(
            survey_letter(&l).unwrap_err(),
            LetterError::NoticeParagraphs { found: 0 }
        );
        l.legal_notice = vec!["x".repeat(MAX_TEXT_CHARS + 1)];
        assert_eq!(
            survey_letter(&l).unwrap_err(),
            LetterError::TooLong {
                field: "mentions légales"
            }
        );
    }
}

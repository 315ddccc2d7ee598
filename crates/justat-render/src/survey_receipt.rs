//! The acknowledgement a respondent downloads once they have submitted their answers, as
//! Typst source: the survey, the unit, the instant of submission, then every answer given,
//! page by page. Every text reaches Typst as a string literal.

use crate::typst::{TypstDocument, lit};
use justat_model::french;
pub use justat_model::survey::{ReceiptLine, SurveyReceipt};
use std::fmt::Write;

/// The most answer lines an acknowledgement lists.
pub const MAX_RECEIPT_LINES: usize = 5_000;
/// The longest text of the acknowledgement (a label, an answer, a title), in characters.
pub const MAX_RECEIPT_TEXT_CHARS: usize = 10_000;

/// Why an acknowledgement cannot be written, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Too many lines.
    #[error("l’accusé de réception compte {found} lignes : {MAX_RECEIPT_LINES} au plus")]
    TooManyLines {
        /// Their number.
        found: usize,
    },
    /// A text is empty.
    #[error("le champ « {field} » de l’accusé de réception est vide")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A text is longer than its limit.
    #[error(
        "le champ « {field} » de l’accusé de réception dépasse {MAX_RECEIPT_TEXT_CHARS} caractères"
    )]
    TooLong {
        /// The field.
        field: &'static str,
    },
}

/// The acknowledgement's Typst source (no image files).
pub fn survey_receipt(r: &SurveyReceipt) -> Result<TypstDocument, ReceiptError> {
    check(r)?;
    let mut s = String::new();
    let title = format!("Accusé de réception — {} ({})", r.survey_title, r.period);
    let _ = writeln!(s, "#set document(title: {})", lit(&title));
    let _ = writeln!(
        s,
        "#set page(paper: \"a4\", margin: (x: 2cm, y: 1.8cm), numbering: \"1 / 1\")"
    );
    let _ = writeln!(s, "#set text(lang: \"fr\", size: 10.5pt)");
    let _ = writeln!(
        s,
        "#text(size: 9pt, {})\\\n#text(size: 9pt, {})",
        lit("Ministère de la Justice"),
        lit("Service statistique ministériel de la Justice (SSER)")
    );
    let _ = writeln!(s, "#v(1em)");
    let _ = writeln!(
        s,
        "#text(size: 15pt, weight: \"bold\", {})",
        lit("Accusé de réception")
    );
    let _ = writeln!(
        s,
        "#par({})",
        lit(&format!("Enquête « {} » ({})", r.survey_title, r.period))
    );
    let _ = writeln!(
        s,
        "#par({})",
        lit(&format!(
            "Les réponses de {} ({}) ont été envoyées le {}. Le service statistique ministériel de la Justice en accuse réception.",
            r.unit_name,
            r.unit_code,
            french::date_time(r.submitted_at)
        ))
    );
    let _ = writeln!(s, "#line(length: 100%, stroke: 0.4pt)");
    for line in &r.lines {
        match line {
            ReceiptLine::Page(t) => {
                let _ = writeln!(
                    s,
                    "#v(0.6em)\n#text(size: 12pt, weight: \"bold\", {})",
                    lit(t)
                );
            }
            ReceiptLine::Answer { label, value } => {
                let _ = writeln!(
                    s,
                    "#block(below: 0.6em, [#text(weight: \"bold\", {}) \\\n#{}])",
                    lit(label),
                    lit(value)
                );
            }
        }
    }
    Ok(TypstDocument {
        source: s,
        files: Vec::new(),
    })
}

fn check(r: &SurveyReceipt) -> Result<(), ReceiptError> {
    if r.lines.len() > MAX_RECEIPT_LINES {
        return Err(ReceiptError::TooManyLines {
            found: r.lines.len(),
        });
    }
    for (field, value) in [
        ("titre de l’enquête", &r.survey_title),
        ("période", &r.period),
        ("nom de l’unité", &r.unit_name),
        ("code de l’unité", &r.unit_code),
    ] {
        text(field, value, false)?;
    }
    for line in &r.lines {
        match line {
            ReceiptLine::Page(t) => text("titre de page", t, false)?,
            ReceiptLine::Answer { label, value } => {
                text("question", label, false)?;
                text("réponse", value, true)?;
            }
        }
    }
    Ok(())
}

fn text(field: &'static str, value: &str, may_be_empty: bool) -> Result<(), ReceiptError> {
    if !may_be_empty && value.trim().is_empty() {
        return Err(ReceiptError::Empty { field });
    }
    if value.chars().count() > MAX_RECEIPT_TEXT_CHARS {
        return Err(ReceiptError::TooLong { field });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt() -> SurveyReceipt {
        SurveyReceipt {
            survey_title: "Activité des bureaux d’aide aux victimes".into(),
            period: "2025".into(),
            unit_name: "Association \"Un\" #strong[x]".into(),
            unit_code: "AV-1".into(),
            submitted_at: "2026-12-05T10:30:00Z".parse().unwrap(),
            lines: vec![
                ReceiptLine::Page("Fonctionnement".into()),
                ReceiptLine::Answer {
                    label: "Victimes reçues".into(),
                    value: "1 234".into(),
                },
            ],
        }
    }

    #[test]
    fn every_text_reaches_typst_as_a_string_literal_with_the_paris_instant() {
        let doc = survey_receipt(&receipt()).unwrap();
        let s = &doc.source;
        assert!(
            s.contains("Association \\\"Un\\\" #strong[x] (AV-1)"),
            "{s}"
        );
        assert!(s.contains("le 5 décembre 2026 à 11 h 30"), "{s}");
        assert!(s.contains("\"Victimes reçues\""));
        assert!(s.contains("\"1 234\""));
        assert!(s.contains("\"Fonctionnement\""));
    }

    #[test]
    fn inputs_out_of_their_limits_are_refused_by_name() {
        let mut r = receipt();
        r.unit_name = " ".into();
        assert_eq!(
            survey_receipt(&r).unwrap_err(),
            ReceiptError::Empty {
                field: "nom de l’unité"
            }
        );
        let mut r = receipt();
        r.lines = vec![ReceiptLine::Page("p".into()); MAX_RECEIPT_LINES + 1];
        assert!(matches!(
            survey_receipt(&r).unwrap_err(),
            ReceiptError::TooManyLines { .. }
        ));
        let mut r = receipt();
        r.lines = vec![ReceiptLine::Answer {
            label: "q".into(),
            value: "x".repeat(MAX_RECEIPT_TEXT_CHARS + 1),
        }];
        assert_eq!(
            survey_receipt(&r).unwrap_err(),
            ReceiptError::TooLong { field: "réponse" }
        );
        // A blank answer is a line the respondent left blank, not an error.
        let mut r = receipt();
        r.lines = vec![ReceiptLine::Answer {
            label: "q".into(),
            value: String::new(),
        }];
        assert!(survey_receipt(&r).is_ok());
    }
}

//! Justat's survey core: questionnaires, their expression language, answers and the page
//! engine, the import of INSEE's Lunatic questionnaires, and the pure rules of a campaign.
//!
//! A [`Questionnaire`] is read from a TOML file of `surveys/` ([`toml_file::parse`]) or from
//! a Lunatic JSON file ([`lunatic::import`]); both go through the same checker, which resolves
//! every name of every filter and control and checks its type, so a bad file is refused at
//! load with `file:line: message`. A respondent's [`Answers`] are keyed by path (`q3`,
//! `victimes.G_BIENS.F`, `services[2].effectif`); [`Answers::from_form`] reads a page's plain
//! HTML form, [`Questionnaire::page_view`] says what the page shows, every control's outcome
//! and whether the respondent may go on, and [`Questionnaire::review`] sums up the whole.
//! [`campaign`] holds the legal notice, the stratified sample, imputation and reminders.
//!
//! Architecture invariant: no clock, network or disk — `now` and every input are arguments —
//! except [`load::load`], which reads the one file whose path it is given.

pub mod answers;
pub mod campaign;
pub mod engine;
pub mod expr;
pub mod load;
pub mod lunatic;
pub mod questionnaire;
pub mod toml_file;

pub use answers::{Answer, Answers, FieldError, FormParse};
pub use engine::{ControlOutcome, ControlState, PageReview, PageView, Review};
pub use load::{CampaignFileError, load, load_for_campaign};
pub use questionnaire::{
    Choice, Condition, Control, CountTable, Diagnostic, Kind, LoadError, LoopBlock, Question,
    Questionnaire, Sequence, Severity, TableCell,
};

/// A date in French, as the public reads it: `1er janvier 2025`, `7 juin 1951`.
pub fn french_date(d: jiff::civil::Date) -> String {
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    let day = if d.day() == 1 {
        "1er".to_string()
    } else {
        d.day().to_string()
    };
    let month = MONTHS.get(d.month() as usize - 1).copied().unwrap_or("");
    format!("{day} {month} {}", d.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_in_french_texts() {
        assert_eq!(french_date(jiff::civil::date(1951, 6, 7)), "7 juin 1951");
        assert_eq!(
            french_date(jiff::civil::date(2025, 1, 1)),
            "1er janvier 2025"
        );
        assert_eq!(
            french_date(jiff::civil::date(2025, 12, 31)),
            "31 décembre 2025"
        );
    }
}

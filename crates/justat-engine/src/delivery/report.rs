//! What a delivery's check reports: rows read, kept and rejected, the failures of each rule
//! with a few examples, and the outcome (`OK`, `OK_KO` or `KO`) under the source's threshold.

use super::messages::shorten;
pub use justat_model::DeliveryStatus;
pub use justat_model::production::{DeliveryReport, Example, RuleReport};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One reason for rejecting a row.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reason {
    /// The rule broken (a source rule's id, or one of [`super::checks::BUILT_IN_RULES`]).
    pub rule: String,
    /// The column at fault, if one.
    pub column: Option<String>,
    /// Its value, if one.
    pub value: Option<String>,
    /// What is wrong, in French.
    pub message: String,
}

/// Examples kept per rule in the report.
const EXAMPLES: usize = 5;

/// A checked delivery and its files (in the scratch folder, to be moved into the lake).
#[derive(Debug)]
pub struct CheckedDelivery {
    /// The report.
    pub report: DeliveryReport,
    /// Valid rows (absent when KO).
    pub staging: Option<PathBuf>,
    /// Rejected rows (absent when none).
    pub quarantine: Option<PathBuf>,
}

/// The outcome of a file of which `rows_read` data rows were read and `rows_rejected` of them
/// rejected: `KO` when it could not be read or holds no row, or when the share rejected is
/// above `threshold`.
pub(super) fn status(
    unreadable: bool,
    rows_read: u64,
    rows_rejected: u64,
    threshold: f64,
) -> DeliveryStatus {
    if unreadable || rows_read == 0 {
        DeliveryStatus::Ko
    } else if rows_rejected == 0 {
        DeliveryStatus::Ok
    } else if (rows_rejected as f64 / rows_read as f64) > threshold {
        DeliveryStatus::Ko
    } else {
        DeliveryStatus::OkKo
    }
}

/// The rows a check has read and rejected so far, and the failures of each rule.
#[derive(Default)]
pub(super) struct Tally {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows rejected, once whatever the number of their reasons.
    pub rows_rejected: u64,
    counts: BTreeMap<String, RuleReport>,
}

impl Tally {
    /// Counts the row at `line` rejected for `reasons`.
    pub fn reject(&mut self, line: u64, reasons: &[Reason]) {
        self.rows_rejected += 1;
        for r in reasons {
            let entry = self
                .counts
                .entry(r.rule.clone())
                .or_insert_with(|| RuleReport {
                    rule: r.rule.clone(),
                    count: 0,
                    examples: vec![],
                });
            entry.count += 1;
            if entry.examples.len() < EXAMPLES {
                entry.examples.push(Example {
                    line,
                    column: r.column.clone(),
                    value: r.value.as_deref().map(shorten),
                    message: r.message.clone(),
                });
            }
        }
    }

    /// The failures of each rule that failed, in `order` (rules missing from it are left out).
    pub fn rules(&mut self, order: &[String]) -> Vec<RuleReport> {
        order
            .iter()
            .filter_map(|id| self.counts.remove(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{DeliveryStatus, Reason, Tally, status};

    #[test]
    fn the_status_follows_the_share_of_rejected_rows_and_the_threshold() {
        assert_eq!(status(false, 100, 0, 0.05), DeliveryStatus::Ok);
        assert_eq!(
            status(false, 100, 5, 0.05),
            DeliveryStatus::OkKo,
            "at the threshold"
        );
        assert_eq!(status(false, 100, 6, 0.05), DeliveryStatus::Ko, "above it");
        assert_eq!(status(false, 0, 0, 0.05), DeliveryStatus::Ko, "no data row");
        assert_eq!(status(true, 100, 0, 0.05), DeliveryStatus::Ko, "unreadable");
    }

    fn reason(rule: &str) -> Reason {
        Reason {
            rule: rule.into(),
            column: None,
            value: Some("x".repeat(300)),
            message: "m".into(),
        }
    }

    #[test]
    fn a_rule_keeps_five_shortened_examples_and_rules_come_in_the_given_order() {
        let mut tally = Tally::default();
        for line in 1..=7 {
            tally.reject(line, &[reason("TYPE"), reason("R1")]);
        }
        tally.reject(8, &[reason("REQUIRED")]);
        assert_eq!(
            tally.rows_rejected, 8,
            "a row counts once whatever its reasons"
        );
        let order = ["TYPE", "REQUIRED", "R1"].map(String::from);
        let rules = tally.rules(&order);
        let listed: Vec<(&str, u64)> = rules.iter().map(|r| (r.rule.as_str(), r.count)).collect();
        assert_eq!(listed, [("TYPE", 7), ("REQUIRED", 1), ("R1", 7)]);
        let lines: Vec<u64> = rules[0].examples.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5]);
        assert_eq!(
            rules[0].examples[0]
                .value
                .as_deref()
                .map(|v| v.chars().count()),
            Some(201)
        );
    }
}

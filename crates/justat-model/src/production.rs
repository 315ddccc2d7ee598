//! How the production stages end: a delivery's checks (its status and report) and a chain's
//! run, as stored, compared and shown.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a delivery's checks ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeliveryStatus {
    /// Every row passed.
    #[serde(rename = "OK")]
    Ok,
    /// Some rows were rejected, no more than the source's threshold.
    #[serde(rename = "OK_KO")]
    OkKo,
    /// Too many rows rejected, or the file could not be read: it cannot feed a chain.
    #[serde(rename = "KO")]
    Ko,
}

impl DeliveryStatus {
    /// `OK`, `OK_KO` or `KO`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Ok => "OK",
            DeliveryStatus::OkKo => "OK_KO",
            DeliveryStatus::Ko => "KO",
        }
    }

    /// Whether a chain may read the delivery: its staging file holds the rows that passed.
    pub fn feeds_chains(self) -> bool {
        self != DeliveryStatus::Ko
    }
}

/// How a chain run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunStatus {
    /// Every step ran and the cube was written.
    #[serde(rename = "OK")]
    Ok,
    /// A step failed: no cube.
    #[serde(rename = "FAILED")]
    Failed,
}

impl RunStatus {
    /// `OK` or `FAILED`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "OK",
            RunStatus::Failed => "FAILED",
        }
    }
}

/// One example of a rule's failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Line of the file (for Parquet: row number, from 1).
    pub line: u64,
    /// The column at fault, if one.
    pub column: Option<String>,
    /// Its value, if one.
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The failures of one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleReport {
    /// The rule (a source rule id, or `COLUMN_COUNT`, `TYPE`, `REQUIRED`, `CODELIST`, `DUPLICATE_KEY`).
    pub rule: String,
    /// How many rows broke it.
    pub count: u64,
    /// The first few.
    pub examples: Vec<Example>,
}

/// What the checks found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// The source id.
    pub source: String,
    /// Its schema version.
    pub source_version: i64,
    /// The file's name.
    pub file: String,
    /// `csv`, `csv.gz` or `parquet`.
    pub format: String,
    /// The outcome.
    pub status: DeliveryStatus,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows kept.
    pub rows_ok: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// The source's threshold.
    pub reject_threshold: f64,
    /// Why the file could not be read at all, if so.
    pub unreadable: Option<String>,
    /// Failures per rule.
    pub rules: Vec<RuleReport>,
}

/// A stored status that is none of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for DeliveryStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, UnknownStatus> {
        [DeliveryStatus::Ok, DeliveryStatus::OkKo, DeliveryStatus::Ko]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

impl FromStr for RunStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, UnknownStatus> {
        [RunStatus::Ok, RunStatus::Failed]
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_what_they_store_and_refuse_the_rest() {
        for d in [DeliveryStatus::Ok, DeliveryStatus::OkKo, DeliveryStatus::Ko] {
            assert_eq!(d.as_str().parse::<DeliveryStatus>(), Ok(d));
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        }
        for r in [RunStatus::Ok, RunStatus::Failed] {
            assert_eq!(r.as_str().parse::<RunStatus>(), Ok(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(
            "ko".parse::<DeliveryStatus>(),
            Err(UnknownStatus("ko".into()))
        );
        assert!("OK_KO".parse::<RunStatus>().is_err());
    }

    #[test]
    fn only_a_ko_delivery_is_kept_from_the_chains() {
        assert!(DeliveryStatus::Ok.feeds_chains());
        assert!(DeliveryStatus::OkKo.feeds_chains());
        assert!(!DeliveryStatus::Ko.feeds_chains());
    }
}

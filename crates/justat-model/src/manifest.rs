//! The manifest of a chain run: which chain version, software and input files produced which
//! cube, with the row counts after each step and the failures of each rule. The engine writes
//! it, the store keeps it beside the run, and the back office and the command line show it.

use crate::Sha256Hex;
use serde::{Deserialize, Serialize};

/// What a failed rule of a chain does to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The row goes to quarantine.
    Error,
    /// The row is kept; failures are counted.
    Warning,
}

impl Severity {
    /// `error` or `warning`, as written in chain files and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One input of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// The delivery.
    pub delivery: i64,
    /// Its source.
    pub source: String,
    /// SHA-256 of the original file.
    pub sha256: Sha256Hex,
    /// SHA-256 of its staging file.
    pub staging_sha256: Sha256Hex,
    /// Valid rows it holds.
    pub rows: u64,
}

/// Rows after one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Position (0 = the input).
    pub index: usize,
    /// Kind.
    pub kind: String,
    /// Name, id or column.
    pub name: Option<String>,
    /// Rows after it.
    pub rows_after: u64,
}

/// Failures of one rule (or recode) of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRecord {
    /// Rule id.
    pub id: String,
    /// Error or warning.
    pub severity: Severity,
    /// Its message.
    pub message: String,
    /// Rows that failed it.
    pub failed: u64,
}

/// The manifest of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The chain id.
    pub chain: String,
    /// Its version.
    pub chain_version: i64,
    /// SHA-256 of the chain file.
    pub chain_sha256: Sha256Hex,
    /// The software that ran it.
    pub software: String,
    /// The engine.
    pub engine: String,
    /// When it started (UTC).
    pub started_at: String,
    /// Inputs.
    pub inputs: Vec<InputRecord>,
    /// Codelists used, with their number of codes.
    pub codelists: Vec<(String, usize)>,
    /// Rows after each step.
    pub steps: Vec<StepRecord>,
    /// Failures per rule.
    pub rules: Vec<RuleRecord>,
    /// The quarantine file of the run, if rows were rejected.
    pub quarantine_sha256: Option<Sha256Hex>,
    /// The cube (id, cells).
    pub cube: Option<(Sha256Hex, u64)>,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Peak resident memory of the process, in bytes.
    pub peak_memory_bytes: Option<u64>,
}

impl Manifest {
    /// Completes the manifest once the run has ended.
    pub fn finish(
        &mut self,
        steps: Vec<StepRecord>,
        rules: Vec<RuleRecord>,
        cube: Option<(Sha256Hex, u64)>,
        elapsed: std::time::Duration,
        peak: Option<u64>,
    ) {
        self.steps = steps;
        self.rules = rules;
        self.cube = cube;
        self.duration_ms = elapsed.as_millis() as u64;
        self.peak_memory_bytes = peak;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_reads_back_what_it_wrote() {
        let mut m = Manifest {
            chain: "penal_orientations".into(),
            chain_version: 2,
            chain_sha256: Sha256Hex::of(b"chain"),
            software: "justat 0.1.0".into(),
            engine: "Apache DataFusion".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            inputs: vec![InputRecord {
                delivery: 1,
                source: "penal".into(),
                sha256: Sha256Hex::of(b"file"),
                staging_sha256: Sha256Hex::of(b"staging"),
                rows: 10,
            }],
            codelists: vec![("CL_COURT".into(), 164)],
            steps: Vec::new(),
            rules: Vec::new(),
            quarantine_sha256: None,
            cube: None,
            duration_ms: 0,
            peak_memory_bytes: None,
        };
        m.finish(
            vec![StepRecord {
                index: 0,
                kind: "input".into(),
                name: None,
                rows_after: 10,
            }],
            vec![RuleRecord {
                id: "R1".into(),
                severity: Severity::Warning,
                message: "m".into(),
                failed: 1,
            }],
            Some((Sha256Hex::of(b"cube"), 42)),
            std::time::Duration::from_millis(1500),
            Some(1 << 20),
        );
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains(r#""severity":"warning""#), "{text}");
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
    }
}

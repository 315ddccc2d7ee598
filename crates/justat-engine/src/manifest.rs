//! The run manifest: which chain version, software version and input files produced which
//! cube, with the row counts after each step and the failures of each rule.

use crate::chain::{Chain, Severity};
use justat_model::Sha256Hex;
use serde::Serialize;

/// One input of a run.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
    /// A manifest for a run starting now.
    pub fn new(chain: &Chain, started: jiff::Timestamp, inputs: Vec<InputRecord>) -> Manifest {
        Manifest {
            chain: chain.id.clone(),
            chain_version: chain.version,
            chain_sha256: chain.sha256.clone(),
            software: crate::SOFTWARE_VERSION.to_string(),
            engine: format!("Apache DataFusion {}", datafusion::DATAFUSION_VERSION),
            started_at: started.to_string(),
            inputs,
            codelists: chain.codelist_sizes(),
            steps: Vec::new(),
            rules: Vec::new(),
            quarantine_sha256: None,
            cube: None,
            duration_ms: 0,
            peak_memory_bytes: None,
        }
    }

    /// Completes the manifest.
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

/// The process's peak resident memory (Linux `VmHWM`), if known.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

//! The run manifest: which chain version, software version and input files produced which
//! cube, with the row counts after each step and the failures of each rule.

use crate::chain::Chain;
pub use justat_model::manifest::{InputRecord, Manifest, RuleRecord, StepRecord};

/// A manifest for a run of `chain` starting at `started`, completed by [`Manifest::finish`]
/// when the run ends.
pub fn start(chain: &Chain, started: jiff::Timestamp, inputs: Vec<InputRecord>) -> Manifest {
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

/// The process's peak resident memory (Linux `VmHWM`), if known.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

//! Deliveries and processing chains on Apache DataFusion: a management application's extract
//! is checked into staging and quarantine files, then versioned chains turn staging data into
//! cubes, each run leaving a manifest.
//!
//! The modules, from a delivered file to a cube:
//! - [`source`]: the declared schema of an application's extract, from its TOML file;
//! - [`reader`]: bounded reading of a delivered file (CSV records, gzip guard, [`reader::ReadLimits`]);
//! - [`value`]: one field's text parsed into its declared type;
//! - [`delivery`]: a delivered file checked (ESS levels 0–1) into staging and quarantine files,
//!   with one reader per format, the checks, the writers and the report apart;
//! - [`order`]: the key order a delivery's rows arrived in, recorded for the chains;
//! - [`ingest`]: adding a delivery — dedup, check, lake, store;
//! - [`chain`]: a chain file's steps run as DataFusion SQL into a cube, one module per step kind;
//! - [`manifest`]: what a run records about its inputs, steps and rules;
//! - [`cube`]: a cube's cells read back for disclosure control and publications.
//!
//! Architecture invariants:
//! - the only crate that depends on DataFusion; its API takes and returns Justat's own types;
//! - original files, staging, quarantine and cubes go to the content-addressed lake and are
//!   never modified; what is recorded about them goes through `justat-store`;
//! - a failed check or run leaves no partial file under a content address and no record
//!   changed: files are written in the lake's scratch folder and moved in only when complete.

pub mod chain;
pub mod cube;
pub mod delivery;
pub mod ingest;
pub mod manifest;
pub mod order;
pub mod reader;
pub mod source;
pub mod value;

use std::path::Path;

/// What can go wrong in the engine. User mistakes say which file, line, column or step.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A source schema file is invalid.
    #[error("source file {file}: {message}")]
    SourceFile {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A source rule does not compile.
    #[error("source `{source_id}`, rule {rule}: {message}")]
    SourceRule {
        /// The source.
        source_id: String,
        /// The rule id.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// No such source.
    #[error("unknown source `{name}`: use one of {known}, or the path of a source .toml file")]
    UnknownSource {
        /// What was asked.
        name: String,
        /// The shipped sources.
        known: String,
    },
    /// The same file was delivered before.
    #[error(
        "{file} was already delivered as delivery #{id} (source {source_id}, {received_at}); nothing was added"
    )]
    AlreadyDelivered {
        /// The file given.
        file: String,
        /// The earlier delivery.
        id: i64,
        /// Its source.
        source_id: String,
        /// When.
        received_at: String,
    },
    /// A chain file is invalid.
    #[error("chain file {file}: {message}")]
    ChainFile {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A chain file's SQL is not one read-only query or expression (see `chain::sql_guard`); the
    /// message is in French, for the statistician who wrote the file.
    #[error("{file}:{line}: étape {step} ({kind}) : {message}")]
    ChainSql {
        /// The file.
        file: String,
        /// The line of the SQL in the file, 1-based.
        line: usize,
        /// The step, from 1.
        step: usize,
        /// Its kind.
        kind: &'static str,
        /// Why it is refused.
        message: String,
    },
    /// A chain step failed.
    #[error("chain `{chain}`, step {step} ({kind}{name}): {message}")]
    Step {
        /// The chain.
        chain: String,
        /// Its position, from 1.
        step: usize,
        /// Its kind.
        kind: &'static str,
        /// ` "name"` when the step has one.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A delivery cannot feed a chain.
    #[error("delivery #{id} cannot feed chain `{chain}`: {reason}")]
    BadInput {
        /// The delivery.
        id: i64,
        /// The chain.
        chain: String,
        /// Why.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Arrow failed (a bug or an unexpected file).
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// DataFusion failed.
    #[error("datafusion: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] justat_store::StoreError),
    /// A run's manifest or a delivery's report could not be written as JSON (a bug: both are
    /// plain data).
    #[error("json: {0}")]
    Json(serde_json::Error),
}

impl EngineError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> EngineError {
        EngineError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The software version written into manifests.
pub const SOFTWARE_VERSION: &str = concat!("justat ", env!("CARGO_PKG_VERSION"));

//! Checking a delivery (ESS validation levels 0 and 1) into a staging Parquet of valid rows
//! and a quarantine Parquet of rejected rows, each with its rule, message and line number.
//!
//! Nothing is dropped silently: every data row read ends in exactly one of the two files
//! (a rejected row once per rule it breaks), and the report counts them.
//!
//! The parts: `run` ([`check_file`]) picks the reader for the file's format — `csv` (plain or
//! gzip-compressed, in the source's encoding) or `parquet` — which hands typed batches to the
//! `checks`; `writers` write the staging and quarantine files, `report` counts and decides the
//! outcome, `messages` holds the French wording they share.

mod checker;
mod checks;
mod csv;
mod messages;
mod parquet;
mod report;
mod run;
mod writers;

pub use checks::{CompiledRule, compile_rules};
pub use report::{CheckedDelivery, DeliveryReport, DeliveryStatus, Example, RuleReport};
pub use run::{check_file, sniff_format};
pub use writers::{staging_schema, writer_properties};

/// Rows per batch: large enough for vectorised rule evaluation, small enough for memory.
const BATCH_ROWS: usize = 65_536;
/// Bytes of values per batch: a batch of long rows is checked before it holds more.
const BATCH_BYTES: usize = 64 << 20;

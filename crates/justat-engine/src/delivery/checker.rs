//! The state of one delivery's check, fed batch by batch by its format's reader: the rows'
//! checks, the counts, and the staging and quarantine files they are written to.

use super::checks::{Checks, lines};
use super::report::{self, DeliveryReport, DeliveryStatus, Reason, Tally};
use super::writers::{Quarantine, Staging, staging_schema};
use crate::EngineError;
use crate::source::Source;
use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::array_value_to_string;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers the scratch files of the process, so that concurrent checks never share one.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The state of one delivery's check, fed by its reader: every row read ends in the staging
/// file or, once per reason, in the quarantine file, and is counted.
pub(super) struct Checker<'a> {
    source: &'a Source,
    schema: SchemaRef,
    checks: Checks<'a>,
    rule_order: Vec<String>,
    staging: Staging,
    quarantine: Quarantine,
    tally: Tally,
}

impl<'a> Checker<'a> {
    /// A checker of `source` writing into `scratch`, and the paths of its staging and
    /// quarantine files.
    pub(super) fn new(
        source: &'a Source,
        scratch: &Path,
    ) -> Result<(Checker<'a>, PathBuf, PathBuf), EngineError> {
        let stamp = format!(
            "{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let staging_path = scratch.join(format!("staging-{stamp}.parquet"));
        let quarantine_path = scratch.join(format!("quarantine-{stamp}.parquet"));
        let staging = Staging::create(source, &staging_path)?;
        let quarantine = Quarantine::create(&quarantine_path)?;
        let checks = Checks::new(source)?;
        let checker = Checker {
            source,
            schema: staging_schema(source),
            rule_order: checks.rule_order(),
            checks,
            staging,
            quarantine,
            tally: Tally::default(),
        };
        Ok((checker, staging_path, quarantine_path))
    }

    /// The source checked against.
    pub fn source(&self) -> &'a Source {
        self.source
    }

    /// The schema of the batches [`Checker::check_batch`] takes (the staging file's).
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Data rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.tally.rows_read
    }

    /// Counts `n` more data rows read.
    pub fn count_read(&mut self, n: u64) {
        self.tally.rows_read += n;
    }

    /// Rejects the row at `line` for `reasons`; `raw` is the row as delivered.
    pub fn reject(
        &mut self,
        line: u64,
        reasons: &[Reason],
        raw: Option<&str>,
    ) -> Result<(), EngineError> {
        self.tally.reject(line, reasons);
        for r in reasons {
            self.quarantine.push(line, r, raw)?;
        }
        Ok(())
    }

    /// Checks one typed batch, rejects its invalid rows and writes the others to staging.
    /// `raws` are its rows as delivered; without them, a rejected row is shown from its values.
    pub fn check_batch(
        &mut self,
        batch: RecordBatch,
        raws: Option<&[String]>,
    ) -> Result<(), EngineError> {
        let reasons = self.checks.check(&batch)?;
        let lines = lines(&batch)?.clone();
        let keep: BooleanArray = reasons.iter().map(|r| Some(r.is_empty())).collect();
        for (i, r) in reasons.iter().enumerate() {
            if !r.is_empty() {
                let raw = match raws {
                    Some(raws) => raws[i].clone(),
                    None => render_row(&batch, i, self.source.separator)?,
                };
                self.reject(lines.value(i) as u64, r, Some(&raw))?;
            }
        }
        let kept = filter_record_batch(&batch, &keep)?;
        self.staging.write(&kept)
    }

    /// Closes both files and reports; whether the quarantine file holds any row.
    pub(super) fn finish(
        mut self,
        file: &str,
        format: &str,
        unreadable: Option<String>,
    ) -> Result<(DeliveryReport, bool), EngineError> {
        let has_quarantine = self.quarantine.close()?;
        self.staging.close()?;
        let Tally {
            rows_read,
            rows_rejected,
            ..
        } = self.tally;
        let status = report::status(
            unreadable.is_some(),
            rows_read,
            rows_rejected,
            self.source.reject_threshold,
        );
        let unreadable = unreadable.or_else(|| {
            (rows_read == 0).then(|| format!("{file} : le fichier n'a aucune ligne de données"))
        });
        let report = DeliveryReport {
            source: self.source.id.clone(),
            source_version: self.source.version,
            file: file.to_string(),
            format: format.to_string(),
            status,
            rows_read,
            rows_ok: if status == DeliveryStatus::Ko {
                0
            } else {
                rows_read - rows_rejected
            },
            rows_rejected,
            reject_threshold: self.source.reject_threshold,
            unreadable,
            rules: self.tally.rules(&self.rule_order),
        };
        Ok((report, has_quarantine))
    }
}

/// A row of a batch in the staging schema as the delivered line would read, `_line` left out.
fn render_row(batch: &RecordBatch, i: usize, sep: u8) -> Result<String, EngineError> {
    let mut parts = Vec::new();
    for c in 1..batch.num_columns() {
        parts.push(array_value_to_string(batch.column(c), i)?);
    }
    Ok(parts.join(&(sep as char).to_string()))
}

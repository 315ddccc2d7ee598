//! Checking one delivered file: its format sniffed, its reader feeding a [`Checker`] that
//! checks each batch, counts the failures and writes the staging and quarantine files, then
//! the report; a file that cannot be checked leaves nothing behind.

use super::checks::{Checks, Reason, lines};
use super::report::{self, CheckedDelivery, DeliveryReport, DeliveryStatus, Tally};
use super::writers::{Quarantine, Staging, staging_schema};
use super::{csv, parquet};
use crate::EngineError;
use crate::reader::ReadLimits;
use crate::source::Source;
use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::array_value_to_string;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers the scratch files of the process, so that concurrent checks never share one.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The format of a delivered file, from its first bytes.
pub fn sniff_format(path: &Path) -> Result<&'static str, EngineError> {
    let mut head = [0u8; 4];
    let mut f = File::open(path).map_err(|e| EngineError::io(path, e))?;
    let n = f.read(&mut head).map_err(|e| EngineError::io(path, e))?;
    Ok(match &head[..n] {
        [0x1f, 0x8b, ..] => "csv.gz",
        b"PAR1" => "parquet",
        _ => "csv",
    })
}

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
    fn new(
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
    fn finish(
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

/// Checks the delivered file at `path` against `source` within `limits`, writing its staging
/// and quarantine files into `scratch`. `progress` is called with the number of rows read so
/// far. A file beyond a limit ends `KO` with the reason and the line where it went beyond.
pub fn check_file(
    source: &Source,
    path: &Path,
    scratch: &Path,
    limits: &ReadLimits,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<CheckedDelivery, EngineError> {
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let format = sniff_format(path)?;
    let (mut checker, staging_path, quarantine_path) = Checker::new(source, scratch)?;
    let read = match format {
        "parquet" => parquet::read(&mut checker, path, &file_name, limits, progress),
        _ => csv::read(
            &mut checker,
            path,
            format == "csv.gz",
            &file_name,
            limits,
            progress,
        ),
    };
    let unreadable = match read {
        Ok(u) => u,
        Err(e) => {
            // Nothing half-written stays behind in the scratch folder.
            drop(checker);
            let _ = std::fs::remove_file(&staging_path);
            let _ = std::fs::remove_file(&quarantine_path);
            return Err(e);
        }
    };
    let (mut report, has_quarantine) = checker.finish(&file_name, format, unreadable)?;
    if report.status == DeliveryStatus::Ko && report.unreadable.is_some() {
        report.rows_ok = 0;
    }
    let staging = (report.status != DeliveryStatus::Ko).then_some(staging_path.clone());
    if staging.is_none() {
        let _ = std::fs::remove_file(&staging_path);
    }
    let quarantine = has_quarantine.then_some(quarantine_path.clone());
    if quarantine.is_none() {
        let _ = std::fs::remove_file(&quarantine_path);
    }
    Ok(CheckedDelivery {
        report,
        staging,
        quarantine,
    })
}

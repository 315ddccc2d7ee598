//! Checking one delivered file: its format sniffed, its reader feeding a [`Checker`] that
//! checks each batch, counts the failures and writes the staging and quarantine files, then
//! the report; a file that cannot be checked leaves nothing behind.

use super::checker::Checker;
use super::report::{CheckedDelivery, DeliveryStatus};
use super::{csv, parquet};
use crate::EngineError;
use crate::reader::ReadLimits;
use crate::source::Source;
use std::fs::File;
use std::io::Read;
use std::path::Path;

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

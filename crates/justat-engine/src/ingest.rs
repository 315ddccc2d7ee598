//! Adding a delivery: refuse a file already delivered, check it, move its files into the
//! lake, record it in the store.

use crate::EngineError;
use crate::delivery::{CheckedDelivery, check_file};
use crate::reader::ReadLimits;
use crate::source::Source;
use justat_model::Sha256Hex;
use justat_store::{Actor, Delivery, Lake, LakeKind, NewDelivery, Store};
use std::path::Path;

/// Checks `path` against `source` within the process's [`ReadLimits`] (the configuration's)
/// and records it. A file already delivered is refused before anything is written.
pub async fn add_delivery(
    store: &Store,
    lake: &Lake,
    source: &Source,
    path: &Path,
    actor: &Actor,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Delivery, EngineError> {
    add_delivery_within(
        store,
        lake,
        source,
        path,
        actor,
        &ReadLimits::current(),
        progress,
    )
    .await
}

/// [`add_delivery`] within `limits`. A file beyond them is recorded `KO` with its report, and
/// its original is kept in the lake like any other.
pub async fn add_delivery_within(
    store: &Store,
    lake: &Lake,
    source: &Source,
    path: &Path,
    actor: &Actor,
    limits: &ReadLimits,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Delivery, EngineError> {
    let meta = std::fs::metadata(path).map_err(|e| EngineError::io(path, e))?;
    if !meta.is_file() {
        return Err(EngineError::io(path, std::io::Error::other("not a file")));
    }
    let sha = Lake::hash_file(path).map_err(|e| EngineError::io(path, e))?;
    if let Some(earlier) = store.delivery_by_sha256(&sha).await? {
        return Err(EngineError::AlreadyDelivered {
            file: path.display().to_string(),
            id: earlier.id,
            source_id: earlier.source,
            received_at: earlier.received_at.to_string(),
        });
    }
    let scratch = lake
        .scratch()
        .map_err(|e| EngineError::io(Path::new("lake/tmp"), e))?;
    let CheckedDelivery {
        report,
        staging,
        quarantine,
    } = tokio::task::block_in_place(|| check_file(source, path, &scratch, limits, progress))?;
    let ext = match report.format.as_str() {
        "parquet" => "parquet",
        "csv.gz" => "csv.gz",
        _ => "csv",
    };
    let put = |kind, file: &Path, ext: &str| -> Result<Sha256Hex, EngineError> {
        let sha = lake
            .put_file(kind, file, ext)
            .map_err(|e| EngineError::io(file, e))?;
        let _ = std::fs::remove_file(file);
        Ok(sha)
    };
    lake.put_file(LakeKind::Delivery, path, ext)
        .map_err(|e| EngineError::io(path, e))?;
    let staging_sha = staging
        .as_deref()
        .map(|p| put(LakeKind::Staging, p, "parquet"))
        .transpose()?;
    let quarantine_sha = quarantine
        .as_deref()
        .map(|p| put(LakeKind::Quarantine, p, "parquet"))
        .transpose()?;
    let new = NewDelivery {
        source: source.id.clone(),
        source_version: source.version,
        file_name: report.file.clone(),
        sha256: sha,
        size_bytes: meta.len() as i64,
        format: report.format.clone(),
        status: report.status,
        rows_read: report.rows_read as i64,
        rows_ok: report.rows_ok as i64,
        rows_rejected: report.rows_rejected as i64,
        staging_sha256: staging_sha,
        quarantine_sha256: quarantine_sha,
        report: serde_json::to_value(&report).map_err(EngineError::Json)?,
    };
    Ok(store
        .record_delivery(&new, actor, jiff::Timestamp::now())
        .await?)
}

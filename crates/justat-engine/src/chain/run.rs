//! Running a chain for the record: its deliveries checked and read from the lake, the chain
//! executed, the cube and quarantine put into the lake, and the run, its manifest and its cube
//! recorded in one transaction, a failed run with its error and no cube.

use super::execute::{Progress, RunOptions, execute};
use super::file::Chain;
use crate::EngineError;
use crate::delivery::writer_properties;
use crate::manifest::{self, InputRecord, peak_memory_bytes};
use datafusion::parquet::arrow::ArrowWriter;
use justat_model::RunStatus;
use justat_store::{Actor, ChainRun, Lake, LakeKind, NewCube, NewRun, Store};
use std::path::Path;

/// Runs a chain over recorded deliveries and records the run (and its cube) in the store.
/// A failed run is recorded too, with its error, and leaves no cube behind.
pub async fn run_chain(
    store: &Store,
    lake: &Lake,
    chain: &Chain,
    delivery_ids: &[i64],
    options: &RunOptions,
    actor: &Actor,
    progress: Progress<'_>,
) -> Result<ChainRun, EngineError> {
    let started = jiff::Timestamp::now();
    let clock = std::time::Instant::now();
    if delivery_ids.is_empty() {
        return Err(EngineError::ChainFile {
            file: chain.id.clone(),
            message: "give at least one delivery".into(),
        });
    }
    let mut inputs = Vec::new();
    let mut paths = Vec::new();
    for &id in delivery_ids {
        let d = store.delivery(id).await?;
        let bad = |reason: String| EngineError::BadInput {
            id,
            chain: chain.id.clone(),
            reason,
        };
        if d.source != chain.source {
            return Err(bad(format!(
                "it is a delivery of source `{}`, the chain reads `{}`",
                d.source, chain.source
            )));
        }
        let Some(staging) = d.staging_sha256.clone().filter(|_| d.status.feeds_chains()) else {
            return Err(bad(
                "its checks ended KO (see `justat delivery show`)".into()
            ));
        };
        paths.push(lake.path(LakeKind::Staging, &staging, "parquet"));
        inputs.push(InputRecord {
            delivery: id,
            source: d.source,
            sha256: d.sha256,
            staging_sha256: staging,
            rows: d.rows_ok as u64,
        });
    }
    let mut options = options.clone();
    if options.scratch.is_none() {
        options.scratch = lake.scratch().ok();
    }
    let result = execute(chain, &paths, &options, progress).await;
    let mut manifest = manifest::start(chain, started, inputs);
    let (status, error, cube) = match &result {
        Ok(out) => {
            let cube_id = lake
                .put_bytes(LakeKind::Cube, &out.cube_bytes, "parquet")
                .map_err(|e| EngineError::io(Path::new("lake/cubes"), e))?;
            if !out.quarantine.is_empty() {
                let mut bytes = Vec::new();
                let mut w = ArrowWriter::try_new(
                    &mut bytes,
                    out.quarantine[0].schema(),
                    Some(writer_properties()),
                )?;
                for b in &out.quarantine {
                    w.write(b)?;
                }
                w.close()?;
                let q = lake
                    .put_bytes(LakeKind::Quarantine, &bytes, "parquet")
                    .map_err(|e| EngineError::io(Path::new("lake/quarantine"), e))?;
                manifest.quarantine_sha256 = Some(q);
            }
            manifest.finish(
                out.steps.clone(),
                out.rules.clone(),
                Some((cube_id.clone(), out.cube_rows)),
                clock.elapsed(),
                peak_memory_bytes(),
            );
            let cube = NewCube {
                id: cube_id,
                name: out.cube_name.clone(),
                rows: out.cube_rows as i64,
                schema: out.cube_schema.clone(),
            };
            (RunStatus::Ok, None, Some(cube))
        }
        Err(e) => {
            manifest.finish(
                Vec::new(),
                Vec::new(),
                None,
                clock.elapsed(),
                peak_memory_bytes(),
            );
            (RunStatus::Failed, Some(e.to_string()), None)
        }
    };
    let new = NewRun {
        chain: chain.id.clone(),
        chain_version: chain.version,
        chain_sha256: chain.sha256.clone(),
        inputs: delivery_ids.to_vec(),
        status,
        error,
        cube,
        manifest,
        started_at: started,
    };
    let run = store
        .record_run(&new, actor, jiff::Timestamp::now())
        .await?;
    result.map(|_| run)
}

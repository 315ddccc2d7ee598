//! Executing a chain over staging files: the DataFusion session (sorted inputs, memory limit),
//! then each step in turn, the per-row steps counted at each barrier, until the cube.

use super::barrier::{Segment, Tally, flush, flush_streamed};
use super::file::{Chain, Step};
use super::steps::{self, CubeFile, Outcome, Rows, Scratch};
use crate::EngineError;
use crate::manifest::{RuleRecord, StepRecord};
use datafusion::arrow::array::RecordBatch;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionConfig, SessionContext};
use std::path::PathBuf;

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The engine's memory limit; past it, operators spill to disk rather than fail.
    pub memory_limit_bytes: usize,
    /// Parallelism.
    pub target_partitions: usize,
    /// A folder for intermediate results (deleted at the end of the run).
    pub scratch: Option<std::path::PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            memory_limit_bytes: 1 << 30,
            target_partitions: std::thread::available_parallelism().map_or(2, |n| n.get()),
            scratch: None,
        }
    }
}

/// Progress of a run: (steps done, steps in all, what is running).
pub type Progress<'a> = &'a mut (dyn FnMut(usize, usize, &str) + Send);

/// The result of a run, before it is recorded.
pub struct RunOutput {
    /// The cube file's bytes (Parquet).
    pub cube_bytes: Vec<u8>,
    /// The cube's schema.
    pub cube_schema: justat_model::CubeSchema,
    /// Number of cells.
    pub cube_rows: u64,
    /// The cube's name.
    pub cube_name: String,
    /// Rows rejected by rules and recodes, with their reasons.
    pub quarantine: Vec<RecordBatch>,
    /// Per-step counts.
    pub steps: Vec<StepRecord>,
    /// Per-rule counts.
    pub rules: Vec<RuleRecord>,
}

/// Runs `chain` over staging Parquet files, in memory of the lake only at the end.
pub async fn execute(
    chain: &Chain,
    staging: &[PathBuf],
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<RunOutput, EngineError> {
    let mut scratch = Scratch {
        dir: options.scratch.clone(),
        written: Vec::new(),
    };
    let result = execute_steps(chain, staging, options, progress, &mut scratch).await;
    scratch.clean();
    result
}

fn step_error(chain: &Chain, i: usize, step: &Step, e: &dyn std::fmt::Display) -> EngineError {
    EngineError::Step {
        chain: chain.id.clone(),
        step: i + 1,
        kind: step.kind(),
        name: step
            .label()
            .map_or_else(String::new, |l| format!(" \"{l}\"")),
        message: e.to_string(),
    }
}

async fn count(df: &DataFrame) -> Result<u64, datafusion::error::DataFusionError> {
    Ok(df.clone().count().await? as u64)
}

/// Each step in turn: a barrier step first counts and drops what the per-row steps before it
/// flagged; the cube ends the run.
async fn execute_steps(
    chain: &Chain,
    staging: &[PathBuf],
    options: &RunOptions,
    progress: Progress<'_>,
    scratch: &mut Scratch,
) -> Result<RunOutput, EngineError> {
    let (ctx, mut df) = session(chain, staging, options).await?;
    let mut tally = Tally::default();
    let total = chain.steps.len();
    tally.steps.push(StepRecord {
        index: 0,
        kind: "input".into(),
        name: None,
        rows_after: count(&df).await?,
    });
    let mut seg = Segment::default();
    for (i, step) in chain.steps.iter().enumerate() {
        progress(
            i,
            total,
            &format!("{} {}", step.kind(), step.label().unwrap_or_default()),
        );
        let fail = |e: &dyn std::fmt::Display| step_error(chain, i, step, e);
        let started = std::time::Instant::now();
        let mut deferred = None;
        if matches!(step, Step::Unit { .. }) && scratch.dir.is_some() && !seg.is_empty() {
            // The unit reads its rows once, into its scratch file: the barrier's counts and
            // quarantine are taken on the way (see `flush_streamed`).
            let (next, counted) = flush_streamed(&ctx, df, &mut seg, i)
                .await
                .map_err(|e| fail(&e))?;
            df = next;
            deferred = Some(counted);
        } else if step.is_barrier() {
            df = flush(&ctx, &mut tally, df, &mut seg, i)
                .await
                .map_err(|e| fail(&e))?;
            tracing::debug!(
                step = i + 1,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "per-row steps counted"
            );
        }
        let table = format!("t{i}");
        ctx.register_table(table.as_str(), df.clone().into_view())
            .map_err(|e| fail(&e))?;
        let rows = Rows {
            ctx: &ctx,
            df: &df,
            table: &table,
            at: i,
        };
        let outcome = steps::apply(chain, step, rows, &mut seg, &mut tally.rules, scratch);
        let outcome = outcome.await.map_err(|e| fail(&e))?;
        if let Some(counted) = deferred {
            counted.settle(&mut tally).await.map_err(|e| fail(&e))?;
        }
        let rows_after = match outcome {
            Outcome::PerRow(next) => {
                df = next;
                // Counted at the next barrier, with the other per-row steps.
                seg.count_rows_after(tally.steps.len());
                0
            }
            Outcome::Reshaped(next) => {
                df = next;
                let elapsed_ms = started.elapsed().as_millis() as u64;
                tracing::debug!(step = i + 1, kind = step.kind(), elapsed_ms, "step done");
                count(&df).await.map_err(|e| fail(&e))?
            }
            Outcome::Cube(cube) => {
                let elapsed_ms = started.elapsed().as_millis() as u64;
                tracing::debug!(step = i + 1, elapsed_ms, "cube built");
                tally.steps.push(record(i, step, cube.rows));
                progress(total, total, "done");
                return Ok(output(tally, step, cube));
            }
        };
        tally.steps.push(record(i, step, rows_after));
    }
    Err(EngineError::ChainFile {
        file: chain.id.clone(),
        message: "a chain ends with a cube step (checked when parsed)".into(),
    })
}

/// The manifest's line for the step at position `i`.
fn record(i: usize, step: &Step, rows_after: u64) -> StepRecord {
    StepRecord {
        index: i + 1,
        kind: step.kind().into(),
        name: step.label(),
        rows_after,
    }
}

/// What a run that reached its cube step gives.
fn output(tally: Tally, cube_step: &Step, cube: CubeFile) -> RunOutput {
    RunOutput {
        cube_bytes: cube.bytes,
        cube_schema: cube.schema,
        cube_rows: cube.rows,
        cube_name: cube_step.label().unwrap_or_default(),
        quarantine: tally.quarantine,
        steps: tally.steps,
        rules: tally.rules,
    }
}

/// The run's session and its input rows. Inputs that all arrived sorted by a key prefix
/// (recorded at delivery, see `order`) are read as such when the chain builds a unit on it:
/// DataFusion then builds the unit by streaming aggregation.
async fn session(
    chain: &Chain,
    staging: &[PathBuf],
    options: &RunOptions,
) -> Result<(SessionContext, DataFrame), EngineError> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(options.memory_limit_bytes, 1.0)
        .build_arc()?;
    // On one partition when sorted: with two, the partial aggregate and the order-preserving
    // exchange cost more than the second core gives (measured with bench/chain: 9.6 s against
    // 14 s on 10 million rows).
    let mut sorted_by = common_sort_order(staging)?;
    // Only a unit built on that order gains from it; other chains keep both cores.
    let unit_on_order = chain.steps.iter().any(|s| {
        matches!(s, Step::Unit { key, .. } if !key.is_empty() && key.first() == sorted_by.first())
    });
    if !unit_on_order {
        sorted_by.clear();
    }
    let partitions = if sorted_by.is_empty() {
        options.target_partitions.max(1)
    } else {
        1
    };
    // Larger batches than the default 8,192 rows: fewer, longer vectorised loops (measured with
    // bench/chain).
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(32_768)
        // Files whose key ranges do not overlap stay in one ordered stream, not one per file.
        .set_bool(
            "datafusion.execution.split_file_groups_by_statistics",
            !sorted_by.is_empty(),
        );
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    let paths: Vec<String> = staging.iter().map(|p| p.display().to_string()).collect();
    let mut read = ParquetReadOptions::default();
    if !sorted_by.is_empty() {
        read = read.file_sort_order(vec![
            sorted_by
                .iter()
                .map(|c| {
                    datafusion::prelude::col(datafusion::common::Column::new_unqualified(c))
                        .sort(true, false)
                })
                .collect(),
        ]);
    }
    let df = ctx.read_parquet(paths, read).await?;
    Ok((ctx, df))
}

/// The longest key prefix every input file records being sorted by (none if one records none).
fn common_sort_order(staging: &[PathBuf]) -> Result<Vec<String>, EngineError> {
    let mut common: Option<Vec<String>> = None;
    for path in staging {
        let reader = datafusion::parquet::file::reader::SerializedFileReader::new(
            std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?,
        )?;
        let recorded: Vec<String> =
            datafusion::parquet::file::reader::FileReader::metadata(&reader)
                .file_metadata()
                .key_value_metadata()
                .and_then(|kv| kv.iter().find(|kv| kv.key == crate::order::SORTED_BY_KEY))
                .and_then(|kv| kv.value.as_deref())
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default();
        common = Some(match common {
            None => recorded,
            Some(c) => c
                .into_iter()
                .zip(recorded)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    Ok(common.unwrap_or_default())
}

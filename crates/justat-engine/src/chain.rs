//! Processing chains: a versioned, declarative TOML file of steps (filter, rule, derive,
//! recode, unit, sql, cube) run on DataFusion over the staging files of deliveries, ending in
//! a cube with every hierarchy level and total computed.

use crate::EngineError;
use crate::chain_sql::{embed, read_only};
use crate::delivery::writer_properties;
use crate::manifest::{InputRecord, Manifest, RuleRecord, StepRecord, peak_memory_bytes};
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionConfig, SessionContext};
use justat_model::codelist::{Codelist, shipped_codelist};
use justat_store::{Actor, ChainRun, Lake, LakeKind, NewCube, NewRun, Store};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// What a failed rule does to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The row goes to quarantine.
    Error,
    /// The row is kept; failures are counted.
    Warning,
}

/// An aggregate of a cube measure (only those that add up across hierarchy levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// Number of rows (units).
    Count,
    /// Sum of a column (decimals summed exactly, to the cent).
    Sum,
}

/// A dimension of a cube, bound to a codelist.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    /// The column.
    pub column: String,
    /// Its codelist: every level of its hierarchy is computed.
    pub codelist: String,
}

/// A measure of a cube.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// Its name in the cube.
    pub name: String,
    /// How it is computed.
    pub aggregate: Aggregate,
    /// The column summed (for `sum`).
    pub column: Option<String>,
}

/// One step of a chain.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Step {
    /// Keeps the rows where `where` is true.
    Filter {
        /// What the filter is for.
        name: Option<String>,
        /// SQL condition.
        #[serde(rename = "where")]
        condition: String,
    },
    /// A validation rule: rows where `expression` is not TRUE fail.
    Rule {
        /// Its identifier.
        id: String,
        /// SQL condition every row should satisfy.
        expression: String,
        /// `error` (to quarantine) or `warning` (counted).
        severity: Severity,
        /// What a failure means.
        message: String,
    },
    /// Adds (or replaces) a column computed by an SQL expression.
    Derive {
        /// The new column.
        column: String,
        /// SQL expression.
        expression: String,
    },
    /// Maps a column's codes through a codelist level or an explicit mapping; rows whose code
    /// has no image go to quarantine.
    Recode {
        /// The column read.
        column: String,
        /// The column written.
        into: String,
        /// A codelist whose ancestor at `level` is the image…
        codelist: Option<String>,
        /// …at this depth (0 = the root).
        level: Option<usize>,
        /// …or an explicit table.
        mapping: Option<BTreeMap<String, String>>,
    },
    /// Builds the statistical unit: one row per `key`, other columns aggregated.
    Unit {
        /// What the unit is.
        name: Option<String>,
        /// The columns identifying a unit.
        key: Vec<String>,
        /// Column name → SQL aggregate expression.
        #[serde(default)]
        columns: BTreeMap<String, String>,
    },
    /// A reviewed SQL query over the table `input`, for what the other steps cannot say.
    Sql {
        /// What it does.
        name: Option<String>,
        /// Who reviewed it (required: this is an escape hatch).
        reviewed_by: String,
        /// The query.
        query: String,
    },
    /// The cube: counts or sums by period and dimensions, at every level of each hierarchy.
    Cube {
        /// The cube's name.
        name: String,
        /// The column holding the time period.
        period: String,
        /// The dimensions.
        dimensions: Vec<Dimension>,
        /// The measures.
        measures: Vec<Measure>,
        /// The statistical unit counted, in French.
        unit: String,
        /// The source line printed under every table (`Source : …`).
        source_line: String,
    },
}

impl Step {
    /// The step's kind, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Filter { .. } => "filter",
            Step::Rule { .. } => "rule",
            Step::Derive { .. } => "derive",
            Step::Recode { .. } => "recode",
            Step::Unit { .. } => "unit",
            Step::Sql { .. } => "sql",
            Step::Cube { .. } => "cube",
        }
    }

    /// Its name, id or column, for messages and the manifest.
    pub fn label(&self) -> Option<String> {
        match self {
            Step::Filter { name, .. } | Step::Unit { name, .. } | Step::Sql { name, .. } => {
                name.clone()
            }
            Step::Rule { id, .. } => Some(id.clone()),
            Step::Derive { column, .. } => Some(column.clone()),
            Step::Recode { into, .. } => Some(into.clone()),
            Step::Cube { name, .. } => Some(name.clone()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainFile {
    id: String,
    version: i64,
    label: String,
    source: String,
    steps: Vec<Step>,
}

/// A processing chain.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Its id.
    pub id: String,
    /// Its version: a change to the file must come with a new version.
    pub version: i64,
    /// What it produces, in French.
    pub label: String,
    /// The source whose deliveries it reads.
    pub source: String,
    /// The steps, in order; the last one is the cube.
    pub steps: Vec<Step>,
    /// SHA-256 of the file.
    pub sha256: String,
    codelists: BTreeMap<String, Codelist>,
}

/// The chains shipped with Justat.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "penal_orientations",
        include_str!("../../../chains/penal_orientations.toml"),
    ),
    (
        "cjn_convictions",
        include_str!("../../../chains/cjn_convictions.toml"),
    ),
    (
        "prison_stock",
        include_str!("../../../chains/prison_stock.toml"),
    ),
];

impl Chain {
    /// Parses and checks a chain file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Chain, EngineError> {
        let bad = |message: String| EngineError::ChainFile {
            file: origin.to_string(),
            message,
        };
        let file: ChainFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut codelists = BTreeMap::new();
        let cubes = file
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Cube { .. }))
            .count();
        if cubes != 1 || !matches!(file.steps.last(), Some(Step::Cube { .. })) {
            return Err(bad("a chain ends with exactly one `cube` step".into()));
        }
        for (i, step) in file.steps.iter().enumerate() {
            let at = |m: String| bad(format!("step {} ({}): {m}", i + 1, step.kind()));
            let mut need = |id: &str| -> Result<(), EngineError> {
                let cl =
                    shipped_codelist(id).ok_or_else(|| at(format!("unknown codelist `{id}`")))?;
                codelists.insert(id.to_string(), cl);
                Ok(())
            };
            match step {
                Step::Recode {
                    codelist,
                    level,
                    mapping,
                    ..
                } => match (codelist, level, mapping) {
                    (Some(id), Some(_), None) => need(id)?,
                    (None, None, Some(m)) if !m.is_empty() => {}
                    _ => {
                        return Err(at(
                            "give either `codelist` and `level`, or a non-empty `mapping`".into(),
                        ));
                    }
                },
                Step::Unit { key, .. } if key.is_empty() => {
                    return Err(at("`key` lists at least one column".into()));
                }
                Step::Sql { reviewed_by, .. } if reviewed_by.trim().is_empty() => {
                    return Err(at("`reviewed_by` names who reviewed this query".into()));
                }
                Step::Cube {
                    dimensions,
                    measures,
                    ..
                } => {
                    for d in dimensions {
                        need(&d.codelist)?;
                    }
                    for m in measures {
                        if m.aggregate == Aggregate::Sum && m.column.is_none() {
                            return Err(at(format!("measure `{}` sums a `column`", m.name)));
                        }
                    }
                    if measures.is_empty() {
                        return Err(at("a cube has at least one measure".into()));
                    }
                }
                _ => {}
            }
        }
        check_sql(text, origin, &file.steps)?;
        Ok(Chain {
            id: file.id,
            version: file.version,
            label: file.label,
            source: file.source,
            steps: file.steps,
            sha256: justat_model::Sha256Hex::of(text.as_bytes()).to_string(),
            codelists,
        })
    }

    /// A shipped chain by id, or a chain file by path.
    pub fn load(name_or_path: &str) -> Result<Chain, EngineError> {
        if let Some((_, text)) = SHIPPED.iter().find(|(id, _)| *id == name_or_path) {
            return Chain::parse(text, &format!("chains/{name_or_path}.toml"));
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
            return Chain::parse(&text, name_or_path);
        }
        Err(EngineError::ChainFile {
            file: name_or_path.to_string(),
            message: format!(
                "no such chain; use one of {} or the path of a chain .toml file",
                SHIPPED
                    .iter()
                    .map(|(id, _)| *id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

/// Where each SQL text of a chain file's steps starts, read again with their spans.
#[derive(Deserialize)]
struct SqlSpans {
    #[serde(default)]
    steps: Vec<StepSqlSpans>,
}

#[derive(Deserialize)]
struct StepSqlSpans {
    #[serde(rename = "where")]
    condition: Option<toml::Spanned<String>>,
    expression: Option<toml::Spanned<String>>,
    query: Option<toml::Spanned<String>>,
    #[serde(default)]
    columns: BTreeMap<String, toml::Spanned<String>>,
}

/// Refuses a chain whose SQL is not, for a `sql` step, one read-only query, and for every other
/// field, one expression ([`crate::chain_sql`]): an error at the file and line of the text.
fn check_sql(text: &str, origin: &str, steps: &[Step]) -> Result<(), EngineError> {
    let spans: SqlSpans = toml::from_str(text).map_err(|e| EngineError::ChainFile {
        file: origin.to_string(),
        message: e.to_string(),
    })?;
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map_or(0, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        })
    };
    for (i, step) in steps.iter().enumerate() {
        let at = spans.steps.get(i);
        let refuse =
            |span: Option<std::ops::Range<usize>>, message: String| EngineError::ChainSql {
                file: origin.to_string(),
                line: line_of(span),
                step: i + 1,
                kind: step.kind(),
                message,
            };
        let span = |s: Option<&toml::Spanned<String>>| s.map(|s| s.span());
        match step {
            Step::Sql { query, .. } => crate::chain_sql::check_query(query)
                .map_err(|m| refuse(span(at.and_then(|a| a.query.as_ref())), m))?,
            Step::Filter { condition, .. } => crate::chain_sql::check_expression(condition)
                .map_err(|m| refuse(span(at.and_then(|a| a.condition.as_ref())), m))?,
            Step::Rule { expression, .. } | Step::Derive { expression, .. } => {
                crate::chain_sql::check_expression(expression)
                    .map_err(|m| refuse(span(at.and_then(|a| a.expression.as_ref())), m))?
            }
            Step::Unit { columns, .. } => {
                for (name, aggregate) in columns {
                    crate::chain_sql::check_expression(aggregate).map_err(|m| {
                        refuse(
                            span(at.and_then(|a| a.columns.get(name))),
                            format!("colonne `{name}` : {m}"),
                        )
                    })?;
                }
            }
            Step::Recode { .. } | Step::Cube { .. } => {}
        }
    }
    Ok(())
}

impl Chain {
    /// The codelists the chain uses, with their sizes (for the manifest).
    pub fn codelist_sizes(&self) -> Vec<(String, usize)> {
        self.codelists
            .iter()
            .map(|(id, cl)| (id.clone(), cl.len()))
            .collect()
    }
}

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

static SCRATCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

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

struct RunState {
    ctx: SessionContext,
    steps: Vec<StepRecord>,
    rules: Vec<RuleRecord>,
    quarantine: Vec<RecordBatch>,
}

fn step_error(chain: &Chain, i: usize, step: &Step, e: impl std::fmt::Display) -> EngineError {
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

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn string_table(names: [&str; 2], rows: Vec<(String, String)>) -> Result<MemTable, EngineError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new(names[0], DataType::Utf8, false),
        Field::new(names[1], DataType::Utf8, false),
    ]));
    let (a, b): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(a)),
            Arc::new(StringArray::from(b)),
        ],
    )?;
    Ok(MemTable::try_new(schema, vec![vec![batch]])?)
}

/// The result of a run, before it is recorded.
pub struct RunOutput {
    /// The cube file's bytes (Parquet).
    pub cube_bytes: Vec<u8>,
    /// The cube's schema.
    pub cube_schema: serde_json::Value,
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
    staging: &[std::path::PathBuf],
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<RunOutput, EngineError> {
    let mut scratch_dirs = Vec::new();
    let result = execute_steps(chain, staging, options, progress, &mut scratch_dirs).await;
    for dir in scratch_dirs {
        let _ = std::fs::remove_dir_all(&dir).or_else(|_| std::fs::remove_file(&dir));
    }
    result
}

/// A per-row step whose counts wait for the next barrier step (unit, sql, cube), where all are
/// computed in one pass: filters, rules and recodes flag rows instead of dropping them.
struct Pending {
    /// Condition of the rows counted.
    condition: String,
    /// Where the count goes.
    target: PendingTarget,
}

enum PendingTarget {
    /// Rows after a step (position in `RunState::steps`).
    Step(usize),
    /// Failures of a rule (position in `RunState::rules`), collected to quarantine if `collect`.
    Rule { at: usize, collect: bool },
}

/// The flags of the current segment of per-row steps.
#[derive(Default)]
struct Segment {
    /// Flags a row must have all true to be kept.
    keep: Vec<String>,
    /// Every flag column, to drop at the barrier.
    columns: Vec<String>,
    pending: Vec<Pending>,
}

impl Segment {
    /// Adds a flag rows must carry to be kept; the rows it drops are counted against the rule
    /// at `rule` and sent to quarantine.
    fn require(&mut self, flag: &str, before: &str, rule: Option<usize>) {
        if let Some(at) = rule {
            self.pending.push(Pending {
                condition: format!("{before} AND NOT {}", quote(flag)),
                target: PendingTarget::Rule { at, collect: true },
            });
        }
        self.keep.push(flag.to_string());
        self.columns.push(flag.to_string());
    }

    fn alive(&self) -> String {
        if self.keep.is_empty() {
            "TRUE".to_string()
        } else {
            self.keep
                .iter()
                .map(|k| quote(k))
                .collect::<Vec<_>>()
                .join(" AND ")
        }
    }
}

/// Counts and quarantines a segment of per-row steps in two passes, then keeps its rows.
async fn flush(
    state: &mut RunState,
    df: DataFrame,
    seg: &mut Segment,
    at: usize,
) -> Result<DataFrame, datafusion::error::DataFusionError> {
    if seg.columns.is_empty() && seg.pending.is_empty() {
        return Ok(df);
    }
    let name = format!("seg{at}");
    let _ = state.ctx.deregister_table(name.as_str());
    state.ctx.register_table(name.as_str(), df.into_view())?;
    if !seg.pending.is_empty() {
        let sums: Vec<String> = seg
            .pending
            .iter()
            .enumerate()
            .map(|(k, p)| format!("SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS n{k}", p.condition))
            .collect();
        let batches = state
            .ctx
            .sql_with_options(
                &format!("SELECT {} FROM {name}", sums.join(", ")),
                read_only(),
            )
            .await?
            .collect()
            .await?;
        for (k, p) in seg.pending.iter().enumerate() {
            let n = batches
                .first()
                .and_then(|b| datafusion::arrow::compute::cast(b.column(k), &DataType::Int64).ok())
                .and_then(|c| {
                    c.as_any().downcast_ref::<Int64Array>().map(|a| {
                        if datafusion::arrow::array::Array::is_null(a, 0) {
                            0
                        } else {
                            a.value(0)
                        }
                    })
                })
                .unwrap_or(0) as u64;
            match p.target {
                PendingTarget::Step(s) => state.steps[s].rows_after = n,
                PendingTarget::Rule { at, .. } => state.rules[at].failed = n,
            }
        }
        let collected: Vec<(&Pending, usize)> = seg
            .pending
            .iter()
            .filter_map(|p| match p.target {
                PendingTarget::Rule { at, collect: true } if state.rules[at].failed > 0 => {
                    Some((p, at))
                }
                _ => None,
            })
            .collect();
        if !collected.is_empty() {
            let cases: Vec<String> = collected
                .iter()
                .map(|(p, at)| format!("WHEN {} THEN {at}", p.condition))
                .collect();
            let any: Vec<String> = collected
                .iter()
                .map(|(p, _)| format!("({})", p.condition))
                .collect();
            let exclude = seg
                .columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", ");
            let rows = state
                .ctx
                .sql_with_options(
                    &format!(
                        "SELECT * EXCLUDE ({exclude}), CASE {} END AS __rule FROM {name} WHERE {}",
                        cases.join(" "),
                        any.join(" OR ")
                    ),
                    read_only(),
                )
                .await?
                .collect()
                .await?;
            for (_, at) in &collected {
                let mut mine = Vec::new();
                for b in &rows {
                    let rule_col = b.schema().index_of("__rule")?;
                    let keep: datafusion::arrow::array::BooleanArray =
                        datafusion::arrow::compute::cast(b.column(rule_col), &DataType::Int64)?
                            .as_any()
                            .downcast_ref::<Int64Array>()
                            .expect("cast to Int64")
                            .iter()
                            .map(|v| Some(v == Some(*at as i64)))
                            .collect();
                    let filtered = datafusion::arrow::compute::filter_record_batch(b, &keep)?;
                    let cols: Vec<usize> = (0..filtered.num_columns())
                        .filter(|&c| c != rule_col)
                        .collect();
                    mine.push(filtered.project(&cols)?);
                }
                let rule = &state.rules[*at];
                let out = quarantine_rows(&mine, &rule.id, &rule.message)
                    .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
                state.quarantine.extend(out);
            }
        }
    }
    let exclude = seg
        .columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let select = if exclude.is_empty() {
        "*".to_string()
    } else {
        format!("* EXCLUDE ({exclude})")
    };
    let kept = state
        .ctx
        .sql_with_options(
            &format!("SELECT {select} FROM {name} WHERE {}", seg.alive()),
            read_only(),
        )
        .await?;
    *seg = Segment::default();
    Ok(kept)
}

/// The longest key prefix every input file records being sorted by (none if one records none).
fn common_sort_order(staging: &[std::path::PathBuf]) -> Result<Vec<String>, EngineError> {
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

async fn execute_steps(
    chain: &Chain,
    staging: &[std::path::PathBuf],
    options: &RunOptions,
    progress: Progress<'_>,
    scratch_dirs: &mut Vec<std::path::PathBuf>,
) -> Result<RunOutput, EngineError> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(options.memory_limit_bytes, 1.0)
        .build_arc()?;
    // Inputs that all arrived sorted by a key prefix (recorded at delivery, see `order`) are
    // read as such: DataFusion then builds units by streaming aggregation. On one partition:
    // with two, the partial aggregate and the order-preserving exchange cost more than the second
    // core gives (measured with bench/chain: 9.6 s against 14 s on 10 million rows).
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
    let mut df = ctx.read_parquet(paths, read).await?;
    let mut state = RunState {
        ctx,
        steps: Vec::new(),
        rules: Vec::new(),
        quarantine: Vec::new(),
    };
    let total = chain.steps.len();
    let input_rows = count(&df).await?;
    state.steps.push(StepRecord {
        index: 0,
        kind: "input".into(),
        name: None,
        rows_after: input_rows,
    });
    let mut seg = Segment::default();
    for (i, step) in chain.steps.iter().enumerate() {
        progress(
            i,
            total,
            &format!("{} {}", step.kind(), step.label().unwrap_or_default()),
        );
        let err = |e: &dyn std::fmt::Display| step_error(chain, i, step, e);
        let started = std::time::Instant::now();
        if matches!(
            step,
            Step::Unit { .. } | Step::Sql { .. } | Step::Cube { .. }
        ) {
            df = flush(&mut state, df, &mut seg, i)
                .await
                .map_err(|e| err(&e))?;
            tracing::debug!(
                step = i + 1,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "per-row steps counted"
            );
        }
        let table = format!("t{i}");
        state
            .ctx
            .register_table(table.as_str(), df.clone().into_view())
            .map_err(|e| err(&e))?;
        let sql = |q: String| {
            let ctx = state.ctx.clone();
            async move { ctx.sql_with_options(&q, read_only()).await }
        };
        let before = seg.alive();
        let flag = format!("__k{i}");
        let step_at = state.steps.len();
        let mut per_row = true;
        df = match step {
            Step::Filter { condition, .. } => {
                let df = sql(format!(
                    "SELECT *, COALESCE({}, FALSE) AS {} FROM {table}",
                    embed(condition),
                    quote(&flag)
                ))
                .await
                .map_err(|e| err(&e))?;
                seg.require(&flag, &before, None);
                df
            }
            Step::Derive { column, expression } => {
                let exists = df.schema().has_column_with_unqualified_name(column);
                let select = if exists {
                    format!("* EXCLUDE ({})", quote(column))
                } else {
                    "*".to_string()
                };
                sql(format!(
                    "SELECT {select}, {} AS {} FROM {table}",
                    embed(expression),
                    quote(column)
                ))
                .await
                .map_err(|e| err(&e))?
            }
            Step::Rule {
                id,
                expression,
                severity,
                message,
            } => {
                let rule_at = state.rules.len();
                state.rules.push(RuleRecord {
                    id: id.clone(),
                    severity: *severity,
                    message: message.clone(),
                    failed: 0,
                });
                if *severity == Severity::Error {
                    // COALESCE, not IS TRUE: same meaning (NULL fails), and DataFusion 55 derives the
                    // nullability of IS TRUE differently in its logical and physical plans.
                    let df = sql(format!(
                        "SELECT *, COALESCE({}, FALSE) AS {} FROM {table}",
                        embed(expression),
                        quote(&flag)
                    ))
                    .await
                    .map_err(|e| err(&e))?;
                    seg.require(&flag, &before, Some(rule_at));
                    df
                } else {
                    let warn = format!("__w{i}");
                    let df = sql(format!(
                        "SELECT *, NOT COALESCE({}, FALSE) AS {} FROM {table}",
                        embed(expression),
                        quote(&warn)
                    ))
                    .await
                    .map_err(|e| err(&e))?;
                    seg.pending.push(Pending {
                        condition: format!("{before} AND {}", quote(&warn)),
                        target: PendingTarget::Rule {
                            at: rule_at,
                            collect: false,
                        },
                    });
                    seg.columns.push(warn);
                    df
                }
            }
            Step::Recode {
                column,
                into,
                codelist,
                level,
                mapping,
            } => {
                let rows: Vec<(String, String)> = match (codelist, level, mapping) {
                    (Some(id), Some(level), _) => {
                        let cl = &chain.codelists[id];
                        cl.codes()
                            .iter()
                            .filter_map(|c| {
                                let ancestors = cl.ancestors(&c.code);
                                // ancestors: self first, root last; depth from root = len - 1.
                                let depth = ancestors.len() - 1;
                                (depth >= *level)
                                    .then(|| (c.code.clone(), ancestors[depth - level].to_string()))
                            })
                            .collect()
                    }
                    (_, _, Some(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    _ => unreachable!("checked when the chain was parsed"),
                };
                let map = format!("map{i}");
                state
                    .ctx
                    .register_table(
                        map.as_str(),
                        Arc::new(string_table(["code", "image"], rows)?),
                    )
                    .map_err(|e| err(&e))?;
                let rule_id = format!("RECODE_{}", into.to_uppercase());
                let message = format!(
                    "le code de la colonne {column} n'a pas d'image dans la table de passage vers {into}"
                );
                let rule_at = state.rules.len();
                state.rules.push(RuleRecord {
                    id: rule_id,
                    severity: Severity::Error,
                    message,
                    failed: 0,
                });
                let df = sql(format!(
                    "SELECT t.*, m.image AS {}, (m.image IS NOT NULL) AS {} FROM {table} t LEFT JOIN {map} m ON CAST(t.{} AS VARCHAR) = m.code",
                    quote(into),
                    quote(&flag),
                    quote(column)
                ))
                .await
                .map_err(|e| err(&e))?;
                seg.require(&flag, &before, Some(rule_at));
                df
            }
            Step::Unit { key, columns, .. } => {
                per_row = false;
                let keys = key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
                let mut select = keys.clone();
                for (name, agg) in columns {
                    select.push_str(&format!(", {} AS {}", embed(agg), quote(name)));
                }
                let grouped = sql(format!("SELECT {select} FROM {table} GROUP BY {keys}"))
                    .await
                    .map_err(|e| err(&e))?;
                // The unit is the costliest step (a group by over every row): computed once into
                // a scratch file, then counted and read by the next steps.
                match &options.scratch {
                    Some(dir) => {
                        let path = dir.join(format!(
                            "unit-{}-{i}-{}",
                            std::process::id(),
                            SCRATCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                        ));
                        grouped
                            .write_parquet(
                                &path.display().to_string(),
                                datafusion::dataframe::DataFrameWriteOptions::new(),
                                None,
                            )
                            .await
                            .map_err(|e| err(&e))?;
                        scratch_dirs.push(path.clone());
                        state
                            .ctx
                            .read_parquet(path.display().to_string(), ParquetReadOptions::default())
                            .await
                            .map_err(|e| err(&e))?
                    }
                    None => grouped,
                }
            }
            Step::Sql { query, .. } => {
                per_row = false;
                let _ = state.ctx.deregister_table("input");
                state
                    .ctx
                    .register_table("input", df.clone().into_view())
                    .map_err(|e| err(&e))?;
                sql(query.clone()).await.map_err(|e| err(&e))?
            }
            Step::Cube { .. } => {
                let out = build_cube(chain, step, &state.ctx, &table)
                    .await
                    .map_err(|e| err(&e))?;
                tracing::debug!(
                    step = i + 1,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "cube built"
                );
                state.steps.push(StepRecord {
                    index: i + 1,
                    kind: "cube".into(),
                    name: step.label(),
                    rows_after: out.1,
                });
                progress(total, total, "done");
                return Ok(RunOutput {
                    cube_bytes: out.0,
                    cube_schema: out.2,
                    cube_rows: out.1,
                    cube_name: step.label().unwrap_or_default(),
                    quarantine: state.quarantine,
                    steps: state.steps,
                    rules: state.rules,
                });
            }
        };
        if !per_row {
            tracing::debug!(
                step = i + 1,
                kind = step.kind(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "step done"
            );
        }
        let rows = if per_row {
            seg.pending.push(Pending {
                condition: seg.alive(),
                target: PendingTarget::Step(step_at),
            });
            0
        } else {
            count(&df).await.map_err(|e| err(&e))?
        };
        state.steps.push(StepRecord {
            index: i + 1,
            kind: step.kind().into(),
            name: step.label(),
            rows_after: rows,
        });
    }
    unreachable!("a chain ends with a cube step (checked when parsed)")
}

/// Rows rejected by a chain rule, in the quarantine layout (line of the delivery, rule, message).
fn quarantine_rows(
    batches: &[RecordBatch],
    rule: &str,
    message: &str,
) -> Result<Vec<RecordBatch>, EngineError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("line", DataType::Int64, true),
        Field::new("rule", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
        Field::new("row", DataType::Utf8, false),
    ]));
    let mut out = Vec::new();
    for b in batches {
        let n = b.num_rows();
        let lines: ArrayRef = match b.schema().index_of("_line") {
            Ok(i) => datafusion::arrow::compute::cast(b.column(i), &DataType::Int64)?,
            Err(_) => Arc::new(Int64Array::new_null(n)),
        };
        let mut rows = Vec::with_capacity(n);
        for r in 0..n {
            let mut parts = Vec::new();
            for (c, f) in b.schema().fields().iter().enumerate() {
                parts.push(format!(
                    "{}={}",
                    f.name(),
                    datafusion::arrow::util::display::array_value_to_string(b.column(c), r)?
                ));
            }
            rows.push(parts.join(";"));
        }
        out.push(RecordBatch::try_new(
            schema.clone(),
            vec![
                lines,
                Arc::new(StringArray::from(vec![rule; n])),
                Arc::new(StringArray::from(vec![message; n])),
                Arc::new(StringArray::from(rows)),
            ],
        )?);
    }
    Ok(out)
}

/// Aggregates at the leaves, then rolls every leaf up to each of its ancestors through the
/// codelists' closure tables, so every hierarchy level and total comes from the same leaf
/// cells. Sums are taken in whole cents, so the result does not depend on the order rows were
/// added in (byte-identical cubes).
async fn build_cube(
    chain: &Chain,
    step: &Step,
    ctx: &SessionContext,
    table: &str,
) -> Result<(Vec<u8>, u64, serde_json::Value), EngineError> {
    let Step::Cube {
        name,
        period,
        dimensions,
        measures,
        unit,
        source_line,
    } = step
    else {
        unreachable!()
    };
    let dims: Vec<String> = dimensions.iter().map(|d| quote(&d.column)).collect();
    let mut leaf_select = vec![format!("CAST({} AS VARCHAR) AS period", quote(period))];
    leaf_select.extend(dimensions.iter().map(|d| {
        format!(
            "CAST({} AS VARCHAR) AS {}",
            quote(&d.column),
            quote(&d.column)
        )
    }));
    let input_schema = ctx.table(table).await?.schema().clone();
    // Whole-number sums stay whole; decimal sums are taken in cents (see above).
    let mut in_cents = Vec::new();
    for m in measures {
        let integer = m.column.as_ref().is_some_and(|c| {
            input_schema
                .field_with_unqualified_name(c)
                .is_ok_and(|f| f.data_type().is_integer())
        });
        in_cents.push(m.aggregate == Aggregate::Sum && !integer);
        leaf_select.push(match (m.aggregate, &m.column) {
            (Aggregate::Count, _) => format!("COUNT(*) AS {}", quote(&m.name)),
            (Aggregate::Sum, Some(c)) if integer => {
                format!("CAST(SUM({}) AS BIGINT) AS {}", quote(c), quote(&m.name))
            }
            (Aggregate::Sum, Some(c)) => format!(
                "SUM(CAST(ROUND(CAST({} AS DOUBLE) * 100) AS BIGINT)) AS {}",
                quote(c),
                quote(&m.name)
            ),
            (Aggregate::Sum, None) => unreachable!("checked when parsed"),
        });
    }
    let group: Vec<String> = (1..=dims.len() + 1).map(|i| i.to_string()).collect();
    let leaf = ctx
        .sql_with_options(
            &format!(
                "SELECT {} FROM {table} GROUP BY {}",
                leaf_select.join(", "),
                group.join(", ")
            ),
            read_only(),
        )
        .await?;
    let leaf_batches = leaf.collect().await?;
    let leaf_table = MemTable::try_new(
        leaf_batches
            .first()
            .map_or_else(|| Arc::new(Schema::empty()), |b| b.schema()),
        vec![leaf_batches.clone()],
    )?;
    let _ = ctx.deregister_table("cube_leaf");
    ctx.register_table("cube_leaf", Arc::new(leaf_table))?;
    // Every leaf value must be a code of its codelist: a cube only holds known codes.
    for d in dimensions {
        let cl = &chain.codelists[&d.codelist];
        for b in &leaf_batches {
            let col = b
                .column(b.schema().index_of(&d.column)?)
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned();
            if let Some(col) = col {
                for v in col.iter().flatten() {
                    if !cl.contains(v) {
                        return Err(datafusion::error::DataFusionError::Plan(format!(
                            "value `{v}` of column `{}` is not a code of {} (recode or filter it first)",
                            d.column, d.codelist
                        ))
                        .into());
                    }
                }
            }
        }
    }
    let mut joins = String::new();
    let mut select = vec!["l.period AS \"TIME_PERIOD\"".to_string()];
    for (k, d) in dimensions.iter().enumerate() {
        let rows = chain.codelists[&d.codelist]
            .closure()
            .into_iter()
            .map(|(code, anc, _)| (code, anc))
            .collect();
        let ct = format!("closure{k}");
        let _ = ctx.deregister_table(ct.as_str());
        ctx.register_table(
            ct.as_str(),
            Arc::new(string_table(["code", "ancestor"], rows)?),
        )?;
        joins.push_str(&format!(
            " JOIN {ct} c{k} ON l.{} = c{k}.code",
            quote(&d.column)
        ));
        select.push(format!("c{k}.ancestor AS {}", quote(&d.column)));
    }
    for (m, cents) in measures.iter().zip(&in_cents) {
        select.push(if *cents {
            format!("CAST(SUM(l.{0}) AS DOUBLE) / 100.0 AS {0}", quote(&m.name))
        } else {
            format!("CAST(SUM(l.{0}) AS BIGINT) AS {0}", quote(&m.name))
        });
    }
    let order: Vec<String> = (1..=dims.len() + 1).map(|i| i.to_string()).collect();
    let full = ctx
        .sql_with_options(
            &format!(
                "SELECT {} FROM cube_leaf l{joins} GROUP BY {} ORDER BY {}",
                select.join(", "),
                order.join(", "),
                order.join(", ")
            ),
            read_only(),
        )
        .await?;
    let batches = full.collect().await?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let schema_json = serde_json::json!({
        "name": name,
        "chain": chain.id,
        "chain_version": chain.version,
        "period": "TIME_PERIOD",
        "dimensions": dimensions.iter().map(|d| serde_json::json!({"column": d.column, "codelist": d.codelist})).collect::<Vec<_>>(),
        "measures": measures,
        "unit": unit,
        "source_line": source_line,
    });
    let arrow_schema = batches
        .first()
        .map_or_else(|| Arc::new(Schema::empty()), |b| b.schema());
    let props =
        datafusion::parquet::file::properties::WriterProperties::into_builder(writer_properties())
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "justat.cube".to_string(),
                schema_json.to_string(),
            )]))
            .build();
    let mut bytes = Vec::new();
    {
        let mut w = ArrowWriter::try_new(&mut bytes, arrow_schema, Some(props))?;
        for b in &batches {
            w.write(b)?;
        }
        w.close()?;
    }
    Ok((bytes, rows as u64, schema_json))
}

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
        let Some(staging) = d.staging_sha256.clone().filter(|_| d.status != "KO") else {
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
    let mut manifest = Manifest::new(chain, started, inputs);
    let new = match &result {
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
                manifest.quarantine_sha256 = Some(q.to_string());
            }
            manifest.finish(
                out.steps.clone(),
                out.rules.clone(),
                Some((cube_id.to_string(), out.cube_rows)),
                clock.elapsed(),
                peak_memory_bytes(),
            );
            NewRun {
                chain: chain.id.clone(),
                chain_version: chain.version,
                chain_sha256: chain.sha256.clone(),
                inputs: delivery_ids.to_vec(),
                status: "OK".into(),
                error: None,
                cube: Some(NewCube {
                    id: cube_id.to_string(),
                    name: out.cube_name.clone(),
                    rows: out.cube_rows as i64,
                    schema: out.cube_schema.clone(),
                }),
                manifest: serde_json::to_value(&manifest).expect("manifests serialise"),
                started_at: started,
            }
        }
        Err(e) => {
            manifest.finish(
                Vec::new(),
                Vec::new(),
                None,
                clock.elapsed(),
                peak_memory_bytes(),
            );
            NewRun {
                chain: chain.id.clone(),
                chain_version: chain.version,
                chain_sha256: chain.sha256.clone(),
                inputs: delivery_ids.to_vec(),
                status: "FAILED".into(),
                error: Some(e.to_string()),
                cube: None,
                manifest: serde_json::to_value(&manifest).expect("manifests serialise"),
                started_at: started,
            }
        }
    };
    let run = store
        .record_run(&new, actor, jiff::Timestamp::now())
        .await?;
    result.map(|_| run)
}

//! The barrier: per-row steps (filter, rule, recode) only flag rows; before the next step that
//! reads every row (unit, sql, cube), one pass counts the rows after each of them and the
//! failures of each rule, one collects the quarantine, and the flagged rows are dropped.

use super::sql_guard::{quote, read_only};
use crate::EngineError;
use crate::manifest::{RuleRecord, StepRecord};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::error::DataFusionError;
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::prelude::{DataFrame, SessionContext};
use futures::StreamExt;
use std::sync::Arc;

/// What a run has counted so far, in the manifest's terms.
#[derive(Default)]
pub(super) struct Tally {
    /// Rows after each step, the input first.
    pub steps: Vec<StepRecord>,
    /// Failures of each rule and recode.
    pub rules: Vec<RuleRecord>,
    /// Rows rejected by rules and recodes, in the quarantine layout.
    pub quarantine: Vec<RecordBatch>,
}

/// A per-row step whose counts wait for the next barrier step (unit, sql, cube), where all are
/// computed in one pass: filters, rules and recodes flag rows instead of dropping them.
struct Pending {
    /// Condition of the rows counted.
    condition: String,
    /// Where the count goes.
    target: PendingTarget,
}

#[derive(Clone, Copy)]
enum PendingTarget {
    /// Rows after a step (position in [`Tally::steps`]).
    Step(usize),
    /// Failures of a rule (position in [`Tally::rules`]), collected to quarantine if `collect`.
    Rule { at: usize, collect: bool },
}

/// The flags of the current segment of per-row steps.
#[derive(Default)]
pub(super) struct Segment {
    /// Flags a row must have all true to be kept.
    keep: Vec<String>,
    /// Every flag column, to drop at the barrier.
    columns: Vec<String>,
    pending: Vec<Pending>,
}

impl Segment {
    /// Adds a flag rows must carry to be kept; the rows it drops are counted against the rule
    /// at `rule` and sent to quarantine. `before` is [`Segment::alive`] before the step.
    pub fn require(&mut self, flag: &str, before: &str, rule: Option<usize>) {
        if let Some(at) = rule {
            self.pending.push(Pending {
                condition: format!("{before} AND NOT {}", quote(flag)),
                target: PendingTarget::Rule { at, collect: true },
            });
        }
        self.keep.push(flag.to_string());
        self.columns.push(flag.to_string());
    }

    /// Adds a flag marking the rows that fail the warning rule at `rule`: they are counted,
    /// and kept. `before` is [`Segment::alive`] before the step.
    pub fn count_failures(&mut self, flag: &str, before: &str, rule: usize) {
        self.pending.push(Pending {
            condition: format!("{before} AND {}", quote(flag)),
            target: PendingTarget::Rule {
                at: rule,
                collect: false,
            },
        });
        self.columns.push(flag.to_string());
    }

    /// Whether the segment has nothing to count nor drop.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty() && self.pending.is_empty()
    }

    /// Counts the rows still alive now as the rows after the step at `step` in the tally.
    pub fn count_rows_after(&mut self, step: usize) {
        self.pending.push(Pending {
            condition: self.alive(),
            target: PendingTarget::Step(step),
        });
    }

    /// The segment's flag columns, quoted and comma-separated: what a barrier's `EXCLUDE`
    /// drops.
    fn flag_columns(&self) -> String {
        self.columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The SQL condition of the rows every step of the segment so far keeps.
    pub fn alive(&self) -> String {
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

/// Counts and quarantines a segment of per-row steps in two passes, then keeps its rows and
/// drops its flags. `at` (the barrier step's position) names the segment's table.
pub(super) async fn flush(
    ctx: &SessionContext,
    tally: &mut Tally,
    df: DataFrame,
    seg: &mut Segment,
    at: usize,
) -> Result<DataFrame, DataFusionError> {
    if seg.columns.is_empty() && seg.pending.is_empty() {
        return Ok(df);
    }
    let name = format!("seg{at}");
    let _ = ctx.deregister_table(name.as_str());
    ctx.register_table(name.as_str(), df.into_view())?;
    if !seg.pending.is_empty() {
        let sums: Vec<String> = seg
            .pending
            .iter()
            .enumerate()
            .map(|(k, p)| format!("SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS n{k}", p.condition))
            .collect();
        let batches = ctx
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
                    c.as_any()
                        .downcast_ref::<Int64Array>()
                        .map(|a| if a.is_null(0) { 0 } else { a.value(0) })
                })
                .unwrap_or(0) as u64;
            match p.target {
                PendingTarget::Step(s) => tally.steps[s].rows_after = n,
                PendingTarget::Rule { at, .. } => tally.rules[at].failed = n,
            }
        }
        collect_quarantine(ctx, tally, seg, &name).await?;
    }
    let exclude = seg.flag_columns();
    let select = if exclude.is_empty() {
        "*".to_string()
    } else {
        format!("* EXCLUDE ({exclude})")
    };
    let kept = ctx
        .sql_with_options(
            &format!("SELECT {select} FROM {name} WHERE {}", seg.alive()),
            read_only(),
        )
        .await?;
    *seg = Segment::default();
    Ok(kept)
}

/// What the one pass of [`flush_streamed`] counted and quarantined, once its rows are read.
pub(super) struct Counted {
    /// Per pending count, in the segment's order.
    counts: Vec<u64>,
    /// Per collected rule (position in [`Tally::rules`]), its rejected rows.
    rejected: Vec<(usize, Vec<RecordBatch>)>,
    targets: Vec<PendingTarget>,
}

/// The counts and quarantine of a [`flush_streamed`], delivered when its rows have all been
/// read by the step after the barrier.
pub(super) struct Deferred(tokio::sync::oneshot::Receiver<Counted>);

impl Deferred {
    /// Puts the counts and the quarantine into the tally. Fails if the step after the
    /// barrier did not read every row (the counts would be partial).
    pub async fn settle(self, tally: &mut Tally) -> Result<(), DataFusionError> {
        let counted = self.0.await.map_err(|_| {
            DataFusionError::Internal(
                "the rows of the per-row steps were not all read: no counts".into(),
            )
        })?;
        for (n, target) in counted.counts.iter().zip(&counted.targets) {
            match target {
                PendingTarget::Step(s) => tally.steps[*s].rows_after = *n,
                PendingTarget::Rule { at, .. } => tally.rules[*at].failed = *n,
            }
        }
        for (at, batches) in &counted.rejected {
            if tally.rules[*at].failed == 0 {
                continue;
            }
            let rule = &tally.rules[*at];
            let out = quarantine_rows(batches, &rule.id, &rule.message)
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            tally.quarantine.extend(out);
        }
        Ok(())
    }
}

/// A table that streams, once, the rows another task produces.
struct Once {
    schema: datafusion::arrow::datatypes::SchemaRef,
    stream: std::sync::Mutex<Option<datafusion::physical_plan::SendableRecordBatchStream>>,
}

impl std::fmt::Debug for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Once")
    }
}

impl datafusion::physical_plan::streaming::PartitionStream for Once {
    fn schema(&self) -> &datafusion::arrow::datatypes::SchemaRef {
        &self.schema
    }

    fn execute(
        &self,
        _ctx: Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::physical_plan::SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        taken.unwrap_or_else(|| {
            // A plan reading these rows twice would see half of them: it fails instead.
            let mut b = RecordBatchReceiverStream::builder(self.schema.clone(), 1);
            b.spawn(async {
                Err(DataFusionError::Internal(
                    "the rows after a barrier can be read only once".into(),
                ))
            });
            b.build()
        })
    }
}

/// The same as [`flush`], in a single pass over the rows shared with the step after the
/// barrier: the rows it keeps stream into that step while their counts and quarantine are
/// taken on the way, delivered by [`Deferred::settle`] once the step has read them all. For a
/// step that reads its rows exactly once (a unit written to scratch): three scans become one,
/// and the scan and the step run side by side on two cores. The input's order, when the plan
/// keeps it, is declared on the kept rows, so a unit on it still aggregates by streaming.
pub(super) async fn flush_streamed(
    ctx: &SessionContext,
    df: DataFrame,
    seg: &mut Segment,
    at: usize,
) -> Result<(DataFrame, Deferred), DataFusionError> {
    let name = format!("seg{at}");
    let _ = ctx.deregister_table(name.as_str());
    ctx.register_table(name.as_str(), df.into_view())?;
    let mut select = vec!["*".to_string()];
    for (k, p) in seg.pending.iter().enumerate() {
        select.push(format!("({}) AS __n{k}", p.condition));
    }
    select.push(format!("({}) AS __alive", seg.alive()));
    let flagged = ctx
        .sql_with_options(
            &format!("SELECT {} FROM {name}", select.join(", ")),
            read_only(),
        )
        .await?;
    let plan = flagged.create_physical_plan().await?;
    let schema = plan.schema();
    let position = |n: &str| schema.index_of(n);
    let pending: Vec<usize> = (0..seg.pending.len())
        .map(|k| position(&format!("__n{k}")))
        .collect::<Result<_, _>>()?;
    let alive = position("__alive")?;
    let kept_columns: Vec<usize> = (0..pending.first().copied().unwrap_or(alive))
        .filter(|&c| !seg.columns.contains(schema.field(c).name()))
        .collect();
    let kept_schema = Arc::new(schema.project(&kept_columns)?);
    // A rejected row goes to the first collected rule it fails, as in `collect_quarantine`.
    let collected: Vec<(usize, usize)> = seg
        .pending
        .iter()
        .zip(&pending)
        .filter_map(|(p, &col)| match p.target {
            PendingTarget::Rule { at, collect: true } => Some((col, at)),
            _ => None,
        })
        .collect();
    let order = kept_order(&plan, &kept_schema);
    let targets: Vec<PendingTarget> = seg.pending.iter().map(|p| p.target).collect();
    let stream = datafusion::physical_plan::execute_stream(plan, ctx.task_ctx())?;
    let (done, deferred) = tokio::sync::oneshot::channel();
    let mut builder = RecordBatchReceiverStream::builder(kept_schema.clone(), 2);
    let tx = builder.tx();
    builder.spawn(async move {
        let mut stream = stream;
        let mut counts = vec![0u64; pending.len()];
        let mut rejected: Vec<(usize, Vec<RecordBatch>)> =
            collected.iter().map(|&(_, at)| (at, Vec::new())).collect();
        let mut reading = true;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            for (n, &col) in counts.iter_mut().zip(&pending) {
                *n += as_bool(&batch, col)?.true_count() as u64;
            }
            let rows = batch.project(&kept_columns)?;
            let mut taken: Option<BooleanArray> = None;
            for (k, &(col, _)) in collected.iter().enumerate() {
                let fails = as_bool(&batch, col)?;
                if fails.true_count() == 0 {
                    continue;
                }
                let mine = match &taken {
                    None => fails.clone(),
                    Some(t) => datafusion::arrow::compute::and_not(fails, t)?,
                };
                rejected[k]
                    .1
                    .push(datafusion::arrow::compute::filter_record_batch(
                        &rows, &mine,
                    )?);
                taken = Some(match taken {
                    None => fails.clone(),
                    Some(t) => datafusion::arrow::compute::or(&t, fails)?,
                });
            }
            let kept =
                datafusion::arrow::compute::filter_record_batch(&rows, as_bool(&batch, alive)?)?;
            // Once the reader has gone, the rows are still counted to the end; its own error
            // says why it went.
            if reading && kept.num_rows() > 0 && tx.send(Ok(kept)).await.is_err() {
                reading = false;
            }
        }
        let _ = done.send(Counted {
            counts,
            rejected,
            targets,
        });
        Ok(())
    });
    let table = datafusion::catalog::streaming::StreamingTable::try_new(
        kept_schema.clone(),
        vec![Arc::new(Once {
            schema: kept_schema,
            stream: std::sync::Mutex::new(Some(builder.build())),
        })],
    )?
    .with_sort_order(order);
    *seg = Segment::default();
    Ok((ctx.read_table(Arc::new(table))?, Deferred(deferred)))
}

/// Column `col` of `batch`, a boolean flag.
fn as_bool(batch: &RecordBatch, col: usize) -> Result<&BooleanArray, DataFusionError> {
    batch
        .column(col)
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| DataFusionError::Internal(format!("flag column {col} is not boolean")))
}

/// The order of `plan`'s single output stream, as far as it is on columns the kept rows have.
fn kept_order(
    plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>,
    kept: &Schema,
) -> Vec<datafusion::logical_expr::SortExpr> {
    use datafusion::physical_plan::ExecutionPlanProperties;
    if plan.output_partitioning().partition_count() != 1 {
        return Vec::new();
    }
    let Some(ordering) = plan.output_ordering() else {
        return Vec::new();
    };
    ordering
        .iter()
        .map_while(|e| {
            let c = e
                .expr
                .downcast_ref::<datafusion::physical_expr::expressions::Column>()?;
            let name = plan.schema().field(c.index()).name().clone();
            kept.index_of(&name).ok()?;
            Some(
                datafusion::prelude::col(datafusion::common::Column::new_unqualified(name))
                    .sort(!e.options.descending, e.options.nulls_first),
            )
        })
        .collect()
}

/// Reads, in one pass over the segment's table `name`, the rows of every error rule that failed
/// at least once, and adds them to the tally's quarantine, rule by rule.
async fn collect_quarantine(
    ctx: &SessionContext,
    tally: &mut Tally,
    seg: &Segment,
    name: &str,
) -> Result<(), DataFusionError> {
    let collected: Vec<(&Pending, usize)> = seg
        .pending
        .iter()
        .filter_map(|p| match p.target {
            PendingTarget::Rule { at, collect: true } if tally.rules[at].failed > 0 => {
                Some((p, at))
            }
            _ => None,
        })
        .collect();
    if collected.is_empty() {
        return Ok(());
    }
    let cases: Vec<String> = collected
        .iter()
        .map(|(p, at)| format!("WHEN {} THEN {at}", p.condition))
        .collect();
    let any: Vec<String> = collected
        .iter()
        .map(|(p, _)| format!("({})", p.condition))
        .collect();
    let exclude = seg.flag_columns();
    let rows = ctx
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
            let rule_of = datafusion::arrow::compute::cast(b.column(rule_col), &DataType::Int64)?;
            let rule_of = rule_of
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| DataFusionError::Internal("__rule is not Int64".into()))?;
            let keep: BooleanArray = rule_of
                .iter()
                .map(|v| Some(v == Some(*at as i64)))
                .collect();
            let filtered = datafusion::arrow::compute::filter_record_batch(b, &keep)?;
            let cols: Vec<usize> = (0..filtered.num_columns())
                .filter(|&c| c != rule_col)
                .collect();
            mine.push(filtered.project(&cols)?);
        }
        let rule = &tally.rules[*at];
        let out = quarantine_rows(&mine, &rule.id, &rule.message)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        tally.quarantine.extend(out);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::{Segment, Tally, flush};
    use crate::chain::file::Severity;
    use crate::chain::steps::testing::{session, text};
    use crate::manifest::{RuleRecord, StepRecord};
    use datafusion::arrow::array::{ArrayRef, BooleanArray, Int64Array};
    use datafusion::arrow::util::display::array_value_to_string;
    use std::sync::Arc;

    fn step(index: usize) -> StepRecord {
        StepRecord {
            index,
            kind: "filter".into(),
            name: None,
            rows_after: 0,
        }
    }

    #[tokio::test]
    async fn a_rule_after_a_filter_counts_and_quarantines_only_the_rows_the_filter_kept() {
        // Step 1 keeps the rows flagged `a`; step 2, an error rule, the rows flagged `b`.
        let x: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let a: ArrayRef = Arc::new(BooleanArray::from(vec![true, false, true]));
        let b: ArrayRef = Arc::new(BooleanArray::from(vec![true, false, false]));
        let (ctx, df) = session(vec![("x", x), ("a", a), ("b", b)]).await;
        let mut seg = Segment::default();
        seg.require("a", &seg.alive(), None);
        seg.count_rows_after(0);
        let before = seg.alive();
        seg.require("b", &before, Some(0));
        seg.count_rows_after(1);
        let mut tally = Tally {
            steps: vec![step(1), step(2)],
            rules: vec![RuleRecord {
                id: "B".into(),
                severity: Severity::Error,
                message: "b est vrai".into(),
                failed: 0,
            }],
            quarantine: Vec::new(),
        };
        let kept = flush(&ctx, &mut tally, df, &mut seg, 3).await.unwrap();
        assert_eq!(
            text(kept).await,
            ["x=1"],
            "the flags are dropped with the rows"
        );
        assert_eq!(
            tally.steps.iter().map(|s| s.rows_after).collect::<Vec<_>>(),
            [2, 1]
        );
        assert_eq!(tally.rules[0].failed, 1, "x=2 was filtered before the rule");
        let q = &tally.quarantine;
        assert_eq!(q.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
        assert_eq!(array_value_to_string(q[0].column(3), 0).unwrap(), "x=3");
        assert!(q[0].column(0).is_null(0), "no `_line` column, no line");
        assert!(seg.alive() == "TRUE", "the next segment starts empty");
    }

    #[tokio::test]
    async fn a_segment_without_flags_leaves_the_rows_untouched() {
        let x: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let (ctx, df) = session(vec![("x", x)]).await;
        let mut tally = Tally::default();
        let kept = flush(&ctx, &mut tally, df, &mut Segment::default(), 0)
            .await
            .unwrap();
        assert_eq!(text(kept).await, ["x=1", "x=2"]);
        assert!(ctx.table("seg0").await.is_err(), "no table was registered");
    }
}

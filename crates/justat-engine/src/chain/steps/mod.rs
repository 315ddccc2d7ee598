//! One module per kind of chain step, each turning the rows so far into the rows after it as
//! DataFusion SQL; [`apply`] sends a step to its module.

mod cube;
mod derive;
mod filter;
mod recode;
mod rule;
mod sql;
mod unit;

pub(super) use cube::CubeFile;
pub(super) use unit::Scratch;

use super::barrier::Segment;
use super::file::{Chain, Step};
use super::sql_guard::read_only;
use crate::manifest::RuleRecord;
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{DataFrame, SessionContext};
use std::sync::Arc;

/// The rows a step reads: registered in `ctx` as `table`, and as the frame `df`.
pub(super) struct Rows<'a> {
    /// The run's session.
    pub ctx: &'a SessionContext,
    /// The rows.
    pub df: &'a DataFrame,
    /// The name they are registered under.
    pub table: &'a str,
    /// The step's position, from 0: it names the columns and tables the step adds.
    pub at: usize,
}

impl Rows<'_> {
    /// Plans `query` in the run's session, read-only.
    async fn sql(&self, query: String) -> Result<DataFrame, DataFusionError> {
        self.ctx.sql_with_options(&query, read_only()).await
    }

    /// The flag column a per-row step adds: true for the rows it keeps.
    fn flag(&self) -> String {
        format!("__k{}", self.at)
    }
}

/// What a step gave.
pub(super) enum Outcome {
    /// A per-row step (filter, rule, derive, recode) flagged or extended the rows; they are
    /// counted at the next barrier.
    PerRow(DataFrame),
    /// A unit or sql step reshaped the rows.
    Reshaped(DataFrame),
    /// The cube step built the cube: the run ends.
    Cube(CubeFile),
}

/// Why a step failed: DataFusion's error for most steps, the engine's for the cube. The caller
/// names the step around its message (`EngineError::Step`), which is the error's own.
pub(super) type StepFailure = Box<dyn std::error::Error + Send + Sync>;

/// Runs `step` of `chain` on `rows`. Per-row steps add their flags to `seg` and their rules
/// to `rules`; a unit writes into `scratch`.
pub(super) async fn apply(
    chain: &Chain,
    step: &Step,
    rows: Rows<'_>,
    seg: &mut Segment,
    rules: &mut Vec<RuleRecord>,
    scratch: &mut Scratch,
) -> Result<Outcome, StepFailure> {
    let outcome = match step {
        Step::Filter { condition, .. } => {
            Outcome::PerRow(filter::apply(&rows, condition, seg).await?)
        }
        Step::Derive { column, expression } => {
            Outcome::PerRow(derive::apply(&rows, column, expression).await?)
        }
        Step::Rule {
            id,
            expression,
            severity,
            message,
        } => {
            let rule = RuleRecord {
                id: id.clone(),
                severity: *severity,
                message: message.clone(),
                failed: 0,
            };
            Outcome::PerRow(rule::apply(&rows, rule, expression, seg, rules).await?)
        }
        Step::Recode {
            column,
            into,
            codelist,
            level,
            mapping,
        } => {
            let images = recode::images(&chain.codelists, codelist, level, mapping)?;
            Outcome::PerRow(recode::apply(&rows, column, into, images, seg, rules).await?)
        }
        Step::Unit { key, columns, .. } => {
            Outcome::Reshaped(unit::apply(&rows, key, columns, scratch).await?)
        }
        Step::Sql { query, .. } => Outcome::Reshaped(sql::apply(&rows, query).await?),
        Step::Cube {
            name,
            period,
            dimensions,
            measures,
            unit,
            source_line,
        } => {
            let spec = cube::CubeSpec {
                name,
                period,
                dimensions,
                measures,
                unit,
                source_line,
            };
            Outcome::Cube(cube::build(chain, &spec, rows.ctx, rows.table).await?)
        }
    };
    Ok(outcome)
}

/// A two-column text table (`names`), for a recode's images or a codelist's closure.
fn string_table(
    names: [&str; 2],
    rows: Vec<(String, String)>,
) -> Result<MemTable, DataFusionError> {
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
    MemTable::try_new(schema, vec![vec![batch]])
}

/// What the step modules' tests share: a session holding one small table, and its rows as text.
#[cfg(test)]
pub(super) mod testing {
    use super::Rows;
    use datafusion::arrow::array::{ArrayRef, RecordBatch};
    use datafusion::arrow::util::display::array_value_to_string;
    use datafusion::datasource::MemTable;
    use datafusion::prelude::{DataFrame, SessionContext};
    use std::sync::Arc;

    /// A session with `columns` registered as the table `t0`, and that table as a frame.
    pub async fn session(columns: Vec<(&str, ArrayRef)>) -> (SessionContext, DataFrame) {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let ctx = SessionContext::new();
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap();
        ctx.register_table("t0", Arc::new(table)).unwrap();
        let df = ctx.table("t0").await.unwrap();
        (ctx, df)
    }

    /// The rows of the step at position 0 over `t0`.
    pub fn rows<'a>(ctx: &'a SessionContext, df: &'a DataFrame) -> Rows<'a> {
        Rows {
            ctx,
            df,
            table: "t0",
            at: 0,
        }
    }

    /// Every row of `df` as `column=value` pairs joined by `;`, sorted.
    pub async fn text(df: DataFrame) -> Vec<String> {
        let mut out = Vec::new();
        for b in df.collect().await.unwrap() {
            for r in 0..b.num_rows() {
                let cells: Vec<String> = b
                    .schema()
                    .fields()
                    .iter()
                    .enumerate()
                    .map(|(c, f)| {
                        format!(
                            "{}={}",
                            f.name(),
                            array_value_to_string(b.column(c), r).unwrap()
                        )
                    })
                    .collect();
                out.push(cells.join(";"));
            }
        }
        out.sort();
        out
    }
}

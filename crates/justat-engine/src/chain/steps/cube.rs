//! The `cube` step: counts or sums by period and dimensions at the leaves, rolled up to every
//! level of each dimension's hierarchy through the codelists' closure tables, written as a
//! byte-reproducible Parquet file.

use super::string_table;
use crate::EngineError;
use crate::chain::file::{Aggregate, Chain, Dimension, Measure};
use crate::chain::sql_guard::{quote, read_only};
use crate::delivery::writer_properties;
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::prelude::SessionContext;
use justat_model::CubeSchema;
use std::sync::Arc;

/// A chain's `cube` step, its fields borrowed.
pub(super) struct CubeSpec<'a> {
    /// The cube's name.
    pub name: &'a str,
    /// The column holding the time period.
    pub period: &'a str,
    /// The dimensions.
    pub dimensions: &'a [Dimension],
    /// The measures.
    pub measures: &'a [Measure],
    /// The statistical unit counted, in French.
    pub unit: &'a str,
    /// The source line printed under every table.
    pub source_line: &'a str,
}

/// A built cube, before it goes into the lake.
pub(in crate::chain) struct CubeFile {
    /// The Parquet file's bytes.
    pub bytes: Vec<u8>,
    /// Number of cells.
    pub rows: u64,
    /// The cube's schema, also written into the file's metadata (`justat.cube`).
    pub schema: CubeSchema,
}

/// Aggregates the rows of `table` at the leaves, then rolls every leaf up to each of its
/// ancestors through the codelists' closure tables, so every hierarchy level and total comes
/// from the same leaf cells. Sums are taken in whole cents, so the result does not depend on
/// the order rows were added in (byte-identical cubes).
pub(super) async fn build(
    chain: &Chain,
    spec: &CubeSpec<'_>,
    ctx: &SessionContext,
    table: &str,
) -> Result<CubeFile, EngineError> {
    let (period, dimensions, measures) = (spec.period, spec.dimensions, spec.measures);
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
            (Aggregate::Sum, None) => {
                return Err(plan_error(format!(
                    "measure `{}` sums no column (checked when the chain was parsed)",
                    m.name
                )));
            }
        });
    }
    // Both queries group by the period and every dimension, named by their positions.
    let keys = (1..=dimensions.len() + 1)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let leaf = ctx
        .sql_with_options(
            &format!(
                "SELECT {} FROM {table} GROUP BY {keys}",
                leaf_select.join(", ")
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
    // Every leaf value must be a code of its codelist: a cube only holds known codes. A value
    // outside it would otherwise vanish from every cell, totals included, in the join with the
    // closure table below. The leaf columns are cast to plain UTF-8 first, whatever string
    // layout the planner chose for them (`Utf8View` by default), so the check always runs.
    for d in dimensions {
        let cl = &chain.codelists[&d.codelist];
        for b in &leaf_batches {
            let values = cast(b.column(b.schema().index_of(&d.column)?), &DataType::Utf8)?;
            let col = values
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| plan_error(format!("column `{}` is not text", d.column)))?;
            for v in col.iter().flatten() {
                if !cl.contains(v) {
                    return Err(plan_error(format!(
                        "value `{v}` of column `{}` is not a code of {} (recode or filter it first)",
                        d.column, d.codelist
                    )));
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
    let full = ctx
        .sql_with_options(
            &format!(
                "SELECT {} FROM cube_leaf l{joins} GROUP BY {keys} ORDER BY {keys}",
                select.join(", ")
            ),
            read_only(),
        )
        .await?;
    let batches = full.collect().await?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let schema = CubeSchema {
        chain: chain.id.clone(),
        chain_version: chain.version,
        dimensions: dimensions.to_vec(),
        measures: measures.to_vec(),
        name: spec.name.to_string(),
        period: "TIME_PERIOD".to_string(),
        source_line: Some(spec.source_line.to_string()),
        unit: spec.unit.to_string(),
    };
    let schema_json = serde_json::to_string(&schema)
        .map_err(|e| DataFusionError::Internal(format!("the cube's schema: {e}")))?;
    let arrow_schema = batches
        .first()
        .map_or_else(|| Arc::new(Schema::empty()), |b| b.schema());
    let props =
        datafusion::parquet::file::properties::WriterProperties::into_builder(writer_properties())
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "justat.cube".to_string(),
                schema_json,
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
    Ok(CubeFile {
        bytes,
        rows: rows as u64,
        schema,
    })
}

/// A cube that cannot be built from these rows, reported as DataFusion reports a plan error.
fn plan_error(message: String) -> EngineError {
    datafusion::error::DataFusionError::Plan(message).into()
}

#[cfg(test)]
mod tests {
    use super::{CubeSpec, build};
    use crate::chain::file::{Chain, Step};
    use datafusion::arrow::array::{ArrayRef, Float64Array, StringArray};
    use datafusion::arrow::util::display::array_value_to_string;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::io::Write;
    use std::sync::Arc;

    /// A chain whose cube counts rows and sums `amount` by period and age band.
    fn chain() -> Chain {
        Chain::parse(
            r#"
id = "t"
version = 1
label = "test"
source = "penal"
[[steps]]
kind = "cube"
name = "c"
period = "year"
unit = "auteurs"
source_line = "test"
dimensions = [{ column = "age", codelist = "CL_AGE_BAND" }]
measures = [
  { name = "n", aggregate = "count" },
  { name = "amount", aggregate = "sum", column = "amount" },
]
"#,
            "test.toml",
        )
        .unwrap()
    }

    /// Builds the cube of `chain()` over rows of (year, age, amount).
    async fn cube(
        ages: Vec<&str>,
        amounts: Vec<f64>,
    ) -> Result<super::CubeFile, crate::EngineError> {
        let n = ages.len();
        let year: ArrayRef = Arc::new(StringArray::from(vec!["2024"; n]));
        let age: ArrayRef = Arc::new(StringArray::from(ages));
        let amount: ArrayRef = Arc::new(Float64Array::from(amounts));
        let (ctx, _) =
            super::super::testing::session(vec![("year", year), ("age", age), ("amount", amount)])
                .await;
        let chain = chain();
        let Some(Step::Cube {
            name,
            period,
            dimensions,
            measures,
            unit,
            source_line,
        }) = chain.steps.last()
        else {
            unreachable!()
        };
        let spec = CubeSpec {
            name,
            period,
            dimensions,
            measures,
            unit,
            source_line,
        };
        build(&chain, &spec, &ctx, "t0").await
    }

    /// The cube's rows as `period,age,n,amount`, in the file's order.
    fn cells(bytes: Vec<u8>) -> Vec<String> {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&bytes).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut out = Vec::new();
        for b in reader {
            let b = b.unwrap();
            for r in 0..b.num_rows() {
                let row: Vec<String> = (0..b.num_columns())
                    .map(|c| array_value_to_string(b.column(c), r).unwrap())
                    .collect();
                out.push(row.join(","));
            }
        }
        out
    }

    #[tokio::test]
    async fn every_level_of_the_hierarchy_is_summed_from_the_leaves() {
        let out = cube(vec!["Y13T15", "Y16T17", "Y25T29"], vec![0.1, 0.2, 1.0])
            .await
            .unwrap();
        assert_eq!(out.rows, 6);
        assert_eq!(out.schema.dimensions[0].codelist, "CL_AGE_BAND");
        // Sums in cents: 0.1 + 0.2 is exactly 0.3; codes in byte order, the total `_T` last.
        assert_eq!(
            cells(out.bytes),
            [
                "2024,MAJ,1,1.0",
                "2024,MIN,2,0.3",
                "2024,Y13T15,1,0.1",
                "2024,Y16T17,1,0.2",
                "2024,Y25T29,1,1.0",
                "2024,_T,3,1.3",
            ]
        );
    }

    // Without the check, the closure's inner join would drop the row from every cell (`_T`
    // would count 1, not 2): the run must fail instead, naming the value.
    #[tokio::test]
    async fn a_value_outside_the_codelist_is_refused() {
        let e = cube(vec!["Y13T15", "OLD"], vec![1.0, 1.0])
            .await
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("value `OLD` of column `age` is not a code of CL_AGE_BAND"),
            "{e}"
        );
    }
}

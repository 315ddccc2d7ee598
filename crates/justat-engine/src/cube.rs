//! Reading a cube back: the cells of a sub-table (some dimensions, the others at their total)
//! for one period, as the disclosure control and the publications need them.

use crate::EngineError;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::Path;

/// The cells of the sub-table `dims` × one `period` of a cube file, with the `measure` (a
/// count); the cube's other dimensions are taken at their total `_T`.
pub fn read_cells(
    path: &Path,
    dims: &[String],
    period: &str,
    measure: &str,
) -> Result<Vec<(Vec<String>, u64)>, EngineError> {
    let f = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)?.build()?;
    let mut out = Vec::new();
    let bad = |message: String| EngineError::ChainFile {
        file: path.display().to_string(),
        message,
    };
    for batch in reader {
        // Text columns may be written as Utf8 or Utf8View (DataFusion's choice): read as Utf8.
        let batch = batch?;
        let schema = batch.schema();
        let columns = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => cast(c, &DataType::Utf8),
                _ => Ok(c.clone()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let col = |name: &str| {
            schema
                .index_of(name)
                .map_err(|_| bad(format!("the cube has no column `{name}`")))
        };
        // Every dimension and the period are text columns; a measure named by mistake in
        // --dims is refused rather than read as text.
        let text = |i: usize| {
            columns[i].as_string_opt::<i32>().ok_or_else(|| {
                bad(format!(
                    "`{}` is not a dimension of the cube",
                    schema.field(i).name()
                ))
            })
        };
        let periods = text(col("TIME_PERIOD")?)?;
        let wanted = dims
            .iter()
            .map(|d| col(d).and_then(&text))
            .collect::<Result<Vec<_>, _>>()?;
        let values = batch.column(col(measure)?);
        let values = values
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| bad(format!("measure `{measure}` is not a count")))?;
        let wanted_names: Vec<&str> = dims.iter().map(String::as_str).collect();
        let others: Vec<_> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.name() != "TIME_PERIOD" && !wanted_names.contains(&f.name().as_str())
            })
            .filter_map(|(i, _)| columns[i].as_string_opt::<i32>())
            .collect();
        for row in 0..batch.num_rows() {
            if periods.value(row) != period || others.iter().any(|c| c.value(row) != "_T") {
                continue;
            }
            let codes = wanted.iter().map(|c| c.value(row).to_string()).collect();
            let v = if values.is_null(row) {
                0
            } else {
                values.value(row).max(0) as u64
            };
            out.push((codes, v));
        }
    }
    if out.is_empty() {
        return Err(bad(format!(
            "no cell for period `{period}` (check --period and the cube's TIME_PERIOD values)"
        )));
    }
    Ok(out)
}

/// One row of [`read_measures`]: a period, a code of the dimension and the measures' values.
pub type MeasureRow = (String, String, Vec<i64>);

/// Every period's cells of a cube along one dimension `dim` (the others at their total `_T`),
/// with the values of `measures` in that order (a missing value is 0): what the steering
/// dashboards compute their indicators from.
pub fn read_measures(
    path: &Path,
    dim: &str,
    measures: &[String],
) -> Result<Vec<MeasureRow>, EngineError> {
    let f = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)?.build()?;
    let bad = |message: String| EngineError::ChainFile {
        file: path.display().to_string(),
        message,
    };
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        let schema = batch.schema();
        let columns = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => cast(c, &DataType::Utf8),
                _ => Ok(c.clone()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let col = |name: &str| {
            schema
                .index_of(name)
                .map_err(|_| bad(format!("the cube has no column `{name}`")))
        };
        let text = |i: usize| {
            columns[i].as_string_opt::<i32>().ok_or_else(|| {
                bad(format!(
                    "`{}` is not a dimension of the cube",
                    schema.field(i).name()
                ))
            })
        };
        let periods = text(col("TIME_PERIOD")?)?;
        let codes = text(col(dim)?)?;
        let values = measures
            .iter()
            .map(|m| {
                batch
                    .column(col(m)?)
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| bad(format!("measure `{m}` is not an integer")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let others: Vec<_> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name() != "TIME_PERIOD" && f.name() != dim)
            .filter_map(|(i, _)| columns[i].as_string_opt::<i32>())
            .collect();
        for row in 0..batch.num_rows() {
            if others.iter().any(|c| c.value(row) != "_T") {
                continue;
            }
            let v = values
                .iter()
                .map(|a| if a.is_null(row) { 0 } else { a.value(row) })
                .collect();
            out.push((
                periods.value(row).to_string(),
                codes.value(row).to_string(),
                v,
            ));
        }
    }
    Ok(out)
}

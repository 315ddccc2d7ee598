//! Reading a cube back: the cells of a sub-table (some dimensions, the others at their total)
//! for one period, as the disclosure control and the publications need them, or every period
//! of one dimension, as the steering dashboards do.

use crate::EngineError;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::Path;

/// One record batch of a cube file, its text columns as `Utf8` whichever text type DataFusion
/// wrote (Utf8 or Utf8View), with lookups that name the file in their errors.
struct CubeBatch<'a> {
    path: &'a Path,
    batch: RecordBatch,
    columns: Vec<ArrayRef>,
}

impl CubeBatch<'_> {
    fn bad(&self, message: String) -> EngineError {
        bad(self.path, message)
    }

    fn index(&self, name: &str) -> Result<usize, EngineError> {
        self.batch
            .schema()
            .index_of(name)
            .map_err(|_| self.bad(format!("the cube has no column `{name}`")))
    }

    /// A dimension (or the period): a text column; a measure named by mistake is refused
    /// rather than read as text.
    fn text(&self, name: &str) -> Result<&StringArray, EngineError> {
        let i = self.index(name)?;
        self.columns[i]
            .as_string_opt::<i32>()
            .ok_or_else(|| self.bad(format!("`{name}` is not a dimension of the cube")))
    }

    /// A measure: an integer column.
    fn integers(&self, name: &str) -> Result<&Int64Array, EngineError> {
        let i = self.index(name)?;
        self.batch
            .column(i)
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| self.bad(format!("measure `{name}` is not an integer measure")))
    }

    /// The text columns other than the period and `kept`: the dimensions a reader takes at
    /// their total.
    fn other_dimensions(&self, kept: &[&str]) -> Vec<&StringArray> {
        let schema = self.batch.schema();
        schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name() != "TIME_PERIOD" && !kept.contains(&f.name().as_str()))
            .filter_map(|(i, _)| self.columns[i].as_string_opt::<i32>())
            .collect()
    }
}

fn bad(path: &Path, message: String) -> EngineError {
    EngineError::ChainFile {
        file: path.display().to_string(),
        message,
    }
}

/// Calls `each` on every batch of the cube file at `path`.
fn for_each_batch(
    path: &Path,
    mut each: impl FnMut(&CubeBatch) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let f = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
    for batch in ParquetRecordBatchReaderBuilder::try_new(f)?.build()? {
        let batch = batch?;
        let columns = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => cast(c, &DataType::Utf8),
                _ => Ok(c.clone()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        each(&CubeBatch {
            path,
            batch,
            columns,
        })?;
    }
    Ok(())
}

/// The cells of the sub-table `dims` × one `period` of a cube file, with the `measure` (a
/// count); the cube's other dimensions are taken at their total `_T`.
pub fn read_cells(
    path: &Path,
    dims: &[String],
    period: &str,
    measure: &str,
) -> Result<Vec<(Vec<String>, u64)>, EngineError> {
    let mut out = Vec::new();
    let kept: Vec<&str> = dims.iter().map(String::as_str).collect();
    for_each_batch(path, |b| {
        let periods = b.text("TIME_PERIOD")?;
        let wanted = dims
            .iter()
            .map(|d| b.text(d))
            .collect::<Result<Vec<_>, _>>()?;
        let values = b.integers(measure)?;
        let others = b.other_dimensions(&kept);
        for row in 0..periods.len() {
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
        Ok(())
    })?;
    if out.is_empty() {
        return Err(bad(
            path,
            format!(
                "no cell for period `{period}` (check --period and the cube's TIME_PERIOD values)"
            ),
        ));
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
    let mut out = Vec::new();
    for_each_batch(path, |b| {
        let periods = b.text("TIME_PERIOD")?;
        let codes = b.text(dim)?;
        let values = measures
            .iter()
            .map(|m| b.integers(m))
            .collect::<Result<Vec<_>, _>>()?;
        let others = b.other_dimensions(&[dim]);
        for row in 0..periods.len() {
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
        Ok(())
    })?;
    Ok(out)
}

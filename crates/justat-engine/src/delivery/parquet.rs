//! The Parquet reader: a file refused from its footer when what it declares goes beyond the
//! read limits, its columns matched by name to the source's and converted without loss, its
//! rows handed to the checks in batches; a corrupt file is unreadable, never a crash.

use super::checker::Checker;
use super::messages::{size_fr, too_many_rows};
use super::{BATCH_BYTES, BATCH_ROWS};
use crate::EngineError;
use crate::reader::{RATIO_GRACE_BYTES, ReadLimits};
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use justat_model::french;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// Refuses a Parquet file from its footer, before any row is read, when what it declares goes
/// beyond `limits`; otherwise the batch size that keeps a batch near [`BATCH_BYTES`].
fn parquet_bounds(
    meta: &datafusion::parquet::file::metadata::ParquetMetaData,
    file_len: u64,
    file: &str,
    limits: &ReadLimits,
) -> Result<usize, String> {
    let rows = meta.file_metadata().num_rows();
    let Ok(rows) = u64::try_from(rows) else {
        return Err(format!(
            "{file} : fichier Parquet illisible : il annonce {rows} lignes"
        ));
    };
    if rows > limits.max_rows {
        return Err(format!(
            "{file} : {} lignes de données, plus que la limite de {} ; le fichier est refusé \
             (limite max_rows)",
            french::integer(rows as i64),
            french::integer(limits.max_rows as i64)
        ));
    }
    let mut total: u64 = 0;
    let mut widest_row: u64 = 1;
    let mut first_row: u64 = 1;
    for (k, group) in meta.row_groups().iter().enumerate() {
        let n = u64::try_from(group.num_rows()).unwrap_or(0);
        let size: u64 = group
            .columns()
            .iter()
            .map(|c| u64::try_from(c.uncompressed_size()).unwrap_or(u64::MAX))
            .fold(0, u64::saturating_add);
        total = total.saturating_add(size);
        let per_row = size.div_ceil(n.max(1));
        if per_row > limits.max_record_bytes {
            return Err(format!(
                "{file} : lignes {first_row} à {} (groupe de lignes {}) : plus de {} par ligne ; le \
                 fichier est refusé (limite max_record_kib)",
                first_row + n.max(1) - 1,
                k + 1,
                size_fr(limits.max_record_bytes)
            ));
        }
        widest_row = widest_row.max(per_row);
        first_row += n;
    }
    if total > limits.max_decompressed_bytes {
        return Err(format!(
            "{file} : le fichier décompressé dépasserait {} ; le fichier est refusé (limite \
             max_decompressed_gib)",
            size_fr(limits.max_decompressed_bytes)
        ));
    }
    let allowed =
        RATIO_GRACE_BYTES.saturating_add(limits.max_compression_ratio.saturating_mul(file_len));
    if total > allowed {
        return Err(format!(
            "{file} : taux de compression supérieur à {}:1 ; le fichier est refusé comme une \
             possible bombe de décompression (limite max_compression_ratio)",
            limits.max_compression_ratio
        ));
    }
    Ok((BATCH_BYTES as u64 / widest_row).clamp(1, BATCH_ROWS as u64) as usize)
}

/// The row (from 1) and column of the first text value of `batch` longer than `max` bytes.
fn overlong_value(batch: &RecordBatch, max: u64) -> Option<(usize, usize)> {
    for (c, array) in batch.columns().iter().enumerate() {
        let Some(strings) = array.as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        if let Some(i) = strings
            .offsets()
            .windows(2)
            .position(|w| (w[1] - w[0]) as u64 > max)
        {
            return Some((i, c));
        }
    }
    None
}

/// Runs a step of the Parquet reader, whose decoders may panic on a corrupt file: a panic
/// is that file's fault and makes it unreadable, not the process's end.
fn guarded<T>(step: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "erreur interne du lecteur".into())
    })
}

/// Reads the Parquet file at `path` into `checker`. Returns why the file is unreadable, if it
/// is: the rows before that point are checked all the same.
pub(super) fn read(
    checker: &mut Checker<'_>,
    path: &Path,
    file: &str,
    limits: &ReadLimits,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<String>, EngineError> {
    let f = File::open(path).map_err(|e| EngineError::io(path, e))?;
    let file_len = f.metadata().map_err(|e| EngineError::io(path, e))?.len();
    let builder = match guarded(|| ParquetRecordBatchReaderBuilder::try_new(f)) {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return Ok(Some(format!("{file} : fichier Parquet illisible : {e}"))),
        Err(e) => return Ok(Some(format!("{file} : fichier Parquet illisible : {e}"))),
    };
    let batch_rows = match parquet_bounds(builder.metadata(), file_len, file, limits) {
        Ok(n) => n,
        Err(why) => return Ok(Some(why)),
    };
    let builder = builder.with_batch_size(batch_rows);
    let file_schema = builder.schema().clone();
    let target = checker.schema();
    // Match columns by name; each must exist with a type that converts without loss.
    let mut mapping = Vec::new();
    let mut problems = Vec::new();
    for field in target.fields().iter().skip(1) {
        match file_schema.index_of(field.name()) {
            Ok(i) => {
                let found = file_schema.field(i).data_type();
                if !compatible(found, field.data_type()) {
                    problems.push(format!(
                        "colonne `{}` de type {found}, {} attendu",
                        field.name(),
                        field.data_type()
                    ));
                }
                mapping.push(i);
            }
            Err(_) => problems.push(format!(
                "colonne `{}` manquante ({})",
                field.name(),
                field.data_type()
            )),
        }
    }
    for f in file_schema.fields() {
        if target.index_of(f.name()).is_err() {
            problems.push(format!("colonne `{}` inattendue", f.name()));
        }
    }
    if !problems.is_empty() {
        return Ok(Some(format!(
            "{file} : le schéma Parquet ne correspond pas à la source `{}` v{} : {}",
            checker.source().id,
            checker.source().version,
            problems.join(" ; ")
        )));
    }
    let mut reader = match guarded(|| builder.build()) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Ok(Some(format!("{file} : données Parquet illisibles : {e}")));
        }
        Err(e) => {
            return Ok(Some(format!("{file} : données Parquet illisibles : {e}")));
        }
    };
    let mut next_line = 1i64;
    loop {
        let batch = match guarded(|| reader.next()) {
            Ok(None) => break,
            Ok(Some(Ok(b))) => b,
            Ok(Some(Err(e))) => {
                return Ok(Some(format!(
                    "{file} : après la ligne {} : {e}",
                    next_line - 1
                )));
            }
            Err(e) => {
                return Ok(Some(format!(
                    "{file} : après la ligne {} : fichier Parquet illisible : {e}",
                    next_line - 1
                )));
            }
        };
        let n = batch.num_rows();
        if checker.rows_read() + n as u64 > limits.max_rows {
            let line = (limits.max_rows + 1) as i64;
            return Ok(Some(too_many_rows(file, line as u64, limits)));
        }
        let mut cols: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(
            next_line..next_line + n as i64,
        ))];
        for (field, &i) in target.fields().iter().skip(1).zip(&mapping) {
            cols.push(cast(batch.column(i), field.data_type())?);
        }
        let batch = RecordBatch::try_new(target.clone(), cols)?;
        if let Some((i, c)) = overlong_value(&batch, limits.max_record_bytes) {
            return Ok(Some(format!(
                "{file} : ligne {}, colonne {} : valeur de plus de {} ; le fichier est refusé \
                 (limite max_record_kib)",
                next_line + i as i64,
                target.field(c).name(),
                size_fr(limits.max_record_bytes)
            )));
        }
        next_line += n as i64;
        checker.count_read(n as u64);
        checker.check_batch(batch, None)?;
        progress(checker.rows_read());
    }
    Ok(None)
}

/// Whether a file's column of type `found` converts without loss to the source's `wanted`.
fn compatible(found: &DataType, wanted: &DataType) -> bool {
    use DataType::*;
    found == wanted
        || matches!(
            (found, wanted),
            (Utf8View | LargeUtf8, Utf8)
                | (Int8 | Int16 | Int32 | UInt8 | UInt16 | UInt32, Int64)
                | (Float32 | Int32 | Int64 | Decimal128(_, _), Float64)
                | (Date64, Date32)
        )
}

#[cfg(test)]
mod tests {
    use super::compatible;
    use datafusion::arrow::datatypes::DataType;

    #[test]
    fn a_column_converts_only_without_loss() {
        assert!(compatible(&DataType::Int32, &DataType::Int64));
        assert!(compatible(&DataType::Utf8View, &DataType::Utf8));
        assert!(compatible(&DataType::Decimal128(10, 2), &DataType::Float64));
        assert!(!compatible(&DataType::Float64, &DataType::Int64));
        assert!(!compatible(&DataType::UInt64, &DataType::Int64));
        assert!(!compatible(&DataType::Int64, &DataType::Utf8));
    }
}

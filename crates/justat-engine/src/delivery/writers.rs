//! The files a delivery's check leaves: the staging Parquet of valid rows, which records the
//! key order its rows arrived in, and the quarantine Parquet of rejected rows, one per reason.

use super::BATCH_ROWS;
use super::messages::shorten;
use super::report::Reason;
use crate::EngineError;
use crate::order::{SORTED_BY_KEY, SortTracker};
use crate::source::{ColumnType, Source};
use datafusion::arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::WriterProperties;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// Encoded bytes a staging or quarantine row group holds in memory before it is written out.
const ROW_GROUP_BYTES: usize = 128 << 20;

/// The Arrow schema of a source's staging file: `_line` then the declared columns.
pub fn staging_schema(source: &Source) -> SchemaRef {
    let mut fields = vec![Field::new("_line", DataType::Int64, false)];
    for c in &source.columns {
        let dt = match c.ty {
            ColumnType::String => DataType::Utf8,
            ColumnType::Integer => DataType::Int64,
            ColumnType::Decimal => DataType::Float64,
            ColumnType::Date => DataType::Date32,
            ColumnType::Boolean => DataType::Boolean,
        };
        fields.push(Field::new(&c.name, dt, true));
    }
    Arc::new(Schema::new(fields))
}

fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("line", DataType::Int64, false),
        Field::new("rule", DataType::Utf8, false),
        Field::new("column", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, true),
    ]))
}

/// Parquet writer settings that make the same rows give the same bytes.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_created_by(format!("justat {}", env!("CARGO_PKG_VERSION")))
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(1 << 20))
        .build()
}

/// [`writer_properties`] with row groups also bounded in bytes: a delivery's rows may be long,
/// and a row group is held in memory until it is written.
fn delivery_writer_properties() -> WriterProperties {
    WriterProperties::into_builder(writer_properties())
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .build()
}

/// The staging file being written, and the key order its rows have kept so far.
pub(super) struct Staging {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    order: SortTracker,
}

impl Staging {
    /// Creates the staging file of `source` at `path`.
    pub fn create(source: &Source, path: &Path) -> Result<Staging, EngineError> {
        let schema = staging_schema(source);
        let file = File::create(path).map_err(|e| EngineError::io(path, e))?;
        let writer =
            ArrowWriter::try_new(file, schema.clone(), Some(delivery_writer_properties()))?;
        // Batch column 0 is the line number: key column k is batch column k + 1.
        let order = SortTracker::new(
            source
                .key
                .iter()
                .filter_map(|k| source.column_index(k))
                .map(|k| k + 1)
                .collect(),
        );
        Ok(Staging {
            writer,
            schema,
            order,
        })
    }

    /// Appends valid rows.
    pub fn write(&mut self, kept: &RecordBatch) -> Result<(), EngineError> {
        if kept.num_rows() > 0 {
            self.order.observe(kept)?;
            self.writer.write(kept)?;
        }
        Ok(())
    }

    /// Records the key prefix the rows arrived sorted by, if any, and closes the file.
    pub fn close(mut self) -> Result<(), EngineError> {
        let sorted_by: Vec<&str> = self
            .order
            .sorted_by()
            .iter()
            .map(|&c| self.schema.field(c).name().as_str())
            .collect();
        if !sorted_by.is_empty() {
            self.writer.append_key_value_metadata(KeyValue::new(
                SORTED_BY_KEY.to_string(),
                serde_json::json!(sorted_by).to_string(),
            ));
        }
        self.writer.close()?;
        Ok(())
    }
}

/// The quarantine file being written: one row per rejected row and reason, in batches.
pub(super) struct Quarantine {
    writer: ArrowWriter<File>,
    line: Int64Builder,
    rule: StringBuilder,
    column: StringBuilder,
    value: StringBuilder,
    message: StringBuilder,
    raw: StringBuilder,
    rows: usize,
}

impl Quarantine {
    /// Creates the quarantine file at `path`.
    pub fn create(path: &Path) -> Result<Quarantine, EngineError> {
        let file = File::create(path).map_err(|e| EngineError::io(path, e))?;
        Ok(Quarantine {
            writer: ArrowWriter::try_new(
                file,
                quarantine_schema(),
                Some(delivery_writer_properties()),
            )?,
            line: Int64Builder::new(),
            rule: StringBuilder::new(),
            column: StringBuilder::new(),
            value: StringBuilder::new(),
            message: StringBuilder::new(),
            raw: StringBuilder::new(),
            rows: 0,
        })
    }

    /// Adds the row at `line` rejected for `reason`; `raw` is the row as delivered.
    pub fn push(
        &mut self,
        line: u64,
        reason: &Reason,
        raw: Option<&str>,
    ) -> Result<(), EngineError> {
        self.line.append_value(line as i64);
        self.rule.append_value(&reason.rule);
        self.column.append_option(reason.column.as_deref());
        self.value
            .append_option(reason.value.as_deref().map(shorten));
        self.message.append_value(&reason.message);
        self.raw.append_option(raw.map(shorten));
        self.rows += 1;
        if self.rows.is_multiple_of(BATCH_ROWS) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), EngineError> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.line.finish()),
            Arc::new(self.rule.finish()),
            Arc::new(self.column.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.message.finish()),
            Arc::new(self.raw.finish()),
        ];
        let batch = RecordBatch::try_new(quarantine_schema(), cols)?;
        if batch.num_rows() > 0 {
            self.writer.write(&batch)?;
        }
        Ok(())
    }

    /// Writes what is left and closes the file; whether it holds any row.
    pub fn close(mut self) -> Result<bool, EngineError> {
        self.flush()?;
        self.writer.close()?;
        Ok(self.rows > 0)
    }
}

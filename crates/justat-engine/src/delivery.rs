//! Checking a delivery (ESS validation levels 0 and 1) into a staging Parquet of valid rows
//! and a quarantine Parquet of rejected rows, each with its rule, message and line number.
//!
//! Nothing is dropped silently: every data row read ends in exactly one of the two files
//! (a rejected row once per rule it breaks), and the report counts them.

use crate::EngineError;
use crate::order::{SORTED_BY_KEY, SortTracker};
use crate::reader::{
    BoundedGunzip, RATIO_GRACE_BYTES, ReadError, ReadLimits, Records, StreamLimit,
};
use crate::source::{ColumnType, Source};
use crate::value::{self, Value};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Date32Builder, Float64Builder, Int64Array,
    Int64Builder, RecordBatch, StringBuilder,
};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::DFSchema;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use justat_model::french;
use justat_model::text_encoding::{Encoding, count_line_breaks, decode};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per batch: large enough for vectorised rule evaluation, small enough for memory.
const BATCH_ROWS: usize = 65_536;
/// Bytes of values per batch: a batch of long rows is checked before it holds more.
const BATCH_BYTES: usize = 64 << 20;
/// Encoded bytes a staging or quarantine row group holds in memory before it is written out.
const ROW_GROUP_BYTES: usize = 128 << 20;
/// Examples kept per rule in the report.
const EXAMPLES: usize = 5;
/// Longest value or raw line kept in a message or the quarantine (a 100 MB line stays out).
const MAX_SHOWN: usize = 200;

/// How a delivery's checks ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeliveryStatus {
    /// Every row passed.
    #[serde(rename = "OK")]
    Ok,
    /// Some rows were rejected, no more than the source's threshold.
    #[serde(rename = "OK_KO")]
    OkKo,
    /// Too many rows rejected, or the file could not be read: it cannot feed a chain.
    #[serde(rename = "KO")]
    Ko,
}

impl DeliveryStatus {
    /// `OK`, `OK_KO` or `KO`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Ok => "OK",
            DeliveryStatus::OkKo => "OK_KO",
            DeliveryStatus::Ko => "KO",
        }
    }
}

/// One example of a rule's failures.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    /// Line of the file (for Parquet: row number, from 1).
    pub line: u64,
    /// The column at fault, if one.
    pub column: Option<String>,
    /// Its value, if one.
    pub value: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The failures of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    /// The rule (a source rule id, or `COLUMN_COUNT`, `TYPE`, `REQUIRED`, `CODELIST`, `DUPLICATE_KEY`).
    pub rule: String,
    /// How many rows broke it.
    pub count: u64,
    /// The first few.
    pub examples: Vec<Example>,
}

/// What the checks found.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryReport {
    /// The source id.
    pub source: String,
    /// Its schema version.
    pub source_version: i64,
    /// The file's name.
    pub file: String,
    /// `csv`, `csv.gz` or `parquet`.
    pub format: String,
    /// The outcome.
    pub status: DeliveryStatus,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows kept.
    pub rows_ok: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// The source's threshold.
    pub reject_threshold: f64,
    /// Why the file could not be read at all, if so.
    pub unreadable: Option<String>,
    /// Failures per rule.
    pub rules: Vec<RuleReport>,
}

/// A checked delivery and its files (in the scratch folder, to be moved into the lake).
#[derive(Debug)]
pub struct CheckedDelivery {
    /// The report.
    pub report: DeliveryReport,
    /// Valid rows (absent when KO).
    pub staging: Option<PathBuf>,
    /// Rejected rows (absent when none).
    pub quarantine: Option<PathBuf>,
}

/// The format of a delivered file, from its first bytes.
pub fn sniff_format(path: &Path) -> Result<&'static str, EngineError> {
    let mut head = [0u8; 4];
    let mut f = File::open(path).map_err(|e| EngineError::io(path, e))?;
    let n = f.read(&mut head).map_err(|e| EngineError::io(path, e))?;
    Ok(match &head[..n] {
        [0x1f, 0x8b, ..] => "csv.gz",
        b"PAR1" => "parquet",
        _ => "csv",
    })
}

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

/// A size as a statistician reads it: `1 Mio`, `20 Gio`, `512 Kio` or `1 234 octets`.
fn size_fr(bytes: u64) -> String {
    for (shift, unit) in [(30, "Gio"), (20, "Mio"), (10, "Kio")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", french::integer((bytes >> shift) as i64));
        }
    }
    format!("{} octets", french::integer(bytes as i64))
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_SHOWN {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX_SHOWN).collect::<String>())
    }
}

/// One reason for rejecting a row.
struct Reason {
    rule: String,
    column: Option<String>,
    value: Option<String>,
    message: String,
}

struct Quarantine {
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
    fn push(&mut self, line: u64, reason: &Reason, raw: Option<&str>) -> Result<(), EngineError> {
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
}

/// The validity periods of a codelist column's codes, checked against a date column.
struct Validity {
    /// Index of the date column among the source's columns.
    date_column: usize,
    /// Codes with a bounded validity: first and last valid day (days since 1970-01-01).
    periods: HashMap<String, (Option<i32>, Option<i32>)>,
}

fn days(d: jiff::civil::Date) -> i32 {
    crate::value::days_from_civil(d.year().into(), d.month().into(), d.day().into())
}

/// The state of one delivery's check.
struct Checker<'a> {
    source: &'a Source,
    schema: SchemaRef,
    rules: Vec<CompiledRule>,
    leaves: Vec<Option<HashSet<String>>>,
    validity: Vec<Option<Validity>>,
    required: Vec<bool>,
    key: Vec<usize>,
    seen: HashMap<u64, u64>,
    order: SortTracker,
    staging: ArrowWriter<File>,
    quarantine: Quarantine,
    counts: BTreeMap<String, RuleReport>,
    rule_order: Vec<String>,
    rows_read: u64,
    rows_rejected: u64,
    // The batch being filled (CSV path).
    builders: Vec<ColumnBuilder>,
    lines: Vec<i64>,
    raws: Vec<String>,
    batch_bytes: usize,
}

enum ColumnBuilder {
    Text(StringBuilder),
    Int(Int64Builder),
    Dec(Float64Builder),
    Date(Date32Builder),
    Bool(BooleanBuilder),
}

impl ColumnBuilder {
    fn new(ty: ColumnType) -> ColumnBuilder {
        match ty {
            ColumnType::String => ColumnBuilder::Text(StringBuilder::new()),
            ColumnType::Integer => ColumnBuilder::Int(Int64Builder::new()),
            ColumnType::Decimal => ColumnBuilder::Dec(Float64Builder::new()),
            ColumnType::Date => ColumnBuilder::Date(Date32Builder::new()),
            ColumnType::Boolean => ColumnBuilder::Bool(BooleanBuilder::new()),
        }
    }

    fn push(&mut self, v: Value) {
        match (self, v) {
            (ColumnBuilder::Text(b), Value::Text(s)) => b.append_value(s),
            (ColumnBuilder::Int(b), Value::Int(i)) => b.append_value(i),
            (ColumnBuilder::Dec(b), Value::Dec(d)) => b.append_value(d),
            (ColumnBuilder::Date(b), Value::Date(d)) => b.append_value(d),
            (ColumnBuilder::Bool(b), Value::Bool(x)) => b.append_value(x),
            (ColumnBuilder::Text(b), _) => b.append_null(),
            (ColumnBuilder::Int(b), _) => b.append_null(),
            (ColumnBuilder::Dec(b), _) => b.append_null(),
            (ColumnBuilder::Date(b), _) => b.append_null(),
            (ColumnBuilder::Bool(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Dec(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
        }
    }
}

/// A source rule compiled for vectorised evaluation.
pub struct CompiledRule {
    id: String,
    message: String,
    expr: Arc<dyn PhysicalExpr>,
}

/// Compiles a source's record rules against its staging schema.
pub fn compile_rules(source: &Source) -> Result<Vec<CompiledRule>, EngineError> {
    let schema = staging_schema(source);
    let ctx = SessionContext::new();
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let mut out = Vec::new();
    for rule in &source.rules {
        let bad = |message: String| EngineError::SourceRule {
            source_id: source.id.clone(),
            rule: rule.id.clone(),
            message,
        };
        let expr = ctx
            .parse_sql_expr(&rule.expression, &df_schema)
            .map_err(|e| bad(e.to_string()))?;
        let phys = ctx
            .create_physical_expr(expr, &df_schema)
            .map_err(|e| bad(e.to_string()))?;
        let dt = phys.data_type(&schema).map_err(|e| bad(e.to_string()))?;
        if dt != DataType::Boolean {
            return Err(bad(format!(
                "the expression is {dt}, not a boolean condition"
            )));
        }
        out.push(CompiledRule {
            id: rule.id.clone(),
            message: rule.message.clone(),
            expr: phys,
        });
    }
    Ok(out)
}

impl<'a> Checker<'a> {
    fn new(
        source: &'a Source,
        scratch: &Path,
    ) -> Result<(Checker<'a>, PathBuf, PathBuf), EngineError> {
        let schema = staging_schema(source);
        let stamp = format!(
            "{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let staging_path = scratch.join(format!("staging-{stamp}.parquet"));
        let quarantine_path = scratch.join(format!("quarantine-{stamp}.parquet"));
        let staging_file =
            File::create(&staging_path).map_err(|e| EngineError::io(&staging_path, e))?;
        let quarantine_file =
            File::create(&quarantine_path).map_err(|e| EngineError::io(&quarantine_path, e))?;
        let staging = ArrowWriter::try_new(
            staging_file,
            schema.clone(),
            Some(delivery_writer_properties()),
        )?;
        let q_writer = ArrowWriter::try_new(
            quarantine_file,
            quarantine_schema(),
            Some(delivery_writer_properties()),
        )?;
        let leaves = source
            .columns
            .iter()
            .map(|c| {
                c.codelist.as_ref().map(|id| {
                    source.codelists[id]
                        .leaves()
                        .into_iter()
                        .map(|code| code.to_string())
                        .collect::<HashSet<_>>()
                })
            })
            .collect();
        let validity = source
            .columns
            .iter()
            .map(|c| {
                let (Some(id), Some(at)) = (&c.codelist, &c.valid_at) else {
                    return None;
                };
                let periods = source.codelists[id]
                    .codes()
                    .iter()
                    .filter(|code| code.valid_from.is_some() || code.valid_to.is_some())
                    .map(|code| {
                        (
                            code.code.clone(),
                            (code.valid_from.map(days), code.valid_to.map(days)),
                        )
                    })
                    .collect();
                Some(Validity {
                    date_column: source.column_index(at)?,
                    periods,
                })
            })
            .collect();
        let rules = compile_rules(source)?;
        let mut rule_order: Vec<String> = [
            "COLUMN_COUNT",
            "TYPE",
            "REQUIRED",
            "CODELIST",
            "DUPLICATE_KEY",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        rule_order.extend(rules.iter().map(|r| r.id.clone()));
        let checker = Checker {
            source,
            schema,
            rules,
            leaves,
            validity,
            required: source.columns.iter().map(|c| c.required).collect(),
            key: source
                .key
                .iter()
                .filter_map(|k| source.column_index(k))
                .collect(),
            seen: HashMap::new(),
            // Batch column 0 is the line number: key column k is batch column k + 1.
            order: SortTracker::new(
                source
                    .key
                    .iter()
                    .filter_map(|k| source.column_index(k))
                    .map(|k| k + 1)
                    .collect(),
            ),
            staging,
            quarantine: Quarantine {
                writer: q_writer,
                line: Int64Builder::new(),
                rule: StringBuilder::new(),
                column: StringBuilder::new(),
                value: StringBuilder::new(),
                message: StringBuilder::new(),
                raw: StringBuilder::new(),
                rows: 0,
            },
            counts: BTreeMap::new(),
            rule_order,
            rows_read: 0,
            rows_rejected: 0,
            builders: source
                .columns
                .iter()
                .map(|c| ColumnBuilder::new(c.ty))
                .collect(),
            lines: Vec::new(),
            raws: Vec::new(),
            batch_bytes: 0,
        };
        Ok((checker, staging_path, quarantine_path))
    }

    fn reject(
        &mut self,
        line: u64,
        reasons: &[Reason],
        raw: Option<&str>,
    ) -> Result<(), EngineError> {
        self.rows_rejected += 1;
        for r in reasons {
            let entry = self
                .counts
                .entry(r.rule.clone())
                .or_insert_with(|| RuleReport {
                    rule: r.rule.clone(),
                    count: 0,
                    examples: vec![],
                });
            entry.count += 1;
            if entry.examples.len() < EXAMPLES {
                entry.examples.push(Example {
                    line,
                    column: r.column.clone(),
                    value: r.value.as_deref().map(shorten),
                    message: r.message.clone(),
                });
            }
            self.quarantine.push(line, r, raw)?;
        }
        Ok(())
    }

    /// Checks and writes one typed batch: required values, codelists, rules, duplicates.
    fn check_batch(
        &mut self,
        batch: RecordBatch,
        raws: Option<&[String]>,
    ) -> Result<(), EngineError> {
        let n = batch.num_rows();
        let mut reasons: Vec<Vec<Reason>> = (0..n).map(|_| Vec::new()).collect();
        for (ci, col) in self.source.columns.iter().enumerate() {
            let array = batch.column(ci + 1);
            if self.required[ci] && array.null_count() > 0 {
                for (i, r) in reasons.iter_mut().enumerate() {
                    if array.is_null(i) {
                        r.push(Reason {
                            rule: "REQUIRED".into(),
                            column: Some(col.name.clone()),
                            value: None,
                            message: format!("la colonne {} est obligatoire", col.name),
                        });
                    }
                }
            }
            if let Some(leaves) = &self.leaves[ci] {
                let strings = array
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::StringArray>();
                if let Some(strings) = strings {
                    for (i, r) in reasons.iter_mut().enumerate() {
                        if strings.is_valid(i) && !leaves.contains(strings.value(i)) {
                            r.push(Reason {
                                rule: "CODELIST".into(),
                                column: Some(col.name.clone()),
                                value: Some(strings.value(i).to_string()),
                                message: format!(
                                    "code « {} » absent de la nomenclature {} (code de dernier niveau attendu)",
                                    shorten(strings.value(i)),
                                    col.codelist.as_deref().unwrap_or("")
                                ),
                            });
                        }
                    }
                }
            }
        }
        for (ci, col) in self.source.columns.iter().enumerate() {
            let Some(v) = &self.validity[ci] else {
                continue;
            };
            let (Some(codes), Some(dates)) = (
                batch
                    .column(ci + 1)
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::StringArray>(),
                batch
                    .column(v.date_column + 1)
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::Date32Array>(),
            ) else {
                continue;
            };
            for (i, r) in reasons.iter_mut().enumerate() {
                if codes.is_null(i) || dates.is_null(i) {
                    continue;
                }
                if let Some((from, to)) = v.periods.get(codes.value(i)) {
                    let day = dates.value(i);
                    if from.is_some_and(|f| day < f) || to.is_some_and(|t| day > t) {
                        let date = dates
                            .value_as_date(i)
                            .map_or_else(String::new, |d| d.format("%d/%m/%Y").to_string());
                        r.push(Reason {
                            rule: "CODELIST".into(),
                            column: Some(col.name.clone()),
                            value: Some(codes.value(i).to_string()),
                            message: format!(
                                "code « {} » de la nomenclature {} non en vigueur le {date} ({})",
                                codes.value(i),
                                col.codelist.as_deref().unwrap_or(""),
                                self.source.columns[v.date_column].name
                            ),
                        });
                    }
                }
            }
        }
        for CompiledRule { id, message, expr } in &self.rules {
            let result = expr.evaluate(&batch)?.into_array(n)?;
            let ok = result
                .as_any()
                .downcast_ref::<BooleanArray>()
                .expect("rules are checked to be boolean");
            for (i, r) in reasons.iter_mut().enumerate() {
                if !(ok.is_valid(i) && ok.value(i)) {
                    r.push(Reason {
                        rule: id.clone(),
                        column: None,
                        value: None,
                        message: message.clone(),
                    });
                }
            }
        }
        let lines = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("_line is Int64")
            .clone();
        if !self.key.is_empty() {
            for (i, r) in reasons.iter_mut().enumerate() {
                if !r.is_empty() {
                    continue;
                }
                let mut h = DefaultHasher::new();
                for &k in &self.key {
                    array_value_to_string(batch.column(k + 1), i)?.hash(&mut h);
                }
                let line = lines.value(i) as u64;
                if let Some(first) = self.seen.get(&h.finish()) {
                    r.push(Reason {
                        rule: "DUPLICATE_KEY".into(),
                        column: None,
                        value: None,
                        message: format!(
                            "doublon de la ligne {first} (clé {})",
                            self.source.key.join(", ")
                        ),
                    });
                } else {
                    self.seen.insert(h.finish(), line);
                }
            }
        }
        let keep: BooleanArray = reasons.iter().map(|r| Some(r.is_empty())).collect();
        for (i, r) in reasons.iter().enumerate() {
            if !r.is_empty() {
                let raw = match raws {
                    Some(raws) => raws[i].clone(),
                    None => render_row(&batch, i, self.source.separator)?,
                };
                self.reject(lines.value(i) as u64, r, Some(&raw))?;
            }
        }
        let kept = filter_record_batch(&batch, &keep)?;
        if kept.num_rows() > 0 {
            self.order.observe(&kept)?;
            self.staging.write(&kept)?;
        }
        Ok(())
    }

    fn flush_csv_batch(&mut self) -> Result<(), EngineError> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let mut cols: Vec<ArrayRef> =
            vec![Arc::new(Int64Array::from(std::mem::take(&mut self.lines)))];
        cols.extend(self.builders.iter_mut().map(ColumnBuilder::finish));
        let batch = RecordBatch::try_new(self.schema.clone(), cols)?;
        let raws = std::mem::take(&mut self.raws);
        self.batch_bytes = 0;
        self.check_batch(batch, Some(&raws))
    }

    fn finish(
        mut self,
        file: &str,
        format: &str,
        unreadable: Option<String>,
    ) -> Result<(DeliveryReport, bool), EngineError> {
        self.quarantine.flush()?;
        let has_quarantine = self.quarantine.rows > 0;
        let sorted_by: Vec<&str> = self
            .order
            .sorted_by()
            .iter()
            .map(|&c| self.schema.field(c).name().as_str())
            .collect();
        if !sorted_by.is_empty() {
            self.staging.append_key_value_metadata(KeyValue::new(
                SORTED_BY_KEY.to_string(),
                serde_json::json!(sorted_by).to_string(),
            ));
        }
        self.staging.close()?;
        self.quarantine.writer.close()?;
        let rows_ok = self.rows_read - self.rows_rejected;
        let status = if unreadable.is_some() || self.rows_read == 0 {
            DeliveryStatus::Ko
        } else if self.rows_rejected == 0 {
            DeliveryStatus::Ok
        } else if (self.rows_rejected as f64 / self.rows_read as f64) > self.source.reject_threshold
        {
            DeliveryStatus::Ko
        } else {
            DeliveryStatus::OkKo
        };
        let unreadable = unreadable.or_else(|| {
            (self.rows_read == 0)
                .then(|| format!("{file} : le fichier n'a aucune ligne de données"))
        });
        let mut rules: Vec<RuleReport> = Vec::new();
        for id in &self.rule_order {
            if let Some(r) = self.counts.remove(id) {
                rules.push(r);
            }
        }
        let report = DeliveryReport {
            source: self.source.id.clone(),
            source_version: self.source.version,
            file: file.to_string(),
            format: format.to_string(),
            status,
            rows_read: self.rows_read,
            rows_ok: if status == DeliveryStatus::Ko {
                0
            } else {
                rows_ok
            },
            rows_rejected: self.rows_rejected,
            reject_threshold: self.source.reject_threshold,
            unreadable,
            rules,
        };
        Ok((report, has_quarantine))
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn render_row(batch: &RecordBatch, i: usize, sep: u8) -> Result<String, EngineError> {
    let mut parts = Vec::new();
    for c in 1..batch.num_columns() {
        parts.push(array_value_to_string(batch.column(c), i)?);
    }
    Ok(parts.join(&(sep as char).to_string()))
}

/// Checks the delivered file at `path` against `source` within `limits`, writing its staging
/// and quarantine files into `scratch`. `progress` is called with the number of rows read so
/// far. A file beyond a limit ends `KO` with the reason and the line where it went beyond.
pub fn check_file(
    source: &Source,
    path: &Path,
    scratch: &Path,
    limits: &ReadLimits,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<CheckedDelivery, EngineError> {
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let format = sniff_format(path)?;
    let (mut checker, staging_path, quarantine_path) = Checker::new(source, scratch)?;
    let read = match format {
        "parquet" => read_parquet(&mut checker, path, &file_name, limits, progress),
        _ => File::open(path)
            .map_err(|e| EngineError::io(path, e))
            .and_then(|f| {
                let input: Box<dyn BufRead> = if format == "csv.gz" {
                    Box::new(BufReader::with_capacity(
                        64 << 10,
                        BoundedGunzip::new(BufReader::with_capacity(64 << 10, f), *limits),
                    ))
                } else {
                    Box::new(BufReader::with_capacity(1 << 20, f))
                };
                read_csv(&mut checker, input, &file_name, limits, progress)
            }),
    };
    let unreadable = match read {
        Ok(u) => u,
        Err(e) => {
            // Nothing half-written stays behind in the scratch folder.
            drop(checker);
            let _ = std::fs::remove_file(&staging_path);
            let _ = std::fs::remove_file(&quarantine_path);
            return Err(e);
        }
    };
    let (mut report, has_quarantine) = checker.finish(&file_name, format, unreadable)?;
    if report.status == DeliveryStatus::Ko && report.unreadable.is_some() {
        report.rows_ok = 0;
    }
    let staging = (report.status != DeliveryStatus::Ko).then_some(staging_path.clone());
    if staging.is_none() {
        let _ = std::fs::remove_file(&staging_path);
    }
    let quarantine = has_quarantine.then_some(quarantine_path.clone());
    if quarantine.is_none() {
        let _ = std::fs::remove_file(&quarantine_path);
    }
    Ok(CheckedDelivery {
        report,
        staging,
        quarantine,
    })
}

/// Decodes one field in the source's encoding; an undecodable byte makes the file unreadable,
/// named at its editor line (`line` is where the field starts).
fn decode_field(
    bytes: &[u8],
    enc: Encoding,
    file: &str,
    line: u64,
    column: &str,
) -> Result<String, String> {
    match enc {
        Encoding::Utf8 => std::str::from_utf8(bytes).map(str::to_string).map_err(|e| {
            let at = e.valid_up_to();
            format!(
                "{file} : ligne {}, colonne {column} : l'octet 0x{:02X} n'est pas de l'UTF-8 valide, \
                 l'encodage déclaré (le fichier est-il en Windows-1252 ou en CP850 ?)",
                line + count_line_breaks(&bytes[..at]),
                bytes[at]
            )
        }),
        _ => decode(bytes, enc).map_err(|e| {
            format!(
                "{file} : ligne {}, colonne {column} : l'octet 0x{:02X} n'a pas de caractère en {}, \
                 l'encodage déclaré",
                line + e.line as u64 - 1,
                e.byte,
                enc.as_str()
            )
        }),
    }
}

/// Why reading stopped, in French, naming the line.
fn read_error(file: &str, e: &ReadError) -> String {
    match e {
        ReadError::LineTooLong { line, limit } => format!(
            "{file} : ligne {line} : ligne de plus de {} ; le fichier est refusé (limite \
             max_record_kib). Une fin de ligne manque-t-elle ?",
            size_fr(*limit)
        ),
        ReadError::RecordTooLong {
            start_line,
            line,
            limit,
        } => format!(
            "{file} : ligne {line} : l'enregistrement commencé à la ligne {start_line} dépasse {} ; \
             le fichier est refusé (limite max_record_kib). Un guillemet n'est-il pas refermé ?",
            size_fr(*limit)
        ),
        ReadError::Stream {
            line,
            limit: StreamLimit::Decompressed { limit },
        } => format!(
            "{file} : ligne {line} : le fichier décompressé dépasse {} ; le fichier est refusé \
             (limite max_decompressed_gib)",
            size_fr(*limit)
        ),
        ReadError::Stream {
            line,
            limit: StreamLimit::Ratio { limit },
        } => format!(
            "{file} : ligne {line} : taux de compression supérieur à {limit}:1 ; le fichier est \
             refusé comme une possible bombe de décompression (limite max_compression_ratio)"
        ),
        ReadError::Truncated { line } => format!(
            "{file} : ligne {line} : le flux compressé s'arrête avant la fin (fichier gzip tronqué ?)"
        ),
        ReadError::Io { line, error } => format!(
            "{file} : ligne {line} : illisible : {error} (fichier gzip corrompu ou tronqué ?)"
        ),
    }
}

fn too_many_rows(file: &str, line: u64, limits: &ReadLimits) -> String {
    format!(
        "{file} : ligne {line} : plus de {} lignes de données ; le fichier est refusé (limite \
         max_rows)",
        french::integer(limits.max_rows as i64)
    )
}

fn read_csv(
    checker: &mut Checker<'_>,
    input: Box<dyn BufRead>,
    file: &str,
    limits: &ReadLimits,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<String>, EngineError> {
    let source = checker.source;
    let mut records = Records::new(input, source.separator, limits.max_record_bytes);
    let expected: Vec<&str> = source.columns.iter().map(|c| c.name.as_str()).collect();
    let header_line = match records.next_record() {
        Ok(None) => return Ok(Some(format!("{file} : le fichier est vide"))),
        Err(e) => return Ok(Some(read_error(file, &e))),
        Ok(Some(line)) => line,
    };
    let mut header = Vec::new();
    for (i, f) in records.fields().enumerate() {
        let f = if i == 0 {
            f.strip_prefix(b"\xef\xbb\xbf").unwrap_or(f)
        } else {
            f
        };
        match decode_field(
            f,
            source.encoding,
            file,
            records.field_line(i),
            &format!("{}", i + 1),
        ) {
            Ok(s) => header.push(s.trim().to_string()),
            Err(e) => return Ok(Some(e)),
        }
    }
    if header != expected {
        let missing: Vec<_> = expected
            .iter()
            .filter(|c| !header.iter().any(|h| h == *c))
            .collect();
        let extra: Vec<_> = header
            .iter()
            .filter(|h| !expected.contains(&h.as_str()))
            .map(|h| shorten(h))
            .collect();
        let mut msg = format!("{file} : ligne {header_line} (en-tête)");
        if !missing.is_empty() {
            msg.push_str(&format!(
                " : colonne(s) manquante(s) {}",
                missing
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !extra.is_empty() {
            msg.push_str(&format!(
                " : colonne(s) inattendue(s) {}",
                extra
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if missing.is_empty() && extra.is_empty() {
            msg.push_str(" : les colonnes sont dans un autre ordre");
        }
        msg.push_str(&format!(
            " ; la source `{}` v{} attend, séparées par `{}` : {}",
            source.id,
            source.version,
            source.separator as char,
            expected.join(&(source.separator as char).to_string())
        ));
        return Ok(Some(msg));
    }
    let ncols = expected.len();
    let separator = (source.separator as char).to_string();
    loop {
        let line = match records.next_record() {
            Ok(None) => break,
            Ok(Some(line)) => line,
            Err(e) => return Ok(Some(read_error(file, &e))),
        };
        if checker.rows_read >= limits.max_rows {
            return Ok(Some(too_many_rows(file, line, limits)));
        }
        checker.rows_read += 1;
        let mut fields = Vec::with_capacity(ncols);
        for (i, f) in records.fields().enumerate() {
            let column = expected.get(i).copied().unwrap_or("(en trop)");
            match decode_field(f, source.encoding, file, records.field_line(i), column) {
                Ok(s) => fields.push(s),
                Err(e) => return Ok(Some(e)),
            }
        }
        // Only the start of a line is ever shown (the quarantine keeps 200 characters).
        let raw = shorten(&fields.join(&separator));
        if fields.len() != ncols {
            let reason = Reason {
                rule: "COLUMN_COUNT".into(),
                column: None,
                value: None,
                message: format!("la ligne a {} champ(s), {} attendus", fields.len(), ncols),
            };
            checker.reject(line, &[reason], Some(&raw))?;
            continue;
        }
        let mut values = Vec::with_capacity(ncols);
        let mut type_error = None;
        for (col, field) in source.columns.iter().zip(&fields) {
            match value::parse(field.trim(), col.ty, col.format.as_deref()) {
                Some(v) => values.push(v),
                None => {
                    type_error = Some(Reason {
                        rule: "TYPE".into(),
                        column: Some(col.name.clone()),
                        value: Some(field.clone()),
                        message: format!(
                            "colonne {} : « {} » n'est pas {}",
                            col.name,
                            shorten(field),
                            col.ty.expected_fr(col.format.as_deref())
                        ),
                    });
                    break;
                }
            }
        }
        if let Some(reason) = type_error {
            checker.reject(line, &[reason], Some(&raw))?;
            continue;
        }
        checker.batch_bytes += fields.iter().map(String::len).sum::<usize>();
        for (b, v) in checker.builders.iter_mut().zip(values) {
            b.push(v);
        }
        checker.lines.push(line as i64);
        checker.raws.push(raw);
        if checker.lines.len() == BATCH_ROWS || checker.batch_bytes >= BATCH_BYTES {
            checker.flush_csv_batch()?;
            progress(checker.rows_read);
        }
    }
    checker.flush_csv_batch()?;
    progress(checker.rows_read);
    Ok(None)
}

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
        let Some(strings) = array
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
        else {
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

fn read_parquet(
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
    let target = checker.schema.clone();
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
            checker.source.id,
            checker.source.version,
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
        if checker.rows_read + n as u64 > limits.max_rows {
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
        checker.rows_read += n as u64;
        checker.check_batch(batch, None)?;
        progress(checker.rows_read);
    }
    Ok(None)
}

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

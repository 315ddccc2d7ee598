//! The CSV reader, for `csv` and `csv.gz` files: records read within the limits, fields decoded
//! from the source's encoding, the header checked, each row typed — a row with the wrong number
//! of fields or an unparsable value is rejected here — and the typed rows handed to the checks
//! in batches.

use super::checker::Checker;
use super::messages::{shorten, size_fr, too_many_rows};
use super::report::Reason;
use super::{BATCH_BYTES, BATCH_ROWS};
use crate::EngineError;
use crate::reader::{BoundedGunzip, ReadError, ReadLimits, Records, StreamLimit};
use crate::source::{ColumnType, Source};
use crate::value::{self, Value};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Array, Int64Builder, RecordBatch,
    StringBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use justat_model::text_encoding::{Encoding, count_line_breaks, decode};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

/// Reads the CSV file at `path`, gzip-compressed if `gzip`, into `checker`. Returns why the
/// file is unreadable, if it is: the rows before that point are checked all the same.
pub(super) fn read(
    checker: &mut Checker<'_>,
    path: &Path,
    gzip: bool,
    file: &str,
    limits: &ReadLimits,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<String>, EngineError> {
    let f = File::open(path).map_err(|e| EngineError::io(path, e))?;
    let input: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(
            64 << 10,
            BoundedGunzip::new(BufReader::with_capacity(64 << 10, f), *limits),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, f))
    };
    read_records(checker, input, file, limits, progress)
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

/// Why a header is not the one `source` expects, naming what is missing, extra or out of order.
fn header_mismatch(file: &str, line: u64, header: &[String], source: &Source) -> String {
    let expected: Vec<&str> = source.columns.iter().map(|c| c.name.as_str()).collect();
    let missing: Vec<_> = expected
        .iter()
        .filter(|c| !header.iter().any(|h| h == *c))
        .collect();
    let extra: Vec<_> = header
        .iter()
        .filter(|h| !expected.contains(&h.as_str()))
        .map(|h| shorten(h))
        .collect();
    let mut msg = format!("{file} : ligne {line} (en-tête)");
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
    msg
}

fn read_records(
    checker: &mut Checker<'_>,
    input: Box<dyn BufRead>,
    file: &str,
    limits: &ReadLimits,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<String>, EngineError> {
    let source = checker.source();
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
        return Ok(Some(header_mismatch(file, header_line, &header, source)));
    }
    let ncols = expected.len();
    let separator = (source.separator as char).to_string();
    let mut batch = Batch::new(source, checker.schema());
    loop {
        let line = match records.next_record() {
            Ok(None) => break,
            Ok(Some(line)) => line,
            Err(e) => return Ok(Some(read_error(file, &e))),
        };
        if checker.rows_read() >= limits.max_rows {
            return Ok(Some(too_many_rows(file, line, limits)));
        }
        checker.count_read(1);
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
        let values = match typed(source, &fields) {
            Ok(values) => values,
            Err(reason) => {
                checker.reject(line, &[reason], Some(&raw))?;
                continue;
            }
        };
        batch.push(line, values, raw, fields.iter().map(String::len).sum());
        if batch.is_full() {
            batch.check(checker)?;
            progress(checker.rows_read());
        }
    }
    batch.check(checker)?;
    progress(checker.rows_read());
    Ok(None)
}

/// The fields of a row as values of their columns' types, or why the first that is not fails.
fn typed(source: &Source, fields: &[String]) -> Result<Vec<Value>, Reason> {
    let mut values = Vec::with_capacity(fields.len());
    for (col, field) in source.columns.iter().zip(fields) {
        match value::parse(field.trim(), col.ty, col.format.as_deref()) {
            Some(v) => values.push(v),
            None => {
                return Err(Reason {
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
            }
        }
    }
    Ok(values)
}

/// The typed rows read since the last batch was checked, with their lines and raw text.
struct Batch {
    schema: SchemaRef,
    builders: Vec<ColumnBuilder>,
    lines: Vec<i64>,
    raws: Vec<String>,
    /// Bytes of values held.
    bytes: usize,
}

impl Batch {
    fn new(source: &Source, schema: SchemaRef) -> Batch {
        Batch {
            schema,
            builders: source
                .columns
                .iter()
                .map(|c| ColumnBuilder::new(c.ty))
                .collect(),
            lines: Vec::new(),
            raws: Vec::new(),
            bytes: 0,
        }
    }

    fn push(&mut self, line: u64, values: Vec<Value>, raw: String, bytes: usize) {
        self.bytes += bytes;
        for (b, v) in self.builders.iter_mut().zip(values) {
            b.push(v);
        }
        self.lines.push(line as i64);
        self.raws.push(raw);
    }

    /// Whether the batch is due for its checks: enough rows, or enough bytes.
    fn is_full(&self) -> bool {
        self.lines.len() == BATCH_ROWS || self.bytes >= BATCH_BYTES
    }

    /// Hands the rows to the checks and starts a new batch.
    fn check(&mut self, checker: &mut Checker<'_>) -> Result<(), EngineError> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let mut cols: Vec<ArrayRef> =
            vec![Arc::new(Int64Array::from(std::mem::take(&mut self.lines)))];
        cols.extend(self.builders.iter_mut().map(ColumnBuilder::finish));
        let batch = RecordBatch::try_new(self.schema.clone(), cols)?;
        let raws = std::mem::take(&mut self.raws);
        self.bytes = 0;
        checker.check_batch(batch, Some(&raws))
    }
}

/// An Arrow builder of one column's type.
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

#[cfg(test)]
mod tests {
    use super::{decode_field, header_mismatch, typed};
    use crate::source::Source;
    use justat_model::text_encoding::Encoding;

    fn source() -> Source {
        Source::parse(
            r#"
id = "t"
version = 2
label = "test"
encoding = "utf-8"
separator = ";"
reject_threshold = 0.5
[[columns]]
name = "id"
type = "string"
[[columns]]
name = "n"
type = "integer"
"#,
            "test.toml",
        )
        .unwrap()
    }

    #[test]
    fn an_undecodable_byte_is_named_at_its_own_line() {
        let e = decode_field(b"ab\ncd\xff", Encoding::Utf8, "f.csv", 10, "id").unwrap_err();
        assert!(
            e.starts_with(
                "f.csv : ligne 11, colonne id : l'octet 0xFF n'est pas de l'UTF-8 valide"
            ),
            "{e}"
        );
        assert_eq!(
            decode_field(b"\xe9", Encoding::Windows1252, "f.csv", 1, "id").unwrap(),
            "é"
        );
    }

    #[test]
    fn a_wrong_header_says_what_is_missing_extra_or_out_of_order() {
        let source = source();
        let header = |h: &[&str]| h.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            header_mismatch("f.csv", 1, &header(&["id", "x"]), &source),
            "f.csv : ligne 1 (en-tête) : colonne(s) manquante(s) `n` : colonne(s) inattendue(s) \
             `x` ; la source `t` v2 attend, séparées par `;` : id;n"
        );
        assert!(
            header_mismatch("f.csv", 1, &header(&["n", "id"]), &source)
                .contains(" : les colonnes sont dans un autre ordre ;")
        );
    }

    #[test]
    fn a_value_not_of_its_column_s_type_rejects_the_row() {
        let source = source();
        assert!(typed(&source, &["a".into(), " 12 ".into()]).is_ok());
        let reason = typed(&source, &["a".into(), "douze".into()]).unwrap_err();
        assert_eq!(reason.rule, "TYPE");
        assert_eq!(reason.column.as_deref(), Some("n"));
        assert!(
            reason
                .message
                .starts_with("colonne n : « douze » n'est pas"),
            "{}",
            reason.message
        );
    }
}

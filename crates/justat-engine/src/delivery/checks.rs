//! The checks of ESS validation levels 0 and 1 on typed rows: required values, codes of the
//! codelists (and their validity at a date), the source's record rules, duplicate keys. Each
//! row gets every reason it is rejected for; reading, counting and writing are done elsewhere.

use super::messages::shorten;
use super::report::Reason;
use super::writers::staging_schema;
use crate::EngineError;
use crate::source::Source;
use datafusion::arrow::array::{
    Array, BooleanArray, Date32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::DFSchema;
use datafusion::error::DataFusionError;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// The rules checked before the source's own, in the order the report lists them.
pub(super) const BUILT_IN_RULES: [&str; 5] = [
    "COLUMN_COUNT",
    "TYPE",
    "REQUIRED",
    "CODELIST",
    "DUPLICATE_KEY",
];

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

/// A source's checks, compiled once for a delivery, and the keys its rows have shown so far.
pub(super) struct Checks<'a> {
    source: &'a Source,
    rules: Vec<CompiledRule>,
    /// Per column, the leaf codes of its codelist.
    leaves: Vec<Option<HashSet<String>>>,
    /// Per column, the validity periods of its codes, if checked at a date.
    validity: Vec<Option<Validity>>,
    required: Vec<bool>,
    /// The key's column indices among the source's columns.
    key: Vec<usize>,
    /// Hash of each key seen → the line it was first seen at.
    seen: HashMap<u64, u64>,
}

impl<'a> Checks<'a> {
    /// Compiles the checks of `source`.
    pub fn new(source: &'a Source) -> Result<Checks<'a>, EngineError> {
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
        Ok(Checks {
            source,
            rules: compile_rules(source)?,
            leaves,
            validity,
            required: source.columns.iter().map(|c| c.required).collect(),
            key: source
                .key
                .iter()
                .filter_map(|k| source.column_index(k))
                .collect(),
            seen: HashMap::new(),
        })
    }

    /// Every rule a report may list, in its order: the built-in ones, then the source's.
    pub fn rule_order(&self) -> Vec<String> {
        BUILT_IN_RULES
            .iter()
            .map(|s| s.to_string())
            .chain(self.rules.iter().map(|r| r.id.clone()))
            .collect()
    }

    /// Why each row of `batch` (in the staging schema) is rejected: none for a valid row. A
    /// row's key counts as seen only if the row is otherwise valid.
    pub fn check(&mut self, batch: &RecordBatch) -> Result<Vec<Vec<Reason>>, EngineError> {
        let n = batch.num_rows();
        let mut reasons: Vec<Vec<Reason>> = (0..n).map(|_| Vec::new()).collect();
        self.check_values(batch, &mut reasons);
        self.check_validity(batch, &mut reasons);
        self.check_rules(batch, &mut reasons)?;
        self.check_duplicates(batch, &mut reasons)?;
        Ok(reasons)
    }

    /// Required values, and codes that are not leaves of their codelist.
    fn check_values(&self, batch: &RecordBatch, reasons: &mut [Vec<Reason>]) {
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
                let strings = array.as_any().downcast_ref::<StringArray>();
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
    }

    /// Codes used at a date outside their validity period.
    fn check_validity(&self, batch: &RecordBatch, reasons: &mut [Vec<Reason>]) {
        for (ci, col) in self.source.columns.iter().enumerate() {
            let Some(v) = &self.validity[ci] else {
                continue;
            };
            let (Some(codes), Some(dates)) = (
                batch.column(ci + 1).as_any().downcast_ref::<StringArray>(),
                batch
                    .column(v.date_column + 1)
                    .as_any()
                    .downcast_ref::<Date32Array>(),
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
    }

    /// The source's record rules: a row passes a rule only where it is TRUE.
    fn check_rules(
        &self,
        batch: &RecordBatch,
        reasons: &mut [Vec<Reason>],
    ) -> Result<(), EngineError> {
        let n = batch.num_rows();
        for CompiledRule { id, message, expr } in &self.rules {
            let result = expr.evaluate(batch)?.into_array(n)?;
            let ok = result
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| internal("a record rule is not boolean (checked when compiled)"))?;
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
        Ok(())
    }

    /// A valid row whose key an earlier valid row had.
    fn check_duplicates(
        &mut self,
        batch: &RecordBatch,
        reasons: &mut [Vec<Reason>],
    ) -> Result<(), EngineError> {
        if self.key.is_empty() {
            return Ok(());
        }
        let lines = lines(batch)?;
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
        Ok(())
    }
}

/// The `_line` column of a batch in the staging schema.
pub(super) fn lines(batch: &RecordBatch) -> Result<&Int64Array, EngineError> {
    batch
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| internal("_line is not Int64"))
}

/// A broken invariant of the checks (a bug, not a fault of the file).
fn internal(what: &str) -> EngineError {
    DataFusionError::Internal(what.to_string()).into()
}

#[cfg(test)]
mod tests {
    use super::{Checks, Reason, compile_rules};
    use crate::source::Source;
    use crate::value::days_from_civil;
    use datafusion::arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    const SOURCE: &str = r#"
id = "t"
version = 1
label = "test"
encoding = "utf-8"
separator = ";"
reject_threshold = 0.5
key = ["id"]
[[columns]]
name = "id"
type = "string"
required = true
[[columns]]
name = "day"
type = "date"
format = "%Y-%m-%d"
[[columns]]
name = "orientation"
type = "string"
codelist = "CL_ORIENTATION"
valid_at = "day"
[[columns]]
name = "n"
type = "integer"
[[rules]]
id = "R_POSITIVE"
expression = "n > 0"
message = "n est positif"
"#;

    fn source() -> Source {
        Source::parse(SOURCE, "test.toml").unwrap()
    }

    /// A batch in the staging schema: (line, id, orientation, n), every row on 1 January 2024.
    fn batch(rows: &[(i64, Option<&str>, &str, Option<i64>)]) -> RecordBatch {
        let day = days_from_civil(2024, 1, 1);
        let col = |a: ArrayRef| a;
        RecordBatch::try_from_iter([
            (
                "_line",
                col(Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.0),
                ))),
            ),
            (
                "id",
                col(Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1)))),
            ),
            (
                "day",
                col(Arc::new(Date32Array::from(vec![day; rows.len()]))),
            ),
            (
                "orientation",
                col(Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.2),
                ))),
            ),
            (
                "n",
                col(Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.3)))),
            ),
        ])
        .unwrap()
    }

    fn rules(reasons: &[Vec<Reason>]) -> Vec<Vec<&str>> {
        reasons
            .iter()
            .map(|r| r.iter().map(|r| r.rule.as_str()).collect())
            .collect()
    }

    #[test]
    fn each_row_gets_every_reason_it_breaks() {
        let source = source();
        let mut checks = Checks::new(&source).unwrap();
        let reasons = checks
            .check(&batch(&[
                (1, Some("a"), "ALT_APP", Some(1)),
                (2, None, "ALT_APP", Some(1)),
                (3, Some("b"), "ALT", Some(1)),
                (4, Some("c"), "ALT_RAPPEL", Some(1)),
                (5, Some("d"), "ALT_APP", None),
                (6, None, "NOPE", Some(-1)),
            ]))
            .unwrap();
        assert_eq!(
            rules(&reasons),
            [
                vec![],
                vec!["REQUIRED"],
                vec!["CODELIST"],
                vec!["CODELIST"],
                vec!["R_POSITIVE"],
                vec!["REQUIRED", "CODELIST", "R_POSITIVE"],
            ]
        );
        assert_eq!(
            reasons[2][0].message,
            "code « ALT » absent de la nomenclature CL_ORIENTATION (code de dernier niveau attendu)"
        );
        assert_eq!(
            reasons[3][0].message,
            "code « ALT_RAPPEL » de la nomenclature CL_ORIENTATION non en vigueur le 01/01/2024 (day)"
        );
        assert_eq!(reasons[3][0].value.as_deref(), Some("ALT_RAPPEL"));
        assert_eq!(reasons[1][0].column.as_deref(), Some("id"));
    }

    #[test]
    fn a_key_seen_in_an_earlier_valid_row_is_a_duplicate_across_batches() {
        let source = source();
        let mut checks = Checks::new(&source).unwrap();
        let first = checks
            .check(&batch(&[
                (1, Some("a"), "ALT_APP", Some(1)),
                (2, Some("b"), "ALT_APP", Some(-1)),
            ]))
            .unwrap();
        assert_eq!(rules(&first), [vec![], vec!["R_POSITIVE"]]);
        let second = checks
            .check(&batch(&[
                (3, Some("a"), "ALT_APP", Some(2)),
                (4, Some("b"), "ALT_APP", Some(2)),
            ]))
            .unwrap();
        // Line 2 was rejected: its key was never seen, so line 4 is the first `b`.
        assert_eq!(rules(&second), [vec!["DUPLICATE_KEY"], vec![]]);
        assert_eq!(second[0][0].message, "doublon de la ligne 1 (clé id)");
    }

    #[test]
    fn a_rule_that_is_not_a_condition_is_refused_when_compiled() {
        let text = SOURCE.replace("n > 0", "n + 1");
        let e = compile_rules(&Source::parse(&text, "test.toml").unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("R_POSITIVE") && e.contains("not a boolean condition"),
            "{e}"
        );
    }

    #[test]
    fn the_report_lists_the_built_in_rules_then_the_source_s() {
        let source = source();
        let checks = Checks::new(&source).unwrap();
        assert_eq!(
            checks.rule_order(),
            [
                "COLUMN_COUNT",
                "TYPE",
                "REQUIRED",
                "CODELIST",
                "DUPLICATE_KEY",
                "R_POSITIVE"
            ]
        );
    }
}

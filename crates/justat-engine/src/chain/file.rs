//! The chain file: a versioned TOML list of steps, parsed and checked (shape, codelists, SQL)
//! before anything runs; the chains shipped with Justat.

use super::sql_guard;
use crate::EngineError;
use justat_model::codelist::{Codelist, shipped_codelist};
pub use justat_model::manifest::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

// A cube step's dimensions and measures are written into the cube's schema as they are
// declared: the chain file and the recorded schema share the model's types.
pub use justat_model::cube::{Aggregate, CubeDimension as Dimension, CubeMeasure as Measure};

/// One step of a chain.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Step {
    /// Keeps the rows where `where` is true.
    Filter {
        /// What the filter is for.
        name: Option<String>,
        /// SQL condition.
        #[serde(rename = "where")]
        condition: String,
    },
    /// A validation rule: rows where `expression` is not TRUE fail.
    Rule {
        /// Its identifier.
        id: String,
        /// SQL condition every row should satisfy.
        expression: String,
        /// `error` (to quarantine) or `warning` (counted).
        severity: Severity,
        /// What a failure means.
        message: String,
    },
    /// Adds (or replaces) a column computed by an SQL expression.
    Derive {
        /// The new column.
        column: String,
        /// SQL expression.
        expression: String,
    },
    /// Maps a column's codes through a codelist level or an explicit mapping; rows whose code
    /// has no image go to quarantine.
    Recode {
        /// The column read.
        column: String,
        /// The column written.
        into: String,
        /// A codelist whose ancestor at `level` is the image…
        codelist: Option<String>,
        /// …at this depth (0 = the root).
        level: Option<usize>,
        /// …or an explicit table.
        mapping: Option<BTreeMap<String, String>>,
    },
    /// Builds the statistical unit: one row per `key`, other columns aggregated.
    Unit {
        /// What the unit is.
        name: Option<String>,
        /// The columns identifying a unit.
        key: Vec<String>,
        /// Column name → SQL aggregate expression.
        #[serde(default)]
        columns: BTreeMap<String, String>,
    },
    /// A reviewed SQL query over the table `input`, for what the other steps cannot say.
    Sql {
        /// What it does.
        name: Option<String>,
        /// Who reviewed it (required: this is an escape hatch).
        reviewed_by: String,
        /// The query.
        query: String,
    },
    /// The cube: counts or sums by period and dimensions, at every level of each hierarchy.
    Cube {
        /// The cube's name.
        name: String,
        /// The column holding the time period.
        period: String,
        /// The dimensions.
        dimensions: Vec<Dimension>,
        /// The measures.
        measures: Vec<Measure>,
        /// The statistical unit counted, in French.
        unit: String,
        /// The source line printed under every table (`Source : …`).
        source_line: String,
    },
}

impl Step {
    /// The step's kind, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Filter { .. } => "filter",
            Step::Rule { .. } => "rule",
            Step::Derive { .. } => "derive",
            Step::Recode { .. } => "recode",
            Step::Unit { .. } => "unit",
            Step::Sql { .. } => "sql",
            Step::Cube { .. } => "cube",
        }
    }

    /// Its name, id or column, for messages and the manifest.
    pub fn label(&self) -> Option<String> {
        match self {
            Step::Filter { name, .. } | Step::Unit { name, .. } | Step::Sql { name, .. } => {
                name.clone()
            }
            Step::Rule { id, .. } => Some(id.clone()),
            Step::Derive { column, .. } => Some(column.clone()),
            Step::Recode { into, .. } => Some(into.clone()),
            Step::Cube { name, .. } => Some(name.clone()),
        }
    }

    /// Whether the step reads every row at once (unit, sql, cube): the per-row steps before it
    /// are then counted, quarantined and their rows dropped first.
    pub(crate) fn is_barrier(&self) -> bool {
        matches!(
            self,
            Step::Unit { .. } | Step::Sql { .. } | Step::Cube { .. }
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainFile {
    id: String,
    version: i64,
    label: String,
    source: String,
    steps: Vec<Step>,
}

/// A processing chain.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Its id.
    pub id: String,
    /// Its version: a change to the file must come with a new version.
    pub version: i64,
    /// What it produces, in French.
    pub label: String,
    /// The source whose deliveries it reads.
    pub source: String,
    /// The steps, in order; the last one is the cube.
    pub steps: Vec<Step>,
    /// SHA-256 of the file.
    pub sha256: justat_model::Sha256Hex,
    pub(super) codelists: BTreeMap<String, Codelist>,
}

/// The chains shipped with Justat.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "penal_orientations",
        include_str!("../../../../chains/penal_orientations.toml"),
    ),
    (
        "cjn_convictions",
        include_str!("../../../../chains/cjn_convictions.toml"),
    ),
    (
        "prison_stock",
        include_str!("../../../../chains/prison_stock.toml"),
    ),
    (
        "cjpm_delays",
        include_str!("../../../../chains/cjpm_delays.toml"),
    ),
    (
        "protection_orders",
        include_str!("../../../../chains/protection_orders.toml"),
    ),
    (
        "protection_devices",
        include_str!("../../../../chains/protection_devices.toml"),
    ),
    (
        "bav_victims",
        include_str!("../../../../chains/bav_victims.toml"),
    ),
];

impl Chain {
    /// Parses and checks a chain file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Chain, EngineError> {
        let bad = |message: String| EngineError::ChainFile {
            file: origin.to_string(),
            message,
        };
        let file: ChainFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut codelists = BTreeMap::new();
        let cubes = file
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Cube { .. }))
            .count();
        if cubes != 1 || !matches!(file.steps.last(), Some(Step::Cube { .. })) {
            return Err(bad("a chain ends with exactly one `cube` step".into()));
        }
        for (i, step) in file.steps.iter().enumerate() {
            let at = |m: String| bad(format!("step {} ({}): {m}", i + 1, step.kind()));
            let mut need = |id: &str| -> Result<(), EngineError> {
                let cl =
                    shipped_codelist(id).ok_or_else(|| at(format!("unknown codelist `{id}`")))?;
                codelists.insert(id.to_string(), cl);
                Ok(())
            };
            match step {
                Step::Recode {
                    codelist,
                    level,
                    mapping,
                    ..
                } => match (codelist, level, mapping) {
                    (Some(id), Some(_), None) => need(id)?,
                    (None, None, Some(m)) if !m.is_empty() => {}
                    _ => {
                        return Err(at(
                            "give either `codelist` and `level`, or a non-empty `mapping`".into(),
                        ));
                    }
                },
                Step::Unit { key, .. } if key.is_empty() => {
                    return Err(at("`key` lists at least one column".into()));
                }
                Step::Sql { reviewed_by, .. } if reviewed_by.trim().is_empty() => {
                    return Err(at("`reviewed_by` names who reviewed this query".into()));
                }
                Step::Cube {
                    dimensions,
                    measures,
                    ..
                } => {
                    for d in dimensions {
                        need(&d.codelist)?;
                    }
                    for m in measures {
                        if m.aggregate == Aggregate::Sum && m.column.is_none() {
                            return Err(at(format!("measure `{}` sums a `column`", m.name)));
                        }
                    }
                    if measures.is_empty() {
                        return Err(at("a cube has at least one measure".into()));
                    }
                }
                _ => {}
            }
        }
        check_sql(text, origin, &file.steps)?;
        Ok(Chain {
            id: file.id,
            version: file.version,
            label: file.label,
            source: file.source,
            steps: file.steps,
            sha256: justat_model::Sha256Hex::of(text.as_bytes()),
            codelists,
        })
    }

    /// A shipped chain by id, or a chain file by path.
    pub fn load(name_or_path: &str) -> Result<Chain, EngineError> {
        if let Some((_, text)) = SHIPPED.iter().find(|(id, _)| *id == name_or_path) {
            return Chain::parse(text, &format!("chains/{name_or_path}.toml"));
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
            return Chain::parse(&text, name_or_path);
        }
        Err(EngineError::ChainFile {
            file: name_or_path.to_string(),
            message: format!(
                "no such chain; use one of {} or the path of a chain .toml file",
                SHIPPED
                    .iter()
                    .map(|(id, _)| *id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

/// Where each SQL text of a chain file's steps starts, read again with their spans.
#[derive(Deserialize)]
struct SqlSpans {
    #[serde(default)]
    steps: Vec<StepSqlSpans>,
}

#[derive(Deserialize)]
struct StepSqlSpans {
    #[serde(rename = "where")]
    condition: Option<toml::Spanned<String>>,
    expression: Option<toml::Spanned<String>>,
    query: Option<toml::Spanned<String>>,
    #[serde(default)]
    columns: BTreeMap<String, toml::Spanned<String>>,
}

/// Refuses a chain whose SQL is not, for a `sql` step, one read-only query, and for every other
/// field, one expression ([`super::sql_guard`]): an error at the file and line of the text.
fn check_sql(text: &str, origin: &str, steps: &[Step]) -> Result<(), EngineError> {
    let spans: SqlSpans = toml::from_str(text).map_err(|e| EngineError::ChainFile {
        file: origin.to_string(),
        message: e.to_string(),
    })?;
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map_or(0, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        })
    };
    for (i, step) in steps.iter().enumerate() {
        let at = spans.steps.get(i);
        let refuse =
            |span: Option<std::ops::Range<usize>>, message: String| EngineError::ChainSql {
                file: origin.to_string(),
                line: line_of(span),
                step: i + 1,
                kind: step.kind(),
                message,
            };
        let span = |s: Option<&toml::Spanned<String>>| s.map(|s| s.span());
        match step {
            Step::Sql { query, .. } => sql_guard::check_query(query)
                .map_err(|m| refuse(span(at.and_then(|a| a.query.as_ref())), m))?,
            Step::Filter { condition, .. } => sql_guard::check_expression(condition)
                .map_err(|m| refuse(span(at.and_then(|a| a.condition.as_ref())), m))?,
            Step::Rule { expression, .. } | Step::Derive { expression, .. } => {
                sql_guard::check_expression(expression)
                    .map_err(|m| refuse(span(at.and_then(|a| a.expression.as_ref())), m))?
            }
            Step::Unit { columns, .. } => {
                for (name, aggregate) in columns {
                    sql_guard::check_expression(aggregate).map_err(|m| {
                        refuse(
                            span(at.and_then(|a| a.columns.get(name))),
                            format!("colonne `{name}` : {m}"),
                        )
                    })?;
                }
            }
            Step::Recode { .. } | Step::Cube { .. } => {}
        }
    }
    Ok(())
}

impl Chain {
    /// The codelists the chain uses, with their sizes (for the manifest).
    pub fn codelist_sizes(&self) -> Vec<(String, usize)> {
        self.codelists
            .iter()
            .map(|(id, cl)| (id.clone(), cl.len()))
            .collect()
    }
}

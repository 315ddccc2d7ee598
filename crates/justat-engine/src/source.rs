//! Sources: the declared schema of a management application's extract (columns, types,
//! codelists, encoding, separator, key, record rules), read from a versioned TOML file.

use crate::EngineError;
use justat_model::codelist::{Codelist, shipped_codelist};
use justat_model::text_encoding::Encoding;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// A number with decimals (`.` or `,` as decimal separator).
    Decimal,
    /// A calendar date, in the column's `format`.
    Date,
    /// `1`/`0`, `true`/`false`, `O`/`N`, `oui`/`non`.
    Boolean,
}

impl ColumnType {
    /// What a value of this type looks like, in French, for rejection messages.
    pub fn expected_fr(self, format: Option<&str>) -> String {
        match self {
            ColumnType::String => "un texte".into(),
            ColumnType::Integer => "un nombre entier".into(),
            ColumnType::Decimal => "un nombre décimal".into(),
            ColumnType::Date => format!("une date au format {}", format.unwrap_or("%Y-%m-%d")),
            ColumnType::Boolean => "1/0, true/false, O/N ou oui/non".into(),
        }
    }
}

/// One declared column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Its name, as in the header.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Whether an empty value is an error.
    #[serde(default)]
    pub required: bool,
    /// For dates: the `strptime` format.
    pub format: Option<String>,
    /// The codelist its values must be leaf codes of.
    pub codelist: Option<String>,
    /// A date column: the code must be valid (in force) on that row's date.
    pub valid_at: Option<String>,
}

/// A record rule: a boolean SQL expression every row must satisfy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRule {
    /// Its identifier, reported with each rejection.
    pub id: String,
    /// The SQL expression over the columns; a row passes when it is TRUE (FALSE or NULL fail).
    pub expression: String,
    /// What a failure means, in French.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    id: String,
    version: i64,
    label: String,
    encoding: String,
    separator: String,
    reject_threshold: f64,
    #[serde(default)]
    key: Vec<String>,
    columns: Vec<Column>,
    #[serde(default)]
    rules: Vec<SourceRule>,
}

/// A management application's extract schema.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its id (`penal`).
    pub id: String,
    /// Its version: a delivery is checked against one version.
    pub version: i64,
    /// Its name in French.
    pub label: String,
    /// The encoding of its CSV extracts.
    pub encoding: Encoding,
    /// The field separator of its CSV extracts.
    pub separator: u8,
    /// Share of rejected rows above which a delivery is KO.
    pub reject_threshold: f64,
    /// Columns whose values identify a row; repeated keys are duplicates.
    pub key: Vec<String>,
    /// The columns, in header order.
    pub columns: Vec<Column>,
    /// Record rules.
    pub rules: Vec<SourceRule>,
    /// The codelists its columns use, by id.
    pub codelists: BTreeMap<String, Codelist>,
    /// SHA-256 of the source file.
    pub sha256: justat_model::Sha256Hex,
}

/// The sources shipped with Justat.
pub const SHIPPED: &[(&str, &str)] = &[
    ("penal", include_str!("../../../sources/penal.toml")),
    ("cjn", include_str!("../../../sources/cjn.toml")),
    ("prison", include_str!("../../../sources/prison.toml")),
    ("cjpm", include_str!("../../../sources/cjpm.toml")),
    (
        "protection_orders",
        include_str!("../../../sources/protection_orders.toml"),
    ),
    (
        "protection_devices",
        include_str!("../../../sources/protection_devices.toml"),
    ),
    (
        "survey_bav",
        include_str!("../../../sources/survey_bav.toml"),
    ),
];

impl Source {
    /// Parses a source file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Source, EngineError> {
        let file: SourceFile = toml::from_str(text).map_err(|e| EngineError::SourceFile {
            file: origin.to_string(),
            message: e.to_string(),
        })?;
        let bad = |message: String| EngineError::SourceFile {
            file: origin.to_string(),
            message,
        };
        let encoding: Encoding = file.encoding.parse().map_err(|_| {
            bad(format!(
                "unknown encoding `{}`; expected utf-8, windows-1252 or cp850",
                file.encoding
            ))
        })?;
        let separator = match file.separator.as_bytes() {
            [b] if *b == b';' || *b == b',' || *b == b'\t' || *b == b'|' => *b,
            _ => {
                return Err(bad(format!(
                    "separator `{}` must be one of `;` `,` `|` or a tab",
                    file.separator
                )));
            }
        };
        if !(0.0..=1.0).contains(&file.reject_threshold) {
            return Err(bad(format!(
                "reject_threshold {} must be between 0 and 1",
                file.reject_threshold
            )));
        }
        let mut codelists = BTreeMap::new();
        let mut names = std::collections::BTreeSet::new();
        for c in &file.columns {
            if !names.insert(c.name.as_str()) {
                return Err(bad(format!("column `{}` is declared twice", c.name)));
            }
            if c.ty == ColumnType::Date && c.format.is_none() {
                return Err(bad(format!(
                    "date column `{}` needs a `format` (e.g. \"%d/%m/%Y\")",
                    c.name
                )));
            }
            if let Some(id) = &c.codelist {
                let cl = shipped_codelist(id).ok_or_else(|| {
                    bad(format!("column `{}` uses unknown codelist `{id}`", c.name))
                })?;
                codelists.insert(id.clone(), cl);
            }
        }
        for c in &file.columns {
            if let Some(at) = &c.valid_at {
                let ok = file
                    .columns
                    .iter()
                    .any(|d| &d.name == at && d.ty == ColumnType::Date);
                if c.codelist.is_none() || !ok {
                    return Err(bad(format!(
                        "column `{}`: valid_at `{at}` must name a date column, for a codelist column",
                        c.name
                    )));
                }
            }
        }
        for k in &file.key {
            if !names.contains(k.as_str()) {
                return Err(bad(format!("key column `{k}` is not a declared column")));
            }
        }
        Ok(Source {
            id: file.id,
            version: file.version,
            label: file.label,
            encoding,
            separator,
            reject_threshold: file.reject_threshold,
            key: file.key,
            columns: file.columns,
            rules: file.rules,
            codelists,
            sha256: justat_model::Sha256Hex::of(text.as_bytes()),
        })
    }

    /// A shipped source by id, or a source file by path.
    pub fn load(name_or_path: &str) -> Result<Source, EngineError> {
        if let Some((_, text)) = SHIPPED.iter().find(|(id, _)| *id == name_or_path) {
            return Source::parse(text, &format!("sources/{name_or_path}.toml"));
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some_and(|e| e == "toml") && path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| EngineError::Io {
                path: name_or_path.to_string(),
                source: e,
            })?;
            return Source::parse(&text, name_or_path);
        }
        Err(EngineError::UnknownSource {
            name: name_or_path.to_string(),
            known: SHIPPED
                .iter()
                .map(|(id, _)| *id)
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The position of a column.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_sources_parse() {
        for (id, _) in SHIPPED {
            let s = Source::load(id).unwrap();
            assert_eq!(&s.id, id);
            assert!(!s.columns.is_empty() && !s.rules.is_empty());
        }
    }

    #[test]
    fn source_file_mistakes_are_named() {
        let base =
            "id='x'\nversion=1\nlabel='x'\nencoding='utf-8'\nseparator=';'\nreject_threshold=0.1\n";
        let unknown_type = format!("{base}[[columns]]\nname='a'\ntype='money'\n");
        let e = Source::parse(&unknown_type, "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml") && e.contains("money"), "{e}");
        let no_format = format!("{base}[[columns]]\nname='d'\ntype='date'\n");
        assert!(
            Source::parse(&no_format, "x.toml")
                .unwrap_err()
                .to_string()
                .contains("needs a `format`")
        );
        let bad_codelist =
            format!("{base}[[columns]]\nname='c'\ntype='string'\ncodelist='CL_NOPE'\n");
        assert!(
            Source::parse(&bad_codelist, "x.toml")
                .unwrap_err()
                .to_string()
                .contains("CL_NOPE")
        );
        assert!(matches!(
            Source::load("nope"),
            Err(EngineError::UnknownSource { .. })
        ));
    }
}

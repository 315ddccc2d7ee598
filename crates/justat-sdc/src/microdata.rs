//! Reading microdata (one record per contributor) from CSV for tabulation.

use crate::hierarchy::{Hierarchy, HierarchyError};
use std::collections::{BTreeSet, HashMap};

/// Why microdata cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum MicrodataError {
    /// A column named on the command line is not in the file.
    #[error("{file}: no column `{column}`; the columns are: {found}")]
    MissingColumn {
        /// The file.
        file: String,
        /// The column.
        column: String,
        /// The header.
        found: String,
    },
    /// A response value is not a number, or negative.
    #[error("{file}, line {line}: {column} = `{value}` is not a non-negative number")]
    BadValue {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The response column.
        column: String,
        /// The value.
        value: String,
    },
    /// CSV syntax.
    #[error("{file}: {source}")]
    Csv {
        /// The file.
        file: String,
        /// The error.
        source: csv::Error,
    },
}

/// Records as (one code per dimension, value), and the distinct codes met per dimension.
pub type Records = (Vec<(Vec<String>, f64)>, Vec<BTreeSet<String>>);

/// Reads the `dims` columns (and the `response` column, else each record counts 1).
pub fn read(
    file: &str,
    reader: impl std::io::Read,
    dims: &[String],
    response: Option<&str>,
) -> Result<Records, MicrodataError> {
    let csv_err = |source| MicrodataError::Csv {
        file: file.to_string(),
        source,
    };
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header: Vec<String> = r
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_string)
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| MicrodataError::MissingColumn {
                file: file.to_string(),
                column: name.to_string(),
                found: header.join(", "),
            })
    };
    let dim_cols = dims.iter().map(|d| col(d)).collect::<Result<Vec<_>, _>>()?;
    let response_col = response.map(col).transpose()?;
    let mut records = Vec::new();
    let mut distinct = vec![BTreeSet::new(); dims.len()];
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(csv_err)?;
        let codes: Vec<String> = dim_cols
            .iter()
            .map(|&c| rec.get(c).unwrap_or("").to_string())
            .collect();
        for (d, code) in codes.iter().enumerate() {
            if !distinct[d].contains(code) {
                distinct[d].insert(code.clone());
            }
        }
        let value = match response_col {
            Some(c) => {
                let raw = rec.get(c).unwrap_or("");
                match raw.replace(',', ".").parse::<f64>() {
                    Ok(v) if v >= 0.0 && v.is_finite() => v,
                    _ => {
                        return Err(MicrodataError::BadValue {
                            file: file.to_string(),
                            line: i + 2,
                            column: response.unwrap_or_default().to_string(),
                            value: raw.to_string(),
                        });
                    }
                }
            }
            None => 1.0,
        };
        records.push((codes, value));
    }
    Ok((records, distinct))
}

/// The dimensions `names` with their hierarchies: the one given, else a flat one of the codes
/// met in the data (`distinct`, per dimension) under a total `_T`.
pub fn dimensions(
    names: &[String],
    mut given: HashMap<String, Hierarchy>,
    distinct: &[BTreeSet<String>],
) -> Result<Vec<(String, Hierarchy)>, HierarchyError> {
    let mut out = Vec::with_capacity(names.len());
    for (d, name) in names.iter().enumerate() {
        let h = match given.remove(name) {
            Some(h) => h,
            None => Hierarchy::flat(
                name,
                &distinct[d]
                    .iter()
                    .filter(|c| *c != "_T")
                    .cloned()
                    .collect::<Vec<_>>(),
            )?,
        };
        out.push((name.clone(), h));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_values_are_checked() {
        let text = "court,sex,fine\nTJ1,F,100\nTJ2,M,\"12,5\"\n";
        let (recs, distinct) =
            read("m.csv", text.as_bytes(), &["court".into()], Some("fine")).unwrap();
        assert_eq!(recs[1], (vec!["TJ2".to_string()], 12.5));
        assert_eq!(distinct[0].len(), 2);
        let e = read("m.csv", text.as_bytes(), &["tribunal".into()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column `tribunal`"), "{e}");
        let e = read(
            "m.csv",
            "court,fine\nTJ1,-3\n".as_bytes(),
            &["court".into()],
            Some("fine"),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "m.csv, line 2: fine = `-3` is not a non-negative number");
    }
}

//! Where a publication version's figures come from (`publication_versions.provenance`): for
//! each table, its definition, cube, chain, run, deliveries and suppression patterns; and
//! every value its text cites. The back office's traceability page and the public "Sources et
//! méthodes" read it.
//!
//! The fields are declared in the order of their names: the stored JSON was written as
//! `serde_json` maps, whose keys are sorted, and a version's provenance must stay
//! byte-identical.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A version's provenance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Provenance {
    /// The values the text cites: (text, table, cells as `row/column`).
    #[serde(default)]
    pub citations: Vec<(String, String, Vec<String>)>,
    /// Each table, by its name in the publication.
    #[serde(default)]
    pub tables: BTreeMap<String, TableProvenance>,
}

/// Where one table of a publication comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TableProvenance {
    /// Its *Champ* line.
    #[serde(default)]
    pub champ: String,
    /// How the publication defines it (none for a table without a definition).
    #[serde(default)]
    pub definition: Option<TableDefinition>,
    /// The cube, chain, run, deliveries and patterns its cells come from.
    #[serde(default)]
    pub provenance: TableOrigin,
    /// Its *Source* line.
    #[serde(default)]
    pub source: String,
    /// Its title.
    #[serde(default)]
    pub title: String,
}

/// A table's definition in the publication's `tables.toml`, as far as its origin goes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableDefinition {
    /// The column dimension, if any.
    pub columns: Option<String>,
    /// The cube's name.
    pub cube: String,
    /// The dimensions held at one code.
    pub filters: BTreeMap<String, String>,
    /// The measure.
    pub measure: String,
    /// The periods it reads.
    pub periods: Vec<String>,
    /// The row dimension.
    pub rows: String,
}

/// Where a table's figures come from: the cube, the chain and run that built it, the run's
/// input deliveries, and the suppression pattern applied to each period.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableOrigin {
    /// The chain that built the cube, and its version (`chain vN`).
    #[serde(default)]
    pub chain: String,
    /// The cube (SHA-256 of its file).
    #[serde(default)]
    pub cube: String,
    /// The input deliveries: number, file name, SHA-256.
    #[serde(default)]
    pub deliveries: Vec<(i64, String, String)>,
    /// The suppression pattern applied, per period: (period, pattern number; 0 for a
    /// preview, which records none).
    #[serde(default)]
    pub patterns: Vec<(String, i64)>,
    /// The run that built the cube.
    #[serde(default)]
    pub run: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As a build recorded it (`serde_json::json!`, keys sorted).
    const STORED: &str = r#"{"citations":[["12 345","t1",["_T/2024"]]],"tables":{"t1":{"champ":"France","definition":{"columns":"TIME_PERIOD","cube":"convictions","filters":{"age_band":"_T","sex":"_T"},"measure":"condamnations","periods":["2023","2024"],"rows":"offence_group"},"provenance":{"chain":"cjn_convictions v1","cube":"ab12","deliveries":[[3,"cjn-2024.csv","cd34"]],"patterns":[["2023",1],["2024",2]],"run":4},"source":"Source : SSER","title":"Condamnations"},"t2":{"champ":"","definition":null,"provenance":{"chain":"","cube":"","deliveries":[],"patterns":[],"run":0},"source":"","title":""}}}"#;

    #[test]
    fn a_provenance_serializes_to_the_bytes_stored() {
        let p: Provenance = serde_json::from_str(STORED).unwrap();
        assert_eq!(p.tables["t1"].provenance.run, 4);
        assert_eq!(serde_json::to_string(&p).unwrap(), STORED);
    }

    #[test]
    fn an_older_provenance_without_citations_still_reads() {
        let p: Provenance = serde_json::from_str(r#"{"tables":{}}"#).unwrap();
        assert!(p.citations.is_empty() && p.tables.is_empty());
    }
}

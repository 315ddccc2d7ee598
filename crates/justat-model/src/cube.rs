//! What a cube holds, as recorded beside it (`cubes.schema`) and in its Parquet file's
//! metadata: its dimensions and their codelists, its measures, its period column, its unit and
//! source line.
//!
//! The fields are declared in the order of their names: the stored JSON was written as a
//! `serde_json` map, whose keys are sorted, and a cube's recorded schema must stay
//! byte-identical.

use serde::{Deserialize, Serialize};

/// A cube's schema.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CubeSchema {
    /// The chain that built it.
    #[serde(default)]
    pub chain: String,
    /// That chain's version.
    #[serde(default)]
    pub chain_version: i64,
    /// Its dimensions, in the order of its columns.
    #[serde(default)]
    pub dimensions: Vec<CubeDimension>,
    /// Its measures.
    #[serde(default)]
    pub measures: Vec<CubeMeasure>,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// The column holding the period (`TIME_PERIOD`).
    #[serde(default)]
    pub period: String,
    /// The line printed under every table read from it (`Source : …`); the engine always
    /// writes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
    /// The statistical unit counted, in French.
    #[serde(default)]
    pub unit: String,
}

/// A dimension of a cube: its column and the codelist of its codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CubeDimension {
    /// The codelist (`CL_…`).
    pub codelist: String,
    /// The column.
    pub column: String,
}

/// A measure of a cube.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CubeMeasure {
    /// How it is computed.
    pub aggregate: Aggregate,
    /// The column summed (for `sum`).
    pub column: Option<String>,
    /// Its name in the cube.
    pub name: String,
}

/// An aggregate of a cube measure (only those that add up across hierarchy levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// Number of rows (units).
    Count,
    /// Sum of a column (decimals summed exactly, to the cent).
    Sum,
}

impl CubeSchema {
    /// The codelist of a dimension, if the cube has it.
    pub fn codelist_of(&self, column: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|d| d.column == column)
            .map(|d| d.codelist.as_str())
    }

    /// The dimensions' columns, in order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.dimensions.iter().map(|d| d.column.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the engine records it (`serde_json::json!`, keys sorted).
    const STORED: &str = r#"{"chain":"cjn_convictions","chain_version":1,"dimensions":[{"codelist":"CL_OFFENCE","column":"offence_group"},{"codelist":"CL_SEX","column":"sex"}],"measures":[{"aggregate":"count","column":null,"name":"condamnations"},{"aggregate":"sum","column":"amount","name":"montant"}],"name":"convictions","period":"TIME_PERIOD","source_line":"Source : ministère de la Justice/SSER, casier judiciaire national","unit":"condamnations"}"#;

    #[test]
    fn a_schema_serializes_to_the_bytes_stored() {
        let schema: CubeSchema = serde_json::from_str(STORED).unwrap();
        assert_eq!(schema.codelist_of("sex"), Some("CL_SEX"));
        assert_eq!(
            schema.columns().collect::<Vec<_>>(),
            ["offence_group", "sex"]
        );
        assert_eq!(serde_json::to_string(&schema).unwrap(), STORED);
    }
}

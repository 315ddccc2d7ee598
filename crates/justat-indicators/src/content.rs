//! What a dashboard shows of one indicator and granularity, as the job worker stores it and
//! the web reads it: the protected values by area and period, and the charts.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One indicator's protected table for one granularity (stored as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardContent {
    /// The periods, in order (the table's columns).
    pub periods: Vec<String>,
    /// One row per area.
    pub rows: Vec<AreaRow>,
    /// Charts (SVG) by key: the area's code for the whole series; `code|n` for its first `n`
    /// periods only (official series, whose later periods may not be released yet).
    pub charts: BTreeMap<String, String>,
    /// The cube's *Source* line.
    pub source: String,
}

/// One area's row of values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaRow {
    /// Its code (`_T` for France).
    pub code: String,
    /// Its label.
    pub label: String,
    /// Its level (0 France, 1 court of appeal, 2 court).
    pub depth: usize,
    /// One value per period: `None` when it has none or is withheld.
    pub values: Vec<Option<f64>>,
    /// Whether each value is withheld by the secret statistique.
    pub secret: Vec<bool>,
}

impl DashboardContent {
    /// The row of an area.
    pub fn row(&self, code: &str) -> Option<&AreaRow> {
        self.rows.iter().find(|r| r.code == code)
    }
}

//! A cube's cells for one period and measure as a secret statistique table, and the pattern
//! recorded once the table is protected.

use crate::PublishError;
use justat_model::Sha256Hex;
use justat_model::codelist::shipped_codelist;
use justat_sdc::table::TableShape;
use justat_sdc::{Hierarchy, PrimaryRules, Status, Table};
use justat_store::{Actor, Lake, LakeKind, NewPattern, Store};
use std::collections::BTreeSet;

/// A cube's table for one period and measure, ready to protect.
#[derive(Debug)]
pub struct CubeTable {
    /// The table: every cell of the dimensions' product, its primaries set, restricted to
    /// the linked tables asked, the earlier pattern carried over.
    pub table: Table,
    /// The pattern to record once the table is protected (its cells and summary empty:
    /// [`record_pattern`] fills them).
    pub pattern: NewPattern,
    /// Which earlier pattern it starts from, said for the user: the caller decides where (a
    /// command prints it; the job runner, whose standard output may be closed, logs it).
    pub reused: Option<String>,
}

/// The table of a cube's period and measure for `dims` (restricted to the linked tables
/// `shapes`, all of it when there are none), its primaries set by `rules`, and the latest
/// pattern of the same cube, period and measure carried over, so that what was published
/// stays published.
#[allow(clippy::too_many_arguments)]
pub async fn cube_table(
    store: &Store,
    lake: &Lake,
    cube: &Sha256Hex,
    period: &str,
    measure: &str,
    dims: &[String],
    shapes: &[TableShape],
    rules: &PrimaryRules,
) -> Result<CubeTable, PublishError> {
    let c = store.cube(cube).await?;
    let path = lake.path(LakeKind::Cube, &c.id, "parquet");
    let cells = justat_engine::cube::read_cells(&path, dims, period, measure)?;
    let mut table_dims = Vec::new();
    for name in dims {
        let codelist = c
            .schema
            .codelist_of(name)
            .ok_or_else(|| PublishError::NoDimension(name.clone()))?;
        let cl = shipped_codelist(codelist)
            .ok_or_else(|| PublishError::UnknownCodelist(codelist.to_string()))?;
        let d = table_dims.len();
        let used: BTreeSet<String> = cells.iter().map(|(codes, _)| codes[d].clone()).collect();
        table_dims.push((name.clone(), Hierarchy::from_codelist_used(&cl, &used)?));
    }
    let mut table = Table::from_aggregates(table_dims, cells, rules)?;
    if !shapes.is_empty() {
        table.restrict_to(shapes)?;
    }
    let mut reused = None;
    if let Some(earlier) = store.latest_pattern(&c.id, period, measure).await? {
        if earlier.dims != dims {
            return Err(PublishError::PatternDimensions {
                id: earlier.id,
                dims: earlier.dims.join(","),
            });
        }
        let cells = earlier
            .cells
            .iter()
            .map(|(codes, letter)| {
                let status =
                    Status::from_letter(letter).ok_or_else(|| PublishError::PatternStatus {
                        id: earlier.id,
                        letter: letter.clone(),
                    })?;
                Ok((codes.clone(), status))
            })
            .collect::<Result<Vec<_>, PublishError>>()?;
        table.reuse(&cells)?;
        reused = Some(format!(
            "starting from pattern #{} of this cube and period ({})",
            earlier.id, earlier.summary
        ));
    }
    Ok(CubeTable {
        table,
        pattern: NewPattern {
            cube_id: c.id.clone(),
            period: period.to_string(),
            measure: measure.to_string(),
            dims: dims.to_vec(),
            cells: Vec::new(),
            summary: String::new(),
        },
        reused,
    })
}

/// Records a protected cube table's pattern (its cells' statuses and summary); returns its
/// number. The next protection of the same cube, period and measure starts from it.
pub async fn record_pattern(
    store: &Store,
    table: &Table,
    mut pattern: NewPattern,
) -> Result<i64, PublishError> {
    pattern.cells = table
        .pattern_cells()
        .into_iter()
        .map(|(codes, s)| (codes, s.letter().to_string()))
        .collect();
    pattern.summary = pattern_summary(table);
    let recorded = store
        .record_pattern(&pattern, &Actor::cli(), jiff::Timestamp::now())
        .await?;
    Ok(recorded.id)
}

/// A pattern's counts per status, for people (and recorded with it).
pub fn pattern_summary(table: &Table) -> String {
    let n = |s: Status| table.cells.iter().filter(|c| c.status == s).count();
    let secondary_value: f64 = table
        .cells
        .iter()
        .filter(|c| c.status == Status::Secondary)
        .map(|c| c.value)
        .sum::<f64>()
        // An empty sum is -0 in IEEE arithmetic: printed as 0.
        + 0.0;
    format!(
        "{} cells: {} primary by frequency (A), {} by dominance (B), {} secondary (D, value {}), {} empty (Z)",
        table.cells.len() - n(Status::NotPublished),
        n(Status::PrimaryFrequency),
        n(Status::PrimaryDominance),
        n(Status::Secondary),
        secondary_value,
        n(Status::Empty)
    )
}

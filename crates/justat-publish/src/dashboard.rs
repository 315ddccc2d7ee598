//! The steering dashboards' tables, computed off the web server (by the job worker after a
//! chain run, or the demo) from the latest cube of each indicator's chain, and stored whole.
//!
//! For each indicator and granularity: its series for every area the indicator offers
//! (France, courts of appeal, courts), then the secret statistique — the indicator's `count`
//! of each period as a table along the courts' hierarchy, with the same primary rules as the
//! publications, protected and certified by the audit — and only then a `DataTable` (rows:
//! areas; columns: periods), whose suppressed cells show `s`. Its CSV and XLSX are made by
//! `justat_render::files`, and a chart per area by `justat_render::chart`; for an official
//! series, one chart per number of leading periods, so that the web shows the one that stops
//! before the first period not yet released, and never draws a value ahead of its release.

use crate::PublishError;
use jiff::Timestamp;
use justat_indicators::{
    AreaLevel, AreaRow, Catalog, DashboardContent, Granularity, Indicator, MonthCell, Nature,
};
use justat_model::codelist::shipped_codelist;
use justat_render::body::ChartKind;
use justat_render::files::FileMeta;
use justat_render::{DataCell, DataTable, Heading, Provenance, TableParts};
use justat_sdc::audit::{CertifyError, certify};
use justat_sdc::table::TableShape;
use justat_sdc::{Hierarchy, PrimaryRules, Table};
use justat_store::{Actor, Cube, DashboardTable, Lake, LakeKind, Store};
use std::collections::{BTreeMap, BTreeSet};

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    /// The indicators and granularities computed anew.
    pub computed: Vec<String>,
    /// Indicators whose cube has not been produced yet.
    pub without_cube: Vec<String>,
}

/// The catalog of the cubes the shipped chains produce, as the engine parses them.
pub fn shipped_catalog() -> Result<Catalog, PublishError> {
    let mut catalog = Catalog::default();
    for (id, text) in justat_engine::chain::SHIPPED {
        let chain = justat_engine::chain::Chain::parse(text, &format!("chains/{id}.toml"))?;
        for step in &chain.steps {
            if let justat_engine::chain::Step::Cube {
                name,
                measures,
                dimensions,
                ..
            } = step
            {
                catalog.add(
                    name,
                    measures.iter().map(|m| m.name.clone()).collect(),
                    dimensions.iter().map(|d| d.column.clone()).collect(),
                );
            }
        }
    }
    Ok(catalog)
}

/// The shipped indicators, checked against the shipped chains as the engine parses them.
pub fn shipped_indicators() -> Result<Vec<Indicator>, PublishError> {
    Ok(justat_indicators::shipped(&shipped_catalog()?)?)
}

/// Computes again every indicator whose stored tables were not made from the latest cube of
/// its chain (or with its current version), and stores them.
pub async fn refresh(
    store: &Store,
    lake: &Lake,
    actor: &Actor,
    now: Timestamp,
) -> Result<RefreshReport, PublishError> {
    let indicators = shipped_indicators()?;
    let cubes = store.cubes().await?;
    let mut report = RefreshReport::default();
    for ind in &indicators {
        let Some(cube) = cubes
            .iter()
            .filter(|c| c.name == ind.cube)
            .max_by_key(|c| c.created_at)
        else {
            report.without_cube.push(ind.id.clone());
            continue;
        };
        for g in &ind.periods {
            let stored = store.dashboard_table(&ind.id, g.label()).await?;
            if stored.is_some_and(|t| {
                t.cube_id == cube.id && t.indicator_version == i64::from(ind.version)
            }) {
                continue;
            }
            let table = compute(lake, ind, cube, *g, now)?;
            store.save_dashboard_table(&table, actor, now).await?;
            report.computed.push(format!("{}/{}", ind.id, g.label()));
        }
    }
    Ok(report)
}

/// The month cells of a cube for an indicator's measures.
fn month_cells(lake: &Lake, ind: &Indicator, cube: &Cube) -> Result<Vec<MonthCell>, PublishError> {
    let mut measures: Vec<String> = ind
        .formula
        .measures()
        .into_iter()
        .map(String::from)
        .collect();
    if !measures.contains(&ind.count) {
        measures.push(ind.count.clone());
    }
    let path = lake.path(LakeKind::Cube, &cube.id, "parquet");
    let rows = justat_engine::cube::read_measures(&path, &ind.dimension, &measures)?;
    Ok(rows
        .into_iter()
        .map(|(month, area, values)| MonthCell {
            area,
            month,
            values: measures
                .iter()
                .cloned()
                .zip(values.into_iter().map(|v| v as f64))
                .collect(),
        })
        .collect())
}

/// One indicator's table for one granularity, protected, certified and rendered.
pub fn compute(
    lake: &Lake,
    ind: &Indicator,
    cube: &Cube,
    granularity: Granularity,
    now: Timestamp,
) -> Result<DashboardTable, PublishError> {
    let cells = month_cells(lake, ind, cube)?;
    let codelist_id = cube
        .schema
        .codelist_of(&ind.dimension)
        .ok_or_else(|| PublishError::NoDimension(ind.dimension.clone()))?;
    let codelist = shipped_codelist(codelist_id)
        .ok_or_else(|| PublishError::UnknownCodelist(codelist_id.to_string()))?;
    let used: BTreeSet<String> = cells.iter().map(|c| c.area.clone()).collect();
    // The areas shown, in the codelist's tree order (France, then each court of appeal
    // followed by its courts), at the levels the indicator offers.
    let levels: BTreeSet<usize> = ind.areas.iter().map(|a| a.depth()).collect();
    let mut areas: Vec<(String, String, usize)> = Vec::new();
    if let Some(root) = codelist.root() {
        let mut stack = vec![root.to_string()];
        while let Some(code) = stack.pop() {
            let depth = codelist.depth(&code).unwrap_or(0);
            if levels.contains(&depth) && used.contains(&code) {
                let label = codelist
                    .get(&code)
                    .map_or(code.clone(), |c| c.label.clone());
                areas.push((code.clone(), label, depth));
            }
            let mut children: Vec<String> = codelist
                .children(&code)
                .into_iter()
                .map(String::from)
                .collect();
            children.sort_by_key(|c| std::cmp::Reverse(codelist.get(c).map(|x| x.label.clone())));
            stack.extend(children);
        }
    }
    // Each used area's series by period, computed once from its own cells: the secret
    // statistique reads every area's counts, the rows the shown areas' values.
    let mut cells_by_area: BTreeMap<String, Vec<MonthCell>> = BTreeMap::new();
    for c in cells {
        cells_by_area.entry(c.area.clone()).or_default().push(c);
    }
    let series: BTreeMap<&str, BTreeMap<String, justat_indicators::Point>> = cells_by_area
        .iter()
        .map(|(code, cells)| {
            let points = justat_indicators::series(ind, cells, code, granularity)
                .into_iter()
                .map(|p| (p.period.clone(), p))
                .collect();
            (code.as_str(), points)
        })
        .collect();
    let no_points = BTreeMap::new();
    let series_of = |code: &str| series.get(code).unwrap_or(&no_points);
    let periods: Vec<String> = areas
        .iter()
        .flat_map(|(code, _, _)| series_of(code).keys())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // The secret statistique, one period at a time: the counts along the courts' hierarchy,
    // restricted to the levels shown, protected and audited like a publication's table.
    let hierarchy = Hierarchy::from_codelist_used(&codelist, &used)?;
    let shown: Vec<String> = areas.iter().map(|(c, _, _)| c.clone()).collect();
    let rules = PrimaryRules::default();
    let mut secret: BTreeMap<(String, String), bool> = BTreeMap::new();
    let mut proof = None;
    for period in &periods {
        let counts: Vec<(Vec<String>, u64)> = used
            .iter()
            .map(|code| {
                let count = series_of(code).get(period).map_or(0.0, |p| p.count);
                (vec![code.clone()], count.max(0.0).round() as u64)
            })
            .collect();
        let mut table = Table::from_aggregates(
            vec![(ind.dimension.clone(), hierarchy.clone())],
            counts,
            &rules,
        )?;
        table.restrict_to(&[TableShape {
            fixed: Vec::new(),
            shown: vec![(ind.dimension.clone(), shown.clone())],
        }])?;
        let (_, certificates) = justat_sdc::secondary::protect_certified(&mut table)
            .map_err(|e| PublishError::Dashboard(format!("{} {period}: {e}", ind.id)))?;
        let audited = certify(table, &certificates).map_err(|e| {
            PublishError::Dashboard(match e {
                CertifyError::Failed(e) => format!("{} {period}: audit failed: {e}", ind.id),
                e @ CertifyError::Violations { .. } => format!("{} {period}: {e}", ind.id),
            })
        })?;
        let t = audited.table();
        for (code, status) in t.pattern_cells() {
            if let Some(c) = code.first() {
                secret.insert((c.clone(), period.clone()), status.is_suppressed());
            }
        }
        proof = Some(audited.proof());
    }

    let rows: Vec<AreaRow> = areas
        .iter()
        .map(|(code, label, depth)| {
            let points = series_of(code);
            let mut values = Vec::new();
            let mut hidden = Vec::new();
            for period in &periods {
                let s = secret
                    .get(&(code.clone(), period.clone()))
                    .copied()
                    .unwrap_or(false);
                let v = points.get(period).and_then(|p| p.value);
                values.push(if s { None } else { v });
                hidden.push(s);
            }
            AreaRow {
                code: code.clone(),
                label: label.clone(),
                depth: *depth,
                values,
                secret: hidden,
            }
        })
        .collect();

    let source = cube.schema.source_line.clone().unwrap_or_default();
    let mut charts = BTreeMap::new();
    let (csv, xlsx) = match proof {
        Some(proof) => {
            let table = |n: usize| {
                DataTable::new(
                    TableParts {
                        name: ind.id.clone(),
                        title: ind.label.clone(),
                        rows_title: "Territoire".to_string(),
                        columns_title: Some(granularity.label().to_string()),
                        unit: ind.unit.clone(),
                        champ: ind
                            .definition
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" "),
                        source: source.clone(),
                        rows: rows
                            .iter()
                            .map(|r| Heading {
                                code: r.code.clone(),
                                label: r.label.clone(),
                                depth: r.depth,
                            })
                            .collect(),
                        columns: periods[..n]
                            .iter()
                            .map(|p| Heading {
                                code: p.clone(),
                                label: p.clone(),
                                depth: 1,
                            })
                            .collect(),
                        cells: rows
                            .iter()
                            .map(|r| {
                                (0..n)
                                    .map(|i| match (r.secret[i], r.values[i]) {
                                        (true, _) => DataCell::secret(),
                                        (false, Some(v)) => DataCell::value(v),
                                        (false, None) => DataCell::not_available(),
                                    })
                                    .collect()
                            })
                            .collect(),
                        decimals: u32::from(ind.decimals),
                        provenance: Provenance::default(),
                    },
                    proof,
                )
            };
            let full = table(periods.len());
            let prefixes: Vec<usize> = if ind.nature == Nature::StatistiquePublique {
                (1..periods.len()).collect()
            } else {
                Vec::new()
            };
            let chart_id = |r: &AreaRow| {
                (
                    format!("graphique-{}", r.code.to_lowercase().replace('_', "-")),
                    format!("{} — {}", ind.label, r.label),
                )
            };
            for (i, r) in rows.iter().enumerate() {
                let (id, title) = chart_id(r);
                if let Some(svg) =
                    justat_render::chart::svg(ChartKind::Lines, &full, &[i], 0, &id, &title)
                {
                    charts.insert(r.code.clone(), svg);
                }
            }
            // One table per prefix, shared by every area's chart.
            for n in &prefixes {
                let t = table(*n);
                for (i, r) in rows.iter().enumerate() {
                    let (id, title) = chart_id(r);
                    if let Some(svg) =
                        justat_render::chart::svg(ChartKind::Lines, &t, &[i], 0, &id, &title)
                    {
                        charts.insert(format!("{}|{n}", r.code), svg);
                    }
                }
            }
            let meta = FileMeta {
                publication: format!("Indicateur de {} : {}", ind.nature.label(), ind.label),
                collection_number: "Tableaux de bord de pilotage".to_string(),
                version: ind.version,
                address: format!("indicators/{}.toml", ind.id),
                release: None,
                next_release: None,
            };
            let xlsx = justat_render::files::xlsx(&full, &meta)
                .map_err(|e| PublishError::Dashboard(format!("{}: XLSX: {e}", ind.id)))?;
            (
                String::from_utf8_lossy(&justat_render::files::csv(&full, true)).into_owned(),
                xlsx,
            )
        }
        None => (String::new(), Vec::new()),
    };
    let content = DashboardContent {
        periods,
        rows,
        charts,
        source,
    };
    Ok(DashboardTable {
        indicator: ind.id.clone(),
        granularity: granularity.label().to_string(),
        indicator_version: i64::from(ind.version),
        cube_id: cube.id.clone(),
        computed_at: now,
        content: serde_json::to_string(&content)
            .map_err(|e| PublishError::Dashboard(format!("{}: {e}", ind.id)))?,
        csv,
        xlsx_hex: to_hex(&xlsx),
    })
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The levels an indicator shows, for messages.
pub fn levels_label(areas: &[AreaLevel]) -> String {
    areas
        .iter()
        .map(|a| a.label())
        .collect::<Vec<_>>()
        .join(", ")
}

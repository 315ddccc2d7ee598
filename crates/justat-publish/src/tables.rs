//! A publication's tables: each read from the latest cube of its name, the tables of one
//! cube, measure and period protected together as one linked pattern, certified by the audit,
//! and only then shown as [`DataTable`]s.

use crate::cube::{cube_table, record_pattern};
use crate::{PublishError, with_causes};
use justat_model::Sha256Hex;
use justat_model::codelist::{Codelist, shipped_codelist};
use justat_model::cube::CubeSchema;
use justat_render::source::PERIOD_DIMENSION;
use justat_render::{
    BuildError, DataCell, DataTable, Flag, Heading, Provenance, PublicationSource, TableDef,
    TableParts,
};
use justat_sdc::audit::{Audited, CertifyError, certify};
use justat_sdc::table::TableShape;
use justat_sdc::{PrimaryRules, Status, Table};
use justat_store::{ChainRun, Cube, Lake, Store};
use std::collections::BTreeMap;

/// Whether the suppression patterns a build computes are recorded (a saved build: later
/// publications of the same cubes and periods must reuse them) or discarded (a preview).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patterns {
    /// Recorded.
    Record,
    /// Discarded: the tables' provenance names pattern 0.
    Discard,
}

/// (cube, measure, period): what one linked pattern covers.
type PatternKey = (Sha256Hex, String, String);

/// A table definition's error, at its line of `tables.toml`.
fn def_error(source: &PublicationSource, def: &TableDef, message: String) -> BuildError {
    BuildError {
        file: source.tables_file(),
        line: def.line,
        message: format!("table `{}`: {message}", def.name),
    }
}

/// Reads, protects (linked tables: one pattern per cube, period and measure), certifies and
/// shows every table of the publication.
pub async fn protected_tables(
    store: &Store,
    lake: &Lake,
    source: &PublicationSource,
    patterns: Patterns,
) -> Result<BTreeMap<String, DataTable>, PublishError> {
    let cubes = store.cubes().await?;
    // A chain run on newer deliveries makes a new cube of the same name: a publication reads
    // the latest.
    let latest = |name: &str| {
        cubes
            .iter()
            .filter(|c| c.name == name)
            .max_by_key(|c| c.created_at)
    };
    let mut groups: BTreeMap<PatternKey, Vec<&TableDef>> = BTreeMap::new();
    let mut cube_of: BTreeMap<String, &Cube> = BTreeMap::new();
    for def in &source.tables {
        let cube = latest(&def.cube).ok_or_else(|| {
            def_error(
                source,
                def,
                format!(
                    "no cube named `{}` (run its chain first; `justat cube list`)",
                    def.cube
                ),
            )
        })?;
        for d in [Some(&def.rows), def.columns.as_ref()]
            .into_iter()
            .flatten()
            .chain(def.filters.keys())
        {
            if d != PERIOD_DIMENSION && cube.schema.codelist_of(d).is_none() {
                let names: Vec<&str> = cube.schema.columns().collect();
                return Err(def_error(
                    source,
                    def,
                    format!(
                        "cube `{}` has no dimension `{d}` (it has {})",
                        def.cube,
                        names.join(", ")
                    ),
                )
                .into());
            }
        }
        for period in def.needed_periods() {
            groups
                .entry((cube.id.clone(), def.measure.clone(), period))
                .or_default()
                .push(def);
        }
        cube_of.insert(def.name.clone(), cube);
    }
    let rules = PrimaryRules::default();
    // The certified table of each (cube, measure, period), and its pattern number.
    let mut protected: BTreeMap<PatternKey, (Audited, i64)> = BTreeMap::new();
    for ((cube_id, measure, period), defs) in &groups {
        let cube = cube_of[&defs[0].name];
        let dims: Vec<String> = cube.schema.columns().map(String::from).collect();
        let shapes: Vec<TableShape> = defs
            .iter()
            .map(|d| shape_of(d, &cube.schema))
            .collect::<Result<_, _>>()?;
        let made = cube_table(
            store, lake, cube_id, period, measure, &dims, &shapes, &rules,
        )
        .await
        .map_err(|e| {
            def_error(
                source,
                defs[0],
                format!("period {period}: {}", with_causes(&e)),
            )
        })?;
        if let Some(line) = made.reused {
            tracing::info!(cube = %cube_id, %period, %measure, "{line}");
        }
        let mut table = made.table;
        let (_, certificates) =
            justat_sdc::secondary::protect_certified(&mut table).map_err(|e| {
                def_error(
                    source,
                    defs[0],
                    format!("period {period}: the secret statistique cannot protect it: {e}"),
                )
            })?;
        // Independent of the method (its certificates are checked, not trusted): the build
        // stops on any violation, and only a certified table is shown.
        let audited = certify(table, &certificates).map_err(|e| {
            let message = match e {
                CertifyError::Failed(e) => format!("period {period}: audit failed: {e}"),
                e @ CertifyError::Violations { .. } => format!("period {period}: {e}"),
            };
            def_error(source, defs[0], message)
        })?;
        // A discarded pattern has no number: the preview's provenance shows none.
        let id = match patterns {
            Patterns::Record => record_pattern(store, audited.table(), made.pattern).await?,
            Patterns::Discard => 0,
        };
        protected.insert(
            (cube_id.clone(), measure.clone(), period.clone()),
            (audited, id),
        );
    }
    let runs = store.runs().await?;
    let mut origins: BTreeMap<&Sha256Hex, CubeOrigin> = BTreeMap::new();
    for cube in cube_of.values() {
        if !origins.contains_key(&cube.id) {
            origins.insert(&cube.id, CubeOrigin::of(store, cube, &runs).await?);
        }
    }
    let mut out = BTreeMap::new();
    for def in &source.tables {
        let cube = cube_of[&def.name];
        let t = data_table(source, def, cube, &origins[&cube.id], &protected)?;
        out.insert(def.name.clone(), t);
    }
    Ok(out)
}

/// The linked table a definition publishes: the other dimensions at their filter or total, the
/// rows and columns at the codes shown (all when the definition does not choose).
fn shape_of(def: &TableDef, schema: &CubeSchema) -> Result<TableShape, PublishError> {
    let mut shape = TableShape {
        fixed: Vec::new(),
        shown: Vec::new(),
    };
    for d in &schema.dimensions {
        let (dim, codelist) = (&d.column, &d.codelist);
        let (codes, depths) = if *dim == def.rows {
            (def.row_codes.as_ref(), def.row_depths.as_ref())
        } else if def.columns.as_deref() == Some(dim.as_str()) {
            (def.column_codes.as_ref(), def.column_depths.as_ref())
        } else {
            let code = def.filters.get(dim).map_or("_T", String::as_str);
            shape.fixed.push((dim.clone(), code.to_string()));
            continue;
        };
        let shown: Vec<String> = match (codes, depths) {
            (Some(codes), _) => codes.clone(),
            (None, Some(depths)) => {
                let cl = shipped_codelist(codelist)
                    .ok_or_else(|| PublishError::UnknownCodelist(codelist.clone()))?;
                cl.codes()
                    .iter()
                    .filter(|c| cl.depth(&c.code).is_some_and(|d| depths.contains(&d)))
                    .map(|c| c.code.clone())
                    .collect()
            }
            (None, None) => continue,
        };
        // One code shown is the dimension held at that code, as `sdc protect --table DIM=CODE`
        // says it (the shapes were written in that syntax before they were typed).
        match shown.as_slice() {
            [] => {}
            [code] => shape.fixed.push((dim.clone(), code.clone())),
            _ => shape.shown.push((dim.clone(), shown)),
        }
    }
    Ok(shape)
}

/// Where a cube comes from: its chain and version, the run that built it, and that run's input
/// deliveries (number, file, SHA-256).
struct CubeOrigin {
    chain: String,
    run: i64,
    deliveries: Vec<(i64, String, String)>,
}

impl CubeOrigin {
    async fn of(store: &Store, cube: &Cube, runs: &[ChainRun]) -> Result<CubeOrigin, PublishError> {
        let run = runs.iter().find(|r| r.cube_id.as_ref() == Some(&cube.id));
        let mut deliveries = Vec::new();
        for id in run.map(|r| r.inputs.as_slice()).unwrap_or_default() {
            let d = store.delivery(*id).await?;
            deliveries.push((d.id, d.file_name, d.sha256.to_string()));
        }
        Ok(CubeOrigin {
            chain: run.map_or(cube.chain.clone(), |r| {
                format!("{} v{}", r.chain, r.chain_version)
            }),
            run: run.map_or(0, |r| r.id),
            deliveries,
        })
    }
}

/// The headings of a dimension: the codes asked, or every code of the codelist the table
/// holds, in the codelist's order.
fn headings(
    source: &PublicationSource,
    def: &TableDef,
    cl: &Codelist,
    asked: Option<&Vec<String>>,
    depths: Option<&Vec<usize>>,
    present: &dyn Fn(&str) -> bool,
) -> Result<Vec<Heading>, BuildError> {
    let heading = |code: &str| Heading {
        code: code.to_string(),
        label: cl.get(code).map_or(code.to_string(), |c| c.label.clone()),
        depth: cl.depth(code).unwrap_or(0),
    };
    match asked {
        Some(codes) => codes
            .iter()
            .map(|c| {
                if cl.contains(c) {
                    Ok(heading(c))
                } else {
                    Err(def_error(
                        source,
                        def,
                        format!("`{c}` is not a code of {} ({})", cl.id(), cl.label()),
                    ))
                }
            })
            .collect(),
        None => Ok(cl
            .codes()
            .iter()
            .filter(|c| present(&c.code))
            .map(|c| heading(&c.code))
            .filter(|h| depths.is_none_or(|d| d.contains(&h.depth)))
            .collect()),
    }
}

/// The table a definition shows, its cells read from the certified patterns of its periods.
fn data_table(
    source: &PublicationSource,
    def: &TableDef,
    cube: &Cube,
    origin: &CubeOrigin,
    protected: &BTreeMap<PatternKey, (Audited, i64)>,
) -> Result<DataTable, PublishError> {
    let codelist = |dim: &str| -> Result<Codelist, PublishError> {
        let id = cube
            .schema
            .codelist_of(dim)
            .ok_or(PublishError::UnknownDimension)?;
        shipped_codelist(id).ok_or_else(|| PublishError::UnknownCodelist(id.to_string()))
    };
    for (dim, code) in &def.filters {
        let cl = codelist(dim)?;
        if !cl.contains(code) {
            return Err(def_error(
                source,
                def,
                format!("filter {dim}={code}: `{code}` is not a code of {}", cl.id()),
            )
            .into());
        }
    }
    let periods = def.needed_periods();
    let table_of =
        |period: &str| protected.get(&(cube.id.clone(), def.measure.clone(), period.to_string()));
    // Whether any period's table holds the code on the dimension.
    let holds = |dim: &str, code: &str| {
        periods.iter().filter_map(|p| table_of(p)).any(|(t, _)| {
            t.table()
                .dims
                .iter()
                .find(|(d, _)| d == dim)
                .is_some_and(|(_, h)| h.index(code).is_some())
        })
    };
    let row_cl = codelist(&def.rows)?;
    let rows = headings(
        source,
        def,
        &row_cl,
        def.row_codes.as_ref(),
        def.row_depths.as_ref(),
        &|c| holds(&def.rows, c),
    )?;
    let (columns, columns_title): (Vec<Heading>, Option<String>) = match def.columns.as_deref() {
        Some(PERIOD_DIMENSION) => (
            periods
                .iter()
                .map(|p| Heading {
                    code: p.clone(),
                    label: p.clone(),
                    depth: 0,
                })
                .collect(),
            Some(def.columns_title.clone().unwrap_or_else(|| "Année".into())),
        ),
        Some(dim) => {
            let cl = codelist(dim)?;
            (
                headings(
                    source,
                    def,
                    &cl,
                    def.column_codes.as_ref(),
                    def.column_depths.as_ref(),
                    &|c| holds(dim, c),
                )?,
                Some(
                    def.columns_title
                        .clone()
                        .unwrap_or_else(|| cl.label().to_string()),
                ),
            )
        }
        None => (
            vec![Heading {
                code: "_T".into(),
                label: def.unit.clone(),
                depth: 0,
            }],
            None,
        ),
    };
    let mut cells = Vec::new();
    for row in &rows {
        let mut line = Vec::new();
        for col in &columns {
            let period = if def.periods_in_columns() {
                col.code.clone()
            } else {
                periods[0].clone()
            };
            let Some((t, _)) = table_of(&period) else {
                line.push(DataCell::not_available());
                continue;
            };
            line.push(cell_of(t.table(), def, &row.code, &col.code));
        }
        cells.push(line);
    }
    for line in &mut cells {
        for (c, cell) in line.iter_mut().enumerate() {
            let period = if def.periods_in_columns() {
                &columns[c].code
            } else {
                &periods[0]
            };
            if def.provisional.contains(period) && cell.flag == Flag::Value {
                cell.flag = Flag::Provisional;
            }
        }
    }
    if let Some(of) = &def.shares_of {
        let k = columns.iter().position(|c| &c.code == of).ok_or_else(|| {
            def_error(
                source,
                def,
                format!("shares_of: `{of}` is not one of the table's columns"),
            )
        })?;
        for line in &mut cells {
            let whole = line[k];
            for cell in line.iter_mut() {
                *cell = share(*cell, whole);
            }
        }
    }
    let source_line = cube
        .schema
        .source_line
        .clone()
        .unwrap_or_else(|| "Source : ministère de la Justice/SSER".to_string());
    // Every period a definition reads has its certified pattern (the groups above are made
    // from the same periods): the first one's proof stands for the table.
    let proof = periods
        .iter()
        .find_map(|p| table_of(p))
        .map(|(t, _)| t.proof())
        .ok_or_else(|| PublishError::NoAuditedPattern(def.name.clone()))?;
    let parts = TableParts {
        name: def.name.clone(),
        title: def.title.clone(),
        rows_title: def
            .rows_title
            .clone()
            .unwrap_or_else(|| row_cl.label().to_string()),
        columns_title,
        unit: def.unit.clone(),
        champ: def.champ.clone(),
        source: source_line,
        rows,
        columns,
        cells,
        decimals: def
            .decimals
            .unwrap_or(if def.shares_of.is_some() { 1 } else { 0 }),
        provenance: Provenance {
            cube: cube.id.to_string(),
            chain: origin.chain.clone(),
            run: origin.run,
            deliveries: origin.deliveries.clone(),
            patterns: periods
                .iter()
                .filter_map(|p| table_of(p).map(|(_, id)| (p.clone(), *id)))
                .collect(),
        },
    };
    Ok(DataTable::new(parts, proof))
}

/// A cell as a share (%) of `whole`: withheld if either is, not applicable if the whole is 0.
fn share(part: DataCell, whole: DataCell) -> DataCell {
    match (part.value, whole.value) {
        (Some(p), Some(w)) if w != 0.0 => DataCell {
            value: Some(100.0 * p / w),
            flag: if whole.flag == Flag::Value {
                part.flag
            } else {
                whole.flag
            },
        },
        (Some(_), Some(_)) => DataCell {
            value: None,
            flag: Flag::NotApplicable,
        },
        _ if part.flag == Flag::Secret || whole.flag == Flag::Secret => DataCell::secret(),
        _ => DataCell::not_available(),
    }
}

/// The protected cell at a row and column of a definition, its other dimensions at their
/// filter or total. A code the period's table does not hold counts nothing there: 0.
fn cell_of(t: &Table, def: &TableDef, row: &str, col: &str) -> DataCell {
    let mut codes = Vec::with_capacity(t.dims.len());
    for (dim, h) in &t.dims {
        let code = if *dim == def.rows {
            row
        } else if def.columns.as_deref() == Some(dim.as_str()) {
            col
        } else {
            def.filters.get(dim).map_or("_T", String::as_str)
        };
        match h.index(code) {
            Some(i) => codes.push(i as u32),
            None => return DataCell::value(0.0),
        }
    }
    let cell = &t.cells[t.position(&codes)];
    match cell.status {
        Status::Publishable | Status::Empty => DataCell::value(cell.value),
        // A cell outside every table of the pattern is never shown (cannot happen for a
        // cell of a defined table, which is in the pattern by construction).
        Status::NotPublished => DataCell::not_available(),
        _ => DataCell::secret(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use justat_model::cube::CubeDimension;
    use justat_sdc::Hierarchy;

    fn schema() -> CubeSchema {
        let dim = |column: &str, codelist: &str| CubeDimension {
            column: column.into(),
            codelist: codelist.into(),
        };
        CubeSchema {
            dimensions: vec![
                dim("offence_group", "CL_OFFENCE"),
                dim("main_sentence", "CL_SENTENCE"),
                dim("sex", "CL_SEX"),
                dim("age_band", "CL_AGE_BAND"),
            ],
            ..CubeSchema::default()
        }
    }

    fn source() -> PublicationSource {
        let dir = "infos-rapides-condamnations-2024";
        PublicationSource::parse(
            dir,
            include_str!("../../../publications/infos-rapides-condamnations-2024/publication.md"),
            include_str!("../../../publications/infos-rapides-condamnations-2024/tables.toml"),
        )
        .unwrap()
    }

    fn fixed(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(d, c)| (d.to_string(), c.to_string()))
            .collect()
    }

    #[test]
    fn a_definition_publishes_the_linked_table_of_its_rows_columns_and_filters() {
        let source = source();
        let years = source.table("condamnations_annees").unwrap();
        // Periods in columns, every offence group in rows: the rest at their total.
        assert_eq!(
            shape_of(years, &schema()).unwrap(),
            TableShape {
                fixed: fixed(&[("main_sentence", "_T"), ("sex", "_T"), ("age_band", "_T")]),
                shown: Vec::new(),
            }
        );
        let by_sex = source.table("peines_sexe").unwrap();
        let shape = shape_of(by_sex, &schema()).unwrap();
        assert_eq!(
            shape.fixed,
            fixed(&[("offence_group", "_T"), ("age_band", "_T")])
        );
        // The sentences at depths 0 and 1 of their codelist, in its order.
        let (dim, codes) = &shape.shown[0];
        assert_eq!((dim.as_str(), codes[0].as_str()), ("main_sentence", "_T"));
        assert!(codes.len() > 2, "{codes:?}");
        // One code asked is the dimension held at it; several are the codes shown.
        let mut one = by_sex.clone();
        one.row_codes = Some(vec!["_T".into()]);
        let shape = shape_of(&one, &schema()).unwrap();
        assert!(shape.fixed.contains(&("main_sentence".into(), "_T".into())));
        assert!(shape.shown.is_empty());
        let mut two = by_sex.clone();
        two.row_codes = Some(vec!["_T".into(), "X".into()]);
        let shape = shape_of(&two, &schema()).unwrap();
        assert_eq!(
            shape.shown,
            [(
                "main_sentence".to_string(),
                vec!["_T".to_string(), "X".to_string()]
            )]
        );
    }

    /// A one-dimension table: A counts 2 (a primary by frequency), B counts 50.
    fn table_with_a_primary() -> Table {
        let codes = ["A".to_string(), "B".to_string()];
        let dims = vec![("d".to_string(), Hierarchy::flat("d", &codes).unwrap())];
        let cell = |code: &str, count| (vec![code.to_string()], count);
        let cells = [cell("_T", 52), cell("A", 2), cell("B", 50)];
        Table::from_aggregates(dims, cells, &PrimaryRules::default()).unwrap()
    }

    fn parts(t: &Table) -> TableParts {
        let heading = |code: &str| Heading {
            code: code.into(),
            label: code.into(),
            depth: 0,
        };
        let (_, h) = &t.dims[0];
        let rows: Vec<Heading> = ["_T", "A", "B"].into_iter().map(heading).collect();
        let cells = rows
            .iter()
            .map(|r| {
                let cell = &t.cells[t.position(&[h.index(&r.code).unwrap() as u32])];
                vec![match cell.status {
                    Status::Publishable | Status::Empty => DataCell::value(cell.value),
                    _ => DataCell::secret(),
                }]
            })
            .collect();
        TableParts {
            name: "t".into(),
            title: "T".into(),
            rows_title: "D".into(),
            columns_title: None,
            unit: "nombre".into(),
            champ: String::new(),
            source: String::new(),
            rows,
            columns: vec![heading("_T")],
            cells,
            decimals: 0,
            provenance: Provenance::default(),
        }
    }

    #[test]
    fn a_table_is_only_shown_from_a_pattern_its_audit_certifies() {
        // Unprotected, the primary is the total minus B: the audit refuses the pattern, so
        // there is no `Audited` table, hence no proof, hence no `DataTable`.
        let refused = certify(table_with_a_primary(), &[]);
        assert!(
            matches!(
                refused,
                Err(CertifyError::Violations {
                    exact_disclosures: 1,
                    ..
                })
            ),
            "{refused:?}"
        );
        // Protected, then certified: the proof makes the table, its primary withheld.
        let mut table = table_with_a_primary();
        let (_, certificates) = justat_sdc::secondary::protect_certified(&mut table).unwrap();
        let audited = certify(table, &certificates).unwrap();
        let shown = DataTable::new(parts(audited.table()), audited.proof());
        assert_eq!(shown.cell("_T", None).unwrap(), DataCell::value(52.0));
        assert_eq!(shown.cell("A", None).unwrap(), DataCell::secret());
        assert_eq!(shown.cell("B", None).unwrap(), DataCell::secret());
    }

    #[test]
    fn a_share_is_withheld_with_its_part_or_whole_and_not_applicable_of_nothing() {
        let share_of = |p, w| share(p, w);
        assert_eq!(
            share_of(DataCell::value(25.0), DataCell::value(200.0)),
            DataCell::value(12.5)
        );
        assert_eq!(
            share_of(DataCell::secret(), DataCell::value(200.0)),
            DataCell::secret()
        );
        assert_eq!(
            share_of(DataCell::value(3.0), DataCell::value(0.0)).flag,
            Flag::NotApplicable
        );
        assert_eq!(
            share_of(DataCell::not_available(), DataCell::value(1.0)),
            DataCell::not_available()
        );
    }
}

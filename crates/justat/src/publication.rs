//! `justat publication …`: building a publication from its folder — its tables read from the
//! cubes, protected together per cube and period by the secret statistique and audited, then
//! rendered and stored as a draft — and moving its versions through the lifecycle.

use crate::config::Config;
use crate::serve::open_store;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jiff::Timestamp;
use justat_model::codelist::{Codelist, shipped_codelist};
use justat_model::columns::Columns;
use justat_model::publication::{Action, Collection, VersionState};
use justat_render::source::PERIOD_DIMENSION;
use justat_render::{BuildError, DataCell, DataTable, Edition, Flag, Heading, Provenance};
use justat_render::{PublicationSource, TableDef};
use justat_sdc::{PrimaryRules, Status, Table};
use justat_store::{Actor, Lake, LakeKind, NewVersion, Store, StoredFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Publication commands.
#[derive(Subcommand)]
pub enum PublicationCommand {
    /// Build a publication from its folder (publication.md, tables.toml) and save it as a
    /// draft (or as a correction of its released version).
    Import {
        /// The folder.
        dir: PathBuf,
        /// Who builds it (a statistician's or the head of service's account).
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
    },
    /// List every publication version and its state (release instants in Paris time).
    List {
        /// Print the list as JSON (instants in UTC, RFC 3339).
        #[arg(long)]
        json: bool,
    },
    /// Hand a draft to the head of service.
    Submit(ActionArgs),
    /// Send a submitted version back to draft (head of service).
    Reject(ActionArgs),
    /// Approve a submitted version: its content is frozen (head of service).
    Approve(ActionArgs),
    /// Release an approved version at an instant (head of service): its calendar release's
    /// when the calendar announces one.
    Release {
        #[command(flatten)]
        args: ActionArgs,
        /// The release instant (RFC 3339, e.g. 2027-03-12T12:00:00+01:00); the calendar's
        /// confirmed instant, or now when the calendar has no release for it.
        #[arg(long)]
        at: Option<String>,
    },
}

/// Which version, and who acts.
#[derive(clap::Args)]
pub struct ActionArgs {
    /// The collection (chiffres-cles, references-statistiques, infostat, infos-rapides).
    collection: String,
    /// The publication's slug.
    slug: String,
    /// The version; the latest by default.
    #[arg(long)]
    version: Option<i64>,
    /// Who acts (their role decides what they may do).
    #[arg(long = "as", value_name = "USERNAME")]
    user: String,
}

/// Takes a lifecycle action on a version of a publication (its latest by default) as
/// `username`, whose role decides what they may do.
pub async fn act_as(
    store: &Store,
    collection: Collection,
    slug: &str,
    version: Option<i64>,
    username: &str,
    action: Action,
    at: Option<Timestamp>,
) -> Result<justat_store::PublicationVersion> {
    let who = store.user(username).await?;
    let version = match version {
        Some(v) => v,
        None => {
            store
                .publication_version(collection, slug, None)
                .await?
                .with_context(|| format!("no publication {collection}/{slug}"))?
                .version
        }
    };
    Ok(store
        .publication_action(
            collection,
            slug,
            version,
            action,
            who.role,
            &Actor::user(username),
            at,
            Timestamp::now(),
        )
        .await?)
}

/// Runs a publication command.
pub async fn run(config: &Config, command: PublicationCommand) -> Result<()> {
    let store = open_store(config).await?;
    let result = dispatch(config, &store, command).await;
    store.close().await;
    result
}

async fn dispatch(config: &Config, store: &Store, command: PublicationCommand) -> Result<()> {
    match command {
        PublicationCommand::Import { dir, user } => {
            check_may_build(store, &user).await?;
            let v = import(config, store, &dir, &Actor::user(&user)).await?;
            println!(
                "{}/{} version {} saved as a draft: « {} » ({} files, content {})",
                v.collection,
                v.slug,
                v.version,
                v.title,
                v.files.len(),
                &v.content_hash[..12]
            );
            Ok(())
        }
        PublicationCommand::List { json } => {
            let all = store.publication_versions().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            let mut t = Columns::new(&[
                "COLLECTION",
                "SLUG",
                "V",
                "STATE",
                "RELEASE (HEURE DE PARIS)",
                "TITLE",
            ])
            .right(2);
            for v in all {
                t.row([
                    v.collection.slug().to_string(),
                    v.slug,
                    v.version.to_string(),
                    v.state.as_str().to_string(),
                    v.released_at
                        .map(justat_model::french::date_time)
                        .unwrap_or_default(),
                    v.title,
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
        PublicationCommand::Submit(a) => act(store, a, Action::Submit, None).await,
        PublicationCommand::Reject(a) => act(store, a, Action::Reject, None).await,
        PublicationCommand::Approve(a) => act(store, a, Action::Approve, None).await,
        PublicationCommand::Release { args, at } => {
            let collection: Collection = args.collection.parse()?;
            let at = match at {
                Some(t) => Some(t.parse::<Timestamp>().with_context(|| {
                    format!("--at `{t}`: expected RFC 3339, e.g. 2027-03-12T12:00:00+01:00")
                })?),
                None => {
                    store
                        .default_release_instant(collection, &args.slug, Timestamp::now())
                        .await?
                }
            };
            act(store, args, Action::Release, at).await
        }
    }
}

async fn act(store: &Store, a: ActionArgs, action: Action, at: Option<Timestamp>) -> Result<()> {
    let collection: Collection = a.collection.parse()?;
    let v = act_as(store, collection, &a.slug, a.version, &a.user, action, at).await?;
    println!(
        "{collection}/{} version {}: {}{}",
        a.slug,
        v.version,
        v.state.as_str(),
        v.released_at
            .map(|t| format!(", public from {}", justat_model::french::date_time(t)))
            .unwrap_or_default()
    );
    Ok(())
}

/// Refuses a user whose role does not build publications (only statisticians and the head of
/// service do, as only they take a version's first step).
pub async fn check_may_build(store: &Store, username: &str) -> Result<()> {
    let who = store.user(username).await?;
    if !Action::Submit.allowed(who.role) {
        bail!(
            "{username} is {}: only statisticians and the head of service build publications",
            who.role.label_fr()
        );
    }
    Ok(())
}

/// Builds the publication in `dir` and saves it; returns the saved version.
pub async fn import(
    config: &Config,
    store: &Store,
    dir: &Path,
    actor: &Actor,
) -> Result<justat_store::PublicationVersion> {
    let source = PublicationSource::read_dir(dir)?;
    import_source(config, store, &source, actor).await
}

/// Builds a publication's source and saves it; returns the saved version. Nothing is saved
/// when any step fails (the files put in the lake before are content-addressed and unused).
pub async fn import_source(
    config: &Config,
    store: &Store,
    source: &PublicationSource,
    actor: &Actor,
) -> Result<justat_store::PublicationVersion> {
    let front = &source.front;
    let version = next_version(store, front.collection, &front.slug).await?;
    let tables = protected_tables(config, store, source, Patterns::Record).await?;
    let built = justat_render::build(source, &tables, &edition(source, version))?;
    let pdf = justat_pdf::compile(&built.pdf.source, &built.pdf.files).map_err(|e| BuildError {
        file: source.publication_file(),
        line: 0,
        message: e.to_string(),
    })?;
    let pdf = justat_render::OutFile {
        name: justat_render::PDF_NAME.into(),
        media_type: "application/pdf",
        bytes: pdf,
    };
    let lake = Lake::new(&config.data_dir);
    let mut files = Vec::new();
    for f in built.files.iter().chain([&pdf]) {
        let ext = f.name.rsplit('.').next().unwrap_or("bin");
        let sha = lake
            .put_bytes(LakeKind::Publication, &f.bytes, ext)
            .with_context(|| format!("cannot store {}", f.name))?;
        files.push(StoredFile {
            name: f.name.clone(),
            media_type: f.media_type.to_string(),
            sha256: sha.to_string(),
            size: f.bytes.len() as u64,
        });
    }
    let provenance: BTreeMap<&str, serde_json::Value> = tables
        .iter()
        .map(|(name, t)| {
            (
                name.as_str(),
                serde_json::json!({
                    "title": t.title, "source": t.source, "champ": t.champ,
                    "provenance": t.provenance,
                    "definition": source.table(name).map(|d| serde_json::json!({
                        "cube": d.cube, "measure": d.measure, "rows": d.rows,
                        "columns": d.columns, "filters": d.filters,
                        "periods": d.needed_periods(),
                    })),
                }),
            )
        })
        .collect();
    let new = NewVersion {
        collection: front.collection,
        slug: front.slug.clone(),
        number: front.number.clone(),
        title: built.title.clone(),
        summary: built.summary.clone(),
        theme: front.theme.clone(),
        period: front.period.clone(),
        authors: front.authors.clone(),
        keywords: front.keywords.clone(),
        erratum: front.erratum.clone(),
        html: built.html.clone(),
        sources: serde_json::json!(source.files),
        figures: serde_json::json!(built.figures),
        provenance: serde_json::json!({ "tables": provenance, "citations": built.citations }),
        files,
        content_hash: built.content_hash.clone(),
    };
    Ok(store.save_build(&new, actor, Timestamp::now()).await?)
}

/// A publication's page as a build would make it — its tables read, protected and audited as
/// for a build — with nothing stored: neither files, nor version, nor suppression pattern.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preview {
    /// The version the build would save.
    pub version: i64,
    /// The title, its cited values resolved.
    pub title: String,
    /// The summary.
    pub summary: String,
    /// The page's body (HTML, charts inline).
    pub html: String,
}

/// Previews a publication's source: the checks and the page of a build, without the PDF and
/// without saving anything.
pub async fn preview_source(
    config: &Config,
    store: &Store,
    source: &PublicationSource,
) -> Result<Preview> {
    let front = &source.front;
    let version = next_version(store, front.collection, &front.slug).await?;
    let tables = protected_tables(config, store, source, Patterns::Discard).await?;
    let built = justat_render::build(source, &tables, &edition(source, version))?;
    Ok(Preview {
        version,
        title: built.title,
        summary: built.summary,
        html: built.html,
    })
}

/// The version `version` of a source, at its address.
fn edition(source: &PublicationSource, version: i64) -> Edition {
    Edition {
        version: version as u32,
        address: format!(
            "/publications/{}/{}/v{version}",
            source.front.collection.slug(),
            source.front.slug
        ),
        release: None,
    }
}

/// Whether the suppression patterns a build computes are recorded (a saved build: later
/// publications of the same cubes and periods must reuse them) or discarded (a preview).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Patterns {
    Record,
    Discard,
}

/// The version number a build of this publication will get (see `Store::save_build`).
async fn next_version(store: &Store, collection: Collection, slug: &str) -> Result<i64> {
    Ok(
        match store.publication_version(collection, slug, None).await? {
            None => 1,
            Some(v) if v.state == VersionState::Draft => v.version,
            Some(v) if v.state.was_released() => v.version + 1,
            Some(v) => bail!(
                "{collection}/{slug} version {} is {}: it is frozen and cannot be rebuilt",
                v.version,
                v.state.as_str()
            ),
        },
    )
}

/// A table definition's error, at its line of `tables.toml`.
fn def_error(source: &PublicationSource, def: &TableDef, message: String) -> BuildError {
    BuildError {
        file: source.tables_file(),
        line: def.line,
        message: format!("table `{}`: {message}", def.name),
    }
}

/// A cube's dimensions: (column, codelist).
fn cube_dimensions(cube: &justat_store::Cube) -> Vec<(String, String)> {
    cube.schema["dimensions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some((
                d["column"].as_str()?.to_string(),
                d["codelist"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Reads, protects (linked tables: one pattern per cube, period and measure) and audits every
/// table of the publication.
async fn protected_tables(
    config: &Config,
    store: &Store,
    source: &PublicationSource,
    patterns: Patterns,
) -> Result<BTreeMap<String, DataTable>> {
    let cubes = store.cubes().await?;
    // The latest cube of each name.
    let latest = |name: &str| {
        cubes
            .iter()
            .filter(|c| c.name == name)
            .max_by_key(|c| c.created_at)
    };
    // (cube, measure, period) → the definitions read from it.
    let mut groups: BTreeMap<(String, String, String), Vec<&TableDef>> = BTreeMap::new();
    let mut cube_of: BTreeMap<String, &justat_store::Cube> = BTreeMap::new();
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
        let dims = cube_dimensions(cube);
        for d in [Some(&def.rows), def.columns.as_ref()]
            .into_iter()
            .flatten()
            .chain(def.filters.keys())
        {
            if d != PERIOD_DIMENSION && !dims.iter().any(|(c, _)| c == d) {
                let names: Vec<&str> = dims.iter().map(|(c, _)| c.as_str()).collect();
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
    // The protected table of each (cube, measure, period), and its pattern number.
    let mut protected: BTreeMap<(String, String, String), (Table, i64)> = BTreeMap::new();
    for ((cube_id, measure, period), defs) in &groups {
        let cube = cube_of[&defs[0].name];
        let dims: Vec<String> = cube_dimensions(cube).into_iter().map(|(c, _)| c).collect();
        let shapes: Vec<String> = defs
            .iter()
            .map(|d| shape_of(d, cube))
            .collect::<Result<_>>()?;
        let (mut table, new, reused) = crate::sdc::cube_table(
            config, store, cube_id, period, measure, &dims, &shapes, &rules,
        )
        .await
        .map_err(|e| def_error(source, defs[0], format!("period {period}: {e:#}")))?;
        if let Some(line) = reused {
            tracing::info!(cube = %cube_id, %period, %measure, "{line}");
        }
        let (_, certificates) =
            justat_sdc::secondary::protect_certified(&mut table).map_err(|e| {
                def_error(
                    source,
                    defs[0],
                    format!("period {period}: the secret statistique cannot protect it: {e}"),
                )
            })?;
        // Independent of the method (its certificates are checked, not trusted): the build
        // stops on any violation.
        let report = justat_sdc::audit::audit_with(&table, true, &certificates).map_err(|e| {
            def_error(
                source,
                defs[0],
                format!("period {period}: audit failed: {e}"),
            )
        })?;
        if !report.violations.is_empty() {
            return Err(def_error(
                source,
                defs[0],
                format!(
                    "period {period}: the protection audit finds {} exact disclosures and {} interval violations",
                    report.exact_disclosures, report.interval_violations
                ),
            )
            .into());
        }
        // A discarded pattern has no number: the preview's provenance shows none.
        let id = match patterns {
            Patterns::Record => crate::sdc::record_pattern(store, &table, new).await?,
            Patterns::Discard => 0,
        };
        protected.insert(
            (cube_id.clone(), measure.clone(), period.clone()),
            (table, id),
        );
    }
    let runs = store.runs().await?;
    let mut origins: BTreeMap<&str, CubeOrigin> = BTreeMap::new();
    for cube in cube_of.values() {
        if !origins.contains_key(cube.id.as_str()) {
            origins.insert(&cube.id, CubeOrigin::of(store, cube, &runs).await?);
        }
    }
    let mut out = BTreeMap::new();
    for def in &source.tables {
        let cube = cube_of[&def.name];
        let t = data_table(source, def, cube, &origins[cube.id.as_str()], &protected)?;
        out.insert(def.name.clone(), t);
    }
    Ok(out)
}

/// The linked table a definition publishes, as `sdc protect --table` writes it: the other
/// dimensions at their filter or total, the rows and columns at the codes shown (all when the
/// definition does not choose).
fn shape_of(def: &TableDef, cube: &justat_store::Cube) -> Result<String> {
    let dims = cube_dimensions(cube);
    let mut parts = Vec::new();
    for (dim, codelist) in &dims {
        let (codes, depths) = if *dim == def.rows {
            (def.row_codes.as_ref(), def.row_depths.as_ref())
        } else if def.columns.as_deref() == Some(dim.as_str()) {
            (def.column_codes.as_ref(), def.column_depths.as_ref())
        } else {
            parts.push(format!(
                "{dim}={}",
                def.filters.get(dim).map_or("_T", String::as_str)
            ));
            continue;
        };
        let shown: Vec<String> = match (codes, depths) {
            (Some(codes), _) => codes.clone(),
            (None, Some(depths)) => {
                let cl = shipped_codelist(codelist)
                    .with_context(|| format!("unknown codelist {codelist}"))?;
                cl.codes()
                    .iter()
                    .filter(|c| cl.depth(&c.code).is_some_and(|d| depths.contains(&d)))
                    .map(|c| c.code.clone())
                    .collect()
            }
            (None, None) => continue,
        };
        if !shown.is_empty() {
            parts.push(format!("{dim}={}", shown.join("|")));
        }
    }
    Ok(parts.join(","))
}

/// Where a cube comes from: its chain and version, the run that built it, and that run's input
/// deliveries (number, file, SHA-256).
struct CubeOrigin {
    chain: String,
    run: i64,
    deliveries: Vec<(i64, String, String)>,
}

impl CubeOrigin {
    async fn of(
        store: &Store,
        cube: &justat_store::Cube,
        runs: &[justat_store::ChainRun],
    ) -> Result<CubeOrigin> {
        let run = runs
            .iter()
            .find(|r| r.cube_id.as_deref() == Some(cube.id.as_str()));
        let mut deliveries = Vec::new();
        for id in run.map(|r| r.inputs.as_slice()).unwrap_or_default() {
            let d = store.delivery(*id).await?;
            deliveries.push((d.id, d.file_name, d.sha256));
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

fn data_table(
    source: &PublicationSource,
    def: &TableDef,
    cube: &justat_store::Cube,
    origin: &CubeOrigin,
    protected: &BTreeMap<(String, String, String), (Table, i64)>,
) -> Result<DataTable> {
    let dims = cube_dimensions(cube);
    let codelist = |dim: &str| -> Result<Codelist> {
        let id = &dims.iter().find(|(c, _)| c == dim).context("dimension")?.1;
        shipped_codelist(id).with_context(|| format!("unknown codelist {id}"))
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
            t.dims
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
            line.push(cell_of(t, def, &row.code, &col.code));
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
    let source_line = cube.schema["source_line"]
        .as_str()
        .unwrap_or("Source : ministère de la Justice/SSER")
        .to_string();
    Ok(DataTable {
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
            cube: cube.id.clone(),
            chain: origin.chain.clone(),
            run: origin.run,
            deliveries: origin.deliveries.clone(),
            patterns: periods
                .iter()
                .filter_map(|p| table_of(p).map(|(_, id)| (p.clone(), *id)))
                .collect(),
        },
    })
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

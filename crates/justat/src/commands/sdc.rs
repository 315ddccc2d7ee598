//! `justat sdc protect|audit`: statistical disclosure control from the command line, on
//! microdata CSV, pattern files or a cube (the contract other tools and benchmarks rely on).

use crate::config::Config;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use justat_publish::{CubeTable, cube_table, pattern_summary, record_pattern};
use justat_sdc::audit::audit_with;
use justat_sdc::secondary::{complete, protect_certified};
use justat_sdc::table::TableShape;
use justat_sdc::{Hierarchy, PrimaryRules, Table, microdata, pattern};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The dimensions and their hierarchies.
#[derive(Args, Clone)]
pub struct DimArgs {
    /// The dimensions (columns), comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    dims: Vec<String>,
    /// A dimension's hierarchy: `DIM=FILE.csv`, a CSV `code,parent` (the top code's parent
    /// empty). A dimension without one is flat, under a total `_T`.
    #[arg(long = "hierarchy")]
    hierarchies: Vec<String>,
}

/// Disclosure-control commands.
// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum SdcCommand {
    /// Apply the primary rules and choose secondary suppressions; write the pattern.
    Protect {
        /// Microdata: one record per contributor.
        #[arg(long, conflicts_with = "cube")]
        microdata: Option<PathBuf>,
        /// A cube produced by a chain (its id, see `justat cube list`), instead of microdata.
        #[arg(long)]
        cube: Option<justat_model::Sha256Hex>,
        /// With --cube: the period (`TIME_PERIOD`) of the table.
        #[arg(long, requires = "cube")]
        period: Option<String>,
        /// With --cube: the count measure to protect.
        #[arg(long, requires = "cube")]
        measure: Option<String>,
        /// With --cube: one of the linked tables published from the cube and period, as the
        /// dimensions it holds at one code, `DIM=CODE[,DIM=CODE…]` (e.g. `sex=_T`); the others
        /// are shown at every level (`DIM=A|B|C`: at these codes only). Repeat it: the tables are protected together, as one
        /// pattern over their union. Without it, the whole cube is one table.
        #[arg(long = "table", requires = "cube")]
        tables: Vec<String>,
        #[command(flatten)]
        dims: DimArgs,
        /// The response (magnitude) variable; without it the table counts records.
        #[arg(long)]
        response: Option<String>,
        /// Frequency threshold: a cell with fewer contributors is unsafe.
        #[arg(long, default_value_t = 5)]
        freq: u64,
        /// (n,k) dominance rule, as `n,k` (e.g. `1,85`); needs --response.
        #[arg(long)]
        dominance: Option<String>,
        /// p % rule; needs --response.
        #[arg(long)]
        p: Option<f64>,
        /// Protection interval required of each primary cell, in % of its value.
        #[arg(long, default_value_t = 10.0)]
        interval: f64,
        /// Complete this pattern (e.g. one made by another tool) as a protection finishes its
        /// own: what the audit finds exposed is protected, then the secondary suppressions
        /// (`D`) the rest of the pattern makes useless, the given ones included, are published
        /// again, and the same audit runs until it finds nothing. Its primaries stay.
        #[arg(long)]
        start_from: Option<PathBuf>,
        /// The pattern file to write.
        #[arg(long)]
        out: PathBuf,
        /// Also write the perturbations found, the certificates `justat sdc audit
        /// --certificates` checks instead of searching again (quick on large tables).
        #[arg(long, conflicts_with = "start_from")]
        certificates_out: Option<PathBuf>,
    },
    /// Audit a pattern: can an attacker narrow a primary cell inside its interval (by LP)?
    Audit {
        /// The pattern file (dimension codes, count, [value], status).
        #[arg(long)]
        pattern: PathBuf,
        #[command(flatten)]
        dims: DimArgs,
        /// Protection interval required of each primary cell, in % of its value.
        #[arg(long, default_value_t = 10.0)]
        interval: f64,
        /// Certificates written by `justat sdc protect --certificates-out`: each is checked
        /// against every relation before it counts, and what they leave unproven is searched.
        #[arg(long)]
        certificates: Option<PathBuf>,
    },
}

fn hierarchies(args: &DimArgs) -> Result<HashMap<String, Hierarchy>> {
    let mut out = HashMap::new();
    for h in &args.hierarchies {
        let (dim, file) = h
            .split_once('=')
            .with_context(|| format!("--hierarchy `{h}`: expected DIM=FILE.csv"))?;
        if !args.dims.iter().any(|d| d == dim) {
            bail!(
                "--hierarchy {dim}=…: `{dim}` is not one of --dims {}",
                args.dims.join(",")
            );
        }
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
        out.insert(dim.to_string(), Hierarchy::from_csv(dim, &text)?);
    }
    Ok(out)
}

/// Parses `--table DIM=CODE[,DIM=CODE…]` values into the linked tables' shapes.
fn table_shapes(tables: &[String], dims: &[String]) -> Result<Vec<TableShape>> {
    tables
        .iter()
        .map(|t| {
            let mut fixed = Vec::new();
            let mut shown = Vec::new();
            for part in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (dim, code) = part.split_once('=').with_context(|| {
                    format!("--table `{t}`: expected DIM=CODE[|CODE…][,DIM=CODE…] (e.g. sex=_T)")
                })?;
                if !dims.iter().any(|d| d == dim) {
                    bail!(
                        "--table `{t}`: `{dim}` is not one of --dims {}",
                        dims.join(",")
                    );
                }
                if code.contains('|') {
                    shown.push((dim.to_string(), code.split('|').map(String::from).collect()));
                } else {
                    fixed.push((dim.to_string(), code.to_string()));
                }
            }
            Ok(TableShape { fixed, shown })
        })
        .collect()
}

/// Runs a disclosure-control command; exit code 4 when an audit finds violations.
pub async fn run(config: &Config, command: SdcCommand) -> Result<ExitCode> {
    match command {
        SdcCommand::Protect {
            microdata: file,
            cube,
            period,
            measure,
            tables,
            dims,
            response,
            freq,
            dominance,
            p,
            interval,
            start_from,
            out,
            certificates_out,
        } => {
            let dominance = dominance
                .map(|d| -> Result<(usize, f64)> {
                    let (n, k) = d
                        .split_once(',')
                        .with_context(|| format!("--dominance `{d}`: expected n,k (e.g. 1,85)"))?;
                    Ok((
                        n.trim().parse().context("--dominance n")?,
                        k.trim().parse().context("--dominance k")?,
                    ))
                })
                .transpose()?;
            let rules = PrimaryRules {
                freq,
                dominance,
                p,
                interval_pct: interval,
            };
            let start = Instant::now();
            let given = hierarchies(&dims)?;
            // With a cube: the store, and the pattern to record once protected.
            let mut record: Option<(justat_store::Store, justat_store::NewPattern)> = None;
            let mut table = match (file, cube) {
                (Some(file), None) => {
                    let f = std::fs::File::open(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let (records, distinct) = microdata::read(
                        &file.display().to_string(),
                        std::io::BufReader::new(f),
                        &dims.dims,
                        response.as_deref(),
                    )?;
                    Table::from_microdata(
                        microdata::dimensions(&dims.dims, given, &distinct)?,
                        records,
                        response.is_some(),
                        &rules,
                    )?
                }
                (None, Some(cube)) => {
                    let period =
                        period.context("--cube needs --period (a TIME_PERIOD of the cube)")?;
                    let measure =
                        measure.context("--cube needs --measure (a count measure of the cube)")?;
                    let shapes = table_shapes(&tables, &dims.dims)?;
                    let store = crate::db::open_store(config).await?;
                    let lake = justat_store::Lake::new(&config.data_dir);
                    let CubeTable {
                        table,
                        pattern,
                        reused,
                    } = cube_table(
                        &store, &lake, &cube, &period, &measure, &dims.dims, &shapes, &rules,
                    )
                    .await?;
                    if let Some(line) = reused {
                        println!("{line}");
                    }
                    record = Some((store, pattern));
                    table
                }
                _ => bail!("give --microdata FILE.csv or --cube ID"),
            };
            let completing = start_from.is_some();
            if let Some(file) = start_from {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let start = pattern::read(table.dims.clone(), &text)
                    .with_context(|| format!("--start-from {}", file.display()))?;
                let taken = pattern::start_from(&mut table, &start)
                    .with_context(|| format!("--start-from {}", file.display()))?;
                println!(
                    "starting from {}: {taken} secondary suppressions",
                    file.display()
                );
            }
            // `protect` only returns a pattern its audit (every primary, singleton attacks
            // included) finds nothing in; otherwise it stops with the reason, nothing written.
            let engine = Instant::now();
            let (added, released, certificates) = if completing {
                let done = complete(&mut table)?;
                (done.added, Some(done.released), Vec::new())
            } else {
                let (added, certificates) = protect_certified(&mut table)?;
                (added, None, certificates)
            };
            let engine_s = engine.elapsed().as_secs_f64();
            let f = std::fs::File::create(&out)
                .with_context(|| format!("cannot write {}", out.display()))?;
            pattern::write(&table, std::io::BufWriter::new(f))?;
            if let Some(path) = &certificates_out {
                let f = std::fs::File::create(path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                pattern::write_certificates(&table, &certificates, std::io::BufWriter::new(f))?;
                println!(
                    "{} certificates written to {}",
                    certificates.len(),
                    path.display()
                );
            }
            println!("{}", pattern_summary(&table));
            if let Some((store, new)) = record {
                let id = record_pattern(&store, &table, new).await?;
                store.close().await;
                println!(
                    "recorded as pattern #{id}: the next protection of this cube and period starts from it"
                );
            }
            match released {
                Some(released) => println!(
                    "{added} secondary suppressions added, {released} of the starting pattern's released; audit: 0 exact disclosures, 0 interval violations"
                ),
                None => println!(
                    "{added} secondary suppressions; audit: 0 exact disclosures, 0 interval violations"
                ),
            }
            // The benchmarks' engine time: the secondary suppression and its audit rounds,
            // without reading the microdata, tabulating or writing.
            println!("secondary suppression and audit in {engine_s:.2} s");
            println!(
                "protected in {:.2} s; pattern written to {}",
                start.elapsed().as_secs_f64(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        SdcCommand::Audit {
            pattern: file,
            dims,
            interval,
            certificates,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let given = hierarchies(&dims)?;
            // Flat dimensions take their codes from the pattern itself.
            let (records, distinct) = microdata::read(
                &file.display().to_string(),
                text.as_bytes(),
                &dims.dims,
                None,
            )?;
            drop(records);
            let mut table =
                pattern::read(microdata::dimensions(&dims.dims, given, &distinct)?, &text)?;
            for c in &mut table.cells {
                if c.status.is_primary() {
                    c.lower = interval / 100.0 * c.value;
                    c.upper = c.lower;
                }
            }
            let certificates = match &certificates {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    pattern::read_certificates(&table, &text)
                        .with_context(|| format!("--certificates {}", path.display()))?
                }
                None => Vec::new(),
            };
            let report = audit_with(&table, true, &certificates)?;
            println!("{}", pattern_summary(&table));
            println!("exact disclosures: {}", report.exact_disclosures);
            println!("interval violations: {}", report.interval_violations);
            for v in report.violations.iter().take(20) {
                println!(
                    "  ({}) value {} → attacker's interval [{}, {}]{}{}",
                    v.label,
                    v.value,
                    v.min,
                    v.max,
                    if v.exact { ", exactly disclosed" } else { "" },
                    if v.singleton {
                        ", by a singleton contributor"
                    } else {
                        ""
                    }
                );
            }
            Ok(if report.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(4)
            })
        }
    }
}

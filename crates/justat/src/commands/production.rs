//! `justat delivery …`, `justat chain …`, `justat cube …`: deliveries, chain runs and cubes
//! from the command line.

use crate::config::Config;
use crate::db::open_store;
use crate::progress::{bar, deliver, print_delivery, run};
use anyhow::{Context, Result};
use clap::Subcommand;
use justat_engine::chain::Chain;
use justat_model::columns::Columns;
use justat_store::{Actor, Lake, Store};
use std::path::PathBuf;
use std::process::ExitCode;

/// Delivery commands.
#[derive(Subcommand)]
pub enum DeliveryCommand {
    /// Check an extract against its source and record it (CSV, CSV.gz or Parquet).
    Add {
        /// The source: a shipped one (penal, cjn, prison) or the path of a source .toml file.
        source: String,
        /// The file delivered.
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the deliveries.
    List {
        /// Print the list as JSON (instants in UTC, RFC 3339).
        #[arg(long)]
        json: bool,
    },
    /// Show a delivery's report.
    Show {
        /// The delivery's number.
        id: i64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Chain commands.
#[derive(Subcommand)]
pub enum ChainCommand {
    /// Run a chain over deliveries and record its cube and manifest.
    Run {
        /// The chain: a shipped one (penal_orientations, cjn_convictions, prison_stock) or the
        /// path of a chain .toml file.
        chain: String,
        /// The deliveries to read (repeat the option for several).
        #[arg(long = "delivery", required = true)]
        deliveries: Vec<i64>,
        /// Print the run (with its manifest) as JSON.
        #[arg(long)]
        json: bool,
        /// Queue the run as a job for a worker, as the back office does, and print the job's
        /// number instead of running it here (`justat job show N` follows it).
        #[arg(long, conflicts_with = "json")]
        queue: bool,
    },
    /// List the runs.
    Runs {
        /// Print the list as JSON (instants in UTC, RFC 3339).
        #[arg(long)]
        json: bool,
    },
    /// Show a run's manifest.
    Show {
        /// The run's number.
        id: i64,
    },
}

/// Options of `justat generate`.
#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The source: penal, cjn or prison.
    pub source: justat_synth::SourceKind,
    /// The years, as `2019-2024` or `2024`; one file per year.
    #[arg(long, value_parser = parse_years)]
    pub years: std::ops::RangeInclusive<i16>,
    /// 1 is the real national volume (penal ≈ 2 million rows a year).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// The seed: the same seed and options give byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of dirty rows (unknown codes, dates in the wrong order, duplicates, missing
    /// values, impossible ages, one ragged line per file).
    #[arg(long, default_value_t = 0.0)]
    pub dirt: f64,
    /// Write `.csv.gz` files.
    #[arg(long)]
    pub gzip: bool,
    /// The folder to write into (created if needed).
    #[arg(long)]
    pub out: PathBuf,
}

fn parse_years(s: &str) -> Result<std::ops::RangeInclusive<i16>, String> {
    let bad = || format!("`{s}` is not a year or a range of years like 2019-2024");
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (i16, i16) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a > b {
        return Err(format!("{s}: the first year comes after the last"));
    }
    Ok(a..=b)
}

/// Writes synthetic extracts and lists them.
pub fn generate(args: &GenerateArgs) -> Result<ExitCode> {
    let opts = justat_synth::GenerateOptions {
        source: args.source,
        years: args.years.clone(),
        scale: args.scale,
        seed: args.seed,
        dirt: args.dirt,
        gzip: args.gzip,
    };
    let pb = bar(0, &format!("generating {}", args.source));
    pb.set_length(u64::MAX);
    let files = justat_synth::generate(&opts, &args.out, &mut |rows| pb.set_position(rows));
    pb.finish_and_clear();
    for f in files? {
        println!(
            "{}  {:>10} rows  {:>8} dirty",
            f.path.display(),
            f.rows,
            f.dirty_rows
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Codelist commands.
#[derive(Subcommand)]
pub enum CodelistCommand {
    /// List the codelists shipped with Justat.
    List {
        /// Print the list as JSON (instants in UTC, RFC 3339).
        #[arg(long)]
        json: bool,
    },
    /// Show a codelist as a tree, with validity periods.
    Show {
        /// Its id (`CL_COURT`).
        id: String,
    },
}

/// Lists or shows codelists.
pub fn codelist(command: CodelistCommand) -> Result<ExitCode> {
    use justat_model::codelist::{shipped, shipped_codelist};
    match command {
        CodelistCommand::List { json } => {
            let mut t = Columns::new(&["ID", "CODES", "LEVELS", "LABEL"])
                .right(1)
                .right(2);
            let mut all = Vec::new();
            for cl in shipped() {
                let depth = cl
                    .codes()
                    .iter()
                    .filter_map(|c| cl.depth(&c.code))
                    .max()
                    .unwrap_or(0);
                all.push(serde_json::json!({
                    "id": cl.id(),
                    "codes": cl.len(),
                    "levels": depth + 1,
                    "label": cl.label(),
                }));
                t.row([
                    cl.id().to_string(),
                    cl.len().to_string(),
                    (depth + 1).to_string(),
                    cl.label().to_string(),
                ]);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                print!("{}", t.render());
            }
        }
        CodelistCommand::Show { id } => {
            let cl = shipped_codelist(&id)
                .with_context(|| format!("no codelist `{id}`; see `justat codelist list`"))?;
            println!("{} — {}", cl.id(), cl.label());
            for c in cl.codes() {
                let indent = "  ".repeat(cl.depth(&c.code).unwrap_or(0));
                let validity = match (c.valid_from, c.valid_to) {
                    (None, None) => String::new(),
                    (f, t) => format!(
                        "  [{} → {}]",
                        f.map_or("…".into(), |d| d.to_string()),
                        t.map_or("…".into(), |d| d.to_string())
                    ),
                };
                println!("{indent}{:<16} {}{validity}", c.code, c.label);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Cube commands.
#[derive(Subcommand)]
pub enum CubeCommand {
    /// List the cubes.
    List {
        /// Print the list as JSON (instants in UTC, RFC 3339).
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `justat delivery` command.
pub async fn delivery(config: &Config, command: DeliveryCommand) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let lake = Lake::new(&config.data_dir);
    let code = match command {
        DeliveryCommand::Add { source, file, json } => {
            let d = deliver(&store, &lake, &source, &file, json).await?;
            if !d.status.feeds_chains() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        DeliveryCommand::List { json } => {
            let all = store.deliveries().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                let mut t = Columns::new(&["ID", "SOURCE", "STATUS", "KEPT", "REJECTED", "FILE"])
                    .right(0)
                    .right(3)
                    .right(4);
                for d in all {
                    t.row([
                        d.id.to_string(),
                        d.source,
                        d.status.to_string(),
                        d.rows_ok.to_string(),
                        d.rows_rejected.to_string(),
                        d.file_name,
                    ]);
                }
                print!("{}", t.render());
            }
            ExitCode::SUCCESS
        }
        DeliveryCommand::Show { id, json } => {
            let d = store.delivery(id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?)
            } else {
                print_delivery(&d)
            }
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}

/// Runs a `justat chain` command.
pub async fn chain(config: &Config, command: ChainCommand) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let lake = Lake::new(&config.data_dir);
    match command {
        ChainCommand::Run {
            chain,
            deliveries,
            queue: true,
            ..
        } => {
            Chain::load(&chain)?;
            let job = store
                .enqueue_job(
                    &justat_model::JobRequest::ChainRun { chain, deliveries },
                    &Actor::cli(),
                    jiff::Timestamp::now(),
                )
                .await?;
            println!("job {} queued", job.id);
        }
        ChainCommand::Run {
            chain,
            deliveries,
            json,
            queue: false,
        } => {
            let r = run(&store, &lake, config, &chain, &deliveries, json).await?;
            if r.cube_id.is_some() {
                refresh_dashboards(&store, &lake, json).await?;
            }
        }
        ChainCommand::Runs { json } => {
            let all = store.runs().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                let mut t = Columns::new(&["ID", "CHAIN", "V", "STATUS", "INPUTS", "CUBE"])
                    .right(0)
                    .right(2);
                for r in all {
                    let inputs = r
                        .inputs
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(",");
                    t.row([
                        r.id.to_string(),
                        r.chain.to_string(),
                        r.chain_version.to_string(),
                        r.status.to_string(),
                        inputs,
                        r.cube_id.map_or("-".to_string(), |c| c.to_string()),
                    ]);
                }
                print!("{}", t.render());
            }
        }
        ChainCommand::Show { id } => {
            let r = store.run(id).await?;
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Runs a `justat cube` command.
pub async fn cube(config: &Config, command: CubeCommand) -> Result<ExitCode> {
    let store = open_store(config).await?;
    match command {
        CubeCommand::List { json } => {
            let all = store.cubes().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                let mut t = Columns::new(&["ID", "NAME", "CELLS", "SOURCE"]).right(2);
                for c in all {
                    t.row([
                        c.id.to_string(),
                        c.name.to_string(),
                        c.rows.to_string(),
                        c.schema.source_line.clone().unwrap_or_default(),
                    ]);
                }
                print!("{}", t.render());
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Computes again the steering dashboards whose chain produced a newer cube (in this process,
/// as the worker does after a queued run: never in the web server).
pub async fn refresh_dashboards(store: &Store, lake: &Lake, quiet: bool) -> Result<()> {
    let report =
        justat_publish::dashboard::refresh(store, lake, &Actor::cli(), jiff::Timestamp::now())
            .await?;
    if !quiet && !report.computed.is_empty() {
        println!("dashboards refreshed: {}", report.computed.join(", "));
    }
    Ok(())
}

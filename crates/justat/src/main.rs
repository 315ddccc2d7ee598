//! The `justat` command: the server, the demo and the administration commands.
//!
//! This binary only wires configuration into the library crates; it holds no business logic.

mod calendar;
mod config;
mod demo;
mod embargo;
mod incident;
mod jobs;
mod production;
mod publication;
mod sdc;
mod serve;
mod user;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

/// Justat: the statistical production and dissemination system of the statistical service of
/// the French Ministry of Justice (SSER).
#[derive(Parser)]
#[command(name = "justat", version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: ./justat.toml if it exists). Every key can also be set
    /// by an environment variable JUSTAT_<KEY>, which wins over the file.
    #[arg(long, global = true, env = "JUSTAT_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the public site and the back office.
    Serve,
    /// Prepare the demo data and accounts, then serve.
    Demo {
        /// Prepare the demo data and exit without serving.
        #[arg(long)]
        prepare_only: bool,
    },
    /// Print the effective configuration and where each value comes from.
    Config,
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Deliveries of the management applications' extracts.
    Delivery {
        #[command(subcommand)]
        command: production::DeliveryCommand,
    },
    /// Processing chains.
    Chain {
        #[command(subcommand)]
        command: production::ChainCommand,
    },
    /// Cubes produced by the chains.
    Cube {
        #[command(subcommand)]
        command: production::CubeCommand,
    },
    /// The codelists (nomenclatures) shipped with Justat.
    Codelist {
        #[command(subcommand)]
        command: production::CodelistCommand,
    },
    /// Write deterministic synthetic extracts of a management application.
    Generate(production::GenerateArgs),
    /// Statistical disclosure control (secret statistique) of tables.
    Sdc {
        // Boxed: the protect command's many options would make every other command as large.
        #[command(subcommand)]
        command: Box<sdc::SdcCommand>,
    },
    /// Publications: build from a folder, list, and move versions through the lifecycle.
    Publication {
        #[command(subcommand)]
        command: publication::PublicationCommand,
    },
    /// The release calendar: announce releases, confirm, move or cancel them.
    Calendar {
        #[command(subcommand)]
        command: calendar::CalendarCommand,
    },
    /// Early access: a release's recipient list, its approval, its transmission to the ASP.
    Embargo {
        #[command(subcommand)]
        command: embargo::EmbargoCommand,
    },
    /// The incident register of releases: report, review, list.
    Incident {
        #[command(subcommand)]
        command: incident::IncidentCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply the migrations the database lacks (they are also applied at start).
    Migrate,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check that no entry of the audit log was edited, deleted, inserted or reordered.
    Verify,
}

fn main() -> ExitCode {
    sigpipe::reset();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let loaded = Config::load(cli.config.as_deref(), &|k| std::env::var(k).ok())?;
    init_logging(&loaded.config.log);
    justat_engine::reader::ReadLimits::install(loaded.config.read_limits());
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let config = loaded.config.clone();
    runtime.block_on(async move {
        match cli.command {
            Command::Config => {
                print!("{}", loaded.render());
                Ok(ExitCode::SUCCESS)
            }
            Command::Serve => serve::serve(&config).await.map(|()| ExitCode::SUCCESS),
            Command::Demo { prepare_only } => demo::demo(&config, prepare_only)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Db {
                command: DbCommand::Migrate,
            } => {
                let store = serve::open_store(&config).await?;
                println!(
                    "database {} is up to date",
                    justat_store::redact_url(&config.database_url())
                );
                store.close().await;
                Ok(ExitCode::SUCCESS)
            }
            Command::User { command } => user::run(&config, command).await,
            Command::Delivery { command } => production::delivery(&config, command).await,
            Command::Chain { command } => production::chain(&config, command).await,
            Command::Cube { command } => production::cube(&config, command).await,
            Command::Generate(args) => production::generate(&args),
            Command::Codelist { command } => production::codelist(command),
            Command::Sdc { command } => sdc::run(&config, *command).await,
            Command::Publication { command } => publication::run(&config, command)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Calendar { command } => calendar::run(&config, command)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Embargo { command } => embargo::run(&config, command)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Incident { command } => incident::run(&config, command)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Audit {
                command: AuditCommand::Verify,
            } => audit_verify(&config).await,
        }
    })
}

async fn audit_verify(config: &Config) -> Result<ExitCode> {
    let store = serve::open_store(config).await?;
    let result = store.verify_audit().await?;
    store.close().await;
    match result {
        Ok(n) => {
            println!("audit log OK: {n} entries verified, the hash chain is intact");
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            println!("audit log BROKEN: {broken}");
            println!(
                "the entries before #{} are intact; investigate from there",
                broken.seq()
            );
            Ok(ExitCode::from(2))
        }
    }
}

fn init_logging(filter: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

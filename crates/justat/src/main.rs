//! The `justat` command: the server, the demo and the administration commands.
//!
//! This binary only wires configuration into the library crates; it holds no business logic.
//! Its modules: the commands (`commands`, one module each, none importing another) and the
//! infrastructure they share — the configuration (`config`), the database opened or migrated
//! (`db`), the progress bars and printed reports of long operations (`progress`), the server
//! (`server`) with its tasks by the clock (`scheduler`), and the worker process (`worker`)
//! executing the back office's jobs (`jobs`).

mod commands;
mod config;
mod db;
mod jobs;
mod progress;
mod scheduler;
mod server;
mod worker;

use commands::{
    audit, calendar, demo, embargo, incident, mail, production, publication, sdc, survey, user,
};

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
    /// Serve the public site and the back office (with a worker process for the back
    /// office's jobs, unless `start_worker` is false).
    Serve {
        /// Start no worker: jobs wait for `justat worker` processes run apart.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the back office's jobs (delivery checks, chain runs, builds, transmissions) one at
    /// a time until stopped, apart from the web server.
    Worker {
        /// The name this worker writes in the jobs it takes (default: worker-PID-START).
        #[arg(long)]
        id: Option<String>,
        /// Stop (failing the job under way) when standard input closes: `serve` starts its
        /// worker so, so that the worker never outlives it.
        #[arg(long, hide = true)]
        supervised: bool,
    },
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
    /// The jobs queued for the workers.
    Job {
        #[command(subcommand)]
        command: JobCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// An SMTP server on loopback that writes every message it receives into a folder as an
    /// `.eml` file: survey mail for the demo, or a configuration tried without sending out.
    MailSink(mail::SinkArgs),
    /// Send one trial message through the configured SMTP server (`smtp_host`, `mail_from`…).
    MailTest(mail::TestArgs),
    /// Surveys: campaigns followed (list, status, non-respondents), closed, imputed, validated,
    /// a response reopened, and a validated campaign delivered to production.
    Survey {
        #[command(subcommand)]
        command: survey::SurveyCommand,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply the migrations the database lacks and name each (on PostgreSQL, as the role that
    /// owns the schema; other commands refuse a PostgreSQL database that lacks migrations).
    Migrate(commands::db::MigrateArgs),
}

#[derive(Subcommand)]
enum JobCommand {
    /// Show a job: its status, progress, worker, outcome or error, as JSON.
    Show {
        /// The job's number.
        id: i64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A worker keeps Rust's default (a closed pipe is an error, not death): its log goes to
    // the serve that started it, and when that one dies the worker must live long enough to
    // mark its job failed.
    if !matches!(cli.command, Command::Worker { .. }) {
        sigpipe::reset();
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_message(&e));
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
            Command::Serve { no_worker } => {
                let config = Config {
                    start_worker: config.start_worker && !no_worker,
                    ..config
                };
                server::serve(&config).await.map(|()| ExitCode::SUCCESS)
            }
            Command::Worker { id, supervised } => worker::run(&config, id, supervised)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Demo { prepare_only } => demo::demo(&config, prepare_only)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Db {
                command: DbCommand::Migrate(args),
            } => commands::db::migrate(&config, args).await,
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
            Command::Job {
                command: JobCommand::Show { id },
            } => {
                let store = db::open_store(&config).await?;
                let job = store.job(id).await?;
                store.close().await;
                println!("{}", serde_json::to_string_pretty(&job)?);
                Ok(ExitCode::SUCCESS)
            }
            Command::Audit { command } => audit::run(&config, command).await,
            Command::MailSink(args) => mail::sink(args).await,
            Command::MailTest(args) => mail::test(&config, args).await,
            Command::Survey { command } => survey::run(&config, command).await,
        }
    })
}

/// An error and its causes in one message, each said once: a cause already in the message
/// (a context repeating its source, a store error naming the driver's) is not repeated.
fn one_message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || out.contains(text) {
            continue;
        }
        if text.contains(out.as_str()) {
            out = text.to_string();
        } else {
            out = format!("{out}: {text}");
        }
    }
    out
}

fn init_logging(filter: &str) {
    let mut filter = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    // sqlx reports every statement slower than a second as a warning: noise for a person
    // running a command (a debug build's demo has some), unless asked for by name.
    if !filter.contains("sqlx") && !filter.trim().is_empty() {
        filter.push_str(",sqlx::query=error");
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::one_message;
    use anyhow::Context;

    #[test]
    fn an_error_chain_says_each_cause_once() {
        let e = Err::<(), _>(anyhow::anyhow!("password authentication failed"))
            .context("cannot open the database x: password authentication failed")
            .context("cannot open the database x: password authentication failed")
            .unwrap_err();
        assert_eq!(
            one_message(&e),
            "cannot open the database x: password authentication failed"
        );
        let e = Err::<(), _>(anyhow::anyhow!("no such file"))
            .context("cannot read a.toml")
            .unwrap_err();
        assert_eq!(one_message(&e), "cannot read a.toml: no such file");
    }
}

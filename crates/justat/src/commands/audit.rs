//! `justat audit …`: the verification of the audit log — its hash chain, and the table
//! against the signed checkpoints kept outside the database — the signing key and the
//! checkpoints taken on demand (the server's daily checkpoint is `crate::scheduler`'s).

use crate::config::Config;
use crate::db::open_store;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jiff::Timestamp;
use justat_model::checkpoint::{fingerprint, parse_public_key, public_key_hex};
use justat_store::checkpoints::{generate_key, load_public_key, read_checkpoint_lines};
use std::path::PathBuf;
use std::process::ExitCode;

/// Audit log commands.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check that no entry of the audit log was edited, deleted, inserted or reordered, and
    /// that the table still holds what the signed checkpoints recorded.
    Verify {
        /// Also trust this public key (64 hexadecimal digits), e.g. a retired key whose
        /// checkpoints are still in the file. Repeatable.
        #[arg(long, value_name = "HEX")]
        public_key: Vec<String>,
        /// Check this checkpoint file instead of the configured one (e.g. a copy kept
        /// elsewhere, or the lines received by the ASP).
        #[arg(long, value_name = "FILE")]
        checkpoints: Option<PathBuf>,
    },
    /// Sign the log's current head now and append it to the checkpoint file.
    Checkpoint,
    /// Create the signing key at `audit_key` (never replaces one) and print its public key.
    Keygen {
        /// Where to create it instead of `audit_key`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Runs an audit command.
pub async fn run(config: &Config, command: AuditCommand) -> Result<ExitCode> {
    match command {
        AuditCommand::Keygen { out } => {
            let path = match out {
                Some(p) => p,
                None if config.audit_key.as_os_str().is_empty() => {
                    bail!(
                        "no audit_key is configured: set audit_key (or JUSTAT_AUDIT_KEY) to the key's path, or give --out"
                    )
                }
                None => config.audit_key.clone(),
            };
            let public = generate_key(&path)?;
            println!("audit signing key created: {}", path.display());
            println!(
                "public key: {} ({})",
                public_key_hex(&public),
                fingerprint(&public)
            );
            println!(
                "write the fingerprint down outside this host; keep the key off the database host and out of its backups"
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint => {
            let Some(checkpoints) = config.checkpoints() else {
                bail!(
                    "no audit_key is configured: checkpoints cannot be signed (see `justat audit keygen`)"
                );
            };
            let store = open_store(config).await?;
            let signed = store.checkpoint(Timestamp::now()).await;
            store.close().await;
            match signed? {
                Some(c) => println!(
                    "checkpoint signed: entry #{} ({}) at {}, appended to {}",
                    c.checkpoint.seq,
                    c.checkpoint.hash,
                    c.checkpoint.at,
                    checkpoints.file().display()
                ),
                None => println!("the audit log is empty: nothing to sign"),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify {
            public_key,
            checkpoints,
        } => verify(config, &public_key, checkpoints).await,
    }
}

async fn verify(config: &Config, extra_keys: &[String], file: Option<PathBuf>) -> Result<ExitCode> {
    let mut trusted = Vec::new();
    for k in extra_keys {
        trusted.push(parse_public_key(k).with_context(|| format!("--public-key {k}"))?);
    }
    if let Some(c) = config.checkpoints() {
        trusted.push(load_public_key(&c.key).context("audit_key")?);
    }
    let file = file.unwrap_or_else(|| {
        config
            .checkpoint_dir()
            .join(justat_store::checkpoints::CHECKPOINT_FILE)
    });
    let store = open_store(config).await?;
    crate::db::warn_missing_guards(&store).await?;
    let chain = store.verify_audit().await;
    let anchored = if trusted.is_empty() {
        None
    } else {
        Some(store.verify_audit_checkpoints(&file, &trusted).await)
    };
    store.close().await;
    let mut broken = false;
    match chain? {
        Ok(n) => println!("audit log OK: {n} entries verified, the hash chain is intact"),
        Err(b) => {
            broken = true;
            println!("audit log BROKEN: {b}");
            println!(
                "the entries before #{} are intact; investigate from there",
                b.seq()
            );
        }
    }
    let lines = read_checkpoint_lines(&file)?;
    match anchored {
        None => {
            println!(
                "WARNING: no audit_key is configured: the log is not anchored outside the database, and a rewrite that recomputes every hash would go unseen (see `justat audit keygen`)"
            );
            if !lines.is_empty() {
                println!(
                    "WARNING: {} holds {} checkpoint line(s) that cannot be checked without a trusted key (set audit_key or give --public-key)",
                    file.display(),
                    lines.len()
                );
            }
        }
        Some(result) => match result? {
            Ok(report) if report.checked == 0 => println!(
                "WARNING: no signed checkpoint in {}: the log is not anchored yet (run `justat audit checkpoint`)",
                file.display()
            ),
            Ok(report) => println!("checkpoints OK ({}): {report}", file.display()),
            Err(b) => {
                broken = true;
                println!("audit log BROKEN: {b}");
                println!("checkpoint file: {}", file.display());
            }
        },
    }
    Ok(if broken {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

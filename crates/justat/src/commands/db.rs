//! `justat db migrate`: applies the migrations a database lacks and names each, then grants a
//! PostgreSQL serving role what it needs when asked (who migrates: see `crate::db`).

use crate::config::Config;
use crate::db::warn_missing_guards;
use anyhow::Result;
use justat_store::{Backend, Store, StoreError, redact_url};
use std::process::ExitCode;

/// `justat db migrate`'s options.
#[derive(clap::Args)]
pub struct MigrateArgs {
    /// The database to migrate, as the role that owns its schema (default: database_url).
    /// Keeps the owner's password out of the serving configuration.
    #[arg(
        long,
        env = "JUSTAT_MIGRATE_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    url: Option<String>,
    /// PostgreSQL: then give ROLE the rights serving needs and no more (rows read and written;
    /// the audit log and the calendar's history only read and appended to; no DDL).
    #[arg(long, value_name = "ROLE")]
    grant_to: Option<String>,
}

/// `justat db migrate`: applies the migrations the database lacks and names each, then grants
/// the serving role when asked.
pub async fn migrate(config: &Config, args: MigrateArgs) -> Result<ExitCode> {
    let url = args.url.unwrap_or_else(|| config.database_url());
    if Backend::of_url(&url).is_none() {
        return Err(StoreError::UnsupportedUrl {
            url: redact_url(&url),
        }
        .into());
    }
    let shown = redact_url(&url);
    let store = Store::open(&url).await?;
    let result = async {
        let applied = store.migrate().await?;
        if applied.is_empty() {
            println!("database {shown} is up to date: no migration to apply");
        } else {
            for m in &applied {
                println!("applied migration {:04} {}", m.version, m.name);
            }
            println!(
                "database {shown}: {} migration{} applied",
                applied.len(),
                if applied.len() == 1 { "" } else { "s" }
            );
        }
        if let Some(role) = &args.grant_to {
            store.grant_serving_role(role).await?;
            println!(
                "granted `{role}` what serving needs: rows read and written, the audit log and \
                 the calendar's history only read and appended to, no change to the schema"
            );
        }
        warn_missing_guards(&store).await
    }
    .await;
    store.close().await;
    result.map(|()| ExitCode::SUCCESS)
}

//! How the commands open the database.
//!
//! Who migrates: `justat db migrate` (`crate::commands::db`) applies the migrations a database lacks and says which
//! (on PostgreSQL, run with the role that owns the schema); `justat demo` applies them too,
//! as it prepares a database from nothing. Every other command applies them on SQLite — the
//! file belongs to whoever runs Justat, and there is nobody else to ask — and on PostgreSQL
//! refuses an outdated schema, naming the migrations missing: the serving role has no right to
//! change the schema, and a schema shared by servers changes when its owner decides.

use crate::config::Config;
use anyhow::{Context, Result};
use justat_store::{Backend, Store, StoreError, redact_url};

/// Opens the configured database for a command, migrating it or refusing it as the module's
/// documentation says.
pub async fn open_store(config: &Config) -> Result<Store> {
    let url = config.database_url();
    let store = Store::open(&url).await?;
    if store.backend() == Backend::Sqlite {
        store
            .migrate()
            .await
            .context("cannot migrate the database")?;
    } else {
        let pending = store.pending_migrations().await?;
        if !pending.is_empty() {
            store.close().await;
            return Err(StoreError::NotMigrated {
                url: redact_url(&url),
                pending,
            }
            .into());
        }
    }
    Ok(with_checkpoints(config, store))
}

/// Opens the configured database and applies the migrations it lacks, whichever the backend
/// (`justat demo`, which prepares everything).
pub async fn open_and_migrate(config: &Config) -> Result<Store> {
    let store = Store::open(&config.database_url()).await?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(with_checkpoints(config, store))
}

/// The store signing checkpoints of its audit log when a key is configured.
fn with_checkpoints(config: &Config, store: Store) -> Store {
    match config.checkpoints() {
        Some(c) => store.with_checkpoints(c),
        None => store,
    }
}

/// Warns on stderr when the triggers that make the audit log (and the calendar's history)
/// append-only are missing or disabled: the database then no longer refuses an edit.
pub async fn warn_missing_guards(store: &Store) -> Result<()> {
    let missing = store.missing_append_only_guards().await?;
    if !missing.is_empty() {
        eprintln!(
            "warning: the append-only guards {} are missing or disabled: the database no longer \
             refuses updates and deletes of the audit log; someone with the schema owner's rights \
             removed them (run `justat audit verify`, and re-create them as the migrations do)",
            missing.join(", ")
        );
    }
    Ok(())
}

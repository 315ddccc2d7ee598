//! Schema migrations, one numbered file per database dialect, applied in order and recorded
//! with a checksum so that an applied migration edited afterwards is noticed.

use crate::{Backend, Store, StoreError};
use justat_model::Sha256Hex;
use sqlx::Row;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, oldest first. Add new ones at the end; never edit an applied one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "accounts_sessions_audit",
        sqlite: include_str!("../migrations/sqlite/0001_accounts_sessions_audit.sql"),
        postgres: include_str!("../migrations/postgres/0001_accounts_sessions_audit.sql"),
    },
    Migration {
        version: 2,
        name: "deliveries_runs_cubes",
        sqlite: include_str!("../migrations/sqlite/0002_deliveries_runs_cubes.sql"),
        postgres: include_str!("../migrations/postgres/0002_deliveries_runs_cubes.sql"),
    },
    Migration {
        version: 3,
        name: "jobs",
        sqlite: include_str!("../migrations/sqlite/0003_jobs.sql"),
        postgres: include_str!("../migrations/postgres/0003_jobs.sql"),
    },
    Migration {
        version: 4,
        name: "sdc_patterns",
        sqlite: include_str!("../migrations/sqlite/0004_sdc_patterns.sql"),
        postgres: include_str!("../migrations/postgres/0004_sdc_patterns.sql"),
    },
    Migration {
        version: 5,
        name: "publications",
        sqlite: include_str!("../migrations/sqlite/0005_publications.sql"),
        postgres: include_str!("../migrations/postgres/0005_publications.sql"),
    },
    Migration {
        version: 6,
        name: "release_calendar",
        sqlite: include_str!("../migrations/sqlite/0006_release_calendar.sql"),
        postgres: include_str!("../migrations/postgres/0006_release_calendar.sql"),
    },
    Migration {
        version: 7,
        name: "embargo",
        sqlite: include_str!("../migrations/sqlite/0007_embargo.sql"),
        postgres: include_str!("../migrations/postgres/0007_embargo.sql"),
    },
    Migration {
        version: 8,
        name: "incidents",
        sqlite: include_str!("../migrations/sqlite/0008_incidents.sql"),
        postgres: include_str!("../migrations/postgres/0008_incidents.sql"),
    },
    Migration {
        version: 9,
        name: "versions_on_release",
        sqlite: include_str!("../migrations/sqlite/0009_versions_on_release.sql"),
        postgres: include_str!("../migrations/postgres/0009_versions_on_release.sql"),
    },
];

/// A migration that [`Store::migrate`] applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its number.
    pub version: i64,
    /// Its name.
    pub name: &'static str,
}

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

impl Store {
    /// Applies the migrations the database lacks, each in its own transaction, and returns
    /// them. Refuses a database whose applied migrations differ from this build's.
    pub async fn migrate(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        let _guard = self.write_lock.lock().await;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .execute(self.pool())
        .await?;
        let rows =
            sqlx::query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
                .fetch_all(self.pool())
                .await?;
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        let mut applied = Vec::new();
        for row in &rows {
            let version: i64 = row.try_get("version")?;
            let checksum: String = row.try_get("checksum")?;
            let Some(m) = MIGRATIONS.iter().find(|m| m.version == version) else {
                return Err(StoreError::TooNew {
                    found: version,
                    known,
                });
            };
            if Sha256Hex::of(m.sql(self.backend).as_bytes()).as_str() != checksum {
                return Err(StoreError::MigrationChanged {
                    version,
                    name: m.name.to_string(),
                });
            }
            applied.push(version);
        }
        let mut done = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let sql = m.sql(self.backend);
            let mut tx = self.pool().begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
                .bind(m.version)
                .bind(m.name)
                .bind(Sha256Hex::of(sql.as_bytes()).as_str().to_string())
                .bind(crate::time::to_db(jiff::Timestamp::now()))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "migration applied");
            done.push(AppliedMigration {
                version: m.version,
                name: m.name,
            });
        }
        Ok(done)
    }
}

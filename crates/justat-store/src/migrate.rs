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
    Migration {
        version: 10,
        name: "release_change_roles",
        sqlite: include_str!("../migrations/sqlite/0010_release_change_roles.sql"),
        postgres: include_str!("../migrations/postgres/0010_release_change_roles.sql"),
    },
    Migration {
        version: 11,
        name: "login_attempts_in_flight",
        sqlite: include_str!("../migrations/sqlite/0011_login_attempts_in_flight.sql"),
        postgres: include_str!("../migrations/postgres/0011_login_attempts_in_flight.sql"),
    },
    Migration {
        version: 12,
        name: "job_workers",
        sqlite: include_str!("../migrations/sqlite/0012_job_workers.sql"),
        postgres: include_str!("../migrations/postgres/0012_job_workers.sql"),
    },
    Migration {
        version: 13,
        name: "surveys",
        sqlite: include_str!("../migrations/sqlite/0013_surveys.sql"),
        postgres: include_str!("../migrations/postgres/0013_surveys.sql"),
    },
    Migration {
        version: 14,
        name: "steering_dashboards",
        sqlite: include_str!("../migrations/sqlite/0014_steering_dashboards.sql"),
        postgres: include_str!("../migrations/postgres/0014_steering_dashboards.sql"),
    },
    Migration {
        version: 15,
        name: "survey_sessions",
        sqlite: include_str!("../migrations/sqlite/0015_survey_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0015_survey_sessions.sql"),
    },
    Migration {
        version: 16,
        name: "work_programme",
        sqlite: include_str!("../migrations/sqlite/0016_work_programme.sql"),
        postgres: include_str!("../migrations/postgres/0016_work_programme.sql"),
    },
    Migration {
        version: 17,
        name: "public_state",
        sqlite: include_str!("../migrations/sqlite/0017_public_state.sql"),
        postgres: include_str!("../migrations/postgres/0017_public_state.sql"),
    },
];

/// A migration: one [`Store::migrate`] applied, or one [`Store::pending_migrations`] lists.
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

/// Tables the application only ever reads and appends to: the serving role gets no `UPDATE`,
/// `DELETE` or `TRUNCATE` on them (triggers refuse those too, and only the owner can drop them).
const APPEND_ONLY: &[&str] = &[
    "audit_log",
    "release_changes",
    "survey_unit_changes",
    "survey_status_events",
    "survey_saves",
    "survey_edits",
    "survey_reminders",
    "programme_changes",
];

/// The triggers that keep the append-only tables append-only, per dialect: (table, trigger).
const GUARDS_SQLITE: &[(&str, &str)] = &[
    ("audit_log", "audit_log_no_update"),
    ("audit_log", "audit_log_no_delete"),
    ("release_changes", "release_changes_no_update"),
    ("release_changes", "release_changes_no_delete"),
    ("survey_unit_changes", "survey_unit_changes_no_update"),
    ("survey_unit_changes", "survey_unit_changes_no_delete"),
    ("survey_status_events", "survey_status_events_no_update"),
    ("survey_status_events", "survey_status_events_no_delete"),
    ("survey_saves", "survey_saves_no_update"),
    ("survey_saves", "survey_saves_no_delete"),
    ("survey_edits", "survey_edits_no_update"),
    ("survey_edits", "survey_edits_no_delete"),
    ("survey_reminders", "survey_reminders_no_update"),
    ("survey_reminders", "survey_reminders_no_delete"),
    ("programme_changes", "programme_changes_no_update"),
    ("programme_changes", "programme_changes_no_delete"),
];
const GUARDS_POSTGRES: &[(&str, &str)] = &[
    ("audit_log", "audit_log_no_update"),
    ("audit_log", "audit_log_no_truncate"),
    ("release_changes", "release_changes_no_update"),
    ("release_changes", "release_changes_no_truncate"),
    ("survey_unit_changes", "survey_unit_changes_no_update"),
    ("survey_unit_changes", "survey_unit_changes_no_truncate"),
    ("survey_status_events", "survey_status_events_no_update"),
    ("survey_status_events", "survey_status_events_no_truncate"),
    ("survey_saves", "survey_saves_no_update"),
    ("survey_saves", "survey_saves_no_truncate"),
    ("survey_edits", "survey_edits_no_update"),
    ("survey_edits", "survey_edits_no_truncate"),
    ("survey_reminders", "survey_reminders_no_update"),
    ("survey_reminders", "survey_reminders_no_truncate"),
    ("programme_changes", "programme_changes_no_update"),
    ("programme_changes", "programme_changes_no_truncate"),
];

/// Whether `name` can be written as a PostgreSQL identifier without quoting surprises.
fn plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

impl Store {
    /// Whether the migrations' bookkeeping table exists. Asked of the catalogue rather than
    /// with `CREATE TABLE IF NOT EXISTS`, which PostgreSQL answers with a notice every time.
    async fn has_migrations_table(&self) -> Result<bool, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'"
            }
        };
        let n: i64 = sqlx::query(sql)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(n > 0)
    }

    /// The versions applied, checked against this build's migrations.
    async fn applied_versions(&self) -> Result<Vec<i64>, StoreError> {
        if !self.has_migrations_table().await? {
            return Ok(Vec::new());
        }
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
        Ok(applied)
    }

    /// The migrations the database lacks, oldest first; changes nothing. Refuses a database
    /// whose applied migrations differ from this build's, as [`Store::migrate`] does.
    pub async fn pending_migrations(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        let applied = self.applied_versions().await?;
        Ok(MIGRATIONS
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| AppliedMigration {
                version: m.version,
                name: m.name,
            })
            .collect())
    }

    /// Applies the migrations the database lacks, each in its own transaction, and returns
    /// them. Refuses a database whose applied migrations differ from this build's.
    pub async fn migrate(&self) -> Result<Vec<AppliedMigration>, StoreError> {
        let _guard = self.write_lock.lock().await;
        let applied = self.applied_versions().await?;
        if MIGRATIONS.iter().all(|m| applied.contains(&m.version)) {
            return Ok(Vec::new());
        }
        if !self.has_migrations_table().await? {
            sqlx::query(
                "CREATE TABLE schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .execute(self.pool())
            .await?;
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
            tracing::debug!(version = m.version, name = m.name, "migration applied");
            done.push(AppliedMigration {
                version: m.version,
                name: m.name,
            });
        }
        Ok(done)
    }

    /// Gives a PostgreSQL role what serving needs and nothing more: reading and writing the
    /// application's rows, but only reading and appending to the append-only tables (no
    /// `UPDATE`, `DELETE` or `TRUNCATE`), only reading `schema_migrations`, and no DDL (the
    /// role owns nothing, so it can neither alter nor drop a table or its triggers). Revokes
    /// whatever else it had on the tables first, so running it again tightens. Run it as the
    /// owner of the schema, after [`Store::migrate`].
    pub async fn grant_serving_role(&self, role: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres {
            return Err(StoreError::Refused(
                "roles exist only on PostgreSQL: an SQLite file has no serving role to grant"
                    .into(),
            ));
        }
        if !plain_identifier(role) {
            return Err(StoreError::Refused(format!(
                "`{role}` is not a role name Justat grants to: use lower-case letters, digits and _"
            )));
        }
        let schema: String = sqlx::query("SELECT current_schema()::text AS s")
            .fetch_one(self.pool())
            .await?
            .try_get("s")?;
        // Tables and views: `pg_tables` lists no view, yet the revoke below covers them.
        let relations: Vec<(String, bool)> = sqlx::query(
            "SELECT c.relname::text AS t, c.relkind IN ('v', 'm') AS is_view FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')
             ORDER BY c.relname",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("t")?, r.try_get("is_view")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let mut tx = self.pool().begin().await?;
        let mut run = Vec::new();
        run.push(format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\""));
        run.push(format!(
            "REVOKE ALL ON ALL TABLES IN SCHEMA \"{schema}\" FROM \"{role}\""
        ));
        for (t, is_view) in &relations {
            let rights = if *is_view || t == "schema_migrations" {
                "SELECT"
            } else if APPEND_ONLY.contains(&t.as_str()) {
                "SELECT, INSERT"
            } else {
                "SELECT, INSERT, UPDATE, DELETE"
            };
            run.push(format!(
                "GRANT {rights} ON \"{schema}\".\"{}\" TO \"{role}\"",
                t.replace('"', "\"\"")
            ));
        }
        run.push(format!(
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA \"{schema}\" TO \"{role}\""
        ));
        for sql in run {
            // Identifiers checked above or read from the catalogue, quoted.
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The append-only guards (triggers) missing or disabled, as `table.trigger`: an empty list
    /// when the audit log and the calendar's history refuse updates and deletes as they should.
    pub async fn missing_append_only_guards(&self) -> Result<Vec<String>, StoreError> {
        let (sql, expected) = match self.backend {
            Backend::Sqlite => (
                "SELECT tbl_name AS t, name AS g FROM sqlite_master WHERE type = 'trigger'",
                GUARDS_SQLITE,
            ),
            Backend::Postgres => (
                // A disabled trigger guards nothing: `ALTER TABLE … DISABLE TRIGGER` counts as
                // dropping it.
                "SELECT c.relname::text AS t, g.tgname::text AS g FROM pg_trigger g \
                 JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND g.tgenabled <> 'D'",
                GUARDS_POSTGRES,
            ),
        };
        let present: Vec<(String, String)> = sqlx::query(sql)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("t")?, r.try_get("g")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(expected
            .iter()
            .filter(|(t, g)| !present.iter().any(|(pt, pg)| pt == t && pg == g))
            .map(|(t, g)| format!("{t}.{g}"))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::plain_identifier;

    #[test]
    fn only_plain_role_names_are_granted_to() {
        for ok in ["justat_app", "_x", "app2"] {
            assert!(plain_identifier(ok), "{ok}");
        }
        for bad in ["", "App", "2app", "a-b", "a\"; DROP TABLE x; --", "é"] {
            assert!(!plain_identifier(bad), "{bad}");
        }
    }
}

//! The append-only, hash-chained audit log.
//!
//! Entries are only ever inserted, each inside the transaction of the change it records.
//! There is deliberately no function here that updates or deletes one.

use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::audit::EntryContent;
use justat_model::{AuditEntry, AuditHead, ChainBreak, Sha256Hex};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// A logged-in user.
    pub fn user(username: &str) -> Actor {
        Actor(username.to_string())
    }

    /// Someone at the command line, named by their operating-system account: `$USER` or
    /// `$LOGNAME` when set, else the account the process runs as (an empty or unset `$USER`,
    /// as under cron, sudo or a container, still names someone).
    pub fn cli() -> Actor {
        Actor::cli_from(
            ["USER", "LOGNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty())),
            || whoami::username().ok(),
        )
    }

    fn cli_from(env: Option<String>, os_account: impl FnOnce() -> Option<String>) -> Actor {
        let who = env
            .or_else(|| os_account().filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| "unknown".into());
        Actor(format!("cli:{who}"))
    }

    /// Justat itself (the demo, the scheduler).
    pub fn system() -> Actor {
        Actor("system".to_string())
    }

    /// A survey respondent let in by their unit's access code (the portal's jobs, such as
    /// their acknowledgement of receipt, are theirs).
    pub fn respondent(campaign: i64, unit_code: &str) -> Actor {
        Actor(format!("respondent:campaign/{campaign}/unit/{unit_code}"))
    }

    /// Someone not logged in.
    pub fn anonymous() -> Actor {
        Actor("anonymous".to_string())
    }

    /// The name written in the log.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A change to record.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// Who.
    pub actor: Actor,
    /// What, as a dotted verb (`user.create`).
    pub action: &'static str,
    /// To what (`user:marie`).
    pub object: String,
    /// Details, a JSON object.
    pub details: serde_json::Value,
}

impl AuditRecord {
    /// A record with empty details.
    pub fn new(actor: &Actor, action: &'static str, object: impl Into<String>) -> AuditRecord {
        AuditRecord {
            actor: actor.clone(),
            action,
            object: object.into(),
            details: serde_json::json!({}),
        }
    }

    /// The same record with these details.
    pub fn with(mut self, details: serde_json::Value) -> AuditRecord {
        self.details = details;
        self
    }
}

pub(crate) const ENTRY_COLUMNS: &str = "seq, at, actor, action, object, details, prev_hash, hash";

pub(crate) fn entry_of(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        object: row.try_get("object")?,
        details: row.try_get("details")?,
        prev_hash: Sha256Hex::from_stored(row.try_get("prev_hash")?),
        hash: Sha256Hex::from_stored(row.try_get("hash")?),
    })
}

/// Appends `record` inside `tx`; the caller commits it with the change it records.
pub(crate) async fn append(
    tx: &mut Transaction<'_, Any>,
    record: &AuditRecord,
    now: Timestamp,
) -> Result<AuditEntry, StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let head_seq: i64 = row.try_get("seq")?;
    let head = (head_seq > 0).then(|| -> Result<AuditHead, StoreError> {
        Ok(AuditHead {
            seq: head_seq,
            hash: Sha256Hex::from_stored(row.try_get("hash")?),
        })
    });
    let head = head.transpose()?;
    let at = time::to_db(now);
    let details = record.details.to_string();
    let entry = AuditEntry::chained(
        head.as_ref(),
        EntryContent {
            at: &at,
            actor: record.actor.as_str(),
            action: record.action,
            object: &record.object,
            details: &details,
        },
    );
    sqlx::query(crate::dynamic(format!(
        "INSERT INTO audit_log ({ENTRY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )))
    .bind(entry.seq)
    .bind(&entry.at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.object)
    .bind(&entry.details)
    .bind(entry.prev_hash.as_str().to_string())
    .bind(entry.hash.as_str().to_string())
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(entry.seq)
        .bind(entry.hash.as_str().to_string())
        .execute(&mut **tx)
        .await?;
    Ok(entry)
}

/// A write transaction under way, with the audit entries to append when it commits.
///
/// Its first statement takes the write lock of the database (a no-op update of the audit
/// head), so that concurrent writers, in this process or another, queue instead of failing:
/// SQLite's busy timeout and PostgreSQL's row lock both wait for it.
pub(crate) struct Write {
    tx: Transaction<'static, Any>,
    records: Vec<AuditRecord>,
    // Whether the commit counts as a change of the public state (`public_state`): every
    // transaction does unless it says otherwise, so a forgotten case costs a cache refill,
    // never a stale public page.
    changes_public_state: bool,
    public_writes: Arc<AtomicU64>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Write {
    /// The connection to run this transaction's statements on.
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Queues an audit entry, written at commit.
    pub(crate) fn record(&mut self, record: AuditRecord) {
        self.records.push(record);
    }

    /// Declares that this transaction changes nothing the public site shows (a respondent's
    /// answers, a login's trace), so that frequent private writes do not empty the public
    /// pages' cache.
    pub(crate) fn leaves_public_state(&mut self) {
        self.changes_public_state = false;
    }

    /// Appends the queued audit entries and commits; dropping a `Write` instead rolls back.
    pub(crate) async fn commit(mut self, now: Timestamp) -> Result<(), StoreError> {
        for record in std::mem::take(&mut self.records) {
            append(&mut self.tx, &record, now).await?;
        }
        if self.changes_public_state {
            sqlx::query("UPDATE public_state SET generation = generation + 1 WHERE id = 1")
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        if self.changes_public_state {
            self.public_writes.fetch_add(1, Ordering::Release);
        }
        Ok(())
    }
}

impl Store {
    /// Starts a write transaction.
    pub(crate) async fn begin_write(&self) -> Result<Write, StoreError> {
        let guard = self.write_lock.clone().lock_owned().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(Write {
            tx,
            records: Vec::new(),
            changes_public_state: true,
            public_writes: self.public_writes.clone(),
            _guard: guard,
        })
    }

    /// How many public-state changes this process has committed (see `public_generation`,
    /// which counts every process's).
    pub fn public_writes_here(&self) -> u64 {
        self.public_writes.load(Ordering::Acquire)
    }

    /// Records one change that has no other row to write (e.g. a failed login).
    pub async fn audit(&self, record: AuditRecord, now: Timestamp) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        w.leaves_public_state();
        w.record(record);
        w.commit(now).await
    }

    /// The newest entries first, starting below `before` (a sequence number) when given.
    pub async fn audit_page(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(crate::dynamic(format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
        )))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry_of).collect()
    }

    /// How many entries the log holds.
    pub async fn audit_len(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM audit_log")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    /// Checks the whole chain: the number of entries if intact, or the first break.
    pub async fn verify_audit(&self) -> Result<Result<usize, ChainBreak>, StoreError> {
        let rows = sqlx::query(crate::dynamic(format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq"
        )))
        .fetch_all(self.pool())
        .await?;
        let entries = rows.iter().map(entry_of).collect::<Result<Vec<_>, _>>()?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        let head = match head {
            Some(row) => {
                let seq: i64 = row.try_get("seq")?;
                (seq > 0)
                    .then(|| {
                        row.try_get::<String, _>("hash").map(|h| AuditHead {
                            seq,
                            hash: Sha256Hex::from_stored(h),
                        })
                    })
                    .transpose()?
            }
            None => None,
        };
        Ok(justat_model::verify_chain(&entries, head.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::Actor;

    #[test]
    fn a_cli_actor_without_user_is_the_os_account() {
        let os = || Some("marie".to_string());
        assert_eq!(Actor::cli_from(None, os).as_str(), "cli:marie");
        assert_eq!(
            Actor::cli_from(Some("paul".into()), os).as_str(),
            "cli:paul"
        );
        assert_eq!(Actor::cli_from(None, || None).as_str(), "cli:unknown");
    }
}

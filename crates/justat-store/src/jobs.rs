//! Jobs: long work asked for in the back office, queued here by the web application and
//! executed by the server's job runner, which records progress and outcome.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for the runner.
    Queued,
    /// Being executed.
    Running,
    /// Finished; `result` holds the outcome.
    Done,
    /// Failed; `error` says why.
    Failed,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<JobStatus, StoreError> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            other => {
                return Err(StoreError::Corrupt {
                    what: "job status",
                    value: other.to_string(),
                });
            }
        })
    }
}

/// A job.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// Its number.
    pub id: i64,
    /// What to do (`delivery`, `chain_run`).
    pub kind: String,
    /// Its parameters.
    pub params: serde_json::Value,
    /// Where it stands.
    pub status: JobStatus,
    /// The last progress line.
    pub progress: String,
    /// The outcome, when done.
    pub result: Option<serde_json::Value>,
    /// The error, when failed.
    pub error: Option<String>,
    /// Who asked for it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When the runner took it.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, kind, params, status, progress, result, error, created_by, created_at, started_at, finished_at";

fn job_of(row: &AnyRow) -> Result<Job, StoreError> {
    let opt_ts = |col: &str| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<Option<String>, _>(col)?
            .map(|s| time::from_db(&s))
            .transpose()
    };
    let params: String = row.try_get("params")?;
    let result: Option<String> = row.try_get("result")?;
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        params: serde_json::from_str(&params).map_err(|_| StoreError::Corrupt {
            what: "job params",
            value: params,
        })?,
        status: JobStatus::parse(&row.try_get::<String, _>("status")?)?,
        progress: row.try_get("progress")?,
        result: result
            .map(|r| {
                serde_json::from_str(&r).map_err(|_| StoreError::Corrupt {
                    what: "job result",
                    value: r,
                })
            })
            .transpose()?,
        error: row.try_get("error")?,
        created_by: row.try_get("created_by")?,
        created_at: time::from_db(&row.try_get::<String, _>("created_at")?)?,
        started_at: opt_ts("started_at")?,
        finished_at: opt_ts("finished_at")?,
    })
}

impl Store {
    /// Queues a job (and records who asked for it).
    pub async fn enqueue_job(
        &self,
        kind: &str,
        params: serde_json::Value,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Job, StoreError> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO jobs (kind, params, status, progress, created_by, created_at)
             VALUES ($1, $2, 'queued', 'en attente', $3, $4) RETURNING id",
        )
        .bind(kind)
        .bind(params.to_string())
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .fetch_one(w.conn())
        .await?;
        let id: i64 = row.try_get("id")?;
        w.record(
            AuditRecord::new(actor, "job.enqueue", format!("job:{id}"))
                .with(json!({ "kind": kind, "params": params })),
        );
        w.commit(now).await?;
        self.job(id).await
    }

    /// The latest job of `kind` that `username` asked for, if any.
    pub async fn latest_job(&self, kind: &str, username: &str) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM jobs WHERE kind = $1 AND created_by = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(kind)
        .bind(username)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(self.job(r.try_get("id")?).await?)),
            None => Ok(None),
        }
    }

    /// Takes the oldest queued job, if any, and marks it running.
    pub async fn claim_job(&self, now: Timestamp) -> Result<Option<Job>, StoreError> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query("SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1")
            .fetch_optional(w.conn())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        sqlx::query("UPDATE jobs SET status = 'running', started_at = $1, progress = 'démarré' WHERE id = $2")
            .bind(time::to_db(now))
            .bind(id)
            .execute(w.conn())
            .await?;
        w.commit(now).await?;
        Ok(Some(self.job(id).await?))
    }

    /// Records a job's progress line.
    pub async fn job_progress(&self, id: i64, progress: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET progress = $1 WHERE id = $2")
            .bind(progress)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a job with its outcome.
    pub async fn finish_job(
        &self,
        id: i64,
        outcome: Result<serde_json::Value, String>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (status, result, error) = match outcome {
            Ok(r) => (JobStatus::Done, Some(r.to_string()), None),
            Err(e) => (JobStatus::Failed, None, Some(e)),
        };
        sqlx::query("UPDATE jobs SET status = $1, result = $2, error = $3, finished_at = $4, progress = $5 WHERE id = $6")
            .bind(status.as_str())
            .bind(result)
            .bind(error)
            .bind(time::to_db(now))
            .bind(if status == JobStatus::Done { "terminé" } else { "échec" })
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Marks as failed the jobs a stopped server left running; returns how many.
    pub async fn fail_interrupted_jobs(&self, now: Timestamp) -> Result<u64, StoreError> {
        let res = sqlx::query(
            "UPDATE jobs SET status = 'failed', error = 'interrompu par un arrêt du serveur : relancez-le', finished_at = $1,
               progress = 'échec' WHERE status = 'running'",
        )
        .bind(time::to_db(now))
        .execute(self.pool())
        .await?;
        Ok(res.rows_affected())
    }

    /// The job with this number.
    pub async fn job(&self, id: i64) -> Result<Job, StoreError> {
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {COLUMNS} FROM jobs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "job",
            key: id.to_string(),
        })?;
        job_of(&row)
    }
}

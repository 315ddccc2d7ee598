//! Jobs: long work asked for in the back office, queued here by the web application and
//! executed by worker processes (`justat worker`), which record progress and outcome.
//!
//! A worker claims a job under its name and says it is alive while it runs it
//! ([`Store::job_heartbeat`]); a job whose worker died is marked failed, by the process that
//! supervised the worker ([`Store::fail_worker_jobs`]) or, for a worker run apart, by any other
//! worker once its heartbeat is stale ([`Store::fail_stale_jobs`]), never run again by itself.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::job::{JobOutcome, JobRequest, JobRequestError};
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
    /// What to do (`delivery`, `chain_run`), as stored.
    pub kind: String,
    /// What to do, with its parameters; or why the stored row is no request (an unknown kind,
    /// parameters that do not fit it), which the worker gives as the job's failure.
    #[serde(skip)]
    pub request: Result<JobRequest, JobRequestError>,
    /// Its parameters as stored, shown by `justat job show --json`.
    params: serde_json::Value,
    /// Where it stands.
    pub status: JobStatus,
    /// The last progress line.
    pub progress: String,
    /// The outcome, when done.
    pub result: Option<JobOutcome>,
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
    /// The worker that took it.
    pub worker: Option<String>,
    /// When its worker last said it was alive while running it.
    pub heartbeat_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, kind, params, status, progress, result, error, created_by, created_at, started_at, finished_at, worker, heartbeat_at";

fn job_of(row: &AnyRow) -> Result<Job, StoreError> {
    let opt_ts = |col: &str| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<Option<String>, _>(col)?
            .map(|s| time::from_db(&s))
            .transpose()
    };
    let params: String = row.try_get("params")?;
    let params: serde_json::Value =
        serde_json::from_str(&params).map_err(|_| StoreError::Corrupt {
            what: "job params",
            value: params,
        })?;
    let kind: String = row.try_get("kind")?;
    let result: Option<String> = row.try_get("result")?;
    Ok(Job {
        id: row.try_get("id")?,
        request: JobRequest::from_stored(&kind, &params),
        kind,
        params,
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
        worker: row.try_get("worker")?,
        heartbeat_at: opt_ts("heartbeat_at")?,
    })
}

impl Store {
    /// Queues a job (and records who asked for it).
    pub async fn enqueue_job(
        &self,
        request: &JobRequest,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Job, StoreError> {
        let (kind, params) = (request.kind(), request.params());
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

    /// Takes the oldest queued job, if any, for `worker` and marks it running.
    ///
    /// Atomic across processes: the job changes hands only if it is still queued when the
    /// write lock is held, so two workers never take the same job. The queue is first read
    /// without the lock, so that idle workers polling it do not queue behind every writer.
    pub async fn claim_job(&self, worker: &str, now: Timestamp) -> Result<Option<Job>, StoreError> {
        let waiting = sqlx::query("SELECT id FROM jobs WHERE status = 'queued' LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        if waiting.is_none() {
            return Ok(None);
        }
        let mut w = self.begin_write().await?;
        let row = sqlx::query("SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1")
            .fetch_optional(w.conn())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let at = time::to_db(now);
        let taken = sqlx::query(
            "UPDATE jobs SET status = 'running', started_at = $1, heartbeat_at = $1, worker = $2,
               progress = 'démarré' WHERE id = $3 AND status = 'queued'",
        )
        .bind(&at)
        .bind(worker)
        .bind(id)
        .execute(w.conn())
        .await?
        .rows_affected();
        w.commit(now).await?;
        if taken == 0 {
            return Ok(None);
        }
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

    /// Records that `worker` is still running job `id`; false when the job is no longer
    /// its running job (it was marked failed meanwhile, its worker taken for dead).
    pub async fn job_heartbeat(
        &self,
        id: i64,
        worker: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let res = sqlx::query(
            "UPDATE jobs SET heartbeat_at = $1 WHERE id = $2 AND worker = $3 AND status = 'running'",
        )
        .bind(time::to_db(now))
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Ends a job that `worker` runs with its outcome; false (nothing written) when the job
    /// is no longer its running job: an outcome never overwrites a failure already recorded.
    pub async fn finish_job(
        &self,
        id: i64,
        worker: &str,
        outcome: Result<JobOutcome, String>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (status, result, error) = match outcome {
            Ok(r) => (
                JobStatus::Done,
                Some(serde_json::to_string(&r).map_err(|e| StoreError::Corrupt {
                    what: "job result",
                    value: e.to_string(),
                })?),
                None,
            ),
            Err(e) => (JobStatus::Failed, None, Some(e)),
        };
        let res = sqlx::query(
            "UPDATE jobs SET status = $1, result = $2, error = $3, finished_at = $4, progress = $5
             WHERE id = $6 AND worker = $7 AND status = 'running'",
        )
        .bind(status.as_str())
        .bind(result)
        .bind(error)
        .bind(time::to_db(now))
        .bind(if status == JobStatus::Done {
            "terminé"
        } else {
            "échec"
        })
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Marks as failed, with `reason`, the jobs `worker` was running (it stopped or died);
    /// returns their numbers. They are not queued again: a job that killed its worker would
    /// kill the next one.
    pub async fn fail_worker_jobs(
        &self,
        worker: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        self.fail_running("worker = $1", worker, reason, now).await
    }

    /// Marks as failed, with `reason`, the running jobs whose worker has not said it was
    /// alive since `stale_before` (or never did, for jobs taken before workers did); returns
    /// their numbers.
    pub async fn fail_stale_jobs(
        &self,
        stale_before: Timestamp,
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        self.fail_running(
            "COALESCE(heartbeat_at, started_at, created_at) < $1",
            &time::to_db(stale_before),
            reason,
            now,
        )
        .await
    }

    /// `condition` reads `value` as `$1`.
    async fn fail_running(
        &self,
        condition: &str,
        value: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        let mut w = self.begin_write().await?;
        let ids = sqlx::query(crate::dynamic(format!(
            "SELECT id FROM jobs WHERE status = 'running' AND {condition} ORDER BY id"
        )))
        .bind(value)
        .fetch_all(w.conn())
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
        for id in &ids {
            sqlx::query(
                "UPDATE jobs SET status = 'failed', error = $1, finished_at = $2, progress = 'échec'
                 WHERE id = $3 AND status = 'running'",
            )
            .bind(reason)
            .bind(time::to_db(now))
            .bind(id)
            .execute(w.conn())
            .await?;
        }
        w.commit(now).await?;
        Ok(ids)
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

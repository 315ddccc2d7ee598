//! Deliveries: what was received, from which source, and how its checks ended.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, is_unique_violation, time};
use jiff::Timestamp;
use justat_model::production::DeliveryReport;
use justat_model::{DeliveryStatus, Sha256Hex};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A delivery to record, once checked.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The source's id (`penal`).
    pub source: String,
    /// The version of the source's schema it was checked against.
    pub source_version: i64,
    /// The file's name as received (for people; the file is addressed by its digest).
    pub file_name: String,
    /// SHA-256 of the original file.
    pub sha256: Sha256Hex,
    /// Its size.
    pub size_bytes: i64,
    /// `csv`, `csv.gz` or `parquet`.
    pub format: String,
    /// How its checks ended.
    pub status: DeliveryStatus,
    /// Data rows read.
    pub rows_read: i64,
    /// Rows that passed every check.
    pub rows_ok: i64,
    /// Rows sent to quarantine.
    pub rows_rejected: i64,
    /// Digest of the staging Parquet (absent when KO).
    pub staging_sha256: Option<Sha256Hex>,
    /// Digest of the quarantine Parquet (absent when nothing was rejected).
    pub quarantine_sha256: Option<Sha256Hex>,
    /// The check report (counts per rule, first examples).
    pub report: DeliveryReport,
}

/// A recorded delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Its number.
    pub id: i64,
    /// The source's id.
    pub source: String,
    /// The schema version it was checked against.
    pub source_version: i64,
    /// The file's name as received.
    pub file_name: String,
    /// SHA-256 of the original file.
    pub sha256: Sha256Hex,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// `csv`, `csv.gz` or `parquet`.
    pub format: String,
    /// How its checks ended.
    pub status: DeliveryStatus,
    /// Data rows read.
    pub rows_read: i64,
    /// Rows that passed every check.
    pub rows_ok: i64,
    /// Rows sent to quarantine.
    pub rows_rejected: i64,
    /// Digest of the staging Parquet.
    pub staging_sha256: Option<Sha256Hex>,
    /// Digest of the quarantine Parquet.
    pub quarantine_sha256: Option<Sha256Hex>,
    /// The check report.
    pub report: DeliveryReport,
    /// When it was received (UTC).
    pub received_at: Timestamp,
    /// Who delivered it.
    pub received_by: String,
}

const COLUMNS: &str = "id, source, source_version, file_name, sha256, size_bytes, format, status, rows_read, rows_ok, \
     rows_rejected, staging_sha256, quarantine_sha256, report, received_at, received_by";

fn delivery_of(row: &AnyRow) -> Result<Delivery, StoreError> {
    let report: String = row.try_get("report")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        source_version: row.try_get("source_version")?,
        file_name: row.try_get("file_name")?,
        sha256: crate::digest(row, "sha256")?,
        size_bytes: row.try_get("size_bytes")?,
        format: row.try_get("format")?,
        status: crate::parsed(row, "status", "delivery status")?,
        rows_read: row.try_get("rows_read")?,
        rows_ok: row.try_get("rows_ok")?,
        rows_rejected: row.try_get("rows_rejected")?,
        staging_sha256: crate::optional_digest(row, "staging_sha256")?,
        quarantine_sha256: crate::optional_digest(row, "quarantine_sha256")?,
        report: serde_json::from_str(&report).map_err(|_| StoreError::Corrupt {
            what: "delivery report",
            value: report,
        })?,
        received_at: time::from_db(&row.try_get::<String, _>("received_at")?)?,
        received_by: row.try_get("received_by")?,
    })
}

impl Store {
    /// Records a checked delivery. Refuses a file already delivered (same SHA-256).
    pub async fn record_delivery(
        &self,
        new: &NewDelivery,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Delivery, StoreError> {
        let mut w = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO deliveries (source, source_version, file_name, sha256, size_bytes, format, status, rows_read,
               rows_ok, rows_rejected, staging_sha256, quarantine_sha256, report, received_at, received_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&new.source)
        .bind(new.source_version)
        .bind(&new.file_name)
        .bind(new.sha256.as_str())
        .bind(new.size_bytes)
        .bind(&new.format)
        .bind(new.status.as_str())
        .bind(new.rows_read)
        .bind(new.rows_ok)
        .bind(new.rows_rejected)
        .bind(new.staging_sha256.as_ref().map(|d| d.to_string()))
        .bind(new.quarantine_sha256.as_ref().map(|d| d.to_string()))
        .bind(
            serde_json::to_value(&new.report)
                .map(|v| v.to_string())
                .map_err(|e| StoreError::Corrupt {
                    what: "delivery report",
                    value: e.to_string(),
                })?,
        )
        .bind(time::to_db(now))
        .bind(actor.as_str())
        .execute(w.conn())
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict {
                    what: "delivery with SHA-256",
                    key: new.sha256.to_string(),
                });
            }
            other => other?,
        };
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {COLUMNS} FROM deliveries WHERE sha256 = $1"
        )))
        .bind(new.sha256.as_str())
        .fetch_one(w.conn())
        .await?;
        let delivery = delivery_of(&row)?;
        w.record(AuditRecord::new(actor, "delivery.add", format!("delivery:{}", delivery.id)).with(json!({
            "source": new.source, "file": new.file_name, "sha256": new.sha256, "status": new.status,
            "rows_ok": new.rows_ok, "rows_rejected": new.rows_rejected,
        })));
        w.commit(now).await?;
        Ok(delivery)
    }

    /// The delivery of a file with this digest, if any.
    pub async fn delivery_by_sha256(
        &self,
        sha256: &Sha256Hex,
    ) -> Result<Option<Delivery>, StoreError> {
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {COLUMNS} FROM deliveries WHERE sha256 = $1"
        )))
        .bind(sha256.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(delivery_of).transpose()
    }

    /// The delivery with this number.
    pub async fn delivery(&self, id: i64) -> Result<Delivery, StoreError> {
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {COLUMNS} FROM deliveries WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "delivery",
            key: id.to_string(),
        })?;
        delivery_of(&row)
    }

    /// Every delivery, newest first.
    pub async fn deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(crate::dynamic(format!(
            "SELECT {COLUMNS} FROM deliveries ORDER BY id DESC"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(delivery_of).collect()
    }
}

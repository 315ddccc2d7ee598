//! Suppression patterns of a cube's published tables, per period and measure: recorded at each
//! protection and reused by the next one.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::Sha256Hex;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A pattern to record.
#[derive(Debug, Clone)]
pub struct NewPattern {
    /// The cube (SHA-256).
    pub cube_id: Sha256Hex,
    /// Its period (`TIME_PERIOD`).
    pub period: String,
    /// The measure protected.
    pub measure: String,
    /// The dimensions, in the order of each cell's codes.
    pub dims: Vec<String>,
    /// Each published cell: its codes and its status letter (`V`, `A`, `B`, `D`, `Z`).
    pub cells: Vec<(Vec<String>, String)>,
    /// What the protection found (counts per status, audit result), for people.
    pub summary: String,
}

/// A recorded pattern.
#[derive(Debug, Clone, Serialize)]
pub struct SdcPattern {
    /// Its number.
    pub id: i64,
    /// The cube.
    pub cube_id: Sha256Hex,
    /// The period.
    pub period: String,
    /// The measure.
    pub measure: String,
    /// The dimensions.
    pub dims: Vec<String>,
    /// The cells and their status letters.
    pub cells: Vec<(Vec<String>, String)>,
    /// The summary.
    pub summary: String,
    /// Who protected.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

fn corrupt(value: String) -> StoreError {
    StoreError::Corrupt {
        what: "pattern JSON",
        value,
    }
}

fn pattern_of(row: &AnyRow) -> Result<SdcPattern, StoreError> {
    let dims: String = row.try_get("dims")?;
    let cells: String = row.try_get("cells")?;
    Ok(SdcPattern {
        id: row.try_get("id")?,
        cube_id: crate::digest(row, "cube_id")?,
        period: row.try_get("period")?,
        measure: row.try_get("measure")?,
        dims: serde_json::from_str(&dims).map_err(|_| corrupt(dims))?,
        cells: serde_json::from_str(&cells).map_err(|_| corrupt(cells))?,
        summary: row.try_get("summary")?,
        created_by: row.try_get("created_by")?,
        created_at: time::from_db(&row.try_get::<String, _>("created_at")?)?,
    })
}

impl Store {
    /// Records a pattern (audited: who protected which cube and period).
    pub async fn record_pattern(
        &self,
        new: &NewPattern,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<SdcPattern, StoreError> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO sdc_patterns (cube_id, period, measure, dims, cells, summary, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.cube_id.as_str())
        .bind(&new.period)
        .bind(&new.measure)
        .bind(json!(new.dims).to_string())
        .bind(json!(new.cells).to_string())
        .bind(&new.summary)
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .fetch_one(w.conn())
        .await?;
        let id: i64 = row.try_get("id")?;
        w.record(
            AuditRecord::new(actor, "sdc.protect", format!("pattern:{id}")).with(json!({
                "cube": new.cube_id, "period": new.period, "measure": new.measure,
                "cells": new.cells.len(), "summary": new.summary,
            })),
        );
        w.commit(now).await?;
        self.latest_pattern(&new.cube_id, &new.period, &new.measure)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "pattern",
                key: id.to_string(),
            })
    }

    /// The latest pattern of a cube's period and measure, if it was ever protected.
    pub async fn latest_pattern(
        &self,
        cube_id: &Sha256Hex,
        period: &str,
        measure: &str,
    ) -> Result<Option<SdcPattern>, StoreError> {
        let row = sqlx::query(
            "SELECT id, cube_id, period, measure, dims, cells, summary, created_by, created_at
             FROM sdc_patterns WHERE cube_id = $1 AND period = $2 AND measure = $3
             ORDER BY id DESC LIMIT 1",
        )
        .bind(cube_id.as_str())
        .bind(period)
        .bind(measure)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(pattern_of).transpose()
    }
}

//! Chain runs, their manifests, and the cubes they produce.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::manifest::Manifest;
use justat_model::{CubeSchema, RunStatus, Sha256Hex};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A cube to record (its Parquet file is already in the lake).
#[derive(Debug, Clone)]
pub struct NewCube {
    /// SHA-256 of the cube's Parquet file: its id.
    pub id: Sha256Hex,
    /// The cube's name in its chain (`penal_orientations`).
    pub name: String,
    /// Number of cells (rows).
    pub rows: i64,
    /// The cube's schema (dimensions and their codelists, measures, period, unit, source line).
    pub schema: CubeSchema,
}

/// A chain run to record, successful or not.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The chain's id.
    pub chain: String,
    /// The chain's version.
    pub chain_version: i64,
    /// SHA-256 of the chain file.
    pub chain_sha256: Sha256Hex,
    /// The deliveries it read.
    pub inputs: Vec<i64>,
    /// How it ended.
    pub status: RunStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// The cube it produced.
    pub cube: Option<NewCube>,
    /// The run manifest.
    pub manifest: Manifest,
    /// When it started.
    pub started_at: Timestamp,
}

/// A recorded run.
#[derive(Debug, Clone, Serialize)]
pub struct ChainRun {
    /// Its number.
    pub id: i64,
    /// The chain's id.
    pub chain: String,
    /// The chain's version.
    pub chain_version: i64,
    /// SHA-256 of the chain file.
    pub chain_sha256: Sha256Hex,
    /// How it ended.
    pub status: RunStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// The cube it produced.
    pub cube_id: Option<Sha256Hex>,
    /// The run manifest.
    pub manifest: Manifest,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// Who ran it.
    pub run_by: String,
    /// The deliveries it read.
    pub inputs: Vec<i64>,
}

/// A recorded cube.
#[derive(Debug, Clone, Serialize)]
pub struct Cube {
    /// SHA-256 of its Parquet file.
    pub id: Sha256Hex,
    /// The chain that first produced it.
    pub chain: String,
    /// Its name.
    pub name: String,
    /// Number of cells.
    pub rows: i64,
    /// Its schema.
    pub schema: justat_model::CubeSchema,
    /// When it was first produced.
    pub created_at: Timestamp,
}

const RUN_COLUMNS: &str = "id, chain, chain_version, chain_sha256, status, error, cube_id, manifest, started_at, finished_at, run_by";

/// A manifest as stored: a JSON object with its keys in order, as written since the first runs.
fn manifest_text(manifest: &Manifest) -> Result<String, StoreError> {
    serde_json::to_value(manifest)
        .map(|v| v.to_string())
        .map_err(|e| StoreError::Corrupt {
            what: "run manifest",
            value: e.to_string(),
        })
}

/// The deliveries each run read, by run, from one query (`run` limits it to one run).
async fn inputs_by_run(
    store: &Store,
    run: Option<i64>,
) -> Result<std::collections::HashMap<i64, Vec<i64>>, StoreError> {
    let rows = sqlx::query(
        "SELECT run_id, delivery_id FROM chain_run_inputs WHERE run_id = $1 OR $1 = 0 ORDER BY run_id, delivery_id",
    )
    .bind(run.unwrap_or(0))
    .fetch_all(store.pool())
    .await?;
    let mut out: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for r in &rows {
        out.entry(r.try_get("run_id")?)
            .or_default()
            .push(r.try_get("delivery_id")?);
    }
    Ok(out)
}

fn run_of(
    row: &AnyRow,
    inputs: &mut std::collections::HashMap<i64, Vec<i64>>,
) -> Result<ChainRun, StoreError> {
    let id: i64 = row.try_get("id")?;
    let inputs = inputs.remove(&id).unwrap_or_default();
    Ok(ChainRun {
        id,
        chain: row.try_get("chain")?,
        chain_version: row.try_get("chain_version")?,
        chain_sha256: crate::digest(row, "chain_sha256")?,
        status: crate::parsed(row, "status", "run status")?,
        error: row.try_get("error")?,
        cube_id: crate::optional_digest(row, "cube_id")?,
        manifest: {
            let text: String = row.try_get("manifest")?;
            serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
                what: "run manifest",
                value: text,
            })?
        },
        started_at: time::from_db(&row.try_get::<String, _>("started_at")?)?,
        finished_at: time::from_db(&row.try_get::<String, _>("finished_at")?)?,
        run_by: row.try_get("run_by")?,
        inputs,
    })
}

fn cube_of(row: &AnyRow) -> Result<Cube, StoreError> {
    Ok(Cube {
        id: crate::digest(row, "id")?,
        chain: row.try_get("chain")?,
        name: row.try_get("name")?,
        rows: row.try_get("rows")?,
        schema: {
            let text: String = row.try_get("schema")?;
            serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
                what: "cube schema",
                value: text,
            })?
        },
        created_at: time::from_db(&row.try_get::<String, _>("created_at")?)?,
    })
}

impl Store {
    /// Records a run, its inputs and its cube (a cube already known, because the same inputs
    /// and chain version were run before, is referenced, not duplicated).
    pub async fn record_run(
        &self,
        new: &NewRun,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ChainRun, StoreError> {
        let mut w = self.begin_write().await?;
        if let Some(cube) = &new.cube {
            sqlx::query(
                "INSERT INTO cubes (id, chain, name, rows, schema, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(cube.id.as_str())
            .bind(&new.chain)
            .bind(&cube.name)
            .bind(cube.rows)
            .bind(serde_json::to_string(&cube.schema).map_err(|e| StoreError::Corrupt { what: "cube schema", value: e.to_string() })?)
            .bind(time::to_db(now))
            .execute(w.conn())
            .await?;
        }
        let row = sqlx::query(
            "INSERT INTO chain_runs (chain, chain_version, chain_sha256, status, error, cube_id, manifest, started_at,
               finished_at, run_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(&new.chain)
        .bind(new.chain_version)
        .bind(new.chain_sha256.as_str())
        .bind(new.status.as_str())
        .bind(new.error.clone())
        .bind(new.cube.as_ref().map(|c| c.id.to_string()))
        .bind(manifest_text(&new.manifest)?)
        .bind(time::to_db(new.started_at))
        .bind(time::to_db(now))
        .bind(actor.as_str())
        .fetch_one(w.conn())
        .await?;
        let id: i64 = row.try_get("id")?;
        for input in &new.inputs {
            sqlx::query("INSERT INTO chain_run_inputs (run_id, delivery_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*input)
                .execute(w.conn())
                .await?;
        }
        w.record(AuditRecord::new(actor, "chain.run", format!("run:{id}")).with(json!({
            "chain": new.chain, "version": new.chain_version, "status": new.status, "inputs": new.inputs,
            "cube": new.cube.as_ref().map(|c| c.id.clone()), "error": new.error,
        })));
        w.commit(now).await?;
        self.run(id).await
    }

    /// The run with this number.
    pub async fn run(&self, id: i64) -> Result<ChainRun, StoreError> {
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {RUN_COLUMNS} FROM chain_runs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "chain run",
            key: id.to_string(),
        })?;
        run_of(&row, &mut inputs_by_run(self, Some(id)).await?)
    }

    /// Every run, newest first.
    pub async fn runs(&self) -> Result<Vec<ChainRun>, StoreError> {
        let rows = sqlx::query(crate::dynamic(format!(
            "SELECT {RUN_COLUMNS} FROM chain_runs ORDER BY id DESC"
        )))
        .fetch_all(self.pool())
        .await?;
        let mut inputs = inputs_by_run(self, None).await?;
        rows.iter().map(|row| run_of(row, &mut inputs)).collect()
    }

    /// The cube with this id (SHA-256).
    pub async fn cube(&self, id: &Sha256Hex) -> Result<Cube, StoreError> {
        let row = sqlx::query(
            "SELECT id, chain, name, rows, schema, created_at FROM cubes WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "cube",
            key: id.to_string(),
        })?;
        cube_of(&row)
    }

    /// Every cube, newest first.
    pub async fn cubes(&self) -> Result<Vec<Cube>, StoreError> {
        let rows = sqlx::query("SELECT id, chain, name, rows, schema, created_at FROM cubes ORDER BY created_at DESC, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(cube_of).collect()
    }
}

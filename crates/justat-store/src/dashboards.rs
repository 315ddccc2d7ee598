//! Steering dashboards: the administration an account belongs to, the protected tables the
//! job worker computes for each indicator and granularity, and the versions of the
//! publication that releases an official series.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::Sha256Hex;
use justat_model::publication::VersionState;
use serde_json::json;
use sqlx::Row;

/// An indicator's table for one granularity, as computed from a cube.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardTable {
    /// The indicator's id.
    pub indicator: String,
    /// The granularity's label (`mois`, `trimestre`, `année`).
    pub granularity: String,
    /// The indicator's version it was computed with.
    pub indicator_version: i64,
    /// The cube it was computed from.
    pub cube_id: Sha256Hex,
    /// When it was computed.
    pub computed_at: Timestamp,
    /// The protected table, its latest values and its charts (JSON, written by
    /// `justat_publish::dashboard`).
    pub content: String,
    /// Its CSV download.
    pub csv: String,
    /// Its XLSX download, in hexadecimal.
    pub xlsx_hex: String,
}

/// A version of a publication, as far as releasing a series goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRelease {
    /// Its reference period.
    pub period: String,
    /// Its state.
    pub state: VersionState,
    /// Its release instant (its calendar release's when on one).
    pub released_at: Option<Timestamp>,
}

/// The longest administration code accepted.
const MAX_ADMINISTRATION: usize = 16;

impl Store {
    /// Sets (or clears) the administration `username` belongs to, audited.
    pub async fn set_user_administration(
        &self,
        username: &str,
        administration: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if let Some(a) = administration
            && (a.is_empty()
                || a.len() > MAX_ADMINISTRATION
                || !a.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(StoreError::Refused(format!(
                "« {a} » n'est pas un sigle d'administration (lettres majuscules, {MAX_ADMINISTRATION} au plus)"
            )));
        }
        let mut w = self.begin_write().await?;
        let updated = sqlx::query("UPDATE users SET administration = $1 WHERE username = $2")
            .bind(administration)
            .bind(username)
            .execute(w.conn())
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                key: username.to_string(),
            });
        }
        w.record(
            AuditRecord::new(actor, "user.set_administration", format!("user:{username}"))
                .with(json!({ "administration": administration })),
        );
        w.commit(now).await
    }

    /// The administration the account `user_id` belongs to, if any.
    pub async fn user_administration(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT administration FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => Ok(r.try_get("administration")?),
            None => Ok(None),
        }
    }

    /// Replaces an indicator's table for a granularity, audited.
    pub async fn save_dashboard_table(
        &self,
        t: &DashboardTable,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM dashboard_tables WHERE indicator = $1 AND granularity = $2")
            .bind(&t.indicator)
            .bind(&t.granularity)
            .execute(w.conn())
            .await?;
        sqlx::query(
            "INSERT INTO dashboard_tables (indicator, granularity, indicator_version, cube_id, computed_at, content, csv, xlsx_hex)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.indicator)
        .bind(&t.granularity)
        .bind(t.indicator_version)
        .bind(t.cube_id.as_str())
        .bind(time::to_db(t.computed_at))
        .bind(&t.content)
        .bind(&t.csv)
        .bind(&t.xlsx_hex)
        .execute(w.conn())
        .await?;
        w.record(
            AuditRecord::new(
                actor,
                "dashboard.refresh",
                format!("indicator:{}/{}", t.indicator, t.granularity),
            )
            .with(json!({ "cube": t.cube_id, "version": t.indicator_version })),
        );
        w.commit(now).await
    }

    /// An indicator's table for a granularity, if computed.
    pub async fn dashboard_table(
        &self,
        indicator: &str,
        granularity: &str,
    ) -> Result<Option<DashboardTable>, StoreError> {
        let row = sqlx::query(
            "SELECT indicator, granularity, indicator_version, cube_id, computed_at, content, csv, xlsx_hex
             FROM dashboard_tables WHERE indicator = $1 AND granularity = $2",
        )
        .bind(indicator)
        .bind(granularity)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let cube: String = r.try_get("cube_id")?;
        let computed: String = r.try_get("computed_at")?;
        Ok(Some(DashboardTable {
            indicator: r.try_get("indicator")?,
            granularity: r.try_get("granularity")?,
            indicator_version: r.try_get("indicator_version")?,
            cube_id: cube.parse().map_err(|_| StoreError::Corrupt {
                what: "SHA-256 digest",
                value: cube,
            })?,
            computed_at: time::from_db(&computed)?,
            content: r.try_get("content")?,
            csv: r.try_get("csv")?,
            xlsx_hex: r.try_get("xlsx_hex")?,
        }))
    }

    /// The versions of the publications named `slug` (in any collection), read through the
    /// dated versions: a version on a calendar release has its release's instant.
    pub async fn publication_releases(
        &self,
        slug: &str,
    ) -> Result<Vec<VersionRelease>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.period, v.state, v.released_at FROM dated_versions v
             JOIN publications p ON p.id = v.publication_id WHERE p.slug = $1
             ORDER BY v.version",
        )
        .bind(slug)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                let released: Option<String> = r.try_get("released_at")?;
                Ok(VersionRelease {
                    period: r.try_get("period")?,
                    state: state.parse().map_err(|_| StoreError::Corrupt {
                        what: "version state",
                        value: state,
                    })?,
                    released_at: released.map(|t| time::from_db(&t)).transpose()?,
                })
            })
            .collect()
    }
}

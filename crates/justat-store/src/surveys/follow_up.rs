//! The statisticians' follow-up of a campaign: each unit's status and events, response
//! rates, non-respondents (with their contacts, for the export) and paradata.

use super::register::{CONTACT_COLUMNS, Contact, contact_of};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::survey::{
    ResponseRates, ResponseStatus, StatusSource, UnitKind, UnitOutcome, response_rates,
};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A sampled unit and where its response stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitProgress {
    /// The unit's code.
    pub unit_code: String,
    /// Its name.
    pub unit_name: String,
    /// Its kind.
    pub kind: UnitKind,
    /// Its court of appeal (a court of appeal's is its own code).
    pub court_of_appeal: Option<String>,
    /// Its stratum.
    pub stratum: String,
    /// Its status.
    pub status: ResponseStatus,
    /// Since when.
    pub status_at: Timestamp,
    /// When it first submitted.
    pub submitted_at: Option<Timestamp>,
    /// How many reminders it was sent.
    pub reminders: i64,
    /// Whether it was given an access code.
    pub has_code: bool,
}

/// A change of a unit's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusEvent {
    /// The status before (none for the first).
    pub previous: Option<ResponseStatus>,
    /// The status after.
    pub status: ResponseStatus,
    /// Who or what: the respondent, a statistician, Justat.
    pub source: StatusSource,
    /// The account (`respondent` for the portal).
    pub set_by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// A unit that has not answered, with its contacts (for the export and the letters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NonRespondent {
    /// The unit and its status.
    pub unit: UnitProgress,
    /// Its contacts not erased.
    pub contacts: Vec<Contact>,
}

/// One save of a page (paradata).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaveRecord {
    /// The portal session.
    pub session: String,
    /// The page.
    pub page: String,
    /// Seconds spent on it.
    pub seconds: i64,
    /// The paths it changed.
    pub changed_paths: Vec<String>,
    /// The warnings kept on it.
    pub kept_warnings: Vec<String>,
    /// When.
    pub saved_at: Timestamp,
}

fn progress_of(r: &AnyRow) -> Result<UnitProgress, StoreError> {
    let kind: UnitKind = crate::parsed(r, "kind", "unit kind")?;
    let code: String = r.try_get("code")?;
    let ca: Option<String> = r.try_get("court_of_appeal")?;
    Ok(UnitProgress {
        court_of_appeal: if kind == UnitKind::CourAppel {
            Some(code.clone())
        } else {
            ca
        },
        unit_code: code,
        unit_name: r.try_get("name")?,
        kind,
        stratum: r.try_get("stratum")?,
        status: crate::parsed(r, "status", "response status")?,
        status_at: time::from_db(&r.try_get::<String, _>("status_at")?)?,
        submitted_at: r
            .try_get::<Option<String>, _>("submitted_at")?
            .map(|t| time::from_db(&t))
            .transpose()?,
        reminders: r.try_get("reminders")?,
        has_code: r.try_get::<i64, _>("has_code")? != 0,
    })
}

fn strings(text: String, what: &'static str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(&text).map_err(|_| StoreError::Corrupt { what, value: text })
}

impl Store {
    /// Every sampled unit of a campaign with its status, by code.
    pub async fn unit_progress(&self, campaign: i64) -> Result<Vec<UnitProgress>, StoreError> {
        self.campaign(campaign).await?;
        sqlx::query(
            "SELECT u.code, u.name, u.kind, u.court_of_appeal, s.stratum, s.status, s.status_at, s.submitted_at,
                    (SELECT COUNT(*) FROM survey_reminders r WHERE r.campaign_id = s.campaign_id AND r.unit_id = s.unit_id) AS reminders,
                    CASE WHEN s.code_sha256 IS NULL THEN 0 ELSE 1 END AS has_code
             FROM survey_sample s JOIN survey_units u ON u.id = s.unit_id
             WHERE s.campaign_id = $1 ORDER BY u.code",
        )
        .bind(campaign)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(progress_of)
        .collect()
    }

    /// A unit's status events, oldest first.
    pub async fn status_events(
        &self,
        campaign: i64,
        unit_code: &str,
    ) -> Result<Vec<StatusEvent>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let sample = Store::sample_row(&mut conn, campaign, unit_code).await?;
        sqlx::query(
            "SELECT previous, status, source, set_by, reason, at FROM survey_status_events
             WHERE campaign_id = $1 AND unit_id = $2 ORDER BY id",
        )
        .bind(campaign)
        .bind(sample.unit_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            let previous: Option<String> = r.try_get("previous")?;
            Ok(StatusEvent {
                previous: previous
                    .map(|p| {
                        p.parse().map_err(|_| StoreError::Corrupt {
                            what: "response status",
                            value: p,
                        })
                    })
                    .transpose()?,
                status: crate::parsed(r, "status", "response status")?,
                source: crate::parsed(r, "source", "status source")?,
                set_by: r.try_get("set_by")?,
                reason: r.try_get("reason")?,
                at: time::from_db(&r.try_get::<String, _>("at")?)?,
            })
        })
        .collect()
    }

    /// Response rates by unit kind, court of appeal and week since opening, at `now`.
    pub async fn response_rates(
        &self,
        campaign: i64,
        now: Timestamp,
    ) -> Result<ResponseRates, StoreError> {
        let c = self.campaign(campaign).await?;
        let units: Vec<UnitOutcome> = self
            .unit_progress(campaign)
            .await?
            .into_iter()
            .map(|u| UnitOutcome {
                kind: u.kind,
                court_of_appeal: u.court_of_appeal,
                status: u.status,
                submitted_at: u.submitted_at,
            })
            .collect();
        Ok(response_rates(&units, c.opens_at, now))
    }

    /// The units that owe an answer (not started or in progress), with their contacts.
    pub async fn non_respondents(&self, campaign: i64) -> Result<Vec<NonRespondent>, StoreError> {
        let units = self.unit_progress(campaign).await?;
        let contacts: Vec<Contact> = sqlx::query(crate::dynamic(format!(
            "SELECT {CONTACT_COLUMNS} FROM survey_contacts c JOIN survey_units u ON u.id = c.unit_id
             JOIN survey_sample s ON s.unit_id = u.id
             WHERE s.campaign_id = $1 AND c.erased_at IS NULL ORDER BY c.id"
        )))
        .bind(campaign)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(contact_of)
        .collect::<Result<_, _>>()?;
        Ok(units
            .into_iter()
            .filter(|u| u.status.awaits_answer())
            .map(|u| NonRespondent {
                contacts: contacts
                    .iter()
                    .filter(|c| c.unit_code == u.unit_code)
                    .cloned()
                    .collect(),
                unit: u,
            })
            .collect())
    }

    /// A unit's saves, oldest first.
    pub async fn paradata(
        &self,
        campaign: i64,
        unit_code: &str,
    ) -> Result<Vec<SaveRecord>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let sample = Store::sample_row(&mut conn, campaign, unit_code).await?;
        sqlx::query(
            "SELECT session, page, seconds, changed_paths, kept_warnings, saved_at FROM survey_saves
             WHERE campaign_id = $1 AND unit_id = $2 ORDER BY id",
        )
        .bind(campaign)
        .bind(sample.unit_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(SaveRecord {
                session: r.try_get("session")?,
                page: r.try_get("page")?,
                seconds: r.try_get("seconds")?,
                changed_paths: strings(r.try_get("changed_paths")?, "changed paths")?,
                kept_warnings: strings(r.try_get("kept_warnings")?, "kept warnings")?,
                saved_at: time::from_db(&r.try_get::<String, _>("saved_at")?)?,
            })
        })
        .collect()
    }
}

//! Surveys of justice actors: the register of surveyed units and their contacts
//! ([`register`]), campaigns with their legal standing, sample and access codes
//! ([`campaigns`]), the respondents' answers, statuses, edits, imputations and reminders
//! ([`responses`]), the respondent portal's sessions ([`portal_sessions`]), and the
//! statisticians' follow-up ([`follow_up`]).
//!
//! Questionnaire-agnostic: an answer is a JSON value under a question path; what a path means
//! and which controls apply is `justat-survey`'s. Every change is written with its audit entry
//! in one transaction; the histories (unit changes, status events, saves, edits, reminders)
//! are append-only tables. Contacts' personal data never enters the audit log or a history,
//! so erasing a contact ([`Store::erase_expired_contacts`]) leaves nothing of it behind.

pub mod campaigns;
pub mod follow_up;
pub mod portal_sessions;
pub mod register;
pub mod responses;

pub use campaigns::{Campaign, IssuedCode, LegalStanding, NewCampaign, SampledUnit};
pub use follow_up::{
    NON_RESPONDENTS_CSV_HEADER, NonRespondent, PageParadata, ParadataSummary, SaveRecord,
    StatusEvent, UnitProgress, non_respondents_csv, summarize_paradata,
};
pub use portal_sessions::PortalSession;
pub use register::{Contact, ImportSummary, SurveyUnit, UnitChange};
pub use responses::{
    Answer, CodeOutcome, CodeRefusal, DueReminder, Edit, PageSave, ReminderClaim, Respondent,
    SaveReceipt,
};

use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::survey::{CampaignState, ResponseStatus};
use sqlx::Row;

/// The audit object of a campaign.
fn campaign_object(id: i64) -> String {
    format!("campaign/{id}")
}

/// The audit object of a sampled unit in a campaign.
fn response_object(campaign: i64, unit_code: &str) -> String {
    format!("campaign/{campaign}/unit/{unit_code}")
}

/// A sampled unit's row, read in a transaction.
struct SampleRow {
    unit_id: i64,
    status: ResponseStatus,
}

/// The campaign's state and dates, read in a transaction.
struct CampaignClock {
    state: CampaignState,
    opens_at: Timestamp,
    closes_at: Timestamp,
    label: String,
}

impl CampaignClock {
    /// Refuses answers unless the campaign is open and `now` between its dates.
    fn check_accepts_answers(&self, now: Timestamp) -> Result<(), StoreError> {
        match self.state {
            CampaignState::Draft => Err(StoreError::CampaignNotOpen {
                campaign: self.label.clone(),
                opens_at: self.opens_at,
            }),
            CampaignState::Closed | CampaignState::Validated => Err(StoreError::CampaignClosed {
                campaign: self.label.clone(),
                closes_at: self.closes_at,
            }),
            CampaignState::Open if now < self.opens_at => Err(StoreError::CampaignNotOpen {
                campaign: self.label.clone(),
                opens_at: self.opens_at,
            }),
            CampaignState::Open if now >= self.closes_at => Err(StoreError::CampaignClosed {
                campaign: self.label.clone(),
                closes_at: self.closes_at,
            }),
            CampaignState::Open => Ok(()),
        }
    }
}

impl Store {
    /// A campaign's state and dates, on the transaction's connection.
    async fn campaign_clock(
        conn: &mut sqlx::AnyConnection,
        campaign: i64,
    ) -> Result<CampaignClock, StoreError> {
        let row = sqlx::query(
            "SELECT survey_id, period, state, opens_at, closes_at FROM survey_campaigns WHERE id = $1",
        )
        .bind(campaign)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "campaign",
            key: campaign.to_string(),
        })?;
        let survey: String = row.try_get("survey_id")?;
        let period: String = row.try_get("period")?;
        Ok(CampaignClock {
            state: crate::parsed(&row, "state", "campaign state")?,
            opens_at: time::from_db(&row.try_get::<String, _>("opens_at")?)?,
            closes_at: time::from_db(&row.try_get::<String, _>("closes_at")?)?,
            label: format!("{survey} {period}"),
        })
    }

    /// A sampled unit's id and status, by its code.
    async fn sample_row(
        conn: &mut sqlx::AnyConnection,
        campaign: i64,
        unit_code: &str,
    ) -> Result<SampleRow, StoreError> {
        let row = sqlx::query(
            "SELECT s.unit_id, s.status FROM survey_sample s JOIN survey_units u ON u.id = s.unit_id
             WHERE s.campaign_id = $1 AND u.code = $2",
        )
        .bind(campaign)
        .bind(unit_code)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "sampled unit",
            key: format!("{unit_code} (campaign {campaign})"),
        })?;
        Ok(SampleRow {
            unit_id: row.try_get("unit_id")?,
            status: crate::parsed(&row, "status", "response status")?,
        })
    }
}

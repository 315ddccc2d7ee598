//! The respondent portal's sessions: after a good access code, an opaque random token in the
//! cookie carries the respondent from page to page; only its SHA-256 is stored, with the
//! unit and campaign it opens, so a stolen database gives no usable cookie.

use super::responses::Respondent;
use crate::audit::{Actor, AuditRecord};
use crate::sessions::{SessionTokens, random_token};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::{SessionPolicy, SessionStatus, Sha256Hex};
use sqlx::Row;

/// A live portal session: the respondent it carries and the CSRF token its forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// The unit in its campaign.
    pub respondent: Respondent,
    /// The CSRF token every form of this session must carry.
    pub csrf: String,
}

fn token_hash(token: &str) -> String {
    Sha256Hex::of(token.as_bytes()).as_str().to_string()
}

// As for the back office's sessions: a minute of precision on the last use is plenty.
const TOUCH_EVERY_SECS: i64 = 60;

impl Store {
    /// Opens a portal session for a respondent let in by their access code.
    pub async fn create_survey_session(
        &self,
        respondent: &Respondent,
        now: Timestamp,
    ) -> Result<SessionTokens, StoreError> {
        let tokens = SessionTokens {
            token: random_token(),
            csrf: random_token(),
        };
        sqlx::query(
            "INSERT INTO survey_sessions (token_hash, campaign_id, unit_id, csrf_token, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(token_hash(&tokens.token))
        .bind(respondent.campaign_id)
        .bind(respondent.unit_id)
        .bind(&tokens.csrf)
        .bind(time::to_db(now))
        .execute(self.pool())
        .await?;
        Ok(tokens)
    }

    /// The respondent of this cookie token, if its session is still valid at `now` under
    /// `policy`; an expired session is deleted, a valid one has its last use updated.
    pub async fn respondent_by_session(
        &self,
        token: &str,
        policy: &SessionPolicy,
        now: Timestamp,
    ) -> Result<Option<PortalSession>, StoreError> {
        let hash = token_hash(token);
        let row = sqlx::query(
            "SELECT s.campaign_id, s.unit_id, s.csrf_token, s.created_at, s.last_seen_at, u.code, u.name
             FROM survey_sessions s JOIN survey_units u ON u.id = s.unit_id WHERE s.token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let created = time::from_db(&row.try_get::<String, _>("created_at")?)?;
        let last_seen = time::from_db(&row.try_get::<String, _>("last_seen_at")?)?;
        if policy.status(created, last_seen, now) != SessionStatus::Active {
            sqlx::query("DELETE FROM survey_sessions WHERE token_hash = $1")
                .bind(&hash)
                .execute(self.pool())
                .await?;
            return Ok(None);
        }
        if (now - last_seen).as_secs() >= TOUCH_EVERY_SECS {
            sqlx::query("UPDATE survey_sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(time::to_db(now))
                .bind(&hash)
                .execute(self.pool())
                .await?;
        }
        Ok(Some(PortalSession {
            respondent: Respondent {
                campaign_id: row.try_get("campaign_id")?,
                unit_id: row.try_get("unit_id")?,
                unit_code: row.try_get("code")?,
                unit_name: row.try_get("name")?,
            },
            csrf: row.try_get("csrf_token")?,
        }))
    }

    /// Ends a portal session (« Quitter »): the token is useless afterwards, even if replayed.
    /// The answers saved stay; a new access code entry opens a new session.
    pub async fn end_survey_session(
        &self,
        token: &str,
        respondent: &Respondent,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        w.leaves_public_state();
        sqlx::query("DELETE FROM survey_sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(w.conn())
            .await?;
        w.record(AuditRecord::new(
            &Actor::anonymous(),
            "survey.session.end",
            super::response_object(respondent.campaign_id, &respondent.unit_code),
        ));
        w.commit(now).await
    }

    /// Deletes every portal session expired at `now`; returns how many.
    pub async fn purge_survey_sessions(
        &self,
        policy: &SessionPolicy,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let res =
            sqlx::query("DELETE FROM survey_sessions WHERE created_at <= $1 OR last_seen_at <= $2")
                .bind(time::to_db(now - policy.absolute))
                .bind(time::to_db(now - policy.idle))
                .execute(self.pool())
                .await?;
        Ok(res.rows_affected())
    }
}

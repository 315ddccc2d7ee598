//! A sampled unit's response: access by code (throttled), answers saved page by page with
//! their paradata, submission, statuses and their events, a statistician's edits, imputed
//! values, and reminders recorded once.

use super::response_object;
use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, is_unique_violation, time};
use jiff::{SignedDuration, Timestamp};
use justat_model::survey::{
    CampaignState, ImputedValues, ResponseStatus, StatusSource, UnitValues, access_code_digest,
    is_answer_path,
};
use justat_model::{ThrottleDecision, ThrottlePolicy};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

/// The most question paths one save may carry.
pub const MAX_PATHS_PER_SAVE: usize = 5_000;
/// The largest value of one path, as JSON text, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A respondent let in by an access code: one unit in one campaign. Only
/// [`Store::respondent_by_code`] (and [`Store::respondent_by_session`], for a session it
/// opened) makes one, and the answers it reads and writes are always
/// that unit's in that campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Respondent {
    pub(super) campaign_id: i64,
    pub(super) unit_id: i64,
    pub(super) unit_code: String,
    pub(super) unit_name: String,
}

impl Respondent {
    /// The campaign.
    pub fn campaign_id(&self) -> i64 {
        self.campaign_id
    }

    /// The unit's code.
    pub fn unit_code(&self) -> &str {
        &self.unit_code
    }

    /// The unit's name.
    pub fn unit_name(&self) -> &str {
        &self.unit_name
    }
}

/// What came of a code typed on the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// The code is a unit's.
    Granted(Respondent),
    /// Refused.
    Refused(CodeRefusal),
}

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// No unit has this code (or it was replaced).
    Unknown,
    /// Too many wrong codes from this address lately: try again at this instant.
    WaitUntil(Timestamp),
    /// This address is locked until this instant.
    LockedUntil(Timestamp),
}

/// One page saved by a respondent.
#[derive(Debug, Clone, PartialEq)]
pub struct PageSave {
    /// The portal session (to tell visits apart in the paradata).
    pub session: String,
    /// The page's identifier in the questionnaire.
    pub page: String,
    /// Seconds spent on the page before saving.
    pub seconds_spent: u32,
    /// The page's answers by question path.
    pub answers: BTreeMap<String, Value>,
    /// The warnings (control ids) the respondent chose to keep with « Poursuivre ».
    pub kept_warnings: Vec<String>,
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaveReceipt {
    /// The paths whose value changed.
    pub changed_paths: Vec<String>,
    /// The response's status after it.
    pub status: ResponseStatus,
}

/// A question path's values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The path.
    pub path: String,
    /// As the respondent gave it (the last save).
    pub collected: Option<Value>,
    /// As a statistician corrected it.
    pub edited: Option<Value>,
    /// As imputed for a non-response.
    pub imputed: Option<Value>,
    /// The imputation's method.
    pub imputation_method: Option<String>,
}

impl Answer {
    /// The value the statistics use: edited, else imputed, else collected.
    pub fn value(&self) -> Option<&Value> {
        self.edited
            .as_ref()
            .or(self.imputed.as_ref())
            .or(self.collected.as_ref())
    }
}

/// A statistician's correction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edit {
    /// The path.
    pub path: String,
    /// The value collected from the respondent.
    pub collected: Option<Value>,
    /// The value before this edit (an earlier edit's, or the collected one).
    pub previous: Option<Value>,
    /// The new value.
    pub edited: Value,
    /// Why.
    pub reason: String,
    /// Who.
    pub edited_by: String,
    /// When.
    pub edited_at: Timestamp,
}

/// What came of the decision to send a reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderClaim {
    /// Recorded now: send it.
    Claimed,
    /// This reminder was already recorded for this unit: do not send it again.
    AlreadySent,
    /// The unit no longer awaits an answer (it has this status): send nothing.
    NotAwaited(ResponseStatus),
}

/// A reminder due and not yet sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueReminder {
    /// The unit's code.
    pub unit_code: String,
    /// The reminder's number (1 for the first).
    pub number: u32,
}

fn json_text(v: &Value) -> Result<String, StoreError> {
    let text = v.to_string();
    if text.len() > MAX_VALUE_BYTES {
        return Err(StoreError::Refused(format!(
            "an answer's value holds at most {MAX_VALUE_BYTES} bytes"
        )));
    }
    Ok(text)
}

fn json_value(text: Option<String>) -> Result<Option<Value>, StoreError> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|_| StoreError::Corrupt {
            what: "answer value",
            value: t,
        })
    })
    .transpose()
}

/// Moves a sampled unit to `to`, checked by the model's rules, with its event.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn change_status(
    conn: &mut sqlx::AnyConnection,
    campaign: i64,
    unit_id: i64,
    from: ResponseStatus,
    to: ResponseStatus,
    source: StatusSource,
    set_by: &str,
    reason: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    from.transition(to, source)?;
    let at = time::to_db(now);
    let submitted = (to == ResponseStatus::Submitted).then(|| at.clone());
    sqlx::query(
        "UPDATE survey_sample SET status = $1, status_at = $2, submitted_at = COALESCE(submitted_at, $3)
         WHERE campaign_id = $4 AND unit_id = $5",
    )
    .bind(to.as_str())
    .bind(&at)
    .bind(submitted)
    .bind(campaign)
    .bind(unit_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO survey_status_events (campaign_id, unit_id, previous, status, source, set_by, reason, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(campaign)
    .bind(unit_id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(source.as_str())
    .bind(set_by)
    .bind(reason)
    .bind(&at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn answers_of(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    campaign: i64,
    unit_id: i64,
) -> Result<Vec<Answer>, StoreError> {
    sqlx::query(
        "SELECT path, collected, edited, imputed, imputation_method FROM survey_answers
         WHERE campaign_id = $1 AND unit_id = $2 ORDER BY path",
    )
    .bind(campaign)
    .bind(unit_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Answer {
            path: r.try_get("path")?,
            collected: json_value(r.try_get("collected")?)?,
            edited: json_value(r.try_get("edited")?)?,
            imputed: json_value(r.try_get("imputed")?)?,
            imputation_method: r.try_get("imputation_method")?,
        })
    })
    .collect()
}

impl Store {
    /// Lets a respondent in by the access code typed, through the throttle of the client's
    /// address (`policy`, e.g. [`ThrottlePolicy::per_ip`]): wrong codes slow the address
    /// down, then lock it, and a refused attempt is not looked up at all. A wrong code and a
    /// lock are written in the audit log (never the code typed).
    pub async fn respondent_by_code(
        &self,
        code: &str,
        ip: &str,
        policy: &ThrottlePolicy,
        now: Timestamp,
    ) -> Result<CodeOutcome, StoreError> {
        let key = format!("survey-code-ip:{ip}");
        let mut w = self.begin_write().await?;
        w.leaves_public_state();
        let state = crate::accounts::throttle_state(w.conn(), &key).await?;
        match policy.decide(&state, now) {
            ThrottleDecision::Allowed => {}
            ThrottleDecision::WaitUntil(t) => {
                return Ok(CodeOutcome::Refused(CodeRefusal::WaitUntil(t)));
            }
            ThrottleDecision::LockedUntil(t) => {
                return Ok(CodeOutcome::Refused(CodeRefusal::LockedUntil(t)));
            }
        }
        let found = match access_code_digest(code) {
            None => None,
            Some(digest) => {
                sqlx::query(
                    "SELECT s.campaign_id, s.unit_id, u.code, u.name FROM survey_sample s
                 JOIN survey_units u ON u.id = s.unit_id WHERE s.code_sha256 = $1",
                )
                .bind(digest.as_str().to_string())
                .fetch_optional(w.conn())
                .await?
            }
        };
        match found {
            Some(r) => {
                let respondent = Respondent {
                    campaign_id: r.try_get("campaign_id")?,
                    unit_id: r.try_get("unit_id")?,
                    unit_code: r.try_get("code")?,
                    unit_name: r.try_get("name")?,
                };
                let next = policy.after_success(&state);
                crate::accounts::write_throttle(w.conn(), &key, &next).await?;
                w.record(
                    AuditRecord::new(
                        &Actor::anonymous(),
                        "survey.code.success",
                        response_object(respondent.campaign_id, &respondent.unit_code),
                    )
                    .with(json!({ "ip": ip })),
                );
                w.commit(now).await?;
                Ok(CodeOutcome::Granted(respondent))
            }
            None => {
                let (next, locked) = policy.after_failure(&state, now);
                crate::accounts::write_throttle(w.conn(), &key, &next).await?;
                w.record(
                    AuditRecord::new(&Actor::anonymous(), "survey.code.failure", format!("ip:{ip}"))
                        .with(json!({ "locked_until": next.locked_until.filter(|_| locked).map(time::to_db) })),
                );
                w.commit(now).await?;
                Ok(CodeOutcome::Refused(CodeRefusal::Unknown))
            }
        }
    }

    /// The respondent's own answers as collected, by path.
    pub async fn respondent_answers(
        &self,
        respondent: &Respondent,
    ) -> Result<BTreeMap<String, Value>, StoreError> {
        Ok(
            answers_of(self.pool(), respondent.campaign_id, respondent.unit_id)
                .await?
                .into_iter()
                .filter_map(|a| a.collected.map(|v| (a.path, v)))
                .collect(),
        )
    }

    /// The warnings the respondent kept, as (page, control) pairs.
    pub async fn respondent_kept_warnings(
        &self,
        respondent: &Respondent,
    ) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query(
            "SELECT page, control FROM survey_kept_warnings WHERE campaign_id = $1 AND unit_id = $2 ORDER BY page, control",
        )
        .bind(respondent.campaign_id)
        .bind(respondent.unit_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("page")?, r.try_get("control")?)))
        .collect()
    }

    /// The respondent's status now.
    pub async fn respondent_status(
        &self,
        respondent: &Respondent,
    ) -> Result<ResponseStatus, StoreError> {
        let row =
            sqlx::query("SELECT status FROM survey_sample WHERE campaign_id = $1 AND unit_id = $2")
                .bind(respondent.campaign_id)
                .bind(respondent.unit_id)
                .fetch_one(self.pool())
                .await?;
        crate::parsed(&row, "status", "response status")
    }

    /// Saves a page: each path's collected value (the last save wins), the warnings kept on
    /// that page (replacing the page's earlier choice), and the save as paradata. Refused
    /// when the campaign is not open yet or closed ([`StoreError::CampaignNotOpen`],
    /// [`StoreError::CampaignClosed`]) and once submitted ([`StoreError::ResponseLocked`]).
    pub async fn save_answers(
        &self,
        respondent: &Respondent,
        save: &PageSave,
        now: Timestamp,
    ) -> Result<SaveReceipt, StoreError> {
        check_save(save)?;
        let (campaign, unit_id) = (respondent.campaign_id, respondent.unit_id);
        let mut w = self.begin_write().await?;
        w.leaves_public_state();
        Store::campaign_clock(w.conn(), campaign)
            .await?
            .check_accepts_answers(now)?;
        let sample = Store::sample_row(w.conn(), campaign, &respondent.unit_code).await?;
        if !sample.status.respondent_may_write() {
            return Err(StoreError::ResponseLocked {
                unit: respondent.unit_code.clone(),
                status: sample.status,
            });
        }
        let stored: BTreeMap<String, Option<String>> = sqlx::query(
            "SELECT path, collected FROM survey_answers WHERE campaign_id = $1 AND unit_id = $2",
        )
        .bind(campaign)
        .bind(unit_id)
        .fetch_all(w.conn())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("path")?, r.try_get("collected")?)))
        .collect::<Result<_, StoreError>>()?;
        let at = time::to_db(now);
        let mut changed = Vec::new();
        for (path, value) in &save.answers {
            let text = json_text(value)?;
            let before = stored.get(path);
            if before
                .and_then(|b| b.as_deref())
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                == Some(value.clone())
            {
                continue;
            }
            if before.is_some() {
                sqlx::query(
                    "UPDATE survey_answers SET collected = $1, updated_at = $2 WHERE campaign_id = $3 AND unit_id = $4 AND path = $5",
                )
                .bind(&text)
                .bind(&at)
                .bind(campaign)
                .bind(unit_id)
                .bind(path)
                .execute(w.conn())
                .await?;
            } else {
                sqlx::query(
                    "INSERT INTO survey_answers (campaign_id, unit_id, path, collected, updated_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(campaign)
                .bind(unit_id)
                .bind(path)
                .bind(&text)
                .bind(&at)
                .execute(w.conn())
                .await?;
            }
            changed.push(path.clone());
        }
        sqlx::query(
            "DELETE FROM survey_kept_warnings WHERE campaign_id = $1 AND unit_id = $2 AND page = $3",
        )
        .bind(campaign)
        .bind(unit_id)
        .bind(&save.page)
        .execute(w.conn())
        .await?;
        let kept: BTreeSet<&String> = save.kept_warnings.iter().collect();
        for control in &kept {
            sqlx::query(
                "INSERT INTO survey_kept_warnings (campaign_id, unit_id, page, control, kept_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(campaign)
            .bind(unit_id)
            .bind(&save.page)
            .bind(*control)
            .bind(&at)
            .execute(w.conn())
            .await?;
        }
        sqlx::query(
            "INSERT INTO survey_saves (campaign_id, unit_id, session, page, seconds, changed_paths, kept_warnings, saved_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(campaign)
        .bind(unit_id)
        .bind(&save.session)
        .bind(&save.page)
        .bind(i64::from(save.seconds_spent))
        .bind(json!(changed).to_string())
        .bind(json!(kept).to_string())
        .bind(&at)
        .execute(w.conn())
        .await?;
        let mut status = sample.status;
        if status == ResponseStatus::NotStarted {
            change_status(
                w.conn(),
                campaign,
                unit_id,
                status,
                ResponseStatus::InProgress,
                StatusSource::Respondent,
                "respondent",
                "première page enregistrée",
                now,
            )
            .await?;
            status = ResponseStatus::InProgress;
        }
        w.record(
            AuditRecord::new(
                &Actor::anonymous(),
                "survey.answers.save",
                response_object(campaign, &respondent.unit_code),
            )
            .with(json!({ "page": save.page, "changed": changed.len() })),
        );
        w.commit(now).await?;
        Ok(SaveReceipt {
            changed_paths: changed,
            status,
        })
    }

    /// Submits the respondent's answers: read-only for them from now on, until a statistician
    /// reopens them. Refused outside the campaign's dates and when already submitted.
    pub async fn submit_answers(
        &self,
        respondent: &Respondent,
        now: Timestamp,
    ) -> Result<ResponseStatus, StoreError> {
        let campaign = respondent.campaign_id;
        let mut w = self.begin_write().await?;
        w.leaves_public_state();
        Store::campaign_clock(w.conn(), campaign)
            .await?
            .check_accepts_answers(now)?;
        let sample = Store::sample_row(w.conn(), campaign, &respondent.unit_code).await?;
        if !sample.status.respondent_may_write() {
            return Err(StoreError::ResponseLocked {
                unit: respondent.unit_code.clone(),
                status: sample.status,
            });
        }
        change_status(
            w.conn(),
            campaign,
            sample.unit_id,
            sample.status,
            ResponseStatus::Submitted,
            StatusSource::Respondent,
            "respondent",
            "réponses envoyées",
            now,
        )
        .await?;
        w.record(AuditRecord::new(
            &Actor::anonymous(),
            "survey.answers.submit",
            response_object(campaign, &respondent.unit_code),
        ));
        w.commit(now).await?;
        Ok(ResponseStatus::Submitted)
    }

    /// A statistician's change of a unit's status (validate a submission, reopen it for the
    /// respondent, record a refusal or an out-of-scope unit, undo those), with its reason;
    /// the rules are [`ResponseStatus::transition`]'s.
    pub async fn set_response_status(
        &self,
        campaign: i64,
        unit_code: &str,
        status: ResponseStatus,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ResponseStatus, StoreError> {
        if reason.trim().is_empty() || reason.len() > 2000 {
            return Err(StoreError::Refused(
                "a change of status needs its reason (at most 2,000 characters)".into(),
            ));
        }
        let mut w = self.begin_write().await?;
        let clock = Store::campaign_clock(w.conn(), campaign).await?;
        if clock.state == CampaignState::Validated {
            return Err(StoreError::Refused(format!(
                "campaign {} is validated: its responses no longer change",
                clock.label
            )));
        }
        let sample = Store::sample_row(w.conn(), campaign, unit_code).await?;
        change_status(
            w.conn(),
            campaign,
            sample.unit_id,
            sample.status,
            status,
            StatusSource::Statistician,
            actor.as_str(),
            reason.trim(),
            now,
        )
        .await?;
        w.record(
            AuditRecord::new(actor, "survey.status", response_object(campaign, unit_code)).with(
                json!({
                    "from": sample.status.as_str(), "to": status.as_str(), "reason": reason.trim(),
                }),
            ),
        );
        w.commit(now).await?;
        Ok(status)
    }

    /// Reopens a submitted (or validated) response for the respondent, with the reason.
    pub async fn reopen_response(
        &self,
        campaign: i64,
        unit_code: &str,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ResponseStatus, StoreError> {
        self.set_response_status(
            campaign,
            unit_code,
            ResponseStatus::InProgress,
            reason,
            actor,
            now,
        )
        .await
    }

    /// A unit's answers with their collected, edited and imputed values (for statisticians).
    pub async fn unit_answers(
        &self,
        campaign: i64,
        unit_code: &str,
    ) -> Result<Vec<Answer>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let sample = Store::sample_row(&mut conn, campaign, unit_code).await?;
        answers_of(&mut *conn, campaign, sample.unit_id).await
    }

    /// A statistician's correction of one path of a submitted response: the collected value
    /// stays beside the edited one, and the edit is kept with who and why.
    #[allow(clippy::too_many_arguments)]
    pub async fn edit_answer(
        &self,
        campaign: i64,
        unit_code: &str,
        path: &str,
        value: &Value,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Answer, StoreError> {
        if !is_answer_path(path) {
            return Err(StoreError::Refused(format!(
                "`{path}` is not a question path"
            )));
        }
        if reason.trim().is_empty() || reason.len() > 2000 {
            return Err(StoreError::Refused(
                "an edit needs its reason (at most 2,000 characters)".into(),
            ));
        }
        let text = json_text(value)?;
        let mut w = self.begin_write().await?;
        let clock = Store::campaign_clock(w.conn(), campaign).await?;
        if clock.state == CampaignState::Validated {
            return Err(StoreError::Refused(format!(
                "campaign {} is validated: its answers no longer change",
                clock.label
            )));
        }
        let sample = Store::sample_row(w.conn(), campaign, unit_code).await?;
        if sample.status != ResponseStatus::Submitted {
            return Err(StoreError::Refused(format!(
                "unit {unit_code} is {}: only a submitted response is edited",
                sample.status.as_str()
            )));
        }
        let current = sqlx::query(
            "SELECT collected, edited FROM survey_answers WHERE campaign_id = $1 AND unit_id = $2 AND path = $3",
        )
        .bind(campaign)
        .bind(sample.unit_id)
        .bind(path)
        .fetch_optional(w.conn())
        .await?;
        let (collected, edited): (Option<String>, Option<String>) = match &current {
            Some(r) => (r.try_get("collected")?, r.try_get("edited")?),
            None => (None, None),
        };
        let at = time::to_db(now);
        if current.is_some() {
            sqlx::query(
                "UPDATE survey_answers SET edited = $1, updated_at = $2 WHERE campaign_id = $3 AND unit_id = $4 AND path = $5",
            )
            .bind(&text)
            .bind(&at)
            .bind(campaign)
            .bind(sample.unit_id)
            .bind(path)
            .execute(w.conn())
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO survey_answers (campaign_id, unit_id, path, edited, updated_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(campaign)
            .bind(sample.unit_id)
            .bind(path)
            .bind(&text)
            .bind(&at)
            .execute(w.conn())
            .await?;
        }
        let previous = edited.clone().or(collected.clone());
        sqlx::query(
            "INSERT INTO survey_edits (campaign_id, unit_id, path, collected, previous, edited, reason, edited_by, edited_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(campaign)
        .bind(sample.unit_id)
        .bind(path)
        .bind(collected.clone())
        .bind(previous)
        .bind(&text)
        .bind(reason.trim())
        .bind(actor.as_str())
        .bind(&at)
        .execute(w.conn())
        .await?;
        w.record(
            AuditRecord::new(
                actor,
                "survey.answer.edit",
                response_object(campaign, unit_code),
            )
            .with(json!({ "path": path, "reason": reason.trim() })),
        );
        w.commit(now).await?;
        let answers = self.unit_answers(campaign, unit_code).await?;
        answers
            .into_iter()
            .find(|a| a.path == path)
            .ok_or_else(|| StoreError::NotFound {
                what: "answer",
                key: path.to_string(),
            })
    }

    /// The edits of a unit's response, oldest first.
    pub async fn answer_edits(
        &self,
        campaign: i64,
        unit_code: &str,
    ) -> Result<Vec<Edit>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let sample = Store::sample_row(&mut conn, campaign, unit_code).await?;
        sqlx::query(
            "SELECT path, collected, previous, edited, reason, edited_by, edited_at FROM survey_edits
             WHERE campaign_id = $1 AND unit_id = $2 ORDER BY id",
        )
        .bind(campaign)
        .bind(sample.unit_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Edit {
                path: r.try_get("path")?,
                collected: json_value(r.try_get("collected")?)?,
                previous: json_value(r.try_get("previous")?)?,
                edited: json_value(Some(r.try_get("edited")?))?.unwrap_or(Value::Null),
                reason: r.try_get("reason")?,
                edited_by: r.try_get("edited_by")?,
                edited_at: time::from_db(&r.try_get::<String, _>("edited_at")?)?,
            })
        })
        .collect()
    }

    /// Stores imputed values for a unit that did not answer (not started, in progress or
    /// refused) of a closed campaign, flagged with their method (e.g. `previous_answer`,
    /// `stratum_median`). Replaces earlier imputed values of the same paths.
    pub async fn record_imputed(
        &self,
        campaign: i64,
        unit_code: &str,
        values: &BTreeMap<String, Value>,
        method: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        if method.trim().is_empty() || method.len() > 100 {
            return Err(StoreError::Refused(
                "an imputation names its method (at most 100 characters)".into(),
            ));
        }
        if values.len() > MAX_PATHS_PER_SAVE {
            return Err(StoreError::Refused(format!(
                "at most {MAX_PATHS_PER_SAVE} imputed paths at once"
            )));
        }
        if let Some(bad) = values.keys().find(|p| !is_answer_path(p)) {
            return Err(StoreError::Refused(format!(
                "`{bad}` is not a question path"
            )));
        }
        let mut w = self.begin_write().await?;
        let clock = Store::campaign_clock(w.conn(), campaign).await?;
        if clock.state != CampaignState::Closed {
            return Err(StoreError::Refused(format!(
                "campaign {} is {}: values are imputed once it is closed",
                clock.label,
                clock.state.as_str()
            )));
        }
        let sample = Store::sample_row(w.conn(), campaign, unit_code).await?;
        if sample.status.has_responded() || sample.status == ResponseStatus::OutOfScope {
            return Err(StoreError::Refused(format!(
                "unit {unit_code} is {}: only a non-response is imputed",
                sample.status.as_str()
            )));
        }
        let at = time::to_db(now);
        for (path, value) in values {
            let text = json_text(value)?;
            let updated = sqlx::query(
                "UPDATE survey_answers SET imputed = $1, imputation_method = $2, updated_at = $3
                 WHERE campaign_id = $4 AND unit_id = $5 AND path = $6",
            )
            .bind(&text)
            .bind(method.trim())
            .bind(&at)
            .bind(campaign)
            .bind(sample.unit_id)
            .bind(path)
            .execute(w.conn())
            .await?;
            if updated.rows_affected() == 0 {
                sqlx::query(
                    "INSERT INTO survey_answers (campaign_id, unit_id, path, imputed, imputation_method, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(campaign)
                .bind(sample.unit_id)
                .bind(path)
                .bind(&text)
                .bind(method.trim())
                .bind(&at)
                .execute(w.conn())
                .await?;
            }
        }
        w.record(
            AuditRecord::new(
                actor,
                "survey.answers.impute",
                response_object(campaign, unit_code),
            )
            .with(json!({ "method": method.trim(), "paths": values.len() })),
        );
        w.commit(now).await?;
        Ok(values.len())
    }

    /// Imputes a closed campaign's unit non-response in one transaction: every sampled unit's
    /// values (edits, else collected; and those of the previous validated campaign of the
    /// same survey, by period) are read under the write lock and given to `impute` — a pure
    /// rule such as `justat_survey::campaign::impute::impute_non_response` —, earlier imputed
    /// values are cleared and the new ones stored, flagged with their method. Returns how many
    /// units and values were imputed. Refused unless the campaign is closed, and for a value
    /// given to a unit that responded or is out of scope; nothing is changed then.
    pub async fn impute_non_response<E: std::fmt::Display>(
        &self,
        campaign: i64,
        impute: impl FnOnce(&[UnitValues]) -> Result<ImputedValues, E>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(usize, usize), StoreError> {
        let mut w = self.begin_write().await?;
        let clock = Store::campaign_clock(w.conn(), campaign).await?;
        if clock.state != CampaignState::Closed {
            return Err(StoreError::Refused(format!(
                "campaign {} is {}: values are imputed once it is closed",
                clock.label,
                clock.state.as_str()
            )));
        }
        let row = sqlx::query("SELECT survey_id, period FROM survey_campaigns WHERE id = $1")
            .bind(campaign)
            .fetch_one(w.conn())
            .await?;
        let (survey, period): (String, String) =
            (row.try_get("survey_id")?, row.try_get("period")?);
        let previous: Option<i64> = sqlx::query(
            "SELECT id FROM survey_campaigns WHERE survey_id = $1 AND state = $2 AND period < $3
             ORDER BY period DESC LIMIT 1",
        )
        .bind(&survey)
        .bind(CampaignState::Validated.as_str())
        .bind(&period)
        .fetch_optional(w.conn())
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?;
        let sample = sqlx::query(
            "SELECT s.unit_id, u.code, s.stratum, s.status FROM survey_sample s
             JOIN survey_units u ON u.id = s.unit_id WHERE s.campaign_id = $1 ORDER BY u.code",
        )
        .bind(campaign)
        .fetch_all(w.conn())
        .await?;
        let values_of =
            async |conn: &mut sqlx::AnyConnection,
                   id: i64,
                   statistics: bool|
                   -> Result<BTreeMap<String, BTreeMap<String, Value>>, StoreError> {
                let rows = sqlx::query(
                    "SELECT u.code, a.path, a.collected, a.edited, a.imputed FROM survey_answers a
                 JOIN survey_units u ON u.id = a.unit_id WHERE a.campaign_id = $1",
                )
                .bind(id)
                .fetch_all(conn)
                .await?;
                let mut out: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
                for r in &rows {
                    let edited = json_value(r.try_get("edited")?)?;
                    let imputed = json_value(r.try_get("imputed")?)?;
                    let collected = json_value(r.try_get("collected")?)?;
                    let value = if statistics {
                        edited.or(imputed).or(collected)
                    } else {
                        edited.or(collected)
                    };
                    if let Some(v) = value {
                        out.entry(r.try_get("code")?)
                            .or_default()
                            .insert(r.try_get("path")?, v);
                    }
                }
                Ok(out)
            };
        let mut current = values_of(w.conn(), campaign, false).await?;
        let mut before = match previous {
            Some(p) => values_of(w.conn(), p, true).await?,
            None => BTreeMap::new(),
        };
        let mut units = Vec::with_capacity(sample.len());
        let mut ids = BTreeMap::new();
        for r in &sample {
            let code: String = r.try_get("code")?;
            ids.insert(code.clone(), r.try_get::<i64, _>("unit_id")?);
            units.push(UnitValues {
                current: current.remove(&code).unwrap_or_default(),
                previous: before.remove(&code),
                stratum: r.try_get("stratum")?,
                status: crate::parsed(r, "status", "response status")?,
                unit_code: code,
            });
        }
        let imputed = impute(&units).map_err(|e| StoreError::Refused(e.to_string()))?;
        let at = time::to_db(now);
        sqlx::query(
            "UPDATE survey_answers SET imputed = NULL, imputation_method = NULL WHERE campaign_id = $1 AND imputed IS NOT NULL",
        )
        .bind(campaign)
        .execute(w.conn())
        .await?;
        let mut count = 0usize;
        for (code, values) in &imputed {
            let unit = units.iter().find(|u| &u.unit_code == code).ok_or_else(|| {
                StoreError::NotFound {
                    what: "sampled unit",
                    key: code.clone(),
                }
            })?;
            if unit.status.has_responded() || unit.status == ResponseStatus::OutOfScope {
                return Err(StoreError::Refused(format!(
                    "unit {code} is {}: only a non-response is imputed",
                    unit.status.as_str()
                )));
            }
            for (path, (value, method)) in values {
                if !is_answer_path(path) || method.trim().is_empty() || method.len() > 100 {
                    return Err(StoreError::Refused(format!(
                        "unit {code}: `{path}` imputed by `{method}` is not a question path with a method"
                    )));
                }
                let text = json_text(value)?;
                let updated = sqlx::query(
                    "UPDATE survey_answers SET imputed = $1, imputation_method = $2, updated_at = $3
                     WHERE campaign_id = $4 AND unit_id = $5 AND path = $6",
                )
                .bind(&text)
                .bind(method)
                .bind(&at)
                .bind(campaign)
                .bind(ids[code])
                .bind(path)
                .execute(w.conn())
                .await?;
                if updated.rows_affected() == 0 {
                    sqlx::query(
                        "INSERT INTO survey_answers (campaign_id, unit_id, path, imputed, imputation_method, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(campaign)
                    .bind(ids[code])
                    .bind(path)
                    .bind(&text)
                    .bind(method)
                    .bind(&at)
                    .execute(w.conn())
                    .await?;
                }
                count += 1;
            }
        }
        let methods: BTreeSet<&str> = imputed
            .values()
            .flat_map(|v| v.values().map(|(_, m)| m.as_str()))
            .collect();
        w.record(
            AuditRecord::new(
                actor,
                "survey.campaign.impute",
                super::campaign_object(campaign),
            )
            .with(json!({
                "units": imputed.len(), "values": count, "methods": methods,
                "previous_campaign": previous,
            })),
        );
        w.commit(now).await?;
        Ok((imputed.len(), count))
    }

    /// Decides to send reminder `number` to a unit, and records it in the same transaction:
    /// [`ReminderClaim::Claimed`] once, [`ReminderClaim::AlreadySent`] every time after, and
    /// [`ReminderClaim::NotAwaited`] for a unit that answered, refused or is out of scope.
    pub async fn claim_reminder(
        &self,
        campaign: i64,
        unit_code: &str,
        number: u32,
        channel: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ReminderClaim, StoreError> {
        if number == 0 || !matches!(channel, "email" | "letter") {
            return Err(StoreError::Refused(
                "a reminder is numbered from 1 and sent by `email` or `letter`".into(),
            ));
        }
        let mut w = self.begin_write().await?;
        w.leaves_public_state();
        let clock = Store::campaign_clock(w.conn(), campaign).await?;
        if clock.state != CampaignState::Open {
            return Err(StoreError::Refused(format!(
                "campaign {} is {}: reminders go out while it is open",
                clock.label,
                clock.state.as_str()
            )));
        }
        let sample = Store::sample_row(w.conn(), campaign, unit_code).await?;
        if !sample.status.awaits_answer() {
            return Ok(ReminderClaim::NotAwaited(sample.status));
        }
        let inserted = sqlx::query(
            "INSERT INTO survey_reminders (campaign_id, unit_id, number, channel, decided_by, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(campaign)
        .bind(sample.unit_id)
        .bind(i64::from(number))
        .bind(channel)
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .execute(w.conn())
        .await;
        match inserted {
            Ok(_) => {}
            // The whole transaction is rolled back on drop: nothing but the refusal.
            Err(e) if is_unique_violation(&e) => return Ok(ReminderClaim::AlreadySent),
            Err(e) => return Err(e.into()),
        }
        w.record(
            AuditRecord::new(
                actor,
                "survey.reminder",
                response_object(campaign, unit_code),
            )
            .with(json!({ "number": number, "channel": channel })),
        );
        w.commit(now).await?;
        Ok(ReminderClaim::Claimed)
    }

    /// The reminders due at `now` and not sent: for each unit still awaited, the latest
    /// reminder whose day has come, if it was not recorded (an earlier one missed is skipped,
    /// so a late run never sends two at once).
    pub async fn due_reminders(
        &self,
        campaign: i64,
        now: Timestamp,
    ) -> Result<Vec<DueReminder>, StoreError> {
        let c = self.campaign(campaign).await?;
        if c.state != CampaignState::Open || now >= c.closes_at {
            return Ok(Vec::new());
        }
        let Some(number) = c
            .reminder_days
            .iter()
            .rposition(|d| c.opens_at + SignedDuration::from_hours(24 * i64::from(*d)) <= now)
            .map(|i| i as u32 + 1)
        else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT u.code FROM survey_sample s JOIN survey_units u ON u.id = s.unit_id
             WHERE s.campaign_id = $1 AND s.status IN ($2, $3)
               AND NOT EXISTS (SELECT 1 FROM survey_reminders r
                   WHERE r.campaign_id = s.campaign_id AND r.unit_id = s.unit_id AND r.number >= $4)
             ORDER BY u.code",
        )
        .bind(campaign)
        .bind(ResponseStatus::NotStarted.as_str())
        .bind(ResponseStatus::InProgress.as_str())
        .bind(i64::from(number))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DueReminder {
                    unit_code: r.try_get("code")?,
                    number,
                })
            })
            .collect()
    }
}

/// Checks a save's size and names before anything is written.
fn check_save(save: &PageSave) -> Result<(), StoreError> {
    let refuse = |m: String| Err(StoreError::Refused(m));
    if save.session.is_empty() || save.session.len() > 100 {
        return refuse("a save names its session (at most 100 characters)".into());
    }
    if save.page.is_empty() || save.page.len() > 100 {
        return refuse("a save names its page (at most 100 characters)".into());
    }
    if save.answers.len() > MAX_PATHS_PER_SAVE {
        return refuse(format!("at most {MAX_PATHS_PER_SAVE} answers per save"));
    }
    if let Some(bad) = save.answers.keys().find(|p| !is_answer_path(p)) {
        return refuse(format!("`{bad}` is not a question path"));
    }
    if save.kept_warnings.len() > 1000
        || save
            .kept_warnings
            .iter()
            .any(|c| c.is_empty() || c.len() > 200)
    {
        return refuse("at most 1,000 kept warnings, each named in 1 to 200 characters".into());
    }
    Ok(())
}

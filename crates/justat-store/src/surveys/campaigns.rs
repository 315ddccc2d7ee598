//! Campaigns: a survey's collection for one period, with its questionnaire version, legal
//! standing, dates, reminder schedule, sample and access codes, and its state.

use super::campaign_object;
use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, is_unique_violation, time};
use jiff::Timestamp;
use jiff::civil::Date;
use justat_model::Sha256Hex;
use justat_model::survey::{
    ACCESS_CODE_RANDOM_BYTES, AccessCode, CampaignState, ResponseStatus, SampleMethod, UnitKind,
};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// The legal standing of a campaign, from which the legal notice is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalStanding {
    /// Date of the Cnis's avis d'opportunité.
    pub cnis_avis_date: Option<Date>,
    /// Its reference.
    pub cnis_avis_reference: Option<String>,
    /// The Comité du label's opinion (« conformité », …).
    pub label: Option<String>,
    /// The visa number (`2026X004EC`).
    pub visa_number: Option<String>,
    /// The year the visa is valid for.
    pub visa_year: Option<i16>,
    /// Whether answering is compulsory.
    pub mandatory: bool,
}

/// A campaign to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    /// The survey's identifier (`BAV`), its questionnaire's name in `surveys/`.
    pub survey_id: String,
    /// The period surveyed (`2025`).
    pub period: String,
    /// Its title, shown to respondents.
    pub title: String,
    /// The questionnaire's version.
    pub questionnaire_version: String,
    /// The SHA-256 of the questionnaire file of that version.
    pub questionnaire_sha256: Sha256Hex,
    /// Its legal standing.
    pub legal: LegalStanding,
    /// When answers are first accepted.
    pub opens_at: Timestamp,
    /// When answers stop being accepted.
    pub closes_at: Timestamp,
    /// Days after opening when reminders 1, 2, … are due, increasing.
    pub reminder_days: Vec<u32>,
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Campaign {
    /// Its number.
    pub id: i64,
    /// The survey.
    pub survey_id: String,
    /// The period.
    pub period: String,
    /// Its title.
    pub title: String,
    /// The questionnaire's version.
    pub questionnaire_version: String,
    /// Its SHA-256.
    pub questionnaire_sha256: Sha256Hex,
    /// Its legal standing.
    pub legal: LegalStanding,
    /// Opening instant.
    pub opens_at: Timestamp,
    /// Closing instant.
    pub closes_at: Timestamp,
    /// Reminder days after opening.
    pub reminder_days: Vec<u32>,
    /// How its sample was drawn, once it has one.
    pub sample_method: Option<SampleMethod>,
    /// Its state.
    pub state: CampaignState,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

/// A unit of a sample, with its stratum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampledUnit {
    /// The unit's code.
    pub unit_code: String,
    /// Its stratum (the kind's name for a sample of all units of a kind).
    pub stratum: String,
}

/// An access code just issued: shown once (printed on the invitation), never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The unit's code.
    pub unit_code: String,
    /// The code.
    pub code: AccessCode,
}

const CAMPAIGN_COLUMNS: &str = "id, survey_id, period, title, questionnaire_version, questionnaire_sha256, \
    cnis_avis_date, cnis_avis_reference, label, visa_number, visa_year, mandatory, opens_at, closes_at, \
    reminder_days, sample_method, sample_kind, sample_seed, state, created_by, created_at";

fn campaign_of(r: &AnyRow) -> Result<Campaign, StoreError> {
    let corrupt = |what, value: String| StoreError::Corrupt { what, value };
    let avis: Option<String> = r.try_get("cnis_avis_date")?;
    let days: String = r.try_get("reminder_days")?;
    let method: Option<String> = r.try_get("sample_method")?;
    let sample_method = match method.as_deref() {
        None => None,
        Some("all_of_kind") => {
            let kind: String = r
                .try_get::<Option<String>, _>("sample_kind")?
                .unwrap_or_default();
            Some(SampleMethod::AllOfKind {
                kind: kind.parse().map_err(|_| corrupt("sample kind", kind))?,
            })
        }
        Some("stratified") => {
            let seed: String = r
                .try_get::<Option<String>, _>("sample_seed")?
                .unwrap_or_default();
            Some(SampleMethod::Stratified {
                seed: seed.parse().map_err(|_| corrupt("sample seed", seed))?,
            })
        }
        Some(other) => return Err(corrupt("sample method", other.to_string())),
    };
    Ok(Campaign {
        id: r.try_get("id")?,
        survey_id: r.try_get("survey_id")?,
        period: r.try_get("period")?,
        title: r.try_get("title")?,
        questionnaire_version: r.try_get("questionnaire_version")?,
        questionnaire_sha256: crate::digest(r, "questionnaire_sha256")?,
        legal: LegalStanding {
            cnis_avis_date: avis
                .map(|d| d.parse().map_err(|_| corrupt("Cnis opinion date", d)))
                .transpose()?,
            cnis_avis_reference: r.try_get("cnis_avis_reference")?,
            label: r.try_get("label")?,
            visa_number: r.try_get("visa_number")?,
            visa_year: r
                .try_get::<Option<i64>, _>("visa_year")?
                .map(|y| i16::try_from(y).map_err(|_| corrupt("visa year", y.to_string())))
                .transpose()?,
            mandatory: r.try_get::<i64, _>("mandatory")? != 0,
        },
        opens_at: time::from_db(&r.try_get::<String, _>("opens_at")?)?,
        closes_at: time::from_db(&r.try_get::<String, _>("closes_at")?)?,
        reminder_days: serde_json::from_str(&days)
            .map_err(|_| corrupt("reminder days", days.clone()))?,
        sample_method,
        state: crate::parsed(r, "state", "campaign state")?,
        created_by: r.try_get("created_by")?,
        created_at: time::from_db(&r.try_get::<String, _>("created_at")?)?,
    })
}

/// Checks a new campaign's fields, naming the first one wrong.
fn check_new(c: &NewCampaign) -> Result<(), StoreError> {
    let refuse = |m: String| Err(StoreError::Refused(m));
    let plain = |s: &str| {
        !s.is_empty()
            && s.len() <= 60
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    if !plain(&c.survey_id) {
        return refuse(format!(
            "survey id `{}`: 1 to 60 letters, digits, `-`, `_` or `.`",
            c.survey_id
        ));
    }
    if !plain(&c.period) {
        return refuse(format!(
            "period `{}`: 1 to 60 letters, digits, `-`, `_` or `.`",
            c.period
        ));
    }
    if c.title.trim().is_empty() || c.title.chars().count() > 300 {
        return refuse("a campaign needs a title of at most 300 characters".into());
    }
    if c.questionnaire_version.trim().is_empty() || c.questionnaire_version.len() > 60 {
        return refuse(
            "a campaign needs its questionnaire's version (at most 60 characters)".into(),
        );
    }
    if c.closes_at <= c.opens_at {
        return refuse("a campaign closes after it opens".into());
    }
    if c.reminder_days.len() > 20 || c.reminder_days.windows(2).any(|w| w[0] >= w[1]) {
        return refuse("reminder days increase, at most 20 reminders".into());
    }
    for (name, value) in [
        ("Cnis reference", &c.legal.cnis_avis_reference),
        ("label", &c.legal.label),
        ("visa number", &c.legal.visa_number),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.trim().is_empty() || v.len() > 200)
        {
            return refuse(format!("{name}: 1 to 200 characters when given"));
        }
    }
    if c.legal.visa_number.is_some() != c.legal.visa_year.is_some() {
        return refuse("a visa number goes with the year it is valid for".into());
    }
    Ok(())
}

impl Store {
    /// Creates a campaign in the draft state.
    pub async fn create_campaign(
        &self,
        new: &NewCampaign,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Campaign, StoreError> {
        check_new(new)?;
        let mut w = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO survey_campaigns (survey_id, period, title, questionnaire_version, questionnaire_sha256,
               cnis_avis_date, cnis_avis_reference, label, visa_number, visa_year, mandatory, opens_at, closes_at,
               reminder_days, state, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
        )
        .bind(&new.survey_id)
        .bind(&new.period)
        .bind(new.title.trim())
        .bind(&new.questionnaire_version)
        .bind(new.questionnaire_sha256.as_str().to_string())
        .bind(new.legal.cnis_avis_date.map(|d| d.to_string()))
        .bind(new.legal.cnis_avis_reference.clone())
        .bind(new.legal.label.clone())
        .bind(new.legal.visa_number.clone())
        .bind(new.legal.visa_year.map(i64::from))
        .bind(i64::from(new.legal.mandatory))
        .bind(time::to_db(new.opens_at))
        .bind(time::to_db(new.closes_at))
        .bind(json!(new.reminder_days).to_string())
        .bind(CampaignState::Draft.as_str())
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .fetch_one(w.conn())
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get("id")?,
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict {
                    what: "campaign",
                    key: format!("{} {}", new.survey_id, new.period),
                });
            }
            Err(e) => return Err(e.into()),
        };
        w.record(
            AuditRecord::new(actor, "survey.campaign.create", campaign_object(id)).with(json!({
                "survey": new.survey_id, "period": new.period,
                "questionnaire_version": new.questionnaire_version,
                "questionnaire_sha256": new.questionnaire_sha256.as_str(),
                "opens_at": time::to_db(new.opens_at), "closes_at": time::to_db(new.closes_at),
            })),
        );
        w.commit(now).await?;
        self.campaign(id).await
    }

    /// One campaign.
    pub async fn campaign(&self, id: i64) -> Result<Campaign, StoreError> {
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM survey_campaigns WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "campaign",
            key: id.to_string(),
        })?;
        campaign_of(&row)
    }

    /// Every campaign, newest first.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        sqlx::query(crate::dynamic(format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM survey_campaigns ORDER BY id DESC"
        )))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(campaign_of)
        .collect()
    }

    /// Sets a draft campaign's sample, replacing any earlier one: the units (codes of the
    /// register, each once) with their strata, and how they were drawn (the draw itself is
    /// `justat-survey`'s). Returns the sample's size.
    pub async fn set_campaign_sample(
        &self,
        id: i64,
        method: &SampleMethod,
        units: &[SampledUnit],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        if units.is_empty() {
            return Err(StoreError::Refused(
                "a sample needs at least one unit".into(),
            ));
        }
        let mut w = self.begin_write().await?;
        let clock = Store::campaign_clock(w.conn(), id).await?;
        if clock.state != CampaignState::Draft {
            return Err(StoreError::Refused(format!(
                "the sample of campaign {} is set while it is a draft (it is {})",
                clock.label,
                clock.state.as_str()
            )));
        }
        sqlx::query("DELETE FROM survey_sample WHERE campaign_id = $1")
            .bind(id)
            .execute(w.conn())
            .await?;
        let at = time::to_db(now);
        let mut strata = std::collections::BTreeMap::<&str, usize>::new();
        for u in units {
            if u.stratum.is_empty() || u.stratum.len() > 100 {
                return Err(StoreError::Refused(format!(
                    "unit {}: a stratum of 1 to 100 characters",
                    u.unit_code
                )));
            }
            let unit_id: i64 = sqlx::query("SELECT id FROM survey_units WHERE code = $1")
                .bind(&u.unit_code)
                .fetch_optional(w.conn())
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: "survey unit",
                    key: u.unit_code.clone(),
                })?
                .try_get("id")?;
            let done = sqlx::query(
                "INSERT INTO survey_sample (campaign_id, unit_id, stratum, status, status_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(unit_id)
            .bind(&u.stratum)
            .bind(ResponseStatus::NotStarted.as_str())
            .bind(&at)
            .execute(w.conn())
            .await;
            match done {
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict {
                        what: "sampled unit",
                        key: u.unit_code.clone(),
                    });
                }
                other => {
                    other?;
                }
            }
            *strata.entry(u.stratum.as_str()).or_default() += 1;
        }
        let (kind, seed) = match method {
            SampleMethod::AllOfKind { kind } => (Some(kind.as_str()), None),
            SampleMethod::Stratified { seed } => (None, Some(seed.to_string())),
        };
        sqlx::query(
            "UPDATE survey_campaigns SET sample_method = $1, sample_kind = $2, sample_seed = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(method.name())
        .bind(kind)
        .bind(seed.clone())
        .bind(&at)
        .bind(id)
        .execute(w.conn())
        .await?;
        w.record(
            AuditRecord::new(actor, "survey.campaign.sample", campaign_object(id)).with(json!({
                "method": method, "size": units.len(), "strata": strata,
            })),
        );
        w.commit(now).await?;
        Ok(units.len())
    }

    /// Sets a draft campaign's sample to every unit of the register of one kind, the kind as
    /// stratum. Returns the sample's size.
    pub async fn sample_all_of_kind(
        &self,
        id: i64,
        kind: UnitKind,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let units: Vec<SampledUnit> = self
            .survey_units(Some(kind))
            .await?
            .into_iter()
            .map(|u| SampledUnit {
                unit_code: u.code,
                stratum: kind.as_str().to_string(),
            })
            .collect();
        self.set_campaign_sample(id, &SampleMethod::AllOfKind { kind }, &units, actor, now)
            .await
    }

    /// Moves a campaign to `next` (draft → open → closed → validated; closed → open to extend
    /// the collection). Opening needs a sample.
    pub async fn set_campaign_state(
        &self,
        id: i64,
        next: CampaignState,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Campaign, StoreError> {
        let mut w = self.begin_write().await?;
        let clock = Store::campaign_clock(w.conn(), id).await?;
        if !clock.state.can_become(next) {
            return Err(StoreError::Refused(format!(
                "campaign {} is {} and cannot become {}",
                clock.label,
                clock.state.as_str(),
                next.as_str()
            )));
        }
        if next == CampaignState::Open {
            let n: i64 =
                sqlx::query("SELECT COUNT(*) AS n FROM survey_sample WHERE campaign_id = $1")
                    .bind(id)
                    .fetch_one(w.conn())
                    .await?
                    .try_get("n")?;
            if n == 0 {
                return Err(StoreError::Refused(format!(
                    "campaign {} has no sample yet: set it before opening",
                    clock.label
                )));
            }
        }
        sqlx::query("UPDATE survey_campaigns SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(next.as_str())
            .bind(time::to_db(now))
            .bind(id)
            .execute(w.conn())
            .await?;
        w.record(
            AuditRecord::new(actor, "survey.campaign.state", campaign_object(id)).with(json!({
                "from": clock.state.as_str(), "to": next.as_str(),
            })),
        );
        w.commit(now).await?;
        self.campaign(id).await
    }

    /// Issues an access code to every sampled unit that has none yet, and returns them: the
    /// only time they are seen (only their SHA-256 is kept).
    pub async fn issue_access_codes(
        &self,
        id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Vec<IssuedCode>, StoreError> {
        let mut w = self.begin_write().await?;
        let clock = Store::campaign_clock(w.conn(), id).await?;
        if clock.state == CampaignState::Validated {
            return Err(StoreError::Refused(format!(
                "campaign {} is validated: no more access codes",
                clock.label
            )));
        }
        let rows = sqlx::query(
            "SELECT s.unit_id, u.code FROM survey_sample s JOIN survey_units u ON u.id = s.unit_id
             WHERE s.campaign_id = $1 AND s.code_sha256 IS NULL ORDER BY u.code",
        )
        .bind(id)
        .fetch_all(w.conn())
        .await?;
        let mut issued = Vec::with_capacity(rows.len());
        for r in &rows {
            let unit_id: i64 = r.try_get("unit_id")?;
            let code = new_code()?;
            set_code(w.conn(), id, unit_id, &code).await?;
            issued.push(IssuedCode {
                unit_code: r.try_get("code")?,
                code,
            });
        }
        w.record(
            AuditRecord::new(actor, "survey.codes.issue", campaign_object(id))
                .with(json!({ "count": issued.len() })),
        );
        w.commit(now).await?;
        Ok(issued)
    }

    /// Replaces one unit's access code (a letter lost): the old code stops working at once.
    pub async fn reissue_access_code(
        &self,
        id: i64,
        unit_code: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<IssuedCode, StoreError> {
        let mut w = self.begin_write().await?;
        let sample = Store::sample_row(w.conn(), id, unit_code).await?;
        let code = new_code()?;
        set_code(w.conn(), id, sample.unit_id, &code).await?;
        w.record(AuditRecord::new(
            actor,
            "survey.codes.reissue",
            super::response_object(id, unit_code),
        ));
        w.commit(now).await?;
        Ok(IssuedCode {
            unit_code: unit_code.to_string(),
            code,
        })
    }
}

fn new_code() -> Result<AccessCode, StoreError> {
    let mut bytes = [0u8; ACCESS_CODE_RANDOM_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Refused(format!("no randomness for an access code: {e}")))?;
    Ok(AccessCode::from_random(bytes))
}

async fn set_code(
    conn: &mut sqlx::AnyConnection,
    campaign: i64,
    unit_id: i64,
    code: &AccessCode,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE survey_sample SET code_sha256 = $1 WHERE campaign_id = $2 AND unit_id = $3",
    )
    .bind(code.digest().as_str().to_string())
    .bind(campaign)
    .bind(unit_id)
    .execute(conn)
    .await?;
    Ok(())
}

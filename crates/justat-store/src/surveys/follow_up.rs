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

/// What the saves of a whole campaign tell (paradata): visits, time per page, changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParadataSummary {
    /// Units that saved at least once.
    pub units: u64,
    /// Distinct portal sessions (visits).
    pub sessions: u64,
    /// Saves.
    pub saves: u64,
    /// Answers changed over all saves.
    pub changes: u64,
    /// Warnings kept with « Poursuivre » over all saves.
    pub kept_warnings: u64,
    /// Page by page, in the order pages were first saved.
    pub pages: Vec<PageParadata>,
}

/// The paradata of one page of the questionnaire over a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageParadata {
    /// The page's identifier.
    pub page: String,
    /// Its saves.
    pub saves: u64,
    /// Seconds spent on it, all saves together.
    pub seconds: u64,
    /// The median of the seconds of one save (the lower middle one).
    pub median_seconds: u64,
    /// Answers changed on it.
    pub changes: u64,
}

/// Sums the saves of a campaign into its paradata summary.
pub fn summarize_paradata<'a>(
    saves: impl IntoIterator<Item = (&'a str, &'a SaveRecord)>,
) -> ParadataSummary {
    let mut units = std::collections::BTreeSet::new();
    let mut sessions = std::collections::BTreeSet::new();
    let mut pages: Vec<(String, Vec<u64>, u64)> = Vec::new();
    let (mut count, mut changes, mut kept) = (0u64, 0u64, 0u64);
    for (unit, s) in saves {
        units.insert(unit);
        sessions.insert((unit, s.session.as_str()));
        count += 1;
        changes += s.changed_paths.len() as u64;
        kept += s.kept_warnings.len() as u64;
        let i = match pages.iter().position(|p| p.0 == s.page) {
            Some(i) => i,
            None => {
                pages.push((s.page.clone(), Vec::new(), 0));
                pages.len() - 1
            }
        };
        pages[i].1.push(s.seconds.max(0) as u64);
        pages[i].2 += s.changed_paths.len() as u64;
    }
    ParadataSummary {
        units: units.len() as u64,
        sessions: sessions.len() as u64,
        saves: count,
        changes,
        kept_warnings: kept,
        pages: pages
            .into_iter()
            .map(|(page, mut seconds, changes)| {
                seconds.sort_unstable();
                PageParadata {
                    page,
                    saves: seconds.len() as u64,
                    seconds: seconds.iter().sum(),
                    median_seconds: seconds
                        .get((seconds.len().max(1) - 1) / 2)
                        .copied()
                        .unwrap_or(0),
                    changes,
                }
            })
            .collect(),
    }
}

/// The header of the non-respondents' CSV export.
pub const NON_RESPONDENTS_CSV_HEADER: &str = "code,nom,type,cour_appel,statut,statut_depuis,relances,contact_nom,contact_fonction,contact_courriel,contact_adresse";

fn csv_field(s: &str) -> String {
    // A leading formula character is quoted away so that a spreadsheet shows it as text.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) || s.starts_with('\'') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The non-respondents as CSV (UTF-8, commas, CRLF line ends): one line per contact not
/// erased, or one line with empty contact columns for a unit without one.
pub fn non_respondents_csv(rows: &[NonRespondent]) -> String {
    let mut out = format!("{NON_RESPONDENTS_CSV_HEADER}\r\n");
    for r in rows {
        let u = &r.unit;
        let unit = [
            u.unit_code.clone(),
            u.unit_name.clone(),
            u.kind.as_str().to_string(),
            u.court_of_appeal.clone().unwrap_or_default(),
            u.status.as_str().to_string(),
            time::to_db(u.status_at),
            u.reminders.to_string(),
        ];
        let contacts: Vec<[&str; 4]> = if r.contacts.is_empty() {
            vec![["", "", "", ""]]
        } else {
            r.contacts
                .iter()
                .map(|c| {
                    [
                        c.name.as_str(),
                        c.function.as_str(),
                        c.email.as_str(),
                        c.address.as_str(),
                    ]
                })
                .collect()
        };
        for c in contacts {
            let line: Vec<String> = unit
                .iter()
                .map(|f| csv_field(f))
                .chain(c.iter().map(|f| csv_field(f)))
                .collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
    }
    out
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

fn event_of(r: &AnyRow) -> Result<StatusEvent, StoreError> {
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
}

fn save_of(r: &AnyRow) -> Result<SaveRecord, StoreError> {
    Ok(SaveRecord {
        session: r.try_get("session")?,
        page: r.try_get("page")?,
        seconds: r.try_get("seconds")?,
        changed_paths: strings(r.try_get("changed_paths")?, "changed paths")?,
        kept_warnings: strings(r.try_get("kept_warnings")?, "kept warnings")?,
        saved_at: time::from_db(&r.try_get::<String, _>("saved_at")?)?,
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
        .map(event_of)
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

    /// Each unit's latest status event, by unit code (a unit never moved has none).
    pub async fn last_status_events(
        &self,
        campaign: i64,
    ) -> Result<std::collections::BTreeMap<String, StatusEvent>, StoreError> {
        self.campaign(campaign).await?;
        let rows = sqlx::query(
            "SELECT u.code, e.previous, e.status, e.source, e.set_by, e.reason, e.at FROM survey_status_events e
             JOIN survey_units u ON u.id = e.unit_id
             WHERE e.campaign_id = $1 AND e.id = (SELECT MAX(l.id) FROM survey_status_events l
                 WHERE l.campaign_id = e.campaign_id AND l.unit_id = e.unit_id)",
        )
        .bind(campaign)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("code")?, event_of(r)?)))
            .collect()
    }

    /// The paradata of a whole campaign, summed from every save.
    pub async fn paradata_summary(&self, campaign: i64) -> Result<ParadataSummary, StoreError> {
        self.campaign(campaign).await?;
        let rows = sqlx::query(
            "SELECT u.code, s.session, s.page, s.seconds, s.changed_paths, s.kept_warnings, s.saved_at
             FROM survey_saves s JOIN survey_units u ON u.id = s.unit_id
             WHERE s.campaign_id = $1 ORDER BY s.id",
        )
        .bind(campaign)
        .fetch_all(self.pool())
        .await?;
        let saves = rows
            .iter()
            .map(|r| Ok((r.try_get::<String, _>("code")?, save_of(r)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(summarize_paradata(
            saves.iter().map(|(u, s)| (u.as_str(), s)),
        ))
    }

    /// The warnings a unit's respondent kept with « Poursuivre », as (page, control) pairs.
    pub async fn unit_kept_warnings(
        &self,
        campaign: i64,
        unit_code: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let sample = Store::sample_row(&mut conn, campaign, unit_code).await?;
        sqlx::query(
            "SELECT page, control FROM survey_kept_warnings WHERE campaign_id = $1 AND unit_id = $2 ORDER BY page, control",
        )
        .bind(campaign)
        .bind(sample.unit_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("page")?, r.try_get("control")?)))
        .collect()
    }

    /// The non-respondents of a campaign as the CSV export ([`non_respondents_csv`]).
    pub async fn non_respondents_export(&self, campaign: i64) -> Result<String, StoreError> {
        Ok(non_respondents_csv(&self.non_respondents(campaign).await?))
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
        .map(save_of)
        .collect()
    }
}

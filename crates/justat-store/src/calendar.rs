//! The release calendar: releases announced, changed and published, each change with its line
//! in the release's public, append-only history and its audit entry. The rules (who may change
//! what, reasons, instants) are `justat_model::calendar`'s; this module applies them and keeps
//! the publication versions a release schedules on its instant (they store none of their own).

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::Role;
use justat_model::calendar::{
    CalendarChange, CalendarPolicy, HistoryLine, Month, ReleaseState, ReleaseStatus, Schedule,
    announce, apply, describe,
};
use justat_model::publication::Collection;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A release of the calendar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
    /// Its number.
    pub id: i64,
    /// Its stable identifier in calendar feeds (iCalendar UID).
    pub uid: String,
    /// The collection of the publication it releases.
    pub collection: Collection,
    /// The slug of the publication it releases.
    pub slug: String,
    /// Its announced title.
    pub title: String,
    /// Its status.
    pub status: ReleaseStatus,
    /// The month of a provisional release (`2027-06`).
    pub month: Option<String>,
    /// The instant of a confirmed release (a cancelled one keeps its last).
    pub release_at: Option<Timestamp>,
    /// How many times it changed (iCalendar SEQUENCE).
    pub sequence: i64,
    /// The public notice of a cancellation.
    pub notice: Option<String>,
    /// Why an essential indicator was announced short of the lead time.
    pub justification: Option<String>,
    /// When it was recorded as published.
    pub published_at: Option<Timestamp>,
    /// When it was announced.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Its public history, oldest first.
    pub history: Vec<ReleaseChange>,
}

impl Release {
    /// Its place in the calendar, for the model's rules.
    pub fn state(&self) -> ReleaseState {
        let schedule = match (
            self.release_at,
            self.month.as_deref().map(str::parse::<Month>),
        ) {
            (Some(at), _) => Schedule::At(at),
            (None, Some(Ok(m))) => Schedule::Month(m),
            // Cannot happen: every row has one or the other (checked when written).
            (None, _) => Schedule::At(self.created_at),
        };
        ReleaseState {
            status: self.status,
            schedule,
        }
    }

    /// Its schedule in French: « 12 juin 2027 à 12 h 00 » or « juin 2027 (date provisoire) ».
    pub fn when_fr(&self) -> String {
        self.state().schedule.label_fr()
    }
}

/// A line of a release's public history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseChange {
    /// Before, in French.
    pub previous: String,
    /// After, in French.
    pub new: String,
    /// Why.
    pub reason: String,
    /// Who changed it (an account, or `system` for the scheduler): for the back office and
    /// the audit, never shown publicly.
    pub changed_by: String,
    /// The role they changed it in, as the public history says (none for a line whose
    /// account no longer exists and that predates the role's recording).
    pub changed_role: Option<Role>,
    /// When.
    pub changed_at: Timestamp,
}

/// A release to announce.
#[derive(Debug, Clone)]
pub struct NewRelease {
    /// The collection of the publication it releases.
    pub collection: Collection,
    /// The slug of the publication it releases.
    pub slug: String,
    /// Its announced title.
    pub title: String,
    /// A month (provisional) or an instant (confirmed).
    pub schedule: Schedule,
    /// Why an essential indicator is announced short of the lead time.
    pub justification: Option<String>,
}

fn key(collection: Collection, slug: &str) -> String {
    format!("{}/{slug}", collection.slug())
}

fn release_of(row: &AnyRow) -> Result<Release, StoreError> {
    let corrupt = |what, value: String| StoreError::Corrupt { what, value };
    let collection: String = row.try_get("collection")?;
    let status: String = row.try_get("status")?;
    let opt_time = |col: &str| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<Option<String>, _>(col)?
            .map(|t| time::from_db(&t))
            .transpose()
    };
    Ok(Release {
        id: row.try_get("id")?,
        uid: row.try_get("uid")?,
        collection: collection
            .parse()
            .map_err(|_| corrupt("collection", collection.clone()))?,
        slug: row.try_get("slug")?,
        title: row.try_get("title")?,
        status: status
            .parse()
            .map_err(|_| corrupt("release status", status.clone()))?,
        month: row.try_get("month")?,
        release_at: opt_time("release_at")?,
        sequence: row.try_get("sequence")?,
        notice: row.try_get("notice")?,
        justification: row.try_get("justification")?,
        published_at: opt_time("published_at")?,
        created_at: time::from_db(&row.try_get::<String, _>("created_at")?)?,
        updated_at: time::from_db(&row.try_get::<String, _>("updated_at")?)?,
        history: Vec::new(),
    })
}

/// A release's columns, as a literal for `concat!` (sqlx takes literal SQL only).
macro_rules! columns {
    () => {
        "id, uid, collection, slug, title, status, month, release_at, sequence, notice, justification, published_at, created_at, updated_at"
    };
}

/// The columns that hold a schedule: (month, release instant).
fn schedule_columns(s: Schedule) -> (Option<String>, Option<String>) {
    match s {
        Schedule::Month(m) => (Some(m.to_string()), None),
        Schedule::At(t) => (None, Some(time::to_db(t))),
    }
}

impl Store {
    /// Announces a release, as `role` (see `justat_model::calendar::announce`); its first
    /// history line says when it was announced for.
    pub async fn announce_release(
        &self,
        new: &NewRelease,
        policy: &CalendarPolicy,
        role: Role,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Release, StoreError> {
        let state = announce(
            new.collection,
            new.schedule,
            role,
            policy,
            new.justification.as_deref(),
            now,
        )?;
        if new.title.trim().is_empty() {
            return Err(StoreError::Refused("a release needs its title".into()));
        }
        let k = key(new.collection, &new.slug);
        let mut w = self.begin_write().await?;
        let exists = sqlx::query("SELECT id FROM releases WHERE collection = $1 AND slug = $2")
            .bind(new.collection.slug())
            .bind(&new.slug)
            .fetch_optional(w.conn())
            .await?;
        if exists.is_some() {
            return Err(StoreError::Refused(format!(
                "{k} is already in the calendar: change its date instead"
            )));
        }
        // The calendar announces a publication before it comes out: one already released
        // (for an instant to come, or out) would be public at an instant the calendar does not
        // say. Its corrections need no date in the calendar.
        let released = sqlx::query(
            "SELECT v.version FROM publication_versions v JOIN publications p ON p.id = v.publication_id
             WHERE p.collection = $1 AND p.slug = $2 AND v.state IN ('released', 'corrected')
             ORDER BY v.version LIMIT 1",
        )
        .bind(new.collection.slug())
        .bind(&new.slug)
        .fetch_optional(w.conn())
        .await?;
        if let Some(v) = released {
            let version: i64 = v.try_get("version")?;
            return Err(StoreError::Refused(format!(
                "{k} version {version} is already released outside the calendar: the calendar announces a publication before it comes out, and its corrections need no date in it"
            )));
        }
        let (month, at) = schedule_columns(state.schedule);
        let id: i64 = sqlx::query(
            "INSERT INTO releases (uid, collection, slug, title, status, month, release_at, sequence, justification, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $10) RETURNING id",
        )
        .bind(format!("{k}@justat"))
        .bind(new.collection.slug())
        .bind(&new.slug)
        .bind(new.title.trim())
        .bind(state.status.as_str())
        .bind(month)
        .bind(at)
        .bind(new.justification.as_deref().map(str::trim))
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .fetch_one(w.conn())
        .await?
        .try_get("id")?;
        let line = HistoryLine {
            previous: String::new(),
            new: describe(state),
            reason: "annonce".into(),
        };
        insert_change(&mut w, id, &line, actor, role, now).await?;
        w.record(AuditRecord::new(actor, "calendar.announce", k).with(json!({
            "title": new.title, "status": state.status.as_str(), "when": line.new,
            "justification": new.justification, "role": role.as_str(),
        })));
        w.commit(now).await?;
        self.release_by_id(id).await
    }

    /// Changes a release, as `role` (see `justat_model::calendar::apply`), appending its
    /// history line. Every publication version on the release moves with it, since its
    /// instant is the release's; a cancellation takes the released one back to approved, and
    /// none of them is ever public.
    pub async fn change_release(
        &self,
        collection: Collection,
        slug: &str,
        change: &CalendarChange,
        role: Role,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Release, StoreError> {
        let k = key(collection, slug);
        let current = self.existing_release(collection, slug).await?;
        let (next, line) = apply(current.state(), change, role, now)?;
        let mut w = self.begin_write().await?;
        let (month, at) = schedule_columns(next.schedule);
        let notice = match change {
            CalendarChange::Cancel { notice } => Some(notice.trim().to_string()),
            _ => current.notice.clone(),
        };
        let published_at = (next.status == ReleaseStatus::Published).then(|| time::to_db(now));
        // The sequence is checked under the write lock: two changes cannot start from the same
        // state.
        let updated = sqlx::query(
            "UPDATE releases SET status = $1, month = $2, release_at = $3, sequence = sequence + 1, notice = $4,
             published_at = COALESCE($5, published_at), updated_at = $6 WHERE id = $7 AND sequence = $8",
        )
        .bind(next.status.as_str())
        .bind(month)
        .bind(at)
        .bind(notice)
        .bind(published_at)
        .bind(time::to_db(now))
        .bind(current.id)
        .bind(current.sequence)
        .execute(w.conn())
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Refused(format!(
                "{k} changed while the change was asked; look at it again"
            )));
        }
        insert_change(&mut w, current.id, &line, actor, role, now).await?;
        // The versions on this release follow it without being written: their instant is the
        // release's (`dated_versions`). A cancellation takes the one waiting back to approved;
        // the versions it had corrected stay on the cancelled release, which has no instant.
        let on_release: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM publication_versions
             WHERE publication_id = (SELECT id FROM publications WHERE collection = $1 AND slug = $2)
             AND on_release = 1",
        )
        .bind(collection.slug())
        .bind(slug)
        .fetch_one(w.conn())
        .await?
        .try_get("n")?;
        let withdrawn = match change {
            CalendarChange::Cancel { .. } => sqlx::query(
                "UPDATE publication_versions SET state = 'approved', on_release = 0
                 WHERE publication_id = (SELECT id FROM publications WHERE collection = $1 AND slug = $2)
                 AND on_release = 1 AND state = 'released'",
            )
            .bind(collection.slug())
            .bind(slug)
            .execute(w.conn())
            .await?
            .rows_affected(),
            _ => 0,
        };
        w.record(
            AuditRecord::new(actor, audit_action(change), k).with(json!({
                "from": line.previous, "to": line.new, "reason": line.reason,
                "role": role.as_str(), "versions_on_release": on_release,
                "versions_withdrawn": withdrawn,
            })),
        );
        w.commit(now).await?;
        self.release_by_id(current.id).await
    }

    /// The release of a publication, with its history.
    pub async fn release(
        &self,
        collection: Collection,
        slug: &str,
    ) -> Result<Option<Release>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM releases WHERE collection = $1 AND slug = $2"
        ))
        .bind(collection.slug())
        .bind(slug)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => {
                let mut release = release_of(&r)?;
                release.history = self.release_history(release.id).await?;
                Ok(Some(release))
            }
            None => Ok(None),
        }
    }

    /// The release instant to ask for a version when the user gives none: none while the
    /// calendar announces the release (its instant decides), `now` otherwise (no calendar
    /// release, or a correction of one already out).
    pub async fn default_release_instant(
        &self,
        collection: Collection,
        slug: &str,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let announced = self
            .release(collection, slug)
            .await?
            .is_some_and(|r| !r.status.is_final());
        Ok((!announced).then_some(now))
    }

    /// The release of a publication, or `NotFound`.
    pub(crate) async fn existing_release(
        &self,
        collection: Collection,
        slug: &str,
    ) -> Result<Release, StoreError> {
        self.release(collection, slug)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "release",
                key: key(collection, slug),
            })
    }

    async fn release_by_id(&self, id: i64) -> Result<Release, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM releases WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        let mut release = release_of(&row)?;
        release.history = self.release_history(id).await?;
        Ok(release)
    }

    async fn release_history(&self, id: i64) -> Result<Vec<ReleaseChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.previous, c.new, c.reason, c.changed_by, COALESCE(c.changed_role, u.role) AS changed_role, c.changed_at
             FROM release_changes c LEFT JOIN users u ON u.username = c.changed_by WHERE c.release_id = $1 ORDER BY c.id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReleaseChange {
                    previous: r.try_get("previous")?,
                    new: r.try_get("new")?,
                    reason: r.try_get("reason")?,
                    changed_by: r.try_get("changed_by")?,
                    changed_role: r
                        .try_get::<Option<String>, _>("changed_role")?
                        .map(|role| {
                            role.parse().map_err(|_| StoreError::Corrupt {
                                what: "role",
                                value: role.clone(),
                            })
                        })
                        .transpose()?,
                    changed_at: time::from_db(&r.try_get::<String, _>("changed_at")?)?,
                })
            })
            .collect()
    }

    /// Every release of the calendar with its history, in the order of their dates (a
    /// provisional one at the start of its month).
    pub async fn releases(&self) -> Result<Vec<Release>, StoreError> {
        let rows = sqlx::query(concat!("SELECT ", columns!(), " FROM releases ORDER BY id"))
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut release = release_of(r)?;
            release.history = self.release_history(release.id).await?;
            out.push(release);
        }
        out.sort_by_key(|r| (r.state().schedule.earliest(), r.id));
        Ok(out)
    }

    /// Confirmed releases whose instant has come: the scheduler records them as published.
    pub async fn due_releases(&self, now: Timestamp) -> Result<Vec<Release>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM releases WHERE status = 'confirmed' AND release_at <= $1 ORDER BY release_at"
        ))
        .bind(time::to_db(now))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(release_of).collect()
    }
}

/// The audit log's name of a change.
fn audit_action(change: &CalendarChange) -> &'static str {
    match change {
        CalendarChange::Confirm { .. } => "calendar.confirm",
        CalendarChange::MoveMonth { .. } => "calendar.move_month",
        CalendarChange::Reschedule { .. } => "calendar.reschedule",
        CalendarChange::Cancel { .. } => "calendar.cancel",
        CalendarChange::Publish => "calendar.publish",
    }
}

async fn insert_change(
    w: &mut crate::audit::Write,
    release_id: i64,
    line: &HistoryLine,
    actor: &Actor,
    role: Role,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO release_changes (release_id, previous, new, reason, changed_by, changed_role, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(release_id)
    .bind(&line.previous)
    .bind(&line.new)
    .bind(&line.reason)
    .bind(actor.as_str())
    .bind(role.as_str())
    .bind(time::to_db(now))
    .execute(w.conn())
    .await?;
    Ok(())
}

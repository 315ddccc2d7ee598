//! Embargo: each release's nominative recipient list (proposed, then approved by the head of
//! service; any change after approval needs a new approval), the terms each recipient accepts
//! once, the list's export for the Autorité de la statistique publique, and the access log of
//! the embargo room (audit entries). The window's rules are `justat_model::embargo`'s.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::calendar::ReleaseStatus;
use justat_model::embargo::{ListStatus, MAX_WINDOW_HOURS, RecipientCategory, takes_list};
use justat_model::publication::Collection;
use justat_model::{Role, Sha256Hex};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

/// A person listed to read a release before it is out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recipient {
    /// Their account (role `embargo_recipient`).
    pub username: String,
    /// Their name.
    pub name: String,
    /// Their function.
    pub function: String,
    /// Their organisation.
    pub organisation: String,
    /// Their e-mail address.
    pub email: String,
    /// Why they need early access.
    pub justification: String,
    /// Information or quality assurance.
    pub category: RecipientCategory,
    /// Who proposed them.
    pub added_by: String,
    /// When.
    pub added_at: Timestamp,
}

/// A release's recipient list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbargoList {
    /// Proposed or approved.
    pub status: ListStatus,
    /// How many hours before the release instant the window opens (at most 24).
    pub window_hours: i64,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<Timestamp>,
    /// When it was last exported for the ASP.
    pub exported_at: Option<Timestamp>,
    /// When it was recorded as sent to the ASP.
    pub sent_at: Option<Timestamp>,
    /// The recipients.
    pub recipients: Vec<Recipient>,
}

impl EmbargoList {
    /// The list's revision: a digest of what it grants — its window and every recipient with
    /// all they are listed with, in order — as 16 hexadecimal digits. An approval names the
    /// revision its author read, so that a list changed in between is not approved unseen.
    pub fn revision(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut field = |text: &str| {
            // Length-prefixed: no two lists give the same bytes.
            h.update((text.len() as u64).to_be_bytes());
            h.update(text.as_bytes());
        };
        field(&self.window_hours.to_string());
        for r in &self.recipients {
            for text in [
                &r.username,
                &r.name,
                &r.function,
                &r.organisation,
                &r.email,
                &r.justification,
                r.category.as_str(),
                &r.added_by,
                &r.added_at.to_string(),
            ] {
                field(text);
            }
        }
        hex::encode(&h.finalize()[..8])
    }
}

/// A recipient to add to a list.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    /// Their account (role `embargo_recipient`).
    pub username: String,
    /// Their function.
    pub function: String,
    /// Their organisation.
    pub organisation: String,
    /// Their e-mail address.
    pub email: String,
    /// Why they need early access.
    pub justification: String,
    /// Information or quality assurance.
    pub category: RecipientCategory,
}

fn key(collection: Collection, slug: &str) -> String {
    format!("{}/{slug}", collection.slug())
}

/// A view or download in the embargo room, as the audit log recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbargoAccess {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub who: String,
    /// `page`, or the file's name.
    pub file: String,
    /// The version read.
    pub version: i64,
    /// The client's address.
    pub ip: String,
    /// The client's user agent.
    pub user_agent: String,
}

impl Store {
    /// Every view and download of a release's versions in the embargo room, oldest first.
    pub async fn embargo_accesses(
        &self,
        collection: Collection,
        slug: &str,
    ) -> Result<Vec<EmbargoAccess>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, actor, details FROM audit_log
             WHERE action IN ('embargo.view', 'embargo.download') AND object LIKE $1 ORDER BY seq",
        )
        .bind(format!("{}/v%", key(collection, slug)))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let details: String = r.try_get("details")?;
                let d: serde_json::Value =
                    serde_json::from_str(&details).map_err(|_| StoreError::Corrupt {
                        what: "audit details",
                        value: details.clone(),
                    })?;
                let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
                Ok(EmbargoAccess {
                    at: time::from_db(&r.try_get::<String, _>("at")?)?,
                    who: r.try_get("actor")?,
                    file: text("file"),
                    version: d["version"].as_i64().unwrap_or(0),
                    ip: text("ip"),
                    user_agent: text("user_agent"),
                })
            })
            .collect()
    }

    /// The release's id, refusing a release whose list can no longer change (published,
    /// cancelled, or its instant passed).
    async fn open_release(
        &self,
        collection: Collection,
        slug: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let k = key(collection, slug);
        let r = self.existing_release(collection, slug).await?;
        if !takes_list(r.state(), now) {
            return Err(StoreError::Refused(format!(
                "{k} is {} : its embargo list can no longer change",
                if r.status == ReleaseStatus::Cancelled {
                    "cancelled"
                } else {
                    "out"
                }
            )));
        }
        Ok(r.id)
    }

    /// Proposes a recipient for a release's list (a statistician or the head of service); an
    /// approved list goes back to proposed, to be approved again. `window_hours` sets how long
    /// before the release the window opens (at most 24).
    #[allow(clippy::too_many_arguments)]
    pub async fn add_recipient(
        &self,
        collection: Collection,
        slug: &str,
        new: &NewRecipient,
        window_hours: i64,
        role: Role,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<EmbargoList, StoreError> {
        let k = key(collection, slug);
        if !matches!(role, Role::Statistician | Role::HeadOfService) {
            return Err(StoreError::Refused(format!(
                "the role {role} may not propose embargo recipients"
            )));
        }
        if !(1..=MAX_WINDOW_HOURS).contains(&window_hours) {
            return Err(StoreError::Refused(format!(
                "an embargo window lasts 1 to {MAX_WINDOW_HOURS} hours, not {window_hours}"
            )));
        }
        for (field, value) in [
            ("function", &new.function),
            ("organisation", &new.organisation),
            ("email", &new.email),
            ("justification", &new.justification),
        ] {
            if value.trim().is_empty() {
                return Err(StoreError::Refused(format!(
                    "a recipient needs their {field}"
                )));
            }
        }
        if !new.email.contains('@') {
            return Err(StoreError::Refused(format!(
                "`{}` is not an e-mail address",
                new.email
            )));
        }
        let account = self.user(&new.username).await?;
        if account.role != Role::EmbargoRecipient || account.disabled {
            return Err(StoreError::Refused(format!(
                "{} is not an active account of role embargo_recipient",
                new.username
            )));
        }
        let release_id = self.open_release(collection, slug, now).await?;
        let mut w = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO embargo_recipients (release_id, username, name, function, organisation, email, justification, category, added_by, added_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (release_id, username) DO NOTHING",
        )
        .bind(release_id)
        .bind(&new.username)
        .bind(&account.display_name)
        .bind(new.function.trim())
        .bind(new.organisation.trim())
        .bind(new.email.trim())
        .bind(new.justification.trim())
        .bind(new.category.as_str())
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .execute(w.conn())
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Refused(format!(
                "{} is already on the list of {k}",
                new.username
            )));
        }
        let reopened = sqlx::query(
            "UPDATE embargo_lists SET status = 'proposed', window_hours = $1, approved_by = NULL, approved_at = NULL WHERE release_id = $2",
        )
        .bind(window_hours)
        .bind(release_id)
        .execute(w.conn())
        .await?;
        if reopened.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO embargo_lists (release_id, status, window_hours) VALUES ($1, 'proposed', $2)",
            )
            .bind(release_id)
            .bind(window_hours)
            .execute(w.conn())
            .await?;
        }
        w.record(
            AuditRecord::new(actor, "embargo.propose", k.clone()).with(json!({
                "recipient": new.username, "function": new.function,
                "organisation": new.organisation, "category": new.category.as_str(),
                "justification": new.justification, "window_hours": window_hours,
            })),
        );
        w.commit(now).await?;
        self.existing_embargo_list(collection, slug).await
    }

    /// Approves a release's list as its approver read it (head of service only): `revision`
    /// is [`EmbargoList::revision`] of the list shown to them. A list changed since — a
    /// recipient added — is refused with [`StoreError::Stale`] and nothing is approved; the
    /// revision is compared under the write lock, so no change slips in between.
    pub async fn approve_embargo_list(
        &self,
        collection: Collection,
        slug: &str,
        revision: &str,
        role: Role,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<EmbargoList, StoreError> {
        let k = key(collection, slug);
        if role != Role::HeadOfService {
            return Err(StoreError::Refused(format!(
                "the role {role} may not approve an embargo list: the head of service does"
            )));
        }
        let release_id = self.open_release(collection, slug, now).await?;
        let mut w = self.begin_write().await?;
        let current = list_of(w.conn(), release_id)
            .await?
            .ok_or_else(|| StoreError::Refused(format!("{k} has no embargo list to approve")))?
            .revision();
        if current != revision.trim() {
            return Err(StoreError::Stale {
                what: "embargo list",
                key: k,
                seen: revision.trim().to_string(),
                current,
            });
        }
        let done = sqlx::query(
            "UPDATE embargo_lists SET status = 'approved', approved_by = $1, approved_at = $2 WHERE release_id = $3 AND status = 'proposed'",
        )
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .bind(release_id)
        .execute(w.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Refused(format!(
                "{k} has no proposed embargo list to approve"
            )));
        }
        w.record(
            AuditRecord::new(actor, "embargo.approve", k.clone())
                .with(json!({ "revision": current })),
        );
        w.commit(now).await?;
        self.existing_embargo_list(collection, slug).await
    }

    /// A release's list, or `NotFound`.
    async fn existing_embargo_list(
        &self,
        collection: Collection,
        slug: &str,
    ) -> Result<EmbargoList, StoreError> {
        self.embargo_list(collection, slug)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "embargo list",
                key: key(collection, slug),
            })
    }

    /// A release's list, if it has one.
    pub async fn embargo_list(
        &self,
        collection: Collection,
        slug: &str,
    ) -> Result<Option<EmbargoList>, StoreError> {
        let Some(release) = self.release(collection, slug).await? else {
            return Ok(None);
        };
        let mut conn = self.pool().acquire().await?;
        list_of(&mut conn, release.id).await
    }

    /// The releases whose list names `username`: (collection, slug).
    pub async fn releases_listing(
        &self,
        username: &str,
    ) -> Result<Vec<(Collection, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.collection, r.slug FROM embargo_recipients e JOIN releases r ON r.id = e.release_id
             WHERE e.username = $1 ORDER BY r.id",
        )
        .bind(username)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let c: String = r.try_get("collection")?;
                Ok((
                    c.parse().map_err(|_| StoreError::Corrupt {
                        what: "collection",
                        value: c.clone(),
                    })?,
                    r.try_get("slug")?,
                ))
            })
            .collect()
    }

    /// The SHA-256 of `username`'s stamped copy of a version's PDF, if it was made.
    pub async fn embargo_copy(
        &self,
        collection: Collection,
        slug: &str,
        username: &str,
        version: i64,
    ) -> Result<Option<Sha256Hex>, StoreError> {
        let Some(release) = self.release(collection, slug).await? else {
            return Ok(None);
        };
        sqlx::query(
            "SELECT sha256 FROM embargo_copies WHERE release_id = $1 AND username = $2 AND version = $3",
        )
        .bind(release.id)
        .bind(username)
        .bind(version)
        .fetch_optional(self.pool())
        .await?
        .map(|r| crate::digest(&r, "sha256"))
        .transpose()
    }

    /// Records `username`'s stamped copy of a version's PDF (put in the lake); a second copy
    /// of the same version keeps the first.
    pub async fn record_embargo_copy(
        &self,
        collection: Collection,
        slug: &str,
        username: &str,
        version: i64,
        sha256: &Sha256Hex,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let k = key(collection, slug);
        let release = self.existing_release(collection, slug).await?;
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO embargo_copies (release_id, username, version, sha256, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (release_id, username, version) DO NOTHING",
        )
        .bind(release.id)
        .bind(username)
        .bind(version)
        .bind(sha256.as_str())
        .bind(time::to_db(now))
        .execute(w.conn())
        .await?;
        w.record(
            AuditRecord::new(&Actor::system(), "embargo.copy", format!("{k}/v{version}"))
                .with(json!({ "recipient": username, "sha256": sha256 })),
        );
        w.commit(now).await
    }

    /// Records that `username` accepted the embargo terms (once: a second acceptance keeps the
    /// first instant).
    pub async fn accept_embargo_terms(
        &self,
        username: &str,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        if let Some(t) = self.embargo_terms_accepted(username).await? {
            return Ok(t);
        }
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO embargo_terms (username, accepted_at) VALUES ($1, $2)")
            .bind(username)
            .bind(time::to_db(now))
            .execute(w.conn())
            .await?;
        w.record(AuditRecord::new(
            &Actor::user(username),
            "embargo.terms_accepted",
            username.to_string(),
        ));
        w.commit(now).await?;
        Ok(now)
    }

    /// When `username` accepted the embargo terms, if they did.
    pub async fn embargo_terms_accepted(
        &self,
        username: &str,
    ) -> Result<Option<Timestamp>, StoreError> {
        sqlx::query("SELECT accepted_at FROM embargo_terms WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?
            .map(|r| time::from_db(&r.try_get::<String, _>("accepted_at")?))
            .transpose()
    }

    /// Records that a release's list was exported for the ASP (`sent`: that it was sent).
    pub async fn record_asp_export(
        &self,
        collection: Collection,
        slug: &str,
        sent: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let k = key(collection, slug);
        let release = self.existing_release(collection, slug).await?;
        let mut w = self.begin_write().await?;
        let done = if sent {
            sqlx::query("UPDATE embargo_lists SET sent_at = $1 WHERE release_id = $2 AND exported_at IS NOT NULL")
        } else {
            sqlx::query("UPDATE embargo_lists SET exported_at = $1 WHERE release_id = $2")
        }
        .bind(time::to_db(now))
        .bind(release.id)
        .execute(w.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Refused(if sent {
                format!("{k}: export the list before recording that it was sent")
            } else {
                format!("{k} has no embargo list")
            }));
        }
        w.record(AuditRecord::new(
            actor,
            if sent {
                "embargo.asp_sent"
            } else {
                "embargo.asp_export"
            },
            k,
        ));
        w.commit(now).await
    }
}

/// The list of release `release_id`, read on `conn` (inside a write transaction, it is the
/// list the transaction changes).
async fn list_of(
    conn: &mut sqlx::AnyConnection,
    release_id: i64,
) -> Result<Option<EmbargoList>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT status, window_hours, approved_by, approved_at, exported_at, sent_at FROM embargo_lists WHERE release_id = $1",
    )
    .bind(release_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let opt_time = |col: &str| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<Option<String>, _>(col)?
            .map(|t| time::from_db(&t))
            .transpose()
    };
    let status: String = row.try_get("status")?;
    let recipients = sqlx::query(
        "SELECT username, name, function, organisation, email, justification, category, added_by, added_at
         FROM embargo_recipients WHERE release_id = $1 ORDER BY id",
    )
    .bind(release_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        let category: String = r.try_get("category")?;
        Ok(Recipient {
            username: r.try_get("username")?,
            name: r.try_get("name")?,
            function: r.try_get("function")?,
            organisation: r.try_get("organisation")?,
            email: r.try_get("email")?,
            justification: r.try_get("justification")?,
            category: category.parse().map_err(|_| StoreError::Corrupt {
                what: "recipient category",
                value: category.clone(),
            })?,
            added_by: r.try_get("added_by")?,
            added_at: time::from_db(&r.try_get::<String, _>("added_at")?)?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(EmbargoList {
        status: status.parse().map_err(|_| StoreError::Corrupt {
            what: "embargo list status",
            value: status.clone(),
        })?,
        window_hours: row.try_get("window_hours")?,
        approved_by: row.try_get("approved_by")?,
        approved_at: opt_time("approved_at")?,
        exported_at: opt_time("exported_at")?,
        sent_at: opt_time("sent_at")?,
        recipients,
    }))
}

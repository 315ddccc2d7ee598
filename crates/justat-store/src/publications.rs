//! Publications and their versions: a build saves a draft (or a correction of a released
//! version), each lifecycle action moves one version, every change with its audit entry. The
//! rules of the lifecycle are `justat_model::publication`'s; this module only applies them.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::Role;
use justat_model::Sha256Hex;
use justat_model::publication::{Action, Collection, VersionState, is_public, transition};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

pub use justat_model::digest::StoredFile;

/// A built version to save.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// Its collection.
    pub collection: Collection,
    /// Its slug.
    pub slug: String,
    /// Its number in the collection.
    pub number: String,
    /// Its title (values resolved).
    pub title: String,
    /// Its summary.
    pub summary: String,
    /// Its theme.
    pub theme: String,
    /// The period it covers.
    pub period: String,
    /// Its authors.
    pub authors: Vec<String>,
    /// Its keywords.
    pub keywords: Vec<String>,
    /// The erratum, for a correction.
    pub erratum: Option<String>,
    /// The body's HTML fragment.
    pub html: String,
    /// The source files: name → text.
    pub sources: serde_json::Value,
    /// The figures.
    pub figures: serde_json::Value,
    /// Where every figure and cited value comes from.
    pub provenance: justat_model::Provenance,
    /// Its files (already in the lake).
    pub files: Vec<StoredFile>,
    /// The SHA-256 of its content.
    pub content_hash: Sha256Hex,
}

/// A stored version.
#[derive(Debug, Clone, Serialize)]
pub struct PublicationVersion {
    /// The publication's number in the database.
    pub publication_id: i64,
    /// Its collection.
    pub collection: Collection,
    /// Its slug.
    pub slug: String,
    /// The version number.
    pub version: i64,
    /// Its state.
    pub state: VersionState,
    /// Its number in the collection.
    pub number: String,
    /// Its title.
    pub title: String,
    /// Its summary.
    pub summary: String,
    /// Its theme.
    pub theme: String,
    /// Its period.
    pub period: String,
    /// Its authors.
    pub authors: Vec<String>,
    /// Its keywords.
    pub keywords: Vec<String>,
    /// The erratum of a correction.
    pub erratum: Option<String>,
    /// The body's HTML.
    pub html: String,
    /// The source files.
    pub sources: serde_json::Value,
    /// The figures.
    pub figures: serde_json::Value,
    /// Where every figure and cited value comes from.
    pub provenance: justat_model::Provenance,
    /// Its files.
    pub files: Vec<StoredFile>,
    /// Its content hash.
    pub content_hash: Sha256Hex,
    /// Who built it last.
    pub built_by: String,
    /// When.
    pub built_at: Timestamp,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<Timestamp>,
    /// Its release instant.
    pub released_at: Option<Timestamp>,
}

impl PublicationVersion {
    /// Whether the public may read it at `now`.
    pub fn is_public(&self, now: Timestamp) -> bool {
        is_public(self.state, self.released_at, now)
    }

    /// A file by name.
    pub fn file(&self, name: &str) -> Option<&StoredFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// One line of a list of versions (without their content).
#[derive(Debug, Clone, Serialize)]
pub struct VersionSummary {
    /// Its collection.
    pub collection: Collection,
    /// Its slug.
    pub slug: String,
    /// The version number.
    pub version: i64,
    /// Its state.
    pub state: VersionState,
    /// Its number in the collection.
    pub number: String,
    /// Its title.
    pub title: String,
    /// Its summary.
    pub summary: String,
    /// Its theme.
    pub theme: String,
    /// Its period.
    pub period: String,
    /// Its release instant.
    pub released_at: Option<Timestamp>,
}

const COLUMNS: &str = "p.id AS publication_id, p.collection, p.slug, v.version, v.state, v.number, v.title, v.summary, v.theme, v.period, v.authors, v.keywords, v.erratum, v.html, v.sources, v.figures, v.provenance, v.files, v.content_hash, v.built_by, v.built_at, v.approved_by, v.approved_at, v.released_at";

fn corrupt(what: &'static str, value: String) -> StoreError {
    StoreError::Corrupt { what, value }
}

fn json_col<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|_| corrupt("publication JSON", text))
}

fn opt_time(row: &AnyRow, col: &str) -> Result<Option<Timestamp>, StoreError> {
    row.try_get::<Option<String>, _>(col)?
        .map(|t| time::from_db(&t))
        .transpose()
}

fn collection_of(row: &AnyRow) -> Result<Collection, StoreError> {
    let c: String = row.try_get("collection")?;
    c.parse().map_err(|_| corrupt("collection", c))
}

fn state_of(row: &AnyRow) -> Result<VersionState, StoreError> {
    let s: String = row.try_get("state")?;
    s.parse().map_err(|_| corrupt("version state", s))
}

fn version_of(row: &AnyRow) -> Result<PublicationVersion, StoreError> {
    Ok(PublicationVersion {
        publication_id: row.try_get("publication_id")?,
        collection: collection_of(row)?,
        slug: row.try_get("slug")?,
        version: row.try_get("version")?,
        state: state_of(row)?,
        number: row.try_get("number")?,
        title: row.try_get("title")?,
        summary: row.try_get("summary")?,
        theme: row.try_get("theme")?,
        period: row.try_get("period")?,
        authors: json_col(row, "authors")?,
        keywords: json_col(row, "keywords")?,
        erratum: row.try_get("erratum")?,
        html: row.try_get("html")?,
        sources: json_col(row, "sources")?,
        figures: json_col(row, "figures")?,
        provenance: json_col(row, "provenance")?,
        files: json_col(row, "files")?,
        content_hash: crate::digest(row, "content_hash")?,
        built_by: row.try_get("built_by")?,
        built_at: time::from_db(&row.try_get::<String, _>("built_at")?)?,
        approved_by: row.try_get("approved_by")?,
        approved_at: opt_time(row, "approved_at")?,
        released_at: opt_time(row, "released_at")?,
    })
}

fn summary_of(row: &AnyRow) -> Result<VersionSummary, StoreError> {
    Ok(VersionSummary {
        collection: collection_of(row)?,
        slug: row.try_get("slug")?,
        version: row.try_get("version")?,
        state: state_of(row)?,
        number: row.try_get("number")?,
        title: row.try_get("title")?,
        summary: row.try_get("summary")?,
        theme: row.try_get("theme")?,
        period: row.try_get("period")?,
        released_at: opt_time(row, "released_at")?,
    })
}

/// When a released version becomes public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReleaseInstant {
    /// On its publication's calendar release: the release's instant, whatever it becomes (the
    /// version stores none of its own, so a move or a cancellation carries it).
    OnRelease(Timestamp),
    /// Its own instant: no calendar release, or a correction after the release was published.
    Own(Timestamp),
}

/// The instant a version is released at: on its calendar release when the calendar confirms
/// one (the calendar is the public promise; a different instant asked is refused), the instant
/// asked otherwise. A correction of a published release is released when asked. No release
/// while an incident of the collection waits for its review.
async fn release_instant(
    w: &mut crate::audit::Write,
    collection: Collection,
    slug: &str,
    asked: Option<Timestamp>,
    k: &str,
) -> Result<ReleaseInstant, StoreError> {
    if let Some((id, kind)) = crate::incidents::unreviewed(w.conn(), collection)
        .await?
        .first()
    {
        return Err(StoreError::Refused(format!(
            "{k}: incident {id} ({kind}) of the collection must be reviewed by the head of service before its next release"
        )));
    }
    let planned =
        sqlx::query("SELECT status, release_at FROM releases WHERE collection = $1 AND slug = $2")
            .bind(collection.slug())
            .bind(slug)
            .fetch_optional(w.conn())
            .await?;
    let planned = match planned {
        Some(r) => Some((
            r.try_get::<String, _>("status")?,
            opt_time(&r, "release_at")?,
        )),
        None => None,
    };
    match (planned, asked) {
        (Some((status, Some(t))), asked) if status == "confirmed" => match asked {
            // Compared as stored (to the microsecond).
            Some(a) if time::to_db(a) != time::to_db(t) => Err(StoreError::Refused(format!(
                "{k}: the calendar announces its release for {}; change the date in the calendar rather than here",
                justat_model::french::date_time(t)
            ))),
            _ => Ok(ReleaseInstant::OnRelease(t)),
        },
        // A correction after the release: never public before the release itself was.
        (Some((status, Some(t))), Some(a)) if status == "published" && a < t => {
            Err(StoreError::Refused(format!(
                "{k}: the release in the calendar was published on {}; a correction cannot be public before it",
                justat_model::french::date_time(t)
            )))
        }
        (Some((status, _)), Some(a)) if status == "published" => Ok(ReleaseInstant::Own(a)),
        (Some((status, _)), _) if status != "published" => Err(StoreError::Refused(format!(
            "{k}: its release in the calendar is {status}: its date must be confirmed first"
        ))),
        (_, Some(a)) => Ok(ReleaseInstant::Own(a)),
        (_, None) => Err(StoreError::Refused(format!(
            "{k}: releasing needs the release instant (or a confirmed date in the calendar)"
        ))),
    }
}

fn key(collection: Collection, slug: &str) -> String {
    format!("{collection}/{slug}")
}

impl Store {
    /// Saves a build: it replaces the content of the publication's draft, or starts its first
    /// version, or — when its latest version was released — a correction (which must carry an
    /// erratum). A submitted or approved version is frozen: the build is refused.
    pub async fn save_build(
        &self,
        new: &NewVersion,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<PublicationVersion, StoreError> {
        let mut w = self.begin_write().await?;
        let existing =
            sqlx::query("SELECT id FROM publications WHERE collection = $1 AND slug = $2")
                .bind(new.collection.slug())
                .bind(&new.slug)
                .fetch_optional(w.conn())
                .await?;
        let pid: i64 = match existing {
            Some(r) => r.try_get("id")?,
            None => sqlx::query(
                "INSERT INTO publications (collection, slug, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(new.collection.slug())
            .bind(&new.slug)
            .bind(actor.as_str())
            .bind(time::to_db(now))
            .fetch_one(w.conn())
            .await?
            .try_get("id")?,
        };
        let latest = sqlx::query(
            "SELECT version, state FROM publication_versions WHERE publication_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(pid)
        .fetch_optional(w.conn())
        .await?;
        let latest = latest
            .map(|r| -> Result<(i64, VersionState), StoreError> {
                Ok((r.try_get("version")?, state_of(&r)?))
            })
            .transpose()?;
        let k = key(new.collection, &new.slug);
        let version = match latest {
            None => 1,
            Some((v, VersionState::Draft)) => v,
            Some((v, s @ (VersionState::Submitted | VersionState::Approved))) => {
                return Err(StoreError::Refused(format!(
                    "{k} version {v} is {}: it is frozen; {}",
                    s.as_str(),
                    if s == VersionState::Submitted {
                        "the head of service must reject it before it can be rebuilt"
                    } else {
                        "it can only be released now, then corrected by a new version"
                    }
                )));
            }
            Some((v, _)) => {
                if new.erratum.as_deref().is_none_or(|e| e.trim().is_empty()) {
                    return Err(StoreError::Refused(format!(
                        "{k} version {v} is released: a new version is a correction and needs its public erratum (erratum = \"…\" in the front matter)"
                    )));
                }
                v + 1
            }
        };
        let replaced = matches!(latest, Some((v, VersionState::Draft)) if v == version);
        if replaced {
            sqlx::query(
                "DELETE FROM publication_versions WHERE publication_id = $1 AND version = $2",
            )
            .bind(pid)
            .bind(version)
            .execute(w.conn())
            .await?;
        }
        sqlx::query(
            "INSERT INTO publication_versions (publication_id, version, state, number, title, summary, theme, period, authors, keywords, erratum, html, sources, figures, provenance, files, content_hash, built_by, built_at)
             VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(pid)
        .bind(version)
        .bind(&new.number)
        .bind(&new.title)
        .bind(&new.summary)
        .bind(&new.theme)
        .bind(&new.period)
        .bind(json!(new.authors).to_string())
        .bind(json!(new.keywords).to_string())
        .bind(new.erratum.as_deref())
        .bind(&new.html)
        .bind(new.sources.to_string())
        .bind(new.figures.to_string())
        .bind(serde_json::to_string(&new.provenance).map_err(|e| StoreError::Corrupt {
            what: "publication provenance",
            value: e.to_string(),
        })?)
        .bind(json!(new.files).to_string())
        .bind(new.content_hash.as_str())
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .execute(w.conn())
        .await?;
        w.record(
            AuditRecord::new(actor, "publication.build", format!("{k}/v{version}")).with(json!({
                "content_hash": new.content_hash,
                "replaced_draft": replaced,
                "files": new.files.iter().map(|f| json!({"name": f.name, "sha256": f.sha256})).collect::<Vec<_>>(),
            })),
        );
        w.commit(now).await?;
        self.publication_version(new.collection, &new.slug, Some(version))
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "publication version",
                key: format!("{k}/v{version}"),
            })
    }

    /// Takes a lifecycle action on a version, as `role`; `release_at` is the release instant
    /// (required to release). Releasing a correction marks the version it replaces corrected.
    #[allow(clippy::too_many_arguments)]
    pub async fn publication_action(
        &self,
        collection: Collection,
        slug: &str,
        version: i64,
        action: Action,
        role: Role,
        actor: &Actor,
        release_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<PublicationVersion, StoreError> {
        let k = format!("{}/v{version}", key(collection, slug));
        let current = self
            .publication_version(collection, slug, Some(version))
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "publication version",
                key: k.clone(),
            })?;
        let to = transition(current.state, action, role)?;
        let mut w = self.begin_write().await?;
        // The state is checked again under the write lock: two concurrent actions cannot both
        // start from the same state.
        let updated = match action {
            Action::Approve => {
                sqlx::query("UPDATE publication_versions SET state = $1, approved_by = $2, approved_at = $3 WHERE publication_id = $4 AND version = $5 AND state = $6")
                    .bind(to.as_str())
                    .bind(actor.as_str())
                    .bind(time::to_db(now))
                    .bind(current.publication_id)
                    .bind(version)
                    .bind(current.state.as_str())
                    .execute(w.conn())
                    .await?
            }
            Action::Release => {
                let at = release_instant(&mut w, collection, slug, release_at, &k).await?;
                let earlier = sqlx::query("UPDATE publication_versions SET state = 'corrected' WHERE publication_id = $1 AND version < $2 AND state = 'released'")
                    .bind(current.publication_id)
                    .bind(version)
                    .execute(w.conn())
                    .await?;
                if earlier.rows_affected() > 0 {
                    w.record(AuditRecord::new(actor, "publication.supersede", k.clone()).with(
                        json!({"versions_corrected": earlier.rows_affected(), "erratum": current.erratum}),
                    ));
                }
                // A version on the release stores no instant: the release's is read.
                let (on_release, own) = match at {
                    ReleaseInstant::OnRelease(_) => (1, None),
                    ReleaseInstant::Own(t) => (0, Some(time::to_db(t))),
                };
                sqlx::query("UPDATE publication_versions SET state = $1, on_release = $2, released_at = $3 WHERE publication_id = $4 AND version = $5 AND state = $6")
                    .bind(to.as_str())
                    .bind(on_release)
                    .bind(own)
                    .bind(current.publication_id)
                    .bind(version)
                    .bind(current.state.as_str())
                    .execute(w.conn())
                    .await?
            }
            _ => {
                sqlx::query("UPDATE publication_versions SET state = $1 WHERE publication_id = $2 AND version = $3 AND state = $4")
                    .bind(to.as_str())
                    .bind(current.publication_id)
                    .bind(version)
                    .bind(current.state.as_str())
                    .execute(w.conn())
                    .await?
            }
        };
        if updated.rows_affected() != 1 {
            return Err(StoreError::Refused(format!(
                "{k} changed while the action was asked; look at it again"
            )));
        }
        w.record(
            AuditRecord::new(actor, "publication.transition", k.clone()).with(json!({
                "action": action.as_str(), "from": current.state.as_str(), "to": to.as_str(),
                "role": role.as_str(), "content_hash": current.content_hash,
                "release_at": release_at.map(time::to_db),
            })),
        );
        w.commit(now).await?;
        if action == Action::Release {
            // Every release anchors the audit log outside the database.
            self.checkpoint_after("publication.release", now).await;
        }
        self.publication_version(collection, slug, Some(version))
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "publication version",
                key: k,
            })
    }

    /// A version of a publication, or its latest version when `version` is `None`.
    pub async fn publication_version(
        &self,
        collection: Collection,
        slug: &str,
        version: Option<i64>,
    ) -> Result<Option<PublicationVersion>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM dated_versions v JOIN publications p ON p.id = v.publication_id
             WHERE p.collection = $1 AND p.slug = $2 AND (v.version = $3 OR $3 = 0)
             ORDER BY v.version DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(collection.slug())
            .bind(slug)
            .bind(version.unwrap_or(0))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(version_of).transpose()
    }

    /// The latest version of a publication the public may read at `now`.
    pub async fn public_version(
        &self,
        collection: Collection,
        slug: &str,
        now: Timestamp,
    ) -> Result<Option<PublicationVersion>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM dated_versions v JOIN publications p ON p.id = v.publication_id
             WHERE p.collection = $1 AND p.slug = $2 AND v.state IN ('released', 'corrected') AND v.released_at <= $3
             ORDER BY v.version DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(collection.slug())
            .bind(slug)
            .bind(time::to_db(now))
            .fetch_optional(self.pool())
            .await?;
        let v = row.as_ref().map(version_of).transpose()?;
        // The SQL narrows; the one predicate decides.
        Ok(v.filter(|v| v.is_public(now)))
    }

    /// Every version of every publication, newest publication first (for staff).
    pub async fn publication_versions(&self) -> Result<Vec<VersionSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.collection, p.slug, v.version, v.state, v.number, v.title, v.summary, v.theme, v.period, v.released_at
             FROM dated_versions v JOIN publications p ON p.id = v.publication_id
             ORDER BY p.id DESC, v.version DESC",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(summary_of).collect()
    }

    /// The latest public version of each publication at `now`, most recently released first.
    pub async fn public_versions(&self, now: Timestamp) -> Result<Vec<VersionSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.collection, p.slug, v.version, v.state, v.number, v.title, v.summary, v.theme, v.period, v.released_at
             FROM dated_versions v JOIN publications p ON p.id = v.publication_id
             WHERE v.state IN ('released', 'corrected') AND v.released_at <= $1
             ORDER BY p.id, v.version DESC",
        )
        .bind(time::to_db(now))
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<VersionSummary> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let v = summary_of(r)?;
            if is_public(v.state, v.released_at, now) && seen.insert(id) {
                out.push(v);
            }
        }
        out.sort_by(|a, b| b.released_at.cmp(&a.released_at).then(a.slug.cmp(&b.slug)));
        Ok(out)
    }

    /// The versions of one publication the public may read at `now`, newest first.
    pub async fn public_history(
        &self,
        collection: Collection,
        slug: &str,
        now: Timestamp,
    ) -> Result<Vec<VersionSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.collection, p.slug, v.version, v.state, v.number, v.title, v.summary, v.theme, v.period, v.released_at
             FROM dated_versions v JOIN publications p ON p.id = v.publication_id
             WHERE p.collection = $1 AND p.slug = $2 AND v.state IN ('released', 'corrected') AND v.released_at <= $3
             ORDER BY v.version DESC",
        )
        .bind(collection.slug())
        .bind(slug)
        .bind(time::to_db(now))
        .fetch_all(self.pool())
        .await?;
        let all: Vec<VersionSummary> = rows.iter().map(summary_of).collect::<Result<_, _>>()?;
        Ok(all
            .into_iter()
            .filter(|v| is_public(v.state, v.released_at, now))
            .collect())
    }
}

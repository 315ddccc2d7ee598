//! The incident register: incidents reported (by staff, or by the scheduler for a late
//! release), reviewed once by the head of service; a collection with an incident not reviewed
//! yet cannot schedule its next release (checked where a version is released).

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::Role;
use justat_model::incident::IncidentKind;
use justat_model::publication::Collection;
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// An incident of the register.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Its number.
    pub id: i64,
    /// The collection of the release concerned.
    pub collection: Collection,
    /// The release concerned.
    pub slug: String,
    /// What went wrong.
    pub kind: IncidentKind,
    /// What happened.
    pub description: String,
    /// Who reported it (`system` for the scheduler).
    pub reported_by: String,
    /// When.
    pub reported_at: Timestamp,
    /// The review: what was found and what changes.
    pub review: Option<String>,
    /// Who reviewed it.
    pub reviewed_by: Option<String>,
    /// When.
    pub reviewed_at: Option<Timestamp>,
}

fn incident_of(r: &AnyRow) -> Result<Incident, StoreError> {
    let corrupt = |what, value: String| StoreError::Corrupt { what, value };
    let c: String = r.try_get("collection")?;
    let k: String = r.try_get("kind")?;
    Ok(Incident {
        id: r.try_get("id")?,
        collection: c.parse().map_err(|_| corrupt("collection", c.clone()))?,
        slug: r.try_get("slug")?,
        kind: k.parse().map_err(|_| corrupt("incident kind", k.clone()))?,
        description: r.try_get("description")?,
        reported_by: r.try_get("reported_by")?,
        reported_at: time::from_db(&r.try_get::<String, _>("reported_at")?)?,
        review: r.try_get("review")?,
        reviewed_by: r.try_get("reviewed_by")?,
        reviewed_at: r
            .try_get::<Option<String>, _>("reviewed_at")?
            .map(|t| time::from_db(&t))
            .transpose()?,
    })
}

impl Store {
    /// Reports an incident (any member of the service, or the scheduler as `system`).
    pub async fn report_incident(
        &self,
        collection: Collection,
        slug: &str,
        kind: IncidentKind,
        description: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, StoreError> {
        if description.trim().is_empty() {
            return Err(StoreError::Refused(
                "an incident needs its description".into(),
            ));
        }
        let mut w = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO incidents (collection, slug, kind, description, reported_by, reported_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(collection.slug())
        .bind(slug)
        .bind(kind.as_str())
        .bind(description.trim())
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .fetch_one(w.conn())
        .await?
        .try_get("id")?;
        w.record(
            AuditRecord::new(actor, "incident.report", format!("incident/{id}")).with(json!({
                "collection": collection.slug(), "slug": slug, "kind": kind.as_str(),
                "description": description,
            })),
        );
        w.commit(now).await?;
        self.incident(id).await
    }

    /// Reviews an incident (head of service only, once).
    pub async fn review_incident(
        &self,
        id: i64,
        review: &str,
        role: Role,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Incident, StoreError> {
        if role != Role::HeadOfService {
            return Err(StoreError::Refused(
                "only the head of service reviews an incident".into(),
            ));
        }
        if review.trim().is_empty() {
            return Err(StoreError::Refused("a review needs its text".into()));
        }
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE incidents SET review = $1, reviewed_by = $2, reviewed_at = $3 WHERE id = $4 AND reviewed_at IS NULL",
        )
        .bind(review.trim())
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .bind(id)
        .execute(w.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Refused(format!(
                "incident {id} does not exist or was already reviewed"
            )));
        }
        w.record(
            AuditRecord::new(actor, "incident.review", format!("incident/{id}"))
                .with(json!({ "review": review })),
        );
        w.commit(now).await?;
        self.incident(id).await
    }

    /// One incident.
    pub async fn incident(&self, id: i64) -> Result<Incident, StoreError> {
        let row = sqlx::query("SELECT * FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "incident",
                key: id.to_string(),
            })?;
        incident_of(&row)
    }

    /// The register, newest first.
    pub async fn incidents(&self) -> Result<Vec<Incident>, StoreError> {
        sqlx::query("SELECT * FROM incidents ORDER BY id DESC")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(incident_of)
            .collect()
    }
}

/// The incidents of a collection not reviewed yet, read in a write transaction (a release
/// waits for them).
pub(crate) async fn unreviewed(
    conn: &mut sqlx::AnyConnection,
    collection: Collection,
) -> Result<Vec<(i64, String)>, StoreError> {
    sqlx::query(
        "SELECT id, kind FROM incidents WHERE collection = $1 AND reviewed_at IS NULL ORDER BY id",
    )
    .bind(collection.slug())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("kind")?)))
    .collect()
}

//! The work programme of each year: its synthesis, its operations and the Cnis's opinions,
//! edited by the head of service. Each edit is one transaction that writes the new value,
//! appends its line to `programme_changes` (the value before and after, who, when: that
//! table is append-only) and its audit entry. The PDF the worker typesets is recorded with
//! the latest change it shows.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::Timestamp;
use justat_model::Sha256Hex;
use justat_model::programme::{Link, Operation, Opinion, YearView, year_view};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

/// An operation as stored, with its number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredOperation {
    /// Its number.
    pub id: i64,
    /// The operation.
    pub operation: Operation,
    /// Who edited it last.
    pub updated_by: String,
    /// When.
    pub updated_at: Timestamp,
}

/// An opinion as stored, with its number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredOpinion {
    /// Its number.
    pub id: i64,
    /// The opinion.
    pub opinion: Opinion,
    /// Who edited it last.
    pub updated_by: String,
    /// When.
    pub updated_at: Timestamp,
}

/// A year's programme as it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Programme {
    /// The year.
    pub year: i16,
    /// The synthesis (empty when not written yet).
    pub synthesis: String,
    /// Its operations, in the order they were added.
    pub operations: Vec<StoredOperation>,
    /// The Cnis's opinions filed under the year.
    pub opinions: Vec<StoredOpinion>,
    /// The latest change (0 when nothing was ever written for the year).
    pub revision: i64,
}

impl Programme {
    /// Whether anything was written for the year.
    pub fn is_empty(&self) -> bool {
        self.synthesis.is_empty() && self.operations.is_empty() && self.opinions.is_empty()
    }
}

/// One edit of a programme, as its history shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgrammeChange {
    /// Its number (the programme's revision after it).
    pub id: i64,
    /// `synthesis`, `operation` or `opinion`.
    pub object: String,
    /// The operation's or opinion's number.
    pub object_id: Option<i64>,
    /// `create` or `update`.
    pub change: String,
    /// The value before (JSON), none at creation.
    pub before: Option<String>,
    /// The value after (JSON).
    pub after: String,
    /// Who.
    pub changed_by: String,
    /// When.
    pub changed_at: Timestamp,
}

/// The PDF of a year's programme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgrammePdf {
    /// The latest change it shows.
    pub revision: i64,
    /// Its file in the lake.
    pub sha256: Sha256Hex,
    /// When it was typeset.
    pub made_at: Timestamp,
}

fn corrupt(what: &'static str, value: String) -> StoreError {
    StoreError::Corrupt { what, value }
}

fn operation_of(r: &AnyRow) -> Result<StoredOperation, StoreError> {
    let value: String = r.try_get("value")?;
    Ok(StoredOperation {
        id: r.try_get("id")?,
        operation: serde_json::from_str(&value)
            .map_err(|_| corrupt("programme operation", value.clone()))?,
        updated_by: r.try_get("updated_by")?,
        updated_at: time::from_db(&r.try_get::<String, _>("updated_at")?)?,
    })
}

fn opinion_of(r: &AnyRow) -> Result<StoredOpinion, StoreError> {
    let value: String = r.try_get("value")?;
    Ok(StoredOpinion {
        id: r.try_get("id")?,
        opinion: serde_json::from_str(&value)
            .map_err(|_| corrupt("Cnis opinion", value.clone()))?,
        updated_by: r.try_get("updated_by")?,
        updated_at: time::from_db(&r.try_get::<String, _>("updated_at")?)?,
    })
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Refused(e.to_string()))
}

/// What a programme edit touches.
enum Object {
    Synthesis,
    Operation(i64),
    Opinion(i64),
}

impl Object {
    fn name(&self) -> &'static str {
        match self {
            Object::Synthesis => "synthesis",
            Object::Operation(_) => "operation",
            Object::Opinion(_) => "opinion",
        }
    }

    fn id(&self) -> Option<i64> {
        match self {
            Object::Synthesis => None,
            Object::Operation(id) | Object::Opinion(id) => Some(*id),
        }
    }
}

/// Appends an edit to the history, in the edit's transaction.
async fn append_change(
    conn: &mut sqlx::AnyConnection,
    year: i16,
    object: &Object,
    before: Option<&str>,
    after: &str,
    actor: &Actor,
    now: Timestamp,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO programme_changes (year, object, object_id, change, before, after, changed_by, changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(i64::from(year))
    .bind(object.name())
    .bind(object.id())
    .bind(if before.is_some() { "update" } else { "create" })
    .bind(before)
    .bind(after)
    .bind(actor.as_str())
    .bind(time::to_db(now))
    .fetch_one(conn)
    .await?
    .try_get("id")?)
}

impl Store {
    /// Checks what an operation is attached to exists: its campaign. (A chain or a
    /// publication may be planned before it exists: the programme announces it.)
    async fn check_link(&self, op: &Operation) -> Result<(), StoreError> {
        if let Link::Campaign { campaign } = op.link {
            self.campaign(campaign).await.map_err(|e| match e {
                StoreError::NotFound { .. } => {
                    StoreError::Refused(format!("la campagne d’enquête n° {campaign} n’existe pas"))
                }
                e => e,
            })?;
        }
        Ok(())
    }

    /// Adds an operation to its year's programme; returns its number.
    pub async fn add_programme_operation(
        &self,
        op: &Operation,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        self.check_link(op).await?;
        let value = to_json(op)?;
        let mut w = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO programme_operations (year, kind, value, created_by, created_at, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $4, $5) RETURNING id",
        )
        .bind(i64::from(op.year))
        .bind(op.kind.as_str())
        .bind(&value)
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .fetch_one(w.conn())
        .await?
        .try_get("id")?;
        append_change(
            w.conn(),
            op.year,
            &Object::Operation(id),
            None,
            &value,
            actor,
            now,
        )
        .await?;
        w.record(
            AuditRecord::new(
                actor,
                "programme.operation.add",
                format!("programme/{}/operation/{id}", op.year),
            )
            .with(json!({ "title": op.title, "status": op.status.as_str() })),
        );
        w.commit(now).await?;
        Ok(id)
    }

    /// Replaces an operation by its edited value; the value before stays in the history.
    pub async fn update_programme_operation(
        &self,
        id: i64,
        op: &Operation,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.check_link(op).await?;
        let value = to_json(op)?;
        let mut w = self.begin_write().await?;
        let before: String = sqlx::query("SELECT value FROM programme_operations WHERE id = $1")
            .bind(id)
            .fetch_optional(w.conn())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "programme operation",
                key: id.to_string(),
            })?
            .try_get("value")?;
        if before == value {
            return Ok(());
        }
        sqlx::query(
            "UPDATE programme_operations SET year = $1, kind = $2, value = $3, updated_by = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(i64::from(op.year))
        .bind(op.kind.as_str())
        .bind(&value)
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .bind(id)
        .execute(w.conn())
        .await?;
        append_change(
            w.conn(),
            op.year,
            &Object::Operation(id),
            Some(&before),
            &value,
            actor,
            now,
        )
        .await?;
        w.record(
            AuditRecord::new(
                actor,
                "programme.operation.update",
                format!("programme/{}/operation/{id}", op.year),
            )
            .with(json!({ "title": op.title, "status": op.status.as_str() })),
        );
        w.commit(now).await?;
        Ok(())
    }

    /// Checks the operations an opinion lists exist.
    async fn check_answering(&self, o: &Opinion) -> Result<(), StoreError> {
        for id in &o.operations {
            let n: i64 =
                sqlx::query("SELECT COUNT(*) AS n FROM programme_operations WHERE id = $1")
                    .bind(id)
                    .fetch_one(self.pool())
                    .await?
                    .try_get("n")?;
            if n == 0 {
                return Err(StoreError::Refused(format!(
                    "l’opération n° {id} n’existe pas"
                )));
            }
        }
        Ok(())
    }

    /// Records an opinion of the Cnis; returns its number.
    pub async fn add_cnis_opinion(
        &self,
        o: &Opinion,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        self.check_answering(o).await?;
        let value = to_json(o)?;
        let mut w = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO cnis_opinions (year, kind, value, created_by, created_at, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $4, $5) RETURNING id",
        )
        .bind(i64::from(o.year))
        .bind(o.kind.as_str())
        .bind(&value)
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .fetch_one(w.conn())
        .await?
        .try_get("id")?;
        append_change(
            w.conn(),
            o.year,
            &Object::Opinion(id),
            None,
            &value,
            actor,
            now,
        )
        .await?;
        w.record(
            AuditRecord::new(
                actor,
                "programme.opinion.add",
                format!("programme/{}/opinion/{id}", o.year),
            )
            .with(json!({ "kind": o.kind.as_str(), "reference": o.reference })),
        );
        w.commit(now).await?;
        Ok(id)
    }

    /// Replaces an opinion (its response, its answering operations…) by its edited value;
    /// the value before stays in the history.
    pub async fn update_cnis_opinion(
        &self,
        id: i64,
        o: &Opinion,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.check_answering(o).await?;
        let value = to_json(o)?;
        let mut w = self.begin_write().await?;
        let before: String = sqlx::query("SELECT value FROM cnis_opinions WHERE id = $1")
            .bind(id)
            .fetch_optional(w.conn())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "Cnis opinion",
                key: id.to_string(),
            })?
            .try_get("value")?;
        if before == value {
            return Ok(());
        }
        sqlx::query(
            "UPDATE cnis_opinions SET year = $1, kind = $2, value = $3, updated_by = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(i64::from(o.year))
        .bind(o.kind.as_str())
        .bind(&value)
        .bind(actor.as_str())
        .bind(time::to_db(now))
        .bind(id)
        .execute(w.conn())
        .await?;
        append_change(
            w.conn(),
            o.year,
            &Object::Opinion(id),
            Some(&before),
            &value,
            actor,
            now,
        )
        .await?;
        w.record(
            AuditRecord::new(
                actor,
                "programme.opinion.update",
                format!("programme/{}/opinion/{id}", o.year),
            )
            .with(json!({ "kind": o.kind.as_str(), "reference": o.reference })),
        );
        w.commit(now).await?;
        Ok(())
    }

    /// Writes a year's synthesis; the text before stays in the history.
    pub async fn set_programme_synthesis(
        &self,
        year: i16,
        synthesis: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let before: Option<String> =
            sqlx::query("SELECT synthesis FROM programme_years WHERE year = $1")
                .bind(i64::from(year))
                .fetch_optional(w.conn())
                .await?
                .map(|r| r.try_get("synthesis"))
                .transpose()?;
        if before.as_deref() == Some(synthesis) {
            return Ok(());
        }
        let sql = if before.is_some() {
            "UPDATE programme_years SET synthesis = $2, updated_by = $3, updated_at = $4 WHERE year = $1"
        } else {
            "INSERT INTO programme_years (year, synthesis, updated_by, updated_at) VALUES ($1, $2, $3, $4)"
        };
        sqlx::query(sql)
            .bind(i64::from(year))
            .bind(synthesis)
            .bind(actor.as_str())
            .bind(time::to_db(now))
            .execute(w.conn())
            .await?;
        let after = to_json(&synthesis)?;
        let before = before.map(|b| to_json(&b)).transpose()?;
        append_change(
            w.conn(),
            year,
            &Object::Synthesis,
            before.as_deref(),
            &after,
            actor,
            now,
        )
        .await?;
        w.record(
            AuditRecord::new(actor, "programme.synthesis", format!("programme/{year}"))
                .with(json!({ "chars": synthesis.chars().count() })),
        );
        w.commit(now).await?;
        Ok(())
    }

    /// One operation.
    pub async fn programme_operation(&self, id: i64) -> Result<StoredOperation, StoreError> {
        let row = sqlx::query("SELECT * FROM programme_operations WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "programme operation",
                key: id.to_string(),
            })?;
        operation_of(&row)
    }

    /// One opinion.
    pub async fn cnis_opinion(&self, id: i64) -> Result<StoredOpinion, StoreError> {
        let row = sqlx::query("SELECT * FROM cnis_opinions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "Cnis opinion",
                key: id.to_string(),
            })?;
        opinion_of(&row)
    }

    /// A year's programme as it stands (empty when nothing was written for it).
    pub async fn programme(&self, year: i16) -> Result<Programme, StoreError> {
        let y = i64::from(year);
        let synthesis: String =
            sqlx::query("SELECT synthesis FROM programme_years WHERE year = $1")
                .bind(y)
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.try_get("synthesis"))
                .transpose()?
                .unwrap_or_default();
        let operations =
            sqlx::query("SELECT * FROM programme_operations WHERE year = $1 ORDER BY id")
                .bind(y)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(operation_of)
                .collect::<Result<_, _>>()?;
        let opinions = sqlx::query("SELECT * FROM cnis_opinions WHERE year = $1 ORDER BY id")
            .bind(y)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(opinion_of)
            .collect::<Result<_, _>>()?;
        let revision: Option<i64> =
            sqlx::query("SELECT MAX(id) AS r FROM programme_changes WHERE year = $1")
                .bind(y)
                .fetch_one(self.pool())
                .await?
                .try_get("r")?;
        Ok(Programme {
            year,
            synthesis,
            operations,
            opinions,
            revision: revision.unwrap_or(0),
        })
    }

    /// The operations of every year, by number (an opinion may be answered by an operation
    /// of another year).
    pub async fn programme_operations_by_id(
        &self,
        ids: &[i64],
    ) -> Result<Vec<StoredOperation>, StoreError> {
        let mut out = Vec::new();
        for id in ids {
            match self.programme_operation(*id).await {
                Ok(op) => out.push(op),
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// A year's programme as its page and its PDF present it (the Cnis's layout), with its
    /// revision.
    pub async fn programme_view(&self, year: i16) -> Result<(YearView, i64), StoreError> {
        let p = self.programme(year).await?;
        let operations: Vec<_> = p
            .operations
            .iter()
            .map(|o| (o.id, o.operation.clone()))
            .collect();
        let opinions: Vec<_> = p
            .opinions
            .iter()
            .map(|o| (o.id, o.opinion.clone()))
            .collect();
        let elsewhere: Vec<i64> = opinions
            .iter()
            .flat_map(|(_, o)| o.operations.iter().copied())
            .filter(|id| !operations.iter().any(|(n, _)| n == id))
            .collect();
        let titles: Vec<(i64, String)> = self
            .programme_operations_by_id(&elsewhere)
            .await?
            .into_iter()
            .map(|o| (o.id, o.operation.title))
            .collect();
        Ok((
            year_view(year, &p.synthesis, &operations, &opinions, &titles),
            p.revision,
        ))
    }

    /// The years something was written for, oldest first.
    pub async fn programme_years(&self) -> Result<Vec<i16>, StoreError> {
        sqlx::query("SELECT DISTINCT year FROM programme_changes ORDER BY year")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                let y: i64 = r.try_get("year")?;
                i16::try_from(y).map_err(|_| corrupt("programme year", y.to_string()))
            })
            .collect()
    }

    /// A year's history, newest first.
    pub async fn programme_history(&self, year: i16) -> Result<Vec<ProgrammeChange>, StoreError> {
        sqlx::query("SELECT * FROM programme_changes WHERE year = $1 ORDER BY id DESC")
            .bind(i64::from(year))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(ProgrammeChange {
                    id: r.try_get("id")?,
                    object: r.try_get("object")?,
                    object_id: r.try_get("object_id")?,
                    change: r.try_get("change")?,
                    before: r.try_get("before")?,
                    after: r.try_get("after")?,
                    changed_by: r.try_get("changed_by")?,
                    changed_at: time::from_db(&r.try_get::<String, _>("changed_at")?)?,
                })
            })
            .collect()
    }

    /// Records the PDF typeset for a year's programme at `revision`.
    pub async fn record_programme_pdf(
        &self,
        year: i16,
        revision: i64,
        sha256: &Sha256Hex,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO programme_pdfs (year, revision, sha256, made_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (year, revision) DO NOTHING",
        )
        .bind(i64::from(year))
        .bind(revision)
        .bind(sha256.as_str())
        .bind(time::to_db(now))
        .execute(w.conn())
        .await?;
        w.record(
            AuditRecord::new(
                &Actor::system(),
                "programme.pdf",
                format!("programme/{year}"),
            )
            .with(json!({ "revision": revision, "sha256": sha256.as_str() })),
        );
        w.commit(now).await?;
        Ok(())
    }

    /// The latest PDF of a year's programme, if one was typeset.
    pub async fn programme_pdf(&self, year: i16) -> Result<Option<ProgrammePdf>, StoreError> {
        sqlx::query(
            "SELECT revision, sha256, made_at FROM programme_pdfs WHERE year = $1 ORDER BY revision DESC LIMIT 1",
        )
        .bind(i64::from(year))
        .fetch_optional(self.pool())
        .await?
        .map(|r| {
            let sha: String = r.try_get("sha256")?;
            Ok(ProgrammePdf {
                revision: r.try_get("revision")?,
                sha256: sha.parse().map_err(|_| corrupt("programme PDF digest", sha.clone()))?,
                made_at: time::from_db(&r.try_get::<String, _>("made_at")?)?,
            })
        })
        .transpose()
    }
}

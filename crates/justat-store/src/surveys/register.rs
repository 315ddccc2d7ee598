//! The register of surveyed units: organisations by kind with their contacts, imported from
//! a CSV file or loaded from the reference courts, with an append-only history of changes and
//! the erasure of contacts' personal data after the retention period.

use crate::audit::{Actor, AuditRecord};
use crate::{Store, StoreError, time};
use jiff::{SignedDuration, Timestamp};
use justat_model::survey::{self, ContactFields, UnitKind, UnitRow};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeSet;

/// A unit of the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurveyUnit {
    /// Internal id.
    pub id: i64,
    /// Its code, unique (the SRJ code for courts).
    pub code: String,
    /// Its kind.
    pub kind: UnitKind,
    /// Its name.
    pub name: String,
    /// Its court of appeal's code, where it has one.
    pub court_of_appeal: Option<String>,
    /// Its postal address (empty when unknown).
    pub address: String,
    /// When it entered the register.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A contact of a unit. Once erased, its name, e-mail and address are empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// Internal id.
    pub id: i64,
    /// The unit's code.
    pub unit_code: String,
    /// Name.
    pub name: String,
    /// Function.
    pub function: String,
    /// E-mail.
    pub email: String,
    /// Postal address.
    pub address: String,
    /// When its personal data was erased, if it was.
    pub erased_at: Option<Timestamp>,
}

/// One line of a unit's history: which fields changed (never a contact's values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitChange {
    /// The unit's code.
    pub unit_code: String,
    /// `created`, `updated`, `contact_added`, `contact_updated` or `contact_erased`.
    pub change: String,
    /// The fields concerned.
    pub fields: Vec<String>,
    /// Where the change came from: the file name of an import, `reference`, `retention`.
    pub source: String,
    /// Who.
    pub changed_by: String,
    /// When.
    pub changed_at: Timestamp,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Units added.
    pub created: usize,
    /// Units whose fields changed.
    pub updated: usize,
    /// Units already as the file says.
    pub unchanged: usize,
    /// Contacts added.
    pub contacts_added: usize,
    /// Contacts whose name, function or address changed (a contact is known by its e-mail).
    pub contacts_updated: usize,
}

const UNIT_COLUMNS: &str = "id, code, kind, name, court_of_appeal, address, created_at, updated_at";

fn unit_of(r: &AnyRow) -> Result<SurveyUnit, StoreError> {
    Ok(SurveyUnit {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        kind: crate::parsed(r, "kind", "unit kind")?,
        name: r.try_get("name")?,
        court_of_appeal: r.try_get("court_of_appeal")?,
        address: r.try_get("address")?,
        created_at: time::from_db(&r.try_get::<String, _>("created_at")?)?,
        updated_at: time::from_db(&r.try_get::<String, _>("updated_at")?)?,
    })
}

pub(crate) fn contact_of(r: &AnyRow) -> Result<Contact, StoreError> {
    Ok(Contact {
        id: r.try_get("id")?,
        unit_code: r.try_get("unit_code")?,
        name: r.try_get("name")?,
        function: r.try_get("function")?,
        email: r.try_get("email")?,
        address: r.try_get("address")?,
        erased_at: r
            .try_get::<Option<String>, _>("erased_at")?
            .map(|t| time::from_db(&t))
            .transpose()?,
    })
}

pub(crate) const CONTACT_COLUMNS: &str =
    "c.id, u.code AS unit_code, c.name, c.function, c.email, c.address, c.erased_at";

/// Appends a line to a unit's history.
async fn log_change(
    conn: &mut sqlx::AnyConnection,
    unit_id: i64,
    change: &str,
    fields: &[&str],
    source: &str,
    actor: &Actor,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO survey_unit_changes (unit_id, change, fields, source, changed_by, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(unit_id)
    .bind(change)
    .bind(json!(fields).to_string())
    .bind(source)
    .bind(actor.as_str())
    .bind(time::to_db(now))
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Imports a register CSV (format in `justat_model::survey::UNIT_CSV_HEADER`, documented
    /// in the README): units are created or updated by code, a line's contact added or updated
    /// (known by its e-mail within the unit). All or nothing: any mistake returns
    /// [`StoreError::UnitCsv`] with every bad line, and nothing is written.
    pub async fn import_units_csv(
        &self,
        file: &str,
        bytes: &[u8],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ImportSummary, StoreError> {
        let mut w = self.begin_write().await?;
        let known: BTreeSet<String> = sqlx::query("SELECT code FROM survey_units WHERE kind = $1")
            .bind(UnitKind::CourAppel.as_str())
            .fetch_all(w.conn())
            .await?
            .iter()
            .map(|r| r.try_get("code"))
            .collect::<Result<_, _>>()?;
        let rows = survey::parse_unit_csv(file, bytes, &known)?;
        let summary = apply_rows(w.conn(), &rows, file, actor, now).await?;
        w.record(
            AuditRecord::new(actor, "survey.units.import", format!("survey-units/{file}"))
                .with(json!({ "lines": rows.len(), "summary": summary })),
        );
        w.commit(now).await?;
        Ok(summary)
    }

    /// Loads (or brings up to date) the 36 cours d'appel and 164 tribunaux judiciaires of the
    /// reference lists shipped in `justat-model/reference/`, their SRJ codes as unit codes.
    pub async fn load_reference_courts(
        &self,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<ImportSummary, StoreError> {
        let courts = survey::reference_courts().map_err(|e| StoreError::Corrupt {
            what: "reference court list",
            value: e,
        })?;
        let rows: Vec<UnitRow> = courts
            .into_iter()
            .enumerate()
            .map(|(i, c)| UnitRow {
                line: i as u64 + 2,
                kind: c.kind,
                code: c.code,
                name: c.name,
                court_of_appeal: c.court_of_appeal,
                address: String::new(),
                contact: None,
            })
            .collect();
        let mut w = self.begin_write().await?;
        let summary = apply_rows(w.conn(), &rows, "reference", actor, now).await?;
        w.record(
            AuditRecord::new(actor, "survey.units.reference", "survey-units/reference")
                .with(json!({ "summary": summary })),
        );
        w.commit(now).await?;
        Ok(summary)
    }

    /// One unit, by code.
    pub async fn survey_unit(&self, code: &str) -> Result<SurveyUnit, StoreError> {
        let row = sqlx::query(crate::dynamic(format!(
            "SELECT {UNIT_COLUMNS} FROM survey_units WHERE code = $1"
        )))
        .bind(code)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "survey unit",
            key: code.to_string(),
        })?;
        unit_of(&row)
    }

    /// The register, by code; only one kind's units when given.
    pub async fn survey_units(
        &self,
        kind: Option<UnitKind>,
    ) -> Result<Vec<SurveyUnit>, StoreError> {
        let rows = match kind {
            Some(kind) => {
                sqlx::query(crate::dynamic(format!(
                    "SELECT {UNIT_COLUMNS} FROM survey_units WHERE kind = $1 ORDER BY code"
                )))
                .bind(kind.as_str())
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(crate::dynamic(format!(
                    "SELECT {UNIT_COLUMNS} FROM survey_units ORDER BY code"
                )))
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(unit_of).collect()
    }

    /// A unit's contacts, oldest first (erased ones included, blank).
    pub async fn unit_contacts(&self, code: &str) -> Result<Vec<Contact>, StoreError> {
        sqlx::query(crate::dynamic(format!(
            "SELECT {CONTACT_COLUMNS} FROM survey_contacts c JOIN survey_units u ON u.id = c.unit_id
             WHERE u.code = $1 ORDER BY c.id"
        )))
        .bind(code)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(contact_of)
        .collect()
    }

    /// A unit's history of changes, oldest first.
    pub async fn unit_history(&self, code: &str) -> Result<Vec<UnitChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.code, h.change, h.fields, h.source, h.changed_by, h.changed_at
             FROM survey_unit_changes h JOIN survey_units u ON u.id = h.unit_id
             WHERE u.code = $1 ORDER BY h.id",
        )
        .bind(code)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let fields: String = r.try_get("fields")?;
                Ok(UnitChange {
                    unit_code: r.try_get("code")?,
                    change: r.try_get("change")?,
                    fields: serde_json::from_str(&fields).map_err(|_| StoreError::Corrupt {
                        what: "unit change fields",
                        value: fields.clone(),
                    })?,
                    source: r.try_get("source")?,
                    changed_by: r.try_get("changed_by")?,
                    changed_at: time::from_db(&r.try_get::<String, _>("changed_at")?)?,
                })
            })
            .collect()
    }

    /// Erases the personal data (name, e-mail, postal address) of every contact whose unit's
    /// last campaign closed more than `retention` ago, and that was not changed since (a unit
    /// never sampled: its contact last changed more than `retention` ago). Each erasure is written in the
    /// unit's history and the audit log (ids only). Returns how many contacts were erased.
    pub async fn erase_expired_contacts(
        &self,
        retention: SignedDuration,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        if retention.is_negative() {
            return Err(StoreError::Refused(
                "a retention period cannot be negative".into(),
            ));
        }
        let actor = Actor::system();
        let mut w = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT c.id, c.unit_id, c.updated_at,
                    (SELECT MAX(k.closes_at) FROM survey_sample s
                       JOIN survey_campaigns k ON k.id = s.campaign_id
                      WHERE s.unit_id = c.unit_id) AS last_campaign
             FROM survey_contacts c WHERE c.erased_at IS NULL ORDER BY c.id",
        )
        .fetch_all(w.conn())
        .await?;
        let mut erased = Vec::new();
        for r in &rows {
            let last: Option<String> = r.try_get("last_campaign")?;
            // A contact entered after the last campaign is kept from its own entry.
            let changed = time::from_db(&r.try_get::<String, _>("updated_at")?)?;
            let since = match last {
                Some(t) => time::from_db(&t)?.max(changed),
                None => changed,
            };
            if since + retention <= now {
                erased.push((r.try_get::<i64, _>("id")?, r.try_get::<i64, _>("unit_id")?));
            }
        }
        for (id, unit_id) in &erased {
            sqlx::query(
                "UPDATE survey_contacts SET name = '', email = '', address = '', erased_at = $1, updated_at = $1 WHERE id = $2",
            )
            .bind(time::to_db(now))
            .bind(id)
            .execute(w.conn())
            .await?;
            log_change(
                w.conn(),
                *unit_id,
                "contact_erased",
                &["contact_nom", "contact_courriel", "contact_adresse"],
                "retention",
                &actor,
                now,
            )
            .await?;
        }
        if !erased.is_empty() {
            w.record(
                AuditRecord::new(&actor, "survey.contacts.erase", "survey-contacts").with(json!({
                    "contacts": erased.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                    "retention_days": retention.as_secs() / 86_400,
                })),
            );
        }
        w.commit(now).await?;
        Ok(erased.len())
    }
}

/// Writes the rows of an import: creates or updates each unit and its contact, with the
/// unit's history; the caller commits with the audit entry.
async fn apply_rows(
    conn: &mut sqlx::AnyConnection,
    rows: &[UnitRow],
    source: &str,
    actor: &Actor,
    now: Timestamp,
) -> Result<ImportSummary, StoreError> {
    let mut summary = ImportSummary::default();
    let at = time::to_db(now);
    for row in rows {
        let existing = sqlx::query(crate::dynamic(format!(
            "SELECT {UNIT_COLUMNS} FROM survey_units WHERE code = $1"
        )))
        .bind(&row.code)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(unit_of)
        .transpose()?;
        let unit_id = match existing {
            None => {
                let id: i64 = sqlx::query(
                    "INSERT INTO survey_units (code, kind, name, court_of_appeal, address, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .bind(&row.code)
                .bind(row.kind.as_str())
                .bind(&row.name)
                .bind(row.court_of_appeal.clone())
                .bind(&row.address)
                .bind(&at)
                .fetch_one(&mut *conn)
                .await?
                .try_get("id")?;
                log_change(
                    conn,
                    id,
                    "created",
                    &["type", "code", "nom", "cour_appel", "adresse"],
                    source,
                    actor,
                    now,
                )
                .await?;
                summary.created += 1;
                id
            }
            Some(unit) => {
                let mut fields = Vec::new();
                if unit.kind != row.kind {
                    fields.push("type");
                }
                if unit.name != row.name {
                    fields.push("nom");
                }
                if unit.court_of_appeal != row.court_of_appeal {
                    fields.push("cour_appel");
                }
                if unit.address != row.address {
                    fields.push("adresse");
                }
                if fields.is_empty() {
                    summary.unchanged += 1;
                } else {
                    sqlx::query(
                        "UPDATE survey_units SET kind = $1, name = $2, court_of_appeal = $3, address = $4, updated_at = $5 WHERE id = $6",
                    )
                    .bind(row.kind.as_str())
                    .bind(&row.name)
                    .bind(row.court_of_appeal.clone())
                    .bind(&row.address)
                    .bind(&at)
                    .bind(unit.id)
                    .execute(&mut *conn)
                    .await?;
                    log_change(conn, unit.id, "updated", &fields, source, actor, now).await?;
                    summary.updated += 1;
                }
                unit.id
            }
        };
        if let Some(contact) = &row.contact {
            upsert_contact(conn, unit_id, contact, source, actor, now, &mut summary).await?;
        }
    }
    Ok(summary)
}

async fn upsert_contact(
    conn: &mut sqlx::AnyConnection,
    unit_id: i64,
    contact: &ContactFields,
    source: &str,
    actor: &Actor,
    now: Timestamp,
    summary: &mut ImportSummary,
) -> Result<(), StoreError> {
    let at = time::to_db(now);
    let existing = sqlx::query(
        "SELECT id, name, function, address FROM survey_contacts
         WHERE unit_id = $1 AND email = $2 AND erased_at IS NULL",
    )
    .bind(unit_id)
    .bind(&contact.email)
    .fetch_optional(&mut *conn)
    .await?;
    match existing {
        None => {
            sqlx::query(
                "INSERT INTO survey_contacts (unit_id, name, function, email, address, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(unit_id)
            .bind(&contact.name)
            .bind(&contact.function)
            .bind(&contact.email)
            .bind(&contact.address)
            .bind(&at)
            .execute(&mut *conn)
            .await?;
            log_change(
                conn,
                unit_id,
                "contact_added",
                &[
                    "contact_nom",
                    "contact_fonction",
                    "contact_courriel",
                    "contact_adresse",
                ],
                source,
                actor,
                now,
            )
            .await?;
            summary.contacts_added += 1;
        }
        Some(r) => {
            let mut fields = Vec::new();
            if r.try_get::<String, _>("name")? != contact.name {
                fields.push("contact_nom");
            }
            if r.try_get::<String, _>("function")? != contact.function {
                fields.push("contact_fonction");
            }
            if r.try_get::<String, _>("address")? != contact.address {
                fields.push("contact_adresse");
            }
            if !fields.is_empty() {
                sqlx::query(
                    "UPDATE survey_contacts SET name = $1, function = $2, address = $3, updated_at = $4 WHERE id = $5",
                )
                .bind(&contact.name)
                .bind(&contact.function)
                .bind(&contact.address)
                .bind(&at)
                .bind(r.try_get::<i64, _>("id")?)
                .execute(&mut *conn)
                .await?;
                log_change(
                    conn,
                    unit_id,
                    "contact_updated",
                    &fields,
                    source,
                    actor,
                    now,
                )
                .await?;
                summary.contacts_updated += 1;
            }
        }
    }
    Ok(())
}

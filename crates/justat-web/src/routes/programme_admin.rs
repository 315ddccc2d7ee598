//! The back office of the work programme, for the head of service: a year's synthesis, its
//! operations (status and reason, what each is attached to), the Cnis's opinions with the
//! service's response and the operations that answer them, and the year's history — every
//! edit kept with who, when and the value before. A form with a problem comes back with what
//! was typed and each French message beside its field; nothing is saved then. Each save asks
//! the worker to typeset the year's PDF again.

use crate::AppState;
use crate::auth::{Capability, Require, SessionCtx, page};
use crate::error::WebError;
use crate::form::ValidForm;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::Timestamp;
use justat_model::programme::{
    FieldError, Novelty, OperationForm, OperationKind, OperationStatus, OpinionForm, OpinionKind,
    read_synthesis, read_year,
};
use justat_model::{Collection, JobRequest, Permission, french};
use justat_store::{Actor, StoreError};
use minijinja::context;
use serde::{Deserialize, Serialize};

/// Editing the work programme.
pub struct EditProgramme;
impl Capability for EditProgramme {
    const PERMISSION: Permission = Permission::EditProgramme;
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/programme-de-travail", get(index))
        .route("/programme-de-travail/{year}", get(year_page))
        .route(
            "/programme-de-travail/{year}/synthese",
            axum::routing::post(save_synthesis),
        )
        .route(
            "/programme-de-travail/{year}/operations/nouvelle",
            get(new_operation).post(add_operation),
        )
        .route(
            "/programme-de-travail/{year}/operations/{id}",
            get(edit_operation).post(update_operation),
        )
        .route(
            "/programme-de-travail/{year}/avis/nouveau",
            get(new_opinion).post(add_opinion),
        )
        .route(
            "/programme-de-travail/{year}/avis/{id}",
            get(edit_opinion).post(update_opinion),
        )
}

fn year_of(s: &str) -> Result<i16, WebError> {
    read_year(s).ok_or(WebError::NotFound)
}

fn id_of(s: &str) -> Result<i64, WebError> {
    s.parse().map_err(|_| WebError::NotFound)
}

/// The years offered: those written, the current one and the next.
async fn index(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
) -> Result<Response, WebError> {
    let current = crate::routes::programme::current_year(Timestamp::now());
    let mut years = state.store.programme_years().await?;
    for y in [current, current + 1] {
        if !years.contains(&y) {
            years.push(y);
        }
    }
    years.sort_unstable();
    Ok(page(
        "admin/programme.html",
        "Programme de travail",
        "admin",
        Some(&s),
        context! { index => true, years, year => current },
    )?
    .into_response())
}

#[derive(Serialize)]
struct HistoryLine {
    at: String,
    by: String,
    what: String,
    change: &'static str,
    before: Option<String>,
    after: String,
}

/// A history line's value, shown as the JSON stored (a synthesis as its text).
fn shown(v: &str) -> String {
    serde_json::from_str::<String>(v).unwrap_or_else(|_| v.to_string())
}

async fn render_year(
    state: &AppState,
    s: &SessionCtx,
    year: i16,
    status: StatusCode,
    synthesis_typed: Option<(String, String)>,
    saved: bool,
) -> Result<Response, WebError> {
    let p = state.store.programme(year).await?;
    let (view, _) = state.store.programme_view(year).await?;
    let history: Vec<HistoryLine> = state
        .store
        .programme_history(year)
        .await?
        .into_iter()
        .map(|c| HistoryLine {
            at: french::date_time(c.changed_at),
            by: c.changed_by,
            what: match (c.object.as_str(), c.object_id) {
                ("operation", Some(n)) => format!("Opération n° {n}"),
                ("opinion", Some(n)) => format!("Avis n° {n}"),
                _ => "Synthèse".to_string(),
            },
            change: if c.change == "create" {
                "création"
            } else {
                "modification"
            },
            before: c.before.as_deref().map(shown),
            after: shown(&c.after),
        })
        .collect();
    let pdf = state.store.programme_pdf(year).await?;
    let (synthesis, synthesis_error) = match synthesis_typed {
        Some((typed, error)) => (typed, Some(error)),
        None => (p.synthesis.clone(), None),
    };
    let html = page(
        "admin/programme.html",
        &format!("Programme de travail {year} (gestion)"),
        "admin",
        Some(s),
        context! {
            index => false,
            year,
            years => state.store.programme_years().await?,
            synthesis,
            synthesis_error,
            view => crate::view::ser(&view),
            history => crate::view::ser(&history),
            saved,
            pdf_current => pdf.as_ref().is_some_and(|x| x.revision >= p.revision),
            pdf_at => pdf.map(|x| french::date_time(x.made_at)),
            revision => p.revision,
        },
    )?;
    Ok((status, html).into_response())
}

async fn year_page(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path(year): Path<String>,
) -> Result<Response, WebError> {
    render_year(&state, &s, year_of(&year)?, StatusCode::OK, None, false).await
}

/// Asks the worker for the PDF of `year` as it now stands.
async fn queue_pdf(state: &AppState, s: &SessionCtx, year: i16) -> Result<(), WebError> {
    state
        .store
        .enqueue_job(
            &JobRequest::ProgrammePdf { year },
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await?;
    Ok(())
}

#[derive(Deserialize)]
struct SynthesisForm {
    #[serde(default)]
    synthesis: String,
}

async fn save_synthesis(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path(year): Path<String>,
    ValidForm(f): ValidForm<SynthesisForm>,
) -> Result<Response, WebError> {
    let year = year_of(&year)?;
    let text = match read_synthesis(&f.synthesis) {
        Ok(t) => t,
        Err(e) => {
            return render_year(
                &state,
                &s,
                year,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((f.synthesis, e.message)),
                false,
            )
            .await;
        }
    };
    state
        .store
        .set_programme_synthesis(
            year,
            &text,
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await?;
    queue_pdf(&state, &s, year).await?;
    Ok(Redirect::to(&format!("/admin/programme-de-travail/{year}#synthese")).into_response())
}

/// The choices a form's `<select>` offers: (stored name, French label).
fn choices<T: Copy>(
    all: &[T],
    key: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|v| (key(*v), label(*v))).collect()
}

/// The fields of an operation's form.
const OPERATION_FIELDS: &[&str] = &[
    "year",
    "kind",
    "novelty",
    "title",
    "description",
    "status",
    "status_reason",
    "campaign",
    "chain",
    "collection",
    "slug",
];
/// The fields of an opinion's form.
const OPINION_FIELDS: &[&str] = &[
    "year",
    "kind",
    "reference",
    "issued_on",
    "summary",
    "response",
    "operations",
];

/// The messages of a form's problems, by field: every field of the form has its entry (empty
/// when it has no problem), as the templates read them in strict mode.
fn by_field(
    fields: &[&'static str],
    errors: &[FieldError],
) -> std::collections::BTreeMap<&'static str, String> {
    let mut out: std::collections::BTreeMap<&'static str, String> =
        fields.iter().map(|f| (*f, String::new())).collect();
    for e in errors {
        let m = out.entry(e.field).or_default();
        if !m.is_empty() {
            m.push_str(" ; ");
        }
        m.push_str(&e.message);
    }
    out
}

async fn render_operation(
    state: &AppState,
    s: &SessionCtx,
    year: i16,
    id: Option<i64>,
    form: &OperationForm,
    errors: &[FieldError],
    refusal: Option<String>,
) -> Result<Response, WebError> {
    let status = if errors.is_empty() && refusal.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let chains: Vec<String> = state.catalog.chains.iter().map(|c| c.id.clone()).collect();
    let html = page(
        "admin/programme_operation.html",
        &match id {
            Some(n) => format!("Opération n° {n} — programme {year}"),
            None => format!("Nouvelle opération — programme {year}"),
        },
        "admin",
        Some(s),
        context! {
            year,
            id,
            form => crate::view::ser(form),
            errors => crate::view::ser(&by_field(OPERATION_FIELDS, errors)),
            count => errors.len(),
            refusal,
            kinds => choices(OperationKind::ALL, OperationKind::as_str, OperationKind::label_fr),
            novelties => choices(Novelty::ALL, Novelty::as_str, Novelty::label_fr),
            statuses => choices(OperationStatus::ALL, OperationStatus::as_str, OperationStatus::label_fr),
            collections => Collection::ALL.iter().map(|c| (c.slug(), c.label_fr())).collect::<Vec<_>>(),
            chains,
        },
    )?;
    Ok((status, html).into_response())
}

async fn new_operation(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path(year): Path<String>,
) -> Result<Response, WebError> {
    let year = year_of(&year)?;
    let form = OperationForm {
        year: year.to_string(),
        kind: OperationKind::Survey.as_str().into(),
        novelty: Novelty::New.as_str().into(),
        status: OperationStatus::Planned.as_str().into(),
        ..Default::default()
    };
    render_operation(&state, &s, year, None, &form, &[], None).await
}

async fn edit_operation(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path((year, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (year, id) = (year_of(&year)?, id_of(&id)?);
    let op = state.store.programme_operation(id).await?;
    if op.operation.year != year {
        return Err(WebError::NotFound);
    }
    render_operation(
        &state,
        &s,
        year,
        Some(id),
        &OperationForm::of(&op.operation),
        &[],
        None,
    )
    .await
}

/// A store refusal (a campaign or an operation that does not exist) as the form's message.
fn refusal_of(e: StoreError) -> Result<String, WebError> {
    match e {
        StoreError::Refused(m) => Ok(format!("Refusé : {m}. Rien n’a été enregistré.")),
        e => Err(e.into()),
    }
}

async fn save_operation(
    state: &AppState,
    s: &SessionCtx,
    year: i16,
    id: Option<i64>,
    form: OperationForm,
) -> Result<Response, WebError> {
    let op = match form.read() {
        Ok(op) => op,
        Err(errors) => return render_operation(state, s, year, id, &form, &errors, None).await,
    };
    let actor = Actor::user(&s.user.username);
    let now = Timestamp::now();
    let saved = match id {
        Some(n) => {
            state
                .store
                .update_programme_operation(n, &op, &actor, now)
                .await
        }
        None => state
            .store
            .add_programme_operation(&op, &actor, now)
            .await
            .map(|_| ()),
    };
    if let Err(e) = saved {
        let refusal = refusal_of(e)?;
        return render_operation(state, s, year, id, &form, &[], Some(refusal)).await;
    }
    queue_pdf(state, s, op.year).await?;
    if op.year != year {
        queue_pdf(state, s, year).await?;
    }
    Ok(Redirect::to(&format!(
        "/admin/programme-de-travail/{}#operations",
        op.year
    ))
    .into_response())
}

async fn add_operation(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path(year): Path<String>,
    ValidForm(form): ValidForm<OperationForm>,
) -> Result<Response, WebError> {
    save_operation(&state, &s, year_of(&year)?, None, form).await
}

async fn update_operation(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path((year, id)): Path<(String, String)>,
    ValidForm(form): ValidForm<OperationForm>,
) -> Result<Response, WebError> {
    let (year, id) = (year_of(&year)?, id_of(&id)?);
    if state.store.programme_operation(id).await?.operation.year != year {
        return Err(WebError::NotFound);
    }
    save_operation(&state, &s, year, Some(id), form).await
}

/// An operation a form offers as answering an opinion.
#[derive(Serialize)]
struct Answering {
    id: String,
    title: String,
    year: i16,
}

async fn render_opinion(
    state: &AppState,
    s: &SessionCtx,
    year: i16,
    id: Option<i64>,
    form: &OpinionForm,
    errors: &[FieldError],
    refusal: Option<String>,
) -> Result<Response, WebError> {
    let status = if errors.is_empty() && refusal.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    // The operations of the year, the year before and the year after: an opinion is answered
    // by work planned around it.
    let mut operations = Vec::new();
    for y in [year - 1, year, year + 1] {
        for o in state.store.programme(y).await?.operations {
            operations.push(Answering {
                id: o.id.to_string(),
                title: o.operation.title,
                year: y,
            });
        }
    }
    let html = page(
        "admin/programme_opinion.html",
        &match id {
            Some(n) => format!("Avis n° {n} — programme {year}"),
            None => format!("Nouvel avis du Cnis — programme {year}"),
        },
        "admin",
        Some(s),
        context! {
            year,
            id,
            form => crate::view::ser(form),
            errors => crate::view::ser(&by_field(OPINION_FIELDS, errors)),
            count => errors.len(),
            refusal,
            kinds => choices(OpinionKind::ALL, OpinionKind::as_str, OpinionKind::label_fr),
            operations => crate::view::ser(&operations),
        },
    )?;
    Ok((status, html).into_response())
}

async fn new_opinion(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path(year): Path<String>,
) -> Result<Response, WebError> {
    let year = year_of(&year)?;
    let form = OpinionForm {
        year: year.to_string(),
        kind: OpinionKind::Opportunity.as_str().into(),
        ..Default::default()
    };
    render_opinion(&state, &s, year, None, &form, &[], None).await
}

async fn edit_opinion(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path((year, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (year, id) = (year_of(&year)?, id_of(&id)?);
    let o = state.store.cnis_opinion(id).await?;
    if o.opinion.year != year {
        return Err(WebError::NotFound);
    }
    render_opinion(
        &state,
        &s,
        year,
        Some(id),
        &OpinionForm::of(&o.opinion),
        &[],
        None,
    )
    .await
}

/// An opinion's form from its fields as sent (the answering operations are repeated
/// checkboxes, which a struct cannot take from a URL-encoded body).
fn opinion_form(pairs: Vec<(String, String)>) -> OpinionForm {
    let mut f = OpinionForm::default();
    for (k, v) in pairs {
        match k.as_str() {
            "year" => f.year = v,
            "kind" => f.kind = v,
            "reference" => f.reference = v,
            "issued_on" => f.issued_on = v,
            "summary" => f.summary = v,
            "response" => f.response = v,
            "operations" => f.operations.push(v),
            _ => {}
        }
    }
    f
}

async fn save_opinion(
    state: &AppState,
    s: &SessionCtx,
    year: i16,
    id: Option<i64>,
    form: OpinionForm,
) -> Result<Response, WebError> {
    let o = match form.read() {
        Ok(o) => o,
        Err(errors) => return render_opinion(state, s, year, id, &form, &errors, None).await,
    };
    let actor = Actor::user(&s.user.username);
    let now = Timestamp::now();
    let saved = match id {
        Some(n) => state.store.update_cnis_opinion(n, &o, &actor, now).await,
        None => state
            .store
            .add_cnis_opinion(&o, &actor, now)
            .await
            .map(|_| ()),
    };
    if let Err(e) = saved {
        let refusal = refusal_of(e)?;
        return render_opinion(state, s, year, id, &form, &[], Some(refusal)).await;
    }
    queue_pdf(state, s, o.year).await?;
    if o.year != year {
        queue_pdf(state, s, year).await?;
    }
    Ok(Redirect::to(&format!("/admin/programme-de-travail/{}#avis", o.year)).into_response())
}

async fn add_opinion(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path(year): Path<String>,
    ValidForm(pairs): ValidForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    save_opinion(&state, &s, year_of(&year)?, None, opinion_form(pairs)).await
}

async fn update_opinion(
    State(state): State<AppState>,
    Require(s, ..): Require<EditProgramme>,
    Path((year, id)): Path<(String, String)>,
    ValidForm(pairs): ValidForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let (year, id) = (year_of(&year)?, id_of(&id)?);
    if state.store.cnis_opinion(id).await?.opinion.year != year {
        return Err(WebError::NotFound);
    }
    save_opinion(&state, &s, year, Some(id), opinion_form(pairs)).await
}

//! The embargo lists as the service and the Autorité de la statistique publique (ASP) read
//! them: each release's nominative list with its approval, the log of every access to the
//! embargo room, the incident register, and the transmission to the ASP (list as CSV, letter as PDF, access log),
//! prepared by the job runner — which typesets the letter — and downloaded here.

use crate::AppState;
use crate::auth::{Capability, Produce, Require, SessionCtx, page};
use crate::error::WebError;
use crate::form::ValidForm;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use justat_model::Permission;
use justat_model::digest::StoredFile;
use justat_model::embargo::{RecipientCategory, takes_list};
use justat_model::french;
use justat_model::job::{JobOutcome, JobRequest};
use justat_model::publication::Collection;
use justat_store::{Actor, JobStatus, Lake, LakeKind, NewRecipient, StoreError};
use minijinja::context;
use serde::{Deserialize, Serialize};

/// Reading the embargo lists and their access logs.
pub struct ReadEmbargoLists;
impl Capability for ReadEmbargoLists {
    const PERMISSION: Permission = Permission::ReadEmbargoLists;
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/listes-embargo", get(lists))
        .route(
            "/listes-embargo/{collection}/{slug}/transmission",
            post(prepare),
        )
        .route("/listes-embargo/destinataires", post(propose))
        .route(
            "/listes-embargo/{collection}/{slug}/approuver",
            post(approve),
        )
        .route("/listes-embargo/transmission/{job}", get(transmission))
        .route(
            "/listes-embargo/transmission/{job}/{file}",
            get(transmission_file),
        )
}

#[derive(Serialize)]
struct ListView {
    collection: &'static str,
    collection_slug: &'static str,
    slug: String,
    title: String,
    when: String,
    status: &'static str,
    proposed: bool,
    approved: Option<String>,
    exported: Option<String>,
    sent: Option<String>,
    window_hours: i64,
    /// The list's revision as shown: the approval form carries it back.
    revision: String,
    recipients: Vec<(String, String, String, &'static str, String)>,
    accesses: Vec<(String, String, String, String, String)>,
}

async fn lists(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadEmbargoLists>,
) -> Result<Response, WebError> {
    render(&state, &s, StatusCode::OK, None).await
}

/// The page, with a refusal's reason when a change was refused.
async fn render(
    state: &AppState,
    s: &SessionCtx,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let now = Timestamp::now();
    let mut views = Vec::new();
    let mut open: Vec<(String, String, String)> = Vec::new();
    for r in state.store.releases().await? {
        let Some(list) = state.store.embargo_list(r.collection, &r.slug).await? else {
            // A release still to come may get a list.
            if takes_list(r.state(), now) {
                open.push((
                    format!("{}/{}", r.collection.slug(), r.slug),
                    r.title.clone(),
                    r.collection.label_fr().to_string(),
                ));
            }
            continue;
        };
        let accesses = state
            .store
            .embargo_accesses(r.collection, &r.slug)
            .await?
            .into_iter()
            .map(|a| {
                (
                    french::date_time(a.at),
                    a.who,
                    format!("{} (version {})", a.file, a.version),
                    a.ip,
                    a.user_agent,
                )
            })
            .collect();
        if takes_list(r.state(), now) {
            open.push((
                format!("{}/{}", r.collection.slug(), r.slug),
                r.title.clone(),
                r.collection.label_fr().to_string(),
            ));
        }
        views.push(ListView {
            collection: r.collection.label_fr(),
            collection_slug: r.collection.slug(),
            slug: r.slug.clone(),
            title: r.title.clone(),
            when: r.when_fr(),
            status: list.status.label_fr(),
            proposed: list.status == justat_model::embargo::ListStatus::Proposed,
            approved: list
                .approved_by
                .clone()
                .zip(list.approved_at)
                .map(|(by, at)| format!("par {by} le {}", french::date_time(at))),
            exported: list.exported_at.map(french::date_time),
            sent: list.sent_at.map(french::date_time),
            window_hours: list.window_hours,
            revision: list.revision(),
            recipients: list
                .recipients
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        p.function.clone(),
                        p.organisation.clone(),
                        p.category.label_fr(),
                        p.justification.clone(),
                    )
                })
                .collect(),
            accesses,
        });
    }
    let incidents: Vec<(i64, String, &'static str, String, String, String)> = state
        .store
        .incidents()
        .await?
        .into_iter()
        .map(|i| {
            (
                i.id,
                format!("{} — {}", i.collection.label_fr(), i.slug),
                i.kind.label_fr(),
                format!(
                    "{} (signalé le {} par {})",
                    i.description,
                    french::date_time(i.reported_at),
                    i.reported_by
                ),
                i.review.unwrap_or_else(|| {
                    "À examiner : la prochaine parution de la collection attend cet examen".into()
                }),
                i.reviewed_at.map(french::date_time).unwrap_or_default(),
            )
        })
        .collect();
    let html = page(
        "admin/embargo_lists.html",
        "Listes d’accès anticipé",
        "admin",
        Some(s),
        context! {
            lists => crate::view::ser(&views),
            incidents,
            open,
            error,
            propose => s.user.role.allows(Permission::Produce),
            approve => s.user.role == justat_model::Role::HeadOfService,
        },
    )?;
    Ok((status, html).into_response())
}

#[derive(Deserialize)]
struct RecipientForm {
    /// `collection/slug`.
    release: String,
    recipient: String,
    function: String,
    organisation: String,
    email: String,
    justification: String,
    category: String,
}

/// Proposes a recipient (a statistician or the head of service); a refusal is said on the page.
async fn propose(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    ValidForm(f): ValidForm<RecipientForm>,
) -> Result<Response, WebError> {
    let (collection, slug) = f.release.split_once('/').ok_or(WebError::NotFound)?;
    let c: Collection = collection.parse().map_err(|_| WebError::NotFound)?;
    let Ok(category) = f.category.parse::<RecipientCategory>() else {
        return Err(WebError::BadRequest("Catégorie inconnue.".into()));
    };
    let new = NewRecipient {
        username: f.recipient.trim().to_string(),
        function: f.function,
        organisation: f.organisation,
        email: f.email,
        justification: f.justification,
        category,
    };
    let done = state
        .store
        .add_recipient(
            c,
            slug,
            &new,
            state.config.calendar.embargo_hours(c),
            s.user.role,
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await;
    answer(&state, &s, done.map(|_| ())).await
}

#[derive(Deserialize)]
struct ApproveForm {
    /// The revision of the list as the page showed it.
    revision: String,
}

/// Approves a list as the head of service read it (the revision the page showed); a list
/// changed since, or any other refusal, is said on the page and nothing is approved.
async fn approve(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path((collection, slug)): Path<(String, String)>,
    ValidForm(f): ValidForm<ApproveForm>,
) -> Result<Response, WebError> {
    let c: Collection = collection.parse().map_err(|_| WebError::NotFound)?;
    let done = state
        .store
        .approve_embargo_list(
            c,
            &slug,
            &f.revision,
            s.user.role,
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await;
    answer(&state, &s, done.map(|_| ())).await
}

async fn answer(
    state: &AppState,
    s: &SessionCtx,
    done: Result<(), StoreError>,
) -> Result<Response, WebError> {
    match done {
        Ok(()) => Ok(Redirect::to("/admin/listes-embargo").into_response()),
        Err(StoreError::Refused(m)) => {
            render(
                state,
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("Refusé : {m}. Rien n’a été modifié.")),
            )
            .await
        }
        Err(StoreError::Stale { .. }) => {
            render(
                state,
                s,
                StatusCode::CONFLICT,
                Some(
                    "La liste a changé depuis que vous l’avez affichée (un destinataire a été ajouté ou modifié). Relisez-la ci-dessous puis approuvez-la de nouveau. Rien n’a été approuvé."
                        .to_string(),
                ),
            )
            .await
        }
        Err(StoreError::NotFound { what, key }) => {
            render(
                state,
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!(
                    "Refusé : {what} « {key} » introuvable. Rien n’a été modifié."
                )),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn prepare(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadEmbargoLists>,
    Path((collection, slug)): Path<(String, String)>,
    ValidForm(_): ValidForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let c: Collection = collection.parse().map_err(|_| WebError::NotFound)?;
    if state.store.embargo_list(c, &slug).await?.is_none() {
        return Err(WebError::NotFound);
    }
    let job = state
        .store
        .enqueue_job(
            &JobRequest::AspExport {
                collection: c,
                slug: slug.clone(),
            },
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await?;
    Ok(Redirect::to(&format!("/admin/listes-embargo/transmission/{}", job.id)).into_response())
}

async fn transmission_job(state: &AppState, id: i64) -> Result<justat_store::Job, WebError> {
    match state.store.job(id).await {
        Ok(j) if matches!(j.request, Ok(JobRequest::AspExport { .. })) => Ok(j),
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(WebError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// The files a finished transmission job stored; none while it runs or when it failed.
fn transmitted_files(job: &justat_store::Job) -> &[StoredFile] {
    match &job.result {
        Some(JobOutcome::AspExport { files }) => files,
        _ => &[],
    }
}

async fn transmission(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadEmbargoLists>,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let job = transmission_job(&state, id).await?;
    let files: Vec<(String, String, u64)> = transmitted_files(&job)
        .iter()
        .map(|f| {
            (
                format!("/admin/listes-embargo/transmission/{id}/{}", f.name),
                f.name.clone(),
                f.size.div_ceil(1024),
            )
        })
        .collect();
    page(
        "admin/embargo_transmission.html",
        "Transmission à l’Autorité de la statistique publique",
        "admin",
        Some(&s),
        context! {
            id,
            pending => matches!(job.status, JobStatus::Queued | JobStatus::Running),
            error => job.error,
            release => match &job.request {
                Ok(JobRequest::AspExport { collection, slug }) => format!("{}/{slug}", collection.slug()),
                _ => String::new(),
            },
            files,
        },
    )
}

async fn transmission_file(
    State(state): State<AppState>,
    Require(_s, ..): Require<ReadEmbargoLists>,
    Path((id, file)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let job = transmission_job(&state, id).await?;
    let f = transmitted_files(&job)
        .iter()
        .find(|f| f.name == file)
        .ok_or(WebError::NotFound)?;
    let ext = file.rsplit('.').next().unwrap_or("bin");
    let sha = &f.sha256;
    let path = Lake::new(&state.config.data_dir).path(LakeKind::Transmission, sha, ext);
    let bytes = std::fs::read(&path)
        .map_err(|e| WebError::Internal(format!("cannot read {}: {e}", path.display())))?;
    Ok((
        [
            (header::CONTENT_TYPE, f.media_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

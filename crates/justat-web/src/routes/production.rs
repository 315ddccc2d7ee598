//! The production pages of the back office: deliveries (upload and reports), chains (runs and
//! manifests), cubes, and the jobs that do the long work.

use crate::AppState;
use crate::auth::{Produce, Require, SessionCtx, page};
use crate::error::WebError;
use crate::form::ValidForm;
use crate::upload::{UploadRefusal, read_delivery_form};
use crate::view::ser;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use justat_model::french;
use justat_model::job::{JobOutcome, JobRequest};
use justat_store::{Actor, JobStatus, StoreError};
use minijinja::context;
use serde::Serialize;

pub(crate) fn router(max_upload: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/livraisons",
            get(deliveries)
                .post(upload)
                .layer(DefaultBodyLimit::max(max_upload)),
        )
        .route("/livraisons/{id}", get(delivery))
        .route("/chaines", get(chains))
        .route("/chaines/{chain}/executer", post(run_chain))
        .route("/traitements/{id}", get(run))
        .route("/taches/{id}", get(job))
}

fn not_found_as_404(e: StoreError) -> WebError {
    match e {
        StoreError::NotFound { .. } => WebError::NotFound,
        other => other.into(),
    }
}

#[derive(Serialize)]
struct DeliveryRow {
    id: i64,
    source: String,
    file: String,
    status: String,
    received: String,
    read: String,
    ok: String,
    rejected: String,
}

async fn deliveries_page(
    state: &AppState,
    s: &SessionCtx,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let rows = match state.store.deliveries().await {
        Ok(d) => d,
        Err(e) => return WebError::from(e).into_response(),
    };
    let rows: Vec<DeliveryRow> = rows
        .into_iter()
        .map(|d| DeliveryRow {
            id: d.id,
            source: d.source,
            file: d.file_name,
            status: d.status.to_string(),
            received: french::date_time(d.received_at),
            read: french::integer(d.rows_read),
            ok: french::integer(d.rows_ok),
            rejected: french::integer(d.rows_rejected),
        })
        .collect();
    let ctx = context! { deliveries => ser(&rows), sources => ser(&state.catalog.sources), error };
    match page("admin/deliveries.html", "Livraisons", "admin", Some(s), ctx) {
        Ok(html) => (status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn deliveries(State(state): State<AppState>, Require(s, ..): Require<Produce>) -> Response {
    deliveries_page(&state, &s, StatusCode::OK, None).await
}

/// Receives an uploaded extract: the CSRF field comes first and is checked before the file is
/// read; the file is streamed to disk, then a job checks it.
async fn upload(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    form: Multipart,
) -> Response {
    let refused =
        |message: String| deliveries_page(&state, &s, StatusCode::BAD_REQUEST, Some(message));
    let form = match read_delivery_form(form, &s.csrf, &state.config.upload_dir).await {
        Ok(form) => form,
        Err(UploadRefusal::EmptyFile) => {
            return refused("Choisissez un fichier à déposer : le fichier reçu est vide.".into())
                .await;
        }
        Err(UploadRefusal::Error(e)) => return e.into_response(),
    };
    let Some(file) = form.file else {
        return refused("Choisissez un fichier à déposer.".into()).await;
    };
    if !state.catalog.sources.iter().any(|c| c.id == form.source) {
        crate::upload::remove(file.path).await;
        return refused(format!("La source « {} » n’existe pas.", form.source)).await;
    }
    let request = JobRequest::Delivery {
        source: form.source,
        path: file.path,
        file_name: file.name,
    };
    enqueue(&state, &s, &request).await
}

/// Queues a job and sends the user to its page.
async fn enqueue(state: &AppState, s: &SessionCtx, request: &JobRequest) -> Response {
    match state
        .store
        .enqueue_job(request, &Actor::user(&s.user.username), Timestamp::now())
        .await
    {
        Ok(job) => Redirect::to(&format!("/admin/taches/{}", job.id)).into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Serialize)]
struct ExampleRow {
    line: String,
    column: String,
    value: String,
    message: String,
}

#[derive(Serialize)]
struct RuleRow {
    rule: String,
    count: String,
    examples: Vec<ExampleRow>,
}

async fn delivery(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let d = state.store.delivery(id).await.map_err(not_found_as_404)?;
    let rules: Vec<RuleRow> = d
        .report
        .rules
        .iter()
        .map(|r| RuleRow {
            rule: r.rule.clone(),
            count: french::integer(i64::try_from(r.count).unwrap_or(i64::MAX)),
            examples: r
                .examples
                .iter()
                .map(|e| ExampleRow {
                    line: e.line.to_string(),
                    column: e.column.clone().unwrap_or_default(),
                    value: e.value.clone().unwrap_or_default(),
                    message: e.message.clone(),
                })
                .collect(),
        })
        .collect();
    let ctx = context! {
        d => context! {
            id => d.id, source => d.source, version => d.source_version, file => d.file_name, sha256 => d.sha256.to_string(),
            format => d.format, status => d.status.to_string(), received => french::date_time(d.received_at), by => d.received_by,
            read => french::integer(d.rows_read), ok => french::integer(d.rows_ok), rejected => french::integer(d.rows_rejected),
            size => french::integer(d.size_bytes), unreadable => d.report.unreadable.clone().unwrap_or_default(),
            threshold => format!("{} %", d.report.reject_threshold * 100.0),
        },
        rules => ser(&rules),
    };
    page(
        "admin/delivery.html",
        &format!("Livraison n° {id}"),
        "admin",
        Some(&s),
        ctx,
    )
}

#[derive(Serialize)]
struct RunRow {
    id: i64,
    chain: String,
    version: i64,
    status: String,
    inputs: String,
    cube: String,
    started: String,
}

#[derive(Serialize)]
struct ChainView {
    id: String,
    label: String,
    version: i64,
    source: String,
    deliveries: Vec<DeliveryChoice>,
}

#[derive(Serialize)]
struct DeliveryChoice {
    id: i64,
    label: String,
}

async fn chains(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
) -> Result<Html<String>, WebError> {
    let deliveries = state.store.deliveries().await?;
    let views: Vec<ChainView> = state
        .catalog
        .chains
        .iter()
        .map(|c| ChainView {
            id: c.id.clone(),
            label: c.label.clone(),
            version: c.version.unwrap_or(0),
            source: c.source.clone().unwrap_or_default(),
            deliveries: deliveries
                .iter()
                .filter(|d| Some(&d.source) == c.source.as_ref() && d.status.feeds_chains())
                .map(|d| DeliveryChoice {
                    id: d.id,
                    label: format!(
                        "n° {} — {} ({}, {} lignes)",
                        d.id,
                        d.file_name,
                        d.status,
                        french::integer(d.rows_ok)
                    ),
                })
                .collect(),
        })
        .collect();
    let runs: Vec<RunRow> = state
        .store
        .runs()
        .await?
        .into_iter()
        .map(|r| RunRow {
            id: r.id,
            chain: r.chain,
            version: r.chain_version,
            status: r.status.to_string(),
            inputs: r
                .inputs
                .iter()
                .map(|i| format!("n° {i}"))
                .collect::<Vec<_>>()
                .join(", "),
            cube: r.cube_id.map(|c| c.short().to_string()).unwrap_or_default(),
            started: french::date_time(r.started_at),
        })
        .collect();
    let cubes: Vec<_> = state
        .store
        .cubes()
        .await?
        .into_iter()
        .map(|c| context! { id => c.id.to_string(), short => c.id.short().to_string(), name => c.name, rows => french::integer(c.rows),
            source_line => c.schema.source_line.unwrap_or_default() })
        .collect();
    page(
        "admin/chains.html",
        "Chaînes de traitement",
        "admin",
        Some(&s),
        context! { chains => ser(&views), runs => ser(&runs), cubes },
    )
}

async fn run_chain(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path(chain): Path<String>,
    ValidForm(pairs): ValidForm<Vec<(String, String)>>,
) -> Response {
    if !state.catalog.chains.iter().any(|c| c.id == chain) {
        return WebError::NotFound.into_response();
    }
    let mut ids = Vec::new();
    for (k, v) in &pairs {
        if k == "delivery" {
            match v.parse::<i64>() {
                Ok(id) => ids.push(id),
                Err(_) => {
                    return WebError::BadRequest(format!(
                        "« {v} » n’est pas un numéro de livraison."
                    ))
                    .into_response();
                }
            }
        }
    }
    if ids.is_empty() {
        return WebError::BadRequest(
            "Cochez au moins une livraison à traiter, puis relancez.".into(),
        )
        .into_response();
    }
    let request = JobRequest::ChainRun {
        chain,
        deliveries: ids,
    };
    enqueue(&state, &s, &request).await
}

async fn run(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let r = state.store.run(id).await.map_err(not_found_as_404)?;
    let m = &r.manifest;
    let n = |v: u64| french::integer(i64::try_from(v).unwrap_or(i64::MAX));
    let steps: Vec<_> = m
        .steps
        .iter()
        .map(|st| {
            context! { index => st.index, kind => st.kind.clone(),
            name => st.name.clone().unwrap_or_default(), rows => n(st.rows_after) }
        })
        .collect();
    let rules: Vec<_> = m
        .rules
        .iter()
        .map(|ru| {
            context! { id => ru.id.clone(), severity => ru.severity.as_str(),
            message => ru.message.clone(), failed => n(ru.failed) }
        })
        .collect();
    let inputs: Vec<_> = m
        .inputs
        .iter()
        .map(|i| context! { delivery => i.delivery, sha256 => i.sha256.to_string(), rows => n(i.rows) })
        .collect();
    let peak = m
        .peak_memory_bytes
        .map(|b| format!("{} Mio", n(b / (1024 * 1024))));
    let ctx = context! {
        r => context! { id => r.id, chain => r.chain.clone(), version => r.chain_version, status => r.status.to_string(), error => r.error.clone(),
            cube => r.cube_id.as_ref().map(ToString::to_string), chain_sha256 => r.chain_sha256.to_string(), started => french::date_time(r.started_at),
            by => r.run_by.clone(), software => m.software.clone(),
            engine => m.engine.clone(), duration => n(m.duration_ms), peak,
            quarantine => m.quarantine_sha256.as_ref().map(ToString::to_string) },
        steps, rules, inputs,
    };
    page(
        "admin/run.html",
        &format!("Traitement n° {id}"),
        "admin",
        Some(&s),
        ctx,
    )
}

/// What a job does, in French, and the link to its result once it has one (the editor for a
/// publication's build).
fn job_summary(j: &justat_store::Job) -> (String, Option<(String, String)>) {
    let id = j.id;
    let what = match &j.request {
        Ok(JobRequest::Delivery { file_name, .. }) => {
            format!("Contrôle de la livraison « {file_name} »")
        }
        Ok(JobRequest::ChainRun { chain, .. }) => format!("Exécution de la chaîne « {chain} »"),
        Ok(JobRequest::Publication { .. }) => "Construction d’une publication".into(),
        _ => j.kind.clone(),
    };
    let link = if matches!(j.request, Ok(JobRequest::Publication { .. })) {
        Some((
            format!("/admin/publications/editeur/{id}"),
            "Voir le résultat dans l’éditeur".to_string(),
        ))
    } else {
        match &j.result {
            Some(JobOutcome::Delivery { delivery: d, .. }) => Some((
                format!("/admin/livraisons/{d}"),
                format!("Voir le rapport de la livraison n° {d}"),
            )),
            Some(JobOutcome::ChainRun { run, .. }) => Some((
                format!("/admin/traitements/{run}"),
                format!("Voir le manifeste du traitement n° {run}"),
            )),
            _ => None,
        }
    };
    (what, link)
}

async fn job(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let j = state.store.job(id).await.map_err(not_found_as_404)?;
    let pending = matches!(j.status, JobStatus::Queued | JobStatus::Running);
    let status = match j.status {
        JobStatus::Queued => "En attente",
        JobStatus::Running => "En cours",
        JobStatus::Done => "Terminé",
        JobStatus::Failed => "Échec",
    };
    let (what, link) = job_summary(&j);
    let ctx = context! { id, what, status, pending, progress => j.progress, error => j.error,
    href => link.as_ref().map(|l| l.0.clone()), link_label => link.map(|l| l.1) };
    page(
        "admin/job.html",
        &format!("Tâche n° {id}"),
        "admin",
        Some(&s),
        ctx,
    )
}

//! The back office of publications: every version and its state, a version's preview (drafts
//! included) with the traceability of each table and cited value, and the lifecycle actions.
//! Who may take which action is decided by `justat_model::publication::transition`, given the
//! logged-in user's role.

use crate::AppState;
use crate::auth::{Produce, Require, page};
use crate::error::WebError;
use crate::form::ValidForm;
use crate::view::ser;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use justat_model::french;
use justat_model::publication::{Action, Collection};
use justat_store::{Actor, StoreError};
use minijinja::context;
use serde::Serialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/publications", get(list))
        .route("/publications/{collection}/{slug}/{version}", get(show))
        .route(
            "/publications/{collection}/{slug}/{version}/{action}",
            post(act),
        )
}

#[derive(Serialize)]
struct Line {
    href: String,
    collection: &'static str,
    number: String,
    title: String,
    version: i64,
    state: &'static str,
    released: String,
}

async fn list(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
) -> Result<Html<String>, WebError> {
    let lines: Vec<Line> = state
        .store
        .publication_versions()
        .await?
        .into_iter()
        .map(|v| Line {
            href: format!(
                "/admin/publications/{}/{}/v{}",
                v.collection.slug(),
                v.slug,
                v.version
            ),
            collection: v.collection.label_fr(),
            number: v.collection.number_label(&v.number),
            title: v.title,
            version: v.version,
            state: v.state.label_fr(),
            released: v.released_at.map(french::date_time).unwrap_or_default(),
        })
        .collect();
    page(
        "admin/publications.html",
        "Publications",
        "admin",
        Some(&s),
        context! { lines => ser(&lines) },
    )
}

fn parse(collection: &str, version: &str) -> Result<(Collection, i64), WebError> {
    let c = collection.parse().map_err(|_| WebError::NotFound)?;
    let v = version
        .strip_prefix('v')
        .and_then(|v| v.parse().ok())
        .ok_or(WebError::NotFound)?;
    Ok((c, v))
}

/// The actions a version's page offers: (path segment, label).
const ACTIONS: [(&str, Action, &str); 4] = [
    ("soumettre", Action::Submit, "Soumettre à la validation"),
    ("renvoyer", Action::Reject, "Renvoyer en brouillon"),
    ("valider", Action::Approve, "Valider (figer le contenu)"),
    ("publier", Action::Release, "Publier maintenant"),
];

#[derive(Serialize)]
struct Offered {
    path: &'static str,
    label: String,
}

async fn show(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path((collection, slug, version)): Path<(String, String, String)>,
) -> Result<Html<String>, WebError> {
    let (c, n) = parse(&collection, &version)?;
    let v = state
        .store
        .publication_version(c, &slug, Some(n))
        .await?
        .filter(|v| v.version == n)
        .ok_or(WebError::NotFound)?;
    let release = state.store.release(c, &slug).await?;
    let offered: Vec<Offered> = ACTIONS
        .iter()
        .filter(|(_, a, _)| justat_model::publication::transition(v.state, *a, s.user.role).is_ok())
        .map(|(path, action, label)| Offered {
            path,
            label: match (&release, action) {
                // The calendar decides the instant of a release it announces.
                (Some(r), Action::Release) if !r.status.is_final() => {
                    format!("Programmer la parution ({})", r.when_fr())
                }
                _ => label.to_string(),
            },
        })
        .collect();
    let public = v.is_public(Timestamp::now());
    // Only the latest version is edited: a draft is rebuilt in place, a released one corrected.
    let latest = state.store.publication_version(c, &slug, None).await?;
    let editable = justat_model::publication::offers_edit(
        v.state,
        latest.is_some_and(|l| l.version == v.version),
    );
    page(
        "admin/publication.html",
        &v.title,
        "admin",
        Some(&s),
        context! {
            v => ser(&v),
            state => v.state.label_fr(),
            collection_label => c.label_fr(),
            number => c.number_label(&v.number),
            built => french::date_time(v.built_at),
            approved => v.approved_at.map(french::date_time),
            released => v.released_at.map(french::date_time),
            public => public,
            public_href => format!("/publications/{}/{}/v{}", c.slug(), v.slug, v.version),
            base => format!("/admin/publications/{}/{}/v{}", c.slug(), v.slug, v.version),
            offered => ser(&offered),
            edit_href => editable.then(|| format!(
                "/admin/publications/{}/{}/v{}/modifier",
                c.slug(),
                v.slug,
                v.version
            )),
            body => minijinja::Value::from_safe_string(v.html.clone()),
            tables_view => ser(&tables_view(&v.provenance)),
            citations => ser(&citations_view(&v.provenance)),
        },
    )
}

#[derive(Serialize)]
struct TableView {
    name: String,
    title: String,
    cube: String,
    chain: String,
    run: i64,
    deliveries: Vec<(i64, String, String)>,
    patterns: Vec<(String, i64)>,
}

fn tables_view(p: &justat_model::Provenance) -> Vec<TableView> {
    p.tables
        .iter()
        .map(|(name, t)| TableView {
            name: name.clone(),
            title: t.title.clone(),
            cube: t.provenance.cube.clone(),
            chain: t.provenance.chain.clone(),
            run: t.provenance.run,
            deliveries: t.provenance.deliveries.clone(),
            patterns: t.provenance.patterns.clone(),
        })
        .collect()
}

#[derive(Serialize)]
struct CitationView {
    text: String,
    table: String,
    cells: String,
}

fn citations_view(p: &justat_model::Provenance) -> Vec<CitationView> {
    p.citations
        .iter()
        .map(|(text, table, cells)| CitationView {
            text: text.clone(),
            table: table.clone(),
            cells: cells.join(" ; "),
        })
        .collect()
}

async fn act(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path((collection, slug, version, action)): Path<(String, String, String, String)>,
    // The form holds only its CSRF token, which `ValidForm` checks.
    ValidForm(_): ValidForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let (c, n) = parse(&collection, &version)?;
    let action = ACTIONS
        .iter()
        .find(|(path, _, _)| *path == action)
        .map(|(_, a, _)| *a)
        .ok_or(WebError::NotFound)?;
    let now = Timestamp::now();
    // A release the calendar announces happens at the calendar's instant; otherwise now.
    let at = match action {
        Action::Release => state.store.default_release_instant(c, &slug, now).await?,
        _ => None,
    };
    match state
        .store
        .publication_action(
            c,
            &slug,
            n,
            action,
            s.user.role,
            &Actor::user(&s.user.username),
            at,
            now,
        )
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/admin/publications/{}/{slug}/v{n}", c.slug())).into_response(),
        ),
        Err(StoreError::Lifecycle(e)) => {
            tracing::info!(error = %e, "publication action refused");
            Err(WebError::BadRequest(
                "Cette action n’est pas possible dans l’état actuel de la version, ou votre rôle ne la permet pas.".into(),
            ))
        }
        Err(StoreError::NotFound { .. }) => Err(WebError::NotFound),
        Err(e) => Err(e.into()),
    }
}

//! The public site: home, the service, the mandatory legal pages, health check, 404.

use crate::AppState;
use crate::auth::{CurrentSession, page};
use crate::error::WebError;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use serde::Serialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/le-service", get(service))
        .route("/accessibilite", get(accessibility))
        .route("/mentions-legales", get(legal_notice))
        .route("/donnees-personnelles", get(personal_data))
        .route("/healthz", get(healthz))
}

#[derive(Serialize)]
struct CollectionCard {
    title: &'static str,
    description: &'static str,
    href: String,
}

fn collections() -> Vec<CollectionCard> {
    justat_model::Collection::ALL
        .iter()
        .map(|c| CollectionCard {
            title: c.label_fr(),
            description: c.description_fr(),
            href: format!("/publications/{}", c.slug()),
        })
        .collect()
}

async fn home(CurrentSession(s): CurrentSession) -> Result<Html<String>, WebError> {
    page(
        "home.html",
        "Accueil",
        "accueil",
        s.as_ref(),
        context! { collections => crate::view::ser(&collections()) },
    )
}

async fn service(CurrentSession(s): CurrentSession) -> Result<Html<String>, WebError> {
    page(
        "service.html",
        "Le service statistique",
        "service",
        s.as_ref(),
        context! {},
    )
}

async fn accessibility(CurrentSession(s): CurrentSession) -> Result<Html<String>, WebError> {
    page(
        "accessibilite.html",
        "Déclaration d’accessibilité",
        "",
        s.as_ref(),
        context! {},
    )
}

async fn legal_notice(CurrentSession(s): CurrentSession) -> Result<Html<String>, WebError> {
    page(
        "mentions_legales.html",
        "Mentions légales",
        "",
        s.as_ref(),
        context! {},
    )
}

async fn personal_data(CurrentSession(s): CurrentSession) -> Result<Html<String>, WebError> {
    page(
        "donnees_personnelles.html",
        "Données personnelles",
        "",
        s.as_ref(),
        context! {},
    )
}

/// `200 {"status":"ok"}` when the database answers, `503` otherwise (for load balancers).
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "error", "database": "unreachable" })),
            )
                .into_response()
        }
    }
}

/// The DSFR 404 page, for every address no route answers.
pub(crate) async fn not_found(CurrentSession(s): CurrentSession) -> Response {
    let _ = s;
    WebError::NotFound.into_response()
}

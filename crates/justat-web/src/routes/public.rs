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
}

const COLLECTIONS: [CollectionCard; 4] = [
    CollectionCard {
        title: "Chiffres clés de la justice",
        description: "Chaque année, les principaux indicateurs de l’activité de la justice, en doubles pages thématiques.",
    },
    CollectionCard {
        title: "Références statistiques justice",
        description: "Des fiches thématiques numérotées d’indicateurs détaillés, avec leurs tableaux et commentaires.",
    },
    CollectionCard {
        title: "Infostat justice",
        description: "Des analyses approfondies de 4 à 8 pages sur un sujet de la justice.",
    },
    CollectionCard {
        title: "Infos rapides justice",
        description: "La diffusion rapide d’indicateurs centraux, avec de premières analyses, en 2 à 4 pages.",
    },
];

async fn home(CurrentSession(s): CurrentSession) -> Result<Html<String>, WebError> {
    page(
        "home.html",
        "Accueil",
        "accueil",
        s.as_ref(),
        context! { collections => crate::view::ser(&COLLECTIONS) },
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

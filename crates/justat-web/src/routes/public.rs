//! The public site: home (latest publications, next releases), search, the sitemap, the
//! service, the mandatory legal pages, health check, 404. What lists publications asks the
//! store for the versions public at the request's instant, as every other channel does.

use crate::AppState;
use crate::auth::{CurrentSession, page};
use crate::error::WebError;
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use justat_model::french;
use justat_render::feeds::{self, SitemapPage};
use minijinja::context;
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/recherche", get(search))
        .route("/sitemap.xml", get(sitemap))
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

/// A public publication in a short list.
#[derive(Serialize)]
struct Latest {
    href: String,
    title: String,
    collection: &'static str,
    number: String,
    released: String,
}

fn latest_of(v: &justat_store::VersionSummary) -> Latest {
    Latest {
        href: format!("/publications/{}/{}", v.collection.slug(), v.slug),
        title: v.title.clone(),
        collection: v.collection.label_fr(),
        number: v.collection.number_label(&v.number),
        released: v.released_at.map(french::date_time).unwrap_or_default(),
    }
}

async fn home(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
) -> Result<Html<String>, WebError> {
    let now = Timestamp::now();
    let latest: Vec<Latest> = state
        .store
        .public_versions(now)
        .await?
        .iter()
        .take(4)
        .map(latest_of)
        .collect();
    let upcoming: Vec<(String, String, &'static str)> = state
        .store
        .releases()
        .await?
        .into_iter()
        .filter(|r| r.state().is_upcoming(now))
        .take(4)
        .map(|r| (r.when_fr(), r.title.clone(), r.collection.label_fr()))
        .collect();
    page(
        "home.html",
        "Accueil",
        "accueil",
        s.as_ref(),
        context! {
            collections => crate::view::ser(&collections()),
            latest => crate::view::ser(&latest),
            upcoming,
        },
    )
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// Lower case without accents, for a search that finds « déten » in « Détention ».
fn folded(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c => c,
        })
        .collect()
}

/// Whether every word asked (folded) appears in a publication's title, summary, theme,
/// collection, number or period.
fn found(words: &[String], v: &justat_store::VersionSummary) -> bool {
    let text = folded(&format!(
        "{} {} {} {} {} {}",
        v.title,
        v.summary,
        v.theme,
        v.collection.label_fr(),
        v.collection.number_label(&v.number),
        v.period
    ));
    words.iter().all(|w| text.contains(w.as_str()))
}

/// Search of the public publications (title, summary, theme, collection, number, period):
/// every word asked must appear.
async fn search(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    Query(query): Query<SearchQuery>,
) -> Result<Html<String>, WebError> {
    let q = query.q.trim().chars().take(200).collect::<String>();
    let words: Vec<String> = folded(&q).split_whitespace().map(String::from).collect();
    let results: Vec<Latest> = if words.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .public_versions(Timestamp::now())
            .await?
            .iter()
            .filter(|v| found(&words, v))
            .map(latest_of)
            .collect()
    };
    page(
        "recherche.html",
        "Rechercher une publication",
        "publications",
        s.as_ref(),
        context! { q, searched => !words.is_empty(), results => crate::view::ser(&results) },
    )
}

/// The pages a search engine is told of: the public pages, each collection, the calendar, and
/// every publication public at `now` with each of its versions (a version's page before its
/// publication's latest page).
async fn sitemap_pages(state: &AppState, now: Timestamp) -> Result<Vec<SitemapPage>, WebError> {
    let page = |path: String, modified| SitemapPage { path, modified };
    let mut pages: Vec<SitemapPage> = [
        "/",
        "/publications",
        "/calendrier",
        "/le-service",
        "/accessibilite",
        "/mentions-legales",
        "/donnees-personnelles",
    ]
    .iter()
    .map(|p| page(p.to_string(), None))
    .collect();
    for c in justat_model::Collection::ALL {
        pages.push(page(format!("/publications/{}", c.slug()), None));
    }
    for p in crate::routes::programme::sitemap_paths(state).await? {
        pages.push(page(p, None));
    }
    for v in state.store.public_versions(now).await? {
        let latest = format!("/publications/{}/{}", v.collection.slug(), v.slug);
        for h in state
            .store
            .public_history(v.collection, &v.slug, now)
            .await?
        {
            pages.push(page(format!("{latest}/v{}", h.version), h.released_at));
        }
        pages.push(page(latest, v.released_at));
    }
    Ok(pages)
}

/// The sitemap of what is public at the request's instant.
async fn sitemap(State(state): State<AppState>) -> Result<Response, WebError> {
    let pages = sitemap_pages(&state, Timestamp::now()).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/xml; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        feeds::sitemap(&crate::routes::calendar::base_url(&state), &pages),
    )
        .into_response())
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

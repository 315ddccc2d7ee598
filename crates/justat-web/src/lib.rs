//! Justat's web application: the public site, the back office under `/admin`, the
//! respondent portal under `/enquetes`, sessions,
//! CSRF protection and security headers, over axum.
//!
//! Architecture invariants:
//! - this is the only crate that knows HTTP; handlers extract, call one store function and
//!   render a template;
//! - every permission check goes through [`auth::authorize`], called by the [`auth::Require`]
//!   extractor, never by templates;
//! - every state-changing request is a POST whose form goes through [`form::ValidForm`],
//!   which checks the CSRF token before the handler runs;
//! - HTML is only produced by minijinja templates with autoescaping.

pub mod assets;
pub mod auth;
pub mod cache;
pub mod error;
pub mod form;
mod routes;
pub mod security;
pub mod survey_form;
pub mod survey_review;
mod upload;
pub mod view;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use justat_model::SessionPolicy;
use justat_store::{Store, ThrottlePolicies};
use std::net::SocketAddr;
use std::sync::Arc;

pub use error::WebError;

/// Settings of the web application.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Session timeouts.
    pub session: SessionPolicy,
    /// Login throttles.
    pub throttle: ThrottlePolicies,
    /// Mark cookies `Secure` (when the site is served over TLS, directly or by a proxy).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
    /// With `trust_forwarded_for`, how many trusted proxies in a row append to
    /// `X-Forwarded-For`: the client address is the entry this many from the right.
    pub trusted_proxy_hops: usize,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest delivery uploaded through the back office, in bytes.
    pub max_upload_bytes: usize,
    /// Where uploaded deliveries wait for the job runner.
    pub upload_dir: std::path::PathBuf,
    /// The data folder, whose lake holds the publications' files.
    pub data_dir: std::path::PathBuf,
    /// The address users reach the site at (`https://…`), for the absolute links of feeds,
    /// the sitemap and the API; empty: [`DEFAULT_PUBLIC_URL`]. Never taken from a request's
    /// `Host`, which the client chooses.
    pub public_url: String,
    /// Publish the names of early-access recipients beside a released publication (their
    /// function and organisation always are).
    pub publish_embargo_names: bool,
    /// The folder of the questionnaires the respondent portal reads (`surveys/`).
    pub surveys_dir: std::path::PathBuf,
    /// The address respondents write to for a new access code (the surveys' reply address);
    /// empty: the portal sends them to their invitation letter's contact.
    pub survey_contact: String,
    /// The release calendar's rules (essential collections, standard times, embargo windows).
    pub calendar: justat_model::calendar::CalendarPolicy,
    /// How the public site's answers are kept rendered.
    pub cache: cache::CacheSettings,
}

/// The site's address when none is configured: the default bind address (`justat serve`
/// puts the address it listens on instead).
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

impl WebConfig {
    /// The site's absolute address, without a trailing `/`.
    pub fn public_url(&self) -> String {
        match self.public_url.trim_end_matches('/') {
            "" => DEFAULT_PUBLIC_URL.to_string(),
            url => url.to_string(),
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            session: SessionPolicy::default(),
            throttle: ThrottlePolicies::default(),
            secure_cookies: false,
            trust_forwarded_for: false,
            trusted_proxy_hops: 1,
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 2 << 30,
            upload_dir: std::env::temp_dir().join("justat-uploads"),
            public_url: String::new(),
            publish_embargo_names: false,
            calendar: justat_model::calendar::CalendarPolicy::default(),
            data_dir: std::path::PathBuf::from("justat-data"),
            surveys_dir: std::path::PathBuf::from("surveys"),
            survey_contact: String::new(),
            cache: cache::CacheSettings::default(),
        }
    }
}

/// A source or chain the back office offers (the binary fills this from the engine, which
/// the web application does not depend on).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CatalogEntry {
    /// Its id.
    pub id: String,
    /// Its label, in French.
    pub label: String,
    /// For a chain: the source it reads.
    pub source: Option<String>,
    /// For a chain: its version.
    pub version: Option<i64>,
}

/// The sources and chains Justat knows.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Sources.
    pub sources: Vec<CatalogEntry>,
    /// Chains.
    pub chains: Vec<CatalogEntry>,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The settings.
    pub config: Arc<WebConfig>,
    /// Sources and chains.
    pub catalog: Arc<Catalog>,
    /// The public site's answers kept rendered.
    pub cache: Arc<cache::PublicCache>,
}

impl AppState {
    /// The state of an application over `store` with these settings, its cache empty.
    pub fn new(store: Store, config: WebConfig, catalog: Catalog) -> AppState {
        AppState {
            store,
            cache: Arc::new(cache::PublicCache::new(config.cache.clone())),
            config: Arc::new(config),
            catalog: Arc::new(catalog),
        }
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(routes::public::router())
        .merge(routes::publications::router())
        .merge(routes::login::router())
        .nest(
            "/admin",
            routes::admin::router()
                .merge(routes::production::router(state.config.max_upload_bytes))
                .merge(routes::publications_admin::router())
                .merge(routes::publication_editor::router())
                .merge(routes::embargo::router())
                .merge(routes::embargo_lists::router())
                .merge(routes::calendar_admin::router())
                .merge(routes::dashboards::router())
                .merge(routes::programme_admin::router())
                .merge(routes::survey_admin::router())
                // Last, so that no handler can make a back-office answer cacheable.
                .layer(axum::middleware::from_fn(security::private)),
        )
        .merge(routes::calendar::router())
        .merge(routes::programme::router())
        .merge(routes::survey::router())
        .route("/api/v1/openapi.json", axum::routing::get(assets::openapi))
        .route("/static/justat.js", axum::routing::get(assets::justat_js))
        .route("/static/justat.css", axum::routing::get(assets::justat_css))
        .merge(assets::router())
        .fallback(routes::public::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::load_session,
        ))
        // Outside the session's lookup (a kept answer needs none) and inside the security
        // headers, which every answer gets, kept or not.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cache::public_cache,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            security::panic_page,
        ))
        .layer(axum::middleware::from_fn(security::log_request))
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // Without it, the last segment of a large answer (a PDF) waits for the client's delayed
    // acknowledgement of the one before (Nagle's algorithm): tens of milliseconds.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

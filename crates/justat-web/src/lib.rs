//! Justat's web application: the public site, the back office under `/admin`, sessions,
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
pub mod error;
pub mod form;
mod routes;
pub mod security;
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
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            session: SessionPolicy::default(),
            throttle: ThrottlePolicies::default(),
            secure_cookies: false,
            trust_forwarded_for: false,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The settings.
    pub config: Arc<WebConfig>,
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(routes::public::router())
        .merge(routes::login::router())
        .nest("/admin", routes::admin::router())
        .merge(assets::router())
        .fallback(routes::public::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::load_session,
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
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

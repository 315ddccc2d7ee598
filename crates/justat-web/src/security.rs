//! Security headers on every response, panics turned into the 500 page, one log line per
//! request.

use crate::error::error_page;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy: only this site's own files; no inline script or style, no
/// framing, forms only to this site.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

const HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

/// The `Cache-Control` of everything behind a login: no cache, shared or the browser's disk,
/// keeps it.
pub const PRIVATE: &str = "private, no-store";

/// Adds the security headers to a response that does not set them itself. The answer to a
/// request carrying a session cookie is [`PRIVATE`] whatever the handler said: it may be
/// personal (a public page shows who is logged in), and a shared cache keyed on the address
/// alone would hand it to the next visitor. The site's static files (DSFR, its own script and
/// style sheet) are the same for everyone and keep their long cache.
pub async fn headers(req: Request, next: Next) -> Response {
    let with_session = crate::auth::cookie(req.headers(), crate::auth::SESSION_COOKIE).is_some()
        && !is_static_file(req.uri().path());
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in HEADERS {
        let name = HeaderName::from_static(name);
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    if with_session {
        h.insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static(PRIVATE),
        );
    } else if !h.contains_key(axum::http::header::CACHE_CONTROL) {
        // Pages may show a user's data: never let a shared cache keep them.
        h.insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
    }
    resp
}

/// Whether `path` is one of the site's static files, identical for every visitor.
fn is_static_file(path: &str) -> bool {
    // The DSFR's files are under `/static/` too (`assets::dsfr_base`).
    path.starts_with("/static/")
}

/// Makes every response of the routes it wraps (the back office and the embargo room, under
/// `/admin`) [`PRIVATE`], overriding whatever their handler set: a file served there (an
/// embargoed CSV, a transmission to the ASP) is never cacheable, even for a request that lost
/// its session cookie on the way.
pub async fn private(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static(PRIVATE),
    );
    resp
}

/// The 500 page for a handler that panicked (used by `CatchPanicLayer`).
pub fn panic_page(_: Box<dyn std::any::Any + Send>) -> Response {
    tracing::error!("a request handler panicked");
    let mut resp = error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Erreur inattendue",
        "Désolé, le service rencontre un problème. Réessayez dans quelques instants ; si le problème persiste, signalez-le à l’équipe Justat.",
    );
    for (name, value) in HEADERS {
        resp.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}

/// One structured log line per request: method, path (never the query string, which may
/// carry personal data), status and duration.
pub async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::info!(%method, path, status = resp.status().as_u16(), ms = start.elapsed().as_millis() as u64, "request");
    resp
}

//! The State design system's files, embedded at build time and served with long-lived
//! cache headers (their URL carries the DSFR version, so a new version is a new URL).

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

include!(concat!(env!("OUT_DIR"), "/dsfr_assets.rs"));

/// The URL prefix of the embedded DSFR files.
pub fn dsfr_base() -> String {
    format!("/static/dsfr-{DSFR_VERSION}")
}

pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(&format!("{}/{{*path}}", dsfr_base()), get(dsfr_file))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("webmanifest") => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// The embedded file at `path`, if any.
pub fn dsfr_file_bytes(path: &str) -> Option<&'static [u8]> {
    DSFR_FILES
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .map(|i| DSFR_FILES[i].1)
}

async fn dsfr_file(Path(path): Path<String>) -> Response {
    match dsfr_file_bytes(&path) {
        Some(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(&path)),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response(),
    }
}

/// Justat's own script: progressive enhancement only (the pages work without it).
pub(crate) async fn justat_js() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        include_str!("../static/justat.js"),
    )
        .into_response()
}

/// The OpenAPI description of the public API (`/api/v1/…`).
pub(crate) async fn openapi() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        include_str!("../static/openapi.json"),
    )
        .into_response()
}

/// Justat's own styles for publications (figures, key figures, tables' indentation).
pub(crate) async fn justat_css() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        include_str!("../static/justat.css"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_the_pages_use_are_embedded() {
        for f in [
            "dsfr.min.css",
            "dsfr.module.min.js",
            "dsfr.nomodule.min.js",
            "utility/icons/icons.min.css",
            "favicon/favicon.svg",
            "fonts/Marianne-Regular.woff2",
        ] {
            assert!(dsfr_file_bytes(f).is_some_and(|b| !b.is_empty()), "{f}");
        }
    }

    #[test]
    fn every_url_the_stylesheet_references_is_embedded() {
        let css = std::str::from_utf8(dsfr_file_bytes("dsfr.min.css").unwrap()).unwrap();
        for part in css.split("url(").skip(1) {
            let url = part
                .split(')')
                .next()
                .unwrap()
                .trim_matches(|c| c == '"' || c == '\'');
            if url.starts_with("data:") {
                continue;
            }
            let path = url.split(['?', '#']).next().unwrap();
            assert!(
                dsfr_file_bytes(path).is_some(),
                "dsfr.min.css references {path}, not embedded"
            );
        }
    }
}

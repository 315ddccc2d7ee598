//! Security headers on every response, panics turned into the 500 page, one log line per
//! request, and the client's address behind reverse proxies.

use crate::error::error_page;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};

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

/// The client's address: the connection's peer, or, behind `trusted_hops` reverse proxies
/// (0: none), the address the outermost of them saw — the `X-Forwarded-For` entry
/// `trusted_hops` from the right. Entries further left were written by the client, who
/// chooses them freely, so they are ignored; with fewer entries than hops, the leftmost one
/// (added by a trusted proxy all the same) is taken. Several header lines count as one list,
/// in order. An entry that is not an address falls back to the peer.
pub fn client_address<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl Iterator<Item = &'a HeaderValue>,
    trusted_hops: usize,
) -> Option<IpAddr> {
    if trusted_hops == 0 {
        return peer.map(|ip| ip.to_canonical());
    }
    let values: Vec<String> = forwarded_for
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let entries: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let chosen = entries
        .len()
        .checked_sub(1)
        .map(|last| entries[last.saturating_sub(trusted_hops - 1)]);
    chosen
        .and_then(parse_forwarded_entry)
        .or(peer)
        .map(|ip| ip.to_canonical())
}

/// An address as proxies write it: `192.0.2.1`, `2001:db8::1`, or with a port
/// (`192.0.2.1:443`, `[2001:db8::1]:443`), or bracketed (`[2001:db8::1]`).
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use axum::http::HeaderValue;
    use std::net::IpAddr;

    fn addr(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn from(headers: &[&str], hops: usize) -> Option<IpAddr> {
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|h| HeaderValue::from_bytes(h.as_bytes()).unwrap())
            .collect();
        client_address(addr("10.0.0.1"), values.iter(), hops)
    }

    #[test]
    fn the_address_added_by_the_proxy_wins_over_the_clients_claim() {
        // The client wrote 198.51.100.7; the proxy appended the address it saw.
        assert_eq!(from(&["198.51.100.7, 203.0.113.9"], 1), addr("203.0.113.9"));
        assert_eq!(from(&["203.0.113.9"], 1), addr("203.0.113.9"));
        // A second header line written by the client, then the proxy's.
        assert_eq!(
            from(&["198.51.100.7", "192.0.2.1, 203.0.113.9"], 1),
            addr("203.0.113.9")
        );
    }

    #[test]
    fn with_two_proxies_the_entry_the_outer_one_added_is_taken() {
        // CDN saw the client 203.0.113.9; the inner proxy saw the CDN 192.0.2.50.
        assert_eq!(
            from(&["198.51.100.7, 203.0.113.9, 192.0.2.50"], 2),
            addr("203.0.113.9")
        );
        // The outer proxy was skipped: the only entry is the inner proxy's.
        assert_eq!(from(&["203.0.113.9"], 2), addr("203.0.113.9"));
    }

    #[test]
    fn no_usable_entry_falls_back_to_the_peer() {
        assert_eq!(from(&[], 1), addr("10.0.0.1"));
        assert_eq!(from(&[" , "], 1), addr("10.0.0.1"));
        assert_eq!(from(&["198.51.100.7, not-an-address"], 1), addr("10.0.0.1"));
        // Not trusted: the header is ignored.
        assert_eq!(from(&["203.0.113.9"], 0), addr("10.0.0.1"));
    }

    #[test]
    fn addresses_are_read_with_ports_and_brackets_and_written_canonically() {
        assert_eq!(from(&["203.0.113.9:5123"], 1), addr("203.0.113.9"));
        assert_eq!(from(&["[2001:db8::1]:443"], 1), addr("2001:db8::1"));
        assert_eq!(from(&["[2001:DB8::1]"], 1), addr("2001:db8::1"));
        // An IPv4 client seen through an IPv6 socket keeps one throttle key.
        assert_eq!(from(&["::ffff:203.0.113.9"], 1), addr("203.0.113.9"));
    }
}

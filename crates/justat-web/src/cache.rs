//! The public site's answers kept rendered: an anonymous `GET` of a public address is rendered
//! once per state of what the public sees, compressed once (gzip and brotli), then answered
//! from memory with validators (`ETag`, `Last-Modified`, 304) and cache headers a CDN can
//! follow — until the public state changes, by a write of any process (the store's public
//! generation) or by time (the next release instant), and never a request later.
//!
//! Why it cannot leak: a kept answer is what the store showed when it was rendered, and it is
//! dropped at the first instant at which the store could show more. Writes only ever make
//! something public at an instant they record, which the next rendering takes into account.

use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// The settings of the public cache.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    /// Whether public answers are kept at all (off: every request renders its page).
    pub enabled: bool,
    /// The most memory the kept answers take, compressed variants included; past it the cache
    /// starts again empty.
    pub max_bytes: usize,
    /// The largest single answer kept; a larger one is rendered every time.
    pub max_entry_bytes: usize,
    /// How long a server trusts the public generation it last read: the longest a change made
    /// by another process (the command line, the worker, another server) takes to reach the
    /// pages. Zero reads it on every request.
    pub poll: Duration,
    /// The longest a browser or a CDN may keep a page that can change (`max-age`, in
    /// seconds); less when the next release instant is nearer.
    pub shared_max_age: u32,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: true,
            max_bytes: 256 << 20,
            max_entry_bytes: 16 << 20,
            poll: Duration::ZERO,
            shared_max_age: 60,
        }
    }
}

/// The longest an answer is kept even when nothing is scheduled: a bound on the harm of a
/// time-dependent display this module does not know of.
const MAX_KEEP: SignedDuration = SignedDuration::from_mins(10);

/// The longest address (path and query) kept: longer ones are rendered every time, so that
/// made-up queries cannot fill the memory with keys.
const MAX_KEY_BYTES: usize = 1024;

/// The most addresses kept at once (with the bytes, the bound on the cache's memory).
const MAX_ENTRIES: usize = 20_000;

/// Bodies smaller than this are not worth compressing.
const MIN_COMPRESSED_BYTES: usize = 512;

/// A browser or CDN may keep the files of a released version for a year: they never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The answers kept, for one generation of the public state.
pub struct PublicCache {
    settings: CacheSettings,
    shelf: RwLock<Shelf>,
    generation: Mutex<Checked>,
    polling: AtomicBool,
    // The validators of addresses already rendered, kept across generations so that an answer
    // rendered again with the same bytes keeps its `Last-Modified` (and its ETag).
    validators: Mutex<HashMap<String, Validator>>,
}

struct Shelf {
    generation: i64,
    bytes: usize,
    slots: HashMap<String, Arc<Slot>>,
}

struct Checked {
    generation: Option<i64>,
    at: Instant,
    // This process's own public writes when the generation was read: a write since makes the
    // next request read it again at once.
    local: u64,
}

/// One address's answer for one generation, rendered by the first request that asks for it
/// while the others wait for it.
struct Slot {
    until: Timestamp,
    answer: tokio::sync::OnceCell<Option<Arc<Entry>>>,
}

#[derive(Clone, PartialEq)]
struct Validator {
    digest: String,
    modified: SystemTime,
}

/// A rendered answer with its compressed variants, and the header values every answer from
/// it sends, made once.
struct Entry {
    status: StatusCode,
    headers: HeaderMap,
    identity: Bytes,
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
    validator: Validator,
    immutable: bool,
    // The entity tags of the identity, gzip and brotli bytes, and `Last-Modified`.
    etags: [HeaderValue; 3],
    last_modified: HeaderValue,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.identity.len()
            + self.gzip.as_ref().map_or(0, Bytes::len)
            + self.brotli.as_ref().map_or(0, Bytes::len)
    }
}

impl PublicCache {
    /// An empty cache with these settings.
    pub fn new(settings: CacheSettings) -> PublicCache {
        PublicCache {
            settings,
            shelf: RwLock::new(Shelf {
                generation: i64::MIN,
                bytes: 0,
                slots: HashMap::new(),
            }),
            generation: Mutex::new(Checked {
                generation: None,
                at: Instant::now(),
                local: 0,
            }),
            polling: AtomicBool::new(false),
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The public generation, read from the store unless read less than `poll` ago and this
    /// process wrote nothing public since; while one request reads it, the others go on with
    /// the one read before (unless this process wrote since: then each reads it).
    async fn generation(&self, store: &justat_store::Store) -> Option<i64> {
        let local = store.public_writes_here();
        let (known, wrote_here) = {
            let checked = self.generation.lock().ok()?;
            let wrote_here = checked.local != local;
            if checked.generation.is_some()
                && !wrote_here
                && checked.at.elapsed() < self.settings.poll
            {
                return checked.generation;
            }
            (checked.generation, wrote_here)
        };
        let strict = self.settings.poll.is_zero() || known.is_none() || wrote_here;
        if !strict && self.polling.swap(true, Ordering::AcqRel) {
            return known;
        }
        let read = store.public_generation().await;
        if !strict {
            self.polling.store(false, Ordering::Release);
        }
        match read {
            Ok(g) => {
                if let Ok(mut checked) = self.generation.lock() {
                    checked.generation = Some(g);
                    checked.at = Instant::now();
                    checked.local = local;
                }
                Some(g)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the public generation: not caching");
                None
            }
        }
    }

    /// The slot of `key` for `generation`, still valid at `now`, if any.
    fn slot(&self, key: &str, generation: i64, now: Timestamp) -> Option<Arc<Slot>> {
        let shelf = self.shelf.read().ok()?;
        (shelf.generation == generation)
            .then(|| shelf.slots.get(key))
            .flatten()
            .filter(|s| s.until > now)
            .cloned()
    }

    /// Puts a new slot for `key` (unless another request just did), emptying the shelf first
    /// when the generation moved on. `None` when a newer generation is already shelved.
    fn new_slot(
        &self,
        key: &str,
        generation: i64,
        now: Timestamp,
        until: Timestamp,
    ) -> Option<Arc<Slot>> {
        let mut shelf = self.shelf.write().ok()?;
        if shelf.generation > generation {
            return None;
        }
        if shelf.generation < generation || shelf.slots.len() >= MAX_ENTRIES {
            shelf.generation = generation;
            shelf.slots.clear();
            shelf.bytes = 0;
        }
        if let Some(s) = shelf.slots.get(key).filter(|s| s.until > now) {
            return Some(s.clone());
        }
        let slot = Arc::new(Slot {
            until,
            answer: tokio::sync::OnceCell::new(),
        });
        shelf.slots.insert(key.to_string(), slot.clone());
        Some(slot)
    }

    /// Counts an entry's bytes; past the bound, the shelf starts again empty.
    fn account(&self, generation: i64, bytes: usize) {
        if let Ok(mut shelf) = self.shelf.write()
            && shelf.generation == generation
        {
            shelf.bytes += bytes;
            if shelf.bytes > self.settings.max_bytes {
                shelf.slots.clear();
                shelf.bytes = 0;
            }
        }
    }

    /// The validator of `key` for a body of `digest`: the one kept when the bytes are the
    /// same as last time, a new one from now otherwise.
    fn validator(&self, key: &str, digest: String) -> Validator {
        let fresh = Validator {
            digest,
            modified: SystemTime::now(),
        };
        let Ok(mut kept) = self.validators.lock() else {
            return fresh;
        };
        if let Some(v) = kept.get(key).filter(|v| v.digest == fresh.digest) {
            return v.clone();
        }
        if kept.len() >= MAX_ENTRIES {
            kept.clear();
        }
        kept.insert(key.to_string(), fresh.clone());
        fresh
    }
}

/// The middleware: answers a cacheable request from the cache, rendering it first when
/// needed; passes any other request through untouched.
pub async fn public_cache(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cache = &state.cache;
    if !cache.settings.enabled || !is_cacheable_request(req.method(), req.uri(), req.headers()) {
        return next.run(req).await;
    }
    let Some(generation) = cache.generation(&state.store).await else {
        return next.run(req).await;
    };
    let now = Timestamp::now();
    let key = req.uri().path_and_query().map_or_else(
        || req.uri().path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    let slot = match cache.slot(&key, generation, now) {
        Some(slot) => slot,
        None if req.method() == Method::HEAD => return next.run(req).await,
        None => {
            let next_instant = match state.store.next_public_instant(now).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the next release instant: not caching");
                    return next.run(req).await;
                }
            };
            match cache.new_slot(&key, generation, now, keep_until(now, next_instant)) {
                Some(slot) => slot,
                None => return next.run(req).await,
            }
        }
    };
    let method = req.method().clone();
    let conditions = Conditions::of(req.headers());
    let encoding = Encoding::accepted(req.headers());
    // The request renders the answer only if it is the first to ask; otherwise it waits for
    // the first one's, and keeps its own request for when that one could not be kept.
    let mut pending = Some((req, next));
    let mut uncached = None;
    let (pending_ref, uncached_ref) = (&mut pending, &mut uncached);
    let answer = slot
        .answer
        .get_or_init(|| async move {
            let (req, next) = pending_ref.take()?;
            let resp = next.run(req).await;
            match keep(cache, &key, resp).await {
                Ok(entry) => {
                    cache.account(generation, entry.bytes());
                    Some(Arc::new(entry))
                }
                Err(resp) => {
                    *uncached_ref = Some(resp);
                    None
                }
            }
        })
        .await;
    match (answer, uncached, pending) {
        (Some(entry), _, _) => respond(
            entry,
            &method,
            &conditions,
            encoding,
            now,
            slot.until,
            cache.settings.shared_max_age,
        ),
        (None, Some(resp), _) => resp,
        (None, None, Some((req, next))) => next.run(req).await,
        (None, None, None) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Makes a rendered answer an entry, or gives it back when it must not be kept.
async fn keep(cache: &PublicCache, key: &str, resp: Response) -> Result<Entry, Response> {
    if !is_storable(resp.status(), resp.headers()) {
        return Err(resp);
    }
    let size = http_body::Body::size_hint(resp.body());
    if size
        .upper()
        .is_none_or(|n| n > cache.settings.max_entry_bytes as u64)
    {
        return Err(resp);
    }
    let (parts, body) = resp.into_parts();
    let identity = match axum::body::to_bytes(body, cache.settings.max_entry_bytes).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "a public answer's body could not be read");
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
    };
    let compress = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_compressible)
        && identity.len() >= MIN_COMPRESSED_BYTES;
    let body = identity.clone();
    let (digest, gzip, brotli) = tokio::task::spawn_blocking(move || {
        let digest = hex::encode(&Sha256::digest(&body)[..12]);
        if !compress {
            return (digest, None, None);
        }
        let smaller = |b: Vec<u8>| (b.len() < body.len()).then(|| Bytes::from(b));
        (
            digest,
            gzipped(&body).and_then(smaller),
            brotlied(&body).and_then(smaller),
        )
    })
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
    let mut headers = parts.headers;
    let immutable = parts.status == StatusCode::OK
        && (headers
            .get(header::CACHE_CONTROL)
            .is_some_and(|v| v.as_bytes() == IMMUTABLE.as_bytes())
            || is_version_file(key));
    for name in [
        header::CACHE_CONTROL,
        header::CONTENT_LENGTH,
        header::ETAG,
        header::LAST_MODIFIED,
        header::VARY,
    ] {
        headers.remove(name);
    }
    let validator = cache.validator(key, digest);
    let value = |s: String| HeaderValue::from_str(&s).unwrap_or(HeaderValue::from_static(""));
    Ok(Entry {
        status: parts.status,
        headers,
        identity,
        gzip,
        brotli,
        etags: [None, Some("gzip"), Some("br")].map(|c| value(etag(&validator.digest, c))),
        last_modified: value(httpdate::fmt_http_date(validator.modified)),
        validator,
        immutable,
    })
}

fn gzipped(body: &[u8]) -> Option<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(body).ok()?;
    e.finish().ok()
}

fn brotlied(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 6,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok()?;
    Some(out)
}

/// The answer to one request from a kept entry.
fn respond(
    entry: &Entry,
    method: &Method,
    conditions: &Conditions,
    encoding: Encoding,
    now: Timestamp,
    until: Timestamp,
    shared_max_age: u32,
) -> Response {
    let (body, coding, etag) = match encoding {
        Encoding::Brotli if entry.brotli.is_some() => (entry.brotli.clone(), Some("br"), 2),
        Encoding::Brotli | Encoding::Gzip if entry.gzip.is_some() => {
            (entry.gzip.clone(), Some("gzip"), 1)
        }
        _ => (None, None, 0),
    };
    let body = body.unwrap_or_else(|| entry.identity.clone());
    let cache_control = if entry.immutable {
        HeaderValue::from_static(IMMUTABLE)
    } else {
        HeaderValue::from_str(&cache_control(now, until, shared_max_age))
            .unwrap_or(HeaderValue::from_static("no-cache"))
    };
    let not_modified = conditions.not_modified(&entry.validator, entry.status);
    let mut resp = if not_modified {
        Response::new(Body::empty())
    } else if *method == Method::HEAD {
        let mut r = Response::new(Body::empty());
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        r
    } else {
        Response::new(Body::from(body))
    };
    *resp.status_mut() = if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        entry.status
    };
    let h = resp.headers_mut();
    if not_modified {
        // A 304 carries only what would have changed the cached copy's metadata.
        for name in [header::CONTENT_LOCATION, header::DATE, header::EXPIRES] {
            if let Some(v) = entry.headers.get(&name) {
                h.insert(name, v.clone());
            }
        }
    } else {
        for (name, value) in &entry.headers {
            h.append(name.clone(), value.clone());
        }
        if let Some(coding) = coding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
    }
    h.insert(header::ETAG, entry.etags[etag].clone());
    h.insert(header::LAST_MODIFIED, entry.last_modified.clone());
    h.insert(header::CACHE_CONTROL, cache_control);
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    resp
}

/// Whether a request may be answered from the cache: a `GET` or `HEAD` of a public address
/// by a visitor without a session (a session's pages may be personal; the security headers
/// make them private), short enough to be a key.
pub fn is_cacheable_request(method: &Method, uri: &axum::http::Uri, headers: &HeaderMap) -> bool {
    const PRIVATE_PREFIXES: &[&str] = &["/admin", "/enquetes", "/connexion", "/deconnexion"];
    let path = uri.path();
    (method == Method::GET || method == Method::HEAD)
        && !PRIVATE_PREFIXES
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
        && path != "/healthz"
        && uri.path_and_query().map_or(0, |pq| pq.as_str().len()) <= MAX_KEY_BYTES
        && !headers.contains_key(header::AUTHORIZATION)
        && [
            crate::auth::SESSION_COOKIE,
            crate::auth::LOGIN_CSRF_COOKIE,
            crate::routes::survey::PORTAL_COOKIE,
        ]
        .iter()
        .all(|name| crate::auth::cookie(headers, name).is_none())
}

/// Whether a rendered answer may be kept: a success, a redirection or a not-found, which sets
/// no cookie and which its handler did not declare private.
pub fn is_storable(status: StatusCode, headers: &HeaderMap) -> bool {
    let status_kept = matches!(
        status.as_u16(),
        200 | 203 | 204 | 300 | 301 | 302 | 303 | 307 | 308 | 404 | 410
    );
    let private = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .map(|d| d.trim().to_ascii_lowercase())
                .any(|d| d == "private" || d == "no-store")
        });
    status_kept
        && !private
        && !headers.contains_key(header::SET_COOKIE)
        && !headers.contains_key(header::CONTENT_ENCODING)
}

/// Whether bytes of this media type shrink when compressed (text, not archives or images).
pub fn is_compressible(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media.starts_with("text/")
        || media.ends_with("+xml")
        || media.ends_with("+json")
        || matches!(
            media.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/manifest+json"
                | "image/svg+xml"
        )
}

/// Whether `key` names a file of one released version (`/publications/{c}/{slug}/v{n}/…`),
/// bytes that never change once public.
pub fn is_version_file(key: &str) -> bool {
    let path = key.split('?').next().unwrap_or(key);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    parts.first() == Some(&"publications")
        && parts.len() >= 5
        && parts[3]
            .strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.last().is_some_and(|f| f.contains('.'))
}

/// Until when an answer rendered at `now` stays right: the next release instant, the next
/// midnight in Paris (dates the pages show, such as « à venir », are Paris days), and at most
/// [`MAX_KEEP`].
pub fn keep_until(now: Timestamp, next_instant: Option<Timestamp>) -> Timestamp {
    let midnight = justat_model::french::in_paris(now)
        .tomorrow()
        .and_then(|d| d.start_of_day())
        .map(|d| d.timestamp())
        .ok();
    [Some(now + MAX_KEEP), next_instant, midnight]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now)
}

/// The `Cache-Control` of a kept answer that can change: public, for at most `shared_max_age`
/// seconds and never past `until` (a CDN must not keep a not-found past its release instant).
pub fn cache_control(now: Timestamp, until: Timestamp, shared_max_age: u32) -> String {
    let left = until.duration_since(now).as_secs().max(0);
    let age = left.min(i64::from(shared_max_age));
    if age == 0 {
        "no-cache".to_string()
    } else {
        format!("public, max-age={age}")
    }
}

/// An entity tag for a digest and a content coding (each coding is other bytes).
fn etag(digest: &str, coding: Option<&str>) -> String {
    match coding {
        Some(c) => format!("\"{digest}-{c}\""),
        None => format!("\"{digest}\""),
    }
}

/// The compression a client asked for, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `br`.
    Brotli,
    /// `gzip`.
    Gzip,
    /// None.
    Identity,
}

impl Encoding {
    /// Reads `Accept-Encoding`: brotli when accepted, else gzip, else none (`q=0` refuses a
    /// coding; `*` accepts those not named).
    pub fn accepted(headers: &HeaderMap) -> Encoding {
        let mut br = None;
        let mut gzip = None;
        let mut any = None;
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .filter_map(|q| q.trim().parse::<f32>().ok())
                    .next()
                    .unwrap_or(1.0);
                let accepted = q > 0.0;
                match coding.as_str() {
                    "br" => br = Some(accepted),
                    "gzip" | "x-gzip" => gzip = Some(accepted),
                    "*" => any = Some(accepted),
                    _ => {}
                }
            }
        }
        if br.or(any) == Some(true) {
            Encoding::Brotli
        } else if gzip.or(any) == Some(true) {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }
}

/// A request's conditions (`If-None-Match`, `If-Modified-Since`).
#[derive(Debug, Default)]
pub struct Conditions {
    if_none_match: Option<String>,
    if_modified_since: Option<SystemTime>,
}

impl Conditions {
    /// Reads them from the request's headers.
    pub fn of(headers: &HeaderMap) -> Conditions {
        Conditions {
            if_none_match: headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            if_modified_since: headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok()),
        }
    }

    /// Whether the client's copy is current (RFC 9110 §13.2.2: `If-None-Match` first, and
    /// `If-Modified-Since` only without it); only successes are revalidated.
    fn not_modified(&self, v: &Validator, status: StatusCode) -> bool {
        if status != StatusCode::OK {
            return false;
        }
        if let Some(tags) = &self.if_none_match {
            return tags.split(',').map(str::trim).any(|tag| {
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                tag == "*"
                    || [None, Some("br"), Some("gzip")]
                        .into_iter()
                        .any(|c| tag == etag(&v.digest, c))
            });
        }
        // HTTP dates have whole seconds.
        let modified = v
            .modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.if_modified_since.is_some_and(|since| {
            since
                .duration_since(SystemTime::UNIX_EPOCH)
                .is_ok_and(|s| modified <= s.as_secs())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderName;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn cacheable(method: Method, uri: &str, pairs: &[(&str, &str)]) -> bool {
        is_cacheable_request(&method, &uri.parse().unwrap(), &headers(pairs))
    }

    #[test]
    fn only_anonymous_reads_of_public_addresses_are_cached() {
        assert!(cacheable(Method::GET, "/", &[]));
        assert!(cacheable(Method::HEAD, "/calendrier", &[]));
        assert!(cacheable(Method::GET, "/recherche?q=peines", &[]));
        assert!(cacheable(Method::GET, "/", &[("cookie", "theme=dark")]));
        assert!(!cacheable(Method::POST, "/", &[]));
        assert!(!cacheable(Method::GET, "/admin", &[]));
        assert!(!cacheable(Method::GET, "/admin/publications", &[]));
        assert!(!cacheable(Method::GET, "/enquetes/bav-2025", &[]));
        assert!(!cacheable(Method::GET, "/connexion", &[]));
        assert!(!cacheable(Method::GET, "/healthz", &[]));
        assert!(!cacheable(
            Method::GET,
            "/",
            &[("cookie", "justat_session=abc")]
        ));
        assert!(!cacheable(
            Method::GET,
            "/",
            &[("cookie", "a=1; justat_enquete=xyz")]
        ));
        assert!(!cacheable(
            Method::GET,
            "/",
            &[("authorization", "Basic x")]
        ));
        let long = format!("/recherche?q={}", "a".repeat(MAX_KEY_BYTES));
        assert!(!cacheable(Method::GET, &long, &[]));
        // A prefix is a whole segment: `/administration` is not the back office.
        assert!(cacheable(Method::GET, "/administrations-x", &[]));
    }

    #[test]
    fn answers_that_set_cookies_or_are_private_or_errors_are_not_kept() {
        assert!(is_storable(StatusCode::OK, &headers(&[])));
        assert!(is_storable(StatusCode::NOT_FOUND, &headers(&[])));
        assert!(is_storable(StatusCode::SEE_OTHER, &headers(&[])));
        assert!(!is_storable(
            StatusCode::INTERNAL_SERVER_ERROR,
            &headers(&[])
        ));
        assert!(!is_storable(StatusCode::TOO_MANY_REQUESTS, &headers(&[])));
        assert!(!is_storable(
            StatusCode::OK,
            &headers(&[("set-cookie", "a=b")])
        ));
        assert!(!is_storable(
            StatusCode::OK,
            &headers(&[("cache-control", "private, no-store")])
        ));
        assert!(!is_storable(
            StatusCode::OK,
            &headers(&[("cache-control", "No-Store")])
        ));
        assert!(is_storable(
            StatusCode::OK,
            &headers(&[("cache-control", "no-cache")])
        ));
        assert!(!is_storable(
            StatusCode::OK,
            &headers(&[("content-encoding", "gzip")])
        ));
    }

    #[test]
    fn the_client_gets_the_best_coding_it_accepts() {
        let enc = |v: &str| Encoding::accepted(&headers(&[("accept-encoding", v)]));
        assert_eq!(Encoding::accepted(&HeaderMap::new()), Encoding::Identity);
        assert_eq!(enc("gzip, deflate, br"), Encoding::Brotli);
        assert_eq!(enc("gzip"), Encoding::Gzip);
        assert_eq!(enc("br;q=0, gzip;q=0.5"), Encoding::Gzip);
        assert_eq!(enc("br;q=0, gzip;q=0"), Encoding::Identity);
        assert_eq!(enc("*"), Encoding::Brotli);
        assert_eq!(enc("*;q=0"), Encoding::Identity);
        assert_eq!(enc("identity"), Encoding::Identity);
        assert_eq!(enc("BR"), Encoding::Brotli);
    }

    #[test]
    fn text_is_compressed_and_archives_are_not() {
        assert!(is_compressible("text/html; charset=utf-8"));
        assert!(is_compressible("text/csv"));
        assert!(is_compressible("application/json"));
        assert!(is_compressible("application/atom+xml"));
        assert!(is_compressible("image/svg+xml"));
        assert!(!is_compressible("application/zip"));
        assert!(!is_compressible("application/pdf"));
        assert!(!is_compressible(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ));
        assert!(!is_compressible("font/woff2"));
    }

    #[test]
    fn only_a_released_versions_files_are_immutable() {
        assert!(is_version_file(
            "/publications/infostat/peines-2024/v2/donnees/tableau-1.csv"
        ));
        assert!(is_version_file(
            "/publications/infostat/peines-2024/v1/peines-2024.pdf"
        ));
        assert!(!is_version_file("/publications/infostat/peines-2024/v2"));
        assert!(!is_version_file(
            "/publications/infostat/peines-2024/donnees/tableau-1.csv"
        ));
        assert!(!is_version_file(
            "/publications/infostat/peines-2024/vx/a.csv"
        ));
        assert!(!is_version_file("/static/v1/dsfr.css"));
    }

    #[test]
    fn an_answer_is_kept_until_the_next_instant_midnight_or_ten_minutes() {
        let now: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        assert_eq!(keep_until(now, None), now + MAX_KEEP);
        let soon: Timestamp = "2026-12-07T10:00:30Z".parse().unwrap();
        assert_eq!(keep_until(now, Some(soon)), soon);
        // 22:58 UTC is 23:58 in Paris in December: midnight comes first.
        let late: Timestamp = "2026-12-07T22:58:00Z".parse().unwrap();
        assert_eq!(
            keep_until(late, None),
            "2026-12-07T23:00:00Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn a_cdn_never_keeps_a_page_past_the_next_instant() {
        let now: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        let at = |s: i64| now + SignedDuration::from_secs(s);
        assert_eq!(cache_control(now, at(3600), 60), "public, max-age=60");
        assert_eq!(cache_control(now, at(12), 60), "public, max-age=12");
        // Less than a second left: whole seconds would round past the instant.
        assert_eq!(
            cache_control(now, now + SignedDuration::from_millis(900), 60),
            "no-cache"
        );
        assert_eq!(cache_control(now, now, 60), "no-cache");
    }

    #[test]
    fn a_current_copy_is_answered_304_by_tag_or_date() {
        let v = Validator {
            digest: "abc".into(),
            modified: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        };
        let c = |pairs: &[(&str, &str)]| Conditions::of(&headers(pairs));
        let ok = StatusCode::OK;
        assert!(c(&[("if-none-match", "\"abc\"")]).not_modified(&v, ok));
        assert!(c(&[("if-none-match", "\"x\", \"abc-br\"")]).not_modified(&v, ok));
        assert!(c(&[("if-none-match", "W/\"abc-gzip\"")]).not_modified(&v, ok));
        assert!(c(&[("if-none-match", "*")]).not_modified(&v, ok));
        assert!(!c(&[("if-none-match", "\"abd\"")]).not_modified(&v, ok));
        assert!(!c(&[]).not_modified(&v, ok));
        let date = httpdate::fmt_http_date(v.modified);
        assert!(c(&[("if-modified-since", &date)]).not_modified(&v, ok));
        let before = httpdate::fmt_http_date(v.modified - Duration::from_secs(1));
        assert!(!c(&[("if-modified-since", &before)]).not_modified(&v, ok));
        // A tag that does not match wins over a date that would.
        assert!(
            !c(&[("if-none-match", "\"x\""), ("if-modified-since", &date)]).not_modified(&v, ok)
        );
        // A not-found is never answered 304.
        assert!(!c(&[("if-none-match", "\"abc\"")]).not_modified(&v, StatusCode::NOT_FOUND));
    }
}

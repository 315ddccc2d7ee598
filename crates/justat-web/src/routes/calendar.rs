//! The public release calendar: its page, its iCalendar and Atom feeds and its JSON API. A
//! release whose instant has come is shown as out on every channel as soon as its publication
//! is public (`PublicationVersion::is_public`, asked at the request's instant), without waiting
//! for the scheduler to record it.

use crate::AppState;
use crate::auth::{CurrentSession, page};
use crate::error::WebError;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use jiff::civil::Date;
use justat_model::calendar::{ReleaseStatus, Schedule, paris_instant};
use justat_model::french;
use justat_model::publication::Collection;
use justat_render::feeds::{FeedItem, atom, icalendar};
use justat_store::{Release, ReleaseChange};
use minijinja::context;
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/calendrier", get(calendar_page))
        .route("/calendrier.ics", get(ics_all))
        .route("/calendrier.atom", get(atom_feed))
        .route("/calendrier/{file}", get(ics_collection))
        .route("/api/v1/calendrier", get(api))
}

/// A release as every channel shows it at one instant.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Shown {
    uid: String,
    collection: Collection,
    collection_label: &'static str,
    slug: String,
    title: String,
    status: ReleaseStatus,
    status_label: &'static str,
    month: Option<String>,
    release_at: Option<String>,
    release_at_paris: Option<String>,
    when: String,
    sequence: i64,
    notice: Option<String>,
    url: String,
    publication_url: Option<String>,
    history: Vec<ShownChange>,
    anchor: String,
    #[serde(skip)]
    schedule: Schedule,
    #[serde(skip)]
    updated: Timestamp,
}

/// A line of a release's public history: what changed, why, when, and the role of who
/// changed it — never their account.
#[derive(Debug, Clone, Serialize)]
struct ShownChange {
    previous: String,
    new: String,
    reason: String,
    /// The role, in French (« Chef·fe de service »).
    by: String,
    at: String,
    at_fr: String,
}

/// Who changed a release, as the public may read it: the role the change was made in, or
/// Justat itself for the scheduler's publication at the instant.
fn public_author(h: &ReleaseChange) -> String {
    if h.changed_by == justat_store::Actor::system().as_str() {
        return "Justat (publication à l’instant prévu)".to_string();
    }
    h.changed_role
        .map_or("Service statistique ministériel de la Justice", |r| {
            r.label_fr()
        })
        .to_string()
}

/// The absolute address of the site, for what must name it in full (feeds, the sitemap, the
/// API): the configured `public_url` — never the request's `Host`, which the client chooses
/// and a shared cache would then hand to everyone.
pub(crate) fn base_url(state: &AppState) -> String {
    state.config.public_url()
}

fn anchor_of(r: &Release) -> String {
    format!("parution-{}-{}", r.collection.slug(), r.slug)
}

/// Every release as shown at `now`: a confirmed release whose instant has come and whose
/// publication is public is out, whatever the scheduler has recorded yet.
pub(crate) async fn shown_releases(
    state: &AppState,
    base: &str,
    now: Timestamp,
) -> Result<Vec<Shown>, WebError> {
    let mut out = Vec::new();
    for r in state.store.releases().await? {
        let public = state
            .store
            .public_version(r.collection, &r.slug, now)
            .await?
            .is_some();
        let status = r.state().shown_status(now, public);
        let paris = r.release_at.map(|t| {
            french::in_paris(t)
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        });
        let anchor = anchor_of(&r);
        out.push(Shown {
            uid: r.uid.clone(),
            collection: r.collection,
            collection_label: r.collection.label_fr(),
            slug: r.slug.clone(),
            title: r.title.clone(),
            status,
            status_label: status.label_fr(),
            month: r.month.clone(),
            release_at: r.release_at.map(|t| t.to_string()),
            release_at_paris: paris,
            when: r.when_fr(),
            sequence: r.sequence,
            notice: r.notice.clone(),
            url: format!("{base}/calendrier#{anchor}"),
            publication_url: (status == ReleaseStatus::Published && public)
                .then(|| format!("{base}/publications/{}/{}", r.collection.slug(), r.slug)),
            history: r
                .history
                .iter()
                .map(|h| ShownChange {
                    previous: h.previous.clone(),
                    new: h.new.clone(),
                    reason: h.reason.clone(),
                    by: public_author(h),
                    at: h.changed_at.to_string(),
                    at_fr: french::date_time(h.changed_at),
                })
                .collect(),
            anchor,
            schedule: r.state().schedule,
            updated: r.updated_at,
        });
    }
    Ok(out)
}

fn feed_item(s: &Shown) -> FeedItem {
    FeedItem {
        uid: s.uid.clone(),
        title: s.title.clone(),
        collection: s.collection,
        status: s.status,
        schedule: s.schedule,
        sequence: s.sequence,
        updated: s.updated,
        last_change: s
            .history
            .iter()
            .skip(1)
            .last()
            .map(|h| format!("{} → {} : {}", h.previous, h.new, h.reason)),
        notice: s.notice.clone(),
        url: s.publication_url.clone().unwrap_or_else(|| s.url.clone()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct PageFilters {
    #[serde(default)]
    collection: String,
}

#[derive(Serialize)]
struct Section {
    id: &'static str,
    title: &'static str,
    releases: Vec<Shown>,
}

async fn calendar_page(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Query(f): Query<PageFilters>,
) -> Result<Html<String>, WebError> {
    let chosen: Option<Collection> = if f.collection.is_empty() {
        None
    } else {
        Some(f.collection.parse().map_err(|_| {
            WebError::BadRequest(format!("La collection « {} » n’existe pas.", f.collection))
        })?)
    };
    let now = Timestamp::now();
    let base = base_url(&state);
    let all: Vec<Shown> = shown_releases(&state, &base, now)
        .await?
        .into_iter()
        .filter(|s| chosen.is_none_or(|c| c == s.collection))
        .collect();
    let of = |st: &[ReleaseStatus]| -> Vec<Shown> {
        all.iter()
            .filter(|s| st.contains(&s.status))
            .cloned()
            .collect()
    };
    let mut past = of(&[ReleaseStatus::Published]);
    past.reverse();
    let sections = vec![
        Section {
            id: "a-venir",
            title: "Parutions à venir",
            releases: of(&[ReleaseStatus::Confirmed, ReleaseStatus::Provisional]),
        },
        Section {
            id: "parues",
            title: "Parutions passées",
            releases: past,
        },
        Section {
            id: "annulees",
            title: "Parutions annulées",
            releases: of(&[ReleaseStatus::Cancelled]),
        },
    ];
    let collections: Vec<(&str, &str, bool)> = Collection::ALL
        .iter()
        .map(|c| (c.slug(), c.label_fr(), chosen == Some(*c)))
        .collect();
    let ics = match chosen {
        Some(c) => format!("/calendrier/{}.ics", c.slug()),
        None => "/calendrier.ics".to_string(),
    };
    page(
        "calendrier.html",
        "Calendrier des parutions",
        "calendrier",
        session.as_ref(),
        context! {
            sections => crate::view::ser(&sections),
            collections,
            ics,
            chosen => chosen.map(|c| c.label_fr()),
        },
    )
}

fn ics_response(body: String, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        body,
    )
        .into_response()
}

async fn ics_all(State(state): State<AppState>) -> Result<Response, WebError> {
    let base = base_url(&state);
    let items: Vec<FeedItem> = shown_releases(&state, &base, Timestamp::now())
        .await?
        .iter()
        .map(feed_item)
        .collect();
    Ok(ics_response(
        icalendar("Calendrier des parutions du SSER (Justice)", &items),
        "calendrier.ics",
    ))
}

async fn ics_collection(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let c: Collection = file
        .strip_suffix(".ics")
        .and_then(|s| s.parse().ok())
        .ok_or(WebError::NotFound)?;
    let base = base_url(&state);
    let items: Vec<FeedItem> = shown_releases(&state, &base, Timestamp::now())
        .await?
        .iter()
        .filter(|s| s.collection == c)
        .map(feed_item)
        .collect();
    Ok(ics_response(
        icalendar(
            &format!("Calendrier des parutions — {}", c.label_fr()),
            &items,
        ),
        &file,
    ))
}

async fn atom_feed(State(state): State<AppState>) -> Result<Response, WebError> {
    let base = base_url(&state);
    // Published and cancelled releases, and those changed since their announcement.
    let items: Vec<FeedItem> = shown_releases(&state, &base, Timestamp::now())
        .await?
        .iter()
        .filter(|s| {
            matches!(
                s.status,
                ReleaseStatus::Published | ReleaseStatus::Cancelled
            ) || s.history.len() > 1
        })
        .map(feed_item)
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        atom(
            "Parutions du service statistique de la Justice",
            &format!("{base}/calendrier.atom"),
            &format!("{base}/calendrier"),
            &items,
        ),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
struct ApiFilters {
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
    collection: Option<String>,
}

fn api_error(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

/// A Paris day's first instant, from `AAAA-MM-JJ`.
fn day_start(param: &str, value: &str) -> Result<Timestamp, String> {
    let day: Date = value
        .parse()
        .map_err(|_| format!("{param}: `{value}` is not a date written YYYY-MM-DD"))?;
    paris_instant(day, 0, 0).map_err(|e| format!("{param}: {e}"))
}

async fn api(
    State(state): State<AppState>,
    Query(f): Query<ApiFilters>,
) -> Result<Response, WebError> {
    let from = match f.from.as_deref().filter(|s| !s.is_empty()) {
        Some(v) => match day_start("from", v) {
            Ok(t) => Some(t),
            Err(e) => return Ok(api_error(e)),
        },
        None => None,
    };
    // Up to the end of the `to` day: before the next day's first instant.
    let to = match f.to.as_deref().filter(|s| !s.is_empty()) {
        Some(v) => match v
            .parse::<Date>()
            .ok()
            .and_then(|d| d.tomorrow().ok())
            .ok_or_else(|| format!("to: `{v}` is not a date written YYYY-MM-DD"))
            .and_then(|d| paris_instant(d, 0, 0).map_err(|e| format!("to: {e}")))
        {
            Ok(t) => Some(t),
            Err(e) => return Ok(api_error(e)),
        },
        None => None,
    };
    let status = match f.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => match s.parse::<ReleaseStatus>() {
            Ok(st) => Some(st),
            Err(e) => return Ok(api_error(format!("status: {e}"))),
        },
        None => None,
    };
    let collection = match f.collection.as_deref().filter(|s| !s.is_empty()) {
        Some(c) => match c.parse::<Collection>() {
            Ok(c) => Some(c),
            Err(e) => return Ok(api_error(format!("collection: {e}"))),
        },
        None => None,
    };
    let base = base_url(&state);
    let releases: Vec<Shown> = shown_releases(&state, &base, Timestamp::now())
        .await?
        .into_iter()
        .filter(|s| {
            let at = s.schedule.earliest();
            from.is_none_or(|t| at >= t)
                && to.is_none_or(|t| at < t)
                && status.is_none_or(|st| st == s.status)
                && collection.is_none_or(|c| c == s.collection)
        })
        .collect();
    Ok((
        [(header::CACHE_CONTROL, "no-cache")],
        Json(serde_json::json!({ "releases": releases })),
    )
        .into_response())
}

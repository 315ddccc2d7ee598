//! The public publications: lists, pages of a version, and its data files. Every handler
//! asks the one visibility predicate (`PublicationVersion::is_public`) at the request's instant:
//! what is not released yet answers exactly as what does not exist.

use crate::AppState;
use crate::auth::{CurrentSession, page};
use crate::error::WebError;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use justat_model::french;
use justat_model::publication::Collection;
use justat_store::{Lake, LakeKind, PublicationVersion, Release, VersionSummary};
use minijinja::context;
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/publications", get(list_all))
        .route("/publications/{collection}", get(list_collection))
        .route("/publications/{collection}/{slug}", get(latest_page))
        .route(
            "/publications/{collection}/{slug}/{part}",
            get(version_or_zip),
        )
        .route(
            "/publications/{collection}/{slug}/donnees/{file}",
            get(latest_file),
        )
        .route(
            "/publications/{collection}/{slug}/{version}/donnees/{file}",
            get(version_file),
        )
        .route(
            "/publications/{collection}/{slug}/{version}/{file}",
            get(version_zip),
        )
}

/// The filters of the list of publications.
#[derive(Debug, Default, Deserialize)]
struct Filters {
    #[serde(default)]
    collection: String,
    #[serde(default)]
    annee: String,
    #[serde(default)]
    theme: String,
}

/// A publication in a list, as the page shows it.
#[derive(Serialize)]
struct Card {
    href: String,
    title: String,
    summary: String,
    collection: &'static str,
    number: String,
    theme: String,
    released: String,
    year: String,
}

fn card(v: &VersionSummary) -> Card {
    Card {
        href: format!("/publications/{}/{}", v.collection.slug(), v.slug),
        title: v.title.clone(),
        summary: v.summary.clone(),
        collection: v.collection.label_fr(),
        number: v.collection.number_label(&v.number),
        theme: v.theme.clone(),
        released: v.released_at.map(french::date).unwrap_or_default(),
        year: v.released_at.map(year_of).unwrap_or_default(),
    }
}

fn year_of(t: Timestamp) -> String {
    french::date(t)
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

async fn render_list(
    state: &AppState,
    session: Option<&crate::auth::SessionCtx>,
    only: Option<Collection>,
    filters: Filters,
) -> Result<Html<String>, WebError> {
    let now = Timestamp::now();
    let all = state.store.public_versions(now).await?;
    let collection = match only {
        Some(c) => Some(c),
        None if filters.collection.is_empty() => None,
        None => Some(
            filters
                .collection
                .parse::<Collection>()
                .map_err(|_| WebError::BadRequest("cette collection n’existe pas".into()))?,
        ),
    };
    let cards: Vec<Card> = all.iter().map(card).collect();
    let mut years: Vec<String> = cards.iter().map(|c| c.year.clone()).collect();
    years.sort();
    years.dedup();
    years.reverse();
    let mut themes: Vec<String> = cards.iter().map(|c| c.theme.clone()).collect();
    themes.sort();
    themes.dedup();
    let shown: Vec<&Card> = all
        .iter()
        .zip(&cards)
        .filter(|(v, c)| {
            collection.is_none_or(|k| v.collection == k)
                && (filters.annee.is_empty() || c.year == filters.annee)
                && (filters.theme.is_empty() || c.theme == filters.theme)
        })
        .map(|(_, c)| c)
        .collect();
    let choices = |values: &[String], current: &str| -> Vec<Choice> {
        values
            .iter()
            .map(|v| Choice {
                value: v.clone(),
                label: v.clone(),
                selected: v == current,
            })
            .collect()
    };
    let collections: Vec<Choice> = Collection::ALL
        .iter()
        .map(|c| Choice {
            value: c.slug().into(),
            label: c.label_fr().into(),
            selected: Some(*c) == collection,
        })
        .collect();
    let title = collection.map_or("Publications", |c| c.label_fr());
    page(
        "publications.html",
        title,
        "publications",
        session,
        context! {
            heading => title,
            description => collection.map(|c| c.description_fr()),
            in_collection => only.map(|c| c.slug()),
            cards => crate::view::ser(&shown),
            count => shown.len(),
            collections => crate::view::ser(&collections),
            years => crate::view::ser(&choices(&years, &filters.annee)),
            themes => crate::view::ser(&choices(&themes, &filters.theme)),
        },
    )
}

async fn list_all(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    Query(filters): Query<Filters>,
) -> Result<Html<String>, WebError> {
    render_list(&state, s.as_ref(), None, filters).await
}

async fn list_collection(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    Path(collection): Path<String>,
    Query(filters): Query<Filters>,
) -> Result<Html<String>, WebError> {
    let c = collection.parse().map_err(|_| WebError::NotFound)?;
    render_list(&state, s.as_ref(), Some(c), filters).await
}

fn collection_of(s: &str) -> Result<Collection, WebError> {
    s.parse().map_err(|_| WebError::NotFound)
}

/// `v3` → 3.
fn version_number(part: &str) -> Option<i64> {
    part.strip_prefix('v')?.parse().ok().filter(|v| *v >= 1)
}

/// The version the public may read: the latest one, or the one asked.
async fn public(
    state: &AppState,
    collection: &str,
    slug: &str,
    version: Option<i64>,
) -> Result<PublicationVersion, WebError> {
    let c = collection_of(collection)?;
    let now = Timestamp::now();
    let v = match version {
        None => state.store.public_version(c, slug, now).await?,
        Some(n) => state
            .store
            .publication_version(c, slug, Some(n))
            .await?
            .filter(|v| v.version == n),
    };
    v.filter(|v| v.is_public(now)).ok_or(WebError::NotFound)
}

#[derive(Serialize)]
struct HistoryLine {
    href: String,
    label: String,
    current: bool,
}

async fn render_version(
    state: &AppState,
    session: Option<&crate::auth::SessionCtx>,
    v: PublicationVersion,
    latest: bool,
) -> Result<Html<String>, WebError> {
    let now = Timestamp::now();
    let base = format!("/publications/{}/{}", v.collection.slug(), v.slug);
    let history: Vec<HistoryLine> = state
        .store
        .public_history(v.collection, &v.slug, now)
        .await?
        .into_iter()
        .map(|h| HistoryLine {
            href: format!("{base}/v{}", h.version),
            label: format!(
                "Version {}{}",
                h.version,
                h.released_at
                    .map(|t| format!(", parue le {}", french::date_time(t)))
                    .unwrap_or_default()
            ),
            current: h.version == v.version,
        })
        .collect();
    let newest = history.first().is_some_and(|h| h.current);
    let pdf_size = v
        .file(justat_render::PDF_NAME)
        .map(|f| f.size.div_ceil(1024).to_string());
    let zip = v
        .file(justat_render::ZIP_NAME)
        .map(|f| (f.size.div_ceil(1024)).to_string());
    let sources = sources_block(&v);
    let (calendar_history, next_release) = calendar_block(&state.store.releases().await?, &v, now);
    let early_access = early_access(state, &v).await?;
    let template = format!("publication_{}.html", v.collection.slug().replace('-', "_"));
    page(
        &template,
        &v.title,
        "publications",
        session,
        context! {
            v => crate::view::ser(&v),
            body => minijinja::Value::from_safe_string(v.html.clone()),
            collection_label => v.collection.label_fr(),
            collection_slug => v.collection.slug(),
            number => v.collection.number_label(&v.number),
            released => v.released_at.map(french::date_time),
            authors => v.authors.join(", "),
            history => crate::view::ser(&history),
            newest => newest,
            latest_href => base.clone(),
            zip_href => format!("{base}/v{}/{}", v.version, justat_render::ZIP_NAME),
            zip_size => zip,
            pdf_href => format!("{base}/v{}/{}", v.version, justat_render::pdf_public_name(&v.slug)),
            pdf_size => pdf_size,
            sources => crate::view::ser(&sources),
            calendar_history,
            next_release,
            early_access,
            canonical => if latest { base.clone() } else { format!("{base}/v{}", v.version) },
        },
    )
}

/// The calendar's part of a version's page: its release's history of dates, and the next
/// release of its collection still to come at `now`.
fn calendar_block(
    releases: &[Release],
    v: &PublicationVersion,
    now: Timestamp,
) -> (Vec<String>, Option<minijinja::Value>) {
    let calendar_history: Vec<String> = releases
        .iter()
        .find(|r| r.collection == v.collection && r.slug == v.slug)
        .map(|r| {
            r.history
                .iter()
                .map(|h| {
                    format!(
                        "le {} : {}{} ({})",
                        french::date_time(h.changed_at),
                        if h.previous.is_empty() {
                            String::new()
                        } else {
                            format!("{} → ", h.previous)
                        },
                        h.new,
                        h.reason
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let next_release = releases
        .iter()
        .filter(|r| r.collection == v.collection && r.state().is_upcoming(now))
        .min_by_key(|r| r.state().schedule.earliest())
        .map(|r| {
            context! {
                when => r.when_fr(),
                title => r.title.clone(),
                href => format!("/calendrier#parution-{}-{}", r.collection.slug(), r.slug),
            }
        });
    (calendar_history, next_release)
}

/// Who had early access to a version, published with the release once its list is approved:
/// function and organisation, and names if the service publishes them.
async fn early_access(state: &AppState, v: &PublicationVersion) -> Result<Vec<String>, WebError> {
    Ok(
        match state.store.embargo_list(v.collection, &v.slug).await? {
            Some(list) if list.status == justat_model::embargo::ListStatus::Approved => list
                .recipients
                .iter()
                .map(|r| {
                    let who = format!("{}, {}", r.function, r.organisation);
                    if state.config.publish_embargo_names {
                        format!("{} ({who})", r.name)
                    } else {
                        who
                    }
                })
                .collect(),
            _ => Vec::new(),
        },
    )
}

/// The public "Sources et méthodes" of a version: for each table, its source line, scope,
/// chain and the fingerprints of the cube and deliveries it comes from.
#[derive(Serialize)]
struct SourceLine {
    title: String,
    source: String,
    champ: String,
    chain: String,
    cube: String,
    deliveries: usize,
}

fn sources_block(v: &PublicationVersion) -> Vec<SourceLine> {
    v.provenance
        .tables
        .values()
        .map(|t| SourceLine {
            title: t.title.clone(),
            source: t.source.clone(),
            champ: t.champ.clone(),
            chain: t.provenance.chain.clone(),
            cube: t.provenance.cube.chars().take(12).collect(),
            deliveries: t.provenance.deliveries.len(),
        })
        .collect()
}

async fn latest_page(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    Path((collection, slug)): Path<(String, String)>,
) -> Result<Response, WebError> {
    // `…/<slug>.pdf` is the latest version's PDF.
    if let Some(slug) = justat_render::slug_of_pdf_public_name(&slug) {
        let v = public(&state, &collection, slug, None).await?;
        return serve_file(&state, &v, justat_render::PDF_NAME);
    }
    let v = public(&state, &collection, &slug, None).await?;
    Ok(render_version(&state, s.as_ref(), v, true)
        .await?
        .into_response())
}

async fn version_or_zip(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    Path((collection, slug, part)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    if part == justat_render::ZIP_NAME {
        let v = public(&state, &collection, &slug, None).await?;
        return serve_file(&state, &v, &part);
    }
    let n = version_number(&part).ok_or(WebError::NotFound)?;
    let v = public(&state, &collection, &slug, Some(n)).await?;
    Ok(render_version(&state, s.as_ref(), v, false)
        .await?
        .into_response())
}

async fn latest_file(
    State(state): State<AppState>,
    Path((collection, slug, file)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    let v = public(&state, &collection, &slug, None).await?;
    serve_file(&state, &v, &file)
}

async fn version_file(
    State(state): State<AppState>,
    Path((collection, slug, version, file)): Path<(String, String, String, String)>,
) -> Result<Response, WebError> {
    let n = version_number(&version).ok_or(WebError::NotFound)?;
    let v = public(&state, &collection, &slug, Some(n)).await?;
    serve_file(&state, &v, &file)
}

async fn version_zip(
    State(state): State<AppState>,
    Path((collection, slug, version, file)): Path<(String, String, String, String)>,
) -> Result<Response, WebError> {
    let stored = if file == justat_render::ZIP_NAME {
        justat_render::ZIP_NAME
    } else if file == justat_render::pdf_public_name(&slug) {
        justat_render::PDF_NAME
    } else {
        return Err(WebError::NotFound);
    };
    let n = version_number(&version).ok_or(WebError::NotFound)?;
    let v = public(&state, &collection, &slug, Some(n)).await?;
    serve_file(&state, &v, stored)
}

/// A file of a public version, named after its publication and version when saved.
pub(crate) fn serve_file(
    state: &AppState,
    v: &PublicationVersion,
    name: &str,
) -> Result<Response, WebError> {
    let f = v.file(name).ok_or(WebError::NotFound)?;
    let ext = name.rsplit('.').next().unwrap_or("bin");
    let path = Lake::new(&state.config.data_dir).path(LakeKind::Publication, &f.sha256, ext);
    let bytes = std::fs::read(&path)
        .map_err(|e| WebError::Internal(format!("cannot read {}: {e}", path.display())))?;
    let download = justat_render::download_name(&v.slug, v.version, name);
    Ok((
        [
            (header::CONTENT_TYPE, f.media_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{download}\""),
            ),
            (header::CACHE_CONTROL, "public, max-age=300".to_string()),
        ],
        bytes,
    )
        .into_response())
}

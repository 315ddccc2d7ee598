//! The public work programme: `/programme-de-travail` (the current year in Paris) and
//! `/programme-de-travail/<year>`, in the layout the Cnis uses — synthesis, new work (surveys;
//! new uses of administrative files; other new work), permanent operations — with the Cnis's
//! opinions and the service's responses, links to the calendar, the surveys' legal notices and
//! the publications, and the year's PDF typeset by the worker.

use crate::AppState;
use crate::auth::{CurrentSession, page};
use crate::error::WebError;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use justat_model::calendar::{ReleaseStatus, paris_day};
use justat_model::french;
use justat_model::programme::{Link, YearView, read_year};
use justat_store::{Lake, LakeKind, Release, VersionSummary};
use minijinja::context;
use serde::Serialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/programme-de-travail", get(current))
        .route("/programme-de-travail/{year}", get(year_page))
        .route("/programme-de-travail/{year}/{file}", get(year_pdf))
        .route(
            "/programme-de-travail/{year}/enquetes/{campaign}",
            get(survey_notice),
        )
}

/// The current programme's year: the year of the request's instant in Paris.
pub(crate) fn current_year(now: Timestamp) -> i16 {
    paris_day(now).year()
}

/// A link an operation's line shows.
#[derive(Serialize)]
struct Href {
    href: String,
    text: String,
}

/// The links of an operation: its survey's legal notice, its publication once public, its
/// calendar entries.
fn links_of(year: i16, link: &Link, public: &[VersionSummary], releases: &[Release]) -> Vec<Href> {
    let mut out = Vec::new();
    match link {
        Link::Campaign { campaign } => out.push(Href {
            href: format!("/programme-de-travail/{year}/enquetes/{campaign}"),
            text: "Mentions légales de l’enquête".into(),
        }),
        Link::Publication { collection, slug } => {
            if let Some(v) = public
                .iter()
                .find(|v| v.collection == *collection && v.slug == *slug)
            {
                out.push(Href {
                    href: format!("/publications/{}/{}", collection.slug(), slug),
                    text: format!("Lire « {} »", v.title),
                });
            }
            for r in releases
                .iter()
                .filter(|r| r.collection == *collection && r.slug == *slug)
            {
                // A provisional date says so itself (« juin 2027 (date provisoire) »).
                let status = match r.status {
                    ReleaseStatus::Provisional => String::new(),
                    s => format!(" ({})", s.label_fr().to_lowercase()),
                };
                out.push(Href {
                    href: "/calendrier".into(),
                    text: format!("Calendrier des parutions : {}{status}", r.when_fr()),
                });
            }
        }
        Link::None | Link::Chain { .. } => {}
    }
    out
}

/// Renders a year's programme; 404 when nothing was written for it.
async fn render_year(
    state: &AppState,
    session: Option<&crate::auth::SessionCtx>,
    year: i16,
    nav: &str,
) -> Result<Html<String>, WebError> {
    let now = Timestamp::now();
    let (view, revision): (YearView, i64) = state.store.programme_view(year).await?;
    if revision == 0 {
        return Err(WebError::NotFound);
    }
    let public = state.store.public_versions(now).await?;
    let releases = state.store.releases().await?;
    let links: Vec<(i64, Vec<Href>)> = view
        .sections
        .iter()
        .flat_map(|s| &s.operations)
        .map(|op| (op.id, links_of(year, &op.link, &public, &releases)))
        .collect();
    let years = state.store.programme_years().await?;
    let pdf = state.store.programme_pdf(year).await?.map(|p| {
        (
            format!(
                "/programme-de-travail/{year}/{}",
                justat_render::programme::programme_pdf_name(year)
            ),
            french::date(p.made_at),
        )
    });
    let links: std::collections::BTreeMap<String, Vec<Href>> = links
        .into_iter()
        .map(|(id, l)| (id.to_string(), l))
        .collect();
    page(
        "programme.html",
        &format!("Programme de travail {year}"),
        nav,
        session,
        context! {
            view => crate::view::ser(&view),
            links => crate::view::ser(&links),
            years,
            year,
            pdf,
        },
    )
}

async fn current(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
) -> Result<Html<String>, WebError> {
    let year = current_year(Timestamp::now());
    render_year(&state, s.as_ref(), year, "programme").await
}

async fn year_page(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    Path(year): Path<String>,
) -> Result<Html<String>, WebError> {
    let year = read_year(&year).ok_or(WebError::NotFound)?;
    render_year(&state, s.as_ref(), year, "programme").await
}

/// The latest PDF of a year's programme.
async fn year_pdf(
    State(state): State<AppState>,
    Path((year, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let year = read_year(&year).ok_or(WebError::NotFound)?;
    let name = justat_render::programme::programme_pdf_name(year);
    if file != name {
        return Err(WebError::NotFound);
    }
    let pdf = state
        .store
        .programme_pdf(year)
        .await?
        .ok_or(WebError::NotFound)?;
    let path = Lake::new(&state.config.data_dir).path(LakeKind::Publication, &pdf.sha256, "pdf");
    let bytes = std::fs::read(&path)
        .map_err(|e| WebError::Internal(format!("cannot read {}: {e}", path.display())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
            // A new edit makes a new PDF: a short validity keeps the file current.
            (header::CACHE_CONTROL, "public, max-age=60".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The legal notice of a survey of the programme: the campaign's standing (Cnis opinion,
/// label, visa, obligation) in the official order. Only a campaign an operation of that
/// year's programme names is shown.
async fn survey_notice(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    Path((year, campaign)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let year = read_year(&year).ok_or(WebError::NotFound)?;
    let campaign: i64 = campaign.parse().map_err(|_| WebError::NotFound)?;
    let programme = state.store.programme(year).await?;
    let named = programme
        .operations
        .iter()
        .any(|o| o.operation.link == Link::Campaign { campaign });
    if !named {
        return Err(WebError::NotFound);
    }
    let c = state.store.campaign(campaign).await?;
    let q = match crate::routes::survey::questionnaire(&state, &c) {
        Ok(q) => q,
        Err(refused) => return Ok(refused.into_response()),
    };
    let notice = crate::routes::survey::legal_standing(&c, &q)
        .ok_or_else(|| "la situation juridique de la campagne est incomplète".to_string())
        .and_then(|l| justat_survey::campaign::notice::legal_notice(&l).map_err(|e| e.to_string()))
        .map_err(|e| WebError::Internal(format!("campaign {campaign}: {e}")))?;
    let paragraphs: Vec<(String, String)> =
        notice.into_iter().map(|p| (p.heading, p.text)).collect();
    Ok(page(
        "programme_enquete.html",
        &format!("Mentions légales — {}", c.title),
        "programme",
        s.as_ref(),
        context! {
            year,
            title => c.title,
            period => c.period,
            opens => french::date(c.opens_at),
            closes => french::date(c.closes_at),
            paragraphs,
        },
    )?
    .into_response())
}

/// The pages of the programme for the sitemap: the current page, each year's page and PDF.
pub(crate) async fn sitemap_paths(state: &AppState) -> Result<Vec<String>, WebError> {
    let mut out = vec!["/programme-de-travail".to_string()];
    for y in state.store.programme_years().await? {
        out.push(format!("/programme-de-travail/{y}"));
        if state.store.programme_pdf(y).await?.is_some() {
            out.push(format!(
                "/programme-de-travail/{y}/{}",
                justat_render::programme::programme_pdf_name(y)
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_year_is_the_paris_year() {
        let new_year_paris: Timestamp = "2026-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(current_year(new_year_paris), 2027);
        let before: Timestamp = "2026-12-31T22:59:59Z".parse().unwrap();
        assert_eq!(current_year(before), 2026);
    }
}

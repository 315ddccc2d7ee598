//! The back office of the release calendar: every release with its flags (week-end, public
//! holiday, short notice) and the changes the user's role allows — a statistician proposes, the
//! head of service confirms, moves and cancels. The rules are the model's, applied by the store;
//! a refusal comes back on the page with its reason and nothing changed.

use crate::AppState;
use crate::auth::{Produce, Require, SessionCtx, page};
use crate::error::WebError;
use crate::form::ValidForm;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use jiff::civil::Date;
use justat_model::calendar::{
    CalendarChange, CalendarPolicy, ChangeKind, Month, Schedule, day_flags, offered_changes,
    paris_day, paris_instant,
};
use justat_model::publication::Collection;
use justat_store::{Actor, NewRelease, StoreError};
use minijinja::context;
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/calendrier", get(calendar))
        .route("/calendrier/annoncer", post(announce))
        .route("/calendrier/{collection}/{slug}/{change}", post(change))
}

#[derive(Serialize)]
struct Line {
    collection: &'static str,
    collection_slug: &'static str,
    slug: String,
    title: String,
    when: String,
    status: &'static str,
    flags: Vec<String>,
    justification: Option<String>,
    notice: Option<String>,
    /// The changes the user may ask: confirm, move a month, reschedule, cancel.
    offers: Vec<&'static str>,
}

/// The path segment of a kind of change in the back office's addresses and forms.
fn change_path(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Confirm => "confirmer",
        ChangeKind::MoveMonth => "changer-de-mois",
        ChangeKind::Reschedule => "deplacer",
        ChangeKind::Cancel => "annuler",
    }
}

async fn render(
    state: &AppState,
    s: &SessionCtx,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, WebError> {
    let policy = &state.config.calendar;
    let now = Timestamp::now();
    let role = s.user.role;
    let lines: Vec<Line> = state
        .store
        .releases()
        .await?
        .into_iter()
        .map(|r| {
            let schedule = r.state().schedule;
            let flags = match schedule {
                Schedule::At(t) => day_flags(paris_day(t))
                    .iter()
                    .map(|f| f.label_fr())
                    .collect(),
                Schedule::Month(_) => Vec::new(),
            };
            let offers = offered_changes(r.state(), role, now)
                .into_iter()
                .map(change_path)
                .collect();
            Line {
                collection: r.collection.label_fr(),
                collection_slug: r.collection.slug(),
                slug: r.slug.clone(),
                title: r.title.clone(),
                when: r.when_fr(),
                status: r.status.label_fr(),
                flags,
                justification: r.justification.clone(),
                notice: r.notice.clone(),
                offers,
            }
        })
        .collect();
    let collections: Vec<(&str, &str)> = Collection::ALL
        .iter()
        .map(|c| (c.slug(), c.label_fr()))
        .collect();
    let html = page(
        "admin/calendar.html",
        "Calendrier des parutions (gestion)",
        "admin",
        Some(s),
        context! {
            lines => crate::view::ser(&lines),
            collections,
            error,
            essential => policy.essential.iter().map(|c| c.label_fr()).collect::<Vec<_>>(),
            head => role == justat_model::Role::HeadOfService,
        },
    )?;
    Ok((status, html).into_response())
}

async fn calendar(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
) -> Result<Response, WebError> {
    render(&state, &s, StatusCode::OK, None).await
}

/// A store refusal as the page says it; other errors are the error page's.
async fn refused(state: &AppState, s: &SessionCtx, e: StoreError) -> Result<Response, WebError> {
    let message = match e {
        StoreError::Calendar(e) => e.to_string(),
        StoreError::Refused(m) => m,
        StoreError::NotFound { .. } => return Err(WebError::NotFound),
        e => return Err(e.into()),
    };
    render(
        state,
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some(format!("Refusé : {message}. Rien n’a été modifié.")),
    )
    .await
}

/// A form's date and time (Paris) or month as a schedule, or what is wrong with them.
fn schedule_of(
    policy: &CalendarPolicy,
    collection: Collection,
    month: &str,
    date: &str,
    time: &str,
) -> Result<Schedule, String> {
    match (month.trim(), date.trim()) {
        (m, "") if !m.is_empty() => m
            .parse::<Month>()
            .map(Schedule::Month)
            .map_err(|e| e.to_string()),
        ("", d) if !d.is_empty() => {
            let day: Date = d
                .parse()
                .map_err(|_| format!("« {d} » n’est pas une date (AAAA-MM-JJ)"))?;
            let (h, m) = match time.trim() {
                "" => policy.standard_time(collection),
                t => {
                    let (h, m) = t
                        .split_once(':')
                        .ok_or_else(|| format!("« {t} » n’est pas une heure (HH:MM)"))?;
                    (
                        h.parse().map_err(|_| format!("« {t} » : heure"))?,
                        m.parse().map_err(|_| format!("« {t} » : minute"))?,
                    )
                }
            };
            paris_instant(day, h, m)
                .map(Schedule::At)
                .map_err(|e| e.to_string())
        }
        _ => Err("indiquez soit un mois (date provisoire), soit une date".into()),
    }
}

#[derive(Deserialize)]
struct AnnounceForm {
    collection: String,
    slug: String,
    title: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    justification: String,
}

async fn announce(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    ValidForm(f): ValidForm<AnnounceForm>,
) -> Result<Response, WebError> {
    let collection: Collection = f
        .collection
        .parse()
        .map_err(|_| WebError::BadRequest("Collection inconnue.".into()))?;
    if !justat_model::publication::is_valid_slug(&f.slug) {
        return render(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(format!(
                "« {} » n’est pas une adresse valide (minuscules, chiffres et tirets).",
                f.slug
            )),
        )
        .await;
    }
    let schedule = match schedule_of(
        &state.config.calendar,
        collection,
        &f.month,
        &f.date,
        &f.time,
    ) {
        Ok(s) => s,
        Err(e) => {
            return render(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, Some(e)).await;
        }
    };
    let new = NewRelease {
        collection,
        slug: f.slug.trim().to_string(),
        title: f.title,
        schedule,
        justification: Some(f.justification).filter(|j| !j.trim().is_empty()),
    };
    match state
        .store
        .announce_release(
            &new,
            &state.config.calendar,
            s.user.role,
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/calendrier").into_response()),
        Err(e) => refused(&state, &s, e).await,
    }
}

/// The change a form asks, its reason given: a cancellation needs nothing more (its schedule is
/// not read), a confirmation or a new instant a date, a new month a month.
fn asked_change(
    kind: ChangeKind,
    reason: String,
    schedule: impl FnOnce() -> Result<Schedule, String>,
) -> Result<CalendarChange, String> {
    if kind == ChangeKind::Cancel {
        return Ok(CalendarChange::Cancel { notice: reason });
    }
    match (kind, schedule()?) {
        (ChangeKind::Confirm, Schedule::At(at)) => Ok(CalendarChange::Confirm { at }),
        (ChangeKind::Reschedule, Schedule::At(at)) => Ok(CalendarChange::Reschedule { at, reason }),
        (ChangeKind::MoveMonth, Schedule::Month(month)) => {
            Ok(CalendarChange::MoveMonth { month, reason })
        }
        _ => Err("indiquez une date (ou un mois pour une date provisoire)".to_string()),
    }
}

#[derive(Deserialize)]
struct ChangeForm {
    #[serde(default)]
    month: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    reason: String,
}

async fn change(
    State(state): State<AppState>,
    Require(s, ..): Require<Produce>,
    Path((collection, slug, what)): Path<(String, String, String)>,
    ValidForm(f): ValidForm<ChangeForm>,
) -> Result<Response, WebError> {
    let c: Collection = collection.parse().map_err(|_| WebError::NotFound)?;
    let kind = ChangeKind::ALL
        .into_iter()
        .find(|k| change_path(*k) == what)
        .ok_or(WebError::NotFound)?;
    let asked = asked_change(kind, f.reason, || {
        schedule_of(&state.config.calendar, c, &f.month, &f.date, &f.time)
    });
    let asked = match asked {
        Ok(a) => a,
        Err(e) => return render(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, Some(e)).await,
    };
    match state
        .store
        .change_release(
            c,
            &slug,
            &asked,
            s.user.role,
            &Actor::user(&s.user.username),
            Timestamp::now(),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/calendrier").into_response()),
        Err(e) => refused(&state, &s, e).await,
    }
}

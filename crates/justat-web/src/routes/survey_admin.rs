//! The statisticians' follow-up of survey campaigns, under `/admin/enquetes`: the campaigns,
//! a campaign's legal standing, response rates (charts with their tables), units and
//! paradata, the non-respondents' export, a unit's history, answers, controls and
//! corrections, and the actions — close, impute, validate a campaign; validate, reopen,
//! refuse, declare out of scope a unit.
//!
//! Statisticians, heads of service and administrators read; statisticians and heads of
//! service act; for any other role these pages do not exist (404). Every action is a POST
//! checked for its CSRF token and written by the store with its audit entry; a refused one
//! says why in French and changes nothing.

use crate::AppState;
use crate::auth::{Capability, Hidden, SessionCtx, page};
use crate::error::WebError;
use crate::form::ValidForm;
use crate::survey_review::{
    self, answer_rows, controls, event_author, parse_edit, rate_figure, status_actions,
};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use justat_model::survey::{
    CampaignAction, CampaignState, ResponseStatus, UnitKind, campaign_action_refusal, edit_refusal,
    status_change_refusal,
};
use justat_model::{Permission, french};
use justat_store::{Actor, AuditRecord, Campaign, StoreError};
use justat_survey::Questionnaire;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Reading the campaigns' follow-up.
pub struct FollowSurveys;
impl Capability for FollowSurveys {
    const PERMISSION: Permission = Permission::FollowSurveys;
}

/// Acting on campaigns and their units.
pub struct ManageSurveys;
impl Capability for ManageSurveys {
    const PERMISSION: Permission = Permission::ManageSurveys;
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/enquetes", get(campaigns))
        .route("/enquetes/{id}", get(campaign_page))
        .route("/enquetes/{id}/non-repondants.csv", get(non_respondents))
        .route("/enquetes/{id}/clore", post(close))
        .route("/enquetes/{id}/imputer", post(impute))
        .route("/enquetes/{id}/valider", post(validate))
        .route("/enquetes/{id}/unite", get(unit_page))
        .route("/enquetes/{id}/unite/statut", post(set_status))
        .route("/enquetes/{id}/unite/corriger", post(edit))
}

fn campaign_id(raw: &str) -> Result<i64, WebError> {
    raw.parse().map_err(|_| WebError::NotFound)
}

async fn campaign_of(state: &AppState, id: i64) -> Result<Campaign, WebError> {
    match state.store.campaign(id).await {
        Ok(c) => Ok(c),
        Err(StoreError::NotFound { .. }) => Err(WebError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// The campaign's questionnaire from the configured folder, checked against the campaign.
fn questionnaire(state: &AppState, c: &Campaign) -> Result<Questionnaire, String> {
    justat_survey::load_for_campaign(
        &state.config.surveys_dir,
        &c.survey_id,
        &c.questionnaire_sha256,
        &c.questionnaire_version,
    )
    .map_err(|e| format!("Le questionnaire de la campagne ne peut pas être lu : {e}."))
}

/// A link to a unit's page (unit codes hold `/`: they go in the query).
fn unit_href(campaign: i64, code: &str) -> String {
    let encoded: String = code
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/admin/enquetes/{campaign}/unite?code={encoded}")
}

fn can_manage(s: &SessionCtx) -> bool {
    s.user.role.allows(Permission::ManageSurveys)
}

#[derive(Serialize)]
struct CampaignRow {
    id: i64,
    title: String,
    survey: String,
    period: String,
    state: &'static str,
    opens: String,
    closes: String,
    sample: String,
    rate: String,
}

async fn campaigns(
    State(state): State<AppState>,
    Hidden(s, ..): Hidden<FollowSurveys>,
) -> Result<Html<String>, WebError> {
    let now = Timestamp::now();
    let mut rows = Vec::new();
    for c in state.store.campaigns().await? {
        let rates = state.store.response_rates(c.id, now).await?;
        let sample = state.store.unit_progress(c.id).await?.len();
        rows.push(CampaignRow {
            id: c.id,
            title: c.title,
            survey: c.survey_id,
            period: c.period,
            state: c.state.label(),
            opens: french::date_time(c.opens_at),
            closes: french::date_time(c.closes_at),
            sample: french::integer(sample as i64),
            rate: format!("{} %", french::decimal(rates.total.rate * 100.0, 1)),
        });
    }
    page(
        "admin/surveys.html",
        "Enquêtes",
        "admin",
        Some(&s),
        context! { campaigns => crate::view::ser(&rows) },
    )
}

#[derive(Deserialize)]
struct CampaignQuery {
    statut: Option<String>,
    fait: Option<String>,
}

#[derive(Serialize)]
struct UnitLine {
    code: String,
    href: String,
    name: String,
    kind: &'static str,
    court_of_appeal: String,
    status: &'static str,
    since: String,
    reminders: i64,
    last_event: String,
}

/// Everything the campaign page shows.
async fn campaign_view(
    state: &AppState,
    s: &SessionCtx,
    id: i64,
    filter: Option<&str>,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let now = Timestamp::now();
    let c = campaign_of(state, id).await?;
    let filter: Option<ResponseStatus> = filter.and_then(|f| f.parse().ok());
    let progress = state.store.unit_progress(id).await?;
    let last = state.store.last_status_events(id).await?;
    let rates = state.store.response_rates(id, now).await?;
    let courts: BTreeMap<String, String> = state
        .store
        .survey_units(Some(UnitKind::CourAppel))
        .await?
        .into_iter()
        .map(|u| (u.code, u.name))
        .collect();
    let figures = [
        rate_figure(
            "taux-type",
            "Taux de réponse par type d’unité (%)",
            "Type d’unité",
            &rates.by_kind,
            &|g| {
                g.parse::<UnitKind>()
                    .map_or(g.to_string(), |k| k.label().to_string())
            },
        ),
        rate_figure(
            "taux-cour-appel",
            "Taux de réponse par cour d’appel (%)",
            "Cour d’appel",
            &rates.by_court_of_appeal,
            &|g| courts.get(g).cloned().unwrap_or_else(|| g.to_string()),
        ),
        rate_figure(
            "taux-semaine",
            "Taux de réponse cumulé par semaine de collecte (%)",
            "Semaine",
            &rates.by_week,
            &|g| format!("Semaine {g}"),
        ),
    ];
    let mut counts: BTreeMap<ResponseStatus, usize> = BTreeMap::new();
    for u in &progress {
        *counts.entry(u.status).or_default() += 1;
    }
    let statuses: Vec<_> = ResponseStatus::ALL
        .iter()
        .map(|st| {
            context! {
                value => st.as_str(), label => st.label(),
                count => counts.get(st).copied().unwrap_or(0),
                selected => filter == Some(*st),
            }
        })
        .collect();
    let units: Vec<UnitLine> = progress
        .iter()
        .filter(|u| filter.is_none_or(|f| u.status == f))
        .map(|u| UnitLine {
            href: unit_href(id, &u.unit_code),
            code: u.unit_code.clone(),
            name: u.unit_name.clone(),
            kind: u.kind.label(),
            court_of_appeal: u
                .court_of_appeal
                .as_ref()
                .map(|ca| courts.get(ca).cloned().unwrap_or_else(|| ca.clone()))
                .unwrap_or_default(),
            status: u.status.label(),
            since: french::date_time(u.status_at),
            reminders: u.reminders,
            last_event: last.get(&u.unit_code).map_or_else(String::new, |e| {
                format!(
                    "{} le {} par {} : {}",
                    e.status.label(),
                    french::date_time(e.at),
                    event_author(e),
                    e.reason
                )
            }),
        })
        .collect();
    let paradata = state.store.paradata_summary(id).await?;
    let q = questionnaire(state, &c);
    let page_titles: BTreeMap<String, String> = q
        .as_ref()
        .map(|q| {
            q.sequences
                .iter()
                .map(|sq| (sq.id.clone(), sq.title.clone()))
                .collect()
        })
        .unwrap_or_default();
    let pages: Vec<_> = paradata
        .pages
        .iter()
        .map(|p| {
            context! {
                page => page_titles.get(&p.page).cloned().unwrap_or_else(|| p.page.clone()),
                saves => french::integer(p.saves as i64),
                minutes => french::decimal(p.seconds as f64 / 60.0, 1),
                median => french::integer(p.median_seconds as i64),
                changes => french::integer(p.changes as i64),
            }
        })
        .collect();
    let notice_text = match &q {
        Ok(q) => crate::routes::survey::legal_standing(&c, q)
            .ok_or_else(|| {
                "La campagne n’a pas d’avis du Cnis enregistré : sa mention légale ne peut pas être écrite.".to_string()
            })
            .and_then(|st| {
                justat_survey::campaign::notice::legal_notice(&st).map_err(|e| {
                    format!("La mention légale ne peut pas être écrite : {e}.")
                })
            }),
        Err(e) => Err(e.clone()),
    };
    let (legal_notice, notice_problem) = match notice_text {
        Ok(n) => (Some(n), None),
        Err(e) => (None, Some(e)),
    };
    let heading = format!("{} — suivi", c.title);
    let manage = can_manage(s);
    let actions = context! {
        close => manage && campaign_action_refusal(c.state, CampaignAction::Close).is_none(),
        impute => manage && campaign_action_refusal(c.state, CampaignAction::Impute).is_none(),
        validate => manage && campaign_action_refusal(c.state, CampaignAction::Validate).is_none(),
    };
    let campaign = context! {
        id => c.id, title => c.title, survey => c.survey_id, period => c.period,
        state => c.state.label(),
        opens => french::date_time(c.opens_at), closes => french::date_time(c.closes_at),
        created => french::date_time(c.created_at), created_by => c.created_by,
        version => c.questionnaire_version,
        sample => french::integer(progress.len() as i64),
        sample_method => match &c.sample_method {
            Some(justat_model::survey::SampleMethod::AllOfKind { kind }) =>
                format!("toutes les unités du type « {} »", kind.label()),
            Some(justat_model::survey::SampleMethod::Stratified { seed }) =>
                format!("échantillon aléatoire stratifié (graine {seed})"),
            None => "pas encore tiré".to_string(),
        },
        cnis => match (&c.legal.cnis_avis_date, &c.legal.cnis_avis_reference) {
            (Some(d), Some(r)) => Some(format!("{} ({r})", justat_survey::french_date(*d))),
            _ => None,
        },
        label => c.legal.label, visa => c.legal.visa_number, visa_year => c.legal.visa_year,
        mandatory => c.legal.mandatory,
        rate => format!("{} %", french::decimal(rates.total.rate * 100.0, 1)),
        responded => french::integer(rates.total.responded as i64),
        in_scope => french::integer(rates.total.in_scope as i64),
    };
    page(
        "admin/survey_campaign.html",
        &heading,
        "admin",
        Some(s),
        context! {
            campaign, actions, notice, error,
            legal_notice => crate::view::ser(&legal_notice), notice_problem,
            figures => crate::view::ser(&figures),
            statuses, filter => filter.map(|f| f.label()),
            units => crate::view::ser(&units),
            paradata => crate::view::ser(&paradata), pages,
        },
    )
}

fn campaign_notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "close" => "La collecte est close : le portail n’accepte plus de réponses.",
            "imputation" => "La non-réponse totale a été imputée ; les valeurs imputées sont signalées avec leur méthode.",
            "validation" => "La campagne est validée : ses réponses peuvent devenir une livraison.",
            _ => return None,
        }
        .to_string(),
    )
}

async fn campaign_page(
    State(state): State<AppState>,
    Hidden(s, ..): Hidden<FollowSurveys>,
    Path(id): Path<String>,
    Query(q): Query<CampaignQuery>,
) -> Result<Html<String>, WebError> {
    let id = campaign_id(&id)?;
    campaign_view(
        &state,
        &s,
        id,
        q.statut.as_deref(),
        campaign_notice(q.fait.as_deref()),
        None,
    )
    .await
}

async fn non_respondents(
    State(state): State<AppState>,
    Hidden(s, ..): Hidden<FollowSurveys>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = campaign_id(&id)?;
    let c = campaign_of(&state, id).await?;
    let csv = state.store.non_respondents_export(id).await?;
    // Contacts are personal data: who took them, and when, is kept.
    state
        .store
        .audit(
            AuditRecord::new(
                &Actor::user(&s.user.username),
                "survey.non_respondents.export",
                format!("campaign/{id}"),
            ),
            Timestamp::now(),
        )
        .await?;
    let name = format!("non-repondants-{}-{}.csv", c.survey_id, c.period);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        csv,
    )
        .into_response())
}

#[derive(Deserialize)]
struct EmptyForm {}

/// Runs a campaign action, or shows the campaign page with why it was refused.
async fn campaign_action(
    state: &AppState,
    s: &SessionCtx,
    id: i64,
    action: CampaignAction,
) -> Response {
    let c = match campaign_of(state, id).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let refused = |message: String| async move {
        match campaign_view(state, s, id, None, None, Some(message)).await {
            Ok(html) => (StatusCode::CONFLICT, html).into_response(),
            Err(e) => e.into_response(),
        }
    };
    if let Some(why) = campaign_action_refusal(c.state, action) {
        return refused(why).await;
    }
    let actor = Actor::user(&s.user.username);
    let now = Timestamp::now();
    let (result, done) = match action {
        CampaignAction::Close => (
            state
                .store
                .set_campaign_state(id, CampaignState::Closed, &actor, now)
                .await
                .map(|_| ()),
            "close",
        ),
        CampaignAction::Validate => (
            state
                .store
                .set_campaign_state(id, CampaignState::Validated, &actor, now)
                .await
                .map(|_| ()),
            "validation",
        ),
        CampaignAction::Impute => {
            let q = match questionnaire(state, &c) {
                Ok(q) => q,
                Err(e) => return refused(e).await,
            };
            (
                state
                    .store
                    .impute_non_response(
                        id,
                        |units| justat_survey::campaign::impute_non_response(&q, units),
                        &actor,
                        now,
                    )
                    .await
                    .map(|_| ()),
                "imputation",
            )
        }
    };
    match result {
        Ok(()) => Redirect::to(&format!("/admin/enquetes/{id}?fait={done}")).into_response(),
        Err(StoreError::Refused(detail)) => {
            tracing::warn!(campaign = id, "survey action refused: {detail}");
            let state_now = state.store.campaign(id).await.map(|c| c.state);
            let why = state_now
                .ok()
                .and_then(|st| campaign_action_refusal(st, action))
                .unwrap_or_else(|| {
                    "L’action a été refusée : la campagne a changé entre-temps. Rechargez la page ; rien n’a été modifié.".into()
                });
            refused(why).await
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

async fn close(
    State(state): State<AppState>,
    Hidden(s, ..): Hidden<ManageSurveys>,
    Path(id): Path<String>,
    ValidForm(_): ValidForm<EmptyForm>,
) -> Response {
    match campaign_id(&id) {
        Ok(id) => campaign_action(&state, &s, id, CampaignAction::Close).await,
        Err(e) => e.into_response(),
    }
}

async fn impute(
    State(state): State<AppState>,
    Hidden(s, ..): Hidden<ManageSurveys>,
    Path(id): Path<String>,
    ValidForm(_): ValidForm<EmptyForm>,
) -> Response {
    match campaign_id(&id) {
        Ok(id) => campaign_action(&state, &s, id, CampaignAction::Impute).await,
        Err(e) => e.into_response(),
    }
}

async fn validate(
    State(state): State<AppState>,
    Hidden(s, ..): Hidden<ManageSurveys>,
    Path(id): Path<String>,
    ValidForm(_): ValidForm<EmptyForm>,
) -> Response {
    match campaign_id(&id) {
        Ok(id) => campaign_action(&state, &s, id, CampaignAction::Validate).await,
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct UnitQuery {
    code: String,
    fait: Option<String>,
}

/// Everything a unit's page shows.
async fn unit_view(
    state: &AppState,
    s: &SessionCtx,
    id: i64,
    code: &str,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let c = campaign_of(state, id).await?;
    let unit = state
        .store
        .unit_progress(id)
        .await?
        .into_iter()
        .find(|u| u.unit_code == code)
        .ok_or(WebError::NotFound)?;
    let events: Vec<_> = state
        .store
        .status_events(id, code)
        .await?
        .iter()
        .map(|e| {
            context! {
                at => french::date_time(e.at),
                previous => e.previous.map(|p| p.label()),
                status => e.status.label(),
                by => event_author(e),
                reason => e.reason.clone(),
            }
        })
        .collect();
    let answers = state.store.unit_answers(id, code).await?;
    let kept = state.store.unit_kept_warnings(id, code).await?;
    let edits = state.store.answer_edits(id, code).await?;
    let saves = state.store.paradata(id, code).await?;
    let q = questionnaire(state, &c);
    let (rows, control_lines, edit_lines) = match &q {
        Ok(q) => {
            let edit_lines: Vec<_> = edits
                .iter()
                .map(|e| {
                    let l = survey_review::leaf(q, &e.path);
                    context! {
                        label => l.as_ref().map_or(e.path.clone(), |l| l.label.clone()),
                        collected => survey_review::answer_text(l.as_ref(), e.collected.as_ref()),
                        previous => survey_review::answer_text(l.as_ref(), e.previous.as_ref()),
                        edited => survey_review::answer_text(l.as_ref(), Some(&e.edited)),
                        reason => e.reason.clone(), by => e.edited_by.clone(),
                        at => french::date_time(e.edited_at),
                    }
                })
                .collect();
            (
                answer_rows(q, &answers),
                controls(q, &answers, &kept),
                edit_lines,
            )
        }
        Err(_) => (Vec::new(), Vec::new(), Vec::new()),
    };
    let manage = can_manage(s);
    let editable = manage && edit_refusal(c.state, unit.status).is_none();
    let actions: Vec<_> = if manage && c.state != CampaignState::Validated {
        status_actions(unit.status)
            .into_iter()
            .map(|(value, label)| context! { value, label })
            .collect()
    } else {
        Vec::new()
    };
    let imputed = answers.iter().any(|a| a.imputed.is_some());
    let saves: Vec<_> = saves
        .iter()
        .map(|sv| {
            context! {
                at => french::date_time(sv.saved_at), page => sv.page.clone(),
                seconds => sv.seconds, changes => sv.changed_paths.len(),
                kept => sv.kept_warnings.len(),
            }
        })
        .collect();
    page(
        "admin/survey_unit.html",
        &format!("{} — {}", unit.unit_name, c.title),
        "admin",
        Some(s),
        context! {
            campaign => context! { id => c.id, title => c.title, state => c.state.label() },
            unit => context! {
                code => unit.unit_code, name => unit.unit_name, kind => unit.kind.label(),
                status => unit.status.label(), since => french::date_time(unit.status_at),
                reminders => unit.reminders,
            },
            events, answers => crate::view::ser(&rows), controls => crate::view::ser(&control_lines),
            edits => edit_lines, editable, actions, imputed, saves,
            questionnaire_problem => q.err(),
            notice, error,
        },
    )
}

fn unit_notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "statut" => {
                "Le statut de l’unité a été changé ; le changement figure dans son historique."
            }
            "correction" => {
                "La correction est enregistrée ; la valeur collectée est conservée à côté."
            }
            _ => return None,
        }
        .to_string(),
    )
}

async fn unit_page(
    State(state): State<AppState>,
    Hidden(s, ..): Hidden<FollowSurveys>,
    Path(id): Path<String>,
    Query(q): Query<UnitQuery>,
) -> Result<Html<String>, WebError> {
    let id = campaign_id(&id)?;
    unit_view(
        &state,
        &s,
        id,
        &q.code,
        unit_notice(q.fait.as_deref()),
        None,
    )
    .await
}

async fn unit_refused(
    state: &AppState,
    s: &SessionCtx,
    id: i64,
    code: &str,
    why: String,
) -> Response {
    match unit_view(state, s, id, code, None, Some(why)).await {
        Ok(html) => (StatusCode::CONFLICT, html).into_response(),
        Err(e) => e.into_response(),
    }
}

fn unit_done(id: i64, code: &str, what: &str) -> Response {
    Redirect::to(&format!("{}&fait={what}", unit_href(id, code))).into_response()
}

#[derive(Deserialize)]
struct StatusForm {
    code: String,
    statut: String,
    motif: String,
}

async fn set_status(
    State(state): State<AppState>,
    Hidden(s, ..): Hidden<ManageSurveys>,
    Path(id): Path<String>,
    ValidForm(f): ValidForm<StatusForm>,
) -> Response {
    let id = match campaign_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let c = match campaign_of(&state, id).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(unit) = state
        .store
        .unit_progress(id)
        .await
        .ok()
        .and_then(|p| p.into_iter().find(|u| u.unit_code == f.code))
    else {
        return WebError::NotFound.into_response();
    };
    let Ok(to) = f.statut.parse::<ResponseStatus>() else {
        return WebError::BadRequest(format!("Le statut « {} » n’existe pas.", f.statut))
            .into_response();
    };
    let reason = f.motif.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        let why = "Indiquez le motif du changement de statut (2 000 caractères au plus). Rien n’a été modifié.".to_string();
        return unit_refused(&state, &s, id, &f.code, why).await;
    }
    if let Some(why) = status_change_refusal(c.state, unit.status, to) {
        return unit_refused(&state, &s, id, &f.code, why).await;
    }
    let actor = Actor::user(&s.user.username);
    match state
        .store
        .set_response_status(id, &f.code, to, reason, &actor, Timestamp::now())
        .await
    {
        Ok(_) => unit_done(id, &f.code, "statut"),
        Err(StoreError::Refused(_) | StoreError::ResponseStatus(_)) => {
            let why = "Le changement a été refusé : la réponse ou la campagne a changé entre-temps. Rechargez la page ; rien n’a été modifié.".to_string();
            unit_refused(&state, &s, id, &f.code, why).await
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct EditForm {
    code: String,
    chemin: String,
    valeur: String,
    motif: String,
}

async fn edit(
    State(state): State<AppState>,
    Hidden(s, ..): Hidden<ManageSurveys>,
    Path(id): Path<String>,
    ValidForm(f): ValidForm<EditForm>,
) -> Response {
    let id = match campaign_id(&id) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let c = match campaign_of(&state, id).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(unit) = state
        .store
        .unit_progress(id)
        .await
        .ok()
        .and_then(|p| p.into_iter().find(|u| u.unit_code == f.code))
    else {
        return WebError::NotFound.into_response();
    };
    if let Some(why) = edit_refusal(c.state, unit.status) {
        return unit_refused(&state, &s, id, &f.code, why).await;
    }
    let q = match questionnaire(&state, &c) {
        Ok(q) => q,
        Err(why) => return unit_refused(&state, &s, id, &f.code, why).await,
    };
    let reason = f.motif.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        let why =
            "Indiquez le motif de la correction (2 000 caractères au plus). Rien n’a été modifié."
                .to_string();
        return unit_refused(&state, &s, id, &f.code, why).await;
    }
    let answer = match parse_edit(&q, &f.chemin, &f.valeur) {
        Ok(a) => a,
        Err(e) => {
            let why = format!(
                "La valeur « {} » ne convient pas : {e}. Rien n’a été modifié.",
                f.valeur.trim()
            );
            return unit_refused(&state, &s, id, &f.code, why).await;
        }
    };
    let value = match serde_json::to_value(&answer) {
        Ok(v) => v,
        Err(e) => return WebError::Internal(e.to_string()).into_response(),
    };
    let actor = Actor::user(&s.user.username);
    match state
        .store
        .edit_answer(
            id,
            &f.code,
            &f.chemin,
            &value,
            reason,
            &actor,
            Timestamp::now(),
        )
        .await
    {
        Ok(_) => unit_done(id, &f.code, "correction"),
        Err(StoreError::Refused(_)) => {
            let why = "La correction a été refusée : la réponse ou la campagne a changé entre-temps. Rechargez la page ; rien n’a été modifié.".to_string();
            unit_refused(&state, &s, id, &f.code, why).await
        }
        Err(e) => WebError::from(e).into_response(),
    }
}

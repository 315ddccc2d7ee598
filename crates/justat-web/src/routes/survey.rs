//! The respondent portal, under `/enquetes`: a unit's respondent types the access code of
//! their invitation, reads the legal notice, answers the questionnaire page by page (filters
//! and controls applied on the server, so it works without JavaScript), saves and comes back
//! later, reviews, submits, and downloads their acknowledgement of receipt.
//!
//! A portal session (cookie [`PORTAL_COOKIE`], only its digest stored) carries the respondent
//! from page to page; every POST carries its CSRF token ([`crate::form::ValidForm`] checks it
//! through [`PortalCsrf`]). Every read and write goes through the session's
//! [`Respondent`], so a unit only ever sees its own answers.

use crate::AppState;
use crate::auth::{ClientMeta, CurrentSession, LOGIN_CSRF_COOKIE, cookie, page, set_cookie};
use crate::error::WebError;
use crate::form::{PortalCsrf, ValidForm};
use crate::survey_form::{self, PageModel};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use justat_model::job::{self, JobOutcome, JobRequest};
use justat_model::survey::{CampaignState, ReceiptLine, ResponseStatus, SurveyReceipt};
use justat_model::{Sha256Hex, ThrottlePolicy, french};
use justat_store::surveys::Campaign;
use justat_store::{
    Actor, CodeOutcome, CodeRefusal, JobStatus, PageSave, Respondent, StoreError,
    sessions::random_token,
};
use justat_survey::campaign::notice::{self, CnisOpinion, Visa};
use justat_survey::{Answer, Answers, FieldError, Questionnaire};
use minijinja::context;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The portal session's cookie.
pub const PORTAL_COOKIE: &str = "justat_enquete";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/enquetes", get(code_page).post(enter_code))
        .route("/enquetes/questionnaire", get(home))
        .route("/enquetes/page/{number}", get(show_page).post(save_page))
        .route("/enquetes/recapitulatif", get(review))
        .route("/enquetes/envoi", post(submit))
        .route("/enquetes/accuse-de-reception", get(receipt))
        .route("/enquetes/quitter", post(leave))
        .layer(axum::middleware::from_fn(crate::security::private))
}

/// The respondent of the request's portal session.
struct Portal {
    respondent: Respondent,
    csrf: String,
    token: String,
}

impl FromRequestParts<AppState> for Portal {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_code = || Redirect::to("/enquetes?session=expiree").into_response();
        let Some(token) = cookie(&parts.headers, PORTAL_COOKIE) else {
            return Err(Redirect::to("/enquetes").into_response());
        };
        match state
            .store
            .respondent_by_session(&token, &state.config.session, Timestamp::now())
            .await
        {
            Ok(Some(s)) => {
                parts.extensions.insert(PortalCsrf(s.csrf.clone()));
                Ok(Portal {
                    respondent: s.respondent,
                    csrf: s.csrf,
                    token,
                })
            }
            Ok(None) => Err(to_code()),
            Err(e) => Err(WebError::from(e).into_response()),
        }
    }
}

/// The page the portal answers instead of the one asked for (boxed: a response is large).
pub(crate) struct Refused(Box<Response>);

impl From<Response> for Refused {
    fn from(r: Response) -> Self {
        Refused(Box::new(r))
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// Why the portal cannot show a campaign's questionnaire: told to the respondent in French.
fn unavailable(status: StatusCode, heading: &str, message: &str) -> Response {
    crate::error::error_page(status, heading, message)
}

/// The campaign's questionnaire, read from the questionnaires' folder by the campaign's
/// survey identifier and checked against the version and SHA-256 the campaign recorded.
pub(crate) fn questionnaire(state: &AppState, c: &Campaign) -> Result<Questionnaire, Refused> {
    let dir = &state.config.surveys_dir;
    let refuse = |detail: String| {
        tracing::error!(campaign = c.id, "questionnaire refused: {detail}");
        Refused::from(unavailable(
            StatusCode::SERVICE_UNAVAILABLE,
            "Questionnaire indisponible",
            &format!(
                "Le questionnaire de cette enquête ne peut pas être affiché : {detail}. Vos réponses déjà enregistrées sont conservées. Le service statistique a été prévenu ; réessayez plus tard."
            ),
        ))
    };
    let safe = !c.survey_id.is_empty()
        && c.survey_id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !safe {
        return Err(refuse(format!(
            "l’identifiant d’enquête « {} » ne désigne aucun fichier de questionnaire",
            c.survey_id
        )));
    }
    let candidates = [
        dir.join(format!("{}.toml", c.survey_id)),
        dir.join("lunatic").join(format!("{}.json", c.survey_id)),
    ];
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        return Err(refuse(format!(
            "le fichier du questionnaire « {} » est introuvable",
            c.survey_id
        )));
    };
    let bytes = std::fs::read(path)
        .map_err(|e| refuse(format!("le fichier {} est illisible ({e})", path.display())))?;
    if Sha256Hex::of(&bytes) != c.questionnaire_sha256 {
        return Err(refuse(format!(
            "le fichier {} n’est pas celui de la campagne (empreinte SHA-256 différente de celle enregistrée à sa création)",
            path.display()
        )));
    }
    let q =
        justat_survey::load(path).map_err(|e| refuse(format!("le fichier est invalide ({e})")))?;
    if q.version.to_string() != c.questionnaire_version {
        return Err(refuse(format!(
            "le fichier {} est la version {} du questionnaire, la campagne attend la version {}",
            path.display(),
            q.version,
            c.questionnaire_version
        )));
    }
    Ok(q)
}

/// The service's part of every campaign's legal notice (who produces, receives and keeps the
/// answers, and where to exercise one's rights); the campaign gives its own standing.
pub(crate) fn legal_standing(c: &Campaign, q: &Questionnaire) -> Option<notice::LegalStanding> {
    Some(notice::LegalStanding {
        survey_name: q.title.clone(),
        producer: "le service statistique ministériel de la Justice (SSER)".into(),
        cnis: CnisOpinion {
            date: c.legal.cnis_avis_date?,
            reference: c.legal.cnis_avis_reference.clone()?,
        },
        label: c.legal.label.is_some(),
        visa: match (&c.legal.visa_number, c.legal.visa_year) {
            (Some(number), Some(year)) => Some(Visa {
                number: number.clone(),
                year,
                minister: "du ministre de la Justice".into(),
                arrete: None,
            }),
            _ => None,
        },
        mandatory: c.legal.mandatory,
        recipient: "le SSER, service statistique ministériel de la Justice".into(),
        answers_retention_years: 5,
        identification_retention_years: 2,
        rights_contact: "Ministère de la Justice, SSER, 13 place Vendôme, 75042 Paris Cedex 01"
            .into(),
        dpo_contact: "dpd@justice.gouv.fr".into(),
    })
}

/// The respondent's answers as the survey core reads them, with the warnings they kept.
async fn answers_of(state: &AppState, r: &Respondent) -> Result<Answers, WebError> {
    let mut answers = Answers::new();
    for (path, value) in state.store.respondent_answers(r).await? {
        if value.is_null() {
            continue;
        }
        let answer: Answer = serde_json::from_value(value).map_err(|e| {
            WebError::Internal(format!("stored answer at {path} is not an answer: {e}"))
        })?;
        answers.set(path, answer);
    }
    for (_, control) in state.store.respondent_kept_warnings(r).await? {
        answers.set(control, Answer::WarningKept);
    }
    Ok(answers)
}

/// The campaign, its questionnaire, the answers and the status, for a page of the portal.
struct Context {
    campaign: Campaign,
    questionnaire: Questionnaire,
    answers: Answers,
    status: ResponseStatus,
}

async fn context_of(state: &AppState, p: &Portal) -> Result<Context, Refused> {
    let campaign = state
        .store
        .campaign(p.respondent.campaign_id())
        .await
        .map_err(|e| Refused::from(WebError::from(e).into_response()))?;
    let questionnaire = questionnaire(state, &campaign)?;
    let answers = answers_of(state, &p.respondent)
        .await
        .map_err(|e| Refused::from(e.into_response()))?;
    let status = state
        .store
        .respondent_status(&p.respondent)
        .await
        .map_err(|e| Refused::from(WebError::from(e).into_response()))?;
    Ok(Context {
        campaign,
        questionnaire,
        answers,
        status,
    })
}

/// Renders a portal page with the respondent's banner and their session's CSRF token.
fn portal_page(
    status: StatusCode,
    template: &str,
    title: &str,
    p: &Portal,
    extra: minijinja::Value,
) -> Response {
    let ctx = context! {
        portal => context! {
            unit_name => p.respondent.unit_name(),
            unit_code => p.respondent.unit_code(),
            csrf => p.csrf.clone(),
        },
        ..extra
    };
    match page(template, title, "enquetes", None, ctx) {
        Ok(html) => (status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct CodeQuery {
    session: Option<String>,
    quitte: Option<String>,
}

/// The code form, with the CSRF token of the visitor's back-office session if they have one
/// (as the login page does), else a fresh one in a cookie.
fn code_form(
    state: &AppState,
    session: Option<&crate::auth::SessionCtx>,
    status: StatusCode,
    error: Option<String>,
    info: Option<&str>,
) -> Response {
    let (csrf, set) = match session {
        Some(s) => (s.csrf.clone(), None),
        None => {
            let t = random_token();
            (t.clone(), Some(t))
        }
    };
    let html = page(
        "survey/code.html",
        "Répondre à une enquête",
        "enquetes",
        session,
        context! { csrf, error, info, contact => state.config.survey_contact.clone() },
    );
    match html {
        Ok(html) => {
            let mut resp = (status, html).into_response();
            if let Some(t) = set {
                resp.headers_mut().append(
                    header::SET_COOKIE,
                    set_cookie(LOGIN_CSRF_COOKIE, Some(&t), state.config.secure_cookies),
                );
            }
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn code_page(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    Query(q): Query<CodeQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(token) = cookie(&headers, PORTAL_COOKIE)
        && let Ok(Some(_)) = state
            .store
            .respondent_by_session(&token, &state.config.session, Timestamp::now())
            .await
    {
        return Redirect::to("/enquetes/questionnaire").into_response();
    }
    let info = if q.quitte.is_some() {
        Some(
            "Vous avez quitté le questionnaire. Vos réponses sont enregistrées : saisissez à nouveau votre code d’accès pour les reprendre.",
        )
    } else if q.session.is_some() {
        Some(
            "Votre session a expiré. Vos réponses enregistrées sont conservées : saisissez à nouveau votre code d’accès.",
        )
    } else {
        None
    };
    code_form(&state, s.as_ref(), StatusCode::OK, None, info)
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn enter_code(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    client: ClientMeta,
    ValidForm(form): ValidForm<CodeForm>,
) -> Response {
    let now = Timestamp::now();
    let code: String = form.code.chars().take(100).collect();
    let outcome = match state
        .store
        .respondent_by_code(&code, &client.ip, &ThrottlePolicy::per_ip(), now)
        .await
    {
        Ok(o) => o,
        Err(e) => return WebError::from(e).into_response(),
    };
    let respondent = match outcome {
        CodeOutcome::Granted(r) => r,
        CodeOutcome::Refused(refusal) => {
            let (status, message) = match refusal {
                CodeRefusal::Unknown => (
                    StatusCode::UNAUTHORIZED,
                    "Ce code d’accès n’est pas reconnu. Vérifiez-le sur votre courrier d’invitation (les tirets et les majuscules sont facultatifs).".to_string(),
                ),
                CodeRefusal::WaitUntil(t) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "Trop de codes erronés ont été saisis depuis votre connexion. Réessayez après le {}.",
                        french::date_time(t)
                    ),
                ),
                CodeRefusal::LockedUntil(t) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "Trop de codes erronés ont été saisis depuis votre connexion : la saisie est bloquée jusqu’au {}.",
                        french::date_time(t)
                    ),
                ),
            };
            return code_form(&state, s.as_ref(), status, Some(message), None);
        }
    };
    let campaign = match state.store.campaign(respondent.campaign_id()).await {
        Ok(c) => c,
        Err(e) => return WebError::from(e).into_response(),
    };
    if let Some(message) = closed_message(&campaign, now) {
        return unavailable(StatusCode::FORBIDDEN, "Enquête fermée", &message);
    }
    match state.store.create_survey_session(&respondent, now).await {
        Ok(tokens) => (
            [(
                header::SET_COOKIE,
                set_cookie(
                    PORTAL_COOKIE,
                    Some(&tokens.token),
                    state.config.secure_cookies,
                ),
            )],
            Redirect::to("/enquetes/questionnaire"),
        )
            .into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

/// Why a campaign takes no answers at `now`, in French; `None` when it does.
fn closed_message(c: &Campaign, now: Timestamp) -> Option<String> {
    match c.state {
        CampaignState::Open if now >= c.opens_at && now < c.closes_at => None,
        CampaignState::Draft => Some(format!(
            "L’enquête « {} » n’est pas encore ouverte.",
            c.title
        )),
        CampaignState::Open if now < c.opens_at => Some(format!(
            "L’enquête « {} » ouvre le {}.",
            c.title,
            french::date_time(c.opens_at)
        )),
        _ => Some(format!(
            "L’enquête « {} » est close : les réponses ne sont plus acceptées depuis le {}. Pour toute question, contactez le service statistique.",
            c.title,
            french::date_time(c.closes_at.min(now))
        )),
    }
}

async fn home(State(state): State<AppState>, p: Portal) -> Response {
    let ctx = match context_of(&state, &p).await {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let notice = legal_standing(&ctx.campaign, &ctx.questionnaire)
        .ok_or_else(|| {
            "la situation juridique de la campagne (avis du Cnis) est incomplète".to_string()
        })
        .and_then(|s| notice::legal_notice(&s).map_err(|e| e.to_string()));
    let notice = match notice {
        Ok(n) => n,
        Err(detail) => {
            tracing::error!(campaign = ctx.campaign.id, "legal notice: {detail}");
            return unavailable(
                StatusCode::SERVICE_UNAVAILABLE,
                "Questionnaire indisponible",
                &format!(
                    "Le questionnaire ne peut pas être affiché sans ses mentions légales : {detail}. Le service statistique a été prévenu ; réessayez plus tard."
                ),
            );
        }
    };
    let review = ctx.questionnaire.review(&ctx.answers);
    let pages: Vec<_> = review
        .pages
        .iter()
        .map(|pr| {
            context! {
                number => pr.index + 1,
                title => pr.title.clone(),
                answered => pr.answered.len(),
                missing => pr.missing.len(),
                blocking => pr.blocking.len(),
            }
        })
        .collect();
    portal_page(
        StatusCode::OK,
        "survey/home.html",
        &ctx.questionnaire.title,
        &p,
        context! {
            title => ctx.questionnaire.title.clone(),
            description => ctx.questionnaire.description.clone(),
            period => ctx.campaign.period.clone(),
            closes => french::date_time(ctx.campaign.closes_at),
            notice => crate::view::ser(&notice),
            status => ctx.status.label(),
            writable => ctx.status.respondent_may_write(),
            started => !ctx.answers.is_empty(),
            pages,
        },
    )
}

/// Shows page `number` (from 1).
async fn show_page(
    State(state): State<AppState>,
    p: Portal,
    Path(number): Path<usize>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let ctx = match context_of(&state, &p).await {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let Some(index) = number.checked_sub(1) else {
        return WebError::NotFound.into_response();
    };
    let Some(seq) = ctx.questionnaire.sequences.get(index) else {
        return WebError::NotFound.into_response();
    };
    // A page never saved shows no message yet: its required questions are not errors before
    // the respondent has had a chance to answer them.
    let touched = ctx.answers.iter().any(|(path, _)| seq.owns(path));
    render_page(
        &p,
        &ctx,
        index,
        &ctx.answers,
        &[],
        touched,
        q.contains_key("enregistre")
            .then_some("Vos réponses à cette page sont enregistrées."),
        StatusCode::OK,
    )
}

#[allow(clippy::too_many_arguments)]
fn render_page(
    p: &Portal,
    ctx: &Context,
    index: usize,
    answers: &Answers,
    errors: &[FieldError],
    show_messages: bool,
    info: Option<&str>,
    status: StatusCode,
) -> Response {
    let q = &ctx.questionnaire;
    let Some(view) = q.page_view(index, answers) else {
        return WebError::NotFound.into_response();
    };
    let Some(mut model): Option<PageModel> = survey_form::page_model(q, &view, answers, errors)
    else {
        return WebError::NotFound.into_response();
    };
    if !show_messages {
        for question in &mut model.questions {
            hide_messages(question);
        }
        model.blocking.clear();
    }
    let title = format!(
        "{} — page {} sur {}",
        model.title, model.number, model.pages
    );
    portal_page(
        status,
        "survey/page.html",
        &title,
        p,
        context! {
            survey_title => q.title.clone(),
            description => (index == 0).then(|| q.description.clone()).flatten(),
            page => crate::view::ser(&model),
            writable => ctx.status.respondent_may_write(),
            info,
            started_at => Timestamp::now().as_second(),
        },
    )
}

fn hide_messages(q: &mut survey_form::QuestionView) {
    q.messages.retain(|m| m.kept);
    q.invalid = false;
    q.described_by = q
        .messages
        .iter()
        .map(|m| m.id.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(l) = &mut q.looped {
        for item in &mut l.items {
            for inner in &mut item.questions {
                hide_messages(inner);
            }
        }
    }
}

/// A store refusal the respondent can act on, as a French page; anything else is internal.
fn refusal(e: StoreError) -> Response {
    match e {
        StoreError::CampaignClosed { closes_at, .. } => unavailable(
            StatusCode::CONFLICT,
            "Enquête close",
            &format!(
                "La collecte est close depuis le {} : vos réponses n’ont pas pu être enregistrées.",
                french::date_time(closes_at)
            ),
        ),
        StoreError::CampaignNotOpen { opens_at, .. } => unavailable(
            StatusCode::CONFLICT,
            "Enquête pas encore ouverte",
            &format!(
                "La collecte ouvre le {} : vos réponses ne peuvent pas encore être enregistrées.",
                french::date_time(opens_at)
            ),
        ),
        StoreError::ResponseLocked { status, .. } => unavailable(
            StatusCode::CONFLICT,
            "Réponses déjà envoyées",
            &format!(
                "Vos réponses ont le statut « {} » : elles ne peuvent plus être modifiées. Si une correction est nécessaire, contactez le service statistique.",
                status.label()
            ),
        ),
        other => WebError::from(other).into_response(),
    }
}

/// Saves page `number` and goes where the respondent asked: the same page (« Enregistrer »),
/// the previous one, or the next one if nothing on this page stops them.
async fn save_page(
    State(state): State<AppState>,
    p: Portal,
    Path(number): Path<usize>,
    ValidForm(fields): ValidForm<Vec<(String, String)>>,
) -> Response {
    let ctx = match context_of(&state, &p).await {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let Some(index) = number.checked_sub(1) else {
        return WebError::NotFound.into_response();
    };
    let q = &ctx.questionnaire;
    let Some(seq) = q.sequences.get(index) else {
        return WebError::NotFound.into_response();
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let action = field("action").to_string();
    let shown = field("shown").to_string();
    let started: i64 = field("started_at").parse().unwrap_or(0);
    let parsed = Answers::from_form(seq, &fields);
    let mut all = ctx.answers.clone();
    all.replace_page(seq, parsed.answers);
    if !parsed.errors.is_empty() {
        // Nothing is saved until every field reads; what was typed is shown again.
        return render_page(
            &p,
            &ctx,
            index,
            &all,
            &parsed.errors,
            true,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    q.clean(&mut all);
    let mut save = PageSave {
        session: Sha256Hex::of(p.token.as_bytes()).as_str()[..16].to_string(),
        page: seq.id.clone(),
        seconds_spent: u32::try_from((Timestamp::now().as_second() - started).clamp(0, 86_400))
            .unwrap_or(0),
        answers: BTreeMap::new(),
        kept_warnings: Vec::new(),
    };
    for (path, answer) in all.iter() {
        match answer {
            Answer::WarningKept => {
                if seq.owns(path) {
                    save.kept_warnings.push(path.to_string());
                }
            }
            a => {
                if ctx.answers.get(path) != Some(a) {
                    match serde_json::to_value(a) {
                        Ok(v) => {
                            save.answers.insert(path.to_string(), v);
                        }
                        Err(e) => return WebError::Internal(e.to_string()).into_response(),
                    }
                }
            }
        }
    }
    // A blanked answer, or one a filter now hides, is stored as null: the portal reads it as
    // blank, and the saves' history keeps the change.
    for (path, answer) in ctx.answers.iter() {
        if all.get(path).is_none() && !matches!(answer, Answer::WarningKept) {
            save.answers.insert(path.to_string(), Value::Null);
        }
    }
    if let Err(e) = state
        .store
        .save_answers(&p.respondent, &save, Timestamp::now())
        .await
    {
        return refusal(e);
    }
    let Some(view) = q.page_view(index, &all) else {
        return WebError::NotFound.into_response();
    };
    match action.as_str() {
        "precedent" if index == 0 => Redirect::to("/enquetes/questionnaire").into_response(),
        "precedent" => Redirect::to(&format!("/enquetes/page/{index}")).into_response(),
        "suivant" => {
            if view.visible.join(" ") != shown {
                // A filter revealed (or hid) questions: show them before going on.
                return render_page(
                    &p,
                    &ctx,
                    index,
                    &all,
                    &[],
                    true,
                    Some(
                        "Vos réponses sont enregistrées. Selon vos réponses, les questions de cette page ont changé : vérifiez-les avant de poursuivre.",
                    ),
                    StatusCode::OK,
                );
            }
            if !view.may_continue {
                return render_page(
                    &p,
                    &ctx,
                    index,
                    &all,
                    &[],
                    true,
                    Some(
                        "Vos réponses sont enregistrées, mais cette page doit être complétée ou corrigée avant de passer à la suivante.",
                    ),
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            }
            if number >= q.sequences.len() {
                Redirect::to("/enquetes/recapitulatif").into_response()
            } else {
                Redirect::to(&format!("/enquetes/page/{}", number + 1)).into_response()
            }
        }
        _ => Redirect::to(&format!("/enquetes/page/{number}?enregistre=1")).into_response(),
    }
}

/// The review: every page's answers, what is missing, what still stops the submission.
async fn review(State(state): State<AppState>, p: Portal) -> Response {
    let ctx = match context_of(&state, &p).await {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let review = ctx.questionnaire.review(&ctx.answers);
    let lines = survey_form::answer_lines(&ctx.questionnaire, &ctx.answers);
    let pages: Vec<_> = review
        .pages
        .iter()
        .zip(&lines)
        .map(|(pr, (_, answers))| {
            context! {
                number => pr.index + 1,
                title => pr.title.clone(),
                answers => answers.iter().map(|(l, v)| context! { label => l, value => v }).collect::<Vec<_>>(),
                blocking => pr.blocking.iter().map(|o| o.message.clone()).collect::<Vec<_>>(),
                kept => pr.kept.iter().map(|o| o.message.clone()).collect::<Vec<_>>(),
                missing => pr.missing.len(),
            }
        })
        .collect();
    portal_page(
        StatusCode::OK,
        "survey/review.html",
        "Récapitulatif de vos réponses",
        &p,
        context! {
            title => ctx.questionnaire.title.clone(),
            pages,
            may_submit => review.may_submit,
            writable => ctx.status.respondent_may_write(),
            status => ctx.status.label(),
        },
    )
}

/// Submits the answers, then queues the acknowledgement of receipt (typeset by the job
/// runner: this process does not compile PDFs).
async fn submit(
    State(state): State<AppState>,
    p: Portal,
    ValidForm(_): ValidForm<Vec<(String, String)>>,
) -> Response {
    let ctx = match context_of(&state, &p).await {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    if !ctx.questionnaire.review(&ctx.answers).may_submit {
        return Redirect::to("/enquetes/recapitulatif").into_response();
    }
    let now = Timestamp::now();
    if let Err(e) = state.store.submit_answers(&p.respondent, now).await {
        return refusal(e);
    }
    let mut lines = Vec::new();
    for (title, answers) in survey_form::answer_lines(&ctx.questionnaire, &ctx.answers) {
        lines.push(ReceiptLine::Page(title));
        lines.extend(
            answers
                .into_iter()
                .map(|(label, value)| ReceiptLine::Answer { label, value }),
        );
    }
    let request = JobRequest::SurveyReceipt {
        campaign: ctx.campaign.id,
        unit: p.respondent.unit_code().to_string(),
        receipt: SurveyReceipt {
            survey_title: ctx.questionnaire.title.clone(),
            period: ctx.campaign.period.clone(),
            unit_name: p.respondent.unit_name().to_string(),
            unit_code: p.respondent.unit_code().to_string(),
            submitted_at: now,
            lines,
        },
    };
    let actor = Actor::respondent(ctx.campaign.id, p.respondent.unit_code());
    if let Err(e) = state.store.enqueue_job(&request, &actor, now).await {
        return WebError::from(e).into_response();
    }
    Redirect::to("/enquetes/accuse-de-reception").into_response()
}

/// The acknowledgement of receipt: the PDF once the job runner made it, else a page that
/// says it is being made.
async fn receipt(State(state): State<AppState>, p: Portal) -> Response {
    let actor = Actor::respondent(p.respondent.campaign_id(), p.respondent.unit_code());
    let job = match state
        .store
        .latest_job(job::kind::SURVEY_RECEIPT, actor.as_str())
        .await
    {
        Ok(j) => j,
        Err(e) => return WebError::from(e).into_response(),
    };
    let pending = match job {
        None => {
            return unavailable(
                StatusCode::NOT_FOUND,
                "Pas d’accusé de réception",
                "Vos réponses n’ont pas encore été envoyées : l’accusé de réception est établi à l’envoi.",
            );
        }
        Some(j) => match (j.status, j.result) {
            (JobStatus::Done, Some(JobOutcome::SurveyReceipt { receipt_sha256 })) => {
                let path = justat_store::Lake::new(&state.config.data_dir).path(
                    justat_store::LakeKind::Transmission,
                    &receipt_sha256,
                    "pdf",
                );
                return match std::fs::read(&path) {
                    Ok(bytes) => (
                        [
                            (header::CONTENT_TYPE, "application/pdf".to_string()),
                            (
                                header::CONTENT_DISPOSITION,
                                format!(
                                    "attachment; filename=\"accuse-reception-{}.pdf\"",
                                    p.respondent
                                        .unit_code()
                                        .chars()
                                        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                                        .collect::<String>()
                                ),
                            ),
                        ],
                        bytes,
                    )
                        .into_response(),
                    Err(e) => WebError::Internal(format!("cannot read {}: {e}", path.display()))
                        .into_response(),
                };
            }
            (JobStatus::Failed, _) | (JobStatus::Done, _) => false,
            (JobStatus::Queued | JobStatus::Running, _) => true,
        },
    };
    portal_page(
        if pending {
            StatusCode::ACCEPTED
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        },
        "survey/receipt.html",
        "Accusé de réception",
        &p,
        context! { pending },
    )
}

/// Ends the portal session (« Quitter »): the answers saved stay.
async fn leave(
    State(state): State<AppState>,
    p: Portal,
    ValidForm(_): ValidForm<Vec<(String, String)>>,
) -> Response {
    if let Err(e) = state
        .store
        .end_survey_session(&p.token, &p.respondent, Timestamp::now())
        .await
    {
        return WebError::from(e).into_response();
    }
    (
        [(
            header::SET_COOKIE,
            set_cookie(PORTAL_COOKIE, None, state.config.secure_cookies),
        )],
        Redirect::to("/enquetes?quitte=1"),
    )
        .into_response()
}

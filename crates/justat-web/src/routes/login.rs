//! Logging in and out.

use crate::AppState;
use crate::auth::{
    ClientMeta, CurrentSession, LOGIN_CSRF_COOKIE, SESSION_COOKIE, Staff, page, set_cookie,
};
use crate::error::WebError;
use crate::form::ValidForm;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use justat_model::french;
use justat_store::{LoginAttempt, LoginOutcome, LoginRefusal, sessions::random_token};
use minijinja::context;
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/connexion", get(login_page).post(login))
        .route("/deconnexion", post(logout))
}

#[derive(Deserialize)]
struct NextQuery {
    suite: Option<String>,
}

/// Only a local path is accepted as the page to return to: never another site, and only
/// visible ASCII, so that it is always a valid `Location` header.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_string()
        }
        _ => "/admin".to_string(),
    }
}

fn login_form(
    state: &AppState,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<String>,
) -> Response {
    let csrf = random_token();
    let html = page(
        "login.html",
        "Connexion",
        "",
        None,
        context! { csrf => csrf.clone(), next, username, error },
    );
    match html {
        Ok(html) => (
            status,
            [(
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, Some(&csrf), state.config.secure_cookies),
            )],
            html,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn login_page(
    State(state): State<AppState>,
    CurrentSession(s): CurrentSession,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.suite.as_deref());
    if s.is_some() {
        return Redirect::to(&next).into_response();
    }
    login_form(&state, StatusCode::OK, &next, "", None)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    suite: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    client: ClientMeta,
    ValidForm(form): ValidForm<LoginForm>,
) -> Response {
    let next = safe_next(form.suite.as_deref());
    let attempt = LoginAttempt {
        username: form.username.trim().to_string(),
        password: form.password,
        ip: client.ip.clone(),
    };
    let now = Timestamp::now();
    let outcome = match state
        .store
        .authenticate(&attempt, &state.config.throttle, now)
        .await
    {
        Ok(o) => o,
        Err(e) => return WebError::from(e).into_response(),
    };
    let refusal = match outcome {
        LoginOutcome::Success(user) => {
            return match state
                .store
                .create_session(&user, &client.ip, &client.user_agent, now)
                .await
            {
                Ok(tokens) => (
                    StatusCode::SEE_OTHER,
                    [
                        (
                            header::LOCATION,
                            next.parse().expect("a local path is a valid header"),
                        ),
                        (
                            header::SET_COOKIE,
                            set_cookie(
                                SESSION_COOKIE,
                                Some(&tokens.token),
                                state.config.secure_cookies,
                            ),
                        ),
                    ],
                )
                    .into_response(),
                Err(e) => WebError::from(e).into_response(),
            };
        }
        LoginOutcome::Refused(r) => r,
    };
    let (status, message, retry_after) = refusal_answer(refusal, now);
    let mut resp = login_form(&state, status, &next, &attempt.username, Some(message));
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    resp
}

/// The status, the French message and the `Retry-After` delay (seconds) of a refusal.
fn refusal_answer(refusal: LoginRefusal, now: Timestamp) -> (StatusCode, String, Option<i64>) {
    let secs_until = |t: Timestamp| (t - now).as_secs().max(1);
    match refusal {
        LoginRefusal::BadCredentials => (
            StatusCode::UNAUTHORIZED,
            "Identifiant ou mot de passe incorrect.".to_string(),
            None,
        ),
        LoginRefusal::WaitUntil(t) => {
            let secs = secs_until(t);
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Trop de tentatives récentes : attendez {secs} seconde{} avant de réessayer.",
                    if secs > 1 { "s" } else { "" }
                ),
                Some(secs),
            )
        }
        LoginRefusal::LockedUntil(t) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Trop de tentatives échouées : la connexion est bloquée jusqu’au {}. Si ce n’était pas vous, prévenez l’administrateur.",
                french::date_time(t)
            ),
            Some(secs_until(t)),
        ),
        // The password was not checked: saying so is safe, and the attempt did not count.
        LoginRefusal::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Le service de connexion est très sollicité : votre mot de passe n’a pas été vérifié, réessayez dans quelques secondes."
                .to_string(),
            Some(BUSY_RETRY_SECS),
        ),
    }
}

/// The delay suggested when every password hasher is busy.
const BUSY_RETRY_SECS: i64 = 2;

#[derive(Deserialize)]
struct LogoutForm {}

async fn logout(
    State(state): State<AppState>,
    Staff(s): Staff,
    ValidForm(_): ValidForm<LogoutForm>,
) -> Response {
    if let Err(e) = state
        .store
        .end_session(&s.token, &s.user, Timestamp::now())
        .await
    {
        return WebError::from(e).into_response();
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/".parse().expect("valid")),
            (
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, None, state.config.secure_cookies),
            ),
        ],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::{BUSY_RETRY_SECS, refusal_answer, safe_next};
    use axum::http::StatusCode;
    use jiff::{SignedDuration, Timestamp};
    use justat_store::LoginRefusal;

    #[test]
    fn refusals_say_when_to_come_back() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let (status, message, retry) = refusal_answer(
            LoginRefusal::WaitUntil(now + SignedDuration::from_secs(4)),
            now,
        );
        assert_eq!((status, retry), (StatusCode::TOO_MANY_REQUESTS, Some(4)));
        assert!(message.contains("attendez 4 secondes"), "{message}");
        let (status, _, retry) = refusal_answer(
            LoginRefusal::LockedUntil(now + SignedDuration::from_mins(15)),
            now,
        );
        assert_eq!((status, retry), (StatusCode::TOO_MANY_REQUESTS, Some(900)));
        let (status, message, retry) = refusal_answer(LoginRefusal::Busy, now);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry, Some(BUSY_RETRY_SECS));
        assert!(message.contains("réessayez"), "{message}");
        assert_eq!(refusal_answer(LoginRefusal::BadCredentials, now).2, None);
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(
            safe_next(Some("/admin/journal?avant=3")),
            "/admin/journal?avant=3"
        );
        assert_eq!(safe_next(Some("//evil.example/")), "/admin");
        assert_eq!(safe_next(Some("https://evil.example/")), "/admin");
        assert_eq!(safe_next(Some("/\\evil.example")), "/admin");
        assert_eq!(safe_next(None), "/admin");
        // A line break or a non-ASCII character would not make a valid `Location` header.
        assert_eq!(safe_next(Some("/admin\r\nSet-Cookie: x=1")), "/admin");
        assert_eq!(safe_next(Some("/données")), "/admin");
    }
}

//! Sessions, the current user, and the one place where roles are checked.

use crate::error::WebError;
use crate::{AppState, view};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use justat_model::Permission;
use justat_store::User;
use std::marker::PhantomData;
use std::net::SocketAddr;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "justat_session";
/// The name of the cookie holding the login form's CSRF token (before any session exists).
pub const LOGIN_CSRF_COOKIE: &str = "justat_login_csrf";

/// A logged-in user's session.
#[derive(Debug, Clone)]
pub struct SessionCtx {
    /// The account.
    pub user: User,
    /// The CSRF token of this session's forms.
    pub csrf: String,
    /// The cookie token (to end the session at logout).
    pub token: String,
}

/// The session of the request, if any; set by [`load_session`] for every request.
#[derive(Debug, Clone, Default)]
pub struct CurrentSession(pub Option<SessionCtx>);

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure over TLS; `None` deletes it.
pub fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = match value {
        Some(v) => format!("{name}={v}; Path=/; HttpOnly; SameSite=Lax{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&v).expect("cookie names and hex tokens are valid header values")
}

/// Looks up the session cookie once per request and records the result for the extractors.
pub async fn load_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/static/") {
        return next.run(req).await;
    }
    let token = cookie(req.headers(), SESSION_COOKIE);
    let mut stale_cookie = false;
    let session = match &token {
        Some(t) => match state
            .store
            .session(t, &state.config.session, jiff::Timestamp::now())
            .await
        {
            Ok(Some(info)) => Some(SessionCtx {
                user: info.user,
                csrf: info.csrf,
                token: t.clone(),
            }),
            Ok(None) => {
                stale_cookie = true;
                None
            }
            Err(e) => return WebError::from(e).into_response(),
        },
        None => None,
    };
    req.extensions_mut().insert(CurrentSession(session));
    let mut resp = next.run(req).await;
    if stale_cookie && !resp.headers().contains_key(header::SET_COOKIE) {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, None, state.config.secure_cookies),
        );
    }
    resp
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CurrentSession>()
            .cloned()
            .unwrap_or_default())
    }
}

/// A logged-in user, whatever the role; anyone else is sent to the login page.
#[derive(Debug, Clone)]
pub struct Staff(pub SessionCtx);

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        let CurrentSession(session) = CurrentSession::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        // Inside a nested router `parts.uri` lacks the prefix: the original URI has it.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        let next = uri
            .path_and_query()
            .map_or("/admin", |p| p.as_str())
            .to_string();
        let session = session.ok_or(WebError::LoginRequired { next })?;
        authorize(&session.user, Permission::EnterBackOffice)?;
        Ok(Staff(session))
    }
}

/// Allows or refuses `permission` to `user`. Every role check of the application is a call
/// to this function (through [`Require`] or [`Staff`]).
pub fn authorize(user: &User, permission: Permission) -> Result<(), WebError> {
    if user.role.allows(permission) {
        Ok(())
    } else {
        tracing::warn!(role = %user.role, ?permission, "access refused");
        Err(WebError::Forbidden)
    }
}

/// A permission, as a type, for [`Require`].
pub trait Capability {
    /// The permission required.
    const PERMISSION: Permission;
}

/// Reading the audit log.
pub struct ReadAuditLog;
impl Capability for ReadAuditLog {
    const PERMISSION: Permission = Permission::ReadAuditLog;
}

/// Managing accounts.
pub struct ManageAccounts;
impl Capability for ManageAccounts {
    const PERMISSION: Permission = Permission::ManageAccounts;
}

/// Delivering extracts and running chains.
pub struct Produce;
impl Capability for Produce {
    const PERMISSION: Permission = Permission::Produce;
}

/// Reading, in the embargo room, the releases one is listed on.
pub struct ReadUnderEmbargo;
impl Capability for ReadUnderEmbargo {
    const PERMISSION: Permission = Permission::ReadUnderEmbargo;
}

/// A logged-in user whose role allows `C`; others get the login page or a 403 page.
pub struct Require<C>(pub SessionCtx, pub PhantomData<C>);

impl<C: Capability, S: Send + Sync> FromRequestParts<S> for Require<C> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        let Staff(session) = Staff::from_request_parts(parts, state).await?;
        authorize(&session.user, C::PERMISSION)?;
        Ok(Require(session, PhantomData))
    }
}

/// A logged-in user whose role allows `C`; for any other role the page does not exist (404),
/// as for a steering dashboard of another administration, so that the address does not even
/// tell what it holds. Anonymous visitors are sent to the login page.
pub struct Hidden<C>(pub SessionCtx, pub PhantomData<C>);

impl<C: Capability, S: Send + Sync> FromRequestParts<S> for Hidden<C> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        let Staff(session) = Staff::from_request_parts(parts, state).await?;
        authorize(&session.user, C::PERMISSION).map_err(|_| WebError::NotFound)?;
        Ok(Hidden(session, PhantomData))
    }
}

/// The client's address and browser, for the audit log, the login throttle, sessions and the
/// embargo access log — the one place that reads them (see [`crate::security::client_address`]).
#[derive(Debug, Clone)]
pub struct ClientMeta {
    /// The client's IP address.
    pub ip: String,
    /// Its `User-Agent`.
    pub user_agent: String,
}

impl FromRequestParts<AppState> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let trusted_hops = if state.config.trust_forwarded_for {
            state.config.trusted_proxy_hops.max(1)
        } else {
            0
        };
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = crate::security::client_address(
            peer,
            parts.headers.get_all("x-forwarded-for").iter(),
            trusted_hops,
        )
        .map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        Ok(ClientMeta { ip, user_agent })
    }
}

/// Renders a page for this session (the shared header shows who is logged in).
pub fn page(
    template: &str,
    title: &str,
    nav: &str,
    session: Option<&SessionCtx>,
    extra: minijinja::Value,
) -> Result<axum::response::Html<String>, WebError> {
    Ok(view::render_page(template, title, nav, session, extra)?)
}

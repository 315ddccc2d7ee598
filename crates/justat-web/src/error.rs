//! The one error type of the web application, rendered as a French DSFR page.

use crate::view;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use justat_store::StoreError;

/// What can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such page.
    #[error("not found")]
    NotFound,
    /// The page needs a logged-in user; they are sent to the login page and back.
    #[error("login required")]
    LoginRequired {
        /// Where to come back after login.
        next: String,
    },
    /// The user's role does not allow this.
    #[error("forbidden")]
    Forbidden,
    /// The form's CSRF token is missing or does not match the session.
    #[error("CSRF token missing or wrong")]
    Csrf,
    /// The request is malformed; the message says what was wrong, in French.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request body is larger than the configured limit.
    #[error("request body too large")]
    TooLarge,
    /// A bug or an unavailable database; details go to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<minijinja::Error> for WebError {
    fn from(e: minijinja::Error) -> Self {
        WebError::Internal(format!("template: {e:#}"))
    }
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            WebError::Forbidden | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn texts(&self) -> (&'static str, String) {
        match self {
            WebError::NotFound => (
                "Page non trouvée",
                "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée. \
                 Si vous avez tapé l’adresse web dans le navigateur, vérifiez qu’elle est correcte."
                    .into(),
            ),
            WebError::LoginRequired { .. } => ("Connexion requise", "Connectez-vous pour accéder à cette page.".into()),
            WebError::Forbidden => (
                "Accès refusé",
                "Votre rôle ne donne pas accès à cette page. Si vous pensez que c’est une erreur, \
                 adressez-vous à l’administrateur de Justat."
                    .into(),
            ),
            WebError::Csrf => (
                "Formulaire expiré",
                "Le jeton de sécurité du formulaire est absent ou ne correspond pas à votre session \
                 (formulaire ouvert avant une reconnexion, ou envoyé depuis un autre site). \
                 Rechargez la page et recommencez."
                    .into(),
            ),
            WebError::BadRequest(msg) => ("Requête incorrecte", msg.clone()),
            WebError::TooLarge => (
                "Envoi trop volumineux",
                "Les données envoyées dépassent la taille autorisée. Réduisez-les et recommencez.".into(),
            ),
            WebError::Internal(_) => (
                "Erreur inattendue",
                "Désolé, le service rencontre un problème. Nous y travaillons. Réessayez dans quelques \
                 instants ; si le problème persiste, signalez-le à l’équipe Justat."
                    .into(),
            ),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::LoginRequired { next } = &self {
            let target = format!("/connexion?suite={}", urlencode(next));
            return Redirect::to(&target).into_response();
        }
        if let WebError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let status = self.status();
        let (heading, message) = self.texts();
        error_page(status, heading, &message)
    }
}

/// A DSFR error page; falls back to plain text if even the template fails.
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let ctx = minijinja::context! { heading, message, status => status.as_u16() };
    match view::render_page("error.html", heading, "", None, ctx) {
        Ok(html) => (status, html).into_response(),
        Err(_) => (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message.to_string(),
        )
            .into_response(),
    }
}

/// Percent-encodes a path for a query string.
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

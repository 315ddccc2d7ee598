//! Form bodies: parsed into a typed struct, with the CSRF token checked first.

use crate::auth::{CurrentSession, LOGIN_CSRF_COOKIE, cookie};
use crate::error::WebError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

/// The CSRF token of the request's respondent-portal session, put in the request's extensions
/// by the portal's extractor: on the portal's pages it is the one [`ValidForm`] expects.
#[derive(Debug, Clone)]
pub struct PortalCsrf(pub String);

/// A form of type `T` sent with a valid CSRF token (field `csrf`): the portal session's token
/// on the respondent portal, the session's token for a logged-in user, the login cookie's
/// token otherwise. Every POST handler takes one, so no
/// state-changing request escapes the check.
pub struct ValidForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ValidForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(WebError::BadRequest(format!(
                "Le formulaire doit être envoyé au format application/x-www-form-urlencoded (reçu : « {} »).",
                if content_type.is_empty() {
                    "aucun format"
                } else {
                    content_type
                }
            )));
        }
        let session = req
            .extensions()
            .get::<CurrentSession>()
            .cloned()
            .unwrap_or_default()
            .0;
        let portal = req.extensions().get::<PortalCsrf>().cloned();
        let expected = match (portal, session) {
            (Some(PortalCsrf(csrf)), _) => Some(csrf),
            (None, Some(s)) => Some(s.csrf),
            (None, None) => cookie(req.headers(), LOGIN_CSRF_COOKIE),
        };
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                WebError::TooLarge
            } else {
                WebError::BadRequest(format!(
                    "Le corps de la requête n’a pas pu être lu ({}).",
                    e.body_text()
                ))
            }
        })?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            WebError::BadRequest("Le formulaire envoyé n’est pas correctement encodé.".into())
        })?;
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str());
        match (sent, expected) {
            (Some(sent), Some(expected))
                if constant_time_eq(sent.as_bytes(), expected.as_bytes()) => {}
            _ => return Err(WebError::Csrf),
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(ValidForm)
            .map_err(|e| WebError::BadRequest(describe(&e)))
    }
}

/// Says in French what is wrong with a form.
fn describe(e: &serde_urlencoded::de::Error) -> String {
    let msg = e.to_string();
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        format!("Le champ « {field} » est absent du formulaire. Rechargez la page et recommencez.")
    } else if msg.starts_with("unknown variant") {
        format!("Une valeur du formulaire n’est pas autorisée ({msg}).")
    } else {
        format!("Le formulaire envoyé est mal formé ({msg}).")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct F {
        name: String,
    }

    #[test]
    fn a_missing_field_is_named_in_french() {
        let e = serde_urlencoded::from_bytes::<F>(b"x=1").unwrap_err();
        assert!(describe(&e).contains("« name »"), "{}", describe(&e));
    }
}

//! Request extractors with the console's own errors: a bad query or form
//! value is a 400 with the field and the reason (as JSON for the API, a
//! page for people), never axum's plain-text rejection; and who is asking.

use std::fmt::Display;
use std::str::FromStr;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use tocsin_model::{Actor, Permission, Role, Scope};

use crate::access::Via;

use crate::AppError;

/// A query string read into `T`; a malformed one is [`AppError::BadRequest`].
pub(crate) struct Q<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(Q)
            .map_err(|e| AppError::BadRequest(format!("query: {e}")))
    }
}

/// A form body read into `T`; a malformed one is [`AppError::BadRequest`].
pub(crate) struct F<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for F<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, s: &S) -> Result<Self, AppError> {
        axum::Form::<T>::from_request(req, s)
            .await
            .map(|axum::Form(v)| F(v))
            .map_err(|e| AppError::BadRequest(format!("form: {}", e.body_text())))
    }
}

/// A query of a page with no filters: `?lang=` only.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LangQuery {
    pub(crate) lang: Option<String>,
}

/// For query and form fields: an empty value (`?level=`, what an unset
/// `<select>` sends) is none; anything else must parse.
pub(crate) fn empty_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    let s = Option::<String>::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Who is asking, and what they may see. Set on each request by the access
/// layer (`access::identify`); handlers read agency-owned data through its
/// [`Scope`].
#[derive(Clone, Debug)]
pub struct Caller {
    /// Who, as the audit log names them, and from where.
    pub actor: Actor,
    /// What the caller may read and change.
    pub scope: Scope,
    /// Their role; `None` when nobody is signed in.
    pub role: Option<Role>,
    /// How they proved it.
    pub(crate) via: Via,
}

impl Caller {
    /// Whether the caller is signed in with a role holding `p`.
    pub fn may(&self, p: Permission) -> bool {
        self.role.is_some_and(|r| r.may(p))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        // No caller on the request means no identifying layer ran: refuse
        // rather than guess.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(AppError::Unauthorized)
    }
}

//! One error type for every handler, and one pair of renderings: JSON for
//! the API, a page in the reader's language for the console.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What a handler can fail with. Internal details are logged, never sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// No such agency, asset, alert or page (or not one the caller may see).
    #[error("{0} not found")]
    NotFound(String),
    /// The request is malformed: a bad query value, form field or path.
    #[error("{0}")]
    BadRequest(String),
    /// Nobody is signed in (or the token is wrong, expired or revoked).
    #[error("sign in first")]
    Unauthorized,
    /// Signed in, but the role does not allow it.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Refused for a reason people are told in their language: the locale
    /// key of the reason (`error.csrf`…). The API says it in English.
    #[error("forbidden: {}", crate::i18n::T { lang: crate::i18n::Lang::En }.t(.0))]
    Refused(&'static str),
    /// Too many failed attempts from this address or on this account.
    #[error("too many attempts; try again in {0} minutes")]
    TooMany(u64),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] tocsin_store::StoreError),
    /// A template failed to render.
    #[error(transparent)]
    Render(#[from] askama::Error),
}

/// What an error response carries for the console's page renderer.
#[derive(Clone, Debug)]
pub(crate) struct ErrorInfo {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// The reason's locale key, when it has one.
    pub(crate) key: Option<&'static str>,
}

impl AppError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) | AppError::Refused(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many"),
            AppError::Store(_) | AppError::Render(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "internal error; see the server log".to_string()
        } else {
            self.to_string()
        };
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        let mut r = (status, Json(body)).into_response();
        let key = match self {
            AppError::Refused(k) => Some(k),
            _ => None,
        };
        r.extensions_mut().insert(ErrorInfo { code, message, key });
        r
    }
}

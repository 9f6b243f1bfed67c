//! Every error the API returns: a status and the library's JSON `{"code", "message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mastery_core::MasteryError;
use serde::Serialize;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: the library's (`invalid_input`, `parse_error`, `not_found`,
    /// `access_denied`, `store_error`, ...) or `unauthenticated`, `payload_too_large`,
    /// `unsupported_media_type`.
    pub code: String,
    pub message: String,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// What a caller who may not know whether something exists is told.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "store_error", message)
    }
}

impl From<MasteryError> for ApiError {
    fn from(e: MasteryError) -> Self {
        let status = match &e {
            MasteryError::AccessDenied { .. } => StatusCode::FORBIDDEN,
            MasteryError::NotFound { .. } => StatusCode::NOT_FOUND,
            MasteryError::Store { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        // Library messages name fields and formats, never a learner.
        Self { status, code: e.code(), message: e.to_string() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code.to_owned(), message: self.message };
        (self.status, axum::Json(body)).into_response()
    }
}

//! One error shape for every endpoint: a stable code, an HTTP status and a
//! message a person can act on. Internal faults are logged and answered
//! with a bare "internal error".

use app::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

/// The HTTP status and the stable error code of a use-case error: one
/// mapping for the API and the pages (`web`).
pub fn status_of(error: &AppError) -> (StatusCode, &'static str) {
    match error {
        AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
        AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        AppError::Contended(_) => (StatusCode::CONFLICT, "contended"),
        AppError::StationFull(_) => (StatusCode::CONFLICT, "station_full"),
        AppError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
        AppError::Internal(detail) => {
            tracing::error!(detail = %detail, "internal error");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let (status, code) = status_of(&error);
        ApiError::new(status, code, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

//! One error shape for every endpoint: `{"error": {"code", "type",
//! "message"}}`, the code from `app`'s table ([`app::Code`]), the status
//! from the code, the message in the request's language. Internal faults
//! are logged and answered with a bare "internal error".
//!
//! Handlers and extractors return an [`ApiError`] without knowing the
//! request's language; the [`localize`] layer, which saw the request's
//! `Accept-Language`, writes the message in it.

use crate::AppState;
use app::{AppError, Code, Lang};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub error: AppError,
    /// Seconds the caller should wait, when the refusal knows
    /// (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A refusal with `code` and no values.
    pub fn new(code: Code) -> ApiError {
        AppError::new(code).into()
    }

    /// Maps a parser's English message to a refusal with `code`.
    pub fn detail<E: std::fmt::Display>(code: Code) -> impl Fn(E) -> ApiError {
        move |detail| AppError::new(code).with_detail(detail).into()
    }

    pub fn code(&self) -> Code {
        self.error.code()
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.code())
    }
}

/// The HTTP status of a code.
pub fn status_of(code: Code) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError {
            error,
            retry_after: None,
        }
    }
}

/// The error body in `lang`.
pub fn body(error: &AppError, lang: Lang) -> serde_json::Value {
    let code = error.code();
    json!({ "error": {
        "code": code.name(),
        "type": code.kind().name(),
        "message": error.message(lang),
    }})
}

/// What [`localize`] needs to write the body again in the request's
/// language; carried in the response's extensions.
#[derive(Clone)]
struct Reply {
    error: AppError,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self.error {
            tracing::error!(detail = %detail, "internal error");
        }
        let status = self.status();
        // English until `localize` sees the request's language.
        let mut response = (status, axum::Json(body(&self.error, Lang::En))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
            .extensions_mut()
            .insert(Reply { error: self.error });
        response
    }
}

/// Writes every API error in the language the request prefers (Chinese
/// when `Accept-Language` puts `zh` first, English otherwise), and adds
/// `Retry-After` to a throttled refusal (the seconds the use case computed
/// from the app's clock).
pub async fn localize(State(_state): State<AppState>, request: Request, next: Next) -> Response {
    let lang = Lang::from_accept_language(
        request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let response = next.run(request).await;
    let Some(Reply { error }) = response.extensions().get::<Reply>().cloned() else {
        return with_retry_after(response);
    };
    let (mut parts, _) = response.into_parts();
    parts.extensions.remove::<Reply>();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.code()),
    );
    if let Some(seconds) = error.retry_after()
        && !parts.headers.contains_key(header::RETRY_AFTER)
    {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    let body = axum::Json(body(&error, lang)).into_response().into_body();
    with_retry_after(Response::from_parts(parts, body))
}

/// Every 429 tells the client when to come back, even one built outside our
/// error type (a layer's refusal) or without seconds of its own: a second
/// is the least promise.
fn with_retry_after(mut response: Response) -> Response {
    if response.status() == StatusCode::TOO_MANY_REQUESTS
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
    }
    response
}

/// The request's language, for handlers whose answer carries messages
/// (rejected rows of a batch).
pub struct AcceptLanguage(pub Lang);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AcceptLanguage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(AcceptLanguage(Lang::from_accept_language(
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )))
    }
}

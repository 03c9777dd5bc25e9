//! Extractors whose rejections speak the API's error shape, so malformed,
//! oversized or mistyped input gets a clear JSON error, not plain text.

use crate::AppState;
use crate::error::ApiError;
use app::{AppError, Code};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use domain::Principal;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<mime_like::Essence>().ok())
            .is_some_and(|essence| essence.is_json());
        if !is_json {
            return Err(ApiError::new(Code::ContentTypeInvalid));
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::from(
                        AppError::new(Code::BodyTooLarge)
                            .with("max", domain::limits::BODY_BYTES_MAX),
                    ),
                    _ => ApiError::detail(Code::BodyMalformed)("the body could not be read"),
                })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming the field a wrong value is in, in our words
/// rather than the framework's ("Failed to deserialize the JSON body…").
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    use serde_json::error::Category;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => value,
        Err(error) => {
            let path = error.path().to_string();
            let error = error.into_inner();
            return Err(match error.classify() {
                Category::Data => field_error(Code::BodyInvalid, &path, &error.to_string()),
                Category::Syntax | Category::Eof | Category::Io => {
                    ApiError::detail(Code::BodyMalformed)(error)
                }
            });
        }
    };
    deserializer
        .end()
        .map_err(ApiError::detail(Code::BodyMalformed))?;
    Ok(value)
}

/// A refusal naming the field: serde names a missing or unknown field in
/// its message at the path of the object around it, so the field's own
/// path is put together here. The position serde_json adds (" at line 1
/// column 30") is dropped: the field says more.
fn field_error(code: Code, path: &str, message: &str) -> ApiError {
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    let join = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |rest: &str| rest.split('`').next().unwrap_or_default().to_string();
    let (field, detail) = if let Some(rest) = message.strip_prefix("missing field `") {
        (join(&quoted(rest)), "is required".to_string())
    } else if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = quoted(rest);
        let expected = rest
            .split_once(", expected ")
            .map(|(_, expected)| format!("; expected {expected}"))
            .unwrap_or_default();
        // Here the path already ends at the unknown field.
        let field = if path.ends_with(name.as_str()) {
            path.to_string()
        } else {
            join(&name)
        };
        (field, format!("unknown field{expected}"))
    } else if path.is_empty() || path == "." {
        ("(body)".to_string(), message.to_string())
    } else {
        (path.to_string(), message.to_string())
    };
    AppError::new(code)
        .with("field", field)
        .with_detail(detail)
        .into()
}

/// Content types that carry JSON: `application/json` and `+json` types,
/// with any parameters.
mod mime_like {
    pub struct Essence(String);

    impl std::str::FromStr for Essence {
        type Err = ();
        fn from_str(value: &str) -> Result<Self, ()> {
            let essence = value
                .split(';')
                .next()
                .ok_or(())?
                .trim()
                .to_ascii_lowercase();
            Ok(Essence(essence))
        }
    }

    impl Essence {
        pub fn is_json(&self) -> bool {
            self.0 == "application/json"
                || (self.0.starts_with("application/") && self.0.ends_with("+json"))
        }
    }
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize::<_, T>(deserializer)
            .map(ApiQuery)
            .map_err(|error| {
                let path = error.path().to_string();
                field_error(
                    Code::QueryParamInvalid,
                    &path,
                    &error.into_inner().to_string(),
                )
            })
    }
}

pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|rejection| {
                // axum's text starts with its own "Invalid URL: ".
                let text = rejection.body_text();
                let detail = text.strip_prefix("Invalid URL: ").unwrap_or(&text);
                ApiError::detail(Code::PathInvalid)(detail.to_string())
            })
    }
}

/// The authenticated caller, from `Authorization: Bearer <token>`.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::new(Code::TokenMissing))?;
        Ok(Caller(state.app.authenticate(token.trim()).await?))
    }
}

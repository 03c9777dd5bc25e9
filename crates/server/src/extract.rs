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
                    ApiError::detail(Code::BodyMalformed)(syntax_words(&error))
                }
            });
        }
    };
    deserializer
        .end()
        .map_err(|error| ApiError::detail(Code::BodyMalformed)(syntax_words(&error)))?;
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
        ("(body)".to_string(), plain_words(message))
    } else {
        (path.to_string(), plain_words(message))
    };
    AppError::new(code)
        .with("field", field)
        .with_detail(detail)
        .into()
}

/// Where a body stopped being JSON, in our words (serde_json says "EOF
/// while parsing an object at line 1 column 12").
fn syntax_words(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Eof => "it ends too early",
        _ => "it breaks off",
    };
    format!(
        "{what} at line {} column {}; check quotes, commas and brackets",
        error.line(),
        error.column()
    )
}

/// A parser's message about a value, in our words: serde's "invalid type:
/// string \"x\", expected u32" becomes "must be a whole number, not the
/// text \"x\"". Messages of our own deserialisers pass as they are.
pub fn plain_words(message: &str) -> String {
    let kind = |expected: &str| -> String {
        let expected = expected.trim();
        match expected {
            "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more".to_string(),
            "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_string(),
            "f32" | "f64" => "a number".to_string(),
            "a boolean" => "true or false".to_string(),
            "a string" | "a borrowed string" => "text in quotes".to_string(),
            "a sequence" => "a list in [brackets]".to_string(),
            other if other.starts_with("struct ") || other == "a map" => {
                "an object in {braces}".to_string()
            }
            other => other.trim_matches('`').to_string(),
        }
    };
    let got = |found: &str| -> String {
        let found = found.trim();
        if let Some(text) = found.strip_prefix("string ") {
            format!("the text {text}")
        } else if let Some(number) = found
            .strip_prefix("integer ")
            .or_else(|| found.strip_prefix("floating point "))
        {
            format!("the number {}", number.trim_matches('`'))
        } else if let Some(value) = found.strip_prefix("boolean ") {
            value.trim_matches('`').to_string()
        } else {
            match found {
                "sequence" => "a list".to_string(),
                "map" => "an object".to_string(),
                "null" | "unit value" => "null".to_string(),
                other => other.to_string(),
            }
        }
    };
    if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("must be {}, not {}", kind(expected), got(found));
    }
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((value, expected)) = rest.split_once("`, expected ")
    {
        let choices: Vec<&str> = expected
            .trim_start_matches("one of ")
            .split(", ")
            .map(|c| c.trim_matches('`'))
            .collect();
        return format!("must be one of {}, not {value:?}", choices.join(", "));
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((length, expected)) = rest.split_once(", expected ")
    {
        return format!("has {length} items; it needs {expected}");
    }
    match message {
        "invalid digit found in string" => "must be a whole number (digits only)".to_string(),
        "number too large to fit in target type" | "number too small to fit in target type" => {
            "is out of range".to_string()
        }
        "cannot parse integer from empty string" => "must not be empty".to_string(),
        "invalid float literal" => "must be a number".to_string(),
        "input contains invalid characters"
        | "premature end of input"
        | "trailing input"
        | "input is out of range"
        | "input is not enough for unique date and time"
        | "no possible date and time matching input"
        | "bad or unsupported format string" => {
            "must be a date like 2026-12-07 (YYYY-MM-DD)".to_string()
        }
        other => other.to_string(),
    }
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
            .map_err(|rejection| ApiError::detail(Code::PathInvalid)(path_words(&rejection)))
    }
}

/// Why a path parameter was refused, in our words rather than axum's
/// ("Invalid URL: Cannot parse `abc` to a `i64`").
fn path_words(rejection: &axum::extract::rejection::PathRejection) -> String {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;
    let PathRejection::FailedToDeserializePathParams(error) = rejection else {
        return "the address could not be read; check it against /api/docs".to_string();
    };
    let kind = |expected: &str| match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
            "a whole number (an id)"
        }
        _ => "text",
    };
    match error.kind() {
        ErrorKind::ParseErrorAtKey {
            key,
            value,
            expected_type,
        } => format!(
            "{key} in the address must be {}, not {value:?}",
            kind(expected_type)
        ),
        ErrorKind::ParseErrorAtIndex {
            value,
            expected_type,
            ..
        }
        | ErrorKind::ParseError {
            value,
            expected_type,
        } => format!(
            "a part of the address must be {}, not {value:?}",
            kind(expected_type)
        ),
        ErrorKind::InvalidUtf8InPathParam { key } => {
            format!("{key} in the address is not valid UTF-8")
        }
        _ => "the address could not be read; check it against /api/docs".to_string(),
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

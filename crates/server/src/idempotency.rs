//! The `Idempotency-Key` header on POSTs (`app::idempotency`,
//! `docs/api.md`): a layer around the routes, so every POST gets it and no
//! handler can forget it. Without the header, or without a valid token (the
//! handler then refuses), a request passes through untouched.

use crate::AppState;
use crate::error::ApiError;
use app::idempotency::{ANSWER_BYTES_MAX, Claim};
use app::{AppError, Code};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on an answer sent again for a repeated request.
pub const REPLAYED: &str = "idempotent-replayed";

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let Ok(key) = key.to_str().map(str::to_string) else {
        return ApiError::from(
            AppError::new(Code::IdempotencyKeyInvalid).with("max", app::idempotency::KEY_CHARS_MAX),
        )
        .into_response();
    };
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_string());
    let Some(token) = token else {
        return next.run(request).await;
    };
    let Ok(principal) = state.app.authenticate(&token).await else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, domain::limits::BODY_BYTES_MAX).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::from(
                AppError::new(Code::BodyTooLarge).with("max", domain::limits::BODY_BYTES_MAX),
            )
            .into_response();
        }
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    let fingerprint = app::idempotency::fingerprint(parts.method.as_str(), target, &bytes);
    match state
        .app
        .claim_idempotent(&principal, &key, &fingerprint)
        .await
    {
        Err(error) => return ApiError::from(error).into_response(),
        Ok(Claim::Replay { status, body }) => return replay(status, body),
        Ok(Claim::Run) => {}
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !response.status().is_success() {
        release(&state, &principal, &key).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, ANSWER_BYTES_MAX).await {
        Ok(bytes) => bytes,
        Err(_) => {
            // Too large to keep (or a broken stream): the act is done, but
            // its answer cannot be sent again.
            release(&state, &principal, &key).await;
            return ApiError::from(AppError::Internal(
                "an answer too large to keep for an idempotency key".into(),
            ))
            .into_response();
        }
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => {
            if let Err(error) = state
                .app
                .finish_idempotent(&principal, &key, parts.status.as_u16(), text)
                .await
            {
                tracing::error!(%error, "keeping an idempotent answer failed");
            }
        }
        Err(_) => release(&state, &principal, &key).await,
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn release(state: &AppState, principal: &domain::Principal, key: &str) {
    if let Err(error) = state.app.release_idempotent(principal, key).await {
        tracing::error!(%error, "releasing an idempotency key failed");
    }
}

fn replay(status: u16, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

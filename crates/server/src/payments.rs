//! The payment provider's callback (issue 14, `docs/sending.md`). Public:
//! the provider's signature over the body is the authority, and
//! `App::payment_callback` makes a repeat harmless (nothing paid twice).

use crate::AppState;
use crate::error::ApiError;
use app::{AppError, Code};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

/// The header the provider's signature comes in (hex HMAC-SHA256 for the
/// simulated provider).
pub const SIGNATURE_HEADER: &str = "x-payment-signature";
/// A longer signature is refused before anything is checked.
pub const SIGNATURE_CHARS_MAX: usize = 512;

pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if signature.is_empty() || signature.len() > SIGNATURE_CHARS_MAX {
        return Err(AppError::new(Code::SendPaymentSignature)
            .with_detail(format!(
                "the {SIGNATURE_HEADER} header is missing or longer than {SIGNATURE_CHARS_MAX} characters"
            ))
            .into());
    }
    let outcome = state.app.payment_callback(&body, signature).await?;
    Ok(Json(json!({ "outcome": outcome })))
}

//! Idempotency keys for the JSON API's POSTs (issue 13, `docs/api.md`): a
//! request repeated with the same `Idempotency-Key` and the same method,
//! path and body gets the first answer back without acting again; the same
//! key with another request is refused. Keys are per caller and kept
//! [`KEY_HOURS`] hours; the retention job prunes older ones.
//!
//! The server claims the key before running the request, stores the answer
//! when it succeeded, and releases the key when it did not (a refused or
//! failed request acted on nothing, so trying it again is safe). A second
//! request that arrives while the first is still running is refused as
//! in progress rather than run beside it.

use crate::App;
use crate::error::{AppError, AppResult, Code};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use domain::Principal;
use sha2::{Digest, Sha256};

/// How long a key is remembered.
pub const KEY_HOURS: i64 = 24;
/// Longest key accepted (a UUID is 36).
pub const KEY_CHARS_MAX: usize = 255;
/// Largest answer kept for replay; a larger one is answered but not kept
/// (the key is released, as if the request had not been made with one).
pub const ANSWER_BYTES_MAX: usize = 4 * 1024 * 1024;

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or expired): run the request, then
    /// [`App::finish_idempotent`] or [`App::release_idempotent`].
    Run,
    /// The same request was answered before: send this answer again.
    Replay { status: u16, body: String },
}

/// A key is 1 to [`KEY_CHARS_MAX`] visible ASCII characters.
pub fn check_key(key: &str) -> AppResult<()> {
    if key.is_empty() || key.len() > KEY_CHARS_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::new(Code::IdempotencyKeyInvalid).with("max", KEY_CHARS_MAX));
    }
    Ok(())
}

/// What makes two requests "the same": method, path with query, and body.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(path_and_query.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    B64.encode(hash.finalize())
}

impl App {
    /// Claims `key` for the caller's request with `fingerprint`.
    pub async fn claim_idempotent(
        &self,
        principal: &Principal,
        key: &str,
        fingerprint: &str,
    ) -> AppResult<Claim> {
        check_key(key)?;
        let now = self.now();
        // Two rounds at most: the second after removing an expired key.
        for _ in 0..2 {
            if self
                .store
                .claim_idempotency_key(principal.user_id, key, fingerprint, now)
                .await?
            {
                return Ok(Claim::Run);
            }
            let Some(record) = self.store.idempotency_key(principal.user_id, key).await? else {
                // Released between our two statements: claim again.
                continue;
            };
            if record.created_at <= now - chrono::Duration::hours(KEY_HOURS) {
                self.store
                    .release_idempotency_key(principal.user_id, key)
                    .await?;
                continue;
            }
            if record.fingerprint != fingerprint {
                return Err(AppError::new(Code::IdempotencyKeyReused));
            }
            return match (record.status, record.response) {
                (Some(status), Some(body)) => Ok(Claim::Replay { status, body }),
                _ => Err(AppError::new(Code::IdempotencyKeyInProgress)),
            };
        }
        Err(AppError::new(Code::IdempotencyKeyInProgress))
    }

    /// Keeps the answer of a claimed request for replay.
    pub async fn finish_idempotent(
        &self,
        principal: &Principal,
        key: &str,
        status: u16,
        body: &str,
    ) -> AppResult<()> {
        Ok(self
            .store
            .finish_idempotency_key(principal.user_id, key, status, body)
            .await?)
    }

    /// Forgets a claimed key whose request did not succeed.
    pub async fn release_idempotent(&self, principal: &Principal, key: &str) -> AppResult<()> {
        Ok(self
            .store
            .release_idempotency_key(principal.user_id, key)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(check_key("8f14e45f-ceea-467f-a0d6-0d2f3b8b6a11").is_ok());
        for bad in ["", "with space", "中文", &"k".repeat(KEY_CHARS_MAX + 1)] {
            assert_eq!(
                check_key(bad).unwrap_err().code(),
                Code::IdempotencyKeyInvalid
            );
        }
    }

    #[test]
    fn the_fingerprint_covers_method_path_and_body() {
        let base = fingerprint("POST", "/api/x", b"{}");
        assert_eq!(base, fingerprint("POST", "/api/x", b"{}"));
        assert_ne!(base, fingerprint("PUT", "/api/x", b"{}"));
        assert_ne!(base, fingerprint("POST", "/api/y", b"{}"));
        assert_ne!(base, fingerprint("POST", "/api/x", b"{ }"));
    }
}

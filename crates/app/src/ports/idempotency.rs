//! The API's idempotency keys (`idempotency_keys`, migration 0015): one row
//! per caller and key, claimed before the request runs and holding its
//! answer once it succeeded (`app::idempotency`).

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A claimed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    /// The answer's status and body, once the request succeeded; `None`
    /// while it is running.
    pub status: Option<u16>,
    pub response: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait IdempotencyStore {
    /// Claims `key` for `user_id`: true if this call wrote the row, false
    /// if the caller already holds the key (the database decides, so two
    /// concurrent requests cannot both claim it).
    async fn claim_idempotency_key(
        &self,
        user_id: i64,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn idempotency_key(
        &self,
        user_id: i64,
        key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>>;
    /// Keeps the answer of the request that claimed the key; the body is
    /// sealed (it may hold a recipient's name).
    async fn finish_idempotency_key(
        &self,
        user_id: i64,
        key: &str,
        status: u16,
        response: &str,
    ) -> StoreResult<()>;
    async fn release_idempotency_key(&self, user_id: i64, key: &str) -> StoreResult<()>;
}

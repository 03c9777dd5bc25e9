//! The messages' outbox: what must leave the system for a person (SMS),
//! written in the same transaction as the change that caused it.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A message that must leave the system, written in the same transaction as
/// the change that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub topic: String,
    /// Sending the same key twice is refused by the database.
    pub dedup_key: String,
    /// Pending messages with the same merge key are sent as one (parcels
    /// arriving together for one recipient).
    pub merge_key: Option<String>,
    pub payload: serde_json::Value,
    pub available_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct PendingMessage {
    pub id: i64,
    pub topic: String,
    pub merge_key: Option<String>,
    pub payload: serde_json::Value,
    pub attempts: u32,
}
#[async_trait]
pub trait OutboxTx: Send {
    /// Writes to the outbox unless the dedup key exists; false if it did.
    async fn enqueue(&mut self, message: &OutboxMessage, now: DateTime<Utc>) -> StoreResult<bool>;
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn pending_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<PendingMessage>>;
    async fn mark_sent(&self, ids: &[i64], now: DateTime<Utc>) -> StoreResult<()>;
    async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
        give_up: bool,
    ) -> StoreResult<()>;
}

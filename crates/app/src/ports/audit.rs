//! The audit trail (`audit_log`): appended inside the transaction of the
//! act it records, read page by page to verify or to show.

use super::StoreResult;
use async_trait::async_trait;
pub use domain::audit::AuditRow;

/// Which rows to show; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub act: Option<String>,
    pub actor_user_id: Option<i64>,
    pub station_id: Option<i64>,
    pub object_kind: Option<String>,
    pub object_id: Option<i64>,
    /// Unix milliseconds, inclusive.
    pub from_ms: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub to_ms: Option<i64>,
    /// Rows with a smaller sequence only (newest first, paging back).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

#[async_trait]
pub trait AuditTx: Send {
    /// Serialises appenders until this transaction ends and returns the
    /// last row's sequence and hash. PostgreSQL takes a transaction-scoped
    /// advisory lock; SQLite's one writer is already alone.
    async fn lock_audit_head(&mut self) -> StoreResult<Option<(i64, String)>>;
    async fn insert_audit(&mut self, row: &AuditRow) -> StoreResult<()>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Rows with `seq > after_seq` in sequence order, at most `limit`.
    async fn audit_rows_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRow>>;
    /// The last row, if any.
    async fn audit_head(&self) -> StoreResult<Option<AuditRow>>;
    /// Newest first.
    async fn audit_search(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditRow>>;
}

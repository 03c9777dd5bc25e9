//! Maker–checker requests (issue 12, point 5; `domain::approval`): one row
//! per request, its decision and, for a single-use approval, its use.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::approval::Kind;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ApprovalRecord {
    pub id: i64,
    pub kind: Kind,
    /// `domain::approval::Scope::canonical`: ids, codes and dates only.
    pub scope: String,
    pub requested_by: i64,
    pub requester: String,
    pub requested_at: DateTime<Utc>,
    /// `Some(true)` approved, `Some(false)` refused.
    pub decision: Option<bool>,
    pub decided_by: Option<i64>,
    pub decider: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The checker's words (why refused, or a condition).
    pub note: Option<String>,
    pub used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewApproval {
    pub kind: Kind,
    pub scope: String,
    pub requested_by: i64,
    pub requested_at: DateTime<Utc>,
}

/// Which requests a list shows.
#[derive(Debug, Clone, Copy)]
pub enum ApprovalFilter {
    /// Undecided requests made since the given time, anyone's.
    UndecidedSince(DateTime<Utc>),
    /// One person's requests, newest first.
    MadeBy(i64),
}

#[async_trait]
pub trait ApprovalTx: Send {
    /// The maker's newest request for this scope.
    async fn latest_approval(
        &mut self,
        requested_by: i64,
        scope: &str,
    ) -> StoreResult<Option<ApprovalRecord>>;
    async fn approval_in_tx(&mut self, approval_id: i64) -> StoreResult<Option<ApprovalRecord>>;
    async fn insert_approval(&mut self, approval: &NewApproval) -> StoreResult<i64>;
    /// Decides an undecided request; false when it was decided already.
    async fn decide_approval(
        &mut self,
        approval_id: i64,
        decided_by: i64,
        approved: bool,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Marks a single-use approval used; false when it was used already.
    async fn use_approval(&mut self, approval_id: i64, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Whole phones this person revealed since `since` (from the audit
    /// trail, in the act's transaction so two reveals cannot both be "the
    /// last one allowed").
    async fn phone_reveals_since(&mut self, user_id: i64, since: DateTime<Utc>)
    -> StoreResult<u64>;
}

#[async_trait]
pub trait ApprovalStore: Send + Sync {
    async fn approvals(
        &self,
        filter: ApprovalFilter,
        limit: u32,
    ) -> StoreResult<Vec<ApprovalRecord>>;
    async fn approval(&self, approval_id: i64) -> StoreResult<Option<ApprovalRecord>>;
}

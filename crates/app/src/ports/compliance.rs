//! Compliance checks' queries and their findings (issue 12, point 6). Each
//! rule of `domain::compliance` is one query here that returns the breaches
//! it finds now; findings and their history are rows the checks and the
//! compliance officer write.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::Role;
use domain::compliance::{FindingStatus, Rule, Thresholds};
use serde::Serialize;

/// A breach a rule's query found: what it is about (a stable key, so a
/// re-run finds the same subject), where, and its evidence (ids and
/// counts as JSON, never personal data).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub subject: String,
    pub station_id: Option<i64>,
    /// The user the breach is about, when it is a person's (reveals).
    pub user_id: Option<i64>,
    pub evidence: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingRecord {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub station_id: Option<i64>,
    /// JSON text: ids and counts.
    pub evidence: String,
    pub responsible_user_id: Option<i64>,
    pub responsible: Option<String>,
    pub due_at: DateTime<Utc>,
    pub status: FindingStatus,
    pub found_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub status: FindingStatus,
    pub responsible_user_id: Option<i64>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewFinding {
    pub rule: Rule,
    pub subject: String,
    pub station_id: Option<i64>,
    pub evidence: String,
    pub responsible_user_id: Option<i64>,
    pub due_at: DateTime<Utc>,
    pub found_at: DateTime<Utc>,
}

#[async_trait]
pub trait ComplianceTx: Send {
    /// The finding for this rule and subject that is not fixed yet, if any.
    async fn unfixed_finding(&mut self, rule: Rule, subject: &str) -> StoreResult<Option<i64>>;
    async fn insert_finding(&mut self, finding: &NewFinding) -> StoreResult<i64>;
    /// A re-run saw the breach again.
    async fn touch_finding(
        &mut self,
        finding_id: i64,
        evidence: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn set_finding(
        &mut self,
        finding_id: i64,
        status: FindingStatus,
        responsible_user_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn insert_finding_event(
        &mut self,
        finding_id: i64,
        event: &FindingEvent,
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait ComplianceStore: Send + Sync {
    /// The breaches of `rule` as of `now`.
    async fn rule_candidates(
        &self,
        rule: Rule,
        now: DateTime<Utc>,
        thresholds: &Thresholds,
    ) -> StoreResult<Vec<Candidate>>;
    /// Who answers for a breach: the first enabled user of `role` bound to
    /// the station (or any, without a station), by id.
    async fn responsible_for(
        &self,
        role: Role,
        station_id: Option<i64>,
    ) -> StoreResult<Option<i64>>;
    /// Findings, oldest first; `status` narrows.
    async fn findings(
        &self,
        status: Option<FindingStatus>,
        limit: u32,
    ) -> StoreResult<Vec<FindingRecord>>;
    async fn finding(&self, finding_id: i64) -> StoreResult<Option<FindingRecord>>;
    async fn finding_history(&self, finding_id: i64) -> StoreResult<Vec<FindingEvent>>;
    /// Remembers a successful sign-in (the idle-account rule reads it).
    async fn note_sign_in(&self, user_id: i64, now: DateTime<Utc>) -> StoreResult<()>;
}

//! Claims (认领) and write-offs (核销), branch `claims` (issue 15, point 4):
//! a receipt claimed once for a debtor, and the debtor's credit applied to
//! its invoices, each application a payment on one statement. The money
//! itself moves by `crate::ledger::post` in the same transaction.

use super::StoreResult;
use super::ledger::{Account, AccountRecord, ReceiptRecord, StatementRecord};
use async_trait::async_trait;
use domain::{Carrier, Fen};
use serde::Serialize;

/// A receipt claimed for a debtor (认领): once per receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimRecord {
    /// The claim's own id (a receipt un-claimed and claimed again has
    /// several claims, one live); 0 before it is kept.
    pub id: i64,
    pub receipt_id: i64,
    pub carrier: Carrier,
    pub amount: Fen,
    /// `claim:<receipt>`: unapplied cash debited, the carrier's credit
    /// credited.
    pub transfer_id: String,
    pub at_ms: i64,
    pub by: String,
    /// Un-claimed (branch money2): when, by whom, why, and the reversing
    /// transfer (the debtor's credit → unapplied cash).
    pub ended: Option<ClaimEnd>,
}

/// How a claim ended: un-claimed for the wrong debtor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimEnd {
    pub at_ms: i64,
    pub by: String,
    pub reason: String,
    pub transfer_id: String,
}

/// One write-off (核销): the debtor's credit applied to its invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteOffRecord {
    pub id: i64,
    pub key: String,
    pub carrier: Carrier,
    pub amount: Fen,
    pub at_ms: i64,
    pub by: String,
    /// The second person's approval it used, above the threshold.
    pub approval_id: Option<i64>,
}

/// A write-off about to be written.
#[derive(Debug, Clone)]
pub struct NewWriteOff {
    pub key: String,
    pub carrier: Carrier,
    pub amount: Fen,
    pub at_ms: i64,
    pub by: String,
    pub approval_id: Option<i64>,
}

/// Money applied to one invoice (a statement), or given back from it to
/// the debtor's credit (a negative amount: a dispute resolved after it was
/// paid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRecord {
    pub id: i64,
    /// `None` for money given back by a resolved dispute.
    pub write_off_id: Option<i64>,
    pub statement_id: i64,
    pub carrier: Carrier,
    pub amount: Fen,
    pub transfer_id: String,
    pub at_ms: i64,
}

#[async_trait]
pub trait ClaimsTx: Send {
    /// An account's totals as this transaction sees them.
    async fn account_in(&mut self, account: &Account) -> StoreResult<Option<AccountRecord>>;
    async fn receipt_in(&mut self, id: i64) -> StoreResult<Option<ReceiptRecord>>;
    /// Keeps the claim unless the receipt is claimed already (then
    /// `false`; a concurrent claimant waits for the first to end).
    async fn insert_claim(&mut self, claim: &ClaimRecord) -> StoreResult<bool>;
    /// The receipt's live (not ended) claim.
    async fn claim_in(&mut self, receipt_id: i64) -> StoreResult<Option<ClaimRecord>>;
    /// How many claims the receipt has had, ended ones included.
    async fn claims_count_in(&mut self, receipt_id: i64) -> StoreResult<i64>;
    /// Ends a live claim (once).
    async fn end_claim(&mut self, claim_id: i64, end: &ClaimEnd) -> StoreResult<()>;
    /// The carrier's statements, locked by id until this transaction ends
    /// (PostgreSQL; on SQLite the one writer is alone).
    async fn lock_statements_of(&mut self, carrier: Carrier) -> StoreResult<Vec<StatementRecord>>;
    async fn write_off_by_key(&mut self, key: &str) -> StoreResult<Option<WriteOffRecord>>;
    async fn insert_write_off(&mut self, new: &NewWriteOff) -> StoreResult<i64>;
    async fn payments_of_write_off(&mut self, write_off_id: i64)
    -> StoreResult<Vec<PaymentRecord>>;
    /// Appends the payment (its `id` is ignored) and adds its amount to its
    /// statement's paid total; returns its id.
    async fn insert_invoice_payment(&mut self, payment: &PaymentRecord) -> StoreResult<i64>;
    // branch money2 (issue 15, session 10): collection plans.
    /// Makes the plan unless its kind has one starting on its first day:
    /// its id, or `None`.
    async fn insert_plan(&mut self, new: &NewPlan) -> StoreResult<Option<i64>>;
    async fn plan_of_period_in(
        &mut self,
        period: domain::collection::Period,
    ) -> StoreResult<Option<PlanRecord>>;
    /// The plan, locked until this transaction ends (PostgreSQL; on SQLite
    /// the one writer is alone).
    async fn lock_plan(&mut self, id: i64) -> StoreResult<Option<PlanRecord>>;
    async fn plan_targets_in(&mut self, plan_id: i64) -> StoreResult<Vec<PlanTarget>>;
    /// Replaces the plan's targets and note, noting who changed it when.
    async fn replace_plan_targets(
        &mut self,
        plan_id: i64,
        note: &str,
        targets: &[NewPlanTarget],
        at_ms: i64,
        by: &str,
    ) -> StoreResult<()>;
    // branch money2: exposure control.
    async fn credit_rule_in(&mut self, carrier: Carrier) -> StoreResult<Option<CreditRule>>;
    async fn put_credit_rule(&mut self, rule: &CreditRule) -> StoreResult<()>;
    /// The carrier's open (not cleared) incident, locked until this
    /// transaction ends (PostgreSQL).
    async fn open_exposure_incident_in(
        &mut self,
        carrier: Carrier,
    ) -> StoreResult<Option<IncidentRecord>>;
    /// Opens an incident unless the carrier has one open: its id, or `None`.
    async fn insert_exposure_incident(
        &mut self,
        incident: &IncidentRecord,
    ) -> StoreResult<Option<i64>>;
    /// Writes an incident's held, released and cleared fields.
    async fn update_exposure_incident(&mut self, incident: &IncidentRecord) -> StoreResult<()>;
}

#[async_trait]
pub trait ClaimsStore: Send + Sync {
    /// Receipts with no claim, oldest bank day first.
    async fn unclaimed_receipts(&self, limit: u32) -> StoreResult<Vec<ReceiptRecord>>;
    /// A carrier's claims, newest first.
    async fn claims_of(&self, carrier: Carrier, limit: u32) -> StoreResult<Vec<ClaimRecord>>;
    /// A carrier's payments, newest first.
    async fn payments_of(&self, carrier: Carrier, limit: u32) -> StoreResult<Vec<PaymentRecord>>;
    /// Every claim, by receipt (the model check's view).
    async fn all_claims(&self) -> StoreResult<Vec<ClaimRecord>>;
    // branch money2 (issue 15, session 10): collection plans.
    /// Plans, the latest first day first.
    async fn collection_plans(&self, limit: u32) -> StoreResult<Vec<PlanRecord>>;
    async fn collection_plan(&self, id: i64) -> StoreResult<Option<PlanRecord>>;
    /// A plan's targets, by person then debtor.
    async fn plan_targets(&self, plan_id: i64) -> StoreResult<Vec<PlanTarget>>;
    /// Σ of the transfers of `kind` crediting each carrier's receivable
    /// with `from_ms <= at < to_ms` (which kinds count as collected is the
    /// caller's rule).
    async fn credited_between(
        &self,
        kind: domain::ledger::TransferKind,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<(Carrier, Fen)>>;
    // branch money2: exposure control.
    async fn credit_rules(&self) -> StoreResult<Vec<CreditRule>>;
    /// Open (not cleared) incidents, by carrier.
    async fn open_exposure_incidents(&self) -> StoreResult<Vec<IncidentRecord>>;
}

// branch money2 (issue 15, session 10): collection plans (周、旬清欠计划).

/// A collection plan for a week or a ten-day period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanRecord {
    pub id: i64,
    pub period: domain::collection::Period,
    pub note: String,
    pub created_at_ms: i64,
    pub created_by: String,
    pub updated_at_ms: i64,
    pub updated_by: String,
}

/// A plan about to be made.
#[derive(Debug, Clone)]
pub struct NewPlan {
    pub period: domain::collection::Period,
    pub note: String,
    pub at_ms: i64,
    pub by: String,
}

/// One target of a plan: a responsible person's whole target (`carrier`
/// `None`) or their target for one debtor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanTarget {
    pub user_id: i64,
    pub username: String,
    pub name: String,
    pub carrier: Option<Carrier>,
    pub target: Fen,
}

/// A target about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlanTarget {
    pub user_id: i64,
    pub carrier: Option<Carrier>,
    pub target: Fen,
}

// branch money2 (issue 15, session 10): exposure control.

/// A carrier's credit limit and what happens past it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditRule {
    pub carrier: Carrier,
    /// `None`: no limit (debt over 90 days still counts).
    pub limit: Option<Fen>,
    /// Hold new manifests from the carrier while an incident is open and
    /// not released.
    pub hold: bool,
    pub updated_at_ms: i64,
    pub updated_by: String,
}

/// A carrier past its limit or owing over 90 days: alerted once when it
/// opens; held when the rule says so, until finance releases it; cleared
/// when the debt is back within terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentRecord {
    pub id: i64,
    pub carrier: Carrier,
    /// Receivable less credit when it opened.
    pub exposure: Fen,
    /// Owed on invoices more than 90 days overdue when it opened.
    pub over_90: Fen,
    pub limit: Option<Fen>,
    pub held: bool,
    pub opened_at_ms: i64,
    pub released_at_ms: Option<i64>,
    pub released_by: Option<String>,
    pub cleared_at_ms: Option<i64>,
}

impl IncidentRecord {
    /// New manifests from the carrier are refused.
    pub fn holds(&self) -> bool {
        self.held && self.released_at_ms.is_none() && self.cleared_at_ms.is_none()
    }
}

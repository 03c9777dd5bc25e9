//! County co-delivery's port: agreements, routes, contractors, bags, the
//! route decision per parcel, the manual queue and the fee ledger.

use super::{ParcelRecord, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::Fen;
use domain::county::{CountyConfig, Mode, Period, Target, Terms, Unresolved};
use domain::{Carrier, Phone, WaybillNo};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize)]
pub struct AgreementVersion {
    pub id: i64,
    pub agreement_id: i64,
    pub carrier: Carrier,
    pub version: u32,
    pub period: Period,
    pub terms: Terms,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteRecord {
    pub id: i64,
    pub name: String,
    pub townships: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContractorRecord {
    pub id: i64,
    pub name: String,
    pub township: String,
    pub phone: Option<Phone>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BagStatus {
    /// Parcels are still being sorted into it.
    Open,
    /// Closed at the centre (sealed, labelled), waiting to be handed over;
    /// the next parcel for its target opens a new bag.
    Closed,
    /// Handed to the route's driver or the contractor.
    Dispatched,
    /// Taken in whole by the receiving station.
    Accepted,
}

impl BagStatus {
    pub fn code(self) -> &'static str {
        match self {
            BagStatus::Open => "open",
            BagStatus::Closed => "closed",
            BagStatus::Dispatched => "dispatched",
            BagStatus::Accepted => "accepted",
        }
    }

    pub fn parse(code: &str) -> Option<BagStatus> {
        [
            BagStatus::Open,
            BagStatus::Closed,
            BagStatus::Dispatched,
            BagStatus::Accepted,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BagRecord {
    pub id: i64,
    pub day: NaiveDate,
    pub mode: Mode,
    pub target: Target,
    pub status: BagStatus,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
}

impl BagRecord {
    /// What the bag label's QR code says. Not signed: a printed label can be
    /// photocopied, so a signature would prove nothing about the bag; the
    /// authority is the scanning user's right over the bag's destination,
    /// which `accept_bag` checks. The prefix keeps a waybill scanned by
    /// mistake from being taken for a bag.
    pub fn label_payload(&self) -> String {
        format!("YZBAG:{}", self.id)
    }
}

/// Where the centre sent a parcel.
#[derive(Debug, Clone, Serialize)]
pub struct RoutingRecord {
    pub parcel_id: i64,
    pub carrier: Carrier,
    pub township: String,
    pub village: Option<String>,
    pub mode: Mode,
    pub target: Target,
    pub bag_id: i64,
    pub decided_at: DateTime<Utc>,
    pub decided_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManualItem {
    pub id: i64,
    pub parcel_id: i64,
    pub carrier: Carrier,
    pub reason: String,
    pub detail: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One delivery fee, ledger-ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewFee {
    pub carrier: Carrier,
    pub agreement_id: i64,
    pub agreement_version: u32,
    pub parcel_id: i64,
    /// The idempotency key of the event that made the parcel delivered.
    pub event_key: String,
    pub event_kind: String,
    pub mode: Mode,
    pub township: String,
    pub weight_grams: Option<u32>,
    /// Index of the weight bracket in the agreement's fees for the mode.
    pub bracket: u32,
    pub amount: Fen,
    pub at: DateTime<Utc>,
    pub day: NaiveDate,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeeRecord {
    pub id: i64,
    /// The parcel's waybill number, so a carrier matches fees to its own
    /// records without a look-up per row.
    pub waybill: String,
    #[serde(flatten)]
    pub fee: NewFee,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeSummaryRow {
    pub mode: Mode,
    pub agreement_version: u32,
    pub bracket: u32,
    pub n_parcels: u64,
    pub total: Fen,
}

#[async_trait]
pub trait CountyTx: Send {
    /// Every version of the carrier's agreement (a handful), read inside
    /// the transaction that needs the one in effect
    /// (`domain::county::Period::effective` picks it).
    async fn agreement_versions(&mut self, carrier: Carrier) -> StoreResult<Vec<AgreementVersion>>;
    /// Routes, contractors and stations, for the route decision.
    async fn county_config(&mut self) -> StoreResult<CountyConfig>;
    /// The open bag with this key (`Target::bag_key_on`), created for the
    /// target if there is none.
    async fn open_bag(
        &mut self,
        key: &str,
        target: Target,
        mode: Mode,
        day: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<BagRecord>;
    async fn bag(&mut self, bag_id: i64) -> StoreResult<Option<BagRecord>>;
    /// Moves a bag from one status to the next; false if it was not in `from`.
    async fn set_bag_status(
        &mut self,
        bag_id: i64,
        from: BagStatus,
        to: BagStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The parcels put into a bag, in the order they went in.
    async fn bag_parcel_ids(&mut self, bag_id: i64) -> StoreResult<Vec<i64>>;
    /// Records the route decision; false if the parcel already has one.
    async fn insert_routing(&mut self, routing: &RoutingRecord) -> StoreResult<bool>;
    async fn routing(&mut self, parcel_id: i64) -> StoreResult<Option<RoutingRecord>>;
    /// Queues a parcel for manual resolution; false if it is already queued.
    async fn enqueue_manual(
        &mut self,
        parcel_id: i64,
        carrier: Carrier,
        reason: Unresolved,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The parcel's queue entry, resolved or not.
    async fn manual_entry(&mut self, parcel_id: i64) -> StoreResult<Option<ManualItem>>;
    /// Marks the parcel's open queue entry resolved; false if none was open.
    async fn resolve_manual(
        &mut self,
        parcel_id: i64,
        actor: &str,
        resolution: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Appends a fee unless the parcel or the event already has one; false
    /// if it did. There is no update or delete: the ledger is append-only.
    async fn insert_fee(&mut self, fee: &NewFee) -> StoreResult<bool>;
    // Configuration changes, in the transaction so their audit rows commit
    // with them.
    /// Adds the next version of the carrier's agreement (creating the
    /// agreement on its first version).
    async fn create_agreement_version(
        &mut self,
        carrier: Carrier,
        period: Period,
        terms: &Terms,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<AgreementVersion>;
    async fn create_route(
        &mut self,
        name: &str,
        townships: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<RouteRecord>;
    async fn create_contractor(
        &mut self,
        name: &str,
        township: &str,
        phone: Option<&Phone>,
        now: DateTime<Utc>,
    ) -> StoreResult<ContractorRecord>;
}

#[async_trait]
pub trait CountyStore: Send + Sync {
    /// Every version of the carrier's agreement, oldest first.
    async fn agreement_versions(&self, carrier: Carrier) -> StoreResult<Vec<AgreementVersion>>;
    async fn routes(&self) -> StoreResult<Vec<RouteRecord>>;
    async fn contractors(&self) -> StoreResult<Vec<ContractorRecord>>;
    async fn bag(&self, bag_id: i64) -> StoreResult<Option<BagRecord>>;
    /// Bags of one Shanghai day, by id.
    async fn bags(&self, day: chrono::NaiveDate) -> StoreResult<Vec<BagRecord>>;
    /// Each parcel in the bag with its carrier and waybill.
    async fn bag_parcels(&self, bag_id: i64) -> StoreResult<Vec<(i64, Carrier, WaybillNo)>>;
    /// Arrival scans at the centre in `[from, to)` (events `arrived_at_centre`).
    async fn count_centre_arrivals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Parcels waiting for a person, oldest first.
    async fn manual_queue(&self, limit: u32) -> StoreResult<Vec<ManualItem>>;
    /// The carrier's fees on Shanghai days `from..=to`, by id, after `after_id`.
    async fn fees(
        &self,
        carrier: Carrier,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<FeeRecord>>;
    /// Count and sum per mode, agreement version and bracket.
    async fn fee_summary(
        &self,
        carrier: Carrier,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<FeeSummaryRow>>;
    /// Announced in `[from, to)` but never seen anywhere (still announced),
    /// and arrived at the centre in `[from, to)` without ever being announced.
    async fn reconcile(
        &self,
        carrier: Carrier,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<(Vec<ParcelRecord>, Vec<ParcelRecord>)>;
}

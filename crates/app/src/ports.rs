//! The ports the use cases need from the outside world — storage, a clock,
//! a message sender — and the plain records that cross them. Adapters live in
//! other crates (`store`, the binary); nothing here knows SQL or HTTP.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::station::{HoldingPolicy, SizeClass, SlotSpec};
use domain::{Carrier, CodeFormat, ParcelState, Phone, ProblemKind, Role, WaybillNo};
use serde::Serialize;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule in the database refused the write (an active pickup
    /// code or a slot place taken by a concurrent writer).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage failure: {0}")]
    Backend(String),
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A point on the map, WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    /// Stored as whole millionths of a degree (about 0.1 m).
    pub fn to_e6(self) -> (i64, i64) {
        (
            (self.lat * 1e6).round() as i64,
            (self.lon * 1e6).round() as i64,
        )
    }

    pub fn from_e6(lat_e6: i64, lon_e6: i64) -> GeoPoint {
        GeoPoint {
            lat: lat_e6 as f64 / 1e6,
            lon: lon_e6 as f64 / 1e6,
        }
    }

    pub fn is_valid(self) -> bool {
        (-90.0..=90.0).contains(&self.lat) && (-180.0..=180.0).contains(&self.lon)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StationRecord {
    pub id: i64,
    pub name: String,
    pub township: String,
    pub division_code: Option<String>,
    pub location: Option<GeoPoint>,
    #[serde(serialize_with = "serialize_format")]
    pub code_format: CodeFormat,
    pub holding: HoldingPolicy,
}

fn serialize_format<S: serde::Serializer>(
    format: &CodeFormat,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(format.source())
}

#[derive(Debug, Clone)]
pub struct NewStation {
    pub name: String,
    pub township: String,
    pub division_code: Option<String>,
    pub location: Option<GeoPoint>,
    pub code_format: CodeFormat,
    pub holding: HoldingPolicy,
    pub slots: Vec<SlotSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotRecord {
    pub id: i64,
    pub station_id: i64,
    pub shelf: String,
    pub tier: u32,
    pub slot: u32,
    pub size: SizeClass,
    pub capacity: u32,
}

impl SlotRecord {
    /// `A-3-07`, how a keeper names a slot.
    pub fn label(&self) -> String {
        format!("{}-{}-{:02}", self.shelf, self.tier, self.slot)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SlotOccupancy {
    #[serde(flatten)]
    pub slot: SlotRecord,
    pub n_parcels: u32,
    pub n_overdue: u32,
}

/// One parcel as stored. The phone is whole here; masking happens where it
/// leaves the core (serialisation masks by default).
#[derive(Debug, Clone, Serialize)]
pub struct ParcelRecord {
    pub id: i64,
    pub carrier: Carrier,
    pub waybill: WaybillNo,
    pub state: ParcelState,
    pub problem: Option<ProblemKind>,
    pub recipient_name: Option<String>,
    pub phone: Option<Phone>,
    pub address: Option<String>,
    pub size: SizeClass,
    /// Weight from the manifest or the centre's scale; fees use it.
    pub weight_grams: Option<u32>,
    /// Per-parcel consent to station delivery, given with the manifest or
    /// recorded later from the recipient.
    pub consent: bool,
    pub station_id: Option<i64>,
    pub slot_id: Option<i64>,
    pub pickup_code: Option<String>,
    pub stored_at: Option<DateTime<Utc>>,
    pub reminders_sent: Vec<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; `update_parcel` refuses a stale version, so
    /// two concurrent changes to one parcel cannot both land.
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct NewParcel {
    pub carrier: Carrier,
    pub waybill: WaybillNo,
    pub state: ParcelState,
    pub recipient_name: Option<String>,
    pub phone: Option<Phone>,
    pub address: Option<String>,
    pub size: SizeClass,
    pub weight_grams: Option<u32>,
    pub consent: bool,
    pub station_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventRecord {
    pub id: i64,
    pub parcel_id: i64,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub station_id: Option<i64>,
    pub idempotency_key: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub parcel_id: i64,
    pub kind: String,
    pub from_state: Option<ParcelState>,
    pub to_state: ParcelState,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub station_id: Option<i64>,
    pub idempotency_key: String,
    pub details: serde_json::Value,
}

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

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub carrier: Option<Carrier>,
    pub station_ids: Vec<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct ParcelFilter {
    pub station_id: Option<i64>,
    pub carrier: Option<Carrier>,
    pub state: Option<ParcelState>,
    pub pickup_code: Option<String>,
    pub phone_tail: Option<String>,
    pub waybill: Option<String>,
    /// Only parcels stored at or before this instant (overdue lists).
    pub stored_before: Option<DateTime<Utc>>,
    pub after_id: Option<i64>,
    pub limit: u32,
}

/// Work inside one transaction. Dropping it without `commit` rolls back.
#[async_trait]
pub trait Tx: Send {
    async fn station(&mut self, id: i64) -> StoreResult<Option<StationRecord>>;
    async fn parcel(&mut self, id: i64) -> StoreResult<Option<ParcelRecord>>;
    async fn parcel_by_waybill(
        &mut self,
        carrier: Carrier,
        waybill: &WaybillNo,
    ) -> StoreResult<Option<ParcelRecord>>;
    /// Every parcel with this waybill number, whatever its carrier (a few
    /// at most: carriers' number spaces rarely collide).
    async fn parcels_with_waybill(&mut self, waybill: &WaybillNo)
    -> StoreResult<Vec<ParcelRecord>>;
    async fn insert_parcel(
        &mut self,
        parcel: &NewParcel,
        now: DateTime<Utc>,
    ) -> StoreResult<ParcelRecord>;
    /// Inserts, in as few statements as the database allows, every parcel
    /// whose (carrier, waybill) is not stored yet — duplicates within the
    /// slice too — and returns the inserted ones (in no particular order).
    /// The manifest import's fast path: one round trip per many rows instead
    /// of a look-up and an insert per row.
    async fn insert_new_parcels(
        &mut self,
        parcels: &[NewParcel],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ParcelRecord>>;
    /// Inserts events in bulk, skipping those whose idempotency key exists;
    /// returns how many were inserted.
    async fn insert_events(&mut self, events: &[NewEvent]) -> StoreResult<u64>;
    /// Writes the parcel's mutable fields (its `updated_at` set by the caller
    /// from the clock port) back and bumps its version;
    /// a conflict if `parcel.version` is no longer the stored one.
    async fn update_parcel(&mut self, parcel: &ParcelRecord) -> StoreResult<()>;
    /// Locks the station for the rest of the transaction. Every change to a
    /// station's shelves starts here, so two writers never race for one slot
    /// or one code; stations do not wait on each other.
    async fn lock_station(&mut self, station_id: i64) -> StoreResult<()>;
    /// The station's next pickup sequence number.
    async fn next_sequence(&mut self, station_id: i64) -> StoreResult<u32>;
    async fn code_active(&mut self, station_id: i64, code: &str) -> StoreResult<bool>;
    /// A free place in the first slot (in shelf order) whose size is one of
    /// `sizes`, tried in that order; returns the slot and the place index.
    async fn free_place(
        &mut self,
        station_id: i64,
        sizes: &[SizeClass],
    ) -> StoreResult<Option<(SlotRecord, u32)>>;
    /// Puts the parcel on that place; a place already taken is a conflict.
    async fn occupy(&mut self, slot_id: i64, place: u32, parcel_id: i64) -> StoreResult<()>;
    /// A free place in one given slot.
    async fn free_place_in(&mut self, slot_id: i64) -> StoreResult<Option<u32>>;
    async fn release_place(&mut self, parcel_id: i64) -> StoreResult<()>;
    async fn slot(&mut self, slot_id: i64) -> StoreResult<Option<SlotRecord>>;
    /// Inserts the event unless its idempotency key exists; false if it did.
    async fn insert_event(&mut self, event: &NewEvent) -> StoreResult<bool>;
    async fn event_by_key(&mut self, key: &str) -> StoreResult<Option<EventRecord>>;
    /// Writes to the outbox unless the dedup key exists; false if it did.
    async fn enqueue(&mut self, message: &OutboxMessage, now: DateTime<Utc>) -> StoreResult<bool>;
    /// A recipient's standing preference for station delivery, if recorded.
    async fn standing_consent(&mut self, phone: &Phone) -> StoreResult<Option<bool>>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;

    /// A carrier's webhook subscriptions (active or not), read inside the
    /// transaction that writes an event, so the deliveries it writes match.
    async fn webhook_subscriptions_for(
        &mut self,
        carrier: Carrier,
    ) -> StoreResult<Vec<crate::webhooks::WebhookSubscription>>;
    /// Writes a webhook delivery unless its delivery key exists; false if it did.
    async fn enqueue_webhook(
        &mut self,
        delivery: &crate::webhooks::NewWebhookDelivery,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Writes a device command (its whole wire payload) to the devices'
    /// outbox unless its command id exists; false if it did.
    async fn enqueue_device_command(
        &mut self,
        command: &crate::device_commands::NewDeviceCommand,
        payload: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    // The 24-hour station (`crate::terminal`).

    /// The parcel holding this active pickup code at the station.
    async fn parcel_by_active_code(
        &mut self,
        station_id: i64,
        code: &str,
    ) -> StoreResult<Option<ParcelRecord>>;
    /// Every parcel stored at the station for this phone number.
    async fn stored_parcels_for_phone(
        &mut self,
        station_id: i64,
        phone: &Phone,
    ) -> StoreResult<Vec<ParcelRecord>>;
    async fn open_pickup_sessions(
        &mut self,
        station_id: i64,
    ) -> StoreResult<Vec<crate::terminal::PickupSessionRecord>>;
    /// A colour already taken by an open session at the station is a
    /// conflict.
    async fn insert_pickup_session(
        &mut self,
        session: &crate::terminal::NewPickupSession,
    ) -> StoreResult<i64>;
    /// Writes the session's items, state and times back.
    async fn update_pickup_session(
        &mut self,
        session: &crate::terminal::PickupSessionRecord,
    ) -> StoreResult<()>;
    async fn pickup_session(
        &mut self,
        id: i64,
    ) -> StoreResult<Option<crate::terminal::PickupSessionRecord>>;
    async fn record_code_attempt(
        &mut self,
        attempt: &crate::terminal::CodeAttempt,
    ) -> StoreResult<()>;
    /// When the failed attempts at the station since `since` were made, for
    /// one terminal or one phone tail.
    async fn failed_code_attempts(
        &mut self,
        station_id: i64,
        by: crate::terminal::AttemptsBy<'_>,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>>;
    /// Raises an alert unless one with its dedup key exists; false if it did.
    async fn insert_alert(&mut self, alert: &crate::terminal::NewAlert) -> StoreResult<bool>;

    // County co-delivery (app::county).
    /// The carrier's agreement version effective on this Shanghai day: the
    /// highest version whose period contains it.
    async fn agreement_at(
        &mut self,
        carrier: Carrier,
        day: chrono::NaiveDate,
    ) -> StoreResult<Option<crate::county::AgreementVersion>>;
    /// Routes, contractors and stations, for the route decision.
    async fn county_config(&mut self) -> StoreResult<domain::county::CountyConfig>;
    /// The open bag for this target, created if there is none.
    async fn open_bag(
        &mut self,
        target: domain::county::Target,
        mode: domain::county::Mode,
        day: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<crate::county::BagRecord>;
    async fn bag(&mut self, bag_id: i64) -> StoreResult<Option<crate::county::BagRecord>>;
    /// Moves a bag from one status to the next; false if it was not in `from`.
    async fn set_bag_status(
        &mut self,
        bag_id: i64,
        from: crate::county::BagStatus,
        to: crate::county::BagStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The parcels put into a bag, in the order they went in.
    async fn bag_parcel_ids(&mut self, bag_id: i64) -> StoreResult<Vec<i64>>;
    /// Records the route decision; false if the parcel already has one.
    async fn insert_routing(&mut self, routing: &crate::county::RoutingRecord)
    -> StoreResult<bool>;
    async fn routing(
        &mut self,
        parcel_id: i64,
    ) -> StoreResult<Option<crate::county::RoutingRecord>>;
    /// Queues a parcel for manual resolution; false if it is already queued.
    async fn enqueue_manual(
        &mut self,
        parcel_id: i64,
        carrier: Carrier,
        reason: domain::county::Unresolved,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The parcel's queue entry, resolved or not.
    async fn manual_entry(
        &mut self,
        parcel_id: i64,
    ) -> StoreResult<Option<crate::county::ManualItem>>;
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
    async fn insert_fee(&mut self, fee: &crate::county::NewFee) -> StoreResult<bool>;
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Which database this is, for logs and benchmarks.
    fn backend(&self) -> &'static str;
    async fn begin(&self) -> StoreResult<Box<dyn Tx + '_>>;

    async fn create_station(
        &self,
        station: &NewStation,
        now: DateTime<Utc>,
    ) -> StoreResult<StationRecord>;
    async fn stations(&self) -> StoreResult<Vec<StationRecord>>;
    async fn station(&self, id: i64) -> StoreResult<Option<StationRecord>>;
    async fn slots(&self, station_id: i64) -> StoreResult<Vec<SlotOccupancy>>;
    async fn slot(&self, slot_id: i64) -> StoreResult<Option<SlotRecord>>;
    async fn parcel(&self, id: i64) -> StoreResult<Option<ParcelRecord>>;
    async fn parcels(&self, filter: &ParcelFilter) -> StoreResult<Vec<ParcelRecord>>;
    async fn events(&self, parcel_id: i64) -> StoreResult<Vec<EventRecord>>;
    async fn count_by_state(&self, station_id: Option<i64>)
    -> StoreResult<Vec<(ParcelState, u64)>>;

    async fn set_standing_consent(
        &self,
        phone: &Phone,
        station_ok: bool,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

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

    async fn create_user(&self, user: &UserRecord, now: DateTime<Utc>) -> StoreResult<i64>;
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>>;
    async fn create_token(
        &self,
        user_id: i64,
        token_hash: &str,
        name: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Pending device commands whose next attempt is due, oldest first.
    async fn due_device_commands(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<crate::device_commands::DeviceCommandRecord>>;
    /// Records a publication of a pending command and when to try again.
    async fn device_command_attempted(
        &self,
        id: i64,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Ends a pending command; false if it was not pending (already ended,
    /// or unknown), so a late or repeated acknowledgement changes nothing.
    async fn finish_device_command(
        &self,
        command_id: &str,
        status: crate::device_commands::DeviceCommandStatus,
        outcome: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn device_command(
        &self,
        command_id: &str,
    ) -> StoreResult<Option<crate::device_commands::DeviceCommandRecord>>;
    // The 24-hour station (`crate::terminal`).

    /// The named server secret, created from `candidate` if it does not
    /// exist yet (so concurrent first starts agree on one value).
    async fn server_secret(
        &self,
        name: &str,
        candidate: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<String>;
    /// Open pickup sessions with no activity since `idle_before`.
    async fn idle_pickup_sessions(
        &self,
        idle_before: DateTime<Utc>,
    ) -> StoreResult<Vec<crate::terminal::PickupSessionRecord>>;
    /// The station's alerts, unacknowledged first, newest first.
    async fn alerts(
        &self,
        station_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::terminal::AlertRecord>>;
    /// False if there is no such unacknowledged alert at the station.
    async fn acknowledge_alert(
        &self,
        station_id: i64,
        alert_id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn set_device_status(
        &self,
        status: &crate::terminal::DeviceStatusRecord,
    ) -> StoreResult<()>;
    async fn device_statuses(
        &self,
        station_id: i64,
    ) -> StoreResult<Vec<crate::terminal::DeviceStatusRecord>>;
    /// Ends a token (sign-out); false if it did not exist.
    async fn revoke_token(&self, token_hash: &str) -> StoreResult<bool>;
    /// Events of these kinds at the station in `[from, to)`, per kind.
    async fn count_events(
        &self,
        station_id: i64,
        kinds: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, u64)>>;

    // County co-delivery (app::county).
    /// Adds the next version of the carrier's agreement (creating the
    /// agreement on its first version).
    async fn create_agreement_version(
        &self,
        carrier: Carrier,
        period: domain::county::Period,
        terms: &domain::county::Terms,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<crate::county::AgreementVersion>;
    /// Every version of the carrier's agreement, oldest first.
    async fn agreement_versions(
        &self,
        carrier: Carrier,
    ) -> StoreResult<Vec<crate::county::AgreementVersion>>;
    async fn create_route(
        &self,
        name: &str,
        townships: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<crate::county::RouteRecord>;
    async fn routes(&self) -> StoreResult<Vec<crate::county::RouteRecord>>;
    async fn create_contractor(
        &self,
        name: &str,
        township: &str,
        phone: Option<&Phone>,
        now: DateTime<Utc>,
    ) -> StoreResult<crate::county::ContractorRecord>;
    async fn contractors(&self) -> StoreResult<Vec<crate::county::ContractorRecord>>;
    async fn bag(&self, bag_id: i64) -> StoreResult<Option<crate::county::BagRecord>>;
    /// Bags of one Shanghai day, by id.
    async fn bags(&self, day: chrono::NaiveDate) -> StoreResult<Vec<crate::county::BagRecord>>;
    /// Each parcel in the bag with its carrier and waybill.
    async fn bag_parcels(&self, bag_id: i64) -> StoreResult<Vec<(i64, Carrier, WaybillNo)>>;
    /// Parcels waiting for a person, oldest first.
    async fn manual_queue(&self, limit: u32) -> StoreResult<Vec<crate::county::ManualItem>>;
    /// The carrier's fees on Shanghai days `from..=to`, by id, after `after_id`.
    async fn fees(
        &self,
        carrier: Carrier,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::county::FeeRecord>>;
    /// Count and sum per mode, agreement version and bracket.
    async fn fee_summary(
        &self,
        carrier: Carrier,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<crate::county::FeeSummaryRow>>;
    /// Announced in `[from, to)` but never seen anywhere (still announced),
    /// and arrived at the centre in `[from, to)` without ever being announced.
    async fn reconcile(
        &self,
        carrier: Carrier,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<(Vec<ParcelRecord>, Vec<ParcelRecord>)>;

    async fn create_webhook_subscription(
        &self,
        subscription: &crate::webhooks::NewWebhookSubscription,
        now: DateTime<Utc>,
    ) -> StoreResult<crate::webhooks::WebhookSubscription>;
    async fn webhook_subscription(
        &self,
        id: i64,
    ) -> StoreResult<Option<crate::webhooks::WebhookSubscription>>;
    /// One carrier's subscriptions, or everyone's, by id.
    async fn webhook_subscriptions(
        &self,
        carrier: Option<Carrier>,
    ) -> StoreResult<Vec<crate::webhooks::WebhookSubscription>>;
    /// Writes a subscription's URL, event kinds and active flag.
    async fn update_webhook_subscription(
        &self,
        subscription: &crate::webhooks::WebhookSubscription,
    ) -> StoreResult<()>;
    /// Pending deliveries of active subscriptions whose next attempt is
    /// due, oldest first.
    async fn due_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::DueDelivery>>;
    /// Records one attempt: the delivery's new status and next attempt, and
    /// its row in the attempt log, in one transaction.
    async fn record_webhook_attempt(
        &self,
        outcome: &crate::webhooks::AttemptOutcome,
    ) -> StoreResult<()>;
    /// A subscription's deliveries with ids above `after_id`, by id.
    async fn webhook_deliveries(
        &self,
        subscription_id: i64,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::DeliveryRecord>>;
    /// A carrier's attempt log with ids above `after_id`, by id.
    async fn webhook_attempts(
        &self,
        carrier: Carrier,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::AttemptRecord>>;
}

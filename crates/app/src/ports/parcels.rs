//! The spine's port: stations and their slots, parcels and their events,
//! and recipients' standing consent.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::station::{HoldingPolicy, SizeClass, SlotSpec};
use domain::{Carrier, CodeFormat, ParcelState, Phone, ProblemKind, WaybillNo};
use serde::Serialize;

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

/// A county operator's record that a parcel belongs at another station than
/// the one it was addressed to (a misroute): who, when, and where it may
/// now be scanned in.
#[derive(Debug, Clone, Serialize)]
pub struct MisrouteRecord {
    pub id: i64,
    pub parcel_id: i64,
    /// The station it was addressed to when the misroute was recorded.
    pub from_station_id: Option<i64>,
    pub to_station_id: i64,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewMisroute {
    pub parcel_id: i64,
    pub from_station_id: Option<i64>,
    pub to_station_id: i64,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
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
    /// Only parcels created (announced or first seen) at or after this
    /// instant, and before `created_before` (the carrier portal's days).
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub after_id: Option<i64>,
    pub limit: u32,
}
#[async_trait]
pub trait ParcelTx: Send {
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
    /// Writes the address and size class, which `update_parcel` leaves
    /// alone: only a corrected announcement changes them
    /// (`Action::CorrectAnnouncement`, from `app::transition`).
    async fn rewrite_announced(&mut self, parcel: &ParcelRecord) -> StoreResult<()>;
    async fn slot(&mut self, slot_id: i64) -> StoreResult<Option<SlotRecord>>;
    /// Inserts the event unless its idempotency key exists; false if it did.
    async fn insert_event(&mut self, event: &NewEvent) -> StoreResult<bool>;
    async fn event_by_key(&mut self, key: &str) -> StoreResult<Option<EventRecord>>;
    /// A recipient's standing preference for station delivery, if recorded.
    async fn standing_consent(&mut self, phone: &Phone) -> StoreResult<Option<bool>>;
    /// The station of the parcel's latest recorded misroute, if any.
    async fn misrouted_to(&mut self, parcel_id: i64) -> StoreResult<Option<i64>>;
    async fn insert_misroute(&mut self, misroute: &NewMisroute) -> StoreResult<MisrouteRecord>;
    /// Adds a station with its shelves (slots and their places). In the
    /// transaction, so the audit row of its creation commits with it.
    async fn create_station(
        &mut self,
        station: &NewStation,
        now: DateTime<Utc>,
    ) -> StoreResult<StationRecord>;
}

#[async_trait]
pub trait ParcelStore: Send + Sync {
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
    /// Events of these kinds at the station in `[from, to)`, per kind.
    async fn count_events(
        &self,
        station_id: i64,
        kinds: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, u64)>>;
}

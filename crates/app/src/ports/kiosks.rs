//! The kiosk fleet's port (issue 14, branch kiosks): kiosks, their bins (the
//! accepted sending orders waiting at a kiosk), collection runs with their
//! scans, and each kiosk's day counts for the daily report. No personal
//! data crosses here: a bin lists waybills, states and prices only.

use super::{GeoPoint, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::kiosk::{DayCounts, KioskStatus, ScanOutcome, Scenario};
use domain::sending::OrderState;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct KioskRecord {
    pub id: i64,
    pub code: String,
    pub host_name: String,
    pub scenario: Scenario,
    /// The division code it stands in (6, 9 or 12 digits).
    pub division: String,
    pub location: GeoPoint,
    pub placed_on: NaiveDate,
    pub staff_user_id: i64,
    /// The responsible staff member's username.
    pub staff: String,
    pub branch: String,
    pub status: KioskStatus,
    pub retired_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A kiosk as created or edited (the staff member already resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct KioskFields {
    pub code: String,
    pub host_name: String,
    pub scenario: Scenario,
    pub division: String,
    pub location: GeoPoint,
    pub placed_on: NaiveDate,
    pub staff_user_id: i64,
    pub branch: String,
}

/// Which kiosks a list shows.
#[derive(Debug, Clone, Default)]
pub struct KioskFilter {
    pub branch: Option<String>,
    pub scenario: Option<Scenario>,
    pub status: Option<KioskStatus>,
    pub staff_user_id: Option<i64>,
    /// Part of the code or the host's name.
    pub text: Option<String>,
}

/// A sending order as a kiosk's page and the courier see it: no names,
/// phones or addresses.
#[derive(Debug, Clone, Serialize)]
pub struct KioskOrder {
    pub id: i64,
    pub kiosk_id: Option<i64>,
    pub waybill: Option<String>,
    pub state: OrderState,
    pub price_fen: Option<i64>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub collected_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CollectionRecord {
    pub id: i64,
    pub kiosk_id: i64,
    pub courier_user_id: i64,
    pub started_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub n_collected: u32,
    pub n_extra: u32,
    pub n_missing: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct CollectionScan {
    pub collection_id: i64,
    pub waybill: String,
    pub order_id: Option<i64>,
    pub outcome: ScanOutcome,
    pub at: DateTime<Utc>,
}

/// One synthetic order of the demo's and the benchmark's history, written
/// in bulk (`KioskTx::insert_history_orders`).
#[derive(Debug, Clone)]
pub struct HistoryOrder {
    pub kiosk_id: i64,
    pub waybill: String,
    pub price_fen: i64,
    pub accepted_at: DateTime<Utc>,
    /// `None` leaves it accepted, waiting in the bin.
    pub collected_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait KioskTx: Send {
    /// A taken code is `StoreError::Conflict`.
    async fn insert_kiosk(&mut self, kiosk: &KioskFields, now: DateTime<Utc>) -> StoreResult<i64>;
    async fn kiosk_for_update(&mut self, id: i64) -> StoreResult<Option<KioskRecord>>;
    /// Writes every field of `kiosk`; a taken code is `StoreError::Conflict`.
    async fn update_kiosk(&mut self, kiosk: &KioskRecord) -> StoreResult<()>;
    async fn insert_collection(
        &mut self,
        kiosk_id: i64,
        courier_user_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    async fn collection_for_update(&mut self, id: i64) -> StoreResult<Option<CollectionRecord>>;
    async fn close_collection(&mut self, run: &CollectionRecord) -> StoreResult<()>;
    async fn insert_collection_scan(&mut self, scan: &CollectionScan) -> StoreResult<()>;
    /// The run's scans so far.
    async fn collection_scans_in(&mut self, collection_id: i64)
    -> StoreResult<Vec<CollectionScan>>;
    /// The order carrying this waybill, if any.
    async fn send_order_by_waybill(&mut self, waybill: &str) -> StoreResult<Option<KioskOrder>>;
    /// The accepted orders waiting at the kiosk, oldest first.
    async fn kiosk_bin_in(&mut self, kiosk_id: i64) -> StoreResult<Vec<KioskOrder>>;
    /// The demo's and the benchmark's history: accepted or collected
    /// orders of `sender_id` with synthetic parties, in this transaction.
    async fn insert_history_orders(
        &mut self,
        sender_id: i64,
        orders: &[HistoryOrder],
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait KioskStore: Send + Sync {
    async fn kiosks(&self, filter: &KioskFilter) -> StoreResult<Vec<KioskRecord>>;
    async fn kiosk(&self, id: i64) -> StoreResult<Option<KioskRecord>>;
    async fn kiosk_by_code(&self, code: &str) -> StoreResult<Option<KioskRecord>>;
    /// The kiosk's orders, newest first.
    async fn kiosk_orders(&self, kiosk_id: i64, limit: u32) -> StoreResult<Vec<KioskOrder>>;
    async fn kiosk_bin(&self, kiosk_id: i64) -> StoreResult<Vec<KioskOrder>>;
    async fn collections(&self, kiosk_id: i64, limit: u32) -> StoreResult<Vec<CollectionRecord>>;
    async fn collection(&self, id: i64) -> StoreResult<Option<CollectionRecord>>;
    async fn collection_scans(&self, collection_id: i64) -> StoreResult<Vec<CollectionScan>>;
    /// Every kiosk's orders accepted (not cancelled) with their prices, and
    /// items collected, in `[from, to)`; kiosks with neither are left out.
    async fn kiosk_day_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(i64, DayCounts)>>;
}

// branch kiosk-dev (issue 14, session 10): the kiosk's devices and screen.

/// A device of a kiosk's registry (migration 0039): kind, id, credential
/// reference and what it last reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KioskDeviceRecord {
    pub id: i64,
    pub kiosk_id: i64,
    /// `controller`, `scale`, `bin`, `camera` or `printer`.
    pub kind: String,
    pub device_id: String,
    pub model: Option<String>,
    pub firmware: Option<String>,
    /// Its broker login and command-key version; never a secret.
    pub credential_ref: String,
    pub registered_at: DateTime<Utc>,
    pub registered_by: String,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub online: bool,
    /// The bin: how full, 0 to 100.
    pub fill_pct: Option<u8>,
    /// The bin: since when its sensor says full (an open incident).
    pub full_since: Option<DateTime<Utc>>,
    /// The printer: `ok`, `low` or `out`.
    pub paper: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKioskDevice {
    pub kiosk_id: i64,
    pub kind: String,
    pub device_id: String,
    pub credential_ref: String,
    pub registered_by: String,
    pub now: DateTime<Utc>,
}

/// What a kiosk's device reported that an order needs (append-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KioskEvent {
    pub id: i64,
    pub kiosk_id: i64,
    /// `weight`, `drop`, `bin_full` or `bin_ok`.
    pub kind: String,
    pub device_id: String,
    pub grams: Option<u32>,
    pub fill_pct: Option<u8>,
    /// The bin's `ref` as read (a waybill or an order number).
    pub reference: Option<String>,
    /// The kiosk's order the drop names, when it names one.
    pub order_id: Option<i64>,
    pub at: DateTime<Utc>,
}

/// An alert for the centre and the courier about a kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KioskAlert {
    pub id: i64,
    pub kiosk_id: i64,
    pub kiosk_code: String,
    /// `bin_full`.
    pub kind: String,
    pub message: String,
    pub raised_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKioskAlert {
    pub kiosk_id: i64,
    pub kind: String,
    pub message: String,
    /// One alert per key, ever.
    pub dedup_key: String,
    pub at: DateTime<Utc>,
}

/// A photo the kiosk's camera was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KioskCapture {
    pub command_id: String,
    pub kiosk_id: i64,
    pub order_id: i64,
    pub sender_id: i64,
    pub requested_at: DateTime<Utc>,
    /// The `send_photos` row the camera's upload became.
    pub photo_id: Option<i64>,
    pub received_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait KioskDeviceTx: Send {
    /// An active device with that kiosk, kind and id is `StoreError::Conflict`.
    async fn insert_kiosk_device(&mut self, device: &NewKioskDevice) -> StoreResult<i64>;
    async fn kiosk_device_for_update(&mut self, id: i64) -> StoreResult<Option<KioskDeviceRecord>>;
    /// Writes what the device reported (online, last seen, model, firmware,
    /// fill, full since, paper).
    async fn update_kiosk_device(&mut self, device: &KioskDeviceRecord) -> StoreResult<()>;
    async fn insert_kiosk_event(&mut self, event: &KioskEvent) -> StoreResult<i64>;
    /// False if an alert with this key was raised before.
    async fn insert_kiosk_alert(&mut self, alert: &NewKioskAlert) -> StoreResult<bool>;
    /// Resolves the kiosk's open alerts of `kind`; how many.
    async fn resolve_kiosk_alerts(
        &mut self,
        kiosk_id: i64,
        kind: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    async fn insert_kiosk_capture(&mut self, capture: &KioskCapture) -> StoreResult<()>;
    async fn kiosk_capture_for_update(
        &mut self,
        command_id: &str,
    ) -> StoreResult<Option<KioskCapture>>;
    async fn set_kiosk_capture_photo(
        &mut self,
        command_id: &str,
        photo_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Revokes the kiosk's earlier screens and pairs a new one; how many
    /// were revoked.
    async fn pair_kiosk_screen(
        &mut self,
        kiosk_id: i64,
        token_hash: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
}

#[async_trait]
pub trait KioskDeviceStore: Send + Sync {
    /// The active device of the kiosk with this kind and id.
    async fn kiosk_device(
        &self,
        kiosk_id: i64,
        kind: &str,
        device_id: &str,
    ) -> StoreResult<Option<KioskDeviceRecord>>;
    /// The kiosk's active devices, by kind.
    async fn kiosk_devices(&self, kiosk_id: i64) -> StoreResult<Vec<KioskDeviceRecord>>;
    /// Every kiosk's active devices (for the fleet's list).
    async fn all_kiosk_devices(&self) -> StoreResult<Vec<KioskDeviceRecord>>;
    /// The kiosk's newest event of `kind`.
    async fn latest_kiosk_event(
        &self,
        kiosk_id: i64,
        kind: &str,
    ) -> StoreResult<Option<KioskEvent>>;
    /// The first drop that named this order.
    async fn kiosk_drop_of(&self, order_id: i64) -> StoreResult<Option<KioskEvent>>;
    /// Open alerts, newest first.
    async fn open_kiosk_alerts(&self) -> StoreResult<Vec<KioskAlert>>;
    async fn kiosk_capture(&self, command_id: &str) -> StoreResult<Option<KioskCapture>>;
    /// The kiosk a paired screen's token hash belongs to (not revoked).
    async fn kiosk_screen(&self, token_hash: &str) -> StoreResult<Option<i64>>;
}

//! The devices' port: the device-command outbox the MQTT bridge publishes
//! from, and device liveness as the bridge last heard it.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// Longest command id a device accepts (the device protocol's limit).
pub const COMMAND_ID_CHARS_MAX: usize = 64;

/// A command for one device. `operation` is the protocol's operation object,
/// e.g. `{"op": "open", "hold_ms": 5000}` or
/// `{"op": "light", "colour": "#00ff7f", "segments": [3, 9], "duration_ms": 60000}`;
/// the command id and not-after time are added to it here.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeviceCommand {
    pub station_id: i64,
    /// `door` or `lights`.
    pub device_kind: String,
    pub device_id: String,
    /// Unique per command, kept across every retry.
    pub command_id: String,
    pub not_after: DateTime<Utc>,
    pub operation: Value,
}

/// Where a device command stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCommandStatus {
    /// Not yet acknowledged; (re)published while its not-after time allows.
    Pending,
    /// The device acknowledged it (acted now or earlier).
    Done,
    /// Its not-after time passed before an acknowledgement, or the device
    /// said it came too late.
    Expired,
    /// The device could not act, or the command could not be sent.
    Failed,
}

impl DeviceCommandStatus {
    pub fn code(self) -> &'static str {
        match self {
            DeviceCommandStatus::Pending => "pending",
            DeviceCommandStatus::Done => "done",
            DeviceCommandStatus::Expired => "expired",
            DeviceCommandStatus::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<DeviceCommandStatus> {
        [
            DeviceCommandStatus::Pending,
            DeviceCommandStatus::Done,
            DeviceCommandStatus::Expired,
            DeviceCommandStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.code() == code)
    }
}

/// A device command as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceCommandRecord {
    pub id: i64,
    pub command_id: String,
    pub station_id: i64,
    pub device_kind: String,
    pub device_id: String,
    /// The whole wire command (JSON with `command_id` and `not_after_ms`).
    pub payload: String,
    pub not_after: DateTime<Utc>,
    pub attempts: u32,
    pub status: DeviceCommandStatus,
    /// The device's own word (`done`, `duplicate`, ...), if it answered.
    pub outcome: Option<String>,
}

/// A device as the MQTT bridge last heard it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceStatusRecord {
    pub state_topic: String,
    pub station_id: i64,
    pub device_kind: String,
    pub device_id: String,
    pub online: bool,
    pub changed_at: DateTime<Utc>,
}
/// A device in the station's registry (migration 0010).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceRecord {
    /// The registry row; a replaced device keeps its row, retired.
    pub id: i64,
    pub station_id: i64,
    /// `door`, `lights` or `scanner`.
    pub kind: String,
    pub device_id: String,
    pub model: Option<String>,
    pub firmware: Option<String>,
    /// Its broker login and command-key version; never a secret.
    pub credential_ref: String,
    pub registered_at: DateTime<Utc>,
    pub registered_by: String,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// `open`, `closed` or `forced`, from the door's sensor.
    pub door_sensor: Option<String>,
    pub door_sensor_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
    /// The registry row of the device that replaced this one.
    pub replaced_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub station_id: i64,
    pub kind: String,
    pub device_id: String,
    pub credential_ref: String,
    pub registered_by: String,
    pub now: DateTime<Utc>,
}

/// What a device's state message said, for the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSeen<'a> {
    pub model: Option<&'a str>,
    pub firmware: Option<&'a str>,
    /// The door sensor's word, if the state carried one.
    pub door_sensor: Option<&'a str>,
    pub now: DateTime<Utc>,
}

#[async_trait]
pub trait DeviceTx: Send {
    /// Adds a device to the registry; a unique violation (an active device
    /// with that station, kind and id) is `StoreError::Conflict`.
    async fn insert_device(&mut self, device: &NewDevice) -> StoreResult<i64>;
    /// Retires an active device, naming its replacement; false if it was
    /// not active.
    async fn retire_device(
        &mut self,
        id: i64,
        replaced_by: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Names the device that replaced a retired one.
    async fn set_device_replacement(&mut self, id: i64, replaced_by: i64) -> StoreResult<()>;
    /// A registry row, active or not.
    async fn device_by_row(&mut self, id: i64) -> StoreResult<Option<DeviceRecord>>;
    /// Writes a device command (its whole wire payload) to the devices'
    /// outbox unless its command id exists; false if it did.
    async fn enqueue_device_command(
        &mut self,
        command: &NewDeviceCommand,
        payload: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Sets the station's public phone number (sealed); false if there is
    /// no such station. In the transaction, so its audit row commits with it.
    async fn set_station_contact_phone(
        &mut self,
        station_id: i64,
        phone: Option<&str>,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Pending device commands whose next attempt is due, oldest first.
    async fn due_device_commands(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DeviceCommandRecord>>;
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
        status: DeviceCommandStatus,
        outcome: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn device_command(&self, command_id: &str) -> StoreResult<Option<DeviceCommandRecord>>;
    async fn set_device_status(&self, status: &DeviceStatusRecord) -> StoreResult<()>;
    async fn device_statuses(&self, station_id: i64) -> StoreResult<Vec<DeviceStatusRecord>>;
    /// The active (not retired) device with this station, kind and id.
    async fn active_device(
        &self,
        station_id: i64,
        kind: &str,
        device_id: &str,
    ) -> StoreResult<Option<DeviceRecord>>;
    /// Every device of the station, active first, then by kind and id.
    async fn station_devices(&self, station_id: i64) -> StoreResult<Vec<DeviceRecord>>;
    /// Records that an active device was heard from (and what its state
    /// said); a door sensor's time changes only when its word does.
    async fn device_seen(&self, id: i64, seen: &DeviceSeen<'_>) -> StoreResult<()>;
    /// Active doors whose sensor has said `open` since before `before`.
    async fn doors_open_since(&self, before: DateTime<Utc>) -> StoreResult<Vec<DeviceRecord>>;
    /// The newest command whose id starts with `prefix` (a pickup
    /// session's door commands share one).
    async fn latest_device_command(&self, prefix: &str)
    -> StoreResult<Option<DeviceCommandRecord>>;
    /// The station's public phone number, if it has one.
    async fn station_contact_phone(&self, station_id: i64) -> StoreResult<Option<String>>;
}

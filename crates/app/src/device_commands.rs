//! Commands to station devices (door controllers, light strips), written to
//! the devices' outbox in the same transaction as the change that called for
//! them, so a door never opens for a change that rolled back and a committed
//! change never loses its command. The MQTT bridge (`devices::bridge`)
//! publishes them; this module knows nothing about MQTT.

use crate::error::{AppError, AppResult};
use crate::ports::Tx;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Longest command id a device accepts (the device protocol's limit).
pub const COMMAND_ID_CHARS_MAX: usize = 64;

/// A command for one device. `operation` is the protocol's operation object,
/// e.g. `{"op": "open", "hold_ms": 5000}` or
/// `{"op": "light", "segments": [{"segment": 3, "colour": "#00ff7f"}], "duration_ms": 60000}`;
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

/// Writes a device command into the devices' outbox inside `tx`. Returns
/// false if a command with this id was already written (so a use case that
/// is retried does not command the device twice).
pub async fn enqueue_device_command(
    tx: &mut dyn Tx,
    command: &NewDeviceCommand,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if command.command_id.is_empty() || command.command_id.chars().count() > COMMAND_ID_CHARS_MAX {
        return Err(AppError::Invalid(format!(
            "a command id has 1 to {COMMAND_ID_CHARS_MAX} characters"
        )));
    }
    if command.not_after <= now {
        return Err(AppError::Invalid(
            "a device command's not-after time must be in the future".into(),
        ));
    }
    let Some(operation) = command.operation.as_object() else {
        return Err(AppError::Invalid(
            "a device operation is a JSON object with an \"op\" field".into(),
        ));
    };
    if !operation.contains_key("op") {
        return Err(AppError::Invalid(
            "a device operation is a JSON object with an \"op\" field".into(),
        ));
    }
    let mut payload = operation.clone();
    payload.insert("command_id".into(), Value::from(command.command_id.clone()));
    payload.insert(
        "not_after_ms".into(),
        Value::from(command.not_after.timestamp_millis()),
    );
    Ok(tx
        .enqueue_device_command(command, &Value::Object(payload).to_string(), now)
        .await?)
}

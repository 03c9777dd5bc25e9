//! Commands to station devices (door controllers, light strips), written to
//! the devices' outbox in the same transaction as the change that called for
//! them, so a door never opens for a change that rolled back and a committed
//! change never loses its command. The MQTT bridge (`devices::bridge`)
//! publishes them; this module knows nothing about MQTT.

use crate::error::{AppError, AppResult, Code};
use crate::ports::Tx;
pub use crate::ports::devices::{
    COMMAND_ID_CHARS_MAX, DeviceCommandRecord, DeviceCommandStatus, NewDeviceCommand,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Writes a device command into the devices' outbox inside `tx`. Returns
/// false if a command with this id was already written (so a use case that
/// is retried does not command the device twice).
pub async fn enqueue_device_command(
    tx: &mut dyn Tx,
    command: &NewDeviceCommand,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if command.command_id.is_empty() || command.command_id.chars().count() > COMMAND_ID_CHARS_MAX {
        return Err(AppError::new(Code::CommandIdInvalid).with("max", COMMAND_ID_CHARS_MAX));
    }
    if command.not_after <= now {
        return Err(AppError::new(Code::CommandExpired));
    }
    let Some(operation) = command.operation.as_object() else {
        return Err(AppError::new(Code::DeviceOperationInvalid));
    };
    if !operation.contains_key("op") {
        return Err(AppError::new(Code::DeviceOperationInvalid));
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

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

/// Ends a command that did not act: its not-after time passed without an
/// ack, the device said it came too late (`Expired`), or the device could
/// not act (`Failed`). A door that did not open is someone standing at the
/// station with a valid code, so the keeper gets an alert (one per command)
/// before the command is marked, with a structured log line; a repeat after
/// a crash between the two finds the alert already raised. Returns whether
/// the command was still pending.
pub async fn end_without_acting(
    store: &dyn crate::ports::Store,
    command: &DeviceCommandRecord,
    status: DeviceCommandStatus,
    outcome: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if command.device_kind == "door" && command.status == DeviceCommandStatus::Pending {
        let why = match (status, outcome) {
            (_, Some("offline")) => "门禁离线",
            (DeviceCommandStatus::Failed, _) => "门禁报告开门失败",
            (_, Some("expired")) => "指令到达门禁时已过时限",
            _ => "门禁未在时限内回应开门指令",
        };
        let mut tx = store.begin().await?;
        let raised = tx
            .insert_alert(&crate::ports::terminal::NewAlert {
                station_id: command.station_id,
                kind: if status == DeviceCommandStatus::Failed {
                    "door_command_failed".into()
                } else {
                    "door_command_expired".into()
                },
                message: format!(
                    "门禁 {} 没有开门：{why}（{}）。取件人没能进门，包裹仍在货架上；请检查门禁控制器和网络，并留意取件人的电话",
                    command.device_id, command.command_id
                ),
                dedup_key: format!("door_command_expired:{}", command.command_id),
                at: now,
            })
            .await?;
        tx.commit().await?;
        if raised {
            tracing::warn!(
                station = command.station_id,
                device = %command.device_id,
                command_id = %command.command_id,
                attempts = command.attempts,
                status = status.code(),
                outcome = outcome.unwrap_or("none"),
                "alert: a door command ended without opening the door"
            );
        }
    }
    if command.device_kind == "vehicle" && command.status == DeviceCommandStatus::Pending {
        alert_vehicle_command(store, command, status, outcome, now).await?;
    }
    Ok(store
        .finish_device_command(&command.command_id, status, outcome, now)
        .await?)
}

/// The rule name of the incident a vehicle command that ended without
/// acting raises for the safety operator (issue 20, branch vehicles2).
pub const COMMAND_EXPIRED_RULE: &str = "command_expired";

/// A command to a vehicle ended without acting (past its not-after with no
/// ack, too late, or the vehicle could not act): a pull-over that never
/// happened is the safety operator's business, so it opens an incident
/// (rule `command_expired`, the command id as its subject, one per command)
/// on `/fleet`, at the vehicle's last known position (its depot when it
/// never reported one).
async fn alert_vehicle_command(
    store: &dyn crate::ports::Store,
    command: &DeviceCommandRecord,
    status: DeviceCommandStatus,
    outcome: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(vehicle) = store.vehicle_by_code(&command.device_id).await? else {
        return Ok(());
    };
    let position = store
        .vehicle_positions()
        .await?
        .into_iter()
        .find(|p| p.vehicle_id == vehicle.id)
        .map_or(vehicle.depot, |p| p.position);
    let op = serde_json::from_str::<Value>(&command.payload)
        .ok()
        .and_then(|payload| {
            payload
                .get("op")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let mission_id = store.active_mission(vehicle.id).await?.map(|m| m.id);
    let mut tx = store.begin().await?;
    let opened = tx
        .insert_incident(&crate::ports::fleet::NewIncident {
            vehicle_id: vehicle.id,
            mission_id,
            rule: COMMAND_EXPIRED_RULE.into(),
            subject: command.command_id.clone(),
            opened_at: now,
            position,
            evidence: serde_json::json!({
                "command_id": command.command_id, "op": op, "attempts": command.attempts,
                "not_after_ms": command.not_after.timestamp_millis(),
                "status": status.code(), "outcome": outcome,
            })
            .to_string(),
            command: None,
        })
        .await?;
    tx.commit().await?;
    if let Some(incident) = opened {
        tracing::warn!(
            vehicle = %vehicle.code,
            command_id = %command.command_id,
            op,
            incident,
            status = status.code(),
            "alert: a vehicle command ended without acting"
        );
    }
    Ok(())
}

/// [`end_without_acting`] for a command whose time ran out.
pub async fn expire_device_command(
    store: &dyn crate::ports::Store,
    command: &DeviceCommandRecord,
    outcome: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    end_without_acting(store, command, DeviceCommandStatus::Expired, outcome, now).await
}

//! The devices' outbox table: queries behind the device-command methods of
//! the `Tx` and `Store` ports, kept apart from the parcel queries.

use crate::backend_error;
use app::device_commands::{DeviceCommandRecord, DeviceCommandStatus, NewDeviceCommand};
use app::ports::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row};

const COLUMNS: &str = "id, command_id, station_id, device_kind, device_id, payload, not_after, attempts, status, outcome";

pub(crate) async fn enqueue(
    tx: &mut sqlx::Transaction<'static, Any>,
    command: &NewDeviceCommand,
    payload: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO device_commands (command_id, station_id, device_kind, device_id, payload, created_at, not_after, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6) ON CONFLICT (command_id) DO NOTHING",
    )
    .bind(command.command_id.clone())
    .bind(command.station_id)
    .bind(command.device_kind.clone())
    .bind(command.device_id.clone())
    .bind(payload.to_string())
    .bind(now.timestamp_millis())
    .bind(command.not_after.timestamp_millis())
    .execute(&mut **tx)
    .await
    .map_err(backend_error)?
    .rows_affected();
    Ok(inserted == 1)
}

fn record(row: &AnyRow) -> StoreResult<DeviceCommandRecord> {
    let get_error = |error: sqlx::Error| StoreError::Backend(format!("device command: {error}"));
    let not_after: i64 = row.try_get("not_after").map_err(get_error)?;
    let attempts: i64 = row.try_get("attempts").map_err(get_error)?;
    let status: String = row.try_get("status").map_err(get_error)?;
    Ok(DeviceCommandRecord {
        id: row.try_get("id").map_err(get_error)?,
        command_id: row.try_get("command_id").map_err(get_error)?,
        station_id: row.try_get("station_id").map_err(get_error)?,
        device_kind: row.try_get("device_kind").map_err(get_error)?,
        device_id: row.try_get("device_id").map_err(get_error)?,
        payload: row.try_get("payload").map_err(get_error)?,
        not_after: DateTime::from_timestamp_millis(not_after).ok_or_else(|| {
            StoreError::Backend(format!("stored not_after {not_after} is not valid"))
        })?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        status: DeviceCommandStatus::from_code(&status).ok_or_else(|| {
            StoreError::Backend(format!(
                "stored device command status {status:?} is not valid"
            ))
        })?,
        outcome: row.try_get("outcome").map_err(get_error)?,
    })
}

pub(crate) async fn due(
    pool: &AnyPool,
    now: DateTime<Utc>,
    limit: u32,
) -> StoreResult<Vec<DeviceCommandRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM device_commands WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2"
    ))
    .bind(now.timestamp_millis())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(backend_error)?;
    rows.iter().map(record).collect()
}

pub(crate) async fn attempted(
    pool: &AnyPool,
    id: i64,
    next_attempt_at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE device_commands SET attempts = attempts + 1, next_attempt_at = $1 WHERE id = $2 AND status = 'pending'",
    )
    .bind(next_attempt_at.timestamp_millis())
    .bind(id)
    .execute(pool)
    .await
    .map_err(backend_error)?;
    Ok(())
}

pub(crate) async fn finish(
    pool: &AnyPool,
    command_id: &str,
    status: DeviceCommandStatus,
    outcome: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let outcome: Option<String> = outcome.map(|text| text.chars().take(100).collect());
    let changed = sqlx::query(
        "UPDATE device_commands SET status = $1, outcome = $2, finished_at = $3 WHERE command_id = $4 AND status = 'pending'",
    )
    .bind(status.code())
    .bind(outcome)
    .bind(now.timestamp_millis())
    .bind(command_id.to_string())
    .execute(pool)
    .await
    .map_err(backend_error)?
    .rows_affected();
    Ok(changed == 1)
}

pub(crate) async fn one(
    pool: &AnyPool,
    command_id: &str,
) -> StoreResult<Option<DeviceCommandRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM device_commands WHERE command_id = $1"
    ))
    .bind(command_id.to_string())
    .fetch_optional(pool)
    .await
    .map_err(backend_error)?;
    row.as_ref().map(record).transpose()
}

//! The devices' outbox table: queries behind the device-command methods of
//! the `Tx` and `Store` ports, kept apart from the parcel queries.

use crate::backend_error;
use crate::rows::{get, time};
use crate::{Db, DbTx};
use app::ports::devices::{DeviceCommandRecord, DeviceCommandStatus};
use app::ports::devices::{DeviceRecord, DeviceSeen, DeviceStatusRecord, NewDevice};
use app::ports::{DeviceStore, DeviceTx, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

const COLUMNS: &str = "id, command_id, station_id, device_kind, device_id, payload, not_after, attempts, status, outcome";

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

const DEVICE_COLUMNS: &str = "id, station_id, kind, device_id, model, firmware, credential_ref, registered_at, registered_by, \
     last_seen_at, door_sensor, door_sensor_at, retired_at, replaced_by";

fn device(row: &AnyRow) -> StoreResult<DeviceRecord> {
    let opt_time = |column: &str| -> StoreResult<Option<DateTime<Utc>>> {
        get::<Option<i64>>(row, column)?.map(time).transpose()
    };
    Ok(DeviceRecord {
        id: get(row, "id")?,
        station_id: get(row, "station_id")?,
        kind: get(row, "kind")?,
        device_id: get(row, "device_id")?,
        model: get(row, "model")?,
        firmware: get(row, "firmware")?,
        credential_ref: get(row, "credential_ref")?,
        registered_at: time(get(row, "registered_at")?)?,
        registered_by: get(row, "registered_by")?,
        last_seen_at: opt_time("last_seen_at")?,
        door_sensor: get(row, "door_sensor")?,
        door_sensor_at: opt_time("door_sensor_at")?,
        retired_at: opt_time("retired_at")?,
        replaced_by: get(row, "replaced_by")?,
    })
}

#[async_trait]
impl DeviceTx for DbTx {
    async fn insert_device(&mut self, new: &NewDevice) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO devices (station_id, kind, device_id, credential_ref, registered_at, registered_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.station_id)
        .bind(new.kind.clone())
        .bind(new.device_id.clone())
        .bind(new.credential_ref.clone())
        .bind(new.now.timestamp_millis())
        .bind(new.registered_by.clone())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        get(&row, "id")
    }

    async fn retire_device(
        &mut self,
        id: i64,
        replaced_by: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE devices SET retired_at = $1, replaced_by = $2 WHERE id = $3 AND retired_at IS NULL",
        )
        .bind(now.timestamp_millis())
        .bind(replaced_by)
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn set_device_replacement(&mut self, id: i64, replaced_by: i64) -> StoreResult<()> {
        sqlx::query("UPDATE devices SET replaced_by = $1 WHERE id = $2")
            .bind(replaced_by)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    async fn device_by_row(&mut self, id: i64) -> StoreResult<Option<DeviceRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        row.as_ref().map(device).transpose()
    }

    async fn enqueue_device_command(
        &mut self,
        command: &app::ports::devices::NewDeviceCommand,
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
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn set_station_contact_phone(
        &mut self,
        station_id: i64,
        phone: Option<&str>,
    ) -> StoreResult<bool> {
        let changed = sqlx::query("UPDATE stations SET contact_phone = $1 WHERE id = $2")
            .bind(crate::rows::seal(
                &self.keys,
                crate::rows::SEALED_CONTACT_PHONE,
                phone,
            ))
            .bind(station_id)
            .execute(&mut *self.tx)
            .await
            .map_err(backend_error)?
            .rows_affected();
        Ok(changed == 1)
    }
}

#[async_trait]
impl DeviceStore for Db {
    async fn due_device_commands(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<app::ports::devices::DeviceCommandRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM device_commands WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2"
        ))
        .bind(now.timestamp_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(record).collect()
    }

    async fn device_command_attempted(
        &self,
        id: i64,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE device_commands SET attempts = attempts + 1, next_attempt_at = $1 WHERE id = $2 AND status = 'pending'",
        )
        .bind(next_attempt_at.timestamp_millis())
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn finish_device_command(
        &self,
        command_id: &str,
        status: app::ports::devices::DeviceCommandStatus,
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
        .execute(&self.writer)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(changed == 1)
    }

    async fn device_command(
        &self,
        command_id: &str,
    ) -> StoreResult<Option<app::ports::devices::DeviceCommandRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM device_commands WHERE command_id = $1"
        ))
        .bind(command_id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.as_ref().map(record).transpose()
    }

    async fn set_device_status(&self, status: &DeviceStatusRecord) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        // A change of state is also appended to the history the board's
        // uptime reads; a repeated state (a retained message heard again
        // on reconnect) is not a change.
        let before: Option<i64> =
            sqlx::query_scalar("SELECT online FROM device_status WHERE state_topic = $1")
                .bind(status.state_topic.clone())
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend_error)?;
        sqlx::query(
            "INSERT INTO device_status (state_topic, station_id, device_kind, device_id, online, changed_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (state_topic) DO UPDATE SET online = excluded.online, changed_at = excluded.changed_at",
        )
        .bind(status.state_topic.clone())
        .bind(status.station_id)
        .bind(status.device_kind.clone())
        .bind(status.device_id.clone())
        .bind(i64::from(status.online))
        .bind(status.changed_at.timestamp_millis())
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if before != Some(i64::from(status.online)) {
            sqlx::query(
                "INSERT INTO device_status_changes (state_topic, station_id, online, at) VALUES ($1, $2, $3, $4)",
            )
            .bind(status.state_topic.clone())
            .bind(status.station_id)
            .bind(i64::from(status.online))
            .bind(status.changed_at.timestamp_millis())
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(())
    }

    async fn device_statuses(&self, station_id: i64) -> StoreResult<Vec<DeviceStatusRecord>> {
        let rows = sqlx::query(
            "SELECT state_topic, station_id, device_kind, device_id, online, changed_at FROM device_status WHERE station_id = $1 ORDER BY device_kind, device_id",
        )
        .bind(station_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let online: i64 = get(row, "online")?;
                Ok(DeviceStatusRecord {
                    state_topic: get(row, "state_topic")?,
                    station_id: get(row, "station_id")?,
                    device_kind: get(row, "device_kind")?,
                    device_id: get(row, "device_id")?,
                    online: online != 0,
                    changed_at: time(get(row, "changed_at")?)?,
                })
            })
            .collect()
    }

    async fn active_device(
        &self,
        station_id: i64,
        kind: &str,
        device_id: &str,
    ) -> StoreResult<Option<DeviceRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE station_id = $1 AND kind = $2 AND device_id = $3 AND retired_at IS NULL"
        ))
        .bind(station_id)
        .bind(kind.to_string())
        .bind(device_id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.as_ref().map(device).transpose()
    }

    async fn station_devices(&self, station_id: i64) -> StoreResult<Vec<DeviceRecord>> {
        // A station has a handful of devices and a few replacements a year;
        // the limit only guards the page.
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE station_id = $1 \
             ORDER BY CASE WHEN retired_at IS NULL THEN 0 ELSE 1 END, kind, device_id, id DESC LIMIT 200"
        ))
        .bind(station_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(device).collect()
    }

    async fn device_seen(&self, id: i64, seen: &DeviceSeen<'_>) -> StoreResult<()> {
        let now = seen.now.timestamp_millis();
        sqlx::query(
            "UPDATE devices SET last_seen_at = $1, model = COALESCE($2, model), firmware = COALESCE($3, firmware), \
             door_sensor_at = CASE WHEN $4 IS NOT NULL AND (door_sensor IS NULL OR door_sensor <> $4) THEN $1 ELSE door_sensor_at END, \
             door_sensor = COALESCE($4, door_sensor) \
             WHERE id = $5",
        )
        .bind(now)
        .bind(seen.model.map(str::to_string))
        .bind(seen.firmware.map(str::to_string))
        .bind(seen.door_sensor.map(str::to_string))
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn doors_open_since(&self, before: DateTime<Utc>) -> StoreResult<Vec<DeviceRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE kind = 'door' AND retired_at IS NULL \
             AND door_sensor = 'open' AND door_sensor_at < $1 ORDER BY id LIMIT 1000"
        ))
        .bind(before.timestamp_millis())
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(device).collect()
    }

    async fn latest_device_command(
        &self,
        prefix: &str,
    ) -> StoreResult<Option<DeviceCommandRecord>> {
        // Command ids are ours (letters, digits, dashes), so the prefix holds
        // no LIKE wildcard; the check keeps it that way.
        if prefix.contains(['%', '_', '\\']) {
            return Err(StoreError::Backend(format!(
                "command id prefix {prefix:?} holds a LIKE wildcard"
            )));
        }
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM device_commands WHERE command_id LIKE $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(format!("{prefix}%"))
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.as_ref().map(record).transpose()
    }

    async fn station_contact_phone(&self, station_id: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT contact_phone FROM stations WHERE id = $1")
            .bind(station_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?;
        Ok(match row {
            Some(row) => crate::rows::open(
                &self.keys,
                crate::rows::SEALED_CONTACT_PHONE,
                get(&row, "contact_phone")?,
            )?,
            None => None,
        })
    }
}

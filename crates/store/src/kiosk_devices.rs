//! The kiosk's devices and screen (issue 14, branch kiosk-dev; migration
//! 0039): the kiosks' device registry, what the devices reported
//! (append-only events), alerts for the centre, the camera's captures and
//! the paired screens.

use crate::rows::{get, time};
use crate::{Backend, Db, DbTx, backend_error, ms};
use app::ports::kiosks::*;
use app::ports::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

const DEVICE_COLUMNS: &str = "id, kiosk_id, kind, device_id, model, firmware, credential_ref, registered_at, \
     registered_by, last_seen_at, online, fill_pct, full_since, paper";
const EVENT_COLUMNS: &str =
    "id, kiosk_id, kind, device_id, grams, fill_pct, ref_text, order_id, at";
const CAPTURE_COLUMNS: &str =
    "command_id, kiosk_id, order_id, sender_id, requested_at, photo_id, received_at";

fn opt_time(row: &AnyRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    get::<Option<i64>>(row, column)?.map(time).transpose()
}

fn pct(value: Option<i64>) -> Option<u8> {
    value.and_then(|v| u8::try_from(v).ok())
}

fn device_from(row: &AnyRow) -> StoreResult<KioskDeviceRecord> {
    Ok(KioskDeviceRecord {
        id: get(row, "id")?,
        kiosk_id: get(row, "kiosk_id")?,
        kind: get(row, "kind")?,
        device_id: get(row, "device_id")?,
        model: get(row, "model")?,
        firmware: get(row, "firmware")?,
        credential_ref: get(row, "credential_ref")?,
        registered_at: time(get(row, "registered_at")?)?,
        registered_by: get(row, "registered_by")?,
        last_seen_at: opt_time(row, "last_seen_at")?,
        online: get::<i64>(row, "online")? != 0,
        fill_pct: pct(get(row, "fill_pct")?),
        full_since: opt_time(row, "full_since")?,
        paper: get(row, "paper")?,
    })
}

fn event_from(row: &AnyRow) -> StoreResult<KioskEvent> {
    Ok(KioskEvent {
        id: get(row, "id")?,
        kiosk_id: get(row, "kiosk_id")?,
        kind: get(row, "kind")?,
        device_id: get(row, "device_id")?,
        grams: get::<Option<i64>>(row, "grams")?.and_then(|g| u32::try_from(g).ok()),
        fill_pct: pct(get(row, "fill_pct")?),
        reference: get(row, "ref_text")?,
        order_id: get(row, "order_id")?,
        at: time(get(row, "at")?)?,
    })
}

fn capture_from(row: &AnyRow) -> StoreResult<KioskCapture> {
    Ok(KioskCapture {
        command_id: get(row, "command_id")?,
        kiosk_id: get(row, "kiosk_id")?,
        order_id: get(row, "order_id")?,
        sender_id: get(row, "sender_id")?,
        requested_at: time(get(row, "requested_at")?)?,
        photo_id: get(row, "photo_id")?,
        received_at: opt_time(row, "received_at")?,
    })
}

fn alert_from(row: &AnyRow) -> StoreResult<KioskAlert> {
    Ok(KioskAlert {
        id: get(row, "id")?,
        kiosk_id: get(row, "kiosk_id")?,
        kiosk_code: get(row, "code")?,
        kind: get(row, "kind")?,
        message: get(row, "message")?,
        raised_at: time(get(row, "raised_at")?)?,
        resolved_at: opt_time(row, "resolved_at")?,
    })
}

impl DbTx {
    fn lock_clause(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }
}

#[async_trait]
impl KioskDeviceTx for DbTx {
    async fn insert_kiosk_device(&mut self, device: &NewKioskDevice) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO kiosk_devices (kiosk_id, kind, device_id, credential_ref, registered_at, registered_by) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(device.kiosk_id)
                .bind(device.kind.clone())
                .bind(device.device_id.clone())
                .bind(device.credential_ref.clone())
                .bind(ms(device.now))
                .bind(device.registered_by.clone()),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("kiosk device id not returned".into()))?;
        get(&row, "id")
    }

    async fn kiosk_device_for_update(&mut self, id: i64) -> StoreResult<Option<KioskDeviceRecord>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM kiosk_devices WHERE id = $1{}",
            self.lock_clause()
        );
        self.optional(sqlx::query(&sql).bind(id))
            .await?
            .map(|row| device_from(&row))
            .transpose()
    }

    async fn update_kiosk_device(&mut self, device: &KioskDeviceRecord) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "UPDATE kiosk_devices SET model = $2, firmware = $3, last_seen_at = $4, online = $5, fill_pct = $6, \
                 full_since = $7, paper = $8 WHERE id = $1",
            )
            .bind(device.id)
            .bind(device.model.clone())
            .bind(device.firmware.clone())
            .bind(device.last_seen_at.map(ms))
            .bind(i64::from(device.online))
            .bind(device.fill_pct.map(i64::from))
            .bind(device.full_since.map(ms))
            .bind(device.paper.clone()),
        )
        .await?;
        Ok(())
    }

    async fn insert_kiosk_event(&mut self, event: &KioskEvent) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO kiosk_device_events (kiosk_id, kind, device_id, grams, fill_pct, ref_text, order_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(event.kiosk_id)
                .bind(event.kind.clone())
                .bind(event.device_id.clone())
                .bind(event.grams.map(i64::from))
                .bind(event.fill_pct.map(i64::from))
                .bind(event.reference.clone())
                .bind(event.order_id)
                .bind(ms(event.at)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("kiosk event id not returned".into()))?;
        get(&row, "id")
    }

    async fn insert_kiosk_alert(&mut self, alert: &NewKioskAlert) -> StoreResult<bool> {
        let n = self
            .execute(
                sqlx::query(
                    "INSERT INTO kiosk_alerts (kiosk_id, kind, message, dedup_key, raised_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (dedup_key) DO NOTHING",
                )
                .bind(alert.kiosk_id)
                .bind(alert.kind.clone())
                .bind(alert.message.clone())
                .bind(alert.dedup_key.clone())
                .bind(ms(alert.at)),
            )
            .await?;
        Ok(n > 0)
    }

    async fn resolve_kiosk_alerts(
        &mut self,
        kiosk_id: i64,
        kind: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.execute(
            sqlx::query(
                "UPDATE kiosk_alerts SET resolved_at = $3 WHERE kiosk_id = $1 AND kind = $2 AND resolved_at IS NULL",
            )
            .bind(kiosk_id)
            .bind(kind.to_string())
            .bind(ms(at)),
        )
        .await
    }

    async fn insert_kiosk_capture(&mut self, capture: &KioskCapture) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "INSERT INTO kiosk_captures (command_id, kiosk_id, order_id, sender_id, requested_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(capture.command_id.clone())
            .bind(capture.kiosk_id)
            .bind(capture.order_id)
            .bind(capture.sender_id)
            .bind(ms(capture.requested_at)),
        )
        .await?;
        Ok(())
    }

    async fn kiosk_capture_for_update(
        &mut self,
        command_id: &str,
    ) -> StoreResult<Option<KioskCapture>> {
        let sql = format!(
            "SELECT {CAPTURE_COLUMNS} FROM kiosk_captures WHERE command_id = $1{}",
            self.lock_clause()
        );
        self.optional(sqlx::query(&sql).bind(command_id.to_string()))
            .await?
            .map(|row| capture_from(&row))
            .transpose()
    }

    async fn set_kiosk_capture_photo(
        &mut self,
        command_id: &str,
        photo_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "UPDATE kiosk_captures SET photo_id = $2, received_at = $3 WHERE command_id = $1",
            )
            .bind(command_id.to_string())
            .bind(photo_id)
            .bind(ms(at)),
        )
        .await?;
        Ok(())
    }

    async fn pair_kiosk_screen(
        &mut self,
        kiosk_id: i64,
        token_hash: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let revoked = self
            .execute(
                sqlx::query(
                    "UPDATE kiosk_screens SET revoked_at = $2 WHERE kiosk_id = $1 AND revoked_at IS NULL",
                )
                .bind(kiosk_id)
                .bind(ms(at)),
            )
            .await?;
        self.execute(
            sqlx::query(
                "INSERT INTO kiosk_screens (kiosk_id, token_hash, paired_at, paired_by) VALUES ($1, $2, $3, $4)",
            )
            .bind(kiosk_id)
            .bind(token_hash.to_string())
            .bind(ms(at))
            .bind(by.to_string()),
        )
        .await?;
        Ok(revoked)
    }
}

#[async_trait]
impl KioskDeviceStore for Db {
    async fn kiosk_device(
        &self,
        kiosk_id: i64,
        kind: &str,
        device_id: &str,
    ) -> StoreResult<Option<KioskDeviceRecord>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM kiosk_devices WHERE kiosk_id = $1 AND kind = $2 AND device_id = $3 AND retired_at IS NULL"
        );
        sqlx::query(&sql)
            .bind(kiosk_id)
            .bind(kind.to_string())
            .bind(device_id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| device_from(&row))
            .transpose()
    }

    async fn kiosk_devices(&self, kiosk_id: i64) -> StoreResult<Vec<KioskDeviceRecord>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM kiosk_devices WHERE kiosk_id = $1 AND retired_at IS NULL ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(kiosk_id)
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(device_from)
            .collect()
    }

    async fn all_kiosk_devices(&self) -> StoreResult<Vec<KioskDeviceRecord>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM kiosk_devices WHERE retired_at IS NULL ORDER BY kiosk_id, id"
        );
        sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(device_from)
            .collect()
    }

    async fn latest_kiosk_event(
        &self,
        kiosk_id: i64,
        kind: &str,
    ) -> StoreResult<Option<KioskEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM kiosk_device_events WHERE kiosk_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(kiosk_id)
            .bind(kind.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| event_from(&row))
            .transpose()
    }

    async fn kiosk_drop_of(&self, order_id: i64) -> StoreResult<Option<KioskEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM kiosk_device_events WHERE order_id = $1 AND kind = 'drop' ORDER BY id LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(order_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| event_from(&row))
            .transpose()
    }

    async fn open_kiosk_alerts(&self) -> StoreResult<Vec<KioskAlert>> {
        sqlx::query(
            "SELECT a.id, a.kiosk_id, k.code, a.kind, a.message, a.raised_at, a.resolved_at \
             FROM kiosk_alerts a JOIN kiosks k ON k.id = a.kiosk_id WHERE a.resolved_at IS NULL ORDER BY a.id DESC LIMIT 200",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(alert_from)
        .collect()
    }

    async fn kiosk_capture(&self, command_id: &str) -> StoreResult<Option<KioskCapture>> {
        let sql = format!("SELECT {CAPTURE_COLUMNS} FROM kiosk_captures WHERE command_id = $1");
        sqlx::query(&sql)
            .bind(command_id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| capture_from(&row))
            .transpose()
    }

    async fn kiosk_screen(&self, token_hash: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT kiosk_id FROM kiosk_screens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.map(|row| get(&row, "kiosk_id")).transpose()
    }
}

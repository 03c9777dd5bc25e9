//! Tables of the 24-hour station: pickup sessions, code attempts, alerts,
//! device liveness and server secrets. Queries behind the terminal methods
//! of the `Tx` and `Store` ports.

use crate::backend_error;
use crate::rows::{PARCEL_COLUMNS, get, parcel_from, time};
use crate::{Db, DbTx};
use app::ports::terminal::{
    AlertRecord, AttemptsBy, PickupSessionRecord, SessionItem, SessionState,
};
use app::ports::{ParcelRecord, StoreError, StoreResult, TerminalStore, TerminalTx};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::Phone;
use sqlx::Row;
use sqlx::any::AnyRow;

const SESSION_COLUMNS: &str =
    "id, station_id, terminal, colour, items, state, started_at, last_activity_at, ended_at";
const ALERT_COLUMNS: &str = "id, station_id, kind, message, at, acknowledged_at, acknowledged_by";

fn session_from(row: &AnyRow) -> StoreResult<PickupSessionRecord> {
    let items: String = get(row, "items")?;
    let items: Vec<SessionItem> = serde_json::from_str(&items)
        .map_err(|error| StoreError::Backend(format!("pickup session items: {error}")))?;
    let state: String = get(row, "state")?;
    let ended_at: Option<i64> = get(row, "ended_at")?;
    Ok(PickupSessionRecord {
        id: get(row, "id")?,
        station_id: get(row, "station_id")?,
        terminal: get(row, "terminal")?,
        colour: get(row, "colour")?,
        items,
        state: SessionState::from_code(&state)
            .ok_or_else(|| StoreError::Backend(format!("pickup session state {state:?}")))?,
        started_at: time(get(row, "started_at")?)?,
        last_activity_at: time(get(row, "last_activity_at")?)?,
        ended_at: ended_at.map(time).transpose()?,
    })
}

fn items_json(items: &[SessionItem]) -> String {
    serde_json::to_string(items).expect("session items serialise")
}

fn alert_from(row: &AnyRow) -> StoreResult<AlertRecord> {
    let acknowledged_at: Option<i64> = get(row, "acknowledged_at")?;
    Ok(AlertRecord {
        id: get(row, "id")?,
        station_id: get(row, "station_id")?,
        kind: get(row, "kind")?,
        message: get(row, "message")?,
        at: time(get(row, "at")?)?,
        acknowledged_at: acknowledged_at.map(time).transpose()?,
        acknowledged_by: get(row, "acknowledged_by")?,
    })
}

#[async_trait]
impl TerminalTx for DbTx {
    async fn parcel_by_active_code(
        &mut self,
        station_id: i64,
        code: &str,
    ) -> StoreResult<Option<ParcelRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {PARCEL_COLUMNS} FROM parcels WHERE station_id = $1 AND pickup_code = $2 AND state = 'stored'"
        ))
        .bind(station_id)
        .bind(code.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        row.map(|row| parcel_from(&self.keys, &row)).transpose()
    }

    async fn stored_parcels_for_phone(
        &mut self,
        station_id: i64,
        phone: &Phone,
    ) -> StoreResult<Vec<ParcelRecord>> {
        // The tail's hash narrows the search through its index; the whole
        // number's keyed hash decides.
        let rows = sqlx::query(&format!(
            "SELECT {PARCEL_COLUMNS} FROM parcels WHERE station_id = $1 AND phone_tail = $2 AND phone_hash = $3 AND state = 'stored' ORDER BY id LIMIT 200"
        ))
        .bind(station_id)
        .bind(self.keys.tail_hash(phone.tail()))
        .bind(self.keys.phone_hash(phone))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| parcel_from(&self.keys, row))
            .collect()
    }

    async fn open_pickup_sessions(
        &mut self,
        station_id: i64,
    ) -> StoreResult<Vec<app::ports::terminal::PickupSessionRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM pickup_sessions WHERE station_id = $1 AND state = 'open' ORDER BY id"
        ))
        .bind(station_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        rows.iter().map(session_from).collect()
    }

    async fn insert_pickup_session(
        &mut self,
        session: &app::ports::terminal::NewPickupSession,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO pickup_sessions (station_id, terminal, colour, items, state, started_at, last_activity_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $5) RETURNING id",
        )
        .bind(session.station_id)
        .bind(session.terminal.clone())
        .bind(session.colour.clone())
        .bind(items_json(&session.items))
        .bind(session.now.timestamp_millis())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        row.try_get::<i64, _>(0).map_err(backend_error)
    }

    async fn update_pickup_session(
        &mut self,
        session: &app::ports::terminal::PickupSessionRecord,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE pickup_sessions SET items = $1, state = $2, last_activity_at = $3, ended_at = $4 WHERE id = $5",
        )
        .bind(items_json(&session.items))
        .bind(session.state.code())
        .bind(session.last_activity_at.timestamp_millis())
        .bind(session.ended_at.map(|t| t.timestamp_millis()))
        .bind(session.id)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn pickup_session(
        &mut self,
        id: i64,
    ) -> StoreResult<Option<app::ports::terminal::PickupSessionRecord>> {
        crate::by_id(
            &mut *self.tx,
            SESSION_COLUMNS,
            "pickup_sessions",
            id,
            session_from,
        )
        .await
    }

    async fn record_code_attempt(
        &mut self,
        attempt: &app::ports::terminal::CodeAttempt,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO code_attempts (station_id, terminal, source, phone_tail, succeeded, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(attempt.station_id)
        .bind(attempt.terminal.clone())
        .bind(attempt.source.clone())
        .bind(attempt.phone_tail.clone())
        .bind(i64::from(attempt.succeeded))
        .bind(attempt.at.timestamp_millis())
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn failed_code_attempts(
        &mut self,
        station_id: i64,
        by: app::ports::terminal::AttemptsBy<'_>,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        let (column, value) = match by {
            AttemptsBy::Terminal(terminal) => ("terminal", terminal),
            AttemptsBy::Source(source) => ("source", source),
            AttemptsBy::PhoneTail(tail) => ("phone_tail", tail),
        };
        let rows = sqlx::query(&format!(
            "SELECT at FROM code_attempts WHERE station_id = $1 AND {column} = $2 AND at > $3 AND succeeded = 0 ORDER BY at DESC LIMIT 1000"
        ))
        .bind(station_id)
        .bind(value.to_string())
        .bind(since.timestamp_millis())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| time(row.try_get::<i64, _>(0).map_err(backend_error)?))
            .collect()
    }

    async fn insert_alert(&mut self, alert: &app::ports::terminal::NewAlert) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO alerts (station_id, kind, message, dedup_key, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(alert.station_id)
        .bind(alert.kind.clone())
        .bind(alert.message.clone())
        .bind(alert.dedup_key.clone())
        .bind(alert.at.timestamp_millis())
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(inserted == 1)
    }
}

#[async_trait]
impl TerminalStore for Db {
    async fn idle_pickup_sessions(
        &self,
        idle_before: DateTime<Utc>,
    ) -> StoreResult<Vec<app::ports::terminal::PickupSessionRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM pickup_sessions WHERE state = 'open' AND last_activity_at < $1 ORDER BY id LIMIT 100"
        ))
        .bind(idle_before.timestamp_millis())
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(session_from).collect()
    }

    async fn alerts(
        &self,
        station_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<app::ports::terminal::AlertRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE station_id = $1 \
             ORDER BY CASE WHEN acknowledged_at IS NULL THEN 0 ELSE 1 END, at DESC, id DESC LIMIT $2"
        ))
        .bind(station_id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(alert_from).collect()
    }

    async fn acknowledge_alert(
        &self,
        station_id: i64,
        alert_id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE alerts SET acknowledged_at = $1, acknowledged_by = $2 WHERE id = $3 AND station_id = $4 AND acknowledged_at IS NULL",
        )
        .bind(now.timestamp_millis())
        .bind(by.to_string())
        .bind(alert_id)
        .bind(station_id)
        .execute(&self.writer)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(changed == 1)
    }
}

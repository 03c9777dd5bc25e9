//! Tables of the 24-hour station: pickup sessions, code attempts, alerts,
//! device liveness and server secrets. Queries behind the terminal methods
//! of the `Tx` and `Store` ports.

use crate::backend_error;
use crate::rows::{PARCEL_COLUMNS, get, parcel_from, time};
use app::ports::{ParcelRecord, StoreError, StoreResult};
use app::terminal::{
    AlertRecord, AttemptsBy, CodeAttempt, DeviceStatusRecord, NewAlert, NewPickupSession,
    PickupSessionRecord, SessionItem, SessionState,
};
use chrono::{DateTime, Utc};
use domain::Phone;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row};

type Conn = sqlx::Transaction<'static, Any>;

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

pub(crate) async fn parcel_by_active_code(
    tx: &mut Conn,
    station_id: i64,
    code: &str,
) -> StoreResult<Option<ParcelRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {PARCEL_COLUMNS} FROM parcels WHERE station_id = $1 AND pickup_code = $2 AND state = 'stored'"
    ))
    .bind(station_id)
    .bind(code.to_string())
    .fetch_optional(&mut **tx)
    .await
    .map_err(backend_error)?;
    row.map(|row| parcel_from(&row)).transpose()
}

pub(crate) async fn stored_parcels_for_phone(
    tx: &mut Conn,
    station_id: i64,
    phone: &Phone,
) -> StoreResult<Vec<ParcelRecord>> {
    // The tail narrows the search through its index; the whole number decides.
    let rows = sqlx::query(&format!(
        "SELECT {PARCEL_COLUMNS} FROM parcels WHERE station_id = $1 AND phone_tail = $2 AND phone = $3 AND state = 'stored' ORDER BY id LIMIT 200"
    ))
    .bind(station_id)
    .bind(phone.tail().to_string())
    .bind(phone.full())
    .fetch_all(&mut **tx)
    .await
    .map_err(backend_error)?;
    rows.iter().map(parcel_from).collect()
}

pub(crate) async fn open_sessions(
    tx: &mut Conn,
    station_id: i64,
) -> StoreResult<Vec<PickupSessionRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {SESSION_COLUMNS} FROM pickup_sessions WHERE station_id = $1 AND state = 'open' ORDER BY id"
    ))
    .bind(station_id)
    .fetch_all(&mut **tx)
    .await
    .map_err(backend_error)?;
    rows.iter().map(session_from).collect()
}

pub(crate) async fn insert_session(tx: &mut Conn, session: &NewPickupSession) -> StoreResult<i64> {
    let row = sqlx::query(
        "INSERT INTO pickup_sessions (station_id, terminal, colour, items, state, started_at, last_activity_at) \
         VALUES ($1, $2, $3, $4, 'open', $5, $5) RETURNING id",
    )
    .bind(session.station_id)
    .bind(session.terminal.clone())
    .bind(session.colour.clone())
    .bind(items_json(&session.items))
    .bind(session.now.timestamp_millis())
    .fetch_one(&mut **tx)
    .await
    .map_err(backend_error)?;
    row.try_get::<i64, _>(0).map_err(backend_error)
}

pub(crate) async fn update_session(
    tx: &mut Conn,
    session: &PickupSessionRecord,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE pickup_sessions SET items = $1, state = $2, last_activity_at = $3, ended_at = $4 WHERE id = $5",
    )
    .bind(items_json(&session.items))
    .bind(session.state.code())
    .bind(session.last_activity_at.timestamp_millis())
    .bind(session.ended_at.map(|t| t.timestamp_millis()))
    .bind(session.id)
    .execute(&mut **tx)
    .await
    .map_err(backend_error)?;
    Ok(())
}

pub(crate) async fn session(tx: &mut Conn, id: i64) -> StoreResult<Option<PickupSessionRecord>> {
    crate::by_id(
        &mut **tx,
        SESSION_COLUMNS,
        "pickup_sessions",
        id,
        session_from,
    )
    .await
}

pub(crate) async fn record_attempt(tx: &mut Conn, attempt: &CodeAttempt) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO code_attempts (station_id, terminal, phone_tail, succeeded, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(attempt.station_id)
    .bind(attempt.terminal.clone())
    .bind(attempt.phone_tail.clone())
    .bind(i64::from(attempt.succeeded))
    .bind(attempt.at.timestamp_millis())
    .execute(&mut **tx)
    .await
    .map_err(backend_error)?;
    Ok(())
}

pub(crate) async fn failed_attempts(
    tx: &mut Conn,
    station_id: i64,
    by: AttemptsBy<'_>,
    since: DateTime<Utc>,
) -> StoreResult<Vec<DateTime<Utc>>> {
    let (column, value) = match by {
        AttemptsBy::Terminal(terminal) => ("terminal", terminal),
        AttemptsBy::PhoneTail(tail) => ("phone_tail", tail),
    };
    let rows = sqlx::query(&format!(
        "SELECT at FROM code_attempts WHERE station_id = $1 AND {column} = $2 AND at > $3 AND succeeded = 0 ORDER BY at DESC LIMIT 1000"
    ))
    .bind(station_id)
    .bind(value.to_string())
    .bind(since.timestamp_millis())
    .fetch_all(&mut **tx)
    .await
    .map_err(backend_error)?;
    rows.iter()
        .map(|row| time(row.try_get::<i64, _>(0).map_err(backend_error)?))
        .collect()
}

pub(crate) async fn insert_alert(tx: &mut Conn, alert: &NewAlert) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO alerts (station_id, kind, message, dedup_key, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(alert.station_id)
    .bind(alert.kind.clone())
    .bind(alert.message.clone())
    .bind(alert.dedup_key.clone())
    .bind(alert.at.timestamp_millis())
    .execute(&mut **tx)
    .await
    .map_err(backend_error)?
    .rows_affected();
    Ok(inserted == 1)
}

pub(crate) async fn server_secret(
    writer: &AnyPool,
    name: &str,
    candidate: &str,
    now: DateTime<Utc>,
) -> StoreResult<String> {
    sqlx::query(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name.to_string())
    .bind(candidate.to_string())
    .bind(now.timestamp_millis())
    .execute(writer)
    .await
    .map_err(backend_error)?;
    let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name.to_string())
        .fetch_one(writer)
        .await
        .map_err(backend_error)?;
    row.try_get::<String, _>(0).map_err(backend_error)
}

pub(crate) async fn idle_sessions(
    reader: &AnyPool,
    idle_before: DateTime<Utc>,
) -> StoreResult<Vec<PickupSessionRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {SESSION_COLUMNS} FROM pickup_sessions WHERE state = 'open' AND last_activity_at < $1 ORDER BY id LIMIT 100"
    ))
    .bind(idle_before.timestamp_millis())
    .fetch_all(reader)
    .await
    .map_err(backend_error)?;
    rows.iter().map(session_from).collect()
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

pub(crate) async fn alerts(
    reader: &AnyPool,
    station_id: i64,
    limit: u32,
) -> StoreResult<Vec<AlertRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE station_id = $1 \
         ORDER BY CASE WHEN acknowledged_at IS NULL THEN 0 ELSE 1 END, at DESC, id DESC LIMIT $2"
    ))
    .bind(station_id)
    .bind(i64::from(limit))
    .fetch_all(reader)
    .await
    .map_err(backend_error)?;
    rows.iter().map(alert_from).collect()
}

pub(crate) async fn acknowledge_alert(
    writer: &AnyPool,
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
    .execute(writer)
    .await
    .map_err(backend_error)?
    .rows_affected();
    Ok(changed == 1)
}

pub(crate) async fn set_device_status(
    writer: &AnyPool,
    status: &DeviceStatusRecord,
) -> StoreResult<()> {
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
    .execute(writer)
    .await
    .map_err(backend_error)?;
    Ok(())
}

pub(crate) async fn device_statuses(
    reader: &AnyPool,
    station_id: i64,
) -> StoreResult<Vec<DeviceStatusRecord>> {
    let rows = sqlx::query(
        "SELECT state_topic, station_id, device_kind, device_id, online, changed_at FROM device_status WHERE station_id = $1 ORDER BY device_kind, device_id",
    )
    .bind(station_id)
    .fetch_all(reader)
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

pub(crate) async fn revoke_token(writer: &AnyPool, token_hash: &str) -> StoreResult<bool> {
    let changed = sqlx::query("DELETE FROM api_tokens WHERE token_hash = $1")
        .bind(token_hash.to_string())
        .execute(writer)
        .await
        .map_err(backend_error)?
        .rows_affected();
    Ok(changed == 1)
}

pub(crate) async fn count_events(
    reader: &AnyPool,
    station_id: i64,
    kinds: &[&str],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<(String, u64)>> {
    let rows = sqlx::query(
        "SELECT kind, COUNT(*) FROM parcel_events WHERE station_id = $1 AND at >= $2 AND at < $3 GROUP BY kind",
    )
    .bind(station_id)
    .bind(from.timestamp_millis())
    .bind(to.timestamp_millis())
    .fetch_all(reader)
    .await
    .map_err(backend_error)?;
    let mut counts = Vec::new();
    for row in &rows {
        let kind: String = row.try_get(0).map_err(backend_error)?;
        let n: i64 = row.try_get(1).map_err(backend_error)?;
        if kinds.contains(&kind.as_str()) {
            counts.push((kind, u64::try_from(n).unwrap_or(0)));
        }
    }
    Ok(counts)
}

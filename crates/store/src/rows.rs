//! Column lists and row decoding, kept apart from the queries.

use app::keys::Keys;
use app::ports::*;
use chrono::{DateTime, Utc};
use domain::station::{HoldingPolicy, SizeClass};
use domain::{Carrier, CodeFormat, ParcelState, Phone, ProblemKind, Role, WaybillNo};
use sqlx::Row;
use sqlx::any::AnyRow;

pub const STATION_COLUMNS: &str =
    "id, name, township, division_code, code_format, holding_days, reminder_days, lat_e6, lon_e6";
pub const SLOT_COLUMNS: &str = "id, station_id, shelf, tier, slot, size, capacity";
pub const SLOT_COLUMNS_S: &str = "s.id, s.station_id, s.shelf, s.tier, s.slot, s.size, s.capacity";
pub const PARCEL_COLUMNS: &str = "id, carrier, waybill, state, problem, recipient_name, phone, address, size, consent, station_id, slot_id, \
     pickup_code, stored_at, reminders_sent, created_at, updated_at, version, weight_grams";
pub const EVENT_COLUMNS: &str =
    "id, parcel_id, kind, from_state, to_state, at, actor, station_id, idempotency_key, details";
pub const USER_COLUMNS: &str =
    "id, username, display_name, password_hash, role, carrier, disabled_at";

/// A value in the database that the domain does not accept: a fault, since
/// only the application writes these tables.
pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("stored {what} {value:?} is not valid"))
}

pub(crate) fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    column: &str,
) -> StoreResult<T> {
    row.try_get(column)
        .map_err(|error| StoreError::Backend(format!("column {column}: {error}")))
}

pub(crate) fn time(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt("time", &ms.to_string()))
}

pub fn join_days(days: &[u32]) -> String {
    days.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn split_days(text: &str) -> StoreResult<Vec<u32>> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| corrupt("day list", text)))
        .collect()
}

pub fn parse_state(code: &str) -> StoreResult<ParcelState> {
    ParcelState::parse(code).ok_or_else(|| corrupt("state", code))
}

pub fn problem_code(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::Damaged => "damaged",
        ProblemKind::WrongAddress => "wrong_address",
        ProblemKind::Refused => "refused",
        ProblemKind::Lost => "lost",
    }
}

fn parse_problem(code: &str) -> StoreResult<ProblemKind> {
    [
        ProblemKind::Damaged,
        ProblemKind::WrongAddress,
        ProblemKind::Refused,
        ProblemKind::Lost,
    ]
    .into_iter()
    .find(|kind| problem_code(*kind) == code)
    .ok_or_else(|| corrupt("problem", code))
}

pub fn station_from(row: &AnyRow) -> StoreResult<StationRecord> {
    let format: String = get(row, "code_format")?;
    let holding_days: i64 = get(row, "holding_days")?;
    let reminder_days: String = get(row, "reminder_days")?;
    let lat_e6: Option<i64> = get(row, "lat_e6")?;
    let lon_e6: Option<i64> = get(row, "lon_e6")?;
    Ok(StationRecord {
        location: lat_e6
            .zip(lon_e6)
            .map(|(lat, lon)| GeoPoint::from_e6(lat, lon)),
        id: get(row, "id")?,
        name: get(row, "name")?,
        township: get(row, "township")?,
        division_code: get(row, "division_code")?,
        code_format: CodeFormat::parse(&format).map_err(|_| corrupt("code format", &format))?,
        holding: HoldingPolicy {
            holding_days: holding_days as u32,
            reminder_days: split_days(&reminder_days)?,
        },
    })
}

pub fn slot_from(row: &AnyRow) -> StoreResult<SlotRecord> {
    let size: String = get(row, "size")?;
    let tier: i64 = get(row, "tier")?;
    let slot: i64 = get(row, "slot")?;
    let capacity: i64 = get(row, "capacity")?;
    Ok(SlotRecord {
        id: get(row, "id")?,
        station_id: get(row, "station_id")?,
        shelf: get(row, "shelf")?,
        tier: tier as u32,
        slot: slot as u32,
        size: SizeClass::parse(&size).map_err(|_| corrupt("size", &size))?,
        capacity: capacity as u32,
    })
}

/// The columns a sealed value is bound to (`Keys::seal`'s associated
/// data): a value copied into another column does not open.
pub const SEALED_NAME: &str = "parcels.recipient_name";
pub const SEALED_PHONE: &str = "parcels.phone";
pub const SEALED_ADDRESS: &str = "parcels.address";
pub const SEALED_OUTBOX: &str = "outbox.payload";
pub const SEALED_CONTRACTOR_PHONE: &str = "contractors.phone";
/// A station's contact phone is often the keeper's own mobile.
pub const SEALED_CONTACT_PHONE: &str = "stations.contact_phone";
/// Both a subscription's secret and its previous one.
pub const SEALED_WEBHOOK_SECRET: &str = "webhook_subscriptions.secret";

/// Opens a sealed column; the error names the column, never the value.
pub(crate) fn open(
    keys: &Keys,
    column: &str,
    stored: Option<String>,
) -> StoreResult<Option<String>> {
    stored
        .map(|value| {
            keys.open(column, &value)
                .map_err(|error| StoreError::Backend(error.to_string()))
        })
        .transpose()
}

pub(crate) fn seal(keys: &Keys, column: &str, plain: Option<&str>) -> Option<String> {
    plain.map(|value| keys.seal(column, value))
}

/// What a parcel row stores for its recipient: sealed name, phone and
/// address, and the keyed hashes of the phone and its tail for look-ups.
pub(crate) struct SealedRecipient {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub phone_tail: Option<String>,
    pub phone_hash: Option<String>,
    pub address: Option<String>,
}

pub(crate) fn seal_recipient(
    keys: &Keys,
    name: Option<&str>,
    phone: Option<&Phone>,
    address: Option<&str>,
) -> SealedRecipient {
    SealedRecipient {
        name: seal(keys, SEALED_NAME, name),
        phone: phone.map(|p| keys.seal(SEALED_PHONE, &p.full())),
        phone_tail: phone.map(|p| keys.tail_hash(p.tail())),
        phone_hash: phone.map(|p| keys.phone_hash(p)),
        address: seal(keys, SEALED_ADDRESS, address),
    }
}

pub fn parcel_from(keys: &Keys, row: &AnyRow) -> StoreResult<ParcelRecord> {
    let carrier: String = get(row, "carrier")?;
    let waybill: String = get(row, "waybill")?;
    let state: String = get(row, "state")?;
    let problem: Option<String> = get(row, "problem")?;
    let phone = open(keys, SEALED_PHONE, get(row, "phone")?)?;
    let size: String = get(row, "size")?;
    let consent: i64 = get(row, "consent")?;
    let stored_at: Option<i64> = get(row, "stored_at")?;
    let reminders: String = get(row, "reminders_sent")?;
    let weight_grams: Option<i64> = get(row, "weight_grams")?;
    Ok(ParcelRecord {
        id: get(row, "id")?,
        carrier: Carrier::parse(&carrier).map_err(|_| corrupt("carrier", &carrier))?,
        waybill: WaybillNo::parse(&waybill).map_err(|_| corrupt("waybill", &waybill))?,
        state: parse_state(&state)?,
        problem: problem.as_deref().map(parse_problem).transpose()?,
        recipient_name: open(keys, SEALED_NAME, get(row, "recipient_name")?)?,
        phone: phone
            .as_deref()
            .map(|p| Phone::parse(p).map_err(|_| corrupt("phone", "(hidden)")))
            .transpose()?,
        address: open(keys, SEALED_ADDRESS, get(row, "address")?)?,
        size: SizeClass::parse(&size).map_err(|_| corrupt("size", &size))?,
        weight_grams: weight_grams
            .map(|w| u32::try_from(w).map_err(|_| corrupt("weight", &w.to_string())))
            .transpose()?,
        consent: consent != 0,
        station_id: get(row, "station_id")?,
        slot_id: get(row, "slot_id")?,
        pickup_code: get(row, "pickup_code")?,
        stored_at: stored_at.map(time).transpose()?,
        reminders_sent: split_days(&reminders)?,
        created_at: time(get(row, "created_at")?)?,
        updated_at: time(get(row, "updated_at")?)?,
        version: get(row, "version")?,
    })
}

pub fn event_from(row: &AnyRow) -> StoreResult<EventRecord> {
    let details: String = get(row, "details")?;
    Ok(EventRecord {
        id: get(row, "id")?,
        parcel_id: get(row, "parcel_id")?,
        kind: get(row, "kind")?,
        from_state: get(row, "from_state")?,
        to_state: get(row, "to_state")?,
        at: time(get(row, "at")?)?,
        actor: get(row, "actor")?,
        station_id: get(row, "station_id")?,
        idempotency_key: get(row, "idempotency_key")?,
        details: serde_json::from_str(&details).map_err(|_| corrupt("event details", &details))?,
    })
}

pub fn user_from(row: &AnyRow) -> StoreResult<UserRecord> {
    let role: String = get(row, "role")?;
    let carrier: Option<String> = get(row, "carrier")?;
    Ok(UserRecord {
        id: get(row, "id")?,
        username: get(row, "username")?,
        display_name: get(row, "display_name")?,
        password_hash: get(row, "password_hash")?,
        role: Role::parse(&role).map_err(|_| corrupt("role", &role))?,
        carrier: carrier
            .as_deref()
            .map(|c| Carrier::parse(c).map_err(|_| corrupt("carrier", c)))
            .transpose()?,
        station_ids: Vec::new(),
        disabled_at: get::<Option<i64>>(row, "disabled_at")?
            .map(time)
            .transpose()?,
    })
}

//! What each role sees of a parcel, its events and a station. The use
//! cases return the whole record; the answer is shaped here by the
//! caller's role, so a field a role must not see is absent from its type
//! rather than blanked at run time.
//!
//! - County staff and keepers (who may already open the parcel at their
//!   station) see the staff view: slot, pickup code, masked phone,
//!   recipient's name, and who did what.
//! - Carriers see the carrier view: no pickup code, slot, phone (not even
//!   masked: its last four digits and the code are enough to collect at the
//!   counter), recipient's name, address, or staff usernames. The
//!   recipient alone gets the code (`docs/webhooks.md`); the view says
//!   `has_pickup_code`.
//!
//! Any role not named as staff gets the carrier view: a new role sees the
//! least until someone decides otherwise.

use app::parcels::{ParcelPage, ParcelView};
use app::ports::{EventRecord, GeoPoint, StationRecord};
use chrono::{DateTime, Utc};
use domain::{Principal, Role};
use serde::Serialize;
use serde_json::{Value, json};

fn is_staff(principal: &Principal) -> bool {
    matches!(
        principal.role,
        Role::Admin | Role::CountyOperator | Role::StationKeeper
    )
}

/// A parcel as its carrier sees it: defined in `app::parcels` so the
/// carrier portal (`web::carrier`) shows exactly what the API answers.
pub use app::parcels::CarrierParcel;

/// An event as the parcel's carrier sees it: what happened, when and
/// where, not who did it nor its details (slots, proofs).
#[derive(Debug, Serialize)]
pub struct CarrierEvent {
    pub id: i64,
    pub parcel_id: i64,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: DateTime<Utc>,
    pub station_id: Option<i64>,
}

impl From<EventRecord> for CarrierEvent {
    fn from(e: EventRecord) -> Self {
        CarrierEvent {
            id: e.id,
            parcel_id: e.parcel_id,
            kind: e.kind,
            from_state: e.from_state,
            to_state: e.to_state,
            at: e.at,
            station_id: e.station_id,
        }
    }
}

/// A station as the station list shows it to a carrier: enough to name it
/// in a manifest.
#[derive(Debug, Serialize)]
pub struct StationEntry {
    pub id: i64,
    pub name: String,
    pub township: String,
    pub division_code: Option<String>,
    pub location: Option<GeoPoint>,
}

impl From<StationRecord> for StationEntry {
    fn from(s: StationRecord) -> Self {
        StationEntry {
            id: s.id,
            name: s.name,
            township: s.township,
            division_code: s.division_code,
            location: s.location,
        }
    }
}

fn value(v: impl Serialize) -> serde_json::Result<Value> {
    serde_json::to_value(v)
}

pub fn parcel(principal: &Principal, view: ParcelView) -> serde_json::Result<Value> {
    if is_staff(principal) {
        value(view)
    } else {
        value(CarrierParcel::from(view))
    }
}

/// A page of parcels in the one page shape (`app::paging::Page`).
pub fn page(principal: &Principal, page: ParcelPage) -> serde_json::Result<Value> {
    let page = app::paging::Page {
        items: page.parcels,
        next_after_id: page.next_after_id,
    };
    if is_staff(principal) {
        return value(page);
    }
    value(page.map(CarrierParcel::from))
}

/// A row of the audit trail as the API shows it: its time as an RFC 3339
/// UTC string like every other time in the API (the stored row, and the
/// hash, keep Unix milliseconds).
#[derive(Debug, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor: String,
    pub actor_role: String,
    pub act: String,
    pub object_kind: String,
    pub object_id: Option<i64>,
    pub station_id: Option<i64>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<domain::audit::AuditRow> for AuditEntry {
    fn from(row: domain::audit::AuditRow) -> Self {
        AuditEntry {
            seq: row.seq,
            at: DateTime::from_timestamp_millis(row.at_ms).unwrap_or_default(),
            actor_user_id: row.actor_user_id,
            actor: row.actor,
            actor_role: row.actor_role,
            act: row.act,
            object_kind: row.object_kind,
            object_id: row.object_id,
            station_id: row.station_id,
            details: row.details,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

pub fn events(principal: &Principal, events: Vec<EventRecord>) -> serde_json::Result<Value> {
    if is_staff(principal) {
        value(events)
    } else {
        value(
            events
                .into_iter()
                .map(CarrierEvent::from)
                .collect::<Vec<_>>(),
        )
    }
}

pub fn station(principal: &Principal, station: StationRecord) -> serde_json::Result<Value> {
    if is_staff(principal) {
        value(station)
    } else {
        value(StationEntry::from(station))
    }
}

pub fn stations(principal: &Principal, stations: Vec<StationRecord>) -> serde_json::Result<Value> {
    if is_staff(principal) {
        value(stations)
    } else {
        value(
            stations
                .into_iter()
                .map(StationEntry::from)
                .collect::<Vec<_>>(),
        )
    }
}

/// The views for the OpenAPI document.
pub fn schemas() -> serde_json::Map<String, Value> {
    let time = json!({"type": "string", "format": "date-time"});
    let int = json!({"type": "integer", "format": "int64"});
    let nullable_int = json!({"type": "integer", "format": "int64", "nullable": true});
    let common = json!({
        "id": int, "carrier": {"type": "string"}, "waybill": {"type": "string"},
        "state": {"type": "string"}, "problem": {"type": "string", "nullable": true},
        "size": {"enum": ["small", "medium", "large"]}, "weight_grams": nullable_int,
        "consent": {"type": "boolean"}, "station_id": nullable_int,
        "stored_at": {"type": "string", "format": "date-time", "nullable": true},
        "overdue": {"type": "boolean"}, "created_at": time, "updated_at": time,
    });
    let mut staff = common.clone();
    for (k, v) in [
        (
            "recipient_name",
            json!({"type": "string", "nullable": true}),
        ),
        (
            "phone",
            json!({"type": "string", "nullable": true, "description": "Masked: 138****5678; the whole number only from /api/parcels/{parcel_id}/phone"}),
        ),
        ("address", json!({"type": "string", "nullable": true})),
        ("slot_id", nullable_int.clone()),
        ("slot", json!({"type": "string", "nullable": true})),
        ("pickup_code", json!({"type": "string", "nullable": true})),
        (
            "reminders_sent",
            json!({"type": "array", "items": {"type": "integer"}}),
        ),
        ("version", int.clone()),
    ] {
        staff[k] = v;
    }
    let mut carrier = common;
    carrier["has_pickup_code"] = json!({"type": "boolean", "description": "The recipient has a code; the code goes to the recipient alone"});
    let event_common = json!({
        "id": int, "parcel_id": int, "kind": {"type": "string"},
        "from_state": {"type": "string", "nullable": true}, "to_state": {"type": "string"},
        "at": time, "station_id": nullable_int,
    });
    let mut staff_event = event_common.clone();
    staff_event["actor"] = json!({"type": "string", "description": "Who acted (username)"});
    staff_event["idempotency_key"] = json!({"type": "string"});
    staff_event["details"] = json!({"type": "object"});
    let entry = json!({
        "id": int, "name": {"type": "string"}, "township": {"type": "string"},
        "division_code": {"type": "string", "nullable": true},
        "location": {"type": "object", "nullable": true, "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
    });
    let mut staff_station = entry.clone();
    staff_station["code_format"] = json!({"type": "string"});
    staff_station["holding"] = json!({"type": "object"});
    let page = |item: &str| {
        json!({"type": "object", "required": ["items", "next_after_id"], "properties": {
            "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
            "next_after_id": {"type": "integer", "format": "int64", "nullable": true,
                "description": "Pass as `after_id` for the next page; null when this page is the last"},
        }})
    };
    let object = |description: &str, properties: Value| json!({"type": "object", "description": description, "properties": properties});
    let mut map = serde_json::Map::new();
    for (name, schema) in [
        (
            "StaffParcel",
            object(
                "A parcel as county staff and the station's keeper see it",
                staff,
            ),
        ),
        (
            "CarrierParcel",
            object(
                "A parcel as its carrier sees it: no pickup code, slot, phone, recipient's name, address or staff usernames",
                carrier,
            ),
        ),
        ("StaffParcelPage", page("StaffParcel")),
        ("CarrierParcelPage", page("CarrierParcel")),
        (
            "StaffEvent",
            object("An event as staff see it", staff_event),
        ),
        (
            "CarrierEvent",
            object(
                "An event as the parcel's carrier sees it: no actor, no details",
                event_common,
            ),
        ),
        (
            "StaffStation",
            object("A station as those who work there see it", staff_station),
        ),
        (
            "StationEntry",
            object(
                "A station as a carrier sees it in the list: enough to name it in a manifest",
                entry,
            ),
        ),
    ] {
        map.insert(name.to_string(), schema);
    }
    map
}

/// The answer's schema per route that answers in a role's view: the
/// staff's and the carrier's.
pub fn answers(method: &str, path: &str) -> Option<Value> {
    let one_of = |staff: &str, carrier: &str| {
        json!({"oneOf": [
            {"$ref": format!("#/components/schemas/{staff}")},
            {"$ref": format!("#/components/schemas/{carrier}")},
        ], "description": "Staff get the first, carriers the second"})
    };
    let array = |schema: Value| json!({"type": "array", "items": schema});
    match (method, path) {
        ("GET", "/api/parcels" | "/api/stations/{station_id}/parcels") => {
            Some(one_of("StaffParcelPage", "CarrierParcelPage"))
        }
        ("GET", "/api/parcels/{parcel_id}") => Some(one_of("StaffParcel", "CarrierParcel")),
        ("GET", "/api/parcels/{parcel_id}/events") => {
            Some(array(one_of("StaffEvent", "CarrierEvent")))
        }
        ("GET", "/api/stations") => Some(array(one_of("StaffStation", "StationEntry"))),
        ("GET", "/api/stations/{station_id}") => Some(one_of("StaffStation", "StationEntry")),
        _ => None,
    }
}

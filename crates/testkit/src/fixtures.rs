//! The fixtures many tests share: who acts, a small station, a scan, the
//! start of the test day, and the database invariants check.

use app::App;
use app::inbound::InboundScan;
use app::ports::{NewStation, Store};
use chrono::{DateTime, Utc};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Phone, Principal, Role, WaybillNo};
use store::Db;

/// 2026-05-28 20:26 UTC, so 2026-05-29 04:26 in Shanghai: the day in
/// Shanghai differs from the UTC day, which the county tests rely on.
pub fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap()
}

pub fn admin() -> Principal {
    Principal {
        user_id: 1,
        username: "admin".into(),
        role: Role::Admin,
        station_ids: vec![],
        carrier: None,
    }
}

pub fn keeper_of(station_id: i64) -> Principal {
    Principal {
        user_id: 2,
        username: "keeper".into(),
        role: Role::StationKeeper,
        station_ids: vec![station_id],
        carrier: None,
    }
}

/// A station with one shelf of `n_slots` small slots holding `capacity`
/// parcels each; returns its id.
pub async fn station(app: &App, n_slots: u32, capacity: u32) -> i64 {
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: 1,
        slots_per_tier: n_slots,
        size: SizeClass::Small,
        slot_capacity: capacity,
    }];
    let new = NewStation {
        location: None,
        name: "石桥村驿站".into(),
        township: "石桥镇".into(),
        division_code: None,
        code_format: CodeFormat::default(),
        holding: HoldingPolicy::default(),
        slots: lay_out(&shelves).unwrap(),
    };
    app.store.create_station(&new, app.now()).await.unwrap().id
}

/// A small ZTO parcel for 张三 at `phone`, consent given.
pub fn scan(waybill: &str, phone: &str) -> InboundScan {
    InboundScan {
        carrier: Carrier::Zto,
        waybill: WaybillNo::parse(waybill).unwrap(),
        recipient_name: Some("张三".into()),
        phone: Some(Phone::parse(phone).unwrap()),
        size: SizeClass::Small,
        consent: Some(true),
    }
}

pub async fn assert_invariants(db: &Db) {
    let problems = db.check_invariants().await.unwrap();
    assert!(
        problems.is_empty(),
        "{} invariants broken: {problems:?}",
        db.backend()
    );
}

/// Registers the devices a simulated station runs (door `front`, lights
/// `shelves`, scanner `checkout`) at `station_id`, as the demo does: the
/// bridge refuses messages from devices the registry does not hold.
pub async fn register_station_devices(store: &dyn Store, station_id: i64, now: DateTime<Utc>) {
    let mut tx = store.begin().await.unwrap();
    for (kind, device_id) in [
        ("door", "front"),
        ("lights", "shelves"),
        ("scanner", "checkout"),
    ] {
        tx.insert_device(&app::ports::devices::NewDevice {
            station_id,
            kind: kind.into(),
            device_id: device_id.into(),
            credential_ref: app::device_registry::credential_ref(station_id, kind, device_id),
            registered_by: "test".into(),
            now,
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// The one-time code in the last message the relay sent to `phone`
/// (relaying what the outbox holds through a recording sender).
pub async fn send_code_sent(app: &App, phone: &str) -> String {
    let relay = crate::RecordingSender::default();
    app.relay_once(&relay, 10).await.unwrap();
    let (_, text) = relay
        .sent()
        .into_iter()
        .rev()
        .find(|(to, _)| to == phone)
        .expect("a code message");
    text.chars().filter(char::is_ascii_digit).take(6).collect()
}

/// A sender signed in by phone and the code the relay sent.
pub async fn sender_signed_in(app: &App, phone: &str) -> app::sending::SenderRecord {
    let parsed = Phone::parse(phone).unwrap();
    app.request_send_code(&parsed).await.unwrap();
    let code = send_code_sent(app, phone).await;
    let sign_in = app.verify_send_code(&parsed, &code).await.unwrap();
    app.sender_session(&sign_in.token).await.unwrap()
}

/// A signed-in sender who has passed the real-name check (张三, a valid
/// 居民身份证 number).
pub async fn verified_sender(app: &App, phone: &str) -> app::sending::SenderRecord {
    let sender = sender_signed_in(app, phone).await;
    app.verify_sender_identity(
        &sender,
        "张三",
        domain::sending::DocumentKind::ResidentId,
        "11010519491231002X",
    )
    .await
    .unwrap()
}

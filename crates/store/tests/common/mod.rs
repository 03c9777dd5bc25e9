//! The test harness every store test shares: real SQLite always, real
//! PostgreSQL when `YIZHAN_TEST_DATABASE_URL` is set, a test clock, and a
//! small station.
#![allow(dead_code)]

use app::App;
use app::inbound::InboundScan;
use app::ports::{Clock, NewStation, Store};
use chrono::{DateTime, Duration, Utc};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Phone, Principal, Role, WaybillNo};
use std::sync::{Arc, Mutex};
use store::{ConnectOptions, Db};

pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub struct Harness {
    pub app: App,
    pub db: Arc<Db>,
    pub clock: Arc<TestClock>,
    _dir: Option<tempfile::TempDir>,
    /// How to open a side connection to the same database.
    url: String,
    schema: Option<String>,
}

impl Harness {
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some(schema) = self.schema {
            Db::drop_schema(&self.url, &schema).await.unwrap();
        }
    }

    /// A raw connection beside the store, to try what the store never does.
    pub async fn raw(&self) -> sqlx::AnyConnection {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.unwrap();
        if let Some(schema) = &self.schema {
            sqlx::query(&format!("SET search_path TO \"{schema}\""))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn
    }
}

/// 2026-05-28 20:26 UTC, so 2026-05-29 04:26 in Shanghai: the day in
/// Shanghai differs from the UTC day, which the county tests rely on.
pub fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap()
}

/// SQLite always; PostgreSQL when configured (and says so when it is not).
pub async fn backends() -> Vec<Harness> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("test.db").display());
    let db = Arc::new(
        Db::connect(&ConnectOptions::new(url.clone()))
            .await
            .unwrap(),
    );
    let clock = Arc::new(TestClock(Mutex::new(start())));
    let mut harnesses = vec![Harness {
        app: App::new(db.clone(), clock.clone()),
        db,
        clock,
        _dir: Some(dir),
        url,
        schema: None,
    }];
    match std::env::var("YIZHAN_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", rand::random::<u64>());
            let options = ConnectOptions {
                url: url.clone(),
                schema: Some(schema.clone()),
                max_connections: 16,
            };
            let db = Arc::new(
                Db::connect(&options)
                    .await
                    .expect("PostgreSQL at YIZHAN_TEST_DATABASE_URL"),
            );
            let clock = Arc::new(TestClock(Mutex::new(start())));
            harnesses.push(Harness {
                app: App::new(db.clone(), clock.clone()),
                db,
                clock,
                _dir: None,
                url,
                schema: Some(schema),
            });
        }
        _ => eprintln!("SKIP PostgreSQL half: YIZHAN_TEST_DATABASE_URL is not set"),
    }
    harnesses
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

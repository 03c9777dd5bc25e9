//! The HTTP API driven in-process over real sockets, on a fresh SQLite file
//! per test: authorisation for every id-taking route, masking of phone
//! numbers in responses and logs, and limits on what comes in.

mod accounts;
mod authz;
mod board;
mod county;
mod errors;
mod idempotency;
mod limits;
mod openapi;
mod payments;
mod privacy;
mod sending;
mod views;
mod webhooks;

use app::App;
use app::auth::NewUser;
use app::ports::{NewStation, SystemClock};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Role};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, OnceLock};
use testkit::TestDatabase;

const PASSWORD: &str = "test-password-1";
/// Every phone number the tests put in; none may appear whole in a response
/// (but the audited phone endpoint's) or in a log line.
/// The simulated payment provider's key in every test server.
const PAYMENT_KEY: &[u8] = b"api test payment key";
const PHONES: [&str; 3] = ["13812345678", "13987654321", "17012345678"];

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
}

struct TestApp {
    base: String,
    client: reqwest::Client,
    station_a: i64,
    station_b: i64,
    /// The app behind the server (its payments are the simulated provider
    /// with [`PAYMENT_KEY`]).
    app: App,
    /// Keeps the SQLite file for the test's length.
    _database: TestDatabase,
}

impl TestApp {
    async fn token(&self, username: &str) -> String {
        let response = self
            .call(
                Method::POST,
                "/api/login",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(
            response.0,
            StatusCode::OK,
            "login {username}: {}",
            response.1
        );
        response.1["token"].as_str().unwrap().to_string()
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method_name = method.as_str().to_string();
        let method_name = method_name.as_str();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        // Every successful answer any test receives matches the document.
        openapi::check_answer(method_name, path, status.as_u16(), &body);
        (status, body)
    }
}

async fn spawn_app() -> TestApp {
    spawn_app_on(testkit::sqlite_database().await).await
}

/// [`spawn_app`] over a given database (the tests that must run on both).
async fn spawn_app_on(database: TestDatabase) -> TestApp {
    logs();
    let mut app = App::new(database.db.clone(), Arc::new(SystemClock));
    app.payments = Arc::new(app::sending::SimulatedPayments::new(PAYMENT_KEY.to_vec()));
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: 2,
        slots_per_tier: 5,
        size: SizeClass::Small,
        slot_capacity: 2,
    }];
    let mut station_ids = Vec::new();
    for (name, division) in [("甲村驿站", "510182103237"), ("乙村驿站", "510182104213")] {
        let new = NewStation {
            location: None,
            name: name.into(),
            township: "镇".into(),
            division_code: Some(division.into()),
            code_format: CodeFormat::default(),
            holding: HoldingPolicy::default(),
            slots: lay_out(&shelves).unwrap(),
        };
        station_ids.push(app.store.create_station(&new, app.now()).await.unwrap().id);
    }
    let users = [
        ("admin", Role::Admin, vec![], None),
        ("keeper_a", Role::StationKeeper, vec![station_ids[0]], None),
        ("keeper_b", Role::StationKeeper, vec![station_ids[1]], None),
        ("zto", Role::CarrierIntegrator, vec![], Some(Carrier::Zto)),
        ("sf", Role::CarrierIntegrator, vec![], Some(Carrier::Sf)),
        (
            "terminal_a",
            Role::StationTerminal,
            vec![station_ids[0]],
            None,
        ),
        ("officer", Role::ComplianceOfficer, vec![], None),
        ("auditor", Role::Auditor, vec![], None),
    ];
    for (username, role, station_ids, carrier) in users {
        app.create_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password: PASSWORD.into(),
            role,
            carrier,
            station_ids,
        })
        .await
        .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = app.clone();
    tokio::spawn(async move {
        axum::serve(listener, server::router(server::AppState { app: served }))
            .await
            .unwrap()
    });
    TestApp {
        base,
        client: reqwest::Client::new(),
        station_a: station_ids[0],
        station_b: station_ids[1],
        app,
        _database: database,
    }
}

/// A ZTO parcel stored at station A, and a slot of station A.
async fn parcel_at_a(t: &TestApp, keeper_a: &str, waybill: &str, phone: &str) -> (i64, Value) {
    let body = json!({"carrier": "ZTO", "waybill": waybill, "phone": phone, "recipient_name": "张三", "consent": true});
    let (status, outcome) = t
        .call(
            Method::POST,
            &format!("/api/stations/{}/inbound", t.station_a),
            Some(keeper_a),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    (outcome["parcel_id"].as_i64().unwrap(), outcome)
}

/// A route, a contractor, a bag bound for station A (joint mode), a parcel
/// in the manual queue and an agreement body, made through the API.
async fn county_objects(t: &TestApp) -> (i64, i64, i64, i64, Value) {
    let admin = t.token("admin").await;
    let post = |path: &'static str, body: Value| {
        let admin = admin.clone();
        async move {
            let (status, answer) = t.call(Method::POST, path, Some(&admin), Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{path}: {answer}");
            answer
        }
    };
    let route = post(
        "/api/county/routes",
        json!({"name": "丽春线", "townships": ["510182103"]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let contractor = post(
        "/api/county/contractors",
        json!({"name": "王师傅", "township": "510182101", "phone": "13800138000"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let agreement = json!({"effective_from": "2020-01-01", "terms": {
        "townships": [{"township": "510182103", "mode": "joint"}, {"township": "510182101", "mode": "contractor"}],
        "fees": [{"mode": "joint", "brackets": [{"fen": 50}]}, {"mode": "contractor", "brackets": [{"up_to_grams": 3000, "fen": 100}, {"fen": 200}]}]}});
    let version = post("/api/carriers/ZTO/agreement", agreement.clone()).await;
    assert_eq!(version["version"], 1);
    // Station A stands in 白果村 of the joint township, so its parcels bag for A.
    let arrival = post(
        "/api/centre/arrivals",
        json!({"carrier": "ZTO", "waybill": "731234500001", "address": "四川省成都市彭州市丽春镇白果村3组", "weight_grams": 800}),
    )
    .await;
    assert_eq!(arrival["state"], "sorted", "{arrival}");
    let bag = arrival["routing"]["bag_id"].as_i64().unwrap();
    let queued = post(
        "/api/centre/arrivals",
        json!({"carrier": "ZTO", "waybill": "731234500002", "address": "石桥镇"}),
    )
    .await;
    assert_eq!(queued["manual"]["reason"], "ambiguous", "{queued}");
    (
        route,
        contractor,
        bag,
        queued["parcel_id"].as_i64().unwrap(),
        agreement,
    )
}

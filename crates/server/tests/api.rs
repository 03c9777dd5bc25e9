//! The HTTP API driven in-process over real sockets, on a fresh SQLite file
//! per test: authorisation for every id-taking route, masking of phone
//! numbers in responses and logs, and limits on what comes in.

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
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

async fn spawn_app() -> TestApp {
    logs();
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
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
    tokio::spawn(async move {
        axum::serve(listener, server::router(server::AppState { app }))
            .await
            .unwrap()
    });
    TestApp {
        base,
        client: reqwest::Client::new(),
        station_a: station_ids[0],
        station_b: station_ids[1],
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

#[tokio::test]
async fn every_id_taking_route_refuses_other_stations_and_carriers() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let keeper_b = t.token("keeper_b").await;
    let sf = t.token("sf").await;
    let (parcel, _) = parcel_at_a(&t, &keeper_a, "731234567890", PHONES[0]).await;
    let (_, slots) = t
        .call(
            Method::GET,
            &format!("/api/stations/{}/slots", t.station_a),
            Some(&keeper_a),
            None,
        )
        .await;
    let slot_a = slots[3]["id"].as_i64().unwrap();
    let a = t.station_a;
    let (route, contractor, bag, queued, agreement) = county_objects(&t).await;
    let (status, created) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/webhooks",
            Some(&t.token("zto").await),
            Some(json!({"url": "https://zto.example/hook"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let subscription = created["id"].as_i64().unwrap();

    // The matrix: every route with an id in its path, the request an
    // outsider makes, and who the outsiders are. A new id-taking route
    // without a row here fails this test.
    let matrix: Vec<(&str, &str, String, Option<Value>)> = vec![
        (
            "GET",
            "/api/stations/{station_id}",
            format!("/api/stations/{a}"),
            None,
        ),
        (
            "GET",
            "/api/stations/{station_id}/slots",
            format!("/api/stations/{a}/slots"),
            None,
        ),
        (
            "GET",
            "/api/stations/{station_id}/summary",
            format!("/api/stations/{a}/summary"),
            None,
        ),
        (
            "POST",
            "/api/stations/{station_id}/inbound",
            format!("/api/stations/{a}/inbound"),
            Some(json!({"carrier": "ZTO", "waybill": "739999999999"})),
        ),
        (
            "POST",
            "/api/stations/{station_id}/inbound/batch",
            format!("/api/stations/{a}/inbound/batch"),
            Some(json!({"scans": [{"carrier": "ZTO", "waybill": "739999999998"}]})),
        ),
        (
            "GET",
            "/api/stations/{station_id}/parcels",
            format!("/api/stations/{a}/parcels"),
            None,
        ),
        (
            "GET",
            "/api/stations/{station_id}/returns",
            format!("/api/stations/{a}/returns"),
            None,
        ),
        (
            "GET",
            "/api/parcels/{parcel_id}",
            format!("/api/parcels/{parcel}"),
            None,
        ),
        (
            "GET",
            "/api/parcels/{parcel_id}/events",
            format!("/api/parcels/{parcel}/events"),
            None,
        ),
        (
            "GET",
            "/api/parcels/{parcel_id}/phone",
            format!("/api/parcels/{parcel}/phone"),
            None,
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/pickup",
            format!("/api/parcels/{parcel}/pickup"),
            Some(json!({"method": "staff_assisted", "shown": "id_card"})),
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/move",
            format!("/api/parcels/{parcel}/move"),
            Some(json!({"slot_id": slot_a})),
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/problem",
            format!("/api/parcels/{parcel}/problem"),
            Some(json!({"kind": "damaged"})),
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/return",
            format!("/api/parcels/{parcel}/return"),
            None,
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/consent",
            format!("/api/parcels/{parcel}/consent"),
            Some(json!({"source": "phone_call"})),
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/centre-scan",
            format!("/api/parcels/{parcel}/centre-scan"),
            Some(json!({"action": "arrive"})),
        ),
        (
            "POST",
            "/api/carriers/{carrier}/manifest",
            "/api/carriers/ZTO/manifest".to_string(),
            Some(json!({"parcels": [{"waybill": "731111111111"}]})),
        ),
        // County co-delivery: the carrier's own agreement, fees and
        // reconciliation; the centre's bags, queue and handover lists.
        (
            "GET",
            "/api/carriers/{carrier}/agreement",
            "/api/carriers/ZTO/agreement".to_string(),
            None,
        ),
        (
            "POST",
            "/api/carriers/{carrier}/agreement",
            "/api/carriers/ZTO/agreement".to_string(),
            Some(agreement.clone()),
        ),
        (
            "GET",
            "/api/carriers/{carrier}/fees",
            "/api/carriers/ZTO/fees".to_string(),
            None,
        ),
        (
            "POST",
            "/api/carriers/{carrier}/webhooks",
            "/api/carriers/ZTO/webhooks".to_string(),
            Some(json!({"url": "https://evil.example/hook"})),
        ),
        (
            "GET",
            "/api/carriers/{carrier}/webhooks",
            "/api/carriers/ZTO/webhooks".to_string(),
            None,
        ),
        (
            "GET",
            "/api/carriers/{carrier}/fees/summary",
            "/api/carriers/ZTO/fees/summary".to_string(),
            None,
        ),
        (
            "GET",
            "/api/carriers/{carrier}/reconciliation",
            "/api/carriers/ZTO/reconciliation".to_string(),
            None,
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/resolve",
            format!("/api/parcels/{queued}/resolve"),
            Some(json!({"division": "510182103"})),
        ),
        (
            "GET",
            "/api/bags/{bag_id}",
            format!("/api/bags/{bag}"),
            None,
        ),
        (
            "GET",
            "/api/bags/{bag_id}/label",
            format!("/api/bags/{bag}/label"),
            None,
        ),
        (
            "POST",
            "/api/bags/{bag_id}/dispatch",
            format!("/api/bags/{bag}/dispatch"),
            None,
        ),
        (
            "POST",
            "/api/stations/{station_id}/bags/accept",
            format!("/api/stations/{a}/bags/accept"),
            Some(json!({"label": format!("YZBAG:{bag}")})),
        ),
        (
            "GET",
            "/api/county/routes/{route_id}/handover",
            format!("/api/county/routes/{route}/handover"),
            None,
        ),
        (
            "GET",
            "/api/county/contractors/{contractor_id}/handover",
            format!("/api/county/contractors/{contractor}/handover"),
            None,
        ),
        (
            "GET",
            "/api/carriers/{carrier}/webhook-attempts",
            "/api/carriers/ZTO/webhook-attempts".to_string(),
            None,
        ),
        (
            "PUT",
            "/api/webhooks/{subscription_id}",
            format!("/api/webhooks/{subscription}"),
            Some(json!({"url": "https://evil.example/hook"})),
        ),
        (
            "GET",
            "/api/webhooks/{subscription_id}/deliveries",
            format!("/api/webhooks/{subscription}/deliveries"),
            None,
        ),
    ];
    for (spec, _) in server::routes() {
        // Public routes (the tracking query) have no caller to authorise;
        // `tracking_is_public_and_shows_no_personal_data` covers that one.
        if spec.path.contains('{') && spec.authenticated {
            assert!(
                matrix
                    .iter()
                    .any(|(m, p, _, _)| *m == spec.method && *p == spec.path),
                "no authorisation case for {} {}: add one to the matrix",
                spec.method,
                spec.path
            );
        }
    }
    for (method, _, path, body) in &matrix {
        for (who, token) in [("keeper_b", &keeper_b), ("sf", &sf)] {
            let (status, answer) = t
                .call(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    path,
                    Some(token),
                    body.clone(),
                )
                .await;
            assert!(
                matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                "{who} {method} {path} answered {status}: {answer}"
            );
        }
    }
    // The outsiders are not simply locked out of everything.
    let (status, _) = t
        .call(
            Method::GET,
            &format!("/api/stations/{}", t.station_b),
            Some(&keeper_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "keeper_b sees their own station");
    // The parcel is untouched by all of that, and its keeper still sees it.
    let (status, view) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}"),
            Some(&keeper_a),
            None,
        )
        .await;
    assert_eq!(
        (status, view["state"].as_str()),
        (StatusCode::OK, Some("stored"))
    );
    let (status, _) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}/events"),
            Some(&t.token("zto").await),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the parcel's own carrier may read its events"
    );
    let (status, list) = t
        .call(
            Method::GET,
            "/api/carriers/ZTO/webhooks",
            Some(&t.token("zto").await),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list[0]["url"], "https://zto.example/hook",
        "the outsiders changed nothing: {list}"
    );
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn webhook_secrets_are_shown_once_and_never_again() {
    let t = spawn_app().await;
    let zto = t.token("zto").await;
    let admin = t.token("admin").await;
    let (status, created) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/webhooks",
            Some(&zto),
            Some(
                json!({"url": "https://zto.example/hook", "event_kinds": ["stored", "picked_up"]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 70,
        "{secret}"
    );
    assert_eq!(created["event_kinds"], json!(["stored", "picked_up"]));
    let id = created["id"].as_i64().unwrap();
    let mut bodies = vec![
        t.call(Method::GET, "/api/carriers/ZTO/webhooks", Some(&zto), None)
            .await
            .1,
        t.call(
            Method::GET,
            "/api/carriers/ZTO/webhooks",
            Some(&admin),
            None,
        )
        .await
        .1,
        t.call(
            Method::PUT,
            &format!("/api/webhooks/{id}"),
            Some(&zto),
            Some(json!({"active": false})),
        )
        .await
        .1,
        t.call(
            Method::GET,
            &format!("/api/webhooks/{id}/deliveries"),
            Some(&zto),
            None,
        )
        .await
        .1,
        t.call(Method::GET, "/api/openapi.json", None, None).await.1,
    ];
    assert_eq!(bodies[2]["active"], false, "{}", bodies[2]);
    for (body, words) in [
        (json!({"url": "ftp://zto.example"}), "https://"),
        (
            json!({"url": "https://zto.example", "event_kinds": ["moved"]}),
            "unknown webhook event",
        ),
        (
            json!({"url": "https://zto.example", "colour": 1}),
            "unknown field",
        ),
    ] {
        let (status, answer) = t
            .call(
                Method::POST,
                "/api/carriers/ZTO/webhooks",
                Some(&zto),
                Some(body),
            )
            .await;
        assert!(status.is_client_error(), "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(words),
            "{answer}"
        );
        bodies.push(answer);
    }
    let text = bodies
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("zto.example/hook"), "{text}");
    assert!(!text.contains(&secret), "the secret came back: {text}");
    assert!(!text.contains("\"secret\""), "{text}");
    let logs = String::from_utf8_lossy(&logs().0.lock().unwrap()).to_string();
    assert!(logs.contains("webhook subscription created"));
    assert!(!logs.contains(&secret), "the secret is in the logs");
}

#[tokio::test]
async fn tracking_is_public_and_shows_no_personal_data() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let zto = t.token("zto").await;
    let manifest = json!({"parcels": [{"waybill": "731234567895", "recipient_name": "李四", "phone": PHONES[1],
        "address": "四川省成都市武侯区簇桥街道石桥村3组", "station_id": t.station_a, "consent": true}]});
    let (status, _) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/manifest",
            Some(&zto),
            Some(manifest),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, stored) = parcel_at_a(&t, &keeper_a, "731234567895", PHONES[1]).await;
    let code = stored["pickup_code"].as_str().unwrap().to_string();
    let (status, tracked) = t
        .call(Method::GET, "/api/track/731234567895", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{tracked}");
    let parcel = &tracked["parcels"][0];
    assert_eq!(parcel["state"], "stored");
    assert_eq!(parcel["place"]["name"], "甲村驿站");
    let events: Vec<&str> = parcel["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["announced", "stored"]);
    assert!(
        parcel["events"][1]["at_shanghai"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    let (status, with_carrier) = t
        .call(
            Method::GET,
            "/api/track/731234567895?carrier=ZTO",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = format!("{tracked}\n{with_carrier}");
    for personal in [
        PHONES[1],
        "9876",
        "4321",
        "李四",
        "张三",
        "武侯",
        "石桥村3组",
        &code,
    ] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
    for key in ["phone", "recipient_name", "address", "pickup_code", "slot"] {
        assert!(!text.contains(&format!("\"{key}")), "{key} in {text}");
    }
    for (path, expected) in [
        ("/api/track/731234567899", StatusCode::NOT_FOUND),
        ("/api/track/731234567895?carrier=SF", StatusCode::NOT_FOUND),
        ("/api/track/bad;waybill", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "/api/track/731234567895?carrier=UPS",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, answer) = t.call(Method::GET, path, None, None).await;
        assert_eq!(status, expected, "{path}: {answer}");
        assert!(answer["error"]["code"].is_string(), "{path}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{path}: {answer}");
    }
    // Bounded: a burst far beyond the limit is turned away, in the error shape.
    let mut limited = None;
    for _ in 0..400 {
        let response = t
            .client
            .get(format!("{}/api/track/731234567899", t.base))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            limited = Some((response.json::<Value>().await.unwrap(), retry_after));
            break;
        }
    }
    let (limited, retry_after) = limited.expect("the tracking query is rate-limited");
    assert_eq!(limited["error"]["code"], "rate_limited");
    assert_eq!(limited["error"]["type"], "rate_limit");
    assert!(
        limited["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too many tracking queries; try again after "),
        "{limited}"
    );
    let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
}

#[tokio::test]
async fn phone_numbers_are_masked_in_responses_and_logs() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let zto = t.token("zto").await;
    let admin = t.token("admin").await;
    let mut bodies = Vec::new();
    let (parcel, outcome) = parcel_at_a(&t, &keeper_a, "731234567891", PHONES[0]).await;
    bodies.push(outcome);
    let batch = json!({"scans": [{"carrier": "ZTO", "waybill": "731234567892", "phone": PHONES[1], "consent": true}, {"carrier": "ZTO", "waybill": "731234567893", "phone": PHONES[2]}]});
    bodies.push(
        t.call(
            Method::POST,
            &format!("/api/stations/{}/inbound/batch", t.station_a),
            Some(&keeper_a),
            Some(batch),
        )
        .await
        .1,
    );
    let manifest = json!({"parcels": [{"waybill": "731234567894", "phone": PHONES[1], "station_id": t.station_a}, {"waybill": "bad;", "phone": PHONES[0]}]});
    bodies.push(
        t.call(
            Method::POST,
            "/api/carriers/ZTO/manifest",
            Some(&zto),
            Some(manifest),
        )
        .await
        .1,
    );
    for path in [
        format!("/api/parcels/{parcel}"),
        format!("/api/parcels/{parcel}/events"),
        format!("/api/stations/{}/parcels?phone_tail=5678", t.station_a),
        format!("/api/stations/{}/parcels", t.station_a),
        "/api/parcels?carrier=ZTO".to_string(),
    ] {
        for token in [&keeper_a, &zto, &admin] {
            bodies.push(t.call(Method::GET, &path, Some(token), None).await.1);
        }
    }
    let address = json!({"text": format!("张三 {} 四川省成都市武侯区簇桥街道", PHONES[0])});
    let (status, parsed) = t
        .call(
            Method::POST,
            "/api/address/parse",
            Some(&keeper_a),
            Some(address),
        )
        .await;
    assert_eq!(
        (status, parsed["county"]["code"].as_str()),
        (StatusCode::OK, Some("510107")),
        "{parsed}"
    );
    bodies.push(parsed);
    let (status, phone) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}/phone"),
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "carriers get numbers masked only: {phone}"
    );
    let (status, phone) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}/phone"),
            Some(&keeper_a),
            None,
        )
        .await;
    assert_eq!(
        (status, phone["phone"].as_str()),
        (StatusCode::OK, Some(PHONES[0])),
        "the keeper who must call gets it"
    );
    let text = bodies
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("138****5678"),
        "masked numbers are there: {text}"
    );
    let logs = String::from_utf8_lossy(&logs().0.lock().unwrap()).to_string();
    assert!(logs.contains("inbound scan"), "the log capture works");
    for phone in PHONES {
        assert!(!text.contains(phone), "{phone} appears in a response");
        assert!(!logs.contains(phone), "{phone} appears in the logs");
    }
}

#[tokio::test]
async fn limits_answer_with_clear_errors() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let inbound = format!("/api/stations/{}/inbound", t.station_a);
    let cases: Vec<(Method, String, Option<Value>, StatusCode, &str)> = vec![
        (
            Method::POST,
            inbound.clone(),
            Some(json!({"carrier": "ZTO", "waybill": "7".repeat(41)})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "6 to 40",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(json!({"carrier": "UPS", "waybill": "731234567890"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "carrier",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(json!({"carrier": "ZTO", "waybill": "731234567890", "phone": "12345"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "mobile",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(
                json!({"carrier": "ZTO", "waybill": "731234567890", "recipient_name": "名".repeat(65)}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 64",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(json!({"carrier": "ZTO", "waybill": "731234567890", "phone": "1".repeat(100)})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too long",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(
                json!({"carrier": "ZTO", "waybill": "731234567890", "big": "x".repeat(2 * 1024 * 1024)}),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than",
        ),
        (
            Method::POST,
            format!("/api/stations/{}/inbound/batch", t.station_a),
            Some(
                json!({"scans": (0..501).map(|i| json!({"carrier": "ZTO", "waybill": format!("7300{i:08}")})).collect::<Vec<_>>()}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "1 to 500",
        ),
        (
            Method::GET,
            format!("/api/stations/{}/parcels?limit=201", t.station_a),
            None,
            StatusCode::BAD_REQUEST,
            "limit must be",
        ),
        (
            Method::GET,
            format!("/api/stations/{}/parcels?phone_tail=12", t.station_a),
            None,
            StatusCode::BAD_REQUEST,
            "last 4 digits",
        ),
        (
            Method::GET,
            format!("/api/stations/{}/parcels?colour=red", t.station_a),
            None,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            Method::GET,
            "/api/stations/abc".to_string(),
            None,
            StatusCode::BAD_REQUEST,
            "parse",
        ),
        (
            Method::GET,
            "/api/nowhere".to_string(),
            None,
            StatusCode::NOT_FOUND,
            "no such route",
        ),
    ];
    for (method, path, body, expected, words) in cases {
        let (status, answer) = t.call(method.clone(), &path, Some(&keeper_a), body).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert!(
            message.contains(words),
            "{method} {path}: message {message:?} should say {words:?}"
        );
    }
    let (status, answer) = t.call(Method::GET, "/api/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let (status, _) = t
        .call(Method::GET, "/api/me", Some("yz_forged"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"username": "keeper_a", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let t = spawn_app().await;
    let (status, document) = t.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.0.3");
    for (spec, _) in server::routes() {
        assert!(
            document["paths"][spec.path][spec.method.to_lowercase()].is_object(),
            "{} {} missing from the document",
            spec.method,
            spec.path
        );
    }
    let (status, health) = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, health["database"].as_str()),
        (StatusCode::OK, Some("sqlite"))
    );
}

/// The error shape's `code` enum in the document is the code table, and
/// every code's two templates name the same values (Chinese never shows a
/// parser's English `{detail}`).
#[tokio::test]
async fn openapi_lists_every_error_code() {
    let t = spawn_app().await;
    let (_, document) = t.call(Method::GET, "/api/openapi.json", None, None).await;
    let error = &document["components"]["schemas"]["Error"]["properties"]["error"];
    let listed: Vec<&str> = error["properties"]["code"]["enum"]
        .as_array()
        .expect("an enum of codes")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let table: Vec<&str> = app::Code::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(listed, table);
    assert!(error["required"].as_array().unwrap().len() == 3, "{error}");
    for code in app::Code::ALL {
        let zh = code.template(app::Lang::Zh);
        let en = code.template(app::Lang::En);
        assert!(!zh.is_empty() && !en.is_empty(), "{code}");
        let mut zh_names = app::Code::placeholders(zh);
        let mut en_names = app::Code::placeholders(en);
        en_names.retain(|name| *name != "detail");
        zh_names.sort_unstable();
        en_names.sort_unstable();
        assert_eq!(zh_names, en_names, "{code}: {zh} / {en}");
    }
    let description = document["info"]["description"].as_str().unwrap();
    assert!(description.contains("Accept-Language"), "{description}");
}

/// A refused row of an inbound batch says why in English by default and
/// in Chinese when the caller asks for it; so does a refused request.
#[tokio::test]
async fn refusals_speak_the_requests_language() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let path = format!("{}/api/stations/{}/inbound/batch", t.base, t.station_a);
    // Station A has only small slots: a large parcel is refused, the small
    // one is stored.
    let batch = json!({"scans": [
        {"carrier": "ZTO", "waybill": "731234560001", "size": "large", "consent": true},
        {"carrier": "ZTO", "waybill": "731234560002", "consent": true}
    ]});
    let mut reasons = Vec::new();
    for language in [
        None,
        Some("zh-CN,zh;q=0.9,en;q=0.8"),
        Some("en-US,en;q=0.9"),
    ] {
        let mut request = t.client.post(&path).bearer_auth(&keeper_a).json(&batch);
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["stored"].as_array().unwrap().len(), 1, "{outcome}");
        let rejected = &outcome["rejected"][0];
        assert_eq!(rejected["index"], 0, "{outcome}");
        assert_eq!(rejected["code"], "station_full", "{outcome}");
        reasons.push(rejected["reason"].as_str().unwrap().to_string());
    }
    assert_eq!(
        reasons,
        [
            "the station has no free slot for a large parcel",
            "驿站已没有能放大件的空格口",
            "the station has no free slot for a large parcel",
        ]
    );
    // A refused request: the same code, the message in the asked language.
    let too_big = json!({"scans": (0..501).map(|i| json!({"carrier": "ZTO", "waybill": format!("7300{i:08}")})).collect::<Vec<_>>()});
    let mut answers = Vec::new();
    for language in [None, Some("zh-CN")] {
        let mut request = t.client.post(&path).bearer_auth(&keeper_a).json(&too_big);
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let content_language = response.headers()["content-language"]
            .to_str()
            .unwrap()
            .to_string();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], "batch_size", "{answer}");
        assert_eq!(answer["error"]["type"], "invalid_request", "{answer}");
        answers.push((
            content_language,
            answer["error"]["message"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(
        answers,
        [
            (
                "en".to_string(),
                "a batch holds 1 to 500 parcels; this one has 501".to_string()
            ),
            (
                "zh-CN".to_string(),
                "一批须有 1 至 500 件包裹，这一批有 501 件".to_string()
            ),
        ]
    );
    // Rejections made by the extractors and the fallback speak it too.
    for (path, code, zh) in [
        ("/api/nowhere", "route_not_found", "没有这个接口"),
        ("/api/me", "token_missing", "API 令牌"),
        ("/api/login", "method_not_allowed", "请求方法"),
    ] {
        let response = t
            .client
            .get(format!("{}{path}", t.base))
            .header("accept-language", "zh")
            .send()
            .await
            .unwrap();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code, "{answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(zh),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn county_centre_flow_over_http() {
    let t = spawn_app().await;
    let (route, _contractor, bag, queued, _) = county_objects(&t).await;
    let admin = t.token("admin").await;
    let keeper_a = t.token("keeper_a").await;
    let zto = t.token("zto").await;
    let (status, label) = t
        .call(
            Method::GET,
            &format!("/api/bags/{bag}/label"),
            Some(&keeper_a),
            None,
        )
        .await;
    let label = label.as_str().unwrap_or_default().to_string();
    assert_eq!(status, StatusCode::OK);
    assert!(label.contains("<svg") && label.contains(&format!("YZBAG:{bag}")));
    let accept = json!({"label": format!("YZBAG:{bag}")});
    let path = format!("/api/stations/{}/bags/accept", t.station_a);
    let (status, answer) = t
        .call(Method::POST, &path, Some(&keeper_a), Some(accept.clone()))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("bag_not_dispatched")),
        "not dispatched yet"
    );
    let (status, _) = t
        .call(
            Method::POST,
            &format!("/api/bags/{bag}/dispatch"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, first) = t
        .call(Method::POST, &path, Some(&keeper_a), Some(accept.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (
            first["duplicate"].as_bool(),
            first["stored"].as_array().map(Vec::len)
        ),
        (Some(false), Some(1))
    );
    let (_, second) = t
        .call(Method::POST, &path, Some(&keeper_a), Some(accept))
        .await;
    assert_eq!(second["duplicate"], true);
    let (status, bad) = t
        .call(
            Method::POST,
            &path,
            Some(&keeper_a),
            Some(json!({"label": "731234500001"})),
        )
        .await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{bad}"
    );
    let (status, page) = t
        .call(
            Method::GET,
            &format!("/api/county/routes/{route}/handover"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("交接单"));
    let (status, queue) = t
        .call(Method::GET, "/api/centre/manual-queue", Some(&admin), None)
        .await;
    assert_eq!(
        (status, queue[0]["parcel_id"].as_i64()),
        (StatusCode::OK, Some(queued))
    );
    let (status, resolved) = t
        .call(
            Method::POST,
            &format!("/api/parcels/{queued}/resolve"),
            Some(&admin),
            Some(json!({"division": "510182103237"})),
        )
        .await;
    assert_eq!(
        (status, resolved["state"].as_str()),
        (StatusCode::OK, Some("sorted")),
        "{resolved}"
    );
    let (status, report) = t
        .call(
            Method::GET,
            "/api/carriers/ZTO/reconciliation",
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["unannounced"].as_array().map(Vec::len), Some(2));
    let (status, bad) = t
        .call(
            Method::GET,
            "/api/carriers/ZTO/fees?from=2026-13-01",
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, bad) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/agreement",
            Some(&admin),
            Some(json!({"effective_from": "2026-01-01", "terms": {"townships": [], "fees": []}})),
        )
        .await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("agreement_invalid")),
        "{bad}"
    );
}

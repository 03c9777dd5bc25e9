//! Vehicles' telemetry over a real Mosquitto (issue 20): a vehicle publishes
//! on its telemetry topic, the bridge hands each good message to the fleet's
//! rules, which store one incident per incident; a malformed message is
//! dropped and counted, never passed on. SKIP without a broker, a failure
//! under `YIZHAN_REQUIRE_SERVICES=1`.

use app::App;
use app::fleet::{Compartment, NewVehicle};
use app::ports::{Clock, FleetStore, GeoPoint};
use chrono::Utc;
use devices::auth::ServerDeviceKey;
use devices::bridge::{Bridge, BridgeConfig};
use devices::mqtt::BrokerConfig;
use devices::vehicle::telemetry_topic;
use domain::fleet::VehicleKind;
use domain::station::SizeClass;
use domain::{Principal, Role};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use std::sync::Arc;
use testkit::TestClock;

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_reaches_the_rules_and_raises_one_incident() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let database = testkit::sqlite_database().await;
    let db = database.db.clone();
    let clock = Arc::new(TestClock::at(Utc::now()));
    let app = App::new(db.clone(), clock.clone());
    let operator = Principal {
        user_id: 0,
        username: "dispatcher".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    };
    // A code no other run uses: telemetry is not retained, but be safe.
    let code = format!("uv-{}", Utc::now().timestamp_millis() % 1_000_000_000);
    app.register_vehicle(
        &operator,
        &NewVehicle {
            code: code.clone(),
            name: "无人车".into(),
            kind: VehicleKind::Unmanned,
            compartments: vec![Compartment {
                number: 1,
                size: SizeClass::Small,
            }],
            battery_wh: 10_000,
            consumption_wh_per_km: 100,
            speed_limit_kmh: 30,
            operating_areas: vec![],
            station_ids: vec![],
            depot: GeoPoint {
                lat: 29.0,
                lon: 119.0,
            },
            driver: None,
        },
    )
    .await
    .unwrap();
    let (sink, mut telemetry) = tokio::sync::mpsc::channel(64);
    let mut config = BridgeConfig::new(
        BrokerConfig::open(&url),
        ServerDeviceKey::random(),
        &format!("yizhan-test-bridge-{code}"),
    );
    config.telemetry = Some(sink);
    let drops = config.drops.clone();
    let bridge = Bridge::start(db.clone(), clock.clone(), config)
        .await
        .expect("bridge connects");

    let (host, port) = devices::mqtt::parse_url(&url).unwrap();
    let (vehicle, mut eventloop) =
        AsyncClient::new(MqttOptions::new(format!("vehicle-{code}"), host, port), 64);
    let pump = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let t0 = clock.now().timestamp_millis();
    vehicle
        .publish(
            telemetry_topic(&code),
            QoS::AtLeastOnce,
            false,
            b"{\"lon\":1".to_vec(),
        )
        .await
        .unwrap();
    for second in 0..5 {
        let message = serde_json::json!({
            "at_ms": t0 + second * 1000, "lon": 119.05, "lat": 29.05, "speed_kmh": 48.0,
            "heading_deg": 90.0, "battery_pct": 80.0, "compartments": [{"n": 1, "state": "closed"}],
            "faults": [], "emergency_stop": false, "seq": second
        });
        vehicle
            .publish(
                telemetry_topic(&code),
                QoS::AtLeastOnce,
                false,
                message.to_string().into_bytes(),
            )
            .await
            .unwrap();
    }
    // Five good messages arrive, in order; the malformed one does not.
    let mut opened = Vec::new();
    for second in 0..5 {
        let (from, message) = tokio::time::timeout(WAIT, telemetry.recv())
            .await
            .expect("telemetry arrives")
            .expect("bridge running");
        assert_eq!(from, code);
        assert_eq!(message.at_ms, t0 + second * 1000);
        opened.extend(app.ingest_telemetry(&from, &message).await.unwrap());
    }
    assert_eq!(
        opened.len(),
        1,
        "five messages of one speeding: one incident"
    );
    let incident = db.incident(opened[0]).await.unwrap().unwrap();
    assert_eq!(incident.rule, "speeding");
    assert!(incident.command.unwrap().contains("slow_down"));
    assert_eq!(drops.snapshot().get("malformed").copied().unwrap_or(0), 1);
    vehicle.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, pump).await;
    bridge.stop();
}

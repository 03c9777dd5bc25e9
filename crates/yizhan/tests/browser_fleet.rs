//! A safety operator handles an injected incident end to end in real
//! Chromium (issue 20): `yizhan serve` on the demo with the real Mosquitto,
//! and `browser-tests/fleet.mjs` — `admin` registers an unmanned vehicle and
//! a no-go zone on `/fleet`, this test publishes the vehicle's telemetry
//! inside the zone once a second (over the broker, as a vehicle does) until
//! the script ends, the page shows the incident by polling, and the operator
//! takes over, sends a pull-over, hands back and closes it. Afterwards the
//! incident's log holds every step and the pull-over is in the devices'
//! outbox for the vehicle.
//!
//! Needs node, chromium, `browser-tests/node_modules` and a broker; under
//! `YIZHAN_REQUIRE_SERVICES=1` a missing part is a failure, not a skip.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::Demo;

#[test]
fn a_safety_operator_takes_over_an_injected_incident_in_the_browser() {
    if !support::browser_or_skip() {
        return;
    }
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let demo = Demo::start(&[("YIZHAN_DEVICES__MQTT_URL", url.as_str())]);
    let code = format!("bt-{}", std::process::id());
    // The vehicle: inside the no-go zone, once a second, until told to stop.
    let done = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (done, code, url) = (done.clone(), code.clone(), url.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let (host, port) = devices::mqtt::parse_url(&url).unwrap();
                let (client, mut eventloop) = rumqttc::AsyncClient::new(
                    rumqttc::MqttOptions::new(format!("vehicle-{code}"), host, port),
                    16,
                );
                let pump = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                while !done.load(Ordering::SeqCst) {
                    tick.tick().await;
                    let message = serde_json::json!({
                        "at_ms": chrono::Utc::now().timestamp_millis(),
                        "lon": 119.105, "lat": 29.105, "speed_kmh": 8.0,
                        "heading_deg": 90.0, "battery_pct": 70.0
                    });
                    let _ = client
                        .publish(
                            devices::vehicle::telemetry_topic(&code),
                            rumqttc::QoS::AtLeastOnce,
                            false,
                            message.to_string().into_bytes(),
                        )
                        .await;
                }
                let _ = client.disconnect().await;
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), pump).await;
            });
        })
    };
    demo.run_script("fleet.mjs", &[("VEHICLE", code.as_str())]);
    done.store(true, Ordering::SeqCst);
    publisher.join().unwrap();

    // What the page did, read back from the demo's database.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use app::ports::{DeviceStore, FleetStore};
        let db = store::Db::connect(&store::ConnectOptions::new(
            demo.database.clone(),
            Arc::new(app::keys::Keys::ephemeral()),
        ))
        .await
        .unwrap();
        let incidents = db.incidents(None, false, 50).await.unwrap();
        let incident = incidents
            .iter()
            .find(|i| i.rule == "entered_no_go")
            .expect("the injected incident");
        assert_eq!(incident.status, app::fleet::IncidentStatus::Closed);
        let log = db.incident_log(incident.id).await.unwrap();
        let acts: Vec<app::fleet::IncidentAct> = log.iter().map(|entry| entry.act).collect();
        use app::fleet::IncidentAct::*;
        assert_eq!(acts, [TakenOver, Acted, HandedBack, Closed]);
        assert!(log.iter().all(|entry| entry.username == "admin"));
        let sent = db
            .device_command(&app::fleet::takeover_command_id(incident.id, log[1].id))
            .await
            .unwrap()
            .expect("the pull-over is in the outbox");
        assert!(sent.payload.contains(r#""op":"pull_over""#));
        assert_eq!(sent.device_id, code);
    });
}

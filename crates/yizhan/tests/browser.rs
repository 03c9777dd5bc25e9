//! The browser end-to-end test: `yizhan serve` on SQLite with the demo
//! county, `yizhan simulate devices` for station 1 on the real broker, a
//! door at station 2 that says it is online and never acknowledges a
//! command (issue 19), and `browser-tests/pickup.mjs` driving Debian's
//! Chromium through playwright-core. Screenshots land in
//! `target/playwright/`.
//!
//! Needs node, chromium, `browser-tests/node_modules` and an MQTT broker
//! (`YIZHAN_TEST_MQTT_URL`); `.ci/run` installs and starts them. Under
//! `YIZHAN_REQUIRE_SERVICES=1` (which `.ci/run` sets) or
//! `YIZHAN_REQUIRE_BROWSER=1` a missing part is a failure instead of a skip.

mod support;

use std::process::{Command, Stdio};
use support::{Demo, Killed, lines, wait_for};

/// The station whose door never acknowledges.
const SILENT_STATION: i64 = 2;

/// Publishes (and, dropped, clears) a retained `online` state for
/// [`SILENT_STATION`]'s door `front`, and then answers no command: the
/// server sees the door online, sends it commands, and hears nothing back.
struct SilentDoor {
    runtime: tokio::runtime::Runtime,
    client: rumqttc::AsyncClient,
    topic: String,
}

impl SilentDoor {
    fn start(mqtt: &str) -> SilentDoor {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let address = mqtt.trim_start_matches("mqtt://");
        let (host, port) = address.rsplit_once(':').unwrap_or((address, "1883"));
        let options = rumqttc::MqttOptions::new(
            format!("yizhan-browser-silent-door-{}", std::process::id()),
            host,
            port.parse().unwrap(),
        );
        let topic = format!("yizhan/v1/stations/{SILENT_STATION}/door/front/state");
        let client = runtime.block_on(async {
            let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 16);
            client
                .publish(
                    topic.clone(),
                    rumqttc::QoS::AtLeastOnce,
                    true,
                    br#"{"online":true,"door":"closed","model":"silent-test-door"}"#.to_vec(),
                )
                .await
                .unwrap();
            // Wait for the broker's PUBACK, then keep the connection polled.
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => break,
                    Ok(_) => {}
                    Err(error) => panic!("the silent door cannot reach the broker: {error}"),
                }
            }
            tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
            client
        });
        SilentDoor {
            runtime,
            client,
            topic,
        }
    }
}

impl Drop for SilentDoor {
    fn drop(&mut self) {
        let (client, topic) = (self.client.clone(), self.topic.clone());
        self.runtime.block_on(async move {
            let _ = client
                .publish(topic, rumqttc::QoS::AtLeastOnce, true, Vec::new())
                .await;
            let _ = client.disconnect().await;
        });
    }
}

#[test]
fn keeper_scans_in_and_a_customer_picks_up_at_the_terminal() {
    let mqtt = match testkit::Service::Mqtt.check() {
        Ok(mqtt) => mqtt,
        Err(reason) => {
            testkit::skip_or_fail("the MQTT broker", &reason);
            return;
        }
    };
    if !support::browser_or_skip() {
        return;
    }
    let demo = Demo::start(&[("YIZHAN_DEVICES__MQTT_URL", &mqtt)]);
    let bin = env!("CARGO_BIN_EXE_yizhan");
    let sim_file = demo.dir.path().join("sim.jsonl");
    // The devices' command memory goes with the test, not into the source tree.
    let memory_dir = demo.dir.path().join("device-memory");
    let mut simulator = Command::new(bin)
        .args(["simulate", "devices", "--station", "1", "--mqtt", &mqtt])
        .arg("--memory-dir")
        .arg(&memory_dir)
        // The simulated devices verify commands with keys derived from this
        // database's device key, as the server signs them.
        .env("YIZHAN_DATABASE__URL", &demo.database)
        .env("YIZHAN_KEYS_FILE", demo.dir.path().join("keys.json"))
        .env("YIZHAN_LOG", "info")
        .stdout(std::fs::File::create(&sim_file).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sim_err = lines(simulator.stderr.take().unwrap());
    let _simulator = Killed(simulator);
    wait_for(&sim_err, "simulated station listening", "the simulator");
    let _silent_door = SilentDoor::start(&mqtt);

    demo.run_script(
        "pickup.mjs",
        &[
            ("SIM_STATE_FILE", sim_file.to_str().unwrap()),
            ("STATION_ID", "1"),
            ("SILENT_STATION_ID", &SILENT_STATION.to_string()),
        ],
    );
}

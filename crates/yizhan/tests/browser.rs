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

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> Option<PathBuf> {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/chromium")))
        .filter(|path| path.exists())
}

/// The broker's URL, or why the test cannot run here.
fn parts() -> Result<String, String> {
    let mqtt = testkit::Service::Mqtt.check()?;
    if let Some(missing) = missing_browser() {
        return Err(missing);
    }
    Ok(mqtt)
}

/// Which part of the browser tooling is missing, if one is.
fn missing_browser() -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    if chromium().is_none() {
        return Some("chromium is not installed (apt-get install chromium)".into());
    }
    if !repo_root()
        .join("browser-tests/node_modules/playwright-core")
        .exists()
    {
        return Some("playwright-core is not installed (npm ci in browser-tests/)".into());
    }
    None
}

/// Reads a child's output lines on a thread, so waiting for one line can
/// time out instead of hanging the test.
fn lines(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

fn wait_for(lines: &mpsc::Receiver<String>, needle: &str, what: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => panic!("{what} never said {needle:?}"),
        }
    }
}

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
    let mqtt = match parts() {
        Ok(mqtt) => mqtt,
        Err(reason) => {
            // The older switch for this test alone still works.
            if std::env::var("YIZHAN_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("the browser test cannot run: {reason}");
            }
            testkit::skip_or_fail("the browser, node and the MQTT broker", &reason);
            return;
        }
    };
    let bin = env!("CARGO_BIN_EXE_yizhan");
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("yizhan.db").display());

    let seeded = Command::new(bin)
        .args(["demo", "--no-serve", "--no-devices", "--data-dir"])
        .arg(dir.path())
        .env("YIZHAN_LOG", "warn")
        .output()
        .unwrap();
    assert!(seeded.status.success(), "demo seeding failed: {seeded:?}");

    let mut server = Command::new(bin)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("YIZHAN_DATABASE__URL", &database)
        .env("YIZHAN_KEYS_FILE", dir.path().join("keys.json"))
        .env("YIZHAN_DEVICES__MQTT_URL", &mqtt)
        .env("YIZHAN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server_out = lines(server.stdout.take().unwrap());
    let _server = Killed(server);
    let serving = wait_for(&server_out, "serving at ", "yizhan serve");
    let base = serving
        .split("serving at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .trim_end_matches('/')
        .to_string();

    let sim_file = dir.path().join("sim.jsonl");
    // The devices' command memory goes with the test, not into the source tree.
    let memory_dir = dir.path().join("device-memory");
    let mut simulator = Command::new(bin)
        .args(["simulate", "devices", "--station", "1", "--mqtt", &mqtt])
        .arg("--memory-dir")
        .arg(&memory_dir)
        // The simulated devices verify commands with keys derived from this
        // database's device key, as the server signs them.
        .env("YIZHAN_DATABASE__URL", &database)
        .env("YIZHAN_KEYS_FILE", dir.path().join("keys.json"))
        .env("YIZHAN_LOG", "info")
        .stdout(std::fs::File::create(&sim_file).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sim_err = lines(simulator.stderr.take().unwrap());
    let _simulator = Killed(simulator);
    wait_for(&sim_err, "simulated station listening", "the simulator");
    let _silent_door = SilentDoor::start(&mqtt);

    let shots = repo_root().join("target/playwright");
    let status = Command::new("node")
        .arg(repo_root().join("browser-tests/pickup.mjs"))
        .env("BASE_URL", &base)
        .env("SIM_STATE_FILE", &sim_file)
        .env("SCREENSHOT_DIR", &shots)
        .env("PASSWORD", "yizhan-demo-2026")
        .env("STATION_ID", "1")
        .env("SILENT_STATION_ID", SILENT_STATION.to_string())
        .env("CHROMIUM", chromium().unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the browser test failed (screenshots in {})",
        shots.display()
    );
}

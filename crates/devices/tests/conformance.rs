//! The conformance suite against the simulator on a real Mosquitto broker
//! at `YIZHAN_TEST_MQTT_URL` (SKIP without one; fails under
//! `YIZHAN_REQUIRE_SERVICES=1`): the reference simulator passes every case,
//! and simulators broken on purpose fail the cases that catch them, so the
//! suite can fail. The reboot cases restart the simulator with its command
//! memory on disk, as a power cycle does. Also here: the simulator's
//! command memory survives a reboot and its persistent session gets the
//! commands published while it was away.

use app::ports::{Clock, SystemClock};
use devices::auth::{ServerDeviceKey, sign_command};
use devices::conformance::{Operator, Report, SuiteConfig, Verdict};
use devices::mqtt::BrokerConfig;
use devices::sim::{Faults, SimConfig, Simulator, StationState};
use devices::{Channel, Command, DeviceKind, Operation, Outcome, topic};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, watch};

const WAIT: Duration = Duration::from_secs(10);

fn fresh_station_id() -> i64 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    // Far from the ids tests/mqtt.rs draws, though any unused id would do.
    2_000_000_000_000
        + (nanos % 1_000_000_000) as i64 * 1000
        + i64::from(COUNTER.fetch_add(1, Ordering::Relaxed) % 1000)
}

/// Switches the simulator off (its connections die; the broker publishes
/// the last wills) and on again with the same configuration, memory files
/// included: a power cycle.
struct SimOperator {
    config: SimConfig,
    clock: Arc<SystemClock>,
    running: Mutex<Option<Simulator>>,
}

impl Operator for SimOperator {
    fn power_off(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {
            if let Some(sim) = self.running.lock().await.take() {
                sim.power_off().await;
            }
        })
    }

    fn power_on(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {
            let sim = Simulator::start(self.config.clone(), self.clock.clone())
                .await
                .expect("the simulator comes back");
            *self.running.lock().await = Some(sim);
        })
    }
}

struct Rig {
    operator: SimOperator,
    key: ServerDeviceKey,
    station_id: i64,
    url: String,
    _memory: tempfile::TempDir,
}

async fn rig(url: &str, faults: Faults) -> Rig {
    let memory = tempfile::tempdir().unwrap();
    let station_id = fresh_station_id();
    let key = ServerDeviceKey::random();
    // The suite runs on real time, as a device on the broker does.
    let clock = Arc::new(SystemClock);
    let mut config = SimConfig::new(url, station_id, &key);
    config.memory_dir = Some(memory.path().to_path_buf());
    config.faults = faults;
    let sim = Simulator::start(config.clone(), clock.clone())
        .await
        .expect("simulator connects");
    Rig {
        operator: SimOperator {
            config,
            clock,
            running: Mutex::new(Some(sim)),
        },
        key,
        station_id,
        url: url.to_string(),
        _memory: memory,
    }
}

impl Rig {
    async fn certify(&self, kind: DeviceKind, device_id: &str) -> Report {
        let mut suite = SuiteConfig::new(
            BrokerConfig::open(&self.url),
            self.station_id,
            kind,
            device_id,
            self.key.device_key(self.station_id, kind, device_id),
        );
        suite.silence = Duration::from_millis(700);
        suite.power_cycle_within = Duration::from_secs(20);
        devices::conformance::run(suite, Some(&self.operator))
            .await
            .expect("the suite reaches the broker")
    }

    async fn finish(self) {
        if let Some(sim) = self.operator.running.lock().await.take() {
            sim.stop().await;
        }
        clear_retained(&self.url, self.station_id).await;
    }
}

fn client(url: &str, name: &str) -> (AsyncClient, tokio::task::JoinHandle<()>) {
    let (host, port) = devices::mqtt::parse_url(url).unwrap();
    let options = MqttOptions::new(
        format!("yizhan-test-{name}-{}", fresh_station_id()),
        host,
        port,
    );
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let pump = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    (client, pump)
}

async fn clear_retained(url: &str, station_id: i64) {
    let (client, pump) = client(url, "clear");
    for (kind, device) in [(DeviceKind::Door, "front"), (DeviceKind::Lights, "shelves")] {
        client
            .publish(
                topic(station_id, kind, device, Channel::State),
                QoS::AtLeastOnce,
                true,
                Vec::new(),
            )
            .await
            .unwrap();
    }
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, pump).await;
}

fn failed(report: &Report) -> Vec<String> {
    report
        .cases
        .iter()
        .filter(|case| case.verdict != Verdict::Pass)
        .map(|case| format!("{}: {:?} {}", case.case, case.verdict, case.detail))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_door_passes_every_case() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let rig = rig(&url, Faults::default()).await;
    let report = rig.certify(DeviceKind::Door, "front").await;
    assert!(report.passed, "{}", report.to_text());
    assert!(failed(&report).is_empty());
    for case in [
        "status",
        "open",
        "duplicate",
        "expired",
        "clock_behind",
        "unknown_op",
        "wrong_kind",
        "unknown_field",
        "malformed",
        "oversized",
        "bad_mac",
        "reconnect",
        "reboot_duplicate",
    ] {
        assert_eq!(
            report.case(case).map(|c| c.verdict),
            Some(Verdict::Pass),
            "{case}"
        );
    }
    assert_eq!(report.model.as_deref(), Some(devices::sim::MODEL));
    // The JSON report names every case and the verdict.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["passed"], true);
    assert_eq!(json["cases"].as_array().unwrap().len(), 13);
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_light_strip_passes_every_case() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let rig = rig(&url, Faults::default()).await;
    let report = rig.certify(DeviceKind::Lights, "shelves").await;
    assert!(report.passed, "{}", report.to_text());
    for case in [
        "light",
        "off",
        "segments_256",
        "all_off",
        "reboot_duplicate",
    ] {
        assert_eq!(
            report.case(case).map(|c| c.verdict),
            Some(Verdict::Pass),
            "{case}"
        );
    }
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_without_command_memory_fails_the_duplicate_cases() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let rig = rig(
        &url,
        Faults {
            forget_commands: true,
            ..Faults::default()
        },
    )
    .await;
    let report = rig.certify(DeviceKind::Door, "front").await;
    assert!(!report.passed, "{}", report.to_text());
    for case in ["duplicate", "reboot_duplicate"] {
        let result = report.case(case).unwrap();
        assert_eq!(result.verdict, Verdict::Fail, "{case}: {}", result.detail);
        assert!(
            result.detail.contains("expected Duplicate"),
            "{}",
            result.detail
        );
    }
    // What it does right still passes.
    assert_eq!(report.case("open").unwrap().verdict, Verdict::Pass);
    assert_eq!(report.case("reconnect").unwrap().verdict, Verdict::Pass);
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_silent_on_unknown_ops_fails_that_case() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let rig = rig(
        &url,
        Faults {
            ignore_unknown_ops: true,
            ..Faults::default()
        },
    )
    .await;
    let report = rig.certify(DeviceKind::Lights, "shelves").await;
    assert_eq!(
        failed(&report).len(),
        1,
        "only unknown_op fails: {}",
        report.to_text()
    );
    let result = report.case("unknown_op").unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    assert!(result.detail.contains("no ack"), "{}", result.detail);
    rig.finish().await;
}

async fn wait_state(
    state: &mut watch::Receiver<StationState>,
    what: &str,
    done: impl FnMut(&StationState) -> bool,
) -> StationState {
    match tokio::time::timeout(WAIT, state.wait_for(done)).await {
        Ok(Ok(state)) => state.clone(),
        _ => panic!("timed out waiting for the station: {what}"),
    }
}

/// The contract's two promises about restarts, shown on the simulator
/// itself: a command acted on before a reboot does not act after it, and
/// a command published while the device is off reaches it when it is back
/// (persistent session, stable client id, QoS 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebooted_door_opens_once_and_gets_what_was_sent_while_it_was_off() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let rig = rig(&url, Faults::default()).await;
    let door = topic(rig.station_id, DeviceKind::Door, "front", Channel::Command);
    let key = rig
        .key
        .device_key(rig.station_id, DeviceKind::Door, "front");
    let now_ms = rig.operator.clock.now().timestamp_millis() as u64;
    let signed = |id: &str| {
        let command = Command {
            command_id: id.into(),
            not_after_ms: now_ms + 60_000,
            server_ms: Some(now_ms),
            op: Operation::Open { hold_ms: 1_000 },
        };
        sign_command(&key, &door, &command.to_payload())
    };
    let (server, pump) = client(&url, "server");
    server
        .publish(door.clone(), QoS::AtLeastOnce, false, signed("before"))
        .await
        .unwrap();
    {
        let running = rig.operator.running.lock().await;
        let mut state = running.as_ref().unwrap().state();
        let seen = wait_state(&mut state, "the door opened", |s| s.door_openings == 1).await;
        assert_eq!(seen.received, [("before".to_string(), Outcome::Done)]);
    }
    rig.operator.power_off().await;
    // While it is off: the same command again, and a new one.
    for id in ["before", "while-off"] {
        server
            .publish(door.clone(), QoS::AtLeastOnce, false, signed(id))
            .await
            .unwrap();
    }
    rig.operator.power_on().await;
    {
        let running = rig.operator.running.lock().await;
        let mut state = running.as_ref().unwrap().state();
        let seen = wait_state(&mut state, "both delivered after the reboot", |s| {
            s.received.len() == 2
        })
        .await;
        let mut received = seen.received.clone();
        received.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            received,
            [
                ("before".to_string(), Outcome::Duplicate),
                ("while-off".to_string(), Outcome::Done)
            ]
        );
        assert_eq!(
            seen.door_openings, 1,
            "only the new command opened the door"
        );
    }
    pump.abort();
    rig.finish().await;
}

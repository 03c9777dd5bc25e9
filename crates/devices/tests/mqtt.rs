//! The device protocol against a real Mosquitto broker at
//! `YIZHAN_TEST_MQTT_URL` (each test says SKIP without one, and fails under
//! `YIZHAN_REQUIRE_SERVICES=1`): the simulated station and the server's bridge,
//! with the devices' outbox in SQLite. Each test uses its own station id, so
//! tests running at once (or earlier runs' retained messages) do not meet.
//! Every wait is on an event or a state change, bounded by a timeout that
//! fails the test.

use app::device_commands::{DeviceCommandStatus, NewDeviceCommand, enqueue_device_command};
use app::ports::prelude::*;
use app::ports::{Clock, Store};
use chrono::{Duration, Utc};
use devices::auth::{ServerDeviceKey, sign_command};
use devices::bridge::{Bridge, BridgeConfig, BridgeEvent};
use devices::mqtt::BrokerConfig;
use devices::sim::{SimConfig, Simulator, StationState};
use devices::{Channel, Command, DeviceKind, Operation, Outcome, topic};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use store::Db;
use testkit::{TestClock, TestDatabase};
use tokio::sync::{broadcast, watch};

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A station id no other test (or earlier run) uses.
fn fresh_station_id() -> i64 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    (nanos % 1_000_000_000) as i64 * 1000
        + i64::from(COUNTER.fetch_add(1, Ordering::Relaxed) % 1000)
}

/// A test clock at the real time: the broker and the simulator's timers run
/// in real time, and command not-after times are compared across them.
fn clock_at_now() -> Arc<TestClock> {
    Arc::new(TestClock::at(Utc::now()))
}

async fn wait_state(
    state: &mut watch::Receiver<StationState>,
    what: &str,
    done: impl FnMut(&StationState) -> bool,
) -> StationState {
    let found = tokio::time::timeout(WAIT, state.wait_for(done))
        .await
        .map(|answer| answer.map(|state| state.clone()));
    match found {
        Ok(Ok(state)) => state,
        _ => panic!(
            "timed out waiting for the station: {what}; it is {:?}",
            *state.borrow()
        ),
    }
}

async fn wait_event(
    events: &mut broadcast::Receiver<BridgeEvent>,
    what: &str,
    mut wanted: impl FnMut(&BridgeEvent) -> bool,
) -> BridgeEvent {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("bridge events");
            if wanted(&event) {
                return event;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting for the bridge: {what}"))
}

/// A raw client, standing in for the broker redelivering a command.
fn raw_client(url: &str, name: &str) -> (AsyncClient, tokio::task::JoinHandle<()>) {
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

/// Clears the retained states this test left on the broker.
async fn forget_station(url: &str, station_id: i64) {
    let (client, pump) = raw_client(url, "forget");
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

/// `payload` signed for station `station_id`'s door, as the bridge does.
fn signed_for_door(key: &ServerDeviceKey, station_id: i64, payload: &[u8]) -> Vec<u8> {
    let door = topic(station_id, DeviceKind::Door, "front", Channel::Command);
    sign_command(
        &key.device_key(station_id, DeviceKind::Door, "front"),
        &door,
        payload,
    )
}

struct Station {
    db: Arc<Db>,
    key: ServerDeviceKey,
    clock: Arc<TestClock>,
    sim: Simulator,
    bridge: Bridge,
    station_id: i64,
    /// Keeps the devices' outbox (a SQLite file) for the test's length.
    _database: TestDatabase,
}

async fn station(url: &str) -> Station {
    let database = testkit::sqlite_database().await;
    let db = database.db.clone();
    let clock = clock_at_now();
    let station_id = fresh_station_id();
    testkit::register_station_devices(&*db, station_id, clock.now()).await;
    let key = ServerDeviceKey::random();
    let sim = Simulator::start(SimConfig::new(url, station_id, &key), clock.clone())
        .await
        .expect("simulator connects");
    let mut config = BridgeConfig::new(
        BrokerConfig::open(url),
        key.clone(),
        &format!("yizhan-test-bridge-{station_id}"),
    );
    config.retry_after = std::time::Duration::from_secs(2);
    config.poll_every = std::time::Duration::from_millis(50);
    let bridge = Bridge::start(db.clone(), clock.clone(), config)
        .await
        .expect("bridge connects");
    Station {
        db,
        key,
        clock,
        sim,
        bridge,
        station_id,
        _database: database,
    }
}

impl Station {
    async fn open_door(&self, command_id: &str, valid_for: Duration) {
        let now = self.clock.now();
        let mut tx = self.db.begin().await.unwrap();
        let command = NewDeviceCommand {
            station_id: self.station_id,
            device_kind: "door".into(),
            device_id: "front".into(),
            command_id: command_id.into(),
            not_after: now + valid_for,
            operation: json!({"op": "open", "hold_ms": 5000}),
        };
        assert!(
            enqueue_device_command(&mut *tx, &command, now)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        self.bridge.wake();
    }

    async fn finish(self, url: &str) {
        self.sim.stop().await;
        self.bridge.stop();
        forget_station(url, self.station_id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_redelivered_five_times_acts_once() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let station_id = fresh_station_id();
    let clock = clock_at_now();
    let key = ServerDeviceKey::random();
    let sim = Simulator::start(SimConfig::new(&url, station_id, &key), clock.clone())
        .await
        .expect("simulator connects");
    let mut state = sim.state();
    let command = Command {
        command_id: "redelivered".into(),
        not_after_ms: (clock.now() + Duration::seconds(30)).timestamp_millis() as u64,
        server_ms: None,
        op: Operation::Open { hold_ms: 5_000 },
    };
    let (client, pump) = raw_client(&url, "redeliver");
    for _ in 0..5 {
        client
            .publish(
                topic(station_id, DeviceKind::Door, "front", Channel::Command),
                QoS::AtLeastOnce,
                false,
                signed_for_door(&key, station_id, &command.to_payload()),
            )
            .await
            .unwrap();
    }
    let seen = wait_state(&mut state, "five deliveries", |s| s.received.len() == 5).await;
    assert_eq!(seen.door_openings, 1, "the door opened more than once");
    assert!(seen.door_open);
    let outcomes: Vec<Outcome> = seen.received.iter().map(|(_, outcome)| *outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Done,
            Outcome::Duplicate,
            Outcome::Duplicate,
            Outcome::Duplicate,
            Outcome::Duplicate
        ]
    );
    pump.abort();
    sim.stop().await;
    forget_station(&url, station_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_command_never_acts() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let station = station(&url).await;
    let mut events = station.bridge.subscribe();
    let mut state = station.sim.state();

    // Expires in the outbox: the bridge gives it up without publishing.
    station.open_door("too-late", Duration::seconds(5)).await;
    station.clock.advance(Duration::seconds(10));
    station.bridge.wake();
    let ended = wait_event(
        &mut events,
        "too-late ends",
        |e| matches!(e, BridgeEvent::Ended { command_id, .. } if command_id == "too-late"),
    )
    .await;
    assert_eq!(
        ended,
        BridgeEvent::Ended {
            command_id: "too-late".into(),
            status: DeviceCommandStatus::Expired,
            outcome: None
        }
    );
    // The keeper hears of it: someone at the door may have been left outside.
    let alerts = station.db.alerts(station.station_id, 10).await.unwrap();
    assert_eq!(
        alerts
            .iter()
            .map(|alert| alert.kind.as_str())
            .collect::<Vec<_>>(),
        ["door_command_expired"],
        "{alerts:?}"
    );
    assert!(
        alerts[0].message.contains("too-late"),
        "{}",
        alerts[0].message
    );

    // Arrives late anyway (a broker holding it): the device refuses it.
    let record = station
        .db
        .device_command("too-late")
        .await
        .unwrap()
        .unwrap();
    let (client, pump) = raw_client(&url, "late");
    client
        .publish(
            topic(
                station.station_id,
                DeviceKind::Door,
                "front",
                Channel::Command,
            ),
            QoS::AtLeastOnce,
            false,
            signed_for_door(&station.key, station.station_id, record.payload.as_bytes()),
        )
        .await
        .unwrap();
    let seen = wait_state(&mut state, "the late delivery", |s| !s.received.is_empty()).await;
    assert_eq!(
        seen.received,
        vec![("too-late".to_string(), Outcome::Expired)]
    );
    assert_eq!(seen.door_openings, 0);
    pump.abort();

    // A fresh command still works, and the expired one was never published.
    station.open_door("in-time", Duration::seconds(5)).await;
    wait_event(&mut events, "in-time done", |e| {
        matches!(e, BridgeEvent::Ended { command_id, status: DeviceCommandStatus::Done, .. } if command_id == "in-time")
    })
    .await;
    let seen = station.sim.state().borrow().clone();
    // At QoS 1 the broker may hand the late copy over more than once, and on
    // a loaded machine the ack may take longer than the bridge's retry
    // interval, so "in-time" can arrive again. Whatever the repeats: every
    // "too-late" is refused as expired, "in-time" acts once (the first) and
    // every repeat of it answers `duplicate`.
    let (late, fresh): (Vec<_>, Vec<_>) = seen
        .received
        .iter()
        .cloned()
        .partition(|(id, _)| id == "too-late");
    assert!(
        !late.is_empty() && late.iter().all(|(_, outcome)| *outcome == Outcome::Expired),
        "{:?}",
        seen.received
    );
    assert_eq!(
        fresh.first(),
        Some(&("in-time".to_string(), Outcome::Done)),
        "{:?}",
        seen.received
    );
    assert!(
        fresh[1..]
            .iter()
            .all(|r| *r == ("in-time".to_string(), Outcome::Duplicate)),
        "{:?}",
        seen.received
    );
    assert_eq!(seen.door_openings, 1);
    station.finish(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_ack_leads_to_a_retry_not_a_second_opening() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let station = station(&url).await;
    let mut events = station.bridge.subscribe();
    let mut state = station.sim.state();
    station.sim.swallow_next_acks(1);

    station.open_door("lost-ack", Duration::seconds(30)).await;
    wait_event(&mut events, "first publication", |e| {
        matches!(e, BridgeEvent::Published { command_id, attempt: 1 } if command_id == "lost-ack")
    })
    .await;
    wait_state(&mut state, "the door opens, ack lost", |s| {
        s.acks_swallowed == 1
    })
    .await;
    assert_eq!(
        station
            .db
            .device_command("lost-ack")
            .await
            .unwrap()
            .unwrap()
            .status,
        DeviceCommandStatus::Pending,
        "no ack arrived, so the command must still be pending"
    );

    station.clock.advance(Duration::seconds(3));
    station.bridge.wake();
    wait_event(&mut events, "the retry", |e| {
        matches!(e, BridgeEvent::Published { command_id, attempt: 2 } if command_id == "lost-ack")
    })
    .await;
    let ended = wait_event(
        &mut events,
        "lost-ack ends",
        |e| matches!(e, BridgeEvent::Ended { command_id, .. } if command_id == "lost-ack"),
    )
    .await;
    assert_eq!(
        ended,
        BridgeEvent::Ended {
            command_id: "lost-ack".into(),
            status: DeviceCommandStatus::Done,
            outcome: Some("duplicate".into())
        }
    );
    let seen = station.sim.state().borrow().clone();
    assert_eq!(seen.door_openings, 1, "the retry opened the door again");
    assert_eq!(
        seen.received,
        vec![
            ("lost-ack".to_string(), Outcome::Done),
            ("lost-ack".to_string(), Outcome::Duplicate)
        ]
    );
    station.finish(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lights_follow_commands_and_devices_report_offline() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let station = station(&url).await;
    let mut events = station.bridge.subscribe();
    let mut state = station.sim.state();
    let now = station.clock.now();
    let mut tx = station.db.begin().await.unwrap();
    let light = NewDeviceCommand {
        station_id: station.station_id,
        device_kind: "lights".into(),
        device_id: "shelves".into(),
        command_id: "light-1".into(),
        not_after: now + Duration::seconds(10),
        operation: json!({"op": "light", "colour": "#00ff7f", "segments": [3, 9], "duration_ms": 60000}),
    };
    enqueue_device_command(&mut *tx, &light, now).await.unwrap();
    tx.commit().await.unwrap();
    station.bridge.wake();
    let seen = wait_state(&mut state, "two segments lit", |s| s.lit.len() == 2).await;
    assert_eq!(seen.lit[&3].colour, "#00ff7f");
    assert!(seen.lit.contains_key(&9));

    // The lights run out on the device's own clock.
    station.clock.advance(Duration::seconds(61));
    wait_state(&mut state, "lights out", |s| s.lit.is_empty()).await;

    let door_state = topic(
        station.station_id,
        DeviceKind::Door,
        "front",
        Channel::State,
    );
    if station
        .bridge
        .device_online(station.station_id, DeviceKind::Door, "front")
        != Some(true)
    {
        wait_event(&mut events, "door online", |e| {
            matches!(e, BridgeEvent::DeviceState { state_topic, online: true } if *state_topic == door_state)
        })
        .await;
    }
    let Station {
        sim,
        bridge,
        station_id,
        ..
    } = station;
    sim.stop().await;
    wait_event(&mut events, "door offline", |e| {
        matches!(e, BridgeEvent::DeviceState { state_topic, online: false } if *state_topic == door_state)
    })
    .await;
    assert_eq!(
        bridge.device_online(station_id, DeviceKind::Door, "front"),
        Some(false)
    );
    bridge.stop();
    forget_station(&url, station_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_whose_connection_dies_shows_offline_through_its_last_will() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let station = station(&url).await;
    let mut events = station.bridge.subscribe();
    let lights_state = topic(
        station.station_id,
        DeviceKind::Lights,
        "shelves",
        Channel::State,
    );
    if station
        .bridge
        .device_online(station.station_id, DeviceKind::Lights, "shelves")
        != Some(true)
    {
        wait_event(&mut events, "lights online", |e| {
            matches!(e, BridgeEvent::DeviceState { state_topic, online: true } if *state_topic == lights_state)
        })
        .await;
    }
    let Station {
        sim,
        bridge,
        station_id,
        ..
    } = station;
    // Dropping the simulator cuts its connections without a goodbye, as a
    // power cut would; the broker then publishes the last will.
    drop(sim);
    wait_event(&mut events, "lights offline", |e| {
        matches!(e, BridgeEvent::DeviceState { state_topic, online: false } if *state_topic == lights_state)
    })
    .await;
    bridge.stop();
    forget_station(&url, station_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_scans_reach_the_server() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let station = station(&url).await;
    let mut events = station.bridge.subscribe();
    station.sim.scan("SF1234567890123").await.unwrap();
    let station_id = station.station_id;
    let scan = wait_event(
        &mut events,
        "the scan",
        |e| matches!(e, BridgeEvent::Scan { station_id: id, .. } if *id == station_id),
    )
    .await;
    let BridgeEvent::Scan {
        scanner_id, code, ..
    } = scan
    else {
        unreachable!()
    };
    assert_eq!(
        (scanner_id.as_str(), code.as_str()),
        ("checkout", "SF1234567890123")
    );
    station.finish(&url).await;
}

/// Whether the broker holds a retained message on `topic`: a fresh client
/// subscribes to it and to a sentinel it retained just before, in one
/// SUBSCRIBE; the broker sends retained messages filter by filter, so the
/// sentinel arriving first means there is none on `topic`.
async fn holds_retained(url: &str, topic: &str) -> bool {
    let (host, port) = devices::mqtt::parse_url(url).unwrap();
    let name = format!("yizhan-test-retained-{}", fresh_station_id());
    let sentinel = format!("yizhan-test/sentinel/{name}");
    let (client, mut eventloop) = AsyncClient::new(MqttOptions::new(name, host, port), 64);
    client
        .publish(&sentinel, QoS::AtLeastOnce, true, b"s".to_vec())
        .await
        .unwrap();
    client
        .subscribe_many([
            rumqttc::SubscribeFilter::new(topic.to_string(), QoS::AtLeastOnce),
            rumqttc::SubscribeFilter::new(sentinel.clone(), QoS::AtLeastOnce),
        ])
        .await
        .unwrap();
    let held = tokio::time::timeout(WAIT, async {
        loop {
            if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) =
                eventloop.poll().await.expect("broker")
            {
                if p.topic == topic && !p.payload.is_empty() {
                    return true;
                }
                if p.topic == sentinel {
                    return false;
                }
            }
        }
    })
    .await
    .expect("the sentinel comes back");
    client
        .publish(&sentinel, QoS::AtLeastOnce, true, Vec::new())
        .await
        .unwrap();
    let _ = tokio::time::timeout(WAIT, async {
        while let Ok(event) = eventloop.poll().await {
            if matches!(event, rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) {
                break;
            }
        }
    })
    .await;
    held
}

/// Issue 19's cases against the real broker: a 5,130-byte ack, a retained
/// 8 KB state, a malformed ack and a retained state from an invented device
/// are each dropped and counted, the invented device's retained state is
/// cleared, the bridge never reconnects, and another station's door still
/// opens and acknowledges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_message_stops_the_bridge_and_other_stations_acks_still_flow() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let database = testkit::sqlite_database().await;
    let db = database.db.clone();
    let clock = clock_at_now();
    let key = ServerDeviceKey::random();
    // The hostile messages go to a station this server has (its unknown
    // devices' retained states are its to clear); the good one is known by
    // its devices alone, like every other test's station.
    let bad = testkit::station(&app::App::new(db.clone(), clock.clone()), 2, 1).await;
    let good = fresh_station_id();
    for station_id in [bad, good] {
        testkit::register_station_devices(&*db, station_id, clock.now()).await;
    }
    let sim = Simulator::start(SimConfig::new(&url, good, &key), clock.clone())
        .await
        .expect("simulator connects");
    let drops = Arc::new(app::device_registry::DroppedMessages::default());
    let mut config = BridgeConfig::new(
        BrokerConfig::open(&url),
        key.clone(),
        &format!("yizhan-test-bridge-{good}"),
    );
    config.poll_every = std::time::Duration::from_millis(50);
    config.drops = drops.clone();
    let bridge = Bridge::start(db.clone(), clock.clone(), config)
        .await
        .expect("bridge connects");
    let mut events = bridge.subscribe();

    let (client, pump) = raw_client(&url, "hostile");
    let ack_topic = topic(bad, DeviceKind::Door, "front", Channel::Ack);
    let big_ack = format!(
        r#"{{"command_id":"x","outcome":"done","at_ms":1,"pad":"{}"}}"#,
        "a".repeat(5_130 - 50)
    );
    assert!(big_ack.len() >= 5_130);
    let cases: Vec<(String, Vec<u8>, bool, &str)> = vec![
        (ack_topic.clone(), big_ack.into_bytes(), false, "oversized"),
        (
            topic(bad, DeviceKind::Lights, "shelves", Channel::State),
            vec![b' '; 8 * 1024],
            true,
            "oversized",
        ),
        (ack_topic.clone(), b"{not json".to_vec(), false, "malformed"),
        (
            topic(bad, DeviceKind::Door, "invented", Channel::State),
            br#"{"online":true}"#.to_vec(),
            true,
            "unknown_device",
        ),
    ];
    for (topic, payload, retain, reason) in &cases {
        client
            .publish(topic.clone(), QoS::AtLeastOnce, *retain, payload.clone())
            .await
            .unwrap();
        let dropped = wait_event(
            &mut events,
            reason,
            |e| matches!(e, BridgeEvent::Dropped { topic: t, .. } if t == topic),
        )
        .await;
        let BridgeEvent::Dropped {
            reason: seen,
            cleared,
            ..
        } = dropped
        else {
            unreachable!()
        };
        assert_eq!(seen, *reason, "{topic}");
        assert_eq!(cleared, *reason == "unknown_device", "{topic}");
    }
    // Other tests' stations on this broker are unknown here too, so
    // `unknown_device` counts them as well.
    let counts = drops.snapshot();
    assert_eq!(counts["oversized"], 2, "{counts:?}");
    assert_eq!(counts["malformed"], 1, "{counts:?}");
    assert!(counts["unknown_device"] >= 1, "{counts:?}");
    let alerts = db.alerts(bad, 10).await.unwrap();
    assert_eq!(
        alerts.iter().filter(|a| a.kind == "unknown_device").count(),
        1,
        "{alerts:?}"
    );
    // The invented device is in no list and its retained state is gone.
    assert!(
        db.device_statuses(bad).await.unwrap().is_empty(),
        "an unknown device reached the console"
    );
    let invented = topic(bad, DeviceKind::Door, "invented", Channel::State);
    let cleared = tokio::time::timeout(WAIT, async {
        while holds_retained(&url, &invented).await {}
    })
    .await;
    assert!(
        cleared.is_ok(),
        "the invented device's retained state stayed"
    );

    // Another station's door still opens and acknowledges.
    let now = clock.now();
    let mut tx = db.begin().await.unwrap();
    enqueue_device_command(
        &mut *tx,
        &NewDeviceCommand {
            station_id: good,
            device_kind: "door".into(),
            device_id: "front".into(),
            command_id: format!("after-garbage-{good}"),
            not_after: now + Duration::seconds(20),
            operation: json!({"op": "open", "hold_ms": 3000}),
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    bridge.wake();
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("bridge events");
            let done = matches!(&event, BridgeEvent::Ended { status: DeviceCommandStatus::Done, command_id, .. } if command_id.starts_with("after-garbage"));
            seen.push(event);
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the good station's ack never came: {seen:?}"));
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, BridgeEvent::Connected | BridgeEvent::BrokerDown { .. })),
        "the bridge reconnected: {seen:?}"
    );

    // Leave the broker clean: the 8 KB retained state.
    client
        .publish(
            topic(bad, DeviceKind::Lights, "shelves", Channel::State),
            QoS::AtLeastOnce,
            true,
            Vec::new(),
        )
        .await
        .unwrap();
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, pump).await;
    sim.stop().await;
    bridge.stop();
    forget_station(&url, good).await;
}

//! The devices against a second Mosquitto configured as docs/devices.md
//! says a deployment must be: TLS only (a CA and a broker certificate made
//! here with rcgen), no anonymous logins, the password file and ACL lines
//! that `devices::auth::provision_*` (behind `yizhan devices provision` and
//! `server-login`) write. The `mosquitto` binary is found like `.ci/run`
//! does; without it each test says SKIP, and fails under
//! `YIZHAN_REQUIRE_SERVICES=1`.
//!
//! Proved here: a station-1 device cannot publish on station 2's topics (the
//! server never sees it), a device cannot publish a command even for itself,
//! a forged, misaddressed or replayed command does nothing at the device,
//! a wrong password is refused, and the bridge started before the broker
//! retries with a growing delay and then moves the door.

use app::device_commands::{DeviceCommandStatus, NewDeviceCommand, enqueue_device_command};
use app::ports::{Clock, Store};
use chrono::{Duration, Utc};
use devices::auth::{self, ServerDeviceKey, StationCredentials, sign_command};
use devices::bridge::{Bridge, BridgeConfig, BridgeEvent, RECONNECT_FIRST};
use devices::mqtt::BrokerConfig;
use devices::sim::{SimConfig, Simulator, StationState};
use devices::{Channel, Command, DeviceKind, Operation, Outcome, topic};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use testkit::{TestClock, TestDatabase};
use tokio::sync::{broadcast, mpsc, watch};

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The machine's `mosquitto`, searched where `.ci/run` finds it (`PATH`)
/// and in the sbin folders Debian installs it to.
fn mosquitto_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("mosquitto"))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Everything a secured broker needs, made before it starts.
struct Setup {
    dir: tempfile::TempDir,
    port: u16,
    url: String,
    ca_pem: String,
    server_key: ServerDeviceKey,
    server_login: (String, String),
    stations: Vec<StationCredentials>,
}

impl Setup {
    /// A CA, the broker's certificate for `localhost`, the server's login
    /// and stations 1 and 2 provisioned, all written for Mosquitto.
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "yizhan test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let broker_key = rcgen::KeyPair::generate().unwrap();
        let broker = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&broker_key, &ca, &ca_key)
            .unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("broker.pem"), broker.pem()).unwrap();
        std::fs::write(dir.path().join("broker.key"), broker_key.serialize_pem()).unwrap();

        let port = free_port();
        let url = format!("mqtts://localhost:{port}");
        let server_key = ServerDeviceKey::random();
        let (server_password, server_line, server_acl) = auth::provision_server("yizhan-server");
        let mut passwords = format!("{server_line}\n");
        let mut acl = format!("{server_acl}\n");
        let mut stations = Vec::new();
        for station_id in [1, 2] {
            let (credentials, lines, station_acl) = auth::provision_station(
                &server_key,
                station_id,
                &url,
                Some(ca.pem()),
                ["front", "shelves", "checkout"],
            );
            passwords.push_str(&lines);
            acl.push_str(&station_acl);
            stations.push(credentials);
        }
        std::fs::write(dir.path().join("passwd"), passwords).unwrap();
        std::fs::write(dir.path().join("acl"), acl).unwrap();
        let d = dir.path().display();
        // `user root` only matters when the test runs as root: Mosquitto
        // would otherwise drop to the `mosquitto` user, who cannot read the
        // temporary folder.
        std::fs::write(
            dir.path().join("mosquitto.conf"),
            format!(
                "per_listener_settings false\n\
                 allow_anonymous false\n\
                 password_file {d}/passwd\n\
                 acl_file {d}/acl\n\
                 persistence false\n\
                 set_tcp_nodelay true\n\
                 user root\n\
                 log_dest stderr\n\
                 log_type error\n\
                 log_type warning\n\
                 listener {port} 127.0.0.1\n\
                 cafile {d}/ca.pem\n\
                 certfile {d}/broker.pem\n\
                 keyfile {d}/broker.key\n"
            ),
        )
        .unwrap();
        Setup {
            port,
            url,
            ca_pem: ca.pem(),
            server_key,
            server_login: ("yizhan-server".into(), server_password),
            stations,
            dir,
        }
    }

    fn broker(&self, login: Option<(&str, &str)>) -> BrokerConfig {
        let mut broker = BrokerConfig::open(&self.url).with_ca(self.ca_pem.clone().into_bytes());
        if let Some((username, password)) = login {
            broker = broker.with_login(username, password);
        }
        broker
    }

    fn server_broker(&self) -> BrokerConfig {
        self.broker(Some((&self.server_login.0, &self.server_login.1)))
    }

    fn station(&self, station_id: i64) -> &StationCredentials {
        self.stations
            .iter()
            .find(|station| station.station_id == station_id)
            .unwrap()
    }

    fn login_of(&self, station_id: i64, kind: DeviceKind) -> (String, String) {
        let device = self.station(station_id).device(kind).unwrap();
        (device.username.clone(), device.password.clone())
    }
}

/// A running Mosquitto, killed when dropped.
struct Mosquitto(Child);

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Mosquitto on the setup's files; returns once it accepts
/// connections (bounded), or panics with why it did not.
fn start_mosquitto(binary: &Path, setup: &Setup) -> Mosquitto {
    let child = std::process::Command::new(binary)
        .arg("-c")
        .arg(setup.dir.path().join("mosquitto.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("mosquitto starts");
    let mut broker = Mosquitto(child);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", setup.port)).is_ok() {
            return broker;
        }
        if let Some(status) = broker.0.try_wait().unwrap() {
            panic!("mosquitto exited before listening: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mosquitto did not listen on {} within {WAIT:?}",
            setup.port
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn mosquitto_or_skip() -> Option<PathBuf> {
    let found = mosquitto_binary();
    if found.is_none() {
        testkit::skip_or_fail(
            "the mosquitto binary",
            "no mosquitto in PATH or /usr/sbin (apt-get install mosquitto)",
        );
    }
    found
}

/// A raw MQTT client over TLS with a login, reporting its packets.
struct RawClient {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<Result<Packet, String>>,
    pump: tokio::task::JoinHandle<()>,
}

impl RawClient {
    fn connect(setup: &Setup, name: &str, username: &str, password: &str) -> RawClient {
        let mut options = MqttOptions::new(format!("yizhan-test-{name}"), "localhost", setup.port);
        options.set_credentials(username, password);
        options.set_transport(Transport::Tls(TlsConfiguration::Rustls(
            devices::mqtt::tls_config(setup.ca_pem.as_bytes()).unwrap(),
        )));
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let (sender, events) = mpsc::unbounded_channel();
        let pump = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(packet)) => {
                        let _ = sender.send(Ok(packet));
                    }
                    Ok(_) => {}
                    Err(error) => {
                        let _ = sender.send(Err(error.to_string()));
                        return;
                    }
                }
            }
        });
        RawClient {
            client,
            events,
            pump,
        }
    }

    /// The broker's answer to the connection: `Ok` once accepted.
    async fn connected(&mut self) -> Result<(), String> {
        loop {
            match tokio::time::timeout(WAIT, self.events.recv()).await {
                Ok(Some(Ok(Packet::ConnAck(_)))) => return Ok(()),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(error))) => return Err(error),
                Ok(None) => return Err("connection ended".into()),
                Err(_) => panic!("no answer from the broker within {WAIT:?}"),
            }
        }
    }

    /// Publishes at QoS 1 and waits for the broker's PUBACK: the broker has
    /// then routed the message (or, refused by the ACL, dropped it; MQTT
    /// 3.1.1 acknowledges both alike).
    async fn publish_acked(&mut self, topic: &str, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
        loop {
            match tokio::time::timeout(WAIT, self.events.recv()).await {
                Ok(Some(Ok(Packet::PubAck(_)))) => return,
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(error))) => panic!("the broker dropped the connection: {error}"),
                Ok(None) => panic!("connection ended"),
                Err(_) => panic!("no PUBACK within {WAIT:?}"),
            }
        }
    }
}

impl Drop for RawClient {
    fn drop(&mut self) {
        self.pump.abort();
    }
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

/// Waits for the first event `wanted` picks; every event before it is
/// returned too, so a test can say what did *not* arrive first.
async fn events_until(
    events: &mut broadcast::Receiver<BridgeEvent>,
    what: &str,
    mut wanted: impl FnMut(&BridgeEvent) -> bool,
) -> Vec<BridgeEvent> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("bridge events");
            let done = wanted(&event);
            seen.push(event);
            if done {
                return;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting for the bridge: {what}; saw {seen:?}"));
    seen
}

async fn open_door(db: &dyn Store, clock: &TestClock, station_id: i64, command_id: &str) -> String {
    let now = clock.now();
    let mut tx = db.begin().await.unwrap();
    let command = NewDeviceCommand {
        station_id,
        device_kind: "door".into(),
        device_id: "front".into(),
        command_id: command_id.into(),
        not_after: now + Duration::seconds(30),
        operation: serde_json::json!({"op": "open", "hold_ms": 3000}),
    };
    assert!(
        enqueue_device_command(&mut *tx, &command, now)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    db.device_command(command_id)
        .await
        .unwrap()
        .unwrap()
        .payload
}

struct Running {
    _database: TestDatabase,
    db: Arc<store::Db>,
    clock: Arc<TestClock>,
    bridge: Bridge,
}

async fn bridge_for(setup: &Setup) -> Running {
    let database = testkit::sqlite_database().await;
    let db = database.db.clone();
    let clock = Arc::new(TestClock::at(Utc::now()));
    for station_id in [1, 2] {
        testkit::register_station_devices(&*db, station_id, clock.now()).await;
    }
    let mut config = BridgeConfig::new(
        setup.server_broker(),
        setup.server_key.clone(),
        "yizhan-test-bridge",
    );
    config.poll_every = std::time::Duration::from_millis(50);
    let bridge = Bridge::start(db.clone(), clock.clone(), config)
        .await
        .expect("the server logs in over TLS");
    Running {
        _database: database,
        db,
        clock,
        bridge,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_publishes_only_on_its_own_topics_and_never_a_command() {
    let Some(binary) = mosquitto_or_skip() else {
        return;
    };
    let setup = Setup::new();
    let _broker = start_mosquitto(&binary, &setup);
    let running = bridge_for(&setup).await;
    let mut events = running.bridge.subscribe();
    let sim = Simulator::start(
        SimConfig::from_credentials(setup.station(1)).unwrap(),
        running.clock.clone(),
    )
    .await
    .expect("station 1's provisioned devices log in over TLS");
    let mut state = sim.state();

    // Station 1's scanner, with its own login, tries station 2's scanner,
    // station 2's door ack and state, and station 1's own door commands.
    let (username, password) = setup.login_of(1, DeviceKind::Scanner);
    let mut scanner = RawClient::connect(&setup, "s1-scanner", &username, &password);
    scanner.connected().await.unwrap();
    let scan =
        |code: &str| serde_json::to_vec(&serde_json::json!({"code": code, "at_ms": 1})).unwrap();
    scanner
        .publish_acked(
            &topic(2, DeviceKind::Scanner, "checkout", Channel::Scan),
            scan("FAKE-AT-STATION-2"),
        )
        .await;
    scanner
        .publish_acked(
            &topic(2, DeviceKind::Door, "front", Channel::Ack),
            br#"{"command_id":"x","outcome":"done","at_ms":1}"#.to_vec(),
        )
        .await;
    scanner
        .publish_acked(
            &topic(2, DeviceKind::Door, "front", Channel::State),
            br#"{"online":false}"#.to_vec(),
        )
        .await;
    // Station 1's door controller holds its own command key, so it can
    // sign a command to itself; the ACL still refuses it the cmd topic.
    let (username, password) = setup.login_of(1, DeviceKind::Door);
    let mut door = RawClient::connect(&setup, "s1-door", &username, &password);
    door.connected().await.unwrap();
    let door_topic = topic(1, DeviceKind::Door, "front", Channel::Command);
    let own_key = setup.server_key.device_key(1, DeviceKind::Door, "front");
    let self_command = Command {
        command_id: "self-opened".into(),
        not_after_ms: (running.clock.now() + Duration::seconds(30)).timestamp_millis() as u64,
        server_ms: None,
        op: Operation::Open { hold_ms: 3000 },
    };
    door.publish_acked(
        &door_topic,
        sign_command(&own_key, &door_topic, &self_command.to_payload()),
    )
    .await;

    // Then a scan on its own topic: it reaches the server, and nothing
    // the scanner sent before it did.
    scanner
        .publish_acked(
            &topic(1, DeviceKind::Scanner, "checkout", Channel::Scan),
            scan("OWN-SCAN"),
        )
        .await;
    let seen = events_until(
        &mut events,
        "station 1's own scan",
        |event| matches!(event, BridgeEvent::Scan { code, .. } if code == "OWN-SCAN"),
    )
    .await;
    assert!(
        seen.iter().all(|event| match event {
            BridgeEvent::Scan { station_id, .. } => *station_id == 1,
            BridgeEvent::DeviceState { state_topic, .. } => !state_topic.contains("/stations/2/"),
            _ => true,
        }),
        "the server heard station 1 speak for station 2: {seen:?}"
    );
    assert!(
        running
            .bridge
            .device_online(2, DeviceKind::Door, "front")
            .is_none()
    );

    // The server's door command is the first and only one the door acts on.
    open_door(&*running.db, &running.clock, 1, "server-opened").await;
    running.bridge.wake();
    let done = wait_state(&mut state, "the server's command", |s| {
        s.received.iter().any(|(id, _)| id == "server-opened")
    })
    .await;
    assert_eq!(
        done.received[0],
        ("server-opened".to_string(), Outcome::Done),
        "{:?}",
        done.received
    );
    assert!(
        done.received.iter().all(|(id, _)| id != "self-opened"),
        "a device published a command: {:?}",
        done.received
    );
    assert_eq!(done.door_openings, 1);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_misaddressed_and_replayed_commands_do_nothing_at_the_door() {
    let Some(binary) = mosquitto_or_skip() else {
        return;
    };
    let setup = Setup::new();
    let _broker = start_mosquitto(&binary, &setup);
    let running = bridge_for(&setup).await;
    let mut events = running.bridge.subscribe();
    let sim = Simulator::start(
        SimConfig::from_credentials(setup.station(1)).unwrap(),
        running.clock.clone(),
    )
    .await
    .unwrap();
    let mut state = sim.state();

    // The real command opens the door once.
    let payload = open_door(&*running.db, &running.clock, 1, "real").await;
    running.bridge.wake();
    events_until(&mut events, "the real command acknowledged", |event| {
        matches!(event, BridgeEvent::Ended { command_id, status: DeviceCommandStatus::Done, .. } if command_id == "real")
    })
    .await;

    // Someone with the server's broker password but not its device key
    // (a leaked configuration file) publishes on the door's topic.
    let mut attacker = RawClient::connect(
        &setup,
        "attacker",
        &setup.server_login.0,
        &setup.server_login.1,
    );
    attacker.connected().await.unwrap();
    let door_topic = topic(1, DeviceKind::Door, "front", Channel::Command);
    let fresh = |id: &str| {
        Command {
            command_id: id.into(),
            not_after_ms: (running.clock.now() + Duration::seconds(30)).timestamp_millis() as u64,
            server_ms: None,
            op: Operation::Open { hold_ms: 3000 },
        }
        .to_payload()
    };
    // No MAC at all.
    attacker.publish_acked(&door_topic, fresh("unsigned")).await;
    // A MAC under a guessed key.
    let guessed = ServerDeviceKey::random().device_key(1, DeviceKind::Door, "front");
    attacker
        .publish_acked(
            &door_topic,
            sign_command(&guessed, &door_topic, &fresh("guessed")),
        )
        .await;
    // A real command for station 2's door, captured and redirected.
    let station_2 = topic(2, DeviceKind::Door, "front", Channel::Command);
    let key_2 = setup.server_key.device_key(2, DeviceKind::Door, "front");
    attacker
        .publish_acked(
            &door_topic,
            sign_command(&key_2, &station_2, &fresh("for-station-2")),
        )
        .await;
    let seen = wait_state(&mut state, "three refusals", |s| s.refused == 3).await;
    assert_eq!(seen.door_openings, 1, "a forged command opened the door");

    // The real command captured on the wire (signing is deterministic, so
    // these are the bytes the bridge sent) and replayed while still valid.
    let replay = sign_command(
        &setup.server_key.device_key(1, DeviceKind::Door, "front"),
        &door_topic,
        payload.as_bytes(),
    );
    attacker.publish_acked(&door_topic, replay).await;
    let seen = wait_state(&mut state, "the replay", |s| {
        s.received.iter().filter(|(id, _)| id == "real").count() >= 2
    })
    .await;
    assert_eq!(
        seen.door_openings, 1,
        "a replayed command opened the door again"
    );
    assert!(
        seen.received
            .iter()
            .filter(|(id, _)| id == "real")
            .skip(1)
            .all(|(_, outcome)| *outcome == Outcome::Duplicate),
        "{:?}",
        seen.received
    );
    assert!(
        seen.received.iter().all(|(id, _)| id == "real"),
        "a forged command got past the gate: {:?}",
        seen.received
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_logins_are_refused() {
    let Some(binary) = mosquitto_or_skip() else {
        return;
    };
    let setup = Setup::new();
    let _broker = start_mosquitto(&binary, &setup);
    let (username, _) = setup.login_of(1, DeviceKind::Door);
    let mut wrong = RawClient::connect(&setup, "wrong", &username, "not-the-password");
    assert!(
        wrong.connected().await.is_err(),
        "a wrong password logged in"
    );
    let mut unknown = RawClient::connect(&setup, "unknown", "nobody", "x");
    assert!(
        unknown.connected().await.is_err(),
        "an unknown user logged in"
    );
    // Plain MQTT to the TLS listener does not get a connection either.
    let options = MqttOptions::new("yizhan-test-plain", "127.0.0.1", setup.port);
    let (_client, mut eventloop) = AsyncClient::new(options, 8);
    let plain = tokio::time::timeout(WAIT, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await;
    assert_eq!(plain, Ok(false), "plain MQTT was accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_started_before_the_broker_retries_with_back_off_then_moves_the_door() {
    let Some(binary) = mosquitto_or_skip() else {
        return;
    };
    let setup = Setup::new();
    let database = testkit::sqlite_database().await;
    let db = database.db.clone();
    let clock = Arc::new(TestClock::at(Utc::now()));
    let mut config = BridgeConfig::new(
        setup.server_broker(),
        setup.server_key.clone(),
        "yizhan-test-bridge-early",
    );
    config.poll_every = std::time::Duration::from_millis(50);
    let bridge = Bridge::start_in_background(db.clone(), clock.clone(), config)
        .expect("a broker that is down is not a configuration error");
    let mut events = bridge.subscribe();
    // A door command is written while the broker is down; it waits.
    open_door(&*db, &clock, 1, "while-down").await;

    let mut delays = Vec::new();
    while delays.len() < 2 {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Ok(BridgeEvent::BrokerDown { retry_in, .. })) => delays.push(retry_in),
            Ok(Ok(_)) => {}
            other => panic!("no retry reported: {other:?}"),
        }
    }
    // The first failure may come before `subscribe`: compare neighbours.
    assert!(
        delays[0] >= RECONNECT_FIRST && delays[1] == delays[0] * 2,
        "no back-off: {delays:?}"
    );

    let _broker = start_mosquitto(&binary, &setup);
    let sim = Simulator::start(
        SimConfig::from_credentials(setup.station(1)).unwrap(),
        clock.clone(),
    )
    .await
    .unwrap();
    let mut state = sim.state();
    events_until(&mut events, "the bridge connects", |event| {
        *event == BridgeEvent::Connected
    })
    .await;
    bridge.wake();
    let seen = wait_state(&mut state, "the waiting command opens the door", |s| {
        s.door_openings == 1
    })
    .await;
    assert_eq!(
        seen.received,
        vec![("while-down".to_string(), Outcome::Done)]
    );
    sim.stop().await;
}

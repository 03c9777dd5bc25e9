//! A simulated station: one door controller and one light strip that speak
//! the device protocol over a real MQTT broker exactly as a vendor's
//! controllers must — every command through the [`CommandGate`], an ack for
//! every command, retained state with `online`, and a last will that marks
//! the device offline if its connection dies. Tests and the demo watch the
//! door and the lights through [`Simulator::state`].

use crate::auth::{CommandKey, ServerDeviceKey, StationCredentials};
use crate::config::SegmentConfig;
use crate::mqtt::{self, BrokerConfig, MqttError};
use crate::{
    Channel, CommandGate, DeviceKind, DeviceState, LitGroup, Operation, Outcome, PAYLOAD_BYTES_MAX,
    Remembered, reasons, topic,
};
use app::ports::Clock;
use rumqttc::{AsyncClient, Event, LastWill, Packet, QoS};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Deliveries the simulator keeps in [`StationState::received`].
pub const RECEIVED_KEPT_MAX: usize = 1024;
/// How often doors and lights are checked for running out.
const TICK: Duration = Duration::from_millis(100);
/// First wait before reconnecting after the broker went away; it doubles
/// per failed attempt up to [`RECONNECT_MAX`] (docs/devices.md: a device
/// must be back within a door command's 20 s window).
pub const RECONNECT_FIRST: Duration = Duration::from_millis(500);
pub const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// What the simulator says it is in its state.
pub const MODEL: &str = "yizhan-sim";

/// Ways to make the simulator break the contract, so that a test can show
/// the conformance suite catches it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Keep no command ids: a redelivered command acts again.
    pub forget_commands: bool,
    /// Never answer an `op` it does not know (the simulator before 1.0).
    pub ignore_unknown_ops: bool,
}

/// One simulated device: its id at the station, its broker login and the
/// key its gate checks commands with.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub device_id: String,
    pub login: Option<(String, String)>,
    pub command_key: CommandKey,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The broker's URL and CA; each device logs in with its own login.
    pub broker: BrokerConfig,
    pub station_id: i64,
    pub door: SimDevice,
    pub lights: SimDevice,
    pub scanner: SimDevice,
    /// The broker declares a device gone (and publishes its last will) after
    /// about one and a half times this without a packet.
    pub keep_alive: Duration,
    /// Device ids at this station not to simulate (a real controller is
    /// there instead).
    pub except: BTreeSet<String>,
    /// Where each device keeps the command ids it has acted on, so that a
    /// restart does not forget them; none: in memory only.
    pub memory_dir: Option<PathBuf>,
    pub faults: Faults,
}

impl SimConfig {
    /// The station's door `front`, lights `shelves` and scanner `checkout`,
    /// connecting anonymously, with command keys derived from the server's
    /// device key as the server derives them (the demo, tests).
    pub fn new(mqtt_url: &str, station_id: i64, server: &ServerDeviceKey) -> SimConfig {
        let device = |kind, id: &str| SimDevice {
            device_id: id.into(),
            login: None,
            command_key: server.device_key(station_id, kind, id),
        };
        SimConfig {
            broker: BrokerConfig::open(mqtt_url),
            station_id,
            door: device(DeviceKind::Door, "front"),
            lights: device(DeviceKind::Lights, "shelves"),
            scanner: device(DeviceKind::Scanner, "checkout"),
            keep_alive: Duration::from_secs(10),
            except: BTreeSet::new(),
            memory_dir: None,
            faults: Faults::default(),
        }
    }

    /// The devices of a provisioning file (`yizhan devices provision`).
    pub fn from_credentials(credentials: &StationCredentials) -> Result<SimConfig, String> {
        let device = |kind: DeviceKind| -> Result<SimDevice, String> {
            let found = credentials
                .device(kind)
                .ok_or_else(|| format!("the credentials have no {} device", kind.code()))?;
            Ok(SimDevice {
                device_id: found.device_id.clone(),
                login: Some((found.username.clone(), found.password.clone())),
                command_key: CommandKey::from_hex(&found.command_key).ok_or_else(|| {
                    format!("the {} command key is not 64 hex digits", kind.code())
                })?,
            })
        };
        Ok(SimConfig {
            broker: BrokerConfig {
                url: credentials.mqtt_url.clone(),
                login: None,
                ca_pem: credentials.ca_pem.clone().map(String::into_bytes),
            },
            station_id: credentials.station_id,
            door: device(DeviceKind::Door)?,
            lights: device(DeviceKind::Lights)?,
            scanner: device(DeviceKind::Scanner)?,
            keep_alive: Duration::from_secs(10),
            except: BTreeSet::new(),
            memory_dir: None,
            faults: Faults::default(),
        })
    }

    /// The file where the device keeps its command memory, if any.
    fn memory_file(&self, kind: DeviceKind, device_id: &str) -> Option<PathBuf> {
        self.memory_dir.as_ref().map(|dir| {
            dir.join(format!(
                "station-{}-{}-{device_id}.json",
                self.station_id,
                kind.code()
            ))
        })
    }

    fn broker_for(&self, device: &SimDevice) -> BrokerConfig {
        BrokerConfig {
            login: device.login.clone(),
            ..self.broker.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LitSegment {
    pub colour: String,
    pub until_ms: u64,
}

/// What a person at the station would see, plus what the devices received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StationState {
    pub door_open: bool,
    pub door_open_until_ms: u64,
    /// Times the door was opened since the simulator started: a command
    /// that acts twice shows here.
    pub door_openings: u32,
    pub lit: BTreeMap<u32, LitSegment>,
    /// Every command delivery in arrival order with the gate's verdict
    /// (the most recent [`RECEIVED_KEPT_MAX`]).
    pub received: Vec<(String, Outcome)>,
    /// Acks the simulator was told to lose and did.
    pub acks_swallowed: u32,
    /// Payloads the gates dropped: no valid MAC for the device, or not a
    /// command at all.
    pub refused: u32,
    /// The version of the segment map the light strip holds (the server's
    /// retained `config` message).
    pub config_version: Option<String>,
}

struct Shared {
    state: StationState,
    door_gate: CommandGate,
    lights_gate: CommandGate,
    acks_to_swallow: u32,
    faults: Faults,
}

/// A running simulated station. Dropping it without [`Simulator::stop`]
/// aborts its connections, so the broker publishes the last wills.
pub struct Simulator {
    shared: Arc<Mutex<Shared>>,
    state: watch::Receiver<StationState>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The checkout scanner's connection and its `scan` topic, unless the
    /// scanner is a real one.
    scanner: Option<(AsyncClient, String)>,
    clock: Arc<dyn Clock>,
}

/// The command ids a device kept in `file` before it restarted; a missing
/// or unreadable file is an empty memory (a new device).
fn load_memory(file: Option<&PathBuf>) -> Vec<Remembered> {
    let Some(file) = file else {
        return Vec::new();
    };
    match std::fs::read(file) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
            tracing::warn!(%error, file = %file.display(), "simulated device's command memory unreadable; starting empty");
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

/// Writes the memory where a restart finds it: a new file renamed over the
/// old, so a crash mid-write leaves the previous memory whole.
fn save_memory(file: &PathBuf, memory: &[Remembered]) -> std::io::Result<()> {
    let partial = file.with_extension("json.partial");
    std::fs::write(
        &partial,
        serde_json::to_vec(memory).expect("memory serialises"),
    )?;
    std::fs::rename(&partial, file)
}

impl Simulator {
    /// Connects the devices and returns once the broker has confirmed
    /// their command subscriptions.
    pub async fn start(config: SimConfig, clock: Arc<dyn Clock>) -> Result<Simulator, MqttError> {
        let (state_sender, state) = watch::channel(StationState::default());
        let gate_of = |kind, device: &SimDevice| {
            let mut gate = CommandGate::new(
                device.command_key.clone(),
                &topic(config.station_id, kind, &device.device_id, Channel::Command),
            );
            gate.restore(load_memory(
                config.memory_file(kind, &device.device_id).as_ref(),
            ));
            gate
        };
        let shared = Arc::new(Mutex::new(Shared {
            state: StationState::default(),
            door_gate: gate_of(DeviceKind::Door, &config.door),
            lights_gate: gate_of(DeviceKind::Lights, &config.lights),
            acks_to_swallow: 0,
            faults: config.faults,
        }));
        let state_sender = Arc::new(state_sender);
        let (stop, _) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut readies = Vec::new();
        for (kind, sim_device) in [
            (DeviceKind::Door, &config.door),
            (DeviceKind::Lights, &config.lights),
        ] {
            if config.except.contains(&sim_device.device_id) {
                continue;
            }
            let device = Device {
                kind,
                device_id: sim_device.device_id.clone(),
                station_id: config.station_id,
                shared: shared.clone(),
                state_sender: state_sender.clone(),
                clock: clock.clone(),
                memory_file: config.memory_file(kind, &sim_device.device_id),
                command_key: sim_device.command_key.clone(),
            };
            let will = LastWill::new(
                device.topic(Channel::State),
                device.state_payload(false),
                QoS::AtLeastOnce,
                true,
            );
            // A stable client id and a persistent session: commands the
            // server publishes while the device is away are queued by the
            // broker and delivered when it is back.
            let client_id = format!(
                "yizhan-sim-{}-{}-{}",
                config.station_id,
                kind.code(),
                device.device_id
            );
            let (client, eventloop) = mqtt::connect_session(
                &config.broker_for(sim_device),
                &client_id,
                config.keep_alive,
                Some(will),
                false,
            )?;
            let (ready_sender, ready) = watch::channel(None::<Result<(), String>>);
            readies.push(ready);
            tasks.push(tokio::spawn(device.run(
                client,
                eventloop,
                stop.subscribe(),
                ready_sender,
            )));
        }
        // The checkout scanner has its own connection and login: the
        // broker lets it publish scans and nothing else.
        let scanner = if config.except.contains(&config.scanner.device_id) {
            None
        } else {
            let (scanner_client, mut scanner_loop) = mqtt::connect(
                &config.broker_for(&config.scanner),
                &format!(
                    "yizhan-sim-{}-scanner-{}",
                    config.station_id, config.scanner.device_id
                ),
                config.keep_alive,
                None,
            )?;
            let (scanner_ready, ready) = watch::channel(None::<Result<(), String>>);
            readies.push(ready);
            let mut scanner_stop = stop.subscribe();
            let scanner_disconnect = scanner_client.clone();
            tasks.push(tokio::spawn(async move {
                let mut retry_in = RECONNECT_FIRST;
                loop {
                    tokio::select! {
                        event = scanner_loop.poll() => match event {
                            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                                retry_in = RECONNECT_FIRST;
                                let _ = scanner_ready.send(Some(Ok(())));
                            }
                            Ok(_) => {}
                            Err(error) => {
                                let _ = scanner_ready.send(Some(Err(error.to_string())));
                                tokio::time::sleep(retry_in).await;
                                retry_in = (retry_in * 2).min(RECONNECT_MAX);
                            }
                        },
                        _ = scanner_stop.changed() => {
                            let _ = scanner_disconnect.try_disconnect();
                            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                                while scanner_loop.poll().await.is_ok() {}
                            }).await;
                            return;
                        }
                    }
                }
            }));
            Some((
                scanner_client,
                topic(
                    config.station_id,
                    DeviceKind::Scanner,
                    &config.scanner.device_id,
                    Channel::Scan,
                ),
            ))
        };
        let simulator = Simulator {
            shared,
            state,
            stop,
            tasks,
            scanner,
            clock,
        };
        for mut ready in readies {
            if let Err(error) = crate::mqtt::await_ready(&mut ready, &config.broker.url).await {
                simulator.abort();
                return Err(error);
            }
        }
        Ok(simulator)
    }

    /// The station as it is now, updated on every change.
    pub fn state(&self) -> watch::Receiver<StationState> {
        self.state.clone()
    }

    /// The checkout scanner reads `code` (QoS 1, like a real scanner).
    pub async fn scan(&self, code: &str) -> Result<(), String> {
        let event = crate::ScanEvent {
            code: code.to_string(),
            at_ms: u64::try_from(self.clock.now().timestamp_millis()).unwrap_or(0),
        };
        let (client, scan_topic) = self
            .scanner
            .as_ref()
            .ok_or("the scanner is not simulated here")?;
        client
            .publish(
                scan_topic.clone(),
                QoS::AtLeastOnce,
                false,
                serde_json::to_vec(&event).expect("scans serialise"),
            )
            .await
            .map_err(|error| error.to_string())
    }

    /// The devices will act on the next `n` commands but lose their acks,
    /// as if the network dropped them.
    pub fn swallow_next_acks(&self, n: u32) {
        self.shared.lock().expect("sim state").acks_to_swallow = n;
    }

    /// Publishes `online: false` and disconnects cleanly.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }

    /// Loses power: the connections die without a goodbye (the broker
    /// publishes the last wills) and everything not written to the memory
    /// files is gone. [`Simulator::start`] with the same configuration is
    /// the device booting again.
    pub async fn power_off(mut self) {
        self.abort();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }

    fn abort(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.abort();
    }
}

struct Device {
    kind: DeviceKind,
    device_id: String,
    station_id: i64,
    shared: Arc<Mutex<Shared>>,
    state_sender: Arc<watch::Sender<StationState>>,
    clock: Arc<dyn Clock>,
    memory_file: Option<PathBuf>,
    command_key: CommandKey,
}

impl Device {
    fn topic(&self, channel: Channel) -> String {
        topic(self.station_id, self.kind, &self.device_id, channel)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp_millis()).unwrap_or(0)
    }

    /// The retained state payload; see `docs/devices.md`.
    fn state_payload(&self, online: bool) -> Vec<u8> {
        let shared = self.shared.lock().expect("sim state");
        let state = &shared.state;
        let mut body = DeviceState {
            online,
            at_ms: Some(self.now_ms()),
            model: Some(MODEL.into()),
            firmware: Some(env!("CARGO_PKG_VERSION").into()),
            ..DeviceState::default()
        };
        match self.kind {
            DeviceKind::Door => {
                body.open = Some(online && state.door_open);
                body.open_until_ms = Some(state.door_open_until_ms);
            }
            _ => {
                body.config_version = state.config_version.clone();
                let mut groups: BTreeMap<(&str, u64), Vec<u32>> = BTreeMap::new();
                if online {
                    for (segment, lit) in &state.lit {
                        groups
                            .entry((&lit.colour, lit.until_ms))
                            .or_default()
                            .push(*segment);
                    }
                }
                body.lit = Some(
                    groups
                        .into_iter()
                        .map(|((colour, until_ms), segments)| LitGroup {
                            colour: colour.to_string(),
                            segments,
                            until_ms,
                        })
                        .collect(),
                );
            }
        }
        // The state must fit the payload limit like every message: leave
        // lit segments out (and say so) until it does.
        loop {
            let payload = serde_json::to_vec(&body).expect("states serialise");
            let Some(lit) = body
                .lit
                .as_mut()
                .filter(|_| payload.len() > PAYLOAD_BYTES_MAX)
            else {
                return payload;
            };
            body.lit_truncated = Some(true);
            match lit.last_mut() {
                Some(group) if group.segments.len() > 1 => {
                    let keep = group.segments.len() / 2;
                    group.segments.truncate(keep);
                }
                Some(_) => {
                    lit.pop();
                }
                None => return payload,
            }
        }
    }

    async fn run(
        self,
        client: AsyncClient,
        mut eventloop: rumqttc::EventLoop,
        mut stop: watch::Receiver<bool>,
        ready: watch::Sender<Option<Result<(), String>>>,
    ) {
        let command_topic = self.topic(Channel::Command);
        let config_topic = self.topic(Channel::Config);
        let mut ticker = tokio::time::interval(TICK);
        let mut retry_in = RECONNECT_FIRST;
        loop {
            tokio::select! {
                event = eventloop.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        retry_in = RECONNECT_FIRST;
                        let _ = client.try_subscribe(command_topic.clone(), QoS::AtLeastOnce);
                        if self.kind == DeviceKind::Lights {
                            let _ = client.try_subscribe(config_topic.clone(), QoS::AtLeastOnce);
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        // Online only once the broker confirmed the
                        // subscription: a command sent on seeing `online`
                        // must reach the device (docs/devices.md, State).
                        self.publish_state(&client, true);
                        let _ = ready.send(Some(Ok(())));
                    }
                    Ok(Event::Incoming(Packet::Publish(publish))) if publish.topic == command_topic => {
                        self.on_command(&client, &publish.payload);
                    }
                    Ok(Event::Incoming(Packet::Publish(publish))) if publish.topic == config_topic => {
                        self.on_config(&client, &config_topic, &publish.payload);
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, device = %self.device_id, retry_in_ms = retry_in.as_millis() as u64, "simulated device lost the broker; reconnecting");
                        let _ = ready.send(Some(Err(error.to_string())));
                        tokio::time::sleep(retry_in).await;
                        retry_in = (retry_in * 2).min(RECONNECT_MAX);
                    }
                },
                _ = ticker.tick() => {
                    if self.run_out() {
                        self.publish_state(&client, true);
                    }
                }
                _ = stop.changed() => {
                    self.publish_state(&client, false);
                    let _ = client.try_disconnect();
                    // Drive the loop until the broker has the goodbye.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while eventloop.poll().await.is_ok() {}
                    }).await;
                    return;
                }
            }
        }
    }

    fn publish_state(&self, client: &AsyncClient, online: bool) {
        let _ = client.try_publish(
            self.topic(Channel::State),
            QoS::AtLeastOnce,
            true,
            self.state_payload(online),
        );
    }

    /// Turns off what has run out; true if anything changed.
    fn run_out(&self) -> bool {
        let now_ms = self.now_ms();
        let mut shared = self.shared.lock().expect("sim state");
        let state = &mut shared.state;
        let changed = match self.kind {
            DeviceKind::Door if state.door_open && now_ms >= state.door_open_until_ms => {
                state.door_open = false;
                true
            }
            DeviceKind::Lights => {
                let before = state.lit.len();
                state.lit.retain(|_, lit| lit.until_ms > now_ms);
                state.lit.len() != before
            }
            _ => false,
        };
        if changed {
            self.state_sender.send_replace(state.clone());
        }
        changed
    }

    /// Takes the server's segment map (a retained message, so it also
    /// arrives on every connect) and reports its version in the state.
    fn on_config(&self, client: &AsyncClient, config_topic: &str, payload: &[u8]) {
        match SegmentConfig::receive(&self.command_key, config_topic, payload) {
            Ok(config) => {
                {
                    let mut shared = self.shared.lock().expect("sim state");
                    shared.state.config_version = Some(config.config_version);
                    self.state_sender.send_replace(shared.state.clone());
                }
                self.publish_state(client, true);
            }
            Err(error) => {
                tracing::warn!(%error, device = %self.device_id, "simulated light strip refused a configuration");
            }
        }
    }

    fn on_command(&self, client: &AsyncClient, payload: &[u8]) {
        let now_ms = self.now_ms();
        let (mut verdict, swallow) = {
            let mut shared = self.shared.lock().expect("sim state");
            let faults = shared.faults;
            let gate = match self.kind {
                DeviceKind::Door => &mut shared.door_gate,
                _ => &mut shared.lights_gate,
            };
            if faults.forget_commands {
                gate.forget();
            }
            let mut verdict = match gate.receive(payload, now_ms) {
                Ok(verdict) => verdict,
                Err(error) => {
                    // Not provably the server's, or no id to answer: no
                    // act, no ack.
                    tracing::warn!(%error, device = %self.device_id, "simulated device refused a payload");
                    shared.state.refused += 1;
                    self.state_sender.send_replace(shared.state.clone());
                    return;
                }
            };
            if faults.ignore_unknown_ops
                && verdict
                    .reason
                    .as_deref()
                    .is_some_and(|reason| reason.starts_with(reasons::UNKNOWN_OP))
            {
                shared.state.refused += 1;
                self.state_sender.send_replace(shared.state.clone());
                return;
            }
            // The id is written down before the door moves: a power cut
            // between the two must not let the command act again.
            if verdict.outcome == Outcome::Done
                && let Some(file) = &self.memory_file
                && let Err(error) = save_memory(file, &gate.memory())
            {
                tracing::warn!(%error, file = %file.display(), "simulated device could not keep its command memory");
                verdict.outcome = Outcome::Failed;
                verdict.reason = Some(format!("{}: memory not writable", reasons::HARDWARE));
                verdict.act = None;
            }
            if let Some(op) = &verdict.act
                && !act(&mut shared.state, self.kind, op, now_ms)
            {
                verdict.outcome = Outcome::Failed;
                verdict.reason = Some(format!("{}: cannot do that", reasons::HARDWARE));
            }
            let state = &mut shared.state;
            if state.received.len() == RECEIVED_KEPT_MAX {
                state.received.remove(0);
            }
            state
                .received
                .push((verdict.command_id.clone(), verdict.outcome));
            let swallow = shared.acks_to_swallow > 0;
            if swallow {
                shared.acks_to_swallow -= 1;
                shared.state.acks_swallowed += 1;
            }
            self.state_sender.send_replace(shared.state.clone());
            (verdict, swallow)
        };
        // `status` and every change publish the state before the ack, so
        // whoever reads the ack finds the state already there.
        if verdict.outcome == Outcome::Done {
            self.publish_state(client, true);
        }
        if !swallow {
            verdict.act = None;
            let _ = client.try_publish(
                self.topic(Channel::Ack),
                QoS::AtLeastOnce,
                false,
                serde_json::to_vec(&verdict.ack(now_ms)).expect("acks serialise"),
            );
        }
    }
}

/// Carries out an admitted command; false if this device cannot do it.
fn act(state: &mut StationState, kind: DeviceKind, op: &Operation, now_ms: u64) -> bool {
    match (kind, op) {
        (_, Operation::Status) => true,
        (DeviceKind::Door, Operation::Open { hold_ms }) => {
            state.door_open = true;
            state.door_open_until_ms = now_ms + hold_ms;
            state.door_openings += 1;
            true
        }
        (
            DeviceKind::Lights,
            Operation::Light {
                colour,
                segments,
                duration_ms,
            },
        ) => {
            for segment in segments {
                state.lit.insert(
                    *segment,
                    LitSegment {
                        colour: colour.to_ascii_lowercase(),
                        until_ms: now_ms + duration_ms,
                    },
                );
            }
            true
        }
        (DeviceKind::Lights, Operation::Off { segments }) => {
            for segment in segments {
                state.lit.remove(segment);
            }
            true
        }
        (DeviceKind::Lights, Operation::AllOff) => {
            state.lit.clear();
            true
        }
        _ => false,
    }
}

/// Runs a simulated station until `shutdown` completes, writing the
/// station's state as one JSON object per line whenever it changes (what
/// `yizhan simulate devices` prints), then says goodbye to the broker.
pub async fn run_printing(
    config: SimConfig,
    clock: Arc<dyn Clock>,
    shutdown: impl std::future::Future<Output = ()>,
    out: &mut (dyn std::io::Write + Send),
) -> Result<(), MqttError> {
    let station_id = config.station_id;
    let door = topic(
        station_id,
        DeviceKind::Door,
        &config.door.device_id,
        Channel::Command,
    );
    let lights = topic(
        station_id,
        DeviceKind::Lights,
        &config.lights.device_id,
        Channel::Command,
    );
    let simulator = Simulator::start(config, clock).await?;
    tracing::info!(station_id, %door, %lights, "simulated station listening");
    let mut state = simulator.state();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = state.borrow_and_update().clone();
                let line = serde_json::json!({
                    "station": station_id,
                    "door_open": now.door_open,
                    "door_openings": now.door_openings,
                    "lit": now.lit,
                    "last_command": now.received.last(),
                    "refused": now.refused,
                });
                if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
            () = &mut shutdown => break,
        }
    }
    simulator.stop().await;
    Ok(())
}

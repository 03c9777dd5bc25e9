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

// ---------------------------------------------------------------------------
// A simulated kiosk (寄件宝, issue 14, branch kiosk-dev): its controller,
// scale, drop-bin sensor, camera and printer on one connection (the
// kiosk's computer drives them all), speaking protocol 1.0 on
// `yizhan/v1/kiosks/{kiosk}/…` (`docs/devices.md`, "Kiosks").

use crate::kiosk::{self as kiosk_proto, BinDrop, KioskChannel, KioskKind, KioskState, Paper};

/// Where the simulated camera's photos go: (command id, JPEG bytes, the
/// camera's signature). The demo posts them to the server's
/// `POST /kiosk/device/photo`; tests may hand them to the use case.
pub type PhotoSink = Arc<dyn Fn(String, Vec<u8>, String) + Send + Sync>;

/// The smallest JPEG the simulated camera "takes" (a 1×1 grey pixel).
pub const SIM_JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x08, 0x06, 0x06, 0x07, 0x06, 0x05, 0x08,
    0x07, 0x07, 0x07, 0x09, 0x09, 0x08, 0x0A, 0x0C, 0x14, 0x0D, 0x0C, 0x0B, 0x0B, 0x0C, 0x19, 0x12,
    0x13, 0x0F, 0x14, 0x1D, 0x1A, 0x1F, 0x1E, 0x1D, 0x1A, 0x1C, 0x1C, 0x20, 0x24, 0x2E, 0x27, 0x20,
    0x22, 0x2C, 0x23, 0x1C, 0x1C, 0x28, 0x37, 0x29, 0x2C, 0x30, 0x31, 0x34, 0x34, 0x34, 0x1F, 0x27,
    0x39, 0x3D, 0x38, 0x32, 0x3C, 0x2E, 0x33, 0x34, 0x32, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01,
    0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xC4, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0xFF, 0xDA,
    0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x2A, 0x9F, 0xFF, 0xD9,
];

#[derive(Clone)]
pub struct KioskSimConfig {
    pub broker: BrokerConfig,
    /// The kiosk's code in the fleet (`JJB-0001`).
    pub kiosk: String,
    /// Every device's id (`main`).
    pub device_id: String,
    /// The camera's and printer's command keys are derived from it, as the
    /// server derives them.
    pub server: ServerDeviceKey,
    pub keep_alive: Duration,
    /// Where the camera's photos go; none: captures are acked `failed`
    /// (`hardware: no uplink`).
    pub photos: Option<PhotoSink>,
}

impl KioskSimConfig {
    pub fn new(mqtt_url: &str, kiosk: &str, server: &ServerDeviceKey) -> KioskSimConfig {
        KioskSimConfig {
            broker: BrokerConfig::open(mqtt_url),
            kiosk: kiosk.to_string(),
            device_id: app::kiosk_devices::DEFAULT_DEVICE_ID.into(),
            server: server.clone(),
            keep_alive: Duration::from_secs(10),
            photos: None,
        }
    }
}

/// What a person at the kiosk would see, plus what its devices received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KioskSimState {
    /// Labels printed, by command id, with their ZPL.
    pub printed: Vec<(String, String)>,
    /// Photos taken, by command id.
    pub captured: Vec<String>,
    /// Every command delivery with the gate's verdict.
    pub received: Vec<(String, Outcome)>,
    /// Payloads the gates dropped (no valid MAC).
    pub refused: u32,
    pub paper: Option<String>,
}

struct KioskShared {
    state: KioskSimState,
    camera: CommandGate,
    printer: CommandGate,
    paper: Paper,
    fill_pct: u8,
    full: bool,
}

/// A running simulated kiosk. Dropping it aborts its connection, so the
/// broker publishes the controller's last will (the kiosk goes offline).
pub struct KioskSimulator {
    client: AsyncClient,
    config: KioskSimConfig,
    shared: Arc<Mutex<KioskShared>>,
    state: watch::Receiver<KioskSimState>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    clock: Arc<dyn Clock>,
}

impl KioskSimulator {
    /// Connects the kiosk and returns once the broker confirmed the camera's
    /// and printer's command subscriptions and every device said it is
    /// online.
    pub async fn start(
        config: KioskSimConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<KioskSimulator, MqttError> {
        let t = |kind, channel| kiosk_proto::topic(&config.kiosk, kind, &config.device_id, channel);
        let gate = |kind| {
            CommandGate::new(
                config
                    .server
                    .kiosk_key(&config.kiosk, kind, &config.device_id),
                &t(kind, KioskChannel::Command),
            )
        };
        let shared = Arc::new(Mutex::new(KioskShared {
            state: KioskSimState::default(),
            camera: gate(KioskKind::Camera),
            printer: gate(KioskKind::Printer),
            paper: Paper::Ok,
            fill_pct: 0,
            full: false,
        }));
        let will = LastWill::new(
            t(KioskKind::Controller, KioskChannel::State),
            br#"{"online":false}"#.to_vec(),
            QoS::AtLeastOnce,
            true,
        );
        let (client, mut eventloop) = mqtt::connect_session(
            &config.broker,
            &format!("yizhan-sim-kiosk-{}", config.kiosk),
            config.keep_alive,
            Some(will),
            false,
        )?;
        let (state_sender, state) = watch::channel(KioskSimState::default());
        let (ready_sender, mut ready) = watch::channel(None::<Result<(), String>>);
        let (stop, mut stopped) = watch::channel(false);
        let camera_cmd = t(KioskKind::Camera, KioskChannel::Command);
        let printer_cmd = t(KioskKind::Printer, KioskChannel::Command);
        let runner = KioskRunner {
            client: client.clone(),
            config: config.clone(),
            shared: shared.clone(),
            state: Arc::new(state_sender),
            clock: clock.clone(),
        };
        let task = tokio::spawn(async move {
            let mut retry_in = RECONNECT_FIRST;
            let mut n_subacks = 0;
            loop {
                tokio::select! {
                    event = eventloop.poll() => match event {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            retry_in = RECONNECT_FIRST;
                            n_subacks = 0;
                            let _ = runner.client.try_subscribe(camera_cmd.clone(), QoS::AtLeastOnce);
                            let _ = runner.client.try_subscribe(printer_cmd.clone(), QoS::AtLeastOnce);
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            n_subacks += 1;
                            if n_subacks == 2 {
                                for kind in KioskKind::ALL {
                                    runner.publish_state(kind, true);
                                }
                                let _ = ready_sender.send(Some(Ok(())));
                            }
                        }
                        Ok(Event::Incoming(Packet::Publish(publish))) if publish.topic == camera_cmd => {
                            runner.on_command(KioskKind::Camera, &publish.payload);
                        }
                        Ok(Event::Incoming(Packet::Publish(publish))) if publish.topic == printer_cmd => {
                            runner.on_command(KioskKind::Printer, &publish.payload);
                        }
                        Ok(_) => {}
                        Err(error) => {
                            let _ = ready_sender.send(Some(Err(error.to_string())));
                            tokio::time::sleep(retry_in).await;
                            retry_in = (retry_in * 2).min(RECONNECT_MAX);
                        }
                    },
                    _ = stopped.changed() => {
                        for kind in KioskKind::ALL {
                            runner.publish_state(kind, false);
                        }
                        let _ = runner.client.try_disconnect();
                        let _ = tokio::time::timeout(Duration::from_secs(1), async {
                            while eventloop.poll().await.is_ok() {}
                        }).await;
                        return;
                    }
                }
            }
        });
        let simulator = KioskSimulator {
            client,
            config,
            shared,
            state,
            stop,
            tasks: vec![task],
            clock,
        };
        crate::mqtt::await_ready(&mut ready, &simulator.config.broker.url).await?;
        Ok(simulator)
    }

    /// The kiosk as it is now, updated on every change.
    pub fn state(&self) -> watch::Receiver<KioskSimState> {
        self.state.clone()
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp_millis()).unwrap_or(0)
    }

    async fn publish(
        &self,
        kind: KioskKind,
        channel: KioskChannel,
        body: Vec<u8>,
        retain: bool,
    ) -> Result<(), String> {
        self.client
            .publish(
                kiosk_proto::topic(&self.config.kiosk, kind, &self.config.device_id, channel),
                QoS::AtLeastOnce,
                retain,
                body,
            )
            .await
            .map_err(|error| error.to_string())
    }

    /// A parcel of `grams` is put on the scale and the reading settles.
    pub async fn place_on_scale(&self, grams: u32) -> Result<(), String> {
        let reading = kiosk_proto::WeightReading {
            grams,
            stable: true,
            at_ms: self.now_ms(),
        };
        self.publish(
            KioskKind::Scale,
            KioskChannel::Weight,
            serde_json::to_vec(&reading).expect("readings serialise"),
            false,
        )
        .await
    }

    /// An item goes into the bin; its reader took `reference` from the
    /// label; the bin is `fill_pct` full now.
    pub async fn drop_in_bin(&self, reference: &str, fill_pct: u8) -> Result<(), String> {
        self.shared.lock().expect("kiosk sim").fill_pct = fill_pct;
        let drop = BinDrop {
            reference: reference.to_string(),
            fill_pct: Some(fill_pct),
            at_ms: self.now_ms(),
        };
        self.publish(
            KioskKind::Bin,
            KioskChannel::Drop,
            serde_json::to_vec(&drop).expect("drops serialise"),
            false,
        )
        .await
    }

    /// The bin's sensor reports its fill (and whether it is full).
    pub async fn set_bin(&self, fill_pct: u8, full: bool) -> Result<(), String> {
        {
            let mut shared = self.shared.lock().expect("kiosk sim");
            shared.fill_pct = fill_pct;
            shared.full = full;
        }
        let body = kiosk_state(&self.shared, KioskKind::Bin, true, self.now_ms());
        self.publish(KioskKind::Bin, KioskChannel::State, body, true)
            .await
    }

    /// The printer's paper runs out (or is refilled).
    pub async fn set_paper(&self, paper: Paper) -> Result<(), String> {
        self.shared.lock().expect("kiosk sim").paper = paper;
        let body = kiosk_state(&self.shared, KioskKind::Printer, true, self.now_ms());
        self.publish(KioskKind::Printer, KioskChannel::State, body, true)
            .await
    }

    /// Says goodbye (every device offline) and disconnects.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }

    /// Loses power: the broker publishes the controller's last will.
    pub async fn power_off(mut self) {
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for KioskSimulator {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn kiosk_state(shared: &Mutex<KioskShared>, kind: KioskKind, online: bool, at_ms: u64) -> Vec<u8> {
    let shared = shared.lock().expect("kiosk sim");
    let mut state = KioskState {
        online,
        at_ms: Some(at_ms),
        model: Some(MODEL.into()),
        firmware: Some(env!("CARGO_PKG_VERSION").into()),
        ..KioskState::default()
    };
    match kind {
        KioskKind::Bin => {
            state.fill_pct = Some(shared.fill_pct);
            state.full = Some(shared.full);
        }
        KioskKind::Printer => state.paper = Some(shared.paper),
        _ => {}
    }
    serde_json::to_vec(&state).expect("states serialise")
}

struct KioskRunner {
    client: AsyncClient,
    config: KioskSimConfig,
    shared: Arc<Mutex<KioskShared>>,
    state: Arc<watch::Sender<KioskSimState>>,
    clock: Arc<dyn Clock>,
}

impl KioskRunner {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.now().timestamp_millis()).unwrap_or(0)
    }

    fn topic(&self, kind: KioskKind, channel: KioskChannel) -> String {
        kiosk_proto::topic(&self.config.kiosk, kind, &self.config.device_id, channel)
    }

    fn publish_state(&self, kind: KioskKind, online: bool) {
        let body = kiosk_state(&self.shared, kind, online, self.now_ms());
        let _ = self.client.try_publish(
            self.topic(kind, KioskChannel::State),
            QoS::AtLeastOnce,
            true,
            body,
        );
    }

    /// Runs a command through the device's gate, acts, acks.
    fn on_command(&self, kind: KioskKind, payload: &[u8]) {
        let now_ms = self.now_ms();
        let mut shared = self.shared.lock().expect("kiosk sim");
        let gate = if kind == KioskKind::Camera {
            &mut shared.camera
        } else {
            &mut shared.printer
        };
        let Ok(mut verdict) = gate.receive(payload, now_ms) else {
            shared.state.refused += 1;
            self.state.send_replace(shared.state.clone());
            return;
        };
        let mut photo = None;
        match verdict.act.take() {
            Some(Operation::Capture) => match &self.config.photos {
                Some(_) => {
                    shared.state.captured.push(verdict.command_id.clone());
                    photo = Some(verdict.command_id.clone());
                }
                None => {
                    verdict.outcome = Outcome::Failed;
                    verdict.reason = Some(format!("{}: no uplink", reasons::HARDWARE));
                }
            },
            Some(Operation::PrintLabel { zpl, .. }) => {
                if shared.paper == Paper::Out {
                    verdict.outcome = Outcome::Failed;
                    verdict.reason = Some(format!("{}: out_of_paper", reasons::HARDWARE));
                } else {
                    shared.state.printed.push((verdict.command_id.clone(), zpl));
                }
            }
            _ => {}
        }
        shared
            .state
            .received
            .push((verdict.command_id.clone(), verdict.outcome));
        shared.state.paper = Some(shared.paper.code().into());
        self.state.send_replace(shared.state.clone());
        drop(shared);
        if let (Some(command_id), Some(sink)) = (photo, &self.config.photos) {
            let key = self.config.server.kiosk_key(
                &self.config.kiosk,
                KioskKind::Camera,
                &self.config.device_id,
            );
            let signature =
                app::kiosk_devices::photo_signature(&key.bytes(), &command_id, SIM_JPEG);
            sink(command_id, SIM_JPEG.to_vec(), signature);
        }
        let ack = verdict.ack(now_ms);
        let _ = self.client.try_publish(
            self.topic(kind, KioskChannel::Ack),
            QoS::AtLeastOnce,
            false,
            serde_json::to_vec(&ack).expect("acks serialise"),
        );
    }
}

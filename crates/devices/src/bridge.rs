//! The server's side of the devices: publishes the commands waiting in the
//! devices' outbox with QoS 1, marks a command done when its device
//! acknowledges it, publishes it again (same command id) after
//! `retry_after` while unacknowledged, and marks it expired once its
//! not-after time has passed (a door command that expires raises an alert
//! for the keeper). Every command is signed with the addressed device's key
//! ([`crate::auth`]) as it is published. It also follows the devices'
//! retained state so the console can show which devices are offline. A
//! broker that is down (at start or later) is retried with a growing delay.
//!
//! No message can stop it (issue 19): it accepts any packet the broker
//! forwards ([`crate::mqtt::MQTT_PACKET_BYTES_MAX`]) and drops, one at a
//! time, messages over the protocol's limit, malformed ones, those on
//! topics outside the protocol and those from devices the station's
//! registry does not hold (`app::device_registry`), counting each by
//! reason and logging station, device and topic but never the payload.
//! A retained message from an unknown device is cleared (an empty retained
//! publish, which the server's ACL allows on `ack` and `state` topics).

use crate::auth::ServerDeviceKey;
use crate::mqtt::{self, BrokerConfig, MqttError};
use crate::{Ack, DeviceKind, Outcome, PAYLOAD_BYTES_MAX};
use app::device_commands::{DeviceCommandRecord, DeviceCommandStatus};
use app::device_registry::{DeviceSeen, DropReason, DroppedMessages, Sender};
use app::ports::{Clock, Store};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// Every station's acks and states.
const ACK_FILTER: &str = "yizhan/v1/stations/+/+/+/ack";
const STATE_FILTER: &str = "yizhan/v1/stations/+/+/+/state";
const SCAN_FILTER: &str = "yizhan/v1/stations/+/scanner/+/scan";
/// Every kiosk's states, acks, weights and drops (issue 14).
const KIOSK_FILTERS: [&str; 4] = [
    crate::kiosk::STATE_FILTER,
    crate::kiosk::ACK_FILTER,
    crate::kiosk::WEIGHT_FILTER,
    crate::kiosk::DROP_FILTER,
];

/// First wait before reconnecting to a broker that did not answer; it
/// doubles per failure up to [`RECONNECT_MAX`] and starts again after a
/// connection.
pub const RECONNECT_FIRST: Duration = Duration::from_millis(500);
pub const RECONNECT_MAX: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The broker and the server's own login (the only one the ACL lets
    /// publish commands).
    pub broker: BrokerConfig,
    /// Every device's command key is derived from it.
    pub device_key: ServerDeviceKey,
    /// Unique per server process: the broker drops an older connection
    /// with the same id.
    pub client_id: String,
    /// An unacknowledged command is published again after this long.
    pub retry_after: Duration,
    /// How often the outbox is read when nobody calls [`Bridge::wake`].
    pub poll_every: Duration,
    /// Commands read from the outbox at a time.
    pub batch_max: u32,
    /// Dropped messages per reason; pass the app's
    /// (`App::dropped_device_messages`) so the API shows them.
    pub drops: Arc<DroppedMessages>,
    /// A door whose sensor says `open` for longer raises an alert.
    pub door_open_alert_after: Duration,
    /// Where vehicles' telemetry goes (vehicle code, message), for the
    /// fleet's rules (`App::ingest_telemetry`); none: vehicles are not
    /// subscribed to. A full channel drops the message, counted as
    /// `overloaded` in `drops` (and logged, sparingly): the next one follows
    /// within a second.
    pub telemetry: Option<mpsc::Sender<(String, domain::fleet::Telemetry)>>,
}

impl BridgeConfig {
    pub fn new(broker: BrokerConfig, device_key: ServerDeviceKey, client_id: &str) -> BridgeConfig {
        BridgeConfig {
            broker,
            device_key,
            client_id: client_id.to_string(),
            retry_after: Duration::from_secs(2),
            poll_every: Duration::from_millis(500),
            batch_max: 100,
            drops: Arc::default(),
            door_open_alert_after: Duration::from_secs(180),
            telemetry: None,
        }
    }
}

/// What the bridge did, for tests, logs and the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeEvent {
    /// The broker accepted the connection (and the subscriptions follow).
    Connected,
    /// The broker could not be reached or the connection broke; the next
    /// attempt is in `retry_in`.
    BrokerDown { error: String, retry_in: Duration },
    /// Published (attempt 1) or published again.
    Published { command_id: String, attempt: u32 },
    /// The command ended: acknowledged, expired or failed. `outcome` is the
    /// device's word when it answered.
    Ended {
        command_id: String,
        status: DeviceCommandStatus,
        outcome: Option<String>,
    },
    /// A device said it is online or offline (or its last will did).
    DeviceState { state_topic: String, online: bool },
    /// A message was dropped (`reason` as counted); `cleared`: it was a
    /// retained message from an unknown device, and the bridge published an
    /// empty retained message to clear it.
    Dropped {
        topic: String,
        reason: &'static str,
        cleared: bool,
    },
    /// A kiosk's device message was taken (issue 14): `channel` is
    /// `state`, `weight`, `drop` or `ack`; `order_id` is the order a drop
    /// named, when it named one of the kiosk's.
    Kiosk {
        topic: String,
        channel: &'static str,
        order_id: Option<i64>,
    },
    /// A checkout scanner read a code.
    Scan {
        station_id: i64,
        scanner_id: String,
        code: String,
        at_ms: u64,
    },
}

/// A running bridge.
pub struct Bridge {
    wake: Arc<Notify>,
    events: broadcast::Sender<BridgeEvent>,
    online: Arc<Mutex<BTreeMap<String, bool>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Bridge {
    /// Connects, subscribes to acks and device states, and starts
    /// publishing; returns once the broker has confirmed the subscriptions,
    /// or fails if it has not within `mqtt::READY_WITHIN`.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: BridgeConfig,
    ) -> Result<Bridge, MqttError> {
        let url = config.broker.url.clone();
        let (bridge, mut ready) = Bridge::spawn(store, clock, config)?;
        crate::mqtt::await_ready(&mut ready, &url).await?;
        Ok(bridge)
    }

    /// Starts at once and keeps trying the broker in the background with a
    /// growing delay ([`RECONNECT_FIRST`] doubling to [`RECONNECT_MAX`]), so a
    /// server that starts before its broker moves doors as soon as the
    /// broker is up. Commands wait in the outbox meanwhile (and expire there).
    /// Fails only on a configuration error (URL, CA).
    pub fn start_in_background(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: BridgeConfig,
    ) -> Result<Bridge, MqttError> {
        Bridge::spawn(store, clock, config).map(|(bridge, _)| bridge)
    }

    fn spawn(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: BridgeConfig,
    ) -> Result<(Bridge, mqtt::Readiness), MqttError> {
        let keep_alive = Duration::from_secs(30);
        let (client, mut eventloop) = mqtt::connect_with_limit(
            &config.broker,
            &config.client_id,
            keep_alive,
            None,
            mqtt::MQTT_PACKET_BYTES_MAX,
        )?;
        let (incoming_sender, mut incoming) = mpsc::channel::<Incoming>(1024);
        let (ready_sender, ready) = watch::channel(None::<Result<(), String>>);
        let (events, _) = broadcast::channel(1024);
        let subscriber = client.clone();
        let pump_events = events.clone();
        let vehicles = config.telemetry.is_some();
        let n_subscriptions = 3 + 2 * usize::from(vehicles) + KIOSK_FILTERS.len();
        let pump = tokio::spawn(async move {
            let mut n_subacks = 0;
            let mut retry_in = RECONNECT_FIRST;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        n_subacks = 0;
                        retry_in = RECONNECT_FIRST;
                        tracing::info!("device bridge connected to the broker");
                        let _ = pump_events.send(BridgeEvent::Connected);
                        let _ = subscriber.try_subscribe(ACK_FILTER, QoS::AtLeastOnce);
                        let _ = subscriber.try_subscribe(STATE_FILTER, QoS::AtLeastOnce);
                        let _ = subscriber.try_subscribe(SCAN_FILTER, QoS::AtLeastOnce);
                        for filter in KIOSK_FILTERS {
                            let _ = subscriber.try_subscribe(filter, QoS::AtLeastOnce);
                        }
                        if vehicles {
                            let _ = subscriber
                                .try_subscribe(crate::vehicle::TELEMETRY_FILTER, QoS::AtLeastOnce);
                            let _ = subscriber
                                .try_subscribe(crate::vehicle::ACK_FILTER, QoS::AtLeastOnce);
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        n_subacks += 1;
                        if n_subacks == n_subscriptions {
                            let _ = ready_sender.send(Some(Ok(())));
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(publish))) => {
                        // An oversized payload is not copied: only its size
                        // is passed on, to be counted and logged.
                        let bytes = publish.payload.len();
                        let payload = if bytes > PAYLOAD_BYTES_MAX {
                            Vec::new()
                        } else {
                            publish.payload.to_vec()
                        };
                        if incoming_sender
                            .send(Incoming {
                                topic: publish.topic,
                                payload,
                                bytes,
                                retain: publish.retain,
                            })
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(error) => {
                        let error = error.to_string();
                        tracing::warn!(%error, retry_in_ms = retry_in.as_millis() as u64, "device bridge cannot reach the broker; retrying");
                        let _ = ready_sender.send(Some(Err(error.clone())));
                        let _ = pump_events.send(BridgeEvent::BrokerDown { error, retry_in });
                        tokio::time::sleep(retry_in).await;
                        retry_in = (retry_in * 2).min(RECONNECT_MAX);
                    }
                }
            }
        });

        let wake = Arc::new(Notify::new());
        let online = Arc::new(Mutex::new(BTreeMap::new()));
        let relay = Relay {
            store,
            clock,
            client,
            config,
            events: events.clone(),
            online: online.clone(),
        };
        let woken = wake.clone();
        let main = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(relay.config.poll_every);
            let mut doors = tokio::time::interval(DOOR_CHECK_EVERY);
            let mut segment_maps = crate::config::ConfigPublisher::new(
                &app::terminal::TerminalSettings::default().lights_device,
            );
            loop {
                tokio::select! {
                    message = incoming.recv() => match message {
                        Some(message) => relay.on_message(&message).await,
                        None => return,
                    },
                    _ = doors.tick() => relay.check_doors().await,
                    _ = ticker.tick() => {
                        relay.publish_due().await;
                        let now_ms = u64::try_from(relay.clock.now().timestamp_millis()).unwrap_or(0);
                        segment_maps.tick(&*relay.store, &relay.client, &relay.config.device_key, now_ms).await;
                    }
                    _ = woken.notified() => relay.publish_due().await,
                }
            }
        });
        let bridge = Bridge {
            wake,
            events,
            online,
            tasks: vec![pump, main],
        };
        Ok((bridge, ready))
    }

    /// Publishes what is due now instead of at the next poll; call it after
    /// committing a change that enqueued device commands.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A handle that does what [`Bridge::wake`] does, for whoever enqueues
    /// commands (the use cases, through `app::DeviceWaker`).
    pub fn waker(&self) -> impl Fn() + Send + Sync + 'static {
        let wake = self.wake.clone();
        move || wake.notify_one()
    }

    /// Everything the bridge does from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<BridgeEvent> {
        self.events.subscribe()
    }

    /// Whether the device last said it is online; `None` if it never spoke.
    /// A device whose connection died is offline through its last will.
    pub fn device_online(
        &self,
        station_id: i64,
        kind: DeviceKind,
        device_id: &str,
    ) -> Option<bool> {
        let key = crate::topic(station_id, kind, device_id, crate::Channel::State);
        self.online.lock().expect("online map").get(&key).copied()
    }

    /// Every device heard from, by state topic, and whether it is online.
    pub fn devices(&self) -> BTreeMap<String, bool> {
        self.online.lock().expect("online map").clone()
    }

    /// Stops publishing and disconnects (as dropping it does).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// How often doors left open are looked for.
const DOOR_CHECK_EVERY: Duration = Duration::from_secs(5);

/// A message from the broker, as the event loop hands it on.
struct Incoming {
    topic: String,
    /// Empty when `bytes` is over the protocol's limit.
    payload: Vec<u8>,
    bytes: usize,
    retain: bool,
}

struct Relay {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    client: AsyncClient,
    config: BridgeConfig,
    events: broadcast::Sender<BridgeEvent>,
    online: Arc<Mutex<BTreeMap<String, bool>>>,
}

fn device_kind(code: &str) -> Option<DeviceKind> {
    match code {
        "door" => Some(DeviceKind::Door),
        "lights" => Some(DeviceKind::Lights),
        _ => None,
    }
}

impl Relay {
    async fn publish_due(&self) {
        let now = self.clock.now();
        let due = match self
            .store
            .due_device_commands(now, self.config.batch_max)
            .await
        {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "could not read the device outbox");
                return;
            }
        };
        for command in due {
            if let Err(error) = self.publish(&command, now).await {
                tracing::warn!(%error, command_id = %command.command_id, "device command not published");
            }
        }
    }

    async fn publish(
        &self,
        command: &DeviceCommandRecord,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), String> {
        if now > command.not_after {
            return self.end(command, DeviceCommandStatus::Expired, None).await;
        }
        // A vehicle's command (issue 20): its own topic and key; a kiosk
        // device's (issue 14) likewise.
        let (topic, key) = if command.device_kind == crate::kiosk::DEVICE_KIND {
            let Some((kiosk, kind, device)) =
                crate::kiosk::parse_command_device_id(&command.device_id)
            else {
                return self.end(command, DeviceCommandStatus::Failed, None).await;
            };
            (
                crate::kiosk::topic(kiosk, kind, device, crate::kiosk::KioskChannel::Command),
                self.config.device_key.kiosk_key(kiosk, kind, device),
            )
        } else if command.device_kind == crate::vehicle::DEVICE_KIND {
            (
                crate::vehicle::command_topic(&command.device_id),
                self.config.device_key.vehicle_key(&command.device_id),
            )
        } else {
            let Some(kind) = device_kind(&command.device_kind) else {
                return self.end(command, DeviceCommandStatus::Failed, None).await;
            };
            (
                crate::topic(
                    command.station_id,
                    kind,
                    &command.device_id,
                    crate::Channel::Command,
                ),
                self.config
                    .device_key
                    .device_key(command.station_id, kind, &command.device_id),
            )
        };
        // Publish before recording the attempt: a crash between the two
        // sends the command again, which the device's gate absorbs.
        // Never waits: while the broker is away the request queue fills, and
        // waiting here would also stop acks from being recorded. A command
        // that does not fit is simply due again at the next poll.
        let stamped = crate::stamp_server_time(
            command.payload.as_bytes(),
            u64::try_from(now.timestamp_millis()).unwrap_or(0),
        );
        let signed = crate::auth::sign_command(&key, &topic, &stamped);
        self.client
            .try_publish(topic, QoS::AtLeastOnce, false, signed)
            .map_err(|error| error.to_string())?;
        let retry_at = now
            + chrono::Duration::from_std(self.config.retry_after)
                .unwrap_or(chrono::Duration::seconds(2));
        self.store
            .device_command_attempted(command.id, retry_at)
            .await
            .map_err(|error| error.to_string())?;
        let _ = self.events.send(BridgeEvent::Published {
            command_id: command.command_id.clone(),
            attempt: command.attempts + 1,
        });
        Ok(())
    }

    async fn end(
        &self,
        command: &DeviceCommandRecord,
        status: DeviceCommandStatus,
        outcome: Option<&str>,
    ) -> Result<(), String> {
        let now = self.clock.now();
        let ended = if matches!(
            status,
            DeviceCommandStatus::Expired | DeviceCommandStatus::Failed
        ) {
            app::device_commands::end_without_acting(&*self.store, command, status, outcome, now)
                .await
                .map_err(|error| error.to_string())?
        } else {
            self.store
                .finish_device_command(&command.command_id, status, outcome, now)
                .await
                .map_err(|error| error.to_string())?
        };
        if ended {
            let _ = self.events.send(BridgeEvent::Ended {
                command_id: command.command_id.clone(),
                status,
                outcome: outcome.map(str::to_string),
            });
        }
        Ok(())
    }

    async fn check_doors(&self) {
        let after = chrono::Duration::from_std(self.config.door_open_alert_after)
            .unwrap_or(chrono::Duration::minutes(3));
        if let Err(error) =
            app::device_registry::alert_doors_left_open(&*self.store, self.clock.now(), after).await
        {
            tracing::warn!(%error, "doors left open not checked");
        }
    }

    /// Counts and logs a dropped message: station, device and topic, never
    /// the payload.
    fn drop_message(&self, message: &Incoming, reason: DropReason) {
        self.dropped(message, reason, false);
    }

    fn dropped(&self, message: &Incoming, reason: DropReason, cleared: bool) {
        self.config.drops.count(reason);
        let parsed = crate::parse_topic(&message.topic);
        tracing::warn!(
            reason = reason.code(),
            station = parsed.map(|(station, ..)| station),
            kind = parsed.map(|(_, kind, ..)| kind.code()),
            device = parsed.map(|(_, _, device, _)| device),
            topic = %message.topic.chars().take(200).collect::<String>(),
            bytes = message.bytes,
            retained = message.retain,
            cleared,
            "device message dropped"
        );
        let _ = self.events.send(BridgeEvent::Dropped {
            topic: message.topic.clone(),
            reason: reason.code(),
            cleared,
        });
    }

    async fn on_message(&self, message: &Incoming) {
        let topic = message.topic.as_str();
        if let (Some(vehicle), Some(sink)) = (
            crate::vehicle::parse_telemetry_topic(topic),
            &self.config.telemetry,
        ) {
            if message.bytes > PAYLOAD_BYTES_MAX {
                return self.drop_message(message, DropReason::Oversized);
            }
            match crate::vehicle::VehicleTelemetry::parse(&message.payload) {
                Ok(telemetry) => {
                    if sink
                        .try_send((vehicle.to_string(), telemetry.to_rules()))
                        .is_err()
                    {
                        // Bounded (the channel's slots) and visible: counted
                        // at `GET /api/devices/dropped` as `overloaded`, and
                        // logged at the 1st, 2nd, 4th, 8th … drop, so a
                        // flood does not flood the log as well.
                        let n = self.config.drops.count(DropReason::Overloaded);
                        if n.is_power_of_two() {
                            tracing::warn!(
                                vehicle,
                                dropped = n,
                                "vehicle telemetry dropped: the fleet's rules are behind"
                            );
                        }
                    }
                }
                Err(_) => self.drop_message(message, DropReason::Malformed),
            }
            return;
        }
        if let (Some(vehicle), Some(_)) = (
            crate::vehicle::parse_ack_topic(topic),
            &self.config.telemetry,
        ) {
            if message.bytes > PAYLOAD_BYTES_MAX {
                return self.drop_message(message, DropReason::Oversized);
            }
            return self.on_vehicle_ack(message, vehicle).await;
        }
        if let Some((kiosk, kind, device, channel)) = crate::kiosk::parse_topic(topic) {
            return self
                .on_kiosk_message(message, kiosk, kind, device, channel)
                .await;
        }
        let Some((station_id, kind, device_id, channel)) = crate::parse_topic(topic) else {
            return self.drop_message(message, DropReason::UnknownTopic);
        };
        // An empty retained message is how a retained one is cleared
        // (ours, or a device's own); it says nothing.
        if message.bytes == 0 {
            if channel == crate::Channel::State {
                self.online.lock().expect("online map").remove(topic);
            }
            return;
        }
        let now = self.clock.now();
        let sender =
            app::device_registry::sender(&*self.store, station_id, kind.code(), device_id, now)
                .await;
        let device = match sender {
            Ok(Sender::Registered(device)) => device,
            // Another deployment's station on a shared broker, or an
            // invented one: not ours to clear.
            Ok(Sender::UnknownStation) => {
                // Counted like any unknown device, but logged quietly: on a
                // shared broker every reconnection replays the others'
                // retained states.
                self.config.drops.count(DropReason::UnknownDevice);
                tracing::debug!(
                    station = station_id,
                    topic,
                    "message for a station this server does not have dropped"
                );
                return;
            }
            Ok(Sender::Unknown) => {
                // A retained one is cleared so it is not delivered again on
                // every reconnection; the broker ignores this where its ACL
                // does not let the server write the topic. A retained
                // message that arrives while the bridge is subscribed is
                // forwarded without the retain flag (MQTT 3.1.1, 3.3.1.3),
                // so `state`, which devices always retain, is cleared
                // whatever the flag says.
                let cleared = (message.retain || channel == crate::Channel::State)
                    && self
                        .client
                        .try_publish(topic, QoS::AtLeastOnce, true, Vec::new())
                        .is_ok();
                return self.dropped(message, DropReason::UnknownDevice, cleared);
            }
            Err(error) => {
                tracing::warn!(%error, topic, "device registry not read; message dropped");
                return;
            }
        };
        if message.bytes > PAYLOAD_BYTES_MAX {
            return self.drop_message(message, DropReason::Oversized);
        }
        let payload = message.payload.as_slice();
        match channel {
            crate::Channel::Scan if kind == DeviceKind::Scanner => {
                match crate::ScanEvent::parse(payload) {
                    Ok(scan) => {
                        let _ = self.events.send(BridgeEvent::Scan {
                            station_id,
                            scanner_id: device_id.to_string(),
                            code: scan.code,
                            at_ms: scan.at_ms,
                        });
                    }
                    Err(_) => self.drop_message(message, DropReason::Malformed),
                }
            }
            crate::Channel::State => {
                let Ok(state) = crate::DeviceState::parse(payload) else {
                    return self.drop_message(message, DropReason::Malformed);
                };
                let seen = DeviceSeen {
                    model: state.model.as_deref(),
                    firmware: state.firmware.as_deref(),
                    door_sensor: state.door.map(crate::DoorSensor::code),
                    now,
                };
                if let Err(error) =
                    app::device_registry::record_seen(&*self.store, &device, &seen).await
                {
                    tracing::warn!(%error, topic, "device state not recorded");
                }
                let changed = self
                    .online
                    .lock()
                    .expect("online map")
                    .insert(topic.to_string(), state.online)
                    != Some(state.online);
                if changed {
                    let _ = self.events.send(BridgeEvent::DeviceState {
                        state_topic: topic.to_string(),
                        online: state.online,
                    });
                }
            }
            crate::Channel::Ack => self.on_ack(message, &device, now).await,
            _ => self.drop_message(message, DropReason::UnknownTopic),
        }
    }

    /// A kiosk device's message (issue 14, `docs/devices.md`, "Kiosks"):
    /// heard only from a registered device of a kiosk in service; a state
    /// is recorded (liveness, the bin's fill and its full incident, the
    /// printer's paper), a settled weight and a drop are kept for the
    /// kiosk's screen, and an ack ends a command only if it was sent to
    /// that device (a failed one keeps the device's reason).
    async fn on_kiosk_message(
        &self,
        message: &Incoming,
        kiosk: &str,
        kind: crate::kiosk::KioskKind,
        device_id: &str,
        channel: crate::kiosk::KioskChannel,
    ) {
        use crate::kiosk::KioskChannel;
        let topic = message.topic.as_str();
        if message.bytes == 0 {
            return;
        }
        if channel == KioskChannel::Command {
            return self.drop_message(message, DropReason::UnknownTopic);
        }
        let now = self.clock.now();
        let (device, record) =
            match app::kiosk_devices::sender(&*self.store, kiosk, kind.code(), device_id).await {
                Ok(app::kiosk_devices::KioskSender::Registered(device, kiosk)) => (device, kiosk),
                Ok(app::kiosk_devices::KioskSender::UnknownKiosk) => {
                    self.config.drops.count(DropReason::UnknownDevice);
                    tracing::debug!(
                        topic,
                        "message for a kiosk this server does not have dropped"
                    );
                    return;
                }
                Ok(app::kiosk_devices::KioskSender::Unknown) => {
                    let cleared = (message.retain || channel == KioskChannel::State)
                        && self
                            .client
                            .try_publish(topic, QoS::AtLeastOnce, true, Vec::new())
                            .is_ok();
                    return self.dropped(message, DropReason::UnknownDevice, cleared);
                }
                Err(error) => {
                    tracing::warn!(%error, topic, "kiosk registry not read; message dropped");
                    return;
                }
            };
        if message.bytes > PAYLOAD_BYTES_MAX {
            return self.drop_message(message, DropReason::Oversized);
        }
        let payload = message.payload.as_slice();
        let mut order_id = None;
        let outcome = match channel {
            KioskChannel::State => {
                let Ok(state) = crate::kiosk::KioskState::parse(payload) else {
                    return self.drop_message(message, DropReason::Malformed);
                };
                let seen = app::kiosk_devices::KioskSeen {
                    online: state.online,
                    model: state.model.clone(),
                    firmware: state.firmware.clone(),
                    fill_pct: state.fill_pct,
                    full: state.full,
                    paper: state.paper.map(|paper| paper.code().to_string()),
                };
                let changed = self
                    .online
                    .lock()
                    .expect("online map")
                    .insert(topic.to_string(), state.online)
                    != Some(state.online);
                if changed {
                    let _ = self.events.send(BridgeEvent::DeviceState {
                        state_topic: topic.to_string(),
                        online: state.online,
                    });
                }
                app::kiosk_devices::record_state(&*self.store, &device, &record, topic, &seen, now)
                    .await
            }
            KioskChannel::Weight if kind == crate::kiosk::KioskKind::Scale => {
                let Ok(reading) = crate::kiosk::WeightReading::parse(payload) else {
                    return self.drop_message(message, DropReason::Malformed);
                };
                app::kiosk_devices::record_weight(
                    &*self.store,
                    &device,
                    reading.grams,
                    reading.stable,
                    now,
                )
                .await
                .map(|_| ())
            }
            KioskChannel::Drop if kind == crate::kiosk::KioskKind::Bin => {
                let Ok(drop) = crate::kiosk::BinDrop::parse(payload) else {
                    return self.drop_message(message, DropReason::Malformed);
                };
                app::kiosk_devices::record_drop(
                    &*self.store,
                    &device,
                    &record,
                    &drop.reference,
                    drop.fill_pct,
                    now,
                )
                .await
                .map(|order| order_id = order)
            }
            KioskChannel::Ack if kind.takes_commands() => {
                let Ok(ack) = Ack::parse(payload) else {
                    return self.drop_message(message, DropReason::Malformed);
                };
                let sent_to = crate::kiosk::command_device_id(kiosk, kind, device_id);
                match self.store.device_command(&ack.command_id).await {
                    Ok(Some(command))
                        if command.device_kind == crate::kiosk::DEVICE_KIND
                            && command.device_id == sent_to =>
                    {
                        let (status, word) = ack_status(ack.outcome);
                        // A failed print keeps the printer's reason
                        // (`failed: hardware: out_of_paper`) for the screen.
                        let said = match (&ack.reason, ack.outcome) {
                            (Some(reason), Outcome::Failed) => {
                                format!("{word}: {}", reason.chars().take(200).collect::<String>())
                            }
                            _ => word.to_string(),
                        };
                        if let Err(error) = self.end(&command, status, Some(&said)).await {
                            tracing::warn!(%error, topic, "kiosk ack not recorded");
                        }
                    }
                    Ok(Some(_)) => {
                        tracing::warn!(
                            topic,
                            "ack from a kiosk device the command was not sent to; ignored"
                        );
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, topic, "kiosk ack not recorded"),
                }
                Ok(())
            }
            _ => return self.drop_message(message, DropReason::UnknownTopic),
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, topic, "kiosk device message not recorded");
            return;
        }
        let _ = self.events.send(BridgeEvent::Kiosk {
            topic: topic.to_string(),
            channel: channel.code(),
            order_id,
        });
    }

    /// A vehicle's ack (issue 20): it ends the command only if the command
    /// was sent to that vehicle.
    async fn on_vehicle_ack(&self, message: &Incoming, vehicle: &str) {
        let ack = match Ack::parse(&message.payload) {
            Ok(ack) => ack,
            Err(_) => return self.drop_message(message, DropReason::Malformed),
        };
        let command = match self.store.device_command(&ack.command_id).await {
            Ok(Some(command))
                if command.device_kind == crate::vehicle::DEVICE_KIND
                    && command.device_id == vehicle =>
            {
                command
            }
            Ok(Some(_)) => {
                tracing::warn!(vehicle, command_id = %ack.command_id.chars().take(64).collect::<String>(), "ack from a vehicle the command was not sent to; ignored");
                return;
            }
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, vehicle, "vehicle ack not recorded");
                return;
            }
        };
        let (status, word) = ack_status(ack.outcome);
        if let Err(error) = self.end(&command, status, Some(word)).await {
            tracing::warn!(%error, command_id = %command.command_id, "vehicle ack not recorded");
        }
    }

    async fn on_ack(
        &self,
        message: &Incoming,
        device: &app::device_registry::DeviceRecord,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let topic = message.topic.as_str();
        // The contract's own parser (limits on the command id included),
        // as for scans and states.
        let ack = match Ack::parse(&message.payload) {
            Ok(ack) => ack,
            Err(_) => return self.drop_message(message, DropReason::Malformed),
        };
        let seen = DeviceSeen {
            model: None,
            firmware: None,
            door_sensor: None,
            now,
        };
        if let Err(error) = app::device_registry::record_seen(&*self.store, device, &seen).await {
            tracing::warn!(%error, topic, "device last seen not recorded");
        }
        // Only the device a command was sent to may end it.
        let command = match self.store.device_command(&ack.command_id).await {
            Ok(Some(command)) => {
                let sent_to = device_kind(&command.device_kind).map(|kind| {
                    crate::topic(
                        command.station_id,
                        kind,
                        &command.device_id,
                        crate::Channel::Ack,
                    )
                });
                if sent_to.as_deref() != Some(topic) {
                    tracing::warn!(topic, command_id = %ack.command_id.chars().take(64).collect::<String>(), "ack from a device the command was not sent to; ignored");
                    return;
                }
                command
            }
            // Another server's command, or one already cleaned away.
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, topic, "device ack not recorded");
                return;
            }
        };
        let (status, word) = ack_status(ack.outcome);
        if let Err(error) = self.end(&command, status, Some(word)).await {
            tracing::warn!(%error, command_id = %command.command_id, "device ack not recorded");
        }
    }
}

/// What an ack's outcome makes of its command, and the word stored.
fn ack_status(outcome: Outcome) -> (DeviceCommandStatus, &'static str) {
    match outcome {
        Outcome::Done => (DeviceCommandStatus::Done, "done"),
        // Acted on by an earlier delivery whose ack was lost.
        Outcome::Duplicate => (DeviceCommandStatus::Done, "duplicate"),
        Outcome::Expired => (DeviceCommandStatus::Expired, "expired"),
        Outcome::Failed => (DeviceCommandStatus::Failed, "failed"),
    }
}

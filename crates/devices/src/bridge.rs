//! The server's side of the devices: publishes the commands waiting in the
//! devices' outbox with QoS 1, marks a command done when its device
//! acknowledges it, publishes it again (same command id) after
//! `retry_after` while unacknowledged, and marks it expired once its
//! not-after time has passed (a door command that expires raises an alert
//! for the keeper). Every command is signed with the addressed device's key
//! ([`crate::auth`]) as it is published. It also follows the devices'
//! retained state so the console can show which devices are offline. A
//! broker that is down (at start or later) is retried with a growing delay.

use crate::auth::ServerDeviceKey;
use crate::mqtt::{self, BrokerConfig, MqttError};
use crate::{Ack, DeviceKind, Outcome, PAYLOAD_BYTES_MAX};
use app::device_commands::{DeviceCommandRecord, DeviceCommandStatus};
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
        let (client, mut eventloop) =
            mqtt::connect(&config.broker, &config.client_id, keep_alive, None)?;
        let (incoming_sender, mut incoming) = mpsc::channel::<(String, Vec<u8>)>(1024);
        let (ready_sender, ready) = watch::channel(None::<Result<(), String>>);
        let (events, _) = broadcast::channel(1024);
        let subscriber = client.clone();
        let pump_events = events.clone();
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
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        n_subacks += 1;
                        if n_subacks == 3 {
                            let _ = ready_sender.send(Some(Ok(())));
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(publish))) => {
                        if incoming_sender
                            .send((publish.topic, publish.payload.to_vec()))
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
            let mut segment_maps = crate::config::ConfigPublisher::new(
                &app::terminal::TerminalSettings::default().lights_device,
            );
            loop {
                tokio::select! {
                    message = incoming.recv() => match message {
                        Some((topic, payload)) => relay.on_message(&topic, &payload).await,
                        None => return,
                    },
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
        let Some(kind) = device_kind(&command.device_kind) else {
            return self.end(command, DeviceCommandStatus::Failed, None).await;
        };
        let topic = crate::topic(
            command.station_id,
            kind,
            &command.device_id,
            crate::Channel::Command,
        );
        // Publish before recording the attempt: a crash between the two
        // sends the command again, which the device's gate absorbs.
        // Never waits: while the broker is away the request queue fills, and
        // waiting here would also stop acks from being recorded. A command
        // that does not fit is simply due again at the next poll.
        let key = self
            .config
            .device_key
            .device_key(command.station_id, kind, &command.device_id);
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
        let ended = if status == DeviceCommandStatus::Expired {
            app::device_commands::expire_device_command(&*self.store, command, outcome, now)
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

    async fn on_message(&self, topic: &str, payload: &[u8]) {
        if payload.len() > PAYLOAD_BYTES_MAX {
            tracing::warn!(
                topic,
                bytes = payload.len(),
                "oversized device message dropped"
            );
            return;
        }
        if let Some((station_id, DeviceKind::Scanner, scanner_id, crate::Channel::Scan)) =
            crate::parse_topic(topic)
        {
            match crate::ScanEvent::parse(payload) {
                Ok(scan) => {
                    let _ = self.events.send(BridgeEvent::Scan {
                        station_id,
                        scanner_id: scanner_id.to_string(),
                        code: scan.code,
                        at_ms: scan.at_ms,
                    });
                }
                Err(error) => tracing::warn!(topic, %error, "scan dropped"),
            }
            return;
        }
        if topic.ends_with("/state") {
            #[derive(serde::Deserialize)]
            struct Liveness {
                online: bool,
            }
            // An empty retained message clears a device from the broker.
            let online = serde_json::from_slice::<Liveness>(payload).map(|state| state.online);
            let changed = {
                let mut map = self.online.lock().expect("online map");
                match online {
                    Ok(online) => map.insert(topic.to_string(), online) != Some(online),
                    Err(_) => {
                        map.remove(topic);
                        false
                    }
                }
            };
            if let (true, Ok(online)) = (changed, online) {
                let _ = self.events.send(BridgeEvent::DeviceState {
                    state_topic: topic.to_string(),
                    online,
                });
            }
            return;
        }
        let ack: Ack = match serde_json::from_slice(payload) {
            Ok(ack) => ack,
            Err(error) => {
                tracing::warn!(topic, %error, "malformed device ack dropped");
                return;
            }
        };
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
                    tracing::warn!(topic, command_id = %ack.command_id, "ack from a device the command was not sent to; ignored");
                    return;
                }
                command
            }
            // Another server's command, or one already cleaned away.
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, command_id = %ack.command_id, "device ack not recorded");
                return;
            }
        };
        let (status, word) = match ack.outcome {
            Outcome::Done => (DeviceCommandStatus::Done, "done"),
            // Acted on by an earlier delivery whose ack was lost.
            Outcome::Duplicate => (DeviceCommandStatus::Done, "duplicate"),
            Outcome::Expired => (DeviceCommandStatus::Expired, "expired"),
            Outcome::Failed => (DeviceCommandStatus::Failed, "failed"),
        };
        if let Err(error) = self.end(&command, status, Some(word)).await {
            tracing::warn!(%error, command_id = %ack.command_id, "device ack not recorded");
        }
    }
}

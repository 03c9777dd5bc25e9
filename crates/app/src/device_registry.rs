//! The station's device registry as the MQTT bridge uses it (issue 19):
//! whether a message comes from a registered, active device; what a device's
//! state said (last seen, model, firmware, door sensor); alerts for unknown
//! devices, forced doors and doors left open; and the counters of messages
//! the bridge dropped. Shared: the bridge calls these functions with the
//! store, and the `devices` use case reads the same records for the console.
//! This module knows nothing about MQTT: topics are already parsed.

use crate::error::AppResult;
use crate::ports::Store;
pub use crate::ports::devices::{DeviceRecord, DeviceSeen, NewDevice};
use crate::ports::terminal::NewAlert;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Device kinds the registry holds, with their Chinese names.
pub const DEVICE_KINDS: &[(&str, &str)] =
    &[("door", "门禁"), ("lights", "灯带"), ("scanner", "扫码枪")];

/// The Chinese name of a device kind (the code itself if unknown).
pub fn kind_zh(kind: &str) -> &'static str {
    DEVICE_KINDS
        .iter()
        .find(|(code, _)| *code == kind)
        .map_or("设备", |(_, zh)| zh)
}

/// Longest device id (the protocol's topic segment).
pub const DEVICE_ID_CHARS_MAX: usize = 32;

/// A device id is a topic segment: lowercase letters, digits and dashes, so
/// it can never hold an MQTT wildcard or a level separator.
pub fn device_id_valid(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= DEVICE_ID_CHARS_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The credential reference stored for a device: its broker login and the
/// version of its derived command key (`devices::auth`). Never a secret.
pub fn credential_ref(station_id: i64, kind: &str, device_id: &str) -> String {
    format!("yizhan-s{station_id}-{kind}-{device_id}; command key v1")
}

/// Why the bridge dropped a message, one counter each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    /// Over the protocol's payload limit.
    Oversized,
    /// Not the JSON the channel expects.
    Malformed,
    /// From a device the registry does not know (or retired).
    UnknownDevice,
    /// On a topic outside the protocol (a wrong channel or kind).
    UnknownTopic,
    /// A vehicle's telemetry that found the fleet's rules' channel full
    /// (branch `fleet-ops`): the rules are behind; the vehicle's next
    /// message follows within a second.
    Overloaded,
}

impl DropReason {
    pub fn code(self) -> &'static str {
        match self {
            DropReason::Oversized => "oversized",
            DropReason::Malformed => "malformed",
            DropReason::UnknownDevice => "unknown_device",
            DropReason::UnknownTopic => "unknown_topic",
            DropReason::Overloaded => "overloaded",
        }
    }
}

/// Messages the bridge dropped since the process started, per reason. In
/// memory: it says whether something is sending garbage now, and a restart
/// starting from zero loses nothing a keeper acts on (alerts are stored).
#[derive(Debug, Default)]
pub struct DroppedMessages {
    counts: Mutex<BTreeMap<DropReason, u64>>,
}

impl DroppedMessages {
    /// Counts one drop; returns the reason's count now.
    pub fn count(&self, reason: DropReason) -> u64 {
        let mut counts = self.counts.lock().expect("dropped counts");
        let count = counts.entry(reason).or_default();
        *count += 1;
        *count
    }

    /// Every reason with its count (zero included, so the answer's shape
    /// does not change).
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        let counts = self.counts.lock().expect("dropped counts");
        [
            DropReason::Oversized,
            DropReason::Malformed,
            DropReason::UnknownDevice,
            DropReason::UnknownTopic,
            DropReason::Overloaded,
        ]
        .into_iter()
        .map(|reason| (reason.code(), counts.get(&reason).copied().unwrap_or(0)))
        .collect()
    }
}

/// Who sent a message on a device topic, as the registry sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A registered, active device.
    Registered(Box<DeviceRecord>),
    /// A device this station's registry does not hold (or retired): the
    /// message is dropped, and the keeper has been alerted (once per id and
    /// hour).
    Unknown,
    /// A station this server does not have: another deployment's topic on
    /// a shared broker, or an invented one. Dropped, and not this server's
    /// to clean up or alert about.
    UnknownStation,
}

/// Who sent a message on `station_id`'s topic for this device. For an
/// unknown device the keeper gets one alert per unknown id per hour (not
/// one per message).
pub async fn sender(
    store: &dyn Store,
    station_id: i64,
    kind: &str,
    device_id: &str,
    now: DateTime<Utc>,
) -> AppResult<Sender> {
    if let Some(device) = store.active_device(station_id, kind, device_id).await? {
        return Ok(Sender::Registered(Box::new(device)));
    }
    if store.station(station_id).await?.is_none() {
        return Ok(Sender::UnknownStation);
    }
    let hour = now.timestamp() / 3600;
    let mut tx = store.begin().await?;
    let raised = tx
        .insert_alert(&NewAlert {
            station_id,
            kind: "unknown_device".into(),
            message: format!(
                "收到未登记设备的消息（{}，编号 {device_id}），已拒收。如果是新装的设备，请在“设备”页登记或更换；否则请检查是谁在连接驿站网络",
                kind_zh(kind)
            ),
            dedup_key: format!("unknown_device:{station_id}:{kind}:{device_id}:{hour}"),
            at: now,
        })
        .await?;
    tx.commit().await?;
    if raised {
        tracing::warn!(
            station = station_id,
            kind,
            device = device_id,
            "alert: a message from an unregistered device was refused"
        );
    }
    Ok(Sender::Unknown)
}

/// Records what a registered device's state said, and alerts the keeper
/// when its door sensor says `forced` (once per device and hour).
pub async fn record_seen(
    store: &dyn Store,
    device: &DeviceRecord,
    seen: &DeviceSeen<'_>,
) -> AppResult<()> {
    store.device_seen(device.id, seen).await?;
    if seen.door_sensor == Some("forced") {
        let mut tx = store.begin().await?;
        let raised = tx
            .insert_alert(&NewAlert {
                station_id: device.station_id,
                kind: "door_forced".into(),
                message: format!(
                    "门禁 {} 报告门被强行打开（没有开门指令），请立即到驿站查看",
                    device.device_id
                ),
                dedup_key: format!("door_forced:{}:{}", device.id, seen.now.timestamp() / 3600),
                at: seen.now,
            })
            .await?;
        tx.commit().await?;
        if raised {
            tracing::warn!(
                station = device.station_id,
                device = %device.device_id,
                "alert: the door sensor says the door was forced"
            );
        }
    }
    Ok(())
}

/// Alerts the keeper of every door whose sensor has said `open` for longer
/// than `after`, once per time it was opened. Returns how many alerts were
/// raised. The bridge runs it on its poll.
pub async fn alert_doors_left_open(
    store: &dyn Store,
    now: DateTime<Utc>,
    after: Duration,
) -> AppResult<usize> {
    let mut n = 0;
    for door in store.doors_open_since(now - after).await? {
        let since = door.door_sensor_at.unwrap_or(now);
        let mut tx = store.begin().await?;
        let raised = tx
            .insert_alert(&NewAlert {
                station_id: door.station_id,
                kind: "door_left_open".into(),
                message: format!(
                    "门禁 {} 的门已开着超过 {} 分钟，请去关门或检查门磁",
                    door.device_id,
                    after.num_minutes().max(1)
                ),
                dedup_key: format!("door_left_open:{}:{}", door.id, since.timestamp_millis()),
                at: now,
            })
            .await?;
        tx.commit().await?;
        if raised {
            n += 1;
            tracing::warn!(
                station = door.station_id,
                device = %door.device_id,
                open_since = %since,
                "alert: a door has been left open"
            );
        }
    }
    Ok(n)
}

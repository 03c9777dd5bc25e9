//! The kiosk's devices as the MQTT bridge uses them (issue 14, branch
//! kiosk-dev; `docs/devices.md`, "Kiosks"): who sent a message on a kiosk
//! topic (the kiosks' registry, `kiosk_devices`), what a device's state said
//! (online, the bin's fill, the printer's paper; the bin full raises one
//! alert per incident), the scale's settled weights and the bin's drops.
//! Shared: the bridge calls these with the store, and the kiosk use case
//! (`app::sending::kiosk`) reads the same records. Knows nothing about MQTT.

use crate::error::AppResult;
use crate::ports::Store;
use crate::ports::devices::DeviceStatusRecord;
pub use crate::ports::kiosks::{
    KioskAlert, KioskCapture, KioskDeviceRecord, KioskEvent, KioskRecord, NewKioskAlert,
    NewKioskDevice,
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// `device_kind` of a kiosk device's commands in the devices' outbox; the
/// `device_id` is `{kiosk}/{kind}/{device}`.
pub const COMMAND_DEVICE_KIND: &str = "kiosk";
/// The heaviest reading a scale may report.
pub const WEIGHT_GRAMS_MAX: u32 = 100_000;
/// Longest `ref` a bin's drop carries.
pub const DROP_REF_CHARS_MAX: usize = 64;
/// A bin reporting at least this fill (without saying `full`) is full.
pub const BIN_FULL_PCT: u8 = 95;
/// The id of each of a kiosk's devices unless registered otherwise.
pub const DEFAULT_DEVICE_ID: &str = "main";
/// Alert kind of a full bin.
pub const ALERT_BIN_FULL: &str = "bin_full";

/// A kiosk's device kinds with their Chinese names.
pub const KIOSK_DEVICE_KINDS: &[(&str, &str)] = &[
    ("controller", "主控"),
    ("scale", "电子秤"),
    ("bin", "投递箱"),
    ("camera", "摄像头"),
    ("printer", "标签打印机"),
];

pub fn kind_zh(kind: &str) -> &'static str {
    KIOSK_DEVICE_KINDS
        .iter()
        .find(|(code, _)| *code == kind)
        .map_or("设备", |(_, zh)| zh)
}

/// The credential reference stored for a kiosk's device: the kiosk's broker
/// login (its devices share the controller's connection) and the
/// command-key version. Never a secret.
pub fn credential_ref(kiosk_code: &str) -> String {
    format!("yizhan-k-{kiosk_code}; command key v1")
}

/// The command key of one kiosk device: `HMAC-SHA256(server device key,
/// "yizhan device command key v1\nkiosk/{kiosk}/{kind}/{device}")`, which no
/// station device's (`{number}/…`) or vehicle's (`vehicle/…`) path can be.
pub fn device_key(server_key: &[u8], kiosk_code: &str, kind: &str, device_id: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(server_key).expect("HMAC takes any key length");
    mac.update(
        format!("yizhan device command key v1\nkiosk/{kiosk_code}/{kind}/{device_id}").as_bytes(),
    );
    mac.finalize().into_bytes().into()
}

/// The camera's signature over an uploaded photo: hex of
/// `HMAC-SHA256(camera's command key, "yizhan/v1 photo\n{command_id}\n{hex SHA-256 of the bytes}")`.
pub fn photo_signature(key: &[u8; 32], command_id: &str, bytes: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"yizhan/v1 photo\n");
    mac.update(command_id.as_bytes());
    mac.update(b"\n");
    mac.update(hex::encode(Sha256::digest(bytes)).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Who sent a message on a kiosk topic.
#[derive(Debug, Clone)]
pub enum KioskSender {
    /// A registered, active device of a kiosk in service.
    Registered(Box<KioskDeviceRecord>, Box<KioskRecord>),
    /// A kiosk of ours, but a device its registry does not hold (or a
    /// retired kiosk): dropped.
    Unknown,
    /// A kiosk this server does not have: not ours to clear or alert about.
    UnknownKiosk,
}

pub async fn sender(
    store: &dyn Store,
    kiosk_code: &str,
    kind: &str,
    device_id: &str,
) -> AppResult<KioskSender> {
    let Some(kiosk) = store.kiosk_by_code(kiosk_code).await? else {
        return Ok(KioskSender::UnknownKiosk);
    };
    if kiosk.status == domain::kiosk::KioskStatus::Retired {
        return Ok(KioskSender::Unknown);
    }
    Ok(match store.kiosk_device(kiosk.id, kind, device_id).await? {
        Some(device) => KioskSender::Registered(Box::new(device), Box::new(kiosk)),
        None => KioskSender::Unknown,
    })
}

/// What a kiosk device's `state` said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KioskSeen {
    pub online: bool,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub fill_pct: Option<u8>,
    pub full: Option<bool>,
    pub paper: Option<String>,
}

/// Records a device's state: online, last seen, model, firmware, the bin's
/// fill (a full bin raises one alert per incident, cleared when the bin
/// says it has room), the printer's paper; and appends a change of
/// liveness to the history the board's uptime reads (`device_status`,
/// station 0, the state topic).
pub async fn record_state(
    store: &dyn Store,
    device: &KioskDeviceRecord,
    kiosk: &KioskRecord,
    state_topic: &str,
    seen: &KioskSeen,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut tx = store.begin().await?;
    let Some(mut row) = tx.kiosk_device_for_update(device.id).await? else {
        return Ok(());
    };
    row.online = seen.online;
    row.last_seen_at = Some(now);
    if seen.model.is_some() {
        row.model = seen.model.clone();
    }
    if seen.firmware.is_some() {
        row.firmware = seen.firmware.clone();
    }
    if seen.paper.is_some() {
        row.paper = seen.paper.clone();
    }
    if row.kind == "bin" {
        bin_condition(&mut *tx, &mut row, kiosk, seen.fill_pct, seen.full, now).await?;
    }
    tx.update_kiosk_device(&row).await?;
    tx.commit().await?;
    store
        .set_device_status(&DeviceStatusRecord {
            state_topic: state_topic.to_string(),
            station_id: 0,
            device_kind: format!("kiosk_{}", row.kind),
            device_id: format!("{}/{}/{}", kiosk.code, row.kind, row.device_id),
            online: seen.online,
            changed_at: now,
        })
        .await?;
    Ok(())
}

/// The bin's fill and its full incident: the first report of full opens
/// one (a `bin_full` event and one alert for the centre and the courier);
/// a report with room closes it (`bin_ok`, the alert resolved).
async fn bin_condition(
    tx: &mut dyn crate::ports::Tx,
    bin: &mut KioskDeviceRecord,
    kiosk: &KioskRecord,
    fill_pct: Option<u8>,
    full: Option<bool>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if fill_pct.is_some() {
        bin.fill_pct = fill_pct;
    }
    if full.is_none() && fill_pct.is_none() {
        return Ok(());
    }
    // Full when its sensor says so, or when it reports a fill at the line.
    let full_now = full == Some(true) || fill_pct.is_some_and(|fill| fill >= BIN_FULL_PCT);
    let event = |kind: &str| KioskEvent {
        id: 0,
        kiosk_id: kiosk.id,
        kind: kind.into(),
        device_id: bin.device_id.clone(),
        grams: None,
        fill_pct: bin.fill_pct,
        reference: None,
        order_id: None,
        at: now,
    };
    if full_now && bin.full_since.is_none() {
        bin.full_since = Some(now);
        // The incident is its `bin_full` event: one alert each.
        let incident = tx.insert_kiosk_event(&event("bin_full")).await?;
        let fill = bin
            .fill_pct
            .map_or(String::new(), |pct| format!("（{pct}%）"));
        let raised = tx
            .insert_kiosk_alert(&NewKioskAlert {
                kiosk_id: kiosk.id,
                kind: ALERT_BIN_FULL.into(),
                message: format!(
                    "寄件宝 {}（{}）的投递箱已满{fill}，寄件人无法投递，请尽快揽收",
                    kiosk.code, kiosk.host_name
                ),
                dedup_key: format!("{ALERT_BIN_FULL}:{}:{incident}", kiosk.id),
                at: now,
            })
            .await?;
        if raised {
            tracing::warn!(kiosk = %kiosk.code, "alert: a kiosk's bin is full");
        }
    } else if !full_now && bin.full_since.is_some() {
        bin.full_since = None;
        tx.insert_kiosk_event(&event("bin_ok")).await?;
        tx.resolve_kiosk_alerts(kiosk.id, ALERT_BIN_FULL, now)
            .await?;
    }
    Ok(())
}

/// Records the scale's reading: a settled (`stable`) one is kept for the
/// kiosk's screen; a moving one only says the device is alive. Returns the
/// event's id when kept.
pub async fn record_weight(
    store: &dyn Store,
    device: &KioskDeviceRecord,
    grams: u32,
    stable: bool,
    now: DateTime<Utc>,
) -> AppResult<Option<i64>> {
    if !stable || grams > WEIGHT_GRAMS_MAX {
        return Ok(None);
    }
    let mut tx = store.begin().await?;
    let id = tx
        .insert_kiosk_event(&KioskEvent {
            id: 0,
            kiosk_id: device.kiosk_id,
            kind: "weight".into(),
            device_id: device.device_id.clone(),
            grams: Some(grams),
            fill_pct: None,
            reference: None,
            order_id: None,
            at: now,
        })
        .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Records an item dropped into the kiosk's bin. The `ref` names the order
/// by its waybill number (what the bin's reader takes from the label) or
/// its order number; only an accepted order of this kiosk is matched.
/// The fill that came with it counts like the bin's state. Returns the
/// order matched.
pub async fn record_drop(
    store: &dyn Store,
    device: &KioskDeviceRecord,
    kiosk: &KioskRecord,
    reference: &str,
    fill_pct: Option<u8>,
    now: DateTime<Utc>,
) -> AppResult<Option<i64>> {
    let mut tx = store.begin().await?;
    let by_waybill = tx.send_order_by_waybill(reference).await?;
    let order = match by_waybill {
        Some(order) => Some((order.id, order.kiosk_id, order.state)),
        None => match reference.parse::<i64>() {
            Ok(id) => tx
                .order_for_update(id)
                .await?
                .map(|order| (order.id, order.kiosk_id, order.state)),
            Err(_) => None,
        },
    };
    let order_id = order
        .filter(|(_, kiosk_id, state)| {
            *kiosk_id == Some(kiosk.id) && *state == domain::sending::OrderState::Accepted
        })
        .map(|(id, ..)| id);
    tx.insert_kiosk_event(&KioskEvent {
        id: 0,
        kiosk_id: kiosk.id,
        kind: "drop".into(),
        device_id: device.device_id.clone(),
        grams: None,
        fill_pct,
        reference: Some(reference.chars().take(DROP_REF_CHARS_MAX).collect()),
        order_id,
        at: now,
    })
    .await?;
    if let Some(mut bin) = tx.kiosk_device_for_update(device.id).await? {
        bin.last_seen_at = Some(now);
        bin_condition(&mut *tx, &mut bin, kiosk, fill_pct, None, now).await?;
        tx.update_kiosk_device(&bin).await?;
    }
    tx.commit().await?;
    Ok(order_id)
}

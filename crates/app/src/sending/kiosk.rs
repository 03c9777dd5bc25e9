//! The kiosk's devices and screen (branch kiosk-dev, issue 14, session 10):
//! county staff register a kiosk's devices and pair its screen (a device
//! session, like the door terminal's); the screen runs the sender's own
//! use cases and adds what the kiosk's devices give: the scale's settled
//! weight, the camera's package photo (asked by a signed `capture`
//! command, posted back over HTTPS with the camera's signature), the label
//! printed by the kiosk's printer (`print_label`, acked printed or failed),
//! and the bin's report that the parcel went in. The devices' messages are
//! recorded by `app::kiosk_devices` (shared, called by the bridge).

use super::SenderRecord;
use super::orders::state_refusal;
use crate::App;
use crate::audit::{Actor, Object};
use crate::device_commands::{DeviceCommandStatus, NewDeviceCommand, enqueue_device_command};
use crate::error::{AppError, AppResult, Code};
use crate::kiosk_devices::{
    self, COMMAND_DEVICE_KIND, DEFAULT_DEVICE_ID, KIOSK_DEVICE_KINDS, KioskAlert, KioskCapture,
    KioskDeviceRecord, KioskEvent, NewKioskDevice,
};
use crate::ports::kiosks::KioskRecord;
use crate::ports::sending::NewPhoto;
use chrono::Duration;
use domain::Principal;
use domain::audit::Act;
use domain::kiosk::KioskStatus;
use domain::sending::OrderState;
use serde::Serialize;
use std::collections::BTreeMap;

/// How long the scale's settled reading is good for the screen.
pub const WEIGHT_FRESH_SECONDS: i64 = 120;
/// How long the camera and the printer have to act on a command.
pub const KIOSK_COMMAND_SECONDS: i64 = 60;
/// Longest label a `print_label` command may carry (the payload limit with
/// the rest of the command and its MAC).
pub const ZPL_BYTES_MAX: usize = 3_584;

/// Where a command to a kiosk's camera or printer stands, for the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KioskCommandState {
    pub command_id: String,
    /// `pending`, `done`, `expired` or `failed`.
    pub status: &'static str,
    /// The device's own words: `done`, or `failed: hardware: out_of_paper`.
    pub outcome: Option<String>,
    /// For a capture: the photo's reference (`photo:{id}`) once it came.
    pub photo: Option<String>,
}

/// The fleet's devices at a glance: per kiosk, how many devices are
/// registered and online, and whether its controller (its heartbeat) is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KioskLiveness {
    pub n_devices: u32,
    pub n_online: u32,
    pub controller_online: bool,
    /// The bin's fill, if it reported one.
    pub bin_fill_pct: Option<u8>,
    /// The printer's paper (`ok`, `low`, `out`).
    pub paper: Option<String>,
}

fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

impl App {
    fn may_run_kiosk_devices(principal: &Principal) -> AppResult<()> {
        if principal.may_run_county() {
            Ok(())
        } else {
            Err(AppError::Forbidden("kiosk"))
        }
    }

    /// Registers the kiosk's five devices (`controller`, `scale`, `bin`,
    /// `camera`, `printer`, each with id `main`) that it does not have yet;
    /// each registration is audited (`device_registered`). Returns the
    /// kiosk's devices.
    pub async fn register_kiosk_devices(
        &self,
        principal: &Principal,
        kiosk_id: i64,
    ) -> AppResult<Vec<KioskDeviceRecord>> {
        Self::may_run_kiosk_devices(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let kiosk = tx
            .kiosk_for_update(kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        if kiosk.status == KioskStatus::Retired {
            return Err(AppError::new(Code::KioskRetired).with("kiosk", kiosk.code));
        }
        for (kind, _) in KIOSK_DEVICE_KINDS {
            if self
                .store
                .kiosk_device(kiosk.id, kind, DEFAULT_DEVICE_ID)
                .await?
                .is_some()
            {
                continue;
            }
            // The kiosk's row lock (above) makes registrations of one
            // kiosk take turns, so the look-up cannot go stale before this
            // insert; a conflict here is an error, not a race to swallow
            // (on PostgreSQL it would also have aborted the transaction).
            let id = tx
                .insert_kiosk_device(&NewKioskDevice {
                    kiosk_id: kiosk.id,
                    kind: kind.to_string(),
                    device_id: DEFAULT_DEVICE_ID.into(),
                    credential_ref: kiosk_devices::credential_ref(&kiosk.code),
                    registered_by: principal.username.clone(),
                    now,
                })
                .await?;
            crate::audit::record(
                &mut *tx,
                &Actor::of(principal),
                now,
                Act::DeviceRegistered,
                Object::new("kiosk device", id),
                serde_json::json!({ "kiosk": kiosk.code, "kind": kind, "device_id": DEFAULT_DEVICE_ID }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(self.store.kiosk_devices(kiosk.id).await?)
    }

    /// The kiosk's registered devices with what they last reported.
    pub async fn kiosk_devices_of(
        &self,
        principal: &Principal,
        kiosk_id: i64,
    ) -> AppResult<Vec<KioskDeviceRecord>> {
        Self::may_run_kiosk_devices(principal)?;
        Ok(self.store.kiosk_devices(kiosk_id).await?)
    }

    /// Every kiosk's devices at a glance, by kiosk id.
    pub async fn kiosk_fleet_liveness(
        &self,
        principal: &Principal,
    ) -> AppResult<BTreeMap<i64, KioskLiveness>> {
        Self::may_run_kiosk_devices(principal)?;
        let mut fleet: BTreeMap<i64, KioskLiveness> = BTreeMap::new();
        for device in self.store.all_kiosk_devices().await? {
            let kiosk = fleet.entry(device.kiosk_id).or_default();
            kiosk.n_devices += 1;
            kiosk.n_online += u32::from(device.online);
            if device.kind == "controller" {
                kiosk.controller_online = device.online;
            }
            if device.kind == "bin" {
                kiosk.bin_fill_pct = device.fill_pct;
            }
            if device.kind == "printer" {
                kiosk.paper = device.paper.clone();
            }
        }
        Ok(fleet)
    }

    /// The kiosks' open alerts (a full bin), newest first: for the centre
    /// and the couriers.
    pub async fn kiosk_alerts(&self, principal: &Principal) -> AppResult<Vec<KioskAlert>> {
        Self::may_run_kiosk_devices(principal)?;
        Ok(self.store.open_kiosk_alerts().await?)
    }

    /// Makes the caller's browser the kiosk's screen: a device session for
    /// that kiosk only (its token stored as SHA-256), replacing the kiosk's
    /// earlier screen. Audited (`terminal_paired`).
    pub async fn pair_kiosk_screen(
        &self,
        principal: &Principal,
        kiosk_id: i64,
    ) -> AppResult<String> {
        Self::may_run_kiosk_devices(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let kiosk = tx
            .kiosk_for_update(kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        if kiosk.status == KioskStatus::Retired {
            return Err(AppError::new(Code::KioskRetired).with("kiosk", kiosk.code));
        }
        let token = {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            hex::encode(bytes)
        };
        let revoked = tx
            .pair_kiosk_screen(kiosk.id, &token_hash(&token), &principal.username, now)
            .await?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::TerminalPaired,
            Object::new("kiosk", kiosk.id),
            serde_json::json!({ "kiosk": kiosk.code, "screen": true, "screens_revoked": revoked }),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The kiosk a paired screen's token belongs to; a revoked token, or a
    /// kiosk retired since, is not signed in.
    pub async fn kiosk_screen(&self, token: &str) -> AppResult<KioskRecord> {
        let kiosk_id = self
            .store
            .kiosk_screen(&token_hash(token))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        self.store
            .kiosk(kiosk_id)
            .await?
            .filter(|kiosk| kiosk.status != KioskStatus::Retired)
            .ok_or(AppError::Unauthenticated)
    }

    /// The sender's order, if it is this kiosk's.
    async fn kiosk_order(
        &self,
        kiosk: &KioskRecord,
        sender: &SenderRecord,
        order_id: i64,
    ) -> AppResult<super::OrderRecord> {
        let order = self.send_order(sender, order_id).await?;
        if order.kiosk_id != Some(kiosk.id) {
            return Err(AppError::NotFound("send order"));
        }
        Ok(order)
    }

    async fn kiosk_device_for(
        &self,
        kiosk: &KioskRecord,
        kind: &'static str,
        name_en: &'static str,
    ) -> AppResult<KioskDeviceRecord> {
        self.store
            .kiosk_device(kiosk.id, kind, DEFAULT_DEVICE_ID)
            .await?
            .ok_or_else(|| {
                AppError::new(Code::KioskDeviceMissing).with_words(
                    "device",
                    kiosk_devices::kind_zh(kind),
                    name_en,
                )
            })
    }

    /// The scale's settled reading, if one came within
    /// [`WEIGHT_FRESH_SECONDS`]; otherwise `kiosk_weight_missing`.
    pub async fn kiosk_weight(&self, kiosk: &KioskRecord) -> AppResult<KioskEvent> {
        self.kiosk_device_for(kiosk, "scale", "scale").await?;
        self.store
            .latest_kiosk_event(kiosk.id, "weight")
            .await?
            .filter(|event| event.at > self.now() - Duration::seconds(WEIGHT_FRESH_SECONDS))
            .ok_or_else(|| AppError::new(Code::KioskWeightMissing))
    }

    fn kiosk_command(
        kiosk: &KioskRecord,
        kind: &str,
        command_id: String,
        not_after: chrono::DateTime<chrono::Utc>,
        operation: serde_json::Value,
    ) -> NewDeviceCommand {
        NewDeviceCommand {
            station_id: 0,
            device_kind: COMMAND_DEVICE_KIND.into(),
            device_id: format!("{}/{kind}/{DEFAULT_DEVICE_ID}", kiosk.code),
            command_id,
            not_after,
            operation,
        }
    }

    /// Asks the kiosk's camera for the package photo of the sender's order
    /// (a signed `capture` command); the camera posts the JPEG back with
    /// [`App::receive_kiosk_photo`]. Returns the command id.
    pub async fn kiosk_capture_photo(
        &self,
        kiosk: &KioskRecord,
        sender: &SenderRecord,
        order_id: i64,
    ) -> AppResult<String> {
        self.kiosk_device_for(kiosk, "camera", "camera").await?;
        let order = self.kiosk_order(kiosk, sender, order_id).await?;
        if !order.state.editable() {
            return Err(state_refusal(order.state, "change"));
        }
        let now = self.now();
        let command_id = format!(
            "capture-{}-{}",
            order.id,
            self.random.below(1_000_000_000_000)
        );
        let mut tx = self.store.begin().await?;
        enqueue_device_command(
            &mut *tx,
            &Self::kiosk_command(
                kiosk,
                "camera",
                command_id.clone(),
                now + Duration::seconds(KIOSK_COMMAND_SECONDS),
                serde_json::json!({ "op": "capture" }),
            ),
            now,
        )
        .await?;
        tx.insert_kiosk_capture(&KioskCapture {
            command_id: command_id.clone(),
            kiosk_id: kiosk.id,
            order_id: order.id,
            sender_id: sender.id,
            requested_at: now,
            photo_id: None,
            received_at: None,
        })
        .await?;
        tx.commit().await?;
        self.wake_kiosk_devices();
        Ok(command_id)
    }

    /// The photo a kiosk's camera posts for a `capture` command: the
    /// camera's signature (`kiosk_devices::photo_signature` under its
    /// command key) over the command id and the bytes, a JPEG of at most
    /// 2 MB, for a capture still waiting. Kept sealed like the sender's own
    /// photos (`send_photos`); returns its reference `photo:{id}`.
    pub async fn receive_kiosk_photo(
        &self,
        command_id: &str,
        signature: &str,
        bytes: &[u8],
    ) -> AppResult<String> {
        let refused = || AppError::new(Code::KioskPhotoRefused);
        let capture = self
            .store
            .kiosk_capture(command_id)
            .await?
            .ok_or_else(refused)?;
        let kiosk = self
            .store
            .kiosk(capture.kiosk_id)
            .await?
            .ok_or_else(refused)?;
        let key =
            kiosk_devices::device_key(&self.keys.devices, &kiosk.code, "camera", DEFAULT_DEVICE_ID);
        let expected = kiosk_devices::photo_signature(&key, command_id, bytes);
        if !super::constant_time_eq(expected.as_bytes(), signature.trim().as_bytes()) {
            tracing::warn!(kiosk = %kiosk.code, "kiosk photo with a wrong signature refused");
            return Err(refused());
        }
        if bytes.len() > super::PHOTO_BYTES_MAX || !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err(
                AppError::new(Code::SendPhotoInvalid).with("max_kb", super::PHOTO_BYTES_MAX / 1024)
            );
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let capture = tx
            .kiosk_capture_for_update(command_id)
            .await?
            .ok_or_else(refused)?;
        if let Some(photo_id) = capture.photo_id {
            // The camera posted again (a lost answer): the same photo.
            return Ok(format!("photo:{photo_id}"));
        }
        let order = tx
            .order_for_update(capture.order_id)
            .await?
            .ok_or(AppError::NotFound("send order"))?;
        if !order.state.editable() {
            return Err(state_refusal(order.state, "change"));
        }
        let photo_id = tx
            .insert_send_photo(&NewPhoto {
                order_id: order.id,
                sender_id: capture.sender_id,
                content_type: "image/jpeg".into(),
                size_bytes: bytes.len() as i64,
                sha256: {
                    use sha2::Digest;
                    hex::encode(sha2::Sha256::digest(bytes))
                },
                base64: {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                },
                now,
            })
            .await?;
        tx.set_kiosk_capture_photo(command_id, photo_id, now)
            .await?;
        tx.commit().await?;
        Ok(format!("photo:{photo_id}"))
    }

    /// Prints the label of the sender's accepted order on the kiosk's
    /// printer (a signed `print_label` command carrying the label's ZPL).
    /// Returns the command id; the printer's ack says printed or failed.
    pub async fn kiosk_print_label(
        &self,
        kiosk: &KioskRecord,
        sender: &SenderRecord,
        order_id: i64,
    ) -> AppResult<String> {
        self.kiosk_device_for(kiosk, "printer", "printer").await?;
        let order = self.kiosk_order(kiosk, sender, order_id).await?;
        if order.state != OrderState::Accepted {
            return Err(state_refusal(order.state, "label"));
        }
        let zpl = super::label_zpl(&self.send_label(sender, order_id).await?);
        if zpl.len() > ZPL_BYTES_MAX {
            return Err(AppError::new(Code::KioskLabelTooLarge).with("max", ZPL_BYTES_MAX));
        }
        let now = self.now();
        let command_id = format!(
            "label-{}-{}",
            order.id,
            self.random.below(1_000_000_000_000)
        );
        let mut tx = self.store.begin().await?;
        enqueue_device_command(
            &mut *tx,
            &Self::kiosk_command(
                kiosk,
                "printer",
                command_id.clone(),
                now + Duration::seconds(KIOSK_COMMAND_SECONDS),
                serde_json::json!({ "op": "print_label", "order_id": order.id, "zpl": zpl }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.wake_kiosk_devices();
        Ok(command_id)
    }

    /// Where a command this kiosk's screen sent stands (and a capture's
    /// photo, once posted). Another kiosk's command is not found.
    pub async fn kiosk_command_state(
        &self,
        kiosk: &KioskRecord,
        command_id: &str,
    ) -> AppResult<KioskCommandState> {
        let command = self
            .store
            .device_command(command_id)
            .await?
            .filter(|command| {
                command.device_kind == COMMAND_DEVICE_KIND
                    && command
                        .device_id
                        .split('/')
                        .next()
                        .is_some_and(|code| code == kiosk.code)
            })
            .ok_or(AppError::NotFound("device command"))?;
        let photo = self
            .store
            .kiosk_capture(command_id)
            .await?
            .and_then(|capture| capture.photo_id)
            .map(|id| format!("photo:{id}"));
        Ok(KioskCommandState {
            command_id: command.command_id,
            status: match command.status {
                DeviceCommandStatus::Pending => "pending",
                DeviceCommandStatus::Done => "done",
                DeviceCommandStatus::Expired => "expired",
                DeviceCommandStatus::Failed => "failed",
            },
            outcome: command.outcome,
            photo,
        })
    }

    /// The bin's report that the sender's parcel went in, if it came.
    pub async fn kiosk_dropped(
        &self,
        kiosk: &KioskRecord,
        sender: &SenderRecord,
        order_id: i64,
    ) -> AppResult<Option<KioskEvent>> {
        let order = self.kiosk_order(kiosk, sender, order_id).await?;
        Ok(self.store.kiosk_drop_of(order.id).await?)
    }

    fn wake_kiosk_devices(&self) {
        (self.device_waker)();
    }
}

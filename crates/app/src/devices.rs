//! The station's devices as keepers and county staff see and manage them
//! (issue 19): the registry with liveness and the door sensor, registering
//! a device, replacing one (the old id stops being accepted at once), the
//! station's public contact phone, and the bridge's dropped-message
//! counters.

use crate::App;
use crate::device_registry::{DEVICE_ID_CHARS_MAX, DEVICE_KINDS, credential_ref, device_id_valid};
use crate::error::{AppError, AppResult, Code};
use crate::ports::StoreError;
pub use crate::ports::devices::{DeviceRecord, NewDevice};
use domain::Principal;
use serde::Serialize;
use std::collections::BTreeMap;

/// A device as the console and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceView {
    #[serde(flatten)]
    pub device: DeviceRecord,
    /// What its retained state (or last will) last said; `None` if the
    /// bridge never heard from it.
    pub online: Option<bool>,
}

/// What registering a device needs.
#[derive(Debug, Clone)]
pub struct DeviceRegistration<'a> {
    pub kind: &'a str,
    pub device_id: &'a str,
}

fn check_kind(kind: &str) -> AppResult<&'static str> {
    DEVICE_KINDS
        .iter()
        .find(|(code, _)| *code == kind)
        .map(|(code, _)| *code)
        .ok_or_else(|| AppError::new(Code::DeviceKindInvalid))
}

fn check_id(device_id: &str) -> AppResult<()> {
    if device_id_valid(device_id) {
        Ok(())
    } else {
        Err(AppError::new(Code::DeviceIdInvalid).with("max", DEVICE_ID_CHARS_MAX))
    }
}

fn exists(kind: &'static str, device_id: &str) -> AppError {
    AppError::new(Code::DeviceExists)
        .with_words(
            "kind",
            crate::device_registry::kind_zh(kind),
            match kind {
                "door" => "door",
                "lights" => "lights",
                _ => "scanner",
            },
        )
        .with("device", device_id)
}

/// A public phone number for the terminal: digits with `+`, `-` and spaces.
fn check_contact_phone(phone: &str) -> AppResult<String> {
    let phone = phone.trim();
    let n_digits = phone.bytes().filter(u8::is_ascii_digit).count();
    if (5..=20).contains(&n_digits)
        && phone.len() <= 32
        && phone
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b' '))
    {
        Ok(phone.to_string())
    } else {
        Err(AppError::new(Code::ContactPhoneInvalid))
    }
}

impl App {
    /// The station's devices, active first, with what the bridge last heard.
    pub async fn station_devices(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<Vec<DeviceView>> {
        if !principal.may_view_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let online: BTreeMap<(String, String), bool> = self
            .store
            .device_statuses(station_id)
            .await?
            .into_iter()
            .map(|status| ((status.device_kind, status.device_id), status.online))
            .collect();
        Ok(self
            .store
            .station_devices(station_id)
            .await?
            .into_iter()
            .map(|device| DeviceView {
                online: online
                    .get(&(device.kind.clone(), device.device_id.clone()))
                    .copied(),
                device,
            })
            .collect())
    }

    /// Adds a device to the station's registry; its messages are accepted
    /// from now on.
    pub async fn register_device(
        &self,
        principal: &Principal,
        station_id: i64,
        registration: &DeviceRegistration<'_>,
    ) -> AppResult<DeviceRecord> {
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let kind = check_kind(registration.kind)?;
        check_id(registration.device_id)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        crate::transition::lock_station(&mut *tx, station_id).await?;
        let id = match tx
            .insert_device(&NewDevice {
                station_id,
                kind: kind.to_string(),
                device_id: registration.device_id.to_string(),
                credential_ref: credential_ref(station_id, kind, registration.device_id),
                registered_by: crate::actor_of(principal),
                now,
            })
            .await
        {
            Ok(id) => id,
            Err(StoreError::Conflict(_)) => return Err(exists(kind, registration.device_id)),
            Err(error) => return Err(error.into()),
        };
        let device = tx
            .device_by_row(id)
            .await?
            .ok_or(AppError::NotFound("device"))?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            now,
            crate::audit::Act::DeviceRegistered,
            crate::audit::Object::new("device", id).at(Some(station_id)),
            serde_json::json!({ "kind": kind, "device_id": registration.device_id }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            station = station_id,
            kind,
            device = registration.device_id,
            by = %principal.username,
            "device registered"
        );
        Ok(device)
    }

    /// Replaces an active device (by its registry row) with a new one of
    /// the same kind under `new_device_id`: the old id is refused from now
    /// on, and the terminal's commands go to the new one.
    pub async fn replace_device(
        &self,
        principal: &Principal,
        station_id: i64,
        device_row: i64,
        new_device_id: &str,
    ) -> AppResult<DeviceRecord> {
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        check_id(new_device_id)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        crate::transition::lock_station(&mut *tx, station_id).await?;
        let old = tx
            .device_by_row(device_row)
            .await?
            .filter(|device| device.station_id == station_id)
            .ok_or(AppError::NotFound("device"))?;
        if old.retired_at.is_some() {
            return Err(AppError::new(Code::DeviceRetired).with("device", &old.device_id));
        }
        let kind = check_kind(&old.kind)?;
        if new_device_id == old.device_id {
            return Err(exists(kind, new_device_id));
        }
        // Retire first: the new id may not clash with the old active row,
        // and the old one must stop being accepted in the same commit.
        tx.retire_device(old.id, None, now).await?;
        let id = match tx
            .insert_device(&NewDevice {
                station_id,
                kind: kind.to_string(),
                device_id: new_device_id.to_string(),
                credential_ref: credential_ref(station_id, kind, new_device_id),
                registered_by: crate::actor_of(principal),
                now,
            })
            .await
        {
            Ok(id) => id,
            Err(StoreError::Conflict(_)) => return Err(exists(kind, new_device_id)),
            Err(error) => return Err(error.into()),
        };
        // Name the replacement on the retired row (it was retired above, so
        // this only sets `replaced_by`).
        tx.set_device_replacement(old.id, id).await?;
        let device = tx
            .device_by_row(id)
            .await?
            .ok_or(AppError::NotFound("device"))?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            now,
            crate::audit::Act::DeviceReplaced,
            crate::audit::Object::new("device", id).at(Some(station_id)),
            serde_json::json!({ "kind": kind, "old_device_id": old.device_id, "new_device_id": new_device_id }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            station = station_id,
            kind,
            old_device = %old.device_id,
            new_device = new_device_id,
            by = %principal.username,
            "device replaced; the old id is refused from now on"
        );
        Ok(device)
    }

    /// Sets (or clears, with `None`) the station's public contact phone,
    /// shown at the door terminal when the door could not open.
    pub async fn set_station_contact_phone(
        &self,
        principal: &Principal,
        station_id: i64,
        phone: Option<&str>,
    ) -> AppResult<Option<String>> {
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let phone = phone
            .filter(|p| !p.trim().is_empty())
            .map(check_contact_phone)
            .transpose()?;
        let mut tx = self.store.begin().await?;
        if !tx
            .set_station_contact_phone(station_id, phone.as_deref())
            .await?
        {
            return Err(AppError::NotFound("station"));
        }
        // The number itself stays out of the trail (it may be a keeper's
        // own mobile); the row says that it changed, by whom.
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::ContactPhoneChanged,
            crate::audit::Object::new("station", station_id).at(Some(station_id)),
            serde_json::json!({ "cleared": phone.is_none() }),
        )
        .await?;
        tx.commit().await?;
        Ok(phone)
    }

    /// The station's public contact phone.
    pub async fn station_contact_phone(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<Option<String>> {
        if !principal.may_run_terminal(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        Ok(self.store.station_contact_phone(station_id).await?)
    }

    /// Device messages the bridge dropped since this process started, per
    /// reason; for admins and county staff.
    pub fn dropped_device_messages(
        &self,
        principal: &Principal,
    ) -> AppResult<BTreeMap<&'static str, u64>> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("station"));
        }
        Ok(self.dropped_device_messages.snapshot())
    }
}

//! The 24-hour station's self-service pickup: a customer enters their code
//! (or phone tail and code, or shows the signed QR code from their message)
//! at the terminal; the door opens; the slots holding all of that customer's
//! parcels light in a colour no other customer at the station has; each
//! parcel scanned at the checkout is recorded as picked up by the recipient;
//! when everything is taken, or the customer walks away, the lights go out.
//!
//! Every step is one transaction under the station lock, and the device
//! commands it calls for are written in that same transaction
//! (`device_commands`), so a door never opens for a session that rolled
//! back. Code attempts are recorded for throttling; repeated failures raise
//! an alert for the keeper.

use crate::App;
use crate::device_commands::{NewDeviceCommand, enqueue_device_command};
use crate::error::{AppError, AppResult, Code, text_invalid};
pub use crate::ports::devices::DeviceStatusRecord;
pub use crate::ports::terminal::{
    AlertRecord, AttemptsBy, CodeAttempt, NewAlert, NewPickupSession, PickupSessionRecord,
    SessionItem, SessionState,
};
use crate::ports::{ParcelRecord, StationRecord, Tx};
use crate::transition::{self, lock_station};
use chrono::{DateTime, Duration, Utc};
use domain::limits::text_field;
use domain::terminal::{PickupColour, ThrottlePolicy, choose_colour, colour_by_hex, parse_entry};
use domain::{Action, ParcelState, Principal, Role, WaybillNo};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// Tunables of the terminal, with the product's defaults.
#[derive(Debug, Clone)]
pub struct TerminalSettings {
    /// Wrong codes one terminal may take: what bounds a guesser at the
    /// door (`docs/security.md` has the model).
    pub throttle_terminal: ThrottlePolicy,
    /// Wrong codes from one source address (a stolen terminal token used
    /// from elsewhere, or several tablets behind one address).
    pub throttle_source: ThrottlePolicy,
    /// Wrong codes typed with one phone tail (a guesser who moves between
    /// terminals, or one who knows a neighbour's number).
    pub throttle_phone: ThrottlePolicy,
    /// A session with no code or scan for this long ends, and its lights go
    /// out.
    pub idle: Duration,
    /// How long the door stays unlocked after opening.
    pub door_hold_ms: u64,
    /// A door or light command not delivered within this long must never
    /// act: the customer has given up or moved on.
    pub command_ttl: Duration,
    /// Device ids at every station (one door controller, one light strip).
    pub door_device: String,
    pub lights_device: String,
}

impl Default for TerminalSettings {
    fn default() -> Self {
        TerminalSettings {
            throttle_terminal: ThrottlePolicy::default(),
            throttle_source: ThrottlePolicy::default(),
            throttle_phone: ThrottlePolicy::default(),
            idle: Duration::seconds(90),
            door_hold_ms: 8_000,
            command_ttl: Duration::seconds(20),
            door_device: "front".into(),
            lights_device: "shelves".into(),
        }
    }
}

/// What the terminal shows for one parcel: where, whose carrier, the end
/// of the waybill. No name, no phone.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub parcel_id: i64,
    pub slot: String,
    pub segment: u32,
    pub carrier_zh: &'static str,
    pub waybill_tail: String,
    pub taken: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub id: i64,
    pub state: SessionState,
    pub colour: PickupColour,
    pub items: Vec<ItemView>,
    /// The session ends by itself at this instant unless something happens.
    pub idle_deadline: DateTime<Utc>,
    /// Whether the door has opened: the terminal says "open" only once the
    /// door acknowledged `done`.
    pub door: DoorView,
}

/// The door's part of a pickup, as the terminal shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DoorView {
    pub state: DoorState,
    /// Why the door did not open: `expired` (no ack in time, or it came too
    /// late), `failed` (the door could not act) or `offline`.
    pub reason: Option<&'static str>,
    /// The station's public number, for the customer to call when the door
    /// did not open.
    pub station_phone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorState {
    /// Commanded, not yet acknowledged.
    Opening,
    /// The door acknowledged the command.
    Open,
    /// It will not open for this command (see `reason`).
    Failed,
}

/// What a checkout scan did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ScanOutcome {
    /// Recorded as picked up by the recipient.
    Taken {
        parcel_id: i64,
        session: SessionView,
    },
    /// Already recorded; nothing changed.
    AlreadyTaken {
        parcel_id: i64,
        session: SessionView,
    },
    /// Not a parcel of any customer at the terminal now: nothing recorded.
    NotYours { waybill_tail: String },
}

/// The principal a checkout scanner acts as: the station's terminal.
pub fn scanner_principal(station_id: i64, scanner_id: &str) -> Principal {
    Principal {
        user_id: 0,
        username: format!("scanner-{scanner_id}"),
        role: Role::StationTerminal,
        station_ids: vec![station_id],
        carrier: None,
    }
}

/// Most segments one `light` or `off` command may name (devices'
/// `SEGMENTS_MAX`, docs/devices.md); a longer list goes out as several
/// commands.
pub const LIGHT_SEGMENTS_MAX: usize = 256;

/// `light`, then `light-2`, `light-3` … for the chunks of one list, so
/// every command of a split list has its own id.
fn chunk_name(what: &str, idx: usize) -> String {
    if idx == 0 {
        what.to_string()
    } else {
        format!("{what}-{}", idx + 1)
    }
}

impl App {
    /// Light segment and label per slot id: segment `n` is the station's
    /// `n`-th slot in shelf-map order (`docs/devices.md`).
    async fn segment_map(&self, station_id: i64) -> AppResult<HashMap<i64, (u32, String)>> {
        let slots = self.store.slots(station_id).await?;
        Ok(slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.slot.id, (i as u32 + 1, s.slot.label())))
            .collect())
    }

    /// A customer's code with their phone tail, or the QR text from their
    /// message, at the terminal: opens (or re-opens) their pickup session,
    /// opens the door and lights their slots. `source` is the address the
    /// request came from (throttled like the terminal and the tail). A typed
    /// code is refused unheard while any of its keys must wait; a genuine QR
    /// code is not throttled (it cannot be guessed), so a guesser who slows
    /// the terminal down does not keep customers out.
    pub async fn start_pickup(
        &self,
        principal: &Principal,
        station_id: i64,
        terminal: &str,
        source: &str,
        text: &str,
        phone_tail: Option<&str>,
    ) -> AppResult<SessionView> {
        if !principal.may_run_terminal(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let terminal =
            text_field("terminal", terminal, 64).map_err(text_invalid("terminal", 64))?;
        let entry =
            parse_entry(text, phone_tail).map_err(AppError::detail(Code::PickupEntryInvalid))?;
        let segments = self.segment_map(station_id).await?;
        let settings = &self.settings.terminal;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let station = lock_station(&mut *tx, station_id).await?;
        let source = source.chars().take(64).collect::<String>();
        let found = crate::pickup_proof::prove(
            &mut *tx,
            &self.secrets.qr_key,
            crate::pickup_proof::throttles(&self.settings),
            &station,
            terminal,
            &source,
            &entry,
            now,
        )
        .await?;
        let Some(parcel) = found else {
            tx.commit().await?;
            tracing::info!(
                station = station_id,
                terminal,
                "wrong pickup code at the terminal"
            );
            return Err(AppError::new(Code::PickupCodeWrong));
        };

        // All of this recipient's parcels at the station, not just the one
        // whose code was typed.
        let mut parcels = match &parcel.phone {
            Some(phone) => tx.stored_parcels_for_phone(station_id, phone).await?,
            None => Vec::new(),
        };
        if !parcels.iter().any(|p| p.id == parcel.id) {
            parcels.push(parcel.clone());
        }
        parcels.sort_by_key(|p| p.id);
        let items: Vec<SessionItem> = parcels
            .iter()
            .filter_map(|p| {
                let (segment, slot) = segments.get(&p.slot_id?)?;
                Some(SessionItem {
                    parcel_id: p.id,
                    segment: *segment,
                    slot: slot.clone(),
                })
            })
            .collect();

        let open = tx.open_pickup_sessions(station_id).await?;
        let existing = open
            .iter()
            .find(|s| {
                s.items
                    .iter()
                    .any(|i| items.iter().any(|j| j.parcel_id == i.parcel_id))
            })
            .cloned();
        let session = match existing {
            Some(mut session) => {
                for item in &items {
                    if !session.items.iter().any(|i| i.parcel_id == item.parcel_id) {
                        session.items.push(item.clone());
                    }
                }
                session.last_activity_at = now;
                tx.update_pickup_session(&session).await?;
                session
            }
            None => {
                let colour = choose_colour(open.iter().map(|s| s.colour.as_str()))
                    .ok_or_else(|| AppError::new(Code::ColoursExhausted))?;
                let new = NewPickupSession {
                    station_id,
                    terminal: terminal.to_string(),
                    colour: colour.hex.to_string(),
                    items: items.clone(),
                    now,
                };
                let id = tx.insert_pickup_session(&new).await?;
                PickupSessionRecord {
                    id,
                    station_id,
                    terminal: new.terminal,
                    colour: new.colour,
                    items: new.items,
                    state: SessionState::Open,
                    started_at: now,
                    last_activity_at: now,
                    ended_at: None,
                }
            }
        };
        self.command(
            &mut *tx,
            &station,
            &session,
            "open",
            json!({"op": "open", "hold_ms": settings.door_hold_ms}),
            now,
        )
        .await?;
        let lit: Vec<_> = self.remaining(&mut *tx, &session).await?;
        self.light(&mut *tx, &station, &session, &lit, now).await?;
        tx.commit().await?;
        self.wake_devices();
        tracing::info!(
            station = station_id,
            session = session.id,
            terminal,
            n_parcels = session.items.len(),
            colour = %session.colour,
            "pickup session opened"
        );
        // A door already known to be offline fails at once, so the customer
        // is not left waiting for a door that cannot open.
        if let Some(closed) = self.settle_door(&session).await? {
            return Ok(closed);
        }
        self.view_session(&session).await
    }

    /// The prefix of every door command of a session.
    fn door_command_prefix(session_id: i64) -> String {
        format!("pickup-{session_id}-open-")
    }

    /// Ends an open session whose door will not open: its latest door
    /// command expired or failed, or is still pending while the door is
    /// offline (then the command is failed first, so it is never sent
    /// late, and the keeper is alerted). The parcels stay on the shelf and
    /// the lights go out. Returns the closed session's view, or `None` if
    /// the session goes on.
    async fn settle_door(&self, session: &PickupSessionRecord) -> AppResult<Option<SessionView>> {
        if session.state != SessionState::Open {
            return Ok(None);
        }
        let Some(command) = self
            .store
            .latest_device_command(&Self::door_command_prefix(session.id))
            .await?
        else {
            return Ok(None);
        };
        let mut status = command.status;
        if status == crate::device_commands::DeviceCommandStatus::Pending {
            let offline = self
                .store
                .device_statuses(session.station_id)
                .await?
                .iter()
                .any(|d| d.device_kind == "door" && d.device_id == command.device_id && !d.online);
            if !offline {
                return Ok(None);
            }
            tracing::warn!(
                station = session.station_id,
                session = session.id,
                device = %command.device_id,
                "the door controller is offline; the pickup cannot open the door"
            );
            crate::device_commands::end_without_acting(
                &*self.store,
                &command,
                crate::device_commands::DeviceCommandStatus::Failed,
                Some("offline"),
                self.now(),
            )
            .await?;
            status = crate::device_commands::DeviceCommandStatus::Failed;
        }
        if !matches!(
            status,
            crate::device_commands::DeviceCommandStatus::Expired
                | crate::device_commands::DeviceCommandStatus::Failed
        ) {
            return Ok(None);
        }
        let closed = self
            .close_session(
                session.station_id,
                session.id,
                SessionState::DoorFailed,
                None,
            )
            .await?;
        if closed.is_some() {
            tracing::warn!(
                station = session.station_id,
                session = session.id,
                device = %command.device_id,
                status = status.code(),
                "pickup ended: the door did not open; nothing was handed out"
            );
        }
        Ok(closed)
    }

    /// A parcel scanned at the checkout (by the terminal's own scanner
    /// input, or the station's checkout scanner over MQTT when `session_id`
    /// is `None`). Only a parcel of an open session is recorded, as picked
    /// up by its recipient; anything else records nothing.
    pub async fn checkout_scan(
        &self,
        principal: &Principal,
        station_id: i64,
        session_id: Option<i64>,
        terminal: &str,
        text: &str,
    ) -> AppResult<ScanOutcome> {
        if !principal.may_run_terminal(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let terminal =
            text_field("terminal", terminal, 64).map_err(text_invalid("terminal", 64))?;
        let waybill = WaybillNo::parse(text)
            .map_err(|e| AppError::new(Code::WaybillInvalid).with_detail(e))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let station = lock_station(&mut *tx, station_id).await?;
        let open = tx.open_pickup_sessions(station_id).await?;
        let candidates = tx.parcels_with_waybill(&waybill).await?;
        let hit = open
            .iter()
            .filter(|s| session_id.is_none_or(|id| s.id == id))
            .find_map(|s| {
                candidates
                    .iter()
                    .find(|p| {
                        p.station_id == Some(station_id)
                            && s.items.iter().any(|i| i.parcel_id == p.id)
                    })
                    .map(|p| (s.clone(), p.clone()))
            });
        let Some((mut session, mut parcel)) = hit else {
            tracing::warn!(
                station = station_id,
                terminal,
                "a parcel of no customer at the terminal was scanned at checkout; nothing recorded"
            );
            return Ok(ScanOutcome::NotYours {
                waybill_tail: waybill.tail().to_string(),
            });
        };
        if parcel.state != ParcelState::Stored {
            drop(tx);
            return Ok(ScanOutcome::AlreadyTaken {
                parcel_id: parcel.id,
                session: self.view_session(&session).await?,
            });
        }
        transition::apply(
            &mut *tx,
            transition::By {
                principal,
                now,
                settings: &self.settings,
                random: &*self.random,
            },
            Some(&station),
            &mut parcel,
            Action::PickUp,
            json!({"proof": "self_checkout_scan", "terminal": terminal, "session": session.id}),
        )
        .await?;
        session.last_activity_at = now;
        let remaining = self.remaining(&mut *tx, &session).await?;
        let taken_segment = session
            .items
            .iter()
            .find(|i| i.parcel_id == parcel.id)
            .map(|i| i.segment);
        if remaining.is_empty() {
            session.state = SessionState::Done;
            session.ended_at = Some(now);
        }
        if let Some(segment) = taken_segment
            && !remaining.iter().any(|i| i.segment == segment)
        {
            self.lights_off(&mut *tx, &station, &session, &[segment], now)
                .await?;
        }
        tx.update_pickup_session(&session).await?;
        tx.commit().await?;
        self.wake_devices();
        tracing::info!(
            station = station_id,
            session = session.id,
            parcel = parcel.id,
            remaining = remaining.len(),
            "parcel taken at self-checkout"
        );
        Ok(ScanOutcome::Taken {
            parcel_id: parcel.id,
            session: self.view_session(&session).await?,
        })
    }

    /// A checkout scanner's reading, as the MQTT bridge reports it.
    pub async fn device_scan(
        &self,
        station_id: i64,
        scanner_id: &str,
        code: &str,
    ) -> AppResult<ScanOutcome> {
        let principal = scanner_principal(station_id, scanner_id);
        self.checkout_scan(&principal, station_id, None, scanner_id, code)
            .await
    }

    /// The session as the terminal shows it.
    pub async fn pickup_session(
        &self,
        principal: &Principal,
        station_id: i64,
        session_id: i64,
    ) -> AppResult<SessionView> {
        if !principal.may_run_terminal(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let mut tx = self.store.begin().await?;
        let session = tx
            .pickup_session(session_id)
            .await?
            .filter(|s| s.station_id == station_id)
            .ok_or(AppError::NotFound("pickup session"))?;
        drop(tx);
        if let Some(closed) = self.settle_door(&session).await? {
            return Ok(closed);
        }
        self.view_session(&session).await
    }

    /// The customer pressed "done" (or the keeper closed the session).
    pub async fn end_pickup(
        &self,
        principal: &Principal,
        station_id: i64,
        session_id: i64,
    ) -> AppResult<SessionView> {
        if !principal.may_run_terminal(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        self.close_session(station_id, session_id, SessionState::Ended, None)
            .await?
            .ok_or(AppError::NotFound("pickup session"))
    }

    /// Ends sessions idle for longer than the setting and puts their lights
    /// out; returns how many ended. Run every second or so.
    pub async fn expire_pickup_sessions(&self) -> AppResult<usize> {
        // Sessions whose door did not open end now, whether or not a
        // terminal is polling them. Every open session's last activity is
        // before a day from now, so this lists them all.
        for session in self
            .store
            .idle_pickup_sessions(self.now() + Duration::days(1))
            .await?
        {
            self.settle_door(&session).await?;
        }
        let idle_before = self.now() - self.settings.terminal.idle;
        let idle = self.store.idle_pickup_sessions(idle_before).await?;
        let mut n = 0;
        for session in idle {
            if self
                .close_session(
                    session.station_id,
                    session.id,
                    SessionState::Expired,
                    Some(idle_before),
                )
                .await?
                .is_some()
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Closes an open session and puts its remaining lights out; `None` if
    /// it is not open (or, with `idle_before`, no longer idle).
    async fn close_session(
        &self,
        station_id: i64,
        session_id: i64,
        state: SessionState,
        idle_before: Option<DateTime<Utc>>,
    ) -> AppResult<Option<SessionView>> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let station = lock_station(&mut *tx, station_id).await?;
        let Some(mut session) = tx
            .pickup_session(session_id)
            .await?
            .filter(|s| s.station_id == station_id)
        else {
            return Ok(None);
        };
        if session.state != SessionState::Open
            || idle_before.is_some_and(|before| session.last_activity_at >= before)
        {
            return Ok(None);
        }
        let remaining = self.remaining(&mut *tx, &session).await?;
        let mut segments: Vec<u32> = remaining.iter().map(|i| i.segment).collect();
        segments.sort_unstable();
        segments.dedup();
        if !segments.is_empty() {
            self.lights_off(&mut *tx, &station, &session, &segments, now)
                .await?;
        }
        session.state = state;
        session.ended_at = Some(now);
        tx.update_pickup_session(&session).await?;
        tx.commit().await?;
        self.wake_devices();
        tracing::info!(
            station = station_id,
            session = session_id,
            state = state.code(),
            "pickup session closed"
        );
        Ok(Some(self.view_session(&session).await?))
    }

    /// The session's items whose parcels are still on the shelf.
    async fn remaining(
        &self,
        tx: &mut dyn Tx,
        session: &PickupSessionRecord,
    ) -> AppResult<Vec<SessionItem>> {
        let mut remaining = Vec::new();
        for item in &session.items {
            if let Some(parcel) = tx.parcel(item.parcel_id).await?
                && parcel.state == ParcelState::Stored
                && parcel.station_id == Some(session.station_id)
            {
                remaining.push(item.clone());
            }
        }
        Ok(remaining)
    }

    async fn command(
        &self,
        tx: &mut dyn Tx,
        station: &StationRecord,
        session: &PickupSessionRecord,
        what: &str,
        operation: serde_json::Value,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let settings = &self.settings.terminal;
        let (kind, default) = if what == "open" {
            ("door", &settings.door_device)
        } else {
            ("lights", &settings.lights_device)
        };
        // The station's registered device of that kind (a replaced door's
        // successor); the setting names it only at a station whose registry
        // holds none.
        let device = self
            .store
            .station_devices(station.id)
            .await?
            .into_iter()
            .find(|d| d.kind == kind && d.retired_at.is_none())
            .map_or_else(|| default.clone(), |d| d.device_id);
        enqueue_device_command(
            tx,
            &NewDeviceCommand {
                station_id: station.id,
                device_kind: kind.into(),
                device_id: device,
                command_id: format!("pickup-{}-{what}-{}", session.id, now.timestamp_micros()),
                not_after: now + settings.command_ttl,
                operation,
            },
            now,
        )
        .await?;
        Ok(())
    }

    async fn light(
        &self,
        tx: &mut dyn Tx,
        station: &StationRecord,
        session: &PickupSessionRecord,
        items: &[SessionItem],
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let mut segments: Vec<u32> = items.iter().map(|i| i.segment).collect();
        segments.sort_unstable();
        segments.dedup();
        if segments.is_empty() {
            return Ok(());
        }
        // Lit a little longer than the session can stay idle, so the lights
        // never go out under a customer still taking parcels; the session's
        // end turns them off explicitly.
        let duration_ms = (self.settings.terminal.idle + Duration::seconds(30))
            .num_milliseconds()
            .clamp(1, 600_000);
        // Protocol 1.0 (docs/devices.md): one colour per command, at most
        // LIGHT_SEGMENTS_MAX segments each; more are split across commands.
        for (idx, chunk) in segments.chunks(LIGHT_SEGMENTS_MAX).enumerate() {
            self.command(
                tx,
                station,
                session,
                &chunk_name("light", idx),
                json!({"op": "light", "colour": session.colour, "segments": chunk, "duration_ms": duration_ms}),
                now,
            )
            .await?;
        }
        Ok(())
    }

    async fn lights_off(
        &self,
        tx: &mut dyn Tx,
        station: &StationRecord,
        session: &PickupSessionRecord,
        segments: &[u32],
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        for (idx, chunk) in segments.chunks(LIGHT_SEGMENTS_MAX).enumerate() {
            self.command(
                tx,
                station,
                session,
                &chunk_name("off", idx),
                json!({"op": "off", "segments": chunk}),
                now,
            )
            .await?;
        }
        Ok(())
    }

    async fn view_session(&self, session: &PickupSessionRecord) -> AppResult<SessionView> {
        let mut items = Vec::with_capacity(session.items.len());
        for item in &session.items {
            let Some(parcel) = self.store.parcel(item.parcel_id).await? else {
                continue;
            };
            items.push(item_view(item, &parcel));
        }
        let door = match self
            .store
            .latest_device_command(&Self::door_command_prefix(session.id))
            .await?
        {
            Some(command) => match command.status {
                crate::device_commands::DeviceCommandStatus::Pending => (DoorState::Opening, None),
                crate::device_commands::DeviceCommandStatus::Done => (DoorState::Open, None),
                crate::device_commands::DeviceCommandStatus::Expired => {
                    (DoorState::Failed, Some("expired"))
                }
                crate::device_commands::DeviceCommandStatus::Failed => (
                    DoorState::Failed,
                    Some(if command.outcome.as_deref() == Some("offline") {
                        "offline"
                    } else {
                        "failed"
                    }),
                ),
            },
            None if session.state == SessionState::DoorFailed => {
                (DoorState::Failed, Some("failed"))
            }
            None => (DoorState::Opening, None),
        };
        let station_phone = if door.0 == DoorState::Failed {
            self.store.station_contact_phone(session.station_id).await?
        } else {
            None
        };
        Ok(SessionView {
            door: DoorView {
                state: door.0,
                reason: door.1,
                station_phone,
            },
            id: session.id,
            state: session.state,
            colour: colour_by_hex(&session.colour).unwrap_or(domain::terminal::PICKUP_COLOURS[0]),
            items,
            idle_deadline: session.last_activity_at + self.settings.terminal.idle,
        })
    }

    /// The station a terminal serves, for its page header.
    pub async fn terminal_station(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<StationRecord> {
        if !principal.may_run_terminal(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        self.store
            .station(station_id)
            .await?
            .ok_or(AppError::NotFound("station"))
    }

    /// The station a QR code from an arrival message is for, if the code is
    /// genuine and unexpired (the public page behind the message's link).
    pub async fn pickup_qr_station(&self, text: &str) -> AppResult<StationRecord> {
        if text.len() > domain::terminal::SCAN_CHARS_MAX {
            return Err(AppError::NotFound("pickup QR code"));
        }
        let claim = crate::qr::verify(&self.secrets.qr_key, text, self.now())
            .map_err(|_| AppError::NotFound("pickup QR code"))?;
        self.store
            .station(claim.station_id)
            .await?
            .ok_or(AppError::NotFound("pickup QR code"))
    }

    /// What the MQTT bridge heard about a device's liveness.
    pub async fn record_device_state(
        &self,
        state_topic: &str,
        station_id: i64,
        device_kind: &str,
        device_id: &str,
        online: bool,
    ) -> AppResult<()> {
        self.store
            .set_device_status(&DeviceStatusRecord {
                state_topic: state_topic.to_string(),
                station_id,
                device_kind: device_kind.to_string(),
                device_id: device_id.to_string(),
                online,
                changed_at: self.now(),
            })
            .await?;
        Ok(())
    }

    fn wake_devices(&self) {
        (self.device_waker)();
    }
}

fn item_view(item: &SessionItem, parcel: &ParcelRecord) -> ItemView {
    ItemView {
        parcel_id: item.parcel_id,
        slot: item.slot.clone(),
        segment: item.segment,
        carrier_zh: parcel.carrier.name_zh(),
        waybill_tail: parcel.waybill.tail().to_string(),
        taken: parcel.state == ParcelState::PickedUp,
    }
}

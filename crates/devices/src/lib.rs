//! The device protocol spoken over MQTT with door controllers, shelf light
//! strips and checkout scanners: topic names, payloads with their limits,
//! and the command gate every device runs so that a command delivered twice
//! acts once and a command that arrives after its not-after time never acts.
//! Commands carry a MAC under the addressed device's key ([`auth`]), which
//! the gate checks before anything else, so a forged command does nothing.
//! This module is pure: no broker, no clock (times are passed in as Unix
//! milliseconds). The MQTT side builds on it: [`sim`] (a simulated station)
//! and [`bridge`] (the server's outbox relay).

pub mod auth;
pub mod bench;
pub mod bridge;
pub mod config;
pub mod conformance;
// Kiosks' devices (issue 14, branch kiosk-dev).
pub mod kiosk;
pub mod mqtt;
pub mod schemas;
pub mod sim;
pub mod vehicle;

use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};

/// The protocol version this crate speaks (`docs/devices.md`, Versioning).
/// The major version is in every topic (`yizhan/v1/...`).
pub const PROTOCOL_VERSION: &str = "1.0";
/// Largest payload a device or the server accepts, in every direction.
pub const PAYLOAD_BYTES_MAX: usize = 4 * 1024;
/// Most segments one `light` or `off` command names. With segment numbers
/// of at most [`SEGMENT_MAX`] (4 digits and a comma each) a command naming
/// all of them is about 1.5 KB, well under [`PAYLOAD_BYTES_MAX`].
pub const SEGMENTS_MAX: usize = 256;
/// Highest segment number: a station has at most this many slots
/// (`domain::limits::STATION_SLOTS_MAX`).
pub const SEGMENT_MAX: u32 = 5_000;
/// How many recent command ids a device remembers for de-duplication,
/// across restarts.
pub const REMEMBERED_COMMANDS_MAX: usize = 1024;
/// Longest a door may be held open or a light lit by one command.
pub const HOLD_MS_MAX: u64 = 10 * 60 * 1000;
/// Longest `command_id`.
pub const COMMAND_ID_CHARS_MAX: usize = 64;
/// Longest `reason` in an ack; a device cuts a longer one.
pub const REASON_CHARS_MAX: usize = 200;
/// How far a device's clock may run behind the server's: a command whose
/// `server_ms` is further ahead of the device's clock than this is refused
/// (ack `failed`, reason `clock_behind`), because a clock that runs behind
/// would let a late command act.
pub const CLOCK_SKEW_MAX_MS: u64 = 5_000;

/// Why a device answers `failed`: the first word of an ack's `reason`.
pub mod reasons {
    /// The `op` is not one this protocol version knows.
    pub const UNKNOWN_OP: &str = "unknown_op";
    /// The `op` is known but not performed by this kind of device.
    pub const WRONG_KIND: &str = "wrong_kind";
    /// The command is the server's but breaks a limit (the rest says which).
    pub const INVALID: &str = "invalid";
    /// The device's clock is behind the command's `server_ms` by more than
    /// [`super::CLOCK_SKEW_MAX_MS`].
    pub const CLOCK_BEHIND: &str = "clock_behind";
    /// The hardware could not do it.
    pub const HARDWARE: &str = "hardware";
}

/// The kind of device a topic addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Door,
    Lights,
    Scanner,
}

impl DeviceKind {
    pub fn code(self) -> &'static str {
        match self {
            DeviceKind::Door => "door",
            DeviceKind::Lights => "lights",
            DeviceKind::Scanner => "scanner",
        }
    }
}

/// What a topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Server to device.
    Command,
    /// Device to server: the outcome of a command.
    Ack,
    /// Device to server, retained: the device's current state and liveness.
    State,
    /// Scanner to server.
    Scan,
    /// Server to light strip, retained: the segment map ([`config`]).
    Config,
}

impl Channel {
    fn code(self) -> &'static str {
        match self {
            Channel::Command => "cmd",
            Channel::Ack => "ack",
            Channel::State => "state",
            Channel::Scan => "scan",
            Channel::Config => "config",
        }
    }
}

/// `yizhan/v1/stations/{station}/{kind}/{device}/{channel}`.
pub fn topic(station_id: i64, kind: DeviceKind, device_id: &str, channel: Channel) -> String {
    format!(
        "yizhan/v1/stations/{station_id}/{}/{device_id}/{}",
        kind.code(),
        channel.code()
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("payload is {0} bytes; at most {PAYLOAD_BYTES_MAX} are accepted")]
    TooLarge(usize),
    #[error("payload is not a valid message: {0}")]
    Malformed(String),
    #[error("{0}")]
    Invalid(String),
    #[error("command MAC missing or wrong for this device")]
    BadMac,
}

/// A command to a door controller or a light strip. Unknown fields are
/// ignored (serde cannot refuse them beside a flattened operation), so a
/// newer server may add fields older devices skip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Unique per command; a device acts on an id once.
    pub command_id: String,
    /// Unix milliseconds after which the device must not act.
    pub not_after_ms: u64,
    /// The server's clock when it published this copy (every attempt is
    /// stamped anew). Always sent by a 1.0 server; a device refuses a
    /// command stamped more than [`CLOCK_SKEW_MAX_MS`] ahead of its clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ms: Option<u64>,
    #[serde(flatten)]
    pub op: Operation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Open the door, closing again after `hold_ms`.
    Open { hold_ms: u64 },
    /// Publish state now, then ack.
    Status,
    /// Light these segments in one colour for `duration_ms`.
    Light {
        /// `#rrggbb`; the server writes lower case, devices accept either.
        colour: String,
        segments: Vec<u32>,
        duration_ms: u64,
    },
    /// Turn these segments off.
    Off { segments: Vec<u32> },
    /// Turn every segment off.
    AllOff,
    /// A vehicle (issue 20): set off on (or carry on with) the mission the
    /// server names; a mission under way goes on from where it stands.
    StartMission { mission_id: i64 },
    /// A vehicle: stop where it stands and wait.
    Stop,
    /// A vehicle: pull over to the roadside and wait.
    PullOver,
    /// A vehicle: open these compartments (numbers 1 to 64).
    OpenCompartment { compartments: Vec<u32> },
    /// A vehicle: leave the mission and drive back to its depot.
    ReturnToDepot,
    /// A vehicle: keep at or under this speed (1 to 300 km/h) until told
    /// otherwise or the mission ends.
    SlowDown { limit_kmh: u32 },
    /// A kiosk's camera (issue 14): take the package photo and post it
    /// (`docs/devices.md`, "Kiosks"); the command id names the photo.
    Capture,
    /// A kiosk's printer: print this label (ZPL, at most
    /// [`kiosk::ZPL_BYTES_MAX`] bytes); ack `failed`, `hardware:
    /// out_of_paper` when it cannot.
    PrintLabel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order_id: Option<i64>,
        zpl: String,
    },
    /// An `op` this version does not know (a newer server's): acked
    /// `failed` with reason `unknown_op`, never acted on.
    #[serde(other)]
    Unknown,
}

impl Operation {
    /// Whether a device of `kind` performs this operation.
    pub fn applies_to(&self, kind: DeviceKind) -> bool {
        match self {
            Operation::Status => kind != DeviceKind::Scanner,
            Operation::Open { .. } => kind == DeviceKind::Door,
            Operation::Light { .. } | Operation::Off { .. } | Operation::AllOff => {
                kind == DeviceKind::Lights
            }
            Operation::StartMission { .. }
            | Operation::Stop
            | Operation::PullOver
            | Operation::OpenCompartment { .. }
            | Operation::ReturnToDepot
            | Operation::SlowDown { .. } => false,
            Operation::Capture | Operation::PrintLabel { .. } => false,
            Operation::Unknown => false,
        }
    }

    /// Whether a kiosk's device of `kind` performs this operation.
    pub fn applies_to_kiosk(&self, kind: kiosk::KioskKind) -> bool {
        match self {
            Operation::Status => kind.takes_commands(),
            Operation::Capture => kind == kiosk::KioskKind::Camera,
            Operation::PrintLabel { .. } => kind == kiosk::KioskKind::Printer,
            _ => false,
        }
    }

    /// Whether a vehicle performs this operation.
    pub fn applies_to_vehicle(&self) -> bool {
        matches!(
            self,
            Operation::StartMission { .. }
                | Operation::Stop
                | Operation::PullOver
                | Operation::OpenCompartment { .. }
                | Operation::ReturnToDepot
                | Operation::SlowDown { .. }
        )
    }

    /// The `op` word on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            Operation::Open { .. } => "open",
            Operation::Status => "status",
            Operation::Light { .. } => "light",
            Operation::Off { .. } => "off",
            Operation::AllOff => "all_off",
            Operation::StartMission { .. } => "start_mission",
            Operation::Stop => "stop",
            Operation::PullOver => "pull_over",
            Operation::OpenCompartment { .. } => "open_compartment",
            Operation::ReturnToDepot => "return_to_depot",
            Operation::SlowDown { .. } => "slow_down",
            Operation::Capture => "capture",
            Operation::PrintLabel { .. } => "print_label",
            Operation::Unknown => "unknown",
        }
    }
}

/// A device's answer to a command. Unknown fields are ignored, so a newer
/// device may add some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub command_id: String,
    pub outcome: Outcome,
    pub at_ms: u64,
    /// Why, for `failed` (and optionally others): a word from [`reasons`],
    /// then `: ` and free text; at most [`REASON_CHARS_MAX`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Ack {
    /// Parses an ack payload, tolerating fields it does not know.
    pub fn parse(payload: &[u8]) -> Result<Ack, ProtocolError> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(ProtocolError::TooLarge(payload.len()));
        }
        let ack: Ack =
            serde_json::from_slice(payload).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        if ack.command_id.is_empty() || ack.command_id.chars().count() > COMMAND_ID_CHARS_MAX {
            return Err(ProtocolError::Invalid(format!(
                "command_id must be 1 to {COMMAND_ID_CHARS_MAX} characters"
            )));
        }
        Ok(ack)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Acted on now.
    Done,
    /// Already acted on earlier: not acted again.
    Duplicate,
    /// Arrived after its not-after time: not acted on.
    Expired,
    /// Not acted on: unknown or inapplicable op, a broken limit, a clock
    /// behind, or a hardware fault; `reason` says which.
    Failed,
}

fn check_command_id(command_id: &str) -> Result<(), ProtocolError> {
    let n_chars = command_id.chars().count();
    if n_chars == 0 || n_chars > COMMAND_ID_CHARS_MAX {
        return Err(ProtocolError::Invalid(format!(
            "command_id must be 1 to {COMMAND_ID_CHARS_MAX} characters"
        )));
    }
    Ok(())
}

/// `#rrggbb` in either case.
fn check_colour(colour: &str) -> bool {
    colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl Command {
    /// Parses and checks a command payload. An unknown `op` parses (as
    /// [`Operation::Unknown`]); breaking a limit does not.
    pub fn parse(payload: &[u8]) -> Result<Command, ProtocolError> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(ProtocolError::TooLarge(payload.len()));
        }
        let command: Command =
            serde_json::from_slice(payload).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        check_command_id(&command.command_id)?;
        let segments_ok = |segments: &[u32]| {
            segments
                .iter()
                .all(|segment| (1..=SEGMENT_MAX).contains(segment))
        };
        match &command.op {
            Operation::Open { hold_ms }
            | Operation::Light {
                duration_ms: hold_ms,
                ..
            } if *hold_ms == 0 || *hold_ms > HOLD_MS_MAX => {
                return Err(ProtocolError::Invalid(format!(
                    "hold and duration must be 1 to {HOLD_MS_MAX} ms"
                )));
            }
            Operation::Light { segments, .. }
                if segments.is_empty() || segments.len() > SEGMENTS_MAX =>
            {
                return Err(ProtocolError::Invalid(format!(
                    "a light command sets 1 to {SEGMENTS_MAX} segments"
                )));
            }
            Operation::Light { colour, .. } if !check_colour(colour) => {
                return Err(ProtocolError::Invalid("colours are #rrggbb".into()));
            }
            Operation::Off { segments } if segments.len() > SEGMENTS_MAX => {
                return Err(ProtocolError::Invalid(format!(
                    "an off command names at most {SEGMENTS_MAX} segments"
                )));
            }
            Operation::Light { segments, .. } | Operation::Off { segments }
                if !segments_ok(segments) =>
            {
                return Err(ProtocolError::Invalid(format!(
                    "segments are numbered 1 to {SEGMENT_MAX}"
                )));
            }
            Operation::OpenCompartment { compartments }
                if compartments.is_empty()
                    || compartments.len() > vehicle::COMPARTMENTS_MAX
                    || compartments
                        .iter()
                        .any(|n| !(1..=vehicle::COMPARTMENTS_MAX as u32).contains(n)) =>
            {
                return Err(ProtocolError::Invalid(format!(
                    "open_compartment names 1 to {0} compartments, numbered 1 to {0}",
                    vehicle::COMPARTMENTS_MAX
                )));
            }
            Operation::SlowDown { limit_kmh }
                if *limit_kmh == 0 || f64::from(*limit_kmh) > vehicle::SPEED_KMH_MAX =>
            {
                return Err(ProtocolError::Invalid("limit_kmh must be 1 to 300".into()));
            }
            Operation::PrintLabel { zpl, .. }
                if zpl.is_empty() || zpl.len() > kiosk::ZPL_BYTES_MAX =>
            {
                return Err(ProtocolError::Invalid(format!(
                    "a label is 1 to {} bytes of ZPL",
                    kiosk::ZPL_BYTES_MAX
                )));
            }
            Operation::StartMission { mission_id } if *mission_id < 1 => {
                return Err(ProtocolError::Invalid("mission_id must be positive".into()));
            }
            _ => {}
        }
        Ok(command)
    }

    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("commands serialise")
    }
}

/// `command` (a JSON object's bytes, as the outbox holds it) with the
/// server's clock added as `server_ms`, the member a device checks its own
/// clock against. The bridge stamps every attempt as it publishes it,
/// before signing.
pub fn stamp_server_time(command: &[u8], server_ms: u64) -> Vec<u8> {
    let Some(body) = command.strip_suffix(b"}") else {
        return command.to_vec();
    };
    let empty = body.iter().all(|b| b.is_ascii_whitespace() || *b == b'{');
    let mut stamped = Vec::with_capacity(command.len() + 32);
    stamped.extend_from_slice(body);
    if !empty {
        stamped.push(b',');
    }
    stamped.extend_from_slice(format!("\"server_ms\":{server_ms}}}").as_bytes());
    stamped
}

/// Longest scanned text accepted from a checkout scanner.
pub const SCAN_CHARS_MAX: usize = 128;

/// A checkout scanner's reading (`scan` channel). Unknown fields are
/// ignored, so a newer scanner may add some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanEvent {
    pub code: String,
    pub at_ms: u64,
}

impl ScanEvent {
    /// Parses and checks a scan payload.
    pub fn parse(payload: &[u8]) -> Result<ScanEvent, ProtocolError> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(ProtocolError::TooLarge(payload.len()));
        }
        let scan: ScanEvent =
            serde_json::from_slice(payload).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        let n_chars = scan.code.chars().count();
        if n_chars == 0 || n_chars > SCAN_CHARS_MAX || scan.code.chars().any(char::is_control) {
            return Err(ProtocolError::Invalid(format!(
                "a scanned code has 1 to {SCAN_CHARS_MAX} printable characters"
            )));
        }
        Ok(scan)
    }
}

/// What a door's sensor reports, if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorSensor {
    Open,
    Closed,
    /// Opened without a command (or held against the lock).
    Forced,
}

/// A device's retained `state` (and the last will, which carries only
/// `online: false`). Only `online` is required; the rest depends on the
/// kind. Unknown fields are ignored, so a newer device may add some.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    pub online: bool,
    /// The device's clock when it published this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// Door: whether the lock is released now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
    /// Door: when the lock closes again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_until_ms: Option<u64>,
    /// Door: what its sensor says, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<DoorSensor>,
    /// Lights: what is lit, grouped by colour and time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lit: Option<Vec<LitGroup>>,
    /// Lights: true if `lit` had to leave segments out to fit the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lit_truncated: Option<bool>,
    /// Lights: the `config_version` of the segment map the device holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_version: Option<String>,
    /// The vendor's model name, up to 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The firmware's version, up to 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
}

/// Segments lit in one colour until one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LitGroup {
    pub colour: String,
    pub segments: Vec<u32>,
    pub until_ms: u64,
}

/// Longest model or firmware text accepted in a state message.
pub const STATE_TEXT_CHARS_MAX: usize = 64;

impl DoorSensor {
    pub fn code(self) -> &'static str {
        match self {
            DoorSensor::Open => "open",
            DoorSensor::Closed => "closed",
            DoorSensor::Forced => "forced",
        }
    }
}

impl DeviceState {
    /// Parses and checks a state payload.
    pub fn parse(payload: &[u8]) -> Result<DeviceState, ProtocolError> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(ProtocolError::TooLarge(payload.len()));
        }
        let state: DeviceState =
            serde_json::from_slice(payload).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        for text in [&state.model, &state.firmware].into_iter().flatten() {
            let n_chars = text.chars().count();
            if n_chars == 0 || n_chars > STATE_TEXT_CHARS_MAX || text.chars().any(char::is_control)
            {
                return Err(ProtocolError::Invalid(format!(
                    "model and firmware have 1 to {STATE_TEXT_CHARS_MAX} printable characters"
                )));
            }
        }
        Ok(state)
    }
}

/// The station and device a topic names, if it is a yizhan device topic.
pub fn parse_topic(topic: &str) -> Option<(i64, DeviceKind, &str, Channel)> {
    let rest = topic.strip_prefix("yizhan/v1/stations/")?;
    let mut parts = rest.split('/');
    let station_id = parts.next()?.parse().ok()?;
    let kind = match parts.next()? {
        "door" => DeviceKind::Door,
        "lights" => DeviceKind::Lights,
        "scanner" => DeviceKind::Scanner,
        _ => return None,
    };
    let device_id = parts.next().filter(|id| !id.is_empty())?;
    let channel = match parts.next()? {
        "cmd" => Channel::Command,
        "ack" => Channel::Ack,
        "state" => Channel::State,
        "scan" => Channel::Scan,
        "config" => Channel::Config,
        _ => return None,
    };
    parts
        .next()
        .is_none()
        .then_some((station_id, kind, device_id, channel))
}

/// The minimum a command must have to be answered: without a usable id
/// there is nobody to ack.
#[derive(Deserialize)]
struct Envelope {
    command_id: String,
    not_after_ms: u64,
    #[serde(default)]
    server_ms: Option<u64>,
    op: String,
}

/// One command id a device remembers, with its not-after time (what a
/// device persists so that its memory survives a restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    pub command_id: String,
    pub not_after_ms: u64,
}

/// The gate's decision on one delivery that deserves an ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub command_id: String,
    pub outcome: Outcome,
    /// For `failed`: a word from [`reasons`] and details.
    pub reason: Option<String>,
    /// What to carry out: present exactly when `outcome` is `Done`.
    pub act: Option<Operation>,
}

impl Verdict {
    /// The ack for this verdict at `at_ms`.
    pub fn ack(&self, at_ms: u64) -> Ack {
        Ack {
            command_id: self.command_id.clone(),
            outcome: self.outcome,
            at_ms,
            reason: self.reason.clone(),
        }
    }
}

/// What every device runs before acting: checks the command's MAC under
/// the device's own key (a forged command, or one for another device, never
/// acts and gets no ack), refuses expired commands and commands its clock
/// is too far behind for, answers `failed` to what it cannot do, and
/// remembers recent command ids so that a redelivered (or replayed) command
/// acts once. [`CommandGate::memory`] and [`CommandGate::restore`] let a
/// device keep that memory across a restart.
#[derive(Debug)]
pub struct CommandGate {
    key: auth::CommandKey,
    command_topic: String,
    kind: Option<DeviceKind>,
    /// A vehicle's gate (issue 20): only vehicles' operations apply.
    vehicle: bool,
    /// A kiosk device's gate (issue 14): only its kind's operations apply.
    kiosk: Option<kiosk::KioskKind>,
    seen: HashSet<String>,
    order: VecDeque<Remembered>,
}

impl CommandGate {
    /// The gate of the device whose `cmd` topic is `command_topic`.
    pub fn new(key: auth::CommandKey, command_topic: &str) -> CommandGate {
        CommandGate {
            key,
            command_topic: command_topic.to_string(),
            kind: parse_topic(command_topic).map(|(_, kind, _, _)| kind),
            vehicle: vehicle::parse_command_topic(command_topic).is_some(),
            kiosk: kiosk::parse_topic(command_topic).map(|(_, kind, _, _)| kind),
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// The gate of a vehicle (its `cmd` topic is
    /// `yizhan/v1/vehicles/{vehicle}/cmd`), keyed with its own command key
    /// (`ServerDeviceKey::vehicle_key`).
    pub fn for_vehicle(key: auth::CommandKey, vehicle: &str) -> CommandGate {
        CommandGate::new(key, &vehicle::command_topic(vehicle))
    }

    /// The ids remembered now, oldest first (at most
    /// [`REMEMBERED_COMMANDS_MAX`]): what to write to storage that survives
    /// a restart before acting on a command.
    pub fn memory(&self) -> Vec<Remembered> {
        self.order.iter().cloned().collect()
    }

    /// Takes back a memory written by [`CommandGate::memory`] (after a
    /// restart); the most recent [`REMEMBERED_COMMANDS_MAX`] are kept.
    pub fn restore(&mut self, memory: Vec<Remembered>) {
        for remembered in memory {
            self.remember(remembered);
        }
    }

    /// Forgets every id, as a device without non-volatile memory does when
    /// it restarts (what the contract forbids; for tests of the suite).
    pub fn forget(&mut self) {
        self.seen.clear();
        self.order.clear();
    }

    fn remember(&mut self, remembered: Remembered) {
        if self.seen.contains(&remembered.command_id) {
            return;
        }
        if self.order.len() >= REMEMBERED_COMMANDS_MAX
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest.command_id);
        }
        self.seen.insert(remembered.command_id.clone());
        self.order.push_back(remembered);
    }

    /// Verifies, parses and admits a payload as it came from the broker.
    /// `Err` means drop it without an ack: it is not provably the server's,
    /// or has no usable command id.
    pub fn receive(&mut self, payload: &[u8], now_ms: u64) -> Result<Verdict, ProtocolError> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(ProtocolError::TooLarge(payload.len()));
        }
        let signed = auth::verify_command(&self.key, &self.command_topic, payload)
            .ok_or(ProtocolError::BadMac)?;
        let envelope: Envelope =
            serde_json::from_slice(&signed).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        check_command_id(&envelope.command_id)?;
        let verdict = |outcome, reason: Option<String>, act| Verdict {
            command_id: envelope.command_id.clone(),
            outcome,
            reason,
            act,
        };
        if self.seen.contains(&envelope.command_id) {
            return Ok(verdict(Outcome::Duplicate, None, None));
        }
        if now_ms > envelope.not_after_ms {
            return Ok(verdict(Outcome::Expired, None, None));
        }
        if let Some(server_ms) = envelope.server_ms
            && server_ms > now_ms.saturating_add(CLOCK_SKEW_MAX_MS)
        {
            return Ok(verdict(
                Outcome::Failed,
                Some(format!(
                    "{}: the device's clock is {} ms behind the server's",
                    reasons::CLOCK_BEHIND,
                    server_ms - now_ms
                )),
                None,
            ));
        }
        let command = match Command::parse(&signed) {
            Ok(command) => command,
            Err(error) => {
                return Ok(verdict(
                    Outcome::Failed,
                    Some(cut(&format!("{}: {error}", reasons::INVALID))),
                    None,
                ));
            }
        };
        if command.op == Operation::Unknown {
            return Ok(verdict(
                Outcome::Failed,
                Some(cut(&format!("{}: {}", reasons::UNKNOWN_OP, envelope.op))),
                None,
            ));
        }
        if self.vehicle && !command.op.applies_to_vehicle() {
            return Ok(verdict(
                Outcome::Failed,
                Some(format!(
                    "{}: a vehicle does not {}",
                    reasons::WRONG_KIND,
                    command.op.code()
                )),
                None,
            ));
        }
        if let Some(kind) = self.kiosk
            && !command.op.applies_to_kiosk(kind)
        {
            return Ok(verdict(
                Outcome::Failed,
                Some(format!(
                    "{}: a kiosk's {} does not {}",
                    reasons::WRONG_KIND,
                    kind.code(),
                    command.op.code()
                )),
                None,
            ));
        }
        if let Some(kind) = self.kind
            && !command.op.applies_to(kind)
        {
            return Ok(verdict(
                Outcome::Failed,
                Some(format!(
                    "{}: a {} device does not {}",
                    reasons::WRONG_KIND,
                    kind.code(),
                    command.op.code()
                )),
                None,
            ));
        }
        self.remember(Remembered {
            command_id: command.command_id.clone(),
            not_after_ms: command.not_after_ms,
        });
        Ok(verdict(Outcome::Done, None, Some(command.op)))
    }
}

/// `text` cut to [`REASON_CHARS_MAX`] characters.
fn cut(text: &str) -> String {
    text.chars().take(REASON_CHARS_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gate() -> CommandGate {
        let key = auth::ServerDeviceKey::new(vec![1; 32]).device_key(1, DeviceKind::Door, "front");
        CommandGate::new(key, &topic(1, DeviceKind::Door, "front", Channel::Command))
    }

    /// `payload` signed for station 1's door, as the bridge signs it.
    fn signed(payload: &[u8]) -> Vec<u8> {
        let key = auth::ServerDeviceKey::new(vec![1; 32]).device_key(1, DeviceKind::Door, "front");
        auth::sign_command(
            &key,
            &topic(1, DeviceKind::Door, "front", Channel::Command),
            payload,
        )
    }

    impl CommandGate {
        /// The outcome of delivering `command`, signed, at `now_ms`.
        fn admit(&mut self, command: &Command, now_ms: u64) -> Outcome {
            self.receive(&signed(&command.to_payload()), now_ms)
                .expect("a signed command is answered")
                .outcome
        }
    }

    #[test]
    fn a_state_may_carry_a_door_sensor_model_and_firmware_and_old_states_stay_valid() {
        let old = DeviceState::parse(br#"{"online":true,"open":false,"at_ms":1}"#).unwrap();
        assert_eq!((old.online, old.door, old.model), (true, None, None));
        let new = DeviceState::parse(
            br#"{"online":true,"door":"forced","model":"YZ-D1","firmware":"1.2.0","extra":1}"#,
        )
        .unwrap();
        assert_eq!(new.door, Some(DoorSensor::Forced));
        assert_eq!(new.firmware.as_deref(), Some("1.2.0"));
        assert!(DeviceState::parse(br#"{"online":true,"door":"ajar"}"#).is_err());
        let long = format!(r#"{{"online":true,"model":"{}"}}"#, "m".repeat(65));
        assert!(DeviceState::parse(long.as_bytes()).is_err());
        assert!(DeviceState::parse(b"").is_err());
    }

    #[test]
    fn the_gate_acts_only_on_commands_signed_for_its_device() {
        let server = auth::ServerDeviceKey::new(vec![1; 32]);
        let door = topic(1, DeviceKind::Door, "front", Channel::Command);
        let payload = open("c1", 2_000).to_payload();
        let mut gate = gate();
        // Unsigned, signed with a guessed key, signed for another station's door.
        assert_eq!(gate.receive(&payload, 1_000), Err(ProtocolError::BadMac));
        let guessed =
            auth::ServerDeviceKey::new(vec![2; 32]).device_key(1, DeviceKind::Door, "front");
        assert_eq!(
            gate.receive(&auth::sign_command(&guessed, &door, &payload), 1_000),
            Err(ProtocolError::BadMac)
        );
        let other = topic(2, DeviceKind::Door, "front", Channel::Command);
        let other_key = server.device_key(2, DeviceKind::Door, "front");
        assert_eq!(
            gate.receive(&auth::sign_command(&other_key, &other, &payload), 1_000),
            Err(ProtocolError::BadMac)
        );
        // The real one acts once; its replay is a duplicate.
        let key = server.device_key(1, DeviceKind::Door, "front");
        let signed = auth::sign_command(&key, &door, &payload);
        assert_eq!(
            gate.receive(&signed, 1_000).map(|v| v.outcome),
            Ok(Outcome::Done)
        );
        assert_eq!(
            gate.receive(&signed, 1_500).map(|v| v.outcome),
            Ok(Outcome::Duplicate)
        );
    }

    fn open(id: &str, not_after_ms: u64) -> Command {
        Command {
            command_id: id.into(),
            not_after_ms,
            server_ms: None,
            op: Operation::Open { hold_ms: 5_000 },
        }
    }

    #[test]
    fn a_command_delivered_five_times_acts_once() {
        let mut gate = gate();
        let outcomes: Vec<Outcome> = (0..5)
            .map(|_| gate.admit(&open("c1", 2_000), 1_000))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                Outcome::Done,
                Outcome::Duplicate,
                Outcome::Duplicate,
                Outcome::Duplicate,
                Outcome::Duplicate
            ]
        );
    }

    #[test]
    fn an_expired_command_never_acts() {
        let mut gate = gate();
        assert_eq!(gate.admit(&open("late", 1_000), 1_001), Outcome::Expired);
        assert_eq!(gate.admit(&open("late", 1_000), 1_002), Outcome::Expired);
        assert_eq!(gate.admit(&open("on-time", 1_000), 1_000), Outcome::Done);
    }

    #[test]
    fn payloads_round_trip_and_bad_ones_are_refused() {
        let light = Command {
            command_id: "c2".into(),
            not_after_ms: 10,
            server_ms: Some(5),
            op: Operation::Light {
                colour: "#00FF7f".into(),
                segments: vec![3, 9],
                duration_ms: 60_000,
            },
        };
        assert_eq!(Command::parse(&light.to_payload()), Ok(light));
        let text = String::from_utf8(open("c3", 5).to_payload()).unwrap();
        assert_eq!(
            text,
            r#"{"command_id":"c3","not_after_ms":5,"op":"open","hold_ms":5000}"#
        );
        for (payload, words) in [
            (
                r#"{"command_id":"","not_after_ms":1,"op":"status"}"#,
                "command_id",
            ),
            (
                r#"{"command_id":"x","not_after_ms":1,"op":"open","hold_ms":0}"#,
                "hold",
            ),
            (
                r#"{"command_id":"x","not_after_ms":1,"op":"light","colour":"red","segments":[1],"duration_ms":5}"#,
                "colours",
            ),
            (
                r#"{"command_id":"x","not_after_ms":1,"op":"off","segments":[0]}"#,
                "numbered",
            ),
            (
                r#"{"command_id":"x","not_after_ms":1,"op":"off","segments":[5001]}"#,
                "numbered",
            ),
            ("not json", "not a valid message"),
        ] {
            let error = Command::parse(payload.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(words), "{payload}: {error}");
        }
        assert_eq!(
            Command::parse(&vec![b' '; PAYLOAD_BYTES_MAX + 1]),
            Err(ProtocolError::TooLarge(PAYLOAD_BYTES_MAX + 1))
        );
    }

    #[test]
    fn the_server_time_is_stamped_into_a_command() {
        let stamped = stamp_server_time(&open("s1", 9).to_payload(), 1234);
        let command = Command::parse(&stamped).unwrap();
        assert_eq!(command.server_ms, Some(1234));
        assert_eq!(command.op, Operation::Open { hold_ms: 5_000 });
    }

    #[test]
    fn topics_name_station_device_and_channel() {
        assert_eq!(
            topic(7, DeviceKind::Door, "front", Channel::Command),
            "yizhan/v1/stations/7/door/front/cmd"
        );
        assert_eq!(
            topic(7, DeviceKind::Lights, "A", Channel::Ack),
            "yizhan/v1/stations/7/lights/A/ack"
        );
    }

    #[test]
    fn scans_and_topics_parse_back() {
        let scan = ScanEvent::parse(br#"{"code":"SF1234567890","at_ms":5}"#).unwrap();
        assert_eq!(scan.code, "SF1234567890");
        assert!(ScanEvent::parse(br#"{"code":"","at_ms":5}"#).is_err());
        assert!(ScanEvent::parse(br#"{"code":"a\nb","at_ms":5}"#).is_err());
        let long = format!(
            r#"{{"code":"{}","at_ms":5}}"#,
            "9".repeat(SCAN_CHARS_MAX + 1)
        );
        assert!(ScanEvent::parse(long.as_bytes()).is_err());
        let text = topic(12, DeviceKind::Scanner, "checkout", Channel::Scan);
        assert_eq!(
            parse_topic(&text),
            Some((12, DeviceKind::Scanner, "checkout", Channel::Scan))
        );
        for bad in [
            "yizhan/v1/stations/x/door/front/cmd",
            "yizhan/v1/stations/1/fridge/front/cmd",
            "yizhan/v1/stations/1/door//cmd",
            "yizhan/v1/stations/1/door/front/cmd/extra",
            "other/1/door/front/cmd",
        ] {
            assert_eq!(parse_topic(bad), None, "{bad}");
        }
    }

    fn verdict(gate: &mut CommandGate, payload: &str, now_ms: u64) -> Verdict {
        gate.receive(&signed(payload.as_bytes()), now_ms)
            .expect("a signed command is answered")
    }

    #[test]
    fn unknown_ops_inapplicable_ops_and_broken_limits_are_acked_failed_with_a_reason() {
        let mut gate = gate();
        for (payload, reason) in [
            (
                r#"{"command_id":"u1","not_after_ms":9000,"op":"explode"}"#,
                "unknown_op: explode",
            ),
            (
                r#"{"command_id":"u2","not_after_ms":9000,"op":"all_off"}"#,
                "wrong_kind: a door device does not all_off",
            ),
            (
                r#"{"command_id":"u3","not_after_ms":9000,"op":"open","hold_ms":0}"#,
                "invalid: hold and duration",
            ),
            (
                r#"{"command_id":"u4","not_after_ms":9000,"server_ms":7001,"op":"open","hold_ms":10}"#,
                "clock_behind: the device's clock is 6001 ms behind",
            ),
        ] {
            let answer = verdict(&mut gate, payload, 1_000);
            assert_eq!(answer.outcome, Outcome::Failed, "{payload}");
            assert_eq!(answer.act, None);
            let said = answer.reason.unwrap_or_default();
            assert!(said.starts_with(reason), "{payload}: {said}");
        }
        // None of them was remembered: the id acts once it is right.
        let fixed = verdict(
            &mut gate,
            r#"{"command_id":"u3","not_after_ms":9000,"op":"open","hold_ms":10}"#,
            1_000,
        );
        assert_eq!(fixed.outcome, Outcome::Done);
        // A clock within the tolerated skew acts.
        let skewed = verdict(
            &mut gate,
            r#"{"command_id":"u5","not_after_ms":9000,"server_ms":6000,"op":"open","hold_ms":10}"#,
            1_000,
        );
        assert_eq!(skewed.act, Some(Operation::Open { hold_ms: 10 }));
    }

    #[test]
    fn unknown_fields_are_ignored_in_every_message() {
        let mut gate = gate();
        let answer = verdict(
            &mut gate,
            r#"{"command_id":"f1","not_after_ms":9000,"op":"open","hold_ms":10,"priority":"high","extra":{"a":[1]}}"#,
            1_000,
        );
        assert_eq!(answer.outcome, Outcome::Done);
        let ack = Ack::parse(
            br#"{"command_id":"f1","outcome":"failed","at_ms":5,"reason":"hardware: jammed","temperature_c":41}"#,
        )
        .unwrap();
        assert_eq!(ack.reason.as_deref(), Some("hardware: jammed"));
        assert!(ScanEvent::parse(br#"{"code":"SF1","at_ms":5,"symbology":"code128"}"#).is_ok());
        let state: DeviceState =
            serde_json::from_slice(br#"{"online":true,"open":false,"battery":93}"#).unwrap();
        assert!(state.online);
    }

    #[test]
    fn a_light_for_256_segments_fits_the_payload_limit_with_its_mac() {
        let light = Command {
            command_id: "x".repeat(COMMAND_ID_CHARS_MAX),
            not_after_ms: u64::MAX,
            server_ms: Some(u64::MAX),
            op: Operation::Light {
                colour: "#00ff7f".into(),
                segments: (SEGMENT_MAX - SEGMENTS_MAX as u32 + 1..=SEGMENT_MAX).collect(),
                duration_ms: HOLD_MS_MAX,
            },
        };
        let payload = light.to_payload();
        assert_eq!(Command::parse(&payload), Ok(light));
        let with_mac = payload.len() + auth::MAC_SUFFIX_BYTES - 1;
        assert!(
            with_mac < PAYLOAD_BYTES_MAX / 2,
            "{with_mac} bytes for the largest light command"
        );
    }

    #[test]
    fn a_restored_memory_turns_a_replay_after_a_restart_into_a_duplicate() {
        let mut before = gate();
        assert_eq!(before.admit(&open("r1", 9_000), 1_000), Outcome::Done);
        let saved = serde_json::to_string(&before.memory()).unwrap();
        let mut after = gate();
        after.restore(serde_json::from_str(&saved).unwrap());
        assert_eq!(after.admit(&open("r1", 9_000), 2_000), Outcome::Duplicate);
        // The memory keeps the most recent ids only.
        let many: Vec<Remembered> = (0..REMEMBERED_COMMANDS_MAX + 10)
            .map(|i| Remembered {
                command_id: format!("m{i}"),
                not_after_ms: 9_000,
            })
            .collect();
        after.restore(many);
        assert_eq!(after.memory().len(), REMEMBERED_COMMANDS_MAX);
        assert_eq!(after.admit(&open("m5", 9_000), 2_000), Outcome::Done);
        assert_eq!(
            after.admit(&open("m1033", 9_000), 2_000),
            Outcome::Duplicate
        );
    }

    #[test]
    fn a_vehicle_acts_on_its_own_signed_commands_and_refuses_a_door_s() {
        let server = auth::ServerDeviceKey::new(vec![1; 32]);
        let key = server.vehicle_key("uv-1");
        assert_ne!(key, server.vehicle_key("uv-2"), "a key per vehicle");
        assert_eq!(
            server.key_for_topic(&vehicle::command_topic("uv-1")),
            Some(key.clone())
        );
        let mut uv = CommandGate::for_vehicle(key.clone(), "uv-1");
        let sign = |key: &auth::CommandKey, vehicle: &str, body: &str| {
            auth::sign_command(key, &vehicle::command_topic(vehicle), body.as_bytes())
        };
        let pull_over = r#"{"command_id":"incident-7-pull_over","not_after_ms":5000,"server_ms":1000,"op":"pull_over"}"#;
        let verdict = uv.receive(&sign(&key, "uv-1", pull_over), 1_000).unwrap();
        assert_eq!(
            (verdict.outcome, verdict.act),
            (Outcome::Done, Some(Operation::PullOver))
        );
        let again = uv.receive(&sign(&key, "uv-1", pull_over), 1_500).unwrap();
        assert_eq!(again.outcome, Outcome::Duplicate);
        // Signed for another vehicle, or with another vehicle's key: dropped.
        let other = server.vehicle_key("uv-2");
        assert!(uv.receive(&sign(&other, "uv-2", pull_over), 1_000).is_err());
        assert!(uv.receive(&sign(&other, "uv-1", pull_over), 1_000).is_err());
        // Every vehicle operation parses and acts; a door's does not.
        for (id, body) in [
            ("a", r#""op":"start_mission","mission_id":42"#),
            ("b", r#""op":"stop""#),
            ("c", r#""op":"open_compartment","compartments":[1,3]"#),
            ("d", r#""op":"return_to_depot""#),
            ("e", r#""op":"slow_down","limit_kmh":20"#),
        ] {
            let command = format!(r#"{{"command_id":"{id}","not_after_ms":5000,{body}}}"#);
            let verdict = uv.receive(&sign(&key, "uv-1", &command), 1_000).unwrap();
            assert_eq!(verdict.outcome, Outcome::Done, "{command}");
        }
        for (id, body, reason) in [
            ("f", r#""op":"open","hold_ms":1000"#, reasons::WRONG_KIND),
            (
                "g",
                r#""op":"open_compartment","compartments":[65]"#,
                reasons::INVALID,
            ),
            (
                "h",
                r#""op":"open_compartment","compartments":[]"#,
                reasons::INVALID,
            ),
            ("i", r#""op":"slow_down","limit_kmh":0"#, reasons::INVALID),
            (
                "j",
                r#""op":"start_mission","mission_id":0"#,
                reasons::INVALID,
            ),
        ] {
            let command = format!(r#"{{"command_id":"{id}","not_after_ms":5000,{body}}}"#);
            let verdict = uv.receive(&sign(&key, "uv-1", &command), 1_000).unwrap();
            assert_eq!(verdict.outcome, Outcome::Failed, "{command}");
            assert!(verdict.reason.unwrap().starts_with(reason), "{command}");
        }
        // And a door refuses a vehicle's operation.
        let mut door = gate();
        let verdict = door
            .receive(
                &signed(br#"{"command_id":"k","not_after_ms":5000,"op":"pull_over"}"#),
                1_000,
            )
            .unwrap();
        assert!(verdict.reason.unwrap().starts_with(reasons::WRONG_KIND));
    }

    proptest! {
        #[test]
        fn each_id_acts_at_most_once_in_any_delivery_order(deliveries in prop::collection::vec((0u8..20, 0u64..100), 1..200)) {
            let mut gate = gate();
            let mut acted = HashSet::new();
            for (id, now) in deliveries {
                let command = open(&format!("c{id}"), 50);
                if gate.admit(&command, now) == Outcome::Done {
                    prop_assert!(now <= 50, "acted after not-after");
                    prop_assert!(acted.insert(id), "acted twice on c{}", id);
                }
            }
        }

        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = Command::parse(&bytes);
        }
    }
}

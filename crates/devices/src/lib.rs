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
pub mod mqtt;
pub mod sim;

use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};

/// Largest payload a device or the server accepts.
pub const PAYLOAD_BYTES_MAX: usize = 4 * 1024;
/// Most segments one light command may set.
pub const SEGMENTS_MAX: usize = 256;
/// How many recent command ids a device remembers for de-duplication.
pub const REMEMBERED_COMMANDS_MAX: usize = 1024;
/// Longest a door may be held open or a light lit by one command.
pub const HOLD_MS_MAX: u64 = 10 * 60 * 1000;

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
}

impl Channel {
    fn code(self) -> &'static str {
        match self {
            Channel::Command => "cmd",
            Channel::Ack => "ack",
            Channel::State => "state",
            Channel::Scan => "scan",
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
    #[serde(flatten)]
    pub op: Operation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Open the door, closing again after `hold_ms`.
    Open { hold_ms: u64 },
    /// Report state now.
    Status,
    /// Light these segments in these colours for `duration_ms`.
    Light {
        segments: Vec<Segment>,
        duration_ms: u64,
    },
    /// Turn these segments off.
    Off { segments: Vec<u32> },
    /// Turn every segment off.
    AllOff,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub segment: u32,
    /// `#rrggbb`.
    pub colour: String,
}

/// A device's answer to a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub command_id: String,
    pub outcome: Outcome,
    pub at_ms: u64,
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
    /// Could not act (hardware fault); the text says why.
    Failed,
}

fn check_colour(colour: &str) -> bool {
    colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl Command {
    /// Parses and checks a command payload.
    pub fn parse(payload: &[u8]) -> Result<Command, ProtocolError> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(ProtocolError::TooLarge(payload.len()));
        }
        let command: Command =
            serde_json::from_slice(payload).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        if command.command_id.is_empty() || command.command_id.len() > 64 {
            return Err(ProtocolError::Invalid(
                "command_id must be 1 to 64 characters".into(),
            ));
        }
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
            Operation::Light { segments, .. }
                if segments.iter().any(|s| !check_colour(&s.colour)) =>
            {
                return Err(ProtocolError::Invalid("colours are #rrggbb".into()));
            }
            Operation::Off { segments } if segments.len() > SEGMENTS_MAX => {
                return Err(ProtocolError::Invalid(format!(
                    "an off command names at most {SEGMENTS_MAX} segments"
                )));
            }
            _ => {}
        }
        Ok(command)
    }

    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("commands serialise")
    }
}

/// Longest scanned text accepted from a checkout scanner.
pub const SCAN_CHARS_MAX: usize = 128;

/// A checkout scanner's reading (`scan` channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// What the server reads from a device's retained `state` message. Every
/// field but `online` is optional, so devices built before a field existed
/// stay valid, and unknown fields are ignored so the state can grow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    pub online: bool,
    /// A door controller's physical door sensor, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<DoorSensor>,
    /// The device's model, as its maker names it (at most 64 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The device's firmware version (at most 64 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
}

/// Longest model or firmware text accepted in a state message.
pub const STATE_TEXT_CHARS_MAX: usize = 64;

/// What a door sensor reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorSensor {
    Open,
    Closed,
    /// Opened without a command (pried or a lock failure).
    Forced,
}

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
        _ => return None,
    };
    parts
        .next()
        .is_none()
        .then_some((station_id, kind, device_id, channel))
}

/// What every device runs before acting: checks the command's MAC under
/// the device's own key (a forged command, or one for another device, never
/// acts and gets no ack), refuses expired commands, and remembers recent
/// command ids so that a redelivered (or replayed) command acts once.
#[derive(Debug)]
pub struct CommandGate {
    key: auth::CommandKey,
    command_topic: String,
    seen: HashSet<String>,
    order: VecDeque<String>,
}

impl CommandGate {
    /// The gate of the device whose `cmd` topic is `command_topic`.
    pub fn new(key: auth::CommandKey, command_topic: &str) -> CommandGate {
        CommandGate {
            key,
            command_topic: command_topic.to_string(),
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Verifies, parses and admits a payload as it came from the broker.
    /// `Err` means drop it without an ack: it is not provably the server's.
    pub fn receive(
        &mut self,
        payload: &[u8],
        now_ms: u64,
    ) -> Result<(Command, Outcome), ProtocolError> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(ProtocolError::TooLarge(payload.len()));
        }
        let signed = auth::verify_command(&self.key, &self.command_topic, payload)
            .ok_or(ProtocolError::BadMac)?;
        let command = Command::parse(&signed)?;
        let outcome = self.admit(&command, now_ms);
        Ok((command, outcome))
    }

    /// Decides whether to act on an already verified `command` at `now_ms`.
    /// An expired command is not remembered: it never acts, however often
    /// it comes.
    fn admit(&mut self, command: &Command, now_ms: u64) -> Outcome {
        if self.seen.contains(&command.command_id) {
            return Outcome::Duplicate;
        }
        if now_ms > command.not_after_ms {
            return Outcome::Expired;
        }
        if self.order.len() == REMEMBERED_COMMANDS_MAX
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        self.seen.insert(command.command_id.clone());
        self.order.push_back(command.command_id.clone());
        Outcome::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gate() -> CommandGate {
        let key = auth::ServerDeviceKey::new(vec![1; 32]).device_key(1, DeviceKind::Door, "front");
        CommandGate::new(key, &topic(1, DeviceKind::Door, "front", Channel::Command))
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
            gate.receive(&signed, 1_000).map(|(_, o)| o),
            Ok(Outcome::Done)
        );
        assert_eq!(
            gate.receive(&signed, 1_500).map(|(_, o)| o),
            Ok(Outcome::Duplicate)
        );
    }

    fn open(id: &str, not_after_ms: u64) -> Command {
        Command {
            command_id: id.into(),
            not_after_ms,
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
            op: Operation::Light {
                segments: vec![Segment {
                    segment: 3,
                    colour: "#00ff7f".into(),
                }],
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
                r#"{"command_id":"x","not_after_ms":1,"op":"light","segments":[{"segment":1,"colour":"red"}],"duration_ms":5}"#,
                "colours",
            ),
            (
                r#"{"command_id":"x","not_after_ms":1,"op":"explode"}"#,
                "not a valid message",
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

//! Kiosks on the bus (寄件宝, issue 14, `docs/devices.md`, "Kiosks"): a
//! kiosk's controller, scale, drop-bin sensor, camera and printer speak
//! protocol 1.0 on `yizhan/v1/kiosks/{kiosk}/{kind}/{device}/{channel}`:
//! retained `state` with `online` (the controller's last will is the
//! kiosk's heartbeat), the scale's `weight`, the bin's `drop`, and signed
//! commands (`capture`, `print_label`) acknowledged on `ack` exactly as a
//! station's door. Pure: topics, messages and their limits; the bridge
//! hands good messages to `app::kiosk_devices`, which decides what they
//! mean.

use crate::{PAYLOAD_BYTES_MAX, ProtocolError, STATE_TEXT_CHARS_MAX};
use serde::{Deserialize, Serialize};

/// What the bridge subscribes to (never `cmd`: the server's own commands
/// would come back to it).
pub const STATE_FILTER: &str = "yizhan/v1/kiosks/+/+/+/state";
pub const ACK_FILTER: &str = "yizhan/v1/kiosks/+/+/+/ack";
pub const WEIGHT_FILTER: &str = "yizhan/v1/kiosks/+/scale/+/weight";
pub const DROP_FILTER: &str = "yizhan/v1/kiosks/+/bin/+/drop";
/// `device_kind` of a kiosk device's rows in the devices' outbox; their
/// `device_id` is `{kiosk}/{kind}/{device}`.
pub const DEVICE_KIND: &str = app::kiosk_devices::COMMAND_DEVICE_KIND;
/// Heaviest reading a scale reports (the tariff's heaviest item is less).
pub const WEIGHT_GRAMS_MAX: u32 = app::kiosk_devices::WEIGHT_GRAMS_MAX;
/// Longest `ref` a bin reports (an order number or a waybill).
pub const DROP_REF_CHARS_MAX: usize = app::kiosk_devices::DROP_REF_CHARS_MAX;
/// Longest label a `print_label` carries: with the rest of the command and
/// its MAC it stays under the payload limit.
pub const ZPL_BYTES_MAX: usize = app::sending::kiosk::ZPL_BYTES_MAX;

/// A kiosk's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KioskKind {
    /// The kiosk's computer: its screen and the connection the others share.
    Controller,
    Scale,
    Bin,
    Camera,
    Printer,
}

impl KioskKind {
    pub const ALL: [KioskKind; 5] = [
        KioskKind::Controller,
        KioskKind::Scale,
        KioskKind::Bin,
        KioskKind::Camera,
        KioskKind::Printer,
    ];

    pub fn code(self) -> &'static str {
        match self {
            KioskKind::Controller => "controller",
            KioskKind::Scale => "scale",
            KioskKind::Bin => "bin",
            KioskKind::Camera => "camera",
            KioskKind::Printer => "printer",
        }
    }

    pub fn parse(code: &str) -> Option<KioskKind> {
        KioskKind::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// Whether the server sends this kind commands (and it acks them).
    pub fn takes_commands(self) -> bool {
        matches!(self, KioskKind::Camera | KioskKind::Printer)
    }
}

/// What a kiosk topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KioskChannel {
    Command,
    Ack,
    State,
    /// Scale to server: a settled reading.
    Weight,
    /// Bin to server: an item went in.
    Drop,
}

impl KioskChannel {
    pub fn code(self) -> &'static str {
        match self {
            KioskChannel::Command => "cmd",
            KioskChannel::Ack => "ack",
            KioskChannel::State => "state",
            KioskChannel::Weight => "weight",
            KioskChannel::Drop => "drop",
        }
    }
}

/// `yizhan/v1/kiosks/{kiosk}/{kind}/{device}/{channel}`.
pub fn topic(kiosk: &str, kind: KioskKind, device: &str, channel: KioskChannel) -> String {
    format!(
        "yizhan/v1/kiosks/{kiosk}/{}/{device}/{}",
        kind.code(),
        channel.code()
    )
}

/// The kiosk, kind, device and channel a topic names.
pub fn parse_topic(topic: &str) -> Option<(&str, KioskKind, &str, KioskChannel)> {
    let mut parts = topic.strip_prefix("yizhan/v1/kiosks/")?.split('/');
    let kiosk = parts.next().filter(|code| code_ok(code))?;
    let kind = KioskKind::parse(parts.next()?)?;
    let device = parts
        .next()
        .filter(|id| app::device_registry::device_id_valid(id))?;
    let channel = match parts.next()? {
        "cmd" => KioskChannel::Command,
        "ack" => KioskChannel::Ack,
        "state" => KioskChannel::State,
        "weight" => KioskChannel::Weight,
        "drop" => KioskChannel::Drop,
        _ => return None,
    };
    parts
        .next()
        .is_none()
        .then_some((kiosk, kind, device, channel))
}

/// A kiosk's code as topics carry it: the fleet's code (1–24 of `A-Z`,
/// `0-9`, `-`).
fn code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 24
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// The outbox's `device_id` of a kiosk device: `{kiosk}/{kind}/{device}`.
pub fn command_device_id(kiosk: &str, kind: KioskKind, device: &str) -> String {
    format!("{kiosk}/{}/{device}", kind.code())
}

/// The kiosk, kind and device of an outbox `device_id`.
pub fn parse_command_device_id(device_id: &str) -> Option<(&str, KioskKind, &str)> {
    let mut parts = device_id.split('/');
    let kiosk = parts.next().filter(|code| code_ok(code))?;
    let kind = KioskKind::parse(parts.next()?)?;
    let device = parts
        .next()
        .filter(|id| app::device_registry::device_id_valid(id))?;
    parts.next().is_none().then_some((kiosk, kind, device))
}

/// The broker login of a kiosk: `yizhan-k-{kiosk}` (its devices share the
/// controller's connection).
pub fn kiosk_username(kiosk: &str) -> String {
    format!("yizhan-k-{kiosk}")
}

/// The ACL block of one kiosk: it writes its devices' `state`, the scale's
/// `weight`, the bin's `drop` and the camera's and printer's `ack`, and
/// reads the camera's and printer's `cmd`.
pub fn kiosk_acl(kiosk: &str, device: &str) -> String {
    let mut lines = vec![format!("user {}", kiosk_username(kiosk))];
    for kind in KioskKind::ALL {
        lines.push(format!(
            "topic write {}",
            topic(kiosk, kind, device, KioskChannel::State)
        ));
        match kind {
            KioskKind::Scale => lines.push(format!(
                "topic write {}",
                topic(kiosk, kind, device, KioskChannel::Weight)
            )),
            KioskKind::Bin => lines.push(format!(
                "topic write {}",
                topic(kiosk, kind, device, KioskChannel::Drop)
            )),
            KioskKind::Camera | KioskKind::Printer => {
                lines.push(format!(
                    "topic read {}",
                    topic(kiosk, kind, device, KioskChannel::Command)
                ));
                lines.push(format!(
                    "topic write {}",
                    topic(kiosk, kind, device, KioskChannel::Ack)
                ));
            }
            KioskKind::Controller => {}
        }
    }
    lines.join("\n") + "\n"
}

// The server's own ACL lines for every kiosk are in `auth::server_acl`.

fn check_size(payload: &[u8]) -> Result<(), ProtocolError> {
    if payload.len() > PAYLOAD_BYTES_MAX {
        return Err(ProtocolError::TooLarge(payload.len()));
    }
    Ok(())
}

fn printable(text: &str, max: usize) -> bool {
    let n = text.chars().count();
    n > 0 && n <= max && !text.chars().any(char::is_control)
}

/// What the printer says about its paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Paper {
    Ok,
    Low,
    Out,
}

impl Paper {
    pub fn code(self) -> &'static str {
        match self {
            Paper::Ok => "ok",
            Paper::Low => "low",
            Paper::Out => "out",
        }
    }
}

/// A kiosk device's retained `state`. Only `online` is required; unknown
/// members are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KioskState {
    pub online: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// Bin: how full it is, 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_pct: Option<u8>,
    /// Bin: its sensor says nothing more fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<bool>,
    /// Printer: its paper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<Paper>,
}

impl KioskState {
    pub fn parse(payload: &[u8]) -> Result<KioskState, ProtocolError> {
        check_size(payload)?;
        let state: KioskState =
            serde_json::from_slice(payload).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        for text in [&state.model, &state.firmware].into_iter().flatten() {
            if !printable(text, STATE_TEXT_CHARS_MAX) {
                return Err(ProtocolError::Invalid(format!(
                    "model and firmware have 1 to {STATE_TEXT_CHARS_MAX} printable characters"
                )));
            }
        }
        if state.fill_pct.is_some_and(|pct| pct > 100) {
            return Err(ProtocolError::Invalid("fill_pct is 0 to 100".into()));
        }
        Ok(state)
    }
}

/// The scale's reading (`weight`): published when the reading settles at a
/// new value, and with `stable: false` when it starts moving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightReading {
    pub grams: u32,
    pub stable: bool,
    pub at_ms: u64,
}

impl WeightReading {
    pub fn parse(payload: &[u8]) -> Result<WeightReading, ProtocolError> {
        check_size(payload)?;
        let reading: WeightReading =
            serde_json::from_slice(payload).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        if reading.grams > WEIGHT_GRAMS_MAX {
            return Err(ProtocolError::Invalid(format!(
                "grams is 0 to {WEIGHT_GRAMS_MAX}"
            )));
        }
        Ok(reading)
    }
}

/// The bin's report of an item dropped in (`drop`): the `ref` its reader
/// took from the label (the waybill number) or the order's number, and how
/// full the bin is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinDrop {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_pct: Option<u8>,
    pub at_ms: u64,
}

impl BinDrop {
    pub fn parse(payload: &[u8]) -> Result<BinDrop, ProtocolError> {
        check_size(payload)?;
        let drop: BinDrop =
            serde_json::from_slice(payload).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        if !printable(&drop.reference, DROP_REF_CHARS_MAX) {
            return Err(ProtocolError::Invalid(format!(
                "ref has 1 to {DROP_REF_CHARS_MAX} printable characters"
            )));
        }
        if drop.fill_pct.is_some_and(|pct| pct > 100) {
            return Err(ProtocolError::Invalid("fill_pct is 0 to 100".into()));
        }
        Ok(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_topics_parse_back_and_bad_ones_do_not() {
        let text = topic("JJB-0001", KioskKind::Scale, "main", KioskChannel::Weight);
        assert_eq!(text, "yizhan/v1/kiosks/JJB-0001/scale/main/weight");
        assert_eq!(
            parse_topic(&text),
            Some(("JJB-0001", KioskKind::Scale, "main", KioskChannel::Weight))
        );
        for bad in [
            "yizhan/v1/kiosks/jjb-1/scale/main/weight",
            "yizhan/v1/kiosks/JJB-1/fridge/main/state",
            "yizhan/v1/kiosks/JJB-1/scale//state",
            "yizhan/v1/kiosks/JJB-1/scale/main/state/x",
            "yizhan/v1/kiosks/+/scale/main/state",
        ] {
            assert_eq!(parse_topic(bad), None, "{bad}");
        }
        assert_eq!(
            parse_command_device_id(&command_device_id("K-1", KioskKind::Printer, "main")),
            Some(("K-1", KioskKind::Printer, "main"))
        );
    }

    #[test]
    fn kiosk_messages_hold_their_limits() {
        assert_eq!(
            WeightReading::parse(br#"{"grams":812,"stable":true,"at_ms":5,"tare":0}"#)
                .unwrap()
                .grams,
            812
        );
        assert!(WeightReading::parse(br#"{"grams":100001,"stable":true,"at_ms":5}"#).is_err());
        assert!(WeightReading::parse(br#"{"grams":-1,"stable":true,"at_ms":5}"#).is_err());
        let drop = BinDrop::parse(br#"{"ref":"EA000000001CN","fill_pct":40,"at_ms":5}"#).unwrap();
        assert_eq!(drop.reference, "EA000000001CN");
        assert!(BinDrop::parse(br#"{"ref":"","at_ms":5}"#).is_err());
        assert!(BinDrop::parse(br#"{"ref":"a","fill_pct":101,"at_ms":5}"#).is_err());
        let state = KioskState::parse(br#"{"online":true,"paper":"out","extra":1}"#).unwrap();
        assert_eq!(state.paper, Some(Paper::Out));
        assert!(KioskState::parse(br#"{"online":true,"fill_pct":120}"#).is_err());
        assert!(KioskState::parse(&vec![b' '; PAYLOAD_BYTES_MAX + 1]).is_err());
    }

    #[test]
    fn a_kiosk_may_write_only_its_own_topics() {
        let acl = kiosk_acl("JJB-0001", "main");
        assert!(acl.starts_with("user yizhan-k-JJB-0001\n"));
        assert!(acl.contains("topic read yizhan/v1/kiosks/JJB-0001/printer/main/cmd\n"));
        assert!(acl.contains("topic write yizhan/v1/kiosks/JJB-0001/bin/main/drop\n"));
        assert!(!acl.contains("topic write yizhan/v1/kiosks/JJB-0001/printer/main/cmd"));
        assert!(!acl.contains('+'));
    }
}

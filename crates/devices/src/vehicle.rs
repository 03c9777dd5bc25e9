//! Vehicles on the bus (issue 20, `docs/devices.md`, "Vehicles"): the
//! telemetry topic and message a van's tracker or an unmanned vehicle
//! publishes at its set rate, with their limits. Pure; the bridge hands each
//! good message to the fleet's rules (`App::ingest_telemetry`) through a
//! channel and decides nothing.

use crate::PAYLOAD_BYTES_MAX;
use serde::{Deserialize, Serialize};

/// What the bridge subscribes to.
pub const TELEMETRY_FILTER: &str = "yizhan/v1/vehicles/+/telemetry";
/// Every vehicle's acknowledgements of the server's commands.
pub const ACK_FILTER: &str = "yizhan/v1/vehicles/+/ack";
/// `device_kind` of a vehicle's rows in the devices' outbox
/// (`device_commands`); their `device_id` is the vehicle's code.
pub const DEVICE_KIND: &str = app::fleet::VEHICLE_DEVICE_KIND;
/// Longest vehicle code (`app::fleet`'s limit).
pub const VEHICLE_CODE_CHARS_MAX: usize = 16;
pub const COMPARTMENTS_MAX: usize = 64;
pub const SPEED_KMH_MAX: f64 = 300.0;

/// `yizhan/v1/vehicles/{vehicle}/telemetry`.
pub fn telemetry_topic(vehicle: &str) -> String {
    format!("yizhan/v1/vehicles/{vehicle}/telemetry")
}

/// `yizhan/v1/vehicles/{vehicle}/cmd`: the server's signed commands.
pub fn command_topic(vehicle: &str) -> String {
    format!("yizhan/v1/vehicles/{vehicle}/cmd")
}

/// `yizhan/v1/vehicles/{vehicle}/ack`: the vehicle's acknowledgements.
pub fn ack_topic(vehicle: &str) -> String {
    format!("yizhan/v1/vehicles/{vehicle}/ack")
}

/// The vehicle a command topic names.
pub fn parse_command_topic(topic: &str) -> Option<&str> {
    let code = topic
        .strip_prefix("yizhan/v1/vehicles/")?
        .strip_suffix("/cmd")?;
    code_ok(code).then_some(code)
}

/// The vehicle an ack topic names.
pub fn parse_ack_topic(topic: &str) -> Option<&str> {
    let code = topic
        .strip_prefix("yizhan/v1/vehicles/")?
        .strip_suffix("/ack")?;
    code_ok(code).then_some(code)
}

/// The broker login of a vehicle: `yizhan-v-{vehicle}`.
pub fn vehicle_username(vehicle: &str) -> String {
    format!("yizhan-v-{vehicle}")
}

/// The ACL block of one vehicle: it reads its own commands and writes only
/// its own telemetry and acks.
pub fn vehicle_acl(vehicle: &str) -> String {
    format!(
        "user {}\ntopic read {}\ntopic write {}\ntopic write {}\n",
        vehicle_username(vehicle),
        command_topic(vehicle),
        telemetry_topic(vehicle),
        ack_topic(vehicle)
    )
}

fn code_ok(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= VEHICLE_CODE_CHARS_MAX
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The vehicle a telemetry topic names.
pub fn parse_telemetry_topic(topic: &str) -> Option<&str> {
    let code = topic
        .strip_prefix("yizhan/v1/vehicles/")?
        .strip_suffix("/telemetry")?;
    code_ok(code).then_some(code)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompartmentState {
    Closed,
    Open,
    Jammed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompartmentReport {
    pub n: u32,
    pub state: CompartmentState,
}

/// One telemetry message. Unknown members are ignored, as everywhere in
/// the protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleTelemetry {
    pub at_ms: i64,
    pub lon: f64,
    pub lat: f64,
    pub speed_kmh: f64,
    pub heading_deg: f64,
    pub battery_pct: f64,
    #[serde(default)]
    pub compartments: Vec<CompartmentReport>,
    #[serde(default)]
    pub faults: Vec<String>,
    #[serde(default)]
    pub emergency_stop: bool,
    /// The vehicle's own message counter, for its logs.
    #[serde(default)]
    pub seq: Option<u64>,
}

impl VehicleTelemetry {
    /// Reads and checks a payload against the protocol's limits.
    pub fn parse(payload: &[u8]) -> Result<VehicleTelemetry, String> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(format!("payload over {PAYLOAD_BYTES_MAX} bytes"));
        }
        let message: VehicleTelemetry =
            serde_json::from_slice(payload).map_err(|e| format!("not telemetry: {e}"))?;
        let position = domain::fleet::LonLat::new(message.lon, message.lat);
        if !position.is_valid() {
            return Err("lon/lat out of range".into());
        }
        if !(0.0..=SPEED_KMH_MAX).contains(&message.speed_kmh)
            || !(0.0..360.0).contains(&message.heading_deg)
            || !(0.0..=100.0).contains(&message.battery_pct)
            || message.at_ms < 0
        {
            return Err("speed, heading, battery or time out of range".into());
        }
        if message.compartments.len() > COMPARTMENTS_MAX
            || message
                .compartments
                .iter()
                .any(|c| !(1..=COMPARTMENTS_MAX as u32).contains(&c.n))
        {
            return Err("compartments: at most 64, numbered 1 to 64".into());
        }
        let fault_ok = |fault: &String| {
            !fault.is_empty()
                && fault.len() <= domain::fleet::rules::FAULT_CHARS_MAX
                && fault
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if message.faults.len() > domain::fleet::rules::FAULTS_MAX
            || !message.faults.iter().all(fault_ok)
        {
            return Err("faults: at most 16 codes of a-z, 0-9 and _".into());
        }
        Ok(message)
    }

    /// The message as the safe-driving rules read it: a jammed compartment
    /// is a fault (`compartment_jam`) even when the vehicle does not list it.
    pub fn to_rules(&self) -> domain::fleet::Telemetry {
        let mut faults = self.faults.clone();
        if self
            .compartments
            .iter()
            .any(|c| c.state == CompartmentState::Jammed)
            && !faults.iter().any(|f| f == "compartment_jam")
        {
            faults.push("compartment_jam".into());
        }
        domain::fleet::Telemetry {
            at_ms: self.at_ms,
            position: domain::fleet::LonLat::new(self.lon, self.lat),
            speed_kmh: self.speed_kmh,
            battery_pct: self.battery_pct,
            faults,
            emergency_stop: self.emergency_stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_one_vehicle() {
        assert_eq!(telemetry_topic("uv-1"), "yizhan/v1/vehicles/uv-1/telemetry");
        assert_eq!(
            parse_telemetry_topic("yizhan/v1/vehicles/uv-1/telemetry"),
            Some("uv-1")
        );
        assert_eq!(
            parse_telemetry_topic("yizhan/v1/vehicles/UV/telemetry"),
            None
        );
        assert_eq!(
            parse_telemetry_topic("yizhan/v1/vehicles/a/b/telemetry"),
            None
        );
        assert_eq!(parse_telemetry_topic("yizhan/v1/vehicles//telemetry"), None);
        assert_eq!(command_topic("uv-1"), "yizhan/v1/vehicles/uv-1/cmd");
        assert_eq!(parse_command_topic(&command_topic("uv-1")), Some("uv-1"));
        assert_eq!(parse_ack_topic(&ack_topic("uv-1")), Some("uv-1"));
        assert_eq!(parse_ack_topic(&command_topic("uv-1")), None);
        assert_eq!(parse_ack_topic("yizhan/v1/vehicles/UV/ack"), None);
        assert!(vehicle_acl("uv-1").contains("topic read yizhan/v1/vehicles/uv-1/cmd\n"));
    }

    #[test]
    fn telemetry_is_checked_and_a_jam_is_a_fault() {
        let good = br#"{"at_ms":1780000001000,"lon":119.05,"lat":29.05,"speed_kmh":24.5,"heading_deg":87,"battery_pct":76.5,
            "compartments":[{"n":1,"state":"closed"},{"n":2,"state":"jammed"}],"faults":[],"emergency_stop":false,"extra":1}"#;
        let message = VehicleTelemetry::parse(good).unwrap();
        assert_eq!(message.to_rules().faults, ["compartment_jam"]);
        for bad in [
            &br#"{"at_ms":1,"lon":190,"lat":29,"speed_kmh":1,"heading_deg":0,"battery_pct":5}"#[..],
            br#"{"at_ms":1,"lon":119,"lat":29,"speed_kmh":-1,"heading_deg":0,"battery_pct":5}"#,
            br#"{"at_ms":1,"lon":119,"lat":29,"speed_kmh":1,"heading_deg":0,"battery_pct":101}"#,
            br#"{"at_ms":1,"lon":119,"lat":29,"speed_kmh":1,"heading_deg":0,"battery_pct":5,"faults":["Bad Fault"]}"#,
            br#"{"at_ms":1,"lon":119,"lat":29}"#,
            b"not json",
        ] {
            assert!(VehicleTelemetry::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(VehicleTelemetry::parse(&vec![b' '; PAYLOAD_BYTES_MAX + 1]).is_err());
    }
}

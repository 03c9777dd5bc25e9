//! Who may command a device and who may speak for one.
//!
//! - **Command MACs.** Every command the server publishes ends with
//!   `,"mac":"<64 hex>"}`: HMAC-SHA256 under the addressed device's own key
//!   over `yizhan/v1 cmd\n{topic}\n{command}` where `{command}` is the payload
//!   with that suffix cut off and `}` put back, byte for byte. The topic binds
//!   the MAC to one device; the command bytes carry the command id (the
//!   gate's replay memory), the not-after time and the operation. A device
//!   needs no JSON canonicalisation to check it: the suffix has a fixed length.
//! - **Per-device keys** are derived, not stored: `HMAC-SHA256(server device
//!   key, "yizhan device command key v1\n{station}/{kind}/{device}")`. The
//!   server keeps one secret (`server_secrets.devices`) and can sign for any
//!   device; a device holds only its own key, so a device taken apart
//!   forges commands for nothing but itself.
//! - **Broker logins** are random per device; the broker holds only their
//!   PBKDF2-SHA512 hash in Mosquitto's `$7$` password-file format, and an
//!   ACL that lets a device publish only on its own topics.
//!
//! Pure except for the `provision_*` functions, which draw passwords and
//! salts from the operating system's random source.

use crate::{Channel, DeviceKind, topic};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Sha256, Sha512};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of a command key and of the server's device key.
pub const KEY_BYTES: usize = 32;
const MAC_PREFIX: &[u8] = b",\"mac\":\"";
const MAC_HEX: usize = 64;
/// `,"mac":"` + 64 hex digits + `"}`.
pub const MAC_SUFFIX_BYTES: usize = MAC_PREFIX.len() + MAC_HEX + 2;

/// One device's command key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandKey([u8; KEY_BYTES]);

impl std::fmt::Debug for CommandKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommandKey(redacted)")
    }
}

impl CommandKey {
    pub fn from_hex(text: &str) -> Option<CommandKey> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(CommandKey(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The key's bytes (a kiosk camera signs its photo uploads with them).
    pub fn bytes(&self) -> [u8; KEY_BYTES] {
        self.0
    }

    fn mac(&self, topic: &str, command: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"yizhan/v1 cmd\n");
        mac.update(topic.as_bytes());
        mac.update(b"\n");
        mac.update(command);
        mac
    }
}

/// The server's secret from which every device's command key is derived.
#[derive(Clone)]
pub struct ServerDeviceKey(Vec<u8>);

impl std::fmt::Debug for ServerDeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerDeviceKey(redacted)")
    }
}

impl ServerDeviceKey {
    pub fn new(bytes: Vec<u8>) -> ServerDeviceKey {
        ServerDeviceKey(bytes)
    }

    /// A fresh random key (benchmarks, tests; the server keeps its own in
    /// `server_secrets`).
    pub fn random() -> ServerDeviceKey {
        let mut key = vec![0u8; KEY_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        ServerDeviceKey(key)
    }

    /// The command key of one device.
    pub fn device_key(&self, station_id: i64, kind: DeviceKind, device_id: &str) -> CommandKey {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(
            format!(
                "yizhan device command key v1\n{station_id}/{}/{device_id}",
                kind.code()
            )
            .as_bytes(),
        );
        let bytes = mac.finalize().into_bytes();
        CommandKey(
            bytes
                .as_slice()
                .try_into()
                .expect("HMAC-SHA256 is 32 bytes"),
        )
    }

    /// The command key of one vehicle (issue 20): derived like a station
    /// device's, from `vehicle/{code}`, which no station device's path can
    /// be (a station's is `{number}/{kind}/{id}`).
    pub fn vehicle_key(&self, vehicle: &str) -> CommandKey {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("yizhan device command key v1\nvehicle/{vehicle}").as_bytes());
        let bytes = mac.finalize().into_bytes();
        CommandKey(
            bytes
                .as_slice()
                .try_into()
                .expect("HMAC-SHA256 is 32 bytes"),
        )
    }

    /// The command key of one kiosk device (issue 14):
    /// `kiosk/{kiosk}/{kind}/{device}` (`app::kiosk_devices::device_key`,
    /// which also checks the camera's photo uploads).
    pub fn kiosk_key(
        &self,
        kiosk: &str,
        kind: crate::kiosk::KioskKind,
        device: &str,
    ) -> CommandKey {
        CommandKey(app::kiosk_devices::device_key(
            &self.0,
            kiosk,
            kind.code(),
            device,
        ))
    }

    /// The key of the device (or vehicle) whose `cmd` topic this is.
    pub fn key_for_topic(&self, command_topic: &str) -> Option<CommandKey> {
        if let Some((kiosk, kind, device, crate::kiosk::KioskChannel::Command)) =
            crate::kiosk::parse_topic(command_topic)
        {
            return Some(self.kiosk_key(kiosk, kind, device));
        }
        if let Some(vehicle) = crate::vehicle::parse_command_topic(command_topic) {
            return Some(self.vehicle_key(vehicle));
        }
        let (station_id, kind, device_id, Channel::Command) = crate::parse_topic(command_topic)?
        else {
            return None;
        };
        Some(self.device_key(station_id, kind, device_id))
    }
}

/// `command` (a JSON object's bytes, ending in `}`) with its MAC appended as
/// the last member.
pub fn sign_command(key: &CommandKey, command_topic: &str, command: &[u8]) -> Vec<u8> {
    let tag = hex::encode(key.mac(command_topic, command).finalize().into_bytes());
    let body = command.strip_suffix(b"}").unwrap_or(command);
    let mut signed = Vec::with_capacity(command.len() + MAC_SUFFIX_BYTES);
    signed.extend_from_slice(body);
    signed.extend_from_slice(MAC_PREFIX);
    signed.extend_from_slice(tag.as_bytes());
    signed.extend_from_slice(b"\"}");
    signed
}

/// The signed command bytes of `payload` if its MAC is right for this
/// device and topic; `None` for anything else (no MAC, a bad one, another
/// device's). Compared in constant time.
pub fn verify_command(key: &CommandKey, command_topic: &str, payload: &[u8]) -> Option<Vec<u8>> {
    if payload.len() < MAC_SUFFIX_BYTES + 1 {
        return None;
    }
    let (body, suffix) = payload.split_at(payload.len() - MAC_SUFFIX_BYTES);
    let hex_tag = suffix.strip_prefix(MAC_PREFIX)?.strip_suffix(b"\"}")?;
    let tag = hex::decode(hex_tag).ok()?;
    let mut command = body.to_vec();
    command.push(b'}');
    key.mac(command_topic, &command)
        .verify_slice(&tag)
        .ok()
        .map(|()| command)
}

/// Mosquitto's password-file hash (`$7$`: PBKDF2-SHA512, 101 iterations, a
/// 12-byte salt, base64), as `mosquitto_passwd` writes it (Mosquitto 2.0).
pub fn mosquitto_hash(password: &str, salt: &[u8; 12]) -> String {
    const ITERATIONS: u32 = 101;
    let mut hash = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt, ITERATIONS, &mut hash);
    let b64 = base64::engine::general_purpose::STANDARD;
    format!("$7${ITERATIONS}${}${}", b64.encode(salt), b64.encode(hash))
}

/// The broker login of a device: `yizhan-s{station}-{kind}-{device}`.
pub fn device_username(station_id: i64, kind: DeviceKind, device_id: &str) -> String {
    format!("yizhan-s{station_id}-{}-{device_id}", kind.code())
}

/// The ACL block of one device: it reads its own commands (door, lights) and
/// writes only its own acks and state (and scans, for a scanner).
pub fn device_acl(station_id: i64, kind: DeviceKind, device_id: &str) -> String {
    let mut lines = vec![format!(
        "user {}",
        device_username(station_id, kind, device_id)
    )];
    let own = |channel| topic(station_id, kind, device_id, channel);
    match kind {
        DeviceKind::Scanner => {
            lines.push(format!("topic write {}", own(Channel::Scan)));
            lines.push(format!("topic write {}", own(Channel::State)));
        }
        DeviceKind::Door | DeviceKind::Lights => {
            lines.push(format!("topic read {}", own(Channel::Command)));
            if kind == DeviceKind::Lights {
                lines.push(format!("topic read {}", own(Channel::Config)));
            }
            lines.push(format!("topic write {}", own(Channel::Ack)));
            lines.push(format!("topic write {}", own(Channel::State)));
        }
    }
    lines.join("\n") + "\n"
}

/// The ACL block of the server's own login: the only client that may
/// publish commands.
pub fn server_acl(username: &str) -> String {
    format!(
        "user {username}\n\
         topic write yizhan/v1/stations/+/door/+/cmd\n\
         topic write yizhan/v1/stations/+/lights/+/cmd\n\
         topic write yizhan/v1/stations/+/lights/+/config\n\
         topic readwrite yizhan/v1/stations/+/+/+/ack\n\
         topic readwrite yizhan/v1/stations/+/+/+/state\n\
         topic read yizhan/v1/stations/+/scanner/+/scan\n\
         topic read yizhan/v1/vehicles/+/telemetry\n\
         topic write yizhan/v1/vehicles/+/cmd\n\
         topic read yizhan/v1/vehicles/+/ack\n\
         topic write yizhan/v1/kiosks/+/camera/+/cmd\n\
         topic write yizhan/v1/kiosks/+/printer/+/cmd\n\
         topic readwrite yizhan/v1/kiosks/+/+/+/ack\n\
         topic readwrite yizhan/v1/kiosks/+/+/+/state\n\
         topic read yizhan/v1/kiosks/+/scale/+/weight\n\
         topic read yizhan/v1/kiosks/+/bin/+/drop\n"
    )
}

/// What a device (or the simulator) needs: its login, its command key and
/// where the broker is. Written by `yizhan devices provision`.
#[derive(Clone, Serialize, Deserialize)]
pub struct DeviceCredentials {
    pub kind: DeviceKind,
    pub device_id: String,
    pub username: String,
    pub password: String,
    /// Hex; verifies the server's commands (door and lights only).
    pub command_key: String,
}

impl std::fmt::Debug for DeviceCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DeviceCredentials({} {}, redacted)",
            self.username, self.device_id
        )
    }
}

/// A station's provisioning file: every device's credentials and the broker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StationCredentials {
    pub station_id: i64,
    pub mqtt_url: String,
    /// The CA certificate (PEM) that signed the broker's certificate, for
    /// `mqtts://` brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    pub devices: Vec<DeviceCredentials>,
}

impl StationCredentials {
    pub fn device(&self, kind: DeviceKind) -> Option<&DeviceCredentials> {
        self.devices.iter().find(|device| device.kind == kind)
    }
}

/// A random login password: 24 bytes, URL-safe base64 (32 characters).
pub fn random_password(bytes: &[u8; 24]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Credentials for one device, with its `password_file` line.
pub fn provision_device(
    server: &ServerDeviceKey,
    station_id: i64,
    kind: DeviceKind,
    device_id: &str,
    password_bytes: &[u8; 24],
    salt: &[u8; 12],
) -> (DeviceCredentials, String) {
    let username = device_username(station_id, kind, device_id);
    let password = random_password(password_bytes);
    let line = format!("{username}:{}", mosquitto_hash(&password, salt));
    let credentials = DeviceCredentials {
        kind,
        device_id: device_id.to_string(),
        username,
        password,
        command_key: server.device_key(station_id, kind, device_id).to_hex(),
    };
    (credentials, line)
}

/// A station's door, lights and scanner provisioned at once, with fresh
/// random passwords: the credentials file for its controller, the
/// password-file lines and the ACL lines for the broker.
pub fn provision_station(
    server: &ServerDeviceKey,
    station_id: i64,
    mqtt_url: &str,
    ca_pem: Option<String>,
    [door, lights, scanner]: [&str; 3],
) -> (StationCredentials, String, String) {
    let mut devices = Vec::new();
    let mut password_lines = String::new();
    let mut acl = String::new();
    for (kind, device_id) in [
        (DeviceKind::Door, door),
        (DeviceKind::Lights, lights),
        (DeviceKind::Scanner, scanner),
    ] {
        let (credentials, line) =
            provision_device(server, station_id, kind, device_id, &random(), &random());
        password_lines.push_str(&line);
        password_lines.push('\n');
        acl.push_str(&device_acl(station_id, kind, device_id));
        acl.push('\n');
        devices.push(credentials);
    }
    let credentials = StationCredentials {
        station_id,
        mqtt_url: mqtt_url.to_string(),
        ca_pem,
        devices,
    };
    (credentials, password_lines, acl)
}

/// The server's own login: its password, password-file line and ACL lines.
pub fn provision_server(username: &str) -> (String, String, String) {
    let password = random_password(&random());
    let line = format!("{username}:{}", mosquitto_hash(&password, &random()));
    (password, line, server_acl(username))
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> ServerDeviceKey {
        ServerDeviceKey::new(vec![7; 32])
    }

    #[test]
    fn a_signed_command_verifies_only_for_its_device_and_bytes() {
        let door = topic(1, DeviceKind::Door, "front", Channel::Command);
        let other = topic(2, DeviceKind::Door, "front", Channel::Command);
        let key = server().device_key(1, DeviceKind::Door, "front");
        let command = br#"{"command_id":"c1","not_after_ms":5,"op":"open","hold_ms":5000}"#;
        let signed = sign_command(&key, &door, command);
        assert!(signed.ends_with(b"\"}"));
        assert_eq!(
            verify_command(&key, &door, &signed).as_deref(),
            Some(&command[..])
        );
        // Another device's topic, another device's key, a changed byte,
        // no MAC: all refused.
        assert_eq!(verify_command(&key, &other, &signed), None);
        let key2 = server().device_key(2, DeviceKind::Door, "front");
        assert_eq!(verify_command(&key2, &door, &signed), None);
        let mut tampered = signed.clone();
        let at = tampered.iter().position(|b| *b == b'5').unwrap();
        tampered[at] = b'9';
        assert_eq!(verify_command(&key, &door, &tampered), None);
        assert_eq!(verify_command(&key, &door, command), None);
        assert_eq!(verify_command(&key, &door, b""), None);
    }

    #[test]
    fn device_keys_differ_per_device_and_server() {
        let a = server().device_key(1, DeviceKind::Door, "front");
        assert_ne!(a, server().device_key(1, DeviceKind::Lights, "front"));
        assert_ne!(a, server().device_key(11, DeviceKind::Door, "front"));
        assert_ne!(
            a,
            ServerDeviceKey::new(vec![8; 32]).device_key(1, DeviceKind::Door, "front")
        );
        assert_eq!(CommandKey::from_hex(&a.to_hex()), Some(a.clone()));
        assert_eq!(format!("{a:?}"), "CommandKey(redacted)");
    }

    #[test]
    fn mosquitto_hashes_have_the_password_file_shape() {
        let hash = mosquitto_hash("secret", &[1; 12]);
        let parts: Vec<&str> = hash.split('$').collect();
        assert_eq!(parts[..3], ["", "7", "101"]);
        assert_eq!(parts[3].len(), 16); // 12 bytes
        assert_eq!(parts[4].len(), 88); // 64 bytes
        assert_ne!(hash, mosquitto_hash("secret", &[2; 12]));
    }

    #[test]
    fn acls_name_only_the_devices_own_topics() {
        let acl = device_acl(3, DeviceKind::Door, "front");
        assert_eq!(
            acl,
            "user yizhan-s3-door-front\n\
             topic read yizhan/v1/stations/3/door/front/cmd\n\
             topic write yizhan/v1/stations/3/door/front/ack\n\
             topic write yizhan/v1/stations/3/door/front/state\n"
        );
        assert!(!server_acl("yizhan-server").contains("+/+/+/cmd"));
    }
}

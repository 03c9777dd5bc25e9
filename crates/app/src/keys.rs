//! The server's keys, which live outside the database (issue 12): the data
//! keys that encrypt personal data at rest, the lookup key for the keyed
//! hashes that let the store find a parcel by phone or phone tail without
//! storing either, and the signing keys (QR codes, CSRF tokens, device
//! commands). A copy of the database alone is then worth nothing without the
//! key file.
//!
//! The key file is JSON (`KeyFile`): `yizhan keys init` writes it with mode
//! 0600, `YIZHAN_KEYS_FILE` or `keys.file` names it, and `YIZHAN_KEYS_JSON`
//! may carry the same document for container deployments. Nothing here
//! prints a key: `Debug` redacts.
//!
//! A sealed value is `enc1:{key id}:{base64url(nonce ‖ ciphertext)}` under
//! XChaCha20-Poly1305: its 24-byte nonce is drawn at random for every value
//! (no counter to keep across processes, and a collision is negligible at
//! 2^-96 per pair), and the associated data binds the value to its key id
//! and its column, so a value copied into another column does not open.
//! Sealed values and hashes are base64 rather than hex: in hex, runs of
//! eleven digits are common enough that a scan of the database for mobile
//! numbers (the test that holds this module's promise) would find them in
//! random bytes; in base64 they are not (about one in 10^9 per position).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The prefix of every sealed value; the store tells sealed values from
/// plain ones left by an older version by it.
pub const SEALED_PREFIX: &str = "enc1:";

const NONCE_LEN: usize = 24;

/// The key file's document. Keys are 32 bytes in hex.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// The format's version, 1.
    pub version: u32,
    /// Which data key seals new values; the others only open old ones
    /// until `yizhan keys rotate` has re-sealed every value.
    pub current_data_key: String,
    pub data_keys: Vec<DataKeyEntry>,
    /// The keyed hashes' key (phone and phone-tail look-ups). Changing it
    /// would orphan every stored hash, so it is not rotated.
    pub lookup_key: String,
    /// Signs the QR codes in arrival messages.
    pub qr_key: String,
    /// Signs the console's CSRF tokens.
    pub web_key: String,
    /// Every device's command key is derived from it (docs/devices.md).
    pub device_key: String,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataKeyEntry {
    pub id: String,
    pub key: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("current_data_key", &self.current_data_key)
            .field("keys", &"(redacted)")
            .finish()
    }
}

/// Keys taken over from an older database's `server_secrets` table, so QR
/// codes and device credentials issued before keep working.
#[derive(Default)]
pub struct ImportedSecrets {
    pub qr: Option<String>,
    pub web: Option<String>,
    pub devices: Option<String>,
}

fn random_hex() -> String {
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    hex::encode(key)
}

impl KeyFile {
    /// A new file with fresh random keys, taking over `imported` ones.
    pub fn generate(now: DateTime<Utc>, imported: ImportedSecrets) -> KeyFile {
        KeyFile {
            version: 1,
            current_data_key: "k1".into(),
            data_keys: vec![DataKeyEntry {
                id: "k1".into(),
                key: random_hex(),
                created_at: now,
            }],
            lookup_key: random_hex(),
            qr_key: imported.qr.unwrap_or_else(random_hex),
            web_key: imported.web.unwrap_or_else(random_hex),
            device_key: imported.devices.unwrap_or_else(random_hex),
        }
    }

    /// Adds a new data key and makes it current; the old ones stay to open
    /// values not yet re-sealed. Returns the new id.
    pub fn add_data_key(&mut self, now: DateTime<Utc>) -> String {
        let next = self
            .data_keys
            .iter()
            .filter_map(|k| k.id.strip_prefix('k').and_then(|n| n.parse::<u32>().ok()))
            .max()
            .unwrap_or(0)
            + 1;
        let id = format!("k{next}");
        self.data_keys.push(DataKeyEntry {
            id: id.clone(),
            key: random_hex(),
            created_at: now,
        });
        self.current_data_key = id.clone();
        id
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a key file serialises")
    }

    pub fn from_json(text: &str) -> Result<KeyFile, String> {
        serde_json::from_str(text).map_err(|error| format!("the key file is not valid: {error}"))
    }
}

/// Why a value did not open: a fault (a wrong or missing key file, or an
/// edited database), never shown with the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenError(pub String);

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The keys in use, checked.
pub struct Keys {
    data: Vec<(String, XChaCha20Poly1305)>,
    current: usize,
    lookup: Vec<u8>,
    pub qr: Vec<u8>,
    pub web: Vec<u8>,
    pub devices: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys(current data key {}, redacted)", self.current_id())
    }
}

fn key_bytes(name: &str, text: &str) -> Result<Vec<u8>, String> {
    let bytes = hex::decode(text.trim())
        .map_err(|_| format!("the key file's {name} is not hexadecimal"))?;
    if bytes.len() != 32 {
        return Err(format!(
            "the key file's {name} must be 32 bytes (64 hex digits), it has {}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

impl Keys {
    pub fn from_file(file: &KeyFile) -> Result<Keys, String> {
        if file.version != 1 {
            return Err(format!(
                "the key file has version {}, this program reads version 1",
                file.version
            ));
        }
        let mut data = Vec::new();
        for entry in &file.data_keys {
            let valid_id = !entry.id.is_empty()
                && entry.id.len() <= 16
                && entry.id.chars().all(|c| c.is_ascii_alphanumeric());
            if !valid_id {
                return Err(format!(
                    "data key id {:?} must be 1 to 16 letters or digits",
                    entry.id
                ));
            }
            if data.iter().any(|(id, _)| id == &entry.id) {
                return Err(format!("data key id {} appears twice", entry.id));
            }
            let bytes = key_bytes(&format!("data key {}", entry.id), &entry.key)?;
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| "a data key has the wrong length".to_string())?;
            data.push((entry.id.clone(), cipher));
        }
        let current = data
            .iter()
            .position(|(id, _)| id == &file.current_data_key)
            .ok_or_else(|| {
                format!(
                    "current_data_key {:?} is not among the data keys",
                    file.current_data_key
                )
            })?;
        Ok(Keys {
            data,
            current,
            lookup: key_bytes("lookup_key", &file.lookup_key)?,
            qr: key_bytes("qr_key", &file.qr_key)?,
            web: key_bytes("web_key", &file.web_key)?,
            devices: key_bytes("device_key", &file.device_key)?,
        })
    }

    /// Fresh keys that live only in memory: tests, and benchmarks that make
    /// their own database.
    pub fn ephemeral() -> Keys {
        Keys::from_file(&KeyFile::generate(Utc::now(), ImportedSecrets::default()))
            .expect("generated keys are valid")
    }

    pub fn current_id(&self) -> &str {
        &self.data[self.current].0
    }

    /// Seals `plain` for `column` (e.g. `"parcels.phone"`) under the
    /// current data key.
    pub fn seal(&self, column: &str, plain: &str) -> String {
        let (id, cipher) = &self.data[self.current];
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let aad = format!("{id}\n{column}");
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any length this program stores");
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{id}:{}", B64.encode(bytes))
    }

    /// Opens a value sealed for `column`. A value without the prefix is
    /// plain text written before encryption and not yet sealed by the
    /// start-up step; it is returned as it is.
    pub fn open(&self, column: &str, stored: &str) -> Result<String, OpenError> {
        let Some(rest) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, body) = rest
            .split_once(':')
            .ok_or_else(|| OpenError(format!("a sealed {column} value has no key id")))?;
        let cipher = self
            .data
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, cipher)| cipher)
            .ok_or_else(|| {
                OpenError(format!(
                    "a {column} value is sealed under data key {id}, which the key file does not hold"
                ))
            })?;
        let bytes = B64
            .decode(body)
            .map_err(|_| OpenError(format!("a sealed {column} value is not base64")))?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError(format!("a sealed {column} value is too short")));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let aad = format!("{id}\n{column}");
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| {
                OpenError(format!(
                    "a {column} value did not open under data key {id} (wrong key file, or the value was changed)"
                ))
            })?;
        String::from_utf8(plain).map_err(|_| OpenError(format!("a {column} value is not text")))
    }

    /// Whether `stored` is sealed under the current data key (the
    /// re-sealing step's test).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(SEALED_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(id, _)| id == self.current_id())
    }

    /// The keyed hash a look-up compares (43 characters of base64url):
    /// HMAC-SHA256 under the lookup key
    /// over a purpose and the value. For a phone tail (10,000 values) it is
    /// only as strong as the lookup key is secret: with the key, every tail
    /// hash is found by trying all of them.
    pub fn lookup_hash(&self, purpose: &str, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup).expect("HMAC takes any key");
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(value.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    pub fn phone_hash(&self, phone: &domain::Phone) -> String {
        self.lookup_hash("phone", &phone.full())
    }

    pub fn tail_hash(&self, tail: &str) -> String {
        self.lookup_hash("tail", tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_for_its_column_and_keeps_its_key_id_across_rotation() {
        let mut file = KeyFile::generate(Utc::now(), ImportedSecrets::default());
        let keys = Keys::from_file(&file).unwrap();
        let sealed = keys.seal("parcels.phone", "13812345678");
        assert!(sealed.starts_with("enc1:k1:"));
        assert!(!sealed.contains("13812345678"));
        assert_ne!(
            sealed,
            keys.seal("parcels.phone", "13812345678"),
            "random nonces"
        );
        assert_eq!(keys.open("parcels.phone", &sealed).unwrap(), "13812345678");
        assert!(keys.open("parcels.address", &sealed).is_err());
        assert_eq!(keys.open("parcels.phone", "plain").unwrap(), "plain");

        file.add_data_key(Utc::now());
        let rotated = Keys::from_file(&file).unwrap();
        assert_eq!(rotated.current_id(), "k2");
        assert!(!rotated.is_current(&sealed));
        assert_eq!(
            rotated.open("parcels.phone", &sealed).unwrap(),
            "13812345678"
        );
        let resealed = rotated.seal("parcels.phone", "13812345678");
        assert!(rotated.is_current(&resealed));
        assert!(
            keys.open("parcels.phone", &resealed).is_err(),
            "k1 alone cannot open k2"
        );

        let mut edited = sealed.clone();
        edited.pop();
        edited.push(if sealed.ends_with('0') { '1' } else { '0' });
        assert!(keys.open("parcels.phone", &edited).is_err());
    }

    #[test]
    fn keys_never_print_and_bad_files_say_what_is_wrong() {
        let file = KeyFile::generate(Utc::now(), ImportedSecrets::default());
        let keys = Keys::from_file(&file).unwrap();
        assert!(!format!("{keys:?}").contains(&file.lookup_key[..16]));
        assert!(!format!("{file:?}").contains(&file.qr_key[..16]));
        let mut bad = file.clone();
        bad.qr_key = "abcd".into();
        assert!(Keys::from_file(&bad).unwrap_err().contains("qr_key"));
        let mut bad = file.clone();
        bad.current_data_key = "k9".into();
        assert!(Keys::from_file(&bad).unwrap_err().contains("k9"));
        let again = KeyFile::from_json(&file.to_json()).unwrap();
        assert_eq!(again.lookup_key, file.lookup_key);
    }

    #[test]
    fn lookup_hashes_are_keyed() {
        let a = Keys::ephemeral();
        let b = Keys::ephemeral();
        assert_eq!(a.tail_hash("5678"), a.tail_hash("5678"));
        assert_ne!(a.tail_hash("5678"), b.tail_hash("5678"));
        assert_ne!(a.tail_hash("5678"), a.lookup_hash("phone", "5678"));
    }
}

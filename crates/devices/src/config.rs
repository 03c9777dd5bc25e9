//! The light strip's configuration message: the station's segment map
//! (which segment is which shelf, tier and slot), sent by the server as a
//! retained, signed message on `yizhan/v1/stations/{s}/lights/{d}/config`,
//! with a version so a device (and the console, through the device's state)
//! can tell which map it holds. The bridge publishes it for every station
//! and again whenever the map changes ([`ConfigPublisher`]).

use crate::auth::{self, CommandKey, ServerDeviceKey};
use crate::{Channel, DeviceKind, PAYLOAD_BYTES_MAX, ProtocolError, topic};
use app::ports::Store;
use rumqttc::{AsyncClient, QoS};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often the bridge looks for changed segment maps.
pub const CHECK_EVERY: Duration = Duration::from_secs(30);
/// How often every map is published again even when unchanged (a broker
/// that lost its retained messages gets them back).
pub const REPUBLISH_EVERY: Duration = Duration::from_secs(600);

/// One run of consecutive segments: `[shelf, tier, first_segment, slots]`,
/// slot numbers 1 to `slots` along the tier.
pub type TierRun = (String, u32, u32, u32);

/// The segment map as sent to the light strip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentConfig {
    /// 16 lower-case hex digits derived from the map: equal maps, equal
    /// versions. A device reports the one it holds in its state.
    pub config_version: String,
    /// The server's clock when it published this.
    pub server_ms: u64,
    /// Segments at the station, numbered 1 to `segments`.
    pub segments: u32,
    /// The tiers in segment order; left out (and `tiers_omitted` true)
    /// when the list would not fit in one message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<TierRun>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers_omitted: Option<bool>,
}

impl SegmentConfig {
    /// The map of slots given as `(shelf, tier, slot)` in shelf-map order
    /// (segment n is the n-th).
    pub fn from_slots(slots: &[(String, u32, u32)], server_ms: u64) -> SegmentConfig {
        let mut tiers: Vec<TierRun> = Vec::new();
        for (idx, (shelf, tier, slot)) in slots.iter().enumerate() {
            let segment = idx as u32 + 1;
            match tiers.last_mut() {
                Some((run_shelf, run_tier, first, count))
                    if run_shelf == shelf
                        && run_tier == tier
                        && *slot == *count + 1
                        && segment == *first + *count =>
                {
                    *count += 1;
                }
                _ => tiers.push((shelf.clone(), *tier, segment, 1)),
            }
        }
        let version = {
            let mut hash = Sha256::new();
            hash.update(serde_json::to_vec(&tiers).expect("tiers serialise"));
            hex::encode(&hash.finalize()[..8])
        };
        let mut config = SegmentConfig {
            config_version: version,
            server_ms,
            segments: slots.len() as u32,
            tiers: Some(tiers),
            tiers_omitted: None,
        };
        // Room for the MAC the message is signed with.
        if config.to_payload().len() + auth::MAC_SUFFIX_BYTES > PAYLOAD_BYTES_MAX {
            config.tiers = None;
            config.tiers_omitted = Some(true);
        }
        config
    }

    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("configs serialise")
    }

    /// Checks a configuration message as a device receives it on
    /// `config_topic`: the server's MAC, then the content.
    pub fn receive(
        key: &CommandKey,
        config_topic: &str,
        payload: &[u8],
    ) -> Result<SegmentConfig, ProtocolError> {
        if payload.len() > PAYLOAD_BYTES_MAX {
            return Err(ProtocolError::TooLarge(payload.len()));
        }
        let signed =
            auth::verify_command(key, config_topic, payload).ok_or(ProtocolError::BadMac)?;
        serde_json::from_slice(&signed).map_err(|e| ProtocolError::Malformed(e.to_string()))
    }
}

/// Publishes every station's segment map to its light strip, retained, and
/// again when it changes. The bridge calls [`ConfigPublisher::tick`] from
/// its loop.
pub struct ConfigPublisher {
    lights_device: String,
    /// The map version last published per (station, light strip id).
    published: HashMap<(i64, String), String>,
    checked: Option<Instant>,
    republished: Instant,
}

impl ConfigPublisher {
    /// Maps for the light strip with id `lights_device` at every station.
    pub fn new(lights_device: &str) -> ConfigPublisher {
        ConfigPublisher {
            lights_device: lights_device.to_string(),
            published: HashMap::new(),
            checked: None,
            republished: Instant::now(),
        }
    }

    /// Publishes the maps that changed since the last call, at most once per
    /// [`CHECK_EVERY`] (all of them every [`REPUBLISH_EVERY`]). Never waits
    /// on the broker: a map that cannot be queued now goes out next time.
    pub async fn tick(
        &mut self,
        store: &dyn Store,
        client: &AsyncClient,
        device_key: &ServerDeviceKey,
        now_ms: u64,
    ) {
        if self.checked.is_some_and(|at| at.elapsed() < CHECK_EVERY) {
            return;
        }
        self.checked = Some(Instant::now());
        if self.republished.elapsed() >= REPUBLISH_EVERY {
            self.published.clear();
            self.republished = Instant::now();
        }
        let stations = match store.stations().await {
            Ok(stations) => stations,
            Err(error) => {
                tracing::warn!(%error, "segment maps not published: stations unreadable");
                return;
            }
        };
        for station in stations {
            let slots = match store.slots(station.id).await {
                Ok(slots) => slots,
                Err(error) => {
                    tracing::warn!(%error, station_id = station.id, "segment map not published");
                    continue;
                }
            };
            let slots: Vec<(String, u32, u32)> = slots
                .iter()
                .map(|s| (s.slot.shelf.clone(), s.slot.tier, s.slot.slot))
                .collect();
            let config = SegmentConfig::from_slots(&slots, now_ms);
            // The station's active light strips in the registry (a replaced
            // strip's successor gets the map); the configured id where the
            // registry holds none, as the terminal addresses them.
            let mut strips: Vec<String> = match store.station_devices(station.id).await {
                Ok(devices) => devices
                    .into_iter()
                    .filter(|d| d.kind == "lights" && d.retired_at.is_none())
                    .map(|d| d.device_id)
                    .collect(),
                Err(error) => {
                    tracing::warn!(%error, station_id = station.id, "segment map not published: registry unreadable");
                    continue;
                }
            };
            if strips.is_empty() {
                strips.push(self.lights_device.clone());
            }
            for strip in strips {
                let published = (station.id, strip);
                if self.published.get(&published) == Some(&config.config_version) {
                    continue;
                }
                let config_topic = topic(
                    station.id,
                    DeviceKind::Lights,
                    &published.1,
                    Channel::Config,
                );
                let key = device_key.device_key(station.id, DeviceKind::Lights, &published.1);
                let signed = auth::sign_command(&key, &config_topic, &config.to_payload());
                match client.try_publish(config_topic, QoS::AtLeastOnce, true, signed) {
                    Ok(()) => {
                        self.published
                            .insert(published, config.config_version.clone());
                    }
                    Err(error) => {
                        tracing::warn!(%error, station_id = station.id, "segment map not published; next time")
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(shelves: &[(&str, u32, u32)]) -> Vec<(String, u32, u32)> {
        shelves
            .iter()
            .flat_map(|(shelf, tiers, per_tier)| {
                (1..=*tiers).flat_map(move |tier| {
                    (1..=*per_tier).map(move |slot| (shelf.to_string(), tier, slot))
                })
            })
            .collect()
    }

    #[test]
    fn the_map_is_runs_of_tiers_and_its_version_follows_the_map() {
        let demo = slots(&[("A", 4, 10), ("B", 4, 10), ("E", 2, 10)]);
        let config = SegmentConfig::from_slots(&demo, 5);
        assert_eq!(config.segments, 100);
        let tiers = config.tiers.clone().unwrap();
        assert_eq!(tiers.len(), 10);
        assert_eq!(tiers[0], ("A".into(), 1, 1, 10));
        assert_eq!(tiers[4], ("B".into(), 1, 41, 10));
        // The same map later: the same version; another map: another.
        assert_eq!(
            SegmentConfig::from_slots(&demo, 9).config_version,
            config.config_version
        );
        let changed = slots(&[("A", 4, 10), ("B", 4, 11), ("E", 2, 10)]);
        assert_ne!(
            SegmentConfig::from_slots(&changed, 5).config_version,
            config.config_version
        );
    }

    #[test]
    fn a_map_too_large_for_one_message_is_sent_without_its_tiers() {
        // 5000 one-slot tiers: the most slots a station may have.
        let many: Vec<(String, u32, u32)> = (1..=5000).map(|t| ("S".into(), t, 1)).collect();
        let config = SegmentConfig::from_slots(&many, 5);
        assert_eq!(config.tiers, None);
        assert_eq!(config.tiers_omitted, Some(true));
        assert_eq!(config.segments, 5000);
        assert!(config.to_payload().len() + auth::MAC_SUFFIX_BYTES <= PAYLOAD_BYTES_MAX);
    }

    #[test]
    fn a_device_takes_only_a_map_signed_for_it() {
        let server = ServerDeviceKey::new(vec![3; 32]);
        let config_topic = topic(4, DeviceKind::Lights, "shelves", Channel::Config);
        let key = server.device_key(4, DeviceKind::Lights, "shelves");
        let config = SegmentConfig::from_slots(&slots(&[("A", 1, 3)]), 5);
        let signed = auth::sign_command(&key, &config_topic, &config.to_payload());
        assert_eq!(
            SegmentConfig::receive(&key, &config_topic, &signed),
            Ok(config.clone())
        );
        let other = server.device_key(5, DeviceKind::Lights, "shelves");
        assert_eq!(
            SegmentConfig::receive(&other, &config_topic, &signed),
            Err(ProtocolError::BadMac)
        );
    }
}

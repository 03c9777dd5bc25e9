//! Tracking back to carriers: which parcel events a carrier hears about and
//! under what name, how a webhook body is signed (and how a carrier's
//! receiver checks it), and the retry schedule. Pure: the caller supplies
//! the time, the secret and the body; nothing here does IO.
//!
//! The signature scheme (documented for integrators in `docs/webhooks.md`):
//! `X-Yizhan-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
//! The timestamp is inside the signed text, so a captured request cannot be
//! replayed later than the receiver's tolerance.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Yizhan-Signature";
/// Header carrying the de-duplication key (also in the body as `delivery_id`).
pub const DELIVERY_HEADER: &str = "X-Yizhan-Delivery";
/// Header carrying the public event name.
pub const EVENT_HEADER: &str = "X-Yizhan-Event";
/// How far a receiver should let the signed time differ from its own clock.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;
/// How the county co-delivery centre is named to carriers and the public.
/// One centre per county for now; a deployment with several would carry the
/// centre in the event.
pub const CENTRE_NAME_ZH: &str = "县级共配中心";
/// Longest subscription URL accepted.
pub const URL_CHARS_MAX: usize = 500;
/// Most webhook subscriptions one carrier may hold.
pub const SUBSCRIPTIONS_PER_CARRIER_MAX: usize = 10;

/// Where an event happened, as the carrier sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// The county co-delivery centre.
    Centre,
    /// A village station (its name and township).
    Station,
    /// No place (an announcement).
    None,
}

/// One row of the event table: an internal event kind, the public name
/// carriers see, where it happens, and whether webhooks carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicEvent {
    pub internal: &'static str,
    pub public: &'static str,
    pub name_zh: &'static str,
    pub place: PlaceKind,
    /// Sent to subscribed carriers. Announcements are not: the carrier made them.
    pub webhook: bool,
}

const fn row(
    internal: &'static str,
    public: &'static str,
    name_zh: &'static str,
    place: PlaceKind,
    webhook: bool,
) -> PublicEvent {
    PublicEvent {
        internal,
        public,
        name_zh,
        place,
        webhook,
    }
}

/// Every parcel event that leaves the system, by internal kind. A new event
/// kind (a bag scan, a route handover) becomes visible to carriers by adding
/// one row here; kinds without a row (moves between slots, internal
/// corrections) stay inside. Several internal kinds may share a public name.
pub const EVENTS: &[PublicEvent] = &[
    row("announced", "announced", "已预报", PlaceKind::None, false),
    row(
        "arrived_at_centre",
        "arrived",
        "已到达县共配中心",
        PlaceKind::Centre,
        true,
    ),
    row("sorted", "sorted", "已分拣", PlaceKind::Centre, true),
    row(
        "dispatched",
        "dispatched",
        "已发往乡村",
        PlaceKind::Centre,
        true,
    ),
    row(
        "awaiting_consent",
        "at_station",
        "已到驿站，待收件人确认代收",
        PlaceKind::Station,
        true,
    ),
    row(
        "stored",
        "stored",
        "已入驿站，待取件",
        PlaceKind::Station,
        true,
    ),
    row(
        "consent_granted",
        "stored",
        "已入驿站，待取件",
        PlaceKind::Station,
        true,
    ),
    row("picked_up", "picked_up", "已取件", PlaceKind::Station, true),
    row(
        "returned",
        "returned",
        "已退回快递公司",
        PlaceKind::Station,
        true,
    ),
    row("problem", "problem", "问题件", PlaceKind::Station, true),
];

/// The public face of an internal event kind, if it has one.
pub fn public_event(internal_kind: &str) -> Option<&'static PublicEvent> {
    EVENTS.iter().find(|event| event.internal == internal_kind)
}

/// The public names a subscription may ask for (each once, table order).
pub fn webhook_event_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for event in EVENTS.iter().filter(|event| event.webhook) {
        if !names.contains(&event.public) {
            names.push(event.public);
        }
    }
    names
}

/// Parses a subscription's event list: known public names, each once; an
/// empty list means every webhook event.
/// Most event kinds one subscription request may name.
pub const EVENT_NAMES_MAX: usize = 32;

pub fn parse_event_names(names: &[String]) -> Result<Vec<String>, String> {
    let known = webhook_event_names();
    // Checked before any name is read: a list of a million names costs
    // nothing but this comparison.
    if names.len() > EVENT_NAMES_MAX {
        return Err(format!("at most {EVENT_NAMES_MAX} event kinds"));
    }
    if names.is_empty() {
        return Ok(known.iter().map(|name| name.to_string()).collect());
    }
    let mut parsed: Vec<String> = Vec::new();
    for name in names {
        let name = name.trim();
        if !known.contains(&name) {
            return Err(format!(
                "unknown webhook event {name:?}; use {}",
                known.join(", ")
            ));
        }
        if !parsed.iter().any(|seen| seen == name) {
            parsed.push(name.to_string());
        }
    }
    Ok(parsed)
}

/// A subscription URL: http(s), no spaces, bounded. Plain http is allowed
/// for carriers' internal networks and tests; the docs recommend https.
pub fn parse_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.chars().count() > URL_CHARS_MAX {
        return Err(format!(
            "a webhook URL has at most {URL_CHARS_MAX} characters"
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| "a webhook URL starts with https:// or http://".to_string())?;
    if rest.is_empty()
        || rest.starts_with('/')
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("a webhook URL needs a host and no spaces".into());
    }
    Ok(url.to_string())
}

/// A subscription's signing secret. Its `Debug` never shows it, and it has
/// no `Serialize`: it is shown once, at creation, through [`Self::reveal`].
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(secret: String) -> WebhookSecret {
        WebhookSecret(secret)
    }

    /// The secret itself, for signing and for the one answer that creates it.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

fn mac_hex(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The signature header value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac_hex(secret.as_bytes(), timestamp, body))
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is not t=<seconds>,v1=<hex>")]
    Malformed,
    #[error("the signed time is {0} s away from now; outside the tolerance (a replay?)")]
    Stale(i64),
    #[error("no signature matches the body")]
    Mismatch,
}

/// The receiver's check: `header` is the `X-Yizhan-Signature` value, `body`
/// the raw bytes received (before any JSON parsing), `now` the receiver's
/// Unix seconds. Accepts when some `v1` matches (several may be sent while a
/// secret is being rotated) and the signed time is within `tolerance_seconds`.
/// The comparison runs in constant time.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => timestamp = Some(value.parse().map_err(|_| SignatureError::Malformed)?),
            "v1" => signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            // Later schemes may add fields; ignore what we do not know.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let skew = now.saturating_sub(timestamp);
    if skew.abs() > tolerance_seconds {
        return Err(SignatureError::Stale(skew));
    }
    for signature in &signatures {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        if mac.verify_slice(signature).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// When to try a failed delivery again: exponential back-off with jitter,
/// up to a number of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; after the last failure the
    /// delivery is marked failed (kept, never deleted).
    pub max_attempts: u32,
    /// Delay before the second attempt, before jitter.
    pub base_seconds: i64,
    /// No delay grows beyond this.
    pub max_delay_seconds: i64,
}

impl Default for RetryPolicy {
    /// 12 attempts over about a day: 30 s, 1 min, 2 min, … capped at 6 h.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 12,
            base_seconds: 30,
            max_delay_seconds: 6 * 3600,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based), or `None`
    /// when that was the last one. The delay doubles per attempt up to the
    /// cap; "equal jitter" then keeps it between half and all of that, so
    /// carriers recovering from an outage are not hit by every delivery at
    /// once, and the schedule still never shrinks. The jitter is drawn from
    /// a hash of the delivery key and the attempt: spread across deliveries,
    /// yet reproducible (no randomness in the domain).
    pub fn delay_after(&self, attempt: u32, key: &str) -> Option<chrono::Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let doubling = 2i64.saturating_pow(attempt.saturating_sub(1).min(40));
        let full = self
            .base_seconds
            .max(1)
            .saturating_mul(doubling)
            .min(self.max_delay_seconds.max(1));
        let full_ms = full.saturating_mul(1000);
        let half_ms = full_ms / 2;
        let jitter_ms = (fnv1a(key, attempt) % (half_ms as u64 + 1)) as i64;
        Some(chrono::Duration::milliseconds(
            full_ms - half_ms + jitter_ms,
        ))
    }
}

fn fnv1a(key: &str, attempt: u32) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes().chain(attempt.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"event":"stored","waybill":"731234567890"}"#;

    #[test]
    fn a_signed_body_verifies_and_a_changed_one_does_not() {
        let header = sign(SECRET, 1_780_000_000, BODY);
        assert!(header.starts_with("t=1780000000,v1="));
        assert_eq!(
            verify_signature(SECRET, &header, BODY, 1_780_000_010, 300),
            Ok(())
        );
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            verify_signature(SECRET, &header, &tampered, 1_780_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("whsec_other", &header, BODY, 1_780_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        // A captured request replayed an hour later is refused.
        assert_eq!(
            verify_signature(SECRET, &header, BODY, 1_780_003_600, 300),
            Err(SignatureError::Stale(3600))
        );
        // Moving the timestamp breaks the signature.
        let moved = header.replace("t=1780000000", "t=1780003600");
        assert_eq!(
            verify_signature(SECRET, &moved, BODY, 1_780_003_600, 300),
            Err(SignatureError::Mismatch)
        );
        for bad in [
            "",
            "v1=00",
            "t=abc,v1=00",
            "t=1780000000",
            "t=1780000000,v1=zz",
        ] {
            assert_eq!(
                verify_signature(SECRET, bad, BODY, 1_780_000_000, 300),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
        // During a rotation two signatures may come; one match is enough.
        let rotated = format!(
            "{},v1={}",
            sign("whsec_old", 1_780_000_000, BODY),
            &header[16..]
        );
        assert_eq!(
            verify_signature(SECRET, &rotated, BODY, 1_780_000_000, 300),
            Ok(())
        );
    }

    /// The example in docs/webhooks.md, computed independently with
    /// `printf '%s' '1780000000.{"event":"stored"}' | openssl dgst -sha256 -hmac whsec_example`;
    /// if this changes, so must the docs.
    #[test]
    fn the_documented_example_holds() {
        assert_eq!(
            sign("whsec_example", 1_780_000_000, br#"{"event":"stored"}"#),
            "t=1780000000,v1=c4843297d59869a4b26dc2f5ceae6d12150abd470748a41584855a6b721c2182"
        );
    }

    #[test]
    fn back_off_grows_with_jitter_and_stops_at_the_limit() {
        let policy = RetryPolicy {
            max_attempts: 6,
            base_seconds: 10,
            max_delay_seconds: 60,
        };
        let delays: Vec<i64> = (1..6)
            .map(|attempt| {
                policy
                    .delay_after(attempt, "parcel:1:v2:sub3")
                    .unwrap()
                    .num_milliseconds()
            })
            .collect();
        for (idx, full) in [10_000, 20_000, 40_000, 60_000, 60_000].iter().enumerate() {
            assert!(
                (full / 2..=*full).contains(&delays[idx]),
                "attempt {}: {} ms not within [{}, {full}]",
                idx + 1,
                delays[idx],
                full / 2
            );
        }
        assert!(delays.windows(2).take(2).all(|w| w[0] < w[1]), "{delays:?}");
        assert_eq!(policy.delay_after(6, "parcel:1:v2:sub3"), None);
        assert_eq!(policy.delay_after(7, "parcel:1:v2:sub3"), None);
        // Jitter spreads deliveries that failed together.
        let spread: std::collections::HashSet<i64> = (0..20)
            .map(|n| {
                policy
                    .delay_after(3, &format!("parcel:{n}:v1:sub1"))
                    .unwrap()
                    .num_milliseconds()
            })
            .collect();
        assert!(spread.len() > 10, "{spread:?}");
    }

    #[test]
    fn the_event_table_names_each_webhook_event_once() {
        assert_eq!(
            webhook_event_names(),
            [
                "arrived",
                "sorted",
                "dispatched",
                "at_station",
                "stored",
                "picked_up",
                "returned",
                "problem"
            ]
        );
        assert_eq!(public_event("consent_granted").unwrap().public, "stored");
        assert!(public_event("moved").is_none());
        assert!(!public_event("announced").unwrap().webhook);
        assert_eq!(
            parse_event_names(&["stored".into(), "stored".into(), "picked_up".into()]).unwrap(),
            ["stored", "picked_up"]
        );
        assert!(
            parse_event_names(&["moved".into()])
                .unwrap_err()
                .contains("unknown")
        );
        assert_eq!(parse_event_names(&[]).unwrap().len(), 8);
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("https://").is_err());
        assert!(parse_url("https://carrier.example/hook").is_ok());
    }

    #[test]
    fn the_secret_never_prints() {
        let secret = WebhookSecret::new("whsec_abc".into());
        assert!(!format!("{secret:?}").contains("abc"));
    }
}

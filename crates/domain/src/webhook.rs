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

/// The event an integrator sends itself to try an endpoint and its
/// signature check (the portal's "send test event", `POST
/// /api/webhooks/{id}/test`): signed and relayed like any other delivery,
/// its body says `"event": "test", "test": true` and names no parcel. It is
/// not in [`EVENTS`]: no parcel event is ever called `test`, and a
/// subscription cannot ask for it, every subscription gets it on request.
pub const TEST_EVENT: &str = "test";
/// The test event's Chinese name.
pub const TEST_EVENT_ZH: &str = "测试事件";

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
    // Contractor mode: the township's contractor delivered it (reported to
    // the centre); no station of ours saw it.
    row(
        "delivered",
        "delivered",
        "已由乡镇承包配送妥投",
        PlaceKind::None,
        true,
    ),
    // Sending (issue 14, branch send-flow): a sender's order, by its
    // waybill from the carrier's pool; written by `app::sending`'s moves,
    // not by parcel events.
    row(
        "send_accepted",
        "send.accepted",
        "寄件已受理（已付款）",
        PlaceKind::None,
        true,
    ),
    row(
        "send_collected",
        "send.collected",
        "已揽收",
        PlaceKind::None,
        true,
    ),
    row(
        "send_cancelled",
        "send.cancelled",
        "寄件已取消",
        PlaceKind::None,
        true,
    ),
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

/// A subscription URL: http(s), a host, no spaces, bounded. Read by the
/// WHATWG parser that the HTTP client also uses and returned in its
/// normalised form, so what is checked ([`TargetPolicy::check_url`]) and
/// stored is what a client connects to (`http://2130706433/` is
/// `http://127.0.0.1/`).
pub fn parse_url(url: &str) -> Result<String, String> {
    parse(url).map(|url| url.to_string())
}

fn parse(url: &str) -> Result<url::Url, String> {
    let url = url.trim();
    if url.chars().count() > URL_CHARS_MAX {
        return Err(format!(
            "a webhook URL has at most {URL_CHARS_MAX} characters"
        ));
    }
    let lower = url.to_ascii_lowercase();
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return Err("a webhook URL starts with https:// or http://".to_string());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a webhook URL needs a host and no spaces".into());
    }
    let parsed = url::Url::parse(url)
        .map_err(|e| format!("a webhook URL needs a host and no spaces ({e})"))?;
    if parsed.host().is_none() {
        return Err("a webhook URL needs a host and no spaces".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a webhook URL carries no user name or password; the signature authenticates the sender".into());
    }
    Ok(parsed)
}

/// Why a webhook target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetRefusal {
    #[error("{0}")]
    Invalid(String),
    /// Plain `http://` outside the demo.
    #[error("a webhook URL must use https://")]
    HttpsRequired,
    /// The host is, or resolves to, an internal address (loopback, private,
    /// link-local, shared, ULA, multicast, unspecified, documentation…), or
    /// is a local-only name such as `localhost`.
    #[error("refused: private address")]
    PrivateAddress { host: String },
}

/// One entry of the on-premises allow-list: a CIDR block (`10.8.0.0/16`, a
/// single address) or a host name (`gateway.zto.internal`, exact match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowEntry {
    Net(ipnet::IpNet),
    Host(String),
}

impl AllowEntry {
    pub fn parse(text: &str) -> Result<AllowEntry, String> {
        let text = text.trim();
        if let Ok(net) = text.parse::<ipnet::IpNet>() {
            return Ok(AllowEntry::Net(net.trunc()));
        }
        if let Ok(ip) = text.parse::<std::net::IpAddr>() {
            return Ok(AllowEntry::Net(ipnet::IpNet::from(ip)));
        }
        let host = text.trim_end_matches('.').to_ascii_lowercase();
        let valid = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(format!(
                "webhooks.allow entry {text:?} is neither a CIDR block (10.8.0.0/16), an address, nor a host name"
            ));
        }
        Ok(AllowEntry::Host(host))
    }
}

/// Where webhooks may go. By default: public addresses over HTTPS only.
/// `allow` names an on-premises carrier gateway (by CIDR or host name) that
/// may be internal; `allow_http` is the demo's (and tests') plain HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow_http: bool,
    pub allow: Vec<AllowEntry>,
}

impl TargetPolicy {
    /// The checks that need no DNS, for subscription time and again before
    /// each delivery: the scheme, an address literal, a local-only name.
    /// A host name is checked once more at delivery time, on the addresses
    /// it resolves to ([`Self::address_allowed`]).
    pub fn check_url(&self, url: &str) -> Result<url::Url, TargetRefusal> {
        let url = parse(url).map_err(TargetRefusal::Invalid)?;
        if url.scheme() == "http" && !self.allow_http {
            return Err(TargetRefusal::HttpsRequired);
        }
        let refused = |host: &str| TargetRefusal::PrivateAddress {
            host: host.to_string(),
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) if !self.address_allowed(ip.into()) => {
                Err(refused(&ip.to_string()))
            }
            Some(url::Host::Ipv6(ip)) if !self.address_allowed(ip.into()) => {
                Err(refused(&ip.to_string()))
            }
            Some(url::Host::Domain(name)) if is_local_name(name) && !self.host_allowed(name) => {
                Err(refused(name))
            }
            None => Err(TargetRefusal::Invalid("a webhook URL needs a host".into())),
            _ => Ok(url),
        }
    }

    /// The host name is on the allow-list: whatever it resolves to is the
    /// operator's declared gateway.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allow
            .iter()
            .any(|entry| matches!(entry, AllowEntry::Host(allowed) if *allowed == host))
    }

    /// A public address, or one inside an allow-listed block.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        is_public(ip)
            || self.allow.iter().any(|entry| match entry {
                AllowEntry::Net(net) => net.contains(&ip) || net.contains(&canonical(ip)),
                AllowEntry::Host(_) => false,
            })
    }
}

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Names that only ever mean this machine or its local network.
fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
        || host.ends_with(".home.arpa")
}

/// An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64,
/// 6to4) stands for that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let octets = v6.octets();
    let tail = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated).
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        [0, 0, 0, 0, 0, 0, _, _] if !matches!(v6.segments()[6..], [0, 0] | [0, 1]) => Some(tail),
        // 64:ff9b::/96 (NAT64) and 64:ff9b:1::/48 (local NAT64).
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x64, 0xff9b, 1, ..] => Some(tail),
        // 2002::/16 (6to4): the IPv4 address is in bits 16..48.
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// Whether a webhook may reach `ip` without an allow-list entry: not this
/// machine, not a private or shared network, not link-local (cloud
/// metadata at 169.254.169.254), not multicast, broadcast, unspecified,
/// reserved, documentation or benchmark ranges, and not an IPv6 form of any
/// of them.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const REFUSED: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network", 0.0.0.0
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // shared address space (carrier-grade NAT)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
        ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, and 255.255.255.255 broadcast
    ];
    !REFUSED.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local (ULA) fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: tunnels to any IPv4 address
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x0010) // ORCHID
        || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking 2001:2::/48
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard 100::/64
        || s[0] == 0; // the rest of ::/16 (mapped and compatible forms are read as IPv4 above)
    !refused
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

/// The signature header signed with several secrets: during a rotation the
/// new secret and the previous one both sign, so a receiver holding either
/// verifies (`verify_signature` accepts any matching `v1`).
pub fn sign_with_all(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(mac_hex(secret.as_bytes(), timestamp, body)));
    }
    header
}

/// A per-carrier circuit breaker for webhook deliveries: after
/// `FAILURES_TO_OPEN` failed attempts in a row the carrier is skipped for a
/// cool-down that doubles each time it opens again (1 min up to 30 min),
/// so one dead endpoint does not hold the relay; the others go on. After
/// the cool-down one attempt goes through: a success closes it, a failure
/// opens it again at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CircuitBreaker {
    failures: u32,
    times_opened: u32,
    open_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl CircuitBreaker {
    pub const FAILURES_TO_OPEN: u32 = 5;
    pub const FIRST_COOL_DOWN_SECONDS: i64 = 60;
    pub const LONGEST_COOL_DOWN_SECONDS: i64 = 30 * 60;

    /// Whether an attempt may go out at `now`.
    pub fn allows(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.open_until.is_none_or(|until| now >= until)
    }

    /// Until when the carrier is skipped, if it is.
    pub fn open_until(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.open_until.filter(|until| now < *until)
    }

    /// Records an attempt's result; true when this failure opened the breaker.
    pub fn record(&mut self, success: bool, now: chrono::DateTime<chrono::Utc>) -> bool {
        if success {
            *self = CircuitBreaker::default();
            return false;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures < Self::FAILURES_TO_OPEN {
            return false;
        }
        let cool_down = Self::FIRST_COOL_DOWN_SECONDS
            .saturating_mul(2i64.saturating_pow(self.times_opened.min(20)))
            .min(Self::LONGEST_COOL_DOWN_SECONDS);
        self.open_until = Some(now + chrono::Duration::seconds(cool_down));
        self.times_opened = self.times_opened.saturating_add(1);
        // Half-open after the cool-down: the next failure opens it again.
        self.failures = Self::FAILURES_TO_OPEN - 1;
        true
    }
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
                "problem",
                "delivered",
                "send.accepted",
                "send.collected",
                "send.cancelled"
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
        assert_eq!(parse_event_names(&[]).unwrap().len(), 12);
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("https://").is_err());
        assert!(parse_url("https://carrier.example/hook").is_ok());
    }

    #[test]
    fn the_secret_never_prints() {
        let secret = WebhookSecret::new("whsec_abc".into());
        assert!(!format!("{secret:?}").contains("abc"));
    }

    #[test]
    fn internal_targets_are_refused_at_subscription_time() {
        let strict = TargetPolicy::default();
        for url in [
            "https://127.0.0.1:5432/",
            "https://169.254.169.254/latest/meta-data/",
            "https://localhost/hook",
            "https://api.localhost/hook",
            "https://[::1]/hook",
            "https://127.1/hook",
            "https://2130706433/hook",
            "https://0x7f.0.0.1/hook",
            "https://0.0.0.0/hook",
            "https://10.0.0.5/hook",
            "https://100.64.1.1/hook",
            "https://192.168.1.1/hook",
            "https://172.31.255.255/hook",
            "https://[fd00::1]/hook",
            "https://[fe80::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "https://[::ffff:a9fe:a9fe]/hook",
            "https://[64:ff9b::a00:5]/hook",
            "https://[2002:7f00:1::]/hook",
            "https://224.0.0.1/hook",
            "https://255.255.255.255/hook",
            "https://192.0.2.10/hook",
            "https://198.18.0.1/hook",
            "https://[2001:db8::1]/hook",
            "https://[ff02::1]/hook",
        ] {
            assert!(
                matches!(
                    strict.check_url(url),
                    Err(TargetRefusal::PrivateAddress { .. })
                ),
                "{url}: {:?}",
                strict.check_url(url)
            );
        }
        for url in [
            "https://zto.example/hook",
            "https://8.8.8.8/hook",
            "https://[2400:3200::1]/hook",
            "https://101.6.6.6:8443/hook",
        ] {
            assert!(strict.check_url(url).is_ok(), "{url}");
        }
        assert_eq!(
            strict.check_url("http://zto.example/hook"),
            Err(TargetRefusal::HttpsRequired)
        );
        assert!(matches!(
            strict.check_url("https://user:pw@zto.example/"),
            Err(TargetRefusal::Invalid(_))
        ));
        // The stored form is the normalised one a client connects to.
        assert_eq!(
            parse_url("HTTPS://2130706433/hook").unwrap(),
            "https://127.0.0.1/hook"
        );
    }

    #[test]
    fn the_allow_list_lets_an_on_premises_gateway_through() {
        let policy = TargetPolicy {
            allow_http: true,
            allow: ["10.8.0.0/16", "127.0.0.1", "gw.zto.internal"]
                .into_iter()
                .map(|entry| AllowEntry::parse(entry).unwrap())
                .collect(),
        };
        assert!(policy.check_url("http://10.8.3.4:9000/hook").is_ok());
        assert!(policy.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(policy.check_url("https://gw.zto.internal/hook").is_ok());
        assert!(policy.address_allowed("::ffff:10.8.0.1".parse().unwrap()));
        assert!(policy.check_url("http://10.9.0.1/hook").is_err());
        assert!(policy.check_url("http://127.0.0.2/hook").is_err());
        assert!(policy.check_url("https://other.internal/hook").is_err());
        assert!(!policy.address_allowed("169.254.169.254".parse().unwrap()));
        assert!(AllowEntry::parse("not a host!").is_err());
    }

    #[test]
    fn the_breaker_opens_after_failures_and_closes_on_success() {
        let t0 = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let mut breaker = CircuitBreaker::default();
        for _ in 0..CircuitBreaker::FAILURES_TO_OPEN - 1 {
            assert!(!breaker.record(false, t0));
            assert!(breaker.allows(t0));
        }
        assert!(breaker.record(false, t0), "the fifth failure opens it");
        assert!(!breaker.allows(t0 + chrono::Duration::seconds(59)));
        let t1 = t0 + chrono::Duration::seconds(60);
        assert!(breaker.allows(t1));
        assert!(
            breaker.record(false, t1),
            "one failure when half-open reopens it"
        );
        assert!(!breaker.allows(t1 + chrono::Duration::seconds(119)));
        assert!(
            breaker.allows(t1 + chrono::Duration::seconds(120)),
            "cool-down doubled"
        );
        breaker.record(true, t1 + chrono::Duration::seconds(120));
        assert_eq!(breaker, CircuitBreaker::default());
    }

    #[test]
    fn both_secrets_sign_during_a_rotation() {
        let header = sign_with_all(&["whsec_new", "whsec_old"], 1_780_000_000, BODY);
        for secret in ["whsec_new", "whsec_old"] {
            assert_eq!(
                verify_signature(secret, &header, BODY, 1_780_000_000, 300),
                Ok(())
            );
        }
        assert_eq!(
            verify_signature("whsec_other", &header, BODY, 1_780_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(sign_with_all(&[SECRET], 7, BODY), sign(SECRET, 7, BODY));
    }
}

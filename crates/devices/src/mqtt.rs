//! Connecting to the broker: the URL form the project uses
//! (`mqtt://host[:port]`, `mqtts://host[:port]` for TLS), logins, and the
//! client options the simulator and the bridge share.

use rumqttc::{AsyncClient, EventLoop, LastWill, MqttOptions, TlsConfiguration, Transport};
use std::sync::Arc;
use std::time::Duration;

/// Requests the client may queue before the event loop takes them.
const REQUESTS_QUEUED_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttError {
    #[error("broker URL {0:?} is not of the form mqtt://host[:port] or mqtts://host[:port]")]
    BadUrl(String),
    #[error("broker at {url} did not answer: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("the broker connection ended before the subscription was confirmed")]
    NotSubscribed,
    #[error("the broker's CA certificate is not usable: {0}")]
    BadCa(String),
}

/// Where the broker is and how to log in: `mqtts://` connects with TLS,
/// trusting only `ca_pem` (the CA that signed the broker's certificate).
#[derive(Clone, Default)]
pub struct BrokerConfig {
    pub url: String,
    /// Username and password; none: connect anonymously (the demo's
    /// embedded broker and the open test broker only).
    pub login: Option<(String, String)>,
    /// PEM; required for `mqtts://`.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for BrokerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("url", &self.url)
            .field("username", &self.login.as_ref().map(|(user, _)| user))
            .field("tls", &self.ca_pem.is_some())
            .finish()
    }
}

impl BrokerConfig {
    /// An anonymous connection to `url`.
    pub fn open(url: &str) -> BrokerConfig {
        BrokerConfig {
            url: url.to_string(),
            login: None,
            ca_pem: None,
        }
    }

    pub fn with_login(mut self, username: &str, password: &str) -> BrokerConfig {
        self.login = Some((username.to_string(), password.to_string()));
        self
    }

    pub fn with_ca(mut self, ca_pem: Vec<u8>) -> BrokerConfig {
        self.ca_pem = Some(ca_pem);
        self
    }
}

/// Host, port and whether TLS is used, from `mqtt://host[:port]` (port 1883
/// when absent) or `mqtts://host[:port]` (port 8883).
pub fn parse_broker_url(url: &str) -> Result<(String, u16, bool), MqttError> {
    let bad = || MqttError::BadUrl(url.to_string());
    let (rest, tls, default_port) = if let Some(rest) = url.strip_prefix("mqtt://") {
        (rest, false, 1883)
    } else if let Some(rest) = url.strip_prefix("mqtts://") {
        (rest, true, 8883)
    } else {
        return Err(bad());
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
        None => (rest, default_port),
    };
    if host.is_empty() || host.contains('/') || host.contains('@') {
        return Err(bad());
    }
    Ok((host.to_string(), port, tls))
}

/// Host and port of a plain `mqtt://` URL.
pub fn parse_url(url: &str) -> Result<(String, u16), MqttError> {
    match parse_broker_url(url)? {
        (host, port, false) => Ok((host, port)),
        _ => Err(MqttError::BadUrl(url.to_string())),
    }
}

/// A rustls client configuration trusting only `ca_pem`. The crypto is
/// ring's, chosen here rather than installed process-wide, so whatever else
/// in the process uses rustls is unaffected. rustls 0.23.48 deprecates
/// ring's provider for lacking post-quantum key exchange; the alternative,
/// aws-lc-rs, needs cmake and a long C build, and a harvest-now-decrypt-later
/// attack on door commands that live 20 s buys nothing.
#[allow(deprecated)]
pub fn tls_config(ca_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, MqttError> {
    let mut roots = rustls::RootCertStore::empty();
    let mut n_certs = 0;
    for cert in rustls_pemfile::certs(&mut &ca_pem[..]) {
        let cert = cert.map_err(|error| MqttError::BadCa(error.to_string()))?;
        roots
            .add(cert)
            .map_err(|error| MqttError::BadCa(error.to_string()))?;
        n_certs += 1;
    }
    if n_certs == 0 {
        return Err(MqttError::BadCa("no PEM certificate in it".into()));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| MqttError::BadCa(error.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The largest packet MQTT 3.1.1 can express (its remaining-length field's
/// maximum). The server's bridge accepts packets up to this size, so no
/// message the broker forwards can break its connection: rumqttc cannot skip
/// an oversized packet, it ends the connection, and a retained one would
/// then end every reconnection too. Oversized payloads are dropped one at a
/// time by the bridge instead. What bounds the bridge's memory is the
/// broker's `message_size_limit` (docs/devices.md recommends 65536).
pub const MQTT_PACKET_BYTES_MAX: usize = 268_435_455;

pub(crate) fn connect(
    broker: &BrokerConfig,
    client_id: &str,
    keep_alive: Duration,
    last_will: Option<LastWill>,
) -> Result<(AsyncClient, EventLoop), MqttError> {
    connect_with(
        broker,
        client_id,
        keep_alive,
        last_will,
        true,
        crate::PAYLOAD_BYTES_MAX + 1024,
    )
}

/// [`connect`], accepting incoming packets up to `incoming_max` bytes (the
/// server's bridge: [`MQTT_PACKET_BYTES_MAX`]).
pub(crate) fn connect_with_limit(
    broker: &BrokerConfig,
    client_id: &str,
    keep_alive: Duration,
    last_will: Option<LastWill>,
    incoming_max: usize,
) -> Result<(AsyncClient, EventLoop), MqttError> {
    connect_with(broker, client_id, keep_alive, last_will, true, incoming_max)
}

/// [`connect`], choosing the session: with `clean_session` false the
/// broker keeps the client's subscriptions and queues its QoS 1 messages
/// while it is away, so a device that reconnects under the same client id
/// still gets the commands published meanwhile (docs/devices.md).
pub(crate) fn connect_session(
    broker: &BrokerConfig,
    client_id: &str,
    keep_alive: Duration,
    last_will: Option<LastWill>,
    clean_session: bool,
) -> Result<(AsyncClient, EventLoop), MqttError> {
    connect_with(
        broker,
        client_id,
        keep_alive,
        last_will,
        clean_session,
        crate::PAYLOAD_BYTES_MAX + 1024,
    )
}

fn connect_with(
    broker: &BrokerConfig,
    client_id: &str,
    keep_alive: Duration,
    last_will: Option<LastWill>,
    clean_session: bool,
    incoming_max: usize,
) -> Result<(AsyncClient, EventLoop), MqttError> {
    let (host, port, tls) = parse_broker_url(&broker.url)?;
    let mut options = MqttOptions::new(client_id, host, port);
    options.set_keep_alive(keep_alive);
    options.set_clean_session(clean_session);
    options.set_max_packet_size(incoming_max, crate::PAYLOAD_BYTES_MAX + 1024);
    if let Some((username, password)) = &broker.login {
        options.set_credentials(username.clone(), password.clone());
    }
    if tls {
        let ca = broker.ca_pem.as_deref().ok_or_else(|| {
            MqttError::BadCa(format!("{} needs the broker's CA certificate", broker.url))
        })?;
        options.set_transport(Transport::Tls(TlsConfiguration::Rustls(tls_config(ca)?)));
    }
    if let Some(will) = last_will {
        options.set_last_will(will);
    }
    let (client, mut eventloop) = AsyncClient::new(options, REQUESTS_QUEUED_MAX);
    // Commands are a few hundred bytes that a person at a door is waiting
    // for: Nagle's algorithm would hold the second of two back-to-back
    // publishes (door, then lights) until the first is acknowledged, ~40 ms
    // with Linux's delayed ACKs.
    let mut network = eventloop.network_options();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    Ok((client, eventloop))
}

/// How long a connection may take to be confirmed by the broker.
pub(crate) const READY_WITHIN: Duration = Duration::from_secs(10);

/// What an event loop reports once: connected and subscribed, or why not.
pub(crate) type Readiness = tokio::sync::watch::Receiver<Option<Result<(), String>>>;

/// Waits until the event loop behind `ready` says it is connected and
/// subscribed, for at most [`READY_WITHIN`]; otherwise says why not.
pub(crate) async fn await_ready(ready: &mut Readiness, url: &str) -> Result<(), MqttError> {
    let confirmed = tokio::time::timeout(
        READY_WITHIN,
        ready.wait_for(|ready| matches!(ready, Some(Ok(())))),
    )
    .await
    .is_ok_and(|answer| answer.is_ok());
    if confirmed {
        return Ok(());
    }
    let detail = ready
        .borrow()
        .clone()
        .and_then(|ready| ready.err())
        .unwrap_or_else(|| "no answer".into());
    Err(MqttError::Unreachable {
        url: url.to_string(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_host_and_port() {
        assert_eq!(
            parse_url("mqtt://127.0.0.1:1883"),
            Ok(("127.0.0.1".into(), 1883))
        );
        assert_eq!(
            parse_url("mqtt://broker.local"),
            Ok(("broker.local".into(), 1883))
        );
        for bad in ["127.0.0.1:1883", "mqtt://", "mqtts://h:1", "mqtt://h:port"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_broker_url("mqtts://broker.local"),
            Ok(("broker.local".into(), 8883, true))
        );
        assert_eq!(parse_broker_url("mqtt://h:1"), Ok(("h".into(), 1, false)));
        assert!(parse_broker_url("tls://h:1").is_err());
    }
}

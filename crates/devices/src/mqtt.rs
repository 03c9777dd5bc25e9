//! Connecting to the broker: the URL form the project uses
//! (`mqtt://host[:port]`) and the client options the simulator and the
//! bridge share.

use rumqttc::{AsyncClient, EventLoop, LastWill, MqttOptions};
use std::time::Duration;

/// Requests the client may queue before the event loop takes them.
const REQUESTS_QUEUED_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttError {
    #[error(
        "broker URL {0:?} is not of the form mqtt://host[:port] (TLS brokers are not supported yet)"
    )]
    BadUrl(String),
    #[error("broker at {url} did not answer: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("the broker connection ended before the subscription was confirmed")]
    NotSubscribed,
}

/// Host and port from `mqtt://host[:port]` (port 1883 when absent).
pub fn parse_url(url: &str) -> Result<(String, u16), MqttError> {
    let bad = || MqttError::BadUrl(url.to_string());
    let rest = url.strip_prefix("mqtt://").ok_or_else(bad)?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
        None => (rest, 1883),
    };
    if host.is_empty() || host.contains('/') || host.contains('@') {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

pub(crate) fn connect(
    url: &str,
    client_id: &str,
    keep_alive: Duration,
    last_will: Option<LastWill>,
) -> Result<(AsyncClient, EventLoop), MqttError> {
    let (host, port) = parse_url(url)?;
    let mut options = MqttOptions::new(client_id, host, port);
    options.set_keep_alive(keep_alive);
    options.set_clean_session(true);
    options.set_max_packet_size(
        crate::PAYLOAD_BYTES_MAX + 1024,
        crate::PAYLOAD_BYTES_MAX + 1024,
    );
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
    }
}

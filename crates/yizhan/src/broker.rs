//! A small MQTT broker inside the demo, so `yizhan demo` on a fresh machine
//! shows the door terminal with simulated devices even where no Mosquitto
//! runs. rumqttd is the broker of the rumqttc authors, embeddable as a
//! library. Deployments run a real broker (Mosquitto with
//! `set_tcp_nodelay true`, docs/devices.md); this one is for the demo only.

use anyhow::Context;
use std::net::SocketAddr;
use std::time::Duration;

/// Whether something accepts TCP connections at the MQTT URL's address.
pub fn reachable(url: &str) -> bool {
    address_of(url).is_some_and(|address| {
        std::net::TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
    })
}

fn address_of(url: &str) -> Option<SocketAddr> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))?;
    let host_port = rest.split('/').next()?;
    let with_port = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:1883")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&with_port)
        .ok()?
        .next()
}

/// Starts the embedded broker on the URL's address (loopback only) and
/// returns once it accepts connections.
pub fn start_embedded(url: &str) -> anyhow::Result<()> {
    let address = address_of(url).context("the MQTT URL has no usable host and port")?;
    anyhow::ensure!(
        address.ip().is_loopback(),
        "the demo embeds a broker only on a loopback address, not {address}"
    );
    let config: rumqttd::Config = serde_json::from_value(serde_json::json!({
        "id": 0,
        "router": {
            "id": 0,
            "max_connections": 1000,
            "max_outgoing_packet_count": 200,
            "max_segment_size": 10_485_760,
            "max_segment_count": 10
        },
        "v4": {
            "1": {
                "name": "demo",
                "listen": address.to_string(),
                "next_connection_delay_ms": 1,
                "connections": {
                    "connection_timeout_ms": 60000,
                    "max_payload_size": 20480,
                    "max_inflight_count": 100,
                    "dynamic_filters": true
                }
            }
        }
    }))
    .context("embedded broker configuration")?;
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(error) = broker.start() {
                eprintln!("embedded MQTT broker stopped: {error}");
            }
        })?;
    // The broker binds on its own thread: wait (bounded) until it listens.
    for _ in 0..100 {
        if reachable(url) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    anyhow::bail!("the embedded MQTT broker did not start listening at {address}")
}

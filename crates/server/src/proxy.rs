//! The client's address behind a reverse proxy. A county server usually
//! sits behind nginx or a cloud load balancer: then every request comes
//! from the proxy's address, and the throttles that count per address
//! (sign-in, the door terminal's code attempts, public tracking) would
//! count everyone as one client and lock them all out together.
//!
//! Only proxies the operator names (`server.trusted_proxies`, CIDR
//! blocks) are believed: from a trusted peer, `X-Forwarded-For` is read
//! from the right, skipping trusted hops, and the first address that is
//! not a trusted proxy is the client. From any other peer the header is
//! ignored, so a client cannot pick its own address to dodge a throttle.
//! The layer writes the result into the request's `ConnectInfo`, which
//! every extractor already reads.

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// How many `X-Forwarded-For` entries are looked at, at most: a longer
/// header is a client stuffing it, not a chain of proxies.
pub const FORWARDED_HOPS_MAX: usize = 16;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDR blocks or single addresses (`10.0.0.0/8`, `127.0.0.1`,
    /// `::1`); the error names the entry that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "server.trusted_proxies: {entry:?} is not an address or a CIDR block \
                             (for example 10.0.0.0/8 or 127.0.0.1)"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` carrying these
    /// `X-Forwarded-For` values (all of the request's header lines, in
    /// order).
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .iter()
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev().take(FORWARDED_HOPS_MAX) {
            match hop.parse::<IpAddr>() {
                // A trusted hop passes on what it was told; keep reading.
                Ok(ip) if self.trusts(ip) => client = canonical(ip),
                Ok(ip) => return canonical(ip),
                // Garbage (or "unknown") from a trusted proxy: the last
                // address we can vouch for is the client.
                Err(_) => return client,
            }
        }
        client
    }
}

/// An IPv4 address that arrived as IPv4-mapped IPv6 is counted as IPv4,
/// so one client is one key whichever way the socket saw it.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Wraps a router so that, from a trusted proxy, the request's
/// `ConnectInfo` holds the client's address instead of the proxy's. With
/// no trusted proxies the router is returned as it is.
pub fn behind(router: Router, proxies: TrustedProxies) -> Router {
    if proxies.is_empty() {
        return router;
    }
    let proxies = Arc::new(proxies);
    router.layer(axum::middleware::map_request(
        move |mut request: Request| {
            let proxies = proxies.clone();
            async move {
                if let Some(ConnectInfo(peer)) =
                    request.extensions().get::<ConnectInfo<SocketAddr>>()
                {
                    let peer = *peer;
                    let lines: Vec<&str> = request
                        .headers()
                        .get_all("x-forwarded-for")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .collect();
                    let client = proxies.client_ip(peer.ip(), &lines);
                    if client != peer.ip() {
                        request
                            .extensions_mut()
                            .insert(ConnectInfo(SocketAddr::new(client, 0)));
                    }
                }
                request
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_trusted_peers_are_believed_and_the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(&["127.0.0.1", "10.0.0.0/8"]).unwrap();
        // A client talking to us directly cannot choose its address.
        assert_eq!(
            proxies.client_ip(ip("203.0.113.7"), &["1.2.3.4"]),
            ip("203.0.113.7")
        );
        // Through nginx on the same machine.
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &["198.51.100.9"]),
            ip("198.51.100.9")
        );
        // A client that sends its own header through two of our proxies:
        // what it wrote (leftmost) is not believed.
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &["6.6.6.6, 198.51.100.9", "10.1.2.3"]),
            ip("198.51.100.9")
        );
        // No header, or only trusted hops: the nearest one.
        assert_eq!(proxies.client_ip(ip("10.0.0.5"), &[]), ip("10.0.0.5"));
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &["10.0.0.5"]),
            ip("10.0.0.5")
        );
        // Garbage stops the walk at the last address vouched for.
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &["unknown"]),
            ip("127.0.0.1")
        );
        // IPv4-mapped IPv6 is the IPv4 address.
        assert_eq!(
            proxies.client_ip(ip("::ffff:127.0.0.1"), &["::ffff:198.51.100.9"]),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn a_stuffed_header_is_read_only_so_far() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let stuffed = vec!["10.0.0.1"; 100].join(",");
        assert_eq!(
            proxies.client_ip(ip("10.9.9.9"), &[&format!("198.51.100.9,{stuffed}")]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_bad_entry_is_named() {
        let error = TrustedProxies::parse(&["10.0.0.0/8", "nginx"]).unwrap_err();
        assert!(error.contains("\"nginx\""), "{error}");
        assert!(TrustedProxies::parse(&["::1", "fd00::/8"]).is_ok());
    }
}

/// Over a real socket: the layer puts the client's address where the
/// throttles' extractors read it.
#[cfg(test)]
mod over_http {
    use super::*;
    use crate::tracking::ClientIp;

    async fn serve(proxies: TrustedProxies) -> String {
        let router = behind(
            Router::new().route(
                "/ip",
                axum::routing::get(|ClientIp(ip): ClientIp| async move {
                    ip.map_or("none".to_string(), |ip| ip.to_string())
                }),
            ),
            proxies,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap()
        });
        base
    }

    async fn seen(base: &str, forwarded: Option<&str>) -> String {
        let mut request = reqwest::Client::new().get(format!("{base}/ip"));
        if let Some(forwarded) = forwarded {
            request = request.header("x-forwarded-for", forwarded);
        }
        request.send().await.unwrap().text().await.unwrap()
    }

    #[tokio::test]
    async fn behind_a_trusted_proxy_the_extractors_see_the_client() {
        let trusted = serve(TrustedProxies::parse(&["127.0.0.1"]).unwrap()).await;
        assert_eq!(seen(&trusted, Some("198.51.100.9")).await, "198.51.100.9");
        assert_eq!(seen(&trusted, None).await, "127.0.0.1");
        // Without the setting the header changes nothing.
        let direct = serve(TrustedProxies::default()).await;
        assert_eq!(seen(&direct, Some("198.51.100.9")).await, "127.0.0.1");
    }
}

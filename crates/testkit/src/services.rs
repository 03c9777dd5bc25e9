//! Whether the services a test needs are there: PostgreSQL at
//! `YIZHAN_TEST_DATABASE_URL` and an MQTT broker at `YIZHAN_TEST_MQTT_URL`.
//! Without `YIZHAN_REQUIRE_SERVICES=1` a missing service skips the part of
//! the test that needs it and says so on stderr, so a laptop without
//! PostgreSQL can still run the rest; with it (CI sets it) a missing service
//! fails the test, so a green run means every part really ran.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

pub const DATABASE_URL_VAR: &str = "YIZHAN_TEST_DATABASE_URL";
pub const MQTT_URL_VAR: &str = "YIZHAN_TEST_MQTT_URL";
pub const REQUIRE_SERVICES_VAR: &str = "YIZHAN_REQUIRE_SERVICES";

/// How long a service may take to accept a TCP connection before it counts
/// as not answering. Generous: a loaded CI machine is slow, and a closed
/// port answers at once anyway.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A service the tests use from outside the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Postgres,
    Mqtt,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Postgres => "PostgreSQL",
            Service::Mqtt => "the MQTT broker",
        }
    }

    /// The environment variable holding the service's URL.
    pub fn var(self) -> &'static str {
        match self {
            Service::Postgres => DATABASE_URL_VAR,
            Service::Mqtt => MQTT_URL_VAR,
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Service::Postgres => 5432,
            Service::Mqtt => 1883,
        }
    }

    /// The service's URL when it is configured and accepts a TCP
    /// connection; otherwise why not. Never panics: callers decide.
    pub fn check(self) -> Result<String, String> {
        self.check_url(std::env::var(self.var()).ok())
    }

    fn check_url(self, url: Option<String>) -> Result<String, String> {
        let var = self.var();
        let url = url
            .filter(|url| !url.trim().is_empty())
            .ok_or_else(|| format!("{var} is not set"))?;
        // No host in the URL (a Unix socket): connecting will tell.
        let Some((host, port)) = host_port(&url, self.default_port())? else {
            return Ok(url);
        };
        // Only host and port are printed: the URL may hold a password.
        let name = self.name();
        let addresses = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|error| format!("{name} at {host}:{port} ({var}) is unknown: {error}"))?;
        let mut last_error = None;
        for address in addresses {
            match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
                Ok(_) => return Ok(url),
                Err(error) => last_error = Some(error),
            }
        }
        let why = last_error.map_or("no address".to_string(), |error| error.to_string());
        Err(format!(
            "{name} at {host}:{port} ({var}) does not answer: {why}"
        ))
    }
}

/// Whether missing services fail tests (`YIZHAN_REQUIRE_SERVICES=1`).
pub fn require_services() -> bool {
    std::env::var(REQUIRE_SERVICES_VAR).is_ok_and(|value| value == "1")
}

/// PostgreSQL's URL when it answers; `None` (said on stderr) when it is
/// missing. Panics under `YIZHAN_REQUIRE_SERVICES=1` instead of `None`.
pub fn database_url() -> Option<String> {
    available(Service::Postgres)
}

/// The MQTT broker's URL when it answers; `None` (said on stderr) when it
/// is missing. Panics under `YIZHAN_REQUIRE_SERVICES=1` instead of `None`.
pub fn mqtt_url() -> Option<String> {
    available(Service::Mqtt)
}

fn available(service: Service) -> Option<String> {
    match service.check() {
        Ok(url) => Some(url),
        Err(reason) => {
            skip_or_fail(service.name(), &reason);
            None
        }
    }
}

/// Says on stderr that the part of the running test that needs `what` is
/// skipped, and why; under `YIZHAN_REQUIRE_SERVICES=1` fails the test
/// instead.
pub fn skip_or_fail(what: &str, reason: &str) {
    skip_or_fail_as(require_services(), what, reason);
}

fn skip_or_fail_as(required: bool, what: &str, reason: &str) {
    // libtest names each test's thread after the test.
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    if required {
        panic!(
            "{test} cannot run without {what} ({REQUIRE_SERVICES_VAR}=1 forbids skipping): {reason}"
        );
    }
    eprintln!("SKIP {test} (the part that needs {what}): {reason}");
}

/// The host and port a service URL points at (`scheme://user:pw@host:port/…`),
/// with the scheme's default port; `None` when the URL names no host.
fn host_port(url: &str, default_port: u16) -> Result<Option<(String, u16)>, String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_and_port.is_empty() {
        return Ok(None);
    }
    let (host, port) = match host_and_port.strip_prefix('[') {
        // [v6 address]:port
        Some(bracketed) => {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("no closing ] in the host of {host_and_port}"))?;
            (host, after.strip_prefix(':'))
        }
        None => match host_and_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_and_port, None),
        },
    };
    let port = match port {
        Some(port) => port
            .parse()
            .map_err(|_| format!("bad port {port:?} in {host_and_port}"))?,
        None => default_port,
    };
    Ok(Some((host.to_string(), port)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn host_and_port_come_from_service_urls() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/test",
                Some(("127.0.0.1", 5432)),
            ),
            (
                "postgresql://u:p%40ss@db.example:6543/x?sslmode=off",
                Some(("db.example", 6543)),
            ),
            ("postgres://localhost/test", Some(("localhost", 5432))),
            ("mqtt://127.0.0.1:1999", Some(("127.0.0.1", 1999))),
            ("mqtt://[::1]:1884", Some(("::1", 1884))),
            ("mqtt://[::1]", Some(("::1", 5432))),
            ("postgres:///test?host=/run/postgresql", None),
        ];
        for (url, expected) in cases {
            let expected = expected.map(|(host, port)| (host.to_string(), port));
            assert_eq!(host_port(url, 5432).unwrap(), expected, "{url}");
        }
        assert!(host_port("mqtt://host:port", 1883).is_err());
    }

    #[test]
    fn a_listening_port_answers_and_a_closed_one_does_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let open = format!("mqtt://127.0.0.1:{}", listener.local_addr().unwrap().port());
        assert_eq!(Service::Mqtt.check_url(Some(open.clone())), Ok(open));
        // A port just released by a listener is closed: nothing accepts there.
        let closed_port = {
            let released = TcpListener::bind("127.0.0.1:0").unwrap();
            released.local_addr().unwrap().port()
        };
        let closed = format!("postgres://postgres:secret@127.0.0.1:{closed_port}/test");
        let reason = Service::Postgres.check_url(Some(closed)).unwrap_err();
        assert!(reason.contains("does not answer"), "{reason}");
        assert!(
            !reason.contains("secret"),
            "the password must not be printed: {reason}"
        );
        let unset = Service::Mqtt.check_url(None).unwrap_err();
        assert_eq!(unset, "YIZHAN_TEST_MQTT_URL is not set");
        assert!(Service::Mqtt.check_url(Some(" ".into())).is_err());
    }

    #[test]
    fn a_missing_service_skips_unless_required() {
        skip_or_fail_as(false, "PostgreSQL", "it is not there");
        let failed = std::panic::catch_unwind(|| {
            skip_or_fail_as(true, "PostgreSQL", "it is not there");
        });
        let message = failed.unwrap_err();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(message.contains("YIZHAN_REQUIRE_SERVICES=1"), "{message}");
        assert!(message.contains("it is not there"), "{message}");
    }
}

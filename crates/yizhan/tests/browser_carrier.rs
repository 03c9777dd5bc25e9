//! The carrier portal in the browser: `yizhan serve` with the demo county,
//! `browser-tests/carrier.mjs` driving Chromium as `zto` (manifest upload
//! with bad rows, reconciliation, a webhook and its test event, an API
//! token; screenshots at 390 and 1280 px in `target/playwright/`), and a
//! small HTTP receiver here that must see the signed test events arrive.
//!
//! The receiver listens on 127.0.0.1, which the webhook guard refuses; the
//! server is started with the documented settings that allow a destination
//! after all (`webhooks.allow`, and `webhooks.allow_http` for plain http),
//! as a county allows its own gateway. The rule itself is not weakened.
//!
//! Needs node, chromium and `browser-tests/node_modules`; skips without
//! them unless `YIZHAN_REQUIRE_SERVICES=1` or `YIZHAN_REQUIRE_BROWSER=1`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use support::Demo;

/// One request the receiver got: its headers (lower-cased names) and body.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Answers every request 200 and keeps it.
fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.push((name.trim().to_lowercase(), value.trim().to_string()));
                }
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            keep.lock().unwrap().push(Received {
                path,
                headers,
                body,
            });
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (url, got)
}

#[test]
fn a_carrier_uploads_reconciles_and_gets_its_test_webhook_in_the_browser() {
    if !support::browser_or_skip() {
        return;
    }
    let (url, received) = receiver();
    let demo = Demo::start(&[
        // The receiver is on this machine: allowed by the documented
        // settings, as an administrator allows a county gateway.
        ("YIZHAN_WEBHOOKS__ALLOW", "[\"127.0.0.1/32\"]"),
        ("YIZHAN_WEBHOOKS__ALLOW_HTTP", "true"),
    ]);
    let manifest = demo.dir.path().join("manifest.csv");
    // Lines 3 and 5 are bad (a waybill that is none, a phone too short).
    std::fs::write(
        &manifest,
        "waybill,recipient_name,phone,weight_grams\n\
         731299990001,李四,13900001111,500\n\
         BAD#WAYBILL,王五,13900002222,\n\
         731299990002,钱七,,1200\n\
         731299990003,赵六,12345,\n",
    )
    .unwrap();
    let secrets = demo.dir.path().join("secrets.txt");
    demo.run_script(
        "carrier.mjs",
        &[
            ("RECEIVER_URL", &url),
            ("SECRET_FILE", secrets.to_str().unwrap()),
            ("MANIFEST_FILE", manifest.to_str().unwrap()),
        ],
    );
    // Each width's test event arrived, signed with the secret the page
    // showed once.
    let secrets = std::fs::read_to_string(&secrets).unwrap();
    let got = received.lock().unwrap().clone();
    for line in secrets.lines() {
        let (width, secret) = line.split_once(' ').unwrap();
        let request = got
            .iter()
            .find(|r| {
                r.path == format!("/hook-{width}") && r.header("x-yizhan-event") == Some("test")
            })
            .unwrap_or_else(|| panic!("no test event reached /hook-{width}: {got:?}"));
        let signature = request.header("x-yizhan-signature").expect("signed");
        let now = chrono::Utc::now().timestamp();
        domain::webhook::verify_signature(secret, signature, &request.body, now, 300)
            .unwrap_or_else(|e| panic!("the signature does not verify: {e:?}"));
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["event"], "test");
        assert_eq!(body["carrier"], "ZTO");
    }
    assert_eq!(secrets.lines().count(), 2, "both widths made a webhook");
}

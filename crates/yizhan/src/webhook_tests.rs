//! Tracking back to carriers end to end, on real parts: SQLite and (when
//! `YIZHAN_TEST_DATABASE_URL` is set; required under
//! `YIZHAN_REQUIRE_SERVICES=1`) PostgreSQL, the binary's reqwest
//! sender, and a real HTTP receiver (axum on 127.0.0.1:0) that checks
//! signatures with `domain::webhook::verify_signature` and de-duplicates by
//! delivery key, as docs/webhooks.md tells integrators to. The relay is
//! driven step by step with a test clock: no sleeps.

use crate::senders::HttpWebhookSender;
use app::manifest::ManifestRow;
use app::parcels::{PickupProof, ShownProof};
use app::ports::Clock;
use app::webhooks::{DeliveryStatus, WebhookRelayReport, WebhookSender};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::Duration;
use domain::station::SizeClass;
use domain::webhook::{
    AllowEntry, CircuitBreaker, RetryPolicy, TargetPolicy, sign, verify_signature,
};
use domain::{Action, Carrier};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use testkit::{Harness, TestClock, admin, station};

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_seconds: 10,
        max_delay_seconds: 40,
    }
}

/// Where these tests' webhooks may go: the local receivers on 127.0.0.1,
/// over plain http, through the allow-list (as an on-premises gateway
/// would be), not by weakening the default.
fn local_targets() -> TargetPolicy {
    TargetPolicy {
        allow_http: true,
        allow: vec![AllowEntry::parse("127.0.0.1").unwrap()],
    }
}

/// The binary's sender with [`local_targets`].
fn local_sender() -> HttpWebhookSender {
    HttpWebhookSender::new(std::time::Duration::from_secs(5), local_targets(), None).unwrap()
}

/// The shared test databases (SQLite, and PostgreSQL when it answers),
/// with this file's retry policy and [`local_targets`].
async fn backends() -> Vec<Harness> {
    let mut backends = testkit::backends().await;
    for backend in &mut backends {
        backend.app.settings.webhook_retry = policy();
        backend.app.settings.webhook_targets = local_targets();
    }
    backends
}

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    /// Requests per delivery key (every attempt that passed the signature check).
    arrivals: HashMap<String, u32>,
    /// Accepted events in the order processed, each once (de-duplicated).
    events: Vec<Value>,
    /// Requests refused by the signature check.
    bad_signatures: u32,
    /// Raw bodies, to scan for personal data.
    bodies: Vec<String>,
}

struct Receiver {
    url: String,
    secret: Arc<Mutex<String>>,
    seen: Arc<Mutex<Seen>>,
}

/// A carrier's receiver as docs/webhooks.md describes it: verify the
/// signature over the raw body, then de-duplicate by delivery id. It
/// misbehaves the way real ones do: per delivery, the first two attempts
/// answer 503, the third processes the event but fails before answering
/// (500), the fourth finds it already processed and answers 200. `/down`
/// always answers 500.
async fn receiver(clock: Arc<TestClock>) -> Receiver {
    let secret: Arc<Mutex<String>> = Arc::default();
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let (handler_secret, handler_seen) = (secret.clone(), seen.clone());
    let handler = move |headers: HeaderMap, body: Bytes| {
        let secret = handler_secret.lock().unwrap().clone();
        let seen = handler_seen.clone();
        let now = clock.now().timestamp();
        async move {
            let signature = headers
                .get("X-Yizhan-Signature")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let mut seen = seen.lock().unwrap();
            if verify_signature(
                &secret,
                signature,
                &body,
                now,
                domain::webhook::DEFAULT_TOLERANCE_SECONDS,
            )
            .is_err()
            {
                seen.bad_signatures += 1;
                return StatusCode::UNAUTHORIZED;
            }
            let event: Value = serde_json::from_slice(&body).unwrap();
            let key = event["delivery_id"].as_str().unwrap().to_string();
            assert_eq!(
                headers.get("X-Yizhan-Delivery").unwrap().to_str().unwrap(),
                key,
                "the header and the body carry the same key"
            );
            seen.bodies.push(String::from_utf8_lossy(&body).to_string());
            let arrivals = {
                let n = seen.arrivals.entry(key.clone()).or_default();
                *n += 1;
                *n
            };
            let already = seen.events.iter().any(|e| e["delivery_id"] == key);
            match arrivals {
                1 | 2 => StatusCode::SERVICE_UNAVAILABLE,
                _ => {
                    if !already {
                        seen.events.push(event);
                    }
                    if arrivals == 3 {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                }
            }
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(handler))
        .route(
            "/down",
            axum::routing::post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Receiver { url, secret, seen }
}

/// Relays until nothing is due, moving the clock past each next attempt and
/// past any open circuit breaker.
async fn drain(backend: &Harness, sender: &dyn WebhookSender) {
    for _ in 0..200 {
        let report = backend.app.relay_webhooks_once(sender, 100).await.unwrap();
        if report == WebhookRelayReport::default() {
            return;
        }
        let step = if report.n_skipped > 0 {
            CircuitBreaker::LONGEST_COOL_DOWN_SECONDS
        } else {
            policy().max_delay_seconds
        };
        backend.clock.advance(Duration::seconds(step));
    }
    panic!("the relay did not settle");
}

#[tokio::test]
async fn a_flaky_receiver_gets_every_event_once_from_both_stores() {
    let sender = local_sender();
    for backend in backends().await {
        let app = &backend.app;
        let hook = receiver(backend.clock.clone()).await;
        let created = app
            .create_webhook(&admin(), Carrier::Zto, &format!("{}/hook", hook.url), &[])
            .await
            .unwrap();
        *hook.secret.lock().unwrap() = created.secret.clone();
        // A second carrier's subscription hears nothing of ZTO's parcels.
        app.create_webhook(&admin(), Carrier::Sf, &format!("{}/down", hook.url), &[])
            .await
            .unwrap();
        let station_id = station(app, 5, 2).await;
        let rows = [
            ("731234567890", "13812345678"),
            ("731234567891", "13987654321"),
        ]
        .map(|(waybill, phone)| ManifestRow {
            waybill: waybill.into(),
            recipient_name: Some("张三".into()),
            phone: Some(phone.into()),
            address: Some("四川省成都市武侯区簇桥街道石桥村3组".into()),
            station_id: Some(station_id),
            size: None,
            consent: Some(true),
            weight_grams: None,
        });
        app.announce(&admin(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        let parcels = app
            .store
            .parcels(&app::ports::ParcelFilter {
                carrier: Some(Carrier::Zto),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(parcels.len(), 2);
        for parcel in &parcels {
            for action in [Action::ArriveAtCentre, Action::Sort, Action::Dispatch] {
                app.centre_scan(&admin(), parcel.id, action).await.unwrap();
                backend.clock.advance(Duration::minutes(10));
            }
            let scan = app::inbound::InboundScan {
                carrier: Carrier::Zto,
                waybill: parcel.waybill.clone(),
                recipient_name: None,
                phone: None,
                size: SizeClass::Small,
                consent: None,
            };
            app.inbound(&admin(), station_id, scan).await.unwrap();
        }
        app.pick_up(
            &admin(),
            parcels[0].id,
            PickupProof::StaffAssisted {
                shown: ShownProof::IdCard,
                note: None,
            },
        )
        .await
        .unwrap();
        drain(&backend, &sender).await;
        // The pickup code itself never travels.
        let codes: Vec<String> = app
            .store
            .parcels(&app::ports::ParcelFilter {
                carrier: Some(Carrier::Zto),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter_map(|p| p.pickup_code)
            .collect();

        let seen = std::mem::take(&mut *hook.seen.lock().unwrap());
        // Retries reorder deliveries; the per-parcel sequence restores the order.
        let sequence = |waybill: &str| -> Vec<String> {
            let mut events: Vec<&Value> = seen
                .events
                .iter()
                .filter(|e| e["waybill"] == waybill)
                .collect();
            events.sort_by_key(|e| e["sequence"].as_i64().unwrap());
            events
                .iter()
                .map(|e| e["event"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            sequence("731234567890"),
            ["arrived", "sorted", "dispatched", "stored", "picked_up"],
            "{}",
            backend.name()
        );
        assert_eq!(
            sequence("731234567891"),
            ["arrived", "sorted", "dispatched", "stored"],
            "{}",
            backend.name()
        );
        assert_eq!(seen.events.len(), 9, "each event exactly once");
        assert!(
            seen.arrivals.values().all(|n| *n == 4),
            "every delivery failed three times, then succeeded: {:?}",
            seen.arrivals
        );
        assert_eq!(seen.bad_signatures, 0);
        let stored = seen.events.iter().find(|e| e["event"] == "stored").unwrap();
        assert_eq!(stored["place"]["name"], "石桥村驿站");
        assert_eq!(stored["has_pickup_code"], true);
        assert_eq!(stored["at"].as_str().unwrap().len(), 24, "{stored}");
        assert!(stored["at_shanghai"].as_str().unwrap().ends_with("+08:00"));
        let arrived = seen
            .events
            .iter()
            .find(|e| e["event"] == "arrived")
            .unwrap();
        assert_eq!(arrived["place"]["kind"], "centre");
        for body in &seen.bodies {
            for personal in [
                "13812345678",
                "13987654321",
                "张三",
                "武侯",
                "石桥村3组",
                "\"pickup_code\"",
            ] {
                assert!(!body.contains(personal), "{personal} sent: {body}");
            }
        }
        assert!(!codes.is_empty());
        for code in codes {
            assert!(seen.bodies.iter().all(|b| !b.contains(&code)), "{code}");
        }
        drop(seen);

        // The carrier's log: four attempts per delivery, the answers recorded.
        let deliveries = app
            .webhook_deliveries(
                &admin(),
                created.subscription.id,
                app::webhooks::Page {
                    after_id: None,
                    limit: 50,
                },
            )
            .await
            .unwrap();
        assert_eq!(deliveries.len(), 9);
        assert!(
            deliveries
                .iter()
                .all(|d| d.status == DeliveryStatus::Delivered
                    && d.attempts == 4
                    && d.last_status_code == Some(200)
                    && d.next_attempt_at.is_none())
        );
        let attempts = app
            .webhook_attempts(
                &admin(),
                Carrier::Zto,
                app::webhooks::Page {
                    after_id: None,
                    limit: 200,
                },
            )
            .await
            .unwrap();
        assert_eq!(attempts.len(), 36);
        let first = &deliveries[0].delivery_key;
        let codes: Vec<Option<u16>> = attempts
            .iter()
            .filter(|a| &a.delivery_key == first)
            .map(|a| a.status_code)
            .collect();
        assert_eq!(codes, [Some(503), Some(503), Some(500), Some(200)]);
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn a_wrong_signature_is_refused_by_the_receivers_check() {
    let clock = Arc::new(TestClock::at(testkit::start()));
    let hook = receiver(clock.clone()).await;
    *hook.secret.lock().unwrap() = "whsec_right".into();
    let client = reqwest::Client::new();
    let body = r#"{"delivery_id":"parcel:1:v1:s1","event":"stored"}"#;
    let now = clock.now().timestamp();
    let post = |signature: String| {
        client
            .post(format!("{}/hook", hook.url))
            .header("X-Yizhan-Signature", signature)
            .header("X-Yizhan-Delivery", "parcel:1:v1:s1")
            .body(body)
            .send()
    };
    let wrong = post(sign("whsec_wrong", now, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let replayed = post(sign("whsec_right", now - 3600, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(
        replayed.status().as_u16(),
        401,
        "an old signature is a replay"
    );
    let right = post(sign("whsec_right", now, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(
        right.status().as_u16(),
        503,
        "passes the check (then fails as designed)"
    );
    let seen = hook.seen.lock().unwrap();
    assert_eq!(seen.bad_signatures, 2);
    assert_eq!(seen.arrivals.len(), 1);
}

#[tokio::test]
async fn back_off_grows_then_gives_up_at_the_limit() {
    let sender = local_sender();
    for backend in backends().await {
        let app = &backend.app;
        let hook = receiver(backend.clock.clone()).await;
        let created = app
            .create_webhook(
                &admin(),
                Carrier::Zto,
                &format!("{}/down", hook.url),
                &["arrived".into()],
            )
            .await
            .unwrap();
        let station_id = station(app, 5, 2).await;
        let row = ManifestRow {
            waybill: "731234567899".into(),
            station_id: Some(station_id),
            ..Default::default()
        };
        app.announce(&admin(), Carrier::Zto, &[row], 1)
            .await
            .unwrap();
        let parcel = app
            .store
            .parcels(&app::ports::ParcelFilter {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .remove(0);
        app.centre_scan(&admin(), parcel.id, Action::ArriveAtCentre)
            .await
            .unwrap();
        // Sorting is not subscribed: only the arrival is delivered.
        app.centre_scan(&admin(), parcel.id, Action::Sort)
            .await
            .unwrap();
        let page = app::webhooks::Page {
            after_id: None,
            limit: 10,
        };
        let mut sent_at = Vec::new();
        loop {
            let report = app.relay_webhooks_once(&sender, 10).await.unwrap();
            assert_eq!(report.n_delivered, 0);
            sent_at.push(backend.clock.now());
            let delivery = app
                .webhook_deliveries(&admin(), created.subscription.id, page)
                .await
                .unwrap()
                .remove(0);
            match delivery.next_attempt_at {
                Some(next) => {
                    // Just before the due time nothing goes out.
                    backend.clock.set(next - Duration::milliseconds(1));
                    let early = app.relay_webhooks_once(&sender, 10).await.unwrap();
                    assert_eq!(early, app::webhooks::WebhookRelayReport::default());
                    backend.clock.set(next);
                }
                None => {
                    assert_eq!(
                        delivery.status,
                        DeliveryStatus::Failed,
                        "{}",
                        backend.name()
                    );
                    assert_eq!(delivery.attempts, 5);
                    assert_eq!(delivery.last_status_code, Some(500));
                    break;
                }
            }
        }
        let gaps: Vec<i64> = sent_at
            .windows(2)
            .map(|w| (w[1] - w[0]).num_milliseconds())
            .collect();
        assert_eq!(gaps.len(), 4, "five attempts: {gaps:?}");
        for (gap, full) in gaps.iter().zip([10_000, 20_000, 40_000, 40_000]) {
            assert!(
                (full / 2..=full).contains(gap),
                "{}: gap {gap} ms not within [{}, {full}]: {gaps:?}",
                backend.name(),
                full / 2
            );
        }
        assert!(gaps[0] < gaps[1] && gaps[1] < gaps[2], "{gaps:?}");
        // Given up means given up: a day later nothing is sent.
        backend.clock.advance(Duration::days(1));
        let later = app.relay_webhooks_once(&sender, 10).await.unwrap();
        assert_eq!(later, app::webhooks::WebhookRelayReport::default());
        let attempts = app
            .webhook_attempts(&admin(), Carrier::Zto, page)
            .await
            .unwrap();
        assert_eq!(
            attempts
                .iter()
                .map(|a| a.outcome.as_str())
                .collect::<Vec<_>>(),
            ["pending", "pending", "pending", "pending", "failed"]
        );
        assert!(attempts.iter().all(|a| a.event_kind == "arrived"));
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn an_inactive_subscription_holds_its_deliveries_until_reactivated() {
    let sender = local_sender();
    for backend in backends().await {
        let app = &backend.app;
        let hook = receiver(backend.clock.clone()).await;
        let created = app
            .create_webhook(
                &admin(),
                Carrier::Zto,
                &format!("{}/hook", hook.url),
                &["arrived".into()],
            )
            .await
            .unwrap();
        *hook.secret.lock().unwrap() = created.secret.clone();
        let id = created.subscription.id;
        let row = ManifestRow {
            waybill: "731234567898".into(),
            ..Default::default()
        };
        app.announce(&admin(), Carrier::Zto, &[row], 1)
            .await
            .unwrap();
        let parcel = app
            .store
            .parcels(&app::ports::ParcelFilter {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .remove(0);
        app.centre_scan(&admin(), parcel.id, Action::ArriveAtCentre)
            .await
            .unwrap();
        let off = app::webhooks::SubscriptionPatch {
            active: Some(false),
            ..Default::default()
        };
        app.update_webhook(&admin(), id, off).await.unwrap();
        let held = app.relay_webhooks_once(&sender, 10).await.unwrap();
        assert_eq!(held, app::webhooks::WebhookRelayReport::default());
        let on = app::webhooks::SubscriptionPatch {
            active: Some(true),
            ..Default::default()
        };
        app.update_webhook(&admin(), id, on).await.unwrap();
        drain(&backend, &sender).await;
        assert_eq!(
            hook.seen.lock().unwrap().events.len(),
            1,
            "{}",
            backend.name()
        );
        backend.cleanup().await;
    }
}

// ---- Issue 11: internal addresses, HTTPS, pauses, rotation, deletion,
// ---- concurrency across carriers, the breaker and test events.

/// A plain receiver: checks the signature with the secret it holds, keeps
/// what it accepted, answers `status`, and (with `hold`) waits until the
/// test releases it before answering, like a carrier's stalled endpoint.
#[derive(Clone)]
struct Simple {
    secret: Arc<Mutex<String>>,
    accepted: Arc<Mutex<Vec<(Value, String)>>>,
    bad_signatures: Arc<Mutex<u32>>,
    arrived: Arc<tokio::sync::Notify>,
}

fn simple(
    clock: Arc<TestClock>,
    status: StatusCode,
    hold: Option<Arc<tokio::sync::Notify>>,
) -> (Simple, axum::Router) {
    let receiver = Simple {
        secret: Arc::default(),
        accepted: Arc::default(),
        bad_signatures: Arc::default(),
        arrived: Arc::default(),
    };
    let state = receiver.clone();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let state = state.clone();
        let hold = hold.clone();
        let now = clock.now().timestamp();
        async move {
            let signature = headers
                .get("X-Yizhan-Signature")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let secret = state.secret.lock().unwrap().clone();
            // No secret set: this receiver takes anything (several
            // subscriptions, each with its own secret, share it).
            if !secret.is_empty() && verify_signature(&secret, &signature, &body, now, 300).is_err()
            {
                *state.bad_signatures.lock().unwrap() += 1;
                state.arrived.notify_one();
                return StatusCode::UNAUTHORIZED;
            }
            state
                .accepted
                .lock()
                .unwrap()
                .push((serde_json::from_slice(&body).unwrap(), signature));
            state.arrived.notify_one();
            if let Some(hold) = hold {
                hold.notified().await;
            }
            status
        }
    };
    (
        receiver,
        axum::Router::new().route("/hook", axum::routing::post(handler)),
    )
}

async fn serve_plain(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// A parcel of `carrier` announced and scanned in at the centre: one
/// `arrived` event, so one delivery per subscription that hears it.
async fn arrive(app: &app::App, carrier: Carrier, waybill: &str) {
    let row = ManifestRow {
        waybill: waybill.into(),
        ..Default::default()
    };
    app.announce(&admin(), carrier, &[row], 1).await.unwrap();
    let parcel = app
        .store
        .parcels(&app::ports::ParcelFilter {
            carrier: Some(carrier),
            waybill: Some(waybill.into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    app.centre_scan(&admin(), parcel.id, Action::ArriveAtCentre)
        .await
        .unwrap();
}

fn page(limit: u32) -> app::webhooks::Page {
    app::webhooks::Page {
        after_id: None,
        limit,
    }
}

#[tokio::test]
async fn events_during_a_pause_wait_and_go_out_on_resume() {
    let sender = local_sender();
    for backend in backends().await {
        let app = &backend.app;
        let (hook, router) = simple(backend.clock.clone(), StatusCode::OK, None);
        let url = serve_plain(router).await;
        let created = app
            .create_webhook(&admin(), Carrier::Zto, &url, &[])
            .await
            .unwrap();
        *hook.secret.lock().unwrap() = created.secret.clone();
        let id = created.subscription.id;
        let pause = |active| app::webhooks::SubscriptionPatch {
            active: Some(active),
            ..Default::default()
        };
        app.update_webhook(&admin(), id, pause(false))
            .await
            .unwrap();
        // Both events happen while the subscription is paused.
        arrive(app, Carrier::Zto, "731234567801").await;
        arrive(app, Carrier::Zto, "731234567802").await;
        let held = app.relay_webhooks_once(&sender, 10).await.unwrap();
        assert_eq!(
            held,
            WebhookRelayReport::default(),
            "nothing goes out while paused"
        );
        let waiting = app
            .webhook_deliveries(&admin(), id, page(10))
            .await
            .unwrap();
        assert_eq!(
            waiting.len(),
            2,
            "{}: the pause's events are written and wait",
            backend.name()
        );
        assert!(waiting.iter().all(|d| d.status == DeliveryStatus::Pending));
        app.update_webhook(&admin(), id, pause(true)).await.unwrap();
        drain(&backend, &sender).await;
        let accepted = hook.accepted.lock().unwrap().clone();
        let waybills: Vec<&str> = accepted
            .iter()
            .map(|(event, _)| event["waybill"].as_str().unwrap())
            .collect();
        assert_eq!(
            waybills,
            ["731234567801", "731234567802"],
            "{}",
            backend.name()
        );
        drop(accepted);
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn internal_addresses_are_refused_and_the_log_says_so_without_details() {
    for backend in backends().await {
        let mut app = backend.app.clone();
        // The default: public HTTPS only. Every internal form the issue
        // names is refused when subscribing, with a clear error.
        app.settings.webhook_targets = TargetPolicy::default();
        for url in [
            "https://127.0.0.1:5432/",
            "https://169.254.169.254/latest/meta-data/",
            "https://localhost/hook",
            "https://[::1]/hook",
            "https://127.1/hook",
            "https://2130706433/hook",
            "https://0x7f.0.0.1/hook",
            "https://0.0.0.0/hook",
            "https://10.0.0.5/hook",
        ] {
            let error = app
                .create_webhook(&admin(), Carrier::Zto, url, &[])
                .await
                .unwrap_err();
            assert!(error.is(app::Code::WebhookUrlPrivate), "{url}: {error}");
            let zh = error.message(app::Lang::Zh);
            assert!(zh.contains("内部或私有网络地址"), "{zh}");
            assert!(error.message(app::Lang::En).contains("webhooks.allow"));
        }
        let error = app
            .create_webhook(&admin(), Carrier::Zto, "http://zto.example/hook", &[])
            .await
            .unwrap_err();
        assert!(error.is(app::Code::WebhookHttpsRequired), "{error}");
        // (Another carrier's, so no delivery tries to reach it below.)
        assert!(
            app.create_webhook(&admin(), Carrier::Sf, "https://sf.example/hook", &[])
                .await
                .is_ok()
        );

        // Subscriptions made while a gateway on 127.0.0.1 was allowed: one
        // to a listening receiver, one to a closed port. Then the
        // allow-list entry is removed: at delivery time both are refused,
        // and the log reads the same for both (it is no port scanner).
        app.settings.webhook_targets = local_targets();
        let (hook, router) = simple(backend.clock.clone(), StatusCode::OK, None);
        let open = serve_plain(router).await;
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/hook", listener.local_addr().unwrap())
        };
        let mut ids = Vec::new();
        for url in [&open, &closed] {
            let created = app
                .create_webhook(&admin(), Carrier::Zto, url, &["arrived".into()])
                .await
                .unwrap();
            ids.push(created.subscription.id);
        }
        arrive(&app, Carrier::Zto, "731234567803").await;
        let no_gateway = TargetPolicy {
            allow_http: true,
            allow: Vec::new(),
        };
        app.settings.webhook_targets = no_gateway.clone();
        let sender =
            HttpWebhookSender::new(std::time::Duration::from_secs(5), no_gateway, None).unwrap();
        let report = app.relay_webhooks_once(&sender, 10).await.unwrap();
        assert_eq!(report.n_retrying, 2, "{}", backend.name());
        assert!(
            hook.accepted.lock().unwrap().is_empty(),
            "nothing reached the receiver"
        );
        let mut texts = Vec::new();
        for id in ids {
            let delivery = app
                .webhook_deliveries(&admin(), id, page(10))
                .await
                .unwrap()
                .remove(0);
            assert_eq!(
                delivery.last_error.as_deref(),
                Some("refused: private address")
            );
            assert_eq!(delivery.last_error_zh.as_deref(), Some("已拒绝：内部地址"));
            assert_eq!(delivery.last_error_code.as_deref(), Some("private_address"));
            texts.push(serde_json::to_string(&delivery).unwrap());
        }
        let attempts = app
            .webhook_attempts(&admin(), Carrier::Zto, page(10))
            .await
            .unwrap();
        assert_eq!(attempts.len(), 2);
        for attempt in &attempts {
            assert_eq!(attempt.error.as_deref(), Some("refused: private address"));
            texts.push(serde_json::to_string(attempt).unwrap());
        }
        for text in &texts {
            let port = closed.rsplit(':').next().unwrap().trim_end_matches("/hook");
            assert!(!text.contains("connect") && !text.contains(port), "{text}");
        }
        // The sender holds the line on its own too (an address literal never
        // reaches the resolver, so the sender checks it itself).
        assert_eq!(
            sender.post(&open, &[], "{}").await,
            Err(app::webhooks::SendFailure::PrivateAddress)
        );
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn one_slow_carrier_does_not_stall_the_others() {
    // A long timeout: a stalled receiver holds its carrier for all of it.
    let sender = Arc::new(
        HttpWebhookSender::new(std::time::Duration::from_secs(60), local_targets(), None).unwrap(),
    );
    for backend in backends().await {
        let app = backend.app.clone();
        let release = Arc::new(tokio::sync::Notify::new());
        let (slow, slow_router) =
            simple(backend.clock.clone(), StatusCode::OK, Some(release.clone()));
        let (fast, fast_router) = simple(backend.clock.clone(), StatusCode::OK, None);
        for (carrier, hook, router) in [
            (Carrier::Zto, &slow, slow_router),
            (Carrier::Sf, &fast, fast_router),
        ] {
            let url = serve_plain(router).await;
            let created = app
                .create_webhook(&admin(), carrier, &url, &[])
                .await
                .unwrap();
            *hook.secret.lock().unwrap() = created.secret;
        }
        // The slow carrier's delivery is the older one: first in line.
        arrive(&app, Carrier::Zto, "731234567804").await;
        backend.clock.advance(Duration::seconds(1));
        arrive(&app, Carrier::Sf, "SF1234567890123").await;
        let relay = {
            let (app, sender) = (app.clone(), sender.clone());
            tokio::spawn(async move { app.relay_webhooks_once(sender.as_ref(), 10).await })
        };
        slow.arrived.notified().await;
        // The bound is a failure deadline, not a synchronisation: the fast
        // carrier's delivery arrives while the slow one is still held.
        tokio::time::timeout(std::time::Duration::from_secs(20), fast.arrived.notified())
            .await
            .expect("the fast carrier waited for the slow one");
        assert_eq!(fast.accepted.lock().unwrap().len(), 1);
        release.notify_one();
        let report = relay.await.unwrap().unwrap();
        assert_eq!(report.n_delivered, 2, "{}", backend.name());
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn a_carrier_that_keeps_failing_is_skipped_while_the_others_go_on() {
    let sender = local_sender();
    for backend in backends().await {
        let app = &backend.app;
        let (down_hook, down_router) = simple(
            backend.clock.clone(),
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
        );
        let (up, up_router) = simple(backend.clock.clone(), StatusCode::OK, None);
        let down_url = serve_plain(down_router).await;
        let up_url = serve_plain(up_router).await;
        let down = app
            .create_webhook(&admin(), Carrier::Zto, &down_url, &[])
            .await
            .unwrap();
        *down_hook.secret.lock().unwrap() = down.secret;
        let created = app
            .create_webhook(&admin(), Carrier::Sf, &up_url, &[])
            .await
            .unwrap();
        *up.secret.lock().unwrap() = created.secret;
        for n in 0..7 {
            arrive(app, Carrier::Zto, &format!("73123456781{n}")).await;
        }
        for n in 0..3 {
            arrive(app, Carrier::Sf, &format!("SF123456789012{n}")).await;
        }
        let first = app.relay_webhooks_once(&sender, 100).await.unwrap();
        assert_eq!(
            (first.n_retrying, first.n_skipped, first.n_delivered),
            (
                CircuitBreaker::FAILURES_TO_OPEN,
                7 - CircuitBreaker::FAILURES_TO_OPEN,
                3
            ),
            "{}: five failures open ZTO's breaker; SF is delivered",
            backend.name()
        );
        // While it is open, nothing goes to ZTO, though retries fall due.
        backend.clock.advance(Duration::seconds(59));
        let open = app.relay_webhooks_once(&sender, 100).await.unwrap();
        assert_eq!((open.n_retrying, open.n_skipped), (0, 7), "{open:?}");
        // After the cool-down one attempt probes; its failure reopens it.
        backend.clock.advance(Duration::seconds(1));
        let probe = app.relay_webhooks_once(&sender, 100).await.unwrap();
        assert_eq!((probe.n_retrying, probe.n_skipped), (1, 6), "{probe:?}");
        let attempts = app
            .webhook_attempts(&admin(), Carrier::Zto, page(100))
            .await
            .unwrap();
        assert_eq!(attempts.len(), 6);
        assert_eq!(up.accepted.lock().unwrap().len(), 3);
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn a_rotated_secret_overlaps_with_the_old_one_then_replaces_it() {
    let sender = local_sender();
    for backend in backends().await {
        let app = &backend.app;
        let (hook, router) = simple(backend.clock.clone(), StatusCode::OK, None);
        let url = serve_plain(router).await;
        let created = app
            .create_webhook(&admin(), Carrier::Zto, &url, &[])
            .await
            .unwrap();
        let old = created.secret.clone();
        let id = created.subscription.id;
        let rotated = app
            .rotate_webhook_secret(&admin(), id, Some(2))
            .await
            .unwrap();
        assert_ne!(rotated.secret, old);
        assert_eq!(
            rotated.previous_secret_valid_until,
            backend.clock.now() + Duration::hours(2)
        );
        // The receiver has not switched yet: the old secret still verifies.
        *hook.secret.lock().unwrap() = old.clone();
        arrive(app, Carrier::Zto, "731234567820").await;
        drain(&backend, &sender).await;
        // It switches: the new secret verifies the same kind of request.
        *hook.secret.lock().unwrap() = rotated.secret.clone();
        arrive(app, Carrier::Zto, "731234567821").await;
        drain(&backend, &sender).await;
        {
            let accepted = hook.accepted.lock().unwrap();
            assert_eq!(accepted.len(), 2, "{}", backend.name());
            for (_, header) in accepted.iter() {
                assert_eq!(header.matches("v1=").count(), 2, "{header}");
            }
        }
        // After the overlap only the new secret signs.
        backend.clock.advance(Duration::hours(2));
        *hook.secret.lock().unwrap() = old.clone();
        arrive(app, Carrier::Zto, "731234567822").await;
        app.relay_webhooks_once(&sender, 10).await.unwrap();
        assert_eq!(
            *hook.bad_signatures.lock().unwrap(),
            1,
            "the old secret no longer verifies"
        );
        *hook.secret.lock().unwrap() = rotated.secret.clone();
        backend
            .clock
            .advance(Duration::seconds(policy().max_delay_seconds));
        drain(&backend, &sender).await;
        let accepted = hook.accepted.lock().unwrap().clone();
        assert_eq!(accepted.len(), 3);
        assert_eq!(accepted[2].1.matches("v1=").count(), 1);
        assert!(
            app.rotate_webhook_secret(&admin(), id, Some(24 * 8))
                .await
                .unwrap_err()
                .is(app::Code::WebhookOverlapInvalid)
        );
        drop(accepted);
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn deleting_a_subscription_frees_its_place_and_closes_its_deliveries() {
    let sender = local_sender();
    for backend in backends().await {
        let app = &backend.app;
        let (hook, router) = simple(backend.clock.clone(), StatusCode::OK, None);
        let url = serve_plain(router).await;
        let mut ids = Vec::new();
        for _ in 0..domain::webhook::SUBSCRIPTIONS_PER_CARRIER_MAX {
            let created = app
                .create_webhook(&admin(), Carrier::Zto, &url, &[])
                .await
                .unwrap();
            ids.push(created.subscription.id);
        }
        let full = app
            .create_webhook(&admin(), Carrier::Zto, &url, &[])
            .await
            .unwrap_err();
        assert!(full.is(app::Code::WebhookLimit));
        arrive(app, Carrier::Zto, "731234567830").await;
        let doomed = ids[0];
        app.delete_webhook(&admin(), doomed).await.unwrap();
        assert!(
            app.create_webhook(&admin(), Carrier::Zto, &url, &[])
                .await
                .is_ok(),
            "rotation by replacement works"
        );
        let listed = app.webhooks(&admin(), Carrier::Zto).await.unwrap();
        assert_eq!(listed.len(), domain::webhook::SUBSCRIPTIONS_PER_CARRIER_MAX);
        assert!(listed.iter().all(|s| s.id != doomed));
        assert!(
            app.delete_webhook(&admin(), doomed).await.is_err(),
            "gone is gone"
        );
        assert!(
            app.update_webhook(&admin(), doomed, Default::default())
                .await
                .is_err()
        );
        // Its pending delivery was closed, not sent; the others' went out.
        drain(&backend, &sender).await;
        let attempts = app
            .webhook_attempts(&admin(), Carrier::Zto, page(100))
            .await
            .unwrap();
        assert_eq!(
            attempts.len(),
            domain::webhook::SUBSCRIPTIONS_PER_CARRIER_MAX - 1,
            "{}",
            backend.name()
        );
        assert!(attempts.iter().all(|a| a.subscription_id != doomed));
        assert_eq!(hook.accepted.lock().unwrap().len(), attempts.len());
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn a_test_event_reaches_the_endpoint_signed_and_logged() {
    let sender = local_sender();
    for backend in backends().await {
        let app = &backend.app;
        let (hook, router) = simple(backend.clock.clone(), StatusCode::OK, None);
        let url = serve_plain(router).await;
        let created = app
            .create_webhook(&admin(), Carrier::Zto, &url, &[])
            .await
            .unwrap();
        *hook.secret.lock().unwrap() = created.secret;
        let id = created.subscription.id;
        let test = app.send_test_webhook(&admin(), id).await.unwrap();
        let sf = domain::Principal {
            role: domain::Role::CarrierIntegrator,
            carrier: Some(Carrier::Sf),
            ..admin()
        };
        assert!(
            app.send_test_webhook(&sf, id).await.is_err(),
            "another carrier's is not found"
        );
        drain(&backend, &sender).await;
        let accepted = hook.accepted.lock().unwrap().clone();
        assert_eq!(accepted.len(), 1, "{}", backend.name());
        assert_eq!(accepted[0].0["event"], "test");
        assert_eq!(accepted[0].0["delivery_id"], test.delivery_id.as_str());
        drop(accepted);
        let log = app
            .webhook_deliveries(&admin(), id, page(10))
            .await
            .unwrap();
        assert_eq!(log[0].event_kind, "test");
        assert_eq!(log[0].status, DeliveryStatus::Delivered);
        backend.cleanup().await;
    }
}

/// A CA and a server certificate for `localhost` signed by it, made now.
fn make_certificates() -> (String, rcgen::Certificate, rcgen::KeyPair) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "carrier gateway test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), server, server_key)
}

/// Serves `router` over TLS (rustls) on 127.0.0.1; the port.
async fn serve_tls(router: axum::Router, cert: &rcgen::Certificate, key: &rcgen::KeyPair) -> u16 {
    use tokio_rustls::rustls;
    // ring, the provider reqwest's rustls uses here; its post-quantum
    // deprecation note does not matter for a test certificate.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                // A client that refuses our certificate ends the handshake.
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(router);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_delivery_goes_out_over_https_to_a_gateway_with_a_private_ca() {
    let (ca_pem, cert, key) = make_certificates();
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), ca_pem).unwrap();
    // HTTPS only (the default), with the on-premises gateway allow-listed
    // by name: `localhost` resolves to 127.0.0.1, which only the
    // allow-list lets through.
    let gateway = TargetPolicy {
        allow_http: false,
        allow: vec![AllowEntry::parse("localhost").unwrap()],
    };
    let timeout = std::time::Duration::from_secs(5);
    let trusting = HttpWebhookSender::new(timeout, gateway.clone(), Some(ca_file.path())).unwrap();
    let bundled_only = HttpWebhookSender::new(timeout, gateway.clone(), None).unwrap();
    for backend in backends().await {
        let mut app = backend.app.clone();
        app.settings.webhook_targets = gateway.clone();
        let (hook, router) = simple(backend.clock.clone(), StatusCode::OK, None);
        let port = serve_tls(router, &cert, &key).await;
        let url = format!("https://localhost:{port}/hook");
        let created = app
            .create_webhook(&admin(), Carrier::Zto, &url, &[])
            .await
            .unwrap();
        *hook.secret.lock().unwrap() = created.secret;
        let id = created.subscription.id;
        arrive(&app, Carrier::Zto, "731234567840").await;
        // The bundled roots alone do not know the gateway's CA.
        let untrusted = app.relay_webhooks_once(&bundled_only, 10).await.unwrap();
        assert_eq!(untrusted.n_retrying, 1, "{}", backend.name());
        let log = app
            .webhook_deliveries(&admin(), id, page(10))
            .await
            .unwrap();
        assert_eq!(
            log[0].last_error_code.as_deref(),
            Some("tls"),
            "{:?}",
            log[0]
        );
        backend
            .clock
            .advance(Duration::seconds(policy().max_delay_seconds));
        let trusted = app.relay_webhooks_once(&trusting, 10).await.unwrap();
        assert_eq!(trusted.n_delivered, 1, "{}: {trusted:?}", backend.name());
        let accepted = hook.accepted.lock().unwrap().clone();
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0].0["waybill"], "731234567840");
        drop(accepted);
        backend.cleanup().await;
    }
    // Plain http is refused by the same sender outside the demo.
    assert_eq!(
        trusting.post("http://localhost:1/hook", &[], "{}").await,
        Err(app::webhooks::SendFailure::HttpsRequired)
    );
}

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
use app::webhooks::DeliveryStatus;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::Duration;
use domain::station::SizeClass;
use domain::webhook::{RetryPolicy, sign, verify_signature};
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

/// The shared test databases (SQLite, and PostgreSQL when it answers),
/// with this file's retry policy.
async fn backends() -> Vec<Harness> {
    let mut backends = testkit::backends().await;
    for backend in &mut backends {
        backend.app.settings.webhook_retry = policy();
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

/// Relays until nothing is due, moving the clock to each next attempt.
async fn drain(backend: &Harness, sender: &HttpWebhookSender) {
    for _ in 0..50 {
        let report = backend.app.relay_webhooks_once(sender, 100).await.unwrap();
        if report.n_retrying == 0 && report.n_delivered == 0 && report.n_failed == 0 {
            return;
        }
        backend
            .clock
            .advance(Duration::seconds(policy().max_delay_seconds));
    }
    panic!("the relay did not settle");
}

#[tokio::test]
async fn a_flaky_receiver_gets_every_event_once_from_both_stores() {
    let sender = HttpWebhookSender::new(std::time::Duration::from_secs(5)).unwrap();
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
    let sender = HttpWebhookSender::new(std::time::Duration::from_secs(5)).unwrap();
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
    let sender = HttpWebhookSender::new(std::time::Duration::from_secs(5)).unwrap();
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

//! The group robots end to end, on real parts: SQLite and PostgreSQL (when
//! `YIZHAN_TEST_DATABASE_URL` is set), the binary's reqwest sender with
//! the webhook client's guards, and a real HTTP receiver (axum on
//! 127.0.0.1:0) that answers like WeCom and DingTalk do — including their
//! "too many messages" refusals under a 200 — and checks DingTalk's
//! signature the way the robot does. The relay is driven with a test clock.

use crate::config::BotConfig;
use crate::senders::HttpBotSender;
use app::bots::{BotRelayReport, BotStatus};
use axum::extract::Query;
use axum::http::StatusCode;
use chrono::Duration;
use domain::webhook::{AllowEntry, TargetPolicy};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

const DING_SECRET: &str = "SECdingtalk-test-secret";

#[derive(Default)]
struct Seen {
    wecom: Vec<Value>,
    ding: Vec<Value>,
    bad_signatures: u32,
    calls: u32,
}

/// WeCom answers its first call 503, then `errcode` 0; DingTalk answers
/// its first call with 130101 (too many messages) under a 200, then 0,
/// and refuses a wrong signature with 310000 as the real robot does.
async fn robots() -> (String, Arc<Mutex<Seen>>) {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let (wecom_seen, ding_seen) = (seen.clone(), seen.clone());
    let wecom = move |Query(query): Query<HashMap<String, String>>,
                      axum::Json(body): axum::Json<Value>| {
        let seen = wecom_seen.clone();
        async move {
            let mut seen = seen.lock().unwrap();
            seen.calls += 1;
            assert_eq!(query.get("key").map(String::as_str), Some("wecom-key"));
            seen.wecom.push(body);
            if seen.wecom.len() == 1 {
                (StatusCode::SERVICE_UNAVAILABLE, String::new())
            } else {
                (StatusCode::OK, r#"{"errcode":0,"errmsg":"ok"}"#.to_string())
            }
        }
    };
    let ding = move |Query(query): Query<HashMap<String, String>>,
                     axum::Json(body): axum::Json<Value>| {
        let seen = ding_seen.clone();
        async move {
            let mut seen = seen.lock().unwrap();
            seen.calls += 1;
            let timestamp: i64 = query["timestamp"].parse().unwrap();
            // The robot's own check: HMAC-SHA256 over "timestamp\nsecret".
            if query.get("sign") != Some(&domain::bot::dingtalk_sign(DING_SECRET, timestamp)) {
                seen.bad_signatures += 1;
                return r#"{"errcode":310000,"errmsg":"sign not match"}"#.to_string();
            }
            seen.ding.push(body);
            if seen.ding.len() == 1 {
                r#"{"errcode":130101,"errmsg":"send too fast"}"#.to_string()
            } else {
                r#"{"errcode":0,"errmsg":"ok"}"#.to_string()
            }
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/cgi-bin/webhook/send", axum::routing::post(wecom))
        .route("/robot/send", axum::routing::post(ding));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, seen)
}

fn local_targets() -> TargetPolicy {
    TargetPolicy {
        allow_http: true,
        allow: vec![AllowEntry::parse("127.0.0.1").unwrap()],
    }
}

fn bots(base: &str) -> BTreeMap<String, BotConfig> {
    BTreeMap::from([
        (
            "county".to_string(),
            BotConfig {
                kind: "wecom".into(),
                url: format!("{base}/cgi-bin/webhook/send?key=wecom-key"),
                secret: None,
            },
        ),
        (
            "managers".to_string(),
            BotConfig {
                kind: "dingtalk".into(),
                url: format!("{base}/robot/send?access_token=ding-token"),
                secret: Some(DING_SECRET.into()),
            },
        ),
    ])
}

#[tokio::test]
async fn robot_messages_are_queued_once_signed_retried_and_delivered() {
    for backend in testkit::backends().await {
        let app = &backend.app;
        let (base, seen) = robots().await;
        let sender = HttpBotSender::new(
            &bots(&base),
            std::time::Duration::from_secs(5),
            local_targets(),
            backend.clock.clone(),
        )
        .unwrap();
        // Queued inside a transaction, as a cause would; the same key twice
        // writes once.
        let now = app.now();
        let mut tx = app.store.begin().await.unwrap();
        for (bot, key) in [("county", "k1"), ("managers", "k2"), ("county", "k1")] {
            app::bots::enqueue(&mut *tx, bot, key, "日报", "### 日报\n- 入站: **12**", now)
                .await
                .unwrap();
        }
        app::bots::enqueue(&mut *tx, "nobody", "k3", "x", "y", now)
            .await
            .unwrap();
        // A message queued in a transaction that rolls back is never sent.
        drop(tx);
        assert_eq!(
            app.relay_bot_messages_once(&sender, 10).await.unwrap(),
            BotRelayReport::default(),
            "{}: nothing committed, nothing sent",
            backend.name()
        );
        let mut tx = app.store.begin().await.unwrap();
        assert!(
            app::bots::enqueue(
                &mut *tx,
                "county",
                "k1",
                "日报",
                "### 日报\n- 入站: **12**",
                now
            )
            .await
            .unwrap()
        );
        assert!(
            app::bots::enqueue(
                &mut *tx,
                "managers",
                "k2",
                "日报",
                "### 日报\n- 入站: **12**",
                now
            )
            .await
            .unwrap()
        );
        assert!(
            !app::bots::enqueue(&mut *tx, "county", "k1", "again", "again", now)
                .await
                .unwrap()
        );
        app::bots::enqueue(&mut *tx, "nobody", "k3", "x", "y", now)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let first = app.relay_bot_messages_once(&sender, 10).await.unwrap();
        assert_eq!(
            (first.n_sent, first.n_retrying, first.n_failed),
            (0, 2, 1),
            "{}: both robots refused once; the unknown robot fails at once",
            backend.name()
        );
        assert_eq!(
            app.store.bot_message_status("k3").await.unwrap(),
            Some((BotStatus::Failed, 1))
        );
        // Nothing is due before the back-off.
        assert_eq!(
            app.relay_bot_messages_once(&sender, 10).await.unwrap(),
            BotRelayReport::default()
        );
        backend
            .clock
            .advance(Duration::seconds(app::bots::RETRY.max_delay_seconds + 1));
        let second = app.relay_bot_messages_once(&sender, 10).await.unwrap();
        assert_eq!((second.n_sent, second.n_retrying), (2, 0));
        for key in ["k1", "k2"] {
            assert_eq!(
                app.store.bot_message_status(key).await.unwrap(),
                Some((BotStatus::Sent, 2))
            );
        }
        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.bad_signatures, 0, "DingTalk's signature checks");
            assert_eq!(seen.calls, 4);
            assert_eq!(
                seen.wecom[1],
                serde_json::json!({"msgtype": "markdown", "markdown": {"content": "### 日报\n- 入站: **12**"}})
            );
            assert_eq!(
                seen.ding[1],
                serde_json::json!({"msgtype": "markdown", "markdown": {"title": "日报", "text": "### 日报\n- 入站: **12**"}})
            );
        }
        backend.cleanup().await;
    }
}

/// Outside the demo a robot must be public HTTPS: an internal URL is
/// refused when the server starts, and the refusal does not print the URL
/// (it holds the robot's key).
#[tokio::test]
async fn a_robot_on_an_internal_address_is_refused_without_printing_its_key() {
    let config = BTreeMap::from([(
        "county".to_string(),
        BotConfig {
            kind: "wecom".into(),
            url: "https://10.1.2.3/cgi-bin/webhook/send?key=very-secret-key".into(),
            secret: None,
        },
    )]);
    let error = HttpBotSender::new(
        &config,
        std::time::Duration::from_secs(5),
        TargetPolicy::default(),
        Arc::new(app::ports::SystemClock),
    )
    .err()
    .expect("refused")
    .to_string();
    assert!(error.contains("bots.county.url"), "{error}");
    assert!(!error.contains("very-secret-key"), "{error}");
    let plain = BTreeMap::from([(
        "county".to_string(),
        BotConfig {
            kind: "wecom".into(),
            url: "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k".into(),
            secret: None,
        },
    )]);
    assert!(
        HttpBotSender::new(
            &plain,
            std::time::Duration::from_secs(5),
            TargetPolicy::default(),
            Arc::new(app::ports::SystemClock),
        )
        .is_err(),
        "plain http is refused outside the demo"
    );
    // A name that resolves inside is refused at sending time by the resolver.
    let sender = HttpBotSender::new(
        &BTreeMap::from([(
            "county".to_string(),
            BotConfig {
                kind: "dingtalk".into(),
                url: "https://localhost.localdomain.example/robot/send".into(),
                secret: None,
            },
        )]),
        std::time::Duration::from_secs(5),
        TargetPolicy::default(),
        Arc::new(app::ports::SystemClock),
    );
    // `.example` names never resolve; the point is that construction accepts
    // a public-looking name and sending would go through the guarded client.
    assert!(sender.is_ok());
    let debug = format!("{:?}", config["county"]);
    assert!(!debug.contains("very-secret-key"), "{debug}");
}

//! Webhook secrets shown once; public tracking shows no personal data.

use super::*;

#[tokio::test]
async fn webhook_secrets_are_shown_once_and_never_again() {
    let t = spawn_app().await;
    let zto = t.token("zto").await;
    let admin = t.token("admin").await;
    let (status, created) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/webhooks",
            Some(&zto),
            Some(
                json!({"url": "https://zto.example/hook", "event_kinds": ["stored", "picked_up"]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 70,
        "{secret}"
    );
    assert_eq!(created["event_kinds"], json!(["stored", "picked_up"]));
    let id = created["id"].as_i64().unwrap();
    let mut bodies = vec![
        t.call(Method::GET, "/api/carriers/ZTO/webhooks", Some(&zto), None)
            .await
            .1,
        t.call(
            Method::GET,
            "/api/carriers/ZTO/webhooks",
            Some(&admin),
            None,
        )
        .await
        .1,
        t.call(
            Method::PUT,
            &format!("/api/webhooks/{id}"),
            Some(&zto),
            Some(json!({"active": false})),
        )
        .await
        .1,
        t.call(
            Method::GET,
            &format!("/api/webhooks/{id}/deliveries"),
            Some(&zto),
            None,
        )
        .await
        .1,
    ];
    // The document names the `secret` field of the answers that carry it
    // once; it holds no secret.
    let (_, document) = t.call(Method::GET, "/api/openapi.json", None, None).await;
    assert!(!document.to_string().contains(&secret));
    assert_eq!(bodies[2]["active"], false, "{}", bodies[2]);
    for (body, words) in [
        (json!({"url": "ftp://zto.example"}), "https://"),
        (
            json!({"url": "https://zto.example", "event_kinds": ["moved"]}),
            "unknown webhook event",
        ),
        (
            json!({"url": "https://zto.example", "colour": 1}),
            "unknown field",
        ),
    ] {
        let (status, answer) = t
            .call(
                Method::POST,
                "/api/carriers/ZTO/webhooks",
                Some(&zto),
                Some(body),
            )
            .await;
        assert!(status.is_client_error(), "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(words),
            "{answer}"
        );
        bodies.push(answer);
    }
    let text = bodies
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("zto.example/hook"), "{text}");
    assert!(!text.contains(&secret), "the secret came back: {text}");
    assert!(!text.contains("\"secret\""), "{text}");
    let logs = String::from_utf8_lossy(&logs().0.lock().unwrap()).to_string();
    assert!(logs.contains("webhook subscription created"));
    assert!(!logs.contains(&secret), "the secret is in the logs");
}

#[tokio::test]
async fn tracking_is_public_and_shows_no_personal_data() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let zto = t.token("zto").await;
    let manifest = json!({"parcels": [{"waybill": "731234567895", "recipient_name": "李四", "phone": PHONES[1],
        "address": "四川省成都市武侯区簇桥街道石桥村3组", "station_id": t.station_a, "consent": true}]});
    let (status, _) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/manifest",
            Some(&zto),
            Some(manifest),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, stored) = parcel_at_a(&t, &keeper_a, "731234567895", PHONES[1]).await;
    let code = stored["pickup_code"].as_str().unwrap().to_string();
    let (status, tracked) = t
        .call(Method::GET, "/api/track/731234567895", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{tracked}");
    let parcel = &tracked["parcels"][0];
    assert_eq!(parcel["state"], "stored");
    assert_eq!(parcel["place"]["name"], "甲村驿站");
    let events: Vec<&str> = parcel["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["announced", "stored"]);
    assert!(
        parcel["events"][1]["at_shanghai"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    let (status, with_carrier) = t
        .call(
            Method::GET,
            "/api/track/731234567895?carrier=ZTO",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = format!("{tracked}\n{with_carrier}");
    for personal in [
        PHONES[1],
        "9876",
        "4321",
        "李四",
        "张三",
        "武侯",
        "石桥村3组",
        &code,
    ] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
    for key in ["phone", "recipient_name", "address", "pickup_code", "slot"] {
        assert!(!text.contains(&format!("\"{key}")), "{key} in {text}");
    }
    for (path, expected) in [
        ("/api/track/731234567899", StatusCode::NOT_FOUND),
        ("/api/track/731234567895?carrier=SF", StatusCode::NOT_FOUND),
        ("/api/track/bad;waybill", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "/api/track/731234567895?carrier=UPS",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, answer) = t.call(Method::GET, path, None, None).await;
        assert_eq!(status, expected, "{path}: {answer}");
        assert!(answer["error"]["code"].is_string(), "{path}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{path}: {answer}");
    }
    // Bounded: a burst far beyond the limit is turned away, in the error shape.
    let mut limited = None;
    for _ in 0..400 {
        let response = t
            .client
            .get(format!("{}/api/track/731234567899", t.base))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            limited = Some((response.json::<Value>().await.unwrap(), retry_after));
            break;
        }
    }
    let (limited, retry_after) = limited.expect("the tracking query is rate-limited");
    assert_eq!(limited["error"]["code"], "rate_limited");
    assert_eq!(limited["error"]["type"], "rate_limit");
    assert!(
        limited["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too many tracking queries; try again after "),
        "{limited}"
    );
    let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
}

#[tokio::test]
async fn a_carrier_backfills_its_own_events_a_page_at_a_time() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let zto = t.token("zto").await;
    let sf = t.token("sf").await;
    let (_, stored) = parcel_at_a(&t, &keeper_a, "731234567896", PHONES[2]).await;
    let code = stored["pickup_code"].as_str().unwrap().to_string();
    let (status, feed) = t
        .call(Method::GET, "/api/carriers/ZTO/events", Some(&zto), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let events = feed["items"].as_array().unwrap();
    assert!(!events.is_empty(), "{feed}");
    assert!(
        events
            .iter()
            .all(|e| e["carrier"] == "ZTO" && e["waybill"] == "731234567896")
    );
    let stored_event = events.iter().find(|e| e["event"] == "stored").unwrap();
    assert_eq!(stored_event["place"]["kind"], "station", "{feed}");
    assert!(
        stored_event["at_shanghai"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    let text = feed.to_string();
    // (Not the phone tail: this waybill happens to contain it.)
    for personal in [
        PHONES[2],
        "phone",
        "张三",
        code.as_str(),
        "keeper_a",
        "pickup_code",
    ] {
        assert!(!text.contains(personal), "{personal} in the feed: {text}");
    }
    // A page of one, then the cursor: the same events, one at a time.
    let mut after = 0;
    let mut paged = Vec::new();
    loop {
        let (status, page) = t
            .call(
                Method::GET,
                &format!("/api/carriers/ZTO/events?after_id={after}&limit=1"),
                Some(&zto),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let events = page["items"].as_array().unwrap().clone();
        paged.extend(events);
        // Pages of one: each full, so each points at the next, until
        // the empty page ends the list.
        match page["next_after_id"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(&paged, events);
    // Another carrier sees none of it; a page too large is refused.
    let (status, _) = t
        .call(Method::GET, "/api/carriers/ZTO/events", Some(&sf), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, own) = t
        .call(Method::GET, "/api/carriers/SF/events", Some(&sf), None)
        .await;
    assert_eq!(
        (status, own["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (status, refused) = t
        .call(
            Method::GET,
            "/api/carriers/ZTO/events?limit=100000",
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(refused["error"]["code"], "page_size", "{status} {refused}");
}

#[tokio::test]
async fn subscriptions_rotate_test_and_delete_over_http() {
    let t = spawn_app().await;
    let zto = t.token("zto").await;
    let create = |url: &'static str| {
        t.call(
            Method::POST,
            "/api/carriers/ZTO/webhooks",
            Some(&zto),
            Some(json!({"url": url})),
        )
    };
    // Internal targets are refused with a field-level, bilingual message.
    let (status, refused) = create("https://169.254.169.254/latest/meta-data/").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "webhook_url_private");
    let (_, http) = create("http://zto.example/hook").await;
    assert_eq!(http["error"]["code"], "webhook_https_required", "{http}");
    let (status, created) = create("https://zto.example/hook").await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, rotated) = t
        .call(
            Method::POST,
            &format!("/api/webhooks/{id}/rotate-secret"),
            Some(&zto),
            Some(json!({"overlap_hours": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_ne!(rotated["secret"], created["secret"]);
    assert!(rotated["previous_secret_valid_until"].is_string());
    let (status, test) = t
        .call(
            Method::POST,
            &format!("/api/webhooks/{id}/test"),
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    // A second test event at once waits: the button cannot fill the table.
    let again = t
        .client
        .post(format!("{}/api/webhooks/{id}/test", t.base))
        .bearer_auth(&zto)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(again.headers().contains_key("retry-after"));
    let (_, deliveries) = t
        .call(
            Method::GET,
            &format!("/api/webhooks/{id}/deliveries"),
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(
        deliveries["items"][0]["delivery_key"], test["delivery_id"],
        "{deliveries}"
    );
    assert_eq!(deliveries["items"][0]["event_kind"], "test");
    let (status, _) = t
        .call(
            Method::DELETE,
            &format!("/api/webhooks/{id}"),
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = t
        .call(Method::GET, "/api/carriers/ZTO/webhooks", Some(&zto), None)
        .await;
    assert_eq!(list, json!([]));
    let (status, _) = t
        .call(
            Method::DELETE,
            &format!("/api/webhooks/{id}"),
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let logs = String::from_utf8_lossy(&logs().0.lock().unwrap()).to_string();
    assert!(
        !logs.contains(rotated["secret"].as_str().unwrap()),
        "the secret is in the logs"
    );
}

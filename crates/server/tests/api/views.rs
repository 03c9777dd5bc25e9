//! What each role sees and may search (issue 11, findings 2, 3 and 4), and
//! the small holes of finding 12: headers, dates, the database's words and
//! the framework's words.

use super::*;

/// Finding 2: a carrier's token got `pickup_code` beside the masked phone's
/// last four digits, enough to collect at the counter.
#[tokio::test]
async fn carriers_see_no_code_slot_phone_name_or_staff() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let zto = t.token("zto").await;
    let (parcel, outcome) = parcel_at_a(&t, &keeper_a, "731234567801", PHONES[0]).await;
    let code = outcome["pickup_code"].as_str().unwrap().to_string();
    let slot = outcome["slot"].as_str().unwrap().to_string();
    // Staff still see what they need.
    let (status, staff) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}"),
            Some(&keeper_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(staff["pickup_code"], code.as_str(), "{staff}");
    let (_, events) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}/events"),
            Some(&keeper_a),
            None,
        )
        .await;
    assert!(events.to_string().contains("keeper_a"), "{events}");
    let mut seen = Vec::new();
    for path in [
        "/api/parcels".to_string(),
        "/api/parcels?carrier=ZTO".to_string(),
        format!("/api/parcels?station_id={}", t.station_a),
        format!("/api/parcels/{parcel}"),
        format!("/api/parcels/{parcel}/events"),
    ] {
        let (status, body) = t.call(Method::GET, &path, Some(&zto), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        seen.push((path, body));
    }
    assert_eq!(seen[0].1["items"][0]["id"], parcel, "{}", seen[0].1);
    assert_eq!(seen[3].1["has_pickup_code"], true, "{}", seen[3].1);
    assert_eq!(seen[3].1["state"], "stored");
    assert!(
        seen[4].1.as_array().is_some_and(|e| !e.is_empty()),
        "the carrier reads its parcel's events: {}",
        seen[4].1
    );
    for (path, body) in &seen {
        let text = body.to_string();
        for field in [
            "\"pickup_code\"",
            "\"slot\"",
            "\"slot_id\"",
            "\"phone\"",
            "\"recipient_name\"",
            "\"address\"",
            "\"actor\"",
            "\"details\"",
        ] {
            assert!(!text.contains(field), "{path} shows {field}: {text}");
        }
        // The masked phone (138****5678) carries the tail the code pairs with.
        for value in [code.as_str(), slot.as_str(), "****", "张三", "keeper_a"] {
            assert!(!text.contains(value), "{path} shows {value:?}: {text}");
        }
    }
}

/// Finding 3: a door terminal's token listed the county's parcels, and the
/// station list and the station detail disagreed for carriers.
#[tokio::test]
async fn search_is_allowed_by_role_and_station_lists_agree_with_details() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let terminal = t.token("terminal_a").await;
    let sf = t.token("sf").await;
    let admin = t.token("admin").await;
    parcel_at_a(&t, &keeper_a, "731234567802", PHONES[1]).await;
    let a = t.station_a;
    for path in [
        "/api/parcels".to_string(),
        format!("/api/parcels?station_id={a}"),
        "/api/parcels?carrier=ZTO".to_string(),
        format!("/api/stations/{a}/parcels"),
    ] {
        let (status, body) = t.call(Method::GET, &path, Some(&terminal), None).await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "the terminal searched {path}: {status} {body}"
        );
    }
    // A keeper searches their own stations only, naming one.
    let (status, body) = t
        .call(Method::GET, "/api/parcels", Some(&keeper_a), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("station_required"))
    );
    let (status, _) = t
        .call(
            Method::GET,
            &format!("/api/parcels?station_id={}", t.station_b),
            Some(&keeper_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A carrier searches its own parcels only, wherever they are.
    let (status, body) = t.call(Method::GET, "/api/parcels", Some(&sf), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"], json!([]), "SF sees no ZTO parcel: {body}");
    let (status, body) = t
        .call(Method::GET, "/api/parcels?carrier=ZTO", Some(&sf), None)
        .await;
    assert_eq!((status, body["items"].clone()), (StatusCode::OK, json!([])));
    let (status, body) = t
        .call(Method::GET, "/api/parcels", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
    // Every station a caller's list shows, its detail answers; every other
    // station answers 404.
    for (who, token) in [
        ("terminal_a", &terminal),
        ("sf", &sf),
        ("keeper_a", &keeper_a),
        ("admin", &admin),
    ] {
        let (status, list) = t
            .call(Method::GET, "/api/stations", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{who}: {list}");
        let listed: Vec<i64> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_i64().unwrap())
            .collect();
        for station in [t.station_a, t.station_b] {
            let (status, detail) = t
                .call(
                    Method::GET,
                    &format!("/api/stations/{station}"),
                    Some(token),
                    None,
                )
                .await;
            let expected = if listed.contains(&station) {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(status, expected, "{who} station {station}: {detail}");
        }
        let expected_n = match who {
            "terminal_a" => 0,
            "keeper_a" => 1,
            _ => 2,
        };
        assert_eq!(listed.len(), expected_n, "{who}: {list}");
    }
    // Carriers get the directory entry, not the station's configuration.
    let (_, entry) = t
        .call(Method::GET, &format!("/api/stations/{a}"), Some(&sf), None)
        .await;
    assert_eq!(entry["name"], "甲村驿站", "{entry}");
    assert!(entry.get("holding").is_none(), "{entry}");
}

/// Finding 4: a keeper pulled another station's parcel onto their shelf by
/// scanning its waybill, and could then read its whole phone number.
#[tokio::test]
async fn a_keeper_scans_in_only_parcels_addressed_to_their_station_or_misrouted_there() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let keeper_b = t.token("keeper_b").await;
    let zto = t.token("zto").await;
    let admin = t.token("admin").await;
    let (a, b) = (t.station_a, t.station_b);
    let manifest = json!({"parcels": [
        {"waybill": "731234567811", "phone": PHONES[0], "station_id": a, "consent": true},
        {"waybill": "731234567812", "phone": PHONES[1], "consent": true},
    ]});
    let (status, body) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/manifest",
            Some(&zto),
            Some(manifest),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let scan = |waybill: &'static str| json!({"carrier": "ZTO", "waybill": waybill});
    let (status, refused) = t
        .call(
            Method::POST,
            &format!("/api/stations/{b}/inbound"),
            Some(&keeper_b),
            Some(scan("731234567811")),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("addressed_elsewhere")),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("county centre"),
        "the message says what to do: {refused}"
    );
    // The batch refuses the row and keeps the rest.
    let (status, batch) = t
        .call(
            Method::POST,
            &format!("/api/stations/{b}/inbound/batch"),
            Some(&keeper_b),
            Some(json!({"scans": [scan("731234567811"), scan("731234567812")]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    assert_eq!(
        batch["rejected"][0]["code"], "addressed_elsewhere",
        "{batch}"
    );
    assert_eq!(
        batch["stored"][0]["waybill"], "731234567812",
        "a parcel announced for no station is taken by the first station: {batch}"
    );
    // Nothing of it is keeper B's to read.
    let (_, page) = t
        .call(
            Method::GET,
            "/api/parcels?waybill=731234567811",
            Some(&admin),
            None,
        )
        .await;
    let parcel = page["items"][0]["id"].as_i64().unwrap();
    assert_eq!(page["items"][0]["state"], "announced", "{page}");
    let (status, _) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}/phone"),
            Some(&keeper_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Only county staff record a misroute; then B may scan it and A may not.
    let misroute = json!({"station_id": b, "note": "地址写的是乙村"});
    for token in [&keeper_b, &keeper_a, &zto] {
        let (status, body) = t
            .call(
                Method::POST,
                &format!("/api/parcels/{parcel}/misroute"),
                Some(token),
                Some(misroute.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, record) = t
        .call(
            Method::POST,
            &format!("/api/parcels/{parcel}/misroute"),
            Some(&admin),
            Some(misroute),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(
        (
            record["from_station_id"].as_i64(),
            record["to_station_id"].as_i64()
        ),
        (Some(a), Some(b))
    );
    assert_eq!(record["recorded_by"], "admin:admin", "{record}");
    assert!(record["recorded_at"].is_string(), "{record}");
    let (status, refused) = t
        .call(
            Method::POST,
            &format!("/api/stations/{a}/inbound"),
            Some(&keeper_a),
            Some(scan("731234567811")),
        )
        .await;
    assert_eq!(
        refused["error"]["code"], "addressed_elsewhere",
        "{status} {refused}"
    );
    let (status, stored) = t
        .call(
            Method::POST,
            &format!("/api/stations/{b}/inbound"),
            Some(&keeper_b),
            Some(scan("731234567811")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["state"], "stored");
    let (status, phone) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}/phone"),
            Some(&keeper_b),
            None,
        )
        .await;
    assert_eq!(
        (status, phone["phone"].as_str()),
        (StatusCode::OK, Some(PHONES[0]))
    );
}

/// Finding 12: every answer carries the security headers; HSTS only over
/// HTTPS.
#[tokio::test]
async fn answers_carry_security_headers_and_hsts_only_over_https() {
    let t = spawn_app().await;
    for path in ["/", "/api/openapi.json", "/api/nope"] {
        let response = t
            .client
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp:?}");
        let scripts = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap_or_default();
        assert!(!scripts.contains("unsafe"), "inline script allowed: {csp}");
        assert_eq!(
            headers.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
        assert!(headers.get("strict-transport-security").is_none(), "{path}");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = server::layered_for(
        axum::Router::new().route("/", axum::routing::get(|| async { "ok" })),
        true,
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let response = t.client.get(&base).send().await.unwrap();
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("max-age=")),
        "{:?}",
        response.headers()
    );
}

/// Finding 12: a date beyond chrono's arithmetic panicked the handler (the
/// connection dropped); now it is a clear refusal.
#[tokio::test]
async fn far_dates_are_refused_not_panicked_on() {
    let t = spawn_app().await;
    let admin = t.token("admin").await;
    for path in [
        "/api/carriers/ZTO/fees?from=%2B262142-12-31",
        "/api/carriers/ZTO/fees?from=2026-01-01&to=%2B262142-12-31",
        "/api/carriers/ZTO/fees/summary?from=%2B262142-12-31",
        "/api/carriers/ZTO/reconciliation?to=%2B262142-12-31",
        "/api/bags?day=%2B262142-12-31",
        "/api/bags?day=-0001-01-01",
    ] {
        let (status, body) = t.call(Method::GET, path, Some(&admin), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("date_out_of_range")),
            "{path}: {body}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains("9999"),
            "{body}"
        );
    }
    let agreement = json!({"effective_from": "+262142-12-31", "terms": {
        "townships": [{"township": "510182103", "mode": "joint"}],
        "fees": [{"mode": "joint", "brackets": [{"fen": 50}]}]}});
    let (status, body) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/agreement",
            Some(&admin),
            Some(agreement),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("date_out_of_range")),
        "{body}"
    );
    let (status, _) = t
        .call(
            Method::GET,
            "/api/carriers/ZTO/fees?from=2026-01-01&to=2026-01-31",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "ordinary dates still work");
}

/// Finding 12: the database's unique-constraint wording reached clients.
#[tokio::test]
async fn a_duplicate_gets_a_code_not_the_databases_words() {
    let t = spawn_app().await;
    let admin = t.token("admin").await;
    let route = json!({"name": "丽春线", "townships": ["510182103"]});
    let (status, _) = t
        .call(
            Method::POST,
            "/api/county/routes",
            Some(&admin),
            Some(route.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = t
        .call(
            Method::POST,
            "/api/county/routes",
            Some(&admin),
            Some(route),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("route_name_taken")),
        "{body}"
    );
    let text = body.to_string();
    for words in ["UNIQUE", "unique", "constraint", "county_routes"] {
        assert!(!text.contains(words), "{words} reached the client: {text}");
    }
    assert!(
        text.contains("丽春线"),
        "the message names the name: {text}"
    );
}

/// Finding 12: the framework's "Failed to deserialize the JSON body…"
/// reached clients instead of naming the field.
#[tokio::test]
async fn bad_bodies_and_queries_name_the_field_in_our_words() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let inbound = format!("/api/stations/{}/inbound", t.station_a);
    let batch = format!("/api/stations/{}/inbound/batch", t.station_a);
    let cases = [
        (
            inbound.as_str(),
            json!({"carrier": "ZTO"}),
            "body_invalid",
            "field waybill: is required",
        ),
        (
            "/api/login",
            json!({"username": "keeper_a", "password": "x", "colour": "red"}),
            "body_invalid",
            "field colour: unknown field",
        ),
        (
            batch.as_str(),
            json!({"scans": [{"carrier": "ZTO", "waybill": "731234567890"}, {"carrier": "NOPE", "waybill": "731234567891"}]}),
            "body_invalid",
            "field scans[1].carrier:",
        ),
    ];
    for (path, body, code, words) in cases {
        let (status, answer) = t
            .call(Method::POST, path, Some(&keeper_a), Some(body))
            .await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{answer}"
        );
        assert!(message.contains(words), "{words:?} not in {message:?}");
        assert!(!message.contains("Failed to deserialize"), "{message}");
    }
    let (status, answer) = t
        .call(
            Method::GET,
            &format!("/api/stations/{}/parcels?limit=lots", t.station_a),
            Some(&keeper_a),
            None,
        )
        .await;
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("query_param_invalid")),
        "{answer}"
    );
    assert!(message.contains("limit"), "{message}");
    assert!(!message.contains("Failed to deserialize"), "{message}");
    // In Chinese, the field is named and no English parser words show.
    let response = t
        .client
        .post(format!("{}{inbound}", t.base))
        .bearer_auth(&keeper_a)
        .header("accept-language", "zh-CN")
        .json(&json!({"carrier": "ZTO"}))
        .send()
        .await
        .unwrap();
    let answer: Value = response.json().await.unwrap();
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("waybill") && message.contains("字段"),
        "{message}"
    );
    assert!(!message.contains("required"), "{message}");
}

//! Authorisation: every id-taking route refuses other stations' and carriers' objects.

use super::*;

#[tokio::test]
async fn every_id_taking_route_refuses_other_stations_and_carriers() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let keeper_b = t.token("keeper_b").await;
    let sf = t.token("sf").await;
    let officer = t.token("officer").await;
    let auditor = t.token("auditor").await;
    let (parcel, _) = parcel_at_a(&t, &keeper_a, "731234567890", PHONES[0]).await;
    let (_, slots) = t
        .call(
            Method::GET,
            &format!("/api/stations/{}/slots", t.station_a),
            Some(&keeper_a),
            None,
        )
        .await;
    let slot_a = slots[3]["id"].as_i64().unwrap();
    let a = t.station_a;
    let (route, contractor, bag, queued, agreement) = county_objects(&t).await;
    let (status, created) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/webhooks",
            Some(&t.token("zto").await),
            Some(json!({"url": "https://zto.example/hook"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let subscription = created["id"].as_i64().unwrap();
    let campaign = t
        .app
        .create_presale_campaign(
            &testkit::admin(),
            &app::presale::CampaignInput {
                name: "春茶预售".into(),
                shop: "村播小店".into(),
                starts_on: "2026-12-01".into(),
                ends_on: "2026-12-31".into(),
            },
        )
        .await
        .unwrap()
        .id;

    // The matrix: every route with an id in its path, the request an
    // outsider makes, and who the outsiders are. A new id-taking route
    // without a row here fails this test.
    let matrix: Vec<(&str, &str, String, Option<Value>)> = vec![
        (
            "POST",
            "/api/users/{username}/disable",
            "/api/users/keeper_a/disable".to_string(),
            None,
        ),
        (
            "POST",
            "/api/users/{username}/enable",
            "/api/users/keeper_a/enable".to_string(),
            None,
        ),
        (
            "POST",
            "/api/users/{username}/revoke-tokens",
            "/api/users/keeper_a/revoke-tokens".to_string(),
            None,
        ),
        (
            "GET",
            "/api/stations/{station_id}",
            format!("/api/stations/{a}"),
            None,
        ),
        (
            "GET",
            "/api/stations/{station_id}/slots",
            format!("/api/stations/{a}/slots"),
            None,
        ),
        (
            "GET",
            "/api/stations/{station_id}/summary",
            format!("/api/stations/{a}/summary"),
            None,
        ),
        (
            "GET",
            "/api/stations/{station_id}/devices",
            format!("/api/stations/{a}/devices"),
            None,
        ),
        (
            "POST",
            "/api/stations/{station_id}/devices",
            format!("/api/stations/{a}/devices"),
            Some(json!({"kind": "door", "device_id": "intruder"})),
        ),
        (
            "POST",
            "/api/stations/{station_id}/devices/replace",
            format!("/api/stations/{a}/devices/replace"),
            Some(json!({"device": 1, "new_device_id": "intruder"})),
        ),
        (
            "PUT",
            "/api/stations/{station_id}/contact-phone",
            format!("/api/stations/{a}/contact-phone"),
            Some(json!({"phone": "110"})),
        ),
        (
            "POST",
            "/api/stations/{station_id}/inbound",
            format!("/api/stations/{a}/inbound"),
            Some(json!({"carrier": "ZTO", "waybill": "739999999999"})),
        ),
        (
            "POST",
            "/api/stations/{station_id}/inbound/batch",
            format!("/api/stations/{a}/inbound/batch"),
            Some(json!({"scans": [{"carrier": "ZTO", "waybill": "739999999998"}]})),
        ),
        (
            "GET",
            "/api/stations/{station_id}/parcels",
            format!("/api/stations/{a}/parcels"),
            None,
        ),
        (
            "GET",
            "/api/stations/{station_id}/returns",
            format!("/api/stations/{a}/returns"),
            None,
        ),
        (
            "GET",
            "/api/parcels/{parcel_id}",
            format!("/api/parcels/{parcel}"),
            None,
        ),
        (
            "GET",
            "/api/parcels/{parcel_id}/events",
            format!("/api/parcels/{parcel}/events"),
            None,
        ),
        (
            "GET",
            "/api/parcels/{parcel_id}/phone",
            format!("/api/parcels/{parcel}/phone"),
            None,
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/pickup",
            format!("/api/parcels/{parcel}/pickup"),
            Some(json!({"method": "staff_assisted", "shown": "id_card"})),
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/move",
            format!("/api/parcels/{parcel}/move"),
            Some(json!({"slot_id": slot_a})),
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/problem",
            format!("/api/parcels/{parcel}/problem"),
            Some(json!({"kind": "damaged"})),
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/return",
            format!("/api/parcels/{parcel}/return"),
            None,
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/consent",
            format!("/api/parcels/{parcel}/consent"),
            Some(json!({"source": "phone_call"})),
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/misroute",
            format!("/api/parcels/{parcel}/misroute"),
            Some(json!({"station_id": t.station_b})),
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/centre-scan",
            format!("/api/parcels/{parcel}/centre-scan"),
            Some(json!({"action": "arrive"})),
        ),
        (
            "POST",
            "/api/carriers/{carrier}/manifest",
            "/api/carriers/ZTO/manifest".to_string(),
            Some(json!({"parcels": [{"waybill": "731111111111"}]})),
        ),
        // County co-delivery: the carrier's own agreement, fees and
        // reconciliation; the centre's bags, queue and handover lists.
        (
            "GET",
            "/api/carriers/{carrier}/agreement",
            "/api/carriers/ZTO/agreement".to_string(),
            None,
        ),
        (
            "POST",
            "/api/carriers/{carrier}/agreement",
            "/api/carriers/ZTO/agreement".to_string(),
            Some(agreement.clone()),
        ),
        (
            "GET",
            "/api/carriers/{carrier}/fees",
            "/api/carriers/ZTO/fees".to_string(),
            None,
        ),
        (
            "POST",
            "/api/carriers/{carrier}/webhooks",
            "/api/carriers/ZTO/webhooks".to_string(),
            Some(json!({"url": "https://evil.example/hook"})),
        ),
        (
            "GET",
            "/api/carriers/{carrier}/webhooks",
            "/api/carriers/ZTO/webhooks".to_string(),
            None,
        ),
        (
            "GET",
            "/api/carriers/{carrier}/fees/summary",
            "/api/carriers/ZTO/fees/summary".to_string(),
            None,
        ),
        (
            "GET",
            "/api/carriers/{carrier}/reconciliation",
            "/api/carriers/ZTO/reconciliation".to_string(),
            None,
        ),
        (
            "POST",
            "/api/parcels/{parcel_id}/resolve",
            format!("/api/parcels/{queued}/resolve"),
            Some(json!({"division": "510182103"})),
        ),
        (
            "GET",
            "/api/bags/{bag_id}",
            format!("/api/bags/{bag}"),
            None,
        ),
        (
            "GET",
            "/api/bags/{bag_id}/label",
            format!("/api/bags/{bag}/label"),
            None,
        ),
        (
            "POST",
            "/api/bags/{bag_id}/dispatch",
            format!("/api/bags/{bag}/dispatch"),
            None,
        ),
        (
            "POST",
            "/api/stations/{station_id}/bags/accept",
            format!("/api/stations/{a}/bags/accept"),
            Some(json!({"label": format!("YZBAG:{bag}")})),
        ),
        (
            "GET",
            "/api/county/routes/{route_id}/handover",
            format!("/api/county/routes/{route}/handover"),
            None,
        ),
        (
            "GET",
            "/api/county/contractors/{contractor_id}/handover",
            format!("/api/county/contractors/{contractor}/handover"),
            None,
        ),
        (
            "GET",
            "/api/carriers/{carrier}/webhook-attempts",
            "/api/carriers/ZTO/webhook-attempts".to_string(),
            None,
        ),
        (
            "PUT",
            "/api/webhooks/{subscription_id}",
            format!("/api/webhooks/{subscription}"),
            Some(json!({"url": "https://evil.example/hook"})),
        ),
        (
            "GET",
            "/api/webhooks/{subscription_id}/deliveries",
            format!("/api/webhooks/{subscription}/deliveries"),
            None,
        ),
        (
            "DELETE",
            "/api/webhooks/{subscription_id}",
            format!("/api/webhooks/{subscription}"),
            None,
        ),
        (
            "POST",
            "/api/webhooks/{subscription_id}/rotate-secret",
            format!("/api/webhooks/{subscription}/rotate-secret"),
            Some(json!({})),
        ),
        (
            "POST",
            "/api/webhooks/{subscription_id}/test",
            format!("/api/webhooks/{subscription}/test"),
            None,
        ),
        (
            "GET",
            "/api/carriers/{carrier}/events",
            "/api/carriers/ZTO/events".to_string(),
            None,
        ),
        (
            "PUT",
            "/api/carriers/{carrier}/parcels/{waybill}",
            "/api/carriers/ZTO/parcels/731234567890".to_string(),
            Some(json!({"recipient_name": "外人"})),
        ),
        (
            "DELETE",
            "/api/carriers/{carrier}/parcels/{waybill}",
            "/api/carriers/ZTO/parcels/731234567890".to_string(),
            None,
        ),
        (
            "POST",
            "/api/county/contractors/{contractor_id}/deliveries",
            format!("/api/county/contractors/{contractor}/deliveries"),
            Some(json!({"parcels": [{"carrier": "ZTO", "waybill": "731234500001"}]})),
        ),
        (
            "POST",
            "/api/presale/campaigns/{campaign_id}/orders",
            format!("/api/presale/campaigns/{campaign}/orders"),
            Some(
                json!({"orders": [{"order_no": "X1", "phone": PHONES[1], "items": "茶", "amount_fen": 100, "pickup": "1"}]}),
            ),
        ),
        (
            "GET",
            "/api/presale/campaigns/{campaign_id}/report",
            format!("/api/presale/campaigns/{campaign}/report"),
            None,
        ),
    ];
    for (spec, _) in server::routes() {
        // Public routes (the tracking query) have no caller to authorise;
        // `tracking_is_public_and_shows_no_personal_data` covers that one.
        if spec.path.contains('{') && spec.authenticated {
            assert!(
                matrix
                    .iter()
                    .any(|(m, p, _, _)| *m == spec.method && *p == spec.path),
                "no authorisation case for {} {}: add one to the matrix",
                spec.method,
                spec.path
            );
        }
    }
    for (method, _, path, body) in &matrix {
        for (who, token) in [("keeper_b", &keeper_b), ("sf", &sf)] {
            let (status, answer) = t
                .call(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    path,
                    Some(token),
                    body.clone(),
                )
                .await;
            // A carrier finds any station in the directory (its manifests
            // name stations) and sees its name and place only.
            if who == "sf" && *method == "GET" && *path == format!("/api/stations/{a}") {
                assert_eq!(status, StatusCode::OK, "{answer}");
                assert!(answer.get("holding").is_none(), "{answer}");
                continue;
            }
            assert!(
                matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                "{who} {method} {path} answered {status}: {answer}"
            );
        }
        // Issue 12: the second and third lines act on nothing. The
        // compliance officer reads no parcel, station or carrier's data; the
        // auditor reads (without personal data) and changes nothing.
        for (who, token) in [("officer", &officer), ("auditor", &auditor)] {
            let (status, answer) = t
                .call(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    path,
                    Some(token),
                    body.clone(),
                )
                .await;
            let reads = *method == "GET" && who == "auditor";
            if reads && status == StatusCode::OK {
                for phone in PHONES {
                    assert!(
                        !answer.to_string().contains(phone),
                        "{who} {path}: {answer}"
                    );
                }
                assert!(
                    answer.get("recipient_name").is_none(),
                    "{who} {path}: {answer}"
                );
                continue;
            }
            assert!(
                matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                "{who} {method} {path} answered {status}: {answer}"
            );
        }
    }
    // The auditor does read: a parcel, without its phone or name.
    let (status, view) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert!(
        view.get("phone").is_none() && view.get("pickup_code").is_none(),
        "{view}"
    );
    // The outsiders are not simply locked out of everything.
    let (status, _) = t
        .call(
            Method::GET,
            &format!("/api/stations/{}", t.station_b),
            Some(&keeper_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "keeper_b sees their own station");
    // The parcel is untouched by all of that, and its keeper still sees it.
    let (status, view) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}"),
            Some(&keeper_a),
            None,
        )
        .await;
    assert_eq!(
        (status, view["state"].as_str()),
        (StatusCode::OK, Some("stored"))
    );
    let (status, _) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}/events"),
            Some(&t.token("zto").await),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the parcel's own carrier may read its events"
    );
    let (status, list) = t
        .call(
            Method::GET,
            "/api/carriers/ZTO/webhooks",
            Some(&t.token("zto").await),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list[0]["url"], "https://zto.example/hook",
        "the outsiders changed nothing: {list}"
    );
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// What a caller may see of a route that takes no id.
#[derive(Clone, Copy, Debug)]
enum Sees {
    /// 403 or 404.
    Refused,
    /// 200, and nothing of anyone else's (an empty list or page).
    Nothing,
    /// 200: the route reads no one's data (who the caller is, parsing the
    /// text the caller sent).
    Own,
}

/// Issue 11: the matrix above covers routes with an id; the door terminal
/// and a carrier also reach every route without one. A new route without a
/// row here fails this test.
#[tokio::test]
async fn every_list_route_refuses_terminals_and_shows_carriers_only_their_own() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let terminal = t.token("terminal_a").await;
    let sf = t.token("sf").await;
    // Something to see: a ZTO parcel at station A and the county's objects.
    parcel_at_a(&t, &keeper_a, "731234567899", PHONES[0]).await;
    county_objects(&t).await;
    use Sees::*;
    // (method, path, body, the terminal sees, SF sees)
    let matrix: Vec<(&str, &str, Option<Value>, Sees, Sees)> = vec![
        ("GET", "/api/me", None, Own, Own),
        // SF sees the station directory (its manifests name stations), not
        // nothing: its own answer is checked below.
        ("GET", "/api/stations", None, Nothing, Own),
        ("GET", "/api/parcels", None, Refused, Nothing),
        ("POST", "/api/jobs/holding", None, Refused, Refused),
        (
            "POST",
            "/api/address/parse",
            Some(json!({"text": "四川省成都市武侯区簇桥街道"})),
            Own,
            Own,
        ),
        (
            "POST",
            "/api/dispatch/plan",
            Some(json!({"centre": {"lat": 30.99, "lon": 103.94}})),
            Refused,
            Refused,
        ),
        ("GET", "/api/county/routes", None, Refused, Refused),
        (
            "POST",
            "/api/county/routes",
            Some(json!({"name": "外人线", "townships": ["510182101"]})),
            Refused,
            Refused,
        ),
        ("GET", "/api/county/contractors", None, Refused, Refused),
        (
            "POST",
            "/api/county/contractors",
            Some(json!({"name": "外人", "township": "510182101"})),
            Refused,
            Refused,
        ),
        (
            "POST",
            "/api/centre/arrivals",
            Some(json!({"carrier": "SF", "waybill": "SF1234567890123", "address": "丽春镇白果村"})),
            Refused,
            Refused,
        ),
        ("GET", "/api/centre/manual-queue", None, Refused, Refused),
        ("GET", "/api/bags", None, Refused, Refused),
        ("GET", "/api/devices/dropped", None, Refused, Refused),
        ("GET", "/api/audit", None, Refused, Refused),
        ("GET", "/api/audit/verify", None, Refused, Refused),
        ("GET", "/api/board", None, Refused, Refused),
        ("GET", "/api/board/daily", None, Refused, Refused),
        ("GET", "/api/kiosks/report", None, Refused, Refused),
    ];
    for (spec, _) in server::routes() {
        if !spec.path.contains('{') && spec.authenticated {
            assert!(
                matrix
                    .iter()
                    .any(|(m, p, _, _, _)| *m == spec.method && *p == spec.path),
                "no list-route case for {} {}: add one to the matrix",
                spec.method,
                spec.path
            );
        }
    }
    for (method, path, body, terminal_sees, sf_sees) in &matrix {
        for (who, token, sees) in [
            ("terminal_a", &terminal, terminal_sees),
            ("sf", &sf, sf_sees),
        ] {
            let (status, answer) = t
                .call(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    path,
                    Some(token),
                    body.clone(),
                )
                .await;
            match sees {
                Refused => assert!(
                    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                    "{who} {method} {path} answered {status}: {answer}"
                ),
                Nothing => {
                    assert_eq!(status, StatusCode::OK, "{who} {method} {path}: {answer}");
                    let items = answer.get("items").unwrap_or(&answer);
                    assert_eq!(
                        items.as_array().map(Vec::len),
                        Some(0),
                        "{who} {method} {path} sees others' data: {answer}"
                    );
                }
                Own => assert_eq!(status, StatusCode::OK, "{who} {method} {path}: {answer}"),
            }
        }
    }
    // Issue 12: the compliance officer and the auditor change nothing
    // through any list route (parsing an address changes nothing either),
    // and both read the audit trail.
    for who in ["officer", "auditor"] {
        let token = t.token(who).await;
        for (method, path, body, _, _) in &matrix {
            let (status, answer) = t
                .call(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    path,
                    Some(&token),
                    body.clone(),
                )
                .await;
            if *method == "GET" || *path == "/api/address/parse" {
                assert!(
                    matches!(
                        status,
                        StatusCode::OK | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
                    ),
                    "{who} {method} {path} answered {status}: {answer}"
                );
                if path.starts_with("/api/audit") {
                    assert_eq!(status, StatusCode::OK, "{who} reads {path}: {answer}");
                }
            } else {
                assert!(
                    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                    "{who} {method} {path} answered {status}: {answer}"
                );
            }
        }
        let (_, verified) = t
            .call(Method::GET, "/api/audit/verify", Some(&token), None)
            .await;
        assert!(verified["broken"].is_null(), "{verified}");
        assert!(
            verified["count"].as_u64().unwrap() > 0,
            "the set-up's acts are recorded: {verified}"
        );
    }
    // SF's station list is the directory: names and places, no shelves'
    // configuration, and nothing of the parcels on them.
    let (_, stations) = t.call(Method::GET, "/api/stations", Some(&sf), None).await;
    for station in stations.as_array().unwrap() {
        let keys: Vec<&String> = station.as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["id", "name", "township", "division_code", "location"]
                    .contains(&k.as_str())),
            "{station}"
        );
    }
    let (_, me) = t.call(Method::GET, "/api/me", Some(&terminal), None).await;
    assert_eq!(me["username"], "terminal_a", "{me}");
}

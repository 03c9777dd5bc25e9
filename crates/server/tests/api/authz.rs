//! Authorisation: every id-taking route refuses other stations' and carriers' objects.

use super::*;

#[tokio::test]
async fn every_id_taking_route_refuses_other_stations_and_carriers() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let keeper_b = t.token("keeper_b").await;
    let sf = t.token("sf").await;
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
            assert!(
                matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                "{who} {method} {path} answered {status}: {answer}"
            );
        }
    }
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

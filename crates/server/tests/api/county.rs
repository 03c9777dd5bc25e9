//! The county centre's flow over HTTP.

use super::*;

#[tokio::test]
async fn county_centre_flow_over_http() {
    let t = spawn_app().await;
    let (route, _contractor, bag, queued, _) = county_objects(&t).await;
    let admin = t.token("admin").await;
    let keeper_a = t.token("keeper_a").await;
    let zto = t.token("zto").await;
    let (status, label) = t
        .call(
            Method::GET,
            &format!("/api/bags/{bag}/label"),
            Some(&keeper_a),
            None,
        )
        .await;
    let label = label.as_str().unwrap_or_default().to_string();
    assert_eq!(status, StatusCode::OK);
    assert!(label.contains("<svg") && label.contains(&format!("YZBAG:{bag}")));
    let accept = json!({"label": format!("YZBAG:{bag}")});
    let path = format!("/api/stations/{}/bags/accept", t.station_a);
    let (status, answer) = t
        .call(Method::POST, &path, Some(&keeper_a), Some(accept.clone()))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("bag_not_dispatched")),
        "not dispatched yet"
    );
    let (status, _) = t
        .call(
            Method::POST,
            &format!("/api/bags/{bag}/dispatch"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, first) = t
        .call(Method::POST, &path, Some(&keeper_a), Some(accept.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (
            first["duplicate"].as_bool(),
            first["stored"].as_array().map(Vec::len)
        ),
        (Some(false), Some(1))
    );
    let (_, second) = t
        .call(Method::POST, &path, Some(&keeper_a), Some(accept))
        .await;
    assert_eq!(second["duplicate"], true);
    let (status, bad) = t
        .call(
            Method::POST,
            &path,
            Some(&keeper_a),
            Some(json!({"label": "731234500001"})),
        )
        .await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{bad}"
    );
    let (status, page) = t
        .call(
            Method::GET,
            &format!("/api/county/routes/{route}/handover"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("交接单"));
    let (status, queue) = t
        .call(Method::GET, "/api/centre/manual-queue", Some(&admin), None)
        .await;
    assert_eq!(
        (status, queue[0]["parcel_id"].as_i64()),
        (StatusCode::OK, Some(queued))
    );
    let (status, resolved) = t
        .call(
            Method::POST,
            &format!("/api/parcels/{queued}/resolve"),
            Some(&admin),
            Some(json!({"division": "510182103237"})),
        )
        .await;
    assert_eq!(
        (status, resolved["state"].as_str()),
        (StatusCode::OK, Some("sorted")),
        "{resolved}"
    );
    let (status, report) = t
        .call(
            Method::GET,
            "/api/carriers/ZTO/reconciliation",
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["unannounced"].as_array().map(Vec::len), Some(2));
    let (status, bad) = t
        .call(
            Method::GET,
            "/api/carriers/ZTO/fees?from=2026-13-01",
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, bad) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/agreement",
            Some(&admin),
            Some(json!({"effective_from": "2026-01-01", "terms": {"townships": [], "fees": []}})),
        )
        .await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("agreement_invalid")),
        "{bad}"
    );
}

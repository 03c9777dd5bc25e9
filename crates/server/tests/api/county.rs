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

/// Contractor mode: the contractor's report, entered at the centre, gives
/// each of its parcels a `delivered` event that the carrier's feed carries;
/// another route's parcel is refused by row; a repeat changes nothing.
#[tokio::test]
async fn a_contractors_report_delivers_its_parcels_with_an_event() {
    let t = spawn_app().await;
    let admin = t.token("admin").await;
    let zto = t.token("zto").await;
    let (_, contractor, joint_bag, _, _) = county_objects(&t).await;
    let (status, arrival) = t
        .call(
            Method::POST,
            "/api/centre/arrivals",
            Some(&admin),
            Some(json!({"carrier": "ZTO", "waybill": "731234500009", "address": "四川省成都市彭州市龙门山镇宝山村2组", "weight_grams": 1200})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{arrival}");
    assert_eq!(arrival["routing"]["mode"], "contractor", "{arrival}");
    let bag = arrival["routing"]["bag_id"].as_i64().unwrap();
    let report = json!({"parcels": [
        {"carrier": "ZTO", "waybill": "731234500009"},
        {"carrier": "ZTO", "waybill": "731234500001"},
        {"carrier": "ZTO", "waybill": "731299999999"}
    ]});
    let path = format!("/api/county/contractors/{contractor}/deliveries");
    // Not dispatched yet: refused.
    let (status, early) = t
        .call(Method::POST, &path, Some(&admin), Some(report.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{early}");
    assert_eq!(early["n_delivered"], 0, "{early}");
    assert_eq!(
        early["rejected"][0]["code"], "not_with_contractor",
        "{early}"
    );
    for bag in [bag, joint_bag] {
        let (status, answer) = t
            .call(
                Method::POST,
                &format!("/api/bags/{bag}/dispatch"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, done) = t
        .call(Method::POST, &path, Some(&admin), Some(report.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["n_delivered"], 1, "{done}");
    let codes: Vec<&str> = done["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["not_with_contractor", "not_found"], "{done}");
    let (_, again) = t
        .call(Method::POST, &path, Some(&admin), Some(report))
        .await;
    assert_eq!(
        (again["n_delivered"].clone(), again["n_already"].clone()),
        (json!(0), json!(1)),
        "{again}"
    );
    // The carrier hears of it: its feed ends with the delivered event.
    let (_, feed) = t
        .call(Method::GET, "/api/carriers/ZTO/events", Some(&zto), None)
        .await;
    let delivered: Vec<&Value> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "delivered")
        .collect();
    assert_eq!(delivered.len(), 1, "{feed}");
    assert_eq!(delivered[0]["waybill"], "731234500009");
    assert_eq!(delivered[0]["state"], "delivered");
    // A keeper cannot enter a contractor's report.
    let keeper_a = t.token("keeper_a").await;
    let (status, _) = t
        .call(
            Method::POST,
            &path,
            Some(&keeper_a),
            Some(json!({"parcels": [{"carrier": "ZTO", "waybill": "731234500009"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// An announcement is corrected or cancelled while the parcel is still
/// announced; a re-announce with other data is refused by row, naming the
/// fields; a duplicate within one manifest is refused at its second row;
/// consent and weight take the documented forms.
#[tokio::test]
async fn announcements_are_refused_when_they_differ_and_corrected_or_cancelled_explicitly() {
    let t = spawn_app().await;
    let zto = t.token("zto").await;
    let manifest = |parcels: Value| json!({ "parcels": parcels });
    let (status, first) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/manifest",
            Some(&zto),
            Some(manifest(json!([
                {"waybill": "731234588001", "phone": "13812345678", "consent": "是", "weight_grams": "1250"},
                {"waybill": "731234588002", "consent": 1, "size": "大"},
                {"waybill": "731234588001", "phone": "13812345678"},
                {"waybill": "731234588003", "consent": "maybe"},
                {"waybill": "731234588004", "weight_grams": "1.25kg"}
            ]))),
        )
        .await;
    // A cell of the wrong form refuses the request, naming the field.
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{first}");
    let message = first["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("parcels[3].consent") && message.contains("是/否"),
        "{message}"
    );
    let (status, first) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/manifest",
            Some(&zto),
            Some(manifest(json!([
                {"waybill": "731234588001", "phone": "13812345678", "consent": "是", "weight_grams": "1250"},
                {"waybill": "731234588002", "consent": 1, "size": "大"},
                {"waybill": "731234588001", "phone": "13812345678"}
            ]))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["n_announced"], 2, "{first}");
    assert_eq!(first["rejected"][0]["row"], 3, "{first}");
    assert!(
        first["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("row 1"),
        "{first}"
    );
    // The same again: already known. Other data: refused, naming fields.
    let (_, again) = t
        .call(
            Method::POST,
            "/api/carriers/ZTO/manifest",
            Some(&zto),
            Some(manifest(json!([
                {"waybill": "731234588001", "phone": "13812345678", "consent": true, "weight_grams": 1250},
                {"waybill": "731234588002", "consent": "yes", "size": "large", "weight_grams": 900}
            ]))),
        )
        .await;
    assert_eq!(again["n_already_known"], 1, "{again}");
    let reason = again["rejected"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("weight_grams") && reason.contains("PUT"),
        "{again}"
    );
    // Correct it explicitly, then cancel the other.
    let (status, corrected) = t
        .call(
            Method::PUT,
            "/api/carriers/ZTO/parcels/731234588002",
            Some(&zto),
            Some(json!({"consent": "yes", "size": "large", "weight_grams": 900})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    assert_eq!(corrected["weight_grams"], 900, "{corrected}");
    assert_eq!(corrected["size"], "large", "{corrected}");
    let (status, cancelled) = t
        .call(
            Method::DELETE,
            "/api/carriers/ZTO/parcels/731234588001",
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    let (status, settled) = t
        .call(
            Method::PUT,
            "/api/carriers/ZTO/parcels/731234588001",
            Some(&zto),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{settled}");
    assert_eq!(settled["error"]["code"], "announcement_settled");
    // Another carrier cannot touch ZTO's announcements.
    let sf = t.token("sf").await;
    let (status, _) = t
        .call(
            Method::DELETE,
            "/api/carriers/ZTO/parcels/731234588002",
            Some(&sf),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

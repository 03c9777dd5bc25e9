//! Phone numbers masked in responses and in the logs.

use super::*;

#[tokio::test]
async fn phone_numbers_are_masked_in_responses_and_logs() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let zto = t.token("zto").await;
    let admin = t.token("admin").await;
    let mut bodies = Vec::new();
    let (parcel, outcome) = parcel_at_a(&t, &keeper_a, "731234567891", PHONES[0]).await;
    bodies.push(outcome);
    let batch = json!({"scans": [{"carrier": "ZTO", "waybill": "731234567892", "phone": PHONES[1], "consent": true}, {"carrier": "ZTO", "waybill": "731234567893", "phone": PHONES[2]}]});
    bodies.push(
        t.call(
            Method::POST,
            &format!("/api/stations/{}/inbound/batch", t.station_a),
            Some(&keeper_a),
            Some(batch),
        )
        .await
        .1,
    );
    let manifest = json!({"parcels": [{"waybill": "731234567894", "phone": PHONES[1], "station_id": t.station_a}, {"waybill": "bad;", "phone": PHONES[0]}]});
    bodies.push(
        t.call(
            Method::POST,
            "/api/carriers/ZTO/manifest",
            Some(&zto),
            Some(manifest),
        )
        .await
        .1,
    );
    for path in [
        format!("/api/parcels/{parcel}"),
        format!("/api/parcels/{parcel}/events"),
        format!("/api/stations/{}/parcels?phone_tail=5678", t.station_a),
        format!("/api/stations/{}/parcels", t.station_a),
        "/api/parcels?carrier=ZTO".to_string(),
    ] {
        for token in [&keeper_a, &zto, &admin] {
            bodies.push(t.call(Method::GET, &path, Some(token), None).await.1);
        }
    }
    let address = json!({"text": format!("张三 {} 四川省成都市武侯区簇桥街道", PHONES[0])});
    let (status, parsed) = t
        .call(
            Method::POST,
            "/api/address/parse",
            Some(&keeper_a),
            Some(address),
        )
        .await;
    assert_eq!(
        (status, parsed["county"]["code"].as_str()),
        (StatusCode::OK, Some("510107")),
        "{parsed}"
    );
    bodies.push(parsed);
    let (status, phone) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}/phone"),
            Some(&zto),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "carriers get numbers masked only: {phone}"
    );
    let (status, phone) = t
        .call(
            Method::GET,
            &format!("/api/parcels/{parcel}/phone"),
            Some(&keeper_a),
            None,
        )
        .await;
    assert_eq!(
        (status, phone["phone"].as_str()),
        (StatusCode::OK, Some(PHONES[0])),
        "the keeper who must call gets it"
    );
    let text = bodies
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("138****5678"),
        "masked numbers are there: {text}"
    );
    let logs = String::from_utf8_lossy(&logs().0.lock().unwrap()).to_string();
    assert!(logs.contains("inbound scan"), "the log capture works");
    for phone in PHONES {
        assert!(!text.contains(phone), "{phone} appears in a response");
        assert!(!logs.contains(phone), "{phone} appears in the logs");
    }
}

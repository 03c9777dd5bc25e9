//! The county board's JSON API (issue 16): `GET /api/board` and
//! `GET /api/board/daily` answer county staff's and the administrator's
//! tokens with the figures the board page shows (held to the document by
//! `TestApp::call`), and refuse a keeper's.

use super::*;

#[tokio::test]
async fn the_board_api_answers_the_county_and_refuses_a_keeper() {
    let t = spawn_app().await;
    let admin = t.token("admin").await;
    let keeper = t.token("keeper_a").await;
    let (status, stored) = t
        .call(
            Method::POST,
            &format!("/api/stations/{}/inbound", t.station_a),
            Some(&admin),
            Some(json!({"carrier": "ZTO", "waybill": "731234567801", "phone": "13812345678", "consent": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");

    let (status, figures) = t.call(Method::GET, "/api/board", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{figures}");
    assert_eq!(figures["n_days"], 1);
    let stored_step = figures["totals"][4].as_u64().unwrap();
    assert_eq!(stored_step, 1, "the scan is in today's flow: {figures}");
    let station = figures["stations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["station_id"] == t.station_a)
        .unwrap();
    assert_eq!(station["n_in"], 1);
    assert!(!figures.to_string().contains("13812345678"));

    let today = domain::shanghai_day(chrono::Utc::now());
    let (status, range) = t
        .call(
            Method::GET,
            &format!(
                "/api/board?from={}&to={today}",
                today - chrono::Duration::days(6)
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{range}");
    assert_eq!(range["n_days"], 7);
    assert_eq!(range["by_day"].as_array().unwrap().len(), 7);

    let (status, report) = t
        .call(
            Method::GET,
            &format!("/api/board/daily?day={today}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["day"], today.to_string());
    assert_eq!(report["figures"]["totals"][4], 1);

    let (status, answer) = t
        .call(
            Method::GET,
            "/api/board?from=2026-12-07&to=2026-01-01",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");

    for path in ["/api/board", "/api/board/daily"] {
        let (status, answer) = t.call(Method::GET, path, Some(&keeper), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
    }
}

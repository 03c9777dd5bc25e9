//! Limits on what comes in, and the OpenAPI document listing every route.

use super::*;

#[tokio::test]
async fn limits_answer_with_clear_errors() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let inbound = format!("/api/stations/{}/inbound", t.station_a);
    let cases: Vec<(Method, String, Option<Value>, StatusCode, &str)> = vec![
        (
            Method::POST,
            inbound.clone(),
            Some(json!({"carrier": "ZTO", "waybill": "7".repeat(41)})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "6 to 40",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(json!({"carrier": "UPS", "waybill": "731234567890"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "carrier",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(json!({"carrier": "ZTO", "waybill": "731234567890", "phone": "12345"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "mobile",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(
                json!({"carrier": "ZTO", "waybill": "731234567890", "recipient_name": "名".repeat(65)}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 64",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(json!({"carrier": "ZTO", "waybill": "731234567890", "phone": "1".repeat(100)})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too long",
        ),
        (
            Method::POST,
            inbound.clone(),
            Some(
                json!({"carrier": "ZTO", "waybill": "731234567890", "big": "x".repeat(2 * 1024 * 1024)}),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than",
        ),
        (
            Method::POST,
            format!("/api/stations/{}/inbound/batch", t.station_a),
            Some(
                json!({"scans": (0..501).map(|i| json!({"carrier": "ZTO", "waybill": format!("7300{i:08}")})).collect::<Vec<_>>()}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "1 to 500",
        ),
        (
            Method::GET,
            format!("/api/stations/{}/parcels?limit=201", t.station_a),
            None,
            // The one page rule of every list (`app::paging`).
            StatusCode::UNPROCESSABLE_ENTITY,
            "page size must be 1 to 200",
        ),
        (
            Method::GET,
            format!("/api/stations/{}/parcels?phone_tail=12", t.station_a),
            None,
            StatusCode::BAD_REQUEST,
            "last 4 digits",
        ),
        (
            Method::GET,
            format!("/api/stations/{}/parcels?colour=red", t.station_a),
            None,
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            Method::GET,
            "/api/stations/abc".to_string(),
            None,
            StatusCode::BAD_REQUEST,
            "must be a whole number",
        ),
        (
            Method::GET,
            "/api/nowhere".to_string(),
            None,
            StatusCode::NOT_FOUND,
            "no such route",
        ),
    ];
    for (method, path, body, expected, words) in cases {
        let (status, answer) = t.call(method.clone(), &path, Some(&keeper_a), body).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert!(
            message.contains(words),
            "{method} {path}: message {message:?} should say {words:?}"
        );
    }
    let (status, answer) = t.call(Method::GET, "/api/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let (status, _) = t
        .call(Method::GET, "/api/me", Some("yz_forged"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"username": "keeper_a", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let t = spawn_app().await;
    let (status, document) = t.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.0.3");
    for (spec, _) in server::routes() {
        assert!(
            document["paths"][spec.path][spec.method.to_lowercase()].is_object(),
            "{} {} missing from the document",
            spec.method,
            spec.path
        );
    }
    let (status, health) = t.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (status, health["database"].as_str()),
        (StatusCode::OK, Some("sqlite"))
    );
}

/// A request that outlives its deadline is answered 408 with the error body
/// every refusal has (code, type, message), not an empty response.
#[tokio::test]
async fn a_request_past_its_deadline_is_told_why() {
    let router = axum::Router::new().route(
        "/stuck",
        axum::routing::get(std::future::pending::<&'static str>),
    );
    let router =
        server::layered_with_deadline(router, false, std::time::Duration::from_millis(100));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let response = reqwest::get(format!("http://{address}/stuck"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("within 0.1 seconds"),
        "{body}"
    );
}

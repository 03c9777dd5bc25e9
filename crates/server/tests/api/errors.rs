//! The error table over HTTP: every code in the document, messages in the request's language.

use super::*;

/// The error shape's `code` enum in the document is the code table, and
/// every code's two templates name the same values (Chinese never shows a
/// parser's English `{detail}`).
#[tokio::test]
async fn openapi_lists_every_error_code() {
    let t = spawn_app().await;
    let (_, document) = t.call(Method::GET, "/api/openapi.json", None, None).await;
    let error = &document["components"]["schemas"]["Error"]["properties"]["error"];
    let listed: Vec<&str> = error["properties"]["code"]["enum"]
        .as_array()
        .expect("an enum of codes")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let table: Vec<&str> = app::Code::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(listed, table);
    assert!(error["required"].as_array().unwrap().len() == 3, "{error}");
    for code in app::Code::ALL {
        let zh = code.template(app::Lang::Zh);
        let en = code.template(app::Lang::En);
        assert!(!zh.is_empty() && !en.is_empty(), "{code}");
        let mut zh_names = app::Code::placeholders(zh);
        let mut en_names = app::Code::placeholders(en);
        en_names.retain(|name| *name != "detail");
        zh_names.sort_unstable();
        en_names.sort_unstable();
        assert_eq!(zh_names, en_names, "{code}: {zh} / {en}");
    }
    let description = document["info"]["description"].as_str().unwrap();
    assert!(description.contains("Accept-Language"), "{description}");
}

/// A refused row of an inbound batch says why in English by default and
/// in Chinese when the caller asks for it; so does a refused request.
#[tokio::test]
async fn refusals_speak_the_requests_language() {
    let t = spawn_app().await;
    let keeper_a = t.token("keeper_a").await;
    let path = format!("{}/api/stations/{}/inbound/batch", t.base, t.station_a);
    // Station A has only small slots: a large parcel is refused, the small
    // one is stored.
    let batch = json!({"scans": [
        {"carrier": "ZTO", "waybill": "731234560001", "size": "large", "consent": true},
        {"carrier": "ZTO", "waybill": "731234560002", "consent": true}
    ]});
    let mut reasons = Vec::new();
    for language in [
        None,
        Some("zh-CN,zh;q=0.9,en;q=0.8"),
        Some("en-US,en;q=0.9"),
    ] {
        let mut request = t.client.post(&path).bearer_auth(&keeper_a).json(&batch);
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let outcome: Value = response.json().await.unwrap();
        assert_eq!(outcome["stored"].as_array().unwrap().len(), 1, "{outcome}");
        let rejected = &outcome["rejected"][0];
        assert_eq!(rejected["index"], 0, "{outcome}");
        assert_eq!(rejected["code"], "station_full", "{outcome}");
        reasons.push(rejected["reason"].as_str().unwrap().to_string());
    }
    assert_eq!(
        reasons,
        [
            "the station has no free slot for a large parcel",
            "驿站已没有能放大件的空格口",
            "the station has no free slot for a large parcel",
        ]
    );
    // A refused request: the same code, the message in the asked language.
    let too_big = json!({"scans": (0..501).map(|i| json!({"carrier": "ZTO", "waybill": format!("7300{i:08}")})).collect::<Vec<_>>()});
    let mut answers = Vec::new();
    for language in [None, Some("zh-CN")] {
        let mut request = t.client.post(&path).bearer_auth(&keeper_a).json(&too_big);
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let content_language = response.headers()["content-language"]
            .to_str()
            .unwrap()
            .to_string();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], "batch_size", "{answer}");
        assert_eq!(answer["error"]["type"], "invalid_request", "{answer}");
        answers.push((
            content_language,
            answer["error"]["message"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(
        answers,
        [
            (
                "en".to_string(),
                "a batch holds 1 to 500 parcels; this one has 501".to_string()
            ),
            (
                "zh-CN".to_string(),
                "一批须有 1 至 500 件包裹，这一批有 501 件".to_string()
            ),
        ]
    );
    // Rejections made by the extractors and the fallback speak it too.
    for (path, code, zh) in [
        ("/api/nowhere", "route_not_found", "没有这个接口"),
        ("/api/me", "token_missing", "API 令牌"),
        ("/api/login", "method_not_allowed", "请求方法"),
    ] {
        let response = t
            .client
            .get(format!("{}{path}", t.base))
            .header("accept-language", "zh")
            .send()
            .await
            .unwrap();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code, "{answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(zh),
            "{answer}"
        );
    }
}

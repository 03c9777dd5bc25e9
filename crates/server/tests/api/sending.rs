//! The sender's JSON API (`/api/send/…`, issue 14): a sender signs in with
//! a texted code and sends a parcel end to end over HTTP — smart paste,
//! real-name, inspection (a prohibited item refused with its rule, a
//! medicine's photo that must be its own order's), quote, payment by the
//! provider's signed callback, the label in three printer languages — and
//! nobody else's token opens any of it. Every answer is checked against
//! the OpenAPI document by `TestApp::call`.

use super::*;
use app::sending::SimulatedPayments;

const SENDER: &str = "13912340000";
const OTHER: &str = "13700002222";
const RECIPIENT: &str = "13800001111";

/// The newest code texted to `phone`, read from the SMS outbox as the
/// relay would send it.
async fn texted_code(app: &App, phone: &str) -> String {
    let relay = testkit::RecordingSender::default();
    app.relay_once(&relay, 10).await.unwrap();
    let (_, text) = relay
        .sent()
        .into_iter()
        .rev()
        .find(|(to, _)| to == phone)
        .expect("a code message");
    text.chars().filter(char::is_ascii_digit).take(6).collect()
}

/// Signs a sender in through the API; the sender's bearer token.
async fn sign_in(t: &TestApp, phone: &str) -> String {
    let (status, sent) = t
        .call(
            Method::POST,
            "/api/send/code",
            None,
            Some(json!({"phone": phone})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert!(sent["demo_code"].is_null(), "codes are texted, not shown");
    let code = texted_code(&t.app, phone).await;
    let (status, session) = t
        .call(
            Method::POST,
            "/api/send/session",
            None,
            Some(json!({"phone": phone, "code": code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["token"].as_str().unwrap().to_string()
}

fn tiny_png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&[0u8; 64]);
    bytes
}

async fn upload_photo(t: &TestApp, token: &str, order_id: i64) -> (StatusCode, Value) {
    let path = format!("/api/send/orders/{order_id}/photos");
    let response = t
        .client
        .post(format!("{}{path}", t.base))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(tiny_png())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    openapi::check_answer("POST", &path, status.as_u16(), &body);
    (status, body)
}

async fn get_file(t: &TestApp, token: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
    let response = t
        .client
        .get(format!("{}{path}", t.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

fn party(name: &str, phone: &str, division: &str, detail: &str) -> Value {
    json!({"name": name, "phone": phone, "division": division, "detail": detail})
}

#[tokio::test]
async fn a_sender_sends_a_parcel_through_the_api_and_nobody_else_can_touch_it() {
    let t = spawn_app().await;
    t.app
        .add_waybill_range(
            &testkit::admin(),
            Carrier::Ems,
            "",
            1_100_000_000_000,
            1_100_000_000_099,
            13,
        )
        .await
        .unwrap();

    // Signing in: a wrong code is refused, the texted one opens a session.
    let (status, _) = t
        .call(
            Method::POST,
            "/api/send/code",
            None,
            Some(json!({"phone": SENDER})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = t
        .call(
            Method::POST,
            "/api/send/session",
            None,
            Some(json!({"phone": SENDER, "code": "000000"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "send_code_wrong");
    let (status, refused) = t
        .call(
            Method::POST,
            "/api/send/code",
            None,
            Some(json!({"phone": "0571-88001234"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let token = sign_in(&t, SENDER).await;
    let (status, me) = t
        .call(Method::GET, "/api/send/me", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["phone"], "139****0000");
    assert_eq!(me["verified"], false);

    // Tokens do not cross: a staff token opens no sender route, a sender's
    // token no staff route, and no token is told so.
    let admin = t.token("admin").await;
    let (status, answer) = t
        .call(Method::GET, "/api/send/me", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"]["code"], "send_session_invalid");
    let (status, _) = t.call(Method::GET, "/api/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = t.call(Method::GET, "/api/send/orders", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"]["code"], "token_missing");

    // Smart paste: the recipient's text read for confirmation.
    let (status, parsed) = t
        .call(
            Method::POST,
            "/api/send/parse",
            Some(&token),
            Some(json!({"text": format!("李四 {RECIPIENT} 浙江省金华市磐安县安文街道新城路8号")})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{parsed}");
    assert_eq!(parsed["name"], "李四");
    assert_eq!(parsed["phone"], RECIPIENT);
    assert!(
        parsed["division"].as_str().unwrap().starts_with("330727"),
        "{parsed}"
    );

    // The order: both parties confirmed; phones come back masked.
    let from = party("张三", SENDER, "510182", "丽春镇白果村3组12号");
    let to = party(
        "李四",
        RECIPIENT,
        parsed["division"].as_str().unwrap(),
        "新城路8号",
    );
    let (status, order) = t
        .call(
            Method::POST,
            "/api/send/orders",
            Some(&token),
            Some(json!({"from": from, "to": to})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["state"], "draft");
    assert_eq!(order["channel"], "api");
    assert_eq!(order["to"]["phone"], "138****1111");
    let order_id = order["id"].as_i64().unwrap();
    // An address book entry stands for a party; half of one is refused.
    let (_, book) = t
        .call(Method::GET, "/api/send/addresses", Some(&token), None)
        .await;
    let recipient_entry = book
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["role"] == "recipient")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, refused) = t
        .call(
            Method::POST,
            "/api/send/orders",
            Some(&token),
            Some(json!({"from": {"name": "张三"}, "to": {"address_id": recipient_entry}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "send_party_incomplete");
    let (status, second) = t
        .call(
            Method::POST,
            "/api/send/orders",
            Some(&token),
            Some(json!({"from": from, "to": {"address_id": recipient_entry}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["to"]["phone"], "138****1111");
    let second_id = second["id"].as_i64().unwrap();

    // Inspection: a prohibited item is refused naming its rule, and the
    // refusal is on the order's record.
    let contents = |category: &str| json!({"category": category, "weight_grams": 800, "size_cm": [30, 20, 10]});
    let path = format!("/api/send/orders/{order_id}/contents");
    let (status, refused) = t
        .call(
            Method::PUT,
            &path,
            Some(&token),
            Some(contents("explosives")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "send_prohibited");
    // A medicine needs its prescription's photo, of this order only.
    let (status, photo) = upload_photo(&t, &token, order_id).await;
    assert_eq!(status, StatusCode::OK, "{photo}");
    let photo = photo["photo"].as_str().unwrap().to_string();
    let (_, other_photo) = upload_photo(&t, &token, second_id).await;
    let mut medicine = contents("medicines");
    medicine["document_photo"] = other_photo["photo"].clone();
    let (status, refused) = t
        .call(Method::PUT, &path, Some(&token), Some(medicine.clone()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "send_photo_unknown");
    medicine["document_photo"] = json!(photo);
    let (status, priced) = t
        .call(Method::PUT, &path, Some(&token), Some(medicine))
        .await;
    assert_eq!(status, StatusCode::OK, "{priced}");
    let price = priced["price_fen"].as_i64().unwrap();
    assert!(price > 0, "{priced}");
    assert_eq!(priced["quote"]["price_fen"], price);
    let (_, detail) = t
        .call(
            Method::GET,
            &format!("/api/send/orders/{order_id}"),
            Some(&token),
            None,
        )
        .await;
    let outcomes: Vec<&str> = detail["inspections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"refused") && outcomes.contains(&"accepted"),
        "{detail}"
    );

    // Real-name before the first submission.
    let submit = format!("/api/send/orders/{order_id}/submit");
    let (status, refused) = t
        .call(Method::POST, &submit, Some(&token), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "send_real_name_required");
    let (status, refused) = t
        .call(
            Method::POST,
            "/api/send/identity",
            Some(&token),
            Some(json!({"kind": "resident_id", "number": "110105194912310021", "name": "张三"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "document_invalid");
    let (status, me) = t
        .call(
            Method::POST,
            "/api/send/identity",
            Some(&token),
            Some(json!({"kind": "resident_id", "number": "11010519491231002X", "name": "张三"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["verified"], true);
    assert_eq!(me["document_masked"], "11**************2X");
    assert!(!me.to_string().contains("张三"), "{me}");

    // Submit: a waybill number and a QR payment; the provider's callback
    // pays it.
    let (status, submitted) = t
        .call(Method::POST, &submit, Some(&token), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!(submitted["order"]["state"], "awaiting_payment");
    let payment = &submitted["payment"];
    assert_eq!(payment["amount_fen"], price);
    assert!(payment["qr_content"].is_string());
    let provider = SimulatedPayments::new(PAYMENT_KEY.to_vec());
    let (body, signature) = provider.pay(
        payment["merchant_order_no"].as_str().unwrap(),
        domain::Fen(price),
        t.app.now(),
    );
    let response = t
        .client
        .post(format!("{}/api/payments/callback", t.base))
        .header("content-type", "application/json")
        .header("X-Payment-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, detail) = t
        .call(
            Method::GET,
            &format!("/api/send/orders/{order_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(detail["order"]["state"], "accepted", "{detail}");
    let waybill = detail["order"]["waybill"].as_str().unwrap().to_string();
    assert!(
        detail["payments"][0]["qr_content"].is_null(),
        "a paid QR code is not shown again"
    );

    // The label: masked fields, and three printer languages.
    let (status, label) = t
        .call(
            Method::GET,
            &format!("/api/send/orders/{order_id}/label"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{label}");
    assert_eq!(label["waybill"], waybill.as_str());
    assert_eq!(
        (label["to_name"].as_str(), label["to_phone"].as_str()),
        (Some("李*"), Some("138****1111"))
    );
    let (status, kind, zpl) = get_file(
        &t,
        &token,
        &format!("/api/send/orders/{order_id}/label.zpl"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("application/zpl"), "{kind}");
    assert!(String::from_utf8(zpl).unwrap().contains(&waybill));
    let (status, kind, tspl) = get_file(
        &t,
        &token,
        &format!("/api/send/orders/{order_id}/label.tspl"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.contains("gb18030"), "{kind}");
    let (tspl, _, malformed) = encoding_rs::GB18030.decode(&tspl);
    assert!(!malformed && tspl.contains(&waybill) && !tspl.contains(RECIPIENT));
    let (status, kind, pdf) = get_file(
        &t,
        &token,
        &format!("/api/send/orders/{order_id}/label.pdf"),
    )
    .await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let (status, refused) = t
        .call(
            Method::GET,
            &format!("/api/send/orders/{order_id}/label.png"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(refused["error"]["code"], "label_format_unknown");

    // Another sender finds none of it.
    let other = sign_in(&t, OTHER).await;
    for (method, path) in [
        (Method::GET, format!("/api/send/orders/{order_id}")),
        (Method::GET, format!("/api/send/orders/{order_id}/label")),
        (
            Method::GET,
            format!("/api/send/orders/{order_id}/label.pdf"),
        ),
        (Method::POST, format!("/api/send/orders/{order_id}/cancel")),
        (
            Method::POST,
            format!("/api/send/orders/{order_id}/payments"),
        ),
        (Method::POST, format!("/api/send/orders/{order_id}/submit")),
    ] {
        let body = (method == Method::POST).then(|| json!({}));
        let (status, answer) = t.call(method.clone(), &path, Some(&other), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
    }
    let (status, answer) = upload_photo(&t, &other, order_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (_, theirs) = t
        .call(Method::GET, "/api/send/orders", Some(&other), None)
        .await;
    assert_eq!(theirs["items"], json!([]));
    let (_, mine) = t
        .call(Method::GET, "/api/send/orders?limit=1", Some(&token), None)
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], second_id, "newest first");
    let (_, rest) = t
        .call(
            Method::GET,
            &format!("/api/send/orders?after_id={}", mine["next_after_id"]),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(rest["items"][0]["id"], order_id);

    // Cancelling a paid order refunds it.
    let (status, cancelled) = t
        .call(
            Method::POST,
            &format!("/api/send/orders/{order_id}/cancel"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");

    // Signing out ends the token.
    let (status, _) = t
        .call(Method::DELETE, "/api/send/session", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = t
        .call(Method::GET, "/api/send/me", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    // No phone whole in any answer above went to the log.
    let logged = String::from_utf8_lossy(&logs().0.lock().unwrap()).to_string();
    for phone in [SENDER, RECIPIENT, OTHER] {
        assert!(!logged.contains(phone), "{phone} in the log");
    }
}

#[tokio::test]
async fn the_quote_and_catalogue_are_public_and_the_kiosk_report_is_for_the_county() {
    let t = spawn_app().await;
    let (status, quote) = t
        .call(
            Method::GET,
            "/api/send/quote?from=510182&to=330727&weight_grams=1500&size=30x20x10",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    let expected = t
        .app
        .send_quote("510182", "330727", 1500, Some((30, 20, 10)), None)
        .unwrap();
    assert_eq!(quote["price_fen"], expected.price_fen.0);
    assert_eq!(quote["billed_grams"], expected.billed_grams);
    let (status, refused) = t
        .call(
            Method::GET,
            "/api/send/quote?from=510182&to=330727&weight_grams=1500&size=30x20",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "send_size_invalid");

    let (status, catalogue) = t.call(Method::GET, "/api/send/catalogue", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let explosives = catalogue
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "explosives")
        .unwrap();
    assert_eq!(explosives["rule"], "prohibited");
    assert!(
        explosives["rule_zh"]
            .as_str()
            .unwrap()
            .contains("禁止寄递物品管理规定")
    );
    let medicines = catalogue
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "medicines")
        .unwrap();
    assert_eq!(medicines["needs"], "prescription_or_invoice_photo");

    let admin = t.token("admin").await;
    let (status, report) = t
        .call(
            Method::GET,
            "/api/kiosks/report?day=2026-12-01",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["day"], "2026-12-01");
    assert_eq!(report["placed"], 0);
    let keeper = t.token("keeper_a").await;
    let (status, _) = t
        .call(Method::GET, "/api/kiosks/report", Some(&keeper), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.call(Method::GET, "/api/kiosks/report", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A shop's system pushes a pre-sale campaign's orders over the API: the
/// station's are shelved (a pickup code each), home deliveries listed, a
/// bad order named by its place while the good ones are kept, and the same
/// orders sent again change nothing.
#[tokio::test]
async fn a_shop_pushes_presale_orders_and_a_repeat_changes_nothing() {
    let t = spawn_app().await;
    let admin = t.token("admin").await;
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
    let orders = json!({"orders": [
        {"order_no": "PS-1", "phone": PHONES[0], "items": "明前茶 2 盒", "amount_fen": 12800, "pickup": t.station_a.to_string(), "name": "王五"},
        {"order_no": "PS-2", "phone": PHONES[1], "items": "土鸡蛋 30 枚", "amount_fen": 4550, "pickup": "送货上门", "address": "丽春镇白果村3组12号"},
        {"order_no": "PS-3", "phone": PHONES[1], "items": "腊肉", "amount_fen": 9900, "pickup": "no such station"},
    ]});
    let path = format!("/api/presale/campaigns/{campaign}/orders");
    let (status, outcome) = t
        .call(Method::POST, &path, Some(&admin), Some(orders.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(
        (
            outcome["n_new"].as_u64(),
            outcome["n_stored"].as_u64(),
            outcome["n_home"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{outcome}"
    );
    assert_eq!(outcome["rejected"][0]["index"], 2, "{outcome}");
    assert_eq!(outcome["rejected"][0]["order_no"], "PS-3");
    let (_, again) = t
        .call(Method::POST, &path, Some(&admin), Some(orders))
        .await;
    assert_eq!(
        (again["n_new"].as_u64(), again["n_known"].as_u64()),
        (Some(0), Some(2)),
        "{again}"
    );
    let (status, report) = t
        .call(
            Method::GET,
            &format!("/api/presale/campaigns/{campaign}/report"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["orders"], 2);
    assert_eq!(report["waiting"], 1);
    assert_eq!(report["revenue_fen"], 12800 + 4550);
    // The order is a parcel on station A's shelf with a pickup code.
    let keeper = t.token("keeper_a").await;
    let (_, shelf) = t
        .call(
            Method::GET,
            &format!("/api/stations/{}/parcels", t.station_a),
            Some(&keeper),
            None,
        )
        .await;
    assert_eq!(shelf["items"].as_array().unwrap().len(), 1, "{shelf}");
    // An empty or unknown campaign is refused.
    let (status, _) = t
        .call(
            Method::POST,
            &path,
            Some(&admin),
            Some(json!({"orders": []})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = t
        .call(
            Method::GET,
            &format!("/api/presale/campaigns/{}/report", campaign + 1),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

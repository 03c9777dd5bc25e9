//! The sender's own pages at `/send` (issue 14, branch send-flow) over real
//! HTTP against real SQLite: sign in with the phone and the code read from
//! the SMS outbox, paste two addresses and confirm what was read, the
//! real-name form, inspection (a prohibited item refused with its rule, a
//! medicine without its photo refused, then accepted with one), the quote,
//! payment by the simulated provider's signed callback, the sender's own
//! label (anyone else: 404), cancel with refund; and the centre's list.

mod support;

use app::App;
use app::ports::SystemClock;
use domain::sending::OrderState;
use domain::{Carrier, Role};
use std::sync::Arc;
use support::{browser, csrf_of};

const SENDER_PHONE: &str = "13912340000";

/// A browser of the sender's, not signed in to anything else.
struct SenderBrowser {
    client: reqwest::Client,
    base: String,
    csrf: String,
    /// The session cookie as the server set it (`yz_sender=…`), to try a
    /// copy of it after signing out.
    session: String,
}

impl SenderBrowser {
    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// POSTs a form with the CSRF token: the status and the redirect's
    /// target, or the body.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let mut fields = form.to_vec();
        fields.push(("csrf", &self.csrf));
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (status, location.unwrap_or(response.text().await.unwrap()))
    }

    async fn post_contents(
        &self,
        order_id: i64,
        category: &str,
        photo: Option<Vec<u8>>,
    ) -> (u16, String) {
        let mut form = reqwest::multipart::Form::new()
            .text("csrf", self.csrf.clone())
            .text("category", category.to_string())
            .text("weight_grams", "800")
            .text("length_cm", "")
            .text("width_cm", "")
            .text("height_cm", "");
        if let Some(bytes) = photo {
            form = form.part(
                "photo",
                reqwest::multipart::Part::bytes(bytes).file_name("rx.png"),
            );
        }
        let response = self
            .client
            .post(format!("{}/send/orders/{order_id}/contents", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (status, location.unwrap_or(response.text().await.unwrap()))
    }
}

/// The newest code texted to `phone`, read from the SMS outbox the way the
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

/// Signs a sender in through the pages (phone, then the texted code).
async fn sign_in(site: &support::Site, phone: &str, entry: &str) -> SenderBrowser {
    let client = browser();
    let response = client.get(site.url(entry)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303, "not signed in yet");
    let page = client
        .get(site.url("/send/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let page = client
        .post(site.url("/send/code"))
        .form(&[("phone", phone), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"code\""), "{page}");
    assert!(
        !page.contains("demo-code"),
        "codes are not shown outside the demo"
    );
    let code = texted_code(&site.app, phone).await;
    let response = client
        .post(site.url("/send/verify"))
        .form(&[("phone", phone), ("code", &code), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("yz_sender="))
        .expect("a sender cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(
        !cookies.iter().any(|c| c.starts_with("yz_session=")),
        "a sender gets no staff session"
    );
    let home = client
        .get(site.url("/send"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let masked = format!("{}****{}", &phone[..3], &phone[7..]);
    assert!(home.contains(&masked), "{home}");
    SenderBrowser {
        client,
        base: site.url(""),
        csrf: csrf_of(&home),
        session: session.split(';').next().unwrap().to_string(),
    }
}

/// The text of an HTML attribute, entities undone (askama escapes quotes).
fn attribute(html: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    let start = html
        .find(&key)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + key.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A 1×1 PNG: a photo's shape without a photo's size.
fn tiny_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0u8; 64]);
    png
}

#[tokio::test]
async fn a_sender_orders_pays_and_prints_their_own_label_from_the_phone() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    app.add_waybill_range(
        &testkit::admin(),
        Carrier::Ems,
        "",
        1_100_000_000_000,
        1_100_000_000_099,
        13,
    )
    .await
    .unwrap();
    support::user(&app, "operator", Role::CountyOperator, None, &[]).await;
    // The kiosk whose QR code the sender scans is one of the fleet's.
    let kiosk = app
        .create_kiosk(
            &testkit::admin(),
            &app::kiosks::KioskInput {
                code: "PA-KIOSK-007".into(),
                host_name: "丽春药店".into(),
                scenario: "pharmacy".into(),
                division: "510182103".into(),
                lat: "30.70".into(),
                lon: "103.90".into(),
                placed_on: "2026-11-01".into(),
                staff: "operator".into(),
                branch: "丽春支局".into(),
            },
        )
        .await
        .unwrap();
    // The carrier listens for every event, sending ones included.
    let hook = app
        .create_webhook(
            &testkit::admin(),
            Carrier::Ems,
            "https://ems.example/yizhan/events",
            &[],
        )
        .await
        .unwrap();
    let site = support::Site::serve(app.clone(), database).await;

    // The kiosk's QR code opens /send?kiosk=CODE; the code rides along.
    let sender = sign_in(&site, SENDER_PHONE, "/send?kiosk=PA-KIOSK-007").await;

    // Paste two addresses: what was read comes back to confirm.
    let (status, page) = sender
        .post(
            "/send/new",
            &[
                (
                    "from_text",
                    "张三 13912340000 四川省成都市彭州市丽春镇白果村3组12号",
                ),
                (
                    "to_text",
                    "李四 13800001111 浙江省金华市磐安县安文街道新城路8号",
                ),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(attribute(&page, "id=\"from-name\" value"), "张三");
    assert_eq!(attribute(&page, "id=\"to-phone\" value"), "13800001111");
    assert!(attribute(&page, "id=\"to-division\" value").len() >= 6);
    let field = |id: &str| attribute(&page, &format!("id=\"{id}\" value"));
    let confirmed = [
        ("from_name", field("from-name")),
        ("from_phone", field("from-phone")),
        ("from_division", field("from-division")),
        ("from_detail", field("from-detail")),
        ("to_name", field("to-name")),
        ("to_phone", field("to-phone")),
        ("to_division", field("to-division")),
        ("to_detail", field("to-detail")),
    ];
    let form: Vec<(&str, &str)> = confirmed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location) = sender.post("/send/orders", &form).await;
    assert_eq!(status, 303, "{location}");
    let order_id: i64 = location
        .strip_prefix("/send/orders/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{location}"));

    // The first order asks for the real-name check; only the masked
    // number is shown back.
    let (_, page) = sender.get(&location).await;
    assert!(page.contains("id=\"real-name\""), "{page}");
    let (status, _) = sender
        .post(
            "/send/identity",
            &[
                ("order_id", &order_id.to_string()),
                ("name", "张三"),
                ("kind", "resident_id"),
                ("number", "11010519491231002X"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = sender.get(&location).await;
    assert!(!page.contains("id=\"real-name\""));
    assert!(page.contains("11**************2X"), "{page}");
    assert!(!page.contains("11010519491231002X"));

    // A prohibited item is refused naming its rule; a medicine needs the
    // prescription's photo.
    let (status, page) = sender.post_contents(order_id, "explosives", None).await;
    assert_eq!(status, 422);
    assert!(page.contains("禁止寄递物品管理规定"), "{page}");
    let (status, page) = sender.post_contents(order_id, "medicines", None).await;
    assert_eq!(status, 422);
    assert!(page.contains("处方"), "{page}");
    let (status, page) = sender
        .post_contents(order_id, "medicines", Some(b"not an image".to_vec()))
        .await;
    assert_eq!(status, 422, "{page}");
    let (status, _) = sender
        .post_contents(order_id, "medicines", Some(tiny_png()))
        .await;
    assert_eq!(status, 303);

    // The quote with its parts, then submit: a QR code to pay.
    let (_, page) = sender.get(&location).await;
    assert!(
        page.contains("id=\"quote-box\"") && page.contains("id=\"price\""),
        "{page}"
    );
    let (status, _) = sender
        .post(&format!("/send/orders/{order_id}/submit"), &[])
        .await;
    assert_eq!(status, 303);
    let (_, page) = sender.get(&location).await;
    assert!(page.contains("data-state=\"awaiting_payment\""), "{page}");
    assert!(page.contains("<svg"), "the payment's QR code");

    // The demo's button carries the provider's signed callback; the
    // browser posts it to the callback endpoint (here: its use case, as
    // the web router alone has no API). The order is paid.
    let body = attribute(&page, "data-body");
    let signature = attribute(&page, "data-signature");
    let outcome = site
        .app
        .payment_callback(body.as_bytes(), &signature)
        .await
        .unwrap();
    assert_eq!(outcome, app::sending::CallbackOutcome::Accepted);
    let (_, page) = sender.get(&location).await;
    assert!(page.contains("data-state=\"accepted\""), "{page}");
    let waybill = attribute(&page, "data-waybill");
    // Opened from the kiosk's QR code, the order is that kiosk's: it waits
    // in the kiosk's bin for the courier's collection.
    let order = site.app.store.send_order(order_id).await.unwrap().unwrap();
    assert_eq!(order.kiosk_id, Some(kiosk.id));
    let bin = site.app.store.kiosk_bin(kiosk.id).await.unwrap();
    assert!(
        bin.iter().any(|waiting| waiting.id == order_id),
        "in the kiosk's bin"
    );
    // Public tracking answers for the waybill, with no personal data.
    let tracked = serde_json::to_string(&site.app.track(&waybill, None).await.unwrap()).unwrap();
    assert!(tracked.contains("\"send.accepted\""), "{tracked}");
    for private in [SENDER_PHONE, "13800001111", "李四", "张三", "新城路"] {
        assert!(!tracked.contains(private), "{private} in {tracked}");
    }

    // The sender's own label: masked, the same as the staff's.
    let (status, label) = sender.get(&format!("/send/orders/{order_id}/label")).await;
    assert_eq!(status, 200, "{label}");
    assert!(label.contains(&waybill) && label.contains("138****1111") && label.contains("李*"));
    assert!(!label.contains("13800001111") && !label.contains("李四"));

    // Another sender sees neither the order nor its label.
    let other = sign_in(&site, "13700002222", "/send").await;
    for path in [
        format!("/send/orders/{order_id}"),
        format!("/send/orders/{order_id}/label"),
        format!("/send/orders/{order_id}/label.zpl"),
    ] {
        let (status, _) = other.get(&path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = other
        .post(&format!("/send/orders/{order_id}/cancel"), &[])
        .await;
    assert_eq!(status, 404);
    // A form without the sender's CSRF token is refused.
    let response = sender
        .client
        .post(format!("{}/send/orders/{order_id}/cancel", sender.base))
        .form(&[("csrf", "00".repeat(16).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);

    // The centre lists it, masked, with the kiosk it came from.
    let operator = site.sign_in("operator").await;
    let (status, list) = operator.get("/centre/send?state=accepted").await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(&format!("id=\"order-{order_id}\"")), "{list}");
    assert!(list.contains("139****0000") && !list.contains(SENDER_PHONE));
    let (_, list) = operator.get("/centre/send?state=cancelled").await;
    assert!(!list.contains(&format!("id=\"order-{order_id}\"")));
    let (status, _) = operator.get("/centre/send?state=lost").await;
    assert_eq!(status, 422);
    let (status, detail) = operator
        .get(&format!("/centre/send/orders/{order_id}"))
        .await;
    assert_eq!(status, 200);
    assert!(detail.contains("PA-KIOSK-007"), "{detail}");
    assert!(detail.contains("id=\"payments\"") && detail.contains("paid"));
    assert!(!detail.contains(SENDER_PHONE) && !detail.contains("13800001111"));

    // The sender cancels before collection: the payment is refunded.
    let (status, _) = sender
        .post(&format!("/send/orders/{order_id}/cancel"), &[])
        .await;
    assert_eq!(status, 303);
    let order = site.app.store.send_order(order_id).await.unwrap().unwrap();
    assert_eq!(order.state, OrderState::Cancelled);
    // The carrier's feed got both moves, in the moves' transactions.
    let deliveries = site
        .app
        .webhook_deliveries(
            &testkit::admin(),
            hook.subscription.id,
            app::webhooks::Page {
                after_id: None,
                limit: 50,
            },
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = deliveries.iter().map(|d| d.event_kind.as_str()).collect();
    assert!(
        kinds.contains(&"send.accepted") && kinds.contains(&"send.cancelled"),
        "{kinds:?}"
    );
    let tracked = serde_json::to_string(&site.app.track(&waybill, None).await.unwrap()).unwrap();
    assert!(tracked.contains("\"send.cancelled\""), "{tracked}");
    let payments = site.app.store.order_payments(order_id).await.unwrap();
    assert!(
        payments
            .iter()
            .any(|p| p.status == domain::sending::PaymentStatus::Refunded),
        "{payments:?}"
    );

    // Signing out ends the session on the server: a copy of the cookie
    // taken before opens nothing afterwards.
    let copy = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(site.url("/send"))
            .header("cookie", sender.session.clone())
    };
    assert_eq!(copy().send().await.unwrap().status().as_u16(), 200);
    let (status, to) = sender.post("/send/logout", &[]).await;
    assert_eq!((status, to.as_str()), (303, "/send/login"));
    let response = copy().send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/send/login");
}

#[tokio::test]
async fn staff_cancel_an_order_with_a_reason_and_it_is_audited() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    support::user(&app, "operator", Role::CountyOperator, None, &[]).await;
    let site = support::Site::serve(app.clone(), database).await;
    let sender = sign_in(&site, SENDER_PHONE, "/send").await;
    let (status, page) = sender
        .post(
            "/send/new",
            &[
                (
                    "from_text",
                    "张三 13912340000 四川省成都市彭州市丽春镇白果村3组12号",
                ),
                (
                    "to_text",
                    "李四 13800001111 浙江省金华市磐安县安文街道新城路8号",
                ),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let field = |id: &str| attribute(&page, &format!("id=\"{id}\" value"));
    let values: Vec<(&str, String)> = [
        "from_name",
        "from_phone",
        "from_division",
        "from_detail",
        "to_name",
        "to_phone",
        "to_division",
        "to_detail",
    ]
    .iter()
    .map(|name| (*name, field(&name.replace('_', "-"))))
    .collect();
    let form: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, location) = sender.post("/send/orders", &form).await;
    let order_id: i64 = location["/send/orders/".len()..].parse().unwrap();
    // The address book now offers both parties for the next order.
    let (_, new_page) = sender.get("/send/new").await;
    assert!(new_page.contains("id=\"from-book\"") && new_page.contains("138****1111"));

    let operator = site.sign_in("operator").await;
    let (status, page) = operator
        .post(
            &format!("/centre/send/orders/{order_id}/cancel"),
            &[("reason", "")],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    let (status, _) = operator
        .post(
            &format!("/centre/send/orders/{order_id}/cancel"),
            &[("reason", "寄件人到柜台要求取消")],
        )
        .await;
    assert_eq!(status, 303);
    let order = site.app.store.send_order(order_id).await.unwrap().unwrap();
    assert_eq!(order.state, OrderState::Cancelled);
    let trail = site.app.store.audit_rows_after(0, 100).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|row| row.act == "send_order_cancelled"
                && row.details.contains("寄件人到柜台要求取消")),
        "{trail:?}"
    );
}

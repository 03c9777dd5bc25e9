//! The kiosk's screen `/kiosk` over real HTTP against real SQLite (issue 14,
//! branch kiosk-dev): county staff register the kiosk's devices and pair a
//! browser as its screen (the staff session ends there); a sender signs in
//! at the screen with the phone and the texted code, passes the real-name
//! check, pastes both addresses; the camera's photo (posted to
//! `/kiosk/device/photo` with the camera's signature; a forged one is
//! refused) and the scale's settled weight go into the inspection; the
//! quote, payment by the simulated provider's signed callback, the label
//! on the kiosk's printer (out of paper first, then printed), "put the
//! parcel in the bin" until the bin reports it; and the centre and the
//! courier see a full bin. The devices' side is what the MQTT bridge does
//! with their messages (`app::kiosk_devices`, tested over Mosquitto in
//! `crates/devices/tests/kiosks.rs`).

mod support;

use app::App;
use app::device_commands::DeviceCommandStatus;
use app::ports::SystemClock;
use app::ports::prelude::*;
use domain::{Carrier, Role};
use std::sync::Arc;
use support::csrf_of;

const SENDER_PHONE: &str = "13912340077";

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

fn query_value(location: &str, name: &str) -> String {
    let key = format!("{name}=");
    let start = location.find(&key).expect(name) + key.len();
    location[start..].split('&').next().unwrap().to_string()
}

#[tokio::test]
async fn a_sender_sends_at_the_kiosk_with_its_camera_scale_printer_and_bin() {
    let database = testkit::sqlite_database().await;
    let db = database.db.clone();
    let app = App::new(db.clone(), Arc::new(SystemClock));
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
    support::user(&app, "courier", Role::CountyOperator, None, &[]).await;
    let station = support::station(&app, "白果村驿站").await;
    support::user(&app, "keeper", Role::StationKeeper, None, &[station]).await;
    let kiosk = app
        .create_kiosk(
            &testkit::admin(),
            &app::kiosks::KioskInput {
                code: "BG-KIOSK-001".into(),
                host_name: "白果村便利店".into(),
                scenario: "convenience_store".into(),
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
    let site = support::Site::serve(app.clone(), database).await;

    // Not paired: the screen says so and does nothing.
    let stranger = support::browser();
    let page = stranger
        .get(site.url("/kiosk"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("还没有配对"), "{page}");
    let refused = stranger
        .post(site.url("/kiosk/code"))
        .form(&[("phone", SENDER_PHONE), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);

    // The centre registers the devices and pairs the screen.
    let operator = site.sign_in("operator").await;
    let (status, _) = operator
        .post(&format!("/centre/kiosks/{}/devices", kiosk.id), &[])
        .await;
    assert_eq!(status, 303);
    let (_, page) = operator.get(&format!("/centre/kiosks/{}", kiosk.id)).await;
    for kind in ["主控", "电子秤", "投递箱", "摄像头", "标签打印机"] {
        assert!(page.contains(kind), "{kind} registered");
    }
    let (_, list) = operator.get("/centre/kiosks").await;
    assert!(list.contains("0/5"), "no device online yet");
    let keeper = site.sign_in("keeper").await;
    let (status, _) = keeper
        .post(&format!("/centre/kiosks/{}/screen", kiosk.id), &[])
        .await;
    assert_eq!(status, 303);
    assert!(
        keeper.get("/kiosk").await.1.contains("还没有配对"),
        "a keeper cannot pair a kiosk"
    );
    let (status, to) = operator
        .post(&format!("/centre/kiosks/{}/screen", kiosk.id), &[])
        .await;
    assert_eq!((status, to.as_str()), (303, "/kiosk"));
    let screen = operator.client;
    let get = |path: &str| {
        let client = screen.clone();
        let url = site.url(path);
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, _) = get("/centre/kiosks").await;
    assert_eq!(status, 303, "the screen is no staff session any more");

    // The sender signs in at the screen.
    let (_, page) = get("/kiosk").await;
    assert!(
        page.contains("BG-KIOSK-001") && page.contains("name=\"phone\""),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        let client = screen.clone();
        let url = site.url(path);
        let mut form = form;
        form.push(("csrf", csrf.clone()));
        async move {
            let response = client.post(url).form(&form).send().await.unwrap();
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string());
            (status, location.unwrap_or(response.text().await.unwrap()))
        }
    };
    let (status, page) = post("/kiosk/code", vec![("phone", SENDER_PHONE.into())]).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"code\""), "{page}");
    let code = texted_code(&app, SENDER_PHONE).await;
    // Signed in by hand here, to keep the session's token: finishing must
    // end it on the server, not only drop the cookie.
    let response = screen
        .post(site.url("/kiosk/verify"))
        .form(&[
            ("phone", SENDER_PHONE),
            ("code", code.as_str()),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let token = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find_map(|c| {
            c.strip_prefix("yz_kiosk_sender=")
                .map(|rest| rest.split(';').next().unwrap().to_string())
        })
        .expect("a kiosk sender cookie");
    assert!(app.sender_session(&token).await.is_ok());
    let (_, page) = get("/kiosk").await;
    assert!(page.contains("kiosk-identity"), "first order: real name");
    let (status, _) = post(
        "/kiosk/identity",
        vec![
            ("kind", "resident_id".into()),
            ("name", "张三".into()),
            ("number", "11010519491231002X".into()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = get("/kiosk").await;
    assert!(page.contains("kiosk-addresses"), "{page}");
    let (status, to) = post(
        "/kiosk/orders",
        vec![
            (
                "from_text",
                "张三 13912340077 四川省成都市彭州市丽春镇白果村3组12号".into(),
            ),
            (
                "to_text",
                "李四 13800001111 浙江省金华市磐安县安文街道新城路8号".into(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 303, "{to}");
    let order_id: i64 = to.trim_start_matches("/kiosk/orders/").parse().unwrap();
    let order_path = format!("/kiosk/orders/{order_id}");
    assert_eq!(
        get(&format!("/kiosk/orders/{}", order_id + 999)).await.0,
        404
    );

    // No settled weight yet: the inspection waits for the scale.
    let (status, page) = post(
        &format!("{order_path}/contents"),
        vec![("category", "clothing".into())],
    )
    .await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("秤上还没有稳定的读数"), "{page}");
    let scale = db
        .kiosk_device(kiosk.id, "scale", "main")
        .await
        .unwrap()
        .unwrap();
    app::kiosk_devices::record_weight(&*db, &scale, 812, true, app.now())
        .await
        .unwrap();
    let (_, page) = get(&order_path).await;
    assert!(page.contains("<span id=\"grams\">812</span>"), "{page}");

    // The camera: asked by a signed command, it posts the JPEG back.
    let (status, to) = post(&format!("{order_path}/photo"), vec![]).await;
    assert_eq!(status, 303);
    let capture = query_value(&to, "capture");
    let (_, page) = get(&to).await;
    assert!(
        page.contains("正在拍照") && page.contains("http-equiv=\"refresh\""),
        "{page}"
    );
    let jpeg = [
        0xFFu8, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 0xFF, 0xD9,
    ];
    let key = app::kiosk_devices::device_key(&app.keys.devices, "BG-KIOSK-001", "camera", "main");
    let upload = |signature: String| {
        let url = site.url("/kiosk/device/photo");
        let capture = capture.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .header("x-yizhan-command", capture)
                .header("x-yizhan-signature", signature)
                .body(jpeg.to_vec())
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        upload("0".repeat(64)).await.status().as_u16(),
        401,
        "a forged photo"
    );
    let posted = upload(app::kiosk_devices::photo_signature(&key, &capture, &jpeg)).await;
    assert_eq!(posted.status().as_u16(), 201);
    let photo = posted.json::<serde_json::Value>().await.unwrap()["photo"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, page) = get(&to).await;
    assert!(page.contains(&photo), "{page}");

    // Inspection with both, the quote, and payment.
    let (status, _) = post(
        &format!("{order_path}/contents"),
        vec![
            ("category", "clothing".into()),
            ("capture", capture.clone()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let order = db.send_order(order_id).await.unwrap().unwrap();
    assert_eq!(order.weight_grams, Some(812), "the scale's weight");
    assert_eq!(order.kiosk_id, Some(kiosk.id));
    let inspections = db.order_inspections(order_id).await.unwrap();
    assert_eq!(
        inspections.last().unwrap().package_photo.as_deref(),
        Some(photo.as_str())
    );
    let (_, page) = get(&order_path).await;
    assert!(
        page.contains("kiosk-submit") && page.contains("id=\"price\""),
        "{page}"
    );
    let (status, _) = post(&format!("{order_path}/submit"), vec![]).await;
    assert_eq!(status, 303);
    let (_, page) = get(&order_path).await;
    assert!(page.contains("<svg"), "the QR code");
    let outcome = app
        .payment_callback(
            attribute(&page, "data-body").as_bytes(),
            &attribute(&page, "data-signature"),
        )
        .await
        .unwrap();
    assert_eq!(outcome, app::sending::CallbackOutcome::Accepted);
    let (_, page) = get(&order_path).await;
    let waybill = db
        .send_order(order_id)
        .await
        .unwrap()
        .unwrap()
        .waybill
        .unwrap();
    assert!(
        page.contains(&waybill) && page.contains("print-label"),
        "{page}"
    );

    // The printer: out of paper, then printed.
    let (_, to) = post(&format!("{order_path}/print"), vec![]).await;
    let first = query_value(&to, "print");
    assert!(get(&to).await.1.contains("正在打印"));
    db.finish_device_command(
        &first,
        DeviceCommandStatus::Failed,
        Some("failed: hardware: out_of_paper"),
        app.now(),
    )
    .await
    .unwrap();
    let (_, page) = get(&to).await;
    assert!(
        page.contains("print-failed") && page.contains("out_of_paper"),
        "{page}"
    );
    let (_, to) = post(&format!("{order_path}/print"), vec![]).await;
    let second = query_value(&to, "print");
    assert_ne!(first, second);
    db.finish_device_command(&second, DeviceCommandStatus::Done, Some("done"), app.now())
        .await
        .unwrap();
    let (_, page) = get(&to).await;
    assert!(
        page.contains("id=\"printed\"") && page.contains("id=\"drop-now\""),
        "{page}"
    );
    assert!(
        page.contains("http-equiv=\"refresh\""),
        "it waits for the bin"
    );

    // The bin reports the parcel by the waybill on its label.
    let bin = db
        .kiosk_device(kiosk.id, "bin", "main")
        .await
        .unwrap()
        .unwrap();
    let matched =
        app::kiosk_devices::record_drop(&*db, &bin, &kiosk, &waybill, Some(30), app.now())
            .await
            .unwrap();
    assert_eq!(matched, Some(order_id));
    let (_, page) = get(&to).await;
    assert!(
        page.contains("id=\"dropped\"") && !page.contains("http-equiv"),
        "{page}"
    );
    let (status, _) = post("/kiosk/done", vec![]).await;
    assert_eq!(status, 303);
    assert!(
        app.sender_session(&token).await.is_err(),
        "the session ended on the server"
    );
    assert!(
        get("/kiosk").await.1.contains("name=\"phone\""),
        "the sender is signed out"
    );
    assert_eq!(
        get(&order_path).await.0,
        401,
        "and their order is theirs again"
    );

    // A full bin: the centre and the courier see it.
    let bin = db
        .kiosk_device(kiosk.id, "bin", "main")
        .await
        .unwrap()
        .unwrap();
    app::kiosk_devices::record_state(
        &*db,
        &bin,
        &kiosk,
        "yizhan/v1/kiosks/BG-KIOSK-001/bin/main/state",
        &app::kiosk_devices::KioskSeen {
            online: true,
            fill_pct: Some(100),
            full: Some(true),
            ..Default::default()
        },
        app.now(),
    )
    .await
    .unwrap();
    let courier = site.sign_in("courier").await;
    let (_, page) = courier.get("/centre/collect").await;
    assert!(
        page.contains("kiosk-alerts") && page.contains("BG-KIOSK-001") && page.contains("已满"),
        "{page}"
    );
    let (_, page) = courier.get("/centre/kiosks").await;
    assert!(
        page.contains("kiosk-alerts") && page.contains("1/5"),
        "{page}"
    );
}

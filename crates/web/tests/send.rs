//! A sending order's privacy label under `/centre` (issue 14): county staff
//! open the printable page of a paid order and its ZPL; names and phones
//! are masked on both, never whole; a keeper is sent home.

mod support;

use app::App;
use app::ports::SystemClock;
use app::sending::OrderContents;
use domain::sending::{Evidence, OrderState, Payer, Platform};
use domain::{Carrier, Role};
use std::sync::Arc;

const SENDER_PHONE: &str = "13912340000";
const RECIPIENT_PHONE: &str = "13800001111";

/// An order paid by a platform's return code (accepted at once).
async fn paid_order(app: &App) -> (i64, String) {
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
    let sender = testkit::verified_sender(app, SENDER_PHONE).await;
    let from = app
        .confirm_party("张三", SENDER_PHONE, "510182", "丽春镇白果村3组12号")
        .unwrap();
    let to = app
        .confirm_party("李四", RECIPIENT_PHONE, "330727", "安文街道新城路8号")
        .unwrap();
    let order_id = app
        .create_send_order(&sender, "phone", from, to)
        .await
        .unwrap()
        .id;
    app.set_send_contents(
        &sender,
        order_id,
        OrderContents {
            category: "ecommerce_return".into(),
            evidence: Evidence::default(),
            weight_grams: 600,
            size_cm: None,
        },
    )
    .await
    .unwrap();
    let accepted = app
        .submit_send_order(
            &sender,
            order_id,
            Payer::platform(Platform::Taobao, "TB-RET-123456").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(accepted.order.state, OrderState::Accepted);
    (order_id, accepted.order.waybill.unwrap())
}

#[tokio::test]
async fn staff_print_a_paid_orders_label_masked_and_its_zpl() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    let s1 = support::station(&app, "甲村驿站").await;
    support::user(&app, "operator", Role::CountyOperator, None, &[]).await;
    support::user(&app, "keeper", Role::StationKeeper, None, &[s1]).await;
    let (order_id, waybill) = paid_order(&app).await;
    let site = support::Site::serve(app, database).await;

    let operator = site.sign_in("operator").await;
    let (status, html) = operator
        .get(&format!("/centre/send/orders/{order_id}/label"))
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("@page { size: 76mm 130mm"), "{html}");
    assert!(html.contains(&waybill), "the waybill is printed");
    assert!(
        html.contains("<svg class=\"barcode\""),
        "a Code 128 barcode"
    );
    assert!(html.contains("138****1111") && html.contains("139****0000"));
    assert!(html.contains("李*") && html.contains("张*"));
    for whole in [RECIPIENT_PHONE, SENDER_PHONE, "李四", "张三"] {
        assert!(!html.contains(whole), "{whole} is on the label page");
    }

    let (status, zpl) = operator
        .get_bytes(&format!("/centre/send/orders/{order_id}/label.zpl"))
        .await;
    assert_eq!(status, 200);
    let zpl = String::from_utf8(zpl).unwrap();
    assert!(zpl.starts_with("^XA"), "{zpl}");
    assert!(zpl.contains(&waybill) && zpl.contains("138****1111"));
    for whole in [RECIPIENT_PHONE, SENDER_PHONE] {
        assert!(!zpl.contains(whole), "{whole} is in the ZPL");
    }

    // The same label for a TSC printer (GB 18030) and as a PDF, both
    // linked from the label page; an unknown format is not found.
    assert!(
        html.contains("label.tspl") && html.contains("label.pdf"),
        "{html}"
    );
    let (status, tspl) = operator
        .get_bytes(&format!("/centre/send/orders/{order_id}/label.tspl"))
        .await;
    assert_eq!(status, 200);
    let (tspl, _, malformed) = encoding_rs::GB18030.decode(&tspl);
    assert!(!malformed);
    assert!(tspl.starts_with("SIZE 76 mm,130 mm"), "{tspl}");
    assert!(
        tspl.contains(&waybill) && tspl.contains("138****1111"),
        "{tspl}"
    );
    let (status, pdf) = operator
        .get_bytes(&format!("/centre/send/orders/{order_id}/label.pdf"))
        .await;
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF-"));
    for whole in [RECIPIENT_PHONE, SENDER_PHONE] {
        assert!(!tspl.contains(whole), "{whole} is in the TSPL");
    }
    let (status, _) = operator
        .get(&format!("/centre/send/orders/{order_id}/label.png"))
        .await;
    assert_eq!(status, 404);

    // Another order id is not found; a keeper is sent to their console.
    let (status, _) = operator
        .get(&format!("/centre/send/orders/{}/label", order_id + 1))
        .await;
    assert_eq!(status, 404);
    let keeper = site.sign_in("keeper").await;
    let (status, _) = keeper
        .get(&format!("/centre/send/orders/{order_id}/label"))
        .await;
    assert_ne!(status, 200);
}

//! `POST /api/payments/callback` (issue 14): public, the provider's
//! signature is the authority; a forged or unsigned callback is refused,
//! a repeat answers success and pays nothing twice.

use super::*;
use app::sending::{OrderContents, SenderRecord, SimulatedPayments};
use domain::sending::{Evidence, OrderState, Payer, PaymentStatus};

const SENDER_PHONE: &str = "13912340000";

/// An order awaiting payment and its payment's merchant order number and amount.
async fn order_awaiting_payment(app: &App) -> (SenderRecord, i64, String, domain::Fen) {
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
        .confirm_party("李四", "13800001111", "330727", "安文街道新城路8号")
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
            category: "clothing".into(),
            evidence: Evidence::default(),
            weight_grams: 800,
            size_cm: None,
        },
    )
    .await
    .unwrap();
    let payment = app
        .submit_send_order(&sender, order_id, Payer::Sender)
        .await
        .unwrap()
        .payment
        .unwrap();
    (sender, order_id, payment.merchant_order_no, payment.amount)
}

async fn post_callback(t: &TestApp, body: &[u8], signature: Option<&str>) -> (StatusCode, Value) {
    let mut request = t
        .client
        .post(format!("{}/api/payments/callback", t.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("X-Payment-Signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    openapi::check_answer("POST", "/api/payments/callback", status.as_u16(), &answer);
    (status, answer)
}

#[tokio::test]
async fn a_signed_callback_pays_once_and_a_forged_one_is_refused() {
    let t = spawn_app().await;
    let (sender, order_id, merchant_order_no, amount) = order_awaiting_payment(&t.app).await;
    let provider = SimulatedPayments::new(PAYMENT_KEY.to_vec());
    let (body, signature) = provider.pay(&merchant_order_no, amount, t.app.now());

    // Unsigned, forged, or signed with another key: refused, nothing paid.
    let other_key = SimulatedPayments::new(b"someone else".to_vec());
    let (_, forged) = other_key.pay(&merchant_order_no, amount, t.app.now());
    for signature in [None, Some("00ff"), Some("not hex"), Some(forged.as_str())] {
        let (status, answer) = post_callback(&t, &body, signature).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{signature:?}: {answer}");
        assert_eq!(
            answer["error"]["code"], "send_payment_signature",
            "{answer}"
        );
    }
    let order = t.app.send_order(&sender, order_id).await.unwrap();
    assert_eq!(order.state, OrderState::AwaitingPayment);

    // The real one accepts the order; its repeat answers success and changes nothing.
    let (status, answer) = post_callback(&t, &body, Some(&signature)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"outcome": "accepted"}));
    let (status, answer) = post_callback(&t, &body, Some(&signature)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"outcome": "repeat"}));

    let order = t.app.send_order(&sender, order_id).await.unwrap();
    assert_eq!(order.state, OrderState::Accepted);
    let payment = t
        .app
        .store
        .payment(&merchant_order_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Paid);
}

//! Sending end to end on SQLite and PostgreSQL (issue 14): a sender proves
//! their phone with a one-time code from the outbox, shows a document once,
//! fills in an order from two pasted texts, is refused a prohibited item
//! with its rule, pays through the simulated provider whose callbacks come
//! twice, late and out of order (one paid order, never two), and cancels
//! with a refund; the waybill pool hands numbers out in order and alerts
//! below a tenth; nothing personal is readable in a copy of the database.

use app::Code;
use app::ports::prelude::*;
use app::sending::{CallbackOutcome, OrderContents, SimulatedPayments};
use domain::sending::{DocumentKind, Evidence, Need, OrderState, Payer, PaymentStatus, Platform};
use domain::{Carrier, Phone};
use std::sync::Arc;
use testkit::*;

const SENDER_PHONE: &str = "13912345678";
const ID_NUMBER: &str = "11010519491231002X";

fn contents(category: &str, grams: u32) -> OrderContents {
    OrderContents {
        category: category.into(),
        evidence: Evidence::default(),
        weight_grams: grams,
        size_cm: None,
    }
}

/// A hundred EMS waybill numbers for the orders a test submits.
async fn ems_pool(h: &Harness) {
    h.app
        .add_waybill_range(
            &admin(),
            Carrier::Ems,
            "",
            1_100_000_000_000,
            1_100_000_000_099,
            13,
        )
        .await
        .unwrap();
}

async fn order_for(h: &Harness, sender: &app::sending::SenderRecord) -> i64 {
    let from = h
        .app
        .parse_party("张三 13912345678 四川省成都市彭州市丽春镇白果村3组12号")
        .unwrap();
    assert_eq!(from.name.as_deref(), Some("张三"));
    let division = from.division.clone().expect("a division");
    assert!(division.starts_with("510182"), "{division}");
    let from = h
        .app
        .confirm_party("张三", SENDER_PHONE, &division, &from.detail)
        .unwrap();
    let to = h
        .app
        .confirm_party("李四", "13800001111", "330727", "盘安县安文街道新城路8号")
        .unwrap();
    h.app
        .create_send_order(sender, "phone", from, to)
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn a_sender_pays_once_whatever_the_callbacks_do_and_cancelling_refunds() {
    for mut h in backends().await {
        let name = h.name();
        let provider = Arc::new(SimulatedPayments::new(b"test provider key".to_vec()));
        h.app.payments = provider.clone();
        ems_pool(&h).await;

        // A wrong code counts and fails; the right one opens a session.
        let phone = Phone::parse(SENDER_PHONE).unwrap();
        h.app.request_send_code(&phone).await.unwrap();
        let code = testkit::send_code_sent(&h.app, SENDER_PHONE).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert!(
            h.app
                .verify_send_code(&phone, wrong)
                .await
                .unwrap_err()
                .is(Code::SendCodeWrong)
        );
        let sign_in = h.app.verify_send_code(&phone, &code).await.unwrap();
        assert!(
            h.app.verify_send_code(&phone, &code).await.is_err(),
            "{name}: a code is spent once"
        );
        let sender = h.app.sender_session(&sign_in.token).await.unwrap();
        assert!(h.app.sender_session("nonsense").await.is_err());
        assert!(!sender.is_verified());

        let order_id = order_for(&h, &sender).await;

        // A prohibited item is refused with its rule, and the refusal is recorded.
        let refused = h
            .app
            .set_send_contents(&sender, order_id, contents("explosives", 500))
            .await
            .unwrap_err();
        assert!(refused.is(Code::SendProhibited));
        assert!(
            refused
                .message(app::Lang::Zh)
                .contains("禁止寄递物品管理规定"),
            "{refused}"
        );
        // Medicines need the prescription's photo.
        let needs = h
            .app
            .set_send_contents(&sender, order_id, contents("medicines", 500))
            .await
            .unwrap_err();
        assert!(needs.is(Code::SendEvidenceNeeded), "{needs}");
        let mut medicines = contents("medicines", 1500);
        // A photo is named by its upload's id, of this order only.
        medicines.evidence.document_photo = Some("photo:rx-1".into());
        let unknown = h
            .app
            .set_send_contents(&sender, order_id, medicines.clone())
            .await
            .unwrap_err();
        assert!(unknown.is(Code::SendPhotoUnknown), "{name}: {unknown}");
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[7u8; 32]);
        let photo = h
            .app
            .upload_send_photo(&sender, order_id, &png)
            .await
            .unwrap();
        medicines.evidence.document_photo = Some(photo);
        let quoted = h
            .app
            .set_send_contents(&sender, order_id, medicines)
            .await
            .unwrap();
        let price = quoted.price_fen.unwrap();
        assert!(price.0 > 0);
        let inspections = h.db.order_inspections(order_id).await.unwrap();
        let outcomes: Vec<&str> = inspections.iter().map(|i| i.outcome.as_str()).collect();
        assert_eq!(outcomes, ["refused", "refused", "accepted"], "{name}");
        assert!(inspections[0].rule.as_deref().unwrap().contains("爆炸物品"));

        // Unverified: cannot finish.
        assert!(
            h.app
                .submit_send_order(&sender, order_id, Payer::Sender)
                .await
                .unwrap_err()
                .is(Code::SendRealNameRequired)
        );
        assert!(
            h.app
                .verify_sender_identity(
                    &sender,
                    "张三",
                    DocumentKind::ResidentId,
                    "110105194912310021"
                )
                .await
                .unwrap_err()
                .is(Code::DocumentInvalid)
        );
        let verified = h
            .app
            .verify_sender_identity(&sender, "张三", DocumentKind::ResidentId, ID_NUMBER)
            .await
            .unwrap();
        assert_eq!(
            verified.document_masked.as_deref(),
            Some("11**************2X")
        );

        let started = h
            .app
            .submit_send_order(&sender, order_id, Payer::Sender)
            .await
            .unwrap();
        assert_eq!(started.order.state, OrderState::AwaitingPayment);
        assert_eq!(started.order.waybill.as_deref(), Some("1100000000000"));
        let first = started.payment.unwrap();
        assert_eq!(first.amount, price);
        // The sender lost the code and asked for another; both get paid.
        let second = h.app.start_payment(&sender, order_id).await.unwrap();
        let now = h.clock.now();
        let (body2, sig2) = provider.pay(&second.merchant_order_no, price, now);
        let (body1, sig1) = provider.pay(&first.merchant_order_no, price, now);
        // A forged callback is refused.
        assert!(
            h.app
                .payment_callback(&body1, "00ff")
                .await
                .unwrap_err()
                .is(Code::SendPaymentSignature)
        );
        // Out of order: the second attempt's callback arrives first.
        assert_eq!(
            h.app.payment_callback(&body2, &sig2).await.unwrap(),
            CallbackOutcome::Accepted
        );
        assert_eq!(
            h.app.payment_callback(&body2, &sig2).await.unwrap(),
            CallbackOutcome::Repeat
        );
        assert_eq!(
            h.app.payment_callback(&body1, &sig1).await.unwrap(),
            CallbackOutcome::Refunded
        );
        assert_eq!(
            h.app.payment_callback(&body1, &sig1).await.unwrap(),
            CallbackOutcome::Repeat
        );
        let order = h.app.send_order(&sender, order_id).await.unwrap();
        assert_eq!(order.state, OrderState::Accepted);
        let statuses = [
            h.db.payment(&first.merchant_order_no)
                .await
                .unwrap()
                .unwrap()
                .status,
            h.db.payment(&second.merchant_order_no)
                .await
                .unwrap()
                .unwrap()
                .status,
        ];
        assert_eq!(
            statuses,
            [PaymentStatus::Refunded, PaymentStatus::Paid],
            "{name}"
        );
        // The paid order is sending revenue once, however many callbacks.
        let price = order.price_fen.unwrap();
        assert_eq!(sending_revenue(&h).await, price.0, "{name}");

        // Cancelling before collection refunds the payment that paid.
        let cancelled = h.app.cancel_send_order(&sender, order_id).await.unwrap();
        assert_eq!(cancelled.state, OrderState::Cancelled);
        assert_eq!(
            h.db.payment(&second.merchant_order_no)
                .await
                .unwrap()
                .unwrap()
                .status,
            PaymentStatus::Refunded
        );
        assert_eq!(provider.refunds().len(), 2, "{name}");
        // The refund took the revenue back, by a reversing transfer.
        assert_eq!(sending_revenue(&h).await, 0, "{name}");
        let reversal =
            h.db.transfer(&format!("send-refund:{}", second.merchant_order_no))
                .await
                .unwrap()
                .expect("a reversing transfer");
        assert_eq!(reversal.amount, price, "{name}");
        assert_eq!(
            h.app.check_ledger(&admin()).await.unwrap().n_problems,
            0,
            "{name}"
        );
        // A late callback for a cancelled order is refunded too.
        let third_order = order_for(&h, &sender).await;
        h.app
            .set_send_contents(&sender, third_order, contents("clothing", 800))
            .await
            .unwrap();
        let late = h
            .app
            .submit_send_order(&sender, third_order, Payer::Sender)
            .await
            .unwrap()
            .payment
            .unwrap();
        h.app.cancel_send_order(&sender, third_order).await.unwrap();
        let (body, sig) = provider.pay(&late.merchant_order_no, late.amount, now);
        assert_eq!(
            h.app.payment_callback(&body, &sig).await.unwrap(),
            CallbackOutcome::Refunded
        );

        // Another sender sees none of it.
        let other = testkit::sender_signed_in(&h.app, "13700002222").await;
        assert!(h.app.send_order(&other, order_id).await.is_err());
        assert!(h.app.cancel_send_order(&other, third_order).await.is_err());

        // A platform's return code accepts at once.
        let prepaid = order_for(&h, &sender).await;
        h.app
            .set_send_contents(&sender, prepaid, contents("ecommerce_return", 600))
            .await
            .unwrap();
        let accepted = h
            .app
            .submit_send_order(
                &sender,
                prepaid,
                Payer::platform(Platform::Taobao, "TB-RET-123456").unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(accepted.order.state, OrderState::Accepted);
        assert!(accepted.payment.is_none());
        assert_eq!(accepted.order.payer, "taobao");

        // The privacy label: masked names and phones, the waybill, as ZPL too.
        let label = h.app.send_label(&sender, prepaid).await.unwrap();
        assert_eq!(
            (label.to_name.as_str(), label.to_phone.as_str()),
            ("李*", "138****1111")
        );
        assert_eq!(label.from_name, "张*");
        assert_eq!(Some(label.waybill.clone()), accepted.order.waybill);
        let zpl = app::sending::label_zpl(&label);
        assert!(
            zpl.contains(&label.waybill)
                && !zpl.contains(SENDER_PHONE)
                && !zpl.contains("13800001111")
        );
        assert!(
            h.app
                .send_label(&sender, third_order)
                .await
                .unwrap_err()
                .is(Code::SendOrderState),
            "{name}: a cancelled order has no label"
        );

        // Nothing personal readable in a copy of the database.
        let values = h.db.text_values().await.unwrap();
        for secret in [
            SENDER_PHONE,
            "13800001111",
            ID_NUMBER,
            "张三",
            "李四",
            "白果村3组",
        ] {
            assert!(
                !values.iter().any(|(_, _, v)| v.contains(secret)),
                "{name}: {secret} is readable in {:?}",
                values
                    .iter()
                    .find(|(_, _, v)| v.contains(secret))
                    .map(|(t, c, _)| (t, c))
            );
        }
        let book = h.app.send_address_book(&sender).await.unwrap();
        assert!(book.iter().any(|entry| entry.party.name == "李四"));
        h.cleanup().await;
    }
}

#[tokio::test]
async fn the_waybill_pool_hands_out_in_order_alerts_below_a_tenth_and_refuses_when_empty() {
    for h in backends().await {
        let name = h.name();
        h.app
            .add_waybill_range(
                &admin(),
                Carrier::Ems,
                "",
                1_100_000_000_000,
                1_100_000_000_009,
                13,
            )
            .await
            .unwrap();
        assert!(
            h.app
                .add_waybill_range(
                    &admin(),
                    Carrier::Ems,
                    "",
                    1_100_000_000_005,
                    1_100_000_000_020,
                    13
                )
                .await
                .unwrap_err()
                .is(Code::SendRangeOverlaps)
        );
        assert!(
            h.app
                .add_waybill_range(&keeper_of(1), Carrier::Ems, "", 1, 2, 13)
                .await
                .is_err()
        );
        let sender = testkit::verified_sender(&h.app, SENDER_PHONE).await;
        let mut waybills = Vec::new();
        for _ in 0..10 {
            let order_id = order_for(&h, &sender).await;
            h.app
                .set_send_contents(&sender, order_id, contents("books", 900))
                .await
                .unwrap();
            let started = h
                .app
                .submit_send_order(&sender, order_id, Payer::Sender)
                .await
                .unwrap();
            waybills.push(started.order.waybill.unwrap());
        }
        let expected: Vec<String> = (0..10).map(|n| format!("11000000000{n:02}")).collect();
        assert_eq!(waybills, expected, "{name}");
        let alerts = h.app.send_alerts(&admin()).await.unwrap();
        assert_eq!(alerts.len(), 1, "{name}: one alert below a tenth");
        let order_id = order_for(&h, &sender).await;
        h.app
            .set_send_contents(&sender, order_id, contents("books", 900))
            .await
            .unwrap();
        assert!(
            h.app
                .submit_send_order(&sender, order_id, Payer::Sender)
                .await
                .unwrap_err()
                .is(Code::SendPoolEmpty)
        );
        h.cleanup().await;
    }
}

#[tokio::test]
async fn codes_are_limited_per_hour_and_liquids_need_their_declaration() {
    for h in backends().await {
        let phone = Phone::parse("13600003333").unwrap();
        for _ in 0..5 {
            h.app.request_send_code(&phone).await.unwrap();
        }
        assert!(
            h.app
                .request_send_code(&phone)
                .await
                .unwrap_err()
                .is(Code::SendCodeLimit)
        );
        h.clock.advance(chrono::Duration::minutes(61));
        h.app.request_send_code(&phone).await.unwrap();

        let sender = testkit::sender_signed_in(&h.app, SENDER_PHONE).await;
        let order_id = order_for(&h, &sender).await;
        assert!(
            h.app
                .set_send_contents(&sender, order_id, contents("liquids", 500))
                .await
                .unwrap_err()
                .is(Code::SendEvidenceNeeded)
        );
        let mut liquids = contents("liquids", 500);
        liquids.evidence.declarations = vec![Need::LiquidDeclaration];
        let order = h
            .app
            .set_send_contents(&sender, order_id, liquids)
            .await
            .unwrap();
        let quote = order.quote.unwrap();
        assert!(quote["surcharges"].to_string().contains("liquid_packing"));
        h.cleanup().await;
    }
}

/// The balance of the county's sending-revenue account, in fen.
async fn sending_revenue(h: &Harness) -> i64 {
    use domain::ledger::{Account, AccountKind};
    h.db.ledger_account(&Account::of(AccountKind::SendingRevenue))
        .await
        .unwrap()
        .map_or(0, |account| account.balance.0)
}

/// Branch send-flow on both databases: the centre's list filters (NULL
/// filters in one statement), the sealed inspection photo, the prepaid
/// order's `send.accepted` in the carrier's webhook outbox, and public
/// tracking by the order's waybill.
#[tokio::test]
async fn the_centre_lists_filters_and_tracks_sending_orders_and_photos_are_sealed() {
    for h in backends().await {
        let name = h.name();
        ems_pool(&h).await;
        let hook = h
            .app
            .create_webhook(&admin(), Carrier::Ems, "https://ems.example/events", &[])
            .await
            .unwrap();
        let sender = testkit::verified_sender(&h.app, SENDER_PHONE).await;
        let draft = order_for(&h, &sender).await;
        let prepaid = order_for(&h, &sender).await;
        // A PNG's signature and some bytes: sealed, never readable.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(b"PRESCRIPTION-OF-ZHANG-SAN");
        let photo = h.app.upload_send_photo(&sender, draft, &png).await.unwrap();
        assert!(photo.starts_with("photo:"), "{name}: {photo}");
        assert!(
            h.app
                .upload_send_photo(&sender, draft, b"GIF89a not ours")
                .await
                .unwrap_err()
                .is(Code::SendPhotoInvalid)
        );
        h.app
            .set_send_contents(&sender, prepaid, contents("ecommerce_return", 600))
            .await
            .unwrap();
        let accepted = h
            .app
            .submit_send_order(
                &sender,
                prepaid,
                Payer::platform(Platform::Taobao, "TB-RET-654321").unwrap(),
            )
            .await
            .unwrap();
        let waybill = accepted.order.waybill.clone().unwrap();

        let list = |state, carrier| {
            let app = h.app.clone();
            async move {
                app.send_orders_for_staff(&admin(), state, None, carrier, None, None)
                    .await
                    .unwrap()
                    .iter()
                    .map(|o| o.id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(list(None, None).await, [prepaid, draft], "{name}");
        assert_eq!(
            list(Some(OrderState::Accepted), None).await,
            [prepaid],
            "{name}"
        );
        assert_eq!(
            list(Some(OrderState::Draft), Some(Carrier::Ems)).await,
            [draft]
        );
        assert!(list(None, Some(Carrier::Zto)).await.is_empty(), "{name}");
        let today = domain::shanghai_day(h.app.now());
        let on = |day| {
            let app = h.app.clone();
            async move {
                app.send_orders_for_staff(&admin(), None, Some(day), None, None, None)
                    .await
                    .unwrap()
                    .len()
            }
        };
        assert_eq!(on(today).await, 2, "{name}");
        assert_eq!(on(today.pred_opt().unwrap()).await, 0, "{name}");
        let keeper = domain::Principal {
            user_id: 9,
            username: "keeper".into(),
            role: domain::Role::StationKeeper,
            station_ids: vec![1],
            carrier: None,
        };
        assert!(
            h.app
                .send_orders_for_staff(&keeper, None, None, None, None, None)
                .await
                .is_err()
        );

        // The carrier hears the acceptance; tracking shows it, no person.
        let deliveries = h
            .app
            .webhook_deliveries(
                &admin(),
                hook.subscription.id,
                app::webhooks::Page {
                    after_id: None,
                    limit: 50,
                },
            )
            .await
            .unwrap();
        assert!(
            deliveries.iter().any(|d| d.event_kind == "send.accepted"),
            "{name}: {deliveries:?}"
        );
        let tracked = serde_json::to_string(&h.app.track(&waybill, None).await.unwrap()).unwrap();
        assert!(tracked.contains("send.accepted"), "{name}: {tracked}");
        assert!(!tracked.contains("张三") && !tracked.contains(SENDER_PHONE));

        let values = h.db.text_values().await.unwrap();
        assert!(
            !values
                .iter()
                .any(|(_, _, v)| v.contains("iVBORw0KGgo") || v.contains("PRESCRIPTION")),
            "{name}: the photo is readable"
        );
        h.cleanup().await;
    }
}

/// A provider whose refunds fail until it is told to take them: the
/// shape of a provider that is down for a while.
struct FlakyRefunds {
    inner: SimulatedPayments,
    accept: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl app::sending::PaymentProvider for FlakyRefunds {
    fn name(&self) -> &'static str {
        "flaky"
    }
    async fn create_qr(
        &self,
        request: &app::ports::payments::PaymentRequest,
    ) -> Result<app::ports::payments::QrPayment, String> {
        self.inner.create_qr(request).await
    }
    async fn refund(&self, merchant_order_no: &str, amount: domain::Fen) -> Result<(), String> {
        if self.accept.load(std::sync::atomic::Ordering::SeqCst) {
            self.inner.refund(merchant_order_no, amount).await
        } else {
            Err("provider unavailable".into())
        }
    }
    fn verify_callback(
        &self,
        body: &[u8],
        signature: &str,
    ) -> Result<app::sending::PaymentNotice, String> {
        self.inner.verify_callback(body, signature)
    }
}

/// Session 10: a refund the provider fails stays owed and counted; the
/// refund job gives back what was paid (a wrong amount as paid, not as
/// asked) once the provider answers, and never twice.
#[tokio::test]
async fn refunds_the_provider_failed_are_retried_until_made_and_made_once() {
    for mut h in backends().await {
        let name = h.name();
        let provider = Arc::new(FlakyRefunds {
            inner: SimulatedPayments::new(b"test provider key".to_vec()),
            accept: std::sync::atomic::AtomicBool::new(false),
        });
        h.app.payments = provider.clone();
        ems_pool(&h).await;
        let sender = testkit::verified_sender(&h.app, SENDER_PHONE).await;
        // Order A is paid, then cancelled: its refund fails.
        let a = order_for(&h, &sender).await;
        h.app
            .set_send_contents(&sender, a, contents("clothing", 800))
            .await
            .unwrap();
        let pay_a = h
            .app
            .submit_send_order(&sender, a, Payer::Sender)
            .await
            .unwrap()
            .payment
            .unwrap();
        let (body, signature) =
            provider
                .inner
                .pay(&pay_a.merchant_order_no, pay_a.amount, h.app.now());
        assert_eq!(
            h.app.payment_callback(&body, &signature).await.unwrap(),
            CallbackOutcome::Accepted
        );
        h.app.cancel_send_order(&sender, a).await.unwrap();
        // Order B is paid with the wrong amount: refunded as paid.
        let b = order_for(&h, &sender).await;
        h.app
            .set_send_contents(&sender, b, contents("clothing", 800))
            .await
            .unwrap();
        let pay_b = h
            .app
            .submit_send_order(&sender, b, Payer::Sender)
            .await
            .unwrap()
            .payment
            .unwrap();
        let wrong = domain::Fen(pay_b.amount.0 - 1);
        let (body, signature) = provider
            .inner
            .pay(&pay_b.merchant_order_no, wrong, h.app.now());
        assert_eq!(
            h.app.payment_callback(&body, &signature).await.unwrap(),
            CallbackOutcome::Refunded,
            "{name}"
        );
        let status = |merchant: String| {
            let app = h.app.clone();
            async move { app.store.payment(&merchant).await.unwrap().unwrap().status }
        };
        assert_eq!(
            status(pay_a.merchant_order_no.clone()).await,
            PaymentStatus::RefundRequested,
            "{name}"
        );
        // While the provider is down the job tries and counts, nothing more.
        let run = h.app.retry_refunds_once(10).await.unwrap();
        assert_eq!((run.tried, run.refunded), (2, 0), "{name}");
        assert!(provider.inner.refunds().is_empty());
        // Back up: both are made, each for what is owed, and only once.
        provider
            .accept
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let run = h.app.retry_refunds_once(10).await.unwrap();
        assert_eq!((run.tried, run.refunded), (2, 2), "{name}");
        let mut refunds = provider.inner.refunds();
        refunds.sort();
        let mut expected = vec![
            (pay_a.merchant_order_no.clone(), pay_a.amount),
            (pay_b.merchant_order_no.clone(), wrong),
        ];
        expected.sort();
        assert_eq!(refunds, expected, "{name}");
        assert_eq!(
            status(pay_b.merchant_order_no.clone()).await,
            PaymentStatus::Refunded,
            "{name}"
        );
        let run = h.app.retry_refunds_once(10).await.unwrap();
        assert_eq!(run.tried, 0, "{name}");
    }
}

/// Session 10: senders' data ages out on both databases — one-time codes
/// and sessions a month after they expired, an inspection's photos half a
/// year after their order was collected or cancelled (an open order keeps
/// its own), the address book a year after its last use.
#[tokio::test]
async fn retention_erases_senders_codes_sessions_photos_and_address_book_by_age() {
    for h in backends().await {
        let name = h.name();
        let sender = testkit::verified_sender(&h.app, SENDER_PHONE).await;
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[7u8; 32]);
        let closed = order_for(&h, &sender).await;
        h.app
            .upload_send_photo(&sender, closed, &png)
            .await
            .unwrap();
        h.app.cancel_send_order(&sender, closed).await.unwrap();
        let open = order_for(&h, &sender).await;
        let kept = h.app.upload_send_photo(&sender, open, &png).await.unwrap();
        let kept: i64 = kept.trim_start_matches("photo:").parse().unwrap();
        assert_eq!(
            h.app.send_address_book(&sender).await.unwrap().len(),
            2,
            "{name}"
        );
        let run = |days: i64| {
            let h = &h;
            async move {
                h.clock.advance(chrono::Duration::days(days));
                let report = h.app.run_retention().await.unwrap();
                let pruned = |kind: &str| {
                    report
                        .pruned
                        .iter()
                        .find(|(k, _)| *k == kind)
                        .map(|(_, n)| *n)
                        .unwrap()
                };
                [
                    pruned("send_codes"),
                    pruned("sender_sessions"),
                    pruned("send_photos"),
                    pruned("send_addresses"),
                ]
            }
        };
        // Within every period nothing goes.
        assert_eq!(run(29).await, [0, 0, 0, 0], "{name}");
        // A month past expiry: the code and the session.
        assert_eq!(run(3).await, [1, 1, 0, 0], "{name}");
        // Half a year after the cancel: the closed order's photo only.
        assert_eq!(run(150).await, [0, 0, 1, 0], "{name}");
        assert_eq!(
            h.db.send_photo_order(kept).await.unwrap(),
            Some(open),
            "{name}: the open order keeps its photo"
        );
        // A year unused: the address book.
        assert_eq!(run(190).await, [0, 0, 0, 2], "{name}");
        assert!(h.app.send_address_book(&sender).await.unwrap().is_empty());
    }
}

//! Paying for an order: submission with its QR code, the provider's
//! callback (twice, late or out of order: one paid order, never two), and
//! cancellation with its refunds.

use super::orders::state_refusal;
use super::*;
use crate::ports::payments::PaymentRequest;
use crate::ports::sending::{OrderEvent, OrderRecord, PaymentRecord};
use domain::sending::order::{PaidCallback, on_paid_callback};
use domain::sending::{OrderAction, OrderState, Payer, PaymentStatus};
use serde::Serialize;

/// A submitted order and, when the sender pays, the payment to make.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentStarted {
    pub order: OrderRecord,
    pub payment: Option<PaymentRecord>,
}

/// What a run of the refund job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RefundRun {
    pub tried: u32,
    pub refunded: u32,
}

/// What a callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackOutcome {
    /// The order is paid and accepted.
    Accepted,
    /// A repeat of a callback already handled.
    Repeat,
    /// The money goes back (order already paid, cancelled, or a wrong amount).
    Refunded,
}

impl App {
    /// Submits a quoted order. With a platform's return code it is accepted
    /// at once; otherwise a payment is started and its QR content returned.
    pub async fn submit_send_order(
        &self,
        sender: &SenderRecord,
        order_id: i64,
        payer: Payer,
    ) -> AppResult<PaymentStarted> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut order = tx
            .order_for_update(order_id)
            .await?
            .filter(|order| order.sender_id == sender.id)
            .ok_or(AppError::NotFound("send order"))?;
        self.submit_in(&mut *tx, sender, &mut order, &payer, now)
            .await?;
        tx.commit().await?;
        let payment = match payer {
            Payer::Sender => Some(self.start_payment(sender, order_id).await?),
            Payer::Platform { .. } => None,
        };
        Ok(PaymentStarted { order, payment })
    }

    /// A new QR payment for an order waiting for payment (the first, or
    /// another when the sender lost the code). Each has its own merchant
    /// order number; whichever is paid first pays the order.
    pub async fn start_payment(
        &self,
        sender: &SenderRecord,
        order_id: i64,
    ) -> AppResult<PaymentRecord> {
        let order = self.send_order(sender, order_id).await?;
        if order.state != OrderState::AwaitingPayment {
            return Err(state_refusal(order.state, "paid"));
        }
        let amount = order
            .price_fen
            .ok_or_else(|| AppError::new(Code::SendOrderIncomplete))?;
        let attempt = self.random.below(1_000_000_000);
        let merchant_order_no = format!("YZS{}-{attempt:09}", order.id);
        let qr = self
            .payments
            .create_qr(&PaymentRequest {
                merchant_order_no: merchant_order_no.clone(),
                amount,
                description: format!("寄件 {}", order.waybill.as_deref().unwrap_or_default()),
            })
            .await
            .map_err(|error| AppError::new(Code::SendPaymentUnavailable).with_detail(error))?;
        let mut tx = self.store.begin().await?;
        let payment = tx
            .insert_payment(
                order.id,
                &merchant_order_no,
                amount,
                &qr.qr_content,
                self.now(),
            )
            .await?;
        tx.commit().await?;
        Ok(payment)
    }

    /// The sender's view of one of their payments.
    pub async fn send_payment(
        &self,
        sender: &SenderRecord,
        merchant_order_no: &str,
    ) -> AppResult<PaymentRecord> {
        let payment = self
            .store
            .payment(merchant_order_no)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        self.send_order(sender, payment.order_id)
            .await
            .map_err(|_| AppError::NotFound("payment"))?;
        Ok(payment)
    }

    /// The provider's signed callback. Public: the signature is the
    /// authority. Whatever order callbacks come in, an order is paid once
    /// and any other payment of it is refunded.
    pub async fn payment_callback(
        &self,
        body: &[u8],
        signature: &str,
    ) -> AppResult<CallbackOutcome> {
        let notice = self
            .payments
            .verify_callback(body, signature)
            .map_err(|error| AppError::new(Code::SendPaymentSignature).with_detail(error))?;
        if notice.trade_state != "SUCCESS" {
            return Ok(CallbackOutcome::Repeat);
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let payment = tx
            .payment_for_update(&notice.merchant_order_no)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        let mut order = tx
            .order_for_update(payment.order_id)
            .await?
            .ok_or(AppError::NotFound("send order"))?;
        let matches = notice.amount_fen == payment.amount.0
            && order.price_fen.is_some_and(|price| price == payment.amount);
        let decision = on_paid_callback(order.state, payment.status, matches);
        let outcome = match decision {
            PaidCallback::Repeat => CallbackOutcome::Repeat,
            PaidCallback::AcceptOrder => {
                if !tx
                    .set_payment_status(
                        payment.id,
                        PaymentStatus::Pending,
                        PaymentStatus::Paid,
                        Some(&notice.transaction_id),
                        now,
                    )
                    .await?
                {
                    return Err(AppError::Contended("payment".into()));
                }
                let from = order.state;
                order.state = order
                    .state
                    .apply(OrderAction::Paid)
                    .map_err(|_| state_refusal(from, "paid"))?;
                order.accepted_at = Some(now);
                order.updated_at = now;
                order.version += 1;
                if !tx.update_order(&order).await? {
                    return Err(AppError::Contended("send order".into()));
                }
                tx.insert_order_event(&OrderEvent {
                    order_id: order.id,
                    kind: "paid".into(),
                    from_state: Some(from),
                    to_state: order.state,
                    at: now,
                    actor: format!("payments:{}", self.payments.name()),
                    details: serde_json::json!({
                        "merchant_order_no": payment.merchant_order_no,
                        "amount_fen": payment.amount.0,
                    }),
                })
                .await?;
                // The money is sending revenue from this moment, in the
                // same transaction as the order's acceptance (once: the
                // transfer id is the payment's).
                crate::ledger::post(&mut *tx, &revenue_of(&payment, now), now).await?;
                super::emit_send_event(&mut *tx, &order, super::SendEvent::Accepted, now).await?;
                CallbackOutcome::Accepted
            }
            PaidCallback::Refund => {
                tx.set_payment_status(
                    payment.id,
                    PaymentStatus::Pending,
                    PaymentStatus::RefundRequested,
                    Some(&notice.transaction_id),
                    now,
                )
                .await?;
                tx.set_refund_amount(payment.id, domain::Fen(notice.amount_fen))
                    .await?;
                CallbackOutcome::Refunded
            }
        };
        tx.commit().await?;
        if outcome == CallbackOutcome::Refunded {
            // The refund is asked for after the record of owing it commits;
            // a provider that fails leaves it `refund_requested` for a retry.
            let amount = domain::Fen(notice.amount_fen);
            self.refund(&payment, amount).await?;
        }
        tracing::info!(order = order.id, outcome = ?outcome, "payment callback");
        Ok(outcome)
    }

    /// Asks the provider to give a payment's money back; true when it did.
    /// A provider that fails leaves the payment `refund_requested` with one
    /// more attempt counted, for [`App::retry_refunds_once`].
    async fn refund(&self, payment: &PaymentRecord, amount: domain::Fen) -> AppResult<bool> {
        let answer = self
            .payments
            .refund(&payment.merchant_order_no, amount)
            .await;
        let mut tx = self.store.begin().await?;
        let refunded = match answer {
            Ok(()) => {
                tx.set_payment_status(
                    payment.id,
                    PaymentStatus::RefundRequested,
                    PaymentStatus::Refunded,
                    None,
                    self.now(),
                )
                .await?
            }
            Err(error) => {
                tracing::warn!(payment = payment.id, error = %error, "refund failed; it stays requested");
                tx.note_refund_attempt(payment.id).await?;
                false
            }
        };
        tx.commit().await?;
        Ok(refunded)
    }

    /// The refund job: asks the provider again for every refund still owed
    /// (at most `limit` a run, fewest attempts first, so one refund the
    /// provider keeps refusing does not hold the others back). The money
    /// given back is the amount kept when the refund became owed.
    pub async fn retry_refunds_once(&self, limit: u32) -> AppResult<RefundRun> {
        let mut run = RefundRun::default();
        for (payment, owed) in self.store.payments_awaiting_refund(limit).await? {
            run.tried += 1;
            if self.refund(&payment, owed).await? {
                run.refunded += 1;
                tracing::info!(payment = payment.id, amount = %owed, "refund made on retry");
            }
        }
        Ok(run)
    }

    /// Cancels an order before collection; a payment made is refunded.
    pub async fn cancel_send_order(
        &self,
        sender: &SenderRecord,
        order_id: i64,
    ) -> AppResult<OrderRecord> {
        self.cancel_in(
            order_id,
            Some(sender.id),
            &format!("sender:{}", sender.id),
            None,
        )
        .await
    }

    /// Cancels an order: the sender's own (`owner`), or any for county
    /// staff, whose cancel is audited with its reason.
    pub(super) async fn cancel_in(
        &self,
        order_id: i64,
        owner: Option<i64>,
        actor: &str,
        audited: Option<(&crate::audit::Actor, &str)>,
    ) -> AppResult<OrderRecord> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut order = tx
            .order_for_update(order_id)
            .await?
            .filter(|order| owner.is_none_or(|owner| order.sender_id == owner))
            .ok_or(AppError::NotFound("send order"))?;
        let from = order.state;
        order.state = order
            .state
            .apply(OrderAction::Cancel)
            .map_err(|_| state_refusal(from, "cancel"))?;
        order.cancelled_at = Some(now);
        order.updated_at = now;
        order.version += 1;
        if !tx.update_order(&order).await? {
            return Err(AppError::Contended("send order".into()));
        }
        let mut to_refund = Vec::new();
        for payment in tx.order_payments(order.id).await? {
            if payment.status == PaymentStatus::Paid
                && tx
                    .set_payment_status(
                        payment.id,
                        PaymentStatus::Paid,
                        PaymentStatus::RefundRequested,
                        None,
                        now,
                    )
                    .await?
            {
                to_refund.push(payment);
            }
        }
        // A refunded payment takes its revenue back with it.
        for payment in &to_refund {
            let revenue = revenue_of(payment, now);
            crate::ledger::post(
                &mut *tx,
                &revenue.reversal(
                    format!("send-refund:{}", payment.merchant_order_no),
                    format!("order {} cancelled", order.id),
                    now.timestamp_millis(),
                ),
                now,
            )
            .await?;
        }
        tx.insert_order_event(&OrderEvent {
            order_id: order.id,
            kind: "cancelled".into(),
            from_state: Some(from),
            to_state: order.state,
            at: now,
            actor: actor.to_string(),
            details: serde_json::json!({ "refunds": to_refund.len() }),
        })
        .await?;
        super::emit_send_event(&mut *tx, &order, super::SendEvent::Cancelled, now).await?;
        if let Some((who, reason)) = audited {
            crate::audit::record(
                &mut *tx,
                who,
                now,
                crate::audit::Act::SendOrderCancelled,
                crate::audit::Object::new("send_order", order.id),
                serde_json::json!({ "reason": reason, "from": from.code(), "refunds": to_refund.len() }),
            )
            .await?;
        }
        tx.commit().await?;
        for payment in &to_refund {
            self.refund(payment, payment.amount).await?;
        }
        Ok(order)
    }
}

/// The ledger transfer of a paid sending order: the money in the payment
/// provider's clearing account, earned as sending revenue. Its id is the
/// merchant order number, so a repeated callback posts nothing new.
fn revenue_of(
    payment: &PaymentRecord,
    at: chrono::DateTime<chrono::Utc>,
) -> domain::ledger::NewTransfer {
    use domain::ledger::{Account, AccountKind, NewTransfer, TransferKind};
    NewTransfer {
        id: format!("send:{}", payment.merchant_order_no),
        debit: Account::of(AccountKind::PaymentClearing),
        credit: Account::of(AccountKind::SendingRevenue),
        amount: payment.amount,
        kind: TransferKind::SendingRevenue,
        reference: format!("order {}", payment.order_id),
        parcel_id: None,
        reverses: None,
        at_ms: at.timestamp_millis(),
    }
}

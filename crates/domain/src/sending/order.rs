//! A sending order's life as a small state machine, who pays for it, and
//! what a payment provider's callback does to it. Pure: the use case reads
//! the order and its payments, asks here, and writes what it is told.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Being filled in: addresses, contents, inspection, weight and quote.
    Draft,
    /// Submitted with its price fixed; waiting for the payment.
    AwaitingPayment,
    /// Paid, or prepaid by a platform: it has its waybill number and label,
    /// and waits in the kiosk's bin or at the host shop.
    Accepted,
    /// Scanned out by the courier.
    Collected,
    /// Cancelled before collection; a payment made is refunded.
    Cancelled,
}

impl OrderState {
    pub const ALL: [OrderState; 5] = [
        OrderState::Draft,
        OrderState::AwaitingPayment,
        OrderState::Accepted,
        OrderState::Collected,
        OrderState::Cancelled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OrderState::Draft => "draft",
            OrderState::AwaitingPayment => "awaiting_payment",
            OrderState::Accepted => "accepted",
            OrderState::Collected => "collected",
            OrderState::Cancelled => "cancelled",
        }
    }

    pub fn parse(code: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            OrderState::Draft => "填写中",
            OrderState::AwaitingPayment => "待支付",
            OrderState::Accepted => "已受理，待揽收",
            OrderState::Collected => "已揽收",
            OrderState::Cancelled => "已取消",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            OrderState::Draft => "being filled in",
            OrderState::AwaitingPayment => "awaiting payment",
            OrderState::Accepted => "accepted, awaiting collection",
            OrderState::Collected => "collected",
            OrderState::Cancelled => "cancelled",
        }
    }

    /// What happens to the order on `action`, or why it cannot.
    pub fn apply(self, action: OrderAction) -> Result<OrderState, OrderTransitionError> {
        use OrderAction as A;
        use OrderState as S;
        let next = match (self, action) {
            (S::Draft, A::Submit) => S::AwaitingPayment,
            // A platform's prepaid return needs no payment step.
            (S::Draft | S::AwaitingPayment, A::Prepaid) => S::Accepted,
            (S::AwaitingPayment, A::Paid) => S::Accepted,
            (S::Accepted, A::Collect) => S::Collected,
            (S::Draft | S::AwaitingPayment | S::Accepted, A::Cancel) => S::Cancelled,
            (from, action) => return Err(OrderTransitionError { from, action }),
        };
        Ok(next)
    }

    /// Whether the sender may still change the order's contents.
    pub fn editable(self) -> bool {
        self == OrderState::Draft
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    Submit,
    Paid,
    Prepaid,
    Collect,
    Cancel,
}

impl OrderAction {
    pub fn code(self) -> &'static str {
        match self {
            OrderAction::Submit => "submit",
            OrderAction::Paid => "paid",
            OrderAction::Prepaid => "prepaid",
            OrderAction::Collect => "collect",
            OrderAction::Cancel => "cancel",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order {} cannot {}", from.code(), action.code())]
pub struct OrderTransitionError {
    pub from: OrderState,
    pub action: OrderAction,
}

/// The e-commerce platforms whose return codes prepay an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Douyin,
    Pinduoduo,
    Taobao,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Douyin, Platform::Pinduoduo, Platform::Taobao];

    pub fn code(self) -> &'static str {
        match self {
            Platform::Douyin => "douyin",
            Platform::Pinduoduo => "pinduoduo",
            Platform::Taobao => "taobao",
        }
    }

    pub fn parse(code: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Platform::Douyin => "抖音",
            Platform::Pinduoduo => "拼多多",
            Platform::Taobao => "淘宝",
        }
    }
}

/// Most characters of a platform's return code.
pub const RETURN_CODE_CHARS_MAX: usize = 32;

/// Who pays for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payer {
    /// The sender pays by QR code before the order is accepted.
    Sender,
    /// A platform's return code: the platform is billed, the sender pays
    /// nothing.
    Platform {
        platform: Platform,
        return_code: String,
    },
}

impl Payer {
    /// A platform's return code: 6 to 32 letters, digits and hyphens (the
    /// platforms' own shapes differ; the platform settles what it issued).
    pub fn platform(platform: Platform, code: &str) -> Result<Payer, String> {
        let code = code.trim().to_ascii_uppercase();
        let n = code.chars().count();
        if !(6..=RETURN_CODE_CHARS_MAX).contains(&n)
            || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(format!(
                "a return code is 6 to {RETURN_CODE_CHARS_MAX} letters, digits and hyphens"
            ));
        }
        Ok(Payer::Platform {
            platform,
            return_code: code,
        })
    }

    pub fn code(&self) -> &'static str {
        match self {
            Payer::Sender => "sender",
            Payer::Platform { platform, .. } => platform.code(),
        }
    }
}

/// A payment attempt's status as we record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The QR code is out; no word from the provider yet.
    Pending,
    /// The provider says the payer paid.
    Paid,
    /// Paid, then a refund was requested (the order was cancelled, or
    /// another payment had already paid it).
    RefundRequested,
    /// The provider confirmed the refund.
    Refunded,
}

impl PaymentStatus {
    pub fn code(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Paid => "paid",
            PaymentStatus::RefundRequested => "refund_requested",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(code: &str) -> Option<PaymentStatus> {
        [
            PaymentStatus::Pending,
            PaymentStatus::Paid,
            PaymentStatus::RefundRequested,
            PaymentStatus::Refunded,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// What a "paid" callback for one payment attempt does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaidCallback {
    /// This payment pays the order: it becomes accepted.
    AcceptOrder,
    /// The payment was already recorded paid (a repeated callback): nothing
    /// changes.
    Repeat,
    /// The order is already paid by another attempt, cancelled, or the
    /// amount differs: this money goes back.
    Refund,
}

/// Decides a "paid" callback from the order's state, this payment's status
/// and whether the amount is the order's price. Callbacks may come twice,
/// late or out of order; whatever their order, one order is paid once and
/// every other payment is refunded.
pub fn on_paid_callback(
    order: OrderState,
    payment: PaymentStatus,
    amount_matches: bool,
) -> PaidCallback {
    if payment != PaymentStatus::Pending {
        return PaidCallback::Repeat;
    }
    if order == OrderState::AwaitingPayment && amount_matches {
        PaidCallback::AcceptOrder
    } else {
        PaidCallback::Refund
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_happy_path_and_its_refusals() {
        let s = OrderState::Draft;
        let s = s.apply(OrderAction::Submit).unwrap();
        assert_eq!(s, OrderState::AwaitingPayment);
        let s = s.apply(OrderAction::Paid).unwrap();
        assert_eq!(s, OrderState::Accepted);
        assert!(s.apply(OrderAction::Paid).is_err());
        let s = s.apply(OrderAction::Collect).unwrap();
        assert_eq!(s, OrderState::Collected);
        assert!(
            s.apply(OrderAction::Cancel).is_err(),
            "no cancelling after collection"
        );
        assert_eq!(
            OrderState::Draft.apply(OrderAction::Prepaid),
            Ok(OrderState::Accepted)
        );
        assert!(OrderState::Draft.apply(OrderAction::Paid).is_err());
        for state in OrderState::ALL {
            assert_eq!(OrderState::parse(state.code()), Some(state));
        }
    }

    #[test]
    fn return_codes_have_a_shape() {
        assert!(Payer::platform(Platform::Taobao, "tb-20261207-88").is_ok());
        assert!(Payer::platform(Platform::Taobao, "abc").is_err());
        assert!(Payer::platform(Platform::Douyin, "a b c d e f").is_err());
    }

    /// A payment's "paid" callback as it may reach us.
    #[derive(Debug, Clone, Copy)]
    struct Callback {
        payment_idx: usize,
    }

    proptest! {
        /// Any sequence of callbacks for up to four attempts (repeated and
        /// in any order), with a cancellation at any point: at most one
        /// payment pays the order, every other paid one is refunded, and
        /// a cancelled order keeps nothing.
        #[test]
        fn callbacks_in_any_order_pay_an_order_once(
            callbacks in prop::collection::vec((0usize..4).prop_map(|payment_idx| Callback { payment_idx }), 1..12),
            cancel_at in prop::option::of(0usize..12),
            amount_matches in prop::collection::vec(any::<bool>(), 4),
        ) {
            let mut order = OrderState::AwaitingPayment;
            let mut payments = [PaymentStatus::Pending; 4];
            for (idx, callback) in callbacks.iter().enumerate() {
                if cancel_at == Some(idx) && let Ok(next) = order.apply(OrderAction::Cancel) {
                    order = next;
                    for p in payments.iter_mut().filter(|p| **p == PaymentStatus::Paid) {
                        *p = PaymentStatus::RefundRequested;
                    }
                }
                let i = callback.payment_idx;
                match on_paid_callback(order, payments[i], amount_matches[i]) {
                    PaidCallback::AcceptOrder => {
                        order = order.apply(OrderAction::Paid).unwrap();
                        payments[i] = PaymentStatus::Paid;
                    }
                    PaidCallback::Refund => payments[i] = PaymentStatus::RefundRequested,
                    PaidCallback::Repeat => {}
                }
            }
            let kept = payments.iter().filter(|p| **p == PaymentStatus::Paid).count();
            prop_assert!(kept <= 1);
            prop_assert_eq!(kept == 1, order == OrderState::Accepted);
        }
    }
}

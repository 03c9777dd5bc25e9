//! The payment provider's port (issue 14): a QR-code payment for an amount
//! in fen under our merchant order number, an asynchronous signed callback
//! that may come twice, late or out of order, and refunds. The simulated
//! provider here has the real shape; the demo and the tests use it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::Fen;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What we ask the provider for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Ours, unique per attempt (`YZS{order}-{attempt}`).
    pub merchant_order_no: String,
    pub amount: Fen,
    /// Shown to the payer in their wallet.
    pub description: String,
}

/// The provider's answer: what the QR code carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPayment {
    pub qr_content: String,
}

/// A callback the provider signed, read and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentNotice {
    pub merchant_order_no: String,
    pub amount_fen: i64,
    /// The provider's own transaction id.
    pub transaction_id: String,
    /// "SUCCESS" for a payment; nothing else is sent today.
    pub trade_state: String,
    /// Unix milliseconds when the payer paid.
    pub paid_at_ms: i64,
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's name, for logs.
    fn name(&self) -> &'static str;
    async fn create_qr(&self, request: &PaymentRequest) -> Result<QrPayment, String>;
    /// Returns a paid amount; the provider answers once it took the order.
    async fn refund(&self, merchant_order_no: &str, amount: Fen) -> Result<(), String>;
    /// Checks a callback's signature over its body and reads it.
    fn verify_callback(&self, body: &[u8], signature: &str) -> Result<PaymentNotice, String>;
    /// The callback (body, signature) the provider would send had the
    /// payer paid. Only a simulated provider can write one (the demo's pay
    /// button); a real provider answers `None`.
    fn simulate_paid(
        &self,
        _merchant_order_no: &str,
        _amount: Fen,
        _at: DateTime<Utc>,
    ) -> Option<(Vec<u8>, String)> {
        None
    }
}

/// A provider in this process with the shape of the real ones (amount in
/// fen, merchant order number, a QR content, an HMAC-SHA256 signature over
/// the callback's body in hex). [`SimulatedPayments::pay`] writes the
/// callback a real provider would send once the payer paid.
pub struct SimulatedPayments {
    key: Vec<u8>,
    refunds: std::sync::Mutex<Vec<(String, Fen)>>,
}

impl SimulatedPayments {
    pub fn new(key: Vec<u8>) -> SimulatedPayments {
        SimulatedPayments {
            key,
            refunds: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn sign(&self, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    /// The callback (body, signature) the provider sends when the payer
    /// paid `amount` for `merchant_order_no`.
    pub fn pay(
        &self,
        merchant_order_no: &str,
        amount: Fen,
        at: DateTime<Utc>,
    ) -> (Vec<u8>, String) {
        let notice = PaymentNotice {
            merchant_order_no: merchant_order_no.to_string(),
            amount_fen: amount.0,
            transaction_id: format!(
                "SIM{}",
                hex::encode(&self.sign(merchant_order_no.as_bytes())[..8])
            ),
            trade_state: "SUCCESS".into(),
            paid_at_ms: at.timestamp_millis(),
        };
        let body = serde_json::to_vec(&notice).expect("a notice serialises");
        let signature = self.sign(&body);
        (body, signature)
    }

    /// The refunds asked for so far.
    pub fn refunds(&self) -> Vec<(String, Fen)> {
        self.refunds.lock().expect("not poisoned").clone()
    }
}

#[async_trait]
impl PaymentProvider for SimulatedPayments {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn create_qr(&self, request: &PaymentRequest) -> Result<QrPayment, String> {
        Ok(QrPayment {
            qr_content: format!(
                "yizhan-simpay://pay?out_trade_no={}&total_fee={}",
                request.merchant_order_no, request.amount.0
            ),
        })
    }

    async fn refund(&self, merchant_order_no: &str, amount: Fen) -> Result<(), String> {
        self.refunds
            .lock()
            .expect("not poisoned")
            .push((merchant_order_no.to_string(), amount));
        Ok(())
    }

    fn verify_callback(&self, body: &[u8], signature: &str) -> Result<PaymentNotice, String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(body);
        let given =
            hex::decode(signature.trim()).map_err(|_| "signature is not hex".to_string())?;
        mac.verify_slice(&given)
            .map_err(|_| "signature does not match".to_string())?;
        serde_json::from_slice(body).map_err(|e| format!("callback body: {e}"))
    }

    fn simulate_paid(
        &self,
        merchant_order_no: &str,
        amount: Fen,
        at: DateTime<Utc>,
    ) -> Option<(Vec<u8>, String)> {
        Some(self.pay(merchant_order_no, amount, at))
    }
}

//! Sending's port (issue 14): senders and their real-name record, one-time
//! codes and sender sessions, the address book, orders with their events and
//! inspections, payments, the carriers' waybill number pools and sending
//! alerts. Personal data (phones, names, addresses, document numbers) is
//! sealed by the store; records carry it plain, phones as `domain::Phone`.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::sending::{Document, DocumentKind, OrderState, PaymentStatus};
use domain::{Carrier, Fen, Phone};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct SenderRecord {
    pub id: i64,
    pub phone: Phone,
    /// The name on the document, once real-name checked.
    pub real_name: Option<String>,
    pub document_kind: Option<DocumentKind>,
    /// Only the masked form is ever read back (`11**************2X`).
    pub document_masked: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl SenderRecord {
    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }
}

/// A one-time code sent to a phone; only its keyed hash is stored.
#[derive(Debug, Clone)]
pub struct SendCodeRecord {
    pub id: i64,
    pub code_hash: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// One side of an order (or an address book entry): who and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Party {
    pub name: String,
    pub phone: Phone,
    /// The deepest division the address resolved to (6, 9 or 12 digits).
    pub division: String,
    /// The whole address as confirmed: divisions' names and the detail.
    pub address: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AddressEntry {
    pub id: i64,
    pub sender_id: i64,
    /// "sender" or "recipient".
    pub role: String,
    pub party: Party,
    pub last_used_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderRecord {
    pub id: i64,
    pub sender_id: i64,
    pub state: OrderState,
    /// "phone", "kiosk" or "terminal".
    pub channel: String,
    pub kiosk_id: Option<i64>,
    pub from: Party,
    pub to: Party,
    pub category: Option<String>,
    /// The inspection's evidence as JSON (`domain::sending::Evidence`).
    pub evidence: serde_json::Value,
    pub weight_grams: Option<u32>,
    pub size_cm: Option<(u32, u32, u32)>,
    /// The quote as JSON (`domain::sending::Quote`), once quoted.
    pub quote: Option<serde_json::Value>,
    pub price_fen: Option<Fen>,
    /// "sender", or the platform's code for a prepaid return.
    pub payer: String,
    pub return_code: Option<String>,
    pub carrier: Carrier,
    pub waybill: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub collected_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Bumped by every write; an update names the version it read.
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub sender_id: i64,
    pub channel: String,
    pub kiosk_id: Option<i64>,
    pub from: Party,
    pub to: Party,
    pub carrier: Carrier,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderEvent {
    pub order_id: i64,
    pub kind: String,
    pub from_state: Option<OrderState>,
    pub to_state: OrderState,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct InspectionRecord {
    pub order_id: i64,
    pub category: String,
    /// "accepted" or "refused".
    pub outcome: String,
    /// The rule a refusal named, or what was missing.
    pub rule: Option<String>,
    pub package_photo: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentRecord {
    pub id: i64,
    pub order_id: i64,
    pub merchant_order_no: String,
    pub amount: Fen,
    pub status: PaymentStatus,
    pub qr_content: String,
    pub provider_txn: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WaybillRange {
    pub id: i64,
    pub carrier: Carrier,
    pub prefix: String,
    pub first: i64,
    pub last: i64,
    /// The next number to hand out; past `last` when used up.
    pub next: i64,
    /// Digits the number is zero-padded to after the prefix.
    pub digits: u32,
    pub created_at: DateTime<Utc>,
    pub actor: String,
}

/// A range as uploaded.
#[derive(Debug, Clone)]
pub struct NewWaybillRange {
    pub carrier: Carrier,
    pub prefix: String,
    pub first: i64,
    pub last: i64,
    pub digits: u32,
    pub actor: String,
    pub now: DateTime<Utc>,
}

/// A waybill number handed out, and what is left of the carrier's pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub waybill: String,
    pub remaining: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SendAlert {
    pub id: i64,
    pub kind: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// A photo a sender uploads for an order's inspection (branch send-flow).
#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub order_id: i64,
    pub sender_id: i64,
    /// Read from the bytes: `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the bytes, hex: the same photo is recognised unsealed.
    pub sha256: String,
    /// The bytes as standard base64, which the store seals.
    pub base64: String,
    pub now: DateTime<Utc>,
}

/// Which orders the centre's list shows (every field optional).
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub state: Option<OrderState>,
    pub carrier: Option<Carrier>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait SendingTx: Send {
    async fn sender_by_phone(&mut self, phone: &Phone) -> StoreResult<Option<SenderRecord>>;
    /// The sender with this phone, created if new.
    async fn ensure_sender(
        &mut self,
        phone: &Phone,
        now: DateTime<Utc>,
    ) -> StoreResult<SenderRecord>;
    /// Records the real-name check: the name and document, sealed; false if
    /// there is no such sender.
    async fn set_sender_identity(
        &mut self,
        sender_id: i64,
        name: &str,
        document: &Document,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn insert_send_code(
        &mut self,
        phone: &Phone,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Codes sent to the phone since `since`, for the sending limit.
    async fn send_codes_since(&mut self, phone: &Phone, since: DateTime<Utc>) -> StoreResult<u32>;
    /// The phone's newest code.
    async fn latest_send_code(&mut self, phone: &Phone) -> StoreResult<Option<SendCodeRecord>>;
    async fn note_send_code_attempt(&mut self, code_id: i64) -> StoreResult<()>;
    /// Marks a code used; false if it already was.
    async fn use_send_code(&mut self, code_id: i64, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn insert_sender_session(
        &mut self,
        sender_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Ends a sender session at `now` (signing out): its token opens
    /// nothing from then on. False when no live session had that token.
    async fn end_sender_session(
        &mut self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Adds or refreshes an address book entry (same role and phone and
    /// address: its last use moves).
    async fn remember_address(
        &mut self,
        sender_id: i64,
        role: &str,
        party: &Party,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn insert_order(&mut self, order: &NewOrder) -> StoreResult<OrderRecord>;
    /// The order, locked for this transaction on PostgreSQL.
    async fn order_for_update(&mut self, order_id: i64) -> StoreResult<Option<OrderRecord>>;
    /// Writes the order's changeable fields if its version is still
    /// `order.version - 1`; false if another writer got there first.
    async fn update_order(&mut self, order: &OrderRecord) -> StoreResult<bool>;
    async fn insert_order_event(&mut self, event: &OrderEvent) -> StoreResult<()>;
    async fn insert_inspection(&mut self, inspection: &InspectionRecord) -> StoreResult<()>;
    async fn insert_payment(
        &mut self,
        order_id: i64,
        merchant_order_no: &str,
        amount: Fen,
        qr_content: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentRecord>;
    /// The payment, locked for this transaction on PostgreSQL.
    async fn payment_for_update(
        &mut self,
        merchant_order_no: &str,
    ) -> StoreResult<Option<PaymentRecord>>;
    /// Moves a payment from one status to another; false if it was not in
    /// `from`.
    async fn set_payment_status(
        &mut self,
        payment_id: i64,
        from: PaymentStatus,
        to: PaymentStatus,
        provider_txn: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn order_payments(&mut self, order_id: i64) -> StoreResult<Vec<PaymentRecord>>;
    /// What a refund owed gives back (kept with the payment for the retry
    /// job: a wrong amount is refunded as paid, not as asked).
    async fn set_refund_amount(&mut self, payment_id: i64, amount: Fen) -> StoreResult<()>;
    /// Counts a refund the provider refused or did not answer.
    async fn note_refund_attempt(&mut self, payment_id: i64) -> StoreResult<()>;
    /// The next number of the carrier's oldest range with numbers left, and
    /// what is left of the pool; none when the pool is empty.
    async fn allocate_waybill(&mut self, carrier: Carrier) -> StoreResult<Option<Allocation>>;
    /// Raises an alert once per key; false if it was raised before.
    async fn insert_send_alert(
        &mut self,
        kind: &str,
        dedup_key: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Keeps an inspection photo, sealed; its id (branch send-flow).
    async fn insert_send_photo(&mut self, photo: &NewPhoto) -> StoreResult<i64>;
}

#[async_trait]
pub trait SendingStore: Send + Sync {
    /// The sender an unexpired session token belongs to.
    async fn sender_by_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SenderRecord>>;
    async fn send_order(&self, order_id: i64) -> StoreResult<Option<OrderRecord>>;
    /// The order a kept photo belongs to (the evidence names photos by id,
    /// and one order's evidence may not name another's).
    async fn send_photo_order(&self, photo_id: i64) -> StoreResult<Option<i64>>;
    /// A sender's orders, newest first, below `before_id` when given.
    async fn sender_orders(
        &self,
        sender_id: i64,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<OrderRecord>>;
    async fn order_events(&self, order_id: i64) -> StoreResult<Vec<OrderEvent>>;
    async fn order_inspections(&self, order_id: i64) -> StoreResult<Vec<InspectionRecord>>;
    async fn payment(&self, merchant_order_no: &str) -> StoreResult<Option<PaymentRecord>>;
    /// Payments whose refund is owed and not yet made, fewest attempts and
    /// oldest first, with the amount to give back.
    async fn payments_awaiting_refund(&self, limit: u32) -> StoreResult<Vec<(PaymentRecord, Fen)>>;
    async fn address_book(&self, sender_id: i64) -> StoreResult<Vec<AddressEntry>>;
    async fn add_waybill_range(&self, range: &NewWaybillRange) -> StoreResult<WaybillRange>;
    async fn waybill_ranges(&self, carrier: Carrier) -> StoreResult<Vec<WaybillRange>>;
    async fn send_alerts(&self, limit: u32) -> StoreResult<Vec<SendAlert>>;
    /// Every sender's orders for the centre, newest first, below
    /// `before_id` when given (branch send-flow).
    async fn send_orders(
        &self,
        filter: &OrderFilter,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<OrderRecord>>;
    /// An order's payments, oldest first.
    async fn order_payments(&self, order_id: i64) -> StoreResult<Vec<PaymentRecord>>;
    /// The order that holds this waybill number (public tracking).
    async fn send_order_by_waybill(&self, waybill: &str) -> StoreResult<Option<OrderRecord>>;
}

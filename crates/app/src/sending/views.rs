//! What the sender's pages and the centre's order list read and do beyond
//! the order's own moves: an order with its events, inspections and
//! payments; the prescription's or package's photo; the simulated
//! provider's callback for the demo's pay button; the county staff's list
//! of orders and their cancel (branch send-flow).

use super::orders::state_refusal;
use super::*;
use crate::ports::sending::{
    InspectionRecord, NewPhoto, OrderEvent, OrderFilter, OrderRecord, PaymentRecord,
};
use domain::sending::{OrderState, PaymentStatus};
use serde::Serialize;

/// One order with everything that happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderDetail {
    pub order: OrderRecord,
    pub events: Vec<OrderEvent>,
    pub inspections: Vec<InspectionRecord>,
    pub payments: Vec<PaymentRecord>,
}

impl OrderDetail {
    /// The payment whose QR code to show: the newest still pending.
    pub fn pending_payment(&self) -> Option<&PaymentRecord> {
        self.payments
            .iter()
            .rev()
            .find(|payment| payment.status == PaymentStatus::Pending)
    }
}

/// The largest photo taken (a phone's JPEG of a prescription is well
/// under it; the sealed copy is a third larger).
pub const PHOTO_BYTES_MAX: usize = 2 * 1024 * 1024;

/// A kiosk's code as its QR code carries it (`/send?kiosk=CODE`): the
/// fleet's own rule.
pub const KIOSK_CODE_CHARS_MAX: usize = domain::kiosk::KIOSK_CODE_CHARS_MAX;

/// The image type, read from the bytes rather than trusted from the
/// browser: JPEG, PNG or WebP.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Checks a kiosk's code from its QR link by the fleet's rule
/// (`domain::kiosk::parse_code`: letters, digits and `-`, upper-cased).
pub fn kiosk_code(text: &str) -> AppResult<String> {
    domain::kiosk::parse_code(text)
        .map_err(|_| AppError::new(Code::SendKioskInvalid).with("max", KIOSK_CODE_CHARS_MAX))
}

/// A division's names from the province down (`四川省成都市彭州市`);
/// empty for an unknown code.
pub fn division_place(code: &str) -> String {
    address::divisions()
        .get(code)
        .map(|division| {
            division
                .path()
                .iter()
                .filter(|d| !d.is_placeholder())
                .map(|d| d.name().to_string())
                .collect::<String>()
        })
        .unwrap_or_default()
}

impl App {
    async fn detail_of(&self, order: OrderRecord) -> AppResult<OrderDetail> {
        let events = self.store.order_events(order.id).await?;
        let inspections = self.store.order_inspections(order.id).await?;
        let payments = self.store.order_payments(order.id).await?;
        Ok(OrderDetail {
            order,
            events,
            inspections,
            payments,
        })
    }

    /// The sender's own order with its events, inspections and payments;
    /// anyone else's answers 404.
    pub async fn send_order_detail(
        &self,
        sender: &SenderRecord,
        order_id: i64,
    ) -> AppResult<OrderDetail> {
        let order = self.send_order(sender, order_id).await?;
        self.detail_of(order).await
    }

    /// Any order with its events, inspections and payments, for county
    /// staff and the administrator.
    pub async fn send_order_detail_for_staff(
        &self,
        principal: &domain::Principal,
        order_id: i64,
    ) -> AppResult<OrderDetail> {
        let order = self.send_order_for_staff(principal, order_id).await?;
        self.detail_of(order).await
    }

    /// Starts an order that came through a kiosk's QR code: as
    /// `create_send_order`, and the kiosk's code is recorded on the
    /// order's first event (`details.kiosk`) until the kiosk fleet's table
    /// gives it an id (`send_orders.kiosk_id`, branch kiosks).
    pub async fn create_send_order_via(
        &self,
        sender: &SenderRecord,
        channel: &str,
        kiosk: Option<&str>,
        from: Party,
        to: Party,
    ) -> AppResult<OrderRecord> {
        let kiosk = kiosk.map(kiosk_code).transpose()?;
        self.create_order_in(sender, channel, kiosk.as_deref(), from, to)
            .await
    }

    /// Keeps a photo for the order's inspection (the prescription's or
    /// invoice's photo, or the open package), sealed; returns the
    /// reference the evidence names (`photo:{id}`). Only the order's
    /// sender, only while the order can change.
    pub async fn upload_send_photo(
        &self,
        sender: &SenderRecord,
        order_id: i64,
        bytes: &[u8],
    ) -> AppResult<String> {
        let invalid =
            || AppError::new(Code::SendPhotoInvalid).with("max_kb", PHOTO_BYTES_MAX / 1024);
        if bytes.is_empty() || bytes.len() > PHOTO_BYTES_MAX {
            return Err(invalid());
        }
        let content_type = image_type(bytes).ok_or_else(invalid)?;
        let order = self.send_order(sender, order_id).await?;
        if !order.state.editable() {
            return Err(state_refusal(order.state, "change"));
        }
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_send_photo(&NewPhoto {
                order_id: order.id,
                sender_id: sender.id,
                content_type: content_type.to_string(),
                size_bytes: bytes.len() as i64,
                sha256: {
                    use sha2::Digest;
                    hex::encode(sha2::Sha256::digest(bytes))
                },
                base64: {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                },
                now: self.now(),
            })
            .await?;
        tx.commit().await?;
        Ok(format!("photo:{id}"))
    }

    /// The callback the payment provider would send once the payer paid
    /// this payment, as (body, signature). Only a simulated provider can
    /// write one: the demo's "模拟支付" button gives it to the browser,
    /// which posts it to `POST /api/payments/callback` exactly as the
    /// provider would, so the order is paid through the real path. `None`
    /// with a real provider.
    pub async fn simulated_payment_callback(
        &self,
        sender: &SenderRecord,
        merchant_order_no: &str,
    ) -> AppResult<Option<(String, String)>> {
        let payment = self.send_payment(sender, merchant_order_no).await?;
        Ok(self
            .payments
            .simulate_paid(&payment.merchant_order_no, payment.amount, self.now())
            .map(|(body, signature)| (String::from_utf8_lossy(&body).into_owned(), signature)))
    }

    /// Sending orders for county staff, newest first, by state, Shanghai
    /// day of creation and carrier; phones stay in the records, masked by
    /// the pages.
    pub async fn send_orders_for_staff(
        &self,
        principal: &domain::Principal,
        state: Option<OrderState>,
        day: Option<chrono::NaiveDate>,
        carrier: Option<Carrier>,
        before_id: Option<i64>,
        limit: Option<u32>,
    ) -> AppResult<Vec<OrderRecord>> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("county centre"));
        }
        let limit = crate::paging::page_size(limit)?;
        let (created_from, created_to) = match day {
            Some(day) => {
                let start = domain::day_start(day);
                (Some(start), Some(start + Duration::days(1)))
            }
            None => (None, None),
        };
        Ok(self
            .store
            .send_orders(
                &OrderFilter {
                    state,
                    carrier,
                    created_from,
                    created_to,
                },
                before_id,
                limit,
            )
            .await?)
    }

    /// County staff cancel an order before collection (the sender asked at
    /// the counter, or the item never came); a payment made is refunded.
    /// Audited (`send_order_cancelled`) with the reason.
    pub async fn cancel_send_order_for_staff(
        &self,
        principal: &domain::Principal,
        order_id: i64,
        reason: &str,
    ) -> AppResult<OrderRecord> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("county centre"));
        }
        let reason = domain::limits::text_field("reason", reason, domain::limits::NOTE_CHARS_MAX)
            .map_err(|_| {
            AppError::new(Code::ReasonMissing).with("max", domain::limits::NOTE_CHARS_MAX)
        })?;
        let actor = crate::audit::Actor::of(principal);
        self.cancel_in(
            order_id,
            None,
            &format!("user:{}", principal.username),
            Some((&actor, reason)),
        )
        .await
    }
}

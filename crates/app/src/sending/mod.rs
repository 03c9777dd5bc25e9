//! Sending (寄件, issue 14): a sender proves their phone with a one-time
//! code, shows a document the first time (实名收寄), fills in an order from
//! two pasted addresses, has its contents inspected (收寄验视), gets a quote,
//! and pays (or a platform prepays a return); an accepted order has a
//! waybill number from the carrier's pool. Senders are not users: they act
//! through a sender session that a one-time code opened, and see only their
//! own orders. County staff upload waybill ranges and see every order.

// branch kiosks: collection (揽收) at a kiosk.
mod collect;
mod label;
mod orders;
mod payments;
mod pool;
// Session 10: the label as TSPL and PDF.
mod printers;
// Branch send-flow: what the pages read (orders with their history, the
// photo, the simulated callback, the centre's list and cancel).
mod views;
// Branch send-flow: sending moves in the carriers' webhooks.
mod events;
// Branch kiosk-dev (session 10): the kiosk's devices and screen.
pub mod kiosk;

pub use crate::ports::payments::{PaymentNotice, PaymentProvider, SimulatedPayments};
pub use crate::ports::sending::{
    AddressEntry, Allocation, InspectionRecord, OrderEvent, OrderRecord, Party, PaymentRecord,
    SendAlert, SenderRecord, WaybillRange,
};
pub use collect::{CollectionView, ScanResult};
pub use events::{SendEvent, emit_send_event};
pub use label::{SendLabel, label_zpl, mask_name};
pub use orders::{OrderContents, ParsedParty};
pub use payments::{CallbackOutcome, PaymentStarted, RefundRun};
pub use printers::{LabelFormat, label_pdf, label_tspl};
pub use views::{KIOSK_CODE_CHARS_MAX, OrderDetail, PHOTO_BYTES_MAX, division_place, kiosk_code};

use crate::App;
use crate::error::{AppError, AppResult, Code};
use crate::ports::outbox::OutboxMessage;
use crate::ports::prelude::*;
use chrono::{DateTime, Duration, Utc};
use domain::sending::{Document, DocumentKind, Tariff};
use domain::{Carrier, Phone};
use std::sync::Arc;

/// Sending's tunables.
#[derive(Clone)]
pub struct SendingSettings {
    /// The carrier whose waybill pool orders draw from (the county's post).
    pub carrier: Carrier,
    /// The tariff in force (`domain::sending::Tariff`, TOML).
    pub tariff: Arc<Tariff>,
    /// A one-time code is good for this long.
    pub code_minutes: i64,
    /// Most codes sent to one phone in an hour.
    pub codes_per_hour_max: u32,
    /// Wrong tries before a code is spent.
    pub code_attempts_max: u32,
    /// A sender session lasts this long.
    pub session_hours: i64,
    /// The demo shows the one-time code on the page (there is no SMS
    /// gateway in a demo). Never in production.
    pub reveal_codes: bool,
}

impl Default for SendingSettings {
    fn default() -> Self {
        SendingSettings {
            carrier: Carrier::Ems,
            tariff: Arc::new(Tariff::default_tariff()),
            code_minutes: 5,
            codes_per_hour_max: 5,
            code_attempts_max: 5,
            session_hours: 24,
            reveal_codes: false,
        }
    }
}

impl std::fmt::Debug for SendingSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendingSettings")
            .field("carrier", &self.carrier)
            .field("tariff_versions", &self.tariff.versions.len())
            .finish_non_exhaustive()
    }
}

/// The outbox template of a one-time code message.
pub const TEMPLATE_SEND_CODE: &str = "send_code";

/// A code went out.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CodeSent {
    pub expires_at: DateTime<Utc>,
    /// Only when `reveal_codes` is on (the demo).
    pub demo_code: Option<String>,
}

/// A sender session opened by a code.
#[derive(Debug, Clone)]
pub struct SenderSignIn {
    /// Give back as the session cookie or bearer token; stored hashed.
    pub token: String,
    pub sender: SenderRecord,
    pub expires_at: DateTime<Utc>,
}

fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

impl App {
    fn code_hash(&self, phone: &Phone, code: &str) -> String {
        self.keys
            .lookup_hash("send_code", &format!("{}:{code}", phone.full()))
    }

    /// Sends a one-time code to the sender's phone through the outbox (the
    /// SMS relay). At most `codes_per_hour_max` an hour per phone.
    pub async fn request_send_code(&self, phone: &Phone) -> AppResult<CodeSent> {
        let settings = &self.settings.sending;
        if !matches!(phone, Phone::Mobile(_)) {
            return Err(AppError::new(Code::SendPhoneInvalid));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let recent = tx.send_codes_since(phone, now - Duration::hours(1)).await?;
        if recent >= settings.codes_per_hour_max {
            return Err(AppError::new(Code::SendCodeLimit).with("max", settings.codes_per_hour_max));
        }
        let code = format!("{:06}", self.random.below(1_000_000));
        let expires_at = now + Duration::minutes(settings.code_minutes);
        tx.insert_send_code(phone, &self.code_hash(phone, &code), now, expires_at)
            .await?;
        let nonce = self.random.below(u64::MAX);
        tx.enqueue(
            &OutboxMessage {
                topic: crate::effects::notices::TOPIC_SMS.into(),
                dedup_key: format!("send_code:{}:{nonce}", now.timestamp_millis()),
                merge_key: None,
                payload: serde_json::json!({
                    "template": TEMPLATE_SEND_CODE,
                    "to": phone.full(),
                    "code": code,
                    "minutes": settings.code_minutes,
                }),
                available_at: now,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(phone = %phone, "sending code requested");
        Ok(CodeSent {
            expires_at,
            demo_code: settings.reveal_codes.then_some(code),
        })
    }

    /// Checks a one-time code and opens a sender session; the sender is
    /// created on their first code. A wrong code counts against the code;
    /// past `code_attempts_max` it is spent.
    pub async fn verify_send_code(&self, phone: &Phone, code: &str) -> AppResult<SenderSignIn> {
        let settings = &self.settings.sending;
        let now = self.now();
        let code = code.trim();
        let mut tx = self.store.begin().await?;
        let latest = tx.latest_send_code(phone).await?;
        let Some(latest) = latest.filter(|c| {
            c.used_at.is_none() && c.expires_at > now && c.attempts < settings.code_attempts_max
        }) else {
            return Err(AppError::new(Code::SendCodeWrong));
        };
        let given = self.code_hash(phone, code);
        if !constant_time_eq(given.as_bytes(), latest.code_hash.as_bytes()) {
            tx.note_send_code_attempt(latest.id).await?;
            tx.commit().await?;
            return Err(AppError::new(Code::SendCodeWrong));
        }
        if !tx.use_send_code(latest.id, now).await? {
            return Err(AppError::new(Code::SendCodeWrong));
        }
        let sender = tx.ensure_sender(phone, now).await?;
        let token = {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            hex::encode(bytes)
        };
        let expires_at = now + Duration::hours(settings.session_hours);
        tx.insert_sender_session(sender.id, &token_hash(&token), now, expires_at)
            .await?;
        tx.commit().await?;
        Ok(SenderSignIn {
            token,
            sender,
            expires_at,
        })
    }

    /// The sender a session token belongs to.
    pub async fn sender_session(&self, token: &str) -> AppResult<SenderRecord> {
        self.store
            .sender_by_session(&token_hash(token), self.now())
            .await?
            .ok_or_else(|| AppError::new(Code::SendSessionInvalid))
    }

    /// Signs a sender out: the session's token stops opening anything at
    /// once (a copied cookie or token is dead after sign-out, not 24 hours
    /// later). An unknown or ended token is not an error: signing out twice
    /// is harmless.
    pub async fn end_sender_session(&self, token: &str) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        tx.end_sender_session(&token_hash(token), self.now())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the sender's real-name check: the name on the document and
    /// its number, sealed at rest; only the masked number is read back.
    /// Audited (`sender_verified`), with the masked number only.
    pub async fn verify_sender_identity(
        &self,
        sender: &SenderRecord,
        name: &str,
        kind: DocumentKind,
        number: &str,
    ) -> AppResult<SenderRecord> {
        let name =
            domain::limits::text_field("name", name, domain::limits::NAME_CHARS_MAX).map_err(
                crate::error::text_invalid("name", domain::limits::NAME_CHARS_MAX),
            )?;
        let document = Document::parse(kind, number)
            .map_err(|error| AppError::new(Code::DocumentInvalid).with_detail(error))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx
            .set_sender_identity(sender.id, name, &document, now)
            .await?
        {
            return Err(AppError::NotFound("sender"));
        }
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::system(&format!("sender:{}", sender.id)),
            now,
            crate::audit::Act::SenderVerified,
            crate::audit::Object::new("sender", sender.id),
            serde_json::json!({ "document": kind.code(), "masked": document.masked() }),
        )
        .await?;
        let updated = tx
            .sender_by_phone(&sender.phone)
            .await?
            .ok_or(AppError::NotFound("sender"))?;
        tx.commit().await?;
        Ok(updated)
    }

    /// The sender's address book, most recently used first.
    pub async fn send_address_book(&self, sender: &SenderRecord) -> AppResult<Vec<AddressEntry>> {
        Ok(self.store.address_book(sender.id).await?)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

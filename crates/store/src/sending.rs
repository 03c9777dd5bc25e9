//! Sending's tables (issue 14): senders, one-time codes, sender sessions,
//! the address book, orders with their events and inspections, payments,
//! waybill ranges and sending alerts. Phones, names, addresses and document
//! numbers are sealed here; phones are found by their keyed hash.

use crate::rows::{corrupt, get, open, time};
use crate::{Backend, Db, DbTx, backend_error, ms};
use app::ports::sending::*;
use app::ports::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::sending::{Document, DocumentKind, OrderState, PaymentStatus};
use domain::{Carrier, Fen, Phone};
use sqlx::Row;
use sqlx::any::AnyRow;

pub const SEALED_SENDER_PHONE: &str = "senders.phone";
pub const SEALED_SENDER_NAME: &str = "senders.real_name";
pub const SEALED_SENDER_DOCUMENT: &str = "senders.document_number";
pub const SEALED_BOOK_NAME: &str = "send_addresses.name";
pub const SEALED_BOOK_PHONE: &str = "send_addresses.phone";
pub const SEALED_BOOK_ADDRESS: &str = "send_addresses.address";
pub const SEALED_ORDER_NAME: &str = "send_orders.name";
pub const SEALED_ORDER_PHONE: &str = "send_orders.phone";
pub const SEALED_ORDER_ADDRESS: &str = "send_orders.address";
/// The inspection's evidence names a prescription's photo: health data.
pub const SEALED_ORDER_EVIDENCE: &str = "send_orders.evidence";
/// An inspection photo (a prescription is health data), base64 inside.
pub const SEALED_PHOTO: &str = "send_photos.content";

/// Every sealed column of sending's tables, for re-sealing after a key
/// rotation (`PrivacyStore::seal_batch`): (table, column, sealed as).
pub const SEALED_COLUMNS: [(&str, &str, &str); 14] = [
    ("senders", "phone", SEALED_SENDER_PHONE),
    ("senders", "real_name", SEALED_SENDER_NAME),
    ("senders", "document_number", SEALED_SENDER_DOCUMENT),
    ("send_addresses", "name", SEALED_BOOK_NAME),
    ("send_addresses", "phone", SEALED_BOOK_PHONE),
    ("send_addresses", "address", SEALED_BOOK_ADDRESS),
    ("send_orders", "from_name", SEALED_ORDER_NAME),
    ("send_orders", "from_phone", SEALED_ORDER_PHONE),
    ("send_orders", "from_address", SEALED_ORDER_ADDRESS),
    ("send_orders", "to_name", SEALED_ORDER_NAME),
    ("send_orders", "to_phone", SEALED_ORDER_PHONE),
    ("send_orders", "to_address", SEALED_ORDER_ADDRESS),
    ("send_orders", "evidence", SEALED_ORDER_EVIDENCE),
    ("send_photos", "content", SEALED_PHOTO),
];

const SENDER_COLUMNS: &str =
    "id, phone, real_name, document_kind, document_masked, verified_at, created_at";
const ORDER_COLUMNS: &str = "id, sender_id, state, channel, kiosk_id, from_name, from_phone, from_division, from_address, \
     to_name, to_phone, to_division, to_address, category, evidence, weight_grams, length_cm, width_cm, height_cm, \
     quote, price_fen, payer, return_code, carrier, waybill, created_at, updated_at, accepted_at, collected_at, cancelled_at, version";
const PAYMENT_COLUMNS: &str = "id, order_id, merchant_order_no, amount_fen, status, qr_content, provider_txn, created_at, paid_at, refunded_at";
const RANGE_COLUMNS: &str =
    "id, carrier, prefix, first_no, last_no, next_no, digits, created_at, actor";

fn opt_time(row: &AnyRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    let ms: Option<i64> = get(row, column)?;
    ms.map(time).transpose()
}

fn phone_of(text: Option<String>) -> StoreResult<Phone> {
    let text = text.ok_or_else(|| corrupt("phone", "(missing)"))?;
    Phone::parse(&text).map_err(|_| corrupt("phone", "(hidden)"))
}

fn carrier_of(row: &AnyRow) -> StoreResult<Carrier> {
    let code: String = get(row, "carrier")?;
    Carrier::parse(&code).map_err(|_| corrupt("carrier", &code))
}

fn payment_from(row: &AnyRow) -> StoreResult<PaymentRecord> {
    let status: String = get(row, "status")?;
    Ok(PaymentRecord {
        id: get(row, "id")?,
        order_id: get(row, "order_id")?,
        merchant_order_no: get(row, "merchant_order_no")?,
        amount: Fen(get(row, "amount_fen")?),
        status: PaymentStatus::parse(&status).ok_or_else(|| corrupt("payment status", &status))?,
        qr_content: get(row, "qr_content")?,
        provider_txn: get(row, "provider_txn")?,
        created_at: time(get(row, "created_at")?)?,
        paid_at: opt_time(row, "paid_at")?,
        refunded_at: opt_time(row, "refunded_at")?,
    })
}

fn range_from(row: &AnyRow) -> StoreResult<WaybillRange> {
    let digits: i64 = get(row, "digits")?;
    Ok(WaybillRange {
        id: get(row, "id")?,
        carrier: carrier_of(row)?,
        prefix: get(row, "prefix")?,
        first: get(row, "first_no")?,
        last: get(row, "last_no")?,
        next: get(row, "next_no")?,
        digits: digits as u32,
        created_at: time(get(row, "created_at")?)?,
        actor: get(row, "actor")?,
    })
}

fn event_from(row: &AnyRow) -> StoreResult<OrderEvent> {
    let from: Option<String> = get(row, "from_state")?;
    let to: String = get(row, "to_state")?;
    let details: String = get(row, "details")?;
    Ok(OrderEvent {
        order_id: get(row, "order_id")?,
        kind: get(row, "kind")?,
        from_state: from
            .as_deref()
            .map(|s| OrderState::parse(s).ok_or_else(|| corrupt("order state", s)))
            .transpose()?,
        to_state: OrderState::parse(&to).ok_or_else(|| corrupt("order state", &to))?,
        at: time(get(row, "at")?)?,
        actor: get(row, "actor")?,
        details: serde_json::from_str(&details).map_err(|_| corrupt("details", &details))?,
    })
}

fn inspection_from(row: &AnyRow) -> StoreResult<InspectionRecord> {
    Ok(InspectionRecord {
        order_id: get(row, "order_id")?,
        category: get(row, "category")?,
        outcome: get(row, "outcome")?,
        rule: get(row, "rule")?,
        package_photo: get(row, "package_photo")?,
        at: time(get(row, "at")?)?,
    })
}

impl DbTx {
    fn sender_from(&self, row: &AnyRow) -> StoreResult<SenderRecord> {
        sender_from_keys(&self.keys, row)
    }

    fn lock_suffix(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }
}

/// A sender row, opened with the store's keys.
fn sender_from_keys(keys: &app::keys::Keys, row: &AnyRow) -> StoreResult<SenderRecord> {
    let kind: Option<String> = get(row, "document_kind")?;
    Ok(SenderRecord {
        id: get(row, "id")?,
        phone: phone_of(open(keys, SEALED_SENDER_PHONE, get(row, "phone")?)?)?,
        real_name: open(keys, SEALED_SENDER_NAME, get(row, "real_name")?)?,
        document_kind: kind
            .as_deref()
            .map(|k| DocumentKind::parse(k).ok_or_else(|| corrupt("document kind", k)))
            .transpose()?,
        document_masked: get(row, "document_masked")?,
        verified_at: opt_time(row, "verified_at")?,
        created_at: time(get(row, "created_at")?)?,
    })
}

/// Orders are decoded with the store's keys inside transactions too.
struct OrderDecoder<'k>(&'k app::keys::Keys);

impl OrderDecoder<'_> {
    fn party(&self, row: &AnyRow, side: &str) -> StoreResult<Party> {
        let column = |name: &str| format!("{side}_{name}");
        Ok(Party {
            name: open(self.0, SEALED_ORDER_NAME, get(row, &column("name"))?)?.unwrap_or_default(),
            phone: phone_of(open(
                self.0,
                SEALED_ORDER_PHONE,
                get(row, &column("phone"))?,
            )?)?,
            division: get(row, &column("division"))?,
            address: open(self.0, SEALED_ORDER_ADDRESS, get(row, &column("address"))?)?
                .unwrap_or_default(),
        })
    }
}

#[async_trait]
impl SendingTx for DbTx {
    async fn sender_by_phone(&mut self, phone: &Phone) -> StoreResult<Option<SenderRecord>> {
        let hash = self.keys.phone_hash(phone);
        let row = self
            .optional(
                sqlx::query(&format!(
                    "SELECT {SENDER_COLUMNS} FROM senders WHERE phone_hash = $1"
                ))
                .bind(hash),
            )
            .await?;
        row.map(|row| self.sender_from(&row)).transpose()
    }

    async fn ensure_sender(
        &mut self,
        phone: &Phone,
        now: DateTime<Utc>,
    ) -> StoreResult<SenderRecord> {
        let hash = self.keys.phone_hash(phone);
        let sealed = self.keys.seal(SEALED_SENDER_PHONE, &phone.full());
        self.execute(
            sqlx::query(
                "INSERT INTO senders (phone_hash, phone, created_at) VALUES ($1, $2, $3) ON CONFLICT (phone_hash) DO NOTHING",
            )
            .bind(hash)
            .bind(sealed)
            .bind(ms(now)),
        )
        .await?;
        self.sender_by_phone(phone)
            .await?
            .ok_or_else(|| StoreError::Backend("sender not read back".into()))
    }

    async fn set_sender_identity(
        &mut self,
        sender_id: i64,
        name: &str,
        document: &Document,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE senders SET real_name = $1, document_kind = $2, document_number = $3, document_masked = $4, verified_at = $5 WHERE id = $6",
                )
                .bind(self.keys.seal(SEALED_SENDER_NAME, name))
                .bind(document.kind().code())
                .bind(self.keys.seal(SEALED_SENDER_DOCUMENT, document.full()))
                .bind(document.masked())
                .bind(ms(now))
                .bind(sender_id),
            )
            .await?;
        Ok(n == 1)
    }

    async fn insert_send_code(
        &mut self,
        phone: &Phone,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let hash = self.keys.phone_hash(phone);
        self.execute(
            sqlx::query(
                "INSERT INTO send_codes (phone_hash, code_hash, attempts, created_at, expires_at) VALUES ($1, $2, 0, $3, $4)",
            )
            .bind(hash)
            .bind(code_hash.to_string())
            .bind(ms(now))
            .bind(ms(expires_at)),
        )
        .await?;
        Ok(())
    }

    async fn send_codes_since(&mut self, phone: &Phone, since: DateTime<Utc>) -> StoreResult<u32> {
        let hash = self.keys.phone_hash(phone);
        let row = self
            .optional(
                sqlx::query(
                    "SELECT COUNT(*) FROM send_codes WHERE phone_hash = $1 AND created_at >= $2",
                )
                .bind(hash)
                .bind(ms(since)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("no count".into()))?;
        let n: i64 = row.try_get(0).map_err(backend_error)?;
        Ok(n as u32)
    }

    async fn latest_send_code(&mut self, phone: &Phone) -> StoreResult<Option<SendCodeRecord>> {
        let hash = self.keys.phone_hash(phone);
        let row = self
            .optional(
                sqlx::query(
                    "SELECT id, code_hash, attempts, created_at, expires_at, used_at FROM send_codes WHERE phone_hash = $1 ORDER BY id DESC LIMIT 1",
                )
                .bind(hash),
            )
            .await?;
        row.map(|row| {
            let attempts: i64 = get(&row, "attempts")?;
            Ok(SendCodeRecord {
                id: get(&row, "id")?,
                code_hash: get(&row, "code_hash")?,
                attempts: attempts as u32,
                created_at: time(get(&row, "created_at")?)?,
                expires_at: time(get(&row, "expires_at")?)?,
                used_at: opt_time(&row, "used_at")?,
            })
        })
        .transpose()
    }

    async fn note_send_code_attempt(&mut self, code_id: i64) -> StoreResult<()> {
        self.execute(
            sqlx::query("UPDATE send_codes SET attempts = attempts + 1 WHERE id = $1")
                .bind(code_id),
        )
        .await?;
        Ok(())
    }

    async fn use_send_code(&mut self, code_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let n = self
            .execute(
                sqlx::query("UPDATE send_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                    .bind(ms(now))
                    .bind(code_id),
            )
            .await?;
        Ok(n == 1)
    }

    async fn insert_sender_session(
        &mut self,
        sender_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "INSERT INTO sender_sessions (sender_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(sender_id)
            .bind(token_hash.to_string())
            .bind(ms(now))
            .bind(ms(expires_at)),
        )
        .await?;
        Ok(())
    }

    async fn end_sender_session(
        &mut self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE sender_sessions SET expires_at = $1 WHERE token_hash = $2 AND expires_at > $1",
                )
                .bind(ms(now))
                .bind(token_hash.to_string()),
            )
            .await?;
        Ok(n == 1)
    }

    async fn remember_address(
        &mut self,
        sender_id: i64,
        role: &str,
        party: &Party,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let entry_hash = self.keys.lookup_hash(
            "send_address",
            &format!(
                "{}\n{}\n{}\n{}",
                party.name,
                party.phone.full(),
                party.division,
                party.address
            ),
        );
        let updated = self
            .execute(
                sqlx::query(
                    "UPDATE send_addresses SET last_used_at = $1 WHERE sender_id = $2 AND role = $3 AND entry_hash = $4",
                )
                .bind(ms(now))
                .bind(sender_id)
                .bind(role.to_string())
                .bind(entry_hash.clone()),
            )
            .await?;
        if updated == 0 {
            self.execute(
                sqlx::query(
                    "INSERT INTO send_addresses (sender_id, role, entry_hash, name, phone, division, address, created_at, last_used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                )
                .bind(sender_id)
                .bind(role.to_string())
                .bind(entry_hash)
                .bind(self.keys.seal(SEALED_BOOK_NAME, &party.name))
                .bind(self.keys.seal(SEALED_BOOK_PHONE, &party.phone.full()))
                .bind(party.division.clone())
                .bind(self.keys.seal(SEALED_BOOK_ADDRESS, &party.address))
                .bind(ms(now)),
            )
            .await?;
        }
        Ok(())
    }

    async fn insert_order(&mut self, order: &NewOrder) -> StoreResult<OrderRecord> {
        let keys = self.keys.clone();
        let seal_party = |party: &Party| {
            (
                keys.seal(SEALED_ORDER_NAME, &party.name),
                keys.seal(SEALED_ORDER_PHONE, &party.phone.full()),
                party.division.clone(),
                keys.seal(SEALED_ORDER_ADDRESS, &party.address),
            )
        };
        let from = seal_party(&order.from);
        let to = seal_party(&order.to);
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO send_orders (sender_id, state, channel, kiosk_id, from_name, from_phone, from_division, from_address, \
                     to_name, to_phone, to_division, to_address, evidence, payer, carrier, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $15, 'sender', $13, $14, $14, 1) RETURNING id",
                )
                .bind(order.sender_id)
                .bind(OrderState::Draft.code())
                .bind(order.channel.clone())
                .bind(order.kiosk_id)
                .bind(from.0)
                .bind(from.1)
                .bind(from.2)
                .bind(from.3)
                .bind(to.0)
                .bind(to.1)
                .bind(to.2)
                .bind(to.3)
                .bind(order.carrier.code())
                .bind(ms(order.now))
                .bind(self.keys.seal(SEALED_ORDER_EVIDENCE, "{}")),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("order id not returned".into()))?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        self.order_for_update(id)
            .await?
            .ok_or_else(|| StoreError::Backend("order not read back".into()))
    }

    async fn order_for_update(&mut self, order_id: i64) -> StoreResult<Option<OrderRecord>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM send_orders WHERE id = $1{}",
            self.lock_suffix()
        );
        let row = self.optional(sqlx::query(&sql).bind(order_id)).await?;
        let keys = self.keys.clone();
        row.map(|row| order_from_keys(&keys, &row)).transpose()
    }

    async fn update_order(&mut self, order: &OrderRecord) -> StoreResult<bool> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE send_orders SET state = $1, category = $2, evidence = $3, weight_grams = $4, length_cm = $5, width_cm = $6, height_cm = $7, \
                     quote = $8, price_fen = $9, payer = $10, return_code = $11, waybill = $12, updated_at = $13, accepted_at = $14, collected_at = $15, \
                     cancelled_at = $16, version = $17 WHERE id = $18 AND version = $19",
                )
                .bind(order.state.code())
                .bind(order.category.clone())
                .bind(self.keys.seal(SEALED_ORDER_EVIDENCE, &order.evidence.to_string()))
                .bind(order.weight_grams.map(i64::from))
                .bind(order.size_cm.map(|s| i64::from(s.0)))
                .bind(order.size_cm.map(|s| i64::from(s.1)))
                .bind(order.size_cm.map(|s| i64::from(s.2)))
                .bind(order.quote.as_ref().map(|q| q.to_string()))
                .bind(order.price_fen.map(|p| p.0))
                .bind(order.payer.clone())
                .bind(order.return_code.clone())
                .bind(order.waybill.clone())
                .bind(ms(order.updated_at))
                .bind(order.accepted_at.map(ms))
                .bind(order.collected_at.map(ms))
                .bind(order.cancelled_at.map(ms))
                .bind(order.version)
                .bind(order.id)
                .bind(order.version - 1),
            )
            .await?;
        Ok(n == 1)
    }

    async fn insert_order_event(&mut self, event: &OrderEvent) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "INSERT INTO send_order_events (order_id, kind, from_state, to_state, at, actor, details) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(event.order_id)
            .bind(event.kind.clone())
            .bind(event.from_state.map(|s| s.code()))
            .bind(event.to_state.code())
            .bind(ms(event.at))
            .bind(event.actor.clone())
            .bind(event.details.to_string()),
        )
        .await?;
        Ok(())
    }

    async fn insert_inspection(&mut self, inspection: &InspectionRecord) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "INSERT INTO send_inspections (order_id, category, outcome, rule, package_photo, at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(inspection.order_id)
            .bind(inspection.category.clone())
            .bind(inspection.outcome.clone())
            .bind(inspection.rule.clone())
            .bind(inspection.package_photo.clone())
            .bind(ms(inspection.at)),
        )
        .await?;
        Ok(())
    }

    async fn insert_payment(
        &mut self,
        order_id: i64,
        merchant_order_no: &str,
        amount: Fen,
        qr_content: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<PaymentRecord> {
        self.execute(
            sqlx::query(
                "INSERT INTO send_payments (order_id, merchant_order_no, amount_fen, status, qr_content, created_at) VALUES ($1, $2, $3, 'pending', $4, $5)",
            )
            .bind(order_id)
            .bind(merchant_order_no.to_string())
            .bind(amount.0)
            .bind(qr_content.to_string())
            .bind(ms(now)),
        )
        .await?;
        self.payment_for_update(merchant_order_no)
            .await?
            .ok_or_else(|| StoreError::Backend("payment not read back".into()))
    }

    async fn payment_for_update(
        &mut self,
        merchant_order_no: &str,
    ) -> StoreResult<Option<PaymentRecord>> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM send_payments WHERE merchant_order_no = $1{}",
            self.lock_suffix()
        );
        let row = self
            .optional(sqlx::query(&sql).bind(merchant_order_no.to_string()))
            .await?;
        row.map(|row| payment_from(&row)).transpose()
    }

    async fn set_payment_status(
        &mut self,
        payment_id: i64,
        from: PaymentStatus,
        to: PaymentStatus,
        provider_txn: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE send_payments SET status = $1, provider_txn = COALESCE($2, provider_txn), \
                     paid_at = CASE WHEN $1 = 'paid' THEN $3 ELSE paid_at END, \
                     refunded_at = CASE WHEN $1 = 'refunded' THEN $3 ELSE refunded_at END \
                     WHERE id = $4 AND status = $5",
                )
                .bind(to.code())
                .bind(provider_txn.map(String::from))
                .bind(ms(now))
                .bind(payment_id)
                .bind(from.code()),
            )
            .await?;
        Ok(n == 1)
    }

    async fn set_refund_amount(&mut self, payment_id: i64, amount: Fen) -> StoreResult<()> {
        self.execute(
            sqlx::query("UPDATE send_payments SET refund_fen = $1 WHERE id = $2")
                .bind(amount.0)
                .bind(payment_id),
        )
        .await?;
        Ok(())
    }

    async fn note_refund_attempt(&mut self, payment_id: i64) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "UPDATE send_payments SET refund_attempts = refund_attempts + 1 WHERE id = $1",
            )
            .bind(payment_id),
        )
        .await?;
        Ok(())
    }

    async fn order_payments(&mut self, order_id: i64) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM send_payments WHERE order_id = $1 ORDER BY id"
        ))
        .bind(order_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        rows.iter().map(payment_from).collect()
    }

    async fn allocate_waybill(&mut self, carrier: Carrier) -> StoreResult<Option<Allocation>> {
        let sql = format!(
            "SELECT {RANGE_COLUMNS} FROM waybill_ranges WHERE carrier = $1 AND next_no <= last_no ORDER BY id LIMIT 1{}",
            self.lock_suffix()
        );
        let Some(row) = self
            .optional(sqlx::query(&sql).bind(carrier.code()))
            .await?
        else {
            return Ok(None);
        };
        let range = range_from(&row)?;
        let taken = self
            .execute(
                sqlx::query("UPDATE waybill_ranges SET next_no = next_no + 1 WHERE id = $1 AND next_no = $2")
                    .bind(range.id)
                    .bind(range.next),
            )
            .await?;
        if taken != 1 {
            return Err(StoreError::Conflict("waybill range".into()));
        }
        let totals = self
            .optional(
                sqlx::query(
                    "SELECT CAST(COALESCE(SUM(last_no - first_no + 1), 0) AS BIGINT) AS total, \
                     CAST(COALESCE(SUM(CASE WHEN next_no <= last_no THEN last_no - next_no + 1 ELSE 0 END), 0) AS BIGINT) AS remaining \
                     FROM waybill_ranges WHERE carrier = $1",
                )
                .bind(carrier.code()),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("no totals".into()))?;
        Ok(Some(Allocation {
            waybill: format!(
                "{}{:0width$}",
                range.prefix,
                range.next,
                width = range.digits as usize
            ),
            remaining: get(&totals, "remaining")?,
            total: get(&totals, "total")?,
        }))
    }

    async fn insert_send_alert(
        &mut self,
        kind: &str,
        dedup_key: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                sqlx::query(
                    "INSERT INTO send_alerts (kind, dedup_key, message, at) VALUES ($1, $2, $3, $4) ON CONFLICT (dedup_key) DO NOTHING",
                )
                .bind(kind.to_string())
                .bind(dedup_key.to_string())
                .bind(message.to_string())
                .bind(ms(now)),
            )
            .await?;
        Ok(n == 1)
    }

    async fn insert_send_photo(&mut self, photo: &NewPhoto) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO send_photos (order_id, sender_id, content_type, size_bytes, sha256, content, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(photo.order_id)
                .bind(photo.sender_id)
                .bind(photo.content_type.clone())
                .bind(photo.size_bytes)
                .bind(photo.sha256.clone())
                .bind(self.keys.seal(SEALED_PHOTO, &photo.base64))
                .bind(ms(photo.now)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("photo not inserted".into()))?;
        get(&row, "id")
    }
}

fn order_from_keys(keys: &app::keys::Keys, row: &AnyRow) -> StoreResult<OrderRecord> {
    let decoder = OrderDecoder(keys);
    let state: String = get(row, "state")?;
    let evidence = open(keys, SEALED_ORDER_EVIDENCE, get(row, "evidence")?)?
        .unwrap_or_else(|| "{}".to_string());
    let quote: Option<String> = get(row, "quote")?;
    let weight: Option<i64> = get(row, "weight_grams")?;
    let l: Option<i64> = get(row, "length_cm")?;
    let w: Option<i64> = get(row, "width_cm")?;
    let h: Option<i64> = get(row, "height_cm")?;
    let price: Option<i64> = get(row, "price_fen")?;
    Ok(OrderRecord {
        id: get(row, "id")?,
        sender_id: get(row, "sender_id")?,
        state: OrderState::parse(&state).ok_or_else(|| corrupt("order state", &state))?,
        channel: get(row, "channel")?,
        kiosk_id: get(row, "kiosk_id")?,
        from: decoder.party(row, "from")?,
        to: decoder.party(row, "to")?,
        category: get(row, "category")?,
        evidence: serde_json::from_str(&evidence).map_err(|_| corrupt("evidence", &evidence))?,
        weight_grams: weight.map(|w| w as u32),
        size_cm: match (l, w, h) {
            (Some(l), Some(w), Some(h)) => Some((l as u32, w as u32, h as u32)),
            _ => None,
        },
        quote: quote
            .as_deref()
            .map(|q| serde_json::from_str(q).map_err(|_| corrupt("quote", q)))
            .transpose()?,
        price_fen: price.map(Fen),
        payer: get(row, "payer")?,
        return_code: get(row, "return_code")?,
        carrier: carrier_of(row)?,
        waybill: get(row, "waybill")?,
        created_at: time(get(row, "created_at")?)?,
        updated_at: time(get(row, "updated_at")?)?,
        accepted_at: opt_time(row, "accepted_at")?,
        collected_at: opt_time(row, "collected_at")?,
        cancelled_at: opt_time(row, "cancelled_at")?,
        version: get(row, "version")?,
    })
}

#[async_trait]
impl SendingStore for Db {
    async fn sender_by_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SenderRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM senders s JOIN sender_sessions t ON t.sender_id = s.id WHERE t.token_hash = $1 AND t.expires_at > $2",
            SENDER_COLUMNS
                .split(", ")
                .map(|c| format!("s.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(token_hash.to_string())
        .bind(ms(now))
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.map(|row| sender_from_keys(&self.keys, &row))
            .transpose()
    }

    async fn send_photo_order(&self, photo_id: i64) -> StoreResult<Option<i64>> {
        let row = sqlx::query("SELECT order_id FROM send_photos WHERE id = $1")
            .bind(photo_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?;
        row.map(|row| row.try_get::<i64, _>("order_id").map_err(backend_error))
            .transpose()
    }

    async fn payments_awaiting_refund(&self, limit: u32) -> StoreResult<Vec<(PaymentRecord, Fen)>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS}, COALESCE(refund_fen, amount_fen) AS owed FROM send_payments \
             WHERE status = 'refund_requested' ORDER BY refund_attempts, id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let owed: i64 = row.try_get("owed").map_err(backend_error)?;
                Ok((payment_from(row)?, Fen(owed)))
            })
            .collect()
    }

    async fn send_order(&self, order_id: i64) -> StoreResult<Option<OrderRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM send_orders WHERE id = $1"
        ))
        .bind(order_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.map(|row| order_from_keys(&self.keys, &row)).transpose()
    }

    async fn sender_orders(
        &self,
        sender_id: i64,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<OrderRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM send_orders WHERE sender_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(sender_id)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| order_from_keys(&self.keys, row))
            .collect()
    }

    async fn order_events(&self, order_id: i64) -> StoreResult<Vec<OrderEvent>> {
        let rows = sqlx::query(
            "SELECT order_id, kind, from_state, to_state, at, actor, details FROM send_order_events WHERE order_id = $1 ORDER BY id",
        )
        .bind(order_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(event_from).collect()
    }

    async fn order_inspections(&self, order_id: i64) -> StoreResult<Vec<InspectionRecord>> {
        let rows = sqlx::query(
            "SELECT order_id, category, outcome, rule, package_photo, at FROM send_inspections WHERE order_id = $1 ORDER BY id",
        )
        .bind(order_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(inspection_from).collect()
    }

    async fn payment(&self, merchant_order_no: &str) -> StoreResult<Option<PaymentRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM send_payments WHERE merchant_order_no = $1"
        ))
        .bind(merchant_order_no.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.map(|row| payment_from(&row)).transpose()
    }

    async fn address_book(&self, sender_id: i64) -> StoreResult<Vec<AddressEntry>> {
        let rows = sqlx::query(
            "SELECT id, sender_id, role, name, phone, division, address, last_used_at FROM send_addresses WHERE sender_id = $1 ORDER BY last_used_at DESC, id DESC LIMIT 50",
        )
        .bind(sender_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(AddressEntry {
                    id: get(row, "id")?,
                    sender_id: get(row, "sender_id")?,
                    role: get(row, "role")?,
                    party: Party {
                        name: open(&self.keys, SEALED_BOOK_NAME, get(row, "name")?)?
                            .unwrap_or_default(),
                        phone: phone_of(open(&self.keys, SEALED_BOOK_PHONE, get(row, "phone")?)?)?,
                        division: get(row, "division")?,
                        address: open(&self.keys, SEALED_BOOK_ADDRESS, get(row, "address")?)?
                            .unwrap_or_default(),
                    },
                    last_used_at: time(get(row, "last_used_at")?)?,
                })
            })
            .collect()
    }

    async fn add_waybill_range(&self, range: &NewWaybillRange) -> StoreResult<WaybillRange> {
        let row = sqlx::query(&format!(
            "INSERT INTO waybill_ranges (carrier, prefix, first_no, last_no, next_no, digits, created_at, actor) \
             VALUES ($1, $2, $3, $4, $3, $5, $6, $7) RETURNING {RANGE_COLUMNS}"
        ))
        .bind(range.carrier.code())
        .bind(range.prefix.clone())
        .bind(range.first)
        .bind(range.last)
        .bind(i64::from(range.digits))
        .bind(ms(range.now))
        .bind(range.actor.clone())
        .fetch_one(&self.writer)
        .await
        .map_err(backend_error)?;
        range_from(&row)
    }

    async fn waybill_ranges(&self, carrier: Carrier) -> StoreResult<Vec<WaybillRange>> {
        let rows = sqlx::query(&format!(
            "SELECT {RANGE_COLUMNS} FROM waybill_ranges WHERE carrier = $1 ORDER BY id"
        ))
        .bind(carrier.code())
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(range_from).collect()
    }

    async fn send_alerts(&self, limit: u32) -> StoreResult<Vec<SendAlert>> {
        let rows =
            sqlx::query("SELECT id, kind, message, at FROM send_alerts ORDER BY id DESC LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(SendAlert {
                    id: get(row, "id")?,
                    kind: get(row, "kind")?,
                    message: get(row, "message")?,
                    at: time(get(row, "at")?)?,
                })
            })
            .collect()
    }

    async fn send_orders(
        &self,
        filter: &OrderFilter,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<OrderRecord>> {
        // Absent filters match everything: NULL parameters, one statement
        // for both databases.
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM send_orders WHERE id < $1 \
             AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR carrier = $3) \
             AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5) \
             ORDER BY id DESC LIMIT $6"
        ))
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(filter.state.map(|s| s.code().to_string()))
        .bind(filter.carrier.map(|c| c.code().to_string()))
        .bind(filter.created_from.map(ms))
        .bind(filter.created_to.map(ms))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| order_from_keys(&self.keys, row))
            .collect()
    }

    async fn order_payments(&self, order_id: i64) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM send_payments WHERE order_id = $1 ORDER BY id"
        ))
        .bind(order_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(payment_from).collect()
    }

    async fn send_order_by_waybill(&self, waybill: &str) -> StoreResult<Option<OrderRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM send_orders WHERE waybill = $1"
        ))
        .bind(waybill.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.map(|row| order_from_keys(&self.keys, &row)).transpose()
    }
}

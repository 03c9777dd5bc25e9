//! Claims and write-offs (branch `claims`, issue 15 point 4), behind
//! `app::ports::claims::{ClaimsTx, ClaimsStore}`. Migration 0035: a claim per
//! receipt (the receipt is the key), write-offs by request key, payments per
//! invoice with the statement's paid total kept beside them.

use crate::county::carrier;
use crate::ledger::{
    ACCOUNT_COLUMNS, RECEIPT_COLUMNS, STATEMENT_COLUMNS, account_from, receipt_from, statement_from,
};
use crate::rows::{corrupt, get};
use crate::{Backend, Db, DbTx, backend_error};
use app::ports::StoreResult;
use app::ports::claims::{
    ClaimRecord, ClaimsStore, ClaimsTx, NewWriteOff, PaymentRecord, WriteOffRecord,
};
use app::ports::ledger::{Account, AccountRecord, ReceiptRecord, StatementRecord};
use async_trait::async_trait;
use domain::{Carrier, Fen};
use sqlx::any::AnyRow;

const CLAIM_COLUMNS: &str = "receipt_id, carrier, amount_fen, transfer_id, claimed_at, claimed_by";
const WRITE_OFF_COLUMNS: &str = "id, request_key, carrier, amount_fen, at, by_user, approval_id";
const PAYMENT_COLUMNS: &str =
    "id, write_off_id, statement_id, carrier, amount_fen, transfer_id, at";

fn claim_from(row: &AnyRow) -> StoreResult<ClaimRecord> {
    Ok(ClaimRecord {
        receipt_id: get(row, "receipt_id")?,
        carrier: carrier(row)?,
        amount: Fen(get(row, "amount_fen")?),
        transfer_id: get(row, "transfer_id")?,
        at_ms: get(row, "claimed_at")?,
        by: get(row, "claimed_by")?,
    })
}

fn write_off_from(row: &AnyRow) -> StoreResult<WriteOffRecord> {
    Ok(WriteOffRecord {
        id: get(row, "id")?,
        key: get(row, "request_key")?,
        carrier: carrier(row)?,
        amount: Fen(get(row, "amount_fen")?),
        at_ms: get(row, "at")?,
        by: get(row, "by_user")?,
        approval_id: get(row, "approval_id")?,
    })
}

fn payment_from(row: &AnyRow) -> StoreResult<PaymentRecord> {
    Ok(PaymentRecord {
        id: get(row, "id")?,
        write_off_id: get(row, "write_off_id")?,
        statement_id: get(row, "statement_id")?,
        carrier: carrier(row)?,
        amount: Fen(get(row, "amount_fen")?),
        transfer_id: get(row, "transfer_id")?,
        at_ms: get(row, "at")?,
    })
}

#[async_trait]
impl ClaimsTx for DbTx {
    async fn account_in(&mut self, account: &Account) -> StoreResult<Option<AccountRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE code = $1"
            ))
            .bind(account.code()),
        )
        .await?
        .as_ref()
        .map(account_from)
        .transpose()
    }

    async fn receipt_in(&mut self, id: i64) -> StoreResult<Option<ReceiptRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE id = $1"
            ))
            .bind(id),
        )
        .await?
        .as_ref()
        .map(receipt_from)
        .transpose()
    }

    async fn insert_claim(&mut self, c: &ClaimRecord) -> StoreResult<bool> {
        let row = self
            .optional(
                sqlx::query(&format!(
                    "INSERT INTO receipt_claims ({CLAIM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT DO NOTHING RETURNING receipt_id"
                ))
                .bind(c.receipt_id)
                .bind(c.carrier.code())
                .bind(c.amount.0)
                .bind(c.transfer_id.clone())
                .bind(c.at_ms)
                .bind(c.by.clone()),
            )
            .await?;
        Ok(row.is_some())
    }

    async fn claim_in(&mut self, receipt_id: i64) -> StoreResult<Option<ClaimRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {CLAIM_COLUMNS} FROM receipt_claims WHERE receipt_id = $1"
            ))
            .bind(receipt_id),
        )
        .await?
        .as_ref()
        .map(claim_from)
        .transpose()
    }

    async fn lock_statements_of(&mut self, carrier: Carrier) -> StoreResult<Vec<StatementRecord>> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        sqlx::query(&format!(
            "SELECT {STATEMENT_COLUMNS} FROM statements WHERE carrier = $1 ORDER BY id{lock}"
        ))
        .bind(carrier.code())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(statement_from)
        .collect()
    }

    async fn write_off_by_key(&mut self, key: &str) -> StoreResult<Option<WriteOffRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {WRITE_OFF_COLUMNS} FROM write_offs WHERE request_key = $1"
            ))
            .bind(key.to_string()),
        )
        .await?
        .as_ref()
        .map(write_off_from)
        .transpose()
    }

    async fn insert_write_off(&mut self, w: &NewWriteOff) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO write_offs (request_key, carrier, amount_fen, at, by_user, approval_id) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(w.key.clone())
                .bind(w.carrier.code())
                .bind(w.amount.0)
                .bind(w.at_ms)
                .bind(w.by.clone())
                .bind(w.approval_id),
            )
            .await?
            .ok_or_else(|| corrupt("write-off", "no id returned"))?;
        get(&row, "id")
    }

    async fn payments_of_write_off(
        &mut self,
        write_off_id: i64,
    ) -> StoreResult<Vec<PaymentRecord>> {
        sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM invoice_payments WHERE write_off_id = $1 ORDER BY id"
        ))
        .bind(write_off_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(payment_from)
        .collect()
    }

    async fn insert_invoice_payment(&mut self, p: &PaymentRecord) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO invoice_payments (write_off_id, statement_id, carrier, amount_fen, transfer_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(p.write_off_id)
                .bind(p.statement_id)
                .bind(p.carrier.code())
                .bind(p.amount.0)
                .bind(p.transfer_id.clone())
                .bind(p.at_ms),
            )
            .await?
            .ok_or_else(|| corrupt("payment", "no id returned"))?;
        self.execute(
            sqlx::query(
                "UPDATE statements SET paid_fen = paid_fen + $1, updated_at = $2 WHERE id = $3",
            )
            .bind(p.amount.0)
            .bind(p.at_ms)
            .bind(p.statement_id),
        )
        .await?;
        get(&row, "id")
    }
}

#[async_trait]
impl ClaimsStore for Db {
    async fn unclaimed_receipts(&self, limit: u32) -> StoreResult<Vec<ReceiptRecord>> {
        sqlx::query(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE NOT EXISTS \
             (SELECT 1 FROM receipt_claims c WHERE c.receipt_id = receipts.id) ORDER BY day, id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(receipt_from)
        .collect()
    }

    async fn claims_of(&self, carrier: Carrier, limit: u32) -> StoreResult<Vec<ClaimRecord>> {
        sqlx::query(&format!(
            "SELECT {CLAIM_COLUMNS} FROM receipt_claims WHERE carrier = $1 ORDER BY claimed_at DESC, receipt_id DESC LIMIT $2"
        ))
        .bind(carrier.code())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(claim_from)
        .collect()
    }

    async fn payments_of(&self, carrier: Carrier, limit: u32) -> StoreResult<Vec<PaymentRecord>> {
        sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM invoice_payments WHERE carrier = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(carrier.code())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(payment_from)
        .collect()
    }

    async fn all_claims(&self) -> StoreResult<Vec<ClaimRecord>> {
        sqlx::query(&format!(
            "SELECT {CLAIM_COLUMNS} FROM receipt_claims ORDER BY receipt_id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(claim_from)
        .collect()
    }
}

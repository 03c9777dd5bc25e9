//! The double-entry ledger, behind `app::ports::{LedgerTx, LedgerStore}`.
//! The store only keeps rows and totals: the rules and the hashes are
//! `domain::ledger`'s, and the triggers of migration 0022 refuse UPDATE and
//! DELETE of transfers.

use crate::county::{FEE_COLUMNS, fee_from};
use crate::rows::{corrupt, get};
use crate::{Backend, Db, DbTx, backend_error};
use app::ports::county::FeeRecord;
use app::ports::ledger::{Account, AccountRecord, LedgerStore, LedgerTx, Transfer};
use app::ports::*;
use async_trait::async_trait;
use domain::Fen;
use domain::ledger::TransferKind;
use sqlx::any::AnyRow;

const TRANSFER_COLUMNS: &str = "seq, transfer_id, debit_account, credit_account, amount_fen, kind, reference, parcel_id, reverses, at, posted_at, prev_hash, hash";
const ACCOUNT_COLUMNS: &str =
    "code, kind, carrier, debits_fen, credits_fen, n_transfers, created_at, updated_at";

/// The advisory lock key of the ledger's chain on PostgreSQL: a constant no
/// other lock uses ("ledger" in ASCII).
const LEDGER_LOCK_KEY: i64 = 0x6c_65_64_67_65_72;

fn account_of(code: &str) -> StoreResult<Account> {
    Account::parse(code).ok_or_else(|| corrupt("ledger account", code))
}

fn transfer_from(row: &AnyRow) -> StoreResult<Transfer> {
    let debit: String = get(row, "debit_account")?;
    let credit: String = get(row, "credit_account")?;
    let kind: String = get(row, "kind")?;
    Ok(Transfer {
        seq: get(row, "seq")?,
        id: get(row, "transfer_id")?,
        debit: account_of(&debit)?,
        credit: account_of(&credit)?,
        amount: Fen(get(row, "amount_fen")?),
        kind: TransferKind::parse(&kind).ok_or_else(|| corrupt("transfer kind", &kind))?,
        reference: get(row, "reference")?,
        parcel_id: get(row, "parcel_id")?,
        reverses: get(row, "reverses")?,
        at_ms: get(row, "at")?,
        posted_ms: get(row, "posted_at")?,
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

fn account_from(row: &AnyRow) -> StoreResult<AccountRecord> {
    let code: String = get(row, "code")?;
    let account = account_of(&code)?;
    let debits = Fen(get(row, "debits_fen")?);
    let credits = Fen(get(row, "credits_fen")?);
    Ok(AccountRecord {
        account,
        code,
        debits,
        credits,
        n_transfers: get(row, "n_transfers")?,
        balance: account.balance(debits, credits),
        updated_at_ms: get(row, "updated_at")?,
    })
}

#[async_trait]
impl LedgerTx for DbTx {
    async fn lock_ledger_head(&mut self) -> StoreResult<Option<(i64, String)>> {
        if self.backend == Backend::Postgres {
            // Held to the end of this transaction: a second poster waits
            // here and then reads the head this one wrote.
            self.execute(sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LEDGER_LOCK_KEY))
                .await?;
        }
        let row = self
            .optional(sqlx::query(
                "SELECT seq, hash FROM ledger_transfers ORDER BY seq DESC LIMIT 1",
            ))
            .await?;
        row.map(|row| Ok((get(&row, "seq")?, get(&row, "hash")?)))
            .transpose()
    }

    async fn transfer_by_id(&mut self, id: &str) -> StoreResult<Option<Transfer>> {
        let row = self
            .optional(
                sqlx::query(&format!(
                    "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE transfer_id = $1"
                ))
                .bind(id.to_string()),
            )
            .await?;
        row.as_ref().map(transfer_from).transpose()
    }

    async fn insert_transfer(&mut self, t: &Transfer) -> StoreResult<()> {
        self.execute(
            sqlx::query(&format!(
                "INSERT INTO ledger_transfers ({TRANSFER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ))
            .bind(t.seq)
            .bind(t.id.clone())
            .bind(t.debit.code())
            .bind(t.credit.code())
            .bind(t.amount.0)
            .bind(t.kind.code())
            .bind(t.reference.clone())
            .bind(t.parcel_id)
            .bind(t.reverses.clone())
            .bind(t.at_ms)
            .bind(t.posted_ms)
            .bind(t.prev_hash.clone())
            .bind(t.hash.clone()),
        )
        .await?;
        for (account, debit, credit) in [(t.debit, t.amount.0, 0_i64), (t.credit, 0, t.amount.0)] {
            self.execute(
                sqlx::query(&format!(
                    "INSERT INTO ledger_accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, 1, $6, $6) \
                     ON CONFLICT (code) DO UPDATE SET debits_fen = ledger_accounts.debits_fen + excluded.debits_fen, \
                     credits_fen = ledger_accounts.credits_fen + excluded.credits_fen, \
                     n_transfers = ledger_accounts.n_transfers + 1, updated_at = excluded.updated_at"
                ))
                .bind(account.code())
                .bind(account.kind.code())
                .bind(account.carrier.map(|c| c.code().to_string()))
                .bind(debit)
                .bind(credit)
                .bind(t.posted_ms),
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl LedgerStore for Db {
    async fn ledger_accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts ORDER BY code"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(account_from)
        .collect()
    }

    async fn ledger_account(&self, account: &Account) -> StoreResult<Option<AccountRecord>> {
        sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE code = $1"
        ))
        .bind(account.code())
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(account_from)
        .transpose()
    }

    async fn transfers_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<Transfer>> {
        sqlx::query(&format!(
            "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(transfer_from)
        .collect()
    }

    async fn account_transfers(
        &self,
        account: &Account,
        before_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Transfer>> {
        sqlx::query(&format!(
            "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers \
             WHERE (debit_account = $1 OR credit_account = $1) AND seq < $2 ORDER BY seq DESC LIMIT $3"
        ))
        .bind(account.code())
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(transfer_from)
        .collect()
    }

    async fn transfer(&self, id: &str) -> StoreResult<Option<Transfer>> {
        sqlx::query(&format!(
            "SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE transfer_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(transfer_from)
        .transpose()
    }

    async fn fees_unposted(&self, limit: u32) -> StoreResult<Vec<FeeRecord>> {
        sqlx::query(&format!(
            "SELECT {FEE_COLUMNS} FROM fee_ledger WHERE NOT EXISTS \
             (SELECT 1 FROM ledger_transfers t WHERE t.parcel_id = fee_ledger.parcel_id AND t.kind = 'fee_accrual') \
             ORDER BY id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(fee_from)
        .collect()
    }
}

//! The double-entry ledger's port (issue 15): transfers appended in the
//! transaction of the act that caused them, with each account's cached
//! totals; read to show accounts and to check the ledger.

use super::StoreResult;
use super::county::FeeRecord;
use async_trait::async_trait;
use domain::Fen;
pub use domain::ledger::{Account, Transfer};
use serde::Serialize;

/// An account with its cached totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRecord {
    pub account: Account,
    /// The account's code (`carrier_receivable:ZTO`).
    pub code: String,
    pub debits: Fen,
    pub credits: Fen,
    pub n_transfers: i64,
    /// On the account's normal side (`Account::balance`).
    pub balance: Fen,
    pub updated_at_ms: i64,
}

#[async_trait]
pub trait LedgerTx: Send {
    /// Serialises posters until this transaction ends and returns the last
    /// transfer's sequence and hash. PostgreSQL takes a transaction-scoped
    /// advisory lock; SQLite's one writer is already alone.
    async fn lock_ledger_head(&mut self) -> StoreResult<Option<(i64, String)>>;
    async fn transfer_by_id(&mut self, id: &str) -> StoreResult<Option<Transfer>>;
    /// Appends the transfer and adds its amount to the debit account's
    /// debits and the credit account's credits (opening either account on
    /// its first transfer).
    async fn insert_transfer(&mut self, transfer: &Transfer) -> StoreResult<()>;
}

#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Every account, by code.
    async fn ledger_accounts(&self) -> StoreResult<Vec<AccountRecord>>;
    async fn ledger_account(&self, account: &Account) -> StoreResult<Option<AccountRecord>>;
    /// Transfers with `seq > after_seq` in sequence order, at most `limit`.
    async fn transfers_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<Transfer>>;
    /// The transfers on one side or the other of `account`, newest first,
    /// with `seq < before_seq` when given.
    async fn account_transfers(
        &self,
        account: &Account,
        before_seq: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Transfer>>;
    async fn transfer(&self, id: &str) -> StoreResult<Option<Transfer>>;
    /// Fees in `fee_ledger` that have no fee-accrual transfer yet (accrued
    /// before the ledger existed), oldest first.
    async fn fees_unposted(&self, limit: u32) -> StoreResult<Vec<FeeRecord>>;
}

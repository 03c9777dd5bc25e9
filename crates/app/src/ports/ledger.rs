//! The double-entry ledger's port (issue 15): transfers appended in the
//! transaction of the act that caused them, with each account's cached
//! totals; read to show accounts and to check the ledger. Statements
//! (对账单) live here too: their lines are the ledger's transfers.

use super::StoreResult;
use super::county::FeeRecord;
use async_trait::async_trait;
use chrono::NaiveDate;
use domain::county::Mode;
use domain::finance::{LineStatus, Month, StatementStatus};
pub use domain::ledger::{Account, Transfer};
use domain::{Carrier, Fen};
use serde::Serialize;

/// A carrier's statement for a month; its invoice is due on `due_day`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRecord {
    pub id: i64,
    pub carrier: Carrier,
    pub month: Month,
    pub status: StatementStatus,
    pub n_lines: i64,
    /// Σ of the lines as issued.
    pub issued: Fen,
    /// Σ taken off by resolved disputes (reversals and adjustments).
    pub credited: Fen,
    /// Σ paid on it by write-offs (核销, branch `claims`), less what a
    /// dispute resolved after payment gave back to the carrier's credit.
    pub paid: Fen,
    /// What the carrier still owes for it: issued − credited − paid.
    pub net: Fen,
    pub due_day: NaiveDate,
    pub issued_at_ms: i64,
    pub issued_by: String,
    pub updated_at_ms: i64,
}

/// One fee on a statement, with the parcel behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub id: i64,
    pub statement_id: i64,
    /// The fee-accrual transfer this line states.
    pub transfer_id: String,
    pub parcel_id: Option<i64>,
    pub waybill: String,
    pub mode: Mode,
    pub bracket: u32,
    pub agreement_version: u32,
    /// The Shanghai day the fee accrued.
    pub day: NaiveDate,
    pub amount: Fen,
    pub status: LineStatus,
    pub dispute_reason: Option<String>,
    pub answered_at_ms: Option<i64>,
    pub answered_by: Option<String>,
    pub resolution_note: Option<String>,
    /// The reversing or adjusting transfer that resolved a dispute.
    pub resolution_transfer_id: Option<String>,
    /// What the resolution took off the amount.
    pub credited: Fen,
    pub resolved_at_ms: Option<i64>,
    pub resolved_by: Option<String>,
}

/// A statement about to be issued.
#[derive(Debug, Clone)]
pub struct NewStatement {
    pub carrier: Carrier,
    pub month: Month,
    pub due_day: NaiveDate,
    /// The month's span in Unix milliseconds, `[from_ms, to_ms)`.
    pub from_ms: i64,
    pub to_ms: i64,
    pub issued_at_ms: i64,
    pub issued_by: String,
}

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

/// A debtor's terms in the arrears ledger (欠费台账): who is responsible for
/// collecting from it and its payment terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DebtorTerms {
    pub carrier: Carrier,
    pub responsible: Option<Responsible>,
    /// Days after a statement month's last day its invoice is due.
    pub payment_days: u32,
    pub updated_at_ms: i64,
    pub updated_by: String,
}

/// The county staff member chasing a debt: a user, with the phone they are
/// reached on (`Phone` masks itself when shown or serialised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Responsible {
    pub user_id: i64,
    pub username: String,
    pub name: String,
    pub phone: Option<domain::Phone>,
}

/// Terms about to be written.
#[derive(Debug, Clone)]
pub struct NewDebtorTerms {
    pub carrier: Carrier,
    pub responsible_user_id: Option<i64>,
    /// The full number, normalised.
    pub responsible_phone: Option<String>,
    pub payment_days: u32,
    pub updated_at_ms: i64,
    pub updated_by: String,
}

/// One contact with a debtor: who called whom, when, how, what was said and
/// what was promised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactRecord {
    pub id: i64,
    pub carrier: Carrier,
    pub at_ms: i64,
    /// The staff member who made the contact (a username).
    pub by: String,
    /// The person reached at the debtor.
    pub contacted: String,
    pub channel: domain::finance::ContactChannel,
    pub note: String,
    pub promised: Option<Fen>,
    pub promised_by: Option<NaiveDate>,
}

/// One line of money received, as imported from a bank statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptRecord {
    pub id: i64,
    /// The bank line's stable fingerprint (`domain::bank`).
    pub fingerprint: String,
    /// The bank's day.
    pub day: NaiveDate,
    pub amount: Fen,
    pub payer_name: String,
    pub payer_account: String,
    pub reference: String,
    pub serial: Option<String>,
    pub import_id: i64,
    /// `bank:<fingerprint>`: payment clearing debited, unapplied cash
    /// credited.
    pub transfer_id: String,
    pub at_ms: i64,
}

/// One bank statement import and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankImportRecord {
    pub id: i64,
    pub file_name: String,
    pub at_ms: i64,
    pub by: String,
    /// Lines of money received in the file.
    pub n_lines: i64,
    /// Of them, new: imported now.
    pub n_new: i64,
    /// Of them, imported before (the same line in this or another file).
    pub n_known: i64,
    /// Rows that could not be read (reported one by one to the importer).
    pub n_bad: i64,
    /// Rows that were money out or zero.
    pub n_not_received: i64,
    /// Σ of the new lines.
    pub new_amount: Fen,
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
    /// Creates the statement with a line for every fee-accrual transfer of
    /// the carrier's receivable in the month that is on no statement yet;
    /// `None` if the carrier has a statement for the month already.
    async fn insert_statement(&mut self, new: &NewStatement) -> StoreResult<Option<i64>>;
    /// The statement, locked until this transaction ends (PostgreSQL; on
    /// SQLite the one writer is alone).
    async fn lock_statement(&mut self, id: i64) -> StoreResult<Option<StatementRecord>>;
    async fn statement_lines_in(&mut self, statement_id: i64) -> StoreResult<Vec<StatementLine>>;
    /// Writes a line's answer and resolution fields (status, reason,
    /// answered, resolution, credited, resolved); its fee stays as issued.
    async fn update_statement_line(&mut self, line: &StatementLine) -> StoreResult<()>;
    /// Recounts the statement's lines and sums, sets its status, and
    /// returns it.
    async fn refresh_statement(
        &mut self,
        id: i64,
        status: StatementStatus,
        now_ms: i64,
    ) -> StoreResult<StatementRecord>;
    /// The debtor's terms as they are in this transaction.
    async fn debtor_terms_in(&mut self, carrier: Carrier) -> StoreResult<Option<DebtorTerms>>;
    /// Writes (inserts or replaces) a debtor's terms.
    async fn put_debtor_terms(&mut self, terms: &NewDebtorTerms) -> StoreResult<()>;
    /// Appends a contact (its `id` is ignored) and returns its id.
    async fn insert_debtor_contact(&mut self, contact: &ContactRecord) -> StoreResult<i64>;
    /// Writes the import's counts (its row is made with the first).
    async fn put_bank_import(&mut self, import: &BankImportRecord) -> StoreResult<i64>;
    /// Keeps a receipt unless its fingerprint is known: its id, or `None`.
    async fn insert_receipt(&mut self, receipt: &ReceiptRecord) -> StoreResult<Option<i64>>;
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
    /// Statements, newest month first (one carrier's, or every carrier's).
    async fn statements(
        &self,
        carrier: Option<Carrier>,
        limit: u32,
    ) -> StoreResult<Vec<StatementRecord>>;
    async fn statement(&self, id: i64) -> StoreResult<Option<StatementRecord>>;
    /// A statement's lines in the order they accrued.
    async fn statement_lines(&self, statement_id: i64) -> StoreResult<Vec<StatementLine>>;
    /// Every debtor's terms, by carrier code.
    async fn debtor_terms_all(&self) -> StoreResult<Vec<DebtorTerms>>;
    /// A debtor's contacts, newest first, at most `limit`.
    async fn debtor_contacts(
        &self,
        carrier: Carrier,
        limit: u32,
    ) -> StoreResult<Vec<ContactRecord>>;
    /// The receipts of a bank day, in the order they were imported.
    async fn receipts_on(&self, day: NaiveDate) -> StoreResult<Vec<ReceiptRecord>>;
    /// The latest imports, newest first.
    async fn bank_imports(&self, limit: u32) -> StoreResult<Vec<BankImportRecord>>;
}

//! Money (issue 15): the double-entry ledger as finance reads it — accounts
//! with their balances, an account's transfers, the check that proves the
//! ledger whole — and the start-up backfill that posts fees accrued before
//! the ledger existed. Posting itself is the shared `crate::ledger::post`,
//! called inside the transaction of the act that moves the money.

mod arrears;
mod books;
// branch claims (issue 15).
mod claims;
// branch money2 (issue 15, session 10): collection plans.
mod exposure;
mod plans;
mod receipts;
mod reminders;
mod statements;

pub use crate::ports::claims::ClaimEnd;
pub use crate::ports::ledger::{Account, AccountRecord, Transfer};
pub use crate::ports::ledger::{ContactRecord, DebtorTerms, Responsible};
pub use crate::ports::ledger::{StatementLine, StatementRecord};
pub use arrears::{ContactRequest, DebtorRow, DebtorView, TermsRequest};
pub use books::{LedgerCheck, LedgerProblem};
pub use claims::{
    BAD_DEBT_REASON_CHARS_MAX, BadDebtRequest, ClaimRecord, DebtorPayments, PaymentRecord,
    UnclaimedReceipt, WriteOffRecord, WriteOffRequest, WriteOffView,
};
pub use domain::collection::{Period, PlanKind};
pub use domain::finance::{Ageing, Bucket, ContactChannel, LineStatus, Month, StatementStatus};
pub use domain::ledger::{AccountKind, NewTransfer, TransferKind};
pub use exposure::{
    CreditRequest, CreditRule, ExposureRow, ExposureRun, IncidentRecord, TEMPLATE_EXPOSURE_ALERT,
};
pub use plans::{DebtorProgress, PersonProgress, PlanRecord, PlanTarget, PlanView, TargetRequest};
pub use receipts::{BankImportRecord, BankImportReport, DailyReceipts, ReceiptRecord};
pub use reminders::{REMINDER_CATCH_UP_DAYS, ReminderRun, TEMPLATE_INVOICE_REMINDER};
pub use statements::{LineAnswer, Resolution, StatementView};

use crate::error::{AppError, AppResult};
use domain::Principal;

/// Reading the books: county staff, the administrator and the auditor.
fn must_read_books(principal: &Principal) -> AppResult<()> {
    if principal.may_read_books() {
        Ok(())
    } else {
        Err(AppError::Forbidden("ledger"))
    }
}

/// Keeping the books: county staff and the administrator.
fn must_keep_books(principal: &Principal) -> AppResult<()> {
    if principal.may_keep_books() {
        Ok(())
    } else {
        Err(AppError::Forbidden("ledger"))
    }
}

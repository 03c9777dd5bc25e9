//! The ledger's one writer (shared layer: any use case or effect calls
//! [`post`] inside its open transaction; it names no use case). The rules
//! of a transfer and its hash are `domain::ledger`'s; the chain is
//! serialised by `LedgerTx::lock_ledger_head`.
//!
//! Posting is idempotent by transfer id: the same id with the same content
//! is one transfer however often it is posted, and the same id with other
//! content is refused (`transfer_id_reused`). Lock order on PostgreSQL: a
//! transaction that posts and records an audit row posts first (the
//! transition path posts fees before any use case records its act).

use crate::error::{AppError, AppResult, Code};
use crate::ports::county::NewFee;
use crate::ports::prelude::*;
use chrono::{DateTime, Utc};
pub use domain::ledger::{Account, AccountKind, NewTransfer, Transfer, TransferKind};

/// What posting did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Posted {
    pub transfer: Transfer,
    /// The id was posted before with the same content; nothing changed.
    pub repeat: bool,
}

/// Appends `new` to the ledger in `tx` and adds it to both accounts'
/// totals; a repeat of a posted transfer changes nothing.
pub async fn post(tx: &mut dyn Tx, new: &NewTransfer, now: DateTime<Utc>) -> AppResult<Posted> {
    new.check().map_err(|error| {
        let (zh, en) = transfer_error_words(&error);
        AppError::new(Code::TransferInvalid).with_words("rule", zh, en)
    })?;
    // The lock first, so a concurrent poster of the same id waits and then
    // sees this one's row.
    let head = tx.lock_ledger_head().await?;
    if let Some(stored) = tx.transfer_by_id(&new.id).await? {
        if new.same_as(&stored) {
            return Ok(Posted {
                transfer: stored,
                repeat: true,
            });
        }
        return Err(AppError::new(Code::TransferIdReused).with("id", new.id.clone()));
    }
    let transfer = domain::ledger::chain(
        head.as_ref().map(|(seq, hash)| (*seq, hash.as_str())),
        new,
        now.timestamp_millis(),
    );
    tx.insert_transfer(&transfer).await?;
    Ok(Posted {
        transfer,
        repeat: false,
    })
}

/// A refused transfer's reason in Chinese and English.
fn transfer_error_words(error: &domain::ledger::TransferError) -> (&'static str, &'static str) {
    use domain::ledger::TransferError;
    match error {
        TransferError::Amount { .. } => (
            "金额须大于零且不超过一千万元",
            "the amount must be more than zero and at most 10,000,000 yuan",
        ),
        TransferError::SameAccount => (
            "借方和贷方不能是同一个账户",
            "the debit and credit accounts are the same",
        ),
        TransferError::Id { .. } => (
            "转账编号须为 1 至 128 个可见 ASCII 字符",
            "the transfer id must be 1 to 128 visible ASCII characters",
        ),
        TransferError::Reference { .. } => (
            "摘要超过 500 字",
            "the reference is longer than 500 characters",
        ),
        TransferError::Reverses => (
            "冲销须注明被冲销的转账，其他类型（调整除外）不能注明",
            "a reversal names the transfer it reverses, and only a reversal or an adjustment names one",
        ),
    }
}

/// The transfer a co-delivery fee posts: the carrier's receivable debited,
/// co-delivery revenue credited, under the id `fee:<parcel id>` (a parcel
/// accrues one fee). The same for the live accrual and the backfill, so
/// either may run first.
pub fn fee_transfer(fee: &NewFee) -> NewTransfer {
    NewTransfer {
        id: format!("fee:{}", fee.parcel_id),
        debit: Account::receivable(fee.carrier),
        credit: Account::of(AccountKind::CoDeliveryRevenue),
        amount: fee.amount,
        kind: TransferKind::FeeAccrual,
        reference: fee.event_key.clone(),
        parcel_id: Some(fee.parcel_id),
        reverses: None,
        at_ms: fee.at.timestamp_millis(),
    }
}

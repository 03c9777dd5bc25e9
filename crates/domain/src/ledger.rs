//! The double-entry ledger's rules (issue 15), after TigerBeetle's model:
//! accounts, and transfers that move an amount in fen from one account (the
//! debit side) to another (the credit side) under a unique id. A transfer is
//! never changed or removed: a correction is a reversing transfer (debit and
//! credit swapped) that names the transfer it reverses. Every account's
//! balance is derived from its transfers, so Σ debits = Σ credits over all
//! accounts by construction; the store caches balances and
//! `App::check_ledger` proves the cache against the transfers.
//!
//! Transfers are chained like the audit trail: each stored transfer holds the
//! previous one's hash and its own (SHA-256 over [`encode`]), so an edit made
//! past the database's triggers shows in the check.
//!
//! Pure: no IO, no clock; `at` is an argument.

use crate::{Carrier, Fen};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash before the first transfer.
pub const GENESIS_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/// The first line of every encoded transfer; a new encoding gets a new tag.
pub const ENCODING_TAG: &str = "yizhan-ledger-v1";
/// A transfer id is 1 to this many visible ASCII characters.
pub const TRANSFER_ID_MAX: usize = 128;
/// A reference (what the transfer is about, in words or ids) is at most this
/// many characters.
pub const REFERENCE_MAX: usize = 500;
/// The largest amount of one transfer: ten million yuan, far above any
/// county's month, so a typo of many digits is refused rather than posted.
pub const AMOUNT_MAX: Fen = Fen(1_000_000_000);

/// What an account is for. An account is a kind and, for the kinds that are
/// kept per party, the party (a carrier's code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// What a carrier owes the county for co-delivery (per carrier; an
    /// asset, debit-normal).
    CarrierReceivable,
    /// Co-delivery fees earned (revenue, credit-normal).
    CoDeliveryRevenue,
    /// Sending (寄件) revenue (revenue, credit-normal).
    SendingRevenue,
    /// What the kiosk channel collected and owes over (asset, debit-normal).
    KioskChannel,
    /// Money in the bank not yet claimed for a debtor (liability until
    /// claimed, credit-normal).
    UnappliedCash,
    /// The bank: money received (asset, debit-normal).
    PaymentClearing,
    /// Commissions owed to staff (liability, credit-normal).
    CommissionPayable,
    /// Debts written off as uncollectable (expense, debit-normal).
    WriteOffExpense,
    /// Money a carrier paid beyond what it owed (per carrier; liability,
    /// credit-normal).
    CarrierCredit,
}

impl AccountKind {
    pub const ALL: &'static [AccountKind] = &[
        AccountKind::CarrierReceivable,
        AccountKind::CoDeliveryRevenue,
        AccountKind::SendingRevenue,
        AccountKind::KioskChannel,
        AccountKind::UnappliedCash,
        AccountKind::PaymentClearing,
        AccountKind::CommissionPayable,
        AccountKind::WriteOffExpense,
        AccountKind::CarrierCredit,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AccountKind::CarrierReceivable => "carrier_receivable",
            AccountKind::CoDeliveryRevenue => "co_delivery_revenue",
            AccountKind::SendingRevenue => "sending_revenue",
            AccountKind::KioskChannel => "kiosk_channel",
            AccountKind::UnappliedCash => "unapplied_cash",
            AccountKind::PaymentClearing => "payment_clearing",
            AccountKind::CommissionPayable => "commission_payable",
            AccountKind::WriteOffExpense => "write_off_expense",
            AccountKind::CarrierCredit => "carrier_credit",
        }
    }

    pub fn parse(code: &str) -> Option<AccountKind> {
        AccountKind::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// Kept per carrier: the account names one.
    pub fn per_carrier(self) -> bool {
        matches!(
            self,
            AccountKind::CarrierReceivable | AccountKind::CarrierCredit
        )
    }

    /// Assets and expenses grow by debits; revenue and liabilities by
    /// credits. Only how a balance is shown depends on it.
    pub fn debit_normal(self) -> bool {
        matches!(
            self,
            AccountKind::CarrierReceivable
                | AccountKind::KioskChannel
                | AccountKind::PaymentClearing
                | AccountKind::WriteOffExpense
        )
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            AccountKind::CarrierReceivable => "应收账款",
            AccountKind::CoDeliveryRevenue => "共配收入",
            AccountKind::SendingRevenue => "寄件收入",
            AccountKind::KioskChannel => "自助寄件渠道",
            AccountKind::UnappliedCash => "待认领款项",
            AccountKind::PaymentClearing => "银行存款",
            AccountKind::CommissionPayable => "应付提成",
            AccountKind::WriteOffExpense => "坏账核销",
            AccountKind::CarrierCredit => "预收款（多付）",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            AccountKind::CarrierReceivable => "Receivable",
            AccountKind::CoDeliveryRevenue => "Co-delivery revenue",
            AccountKind::SendingRevenue => "Sending revenue",
            AccountKind::KioskChannel => "Kiosk channel",
            AccountKind::UnappliedCash => "Unapplied cash",
            AccountKind::PaymentClearing => "Bank (payment clearing)",
            AccountKind::CommissionPayable => "Commission payable",
            AccountKind::WriteOffExpense => "Write-off expense",
            AccountKind::CarrierCredit => "Carrier credit (overpaid)",
        }
    }
}

/// One account: its kind and, for a per-carrier kind, the carrier. Its code
/// (`carrier_receivable:ZTO`, `co_delivery_revenue`) is how the store names
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Account {
    pub kind: AccountKind,
    pub carrier: Option<Carrier>,
}

impl Account {
    /// A county-wide account. Panics on a per-carrier kind: that is a
    /// programming error, not input.
    pub fn of(kind: AccountKind) -> Account {
        assert!(!kind.per_carrier(), "{} is kept per carrier", kind.code());
        Account {
            kind,
            carrier: None,
        }
    }

    pub fn receivable(carrier: Carrier) -> Account {
        Account {
            kind: AccountKind::CarrierReceivable,
            carrier: Some(carrier),
        }
    }

    pub fn credit_of(carrier: Carrier) -> Account {
        Account {
            kind: AccountKind::CarrierCredit,
            carrier: Some(carrier),
        }
    }

    pub fn code(&self) -> String {
        match self.carrier {
            Some(carrier) => format!("{}:{}", self.kind.code(), carrier.code()),
            None => self.kind.code().to_string(),
        }
    }

    pub fn parse(code: &str) -> Option<Account> {
        let (kind, carrier) = match code.split_once(':') {
            Some((kind, carrier)) => (
                AccountKind::parse(kind)?,
                Some(Carrier::ALL.into_iter().find(|c| c.code() == carrier)?),
            ),
            None => (AccountKind::parse(code)?, None),
        };
        (kind.per_carrier() == carrier.is_some()).then_some(Account { kind, carrier })
    }

    /// The balance on the account's normal side, from its debit and credit
    /// totals.
    pub fn balance(&self, debits: Fen, credits: Fen) -> Fen {
        if self.kind.debit_normal() {
            Fen(debits.0 - credits.0)
        } else {
            Fen(credits.0 - debits.0)
        }
    }
}

/// Why money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// A co-delivery fee accrued when a parcel counted as delivered.
    FeeAccrual,
    /// Sending revenue (the `sending` branch posts these).
    SendingRevenue,
    /// A kiosk's commission (the `sending` branch posts these).
    KioskCommission,
    /// Undoes a transfer: debit and credit swapped, same amount.
    Reversal,
    /// A correction by a stated amount (a disputed line settled lower).
    Adjustment,
    /// Money arrived in the bank, not yet claimed.
    Receipt,
    /// Unapplied money claimed for a debtor.
    Claim,
    /// Claimed money applied to a debtor's invoices.
    WriteOff,
    /// A debt written off as uncollectable.
    BadDebt,
}

impl TransferKind {
    pub const ALL: &'static [TransferKind] = &[
        TransferKind::FeeAccrual,
        TransferKind::SendingRevenue,
        TransferKind::KioskCommission,
        TransferKind::Reversal,
        TransferKind::Adjustment,
        TransferKind::Receipt,
        TransferKind::Claim,
        TransferKind::WriteOff,
        TransferKind::BadDebt,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TransferKind::FeeAccrual => "fee_accrual",
            TransferKind::SendingRevenue => "sending_revenue",
            TransferKind::KioskCommission => "kiosk_commission",
            TransferKind::Reversal => "reversal",
            TransferKind::Adjustment => "adjustment",
            TransferKind::Receipt => "receipt",
            TransferKind::Claim => "claim",
            TransferKind::WriteOff => "write_off",
            TransferKind::BadDebt => "bad_debt",
        }
    }

    pub fn parse(code: &str) -> Option<TransferKind> {
        TransferKind::ALL.iter().copied().find(|k| k.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            TransferKind::FeeAccrual => "派费计提",
            TransferKind::SendingRevenue => "寄件收入",
            TransferKind::KioskCommission => "自助寄件提成",
            TransferKind::Reversal => "冲销",
            TransferKind::Adjustment => "调整",
            TransferKind::Receipt => "到账",
            TransferKind::Claim => "认领",
            TransferKind::WriteOff => "核销",
            TransferKind::BadDebt => "坏账",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            TransferKind::FeeAccrual => "Fee accrued",
            TransferKind::SendingRevenue => "Sending revenue",
            TransferKind::KioskCommission => "Kiosk commission",
            TransferKind::Reversal => "Reversal",
            TransferKind::Adjustment => "Adjustment",
            TransferKind::Receipt => "Money received",
            TransferKind::Claim => "Claim",
            TransferKind::WriteOff => "Write-off",
            TransferKind::BadDebt => "Bad debt",
        }
    }
}

/// A transfer as a use case asks for it. `id` is the caller's idempotency
/// key: posting the same id again is one transfer, and the same id with
/// different content is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTransfer {
    pub id: String,
    pub debit: Account,
    pub credit: Account,
    pub amount: Fen,
    pub kind: TransferKind,
    /// What it is about, in words or ids (a waybill, a bank line, a reason).
    pub reference: String,
    /// The parcel behind it, when there is one (statements list them).
    pub parcel_id: Option<i64>,
    /// The transfer this one reverses or adjusts.
    pub reverses: Option<String>,
    /// When it happened (Unix milliseconds): the accrual's event, the bank's
    /// value date; not when it was posted.
    pub at_ms: i64,
}

/// Why a transfer cannot be posted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("the amount must be more than zero and at most {max}")]
    Amount { max: Fen },
    #[error("the debit and credit accounts are the same")]
    SameAccount,
    #[error("the transfer id must be 1 to {max} visible ASCII characters")]
    Id { max: usize },
    #[error("the reference is longer than {max} characters")]
    Reference { max: usize },
    #[error(
        "a reversal names the transfer it reverses, and only a reversal or an adjustment names one"
    )]
    Reverses,
}

impl NewTransfer {
    /// The ledger's rules for one transfer.
    pub fn check(&self) -> Result<(), TransferError> {
        if self.amount.0 <= 0 || self.amount > AMOUNT_MAX {
            return Err(TransferError::Amount { max: AMOUNT_MAX });
        }
        if self.debit == self.credit {
            return Err(TransferError::SameAccount);
        }
        if self.id.is_empty()
            || self.id.len() > TRANSFER_ID_MAX
            || !self.id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(TransferError::Id {
                max: TRANSFER_ID_MAX,
            });
        }
        if self.reference.chars().count() > REFERENCE_MAX {
            return Err(TransferError::Reference { max: REFERENCE_MAX });
        }
        if (self.kind == TransferKind::Reversal) != self.reverses.is_some()
            && self.kind != TransferKind::Adjustment
        {
            return Err(TransferError::Reverses);
        }
        Ok(())
    }

    /// The transfer that undoes `self`: the same amount from the credit
    /// account back to the debit account, under the id `id`.
    pub fn reversal(&self, id: String, reference: String, at_ms: i64) -> NewTransfer {
        NewTransfer {
            id,
            debit: self.credit,
            credit: self.debit,
            amount: self.amount,
            kind: TransferKind::Reversal,
            reference,
            parcel_id: self.parcel_id,
            reverses: Some(self.id.clone()),
            at_ms,
        }
    }

    /// Whether a stored transfer says the same as this request (posting the
    /// same id again is then a repeat, not a conflict).
    pub fn same_as(&self, stored: &Transfer) -> bool {
        self.id == stored.id
            && self.debit == stored.debit
            && self.credit == stored.credit
            && self.amount == stored.amount
            && self.kind == stored.kind
            && self.reference == stored.reference
            && self.parcel_id == stored.parcel_id
            && self.reverses == stored.reverses
            && self.at_ms == stored.at_ms
    }
}

/// A transfer as stored: the request, its place in the chain and when it
/// was posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// 1, 2, 3, … with no gaps.
    pub seq: i64,
    pub id: String,
    pub debit: Account,
    pub credit: Account,
    pub amount: Fen,
    pub kind: TransferKind,
    pub reference: String,
    pub parcel_id: Option<i64>,
    pub reverses: Option<String>,
    pub at_ms: i64,
    pub posted_ms: i64,
    pub prev_hash: String,
    pub hash: String,
}

fn field(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(value.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

/// The bytes hashed for a transfer: the tag line, then each field as
/// `<byte length>:<UTF-8 bytes>\n` — seq, id, debit account code, credit
/// account code, amount in fen, kind code, reference, parcel id, reversed
/// id, at, posted, prev_hash. Numbers in decimal; an absent value is the
/// empty string.
pub fn encode(t: &Transfer) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + t.reference.len());
    out.extend_from_slice(ENCODING_TAG.as_bytes());
    out.push(b'\n');
    field(&mut out, &t.seq.to_string());
    field(&mut out, &t.id);
    field(&mut out, &t.debit.code());
    field(&mut out, &t.credit.code());
    field(&mut out, &t.amount.0.to_string());
    field(&mut out, t.kind.code());
    field(&mut out, &t.reference);
    field(
        &mut out,
        &t.parcel_id.map(|p| p.to_string()).unwrap_or_default(),
    );
    field(&mut out, t.reverses.as_deref().unwrap_or(""));
    field(&mut out, &t.at_ms.to_string());
    field(&mut out, &t.posted_ms.to_string());
    field(&mut out, &t.prev_hash);
    out
}

/// SHA-256 of [`encode`] in unpadded URL-safe base64 (43 characters; not
/// hex, for the reason `audit::row_hash` gives).
pub fn transfer_hash(t: &Transfer) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(encode(t)))
}

/// The stored transfer after `head` (`None`: the ledger is empty).
pub fn chain(head: Option<(i64, &str)>, new: &NewTransfer, posted_ms: i64) -> Transfer {
    let (seq, prev) = match head {
        Some((seq, hash)) => (seq + 1, hash.to_string()),
        None => (1, GENESIS_HASH.to_string()),
    };
    let mut t = Transfer {
        seq,
        id: new.id.clone(),
        debit: new.debit,
        credit: new.credit,
        amount: new.amount,
        kind: new.kind,
        reference: new.reference.clone(),
        parcel_id: new.parcel_id,
        reverses: new.reverses.clone(),
        at_ms: new.at_ms,
        posted_ms,
        prev_hash: prev,
        hash: String::new(),
    };
    t.hash = transfer_hash(&t);
    t
}

/// What is wrong with a stored transfer, seen in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainBreak {
    /// A sequence number is missing or out of order.
    Gap,
    /// `prev_hash` is not the previous transfer's hash.
    PrevHashMismatch,
    /// The stored hash is not the hash of the stored fields (changed).
    HashMismatch,
}

/// Checks one transfer against the one before it (`None` for the first).
pub fn verify_next(prev: Option<(i64, &str)>, t: &Transfer) -> Option<ChainBreak> {
    let (seq, prev_hash) = match prev {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH),
    };
    if t.seq != seq {
        return Some(ChainBreak::Gap);
    }
    if t.prev_hash != prev_hash {
        return Some(ChainBreak::PrevHashMismatch);
    }
    if transfer_hash(t) != t.hash {
        return Some(ChainBreak::HashMismatch);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fee(id: &str, amount: i64) -> NewTransfer {
        NewTransfer {
            id: id.into(),
            debit: Account::receivable(Carrier::Zto),
            credit: Account::of(AccountKind::CoDeliveryRevenue),
            amount: Fen(amount),
            kind: TransferKind::FeeAccrual,
            reference: "731000000001".into(),
            parcel_id: Some(7),
            reverses: None,
            at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn account_codes_round_trip() {
        for &kind in AccountKind::ALL {
            let account = if kind.per_carrier() {
                Account {
                    kind,
                    carrier: Some(Carrier::Sf),
                }
            } else {
                Account::of(kind)
            };
            assert_eq!(Account::parse(&account.code()), Some(account));
        }
        assert_eq!(Account::parse("carrier_receivable"), None);
        assert_eq!(Account::parse("co_delivery_revenue:ZTO"), None);
        assert_eq!(Account::parse("carrier_receivable:XX"), None);
        for &kind in TransferKind::ALL {
            assert_eq!(TransferKind::parse(kind.code()), Some(kind));
        }
    }

    #[test]
    fn transfers_follow_the_rules() {
        assert_eq!(fee("fee:1", 45).check(), Ok(()));
        assert!(matches!(
            fee("fee:1", 0).check(),
            Err(TransferError::Amount { .. })
        ));
        assert!(matches!(
            fee("fee:1", -5).check(),
            Err(TransferError::Amount { .. })
        ));
        assert!(fee("fee:1", AMOUNT_MAX.0 + 1).check().is_err());
        assert!(matches!(fee("", 5).check(), Err(TransferError::Id { .. })));
        assert!(fee("fee 1", 5).check().is_err(), "no spaces");
        let mut same = fee("x", 5);
        same.credit = same.debit;
        assert_eq!(same.check(), Err(TransferError::SameAccount));
        let mut unnamed = fee("x", 5);
        unnamed.kind = TransferKind::Reversal;
        assert_eq!(unnamed.check(), Err(TransferError::Reverses));
        let reversal = fee("fee:1", 45).reversal("rev:1".into(), "wrong".into(), 1);
        assert_eq!(reversal.check(), Ok(()));
        assert_eq!(
            (reversal.debit, reversal.credit, reversal.amount),
            (
                Account::of(AccountKind::CoDeliveryRevenue),
                Account::receivable(Carrier::Zto),
                Fen(45)
            )
        );
    }

    #[test]
    fn balances_show_on_the_normal_side() {
        let receivable = Account::receivable(Carrier::Zto);
        let revenue = Account::of(AccountKind::CoDeliveryRevenue);
        assert_eq!(receivable.balance(Fen(100), Fen(30)), Fen(70));
        assert_eq!(revenue.balance(Fen(30), Fen(100)), Fen(70));
    }

    #[test]
    fn the_chain_finds_any_change() {
        let first = chain(None, &fee("fee:1", 45), 10);
        let second = chain(Some((first.seq, &first.hash)), &fee("fee:2", 50), 11);
        assert_eq!((first.seq, second.seq), (1, 2));
        assert_eq!(verify_next(None, &first), None);
        assert_eq!(verify_next(Some((1, &first.hash)), &second), None);
        assert!(fee("fee:2", 50).same_as(&second));
        assert!(!fee("fee:2", 51).same_as(&second));
        let mut changed = second.clone();
        changed.amount = Fen(5);
        assert_eq!(
            verify_next(Some((1, &first.hash)), &changed),
            Some(ChainBreak::HashMismatch)
        );
        let mut moved = second.clone();
        moved.seq = 3;
        assert_eq!(
            verify_next(Some((1, &first.hash)), &moved),
            Some(ChainBreak::Gap)
        );
        assert_eq!(
            verify_next(Some((1, "other")), &second),
            Some(ChainBreak::PrevHashMismatch)
        );
    }
}

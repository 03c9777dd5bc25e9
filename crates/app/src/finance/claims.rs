//! Claims (认领) and write-offs (核销), issue 15 point 4 (branch `claims`).
//! Money received sits in unapplied cash until a finance user claims it for
//! a debtor: one claim per receipt (`receipt_claims.receipt_id` is the key,
//! so of two people claiming at once exactly one wins and the other is told
//! who did), posting `claim:<receipt>` from unapplied cash to the debtor's
//! credit. A write-off applies the debtor's credit to its open invoices —
//! issued statements still owed on — oldest due first, or the invoices
//! chosen, each up to what it still owes: partial payments are allowed and
//! what is left stays as the debtor's credit for the next invoice. Each
//! application is one transfer `wo:<request key>:<statement>` (credit →
//! receivable), and the request key makes a repeated write-off one
//! write-off. A write-off above `approvals.write_off_fen_max` waits for a
//! second person (maker–checker, single use).
//!
//! Lock order: the statements (by id), then the ledger's head, then the
//! approval and the audit trail — the order `resolve_statement_line` takes.

use super::{must_keep_books, must_read_books};
use crate::approvals;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code};
use crate::ports::claims::NewWriteOff;
pub use crate::ports::claims::{ClaimRecord, PaymentRecord, WriteOffRecord};
use crate::ports::ledger::{ReceiptRecord, StatementRecord};
use crate::{App, ledger};
use domain::approval::{Scope, State};
use domain::ledger::{Account, AccountKind, NewTransfer, TransferKind};
use domain::{Carrier, Fen, Principal};
use serde::Serialize;

/// Longest write-off request key (the transfer id holds it).
pub const KEY_CHARS_MAX: usize = 64;
/// Most unclaimed receipts one list shows (oldest first).
const UNCLAIMED_LISTED_MAX: u32 = 500;
/// Most payments or claims one list shows.
const PAYMENTS_LISTED_MAX: u32 = 500;
/// Most invoices one write-off names.
pub const INVOICES_CHOSEN_MAX: usize = 100;
/// Longest reason for un-claiming (branch money2).
pub const UNCLAIM_REASON_CHARS_MAX: usize = 200;

/// A receipt nobody has claimed yet, with its age in days since the bank's
/// day.
#[derive(Debug, Clone, Serialize)]
pub struct UnclaimedReceipt {
    #[serde(flatten)]
    pub receipt: ReceiptRecord,
    pub age_days: i64,
}

/// A write-off asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WriteOffRequest {
    /// The caller's idempotency key: the same key again is the same
    /// write-off. 1 to 64 visible ASCII characters.
    pub key: String,
    pub carrier: Carrier,
    /// The invoices (statement ids) to pay, in this order; empty: every
    /// open invoice, oldest due first.
    #[serde(default)]
    pub statements: Vec<i64>,
    /// At most this much of the credit; `None`: as much as is owed.
    #[serde(default)]
    pub amount: Option<Fen>,
}

/// What a write-off did.
#[derive(Debug, Clone, Serialize)]
pub struct WriteOffView {
    pub write_off: WriteOffRecord,
    pub payments: Vec<PaymentRecord>,
    /// The key was used before: nothing new was written.
    pub repeat: bool,
    /// The debtor's credit left after it.
    pub credit_left: Fen,
}

/// A debtor's money as the debtor and finance see it: its credit (paid and
/// not yet applied), the receipts claimed for it and the payments applied
/// to its invoices.
#[derive(Debug, Clone, Serialize)]
pub struct DebtorPayments {
    pub carrier: Carrier,
    pub credit: Fen,
    pub claims: Vec<ClaimRecord>,
    pub payments: Vec<PaymentRecord>,
}

/// Bad-debt write-offs keep their request keys beside ordinary ones in
/// `write_offs.request_key`, under this prefix; a caller's key may not
/// start with it, or an ordinary write-off could find a bad debt as its
/// own repeat.
const BAD_DEBT_KEY_PREFIX: &str = "bad:";

fn key_ok(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= KEY_CHARS_MAX
        && key.bytes().all(|b| b.is_ascii_graphic())
        && !key.starts_with(BAD_DEBT_KEY_PREFIX)
}

/// Whether this person may see `carrier`'s payments: finance, and the
/// carrier itself.
fn may_see_payments(principal: &Principal, carrier: Carrier) -> bool {
    principal.may_read_books()
        || (principal.role == domain::Role::CarrierIntegrator && principal.carrier == Some(carrier))
}

impl App {
    /// Claims an unapplied receipt for a debtor: county staff and the
    /// administrator. Once per receipt: a second claim, at once or later,
    /// is refused with who claimed it for whom. Posts `claim:<receipt>`
    /// (unapplied cash → the debtor's credit); audited `receipt_claimed`.
    pub async fn claim_receipt(
        &self,
        principal: &Principal,
        receipt_id: i64,
        carrier: Carrier,
    ) -> AppResult<ClaimRecord> {
        must_keep_books(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let receipt = tx
            .receipt_in(receipt_id)
            .await?
            .ok_or(AppError::NotFound("receipt"))?;
        // A receipt un-claimed before (branch money2) is claimed again
        // under a new transfer id: `claim:<receipt>:<n>`.
        let earlier = tx.claims_count_in(receipt_id).await?;
        let claim = ClaimRecord {
            id: 0,
            receipt_id,
            carrier,
            amount: receipt.amount,
            transfer_id: if earlier == 0 {
                format!("claim:{receipt_id}")
            } else {
                format!("claim:{receipt_id}:{}", earlier + 1)
            },
            at_ms: now.timestamp_millis(),
            by: principal.username.clone(),
            ended: None,
        };
        // The claim's row first: a concurrent claimant waits here and then
        // finds this one's row.
        if !tx.insert_claim(&claim).await? {
            let winner = tx
                .claim_in(receipt_id)
                .await?
                .ok_or_else(|| AppError::Internal("a refused claim has no winner".into()))?;
            return Err(AppError::new(Code::ReceiptClaimed)
                .with("by", winner.by)
                .with("carrier", winner.carrier.code()));
        }
        let reference: String = format!("{} {}", receipt.payer_name, receipt.reference)
            .trim()
            .chars()
            .take(domain::ledger::REFERENCE_MAX)
            .collect();
        ledger::post(
            &mut *tx,
            &NewTransfer {
                id: claim.transfer_id.clone(),
                debit: Account::of(AccountKind::UnappliedCash),
                credit: Account::credit_of(carrier),
                amount: receipt.amount,
                kind: TransferKind::Claim,
                reference,
                parcel_id: None,
                reverses: None,
                at_ms: now.timestamp_millis(),
            },
            now,
        )
        .await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::ReceiptClaimed,
            Object::new("receipt", receipt_id),
            serde_json::json!({
                "carrier": carrier.code(),
                "amount_fen": receipt.amount.0,
                "day": receipt.day.to_string(),
                "transfer": claim.transfer_id,
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            receipt = receipt_id,
            carrier = carrier.code(),
            "receipt claimed"
        );
        Ok(claim)
    }

    /// Un-claims a receipt claimed for the wrong debtor (branch money2):
    /// county staff and the administrator. The claim ends (it is kept, with
    /// who ended it, when and why) and `unclaim:<receipt>[:<n>]` reverses
    /// its transfer (the debtor's credit → unapplied cash), so the receipt
    /// is unclaimed again and may be claimed for the right debtor. Refused
    /// (`claim_spent`) once the money was written off against the debtor's
    /// invoices — the debtor's credit no longer holds it; reversing a
    /// write-off is not built yet. Audited `receipt_unclaimed`.
    pub async fn unclaim_receipt(
        &self,
        principal: &Principal,
        receipt_id: i64,
        reason: &str,
    ) -> AppResult<ClaimRecord> {
        must_keep_books(principal)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > UNCLAIM_REASON_CHARS_MAX {
            return Err(
                AppError::new(Code::UnclaimReasonInvalid).with("max", UNCLAIM_REASON_CHARS_MAX)
            );
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut claim = tx
            .claim_in(receipt_id)
            .await?
            .ok_or(AppError::NotFound("claim"))?;
        // The ledger's head first: the credit read next stays so.
        tx.lock_ledger_head().await?;
        let credit = credit_in(&mut *tx, claim.carrier).await?;
        if credit < claim.amount {
            return Err(AppError::new(Code::ClaimSpent)
                .with("carrier", claim.carrier.code())
                .with("amount", claim.amount)
                .with("credit", credit));
        }
        let end = crate::ports::claims::ClaimEnd {
            at_ms: now.timestamp_millis(),
            by: principal.username.clone(),
            reason: reason.to_string(),
            transfer_id: format!("un{}", claim.transfer_id),
        };
        ledger::post(
            &mut *tx,
            &NewTransfer {
                id: end.transfer_id.clone(),
                debit: Account::credit_of(claim.carrier),
                credit: Account::of(AccountKind::UnappliedCash),
                amount: claim.amount,
                kind: TransferKind::Reversal,
                reference: reason.chars().take(domain::ledger::REFERENCE_MAX).collect(),
                parcel_id: None,
                reverses: Some(claim.transfer_id.clone()),
                at_ms: now.timestamp_millis(),
            },
            now,
        )
        .await?;
        tx.end_claim(claim.id, &end).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::ReceiptUnclaimed,
            Object::new("receipt", receipt_id),
            serde_json::json!({
                "carrier": claim.carrier.code(),
                "amount_fen": claim.amount.0,
                "reason": reason,
                "transfer": end.transfer_id,
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            receipt = receipt_id,
            carrier = claim.carrier.code(),
            "receipt un-claimed"
        );
        claim.ended = Some(end);
        Ok(claim)
    }

    /// Applies a debtor's credit to its open invoices (核销): county staff
    /// and the administrator. Oldest due first unless invoices are chosen;
    /// each invoice gets at most what it still owes; what is left stays as
    /// credit. Above the write-off threshold a second person approves it
    /// first (the first attempt files the request: `approval_required`).
    /// Audited `write_off_made`.
    pub async fn write_off(
        &self,
        principal: &Principal,
        request: &WriteOffRequest,
    ) -> AppResult<WriteOffView> {
        must_keep_books(principal)?;
        let key = request.key.trim();
        if !key_ok(key) {
            return Err(AppError::new(Code::WriteOffKeyInvalid).with("max", KEY_CHARS_MAX));
        }
        if request.statements.len() > INVOICES_CHOSEN_MAX {
            return Err(
                AppError::new(Code::WriteOffTooManyInvoices).with("max", INVOICES_CHOSEN_MAX)
            );
        }
        if let Some(amount) = request.amount
            && (amount.0 <= 0 || amount > domain::ledger::AMOUNT_MAX)
        {
            return Err(AppError::new(Code::WriteOffAmountInvalid));
        }
        let carrier = request.carrier;
        let thresholds = &self.settings.approvals;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if let Some(done) = tx.write_off_by_key(key).await? {
            if done.carrier != carrier {
                return Err(AppError::new(Code::WriteOffKeyReused).with("key", key));
            }
            let payments = tx.payments_of_write_off(done.id).await?;
            let credit_left = credit_in(&mut *tx, carrier).await?;
            tx.commit().await?;
            return Ok(WriteOffView {
                write_off: done,
                payments,
                repeat: true,
                credit_left,
            });
        }
        // The debtor's statements, locked (by id), then the ledger's head:
        // the credit read next is the latest and stays so.
        let statements = tx.lock_statements_of(carrier).await?;
        let open: Vec<&StatementRecord> = statements.iter().filter(|s| s.net.0 > 0).collect();
        let order: Vec<(i64, Fen)> = if request.statements.is_empty() {
            let mut oldest: Vec<&&StatementRecord> = open.iter().collect();
            oldest.sort_by_key(|s| (s.due_day, s.id));
            oldest.iter().map(|s| (s.id, s.net)).collect()
        } else {
            let mut chosen = Vec::with_capacity(request.statements.len());
            for id in &request.statements {
                let s = open.iter().find(|s| s.id == *id).ok_or_else(|| {
                    AppError::new(Code::WriteOffInvoiceInvalid)
                        .with("id", *id)
                        .with("carrier", carrier.code())
                })?;
                if !chosen.iter().any(|(c, _)| c == id) {
                    chosen.push((s.id, s.net));
                }
            }
            chosen
        };
        tx.lock_ledger_head().await?;
        let credit = credit_in(&mut *tx, carrier).await?;
        let available = match request.amount {
            Some(cap) => Fen(cap.0.min(credit.0)),
            None => credit,
        };
        let allocations = domain::finance::allocate(available, &order);
        let total = Fen(allocations.iter().map(|(_, a)| a.0).sum());
        if total.0 == 0 {
            return Err(AppError::new(Code::WriteOffNothing)
                .with("carrier", carrier.code())
                .with("credit", credit)
                .with("owed", Fen(order.iter().map(|(_, n)| n.0).sum())));
        }
        let mut approval = None;
        if thresholds.write_off_needs_approval(total) && domain::approval::applies_to(principal) {
            let scope = Scope::WriteOff {
                carrier: carrier.code(),
                amount: total.0,
                statements: allocations.iter().map(|(id, _)| *id).collect(),
            };
            let latest = tx
                .latest_approval(principal.user_id, &scope.canonical())
                .await?;
            match latest {
                Some(record)
                    if approvals::state_of(&record, thresholds, now) == State::Approved
                        && tx.use_approval(record.id, now).await? =>
                {
                    approval = Some(record.id);
                }
                _ => {
                    drop(tx);
                    let id = approvals::require(&*self.store, thresholds, principal, &scope, now)
                        .await?;
                    // Approved between the two reads: try again.
                    return Err(AppError::new(Code::ApprovalRequired).with("id", id));
                }
            }
        }
        let write_off_id = tx
            .insert_write_off(&NewWriteOff {
                key: key.to_string(),
                carrier,
                amount: total,
                at_ms: now.timestamp_millis(),
                by: principal.username.clone(),
                approval_id: approval,
            })
            .await?;
        let mut payments = Vec::with_capacity(allocations.len());
        for (statement_id, amount) in &allocations {
            let statement = statements
                .iter()
                .find(|s| s.id == *statement_id)
                .expect("allocated to a listed statement");
            let transfer_id = format!("wo:{key}:{statement_id}");
            ledger::post(
                &mut *tx,
                &NewTransfer {
                    id: transfer_id.clone(),
                    debit: Account::credit_of(carrier),
                    credit: Account::receivable(carrier),
                    amount: *amount,
                    kind: TransferKind::WriteOff,
                    reference: format!("{} {} #{}", carrier.code(), statement.month, statement.id),
                    parcel_id: None,
                    reverses: None,
                    at_ms: now.timestamp_millis(),
                },
                now,
            )
            .await?;
            let payment = PaymentRecord {
                id: 0,
                write_off_id: Some(write_off_id),
                statement_id: *statement_id,
                carrier,
                amount: *amount,
                transfer_id,
                at_ms: now.timestamp_millis(),
            };
            let id = tx.insert_invoice_payment(&payment).await?;
            payments.push(PaymentRecord { id, ..payment });
        }
        let credit_left = Fen(credit.0 - total.0);
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::WriteOffMade,
            Object::new("write_off", write_off_id),
            approvals::named(
                serde_json::json!({
                    "carrier": carrier.code(),
                    "amount_fen": total.0,
                    "invoices": allocations.iter().map(|(id, a)| serde_json::json!({"statement": id, "fen": a.0})).collect::<Vec<_>>(),
                    "credit_left_fen": credit_left.0,
                }),
                approval,
            ),
        )
        .await?;
        let write_off = tx
            .write_off_by_key(key)
            .await?
            .ok_or_else(|| AppError::Internal("write-off not read back".into()))?;
        tx.commit().await?;
        tracing::info!(
            write_off = write_off_id,
            carrier = carrier.code(),
            fen = total.0,
            "write-off made"
        );
        Ok(WriteOffView {
            write_off,
            payments,
            repeat: false,
            credit_left,
        })
    }

    /// Receipts nobody has claimed, oldest bank day first, with their age:
    /// finance staff and the auditor.
    pub async fn unclaimed_receipts(
        &self,
        principal: &Principal,
    ) -> AppResult<Vec<UnclaimedReceipt>> {
        must_read_books(principal)?;
        let today = self.today();
        Ok(self
            .store
            .unclaimed_receipts(UNCLAIMED_LISTED_MAX)
            .await?
            .into_iter()
            .map(|receipt| UnclaimedReceipt {
                age_days: (today - receipt.day).num_days().max(0),
                receipt,
            })
            .collect())
    }

    /// A debtor's credit, claims and payments, newest first: finance, and
    /// the carrier itself (another carrier's are not found).
    pub async fn debtor_payments(
        &self,
        principal: &Principal,
        carrier: Carrier,
    ) -> AppResult<DebtorPayments> {
        if !may_see_payments(principal, carrier) {
            return Err(AppError::Forbidden("ledger"));
        }
        let credit = self
            .store
            .ledger_account(&Account::credit_of(carrier))
            .await?
            .map_or(Fen(0), |a| a.balance);
        Ok(DebtorPayments {
            carrier,
            credit,
            claims: self.store.claims_of(carrier, PAYMENTS_LISTED_MAX).await?,
            payments: self.store.payments_of(carrier, PAYMENTS_LISTED_MAX).await?,
        })
    }
}

/// The debtor's credit balance as this transaction sees it.
async fn credit_in(tx: &mut dyn crate::ports::Tx, carrier: Carrier) -> AppResult<Fen> {
    Ok(tx
        .account_in(&Account::credit_of(carrier))
        .await?
        .map_or(Fen(0), |a| a.balance))
}

// branch money2 (issue 15, session 10): bad-debt write-offs.

/// A debt written off as uncollectable (坏账核销), asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BadDebtRequest {
    /// The caller's idempotency key, as for a write-off.
    pub key: String,
    pub carrier: Carrier,
    /// The invoice (statement id).
    pub statement: i64,
    /// At most this much; `None`: all it still owes.
    #[serde(default)]
    pub amount: Option<Fen>,
    /// Why it cannot be collected (1 to 200 characters).
    pub reason: String,
}

/// Longest bad-debt reason.
pub const BAD_DEBT_REASON_CHARS_MAX: usize = 200;

impl App {
    /// Writes an invoice off as a bad debt (坏账核销): county staff and the
    /// administrator; above `approvals.write_off_fen_max` only after a
    /// second person approves exactly that (maker–checker, single use, like
    /// a write-off). Posts `bad:<key>:<statement>` (write-off expense
    /// debited, the receivable credited, kind `bad_debt`) and records it as
    /// a payment on the invoice, so the invoice's net falls; collection
    /// plans do not count it. The key makes a repeat one write-off. Audited
    /// `bad_debt_written_off`.
    pub async fn write_off_bad_debt(
        &self,
        principal: &Principal,
        request: &BadDebtRequest,
    ) -> AppResult<WriteOffView> {
        must_keep_books(principal)?;
        let key = request.key.trim();
        if !key_ok(key) {
            return Err(AppError::new(Code::WriteOffKeyInvalid).with("max", KEY_CHARS_MAX));
        }
        let reason = request.reason.trim();
        if reason.is_empty() || reason.chars().count() > BAD_DEBT_REASON_CHARS_MAX {
            return Err(
                AppError::new(Code::BadDebtReasonInvalid).with("max", BAD_DEBT_REASON_CHARS_MAX)
            );
        }
        if let Some(amount) = request.amount
            && (amount.0 <= 0 || amount > domain::ledger::AMOUNT_MAX)
        {
            return Err(AppError::new(Code::WriteOffAmountInvalid));
        }
        let carrier = request.carrier;
        let stored_key = format!("{BAD_DEBT_KEY_PREFIX}{key}");
        let thresholds = &self.settings.approvals;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if let Some(done) = tx.write_off_by_key(&stored_key).await? {
            if done.carrier != carrier {
                return Err(AppError::new(Code::WriteOffKeyReused).with("key", key));
            }
            let payments = tx.payments_of_write_off(done.id).await?;
            let credit_left = credit_in(&mut *tx, carrier).await?;
            tx.commit().await?;
            return Ok(WriteOffView {
                write_off: done,
                payments,
                repeat: true,
                credit_left,
            });
        }
        let statements = tx.lock_statements_of(carrier).await?;
        let statement = statements
            .iter()
            .find(|s| s.id == request.statement && s.net.0 > 0)
            .ok_or_else(|| {
                AppError::new(Code::WriteOffInvoiceInvalid)
                    .with("id", request.statement)
                    .with("carrier", carrier.code())
            })?;
        let amount = Fen(request
            .amount
            .map_or(statement.net.0, |a| a.0.min(statement.net.0)));
        tx.lock_ledger_head().await?;
        let mut approval = None;
        if thresholds.write_off_needs_approval(amount) && domain::approval::applies_to(principal) {
            let scope = Scope::BadDebt {
                carrier: carrier.code(),
                amount: amount.0,
                statement: statement.id,
            };
            let latest = tx
                .latest_approval(principal.user_id, &scope.canonical())
                .await?;
            match latest {
                Some(record)
                    if approvals::state_of(&record, thresholds, now) == State::Approved
                        && tx.use_approval(record.id, now).await? =>
                {
                    approval = Some(record.id);
                }
                _ => {
                    drop(tx);
                    let id = approvals::require(&*self.store, thresholds, principal, &scope, now)
                        .await?;
                    return Err(AppError::new(Code::ApprovalRequired).with("id", id));
                }
            }
        }
        let write_off_id = tx
            .insert_write_off(&NewWriteOff {
                key: stored_key.clone(),
                carrier,
                amount,
                at_ms: now.timestamp_millis(),
                by: principal.username.clone(),
                approval_id: approval,
            })
            .await?;
        let transfer_id = format!("bad:{key}:{}", statement.id);
        ledger::post(
            &mut *tx,
            &NewTransfer {
                id: transfer_id.clone(),
                debit: Account::of(AccountKind::WriteOffExpense),
                credit: Account::receivable(carrier),
                amount,
                kind: TransferKind::BadDebt,
                reference: reason.chars().take(domain::ledger::REFERENCE_MAX).collect(),
                parcel_id: None,
                reverses: None,
                at_ms: now.timestamp_millis(),
            },
            now,
        )
        .await?;
        let payment = PaymentRecord {
            id: 0,
            write_off_id: Some(write_off_id),
            statement_id: statement.id,
            carrier,
            amount,
            transfer_id,
            at_ms: now.timestamp_millis(),
        };
        let payment_id = tx.insert_invoice_payment(&payment).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::BadDebtWrittenOff,
            Object::new("write_off", write_off_id),
            approvals::named(
                serde_json::json!({
                    "carrier": carrier.code(),
                    "statement": statement.id,
                    "amount_fen": amount.0,
                    "reason": reason,
                }),
                approval,
            ),
        )
        .await?;
        let write_off = tx
            .write_off_by_key(&stored_key)
            .await?
            .ok_or_else(|| AppError::Internal("bad debt not read back".into()))?;
        let credit_left = credit_in(&mut *tx, carrier).await?;
        tx.commit().await?;
        tracing::info!(
            carrier = carrier.code(),
            fen = amount.0,
            "bad debt written off"
        );
        Ok(WriteOffView {
            write_off,
            payments: vec![PaymentRecord {
                id: payment_id,
                ..payment
            }],
            repeat: false,
            credit_left,
        })
    }
}

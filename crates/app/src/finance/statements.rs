//! Statements (对账单, issue 15, point 2): a carrier's fees of a Shanghai
//! month, issued by finance, answered line by line by the carrier (confirm
//! or dispute with a reason), each dispute resolved by finance — upheld,
//! reversed or adjusted by a transfer with the reason as its reference, so
//! the statement and the ledger agree to the fen. Each statement is an
//! invoice due on its due day (payment terms; `domain::finance::due_day`).

use super::must_keep_books;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code};
use crate::ports::claims::PaymentRecord;
use crate::ports::ledger::{NewStatement, StatementLine, StatementRecord};
use crate::{App, ledger};
use domain::finance::{LineStatus, Month, StatementStatus};
use domain::ledger::{Account, AccountKind, NewTransfer, TransferKind};
use domain::{Carrier, Fen, Principal, day_start};
use serde::{Deserialize, Serialize};

/// Longest dispute reason or resolution note, in characters.
pub const REASON_CHARS_MAX: usize = 200;
/// Most statements one list shows.
const STATEMENTS_LISTED_MAX: u32 = 500;

/// A statement with its lines.
#[derive(Debug, Clone, Serialize)]
pub struct StatementView {
    #[serde(flatten)]
    pub statement: StatementRecord,
    pub lines: Vec<StatementLine>,
}

/// The carrier's answer to one line.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(tag = "answer", rename_all = "snake_case", deny_unknown_fields)]
pub enum LineAnswer {
    Confirm { line_id: i64 },
    Dispute { line_id: i64, reason: String },
}

impl LineAnswer {
    fn line_id(&self) -> i64 {
        match self {
            LineAnswer::Confirm { line_id } | LineAnswer::Dispute { line_id, .. } => *line_id,
        }
    }
}

/// How finance settles a disputed line.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(tag = "resolution", rename_all = "snake_case", deny_unknown_fields)]
pub enum Resolution {
    /// The line stands as issued.
    Uphold,
    /// The whole fee is taken back (a reversing transfer).
    Reverse,
    /// The fee is settled at `amount`, less than issued (an adjusting
    /// transfer for the difference).
    Adjust { amount: Fen },
}

fn reason_text(text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > REASON_CHARS_MAX {
        return Err(AppError::new(Code::ReasonMissing).with("max", REASON_CHARS_MAX));
    }
    Ok(text.to_string())
}

/// Who may see a statement: finance, and the carrier it is for. Others are
/// told it does not exist.
fn may_see(principal: &Principal, statement: &StatementRecord) -> bool {
    principal.may_read_books()
        || (principal.role == domain::Role::CarrierIntegrator
            && principal.carrier == Some(statement.carrier))
}

impl App {
    /// Issues the carrier's statement for a month that is over: every fee
    /// it accrued in the month's Shanghai days that is on no statement yet,
    /// due `payment_days` after the month's last day.
    pub async fn issue_statement(
        &self,
        principal: &Principal,
        carrier: Carrier,
        month: Month,
        payment_days: Option<u32>,
    ) -> AppResult<StatementView> {
        must_keep_books(principal)?;
        if !month.is_over(self.today()) {
            return Err(AppError::new(Code::StatementMonthOpen).with("month", month));
        }
        // The debtor's payment terms (资金缴纳时限) unless finance names
        // other days for this one statement.
        let days = match payment_days {
            Some(days) => days,
            None => self.payment_days_for(carrier).await?,
        };
        if days > domain::finance::PAYMENT_DAYS_MAX {
            return Err(AppError::new(Code::PaymentDaysInvalid)
                .with("max", domain::finance::PAYMENT_DAYS_MAX));
        }
        let now = self.now();
        let new = NewStatement {
            carrier,
            month,
            due_day: domain::finance::due_day(month, days),
            from_ms: day_start(month.first_day()).timestamp_millis(),
            to_ms: day_start(month.next().first_day()).timestamp_millis(),
            issued_at_ms: now.timestamp_millis(),
            issued_by: principal.username.clone(),
        };
        let mut tx = self.store.begin().await?;
        let Some(id) = tx.insert_statement(&new).await? else {
            return Err(AppError::new(Code::StatementExists)
                .with("carrier", carrier.code())
                .with("month", month));
        };
        let statement = tx
            .refresh_statement(id, StatementStatus::Issued, now.timestamp_millis())
            .await?;
        if statement.n_lines == 0 {
            // Dropping the transaction takes the empty statement back.
            return Err(AppError::new(Code::StatementEmpty)
                .with("carrier", carrier.code())
                .with("month", month));
        }
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::StatementIssued,
            Object::new("statement", id),
            serde_json::json!({
                "carrier": carrier.code(),
                "month": month.to_string(),
                "lines": statement.n_lines,
                "issued_fen": statement.issued.0,
                "due_day": statement.due_day.to_string(),
            }),
        )
        .await?;
        let lines = tx.statement_lines_in(id).await?;
        tx.commit().await?;
        tracing::info!(statement = id, carrier = carrier.code(), %month, lines = statement.n_lines, "statement issued");
        Ok(StatementView { statement, lines })
    }

    /// Statements, newest month first: finance sees every carrier's (or
    /// one's), a carrier only its own.
    pub async fn statements(
        &self,
        principal: &Principal,
        carrier: Option<Carrier>,
    ) -> AppResult<Vec<StatementRecord>> {
        let carrier = if principal.may_read_books() {
            carrier
        } else if principal.role == domain::Role::CarrierIntegrator
            && principal.carrier.is_some()
            && carrier.is_none_or(|c| principal.carrier == Some(c))
        {
            principal.carrier
        } else {
            return Err(AppError::Forbidden("statement"));
        };
        Ok(self
            .store
            .statements(carrier, STATEMENTS_LISTED_MAX)
            .await?)
    }

    /// One statement with its lines; another carrier's is not found.
    pub async fn statement(&self, principal: &Principal, id: i64) -> AppResult<StatementView> {
        let statement = self
            .store
            .statement(id)
            .await?
            .filter(|s| may_see(principal, s))
            .ok_or(AppError::NotFound("statement"))?;
        let lines = self.store.statement_lines(id).await?;
        Ok(StatementView { statement, lines })
    }

    /// The carrier's answers to open lines: confirmed, or disputed with a
    /// reason. All or nothing: one bad answer refuses the lot. County staff
    /// may record an answer the carrier gave on paper.
    pub async fn answer_statement(
        &self,
        principal: &Principal,
        id: i64,
        answers: &[LineAnswer],
    ) -> AppResult<StatementView> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let statement = tx
            .lock_statement(id)
            .await?
            .filter(|s| may_see(principal, s))
            .ok_or(AppError::NotFound("statement"))?;
        if !principal.may_act_for_carrier(statement.carrier) {
            return Err(AppError::Forbidden("statement"));
        }
        let mut lines = tx.statement_lines_in(id).await?;
        for answer in answers {
            let line = lines
                .iter_mut()
                .find(|l| l.id == answer.line_id())
                .ok_or(AppError::NotFound("statement line"))?;
            if !line.status.answerable() {
                return Err(AppError::new(Code::LineAnswered).with("waybill", line.waybill.clone()));
            }
            match answer {
                LineAnswer::Confirm { .. } => line.status = LineStatus::Confirmed,
                LineAnswer::Dispute { reason, .. } => {
                    line.status = LineStatus::Disputed;
                    line.dispute_reason = Some(reason_text(reason)?);
                }
            }
            line.answered_at_ms = Some(now.timestamp_millis());
            line.answered_by = Some(principal.username.clone());
            tx.update_statement_line(line).await?;
        }
        let status = StatementStatus::of(lines.iter().map(|l| l.status));
        let statement = tx
            .refresh_statement(statement.id, status, now.timestamp_millis())
            .await?;
        tx.commit().await?;
        Ok(StatementView { statement, lines })
    }

    /// Settles a disputed line: upheld as issued, reversed (the whole fee
    /// back from revenue to the carrier), or adjusted to a lower amount (the
    /// difference back). The transfer's id is the line's, so a repeat posts
    /// nothing new; the note is its reference.
    pub async fn resolve_statement_line(
        &self,
        principal: &Principal,
        id: i64,
        line_id: i64,
        resolution: Resolution,
        note: &str,
    ) -> AppResult<StatementView> {
        must_keep_books(principal)?;
        let note = reason_text(note)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let statement = tx
            .lock_statement(id)
            .await?
            .ok_or(AppError::NotFound("statement"))?;
        let mut lines = tx.statement_lines_in(id).await?;
        let line = lines
            .iter_mut()
            .find(|l| l.id == line_id)
            .ok_or(AppError::NotFound("statement line"))?;
        if !line.status.resolvable() {
            return Err(AppError::new(Code::LineNotDisputed).with("waybill", line.waybill.clone()));
        }
        let back = match resolution {
            Resolution::Uphold => None,
            Resolution::Reverse => Some((TransferKind::Reversal, line.amount)),
            Resolution::Adjust { amount } => {
                if amount.0 <= 0 || amount >= line.amount {
                    return Err(AppError::new(Code::AdjustmentInvalid).with("amount", line.amount));
                }
                Some((TransferKind::Adjustment, Fen(line.amount.0 - amount.0)))
            }
        };
        if let Some((kind, credited)) = back {
            let transfer = NewTransfer {
                id: format!("stmt-line:{}", line.id),
                debit: Account::of(AccountKind::CoDeliveryRevenue),
                credit: Account::receivable(statement.carrier),
                amount: credited,
                kind,
                reference: note.clone(),
                parcel_id: line.parcel_id,
                reverses: Some(line.transfer_id.clone()),
                at_ms: now.timestamp_millis(),
            };
            let posted = ledger::post(&mut *tx, &transfer, now).await?;
            line.resolution_transfer_id = Some(posted.transfer.id);
            line.credited = credited;
            // Paid already beyond what is now owed (branch `claims`): the
            // excess goes back from the invoice to the carrier's credit, so
            // no invoice stays overpaid and the money pays the next one.
            let excess = credited.0 - statement.net.0;
            if excess > 0 {
                let id = format!("stmt-refund:{}", line.id);
                ledger::post(
                    &mut *tx,
                    &NewTransfer {
                        id: id.clone(),
                        debit: Account::receivable(statement.carrier),
                        credit: Account::credit_of(statement.carrier),
                        amount: Fen(excess),
                        kind: TransferKind::Adjustment,
                        reference: note.clone(),
                        parcel_id: line.parcel_id,
                        reverses: None,
                        at_ms: now.timestamp_millis(),
                    },
                    now,
                )
                .await?;
                tx.insert_invoice_payment(&PaymentRecord {
                    id: 0,
                    write_off_id: None,
                    statement_id: statement.id,
                    carrier: statement.carrier,
                    amount: Fen(-excess),
                    transfer_id: id,
                    at_ms: now.timestamp_millis(),
                })
                .await?;
            }
        }
        line.status = match resolution {
            Resolution::Uphold => LineStatus::Upheld,
            Resolution::Reverse => LineStatus::Reversed,
            Resolution::Adjust { .. } => LineStatus::Adjusted,
        };
        line.resolution_note = Some(note);
        line.resolved_at_ms = Some(now.timestamp_millis());
        line.resolved_by = Some(principal.username.clone());
        tx.update_statement_line(line).await?;
        let details = serde_json::json!({
            "statement": id,
            "line": line.id,
            "resolution": line.status.code(),
            "credited_fen": line.credited.0,
            "transfer": line.resolution_transfer_id,
        });
        // The ledger's lock before the audit trail's (`app::ledger`).
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::StatementLineResolved,
            Object::new("statement", id),
            details,
        )
        .await?;
        let status = StatementStatus::of(lines.iter().map(|l| l.status));
        let statement = tx
            .refresh_statement(id, status, now.timestamp_millis())
            .await?;
        tx.commit().await?;
        Ok(StatementView { statement, lines })
    }
}

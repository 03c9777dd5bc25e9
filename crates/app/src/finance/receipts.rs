//! Money received (issue 15, point 4): a bank statement — read by the
//! caller into a grid of cells (`manifest_file::grid`) — imported into
//! unapplied cash. Each line of money received is kept once by its stable
//! fingerprint (`domain::bank`) and posts `bank:<fingerprint>` (payment
//! clearing debited, unapplied cash credited) in the import's transaction,
//! so the same file twice, or overlapping exports, change nothing the
//! second time. Rows that cannot be read are reported one by one and the
//! good ones kept. The day's list of money received (到账通报) is a page
//! and a group robot's message (`crate::bots::enqueue`).

use super::{must_keep_books, must_read_books};
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code};
pub use crate::ports::ledger::{BankImportRecord, ReceiptRecord};
use crate::{App, Lang, ledger};
use chrono::NaiveDate;
use domain::ledger::{Account, AccountKind, NewTransfer, TransferKind};
use domain::{Fen, Principal};
use serde::Serialize;

/// Longest file name kept.
const FILE_NAME_CHARS_MAX: usize = 200;
/// Most bad rows an import reports (all are counted).
pub const BAD_ROWS_REPORTED_MAX: usize = 500;

/// What an import did, with each bad row and why.
#[derive(Debug, Clone, Serialize)]
pub struct BankImportReport {
    pub import: BankImportRecord,
    /// `(row number as the file shows it, why)`, at most
    /// `BAD_ROWS_REPORTED_MAX`.
    pub bad: Vec<(usize, String)>,
    /// The receipts kept now.
    pub new: Vec<ReceiptRecord>,
}

/// The money received on a bank day (到账通报).
#[derive(Debug, Clone, Serialize)]
pub struct DailyReceipts {
    pub day: NaiveDate,
    pub receipts: Vec<ReceiptRecord>,
    pub total: Fen,
}

impl DailyReceipts {
    /// The group message: a title and markdown. Payer accounts show only
    /// their last four digits in a group chat.
    pub fn markdown(&self, lang: Lang) -> (String, String) {
        let english = matches!(lang, Lang::En);
        let title = if english {
            format!("Money received {}", self.day)
        } else {
            format!("到账通报 {}", self.day)
        };
        let mut text = format!("### {title}\n");
        text.push_str(&if english {
            format!(
                "- {} payment(s), **{}** in all\n",
                self.receipts.len(),
                self.total
            )
        } else {
            format!("- 共 {} 笔，合计 **{}**\n", self.receipts.len(), self.total)
        });
        for r in &self.receipts {
            let tail: String = {
                let digits: Vec<char> = r.payer_account.chars().collect();
                digits[digits.len().saturating_sub(4)..].iter().collect()
            };
            let account = if tail.is_empty() {
                String::new()
            } else {
                format!(" (…{tail})")
            };
            text.push_str(&format!(
                "- {}{account} **{}** {}\n",
                r.payer_name, r.amount, r.reference
            ));
        }
        if self.receipts.is_empty() {
            text.push_str(if english {
                "- nothing received\n"
            } else {
                "- 当日无到账\n"
            });
        } else {
            text.push_str(if english {
                "\nRevenue units: claim your payments in yizhan (认领).\n"
            } else {
                "\n请各收入单位在系统中认领本单位款项。\n"
            });
        }
        (title, text)
    }
}

impl App {
    /// Imports a bank statement's rows into unapplied cash: county staff and
    /// the administrator. Audited (`bank_statement_imported`) with the
    /// counts, in the import's transaction.
    pub async fn import_bank_statement(
        &self,
        principal: &Principal,
        file_name: &str,
        rows: &[Vec<String>],
    ) -> AppResult<BankImportReport> {
        must_keep_books(principal)?;
        let parsed = domain::bank::parse_grid(rows)
            .map_err(|detail| AppError::new(Code::BankFileUnreadable).with("detail", detail))?;
        let now = self.now();
        let mut import = BankImportRecord {
            id: 0,
            file_name: file_name.trim().chars().take(FILE_NAME_CHARS_MAX).collect(),
            at_ms: now.timestamp_millis(),
            by: principal.username.clone(),
            n_lines: parsed.lines.len() as i64,
            n_new: 0,
            n_known: 0,
            n_bad: parsed.bad.len() as i64,
            n_not_received: parsed.not_received as i64,
            new_amount: Fen(0),
        };
        let mut tx = self.store.begin().await?;
        import.id = tx.put_bank_import(&import).await?;
        let mut new = Vec::new();
        for (_, line, fingerprint) in &parsed.lines {
            let mut receipt = ReceiptRecord {
                id: 0,
                fingerprint: fingerprint.clone(),
                day: line.day,
                amount: line.amount,
                payer_name: line.payer_name.clone(),
                payer_account: line.payer_account.clone(),
                reference: line.reference.clone(),
                serial: line.serial.clone(),
                import_id: import.id,
                transfer_id: format!("bank:{fingerprint}"),
                at_ms: import.at_ms,
            };
            let Some(id) = tx.insert_receipt(&receipt).await? else {
                import.n_known += 1;
                continue;
            };
            receipt.id = id;
            let reference: String = format!("{} {}", line.payer_name, line.reference)
                .trim()
                .chars()
                .take(domain::ledger::REFERENCE_MAX)
                .collect();
            ledger::post(
                &mut *tx,
                &NewTransfer {
                    id: receipt.transfer_id.clone(),
                    debit: Account::of(AccountKind::PaymentClearing),
                    credit: Account::of(AccountKind::UnappliedCash),
                    amount: line.amount,
                    kind: TransferKind::Receipt,
                    reference,
                    parcel_id: None,
                    reverses: None,
                    // The bank's value date, not when it was imported.
                    at_ms: domain::day_start(line.day).timestamp_millis(),
                },
                now,
            )
            .await?;
            import.n_new += 1;
            import.new_amount.0 += line.amount.0;
            new.push(receipt);
        }
        tx.put_bank_import(&import).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::BankStatementImported,
            Object::new("bank_import", import.id),
            serde_json::json!({
                "file": import.file_name,
                "lines": import.n_lines,
                "new": import.n_new,
                "known": import.n_known,
                "bad": import.n_bad,
                "new_fen": import.new_amount.0,
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            import = import.id,
            new = import.n_new,
            known = import.n_known,
            bad = import.n_bad,
            "bank statement imported"
        );
        Ok(BankImportReport {
            import,
            bad: parsed.bad.into_iter().take(BAD_ROWS_REPORTED_MAX).collect(),
            new,
        })
    }

    /// The money received on a bank day (到账通报): finance staff and the
    /// auditor.
    pub async fn receipts_on(
        &self,
        principal: &Principal,
        day: NaiveDate,
    ) -> AppResult<DailyReceipts> {
        must_read_books(principal)?;
        let receipts = self.store.receipts_on(day).await?;
        let total = Fen(receipts.iter().map(|r| r.amount.0).sum());
        Ok(DailyReceipts {
            day,
            receipts,
            total,
        })
    }

    /// The latest bank statement imports: finance staff and the auditor.
    pub async fn bank_imports(&self, principal: &Principal) -> AppResult<Vec<BankImportRecord>> {
        must_read_books(principal)?;
        Ok(self.store.bank_imports(50).await?)
    }

    /// Queues the day's list of money received for group robot `bot`:
    /// county staff and the administrator. The same list is queued once;
    /// a list that grew since (a later import of that day) is queued again.
    pub async fn push_receipts(
        &self,
        principal: &Principal,
        day: NaiveDate,
        bot: &str,
        lang: Lang,
    ) -> AppResult<bool> {
        must_keep_books(principal)?;
        domain::bot::check_bot_name(bot)
            .map_err(|detail| AppError::new(Code::BotNameInvalid).with_detail(detail))?;
        let list = self.receipts_on(principal, day).await?;
        let (title, text) = list.markdown(lang);
        let mut tx = self.store.begin().await?;
        let written = crate::bots::enqueue(
            &mut *tx,
            bot,
            &format!(
                "receipts:{day}:{bot}:{}:{}",
                list.receipts.len(),
                list.total.0
            ),
            &title,
            &text,
            self.now(),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(%day, bot, written, "money received queued for the group robot");
        Ok(written)
    }
}

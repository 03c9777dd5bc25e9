//! The double-entry ledger, behind `app::ports::{LedgerTx, LedgerStore}`.
//! The store only keeps rows and totals: the rules and the hashes are
//! `domain::ledger`'s, and the triggers of migration 0022 refuse UPDATE and
//! DELETE of transfers.

use crate::county::{FEE_COLUMNS, carrier, day_text, fee_from, mode, parse_day};
use crate::rows::{corrupt, get};
use crate::{Backend, Db, DbTx, backend_error};
use app::ports::county::FeeRecord;
use app::ports::ledger::{
    Account, AccountRecord, BankImportRecord, ContactRecord, DebtorTerms, LedgerStore, LedgerTx,
    NewDebtorTerms, NewStatement, ReceiptRecord, Responsible, StatementLine, StatementRecord,
    Transfer,
};
use app::ports::*;
use async_trait::async_trait;
use domain::Carrier;
use domain::Fen;
use domain::finance::{ContactChannel, LineStatus, Month, StatementStatus};
use domain::ledger::TransferKind;
use sqlx::any::AnyRow;

const TRANSFER_COLUMNS: &str = "seq, transfer_id, debit_account, credit_account, amount_fen, kind, reference, parcel_id, reverses, at, posted_at, prev_hash, hash";
pub(crate) const ACCOUNT_COLUMNS: &str =
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

pub(crate) fn account_from(row: &AnyRow) -> StoreResult<AccountRecord> {
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

pub(crate) const STATEMENT_COLUMNS: &str = "id, carrier, month, status, n_lines, issued_fen, credited_fen, paid_fen, due_day, issued_at, issued_by, updated_at";
const LINE_COLUMNS: &str = "id, statement_id, transfer_id, parcel_id, waybill, mode, bracket, agreement_version, day, amount_fen, status, dispute_reason, answered_at, answered_by, resolution_note, resolution_transfer_id, credited_fen, resolved_at, resolved_by";

pub(crate) fn statement_from(row: &AnyRow) -> StoreResult<StatementRecord> {
    let month: String = get(row, "month")?;
    let status: String = get(row, "status")?;
    let due: String = get(row, "due_day")?;
    let issued = Fen(get(row, "issued_fen")?);
    let credited = Fen(get(row, "credited_fen")?);
    let paid = Fen(get(row, "paid_fen")?);
    Ok(StatementRecord {
        id: get(row, "id")?,
        carrier: carrier(row)?,
        month: Month::parse(&month).ok_or_else(|| corrupt("month", &month))?,
        status: StatementStatus::parse(&status)
            .ok_or_else(|| corrupt("statement status", &status))?,
        n_lines: get(row, "n_lines")?,
        issued,
        credited,
        paid,
        net: Fen(issued.0 - credited.0 - paid.0),
        due_day: parse_day(&due)?,
        issued_at_ms: get(row, "issued_at")?,
        issued_by: get(row, "issued_by")?,
        updated_at_ms: get(row, "updated_at")?,
    })
}

fn line_from(row: &AnyRow) -> StoreResult<StatementLine> {
    let status: String = get(row, "status")?;
    let day: String = get(row, "day")?;
    let bracket: i64 = get(row, "bracket")?;
    let version: i64 = get(row, "agreement_version")?;
    Ok(StatementLine {
        id: get(row, "id")?,
        statement_id: get(row, "statement_id")?,
        transfer_id: get(row, "transfer_id")?,
        parcel_id: get(row, "parcel_id")?,
        waybill: get(row, "waybill")?,
        mode: mode(row)?,
        bracket: bracket as u32,
        agreement_version: version as u32,
        day: parse_day(&day)?,
        amount: Fen(get(row, "amount_fen")?),
        status: LineStatus::parse(&status).ok_or_else(|| corrupt("line status", &status))?,
        dispute_reason: get(row, "dispute_reason")?,
        answered_at_ms: get(row, "answered_at")?,
        answered_by: get(row, "answered_by")?,
        resolution_note: get(row, "resolution_note")?,
        resolution_transfer_id: get(row, "resolution_transfer_id")?,
        credited: Fen(get(row, "credited_fen")?),
        resolved_at_ms: get(row, "resolved_at")?,
        resolved_by: get(row, "resolved_by")?,
    })
}

/// A debtor's terms with the responsible user's name, joined.
const TERMS_SELECT: &str = "SELECT d.carrier, d.responsible_user_id, d.responsible_phone, d.payment_days, d.updated_at, d.updated_by, u.username, u.display_name \
     FROM debtor_terms d LEFT JOIN users u ON u.id = d.responsible_user_id";
const CONTACT_COLUMNS: &str =
    "id, carrier, at, by_user, contacted, channel, note, promised_fen, promised_by";

fn terms_from(row: &AnyRow) -> StoreResult<DebtorTerms> {
    let user_id: Option<i64> = get(row, "responsible_user_id")?;
    let phone: Option<String> = get(row, "responsible_phone")?;
    let phone = phone
        .map(|text| domain::Phone::parse(&text).map_err(|_| corrupt("responsible phone", "?")))
        .transpose()?;
    let responsible = match user_id {
        Some(user_id) => Some(Responsible {
            user_id,
            username: get(row, "username")?,
            name: get(row, "display_name")?,
            phone,
        }),
        None => None,
    };
    let days: i64 = get(row, "payment_days")?;
    Ok(DebtorTerms {
        carrier: carrier(row)?,
        responsible,
        payment_days: u32::try_from(days)
            .map_err(|_| corrupt("payment days", &days.to_string()))?,
        updated_at_ms: get(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
    })
}

fn contact_from(row: &AnyRow) -> StoreResult<ContactRecord> {
    let channel: String = get(row, "channel")?;
    let promised_by: Option<String> = get(row, "promised_by")?;
    let promised: Option<i64> = get(row, "promised_fen")?;
    Ok(ContactRecord {
        id: get(row, "id")?,
        carrier: carrier(row)?,
        at_ms: get(row, "at")?,
        by: get(row, "by_user")?,
        contacted: get(row, "contacted")?,
        channel: ContactChannel::parse(&channel)
            .ok_or_else(|| corrupt("contact channel", &channel))?,
        note: get(row, "note")?,
        promised: promised.map(Fen),
        promised_by: promised_by.as_deref().map(parse_day).transpose()?,
    })
}

pub(crate) const RECEIPT_COLUMNS: &str = "id, fingerprint, day, amount_fen, payer_name, payer_account, reference, serial, import_id, transfer_id, at";
const IMPORT_COLUMNS: &str =
    "id, file_name, at, by_user, n_lines, n_new, n_known, n_bad, n_not_received, new_fen";

pub(crate) fn receipt_from(row: &AnyRow) -> StoreResult<ReceiptRecord> {
    let day: String = get(row, "day")?;
    Ok(ReceiptRecord {
        id: get(row, "id")?,
        fingerprint: get(row, "fingerprint")?,
        day: parse_day(&day)?,
        amount: Fen(get(row, "amount_fen")?),
        payer_name: get(row, "payer_name")?,
        payer_account: get(row, "payer_account")?,
        reference: get(row, "reference")?,
        serial: get(row, "serial")?,
        import_id: get(row, "import_id")?,
        transfer_id: get(row, "transfer_id")?,
        at_ms: get(row, "at")?,
    })
}

fn import_from(row: &AnyRow) -> StoreResult<BankImportRecord> {
    Ok(BankImportRecord {
        id: get(row, "id")?,
        file_name: get(row, "file_name")?,
        at_ms: get(row, "at")?,
        by: get(row, "by_user")?,
        n_lines: get(row, "n_lines")?,
        n_new: get(row, "n_new")?,
        n_known: get(row, "n_known")?,
        n_bad: get(row, "n_bad")?,
        n_not_received: get(row, "n_not_received")?,
        new_amount: Fen(get(row, "new_fen")?),
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

    async fn insert_statement(&mut self, new: &NewStatement) -> StoreResult<Option<i64>> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO statements (carrier, month, status, n_lines, issued_fen, credited_fen, due_day, issued_at, issued_by, updated_at) \
                     VALUES ($1, $2, 'issued', 0, 0, 0, $3, $4, $5, $4) ON CONFLICT (carrier, month) DO NOTHING RETURNING id",
                )
                .bind(new.carrier.code())
                .bind(new.month.to_string())
                .bind(day_text(new.due_day))
                .bind(new.issued_at_ms)
                .bind(new.issued_by.clone()),
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = get(&row, "id")?;
        // The parcel behind each fee: its waybill, and the mode, bracket and
        // agreement version the fee was priced by.
        self.execute(
            sqlx::query(
                "INSERT INTO statement_lines (statement_id, transfer_id, parcel_id, waybill, mode, bracket, agreement_version, day, amount_fen, status, credited_fen) \
                 SELECT $1, t.transfer_id, t.parcel_id, p.waybill, f.mode, f.bracket, f.agreement_version, f.day, t.amount_fen, 'open', 0 \
                 FROM ledger_transfers t JOIN fee_ledger f ON f.parcel_id = t.parcel_id JOIN parcels p ON p.id = t.parcel_id \
                 WHERE t.kind = 'fee_accrual' AND t.debit_account = $2 AND t.at >= $3 AND t.at < $4 \
                 AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.transfer_id = t.transfer_id) \
                 ORDER BY t.seq",
            )
            .bind(id)
            .bind(Account::receivable(new.carrier).code())
            .bind(new.from_ms)
            .bind(new.to_ms),
        )
        .await?;
        Ok(Some(id))
    }

    async fn lock_statement(&mut self, id: i64) -> StoreResult<Option<StatementRecord>> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let row = self
            .optional(
                sqlx::query(&format!(
                    "SELECT {STATEMENT_COLUMNS} FROM statements WHERE id = $1{lock}"
                ))
                .bind(id),
            )
            .await?;
        row.as_ref().map(statement_from).transpose()
    }

    async fn statement_lines_in(&mut self, statement_id: i64) -> StoreResult<Vec<StatementLine>> {
        sqlx::query(&format!(
            "SELECT {LINE_COLUMNS} FROM statement_lines WHERE statement_id = $1 ORDER BY id"
        ))
        .bind(statement_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(line_from)
        .collect()
    }

    async fn update_statement_line(&mut self, line: &StatementLine) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "UPDATE statement_lines SET status = $1, dispute_reason = $2, answered_at = $3, answered_by = $4, \
                 resolution_note = $5, resolution_transfer_id = $6, credited_fen = $7, resolved_at = $8, resolved_by = $9 \
                 WHERE id = $10 AND statement_id = $11",
            )
            .bind(line.status.code())
            .bind(line.dispute_reason.clone())
            .bind(line.answered_at_ms)
            .bind(line.answered_by.clone())
            .bind(line.resolution_note.clone())
            .bind(line.resolution_transfer_id.clone())
            .bind(line.credited.0)
            .bind(line.resolved_at_ms)
            .bind(line.resolved_by.clone())
            .bind(line.id)
            .bind(line.statement_id),
        )
        .await?;
        Ok(())
    }

    async fn refresh_statement(
        &mut self,
        id: i64,
        status: StatementStatus,
        now_ms: i64,
    ) -> StoreResult<StatementRecord> {
        self.execute(
            sqlx::query(
                "UPDATE statements SET status = $1, updated_at = $2, \
                 n_lines = (SELECT COUNT(*) FROM statement_lines WHERE statement_id = $3), \
                 issued_fen = (SELECT COALESCE(CAST(SUM(amount_fen) AS BIGINT), 0) FROM statement_lines WHERE statement_id = $3), \
                 credited_fen = (SELECT COALESCE(CAST(SUM(credited_fen) AS BIGINT), 0) FROM statement_lines WHERE statement_id = $3) \
                 WHERE id = $3",
            )
            .bind(status.code())
            .bind(now_ms)
            .bind(id),
        )
        .await?;
        let row = self
            .optional(
                sqlx::query(&format!(
                    "SELECT {STATEMENT_COLUMNS} FROM statements WHERE id = $1"
                ))
                .bind(id),
            )
            .await?
            .ok_or_else(|| corrupt("statement", &id.to_string()))?;
        statement_from(&row)
    }

    async fn debtor_terms_in(&mut self, carrier: Carrier) -> StoreResult<Option<DebtorTerms>> {
        self.optional(
            sqlx::query(&format!("{TERMS_SELECT} WHERE d.carrier = $1")).bind(carrier.code()),
        )
        .await?
        .as_ref()
        .map(terms_from)
        .transpose()
    }

    async fn put_debtor_terms(&mut self, terms: &NewDebtorTerms) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "INSERT INTO debtor_terms (carrier, responsible_user_id, responsible_phone, payment_days, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (carrier) DO UPDATE SET \
                 responsible_user_id = excluded.responsible_user_id, responsible_phone = excluded.responsible_phone, \
                 payment_days = excluded.payment_days, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(terms.carrier.code())
            .bind(terms.responsible_user_id)
            .bind(terms.responsible_phone.clone())
            .bind(i64::from(terms.payment_days))
            .bind(terms.updated_at_ms)
            .bind(terms.updated_by.clone()),
        )
        .await?;
        Ok(())
    }

    async fn insert_debtor_contact(&mut self, c: &ContactRecord) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO debtor_contacts (carrier, at, by_user, contacted, channel, note, promised_fen, promised_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(c.carrier.code())
                .bind(c.at_ms)
                .bind(c.by.clone())
                .bind(c.contacted.clone())
                .bind(c.channel.code())
                .bind(c.note.clone())
                .bind(c.promised.map(|f| f.0))
                .bind(c.promised_by.map(day_text)),
            )
            .await?
            .ok_or_else(|| corrupt("debtor contact", "no id returned"))?;
        get(&row, "id")
    }

    async fn put_bank_import(&mut self, i: &BankImportRecord) -> StoreResult<i64> {
        if i.id != 0 {
            self.execute(
                sqlx::query(
                    "UPDATE bank_imports SET n_lines = $1, n_new = $2, n_known = $3, n_bad = $4, n_not_received = $5, new_fen = $6 WHERE id = $7",
                )
                .bind(i.n_lines)
                .bind(i.n_new)
                .bind(i.n_known)
                .bind(i.n_bad)
                .bind(i.n_not_received)
                .bind(i.new_amount.0)
                .bind(i.id),
            )
            .await?;
            return Ok(i.id);
        }
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO bank_imports (file_name, at, by_user, n_lines, n_new, n_known, n_bad, n_not_received, new_fen) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(i.file_name.clone())
                .bind(i.at_ms)
                .bind(i.by.clone())
                .bind(i.n_lines)
                .bind(i.n_new)
                .bind(i.n_known)
                .bind(i.n_bad)
                .bind(i.n_not_received)
                .bind(i.new_amount.0),
            )
            .await?
            .ok_or_else(|| corrupt("bank import", "no id returned"))?;
        get(&row, "id")
    }

    async fn insert_receipt(&mut self, r: &ReceiptRecord) -> StoreResult<Option<i64>> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO receipts (fingerprint, day, amount_fen, payer_name, payer_account, reference, serial, import_id, transfer_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (fingerprint) DO NOTHING RETURNING id",
                )
                .bind(r.fingerprint.clone())
                .bind(day_text(r.day))
                .bind(r.amount.0)
                .bind(r.payer_name.clone())
                .bind(r.payer_account.clone())
                .bind(r.reference.clone())
                .bind(r.serial.clone())
                .bind(r.import_id)
                .bind(r.transfer_id.clone())
                .bind(r.at_ms),
            )
            .await?;
        row.as_ref().map(|row| get(row, "id")).transpose()
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

    async fn statements(
        &self,
        carrier: Option<Carrier>,
        limit: u32,
    ) -> StoreResult<Vec<StatementRecord>> {
        sqlx::query(&format!(
            "SELECT {STATEMENT_COLUMNS} FROM statements WHERE ($1 IS NULL OR carrier = $1) ORDER BY month DESC, carrier LIMIT $2"
        ))
        .bind(carrier.map(|c| c.code().to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(statement_from)
        .collect()
    }

    async fn statement(&self, id: i64) -> StoreResult<Option<StatementRecord>> {
        sqlx::query(&format!(
            "SELECT {STATEMENT_COLUMNS} FROM statements WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(statement_from)
        .transpose()
    }

    async fn statement_lines(&self, statement_id: i64) -> StoreResult<Vec<StatementLine>> {
        sqlx::query(&format!(
            "SELECT {LINE_COLUMNS} FROM statement_lines WHERE statement_id = $1 ORDER BY id"
        ))
        .bind(statement_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(line_from)
        .collect()
    }

    async fn debtor_terms_all(&self) -> StoreResult<Vec<DebtorTerms>> {
        sqlx::query(&format!("{TERMS_SELECT} ORDER BY d.carrier"))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(terms_from)
            .collect()
    }

    async fn debtor_contacts(
        &self,
        carrier: Carrier,
        limit: u32,
    ) -> StoreResult<Vec<ContactRecord>> {
        sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM debtor_contacts WHERE carrier = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(carrier.code())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(contact_from)
        .collect()
    }

    async fn receipts_on(&self, day: chrono::NaiveDate) -> StoreResult<Vec<ReceiptRecord>> {
        sqlx::query(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE day = $1 ORDER BY id"
        ))
        .bind(day_text(day))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(receipt_from)
        .collect()
    }

    async fn bank_imports(&self, limit: u32) -> StoreResult<Vec<BankImportRecord>> {
        sqlx::query(&format!(
            "SELECT {IMPORT_COLUMNS} FROM bank_imports ORDER BY id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(import_from)
        .collect()
    }
}

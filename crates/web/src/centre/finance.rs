//! The finance workplace (`/finance`, issue 15): the ledger's accounts with
//! their balances and the ledger check, an account's transfers, the
//! carriers' statements with their ageing, issuing a month's statement, and
//! a statement's lines with the disputes to resolve. County staff and the
//! administrator (the `Operator` extractor); each handler parses, calls one
//! `App` method and renders.

use super::office::{carrier_name, carriers, parse_carrier};
use super::{Frame, Operator};
use crate::{WebError, WebState, field, local, render};
use app::finance::{
    AccountRecord, Bucket, ContactChannel, ContactRecord, ContactRequest, LedgerCheck, LineStatus,
    Month, Resolution, StatementLine, StatementRecord, StatementView, TermsRequest, Transfer,
};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::Fen;
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/finance", get(overview))
        .route("/finance/statements", post(issue))
        .route("/finance/accounts/{code}", get(account))
        .route("/finance/statements/{id}", get(statement))
        .route(
            "/finance/statements/{id}/lines/{line}/resolve",
            post(resolve),
        )
        .route("/finance/receipts", get(receipts))
        .route(
            "/finance/receipts/import",
            post(import_bank).layer(axum::extract::DefaultBodyLimit::max(
                BANK_FILE_BYTES_MAX + 64 * 1024,
            )),
        )
        .route("/finance/debtors/{code}", get(debtor))
        .route("/finance/debtors/{code}/terms", post(debtor_terms))
        .route("/finance/debtors/{code}/contacts", post(debtor_contact))
        // Branch claims (issue 15): claims and write-offs.
        .route("/finance/receipts/{id}/claim", post(claim))
        .route("/finance/debtors/{code}/write-off", post(write_off))
}

struct AccountRow {
    code: String,
    name: String,
    debits: String,
    credits: String,
    balance: String,
    n_transfers: i64,
}

fn account_name(record: &AccountRecord, english: bool) -> String {
    let kind = if english {
        record.account.kind.name_en()
    } else {
        record.account.kind.name_zh()
    };
    match record.account.carrier {
        Some(carrier) => format!("{kind} · {}", carrier.name_in(english)),
        None => kind.to_string(),
    }
}

struct StatementRow {
    id: i64,
    carrier: String,
    month: String,
    status: &'static str,
    n_lines: i64,
    issued: String,
    credited: String,
    /// Paid by write-offs (branch claims).
    paid: String,
    net: String,
    due: String,
    /// The ageing bucket's key, or empty when nothing is owed.
    bucket: &'static str,
}

fn bucket_key(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::NotDue => "finance.bucket.not_due",
        Bucket::Days1To30 => "finance.bucket.days_1_30",
        Bucket::Days31To60 => "finance.bucket.days_31_60",
        Bucket::Days61To90 => "finance.bucket.days_61_90",
        Bucket::Over90 => "finance.bucket.over_90",
    }
}

fn status_key(statement: &StatementRecord) -> &'static str {
    match statement.status {
        app::finance::StatementStatus::Issued => "finance.status.issued",
        app::finance::StatementStatus::Disputed => "finance.status.disputed",
        app::finance::StatementStatus::Settled => "finance.status.settled",
    }
}

fn statement_row(
    s: &StatementRecord,
    today: chrono::NaiveDate,
    t: crate::i18n::Tr,
) -> StatementRow {
    StatementRow {
        id: s.id,
        carrier: carrier_name(s.carrier, t),
        month: s.month.to_string(),
        status: status_key(s),
        n_lines: s.n_lines,
        issued: s.issued.to_string(),
        credited: s.credited.to_string(),
        paid: s.paid.to_string(),
        net: s.net.to_string(),
        due: s.due_day.to_string(),
        bucket: if s.net.0 > 0 {
            bucket_key(Bucket::of(s.due_day, today))
        } else {
            ""
        },
    }
}

#[derive(Template)]
#[template(path = "centre/finance.html")]
struct OverviewPage {
    f: Frame,
    whole: bool,
    transfers: u64,
    debits: String,
    credits: String,
    problems: Vec<String>,
    accounts: Vec<AccountRow>,
    statements: Vec<StatementRow>,
    carriers: Vec<(&'static str, String)>,
    last_month: String,
    debtors: Vec<DebtorRowView>,
    bucket_heads: Vec<&'static str>,
}

async fn overview(State(state): State<WebState>, operator: Operator) -> Result<Response, WebError> {
    let t = operator.tr;
    let app = &state.app;
    let check: LedgerCheck = app
        .check_ledger(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    let accounts = app
        .ledger_accounts(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    let statements = app
        .statements(&operator.principal, None)
        .await
        .map_err(operator.app_err())?;
    let debtors = app
        .arrears_ledger(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    let today = app.today();
    let last_month = Month::of(Month::of(today).first_day() - chrono::Duration::days(1));
    Ok(render(OverviewPage {
        f: Frame::new(&operator, "finance"),
        whole: check.is_whole(),
        transfers: check.transfers,
        debits: check.debits.to_string(),
        credits: check.credits.to_string(),
        problems: check
            .problems
            .iter()
            .map(|p| format!("{} {}", p.kind, p.detail))
            .collect(),
        accounts: accounts
            .iter()
            .map(|a| AccountRow {
                code: a.code.clone(),
                name: account_name(a, t.is_en()),
                debits: a.debits.to_string(),
                credits: a.credits.to_string(),
                balance: a.balance.to_string(),
                n_transfers: a.n_transfers,
            })
            .collect(),
        statements: statements
            .iter()
            .map(|s| statement_row(s, today, t))
            .collect(),
        carriers: carriers(t),
        last_month: last_month.to_string(),
        debtors: debtors.iter().map(|d| debtor_row_view(d, t)).collect(),
        bucket_heads: bucket_keys(),
    }))
}

#[derive(Deserialize)]
struct IssueForm {
    csrf: String,
    carrier: String,
    month: String,
    #[serde(default)]
    payment_days: String,
}

async fn issue(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<IssueForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let carrier = parse_carrier(Some(field(t, &form.carrier)?)).map_err(operator.app_err())?;
    let month = Month::parse(field(t, &form.month)?)
        .ok_or_else(|| AppError::new(Code::MonthInvalid))
        .map_err(operator.app_err())?;
    let days = match form.payment_days.trim() {
        "" => None,
        text => Some(
            text.parse::<u32>()
                .map_err(|_| {
                    AppError::new(Code::PaymentDaysInvalid)
                        .with("max", domain::finance::PAYMENT_DAYS_MAX)
                })
                .map_err(operator.app_err())?,
        ),
    };
    let view = state
        .app
        .issue_statement(&operator.principal, carrier, month, days)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/finance/statements/{}", view.statement.id)).into_response())
}

struct TransferRow {
    seq: i64,
    at: String,
    kind: &'static str,
    other: String,
    debit: String,
    credit: String,
    reference: String,
}

#[derive(Template)]
#[template(path = "centre/finance_account.html")]
struct AccountPage {
    f: Frame,
    code: String,
    name: String,
    balance: String,
    transfers: Vec<TransferRow>,
    next: Option<i64>,
}

#[derive(Deserialize)]
struct AccountQuery {
    after_id: Option<i64>,
}

async fn account(
    State(state): State<WebState>,
    operator: Operator,
    Path(code): Path<String>,
    Query(query): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let (record, page) = state
        .app
        .account_transfers(&operator.principal, &code, query.after_id, Some(100))
        .await
        .map_err(operator.app_err())?;
    let row = |tr: &Transfer| {
        let debited = tr.debit.code() == code;
        let other = if debited { tr.credit } else { tr.debit };
        TransferRow {
            seq: tr.seq,
            at: chrono::DateTime::from_timestamp_millis(tr.at_ms)
                .map(local)
                .unwrap_or_default(),
            kind: if t.is_en() {
                tr.kind.name_en()
            } else {
                tr.kind.name_zh()
            },
            other: other.code(),
            debit: if debited {
                tr.amount.to_string()
            } else {
                String::new()
            },
            credit: if debited {
                String::new()
            } else {
                tr.amount.to_string()
            },
            reference: tr.reference.clone(),
        }
    };
    let transfers = page.items.iter().map(row).collect();
    Ok(render(AccountPage {
        f: Frame::new(&operator, "finance"),
        name: record
            .as_ref()
            .map(|r| account_name(r, t.is_en()))
            .unwrap_or_else(|| code.clone()),
        balance: record.map_or(Fen(0), |r| r.balance).to_string(),
        code,
        transfers,
        next: page.next_after_id,
    }))
}

struct LineRow {
    id: i64,
    waybill: String,
    day: String,
    mode: &'static str,
    bracket: u32,
    version: u32,
    amount: String,
    status: &'static str,
    disputed: bool,
    reason: String,
    resolution: String,
    credited: String,
}

fn line_status_key(status: LineStatus) -> &'static str {
    match status {
        LineStatus::Open => "finance.line.open",
        LineStatus::Confirmed => "finance.line.confirmed",
        LineStatus::Disputed => "finance.line.disputed",
        LineStatus::Upheld => "finance.line.upheld",
        LineStatus::Reversed => "finance.line.reversed",
        LineStatus::Adjusted => "finance.line.adjusted",
    }
}

fn line_row(line: &StatementLine, t: crate::i18n::Tr) -> LineRow {
    LineRow {
        id: line.id,
        waybill: line.waybill.clone(),
        day: line.day.to_string(),
        mode: crate::xlsx::mode_name(line.mode, t),
        bracket: line.bracket,
        version: line.agreement_version,
        amount: line.amount.to_string(),
        status: line_status_key(line.status),
        disputed: line.status == LineStatus::Disputed,
        reason: line.dispute_reason.clone().unwrap_or_default(),
        resolution: line.resolution_note.clone().unwrap_or_default(),
        credited: if line.credited.0 > 0 {
            line.credited.to_string()
        } else {
            String::new()
        },
    }
}

#[derive(Template)]
#[template(path = "centre/finance_statement.html")]
struct StatementPage {
    f: Frame,
    s: StatementRow,
    lines: Vec<LineRow>,
}

async fn statement(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let view: StatementView = state
        .app
        .statement(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    Ok(render(StatementPage {
        f: Frame::new(&operator, "finance"),
        s: statement_row(&view.statement, state.app.today(), t),
        lines: view.lines.iter().map(|l| line_row(l, t)).collect(),
    }))
}

#[derive(Deserialize)]
struct ResolveForm {
    csrf: String,
    resolution: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    note: String,
}

/// Yuan as typed ("12.5", "12.50") into fen; no floats.
pub(super) fn parse_yuan(text: &str) -> Option<Fen> {
    let text = text.trim().trim_start_matches('¥');
    let (whole, cents) = match text.split_once('.') {
        Some((whole, cents)) if !cents.is_empty() && cents.len() <= 2 => (whole, cents),
        Some(_) => return None,
        None => (text, "0"),
    };
    if whole.is_empty() || whole.len() > 9 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !cents.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents: i64 = format!("{cents:0<2}").parse().ok()?;
    Some(Fen(whole.parse::<i64>().ok()? * 100 + cents))
}

async fn resolve(
    State(state): State<WebState>,
    operator: Operator,
    Path((id, line)): Path<(i64, i64)>,
    Form(form): Form<ResolveForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let note = field(t, &form.note)?;
    let resolution = match form.resolution.as_str() {
        "uphold" => Resolution::Uphold,
        "reverse" => Resolution::Reverse,
        _ => Resolution::Adjust {
            amount: parse_yuan(field(t, &form.amount)?).unwrap_or(Fen(0)),
        },
    };
    state
        .app
        .resolve_statement_line(&operator.principal, id, line, resolution, note)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/finance/statements/{id}")).into_response())
}

// The arrears ledger (欠费台账): a debtor's page with its invoices, its
// responsible person and terms, and its history of contacts and promises.

struct DebtorRowView {
    code: &'static str,
    carrier: String,
    responsible: String,
    phone: String,
    payment_days: u32,
    buckets: Vec<String>,
    total: String,
    oldest_due: String,
    last_contact: String,
}

fn responsible_text(row: &app::finance::DebtorRow) -> (String, String) {
    match row.responsible() {
        Some(r) => (
            format!("{} ({})", r.name, r.username),
            r.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    }
}

fn contact_summary(c: &ContactRecord) -> String {
    let at = chrono::DateTime::from_timestamp_millis(c.at_ms)
        .map(local)
        .unwrap_or_default();
    match (c.promised, c.promised_by) {
        (Some(amount), Some(by)) => format!("{at} {} → {amount} @ {by}", c.contacted),
        _ => format!("{at} {}", c.contacted),
    }
}

fn debtor_row_view(row: &app::finance::DebtorRow, t: crate::i18n::Tr) -> DebtorRowView {
    let (responsible, phone) = responsible_text(row);
    DebtorRowView {
        code: row.ageing.carrier.code(),
        carrier: carrier_name(row.ageing.carrier, t),
        responsible,
        phone,
        payment_days: row.payment_days(),
        buckets: Bucket::ALL
            .iter()
            .map(|b| row.ageing.bucket(*b).to_string())
            .collect(),
        total: row.ageing.total.to_string(),
        oldest_due: row
            .ageing
            .oldest_due
            .map(|d| d.to_string())
            .unwrap_or_default(),
        last_contact: row
            .last_contact
            .as_ref()
            .map(contact_summary)
            .unwrap_or_default(),
    }
}

/// The buckets' column heads, in order.
fn bucket_keys() -> Vec<&'static str> {
    Bucket::ALL.iter().map(|b| bucket_key(*b)).collect()
}

struct ContactRow {
    at: String,
    by: String,
    contacted: String,
    channel: &'static str,
    note: String,
    promised: String,
    promised_by: String,
}

fn channel_key(channel: ContactChannel) -> &'static str {
    match channel {
        ContactChannel::Phone => "finance.channel.phone",
        ContactChannel::Visit => "finance.channel.visit",
        ContactChannel::Message => "finance.channel.message",
        ContactChannel::Letter => "finance.channel.letter",
    }
}

#[derive(Template)]
#[template(path = "centre/finance_debtor.html")]
struct DebtorPage {
    f: Frame,
    d: DebtorRowView,
    bucket_heads: Vec<&'static str>,
    /// The responsible person's username and full phone, to edit.
    responsible_username: String,
    responsible_phone: String,
    invoices: Vec<StatementRow>,
    contacts: Vec<ContactRow>,
    channels: Vec<(&'static str, &'static str)>,
    today: String,
    // Branch claims: the credit, the payments, the write-off form's key and
    // the receipts waiting to be claimed.
    credit: String,
    payments: Vec<PaymentRow>,
    write_off_key: String,
    unclaimed: Vec<UnclaimedRow>,
    /// Branch money2: the receipts claimed for the debtor, live and ended,
    /// with the form that un-claims a live one.
    claims: Vec<ClaimRow>,
}

struct ClaimRow {
    receipt_id: i64,
    at: String,
    amount: String,
    transfer: String,
    by: String,
    /// Why it was un-claimed, and by whom; empty while live.
    ended: String,
}

async fn debtor(
    State(state): State<WebState>,
    operator: Operator,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let carrier = parse_carrier(Some(field(t, &code)?)).map_err(operator.app_err())?;
    let view = state
        .app
        .debtor(&operator.principal, carrier)
        .await
        .map_err(operator.app_err())?;
    let today = state.app.today();
    let responsible = view.row.responsible();
    let money = state
        .app
        .debtor_payments(&operator.principal, carrier)
        .await
        .map_err(operator.app_err())?;
    let unclaimed = state
        .app
        .unclaimed_receipts(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    let claims = money
        .claims
        .iter()
        .map(|c| ClaimRow {
            receipt_id: c.receipt_id,
            at: chrono::DateTime::from_timestamp_millis(c.at_ms)
                .map(local)
                .unwrap_or_default(),
            amount: c.amount.to_string(),
            transfer: c.transfer_id.clone(),
            by: c.by.clone(),
            ended: c
                .ended
                .as_ref()
                .map(|e| format!("{} · {}", e.by, e.reason))
                .unwrap_or_default(),
        })
        .collect();
    Ok(render(DebtorPage {
        claims,
        credit: money.credit.to_string(),
        payments: payment_rows(&money.payments),
        write_off_key: write_off_key(),
        unclaimed: unclaimed_rows(&unclaimed),
        f: Frame::new(&operator, "finance"),
        d: debtor_row_view(&view.row, t),
        bucket_heads: bucket_keys(),
        responsible_username: responsible.map(|r| r.username.clone()).unwrap_or_default(),
        // The full number on the debtor's own page, where finance edits it
        // and calls the person; lists show it masked.
        responsible_phone: responsible
            .and_then(|r| r.phone.as_ref())
            .map(|p| p.full())
            .unwrap_or_default(),
        invoices: view
            .invoices
            .iter()
            .map(|(s, _)| statement_row(s, today, t))
            .collect(),
        contacts: view
            .contacts
            .iter()
            .map(|c| ContactRow {
                at: chrono::DateTime::from_timestamp_millis(c.at_ms)
                    .map(local)
                    .unwrap_or_default(),
                by: c.by.clone(),
                contacted: c.contacted.clone(),
                channel: channel_key(c.channel),
                note: c.note.clone(),
                promised: c.promised.map(|f| f.to_string()).unwrap_or_default(),
                promised_by: c.promised_by.map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect(),
        channels: ContactChannel::ALL
            .iter()
            .map(|c| (c.code(), channel_key(*c)))
            .collect(),
        today: today.to_string(),
    }))
}

#[derive(Deserialize)]
struct TermsForm {
    csrf: String,
    #[serde(default)]
    responsible: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    payment_days: String,
}

async fn debtor_terms(
    State(state): State<WebState>,
    operator: Operator,
    Path(code): Path<String>,
    Form(form): Form<TermsForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let carrier = parse_carrier(Some(field(t, &code)?)).map_err(operator.app_err())?;
    let payment_days = match form.payment_days.trim() {
        "" => domain::finance::PAYMENT_DAYS_DEFAULT,
        text => text
            .parse::<u32>()
            .map_err(|_| {
                AppError::new(Code::PaymentDaysInvalid)
                    .with("max", domain::finance::PAYMENT_DAYS_MAX)
            })
            .map_err(operator.app_err())?,
    };
    let request = TermsRequest {
        responsible: Some(field(t, &form.responsible)?.to_string()),
        phone: Some(field(t, &form.phone)?.to_string()),
        payment_days,
    };
    state
        .app
        .set_debtor_terms(&operator.principal, carrier, &request)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/finance/debtors/{}", carrier.code())).into_response())
}

#[derive(Deserialize)]
struct ContactForm {
    csrf: String,
    contacted: String,
    channel: String,
    note: String,
    #[serde(default)]
    promised: String,
    #[serde(default)]
    promised_by: String,
}

async fn debtor_contact(
    State(state): State<WebState>,
    operator: Operator,
    Path(code): Path<String>,
    Form(form): Form<ContactForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let carrier = parse_carrier(Some(field(t, &code)?)).map_err(operator.app_err())?;
    let invalid =
        |detail: &str| AppError::new(Code::ContactInvalid).with("detail", detail.to_string());
    let channel = ContactChannel::parse(form.channel.trim())
        .ok_or_else(|| invalid("choose how the debtor was contacted"))
        .map_err(operator.app_err())?;
    let promised = match form.promised.trim() {
        "" => None,
        text => Some(
            parse_yuan(field(t, text)?)
                .ok_or_else(|| invalid("write the promised amount in yuan, such as 1200.50"))
                .map_err(operator.app_err())?,
        ),
    };
    let promised_by = match form.promised_by.trim() {
        "" => None,
        text => Some(
            field(t, text)?
                .parse::<chrono::NaiveDate>()
                .map_err(|_| invalid("write the promised day as year-month-day"))
                .map_err(operator.app_err())?,
        ),
    };
    let request = ContactRequest {
        contacted: field(t, &form.contacted)?.to_string(),
        channel,
        note: field(t, &form.note)?.to_string(),
        promised,
        promised_by,
    };
    state
        .app
        .log_debtor_contact(&operator.principal, carrier, &request)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/finance/debtors/{}", carrier.code())).into_response())
}

// Money received (到账通报): the day's list, the latest imports, and the
// bank statement upload.

struct ReceiptRow {
    payer: String,
    account: String,
    amount: String,
    reference: String,
    serial: String,
}

struct ImportRow {
    at: String,
    file: String,
    by: String,
    n_new: i64,
    n_known: i64,
    n_bad: i64,
    new_amount: String,
}

#[derive(Template)]
#[template(path = "centre/finance_receipts.html")]
struct ReceiptsPage {
    f: Frame,
    day: String,
    total: String,
    receipts: Vec<ReceiptRow>,
    imports: Vec<ImportRow>,
    /// The last upload's outcome: its counts and each bad row.
    outcome: Option<String>,
    bad: Vec<(usize, String)>,
    /// Receipts nobody has claimed, oldest first, with the carriers to
    /// claim them for.
    unclaimed: Vec<UnclaimedRow>,
    carriers: Vec<(&'static str, String)>,
}

#[derive(Deserialize)]
struct ReceiptsQuery {
    day: Option<String>,
}

async fn receipts_page(
    state: &WebState,
    operator: &Operator,
    day: chrono::NaiveDate,
    outcome: Option<String>,
    bad: Vec<(usize, String)>,
) -> Result<Response, WebError> {
    let app = &state.app;
    let list = app
        .receipts_on(&operator.principal, day)
        .await
        .map_err(operator.app_err())?;
    let imports = app
        .bank_imports(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    let unclaimed = app
        .unclaimed_receipts(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    Ok(render(ReceiptsPage {
        unclaimed: unclaimed_rows(&unclaimed),
        carriers: carriers(operator.tr),
        f: Frame::new(operator, "finance"),
        day: day.to_string(),
        total: list.total.to_string(),
        receipts: list
            .receipts
            .iter()
            .map(|r| ReceiptRow {
                payer: r.payer_name.clone(),
                account: r.payer_account.clone(),
                amount: r.amount.to_string(),
                reference: r.reference.clone(),
                serial: r.serial.clone().unwrap_or_default(),
            })
            .collect(),
        imports: imports
            .iter()
            .map(|i| ImportRow {
                at: chrono::DateTime::from_timestamp_millis(i.at_ms)
                    .map(local)
                    .unwrap_or_default(),
                file: i.file_name.clone(),
                by: i.by.clone(),
                n_new: i.n_new,
                n_known: i.n_known,
                n_bad: i.n_bad,
                new_amount: i.new_amount.to_string(),
            })
            .collect(),
        outcome,
        bad,
    }))
}

async fn receipts(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<ReceiptsQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let day = match query
        .day
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => state.app.today(),
        Some(text) => field(t, text)?
            .parse::<chrono::NaiveDate>()
            .map_err(|_| AppError::new(Code::DayInvalid))
            .map_err(operator.app_err())?,
    };
    receipts_page(&state, &operator, day, None, Vec::new()).await
}

/// Largest bank statement uploaded.
const BANK_FILE_BYTES_MAX: usize = 16 << 20;

async fn import_bank(
    State(state): State<WebState>,
    operator: Operator,
    mut form: axum::extract::Multipart,
) -> Result<Response, WebError> {
    let err = operator.app_err();
    let unreadable =
        |detail: String| AppError::new(Code::BankFileUnreadable).with("detail", detail);
    let crate::upload::Upload { csrf, file } =
        crate::upload::Upload::read(&mut form, BANK_FILE_BYTES_MAX)
            .await
            .map_err(|detail| err(unreadable(detail)))?;
    operator.check(&state, &csrf)?;
    let (name, bytes) = file.ok_or_else(|| {
        err(unreadable(
            "choose the bank's CSV or .xlsx export (at most 16 MB)".into(),
        ))
    })?;
    // Reading is CPU work: off the request threads.
    let rows = tokio::task::spawn_blocking(move || manifest_file::grid::any_grid(&bytes))
        .await
        .map_err(|e| err(AppError::Internal(format!("bank file reader: {e}"))))?
        .map_err(|e| err(unreadable(format!("{e:#}"))))?;
    let report = state
        .app
        .import_bank_statement(&operator.principal, &name, &rows)
        .await
        .map_err(operator.app_err())?;
    let i = &report.import;
    let outcome = operator
        .tr
        .get("finance.receipts.outcome")
        .replace("{new}", &i.n_new.to_string())
        .replace("{amount}", &i.new_amount.to_string())
        .replace("{known}", &i.n_known.to_string())
        .replace("{bad}", &i.n_bad.to_string());
    let day = report
        .new
        .first()
        .map_or_else(|| state.app.today(), |r| r.day);
    receipts_page(&state, &operator, day, Some(outcome), report.bad).await
}

// Claims (认领) and write-offs (核销), branch `claims`: the unclaimed
// receipts with their age on the receipts page, a claim form on each, and
// the debtor page's credit, payments and write-off form.

struct UnclaimedRow {
    id: i64,
    day: String,
    age_days: i64,
    payer: String,
    amount: String,
    reference: String,
}

fn unclaimed_rows(list: &[app::finance::UnclaimedReceipt]) -> Vec<UnclaimedRow> {
    list.iter()
        .map(|u| UnclaimedRow {
            id: u.receipt.id,
            day: u.receipt.day.to_string(),
            age_days: u.age_days,
            payer: u.receipt.payer_name.clone(),
            amount: u.receipt.amount.to_string(),
            reference: u.receipt.reference.clone(),
        })
        .collect()
}

struct PaymentRow {
    at: String,
    statement_id: i64,
    amount: String,
    transfer: String,
}

fn payment_rows(list: &[app::finance::PaymentRecord]) -> Vec<PaymentRow> {
    list.iter()
        .map(|p| PaymentRow {
            at: chrono::DateTime::from_timestamp_millis(p.at_ms)
                .map(local)
                .unwrap_or_default(),
            statement_id: p.statement_id,
            amount: p.amount.to_string(),
            transfer: p.transfer_id.clone(),
        })
        .collect()
}

/// A fresh write-off key for a form: a repeated submission of the same
/// form is the same write-off.
fn write_off_key() -> String {
    format!("web-{:016x}", rand::random::<u64>())
}

#[derive(Deserialize)]
struct ClaimForm {
    csrf: String,
    carrier: String,
    /// `1`: write the claimed money off against the oldest invoices too.
    #[serde(default)]
    write_off: Option<String>,
}

async fn claim(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(form): Form<ClaimForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let carrier = parse_carrier(Some(field(t, &form.carrier)?)).map_err(operator.app_err())?;
    let claimed = state
        .app
        .claim_receipt(&operator.principal, id, carrier)
        .await
        .map_err(operator.app_err())?;
    if form.write_off.as_deref() == Some("1") {
        let request = app::finance::WriteOffRequest {
            key: format!("claim-{id}"),
            carrier,
            statements: Vec::new(),
            amount: Some(claimed.amount),
        };
        match state.app.write_off(&operator.principal, &request).await {
            // Nothing owed: the money stays as the debtor's credit.
            Ok(_) => {}
            Err(e) if e.code() == Code::WriteOffNothing => {}
            Err(e) => return Err((operator.app_err())(e)),
        }
    }
    Ok(Redirect::to(&format!("/finance/debtors/{}", carrier.code())).into_response())
}

#[derive(Deserialize)]
struct WriteOffForm {
    csrf: String,
    key: String,
    /// One invoice to pay; empty: the oldest first.
    #[serde(default)]
    statement: String,
    /// At most this many yuan; empty: as much as the credit and the
    /// invoices allow.
    #[serde(default)]
    amount: String,
}

async fn write_off(
    State(state): State<WebState>,
    operator: Operator,
    Path(code): Path<String>,
    Form(form): Form<WriteOffForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let carrier = parse_carrier(Some(field(t, &code)?)).map_err(operator.app_err())?;
    let statements = match form.statement.trim() {
        "" => Vec::new(),
        text => vec![
            text.parse::<i64>()
                .map_err(|_| {
                    AppError::new(Code::WriteOffInvoiceInvalid)
                        .with("id", field(t, text).unwrap_or("?").to_string())
                        .with("carrier", carrier.code())
                })
                .map_err(operator.app_err())?,
        ],
    };
    let amount = match form.amount.trim() {
        "" => None,
        text => Some(
            parse_yuan(field(t, text)?)
                .ok_or_else(|| AppError::new(Code::WriteOffAmountInvalid))
                .map_err(operator.app_err())?,
        ),
    };
    state
        .app
        .write_off(
            &operator.principal,
            &app::finance::WriteOffRequest {
                key: field(t, &form.key)?.to_string(),
                carrier,
                statements,
                amount,
            },
        )
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/finance/debtors/{}", carrier.code())).into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_yuan;
    use domain::Fen;

    #[test]
    fn yuan_are_read_into_fen_without_floats() {
        assert_eq!(parse_yuan("12"), Some(Fen(1200)));
        assert_eq!(parse_yuan("12.5"), Some(Fen(1250)));
        assert_eq!(parse_yuan("¥0.07"), Some(Fen(7)));
        for bad in ["", "1.234", "-1", "1e3", "abc", "1."] {
            assert_eq!(parse_yuan(bad), None, "{bad}");
        }
    }
}

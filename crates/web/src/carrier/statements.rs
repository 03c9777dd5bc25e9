//! The carrier's statements (对账单, issue 15): the list with what each
//! owes and when it is due, and one statement's lines, each confirmed or
//! disputed with a reason from the page (all open lines confirmed at once,
//! or one line at a time).

use super::{CarrierStaff, Frame};
use crate::{WebError, WebState, field, render};
use app::finance::{LineAnswer, LineStatus, StatementRecord, StatementStatus};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

struct Row {
    id: i64,
    month: String,
    status: &'static str,
    n_lines: i64,
    issued: String,
    credited: String,
    /// Paid by write-offs (branch claims).
    paid: String,
    net: String,
    due: String,
}

fn row(s: &StatementRecord) -> Row {
    Row {
        id: s.id,
        month: s.month.to_string(),
        status: match s.status {
            StatementStatus::Issued => "finance.status.issued",
            StatementStatus::Disputed => "finance.status.disputed",
            StatementStatus::Settled => "finance.status.settled",
        },
        n_lines: s.n_lines,
        issued: s.issued.to_string(),
        credited: s.credited.to_string(),
        paid: s.paid.to_string(),
        net: s.net.to_string(),
        due: s.due_day.to_string(),
    }
}

#[derive(Template)]
#[template(path = "carrier/statements.html")]
struct ListPage {
    f: Frame,
    statements: Vec<Row>,
    /// Branch claims: the carrier's credit and its payments (when, which
    /// statement, how much).
    credit: String,
    payments: Vec<(String, i64, String)>,
    /// Branch money2: what the carrier owes net of its credit, its credit
    /// limit (empty: none) and whether its new manifests are held.
    exposure: String,
    limit: String,
    held: bool,
}

pub(super) async fn statements(
    State(state): State<WebState>,
    staff: CarrierStaff,
) -> Result<Response, WebError> {
    let list = state
        .app
        .statements(&staff.principal, Some(staff.carrier))
        .await
        .map_err(staff.app_err())?;
    let money = state
        .app
        .debtor_payments(&staff.principal, staff.carrier)
        .await
        .map_err(staff.app_err())?;
    let exposure = state
        .app
        .carrier_exposure(&staff.principal, staff.carrier)
        .await
        .map_err(staff.app_err())?;
    Ok(render(ListPage {
        exposure: exposure.exposure.to_string(),
        limit: exposure
            .rule
            .as_ref()
            .and_then(|r| r.limit)
            .map(|l| l.to_string())
            .unwrap_or_default(),
        held: exposure.incident.as_ref().is_some_and(|i| i.holds()),
        f: Frame::new(&staff, "statements"),
        statements: list.iter().map(row).collect(),
        credit: money.credit.to_string(),
        payments: money
            .payments
            .iter()
            .map(|p| {
                (
                    chrono::DateTime::from_timestamp_millis(p.at_ms)
                        .map(crate::local)
                        .unwrap_or_default(),
                    p.statement_id,
                    p.amount.to_string(),
                )
            })
            .collect(),
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
    open: bool,
    reason: String,
    resolution: String,
}

#[derive(Template)]
#[template(path = "carrier/statement.html")]
struct StatementPage {
    f: Frame,
    s: Row,
    lines: Vec<LineRow>,
    any_open: bool,
}

pub(super) async fn statement(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let t = staff.tr;
    let view = state
        .app
        .statement(&staff.principal, id)
        .await
        .map_err(staff.app_err())?;
    let lines: Vec<LineRow> = view
        .lines
        .iter()
        .map(|l| LineRow {
            id: l.id,
            waybill: l.waybill.clone(),
            day: l.day.to_string(),
            mode: crate::xlsx::mode_name(l.mode, t),
            bracket: l.bracket,
            version: l.agreement_version,
            amount: l.amount.to_string(),
            status: match l.status {
                LineStatus::Open => "finance.line.open",
                LineStatus::Confirmed => "finance.line.confirmed",
                LineStatus::Disputed => "finance.line.disputed",
                LineStatus::Upheld => "finance.line.upheld",
                LineStatus::Reversed => "finance.line.reversed",
                LineStatus::Adjusted => "finance.line.adjusted",
            },
            open: l.status == LineStatus::Open,
            reason: l.dispute_reason.clone().unwrap_or_default(),
            resolution: l.resolution_note.clone().unwrap_or_default(),
        })
        .collect();
    Ok(render(StatementPage {
        f: Frame::new(&staff, "statements"),
        s: row(&view.statement),
        any_open: lines.iter().any(|l| l.open),
        lines,
    }))
}

#[derive(Deserialize)]
pub(super) struct AnswerForm {
    csrf: String,
    /// `confirm`, `dispute` or `confirm_all`.
    answer: String,
    #[serde(default)]
    line_id: Option<i64>,
    #[serde(default)]
    reason: String,
}

pub(super) async fn answer(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Path(id): Path<i64>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, WebError> {
    staff.check(&state, &form.csrf)?;
    let reason = field(staff.tr, &form.reason)?.to_string();
    let answers = match (form.answer.as_str(), form.line_id) {
        ("dispute", Some(line_id)) => vec![LineAnswer::Dispute { line_id, reason }],
        ("confirm", Some(line_id)) => vec![LineAnswer::Confirm { line_id }],
        _ => state
            .app
            .statement(&staff.principal, id)
            .await
            .map_err(staff.app_err())?
            .lines
            .iter()
            .filter(|l| l.status == LineStatus::Open)
            .map(|l| LineAnswer::Confirm { line_id: l.id })
            .collect(),
    };
    state
        .app
        .answer_statement(&staff.principal, id, &answers)
        .await
        .map_err(staff.app_err())?;
    Ok(Redirect::to(&format!("/carrier/statements/{id}")).into_response())
}

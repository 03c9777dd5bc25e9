//! Reconciliation and fees (`/centre/reports`): for one carrier over
//! Shanghai days, the fee summary with totals, the fee rows with their
//! waybills, the announced-but-missing and arrived-but-unannounced lists,
//! and the same as a spreadsheet (`/centre/reports/fees.xlsx`, built by
//! `crate::xlsx`). Every read goes through the use cases, which check the
//! caller and record the export (`data_exported`).

use super::office::{carrier_name, carriers, parse_carrier, parse_day};
use super::{Frame, Operator};
use crate::xlsx::{FeeLine, FeeReport, mode_name};
use crate::{WebError, WebState, render};
use app::AppError;
use app::county::{FeeRecord, FeeSummary, Reconciliation};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use domain::Carrier;
use domain::limits::PAGE_SIZE_MAX;
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    axum::Router::new()
        .route("/centre/reports", axum::routing::get(reports))
        .route("/centre/reports/fees.xlsx", axum::routing::get(download))
}

/// Most fee rows the page lists; the spreadsheet has them all.
const FEES_SHOWN_MAX: u32 = PAGE_SIZE_MAX;
/// Most fee rows one spreadsheet holds (a busy county's year for one
/// carrier is well under this).
const FEES_EXPORTED_MAX: usize = 500_000;

#[derive(Deserialize)]
pub(super) struct ReportQuery {
    carrier: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

struct SummaryRow {
    mode: &'static str,
    version: u32,
    bracket: u32,
    n_parcels: u64,
    total: String,
}

struct FeeRow {
    waybill: String,
    day: String,
    mode: &'static str,
    township: String,
    weight: String,
    amount: String,
}

struct ParcelRow {
    waybill: String,
    state: &'static str,
    since: String,
}

#[derive(Template)]
#[template(path = "centre/reports.html")]
struct ReportsPage {
    f: Frame,
    carriers: Vec<(&'static str, String)>,
    carrier: &'static str,
    carrier_label: String,
    from: String,
    to: String,
    summary: Vec<SummaryRow>,
    n_parcels: u64,
    total: String,
    fees: Vec<FeeRow>,
    /// More fees than the page lists.
    more_fees: bool,
    missing: Vec<ParcelRow>,
    unannounced: Vec<ParcelRow>,
    download: String,
}

/// The carrier and days a query names, with the use case's defaults.
fn range(
    state: &WebState,
    query: &ReportQuery,
) -> Result<(Carrier, NaiveDate, NaiveDate), AppError> {
    let carrier = parse_carrier(query.carrier.as_deref())?;
    let from = parse_day(query.from.as_deref())?;
    let to = parse_day(query.to.as_deref())?;
    let (from, to) = state.app.report_days(from, to)?;
    Ok((carrier, from, to))
}

/// The fee rows as the page and the workbook show them (each carries its
/// waybill from the ledger).
fn lines_of(fees: Vec<FeeRecord>) -> Vec<FeeLine> {
    fees.into_iter()
        .map(|record| {
            let fee = record.fee;
            FeeLine {
                waybill: record.waybill,
                day: fee.day,
                at: fee
                    .at
                    .with_timezone(&domain::shanghai())
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                mode: fee.mode,
                event_kind: fee.event_kind,
                township: fee.township,
                weight_grams: fee.weight_grams,
                agreement_version: fee.agreement_version,
                bracket: fee.bracket + 1,
                amount: fee.amount,
            }
        })
        .collect()
}

fn parcel_rows(parcels: &[app::county::ReconciledParcel], t: crate::i18n::Tr) -> Vec<ParcelRow> {
    parcels
        .iter()
        .map(|p| ParcelRow {
            waybill: p.waybill.to_string(),
            state: if t.is_en() {
                p.state.code()
            } else {
                p.state.name_zh()
            },
            since: p
                .created_at
                .with_timezone(&domain::shanghai())
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        })
        .collect()
}

pub(super) async fn reports(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<ReportQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let (carrier, from, to) = range(&state, &query).map_err(operator.app_err())?;
    let app = &state.app;
    let principal = &operator.principal;
    let summary: FeeSummary = app
        .fee_summary(principal, carrier, from, to)
        .await
        .map_err(operator.app_err())?;
    let fees = app
        .fee_ledger(principal, carrier, from, to, None, Some(FEES_SHOWN_MAX))
        .await
        .map_err(operator.app_err())?;
    let more_fees = summary.n_parcels > fees.len() as u64;
    let lines = lines_of(fees);
    let reconciliation: Reconciliation = app
        .reconcile(principal, carrier, from, to)
        .await
        .map_err(operator.app_err())?;
    Ok(render(ReportsPage {
        f: Frame::new(&operator, "reports"),
        carriers: carriers(t),
        carrier: carrier.code(),
        carrier_label: carrier_name(carrier, t),
        from: from.to_string(),
        to: to.to_string(),
        summary: summary
            .rows
            .iter()
            .map(|row| SummaryRow {
                mode: mode_name(row.mode, t),
                version: row.agreement_version,
                bracket: row.bracket + 1,
                n_parcels: row.n_parcels,
                total: row.total.to_string(),
            })
            .collect(),
        n_parcels: summary.n_parcels,
        total: summary.total.to_string(),
        fees: lines
            .iter()
            .map(|line| FeeRow {
                waybill: line.waybill.clone(),
                day: line.day.to_string(),
                mode: mode_name(line.mode, t),
                township: line.township.clone(),
                weight: line
                    .weight_grams
                    .map(|g| format!("{g} g"))
                    .unwrap_or_else(|| "—".into()),
                amount: line.amount.to_string(),
            })
            .collect(),
        more_fees,
        missing: parcel_rows(&reconciliation.missing, t),
        unannounced: parcel_rows(&reconciliation.unannounced, t),
        download: format!(
            "/centre/reports/fees.xlsx?carrier={}&from={from}&to={to}",
            carrier.code()
        ),
    }))
}

/// The spreadsheet: the summary, every fee row with its waybill, and the
/// reconciliation, through the same use cases as the page and the API.
pub(super) async fn download(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<ReportQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let (carrier, from, to) = range(&state, &query).map_err(operator.app_err())?;
    let app = &state.app;
    let principal = &operator.principal;
    let summary = app
        .fee_summary(principal, carrier, from, to)
        .await
        .map_err(operator.app_err())?;
    let mut fees = Vec::new();
    let mut after_id = None;
    loop {
        let page = app
            .fee_ledger(principal, carrier, from, to, after_id, Some(PAGE_SIZE_MAX))
            .await
            .map_err(operator.app_err())?;
        let full = page.len() == PAGE_SIZE_MAX as usize;
        after_id = page.last().map(|fee| fee.id);
        fees.extend(page);
        if !full || fees.len() >= FEES_EXPORTED_MAX {
            break;
        }
    }
    let lines = lines_of(fees);
    let reconciliation = app
        .reconcile(principal, carrier, from, to)
        .await
        .map_err(operator.app_err())?;
    let bytes = crate::xlsx::fee_report(
        &FeeReport {
            summary: &summary,
            lines: &lines,
            reconciliation: &reconciliation,
        },
        t,
    )
    .map_err(crate::xlsx::failed(t))?;
    let name = format!("fees-{}-{from}-{to}.xlsx", carrier.code());
    Ok(crate::xlsx::download(bytes, &name))
}

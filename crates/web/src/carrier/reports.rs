//! Reconciliation (announced against arrived) and fees, for the carrier's
//! own carrier only, over a day range: on screen, and as CSV downloads
//! (each read is recorded as `data_exported` by the use cases).

use super::{CarrierStaff, Frame, csv_download, csv_line, day_range, full_local};
use crate::{WebError, WebState, local, render};
use app::{AppError, Code};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use domain::limits::PAGE_SIZE_MAX;
use serde::Deserialize;

/// Ledger pages a download reads at most (`PAGE_SIZE_MAX` rows each).
const DOWNLOAD_PAGES_MAX: usize = 100;

#[derive(Deserialize)]
pub(super) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
}

struct ReconRow {
    waybill: String,
    state: String,
    at: String,
}

struct SummaryRow {
    mode: String,
    version: u32,
    bracket: u32,
    n_parcels: u64,
    total: String,
}

struct FeeRow {
    day: String,
    parcel_id: i64,
    mode: String,
    township: String,
    weight: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "carrier/reports.html")]
struct ReportsPage {
    f: Frame,
    from: String,
    to: String,
    n_missing: usize,
    n_unannounced: usize,
    /// (title key, rows): missing, then unannounced.
    sections: Vec<(&'static str, Vec<ReconRow>)>,
    summary: Vec<SummaryRow>,
    n_parcels: u64,
    total: String,
    fees: Vec<FeeRow>,
    /// The query string of the ledger's next page.
    next: Option<String>,
}

fn state_name(t: crate::i18n::Tr, state: domain::ParcelState) -> String {
    if t.is_en() {
        state.code().replace('_', " ")
    } else {
        state.name_zh().to_string()
    }
}

fn mode_name(t: crate::i18n::Tr, mode: domain::county::Mode) -> String {
    if t.is_en() {
        mode.code().to_string()
    } else {
        mode.name_zh().to_string()
    }
}

fn after_of(staff: &CarrierStaff, after: Option<&str>) -> Result<Option<i64>, WebError> {
    match after.map(str::trim).filter(|a| !a.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            WebError::from_app(
                AppError::new(Code::QueryInvalid).with_detail("after must be a number"),
                staff.tr,
            )
        }),
    }
}

pub(super) async fn reports(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Query(query): Query<RangeQuery>,
) -> Result<Response, WebError> {
    let t = staff.tr;
    let (from, to) = day_range(&staff, &state, query.from.as_deref(), query.to.as_deref())?;
    let after = after_of(&staff, query.after.as_deref())?;
    let app = &state.app;
    let recon = app
        .reconcile(&staff.principal, staff.carrier, from, to)
        .await
        .map_err(staff.app_err())?;
    let summary = app
        .fee_summary(&staff.principal, staff.carrier, from, to)
        .await
        .map_err(staff.app_err())?;
    let fees = app
        .fee_ledger(
            &staff.principal,
            staff.carrier,
            from,
            to,
            after,
            Some(PAGE_SIZE_MAX),
        )
        .await
        .map_err(staff.app_err())?;
    let next = (fees.len() == PAGE_SIZE_MAX as usize)
        .then(|| {
            fees.last()
                .map(|f| format!("from={from}&to={to}&after={}", f.id))
        })
        .flatten();
    let recon_rows = |parcels: Vec<app::county::ReconciledParcel>| -> Vec<ReconRow> {
        parcels
            .into_iter()
            .map(|p| ReconRow {
                waybill: p.waybill.to_string(),
                state: state_name(t, p.state),
                at: local(p.created_at),
            })
            .collect()
    };
    Ok(render(ReportsPage {
        f: Frame::new(&staff, "reports"),
        from: from.to_string(),
        to: to.to_string(),
        n_missing: recon.missing.len(),
        n_unannounced: recon.unannounced.len(),
        sections: vec![
            ("carrier.reports.missing", recon_rows(recon.missing)),
            ("carrier.reports.unannounced", recon_rows(recon.unannounced)),
        ],
        summary: summary
            .rows
            .iter()
            .map(|r| SummaryRow {
                mode: mode_name(t, r.mode),
                version: r.agreement_version,
                bracket: r.bracket + 1,
                n_parcels: r.n_parcels,
                total: r.total.to_string(),
            })
            .collect(),
        n_parcels: summary.n_parcels,
        total: summary.total.to_string(),
        fees: fees
            .iter()
            .map(|f| FeeRow {
                day: f.fee.day.to_string(),
                parcel_id: f.fee.parcel_id,
                mode: mode_name(t, f.fee.mode),
                township: f.fee.township.clone(),
                weight: f
                    .fee
                    .weight_grams
                    .map(|g| format!("{g} g"))
                    .unwrap_or_default(),
                amount: f.fee.amount.to_string(),
            })
            .collect(),
        next,
    }))
}

/// The fee ledger over the range as CSV (amounts in fen and in yuan).
pub(super) async fn fees_csv(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Query(query): Query<RangeQuery>,
) -> Result<Response, WebError> {
    let (from, to) = day_range(&staff, &state, query.from.as_deref(), query.to.as_deref())?;
    let mut out = csv_line(&[
        "day",
        "parcel_id",
        "mode",
        "agreement_version",
        "bracket",
        "township",
        "weight_grams",
        "amount_fen",
        "amount",
        "event",
        "at",
    ]);
    let mut after = None;
    for _ in 0..DOWNLOAD_PAGES_MAX {
        let page = state
            .app
            .fee_ledger(
                &staff.principal,
                staff.carrier,
                from,
                to,
                after,
                Some(PAGE_SIZE_MAX),
            )
            .await
            .map_err(staff.app_err())?;
        for f in &page {
            let fee = &f.fee;
            out.push_str(&csv_line(&[
                &fee.day.to_string(),
                &fee.parcel_id.to_string(),
                fee.mode.code(),
                &fee.agreement_version.to_string(),
                &(fee.bracket + 1).to_string(),
                &fee.township,
                &fee.weight_grams.map(|g| g.to_string()).unwrap_or_default(),
                &fee.amount.0.to_string(),
                &format!("{:.2}", fee.amount.0 as f64 / 100.0),
                &fee.event_kind,
                &full_local(fee.at),
            ]));
        }
        if page.len() < PAGE_SIZE_MAX as usize {
            break;
        }
        after = page.last().map(|f| f.id);
    }
    Ok(csv_download(
        &format!("fees-{}-{from}-{to}.csv", staff.carrier.code()),
        out,
    ))
}

/// Reconciliation over the range as CSV: each parcel missing (announced,
/// never seen) or unannounced (arrived without an announcement).
pub(super) async fn reconciliation_csv(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Query(query): Query<RangeQuery>,
) -> Result<Response, WebError> {
    let (from, to) = day_range(&staff, &state, query.from.as_deref(), query.to.as_deref())?;
    let recon = state
        .app
        .reconcile(&staff.principal, staff.carrier, from, to)
        .await
        .map_err(staff.app_err())?;
    let mut out = csv_line(&["finding", "waybill", "state", "at"]);
    for (finding, parcels) in [
        ("missing", &recon.missing),
        ("unannounced", &recon.unannounced),
    ] {
        for p in parcels {
            out.push_str(&csv_line(&[
                finding,
                p.waybill.as_str(),
                p.state.code(),
                &full_local(p.created_at),
            ]));
        }
    }
    Ok(csv_download(
        &format!("reconciliation-{}-{from}-{to}.csv", staff.carrier.code()),
        out,
    ))
}

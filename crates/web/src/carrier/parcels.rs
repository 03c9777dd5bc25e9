//! The carrier's parcels by state, with search by waybill, state and the
//! day they were announced or first seen, a page at a time. Rows are
//! `app::parcels::CarrierParcel`, the API's carrier view: no pickup code,
//! slot, phone, name or staff.

use super::{CarrierStaff, Frame, day};
use crate::{WebError, WebState, field, local, render};
use app::parcels::CarrierParcel;
use app::ports::ParcelFilter;
use app::{AppError, Code};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use domain::ParcelState;
use serde::Deserialize;

/// Parcels on one page.
const PAGE_ROWS: u32 = 50;

/// One row of the list, ready to show.
struct Row {
    waybill: String,
    state: String,
    problem: bool,
    station_id: Option<i64>,
    has_code: bool,
    overdue: bool,
    weight: String,
    created: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "carrier/parcels.html")]
struct ParcelsPage {
    f: Frame,
    waybill: String,
    state: String,
    from: String,
    to: String,
    /// (code, name) of every state, for the filter.
    states: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    /// The query string of the next page, when there is one.
    next: Option<String>,
    /// Whether this is a later page (a link back to the first).
    paged: bool,
}

#[derive(Deserialize)]
pub(super) struct ParcelsQuery {
    waybill: Option<String>,
    state: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
}

pub(super) async fn parcels(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Query(query): Query<ParcelsQuery>,
) -> Result<Response, WebError> {
    let t = staff.tr;
    let refuse = |e: AppError| WebError::from_app(e, t);
    let waybill = field(t, query.waybill.as_deref().unwrap_or(""))?
        .trim()
        .to_string();
    let waybill_filter = match waybill.as_str() {
        "" => None,
        typed => Some(
            domain::WaybillNo::parse(typed)
                .map_err(|e| refuse(AppError::new(Code::WaybillInvalid).with_detail(e)))?
                .as_str()
                .to_string(),
        ),
    };
    let state_code = query.state.as_deref().unwrap_or("").trim().to_string();
    let state_filter = match state_code.as_str() {
        "" => None,
        code => Some(ParcelState::parse(code).ok_or_else(|| {
            refuse(AppError::new(Code::QueryInvalid).with_detail(format!("unknown state {code:?}")))
        })?),
    };
    let from = day(t, "from", query.from.as_deref())?;
    let to = day(t, "to", query.to.as_deref())?;
    let after = match query
        .after
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            refuse(AppError::new(Code::QueryInvalid).with_detail("after must be a number"))
        })?),
    };
    let start = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(domain::shanghai()).single())
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let filter = ParcelFilter {
        state: state_filter,
        waybill: waybill_filter,
        created_from: from.and_then(start),
        created_before: to.and_then(|d| d.succ_opt()).and_then(start),
        after_id: after,
        limit: PAGE_ROWS,
        ..ParcelFilter::default()
    };
    let page = state
        .app
        .search(&staff.principal, filter)
        .await
        .map_err(staff.app_err())?;
    let rows = page
        .parcels
        .into_iter()
        .map(|view| {
            let p = CarrierParcel::from(view);
            Row {
                waybill: p.waybill.to_string(),
                state: if t.is_en() {
                    p.state.code().replace('_', " ")
                } else {
                    p.state.name_zh().to_string()
                },
                problem: p.problem.is_some(),
                station_id: p.station_id,
                has_code: p.has_pickup_code,
                overdue: p.overdue,
                weight: p.weight_grams.map(|g| format!("{g} g")).unwrap_or_default(),
                created: local(p.created_at),
                updated: local(p.updated_at),
            }
        })
        .collect();
    let from_text = from.map(|d| d.to_string()).unwrap_or_default();
    let to_text = to.map(|d| d.to_string()).unwrap_or_default();
    let next = page.next_after_id.map(|id| {
        form_query(&[
            ("waybill", &waybill),
            ("state", &state_code),
            ("from", &from_text),
            ("to", &to_text),
            ("after", &id.to_string()),
        ])
    });
    Ok(render(ParcelsPage {
        f: Frame::new(&staff, "parcels"),
        waybill,
        state: state_code,
        from: from_text,
        to: to_text,
        states: ParcelState::ALL
            .iter()
            .map(|s| (s.code(), if t.is_en() { s.code() } else { s.name_zh() }))
            .collect(),
        rows,
        next,
        paged: after.is_some(),
    }))
}

/// A query string, each value percent-encoded.
fn form_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            let encoded: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

//! Problems and returns: reporting a problem with a parcel, the problems
//! list with what can be done to each (put back on the shelf, return, hand
//! out), returning a parcel to its carrier after a confirmation, and the
//! returns list grouped by carrier with its printable sheet.

use super::{Frame, ParcelRow, back_to_search, row};
use crate::i18n::Tr;
use crate::{Keeper, WebError, WebState, render};
use app::parcels::ParcelView;
use app::ports::ParcelFilter;
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{ParcelState, ProblemKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Rows per page of the console's lists.
pub(super) const LIST_PAGE: u32 = 50;

#[derive(Deserialize)]
pub(super) struct ProblemForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    q: String,
}

pub(super) async fn problem(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<ProblemForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    let Some(kind) = ProblemKind::parse(&form.kind) else {
        return Err(WebError::from_app(
            AppError::new(Code::ChoiceMissing).with_words(
                "what",
                "包裹的问题",
                "what is wrong with the parcel",
            ),
            keeper.tr,
        ));
    };
    state
        .app
        .parcel_at_station(&keeper.principal, station_id, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    state
        .app
        .report_problem(&keeper.principal, parcel_id, kind, None)
        .await
        .map_err(keeper.app_err())?;
    Ok(back_to_search(station_id, &form.q, "problem"))
}

#[derive(Deserialize)]
pub(super) struct ReturnForm {
    csrf: String,
    /// `yes` once the keeper confirmed on the confirmation page.
    #[serde(default)]
    confirmed: String,
    /// Where to go afterwards: `problems` or the returns list.
    #[serde(default)]
    from: String,
}

#[derive(Template)]
#[template(path = "station/confirm_return.html")]
struct ConfirmReturnPage {
    f: Frame,
    p: ParcelRow,
    from: String,
}

/// Returning is final (the parcel leaves the station for good), so the
/// first press shows what will be returned and asks again.
pub(super) async fn return_parcel(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<ReturnForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    let view = state
        .app
        .parcel_at_station(&keeper.principal, station_id, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    let from = if form.from == "problems" {
        "problems"
    } else {
        "returns"
    };
    if form.confirmed != "yes" {
        let f = Frame::load(&state, &keeper, station_id, from).await?;
        return Ok(render(ConfirmReturnPage {
            p: row(view, keeper.tr),
            f,
            from: from.to_string(),
        }));
    }
    state
        .app
        .return_to_carrier(&keeper.principal, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!("/console/s/{station_id}/{from}?done=returned")).into_response())
}

#[derive(Deserialize)]
pub(super) struct ResolveForm {
    csrf: String,
}

/// A problem dealt with: the parcel goes back on a shelf (a slot, and with
/// consent a fresh code and the arrival notice), and the keeper sees where.
pub(super) async fn resolve(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<ResolveForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    state
        .app
        .resolve_problem(&keeper.principal, station_id, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!(
        "/console/s/{station_id}/parcels/{parcel_id}?done=resolved"
    ))
    .into_response())
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "station/problems.html")]
struct ProblemsPage {
    f: Frame,
    total: u64,
    rows: Vec<ParcelRow>,
    next: Option<i64>,
    first: bool,
    notice: Option<&'static str>,
}

fn notice(t: Tr, done: Option<&str>) -> Option<&'static str> {
    done.map(|done| {
        t.get(match done {
            "returned" => "station.returned_done",
            "handout" => "handout.done",
            _ => "done.ok",
        })
    })
}

pub(super) async fn problems(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "problems").await?;
    let page = state
        .app
        .station_parcels(
            &keeper.principal,
            station_id,
            ParcelFilter {
                state: Some(ParcelState::Problem),
                after_id: query.after,
                limit: LIST_PAGE,
                ..Default::default()
            },
        )
        .await
        .map_err(keeper.app_err())?;
    // The same count as the overview's tile: one definition.
    let total = state
        .app
        .count_in_state(&keeper.principal, station_id, ParcelState::Problem)
        .await
        .map_err(keeper.app_err())?;
    Ok(render(ProblemsPage {
        f,
        total,
        rows: page
            .parcels
            .into_iter()
            .map(|v| row(v, keeper.tr))
            .collect(),
        next: page.next_after_id,
        first: query.after.is_none(),
        notice: notice(keeper.tr, query.done.as_deref()),
    }))
}

/// One carrier's parcels on the returns list.
struct CarrierGroup {
    carrier: &'static str,
    rows: Vec<ParcelRow>,
}

async fn return_groups(
    state: &WebState,
    keeper: &Keeper,
    station_id: i64,
) -> Result<Vec<CarrierGroup>, WebError> {
    let parcels = state
        .app
        .return_list(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?;
    let slots: BTreeMap<i64, String> = state
        .app
        .station_slots(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?
        .into_iter()
        .map(|s| (s.slot.id, s.slot.label()))
        .collect();
    let mut groups: BTreeMap<&'static str, Vec<ParcelRow>> = BTreeMap::new();
    for parcel in parcels {
        let code = parcel.carrier.code();
        let slot = parcel.slot_id.and_then(|id| slots.get(&id).cloned());
        groups.entry(code).or_default().push(row(
            ParcelView {
                parcel,
                slot,
                overdue: true,
            },
            keeper.tr,
        ));
    }
    Ok(groups
        .into_values()
        .map(|rows| CarrierGroup {
            carrier: rows.first().map(|r| r.carrier).unwrap_or_default(),
            rows,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "station/returns.html")]
struct ReturnsPage {
    f: Frame,
    groups: Vec<CarrierGroup>,
    total: usize,
    notice: Option<&'static str>,
}

pub(super) async fn returns(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "returns").await?;
    let groups = return_groups(&state, &keeper, station_id).await?;
    Ok(render(ReturnsPage {
        total: groups.iter().map(|g| g.rows.len()).sum(),
        f,
        groups,
        notice: notice(keeper.tr, query.done.as_deref()),
    }))
}

#[derive(Template)]
#[template(path = "station/returns_print.html")]
struct ReturnsPrint {
    t: Tr,
    station: String,
    station_id: i64,
    date: String,
    groups: Vec<CarrierGroup>,
}

/// The returns list as a sheet for the carriers' couriers to sign (A4):
/// station, date, one block per carrier with signature lines, no buttons.
pub(super) async fn returns_print(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "returns").await?;
    let groups = return_groups(&state, &keeper, station_id).await?;
    Ok(render(ReturnsPrint {
        t: keeper.tr,
        station: f.station.name,
        station_id,
        date: state.app.today().format("%Y-%m-%d").to_string(),
        groups,
    }))
}

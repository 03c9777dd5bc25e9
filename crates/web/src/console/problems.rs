//! Problems and returns: reporting a problem with a parcel, returning one
//! to its carrier, and the lists of both.

use super::{Frame, ParcelRow, back_to_search, row};
use crate::{Keeper, WebError, WebState, render};
use app::parcels::ParcelView;
use app::ports::ParcelFilter;
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{ParcelState, ProblemKind};
use serde::Deserialize;
use std::collections::BTreeMap;

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
    let kind = match form.kind.as_str() {
        "damaged" => ProblemKind::Damaged,
        "wrong_address" => ProblemKind::WrongAddress,
        "refused" => ProblemKind::Refused,
        "lost" => ProblemKind::Lost,
        _ => {
            return Err(WebError::from_app(
                AppError::new(Code::ChoiceMissing).with_words(
                    "what",
                    "包裹的问题",
                    "what is wrong with the parcel",
                ),
                keeper.tr,
            ));
        }
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

pub(super) async fn return_parcel(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<ProblemFormReturn>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    state
        .app
        .parcel_at_station(&keeper.principal, station_id, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    state
        .app
        .return_to_carrier(&keeper.principal, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!("/console/s/{station_id}/returns")).into_response())
}

#[derive(Deserialize)]
pub(super) struct ProblemFormReturn {
    csrf: String,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    f: Frame,
    title: &'static str,
    rows: Vec<ParcelRow>,
    returns: bool,
}

pub(super) async fn problems(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "problems").await?;
    let rows = state
        .app
        .station_parcels(
            &keeper.principal,
            station_id,
            ParcelFilter {
                state: Some(ParcelState::Problem),
                limit: domain::limits::PAGE_SIZE_MAX,
                ..Default::default()
            },
        )
        .await
        .map_err(keeper.app_err())?
        .parcels
        .into_iter()
        .map(row)
        .collect();
    Ok(render(ListPage {
        title: keeper.tr.get("problems.title"),
        f,
        rows,
        returns: false,
    }))
}

pub(super) async fn returns(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "returns").await?;
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
    let rows = parcels
        .into_iter()
        .map(|parcel| {
            let slot = parcel.slot_id.and_then(|id| slots.get(&id).cloned());
            row(ParcelView {
                parcel,
                slot,
                overdue: true,
            })
        })
        .collect();
    Ok(render(ListPage {
        title: keeper.tr.get("returns.title"),
        f,
        rows,
        returns: true,
    }))
}

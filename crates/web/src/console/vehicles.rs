//! Vehicles at the station (车辆交接, issue 20): the unmanned vehicles and
//! vans whose mission has a stop here still to hand over, with what each
//! compartment holds. The keeper has an unmanned vehicle's compartments
//! opened (a signed `open_compartment` command over the bus,
//! `App::open_compartments_at_stop`) and then hands the stop over, ticking
//! the compartments that opened: every parcel in them enters the station's
//! inbound flow with no scan (`App::hand_over_at_stop`), and a parcel whose
//! compartment stayed shut goes back to the centre with the vehicle.

use super::Frame;
use crate::{Keeper, WebError, WebState, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;

struct CompartmentRow {
    number: u32,
    waybills: String,
}

struct ArrivalRow {
    mission_id: i64,
    stop_id: i64,
    vehicle: String,
    unmanned: bool,
    n_parcels: usize,
    compartments: Vec<CompartmentRow>,
    /// A van's parcels carry no compartment: handed over all together.
    loose: String,
}

#[derive(Template)]
#[template(path = "station/vehicles.html")]
struct VehiclesPage {
    f: Frame,
    arrivals: Vec<ArrivalRow>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct VehiclesQuery {
    #[serde(default)]
    opened: Option<String>,
    #[serde(default)]
    handed: Option<usize>,
    #[serde(default)]
    kept: Option<usize>,
}

pub(super) async fn vehicles(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Query(query): Query<VehiclesQuery>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "vehicles").await?;
    let due = state
        .app
        .vehicles_due_at_station(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?;
    let arrivals = due
        .into_iter()
        .map(|arrival| {
            let compartments = arrival
                .compartments
                .iter()
                .map(|number| CompartmentRow {
                    number: *number,
                    waybills: arrival
                        .parcels
                        .iter()
                        .filter(|p| p.compartment == Some(*number))
                        .map(|p| p.waybill.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                })
                .collect();
            ArrivalRow {
                mission_id: arrival.mission_id,
                stop_id: arrival.stop_id,
                vehicle: format!("{} {}", arrival.vehicle.code, arrival.vehicle.name),
                unmanned: arrival.vehicle.kind == domain::fleet::VehicleKind::Unmanned,
                n_parcels: arrival.parcels.len(),
                compartments,
                loose: arrival
                    .parcels
                    .iter()
                    .filter(|p| p.compartment.is_none())
                    .map(|p| p.waybill.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        })
        .collect();
    let t = keeper.tr;
    let notice = match (&query.opened, query.handed) {
        (Some(opened), _) => Some(t.get("vehicles.opened_done").replace("{n}", opened)),
        (None, Some(handed)) => Some(
            t.get("vehicles.handed_done")
                .replace("{n}", &handed.to_string())
                .replace("{kept}", &query.kept.unwrap_or(0).to_string()),
        ),
        _ => None,
    };
    Ok(render(VehiclesPage {
        f,
        arrivals,
        notice,
    }))
}

/// `csrf` and, for a hand-over, a `c{n}` field per ticked compartment `n`.
fn form_fields(form: &HashMap<String, String>) -> (String, Vec<u32>) {
    let csrf = form.get("csrf").cloned().unwrap_or_default();
    let mut compartments: Vec<u32> = form
        .keys()
        .filter_map(|key| key.strip_prefix('c')?.parse().ok())
        .collect();
    compartments.sort_unstable();
    (csrf, compartments)
}

/// Has the vehicle's compartments for this stop opened (a signed command).
pub(super) async fn open(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, mission_id, stop_id)): Path<(i64, i64, i64)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let (csrf, _) = form_fields(&form);
    keeper.check(&state, &csrf)?;
    let opened = state
        .app
        .open_compartments_at_stop(&keeper.principal, mission_id, stop_id)
        .await
        .map_err(keeper.app_err())?;
    let numbers: Vec<String> = opened.iter().map(u32::to_string).collect();
    Ok(Redirect::to(&format!(
        "/console/s/{station_id}/vehicles?opened={}",
        numbers.join(",")
    ))
    .into_response())
}

/// Hands the stop over: the parcels of the ticked compartments (a van's:
/// all) go onto the shelves with no scan.
pub(super) async fn hand_over(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, mission_id, stop_id)): Path<(i64, i64, i64)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let (csrf, compartments) = form_fields(&form);
    keeper.check(&state, &csrf)?;
    let due = state
        .app
        .vehicles_due_at_station(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?;
    let Some(arrival) = due
        .iter()
        .find(|a| a.mission_id == mission_id && a.stop_id == stop_id)
    else {
        return Err(keeper.app_err()(app::AppError::NotFound("mission")));
    };
    // An unmanned vehicle's parcels come out of the compartments that
    // opened; a van's cage has none to name.
    let unmanned = arrival.vehicle.kind == domain::fleet::VehicleKind::Unmanned;
    let outcome = state
        .app
        .hand_over_at_stop(
            &keeper.principal,
            mission_id,
            stop_id,
            unmanned.then_some(compartments.as_slice()),
        )
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!(
        "/console/s/{station_id}/vehicles?handed={}&kept={}",
        outcome.handed_over.len(),
        outcome.kept_aboard.len()
    ))
    .into_response())
}

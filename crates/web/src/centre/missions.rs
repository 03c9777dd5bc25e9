//! Missions from the dispatch plan (`/fleet/missions`, issue 20, branch
//! vehicles2): the dispatcher plans the day with the registered vehicles
//! that are free (`App::plan_dispatch`), sees the routes, turns each into a
//! mission for a vehicle of its kind (`App::create_missions`, with the
//! per-stop "collect from the vehicle" flag), scans the loading compartment
//! by compartment (`App::load_scan`), starts it (`App::start_mission`) and
//! re-plans a broken-down vehicle's remaining stops onto others
//! (`App::replan_broken_down`). Each form calls one `App` method.

use super::{Frame, Operator};
use crate::{WebError, WebState, local, render};
use app::dispatch::{DispatchRequest, Fleet};
use app::fleet::{LoadStatus, MissionDraft, MissionStatus, VehicleRecord, VehicleStatus};
use app::ports::GeoPoint;
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::fleet::VehicleKind;
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    axum::Router::new()
        .route(
            "/fleet/missions",
            axum::routing::get(missions_page).post(create),
        )
        .route("/fleet/plan", axum::routing::post(plan))
        .route("/fleet/missions/{id}", axum::routing::get(mission_page))
        .route("/fleet/missions/{id}/load", axum::routing::post(load))
        .route("/fleet/missions/{id}/start", axum::routing::post(start))
        .route("/fleet/missions/{id}/replan", axum::routing::post(replan))
}

struct MissionRow {
    id: i64,
    vehicle: String,
    status: &'static str,
    departure: String,
}

struct StopRow {
    station: String,
    arrival: String,
    n_parcels: usize,
}

/// One planned route with its form: the vehicle to send and the stops.
struct RouteForm {
    label: String,
    kind: &'static str,
    departure: String,
    distance_km: String,
    stops: Vec<StopRow>,
    /// `MissionDraft` without its vehicle, as JSON (the server checks it
    /// all again when the mission is made).
    draft: String,
    vehicles: Vec<(i64, String, bool)>,
}

#[derive(Template)]
#[template(path = "centre/fleet_missions.html")]
struct MissionsPage {
    f: Frame,
    missions: Vec<MissionRow>,
    routes: Vec<RouteForm>,
    planned: bool,
    unserved: Vec<String>,
    lat: String,
    lon: String,
    start: String,
    error: Option<String>,
}

fn status_of(t: crate::i18n::Tr, status: MissionStatus) -> &'static str {
    t.get(&format!("missions.status.{}", status.code()))
}

async fn base_page(state: &WebState, operator: &Operator) -> Result<MissionsPage, WebError> {
    let app = &state.app;
    let who = &operator.principal;
    let vehicles = app.vehicles(who).await.map_err(operator.app_err())?;
    let code_of = |id: i64| {
        vehicles
            .iter()
            .find(|v| v.id == id)
            .map_or_else(|| id.to_string(), |v| v.code.clone())
    };
    let missions = app
        .missions(who, false)
        .await
        .map_err(operator.app_err())?
        .into_iter()
        .map(|m| MissionRow {
            id: m.id,
            vehicle: code_of(m.vehicle_id),
            status: status_of(operator.tr, m.status),
            departure: local(m.planned_departure),
        })
        .collect();
    let stations = app.stations(who).await.map_err(operator.app_err())?;
    let located: Vec<GeoPoint> = stations.iter().filter_map(|s| s.location).collect();
    let (lat, lon) = if located.is_empty() {
        (String::new(), String::new())
    } else {
        let n = located.len() as f64;
        (
            format!("{:.6}", located.iter().map(|p| p.lat).sum::<f64>() / n),
            format!("{:.6}", located.iter().map(|p| p.lon).sum::<f64>() / n),
        )
    };
    Ok(MissionsPage {
        f: Frame::new(operator, "fleet"),
        missions,
        routes: Vec::new(),
        planned: false,
        unserved: Vec::new(),
        lat,
        lon,
        start: "07:00".into(),
        error: None,
    })
}

pub(super) async fn missions_page(
    State(state): State<WebState>,
    operator: Operator,
) -> Result<Response, WebError> {
    Ok(render(base_page(&state, &operator).await?))
}

#[derive(Deserialize)]
pub(super) struct PlanForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    start: String,
}

fn form_invalid(
    field: (&'static str, &'static str),
    expected: (&'static str, &'static str),
) -> AppError {
    AppError::new(Code::FleetFormInvalid)
        .with_words("field", field.0, field.1)
        .with_words("expected", expected.0, expected.1)
}

/// The day's plan for the free vehicles: vans and unmanned vehicles as
/// registered (an unmanned vehicle's compartments: the fewest any has, so
/// every route fits whichever is chosen).
fn request_of(form: &PlanForm, free: &[VehicleRecord]) -> Result<DispatchRequest, AppError> {
    let degrees = |text: &str| text.trim().parse::<f64>().ok().filter(|d| d.is_finite());
    let (Some(lat), Some(lon)) = (degrees(&form.lat), degrees(&form.lon)) else {
        return Err(form_invalid(
            ("中心位置", "centre"),
            ("纬度和经度", "latitude and longitude"),
        ));
    };
    let start = chrono::NaiveTime::parse_from_str(form.start.trim(), "%H:%M").map_err(|_| {
        form_invalid(
            ("出发时间", "start"),
            ("时:分，如 07:00", "HH:MM, e.g. 07:00"),
        )
    })?;
    use chrono::Timelike;
    let vans = free.iter().filter(|v| v.kind == VehicleKind::Van).count() as u32;
    let unmanned: Vec<&VehicleRecord> = free
        .iter()
        .filter(|v| v.kind == VehicleKind::Unmanned)
        .collect();
    let defaults = Fleet::default();
    Ok(DispatchRequest {
        centre: GeoPoint { lat, lon },
        fleet: Fleet {
            vans,
            unmanned: unmanned.len() as u32,
            unmanned_compartments: unmanned
                .iter()
                .map(|v| v.compartments.len() as u32)
                .min()
                .unwrap_or(defaults.unmanned_compartments),
            ..defaults
        },
        start_minutes: Some(start.hour() * 60 + start.minute()),
        ..DispatchRequest::new(GeoPoint { lat: 0.0, lon: 0.0 })
    })
}

pub(super) async fn plan(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<PlanForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    for text in [&form.lat, &form.lon, &form.start] {
        crate::field(t, text)?;
    }
    let mut page = base_page(&state, &operator).await?;
    page.lat = form.lat.clone();
    page.lon = form.lon.clone();
    page.start = form.start.clone();
    let free: Vec<VehicleRecord> = state
        .app
        .vehicles(&operator.principal)
        .await
        .map_err(operator.app_err())?
        .into_iter()
        .filter(|v| v.status == VehicleStatus::Available)
        .collect();
    let outcome = match request_of(&form, &free) {
        Ok(request) => state.app.plan_dispatch(&operator.principal, &request).await,
        Err(error) => Err(error),
    };
    let plan = match outcome {
        Ok(plan) => plan,
        Err(error @ AppError::Refused { .. }) => {
            page.error = Some(error.message(t.0));
            let mut response = render(page);
            *response.status_mut() = axum::http::StatusCode::from_u16(error.code().status())
                .unwrap_or(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            return Ok(response);
        }
        Err(error) => return Err(WebError::from_app(error, t)),
    };
    let day = state.app.today();
    let mut taken: Vec<i64> = Vec::new();
    for (idx, route) in plan.routes.iter().enumerate() {
        let kind = if route.kind == "van" {
            VehicleKind::Van
        } else {
            VehicleKind::Unmanned
        };
        let draft = route.mission_draft(0, day);
        // Each route proposes the next free vehicle of its kind.
        let proposed = free
            .iter()
            .find(|v| v.kind == kind && !taken.contains(&v.id))
            .map(|v| v.id);
        taken.extend(proposed);
        page.routes.push(RouteForm {
            label: format!("{} {}", t.get("missions.route"), idx + 1),
            kind: t.get(&format!("fleet.kind.{}", kind.code())),
            departure: route.departure.clone(),
            distance_km: format!("{:.1}", route.distance_km),
            stops: route
                .stops
                .iter()
                .map(|stop| StopRow {
                    station: stop.station.clone(),
                    arrival: stop.arrival.clone(),
                    n_parcels: stop.parcel_ids.len(),
                })
                .collect(),
            draft: serde_json::to_string(&draft).unwrap_or_default(),
            vehicles: free
                .iter()
                .filter(|v| v.kind == kind)
                .map(|v| {
                    (
                        v.id,
                        format!("{} {}", v.code, v.name),
                        Some(v.id) == proposed,
                    )
                })
                .collect(),
        });
    }
    page.unserved = plan
        .unserved
        .iter()
        .map(|u| format!("{}（{}）", u.station, u.reason))
        .chain(plan.unlocated.iter().map(|u| u.station.clone()))
        .collect();
    page.planned = true;
    Ok(render(page))
}

/// Turns one planned route into a mission for the vehicle chosen; each
/// ticked stop (`collect_N`, N from 1) is one where recipients collect
/// from the vehicle.
pub(super) async fn create(
    State(state): State<WebState>,
    operator: Operator,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    };
    operator.check(&state, value("csrf"))?;
    let parsed = (|| {
        let mut draft: MissionDraft = serde_json::from_str(value("draft")).map_err(|_| {
            form_invalid(
                ("路线", "route"),
                ("派车计划中的路线", "a route of the plan"),
            )
        })?;
        draft.vehicle_id = value("vehicle")
            .trim()
            .parse()
            .map_err(|_| form_invalid(("车辆", "vehicle"), ("一辆空闲车辆", "a free vehicle")))?;
        for (idx, stop) in draft.stops.iter_mut().enumerate() {
            stop.collect_from_vehicle = !value(&format!("collect_{}", idx + 1)).is_empty();
        }
        Ok::<MissionDraft, AppError>(draft)
    })()
    .map_err(operator.app_err())?;
    let ids = state
        .app
        .create_missions(&operator.principal, &[parsed])
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/fleet/missions/{}", ids[0])).into_response())
}

struct ParcelRow {
    compartment_code: String,
    compartment: String,
    waybill: String,
    stop: u32,
    status: &'static str,
    loaded: bool,
}

struct MissionStop {
    seq: u32,
    station: String,
    arrival: String,
    status: String,
    collect: bool,
}

#[derive(Template)]
#[template(path = "centre/fleet_mission.html")]
struct MissionPage {
    f: Frame,
    id: i64,
    vehicle: String,
    status: &'static str,
    planned: bool,
    under_way: bool,
    stops: Vec<MissionStop>,
    parcels: Vec<ParcelRow>,
    n_loaded: usize,
    n_aboard: usize,
    loaded: Option<String>,
    others: Vec<(i64, String)>,
}

#[derive(Deserialize)]
pub(super) struct MissionQuery {
    #[serde(default)]
    loaded: Option<String>,
}

pub(super) async fn mission_page(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Query(query): Query<MissionQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let view = state
        .app
        .mission(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    let stations = state
        .app
        .stations(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    let name_of = |station_id: i64| {
        stations
            .iter()
            .find(|s| s.id == station_id)
            .map_or_else(|| station_id.to_string(), |s| s.name.clone())
    };
    let seq_of = |stop_id: i64| {
        view.stops
            .iter()
            .find(|s| s.id == stop_id)
            .map_or(0, |s| s.seq)
    };
    let others = state
        .app
        .vehicles(&operator.principal)
        .await
        .map_err(operator.app_err())?
        .into_iter()
        .filter(|v| v.id != view.vehicle.id && v.status == VehicleStatus::Available)
        .map(|v| (v.id, format!("{} {}", v.code, v.name)))
        .collect();
    let parcels: Vec<ParcelRow> = view
        .parcels
        .iter()
        .map(|p| ParcelRow {
            compartment_code: p.compartment_code.clone(),
            compartment: p.compartment.map(|c| c.to_string()).unwrap_or_default(),
            waybill: p.waybill.clone(),
            stop: seq_of(p.stop_id),
            status: t.get(&format!("missions.load.{}", p.status.code())),
            loaded: p.status == LoadStatus::Loaded,
        })
        .collect();
    let page = MissionPage {
        f: Frame::new(&operator, "fleet"),
        id,
        vehicle: format!("{} {}", view.vehicle.code, view.vehicle.name),
        status: status_of(t, view.mission.status),
        planned: view.mission.status == MissionStatus::Planned,
        under_way: view.mission.status == MissionStatus::UnderWay,
        stops: view
            .stops
            .iter()
            .map(|s| MissionStop {
                seq: s.seq,
                station: name_of(s.station_id),
                arrival: local(s.planned_arrival),
                status: t.get(&format!("missions.stop.{}", s.status)).to_string(),
                collect: s.collect_from_vehicle,
            })
            .collect(),
        n_loaded: view
            .parcels
            .iter()
            .filter(|p| p.status == LoadStatus::Loaded)
            .count(),
        n_aboard: view.parcels.iter().filter(|p| p.status.is_aboard()).count(),
        parcels,
        loaded: query.loaded.filter(|code| code.len() <= 40),
        others,
    };
    Ok(render(page))
}

#[derive(Deserialize)]
pub(super) struct LoadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    waybill: String,
}

/// One loading scan: says which compartment the parcel goes in.
pub(super) async fn load(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(form): Form<LoadForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let waybill = crate::field(operator.tr, &form.waybill)?;
    let outcome = state
        .app
        .load_scan(&operator.principal, id, waybill)
        .await
        .map_err(operator.app_err())?;
    let code: String = outcome
        .compartment_code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Ok(Redirect::to(&format!("/fleet/missions/{id}?loaded={code}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn start(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    state
        .app
        .start_mission(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/fleet/missions/{id}")).into_response())
}

/// The mission's vehicle broke down: its remaining stops and parcels go to
/// the vehicles ticked (`onto_N` = vehicle id), with the reason.
pub(super) async fn replan(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    };
    operator.check(&state, value("csrf"))?;
    let why = crate::field(operator.tr, value("why"))?;
    let onto: Vec<i64> = fields
        .iter()
        .filter(|(key, _)| key.starts_with("onto_"))
        .filter_map(|(_, value)| value.parse().ok())
        .take(51)
        .collect();
    let view = state
        .app
        .mission(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    let replanned = state
        .app
        .replan_broken_down(&operator.principal, view.vehicle.id, &onto, why)
        .await
        .map_err(operator.app_err())?;
    let to = replanned.new_missions.first().map_or_else(
        || "/fleet/missions".to_string(),
        |m| format!("/fleet/missions/{m}"),
    );
    Ok(Redirect::to(&to).into_response())
}

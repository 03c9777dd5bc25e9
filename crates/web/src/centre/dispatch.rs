//! Dispatch (`/centre/dispatch`): plan the day's vehicles from the parcels
//! waiting at the centre (`App::plan_dispatch`), see the routes on a map
//! and print each driver's route list (`crate::plans`, shared with
//! `yizhan dispatch --html`).

use super::{Frame, Operator};
use crate::i18n::Tr;
use crate::plans::{RouteSheet, Unplanned, dispatch_map, route_sheets, unplanned};
use crate::{WebError, WebState, render};
use app::dispatch::{DispatchRequest, Fleet};
use app::ports::GeoPoint;
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    axum::Router::new().route("/centre/dispatch", axum::routing::get(dispatch).post(plan))
}

/// The form as typed, so a refusal loses nothing.
#[derive(Deserialize, Clone)]
pub(super) struct DispatchForm {
    #[serde(default)]
    csrf: String,
    vans: String,
    van_parcels: String,
    unmanned: String,
    compartments: String,
    start: String,
    lat: String,
    lon: String,
}

/// What a plan shows.
struct Planned {
    map: String,
    n_parcels: u32,
    distance_km: String,
    feasible: bool,
    stopped_at_deadline: bool,
}

#[derive(Template)]
#[template(path = "centre/dispatch.html")]
struct DispatchPage {
    f: Frame,
    /// The same translator as `f.t`, for the shared route sheets.
    t: Tr,
    form: DispatchForm,
    error: Option<String>,
    plan: Option<Planned>,
    sheets: Vec<RouteSheet>,
    unplanned: Vec<Unplanned>,
    day: String,
}

/// The form before anything is typed: the default fleet, a 07:00 start and
/// the centre at the middle of the stations on the map.
async fn blank(state: &WebState, operator: &Operator) -> Result<DispatchForm, WebError> {
    let stations = state
        .app
        .stations(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    let located: Vec<GeoPoint> = stations.iter().filter_map(|s| s.location).collect();
    let centre = if located.is_empty() {
        None
    } else {
        let n = located.len() as f64;
        Some((
            located.iter().map(|p| p.lat).sum::<f64>() / n,
            located.iter().map(|p| p.lon).sum::<f64>() / n,
        ))
    };
    let fleet = Fleet::default();
    Ok(DispatchForm {
        csrf: String::new(),
        vans: fleet.vans.to_string(),
        van_parcels: fleet.van_parcels_max.to_string(),
        unmanned: fleet.unmanned.to_string(),
        compartments: fleet.unmanned_compartments.to_string(),
        start: "07:00".into(),
        lat: centre.map(|c| format!("{:.6}", c.0)).unwrap_or_default(),
        lon: centre.map(|c| format!("{:.6}", c.1)).unwrap_or_default(),
    })
}

fn page(operator: &Operator, form: DispatchForm, day: chrono::NaiveDate) -> DispatchPage {
    DispatchPage {
        f: Frame::new(operator, "dispatch"),
        t: operator.tr,
        form,
        error: None,
        plan: None,
        sheets: Vec::new(),
        unplanned: Vec::new(),
        day: day.to_string(),
    }
}

pub(super) async fn dispatch(
    State(state): State<WebState>,
    operator: Operator,
) -> Result<Response, WebError> {
    let form = blank(&state, &operator).await?;
    Ok(render(page(&operator, form, state.app.today())))
}

fn number(text: &str, name_zh: &'static str, name_en: &'static str) -> Result<u32, AppError> {
    text.trim()
        .parse()
        .map_err(|_| AppError::new(Code::DispatchFormNumber).with_words("field", name_zh, name_en))
}

fn degrees(text: &str) -> Result<f64, AppError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|d| d.is_finite())
        .ok_or_else(|| AppError::new(Code::DispatchFormCentre))
}

/// "07:30" as minutes after midnight.
fn start_minutes(text: &str) -> Result<u32, AppError> {
    chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map(|time| {
            use chrono::Timelike;
            time.hour() * 60 + time.minute()
        })
        .map_err(|_| AppError::new(Code::DispatchStartInvalid))
}

fn request_of(form: &DispatchForm) -> Result<DispatchRequest, AppError> {
    let defaults = Fleet::default();
    Ok(DispatchRequest {
        centre: GeoPoint {
            lat: degrees(&form.lat)?,
            lon: degrees(&form.lon)?,
        },
        fleet: Fleet {
            vans: number(&form.vans, "货车数", "vans")?,
            van_parcels_max: number(&form.van_parcels, "每车件数上限", "parcels per van")?,
            // Volume follows the parcel limit: two units a parcel on average.
            van_volume_max: number(&form.van_parcels, "每车件数上限", "parcels per van")?
                .saturating_mul(2),
            unmanned: number(&form.unmanned, "无人车数", "unmanned vehicles")?,
            unmanned_compartments: number(
                &form.compartments,
                "每车格口数",
                "compartments per vehicle",
            )?,
            unmanned_range_km: defaults.unmanned_range_km,
        },
        start_minutes: Some(start_minutes(&form.start)?),
        ..DispatchRequest::new(GeoPoint { lat: 0.0, lon: 0.0 })
    })
}

pub(super) async fn plan(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<DispatchForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    for text in [
        &form.vans,
        &form.van_parcels,
        &form.unmanned,
        &form.compartments,
        &form.start,
        &form.lat,
        &form.lon,
    ] {
        crate::field(t, text)?;
    }
    let outcome = match request_of(&form) {
        Ok(request) => state.app.plan_dispatch(&operator.principal, &request).await,
        Err(error) => Err(error),
    };
    let mut page = page(&operator, form, state.app.today());
    match outcome {
        Ok(plan) => {
            page.sheets = route_sheets(&plan, t);
            page.unplanned = unplanned(&plan, t);
            page.plan = Some(Planned {
                map: dispatch_map(&plan, t),
                n_parcels: plan.n_parcels_planned,
                distance_km: format!("{:.1}", plan.distance_km),
                feasible: plan.feasible,
                stopped_at_deadline: plan.stopped_at_deadline,
            });
            Ok(render(page))
        }
        Err(error @ AppError::Refused { .. }) => {
            let status = StatusCode::from_u16(error.code().status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            page.error = Some(error.message(t.0));
            let mut response = render(page);
            *response.status_mut() = status;
            Ok(response)
        }
        Err(error) => Err(WebError::from_app(error, t)),
    }
}

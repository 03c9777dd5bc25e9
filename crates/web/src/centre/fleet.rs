//! The dispatcher's and safety operator's page (`/fleet`, issue 20): the
//! live map (zones, mission routes, vehicles, open incidents; inline SVG
//! from the coordinates, no base map), the vehicles, and the open
//! incidents with the take-over workflow's forms (take over with a reason,
//! record an action, hand back, close with a cause). Each form calls one
//! `App` method.

use super::{Frame, Operator};
use crate::{WebError, WebState, local, render};
use app::fleet::{FleetMap, IncidentStatus};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    axum::Router::new()
        .route("/fleet", axum::routing::get(fleet_page))
        .route("/static/fleet.js", axum::routing::get(script))
        .route("/fleet/vehicles", axum::routing::post(add_vehicle))
        .route("/fleet/zones", axum::routing::post(add_zone))
        .route(
            "/fleet/incidents/{id}/command",
            axum::routing::post(vehicle_command),
        )
        .route(
            "/fleet/incidents/{id}/{step}",
            axum::routing::post(incident_step),
        )
}

/// Polls the page and swaps in its map and incidents (`static/fleet.js`).
const FLEET_JS: &str = include_str!("../../static/fleet.js");

async fn script() -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        FLEET_JS,
    )
        .into_response()
}

const MAP_WIDTH: f64 = 640.0;
const MAP_HEIGHT: f64 = 420.0;
const MAP_MARGIN: f64 = 16.0;

struct MapZone {
    kind: &'static str,
    name: String,
    points: String,
}

struct MapVehicle {
    x: String,
    y: String,
    code: String,
    alarm: bool,
}

struct MapIncident {
    x: String,
    y: String,
}

struct VehicleRow {
    code: String,
    name: String,
    kind: &'static str,
    status: &'static str,
    seen: String,
    speed: String,
    battery: String,
}

struct IncidentRow {
    id: i64,
    vehicle: String,
    rule: String,
    subject: String,
    opened: String,
    taken_over: bool,
    command: String,
}

#[derive(Template)]
#[template(path = "centre/fleet.html")]
struct FleetPage {
    f: Frame,
    zones: Vec<MapZone>,
    routes: Vec<String>,
    vehicles_on_map: Vec<MapVehicle>,
    incidents_on_map: Vec<MapIncident>,
    vehicles: Vec<VehicleRow>,
    incidents: Vec<IncidentRow>,
    has_map: bool,
}

/// An equirectangular projection of everything on the map into the view
/// box, with longitude shrunk by the cosine of the middle latitude.
struct Projection {
    min_lon: f64,
    max_lat: f64,
    scale: f64,
    shrink: f64,
}

impl Projection {
    fn of(points: &[(f64, f64)]) -> Option<Projection> {
        let (first_lon, first_lat) = *points.first()?;
        let (mut min_lon, mut max_lon, mut min_lat, mut max_lat) =
            (first_lon, first_lon, first_lat, first_lat);
        for (lon, lat) in points {
            min_lon = min_lon.min(*lon);
            max_lon = max_lon.max(*lon);
            min_lat = min_lat.min(*lat);
            max_lat = max_lat.max(*lat);
        }
        let shrink = ((min_lat + max_lat) / 2.0).to_radians().cos().max(0.1);
        let width = ((max_lon - min_lon) * shrink).max(1e-4);
        let height = (max_lat - min_lat).max(1e-4);
        let scale =
            ((MAP_WIDTH - 2.0 * MAP_MARGIN) / width).min((MAP_HEIGHT - 2.0 * MAP_MARGIN) / height);
        Some(Projection {
            min_lon,
            max_lat,
            scale,
            shrink,
        })
    }

    fn xy(&self, lon: f64, lat: f64) -> (String, String) {
        let x = MAP_MARGIN + (lon - self.min_lon) * self.shrink * self.scale;
        let y = MAP_MARGIN + (self.max_lat - lat) * self.scale;
        (format!("{x:.1}"), format!("{y:.1}"))
    }
}

fn page(operator: &Operator, map: FleetMap) -> FleetPage {
    let t = operator.tr;
    let mut points: Vec<(f64, f64)> = Vec::new();
    for zone in &map.zones {
        points.extend(zone.area.vertices().iter().map(|v| (v.lon, v.lat)));
    }
    for mission in &map.missions {
        points.push((mission.vehicle.depot.lon, mission.vehicle.depot.lat));
        points.extend(
            mission
                .stops
                .iter()
                .map(|s| (s.location.lon, s.location.lat)),
        );
    }
    points.extend(
        map.positions
            .iter()
            .map(|p| (p.position.lon, p.position.lat)),
    );
    let projection = Projection::of(&points);
    let code_of = |vehicle_id: i64| {
        map.vehicles
            .iter()
            .find(|v| v.id == vehicle_id)
            .map_or_else(|| vehicle_id.to_string(), |v| v.code.clone())
    };
    let alarmed: Vec<i64> = map.incidents.iter().map(|i| i.vehicle_id).collect();
    let (mut zones, mut routes, mut vehicles_on_map, mut incidents_on_map) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    if let Some(projection) = &projection {
        for zone in &map.zones {
            zones.push(MapZone {
                kind: zone.kind.code(),
                name: zone.name.clone(),
                points: zone
                    .area
                    .vertices()
                    .iter()
                    .map(|v| {
                        let (x, y) = projection.xy(v.lon, v.lat);
                        format!("{x},{y}")
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
        for mission in &map.missions {
            let depot = mission.vehicle.depot;
            let mut line = vec![projection.xy(depot.lon, depot.lat)];
            line.extend(
                mission
                    .stops
                    .iter()
                    .map(|s| projection.xy(s.location.lon, s.location.lat)),
            );
            line.push(projection.xy(depot.lon, depot.lat));
            routes.push(
                line.into_iter()
                    .map(|(x, y)| format!("{x},{y}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        for position in &map.positions {
            let (x, y) = projection.xy(position.position.lon, position.position.lat);
            vehicles_on_map.push(MapVehicle {
                x,
                y,
                code: code_of(position.vehicle_id),
                alarm: alarmed.contains(&position.vehicle_id),
            });
        }
        for incident in &map.incidents {
            let (x, y) = projection.xy(incident.position.lon, incident.position.lat);
            incidents_on_map.push(MapIncident { x, y });
        }
    }
    let vehicles = map
        .vehicles
        .iter()
        .map(|vehicle| {
            let position = map.positions.iter().find(|p| p.vehicle_id == vehicle.id);
            VehicleRow {
                code: vehicle.code.clone(),
                name: vehicle.name.clone(),
                kind: t.get(&format!("fleet.kind.{}", vehicle.kind.code())),
                status: t.get(&format!("fleet.status.{}", vehicle.status.code())),
                seen: position.map_or_else(String::new, |p| local(p.at)),
                speed: position.map_or_else(String::new, |p| format!("{:.1}", p.speed_kmh)),
                battery: position.map_or_else(String::new, |p| format!("{}%", p.battery_pct)),
            }
        })
        .collect();
    let incidents = map
        .incidents
        .iter()
        .map(|incident| IncidentRow {
            id: incident.id,
            vehicle: code_of(incident.vehicle_id),
            rule: t.get(&format!("fleet.rule.{}", incident.rule)).to_string(),
            subject: incident.subject.clone(),
            opened: local(incident.opened_at),
            taken_over: incident.status == IncidentStatus::TakenOver,
            command: incident.command.clone().unwrap_or_default(),
        })
        .collect();
    FleetPage {
        f: Frame::new(operator, "fleet"),
        has_map: projection.is_some(),
        zones,
        routes,
        vehicles_on_map,
        incidents_on_map,
        vehicles,
        incidents,
    }
}

pub(super) async fn fleet_page(
    State(state): State<WebState>,
    operator: Operator,
) -> Result<Response, WebError> {
    let map = state
        .app
        .fleet_map(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    Ok(render(page(&operator, map)))
}

#[derive(Deserialize)]
pub(super) struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// One step of the take-over workflow: `take_over`, `act`, `hand_back` or
/// `close`.
pub(super) async fn incident_step(
    State(state): State<WebState>,
    operator: Operator,
    Path((id, step)): Path<(i64, String)>,
    Form(form): Form<StepForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let app = &state.app;
    let who = &operator.principal;
    let done = match step.as_str() {
        "take_over" => app.take_over(who, id, &form.note).await,
        "act" => app.record_takeover_action(who, id, &form.note).await,
        "hand_back" => app.hand_back(who, id, &form.note).await,
        "close" => app.close_incident(who, id, &form.note).await,
        _ => Err(app::AppError::NotFound("incident")),
    };
    done.map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/fleet#incident-{id}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct CommandForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    op: String,
    /// `open_compartment`: the numbers, e.g. `1, 3`.
    #[serde(default)]
    compartments: String,
}

/// The operator in control sends the vehicle a command (`stop`,
/// `pull_over`, `return_to_depot`, `open_compartment`): signed and sent
/// over the bus, one line in the take-over log.
pub(super) async fn vehicle_command(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(form): Form<CommandForm>,
) -> Result<Response, WebError> {
    use app::fleet::VehicleCommand;
    operator.check(&state, &form.csrf)?;
    let invalid = |zh: &'static str, en: &'static str| {
        app::AppError::new(app::Code::VehicleCommandInvalid).with_words("what", zh, en)
    };
    let command = match form.op.as_str() {
        "stop" => Ok(VehicleCommand::Stop),
        "pull_over" => Ok(VehicleCommand::PullOver),
        "return_to_depot" => Ok(VehicleCommand::ReturnToDepot),
        "open_compartment" => form
            .compartments
            .split([',', '，', ' ', '、'])
            .filter(|part| !part.is_empty())
            .take(app::fleet::COMPARTMENTS_MAX as usize + 1)
            .map(|part| {
                part.parse::<u32>().map_err(|_| {
                    invalid(
                        "格口号应为数字，用逗号分隔",
                        "compartment numbers are digits separated by commas",
                    )
                })
            })
            .collect::<Result<Vec<u32>, _>>()
            .map(|compartments| VehicleCommand::OpenCompartment { compartments }),
        _ => Err(invalid("请选择指令", "choose a command")),
    }
    .map_err(operator.app_err())?;
    state
        .app
        .command_taken_over_vehicle(&operator.principal, id, &command)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/fleet#incident-{id}")).into_response())
}

fn form_number<T: std::str::FromStr>(
    text: &str,
    field: (&'static str, &'static str),
    expected: (&'static str, &'static str),
) -> Result<T, app::AppError> {
    text.trim().parse().map_err(|_| {
        app::AppError::new(app::Code::FleetFormInvalid)
            .with_words("field", field.0, field.1)
            .with_words("expected", expected.0, expected.1)
    })
}

#[derive(Deserialize)]
pub(super) struct VehicleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    compartments: String,
    #[serde(default)]
    battery_wh: String,
    #[serde(default)]
    consumption_wh_per_km: String,
    #[serde(default)]
    speed_limit_kmh: String,
    /// `lon,lat`.
    #[serde(default)]
    depot: String,
}

/// `lon,lat` (either comma; spaces allowed).
fn lon_lat(text: &str) -> Option<(f64, f64)> {
    let text = text.replace('，', ",");
    let (lon, lat) = text.split_once(',')?;
    Some((lon.trim().parse().ok()?, lat.trim().parse().ok()?))
}

/// Registers a van or an unmanned vehicle (`App::register_vehicle`):
/// its compartments all small, numbered from 1.
pub(super) async fn add_vehicle(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<VehicleForm>,
) -> Result<Response, WebError> {
    use app::fleet::{Compartment, NewVehicle};
    operator.check(&state, &form.csrf)?;
    let parsed = (|| {
        let kind = domain::fleet::VehicleKind::parse(&form.kind).ok_or_else(|| {
            app::AppError::new(app::Code::FleetFormInvalid)
                .with_words("field", "类型", "kind")
                .with_words("expected", "货车或无人车", "van or unmanned")
        })?;
        let n: u32 = form_number(
            &form.compartments,
            ("格口数", "compartments"),
            ("0 至 64 的整数", "a whole number from 0 to 64"),
        )?;
        let (lon, lat) = lon_lat(&form.depot).ok_or_else(|| {
            app::AppError::new(app::Code::FleetFormInvalid)
                .with_words("field", "车场位置", "depot")
                .with_words("expected", "经度,纬度", "lon,lat")
        })?;
        Ok::<NewVehicle, app::AppError>(NewVehicle {
            code: form.code.trim().to_string(),
            name: form.name.trim().to_string(),
            kind,
            compartments: (1..=n.min(app::fleet::COMPARTMENTS_MAX + 1))
                .map(|number| Compartment {
                    number,
                    size: domain::station::SizeClass::Small,
                })
                .collect(),
            battery_wh: form_number(
                &form.battery_wh,
                ("电池容量", "battery"),
                ("整数 Wh", "whole Wh"),
            )?,
            consumption_wh_per_km: form_number(
                &form.consumption_wh_per_km,
                ("能耗", "consumption"),
                ("整数 Wh/km", "whole Wh/km"),
            )?,
            speed_limit_kmh: form_number(
                &form.speed_limit_kmh,
                ("限速", "speed limit"),
                ("整数 km/h", "whole km/h"),
            )?,
            operating_areas: vec![],
            station_ids: vec![],
            depot: app::ports::GeoPoint { lat, lon },
            driver: None,
        })
    })()
    .map_err(operator.app_err())?;
    state
        .app
        .register_vehicle(&operator.principal, &parsed)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to("/fleet#vehicles").into_response())
}

#[derive(Deserialize)]
pub(super) struct ZoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    /// Empty: none.
    #[serde(default)]
    speed_limit_kmh: String,
    /// `lon,lat` per vertex, separated by `;` or new lines.
    #[serde(default)]
    vertices: String,
}

/// Adds a geofence (`App::add_zone`), in force at all times.
pub(super) async fn add_zone(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<ZoneForm>,
) -> Result<Response, WebError> {
    use domain::fleet::{LonLat, Polygon, Zone, ZoneKind};
    operator.check(&state, &form.csrf)?;
    let zone_invalid = |detail: &str| {
        app::AppError::new(app::Code::ZoneInvalid).with("detail", detail.to_string())
    };
    let parsed = (|| {
        let kind = ZoneKind::parse(&form.kind).ok_or_else(|| zone_invalid("unknown kind"))?;
        let speed_limit_kmh = if form.speed_limit_kmh.trim().is_empty() {
            None
        } else {
            Some(form_number(
                &form.speed_limit_kmh,
                ("限速", "speed limit"),
                ("整数 km/h", "whole km/h"),
            )?)
        };
        let vertices = form
            .vertices
            .split([';', '；', '\n'])
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .take(domain::fleet::geo::POLYGON_VERTICES_MAX + 2)
            .map(|line| lon_lat(line).map(|(lon, lat)| LonLat::new(lon, lat)))
            .collect::<Option<Vec<LonLat>>>()
            .ok_or_else(|| zone_invalid("vertices are lon,lat; lon,lat; ..."))?;
        let area = Polygon::new(vertices).map_err(|e| zone_invalid(&e.to_string()))?;
        Ok::<Zone, app::AppError>(Zone {
            id: 0,
            name: form.name.trim().to_string(),
            kind,
            area,
            speed_limit_kmh,
            windows: vec![],
            station_id: None,
        })
    })()
    .map_err(operator.app_err())?;
    state
        .app
        .add_zone(&operator.principal, &parsed)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to("/fleet").into_response())
}

//! Dispatch: from the parcels waiting at the county centre, plan the day's
//! routes to the village stations with vans and unmanned vehicles, give each
//! unmanned-vehicle parcel a compartment, and draw the plan.
//!
//! The routing itself is the `route` crate's; this module turns parcels and
//! stations into a routing problem and the solution back into a plan a
//! dispatcher can read. The search runs on an iteration budget, so the same
//! parcels and fleet give the same plan; a deadline
//! (`Settings::dispatch_solve_seconds_max`) stops a search that would take
//! too long, and the plan then says so. The search runs on the blocking pool,
//! never on the executor, and the county makes one plan at a time.

use crate::App;
use crate::error::{AppError, AppResult, Code};
use crate::ports::{GeoPoint, ParcelFilter, ParcelRecord};
use domain::station::SizeClass;
use domain::{ParcelState, Principal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most stations one plan covers and most parcels it reads.
pub const DISPATCH_STATIONS_MAX: usize = 500;
pub const DISPATCH_PARCELS_MAX: usize = 20_000;
const ITERATIONS_MAX: u64 = 20_000;

/// The day's fleet. Capacities are in parcels and volume units (a small
/// parcel is 1, medium 3, large 8).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    pub vans: u32,
    pub van_parcels_max: u32,
    pub van_volume_max: u32,
    pub unmanned: u32,
    /// Lockable compartments per unmanned vehicle; one parcel each.
    pub unmanned_compartments: u32,
    pub unmanned_range_km: u32,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet {
            vans: 2,
            van_parcels_max: 300,
            van_volume_max: 600,
            unmanned: 2,
            unmanned_compartments: 24,
            unmanned_range_km: 40,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchRequest {
    pub centre: GeoPoint,
    #[serde(default)]
    pub fleet: Fleet,
    /// Search effort; the same number gives the same plan.
    #[serde(default = "default_iterations")]
    pub iterations: u64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The earliest departure from the centre, minutes after midnight
    /// (Asia/Shanghai); 07:00 when absent. Stations receive from 08:00.
    #[serde(default)]
    pub start_minutes: Option<u32>,
}

impl DispatchRequest {
    /// A request for the default fleet, effort and start from `centre`.
    pub fn new(centre: GeoPoint) -> DispatchRequest {
        DispatchRequest {
            centre,
            fleet: Fleet::default(),
            iterations: default_iterations(),
            seed: default_seed(),
            start_minutes: None,
        }
    }
}

fn default_iterations() -> u64 {
    2_000
}

fn default_seed() -> u64 {
    1
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedStop {
    pub station_id: i64,
    pub station: String,
    /// Where the station is, for drawing the route.
    pub location: GeoPoint,
    /// Arrival, `HH:MM` local time.
    pub arrival: String,
    pub n_parcels: u32,
    pub parcels_aboard_after: i64,
    /// For an unmanned vehicle: which compartment holds which parcel.
    pub compartments: Vec<CompartmentLoad>,
    pub parcel_ids: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompartmentLoad {
    pub compartment: u32,
    pub parcel_id: i64,
    pub waybill: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedRoute {
    pub vehicle: String,
    pub kind: String,
    pub departure: String,
    pub return_time: String,
    pub distance_km: f64,
    pub stops: Vec<PlannedStop>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnservedStation {
    pub station_id: i64,
    pub station: String,
    pub n_parcels: u32,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DispatchPlan {
    pub routes: Vec<PlannedRoute>,
    pub unserved: Vec<UnservedStation>,
    /// Stations with waiting parcels but no location, so they cannot be planned.
    pub unlocated: Vec<UnservedStation>,
    pub n_parcels_planned: u32,
    pub distance_km: f64,
    /// Verdict of the routing crate's independent checker.
    pub feasible: bool,
    /// The search stopped at its deadline before spending its iteration
    /// budget: the plan is checked and usable, but the same parcels may give
    /// a different plan next time.
    pub stopped_at_deadline: bool,
    /// Where the routes start and end, for drawing them (`web::plans`
    /// draws the map; presentation is not the use case's).
    pub centre: GeoPoint,
}

fn volume(size: SizeClass) -> i64 {
    match size {
        SizeClass::Small => 1,
        SizeClass::Medium => 3,
        SizeClass::Large => 8,
    }
}

fn clock(seconds: i64) -> String {
    format!("{:02}:{:02}", seconds / 3600, (seconds % 3600) / 60)
}

const SHIFT_START_S: i64 = 7 * 3600;
/// The latest earliest departure a request may ask for: an hour before the
/// stations close.
const START_LATEST_S: i64 = 17 * 3600;
const SHIFT_END_S: i64 = 19 * 3600;
const STATION_OPEN_S: i64 = 8 * 3600;
const STATION_CLOSE_S: i64 = 18 * 3600;

impl App {
    /// Plans routes for the parcels waiting at the county centre (arrived
    /// or sorted, with a destination station).
    pub async fn plan_dispatch(
        &self,
        principal: &Principal,
        request: &DispatchRequest,
    ) -> AppResult<DispatchPlan> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("dispatch"));
        }
        if !request.centre.is_valid()
            || request.iterations == 0
            || request.iterations > ITERATIONS_MAX
        {
            return Err(AppError::new(Code::DispatchRequestInvalid).with("max", ITERATIONS_MAX));
        }
        let shift_start = match request.start_minutes {
            None => SHIFT_START_S,
            Some(minutes) if i64::from(minutes) * 60 <= START_LATEST_S => i64::from(minutes) * 60,
            Some(_) => {
                return Err(AppError::new(Code::DispatchStartInvalid)
                    .with("earliest", "00:00")
                    .with("latest", clock(START_LATEST_S)));
            }
        };
        let fleet = &request.fleet;
        if fleet.vans + fleet.unmanned == 0
            || fleet.vans > 200
            || fleet.unmanned > 200
            || fleet.unmanned_compartments > 64
        {
            return Err(AppError::new(Code::FleetInvalid));
        }
        // One plan at a time for the county: a second would read the same
        // waiting parcels and only compete for the cores. Refused at once
        // rather than queued, so a person who pressed twice is told why.
        let Ok(_planning) = self.dispatch_running.try_lock() else {
            return Err(AppError::new(Code::DispatchRunning));
        };
        crate::audit::record_alone(
            &*self.store,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::DispatchPlanned,
            crate::audit::Object::county("dispatch"),
            serde_json::json!({ "iterations": request.iterations, "vans": fleet.vans, "unmanned": fleet.unmanned }),
        )
        .await?;
        // Waiting parcels, grouped by destination station.
        let mut waiting: BTreeMap<i64, Vec<ParcelRecord>> = BTreeMap::new();
        let mut n_read = 0;
        for state in [ParcelState::ArrivedAtCentre, ParcelState::Sorted] {
            let mut after_id = None;
            loop {
                let filter = ParcelFilter {
                    state: Some(state),
                    after_id,
                    limit: 1_000,
                    ..Default::default()
                };
                let page = self.store.parcels(&filter).await?;
                n_read += page.len();
                if n_read > DISPATCH_PARCELS_MAX {
                    return Err(AppError::new(Code::DispatchTooManyParcels)
                        .with("max", DISPATCH_PARCELS_MAX));
                }
                after_id = page.last().map(|p| p.id);
                let full_page = page.len() == 1_000;
                for parcel in page {
                    if let Some(station_id) = parcel.station_id {
                        waiting.entry(station_id).or_default().push(parcel);
                    }
                }
                if !full_page {
                    break;
                }
            }
        }
        if waiting.len() > DISPATCH_STATIONS_MAX {
            return Err(
                AppError::new(Code::DispatchTooManyStations).with("max", DISPATCH_STATIONS_MAX)
            );
        }
        let stations: BTreeMap<i64, _> = self
            .store
            .stations()
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let mut stops = Vec::new(); // (station id, parcels)
        let mut unlocated = Vec::new();
        for (station_id, parcels) in waiting {
            match stations
                .get(&station_id)
                .and_then(|s| s.location.map(|l| (s, l)))
            {
                Some((station, location)) => stops.push((station, location, parcels)),
                None => unlocated.push(UnservedStation {
                    station_id,
                    station: stations
                        .get(&station_id)
                        .map_or_else(String::new, |s| s.name.clone()),
                    n_parcels: parcels.len() as u32,
                    reason: "the station has no location".into(),
                }),
            }
        }
        let mut coordinates = vec![[request.centre.lat, request.centre.lon]];
        coordinates.extend(
            stops
                .iter()
                .map(|(_, location, _)| [location.lat, location.lon]),
        );
        let mut vehicle_types = Vec::new();
        if fleet.vans > 0 {
            vehicle_types.push(serde_json::json!({"id": "van", "kind": "van", "count": fleet.vans, "capacity": [fleet.van_parcels_max, fleet.van_volume_max],
                "shift_start": shift_start, "shift_end": SHIFT_END_S, "fixed_cost": 5_000}));
        }
        if fleet.unmanned > 0 {
            // Unmanned vehicles are slower, range-limited, and carry one parcel
            // per lockable compartment.
            let mut unmanned = serde_json::json!({"id": "unmanned", "kind": "unmanned", "count": fleet.unmanned,
                "capacity": [fleet.unmanned_compartments, fleet.unmanned_compartments * 8], "compartments": fleet.unmanned_compartments,
                "speed_factor": 0.6, "distance_max": fleet.unmanned_range_km * 1_000, "shift_start": shift_start, "shift_end": SHIFT_END_S,
                "fixed_cost": 1_000});
            // Once the county has drawn station approaches (issue 20), an
            // unmanned vehicle goes only to a station with one: the others
            // cannot receive it.
            let receiving = receiving_stations(&self.store.zones().await?);
            if !receiving.is_empty() {
                unmanned["allowed_stops"] = stops
                    .iter()
                    .filter(|(station, _, _)| receiving.contains(&station.id))
                    .map(|(station, _, _)| serde_json::Value::from(station.id.to_string()))
                    .collect();
            }
            vehicle_types.push(unmanned);
        }
        let problem_json = serde_json::json!({
            "name": "dispatch",
            "dimensions": ["parcels", "volume"],
            "distances": {"kind": "great_circle", "coordinates": coordinates, "detour_factor": 1.3, "speed_m_per_s": 9.0},
            "depots": [{"id": "centre", "location": 0, "open": shift_start, "close": SHIFT_END_S}],
            "stops": stops.iter().enumerate().map(|(idx, (station, _, parcels))| serde_json::json!({
                "id": station.id.to_string(),
                "location": idx + 1,
                "delivery": [parcels.len(), parcels.iter().map(|p| volume(p.size)).sum::<i64>()],
                "service": 300 + 20 * parcels.len(),
                "time_window": [STATION_OPEN_S, STATION_CLOSE_S],
                "compartments": parcels.len(),
            })).collect::<Vec<_>>(),
            "vehicle_types": vehicle_types,
        });
        let problem = Arc::new(
            route::json::parse_problem(&problem_json.to_string())
                .map_err(|e| AppError::Internal(format!("dispatch problem: {e}")))?,
        );
        let solution = if stops.is_empty() {
            None
        } else {
            let solve_time_max = Duration::from_secs(self.settings.dispatch_solve_seconds_max);
            let (seed, iterations) = (request.seed, request.iterations);
            let problem = problem.clone();
            let solved = self
                .blocking
                .run(move || {
                    // The deadline counts from when a blocking thread takes
                    // the search, so time queued behind other work does not
                    // cut the search short. The iteration budget stays, so
                    // a plan that finishes in time is the same every run.
                    let options = route::SolveOptions {
                        seed,
                        iterations_max: Some(iterations),
                        deadline: Some(Instant::now() + solve_time_max),
                        ..route::SolveOptions::default()
                    };
                    route::solve(&problem, &options)
                })
                .await?;
            Some(solved.map_err(|e| AppError::new(Code::FleetUnplannable).with_detail(e))?)
        };
        let stopped_at_deadline = solution
            .as_ref()
            .is_some_and(|solution| solution.iterations < request.iterations);
        if stopped_at_deadline {
            tracing::warn!(
                seconds = self.settings.dispatch_solve_seconds_max,
                iterations = request.iterations,
                "dispatch search stopped at its deadline before its iteration budget"
            );
        }
        let document = solution
            .as_ref()
            .map(|solution| route::json::document(&problem, solution));
        let mut routes = Vec::new();
        let mut counters = vec![0u32; problem.vehicle_types.len()];
        let mut n_parcels_planned = 0;
        if let Some(solution) = &solution {
            for planned in &solution.routes {
                counters[planned.vehicle_type] += 1;
                let kind = problem.vehicle_types[planned.vehicle_type].id.clone();
                let mut planned_stops = Vec::new();
                for visit in &planned.visits {
                    let (station, location, parcels) = &stops[visit.stop];
                    n_parcels_planned += parcels.len() as u32;
                    let compartments = visit
                        .compartments
                        .iter()
                        .zip(parcels)
                        .map(|(compartment, parcel)| CompartmentLoad {
                            compartment: *compartment,
                            parcel_id: parcel.id,
                            waybill: parcel.waybill.to_string(),
                        })
                        .collect();
                    planned_stops.push(PlannedStop {
                        station_id: station.id,
                        station: station.name.clone(),
                        location: *location,
                        arrival: clock(visit.arrival),
                        n_parcels: parcels.len() as u32,
                        parcels_aboard_after: visit.load_after[0],
                        compartments,
                        parcel_ids: parcels.iter().map(|p| p.id).collect(),
                    });
                }
                routes.push(PlannedRoute {
                    vehicle: format!("{kind}-{}", counters[planned.vehicle_type]),
                    kind,
                    departure: clock(planned.departure),
                    return_time: clock(planned.return_time),
                    distance_km: planned.distance as f64 / 1000.0,
                    stops: planned_stops,
                });
            }
        }
        let unserved = document
            .as_ref()
            .map(|d| {
                d.unserved
                    .iter()
                    .map(|entry| {
                        let (station, _, parcels) = &stops[entry.stop];
                        UnservedStation {
                            station_id: station.id,
                            station: station.name.clone(),
                            n_parcels: parcels.len() as u32,
                            reason: entry.explanation.clone(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        tracing::info!(
            n_routes = routes.len(),
            n_parcels = n_parcels_planned,
            "dispatch planned"
        );
        Ok(DispatchPlan {
            distance_km: routes.iter().map(|r| r.distance_km).sum(),
            feasible: document.as_ref().is_none_or(|d| d.feasible),
            stopped_at_deadline,
            routes,
            unserved,
            unlocated,
            n_parcels_planned,
            centre: request.centre,
        })
    }
}

/// Stations an unmanned vehicle can be received at: those with a station
/// approach zone.
fn receiving_stations(zones: &[domain::fleet::Zone]) -> Vec<i64> {
    zones
        .iter()
        .filter(|zone| zone.kind == domain::fleet::ZoneKind::StationApproach)
        .filter_map(|zone| zone.station_id)
        .collect()
}

impl PlannedRoute {
    /// This route as a mission for a registered vehicle on a Shanghai day:
    /// its stops in order with their planned arrivals and parcels.
    pub fn mission_draft(
        &self,
        vehicle_id: i64,
        day: chrono::NaiveDate,
    ) -> crate::ports::fleet::MissionDraft {
        let at = |clock: &str| {
            let (hours, minutes) = clock.split_once(':').unwrap_or(("0", "0"));
            domain::day_start(day)
                + chrono::Duration::hours(hours.parse().unwrap_or(0))
                + chrono::Duration::minutes(minutes.parse().unwrap_or(0))
        };
        crate::ports::fleet::MissionDraft {
            vehicle_id,
            planned_departure: at(&self.departure),
            stops: self
                .stops
                .iter()
                .map(|stop| crate::ports::fleet::StopDraft {
                    station_id: stop.station_id,
                    planned_arrival: at(&stop.arrival),
                    parcel_ids: stop.parcel_ids.clone(),
                    collect_from_vehicle: false,
                })
                .collect(),
        }
    }
}

//! The routing problem as a caller states it: places, stops, depots and the fleet.
//!
//! This is also the documented JSON problem format (see `docs/format.md` in this crate):
//! every type here derives serde, optional fields have defaults, and [`Problem::validate`]
//! refuses a problem that the solver could not interpret, naming the offending item.
//!
//! Units: distances are integers in the unit `1 / distance_scale` (metres for a
//! great-circle problem, tenths for the Solomon convention); times are integers in the
//! same unit as the duration matrix (seconds for a great-circle problem).

use serde::{Deserialize, Serialize};

/// How many capacity dimensions a problem may declare (weight, volume, parcel count).
pub const DIMENSIONS_MAX: usize = 3;
/// Upper bound on stops, so that an n² matrix stays within memory.
pub const STOPS_MAX: usize = 5_000;
/// Upper bound on locations (stops plus depots, or matrix rows).
pub const LOCATIONS_MAX: usize = 6_000;
/// Upper bound on vehicle types; each may have many vehicles.
pub const VEHICLE_TYPES_MAX: usize = 64;
/// Upper bound on vehicles of one type.
pub const VEHICLES_PER_TYPE_MAX: u32 = 2_000;
/// Upper bound on distinct vehicle speeds, each of which costs one duration matrix.
pub const SPEED_PROFILES_MAX: usize = 4;
/// Times, loads, distances and costs beyond this are refused so that sums of them over
/// thousands of stops, scaled for penalties, stay far inside `i64`.
pub const QUANTITY_MAX: i64 = 1 << 32;
/// Upper bound on a vehicle type's cost per distance unit.
pub const COST_PER_DISTANCE_MAX: i64 = 1_000;

/// A complete routing problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(default)]
    pub name: String,
    /// Names of the capacity dimensions, e.g. `["weight_g", "volume_cm3", "parcels"]`.
    /// Every load and capacity vector has this many entries.
    #[serde(default = "default_dimensions")]
    pub dimensions: Vec<String>,
    /// Reported distances are `distance / distance_scale` (10 for the Solomon convention).
    #[serde(default = "default_scale")]
    pub distance_scale: u32,
    pub distances: Distances,
    pub depots: Vec<Depot>,
    pub stops: Vec<Stop>,
    pub vehicle_types: Vec<VehicleType>,
}

fn default_dimensions() -> Vec<String> {
    vec!["load".to_string()]
}
fn default_scale() -> u32 {
    1
}
fn default_detour_factor() -> f64 {
    1.3
}
fn default_speed() -> f64 {
    // 30 km/h: a van on county and village roads, stops included.
    30.0 / 3.6
}
fn default_one() -> f64 {
    1.0
}
fn default_unit_cost() -> i64 {
    1
}
fn default_count() -> u32 {
    1
}

/// Where distances and durations come from. Locations are numbered from 0 in the order
/// of the coordinate list or of the matrix rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Distances {
    /// Great-circle (haversine) distance in metres between `[latitude, longitude]` degree
    /// pairs, times `detour_factor` for the road network; durations in seconds at
    /// `speed_m_per_s`, divided by each vehicle type's `speed_factor`.
    GreatCircle {
        coordinates: Vec<[f64; 2]>,
        #[serde(default = "default_detour_factor")]
        detour_factor: f64,
        #[serde(default = "default_speed")]
        speed_m_per_s: f64,
    },
    /// Planar Euclidean distances between `[x, y]` pairs under a benchmark convention;
    /// durations equal distances (divided by each vehicle type's `speed_factor`).
    Euclidean {
        coordinates: Vec<[f64; 2]>,
        rounding: Rounding,
    },
    /// A caller-supplied matrix, e.g. from a road-network service: `distances[i][j]` in
    /// distance units and `durations[i][j]` in time units. Without `durations`, durations
    /// equal distances.
    Matrix {
        distances: Vec<Vec<i64>>,
        #[serde(default)]
        durations: Option<Vec<Vec<i64>>>,
    },
}

/// The rounding of each arc of a Euclidean instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// DIMACS/Solomon: each arc truncated to one decimal; stored in tenths (scale 10).
    TruncateTenths,
    /// CVRPLIB: each arc rounded to the nearest integer.
    Nearest,
}

/// A place vehicles start from or return to (county centre, township hub).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Depot {
    #[serde(default)]
    pub id: String,
    pub location: usize,
    /// Opening hours; vehicles leave and return within them.
    #[serde(default)]
    pub open: i64,
    #[serde(default = "open_end")]
    pub close: i64,
}

fn open_end() -> i64 {
    QUANTITY_MAX
}

/// A place to visit: a village station or a doorstep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    #[serde(default)]
    pub id: String,
    pub location: usize,
    /// Goods loaded at the depot and dropped here, one entry per dimension.
    #[serde(default)]
    pub delivery: Vec<i64>,
    /// Goods collected here and carried back to the depot (returns, farm produce).
    #[serde(default)]
    pub pickup: Vec<i64>,
    #[serde(default)]
    pub service: i64,
    /// Service must start within `[earliest, latest]`.
    #[serde(default)]
    pub time_window: Option<[i64; 2]>,
    /// `None`: the stop is required. `Some(p)`: optional, leaving it out costs `p`.
    #[serde(default)]
    pub penalty: Option<i64>,
    /// Lockable compartments its deliveries occupy on an unmanned vehicle.
    #[serde(default)]
    pub compartments: u32,
}

/// What kind of vehicle; informative, the constraints are in the other fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleKind {
    #[default]
    Van,
    Contractor,
    Unmanned,
}

/// A group of identical vehicles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VehicleType {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub kind: VehicleKind,
    #[serde(default = "default_count")]
    pub count: u32,
    /// Index into `depots`.
    #[serde(default)]
    pub start_depot: usize,
    /// Index into `depots`; the start depot when absent.
    #[serde(default)]
    pub end_depot: Option<usize>,
    /// One entry per dimension.
    pub capacity: Vec<i64>,
    /// Lockable compartments (unmanned vehicles); `None`: not limited.
    #[serde(default)]
    pub compartments: Option<u32>,
    /// The shift: leave the depot no earlier than `shift_start`, be back by `shift_end`.
    #[serde(default)]
    pub shift_start: Option<i64>,
    #[serde(default)]
    pub shift_end: Option<i64>,
    /// Duty limit: longest time from leaving to returning, waiting included.
    #[serde(default)]
    pub duration_max: Option<i64>,
    /// Range: longest distance per route (battery of an unmanned vehicle).
    #[serde(default)]
    pub distance_max: Option<i64>,
    /// Travel durations are divided by this (0.5: half as fast as the matrix says).
    #[serde(default = "default_one")]
    pub speed_factor: f64,
    /// Cost of using one vehicle of this type at all.
    #[serde(default)]
    pub fixed_cost: i64,
    /// Cost per distance unit.
    #[serde(default = "default_unit_cost")]
    pub cost_per_distance: i64,
    /// The stops (by id) this type may serve: an unmanned vehicle only goes
    /// where it is cleared to and a station can receive it. Absent: every stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_stops: Option<Vec<String>>,
}

/// Why a problem was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemError {
    #[error("{0}")]
    Invalid(String),
}

impl Problem {
    /// Number of locations the distance source defines.
    pub fn n_locations(&self) -> usize {
        match &self.distances {
            Distances::GreatCircle { coordinates, .. }
            | Distances::Euclidean { coordinates, .. } => coordinates.len(),
            Distances::Matrix { distances, .. } => distances.len(),
        }
    }

    /// Checks every reference, size and limit; the solver relies on this having passed.
    pub fn validate(&self) -> Result<(), ProblemError> {
        let fail = |message: String| Err(ProblemError::Invalid(message));
        let n_dims = self.dimensions.len();
        if n_dims == 0 || n_dims > DIMENSIONS_MAX {
            return fail(format!(
                "dimensions: {n_dims} given, between 1 and {DIMENSIONS_MAX} allowed"
            ));
        }
        if self.distance_scale == 0 {
            return fail("distance_scale must be at least 1".into());
        }
        let n_locations = self.n_locations();
        if n_locations == 0 || n_locations > LOCATIONS_MAX {
            return fail(format!(
                "distances: {n_locations} locations, between 1 and {LOCATIONS_MAX} allowed"
            ));
        }
        match &self.distances {
            Distances::GreatCircle {
                coordinates,
                detour_factor,
                speed_m_per_s,
            } => {
                if !(1.0..=5.0).contains(detour_factor) {
                    return fail(format!("detour_factor {detour_factor} outside 1..5"));
                }
                if !(*speed_m_per_s > 0.1 && *speed_m_per_s < 1000.0) {
                    return fail(format!("speed_m_per_s {speed_m_per_s} outside 0.1..1000"));
                }
                for (idx, [lat, lon]) in coordinates.iter().enumerate() {
                    if !(-90.0..=90.0).contains(lat) || !(-180.0..=180.0).contains(lon) {
                        return fail(format!(
                            "coordinates[{idx}]: [{lat}, {lon}] is not a [latitude, longitude] in degrees"
                        ));
                    }
                }
            }
            Distances::Euclidean { coordinates, .. } => {
                for (idx, [x, y]) in coordinates.iter().enumerate() {
                    if !(x.is_finite() && y.is_finite() && x.abs() < 1e9 && y.abs() < 1e9) {
                        return fail(format!("coordinates[{idx}]: [{x}, {y}] out of range"));
                    }
                }
            }
            Distances::Matrix {
                distances,
                durations,
            } => {
                let check = |name: &str, matrix: &Vec<Vec<i64>>| -> Result<(), ProblemError> {
                    if matrix.len() != n_locations {
                        return Err(ProblemError::Invalid(format!(
                            "{name}: {} rows, {n_locations} expected",
                            matrix.len()
                        )));
                    }
                    for (row_idx, row) in matrix.iter().enumerate() {
                        if row.len() != n_locations {
                            return Err(ProblemError::Invalid(format!(
                                "{name}[{row_idx}]: {} entries, {n_locations} expected",
                                row.len()
                            )));
                        }
                        if let Some(value) = row.iter().find(|v| !(0..=QUANTITY_MAX).contains(*v)) {
                            return Err(ProblemError::Invalid(format!(
                                "{name}[{row_idx}]: entry {value} outside 0..{QUANTITY_MAX}"
                            )));
                        }
                    }
                    Ok(())
                };
                check("distances", distances)?;
                if let Some(durations) = durations {
                    check("durations", durations)?;
                }
            }
        }
        if self.depots.is_empty() {
            return fail("depots: at least one depot is needed".into());
        }
        for (idx, depot) in self.depots.iter().enumerate() {
            if depot.location >= n_locations {
                return fail(format!(
                    "depots[{idx}]: location {} but only {n_locations} locations",
                    depot.location
                ));
            }
            if depot.open > depot.close || depot.open < 0 || depot.close > QUANTITY_MAX {
                return fail(format!(
                    "depots[{idx}]: opening hours {}..{} invalid",
                    depot.open, depot.close
                ));
            }
        }
        if self.stops.len() > STOPS_MAX {
            return fail(format!(
                "stops: {} given, at most {STOPS_MAX}",
                self.stops.len()
            ));
        }
        let quantity_ok = |values: &Vec<i64>| {
            (values.is_empty() || values.len() == n_dims)
                && values.iter().all(|v| (0..=QUANTITY_MAX).contains(v))
        };
        for (idx, stop) in self.stops.iter().enumerate() {
            if stop.location >= n_locations {
                return fail(format!(
                    "stops[{idx}]: location {} but only {n_locations} locations",
                    stop.location
                ));
            }
            if !quantity_ok(&stop.delivery) || !quantity_ok(&stop.pickup) {
                return fail(format!(
                    "stops[{idx}]: delivery and pickup need {n_dims} non-negative entries each"
                ));
            }
            if !(0..=QUANTITY_MAX).contains(&stop.service) {
                return fail(format!("stops[{idx}]: service {} invalid", stop.service));
            }
            if let Some([earliest, latest]) = stop.time_window
                && (earliest > latest || earliest < 0 || latest > QUANTITY_MAX)
            {
                return fail(format!(
                    "stops[{idx}]: time window {earliest}..{latest} invalid"
                ));
            }
            if let Some(penalty) = stop.penalty
                && !(0..=QUANTITY_MAX).contains(&penalty)
            {
                return fail(format!("stops[{idx}]: penalty {penalty} invalid"));
            }
        }
        if self.vehicle_types.is_empty() || self.vehicle_types.len() > VEHICLE_TYPES_MAX {
            return fail(format!(
                "vehicle_types: {} given, between 1 and {VEHICLE_TYPES_MAX} allowed",
                self.vehicle_types.len()
            ));
        }
        let mut speeds: Vec<u64> = Vec::new();
        for (idx, vehicle) in self.vehicle_types.iter().enumerate() {
            if vehicle.count == 0 || vehicle.count > VEHICLES_PER_TYPE_MAX {
                return fail(format!(
                    "vehicle_types[{idx}]: count {} outside 1..{VEHICLES_PER_TYPE_MAX}",
                    vehicle.count
                ));
            }
            let end_depot = vehicle.end_depot.unwrap_or(vehicle.start_depot);
            if vehicle.start_depot >= self.depots.len() || end_depot >= self.depots.len() {
                return fail(format!(
                    "vehicle_types[{idx}]: depot index out of range ({} depots)",
                    self.depots.len()
                ));
            }
            if vehicle.capacity.len() != n_dims || !quantity_ok(&vehicle.capacity) {
                return fail(format!(
                    "vehicle_types[{idx}]: capacity needs {n_dims} non-negative entries"
                ));
            }
            if !(vehicle.speed_factor > 0.01 && vehicle.speed_factor <= 100.0) {
                return fail(format!(
                    "vehicle_types[{idx}]: speed_factor {} outside 0.01..100",
                    vehicle.speed_factor
                ));
            }
            for (name, value) in [
                ("shift_start", vehicle.shift_start),
                ("shift_end", vehicle.shift_end),
                ("duration_max", vehicle.duration_max),
                ("distance_max", vehicle.distance_max),
                ("fixed_cost", Some(vehicle.fixed_cost)),
                ("cost_per_distance", Some(vehicle.cost_per_distance)),
            ] {
                if let Some(value) = value
                    && !(0..=QUANTITY_MAX).contains(&value)
                {
                    return fail(format!("vehicle_types[{idx}]: {name} {value} invalid"));
                }
            }
            if vehicle.cost_per_distance > COST_PER_DISTANCE_MAX {
                return fail(format!(
                    "vehicle_types[{idx}]: cost_per_distance above {COST_PER_DISTANCE_MAX}"
                ));
            }
            if let (Some(shift_start), Some(shift_end)) = (vehicle.shift_start, vehicle.shift_end)
                && shift_start > shift_end
            {
                return fail(format!(
                    "vehicle_types[{idx}]: shift ends ({shift_end}) before it starts ({shift_start})"
                ));
            }
            if let Some(allowed) = &vehicle.allowed_stops
                && let Some(unknown) = allowed
                    .iter()
                    .find(|id| !self.stops.iter().any(|stop| &stop.id == *id))
            {
                return fail(format!(
                    "vehicle_types[{idx}]: allowed_stops names {unknown:?}, which is no stop's id"
                ));
            }
            let speed_key = vehicle.speed_factor.to_bits();
            if !speeds.contains(&speed_key) {
                speeds.push(speed_key);
            }
        }
        if speeds.len() > SPEED_PROFILES_MAX {
            return fail(format!(
                "vehicle_types: {} distinct speed_factor values, at most {SPEED_PROFILES_MAX}",
                speeds.len()
            ));
        }
        Ok(())
    }
}

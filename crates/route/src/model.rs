//! The problem compiled for the search: dense node numbering, matrices, neighbour lists.
//!
//! Nodes `0..n_depots` are the depots; customer nodes follow, one per stop that some
//! vehicle could serve on its own. Stops that no vehicle can serve even alone are set
//! aside here with their reason, so that the search never chases an impossible stop.

use crate::distance::{Matrix, base_duration_matrix, distance_matrix, scaled_durations};
use crate::problem::Problem;
use crate::segment::{LOAD_DIMENSIONS, Load, LoadSegment, TimeSegment};
use crate::solution::UnservedReason;

/// How many nearest customers each customer's moves consider (granular neighbourhood).
pub const NEIGHBOURS_MAX: usize = 40;
/// The compartment count is the last internal load dimension.
const COMPARTMENT_DIM: usize = LOAD_DIMENSIONS - 1;
/// Stands in for "no limit" while keeping sums far from overflow.
pub const UNLIMITED: i64 = 1 << 50;
/// The excess load a route counts for serving a stop its vehicle type may
/// not serve: penalised like an overload, so the search leaves such routes.
pub const FORBIDDEN_EXCESS: i64 = 1_000;

#[derive(Clone, Debug)]
pub struct ModelVehicle {
    pub start_node: usize,
    pub end_node: usize,
    pub capacity: Load,
    pub count: usize,
    pub shift_start: i64,
    pub shift_end: i64,
    pub duration_max: i64,
    pub distance_max: i64,
    pub fixed_cost: i64,
    pub unit_cost: i64,
    pub profile: usize,
    /// This type's bit in a stop's `forbidden` mask (64 types at most).
    pub type_bit: u64,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub n_depots: usize,
    pub n_nodes: usize,
    /// Problem stop index of each customer node (indexed by `node - n_depots`).
    pub node_stop: Vec<usize>,
    pub distance: Matrix,
    /// One duration matrix per distinct vehicle speed.
    pub durations: Vec<Matrix>,
    pub delivery: Vec<Load>,
    pub pickup: Vec<Load>,
    /// Per node, the vehicle types (a bit each) that may not serve it.
    pub forbidden: Vec<u64>,
    pub service: Vec<i64>,
    pub window_start: Vec<i64>,
    pub window_end: Vec<i64>,
    /// Cost of leaving the node unserved; huge for required stops.
    pub prize: Vec<i64>,
    pub required: Vec<bool>,
    pub vehicles: Vec<ModelVehicle>,
    pub neighbours: Vec<Vec<usize>>,
    /// Stops no vehicle can serve even alone, with the reason.
    pub excluded: Vec<(usize, UnservedReason)>,
    pub load_segments: Vec<LoadSegment>,
    /// Planar position of each node where the problem has coordinates; the crossover
    /// orders routes by angle around the depot with it.
    pub coordinates: Option<Vec<[f64; 2]>>,
}

impl Model {
    /// Compiles a validated problem.
    pub fn new(problem: &Problem) -> Model {
        let location_distance = distance_matrix(problem);
        let location_base_duration = base_duration_matrix(problem, &location_distance);
        let mut speed_factors: Vec<f64> = Vec::new();
        for vehicle in &problem.vehicle_types {
            if !speed_factors.contains(&vehicle.speed_factor) {
                speed_factors.push(vehicle.speed_factor);
            }
        }
        let location_durations: Vec<Matrix> = speed_factors
            .iter()
            .map(|factor| scaled_durations(&location_base_duration, *factor))
            .collect();

        let n_depots = problem.depots.len();
        let n_dims = problem.dimensions.len();
        let to_load = |values: &Vec<i64>, compartments: i64| -> Load {
            let mut load = [0; LOAD_DIMENSIONS];
            for (dim, value) in values.iter().enumerate().take(n_dims) {
                load[dim] = *value;
            }
            load[COMPARTMENT_DIM] = compartments;
            load
        };

        let vehicles: Vec<ModelVehicle> = problem
            .vehicle_types
            .iter()
            .enumerate()
            .map(|(type_idx, vehicle)| {
                let start_depot = &problem.depots[vehicle.start_depot];
                let end_depot = &problem.depots[vehicle.end_depot.unwrap_or(vehicle.start_depot)];
                let mut capacity = to_load(&vehicle.capacity, 0);
                capacity[COMPARTMENT_DIM] = vehicle.compartments.map_or(UNLIMITED, i64::from);
                capacity[n_dims..COMPARTMENT_DIM].fill(UNLIMITED);
                ModelVehicle {
                    start_node: vehicle.start_depot,
                    end_node: vehicle.end_depot.unwrap_or(vehicle.start_depot),
                    capacity,
                    count: vehicle.count as usize,
                    shift_start: vehicle.shift_start.unwrap_or(0).max(start_depot.open),
                    shift_end: vehicle.shift_end.unwrap_or(UNLIMITED).min(end_depot.close),
                    duration_max: vehicle.duration_max.unwrap_or(UNLIMITED),
                    distance_max: vehicle.distance_max.unwrap_or(UNLIMITED),
                    fixed_cost: vehicle.fixed_cost,
                    unit_cost: vehicle.cost_per_distance,
                    profile: speed_factors
                        .iter()
                        .position(|f| *f == vehicle.speed_factor)
                        .unwrap_or(0),
                    type_bit: 1u64 << type_idx,
                }
            })
            .collect();

        // Locations of all potential nodes: depots then every stop.
        let mut candidate_locations: Vec<usize> =
            problem.depots.iter().map(|d| d.location).collect();
        candidate_locations.extend(problem.stops.iter().map(|s| s.location));
        let max_arc = location_distance.max_value().max(1);
        let max_fixed = vehicles.iter().map(|v| v.fixed_cost).max().unwrap_or(0);
        let max_unit = vehicles
            .iter()
            .map(|v| v.unit_cost)
            .max()
            .unwrap_or(1)
            .max(1);
        // Larger than anything serving one stop can add to a plan's cost, so the search
        // always prefers serving a required stop to leaving it out.
        let required_prize = ((4 * max_arc * max_unit + max_fixed + 1) * 1000).min(1 << 40);

        let mut model = Model {
            n_depots,
            n_nodes: n_depots,
            node_stop: Vec::new(),
            distance: Matrix::from_fn(0, |_, _| 0),
            durations: Vec::new(),
            delivery: vec![[0; LOAD_DIMENSIONS]; n_depots],
            forbidden: vec![0; n_depots],
            pickup: vec![[0; LOAD_DIMENSIONS]; n_depots],
            service: vec![0; n_depots],
            window_start: problem.depots.iter().map(|d| d.open).collect(),
            window_end: problem
                .depots
                .iter()
                .map(|d| d.close.min(UNLIMITED))
                .collect(),
            prize: vec![0; n_depots],
            required: vec![false; n_depots],
            vehicles,
            neighbours: Vec::new(),
            excluded: Vec::new(),
            load_segments: Vec::new(),
            coordinates: None,
        };

        let mut node_locations: Vec<usize> = candidate_locations[..n_depots].to_vec();
        for (stop_idx, stop) in problem.stops.iter().enumerate() {
            let delivery = to_load(&stop.delivery, i64::from(stop.compartments));
            let pickup = to_load(&stop.pickup, 0);
            let [window_start, window_end] = stop.time_window.unwrap_or([0, UNLIMITED]);
            let forbidden = problem
                .vehicle_types
                .iter()
                .enumerate()
                .filter(|(_, vehicle)| {
                    vehicle
                        .allowed_stops
                        .as_ref()
                        .is_some_and(|allowed| !allowed.contains(&stop.id))
                })
                .fold(0u64, |mask, (type_idx, _)| mask | (1u64 << type_idx));
            let reason = model.why_no_vehicle_serves_alone(
                forbidden,
                &location_distance,
                &location_durations,
                &candidate_locations,
                stop.location,
                &delivery,
                &pickup,
                stop.service,
                window_start,
                window_end,
            );
            if let Some(reason) = reason {
                model.excluded.push((stop_idx, reason));
                continue;
            }
            node_locations.push(stop.location);
            model.node_stop.push(stop_idx);
            model.forbidden.push(forbidden);
            model.delivery.push(delivery);
            model.pickup.push(pickup);
            model.service.push(stop.service);
            model.window_start.push(window_start);
            model.window_end.push(window_end);
            model.prize.push(stop.penalty.unwrap_or(required_prize));
            model.required.push(stop.penalty.is_none());
        }
        model.n_nodes = node_locations.len();
        model.distance = Matrix::from_fn(model.n_nodes, |from, to| {
            location_distance.get(node_locations[from], node_locations[to])
        });
        model.durations = location_durations
            .iter()
            .map(|durations| {
                Matrix::from_fn(model.n_nodes, |from, to| {
                    durations.get(node_locations[from], node_locations[to])
                })
            })
            .collect();
        model.load_segments = (0..model.n_nodes)
            .map(|node| LoadSegment {
                forbidden: model.forbidden[node],
                ..LoadSegment::single(&model.delivery[node], &model.pickup[node])
            })
            .collect();
        model.neighbours = model.granular_neighbours();
        model.coordinates = match &problem.distances {
            crate::problem::Distances::GreatCircle { coordinates, .. }
            | crate::problem::Distances::Euclidean { coordinates, .. } => Some(
                node_locations
                    .iter()
                    .map(|location| coordinates[*location])
                    .collect(),
            ),
            crate::problem::Distances::Matrix { .. } => None,
        };
        model
    }

    pub fn customers(&self) -> std::ops::Range<usize> {
        self.n_depots..self.n_nodes
    }

    pub fn n_customers(&self) -> usize {
        self.n_nodes - self.n_depots
    }

    #[inline]
    pub fn node_time(&self, node: usize) -> TimeSegment {
        TimeSegment::single(
            node,
            self.service[node],
            self.window_start[node],
            self.window_end[node],
        )
    }

    pub fn depot_time(&self, vehicle: &ModelVehicle, node: usize) -> TimeSegment {
        TimeSegment::single(node, 0, vehicle.shift_start, vehicle.shift_end)
    }

    /// Decides whether any vehicle type could serve the stop in a route of its own.
    #[allow(clippy::too_many_arguments)]
    fn why_no_vehicle_serves_alone(
        &self,
        forbidden: u64,
        distance: &Matrix,
        durations: &[Matrix],
        depot_locations: &[usize],
        location: usize,
        delivery: &Load,
        pickup: &Load,
        service: i64,
        window_start: i64,
        window_end: i64,
    ) -> Option<UnservedReason> {
        let mut reason = None;
        for vehicle in &self.vehicles {
            if forbidden & vehicle.type_bit != 0 {
                continue;
            }
            let start = depot_locations[vehicle.start_node];
            let end = depot_locations[vehicle.end_node];
            let load = LoadSegment::single(delivery, pickup);
            let time = TimeSegment::single(0, 0, vehicle.shift_start, vehicle.shift_end)
                .then(
                    &TimeSegment::single(1, service, window_start, window_end),
                    durations[vehicle.profile].get(start, location),
                )
                .then(
                    &TimeSegment::single(2, 0, vehicle.shift_start, vehicle.shift_end),
                    durations[vehicle.profile].get(location, end),
                );
            let route_distance = distance.get(start, location) + distance.get(location, end);
            let capacity_short =
                (0..COMPARTMENT_DIM).any(|dim| load.peak[dim] > vehicle.capacity[dim]);
            let this_reason = if capacity_short {
                UnservedReason::ExceedsCapacity
            } else if load.peak[COMPARTMENT_DIM] > vehicle.capacity[COMPARTMENT_DIM] {
                UnservedReason::ExceedsCompartments
            } else if time.time_warp > 0 {
                UnservedReason::TimeWindowUnreachable
            } else if time.duration > vehicle.duration_max {
                UnservedReason::ExceedsDutyLimit
            } else if route_distance > vehicle.distance_max {
                UnservedReason::OutOfRange
            } else {
                return None;
            };
            reason.get_or_insert(this_reason);
        }
        // The first allowed type's reason; with no type allowed, that.
        reason.or(Some(UnservedReason::NotAllowed))
    }

    /// Nearest customers by a distance that also counts forced waiting and missed windows
    /// (Vidal et al. 2013), so that neighbours are those one could actually follow.
    fn granular_neighbours(&self) -> Vec<Vec<usize>> {
        let durations = &self.durations[0];
        let proximity = |from: usize, to: usize| -> i64 {
            let travel = durations.get(from, to);
            let wait =
                (self.window_start[to] - travel - self.service[from] - self.window_end[from])
                    .max(0);
            let warp = (self.window_start[from] + self.service[from] + travel
                - self.window_end[to])
                .max(0);
            self.distance.get(from, to) + wait / 5 + warp
        };
        let mut neighbours = vec![Vec::new(); self.n_nodes];
        for from in self.customers() {
            let mut others: Vec<(i64, usize)> = self
                .customers()
                .filter(|to| *to != from)
                .map(|to| (proximity(from, to).min(proximity(to, from)), to))
                .collect();
            others.sort_unstable();
            others.truncate(NEIGHBOURS_MAX);
            neighbours[from] = others.into_iter().map(|(_, to)| to).collect();
        }
        neighbours
    }
}

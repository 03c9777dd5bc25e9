//! An independent checker: walks each route of a solution stop by stop from the problem
//! alone and reports every violated constraint and every figure that disagrees.
//!
//! It shares only the distance-matrix construction with the solver, and none of the
//! solver's segment arithmetic, so an error in the solver's bookkeeping shows up here.

use crate::distance::{base_duration_matrix, distance_matrix, scaled_durations};
use crate::problem::{Problem, QUANTITY_MAX};
use crate::solution::Solution;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    UnknownVehicleType {
        route: usize,
    },
    TooManyVehicles {
        vehicle_type: usize,
        used: usize,
        count: u32,
    },
    UnknownStop {
        route: usize,
        stop: usize,
    },
    StopVisitedTwice {
        stop: usize,
    },
    StopNeitherServedNorListed {
        stop: usize,
    },
    /// The route's vehicle type may not serve the stop (`allowed_stops`).
    StopNotAllowed {
        route: usize,
        stop: usize,
    },
    Overload {
        route: usize,
        dimension: usize,
        load: i64,
        capacity: i64,
    },
    /// Compartment numbers missing, repeated, out of range or not as many as needed.
    CompartmentsMisassigned {
        route: usize,
        stop: usize,
    },
    CompartmentsExceeded {
        route: usize,
        needed: i64,
        available: i64,
    },
    DepartsBeforeShift {
        route: usize,
        departure: i64,
        shift_start: i64,
    },
    TimeWindowMissed {
        route: usize,
        stop: usize,
        service_start: i64,
        latest: i64,
    },
    ReturnsAfterShift {
        route: usize,
        return_time: i64,
        shift_end: i64,
    },
    DutyExceeded {
        route: usize,
        duration: i64,
        duration_max: i64,
    },
    RangeExceeded {
        route: usize,
        distance: i64,
        distance_max: i64,
    },
    /// A figure the solution reports differs from the recomputed one.
    FigureMismatch {
        route: Option<usize>,
        figure: &'static str,
        reported: i64,
        recomputed: i64,
    },
}

/// What the checker recomputed for one route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteCheck {
    pub distance: i64,
    pub duration: i64,
    pub peak_load: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    pub routes: Vec<RouteCheck>,
    pub distance: i64,
    pub cost: i64,
    pub violations: Vec<Violation>,
}

impl CheckReport {
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Recomputes every route of `solution` against `problem`. Expects a problem that passed
/// [`Problem::validate`].
pub fn check(problem: &Problem, solution: &Solution) -> CheckReport {
    let distances = distance_matrix(problem);
    let base_durations = base_duration_matrix(problem, &distances);
    let n_dims = problem.dimensions.len();
    let mut violations = Vec::new();
    let mut visited = vec![0usize; problem.stops.len()];
    let mut used = vec![0usize; problem.vehicle_types.len()];
    let mut routes = Vec::new();
    let mut total_distance = 0;
    let mut total_cost = 0;
    let mismatch = |violations: &mut Vec<Violation>,
                    route: Option<usize>,
                    figure: &'static str,
                    reported: i64,
                    recomputed: i64| {
        if reported != recomputed {
            violations.push(Violation::FigureMismatch {
                route,
                figure,
                reported,
                recomputed,
            });
        }
    };
    for (route_idx, route) in solution.routes.iter().enumerate() {
        let Some(vehicle) = problem.vehicle_types.get(route.vehicle_type) else {
            violations.push(Violation::UnknownVehicleType { route: route_idx });
            continue;
        };
        used[route.vehicle_type] += 1;
        let durations = scaled_durations(&base_durations, vehicle.speed_factor);
        let start_depot = &problem.depots[vehicle.start_depot];
        let end_depot = &problem.depots[vehicle.end_depot.unwrap_or(vehicle.start_depot)];
        let shift_start = vehicle.shift_start.unwrap_or(0).max(start_depot.open);
        let shift_end = vehicle
            .shift_end
            .unwrap_or(QUANTITY_MAX)
            .min(end_depot.close);

        if route
            .visits
            .iter()
            .any(|visit| visit.stop >= problem.stops.len())
        {
            let stop = route
                .visits
                .iter()
                .map(|visit| visit.stop)
                .max()
                .unwrap_or(0);
            violations.push(Violation::UnknownStop {
                route: route_idx,
                stop,
            });
            continue;
        }
        let quantity = |values: &Vec<i64>, dim: usize| values.get(dim).copied().unwrap_or(0);
        let mut load: Vec<i64> = (0..n_dims)
            .map(|dim| {
                route
                    .visits
                    .iter()
                    .map(|visit| quantity(&problem.stops[visit.stop].delivery, dim))
                    .sum()
            })
            .collect();
        for (dim, value) in load.iter().enumerate() {
            mismatch(
                &mut violations,
                Some(route_idx),
                "load_start",
                quantity(&route.load_start, dim),
                *value,
            );
        }
        let mut peak = load.clone();
        let compartments: i64 = route
            .visits
            .iter()
            .map(|visit| i64::from(problem.stops[visit.stop].compartments))
            .sum();
        if let Some(available) = vehicle.compartments {
            // Each compartment number at most once, within the vehicle's range, and as
            // many as each stop needs.
            let mut seen = vec![false; available as usize + 1];
            for visit in &route.visits {
                let needed = problem.stops[visit.stop].compartments as usize;
                let valid = visit.compartments.len() == needed
                    && visit.compartments.iter().all(|number| {
                        let number = *number as usize;
                        (1..=available as usize).contains(&number)
                            && !std::mem::replace(&mut seen[number], true)
                    });
                if !valid && compartments <= i64::from(available) {
                    violations.push(Violation::CompartmentsMisassigned {
                        route: route_idx,
                        stop: visit.stop,
                    });
                }
            }
        }
        if let Some(available) = vehicle.compartments
            && compartments > i64::from(available)
        {
            violations.push(Violation::CompartmentsExceeded {
                route: route_idx,
                needed: compartments,
                available: i64::from(available),
            });
        }
        if route.departure < shift_start {
            violations.push(Violation::DepartsBeforeShift {
                route: route_idx,
                departure: route.departure,
                shift_start,
            });
        }
        let mut location = start_depot.location;
        let mut clock = route.departure;
        let mut distance = 0;
        for visit in &route.visits {
            let stop = &problem.stops[visit.stop];
            visited[visit.stop] += 1;
            if vehicle
                .allowed_stops
                .as_ref()
                .is_some_and(|allowed| !allowed.contains(&stop.id))
            {
                violations.push(Violation::StopNotAllowed {
                    route: route_idx,
                    stop: visit.stop,
                });
            }
            distance += distances.get(location, stop.location);
            let arrival = clock + durations.get(location, stop.location);
            let (earliest, latest) = stop.time_window.map_or((0, QUANTITY_MAX), |[e, l]| (e, l));
            let service_start = arrival.max(earliest);
            if service_start > latest {
                violations.push(Violation::TimeWindowMissed {
                    route: route_idx,
                    stop: visit.stop,
                    service_start,
                    latest,
                });
            }
            mismatch(
                &mut violations,
                Some(route_idx),
                "arrival",
                visit.arrival,
                arrival,
            );
            mismatch(
                &mut violations,
                Some(route_idx),
                "service_start",
                visit.service_start,
                service_start,
            );
            clock = service_start + stop.service;
            for (dim, value) in load.iter_mut().enumerate() {
                *value += quantity(&stop.pickup, dim) - quantity(&stop.delivery, dim);
                peak[dim] = peak[dim].max(*value);
                mismatch(
                    &mut violations,
                    Some(route_idx),
                    "load_after",
                    quantity(&visit.load_after, dim),
                    *value,
                );
            }
            location = stop.location;
        }
        distance += distances.get(location, end_depot.location);
        let return_time = clock + durations.get(location, end_depot.location);
        let duration = return_time - route.departure;
        if return_time > shift_end {
            violations.push(Violation::ReturnsAfterShift {
                route: route_idx,
                return_time,
                shift_end,
            });
        }
        if let Some(duration_max) = vehicle.duration_max
            && duration > duration_max
        {
            violations.push(Violation::DutyExceeded {
                route: route_idx,
                duration,
                duration_max,
            });
        }
        if let Some(distance_max) = vehicle.distance_max
            && distance > distance_max
        {
            violations.push(Violation::RangeExceeded {
                route: route_idx,
                distance,
                distance_max,
            });
        }
        for (dim, capacity) in vehicle.capacity.iter().enumerate() {
            if peak[dim] > *capacity {
                violations.push(Violation::Overload {
                    route: route_idx,
                    dimension: dim,
                    load: peak[dim],
                    capacity: *capacity,
                });
            }
        }
        mismatch(
            &mut violations,
            Some(route_idx),
            "return_time",
            route.return_time,
            return_time,
        );
        mismatch(
            &mut violations,
            Some(route_idx),
            "distance",
            route.distance,
            distance,
        );
        mismatch(
            &mut violations,
            Some(route_idx),
            "duration",
            route.duration,
            duration,
        );
        if !route.visits.is_empty() {
            total_cost += vehicle.fixed_cost + vehicle.cost_per_distance * distance;
        }
        total_distance += distance;
        routes.push(RouteCheck {
            distance,
            duration,
            peak_load: peak,
        });
    }
    for (vehicle_type, vehicle) in problem.vehicle_types.iter().enumerate() {
        if used[vehicle_type] > vehicle.count as usize {
            violations.push(Violation::TooManyVehicles {
                vehicle_type,
                used: used[vehicle_type],
                count: vehicle.count,
            });
        }
    }
    let mut listed = vec![false; problem.stops.len()];
    for entry in &solution.unserved {
        if let Some(flag) = listed.get_mut(entry.stop) {
            *flag = true;
        }
        if let Some(penalty) = problem.stops.get(entry.stop).and_then(|stop| stop.penalty) {
            total_cost += penalty;
        }
    }
    for (stop_idx, count) in visited.iter().enumerate() {
        if *count > 1 {
            violations.push(Violation::StopVisitedTwice { stop: stop_idx });
        }
        if *count == 0 && !listed[stop_idx] {
            violations.push(Violation::StopNeitherServedNorListed { stop: stop_idx });
        }
    }
    let complete = (0..problem.stops.len())
        .all(|stop| visited[stop] > 0 || problem.stops[stop].penalty.is_some());
    mismatch(
        &mut violations,
        None,
        "complete",
        i64::from(solution.complete),
        i64::from(complete),
    );
    mismatch(
        &mut violations,
        None,
        "distance",
        solution.distance,
        total_distance,
    );
    mismatch(&mut violations, None, "cost", solution.cost, total_cost);
    mismatch(
        &mut violations,
        None,
        "n_vehicles",
        solution.n_vehicles as i64,
        solution.routes.len() as i64,
    );
    CheckReport {
        routes,
        distance: total_distance,
        cost: total_cost,
        violations,
    }
}

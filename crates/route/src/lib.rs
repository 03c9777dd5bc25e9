//! Vehicle routing for county delivery: vans, contractors and unmanned vehicles with
//! capacities, time windows, shifts, ranges, compartments, several depots, pickups on the
//! way back and optional stops.
//!
//! The crate is pure: no files, network or randomness of its own. A caller passes a
//! [`Problem`] (built in code, read from JSON with [`json::parse_problem`], or from a
//! VRPLIB benchmark file with [`vrplib::parse`]) and [`SolveOptions`] with a seed and a
//! budget, and gets a [`Solution`] whose routes are all feasible and whose unserved stops
//! each carry a reason. [`check::check`] recomputes any solution independently.
//!
//! The search is a hybrid genetic search with a granular local search and time-warp
//! penalties (module `search`).

pub mod bench;
pub mod check;
pub mod distance;
pub mod json;
mod model;
pub mod problem;
mod search;
mod segment;
pub mod solution;
pub mod vrplib;

use std::time::Instant;

pub use problem::{
    Depot, Distances, Problem, ProblemError, Rounding, Stop, VehicleKind, VehicleType,
};
pub use solution::{Route, Solution, Unserved, UnservedReason, Visit};

use model::Model;
use search::{Individual, evaluate_route};

/// Iterations when the caller gives no other budget.
pub const ITERATIONS_DEFAULT: u64 = 2_000;
/// Upper bound on search threads.
pub const THREADS_MAX: usize = 64;

/// A report while the search runs, sent whenever a thread finds a better feasible plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub thread: usize,
    pub iterations: u64,
    pub cost: i64,
    pub distance: i64,
    pub n_vehicles: usize,
}

/// How long and how to search. The search stops at the first of `deadline`,
/// `iterations_max` (per thread) and `should_stop`; with none of them it does
/// [`ITERATIONS_DEFAULT`] iterations. With an iteration budget, the same seed and thread
/// count always give the same plan; a deadline trades that for a fixed wall-clock time.
pub struct SolveOptions<'a> {
    pub seed: u64,
    pub deadline: Option<Instant>,
    pub iterations_max: Option<u64>,
    /// Independent searches with derived seeds; the best plan wins. At least 1.
    pub threads: usize,
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    pub should_stop: Option<&'a (dyn Fn() -> bool + Sync)>,
}

impl Default for SolveOptions<'_> {
    fn default() -> Self {
        SolveOptions {
            seed: 1,
            deadline: None,
            iterations_max: None,
            threads: 1,
            progress: None,
            should_stop: None,
        }
    }
}

/// Why a problem file was refused, in either format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("JSON problem: {0}")]
    Json(#[from] json::JsonError),
    #[error("VRPLIB file: {0}")]
    Vrplib(#[from] vrplib::ParseError),
}

/// Reads a problem in either format: JSON when the text starts with `{`, VRPLIB
/// otherwise. For VRPLIB, also returns the benchmark convention (for reporting).
pub fn read_problem(text: &str) -> Result<(Problem, Option<vrplib::Convention>), ReadError> {
    if text.trim_start().starts_with('{') {
        Ok((json::parse_problem(text)?, None))
    } else {
        let instance = vrplib::parse(text)?;
        Ok((instance.problem, Some(instance.convention)))
    }
}

/// Plans routes for a problem.
pub fn solve(problem: &Problem, options: &SolveOptions) -> Result<Solution, ProblemError> {
    problem.validate()?;
    let model = Model::new(problem);
    let iterations_max = match (
        options.iterations_max,
        options.deadline,
        options.should_stop,
    ) {
        (Some(iterations), _, _) => iterations,
        (None, None, None) => ITERATIONS_DEFAULT,
        _ => u64::MAX,
    };
    let n_threads = options.threads.clamp(1, THREADS_MAX);
    let run_thread = |thread: usize| -> (u64, Individual) {
        let seed = options
            .seed
            .wrapping_add((thread as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut genetic =
            search::genetic::Genetic::new(&model, search::genetic::Params::default(), seed);
        let mut should_stop = || {
            options
                .deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
                || options.should_stop.is_some_and(|stop| stop())
        };
        let mut on_improvement = |iterations: u64, individual: &Individual| {
            if let Some(progress) = options.progress {
                progress(&Progress {
                    thread,
                    iterations,
                    cost: individual.objective(),
                    distance: individual.figures.distance,
                    n_vehicles: individual.routes.len(),
                });
            }
        };
        let outcome = genetic.run(iterations_max, &mut should_stop, &mut on_improvement);
        let best = outcome
            .best_feasible
            .unwrap_or_else(|| make_feasible(&model, &outcome.best_any));
        (outcome.iterations, best)
    };
    let results: Vec<(u64, Individual)> = if n_threads == 1 {
        vec![run_thread(0)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..n_threads)
                .map(|thread| scope.spawn(move || run_thread(thread)))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a search thread panicked"))
                .collect()
        })
    };
    let iterations = results.iter().map(|(iterations, _)| iterations).sum();
    let best = results
        .into_iter()
        .map(|(_, individual)| individual)
        .min_by_key(|individual| (individual.unserved_prize, individual.objective()))
        .unwrap_or_else(|| Individual::new(&model, Vec::new()));
    Ok(build_solution(problem, &model, &best, iterations))
}

/// Drops customers from violating routes until every route is feasible: the fallback
/// when the search found no feasible plan within its budget.
fn make_feasible(model: &Model, individual: &Individual) -> Individual {
    let mut routes = individual.routes.clone();
    for (vehicle_type, nodes) in &mut routes {
        loop {
            let figures = evaluate_route(model, *vehicle_type, nodes);
            if figures.feasible() {
                break;
            }
            let violation = |figures: &search::RouteFigures| {
                figures.load_excess + figures.time_excess + figures.range_excess
            };
            let worst = (0..nodes.len())
                .min_by_key(|idx| {
                    let mut without = nodes.clone();
                    without.remove(*idx);
                    let reduced = evaluate_route(model, *vehicle_type, &without);
                    (violation(&reduced), reduced.distance)
                })
                .unwrap_or(0);
            nodes.remove(worst);
        }
    }
    Individual::new(model, routes)
}

fn build_solution(
    problem: &Problem,
    model: &Model,
    best: &Individual,
    iterations: u64,
) -> Solution {
    let n_dims = problem.dimensions.len();
    let mut routes = Vec::new();
    let mut served = vec![false; problem.stops.len()];
    for (vehicle_type, nodes) in &best.routes {
        let vehicle = &model.vehicles[*vehicle_type];
        let durations = &model.durations[vehicle.profile];
        // Leave as late as possible without delaying any service: the least duration.
        let mut time = model.depot_time(vehicle, vehicle.start_node);
        let mut previous = vehicle.start_node;
        for &node in nodes {
            time = time.then(&model.node_time(node), durations.get(previous, node));
            previous = node;
        }
        time = time.then(
            &model.depot_time(vehicle, vehicle.end_node),
            durations.get(previous, vehicle.end_node),
        );
        let departure = time.earliest;
        let mut load: Vec<i64> = (0..n_dims)
            .map(|dim| nodes.iter().map(|node| model.delivery[*node][dim]).sum())
            .collect();
        let load_start = load.clone();
        let mut clock = departure;
        let mut distance = 0;
        let mut previous = vehicle.start_node;
        let mut visits = Vec::with_capacity(nodes.len());
        let has_compartments = problem.vehicle_types[*vehicle_type].compartments.is_some();
        let mut next_compartment = 1u32;
        for &node in nodes {
            let arrival = clock + durations.get(previous, node);
            let service_start = arrival.max(model.window_start[node]);
            clock = service_start + model.service[node];
            distance += model.distance.get(previous, node);
            for (dim, value) in load.iter_mut().enumerate() {
                *value += model.pickup[node][dim] - model.delivery[node][dim];
            }
            let stop = model.node_stop[node - model.n_depots];
            served[stop] = true;
            // Compartments are loaded at the depot in visiting order and not reused.
            let needed = if has_compartments {
                problem.stops[stop].compartments
            } else {
                0
            };
            let compartments = (next_compartment..next_compartment + needed).collect();
            next_compartment += needed;
            visits.push(Visit {
                stop,
                arrival,
                service_start,
                load_after: load.clone(),
                compartments,
            });
            previous = node;
        }
        distance += model.distance.get(previous, vehicle.end_node);
        let return_time = clock + durations.get(previous, vehicle.end_node);
        routes.push(Route {
            vehicle_type: *vehicle_type,
            departure,
            visits,
            return_time,
            distance,
            duration: return_time - departure,
            load_start,
        });
    }
    let mut unserved: Vec<Unserved> = model
        .excluded
        .iter()
        .map(|(stop, reason)| Unserved {
            stop: *stop,
            reason: *reason,
        })
        .collect();
    for node in model.customers() {
        let stop = model.node_stop[node - model.n_depots];
        if !served[stop] {
            let reason = if model.required[node] {
                UnservedReason::FleetExhausted
            } else {
                UnservedReason::NotWorthServing
            };
            unserved.push(Unserved { stop, reason });
        }
    }
    unserved.sort_by_key(|entry| entry.stop);
    let route_cost: i64 = routes
        .iter()
        .map(|route| {
            let vehicle = &problem.vehicle_types[route.vehicle_type];
            vehicle.fixed_cost + vehicle.cost_per_distance * route.distance
        })
        .sum();
    let penalties: i64 = unserved
        .iter()
        .filter_map(|entry| problem.stops[entry.stop].penalty)
        .sum();
    Solution {
        n_vehicles: routes.len(),
        distance: routes.iter().map(|route| route.distance).sum(),
        cost: route_cost + penalties,
        complete: unserved
            .iter()
            .all(|entry| problem.stops[entry.stop].penalty.is_some()),
        routes,
        unserved,
        iterations,
    }
}

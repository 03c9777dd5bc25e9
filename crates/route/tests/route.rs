//! Boundary tests of the routing crate: solver against checker, against brute force,
//! determinism, reasons for unserved stops, and refusal of malformed files.

use proptest::prelude::*;
use route::check::check;
use route::{
    Depot, Distances, Problem, Rounding, SolveOptions, Stop, UnservedReason, VehicleKind,
    VehicleType, solve,
};

fn vehicle(count: u32, capacity: Vec<i64>) -> VehicleType {
    VehicleType {
        id: "van".into(),
        kind: VehicleKind::Van,
        count,
        start_depot: 0,
        end_depot: None,
        capacity,
        compartments: None,
        shift_start: None,
        shift_end: None,
        duration_max: None,
        distance_max: None,
        speed_factor: 1.0,
        fixed_cost: 0,
        cost_per_distance: 1,
        allowed_stops: None,
    }
}

fn stop(location: usize, delivery: Vec<i64>) -> Stop {
    Stop {
        id: format!("s{location}"),
        location,
        pickup: vec![0; delivery.len()],
        delivery,
        service: 0,
        time_window: None,
        penalty: None,
        compartments: 0,
    }
}

fn depot(location: usize, close: i64) -> Depot {
    Depot {
        id: format!("d{location}"),
        location,
        open: 0,
        close,
    }
}

fn iterations(iterations_max: u64, seed: u64) -> SolveOptions<'static> {
    SolveOptions {
        seed,
        iterations_max: Some(iterations_max),
        ..SolveOptions::default()
    }
}

/// A random problem using every feature: two dimensions, pickups, time windows,
/// optional stops, two depots, a van fleet and slower unmanned vehicles with
/// compartments, a range and a duty limit.
fn rich_problem(seed: u64, n_stops: usize) -> Problem {
    let mut rng = fastrand::Rng::with_seed(seed);
    let n_locations = n_stops + 2;
    let coordinates: Vec<[f64; 2]> = (0..n_locations)
        .map(|_| [rng.i64(0..100) as f64, rng.i64(0..100) as f64])
        .collect();
    let horizon = 1_000;
    let stops: Vec<Stop> = (2..n_locations)
        .map(|location| {
            let start = rng.i64(0..horizon - 200);
            Stop {
                id: format!("s{location}"),
                location,
                delivery: vec![rng.i64(0..20), rng.i64(0..5)],
                pickup: vec![if rng.bool() { rng.i64(0..15) } else { 0 }, 0],
                service: rng.i64(0..20),
                time_window: rng.bool().then(|| [start, start + rng.i64(60..300)]),
                penalty: (rng.u8(0..5) == 0).then(|| rng.i64(0..200)),
                compartments: rng.u32(0..2),
            }
        })
        .collect();
    let mut unmanned = vehicle(2, vec![40, 10]);
    unmanned.id = "robot".into();
    unmanned.kind = VehicleKind::Unmanned;
    unmanned.start_depot = 1;
    unmanned.compartments = Some(4);
    unmanned.speed_factor = 0.5;
    unmanned.distance_max = Some(250);
    unmanned.duration_max = Some(700);
    // Unmanned vehicles are cleared for about two stops in three.
    unmanned.allowed_stops = Some(
        stops
            .iter()
            .filter(|_| rng.u8(0..3) > 0)
            .map(|stop: &Stop| stop.id.clone())
            .collect(),
    );
    let mut van = vehicle(4, vec![80, 20]);
    van.fixed_cost = 30;
    Problem {
        name: format!("rich-{seed}"),
        dimensions: vec!["weight".into(), "volume".into()],
        distance_scale: 1,
        distances: Distances::Euclidean {
            coordinates,
            rounding: Rounding::Nearest,
        },
        depots: vec![depot(0, horizon), depot(1, horizon)],
        stops,
        vehicle_types: vec![van, unmanned],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// The checker, walking each route stop by stop, agrees with every figure the solver
    /// reports and finds no violation.
    #[test]
    fn checker_agrees_with_the_solver(seed in 0u64..1_000_000, n_stops in 5usize..40) {
        let problem = rich_problem(seed, n_stops);
        let solution = solve(&problem, &iterations(60, seed)).expect("valid problem");
        let report = check(&problem, &solution);
        prop_assert!(report.is_valid(), "violations: {:?}", report.violations);
        prop_assert_eq!(report.distance, solution.distance);
        for (route, recomputed) in solution.routes.iter().zip(&report.routes) {
            prop_assert_eq!(route.distance, recomputed.distance);
            prop_assert_eq!(route.duration, recomputed.duration);
        }
        // Every stop is either served once or listed with a reason.
        let served: usize = solution.routes.iter().map(|route| route.visits.len()).sum();
        prop_assert_eq!(served + solution.unserved.len(), problem.stops.len());
    }

    /// Tiny capacitated instances with time windows: the solver finds the optimum that
    /// exhaustive enumeration finds.
    #[test]
    fn tiny_instances_are_solved_to_optimality(seed in 0u64..1_000_000, n_stops in 4usize..8) {
        let problem = tiny_problem(seed, n_stops);
        let optimum = brute_force_distance(&problem);
        let solution = solve(&problem, &iterations(150, seed)).expect("valid problem");
        let report = check(&problem, &solution);
        prop_assert!(report.is_valid(), "violations: {:?}", report.violations);
        match optimum {
            Some(optimum) => {
                prop_assert!(solution.complete);
                prop_assert_eq!(solution.distance, optimum);
            }
            None => prop_assert!(!solution.complete),
        }
    }
}

fn tiny_problem(seed: u64, n_stops: usize) -> Problem {
    let mut rng = fastrand::Rng::with_seed(seed);
    let coordinates: Vec<[f64; 2]> = (0..=n_stops)
        .map(|_| [rng.i64(0..50) as f64, rng.i64(0..50) as f64])
        .collect();
    let stops = (1..=n_stops)
        .map(|location| {
            let mut stop = stop(location, vec![rng.i64(1..10)]);
            stop.service = 5;
            if rng.bool() {
                let start = rng.i64(0..150);
                stop.time_window = Some([start, start + rng.i64(20..80)]);
            }
            stop
        })
        .collect();
    Problem {
        name: "tiny".into(),
        dimensions: vec!["load".into()],
        distance_scale: 10,
        distances: Distances::Euclidean {
            coordinates,
            rounding: Rounding::TruncateTenths,
        },
        depots: vec![depot(0, 3_000)],
        stops,
        vehicle_types: vec![vehicle(3, vec![20])],
    }
}

/// Least total distance over all plans, by enumerating every order of every subset as a
/// route and combining disjoint routes; `None` if no plan serves all stops.
fn brute_force_distance(problem: &Problem) -> Option<i64> {
    let n = problem.stops.len();
    let matrix = route::distance::distance_matrix(problem);
    let capacity = problem.vehicle_types[0].capacity[0];
    let depot_close = problem.depots[0].close;
    let mut enumeration = RouteEnumeration {
        problem,
        matrix: &matrix,
        capacity,
        depot_close,
        best_route: vec![i64::MAX; 1 << n],
    };
    enumeration.best_route[0] = 0;
    enumeration.extend(0, 0, 0, 0, 0);
    let best_route = enumeration.best_route;
    let full = (1 << n) - 1;
    let mut best_plan = vec![vec![i64::MAX; 1 << n]; problem.vehicle_types[0].count as usize + 1];
    best_plan[0][0] = 0;
    for routes in 1..best_plan.len() {
        for mask in 0..=full {
            let mut best = best_plan[routes - 1][mask];
            let mut sub = mask;
            while sub > 0 {
                if best_route[sub] != i64::MAX && best_plan[routes - 1][mask ^ sub] != i64::MAX {
                    best = best.min(best_route[sub] + best_plan[routes - 1][mask ^ sub]);
                }
                sub = (sub - 1) & mask;
            }
            best_plan[routes][mask] = best;
        }
    }
    let best = best_plan[problem.vehicle_types[0].count as usize][full];
    (best != i64::MAX).then_some(best)
}

#[test]
fn the_same_seed_gives_the_same_plan() {
    let problem = rich_problem(7, 40);
    let first = solve(&problem, &iterations(80, 42)).expect("valid problem");
    let second = solve(&problem, &iterations(80, 42)).expect("valid problem");
    assert_eq!(first, second);
    let threaded = SolveOptions {
        threads: 2,
        ..iterations(40, 42)
    };
    let first = solve(&problem, &threaded).expect("valid problem");
    let second = solve(&problem, &threaded).expect("valid problem");
    assert_eq!(first, second);
}

#[test]
fn unservable_stops_are_listed_with_their_reason() {
    let coordinates = vec![
        [0.0, 0.0],
        [10.0, 0.0],
        [0.0, 10.0],
        [500.0, 500.0],
        [5.0, 5.0],
    ];
    let mut too_heavy = stop(1, vec![50]);
    too_heavy.id = "heavy".into();
    let mut too_late = stop(2, vec![1]);
    // The window closes before a vehicle can get there.
    too_late.time_window = Some([0, 5]);
    let mut far_optional = stop(3, vec![1]);
    far_optional.penalty = Some(10);
    let fine = stop(4, vec![1]);
    let problem = Problem {
        name: "reasons".into(),
        dimensions: vec!["load".into()],
        distance_scale: 1,
        distances: Distances::Euclidean {
            coordinates,
            rounding: Rounding::Nearest,
        },
        depots: vec![depot(0, 10_000)],
        stops: vec![too_heavy, too_late, far_optional, fine],
        vehicle_types: vec![vehicle(2, vec![20])],
    };
    let solution = solve(&problem, &iterations(30, 1)).expect("valid problem");
    let reason_of = |stop_idx: usize| {
        solution
            .unserved
            .iter()
            .find(|entry| entry.stop == stop_idx)
            .map(|entry| entry.reason)
    };
    assert_eq!(reason_of(0), Some(UnservedReason::ExceedsCapacity));
    assert_eq!(reason_of(1), Some(UnservedReason::TimeWindowUnreachable));
    assert_eq!(reason_of(2), Some(UnservedReason::NotWorthServing));
    assert_eq!(reason_of(3), None);
    assert!(!solution.complete);
    assert!(check(&problem, &solution).is_valid());
}

#[test]
fn a_vehicle_type_serves_only_the_stops_it_is_allowed() {
    let coordinates: Vec<[f64; 2]> = (0..7).map(|idx| [f64::from(idx) * 3.0, 1.0]).collect();
    let stops: Vec<Stop> = (1..7).map(|location| stop(location, vec![1])).collect();
    // A cheap unmanned type cleared for s1 to s3, and one dear van for the rest.
    let mut unmanned = vehicle(3, vec![10]);
    unmanned.id = "robot".into();
    unmanned.kind = VehicleKind::Unmanned;
    unmanned.allowed_stops = Some(vec!["s1".into(), "s2".into(), "s3".into()]);
    let mut van = vehicle(1, vec![10]);
    van.fixed_cost = 10_000;
    let mut problem = Problem {
        name: "allowed".into(),
        dimensions: vec!["parcels".into()],
        distance_scale: 1,
        distances: Distances::Euclidean {
            coordinates,
            rounding: Rounding::Nearest,
        },
        depots: vec![depot(0, 10_000)],
        stops,
        vehicle_types: vec![unmanned, van],
    };
    let solution = solve(&problem, &iterations(200, 3)).expect("valid problem");
    assert!(solution.complete);
    assert!(check(&problem, &solution).is_valid());
    for route in &solution.routes {
        let ids: Vec<&str> = route
            .visits
            .iter()
            .map(|visit| problem.stops[visit.stop].id.as_str())
            .collect();
        if route.vehicle_type == 0 {
            assert!(
                ids.iter().all(|id| ["s1", "s2", "s3"].contains(id)),
                "{ids:?}"
            );
        }
    }
    // Without the van, the other stops are listed as allowed to nobody.
    problem.vehicle_types.pop();
    let solution = solve(&problem, &iterations(100, 3)).expect("valid problem");
    let mut refused: Vec<(usize, UnservedReason)> = solution
        .unserved
        .iter()
        .map(|entry| (entry.stop, entry.reason))
        .collect();
    refused.sort_by_key(|(stop, _)| *stop);
    assert_eq!(
        refused,
        [3, 4, 5].map(|stop| (stop, UnservedReason::NotAllowed))
    );
    assert!(check(&problem, &solution).is_valid());
    // The checker names a forbidden visit; the problem names unknown ids.
    let mut forbidden = solution.clone();
    forbidden.routes[0].visits[0].stop = 5;
    assert!(
        check(&problem, &forbidden)
            .violations
            .iter()
            .any(|violation| matches!(violation, route::check::Violation::StopNotAllowed { .. }))
    );
    problem.vehicle_types[0].allowed_stops = Some(vec!["s9".into()]);
    assert!(problem.validate().is_err());
}

#[test]
fn pickups_are_carried_back_within_capacity() {
    // Two stops each deliver 10 and collect 10 with capacity 20: fine in one route,
    // whereas pickups that ignored the deliveries still aboard would be wrongly refused
    // or wrongly accepted.
    let coordinates = vec![[0.0, 0.0], [10.0, 0.0], [10.0, 1.0], [11.0, 0.0]];
    let mut stops: Vec<Stop> = (1..=3).map(|location| stop(location, vec![6])).collect();
    for stop in &mut stops {
        stop.pickup = vec![7];
    }
    let problem = Problem {
        name: "pickups".into(),
        dimensions: vec!["load".into()],
        distance_scale: 1,
        distances: Distances::Euclidean {
            coordinates,
            rounding: Rounding::Nearest,
        },
        depots: vec![depot(0, 10_000)],
        stops,
        vehicle_types: vec![vehicle(3, vec![20])],
    };
    let solution = solve(&problem, &iterations(50, 3)).expect("valid problem");
    let report = check(&problem, &solution);
    assert!(report.is_valid(), "{:?}", report.violations);
    // 18 delivered then 21 collected cannot share one vehicle of 20.
    assert!(solution.complete, "{solution:?}");
    assert!(solution.n_vehicles >= 2);
    for recomputed in &report.routes {
        assert!(recomputed.peak_load[0] <= 20);
    }
}

#[test]
fn malformed_vrplib_files_are_refused_naming_the_line() {
    let good = "NAME : t\nTYPE : CVRP\nDIMENSION : 3\nCAPACITY : 10\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\nDEMAND_SECTION\n1 0\n2 5\n3 5\nDEPOT_SECTION\n1\n-1\nEOF\n";
    let instance = route::vrplib::parse(good).expect("well-formed");
    assert_eq!(instance.problem.stops.len(), 2);

    let bad_number = good.replace("2 3 4", "2 3 x");
    let parse_error = route::vrplib::parse(&bad_number).expect_err("malformed");
    assert_eq!(parse_error.line, 8);
    assert!(
        parse_error.to_string().starts_with("line 8:"),
        "{parse_error}"
    );
    assert!(parse_error.message.contains("'x'"), "{parse_error}");

    let missing_field = good.replace("3 6 8", "3 6");
    assert_eq!(
        route::vrplib::parse(&missing_field)
            .expect_err("malformed")
            .line,
        9
    );

    let unknown_node = good.replace("3 5\n", "9 5\n");
    let parse_error = route::vrplib::parse(&unknown_node).expect_err("malformed");
    assert_eq!(parse_error.line, 13);
    assert!(parse_error.message.contains("node 9"), "{parse_error}");

    let bad_sol = "Route #1: 1 2\nRoute #2 3\nCost 12\n";
    assert_eq!(
        route::vrplib::parse_solution(bad_sol)
            .expect_err("malformed")
            .line,
        2
    );
}

#[test]
fn malformed_json_problems_are_refused_with_their_place() {
    let problem = rich_problem(3, 5);
    let text = serde_json::to_string_pretty(&problem).expect("serialisable");
    assert_eq!(
        route::json::parse_problem(&text).expect("round trip"),
        problem
    );

    let broken = text.replacen("\"stops\": [", "\"stops\": [,", 1);
    let message = route::json::parse_problem(&broken)
        .expect_err("syntax error")
        .to_string();
    assert!(message.starts_with("line "), "{message}");

    let mut dangling = problem.clone();
    dangling.stops[3].location = 99;
    let text = serde_json::to_string(&dangling).expect("serialisable");
    let message = route::json::parse_problem(&text)
        .expect_err("invalid")
        .to_string();
    assert!(
        message.contains("stops[3]") && message.contains("location 99"),
        "{message}"
    );
}

#[test]
fn solomon_convention_reproduces_a_best_known_cost() {
    // A cut-down Solomon file: distances truncated to tenths per arc.
    let text = "NAME : mini\nTYPE : CVRPTW\nDIMENSION : 4\nVEHICLES : 2\nCAPACITY : 10\nSERVICE_TIME : 10\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 3\n4 5 5\nDEMAND_SECTION\n1 0\n2 3\n3 3\n4 3\nTIME_WINDOW_SECTION\n1 0 1000\n2 0 1000\n3 0 1000\n4 0 1000\nDEPOT_SECTION\n1\n-1\nEOF\n";
    let instance = route::vrplib::parse(text).expect("well-formed");
    let best = route::vrplib::parse_solution("Route #1: 1 2 3\nCost 14.9\n").expect("well-formed");
    // Arcs: 1.414→1.4, 2.236→2.2, 3.605→3.6, 7.071→7.0: total 14.2.
    let distance = route::bench::best_known_distance(&instance, &best).expect("known customers");
    assert_eq!(distance, 14 + 22 + 36 + 70);
    let solution = solve(&instance.problem, &iterations(50, 1)).expect("valid");
    assert_eq!(solution.distance, 142);
    assert!((instance.reported(solution.distance) - 14.2).abs() < 1e-9);
}

/// Depth-first enumeration of every feasible route, keeping the shortest per customer set.
struct RouteEnumeration<'a> {
    problem: &'a Problem,
    matrix: &'a route::distance::Matrix,
    capacity: i64,
    depot_close: i64,
    best_route: Vec<i64>,
}

impl RouteEnumeration<'_> {
    fn extend(&mut self, mask: usize, last: usize, clock: i64, load: i64, distance: i64) {
        for next in 0..self.problem.stops.len() {
            if mask & (1 << next) != 0 {
                continue;
            }
            let stop = &self.problem.stops[next];
            let load = load + stop.delivery[0];
            if load > self.capacity {
                continue;
            }
            let arrival = clock + self.matrix.get(last, stop.location);
            let [earliest, latest] = stop.time_window.unwrap_or([0, i64::MAX]);
            let start = arrival.max(earliest);
            if start > latest {
                continue;
            }
            let clock = start + stop.service;
            let distance = distance + self.matrix.get(last, stop.location);
            let mask = mask | (1 << next);
            if clock + self.matrix.get(stop.location, 0) <= self.depot_close {
                let total = distance + self.matrix.get(stop.location, 0);
                self.best_route[mask] = self.best_route[mask].min(total);
            }
            self.extend(mask, stop.location, clock, load, distance);
        }
    }
}

#[test]
fn a_problem_without_stops_gives_an_empty_plan() {
    let mut problem = tiny_problem(1, 4);
    problem.stops.clear();
    let solution = solve(&problem, &iterations(10, 1)).expect("valid problem");
    assert!(solution.routes.is_empty() && solution.complete);
    assert!(check(&problem, &solution).is_valid());
}

#[test]
fn either_format_is_recognised() {
    let problem = tiny_problem(5, 5);
    let json = serde_json::to_string(&problem).expect("serialisable");
    let (read, convention) = route::read_problem(&json).expect("json");
    assert_eq!(read, problem);
    assert!(convention.is_none());
    let vrplib = "NAME : t\nTYPE : CVRP\nDIMENSION : 2\nCAPACITY : 10\nNODE_COORD_SECTION\n1 0 0\n2 3 4\nDEMAND_SECTION\n1 0\n2 5\nDEPOT_SECTION\n1\n-1\n";
    let (read, convention) = route::read_problem(vrplib).expect("vrplib");
    assert_eq!(read.stops.len(), 1);
    assert_eq!(convention, Some(route::vrplib::Convention::RoundedIntegers));
    let refused = route::read_problem("NAME : t\nDIMENSION : two\n").expect_err("malformed");
    assert_eq!(
        refused.to_string(),
        "VRPLIB file: line 2: DIMENSION 'two' is not a non-negative integer"
    );
}

#[test]
fn the_documented_example_problem_solves_feasibly() {
    let text = include_str!("../examples/data/county.json");
    let problem = route::json::parse_problem(text).expect("the example is valid");
    let solution = solve(&problem, &iterations(100, 1)).expect("valid problem");
    let report = check(&problem, &solution);
    assert!(report.is_valid(), "{:?}", report.violations);
    assert!(solution.complete, "every station is required and reachable");
    let document = route::json::document(&problem, &solution);
    assert!(document.feasible);
    assert_eq!(document.routes.len(), solution.n_vehicles);
}

#[test]
fn a_fleet_too_small_serves_what_fits_and_lists_the_rest() {
    let mut problem = tiny_problem(11, 7);
    for stop in &mut problem.stops {
        stop.time_window = None;
        stop.delivery = vec![10];
    }
    problem.vehicle_types[0].count = 1;
    problem.vehicle_types[0].capacity = vec![30];
    let solution = solve(&problem, &iterations(40, 2)).expect("valid problem");
    let report = check(&problem, &solution);
    assert!(report.is_valid(), "{:?}", report.violations);
    assert_eq!(solution.routes.len(), 1);
    assert_eq!(solution.routes[0].visits.len(), 3);
    assert_eq!(solution.unserved.len(), 4);
    assert!(
        solution
            .unserved
            .iter()
            .all(|entry| entry.reason == UnservedReason::FleetExhausted)
    );
    assert!(!solution.complete);
}

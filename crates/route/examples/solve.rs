//! Solves one VRPLIB or JSON problem file and prints the solution document and any
//! violations the checker finds: a stand-in for `yizhan route solve` during development.
//!
//! cargo run --release -p route --example solve -- FILE [TIME_LIMIT_MS] [SEED]

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: solve FILE [TIME_LIMIT_MS] [SEED]");
        std::process::exit(2);
    };
    let time_limit_ms: u64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(1000);
    let seed: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1);
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    let problem = if path.ends_with(".json") {
        route::json::parse_problem(&text).map_err(|e| e.to_string())
    } else {
        route::vrplib::parse(&text)
            .map(|instance| instance.problem)
            .map_err(|e| e.to_string())
    }
    .unwrap_or_else(|message| {
        eprintln!("{path}: {message}");
        std::process::exit(2)
    });
    let started = Instant::now();
    let progress = |progress: &route::Progress| {
        eprintln!(
            "{:>6} ms  iteration {:>6}  vehicles {:>3}  cost {}",
            started.elapsed().as_millis(),
            progress.iterations,
            progress.n_vehicles,
            progress.cost
        );
    };
    let options = route::SolveOptions {
        seed,
        deadline: Some(started + Duration::from_millis(time_limit_ms)),
        progress: Some(&progress),
        ..Default::default()
    };
    let solution = route::solve(&problem, &options).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    let report = route::check::check(&problem, &solution);
    for violation in &report.violations {
        eprintln!("violation: {violation:?}");
    }
    println!("{}", route::json::solution_to_string(&problem, &solution));
}

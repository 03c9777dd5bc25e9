//! The benchmark behind `yizhan bench route`: solves parsed instances at given budgets
//! and prints vehicles, distance and gap to the best-known solution, with means.
//!
//! It takes already-parsed instances and a clock, so that it stays free of IO; the
//! caller reads the files.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::distance::distance_matrix;
use crate::vrplib::{Instance, SolutionFile};
use crate::{SolveOptions, check, solve};

pub struct BenchInstance {
    pub instance: Instance,
    pub best_known: Option<SolutionFile>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BenchRow {
    pub name: String,
    pub budget_ms: u64,
    pub n_vehicles: usize,
    pub distance: f64,
    pub best_known: Option<f64>,
    pub gap_percent: Option<f64>,
    pub feasible: bool,
    pub iterations: u64,
}

/// Distance of a best-known solution under the instance's convention, in integer units;
/// agreeing with the stated cost shows the convention is reproduced exactly.
pub fn best_known_distance(instance: &Instance, best_known: &SolutionFile) -> Option<i64> {
    let problem = &instance.problem;
    let matrix = distance_matrix(problem);
    let depot = problem.depots[0].location;
    let mut total = 0;
    for route in &best_known.routes {
        let mut previous = depot;
        for customer in route {
            let location = problem.stops[instance.stop_of_solution_customer(*customer)?].location;
            total += matrix.get(previous, location);
            previous = location;
        }
        total += matrix.get(previous, depot);
    }
    Some(total)
}

/// Solves every instance at every budget on `threads` threads and writes a table.
pub fn run(
    instances: &[BenchInstance],
    budgets_ms: &[u64],
    seed: u64,
    threads: usize,
    now: &dyn Fn() -> Instant,
    out: &mut dyn Write,
) -> std::io::Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for &budget_ms in budgets_ms {
        writeln!(
            out,
            "\nbudget {budget_ms} ms, {threads} thread(s), seed {seed}\n"
        )?;
        writeln!(
            out,
            "| instance | vehicles | distance | best known | gap % | feasible | iterations |"
        )?;
        writeln!(out, "| --- | ---: | ---: | ---: | ---: | --- | ---: |")?;
        let mut budget_rows = Vec::new();
        for bench_instance in instances {
            let instance = &bench_instance.instance;
            let options = SolveOptions {
                seed,
                deadline: Some(now() + Duration::from_millis(budget_ms)),
                threads,
                ..SolveOptions::default()
            };
            let row = match solve(&instance.problem, &options) {
                Ok(solution) => {
                    let report = check::check(&instance.problem, &solution);
                    let distance = instance.reported(report.distance);
                    let best_known = bench_instance.best_known.as_ref().map(|sol| sol.cost);
                    BenchRow {
                        name: instance.name.clone(),
                        budget_ms,
                        n_vehicles: solution.n_vehicles,
                        distance,
                        best_known,
                        gap_percent: best_known.map(|best| 100.0 * (distance - best) / best),
                        feasible: report.is_valid() && solution.complete,
                        iterations: solution.iterations,
                    }
                }
                Err(problem_error) => {
                    writeln!(out, "| {} | refused: {problem_error} |", instance.name)?;
                    continue;
                }
            };
            writeln!(
                out,
                "| {} | {} | {:.1} | {} | {} | {} | {} |",
                row.name,
                row.n_vehicles,
                row.distance,
                row.best_known
                    .map_or("-".into(), |best| format!("{best:.1}")),
                row.gap_percent
                    .map_or("-".into(), |gap| format!("{gap:.2}")),
                if row.feasible { "yes" } else { "NO" },
                row.iterations,
            )?;
            out.flush()?;
            budget_rows.push(row);
        }
        write_summary(&budget_rows, out)?;
        rows.extend(budget_rows);
    }
    Ok(rows)
}

/// Means per instance family (name up to its digits) and overall.
pub fn write_summary(rows: &[BenchRow], out: &mut dyn Write) -> std::io::Result<()> {
    let family = |name: &str| -> String {
        let head: String = name.chars().take_while(|c| !c.is_ascii_digit()).collect();
        let digit = name.chars().find(|c| c.is_ascii_digit());
        match (head.as_str(), digit) {
            ("X-n", _) | (_, None) => head,
            (_, Some(digit)) => format!("{head}{digit}"),
        }
    };
    let mut families: Vec<String> = rows.iter().map(|row| family(&row.name)).collect();
    families.dedup();
    families.push("all".into());
    writeln!(
        out,
        "\n| family | instances | feasible | mean vehicles | mean gap % |"
    )?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: |")?;
    for name in families {
        let members: Vec<&BenchRow> = rows
            .iter()
            .filter(|row| name == "all" || family(&row.name) == name)
            .collect();
        if members.is_empty() {
            continue;
        }
        let n = members.len() as f64;
        let gaps: Vec<f64> = members.iter().filter_map(|row| row.gap_percent).collect();
        writeln!(
            out,
            "| {name} | {} | {} | {:.2} | {} |",
            members.len(),
            members.iter().filter(|row| row.feasible).count(),
            members.iter().map(|row| row.n_vehicles as f64).sum::<f64>() / n,
            if gaps.is_empty() {
                "-".into()
            } else {
                format!("{:.2}", gaps.iter().sum::<f64>() / gaps.len() as f64)
            },
        )?;
    }
    Ok(())
}

//! Runs the sorting-hub benchmark: `cargo run --release -p sort --example sort_bench -- [BUDGET]`.

use std::time::Instant;

fn main() -> std::io::Result<()> {
    let mut config = sort::bench::BenchConfig::default();
    if let Some(budget) = std::env::args().nth(1) {
        config.budget = budget.parse().expect("BUDGET is a number of simulations");
    }
    let origin = Instant::now();
    let clock_s = move || origin.elapsed().as_secs_f64();
    sort::bench::run(&mut std::io::stdout().lock(), &config, &clock_s)?;
    Ok(())
}

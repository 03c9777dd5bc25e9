//! The sorting-hub benchmark behind `yizhan bench sort`: generated hubs at several loads and
//! seeds, each planned three ways and simulated, and the simulator's speed.

use std::io::Write;

use serde::Serialize;

use crate::{GeneratorParams, Options, baseline, generate, optimise, simulate};

#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Offered load as shares of nameplate.
    pub loads: Vec<f64>,
    pub seeds: Vec<u64>,
    /// Simulations the optimiser may run per hub.
    pub budget: u32,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            loads: vec![0.70, 0.85, 1.00],
            seeds: vec![1, 2, 3, 4, 5],
            budget: Options::default().budget,
        }
    }
}

/// Mean indicators of one plan at one load over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanMeans {
    pub load: f64,
    pub plan: String,
    pub half_loop_drop_rate: f64,
    pub recirculation_rate: f64,
    pub force_eject_rate: f64,
    /// Share of items dropped into multi-destination chutes (to be sorted again by hand).
    pub multi_destination_share: f64,
    pub throughput_per_hour: f64,
    pub offered_per_hour: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchSummary {
    pub means: Vec<PlanMeans>,
    pub items_simulated: u64,
    pub simulate_s: f64,
    pub items_per_s: f64,
    pub optimise_s_mean: f64,
}

/// Runs the benchmark, printing one line per hub and plan, then means per load and the
/// simulator's speed. `clock_s` returns seconds from any fixed origin; only differences count.
pub fn run(
    out: &mut dyn Write,
    config: &BenchConfig,
    clock_s: &dyn Fn() -> f64,
) -> std::io::Result<BenchSummary> {
    let mut means = Vec::new();
    let mut items_simulated = 0u64;
    let mut simulate_s = 0.0;
    let mut optimise_s = 0.0;
    let mut n_optimised = 0;
    writeln!(
        out,
        "load  seed  plan                    half-loop  static  recirc   eject    shared  throughput/h  offered/h  items"
    )?;
    for &load in &config.loads {
        let mut sums: Vec<(String, [f64; 6])> = Vec::new();
        for &seed in &config.seeds {
            let hub = generate(
                &GeneratorParams {
                    load,
                    ..GeneratorParams::default()
                },
                seed,
            );
            let options = Options {
                seed,
                budget: config.budget,
                ..Options::default()
            };
            let started = clock_s();
            let ours = optimise(&hub, &options);
            optimise_s += clock_s() - started;
            n_optimised += 1;
            // Our plan again, sharing chutes only where the hub has too few: how much of the
            // gain is placement alone.
            let mut unshared = optimise(
                &hub,
                &Options {
                    shared_chute_penalty: 1e9,
                    ..options
                },
            );
            unshared.name = "ours, no extra sharing".into();
            let plans = [
                baseline::code_order(&hub),
                baseline::greedy(&hub),
                ours,
                unshared,
            ];
            for (plan_idx, plan) in plans.iter().enumerate() {
                let started = clock_s();
                let indicators = simulate(&hub, plan, seed);
                simulate_s += clock_s() - started;
                items_simulated += indicators.items_offered;
                writeln!(
                    out,
                    "{:>3.0}%  {seed:>4}  {:<22}  {:>8.1}%  {:>5.1}%  {:>6.2}%  {:>6.3}%  {:>5.1}%  {:>12.0}  {:>9.0}  {}",
                    load * 100.0,
                    plan.name,
                    indicators.half_loop_drop_rate * 100.0,
                    plan.static_half_loop_rate(&hub) * 100.0,
                    indicators.recirculation_rate * 100.0,
                    indicators.force_eject_rate * 100.0,
                    indicators.multi_destination_share * 100.0,
                    indicators.throughput_per_hour,
                    indicators.offered_per_hour,
                    indicators.items_offered,
                )?;
                if sums.len() <= plan_idx {
                    sums.push((plan.name.clone(), [0.0; 6]));
                }
                let sum = &mut sums[plan_idx].1;
                sum[0] += indicators.half_loop_drop_rate;
                sum[1] += indicators.recirculation_rate;
                sum[2] += indicators.force_eject_rate;
                sum[3] += indicators.throughput_per_hour;
                sum[4] += indicators.offered_per_hour;
                sum[5] += indicators.multi_destination_share;
            }
        }
        let n = config.seeds.len().max(1) as f64;
        for (plan, sum) in sums {
            means.push(PlanMeans {
                load,
                plan,
                half_loop_drop_rate: sum[0] / n,
                recirculation_rate: sum[1] / n,
                force_eject_rate: sum[2] / n,
                multi_destination_share: sum[5] / n,
                throughput_per_hour: sum[3] / n,
                offered_per_hour: sum[4] / n,
            });
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "| load | plan | half-loop drop rate | recirculation | force-eject | in shared chutes | throughput/h | offered/h |"
    )?;
    writeln!(out, "| --- | --- | --- | --- | --- | --- | --- | --- |")?;
    for m in &means {
        writeln!(
            out,
            "| {:.0}% | {} | {:.1}% | {:.2}% | {:.3}% | {:.1}% | {:.0} | {:.0} |",
            m.load * 100.0,
            m.plan,
            m.half_loop_drop_rate * 100.0,
            m.recirculation_rate * 100.0,
            m.force_eject_rate * 100.0,
            m.multi_destination_share * 100.0,
            m.throughput_per_hour,
            m.offered_per_hour
        )?;
    }
    let items_per_s = items_simulated as f64 / simulate_s.max(1e-9);
    let optimise_s_mean = optimise_s / n_optimised.max(1) as f64;
    writeln!(out)?;
    writeln!(
        out,
        "simulator: {items_simulated} items in {simulate_s:.3} s = {:.2} million items/s on one core",
        items_per_s / 1e6
    )?;
    writeln!(
        out,
        "optimiser: {optimise_s_mean:.3} s a hub on average (budget {} simulations)",
        config.budget
    )?;
    Ok(BenchSummary {
        means,
        items_simulated,
        simulate_s,
        items_per_s,
        optimise_s_mean,
    })
}

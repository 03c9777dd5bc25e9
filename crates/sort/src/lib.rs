//! Sorting hub planning: a loop-sorter model, a seeded discrete-event simulator, a sort-plan
//! optimiser with two baselines, equipment allocation, an instance generator and an HTML report.
//!
//! The crate is pure: no files, network, clock or unseeded randomness. Seeds and budgets are
//! passed in; the benchmark takes a clock from its caller.
//!
//! The calls a command line needs:
//!
//! - [`layout::parse`] (or [`layout::parse_json`], [`layout::parse_toml`]) reads a layout into a
//!   validated [`Hub`]; the format is in `FORMAT.md` beside this crate's `Cargo.toml`.
//! - [`generate()`] makes a hub from published figures; [`layout::to_json`] and
//!   [`layout::to_toml`] write its [`Hub::layout`] out.
//! - [`evaluate`] optimises, builds both baselines, simulates all three and allocates
//!   equipment; the [`Evaluation`] serialises for `--json`, and [`report::html`] renders it
//!   for `--html`.
//! - Separately: [`optimise()`], [`baseline::code_order`], [`baseline::greedy`], [`simulate`],
//!   [`allocate`].
//! - [`bench::run`] is `yizhan bench sort`.
//!
//! ```
//! let hub = sort::generate(&sort::GeneratorParams::default(), 7);
//! let evaluation = sort::evaluate(&hub, &sort::Options { budget: 2, ..Default::default() }, 1);
//! assert!(evaluation.ours.indicators.items_sorted > 0);
//! let page = sort::report::html(&hub, &evaluation);
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! ```

pub mod baseline;
pub mod bench;
pub mod equipment;
pub mod generate;
pub mod hub_kpi;
pub mod hub_log;
pub mod layout;
pub mod optimise;
pub mod plan;
pub mod report;
pub mod sim;

use serde::Serialize;

pub use equipment::{Allocation, AllocationError, allocate};
pub use generate::{GeneratorParams, generate, generate_layout};
pub use layout::{Hub, Layout, LayoutError};
pub use optimise::{Options, optimise};
pub use plan::{ChuteAssignment, Plan};
pub use sim::{Indicators, ItemTrace, SimOptions, simulate, simulate_traced, simulate_with};

/// One plan and what the simulator made of it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanResult {
    pub name: String,
    /// The static half-loop rate: what the plan would reach if no chute ever refused an item.
    pub static_half_loop_rate: f64,
    pub assignments: Vec<ChuteAssignment>,
    pub indicators: Indicators,
    #[serde(skip)]
    pub plan: Plan,
}

/// Our plan against the two baselines, all simulated with the same seed, and the equipment
/// allocation: everything `yizhan sort-plan` prints or draws.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub hub: String,
    pub seed: u64,
    pub ours: PlanResult,
    pub code_order: PlanResult,
    pub greedy: PlanResult,
    pub allocation: Option<Allocation>,
    /// Why there is no allocation, when the solver failed; the chute plans stand regardless.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_error: Option<String>,
}

/// Simulates a plan and packages it with its assignments.
pub fn evaluate_plan(hub: &Hub, plan: Plan, seed: u64) -> PlanResult {
    let indicators = simulate(hub, &plan, seed);
    PlanResult {
        name: plan.name.clone(),
        static_half_loop_rate: plan.static_half_loop_rate(hub),
        assignments: plan.assignments(hub),
        indicators,
        plan,
    }
}

/// Optimises, builds both baselines, simulates all three with `seed` and allocates equipment.
/// The optimiser's own simulations use a seed derived from `options.seed`, so the comparison is
/// not on the very items it tuned against even when both seeds are the same.
pub fn evaluate(hub: &Hub, options: &Options, seed: u64) -> Evaluation {
    let ours = optimise(hub, options);
    let (allocation, allocation_error) = match allocate(hub) {
        Ok(allocation) => (Some(allocation), None),
        Err(error) => (None, Some(error.to_string())),
    };
    Evaluation {
        hub: hub.layout().name.clone(),
        seed,
        ours: evaluate_plan(hub, ours, seed),
        code_order: evaluate_plan(hub, baseline::code_order(hub), seed),
        greedy: evaluate_plan(hub, baseline::greedy(hub), seed),
        allocation,
        allocation_error,
    }
}

//! Equipment allocation: which machines take which item classes, as two small linear
//! programmes solved exactly by `good_lp` with its pure-Rust `microlp` simplex solver.
//!
//! A commodity is an item class bound for a set of destinations that the same machines reach
//! (destinations are grouped by the set of machines covering them, so the programme stays
//! small whatever the number of destinations). A commodity may go only to machines whose
//! envelope holds the class (weight and the three sides, sorted, so an item may be turned) and
//! which reach its destinations.
//!
//! 1. Maximise the items an hour served, within each machine's capacity.
//! 2. Keeping that many served, minimise the largest utilisation `t` over the machines
//!    (`load_j <= t * capacity_j`, `t <= 1`): the balanced allocation.
//! 3. Keeping both, minimise the flow weighted by each machine's envelope volume: many
//!    allocations are equally balanced, and of those this keeps items on the smallest machine
//!    that holds them, leaving the large machines' room to the items only they can take (else
//!    small parcels could be sent to manual sorting while it has room).
//!
//! Flows are for the busiest wave, the hour that decides whether the machines cope.

use std::collections::BTreeMap;

use good_lp::{Expression, ProblemVariables, Solution, SolverModel, Variable, microlp, variable};
use serde::Serialize;

use crate::layout::{Hub, ItemClass, Machine};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub class: String,
    pub machine: String,
    pub items_per_hour: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MachineLoad {
    pub machine: String,
    pub load_per_hour: f64,
    pub capacity_per_hour: f64,
    pub utilisation: f64,
}

/// Items of a class that no machine could take, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unserved {
    pub class: String,
    pub items_per_hour: f64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allocation {
    /// The wave the flows are for.
    pub wave: String,
    pub flows: Vec<Flow>,
    pub machines: Vec<MachineLoad>,
    /// Degraded results are data: what could not be placed is listed, not hidden.
    pub unserved: Vec<Unserved>,
    pub utilisation_max: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AllocationError {
    #[error("the linear programme solver failed: {0}")]
    Solver(String),
}

/// Whether a machine's envelope holds every item of a class.
pub fn fits(class: &ItemClass, machine: &Machine) -> bool {
    let mut item = [class.length_mm_max, class.width_mm_max, class.height_mm_max];
    let mut envelope = [
        machine.length_mm_max,
        machine.width_mm_max,
        machine.height_mm_max,
    ];
    item.sort_by(|a, b| b.total_cmp(a));
    envelope.sort_by(|a, b| b.total_cmp(a));
    class.weight_kg_max <= machine.weight_kg_max && item.iter().zip(&envelope).all(|(i, e)| i <= e)
}

struct Commodity {
    class_idx: usize,
    items_per_hour: f64,
    machines: Vec<usize>,
}

/// Allocates the busiest wave's items to machines; see the module documentation.
pub fn allocate(hub: &Hub) -> Result<Allocation, AllocationError> {
    let layout = hub.layout();
    let (wave_idx, wave) = layout
        .waves
        .iter()
        .enumerate()
        .max_by(|a, b| {
            let rate = |(w, wave): &(usize, &crate::layout::Wave)| {
                layout
                    .destinations
                    .iter()
                    .map(|d| d.volumes[*w])
                    .sum::<u64>() as f64
                    / wave.duration_s
            };
            rate(a).total_cmp(&rate(b)).then(b.0.cmp(&a.0))
        })
        .expect("a hub has waves");
    let mut allocation = Allocation {
        wave: wave.name.clone(),
        flows: Vec::new(),
        machines: layout
            .machines
            .iter()
            .map(|m| MachineLoad {
                machine: m.name.clone(),
                load_per_hour: 0.0,
                capacity_per_hour: m.capacity_per_hour,
                utilisation: 0.0,
            })
            .collect(),
        unserved: Vec::new(),
        utilisation_max: 0.0,
    };
    if layout.item_classes.is_empty() {
        return Ok(allocation);
    }

    // Destinations grouped by the machines that reach them.
    let mut rate_by_reach: BTreeMap<Vec<usize>, f64> = BTreeMap::new();
    for destination in &layout.destinations {
        let reach: Vec<usize> = layout
            .machines
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                m.destinations
                    .as_ref()
                    .is_none_or(|codes| codes.contains(&destination.code))
            })
            .map(|(j, _)| j)
            .collect();
        *rate_by_reach.entry(reach).or_default() +=
            destination.volumes[wave_idx] as f64 * 3600.0 / wave.duration_s;
    }
    let mut commodities = Vec::new();
    let mut unplaceable: BTreeMap<usize, f64> = BTreeMap::new();
    for (class_idx, class) in layout.item_classes.iter().enumerate() {
        for (reach, &rate) in &rate_by_reach {
            let machines: Vec<usize> = reach
                .iter()
                .copied()
                .filter(|&j| fits(class, &layout.machines[j]))
                .collect();
            let items_per_hour = rate * class.share;
            if machines.is_empty() {
                *unplaceable.entry(class_idx).or_default() += items_per_hour;
            } else if items_per_hour > 0.0 {
                commodities.push(Commodity {
                    class_idx,
                    items_per_hour,
                    machines,
                });
            }
        }
    }
    for (&class_idx, &items_per_hour) in &unplaceable {
        allocation.unserved.push(Unserved {
            class: layout.item_classes[class_idx].name.clone(),
            items_per_hour,
            reason: "no machine reaching these destinations holds items of this class".into(),
        });
    }
    if commodities.is_empty() {
        return Ok(allocation);
    }

    let (served, _) = solve(hub, &commodities, Stage::MostServed)?;
    let (_, flows) = solve(hub, &commodities, Stage::Balanced { served })?;
    let utilisation_max = max_utilisation(hub, &commodities, &flows);
    let (_, flows) = solve(
        hub,
        &commodities,
        Stage::Smallest {
            served,
            utilisation_max,
        },
    )?;

    let mut by_class_machine: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let mut served_by_class = vec![0.0; layout.item_classes.len()];
    let mut offered_by_class = vec![0.0; layout.item_classes.len()];
    for (commodity, commodity_flows) in commodities.iter().zip(&flows) {
        offered_by_class[commodity.class_idx] += commodity.items_per_hour;
        for (&machine_idx, &flow) in commodity.machines.iter().zip(commodity_flows) {
            if flow > 1e-9 {
                *by_class_machine
                    .entry((commodity.class_idx, machine_idx))
                    .or_default() += flow;
                served_by_class[commodity.class_idx] += flow;
                allocation.machines[machine_idx].load_per_hour += flow;
            }
        }
    }
    allocation.flows = by_class_machine
        .into_iter()
        .map(|((class_idx, machine_idx), items_per_hour)| Flow {
            class: layout.item_classes[class_idx].name.clone(),
            machine: layout.machines[machine_idx].name.clone(),
            items_per_hour,
        })
        .collect();
    for (class_idx, class) in layout.item_classes.iter().enumerate() {
        let short = offered_by_class[class_idx] - served_by_class[class_idx];
        if short > 1e-6 * offered_by_class[class_idx].max(1.0) {
            allocation.unserved.push(Unserved {
                class: class.name.clone(),
                items_per_hour: short,
                reason: "the machines that hold this class are full".into(),
            });
        }
    }
    for load in &mut allocation.machines {
        load.utilisation = load.load_per_hour / load.capacity_per_hour;
        allocation.utilisation_max = allocation.utilisation_max.max(load.utilisation);
    }
    Ok(allocation)
}

/// The three programmes of the module documentation.
#[derive(Debug, Clone, Copy)]
enum Stage {
    MostServed,
    Balanced { served: f64 },
    Smallest { served: f64, utilisation_max: f64 },
}

fn max_utilisation(hub: &Hub, commodities: &[Commodity], flows: &[Vec<f64>]) -> f64 {
    let machines = &hub.layout().machines;
    let mut loads = vec![0.0; machines.len()];
    for (commodity, commodity_flows) in commodities.iter().zip(flows) {
        for (&machine_idx, &flow) in commodity.machines.iter().zip(commodity_flows) {
            loads[machine_idx] += flow;
        }
    }
    loads
        .iter()
        .zip(machines)
        .map(|(load, machine)| load / machine.capacity_per_hour)
        .fold(0.0, f64::max)
}

/// Solves one stage; returns the items an hour served and the flows, per commodity and
/// machine in the commodity's order.
fn solve(
    hub: &Hub,
    commodities: &[Commodity],
    stage: Stage,
) -> Result<(f64, Vec<Vec<f64>>), AllocationError> {
    let machines = &hub.layout().machines;
    let mut variables = ProblemVariables::new();
    let flow_variables: Vec<Vec<Variable>> = commodities
        .iter()
        .map(|c| {
            c.machines
                .iter()
                .map(|_| variables.add(variable().min(0.0)))
                .collect()
        })
        .collect();
    let utilisation = variables.add(variable().min(0.0).max(1.0));
    let total: Expression = flow_variables.iter().flatten().copied().sum();
    let mut constraints = Vec::new();
    for (commodity, flows) in commodities.iter().zip(&flow_variables) {
        let sum: Expression = flows.iter().copied().sum();
        constraints.push(sum.leq(commodity.items_per_hour));
    }
    // A hair of slack on what earlier stages fixed, so that their rounding cannot make a later
    // stage infeasible.
    let slack = |value: f64| value * (1.0 + 1e-9) + 1e-9;
    for (machine_idx, machine) in machines.iter().enumerate() {
        let mut load = Expression::from(0.0);
        for (commodity, flows) in commodities.iter().zip(&flow_variables) {
            if let Some(position) = commodity.machines.iter().position(|&j| j == machine_idx) {
                load += flows[position];
            }
        }
        constraints.push(match stage {
            Stage::MostServed => load.leq(machine.capacity_per_hour),
            Stage::Balanced { .. } => (load - machine.capacity_per_hour * utilisation).leq(0.0),
            Stage::Smallest {
                utilisation_max, ..
            } => load.leq(machine.capacity_per_hour * slack(utilisation_max).min(1.0)),
        });
    }
    let largest_envelope = machines
        .iter()
        .map(envelope_volume)
        .fold(f64::MIN_POSITIVE, f64::max);
    let problem = match stage {
        Stage::MostServed => variables.maximise(total.clone()).using(microlp),
        Stage::Balanced { served } => {
            constraints.push(total.clone().geq(served / (1.0 + 1e-9) - 1e-9));
            variables.minimise(utilisation).using(microlp)
        }
        Stage::Smallest { served, .. } => {
            constraints.push(total.clone().geq(served / (1.0 + 1e-9) - 1e-9));
            let mut cost = Expression::from(0.0);
            for (commodity, flows) in commodities.iter().zip(&flow_variables) {
                for (&machine_idx, &flow) in commodity.machines.iter().zip(flows) {
                    cost += flow * (envelope_volume(&machines[machine_idx]) / largest_envelope);
                }
            }
            variables.minimise(cost).using(microlp)
        }
    };
    let solution = constraints
        .into_iter()
        .fold(problem, |problem, constraint| problem.with(constraint))
        .solve()
        .map_err(|error| AllocationError::Solver(error.to_string()))?;
    let flows: Vec<Vec<f64>> = flow_variables
        .iter()
        .map(|flows| flows.iter().map(|&v| solution.value(v).max(0.0)).collect())
        .collect();
    let served = flows.iter().flatten().sum();
    Ok((served, flows))
}

fn envelope_volume(machine: &Machine) -> f64 {
    machine.length_mm_max * machine.width_mm_max * machine.height_mm_max
}

//! The two plans the optimiser is measured against, as a hub's engineers would draw them by
//! hand: destinations laid round the loop in code order, and the largest destinations first,
//! each on the chutes nearest the induction stations.
//!
//! Both give a destination chutes in proportion to its busiest hour (at least one, and at
//! least what its rate needs), using every chute, so that the comparison is about where the
//! chutes are rather than how many.

use crate::layout::{Hub, forward_slots};
use crate::optimise::{Group, group_destinations};
use crate::plan::Plan;

/// Destinations in code order, each on consecutive chutes round the loop from its origin.
pub fn code_order(hub: &Hub) -> Plan {
    let groups = proportional_groups(hub);
    let mut order: Vec<&Group> = groups.iter().collect();
    order.sort_by(|a, b| smallest_code(hub, a).cmp(smallest_code(hub, b)));
    let mut chutes: Vec<usize> = hub.assignable_chutes().collect();
    chutes.sort_by_key(|&chute_idx| (hub.chute_slots()[chute_idx], chute_idx));
    let mut plan = Plan::empty(hub, "code order");
    let mut next = 0;
    for group in order {
        for _ in 0..group.n_chutes {
            plan.chute_destinations[chutes[next]] = group.destinations.clone();
            next += 1;
        }
    }
    plan
}

/// The largest destinations first, each taking the free chutes nearest the stations (by mean
/// travel weighted by the stations' rates).
pub fn greedy(hub: &Hub) -> Plan {
    let groups = proportional_groups(hub);
    let mut order: Vec<&Group> = groups.iter().collect();
    order.sort_by(|a, b| b.rate_per_hour.total_cmp(&a.rate_per_hour));
    let mut chutes: Vec<usize> = hub.assignable_chutes().collect();
    let mean_travel: Vec<f64> = (0..hub.layout().chutes.len())
        .map(|chute_idx| mean_travel_slots(hub, chute_idx))
        .collect();
    chutes.sort_by(|&a, &b| mean_travel[a].total_cmp(&mean_travel[b]).then(a.cmp(&b)));
    let mut plan = Plan::empty(hub, "greedy");
    let mut next = 0;
    for group in order {
        for _ in 0..group.n_chutes {
            plan.chute_destinations[chutes[next]] = group.destinations.clone();
            next += 1;
        }
    }
    plan
}

fn smallest_code<'h>(hub: &'h Hub, group: &Group) -> &'h str {
    group
        .destinations
        .iter()
        .map(|&d| hub.layout().destinations[d as usize].code.as_str())
        .min()
        .unwrap_or("")
}

/// Mean distance from the stations to a chute, weighted by the stations' rates.
pub(crate) fn mean_travel_slots(hub: &Hub, chute_idx: usize) -> f64 {
    let layout = hub.layout();
    let chute_slot = hub.chute_slots()[chute_idx];
    let rate_sum: f64 = layout.inductions.iter().map(|i| i.rate_per_hour).sum();
    layout
        .inductions
        .iter()
        .zip(hub.induction_slots())
        .map(|(induction, &slot)| {
            induction.rate_per_hour * forward_slots(slot, chute_slot, hub.n_carriers()) as f64
        })
        .sum::<f64>()
        / rate_sum
}

/// Groups as the optimiser forms them, with chutes shared out in proportion to rate by largest
/// remainder.
fn proportional_groups(hub: &Hub) -> Vec<Group> {
    let mut groups = group_destinations(hub);
    let n_chutes = hub.assignable_chutes().count();
    let n_needed: usize = groups.iter().map(|g| g.n_chutes).sum();
    let rate_sum: f64 = groups
        .iter()
        .map(|g| g.rate_per_hour)
        .sum::<f64>()
        .max(1e-9);
    if n_chutes > n_needed {
        // Shares of the spare chutes beyond each group's need, by largest remainder.
        let spare = (n_chutes - n_needed) as f64;
        let mut remainders = Vec::with_capacity(groups.len());
        let mut given = 0;
        for (group_idx, group) in groups.iter_mut().enumerate() {
            let ideal =
                (n_chutes as f64 * group.rate_per_hour / rate_sum - group.n_chutes as f64).max(0.0);
            let share = ideal.min(spare);
            group.n_chutes += share.floor() as usize;
            given += share.floor() as usize;
            remainders.push((share - share.floor(), group_idx));
        }
        remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut left = (n_chutes - n_needed).saturating_sub(given);
        let mut cursor = 0;
        while left > 0 && !remainders.is_empty() {
            groups[remainders[cursor % remainders.len()].1].n_chutes += 1;
            cursor += 1;
            left -= 1;
        }
        // Floors of the ideal shares can overshoot when some groups needed more than their
        // share; trim the largest groups back.
        while groups.iter().map(|g| g.n_chutes).sum::<usize>() > n_chutes {
            let largest = (0..groups.len())
                .max_by_key(|&g| groups[g].n_chutes)
                .expect("groups are not empty");
            groups[largest].n_chutes -= 1;
        }
    }
    groups
}

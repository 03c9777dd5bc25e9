//! The sort-plan optimiser: chute assignment that maximises the half-loop drop rate under chute
//! capacity.
//!
//! An item reaches its chute within half a loop when one of its destination's chutes lies
//! within half a loop downstream of its station. For each chute that is a set of stations,
//! kept as a bit mask; a destination covers the stations in the union of its chutes' masks, so
//! a destination's half-loop share is the rate of the stations it covers. With stations in
//! several places round the loop, no single chute covers them all, and the plan's main lever
//! is to give busy destinations extra chutes in different places.
//!
//! 1. Destinations too small to deserve a chute of their own share one (multi-destination
//!    chutes), smallest first, until every group fits; each group needs enough chutes for its
//!    busiest hour at the target utilisation. Beyond that, more of the smallest are merged when
//!    the chutes freed raise the half-loop rate by more than the re-sorting of their items
//!    costs (`Options::shared_chute_penalty`); steps 1 and 2 are repeated to choose how many.
//! 2. Construction: groups from the busiest down take the chute that covers most of their
//!    rate; then every remaining chute goes, one at a time, to the group and place of largest
//!    marginal value, in items an hour: rate newly covered within half a loop; plus items kept
//!    within half a loop when a chute is closed for a bag swap, because another chute of the
//!    group follows in the same stretch; plus recirculations avoided (an item recirculates only
//!    when all its chutes are closed). Bag swaps close a chute for a share of time that grows
//!    with its rate. Within the chosen coverage pattern the chute with the least busy
//!    neighbourhood is taken, which spreads the busiest destinations along the loop.
//! 3. Simulator in the loop: the plan is simulated and the group whose chutes refuse most
//!    items takes a chute from the group that loses least by giving one up; the move is kept
//!    when the simulated score (half-loop rate less recirculation, force-ejects, items left
//!    unsorted and the shared-chute penalty) improves. The budget is the number of
//!    simulations.
//!
//! Every step keeps each destination on at least one chute, and no chute but the exception
//! chute is left out.

use std::collections::BTreeMap;

use crate::layout::{Hub, forward_slots};
use crate::plan::Plan;
use crate::sim::simulate;

/// What the optimiser may spend and aim for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Seed of the simulations run inside the optimiser.
    pub seed: u64,
    /// Simulations the improvement phase may run; 0 keeps the constructed plan.
    pub budget: u32,
    /// Share of a chute's slide capacity a destination's busiest hour may fill.
    pub utilisation_target: f64,
    /// What an item dropped into a multi-destination chute costs, in half-loop drops: it has
    /// to be sorted again by hand. 0 would share chutes freely; 1 would count a re-sort as a
    /// whole lost half-loop drop.
    pub shared_chute_penalty: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            budget: 12,
            utilisation_target: 0.75,
            shared_chute_penalty: 0.5,
        }
    }
}

/// Destinations that share chutes, and how many chutes they need at least.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub destinations: Vec<u32>,
    pub rate_per_hour: f64,
    pub n_chutes: usize,
}

/// Forms the groups: each destination alone, then the two smallest groups merged while that
/// saves a chute the hub lacks; if busy destinations still need more chutes than there are,
/// the busiest get fewer. Every destination ends in exactly one group, and there are never more
/// groups than chutes.
pub(crate) fn group_destinations(hub: &Hub) -> Vec<Group> {
    group_destinations_at(hub, Options::default().utilisation_target, 0)
}

/// As [`group_destinations`], then `extra_merges` more merges of the two smallest groups, as
/// long as the merged group still needs only one chute: each frees a chute for a busier
/// destination.
fn group_destinations_at(hub: &Hub, utilisation_target: f64, extra_merges: usize) -> Vec<Group> {
    let rates = hub.peak_rates_per_hour();
    let n_chutes = hub.assignable_chutes().count();
    let chute_capacity = mean_chute_capacity(hub) * utilisation_target;
    let needed = |rate: f64| ((rate / chute_capacity).ceil() as usize).max(1);
    let mut groups: Vec<Group> = rates
        .iter()
        .enumerate()
        .map(|(d, &rate)| Group {
            destinations: vec![d as u32],
            rate_per_hour: rate,
            n_chutes: needed(rate),
        })
        .collect();
    // Smallest first, so merging takes from the front; a merged group goes back in order.
    groups.sort_by(|a, b| {
        a.rate_per_hour
            .total_cmp(&b.rate_per_hour)
            .then(a.destinations.cmp(&b.destinations))
    });
    let mut n_needed: usize = groups.iter().map(|g| g.n_chutes).sum();
    // Merge the two smallest while that saves a chute and chutes are short, and regardless
    // while there are more groups than chutes. Merging busy destinations would save nothing,
    // so a hub short of chutes for its busy ones gives them fewer (below).
    while groups.len() > 1 && n_needed > n_chutes {
        let merged_need = needed(groups[0].rate_per_hour + groups[1].rate_per_hour);
        let saves = merged_need < groups[0].n_chutes + groups[1].n_chutes;
        if !saves && groups.len() <= n_chutes {
            break;
        }
        let second = groups.remove(1);
        let first = groups.remove(0);
        n_needed -= first.n_chutes + second.n_chutes;
        let mut destinations = first.destinations;
        destinations.extend(second.destinations);
        let rate = first.rate_per_hour + second.rate_per_hour;
        let merged = Group {
            destinations,
            rate_per_hour: rate,
            n_chutes: needed(rate),
        };
        n_needed += merged.n_chutes;
        let at = groups.partition_point(|g| g.rate_per_hour <= rate);
        groups.insert(at, merged);
    }
    for _ in 0..extra_merges {
        if groups.len() < 2 || needed(groups[0].rate_per_hour + groups[1].rate_per_hour) > 1 {
            break;
        }
        let second = groups.remove(1);
        let mut merged = groups.remove(0);
        merged.destinations.extend(second.destinations);
        merged.rate_per_hour += second.rate_per_hour;
        n_needed -= 1;
        let at = groups.partition_point(|g| g.rate_per_hour <= merged.rate_per_hour);
        groups.insert(at, merged);
    }
    // A hub with too few chutes for its flow: every group keeps one chute, and a chute is
    // taken from the group that would be least loaded per chute without it.
    while n_needed > n_chutes {
        let Some(least_hurt) = (0..groups.len())
            .filter(|&g| groups[g].n_chutes > 1)
            .min_by(|&a, &b| {
                let load_without =
                    |g: usize| groups[g].rate_per_hour / (groups[g].n_chutes - 1) as f64;
                load_without(a).total_cmp(&load_without(b)).then(a.cmp(&b))
            })
        else {
            break;
        };
        groups[least_hurt].n_chutes -= 1;
        n_needed -= 1;
    }
    groups
}

fn mean_chute_capacity(hub: &Hub) -> f64 {
    let chutes = &hub.layout().chutes;
    let n = hub.assignable_chutes().count().max(1) as f64;
    hub.assignable_chutes()
        .map(|c| chutes[c].capacity_per_hour)
        .sum::<f64>()
        / n
}

/// Which stations have a chute within half a loop downstream, one bit a station; stations
/// past the 64th are folded onto earlier bits, which only blurs the construction heuristic.
fn half_loop_masks(hub: &Hub) -> Vec<u64> {
    let n_carriers = hub.n_carriers();
    hub.chute_slots()
        .iter()
        .map(|&chute_slot| {
            hub.induction_slots()
                .iter()
                .enumerate()
                .filter(|&(_, &slot)| 2 * forward_slots(slot, chute_slot, n_carriers) <= n_carriers)
                .fold(0u64, |mask, (i, _)| mask | (1 << (i % 64)))
        })
        .collect()
}

struct Construction<'h> {
    hub: &'h Hub,
    groups: Vec<Group>,
    masks: Vec<u64>,
    station_shares: Vec<f64>,
    group_masks: Vec<u64>,
    group_chutes: Vec<Vec<usize>>,
    /// Rate dropped at each slot by the chutes assigned so far.
    slot_rate: Vec<f64>,
    /// Expected recirculations an hour per item an hour on a chute: bag swaps close the chute
    /// for `swap_s` every `bag_items` items.
    closure_per_item: Vec<f64>,
}

impl Construction<'_> {
    fn covered_share(&self, mask: u64) -> f64 {
        let mut share = 0.0;
        let mut bits = mask;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            share += self.station_shares[i];
            bits &= bits - 1;
        }
        share
    }

    /// Recirculations an hour of a group spread evenly over `n` chutes. Each chute is closed
    /// for bag swaps a share rate/n × swap/bag of the time; a refused item rides on to the
    /// next chute, so it recirculates only when all are closed, taken as independent.
    fn recirculation(&self, group_idx: usize, n: usize, closure_per_item: f64) -> f64 {
        let rate = self.groups[group_idx].rate_per_hour;
        let closed_share = (rate / n as f64 * closure_per_item).min(1.0);
        rate * closed_share.powi(n as i32)
    }

    fn marginal_value(&self, group_idx: usize, chute_idx: usize) -> f64 {
        let group = &self.groups[group_idx];
        let n_have = self.group_chutes[group_idx].len();
        let newly = self.masks[chute_idx] & !self.group_masks[group_idx];
        let coverage = group.rate_per_hour * self.covered_share(newly);
        let closure = self.closure_per_item[chute_idx];
        let relief = if n_have == 0 {
            0.0
        } else {
            self.recirculation(group_idx, n_have, closure)
                - self.recirculation(group_idx, n_have + 1, closure)
        };
        // Items whose first chute refuses them still drop within half a loop if another chute
        // of theirs follows soon enough: more chutes where the group already has some keep
        // its half-loop share when its bags are swapped.
        let region_rate = group.rate_per_hour * self.covered_share(self.masks[chute_idx]);
        let n_in_region = self.group_chutes[group_idx]
            .iter()
            .filter(|&&c| self.masks[c] & self.masks[chute_idx] != 0)
            .count();
        let refusal_relief = if n_in_region == 0 {
            0.0
        } else {
            let lost =
                |n: usize| region_rate * (region_rate / n as f64 * closure).min(1.0).powi(n as i32);
            lost(n_in_region) - lost(n_in_region + 1)
        };
        // A group below its need is served before any group gets extras.
        let need = if n_have < group.n_chutes { 1e9 } else { 0.0 };
        need + coverage + relief + refusal_relief
    }

    fn assign(&mut self, group_idx: usize, chute_idx: usize) {
        self.group_chutes[group_idx].push(chute_idx);
        self.group_masks[group_idx] |= self.masks[chute_idx];
        let group = &self.groups[group_idx];
        self.slot_rate[self.hub.chute_slots()[chute_idx] as usize] +=
            group.rate_per_hour / group.n_chutes as f64;
    }

    /// Rate already dropped near a chute, so that busy chutes are spread along the loop. A
    /// chute's rate is taken as its group's rate over the chutes it needs, which is known
    /// before the extras are given out.
    fn neighbourhood_rate(&self, chute_idx: usize) -> f64 {
        let n_carriers = self.hub.n_carriers() as usize;
        let slot = self.hub.chute_slots()[chute_idx] as usize;
        let window = 6usize.min(n_carriers / 2);
        (0..=2 * window)
            .map(|offset| self.slot_rate[(slot + n_carriers + offset - window) % n_carriers])
            .sum()
    }

    /// Of the free chutes with a given mask, the one with the quietest neighbourhood, ties to
    /// the shortest travel.
    fn best_chute_with_mask(&self, free: &[usize], mean_travel: &[f64]) -> usize {
        free.iter()
            .map(|&c| (self.neighbourhood_rate(c), mean_travel[c], c))
            .min_by(|a, b| {
                a.0.total_cmp(&b.0)
                    .then(a.1.total_cmp(&b.1))
                    .then(a.2.cmp(&b.2))
            })
            .expect("a mask in the free map has chutes")
            .2
    }
}

/// Builds the plan by construction alone (steps 1 and 2 of the module documentation), choosing
/// how many small destinations to put on shared chutes: each merge frees a chute for a busy
/// destination's extra, and costs `shared_chute_penalty` per item that will need sorting
/// again by hand. The number of merges is searched on a doubling grid, then refined by
/// halving the gap around the best.
pub fn construct(hub: &Hub, options: &Options) -> Plan {
    let value = |plan: &Plan| {
        plan.static_half_loop_rate(hub) - options.shared_chute_penalty * plan.shared_share(hub)
    };
    let n_destinations = hub.layout().destinations.len();
    let mut tried: BTreeMap<usize, (f64, Plan)> = BTreeMap::new();
    let try_merges = |merges: usize, tried: &mut BTreeMap<usize, (f64, Plan)>| {
        tried.entry(merges).or_insert_with(|| {
            let plan = construct_with_merges(hub, options, merges);
            (value(&plan), plan)
        });
    };
    let mut merges = 0;
    loop {
        try_merges(merges, &mut tried);
        if merges >= n_destinations {
            break;
        }
        merges = (merges * 2).max(1);
    }
    loop {
        let best = best_merges(&tried);
        let below = tried.range(..best).next_back().map(|(&m, _)| m);
        let above = tried.range(best + 1..).next().map(|(&m, _)| m);
        let mut refined = false;
        for neighbour in [below, above].into_iter().flatten() {
            let middle = (best + neighbour) / 2;
            if !tried.contains_key(&middle) {
                try_merges(middle, &mut tried);
                refined = true;
            }
        }
        if !refined {
            break;
        }
    }
    let best = best_merges(&tried);
    tried.remove(&best).expect("the best was tried").1
}

/// The fewest merges among those of the highest value.
fn best_merges(tried: &BTreeMap<usize, (f64, Plan)>) -> usize {
    tried
        .iter()
        .fold(
            None,
            |best: Option<(usize, f64)>, (&merges, (value, _))| match best {
                Some(best) if best.1 >= *value => Some(best),
                _ => Some((merges, *value)),
            },
        )
        .expect("at least one plan was tried")
        .0
}

fn construct_with_merges(hub: &Hub, options: &Options, extra_merges: usize) -> Plan {
    let layout = hub.layout();
    let groups = group_destinations_at(hub, options.utilisation_target, extra_merges);
    let rate_sum: f64 = layout.inductions.iter().map(|i| i.rate_per_hour).sum();
    let mut station_shares = vec![0.0; 64];
    for (i, induction) in layout.inductions.iter().enumerate() {
        station_shares[i % 64] += induction.rate_per_hour / rate_sum;
    }
    let closure_per_item = layout
        .chutes
        .iter()
        .map(|c| c.bag_swap_s / (c.bag_items as f64 * 3600.0))
        .collect();
    let n_groups = groups.len();
    let mut construction = Construction {
        hub,
        masks: half_loop_masks(hub),
        station_shares,
        group_masks: vec![0; n_groups],
        group_chutes: vec![Vec::new(); n_groups],
        slot_rate: vec![0.0; hub.n_carriers() as usize],
        closure_per_item,
        groups,
    };
    let mean_travel: Vec<f64> = (0..layout.chutes.len())
        .map(|c| crate::baseline::mean_travel_slots(hub, c))
        .collect();
    // Free chutes by mask; a BTreeMap keeps the iteration order, and so the plan, deterministic.
    let mut free_by_mask: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for chute_idx in hub.assignable_chutes() {
        free_by_mask
            .entry(construction.masks[chute_idx])
            .or_default()
            .push(chute_idx);
    }
    let mut order: Vec<usize> = (0..n_groups).collect();
    order.sort_by(|&a, &b| {
        construction.groups[b]
            .rate_per_hour
            .total_cmp(&construction.groups[a].rate_per_hour)
            .then(a.cmp(&b))
    });
    let mut exhausted = false;
    for &group_idx in &order {
        let mask = *free_by_mask
            .iter()
            .max_by(|a, b| {
                construction
                    .covered_share(*a.0)
                    .total_cmp(&construction.covered_share(*b.0))
                    .then(b.0.cmp(a.0))
            })
            .expect("there are at least as many chutes as groups")
            .0;
        exhausted = take(
            &mut construction,
            &mut free_by_mask,
            &mean_travel,
            mask,
            group_idx,
        );
    }
    // Each group's best (value, mask) is kept and recomputed only when it may have changed:
    // for the group just served, and for groups whose best mask has just run out.
    let best_for = |construction: &Construction, free_by_mask: &BTreeMap<u64, Vec<usize>>, g| {
        free_by_mask
            .iter()
            .map(|(&mask, chutes)| (construction.marginal_value(g, chutes[0]), mask))
            .fold(None, |best: Option<(f64, u64)>, candidate| match best {
                Some(best) if best.0 >= candidate.0 => Some(best),
                _ => Some(candidate),
            })
    };
    let mut best_by_group: Vec<Option<(f64, u64)>> = (0..n_groups)
        .map(|g| best_for(&construction, &free_by_mask, g))
        .collect();
    while !exhausted {
        let Some((group_idx, (_, mask))) = best_by_group
            .iter()
            .enumerate()
            .filter_map(|(g, best)| best.map(|best| (g, best)))
            .fold(
                None,
                |best: Option<(usize, (f64, u64))>, candidate| match best {
                    Some(best) if best.1.0 >= candidate.1.0 => Some(best),
                    _ => Some(candidate),
                },
            )
        else {
            break;
        };
        exhausted = take(
            &mut construction,
            &mut free_by_mask,
            &mean_travel,
            mask,
            group_idx,
        );
        let mask_gone = !free_by_mask.contains_key(&mask);
        for (g, best) in best_by_group.iter_mut().enumerate() {
            let stale = g == group_idx || (mask_gone && best.is_some_and(|(_, m)| m == mask));
            if stale {
                *best = best_for(&construction, &free_by_mask, g);
            }
        }
    }

    let mut plan = Plan::empty(hub, "ours");
    for (group_idx, chutes) in construction.group_chutes.iter().enumerate() {
        for &chute_idx in chutes {
            plan.chute_destinations[chute_idx] =
                construction.groups[group_idx].destinations.clone();
        }
    }
    plan
}

/// Gives a group the best free chute with a mask; says whether the chutes have run out.
fn take(
    construction: &mut Construction,
    free_by_mask: &mut BTreeMap<u64, Vec<usize>>,
    mean_travel: &[f64],
    mask: u64,
    group_idx: usize,
) -> bool {
    let free = free_by_mask.get_mut(&mask).expect("mask has free chutes");
    let chute_idx = construction.best_chute_with_mask(free, mean_travel);
    free.retain(|&c| c != chute_idx);
    if free.is_empty() {
        free_by_mask.remove(&mask);
    }
    construction.assign(group_idx, chute_idx);
    free_by_mask.is_empty()
}

fn score(indicators: &crate::sim::Indicators, shared_chute_penalty: f64) -> f64 {
    indicators.half_loop_drop_rate
        - shared_chute_penalty * indicators.multi_destination_share
        - indicators.recirculation_rate
        - 2.0 * indicators.force_eject_rate
        - 2.0 * (1.0 - indicators.items_sorted as f64 / indicators.items_offered.max(1) as f64)
}

/// The optimiser: construction, then simulator-in-the-loop improvement within the budget.
pub fn optimise(hub: &Hub, options: &Options) -> Plan {
    let mut plan = construct(hub, options);
    if options.budget == 0 {
        return plan;
    }
    let n_destinations = hub.layout().destinations.len();
    // Tuned on items of its own, so that an evaluation with `options.seed` is not on the very
    // items the plan was tuned against.
    let tuning_seed = options.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x00a5_a5a5;
    let mut indicators = simulate(hub, &plan, tuning_seed);
    let mut best_score = score(&indicators, options.shared_chute_penalty);
    let mut runs = 1;
    // Groups that were tried and did not improve are not tried again.
    let mut tried: Vec<Vec<u32>> = Vec::new();
    while runs < options.budget {
        // Chutes grouped by the destinations they take: a group is one multi-destination set.
        let mut groups: BTreeMap<Vec<u32>, Vec<usize>> = BTreeMap::new();
        for (chute_idx, destinations) in plan.chute_destinations.iter().enumerate() {
            if !destinations.is_empty() {
                groups
                    .entry(destinations.clone())
                    .or_default()
                    .push(chute_idx);
            }
        }
        let refusals = |chutes: &Vec<usize>| -> u64 {
            chutes.iter().map(|&c| indicators.chutes[c].refusals).sum()
        };
        let Some((congested, _)) = groups
            .iter()
            .filter(|(destinations, chutes)| !tried.contains(destinations) && refusals(chutes) > 0)
            .max_by_key(|(_, chutes)| refusals(chutes))
        else {
            break;
        };
        let congested = congested.clone();
        // The donor: a group with spare chutes whose chutes see the fewest items each, and of
        // its chutes the one with fewest items.
        let donor = groups
            .iter()
            .filter(|(destinations, chutes)| **destinations != congested && chutes.len() >= 2)
            .min_by(|a, b| {
                let load = |chutes: &Vec<usize>| {
                    chutes
                        .iter()
                        .map(|&c| indicators.chutes[c].items)
                        .sum::<u64>() as f64
                        / chutes.len() as f64
                };
                load(a.1).total_cmp(&load(b.1)).then(a.0.cmp(b.0))
            });
        let Some((_, donor_chutes)) = donor else {
            break;
        };
        let given = *donor_chutes
            .iter()
            .min_by_key(|&&c| (indicators.chutes[c].items, c))
            .expect("a donor has chutes");
        let mut candidate = plan.clone();
        candidate.chute_destinations[given] = congested.clone();
        debug_assert!(candidate.destinations_without_chute(hub).is_empty());
        let candidate_indicators = simulate(hub, &candidate, tuning_seed);
        runs += 1;
        let candidate_score = score(&candidate_indicators, options.shared_chute_penalty);
        if candidate_score > best_score {
            plan = candidate;
            indicators = candidate_indicators;
            best_score = candidate_score;
        } else {
            tried.push(congested);
        }
    }
    debug_assert_eq!(
        plan.destination_chutes(n_destinations).len(),
        n_destinations
    );
    plan
}

//! The loop-sorter simulator: seeded, deterministic, discrete-event.
//!
//! The loop is cut into slots one carrier pitch long and time into steps of one pitch of
//! travel, so carrier `k` is at slot `(k + step) mod n_carriers`. Every event (an item reaching
//! a chute) falls at most one loop ahead, so the event list is a timing wheel of one loop's
//! steps: scheduling and taking the next events cost O(1), which is what lets the simulator
//! run millions of items a second. Induction stations are polled each step as their carrier
//! passes.
//!
//! An item is put on the next free usable carrier passing its station once the station is
//! ready (stations work at most at their rate). It then rides to the first chute of its
//! destination downstream. The chute takes it unless its bag is being swapped or its slide is
//! full; otherwise the item rides on to the next of its chutes, and recirculates (回流) if
//! that takes it past its station again. An item that would travel
//! more than `recirculation_loops_max + 1` loops is sent to the exception chute instead
//! (force-ejected); so is an item whose destination has no chute.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::layout::{Hub, forward_slots};
use crate::plan::Plan;

/// What to simulate beyond the hub and plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimOptions {
    pub seed: u64,
    /// Stop after this much simulated time, leaving items on the loop and at the stations;
    /// `None` runs until every item has left the loop, but at most [`OVERRUN_S_MAX`] past
    /// the end of the last wave.
    pub stop_after_s: Option<f64>,
}

/// What happened to one chute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChuteStats {
    pub items: u64,
    /// Items that reached the chute but were refused (bag being swapped or slide full).
    pub refusals: u64,
    pub bag_swaps: u64,
    /// Items taken over what the slide could drain in the simulated time.
    pub utilisation: f64,
    /// Share of the simulated time the chute was closed for bag swaps.
    pub closed_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaveStats {
    pub name: String,
    pub items: u64,
    /// From the wave's start until its last item left the loop; `None` if it had not.
    pub clear_s: Option<f64>,
}

/// The simulator's indicators. Rates are shares of the items that left the loop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicators {
    pub items_offered: u64,
    pub items_inducted: u64,
    /// Dropped into one of their destination's chutes.
    pub items_sorted: u64,
    /// Sent to the exception chute after too many loops.
    pub items_force_ejected: u64,
    /// Sent to the exception chute because the plan gave their destination no chute.
    pub items_without_chute: u64,
    pub items_on_loop: u64,
    pub items_waiting: u64,
    /// Items offered over the waves' duration.
    pub offered_per_hour: f64,
    /// Items sorted over the simulated time.
    pub throughput_per_hour: f64,
    /// 半圈落格率: share of items sorted within half a loop of their induction point.
    pub half_loop_drop_rate: f64,
    /// Mean distance from induction to drop of sorted items, in loops.
    pub mean_travel_loops: f64,
    /// 回流率: share of items that pass their station again because the chutes of their
    /// destination refused them on the way round.
    pub recirculation_rate: f64,
    pub force_eject_rate: f64,
    /// Share of sorted items dropped into multi-destination chutes, to be sorted again by hand.
    pub multi_destination_share: f64,
    /// Over the chutes the plan uses.
    pub chute_utilisation_mean: f64,
    pub chute_utilisation_max: f64,
    pub simulated_s: f64,
    pub chutes: Vec<ChuteStats>,
    pub waves: Vec<WaveStats>,
}

/// Simulates the whole day until every item has left the loop.
pub fn simulate(hub: &Hub, plan: &Plan, seed: u64) -> Indicators {
    simulate_with(
        hub,
        plan,
        &SimOptions {
            seed,
            stop_after_s: None,
        },
    )
}

/// How long past the last wave a simulation may run to clear a backlog: a week, so that a
/// hub whose stations cannot keep up still ends, with its items reported as waiting.
pub const OVERRUN_S_MAX: f64 = 7.0 * 24.0 * 3600.0;

/// One item as it left the loop (or was still on it when the simulation stopped), for the
/// item log ([`crate::hub_log::simulated_day`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemTrace {
    /// The item's index in the day's draw.
    pub item: u32,
    pub station: u32,
    pub destination: u32,
    pub induction_s: f64,
    /// Where and when it dropped (the exception chute included), and how many times it passed
    /// its station again first; `None` if it was still on the loop.
    pub drop: Option<(u32, f64, u32)>,
}

const NO_ITEM: u32 = u32::MAX;
const FLAG_RECIRCULATED: u8 = 1;
const FLAG_FORCED: u8 = 2;
const FLAG_WITHOUT_CHUTE: u8 = 4;

struct Items {
    destination: Vec<u32>,
    induction_step: Vec<u32>,
    carrier: Vec<u32>,
    target_chute: Vec<u32>,
    wave: Vec<u16>,
    station: Vec<u16>,
    flags: Vec<u8>,
}

/// The items; each station's queue as (arrival step, item) in arrival order; wave starts.
type DrawnItems = (Items, Vec<Vec<(u32, u32)>>, Vec<f64>);

/// Draws the day's items: each wave's items in random order, spread evenly over the wave, each
/// at a station drawn in proportion to the stations' rates.
fn draw_items(hub: &Hub, seed: u64, step_s: f64) -> DrawnItems {
    let layout = hub.layout();
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let n_items: u64 = layout
        .destinations
        .iter()
        .flat_map(|d| d.volumes.iter())
        .sum();
    let n_items = n_items as usize;
    let mut items = Items {
        destination: Vec::with_capacity(n_items),
        induction_step: vec![0; n_items],
        carrier: vec![NO_ITEM; n_items],
        target_chute: vec![0; n_items],
        wave: Vec::with_capacity(n_items),
        station: Vec::with_capacity(n_items),
        flags: vec![0; n_items],
    };
    let rate_cumulative: Vec<f64> = layout
        .inductions
        .iter()
        .scan(0.0, |sum, induction| {
            *sum += induction.rate_per_hour;
            Some(*sum)
        })
        .collect();
    let rate_sum = *rate_cumulative.last().unwrap_or(&1.0);
    let mut queues = vec![Vec::new(); layout.inductions.len()];
    let mut wave_starts_s = Vec::with_capacity(layout.waves.len());
    let mut wave_start_s = 0.0;
    let mut wave_destinations = Vec::new();
    for (wave_idx, wave) in layout.waves.iter().enumerate() {
        wave_starts_s.push(wave_start_s);
        wave_destinations.clear();
        for (destination_idx, destination) in layout.destinations.iter().enumerate() {
            let volume = destination.volumes[wave_idx] as usize;
            wave_destinations.extend(std::iter::repeat_n(destination_idx as u32, volume));
        }
        wave_destinations.shuffle(&mut rng);
        let spacing_s = wave.duration_s / wave_destinations.len().max(1) as f64;
        for (position, &destination_idx) in wave_destinations.iter().enumerate() {
            let item_idx = items.destination.len() as u32;
            let arrival_s = wave_start_s + (position as f64 + rng.random::<f64>()) * spacing_s;
            let pick = rng.random::<f64>() * rate_sum;
            let induction_idx = rate_cumulative
                .iter()
                .position(|&cumulative| pick < cumulative)
                .unwrap_or(rate_cumulative.len() - 1);
            items.destination.push(destination_idx);
            items.wave.push(wave_idx as u16);
            items.station.push(induction_idx as u16);
            queues[induction_idx].push(((arrival_s / step_s) as u32, item_idx));
        }
        wave_start_s += wave.duration_s;
    }
    (items, queues, wave_starts_s)
}

/// Simulates with options; see the module documentation for the model.
pub fn simulate_with(hub: &Hub, plan: &Plan, options: &SimOptions) -> Indicators {
    run(hub, plan, options, |_| {})
}

/// Simulates as [`simulate_with`] and tells `on_item` about each inducted item as it leaves the
/// loop, then about those still on it. The untraced run compiles the call away.
pub fn simulate_traced(
    hub: &Hub,
    plan: &Plan,
    options: &SimOptions,
    on_item: impl FnMut(&ItemTrace),
) -> Indicators {
    run(hub, plan, options, on_item)
}

fn run(
    hub: &Hub,
    plan: &Plan,
    options: &SimOptions,
    mut on_item: impl FnMut(&ItemTrace),
) -> Indicators {
    let layout = hub.layout();
    let n_carriers = hub.n_carriers();
    let step_s = hub.step_s();
    let (mut items, queues, wave_starts_s) = draw_items(hub, options.seed, step_s);
    let n_items = items.destination.len();

    // Usable carriers spread evenly: carrier k is usable when k * fill_factor crosses an integer.
    let fill_factor = layout.sorter.fill_factor;
    let usable: Vec<bool> = (0..n_carriers)
        .map(|k| ((k + 1) as f64 * fill_factor).floor() > (k as f64 * fill_factor).floor())
        .collect();
    let mut occupant = vec![NO_ITEM; n_carriers as usize];

    let chute_slots = hub.chute_slots();
    let exception_idx = hub.exception_chute_idx() as u32;
    let exception_slot = chute_slots[exception_idx as usize];
    // Each destination's chutes sorted by slot: the next one downstream of a slot is found
    // by binary search, as a busy destination may have many.
    let destination_chutes: Vec<Vec<(u32, u32)>> = plan
        .destination_chutes(layout.destinations.len())
        .into_iter()
        .map(|chutes| {
            let mut by_slot: Vec<(u32, u32)> = chutes
                .into_iter()
                .map(|chute_idx| (chute_slots[chute_idx as usize], chute_idx))
                .collect();
            by_slot.sort_unstable();
            by_slot
        })
        .collect();
    let next_chute = |destination_idx: u32, from_slot: u32| -> (u32, u32) {
        let chutes = &destination_chutes[destination_idx as usize];
        let after = chutes.partition_point(|&(slot, _)| slot <= from_slot);
        match chutes.get(after).or_else(|| chutes.first()) {
            Some(&(slot, chute_idx)) => (chute_idx, forward_slots(from_slot, slot, n_carriers)),
            None => (exception_idx, u32::MAX),
        }
    };

    let n_chutes = layout.chutes.len();
    let service_s: Vec<f64> = layout
        .chutes
        .iter()
        .map(|c| 3600.0 / c.capacity_per_hour)
        .collect();
    let slide_backlog_s_max: Vec<f64> = layout
        .chutes
        .iter()
        .zip(&service_s)
        .map(|(c, service)| (c.slide_items - 1) as f64 * service + 1e-9)
        .collect();
    let mut slide_busy_until_s = vec![0.0f64; n_chutes];
    let mut closed_until_s = vec![0.0f64; n_chutes];
    let mut bag_fill = vec![0u32; n_chutes];
    let mut chute_items = vec![0u64; n_chutes];
    let mut chute_refusals = vec![0u64; n_chutes];
    let mut chute_swaps = vec![0u64; n_chutes];

    let wheel_size = (n_carriers as usize + 1).next_power_of_two();
    let wheel_mask = wheel_size - 1;
    let mut wheel: Vec<Vec<u32>> = vec![Vec::new(); wheel_size];

    let induction_slots = hub.induction_slots();
    let station_spacing_s: Vec<f64> = layout
        .inductions
        .iter()
        .map(|i| 3600.0 / i.rate_per_hour)
        .collect();
    let mut station_ready_s = vec![0.0f64; layout.inductions.len()];
    let mut queue_heads = vec![0usize; layout.inductions.len()];

    let travel_max = (layout.recirculation_loops_max + 1) * n_carriers;
    let day_s: f64 = layout.waves.iter().map(|w| w.duration_s).sum();
    let stop_s = options
        .stop_after_s
        .unwrap_or(f64::INFINITY)
        .min(day_s + OVERRUN_S_MAX);
    // Leave room below u32::MAX for events a few loops ahead.
    let stop_step = (stop_s / step_s)
        .max(0.0)
        .min((u32::MAX - 64 * n_carriers) as f64) as u32;

    let mut n_inducted: u64 = 0;
    let mut n_left: u64 = 0;
    let mut n_sorted: u64 = 0;
    let mut n_forced: u64 = 0;
    let mut n_without_chute: u64 = 0;
    let mut n_half_loop: u64 = 0;
    let mut n_recirculated: u64 = 0;
    let mut travel_sum: u64 = 0;
    let mut wave_last_exit_step = vec![0u32; layout.waves.len()];
    let mut wave_items_left = vec![0u64; layout.waves.len()];
    let mut wave_items = vec![0u64; layout.waves.len()];
    for &wave in &items.wave {
        wave_items[wave as usize] += 1;
    }

    let mut step: u32 = 0;
    while step < stop_step {
        let time_s = step as f64 * step_s;
        let bucket_idx = step as usize & wheel_mask;
        let mut bucket = std::mem::take(&mut wheel[bucket_idx]);
        for &item in &bucket {
            let item_idx = item as usize;
            let chute_idx = items.target_chute[item_idx];
            let chute = chute_idx as usize;
            let leaves = if chute_idx == exception_idx {
                true
            } else if time_s >= closed_until_s[chute]
                && slide_busy_until_s[chute] - time_s <= slide_backlog_s_max[chute]
            {
                slide_busy_until_s[chute] =
                    slide_busy_until_s[chute].max(time_s) + service_s[chute];
                chute_items[chute] += 1;
                bag_fill[chute] += 1;
                if bag_fill[chute] >= layout.chutes[chute].bag_items {
                    bag_fill[chute] = 0;
                    closed_until_s[chute] = time_s + layout.chutes[chute].bag_swap_s;
                    chute_swaps[chute] += 1;
                }
                let travel = step - items.induction_step[item_idx];
                travel_sum += travel as u64;
                if 2 * travel <= n_carriers {
                    n_half_loop += 1;
                }
                n_sorted += 1;
                true
            } else {
                chute_refusals[chute] += 1;
                let here = chute_slots[chute];
                let (mut next, mut distance) = next_chute(items.destination[item_idx], here);
                if step + distance - items.induction_step[item_idx] > travel_max {
                    next = exception_idx;
                    distance = forward_slots(here, exception_slot, n_carriers);
                    items.flags[item_idx] |= FLAG_FORCED;
                }
                // Refused but taken by another of its chutes before it is back at its station:
                // not a recirculation.
                if step + distance - items.induction_step[item_idx] > n_carriers {
                    items.flags[item_idx] |= FLAG_RECIRCULATED;
                }
                items.target_chute[item_idx] = next;
                wheel[(step + distance) as usize & wheel_mask].push(item);
                false
            };
            if leaves {
                if chute_idx == exception_idx {
                    if items.flags[item_idx] & FLAG_WITHOUT_CHUTE != 0 {
                        n_without_chute += 1;
                    } else {
                        n_forced += 1;
                    }
                }
                occupant[items.carrier[item_idx] as usize] = NO_ITEM;
                n_left += 1;
                let travel = step - items.induction_step[item_idx];
                on_item(&ItemTrace {
                    item,
                    station: u32::from(items.station[item_idx]),
                    destination: items.destination[item_idx],
                    induction_s: items.induction_step[item_idx] as f64 * step_s,
                    drop: Some((chute_idx, time_s, travel.saturating_sub(1) / n_carriers)),
                });
                // Counted on leaving, so that every rate is a share of the items that left.
                if items.flags[item_idx] & FLAG_RECIRCULATED != 0 {
                    n_recirculated += 1;
                }
                let wave = items.wave[item_idx] as usize;
                wave_items_left[wave] += 1;
                wave_last_exit_step[wave] = step;
            }
        }
        bucket.clear();
        wheel[bucket_idx] = bucket;

        // The carrier at slot s at this step is (s - step) mod n; `offset` avoids a division.
        let offset = n_carriers - step % n_carriers;
        for (induction_idx, queue) in queues.iter().enumerate() {
            // Cheapest tests first: the station's own state, then its queue, which is stored
            // with arrival steps so that no item data is touched until one is loaded.
            if time_s < station_ready_s[induction_idx] {
                continue;
            }
            let head = queue_heads[induction_idx];
            let Some(&(arrival_step, item)) = queue.get(head) else {
                continue;
            };
            if arrival_step > step {
                continue;
            }
            let mut carrier = induction_slots[induction_idx] + offset;
            if carrier >= n_carriers {
                carrier -= n_carriers;
            }
            if !usable[carrier as usize] || occupant[carrier as usize] != NO_ITEM {
                continue;
            }
            let item_idx = item as usize;
            occupant[carrier as usize] = item;
            items.carrier[item_idx] = carrier;
            items.induction_step[item_idx] = step;
            queue_heads[induction_idx] = head + 1;
            station_ready_s[induction_idx] = time_s + station_spacing_s[induction_idx];
            n_inducted += 1;
            let (chute_idx, distance) =
                next_chute(items.destination[item_idx], induction_slots[induction_idx]);
            let distance = if chute_idx == exception_idx {
                items.flags[item_idx] |= FLAG_WITHOUT_CHUTE;
                forward_slots(induction_slots[induction_idx], exception_slot, n_carriers)
            } else {
                distance
            };
            items.target_chute[item_idx] = chute_idx;
            wheel[(step + distance) as usize & wheel_mask].push(item);
        }
        step += 1;
        if n_inducted == n_items as u64 && n_left == n_inducted {
            break;
        }
    }

    // Items still on the loop: inducted (they have a carrier) and not yet left.
    for (item_idx, &carrier) in items.carrier.iter().enumerate() {
        if carrier != NO_ITEM && occupant[carrier as usize] == item_idx as u32 {
            on_item(&ItemTrace {
                item: item_idx as u32,
                station: u32::from(items.station[item_idx]),
                destination: items.destination[item_idx],
                induction_s: items.induction_step[item_idx] as f64 * step_s,
                drop: None,
            });
        }
    }
    let simulated_s = step as f64 * step_s;
    let simulated_h = (simulated_s / 3600.0).max(1e-12);
    let left = n_left.max(1) as f64;
    let mut utilisation_sum = 0.0;
    let mut utilisation_max = 0.0f64;
    let mut n_used = 0usize;
    let chutes: Vec<ChuteStats> = (0..n_chutes)
        .map(|chute| {
            let utilisation =
                chute_items[chute] as f64 / (layout.chutes[chute].capacity_per_hour * simulated_h);
            if !plan.chute_destinations[chute].is_empty() {
                utilisation_sum += utilisation;
                utilisation_max = utilisation_max.max(utilisation);
                n_used += 1;
            }
            ChuteStats {
                items: chute_items[chute],
                refusals: chute_refusals[chute],
                bag_swaps: chute_swaps[chute],
                utilisation,
                closed_share: (chute_swaps[chute] as f64 * layout.chutes[chute].bag_swap_s
                    / simulated_s.max(1e-12))
                .min(1.0),
            }
        })
        .collect();
    let waves = layout
        .waves
        .iter()
        .enumerate()
        .map(|(wave_idx, wave)| WaveStats {
            name: wave.name.clone(),
            items: wave_items[wave_idx],
            clear_s: (wave_items_left[wave_idx] == wave_items[wave_idx]).then(|| {
                (wave_last_exit_step[wave_idx] as f64 * step_s - wave_starts_s[wave_idx]).max(0.0)
            }),
        })
        .collect();
    Indicators {
        items_offered: n_items as u64,
        items_inducted: n_inducted,
        items_sorted: n_sorted,
        items_force_ejected: n_forced,
        items_without_chute: n_without_chute,
        items_on_loop: n_inducted - n_left,
        items_waiting: n_items as u64 - n_inducted,
        offered_per_hour: n_items as f64 * 3600.0 / day_s,
        throughput_per_hour: n_sorted as f64 / simulated_h,
        half_loop_drop_rate: n_half_loop as f64 / left,
        mean_travel_loops: travel_sum as f64 / (n_sorted.max(1) as f64 * n_carriers as f64),
        recirculation_rate: n_recirculated as f64 / left,
        force_eject_rate: n_forced as f64 / left,
        multi_destination_share: plan
            .chute_destinations
            .iter()
            .zip(&chute_items)
            .filter(|(destinations, _)| destinations.len() > 1)
            .map(|(_, &items)| items)
            .sum::<u64>() as f64
            / n_sorted.max(1) as f64,
        chute_utilisation_mean: utilisation_sum / n_used.max(1) as f64,
        chute_utilisation_max: utilisation_max,
        simulated_s,
        chutes,
        waves,
    }
}

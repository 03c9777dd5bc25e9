//! The hub's indicators from its logs (issue 16, point 4; the list and each definition are in
//! `crates/sort/LOG.md`). The item log is first tallied against the hub's layout and the plan
//! in force into counts per hour and equipment and per hour and chute ([`tally`]), small enough
//! to keep for a year; the figures of any set of hours are computed from those counts and the
//! truck visits ([`figures`]).
//!
//! An item counts in the hour of its induction (local time); a chute's items count in the hour
//! of their drop.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use serde::Serialize;

use crate::hub_log::{BadRow, Direction, ItemRow, TruckRow, reject};
use crate::layout::{Hub, forward_slots};
use crate::plan::Plan;

/// A truck is unloaded on time when unloading starts within this many minutes of its arrival.
pub const UNLOAD_WAIT_MINUTES_MAX: i64 = 30;
/// A truck leaves on time when it leaves at most this many minutes after its planned departure.
pub const DEPARTURE_LATE_MINUTES_MAX: i64 = 10;

/// What happened to one hour's items on one piece of equipment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub items: u64,
    /// Dropped into one of their destination's chutes in the plan.
    pub sorted: u64,
    /// Sorted without recirculating, within half a loop of their station (半圈落格).
    pub half_loop: u64,
    /// Passed their station again at least once (回流).
    pub recirculated: u64,
    pub no_read: u64,
    /// Dropped into a chute the plan does not give their destination (错分).
    pub missorted: u64,
    /// Sent to the exception chute (no-reads, force-ejected, no chute).
    pub exception: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.items += other.items;
        self.sorted += other.sorted;
        self.half_loop += other.half_loop;
        self.recirculated += other.recirculated;
        self.no_read += other.no_read;
        self.missorted += other.missorted;
        self.exception += other.exception;
    }

    /// Items that left the loop, to which the drop rates are shares.
    pub fn left(&self) -> u64 {
        self.sorted + self.missorted + self.exception
    }
}

/// One hour's counts on one piece of equipment; `equipment` is empty for the loop sorter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourRow {
    pub day: NaiveDate,
    pub hour: u8,
    pub equipment: String,
    pub counts: Counts,
}

/// Items dropped into one chute in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChuteHour {
    pub day: NaiveDate,
    pub hour: u8,
    pub chute: String,
    pub items: u64,
}

/// The counts of an item log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tally {
    pub hours: Vec<HourRow>,
    pub chute_hours: Vec<ChuteHour>,
    /// The days the log covers (by induction time).
    pub days: Vec<NaiveDate>,
    /// Rows naming a station or chute the layout does not have; at most
    /// `BAD_ROWS_REPORTED_MAX`, all counted in `bad_count`.
    pub bad: Vec<BadRow>,
    pub bad_count: usize,
    pub rows: usize,
}

/// An id looked up in the layout: `Ok(None)` when the row leaves it empty,
/// `Err` when the layout has no such id.
fn known<T: Copy>(id: &str, ids: &HashMap<&str, T>) -> Result<Option<T>, ()> {
    if id.is_empty() {
        return Ok(None);
    }
    ids.get(id).copied().map(Some).ok_or(())
}

fn hour_of(at: NaiveDateTime) -> (NaiveDate, u8) {
    (at.date(), at.hour() as u8)
}

/// Tallies an item log against the hub and the plan in force.
pub fn tally(hub: &Hub, plan: &Plan, rows: &[ItemRow]) -> Tally {
    let layout = hub.layout();
    let n_carriers = hub.n_carriers();
    let stations: HashMap<&str, u32> = layout
        .inductions
        .iter()
        .zip(hub.induction_slots())
        .map(|(induction, &slot)| (induction.id.as_str(), slot))
        .collect();
    let chutes: HashMap<&str, usize> = layout
        .chutes
        .iter()
        .enumerate()
        .map(|(idx, chute)| (chute.id.as_str(), idx))
        .collect();
    let destination_chutes = plan.destination_chutes(layout.destinations.len());
    let exception_idx = hub.exception_chute_idx();

    let mut hours: BTreeMap<(NaiveDate, u8, &str), Counts> = BTreeMap::new();
    let mut chute_hours: BTreeMap<(NaiveDate, u8, usize), u64> = BTreeMap::new();
    let mut bad = Vec::new();
    let mut bad_count = 0;
    for row in rows {
        let (day, hour) = hour_of(row.induction_at);
        if !row.equipment.is_empty() {
            hours.entry((day, hour, &row.equipment)).or_default().items += 1;
            continue;
        }
        let (Ok(station_slot), Ok(chute_idx)) =
            (known(&row.station, &stations), known(&row.chute, &chutes))
        else {
            let why = if known(&row.station, &stations).is_err() {
                format!("the hub has no induction station '{}'", row.station)
            } else {
                format!("the hub has no chute '{}'", row.chute)
            };
            reject(&mut bad, &mut bad_count, row.row, why);
            continue;
        };
        let counts = hours.entry((day, hour, "")).or_default();
        counts.items += 1;
        counts.no_read += u64::from(row.no_read);
        counts.recirculated += u64::from(row.recirculations > 0);
        let Some(chute_idx) = chute_idx else {
            continue;
        };
        if chute_idx == exception_idx {
            counts.exception += 1;
            continue;
        }
        let planned = hub
            .destination_idx(&row.destination)
            .is_some_and(|d| destination_chutes[d].contains(&(chute_idx as u32)));
        if planned {
            counts.sorted += 1;
            let near = station_slot.is_some_and(|slot| {
                2 * forward_slots(slot, hub.chute_slots()[chute_idx], n_carriers) <= n_carriers
            });
            if row.recirculations == 0 && near {
                counts.half_loop += 1;
            }
        } else {
            counts.missorted += 1;
        }
        let (drop_day, drop_hour) = hour_of(row.drop_at.unwrap_or(row.induction_at));
        *chute_hours
            .entry((drop_day, drop_hour, chute_idx))
            .or_default() += 1;
    }
    let mut days: Vec<NaiveDate> = hours.keys().map(|(day, _, _)| *day).collect();
    days.dedup();
    Tally {
        hours: hours
            .into_iter()
            .map(|((day, hour, equipment), counts)| HourRow {
                day,
                hour,
                equipment: equipment.to_string(),
                counts,
            })
            .collect(),
        chute_hours: chute_hours
            .into_iter()
            .map(|((day, hour, chute_idx), items)| ChuteHour {
                day,
                hour,
                chute: layout.chutes[chute_idx].id.clone(),
                items,
            })
            .collect(),
        days,
        bad,
        bad_count,
        rows: rows.len(),
    }
}

/// The three shifts of a hub's calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shift {
    /// 06:00–14:00
    Early,
    /// 14:00–22:00
    Late,
    /// 22:00–06:00 within the calendar day (00:00–06:00 and 22:00–24:00).
    Night,
}

impl Shift {
    pub const ALL: [Shift; 3] = [Shift::Early, Shift::Late, Shift::Night];

    pub fn of(hour: u8) -> Shift {
        match hour {
            6..=13 => Shift::Early,
            14..=21 => Shift::Late,
            _ => Shift::Night,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Shift::Early => "early",
            Shift::Late => "late",
            Shift::Night => "night",
        }
    }
}

/// One piece of equipment's share of the items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquipmentShare {
    /// Empty for the loop sorter.
    pub equipment: String,
    pub items: u64,
    pub share: f64,
}

/// The busiest hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeakHour {
    pub day: NaiveDate,
    pub hour: u8,
    pub sorted: u64,
}

/// The yard's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TruckFigures {
    pub inbound: u64,
    pub outbound: u64,
    /// From arrival to departure, over the trucks that left.
    pub yard_minutes_mean: Option<f64>,
    pub yard_minutes_max: Option<i64>,
    /// Inbound trucks whose unloading started within [`UNLOAD_WAIT_MINUTES_MAX`] of arrival,
    /// over those whose unloading started.
    pub unload_on_time_share: Option<f64>,
    pub unload_wait_minutes_mean: Option<f64>,
    /// Outbound trucks that left at most [`DEPARTURE_LATE_MINUTES_MAX`] after their planned
    /// departure, over those with a plan that left.
    pub departure_on_time_share: Option<f64>,
}

/// The eleven indicators (and what they rest on) over a set of hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// All equipment together.
    pub items: u64,
    /// The loop sorter's counts.
    pub loop_counts: Counts,
    /// Hours in which the loop inducted items.
    pub loop_hours: u64,
    pub nameplate_per_hour: f64,
    /// 1. Sorted items per working hour of the loop.
    pub throughput_per_hour: Option<f64>,
    pub throughput_share_of_nameplate: Option<f64>,
    /// 2. 半圈落格率, over items that left the loop.
    pub half_loop_drop_rate: Option<f64>,
    /// 3. 回流率, over loop items.
    pub recirculation_rate: Option<f64>,
    /// 4. 无读率, over loop items.
    pub no_read_rate: Option<f64>,
    /// 5. 错分率, over items that left the loop.
    pub missort_rate: Option<f64>,
    /// Share of items that left the loop into the exception chute.
    pub exception_rate: Option<f64>,
    /// 6. Items per chute per hour, over the (chute, hour) pairs with a drop.
    pub chute_items_per_hour_mean: Option<f64>,
    pub chute_items_per_hour_max: Option<u64>,
    /// 7. The hour with the most sorted items.
    pub peak_hour: Option<PeakHour>,
    /// 8. Items handled by machines (all but hand sorting), and each equipment's share.
    pub on_machine_share: Option<f64>,
    pub by_equipment: Vec<EquipmentShare>,
    /// 9–11. Time in yard, unloading and departure punctuality.
    pub trucks: TruckFigures,
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The figures of `hours`, `chute_hours` and `trucks` (all of the same period).
pub fn figures(
    nameplate_per_hour: f64,
    hours: &[HourRow],
    chute_hours: &[ChuteHour],
    trucks: &[TruckRow],
) -> Figures {
    let mut loop_counts = Counts::default();
    let mut per_equipment: BTreeMap<&str, u64> = BTreeMap::new();
    let mut loop_hours = 0u64;
    let mut peak_hour: Option<PeakHour> = None;
    for row in hours {
        *per_equipment.entry(&row.equipment).or_default() += row.counts.items;
        if row.equipment.is_empty() {
            loop_counts.add(&row.counts);
            if row.counts.items > 0 {
                loop_hours += 1;
            }
            if peak_hour
                .as_ref()
                .is_none_or(|peak| row.counts.sorted > peak.sorted)
            {
                peak_hour = Some(PeakHour {
                    day: row.day,
                    hour: row.hour,
                    sorted: row.counts.sorted,
                });
            }
        }
    }
    let items: u64 = per_equipment.values().sum();
    let manual: u64 = per_equipment
        .iter()
        .filter(|(name, _)| crate::hub_log::is_manual(name))
        .map(|(_, n)| n)
        .sum();
    let throughput_per_hour =
        (loop_hours > 0).then(|| loop_counts.sorted as f64 / loop_hours as f64);
    let left = loop_counts.left();
    let chute_items: u64 = chute_hours.iter().map(|c| c.items).sum();
    Figures {
        items,
        loop_counts,
        loop_hours,
        nameplate_per_hour,
        throughput_per_hour,
        throughput_share_of_nameplate: throughput_per_hour
            .filter(|_| nameplate_per_hour > 0.0)
            .map(|t| t / nameplate_per_hour),
        half_loop_drop_rate: share(loop_counts.half_loop, left),
        recirculation_rate: share(loop_counts.recirculated, loop_counts.items),
        no_read_rate: share(loop_counts.no_read, loop_counts.items),
        missort_rate: share(loop_counts.missorted, left),
        exception_rate: share(loop_counts.exception, left),
        chute_items_per_hour_mean: (!chute_hours.is_empty())
            .then(|| chute_items as f64 / chute_hours.len() as f64),
        chute_items_per_hour_max: chute_hours.iter().map(|c| c.items).max(),
        peak_hour: peak_hour.filter(|peak| peak.sorted > 0),
        on_machine_share: share(items - manual, items),
        by_equipment: per_equipment
            .iter()
            .map(|(name, &n)| EquipmentShare {
                equipment: name.to_string(),
                items: n,
                share: share(n, items).unwrap_or(0.0),
            })
            .collect(),
        trucks: truck_figures(trucks),
    }
}

fn minutes_between(from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    (to - from).num_minutes()
}

fn truck_figures(trucks: &[TruckRow]) -> TruckFigures {
    let mut figures = TruckFigures::default();
    let mut yard = Vec::new();
    let mut waits = Vec::new();
    let (mut departures_planned, mut departures_on_time) = (0u64, 0u64);
    for truck in trucks {
        match truck.direction {
            Direction::Inbound => figures.inbound += 1,
            Direction::Outbound => figures.outbound += 1,
        }
        if let Some(departed) = truck.departed_at {
            yard.push(minutes_between(truck.arrived_at, departed));
        }
        if truck.direction == Direction::Inbound
            && let Some(start) = truck.unload_start
        {
            waits.push(minutes_between(truck.arrived_at, start));
        }
        if truck.direction == Direction::Outbound
            && let (Some(planned), Some(departed)) = (truck.planned_departure, truck.departed_at)
        {
            departures_planned += 1;
            if minutes_between(planned, departed) <= DEPARTURE_LATE_MINUTES_MAX {
                departures_on_time += 1;
            }
        }
    }
    let mean = |values: &[i64]| {
        (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64)
    };
    figures.yard_minutes_mean = mean(&yard);
    figures.yard_minutes_max = yard.iter().copied().max();
    figures.unload_wait_minutes_mean = mean(&waits);
    figures.unload_on_time_share = share(
        waits
            .iter()
            .filter(|&&w| w <= UNLOAD_WAIT_MINUTES_MAX)
            .count() as u64,
        waits.len() as u64,
    );
    figures.departure_on_time_share = share(departures_on_time, departures_planned);
    figures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub_log::{self, DayOptions};
    use crate::{GeneratorParams, Options, generate, optimise, simulate};
    use chrono::NaiveTime;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
    }

    fn options(no_read_rate: f64, manual_share: f64) -> DayOptions {
        DayOptions {
            seed: 9,
            day: day(),
            start: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
            no_read_rate,
            manual_share,
        }
    }

    fn grid(csv: &str) -> Vec<Vec<String>> {
        csv.lines()
            .map(|line| line.split(',').map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn the_simulated_log_tallies_to_the_simulators_own_indicators() {
        let hub = generate(&GeneratorParams::default(), 4);
        let plan = optimise(
            &hub,
            &Options {
                budget: 1,
                ..Options::default()
            },
        );
        let simulated = simulate(&hub, &plan, 9);
        let rows = hub_log::simulated_day(&hub, &plan, &options(0.0, 0.0));
        // Written and read back as a file would be.
        let read = hub_log::read_items(&grid(&hub_log::items_csv(&rows))).unwrap();
        assert_eq!(read.bad_count, 0, "{:?}", read.bad);
        assert!(read.rows == rows, "the log reads back as it was written");
        let tally = tally(&hub, &plan, &read.rows);
        assert_eq!(tally.bad_count, 0, "{:?}", tally.bad);
        let f = figures(
            hub.nameplate_per_hour(),
            &tally.hours,
            &tally.chute_hours,
            &[],
        );
        assert_eq!(f.items, simulated.items_inducted);
        assert_eq!(f.loop_counts.sorted, simulated.items_sorted);
        assert_eq!(
            f.loop_counts.exception,
            simulated.items_force_ejected + simulated.items_without_chute
        );
        assert_eq!(f.loop_counts.missorted, 0, "the simulator never missorts");
        let half_loop = f.half_loop_drop_rate.unwrap();
        assert!(
            (half_loop - simulated.half_loop_drop_rate).abs() < 1e-9,
            "{half_loop} against {}",
            simulated.half_loop_drop_rate
        );
        assert_eq!(f.on_machine_share, Some(1.0));
        assert_eq!(tally.days, vec![day()]);
    }

    #[test]
    fn missorts_no_reads_and_hand_sorting_are_told_apart() {
        let hub = generate(&GeneratorParams::default(), 4);
        let plan = optimise(
            &hub,
            &Options {
                budget: 1,
                ..Options::default()
            },
        );
        let mut rows = hub_log::simulated_day(&hub, &plan, &options(0.02, 0.1));
        let sorted_before = tally(&hub, &plan, &rows)
            .hours
            .iter()
            .map(|h| h.counts.sorted)
            .sum::<u64>();
        // Move one sorted item into a chute of another destination.
        let layout = hub.layout();
        let chutes_of = plan.destination_chutes(layout.destinations.len());
        let victim = rows
            .iter()
            .position(|r| {
                r.equipment.is_empty()
                    && !r.no_read
                    && !r.chute.is_empty()
                    && r.chute != layout.chutes[hub.exception_chute_idx()].id
            })
            .unwrap();
        let own = hub.destination_idx(&rows[victim].destination).unwrap();
        let other = (0..layout.destinations.len())
            .find(|&d| {
                d != own
                    && !chutes_of[d].is_empty()
                    && !chutes_of[d].iter().any(|c| chutes_of[own].contains(c))
            })
            .unwrap();
        rows[victim].chute = layout.chutes[chutes_of[other][0] as usize].id.clone();
        let t = tally(&hub, &plan, &rows);
        let f = figures(hub.nameplate_per_hour(), &t.hours, &t.chute_hours, &[]);
        assert_eq!(f.loop_counts.missorted, 1);
        assert_eq!(f.loop_counts.sorted, sorted_before - 1);
        assert!(f.loop_counts.no_read > 0);
        assert!(
            f.loop_counts.exception >= f.loop_counts.no_read,
            "unread labels go to the exception chute"
        );
        let manual = f
            .by_equipment
            .iter()
            .find(|e| e.equipment == hub_log::MANUAL)
            .unwrap();
        assert!(manual.items > 0);
        let share = f.on_machine_share.unwrap();
        assert!((share - (1.0 - manual.share)).abs() < 1e-12);
        assert!(f.peak_hour.is_some());
    }

    #[test]
    fn rows_naming_what_the_hub_lacks_are_reported_and_the_rest_counted() {
        let hub = generate(&GeneratorParams::default(), 4);
        let plan = optimise(
            &hub,
            &Options {
                budget: 1,
                ..Options::default()
            },
        );
        let csv = "报表：分拣明细\n\
                   条码,上件时间,供件台,目的地,格口,落格时间,循环次数,无读\n\
                   A1,2026-12-06 08:00:00,NOPE,X,,,0,0\n\
                   A2,2026/12/06 08:00,I01,X,,,0,是\n\
                   A3,2026-12-06 25:00:00,I01,X,,,0,0\n\
                   A4,2026-12-06 08:00:00,I01,X,,,x,0\n\
                   \n\
                   A5,2026-12-06 09:00:00,I01,X,,2026-12-06 08:00:00,0,0\n";
        let read = hub_log::read_items(&grid(csv)).unwrap();
        let bad: Vec<usize> = read.bad.iter().map(|b| b.row).collect();
        assert_eq!(bad, vec![5, 6, 8], "{:?}", read.bad);
        assert_eq!(read.rows.len(), 2);
        assert!(read.rows[1].no_read, "是 reads as yes");
        let t = tally(&hub, &plan, &read.rows);
        assert_eq!(t.bad_count, 1);
        assert_eq!(t.bad[0].row, 3);
        assert!(t.bad[0].why.contains("NOPE"));
        assert!(matches!(
            hub_log::read_items(&grid("a,b\n1,2\n")),
            Err(hub_log::LogError::NoHeader(_))
        ));
    }

    #[test]
    fn punctuality_is_counted_against_the_thresholds() {
        let at = |h: u32, m: u32| day().and_hms_opt(h, m, 0).unwrap();
        let truck = |direction, arrived, unload, planned_departure, departed| TruckRow {
            row: 0,
            truck: "T".into(),
            direction,
            arrived_at: arrived,
            planned_arrival: None,
            unload_start: unload,
            unload_end: None,
            planned_departure,
            departed_at: departed,
        };
        let trucks = vec![
            truck(
                Direction::Inbound,
                at(8, 0),
                Some(at(8, 30)),
                None,
                Some(at(9, 0)),
            ),
            truck(
                Direction::Inbound,
                at(8, 0),
                Some(at(8, 31)),
                None,
                Some(at(10, 0)),
            ),
            truck(
                Direction::Outbound,
                at(9, 0),
                None,
                Some(at(10, 0)),
                Some(at(10, 10)),
            ),
            truck(
                Direction::Outbound,
                at(9, 0),
                None,
                Some(at(10, 0)),
                Some(at(10, 11)),
            ),
        ];
        let f = figures(1000.0, &[], &[], &trucks).trucks;
        assert_eq!((f.inbound, f.outbound), (2, 2));
        assert_eq!(f.unload_on_time_share, Some(0.5));
        assert_eq!(f.departure_on_time_share, Some(0.5));
        assert_eq!(f.yard_minutes_max, Some(120));
        assert_eq!(
            f.yard_minutes_mean,
            Some((60.0 + 120.0 + 70.0 + 71.0) / 4.0)
        );
    }
}

//! The sort crate's tests at its public boundary: layouts in, plans and indicators out.

use proptest::prelude::*;
use sort::layout::{
    Chute, Destination, Induction, ItemClass, Layout, Machine, MachineKind, Sorter, Wave,
};
use sort::{GeneratorParams, Hub, Options, Plan, SimOptions, baseline, layout};

/// A ten-carrier loop where every indicator can be worked out by hand.
///
/// Loop 10 m, pitch 1 m, speed 1 m/s: ten slots, one step a second. One station at slot 0.
/// Chute A at slot 3 takes destination "near"; its bag holds one item and takes 1,000 s to
/// swap, so it takes the first "near" item and refuses everything after. Chute B at slot 8
/// takes "far" and never refuses. The exception chute X is at slot 9. Two items each for
/// "near" and "far"; an item may make one more loop after missing its chutes.
///
/// - far, far: ride 8 slots to B; sorted, travel 8 > 5, so not within half a loop.
/// - the first near item: 3 slots to A; sorted within half a loop.
/// - the second near item: refused at A (travel 3). Its next chute is A again, a loop on, at
///   travel 13 <= 20 (the limit of 1 + 1 loops): it rides on, and since 13 > 10 it passes its
///   station again: recirculated. At travel 13 A still refuses; the next A would be at travel
///   23 > 20, so it is force-ejected at X, 6 slots on, at travel 19.
///
/// So: 4 inducted, 3 sorted, 1 force-ejected; half-loop rate 1/4; recirculation 1/4;
/// force-eject rate 1/4; mean travel of sorted items (3 + 8 + 8) / 3 slots = 19/30 loop;
/// A takes 1 item, refuses 2 and swaps its bag once; B takes 2 items.
const TINY: &str = r#"
name = "tiny"
recirculation_loops_max = 1
exception_chute = "X"

[sorter]
loop_length_m = 10.0
speed_m_per_s = 1.0
carrier_pitch_m = 1.0
fill_factor = 1.0

[[inductions]]
id = "I"
position_m = 0.0
rate_per_hour = 3600.0

[[chutes]]
id = "A"
position_m = 3.0
capacity_per_hour = 3600.0
bag_items = 1
bag_swap_s = 1000.0

[[chutes]]
id = "B"
position_m = 8.0
capacity_per_hour = 3600.0
slide_items = 100
bag_items = 1000
bag_swap_s = 1.0

[[chutes]]
id = "X"
position_m = 9.0
capacity_per_hour = 3600.0
bag_items = 1000
bag_swap_s = 1.0

[[waves]]
name = "only"
duration_s = 20.0

[[destinations]]
code = "near"
volumes = [2]

[[destinations]]
code = "far"
volumes = [2]
"#;

fn tiny_plan(hub: &Hub) -> Plan {
    let mut plan = Plan::empty(hub, "by hand");
    plan.chute_destinations[0] = vec![hub.destination_idx("near").unwrap() as u32];
    plan.chute_destinations[1] = vec![hub.destination_idx("far").unwrap() as u32];
    plan
}

#[test]
fn tiny_layout_matches_the_hand_computation() {
    let hub = layout::parse_toml(TINY).unwrap();
    assert_eq!(hub.n_carriers(), 10);
    let plan = tiny_plan(&hub);
    for seed in 0..20 {
        let indicators = sort::simulate(&hub, &plan, seed);
        assert_eq!(indicators.items_inducted, 4);
        assert_eq!(indicators.items_sorted, 3);
        assert_eq!(indicators.items_force_ejected, 1);
        assert_eq!(indicators.items_without_chute, 0);
        assert_eq!(indicators.items_on_loop, 0);
        assert!((indicators.half_loop_drop_rate - 0.25).abs() < 1e-12);
        assert!((indicators.recirculation_rate - 0.25).abs() < 1e-12);
        assert!((indicators.force_eject_rate - 0.25).abs() < 1e-12);
        assert!((indicators.mean_travel_loops - 19.0 / 30.0).abs() < 1e-12);
        let (chute_a, chute_b) = (&indicators.chutes[0], &indicators.chutes[1]);
        assert_eq!(
            (chute_a.items, chute_a.refusals, chute_a.bag_swaps),
            (1, 2, 1)
        );
        assert_eq!((chute_b.items, chute_b.refusals), (2, 0));
        assert!(indicators.waves[0].clear_s.is_some());
    }
}

#[test]
fn a_destination_without_chute_goes_to_the_exception_chute() {
    let hub = layout::parse_toml(TINY).unwrap();
    let mut plan = tiny_plan(&hub);
    plan.chute_destinations[1].clear();
    assert_eq!(
        plan.destinations_without_chute(&hub),
        vec!["far".to_string()]
    );
    let indicators = sort::simulate(&hub, &plan, 3);
    assert_eq!(indicators.items_without_chute, 2);
    assert_eq!(indicators.items_sorted, 1);
}

fn assert_conserved(indicators: &sort::Indicators) {
    assert_eq!(
        indicators.items_inducted,
        indicators.items_sorted
            + indicators.items_force_ejected
            + indicators.items_without_chute
            + indicators.items_on_loop
    );
    assert_eq!(
        indicators.items_offered,
        indicators.items_inducted + indicators.items_waiting
    );
    let dropped: u64 = indicators.chutes.iter().map(|c| c.items).sum();
    assert_eq!(dropped, indicators.items_sorted);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Stopped anywhere, every item inducted has been dropped, ejected, or is still riding.
    #[test]
    fn items_are_conserved(seed in 0u64..1_000, stop_s in 1.0f64..11_000.0, load in 0.7f64..1.05) {
        let hub = sort::generate(&GeneratorParams { load, n_waves: 3 }, seed);
        let mut plan = baseline::greedy(&hub);
        // Leave one destination without a chute so that path is conserved too.
        let first_used = plan.chute_destinations.iter().position(|d| !d.is_empty()).unwrap();
        plan.chute_destinations[first_used].clear();
        let stopped = sort::simulate_with(&hub, &plan, &SimOptions { seed, stop_after_s: Some(stop_s) });
        assert_conserved(&stopped);
        let finished = sort::simulate(&hub, &plan, seed);
        assert_conserved(&finished);
        prop_assert_eq!(finished.items_on_loop, 0);
        prop_assert_eq!(finished.items_waiting, 0);
        prop_assert!(finished.waves.iter().all(|w| w.clear_s.is_some()));
    }
}

#[test]
fn same_seed_same_result() {
    let params = GeneratorParams::default();
    assert_eq!(
        sort::generate_layout(&params, 11),
        sort::generate_layout(&params, 11)
    );
    assert_ne!(
        sort::generate_layout(&params, 11),
        sort::generate_layout(&params, 12)
    );
    let hub = sort::generate(&params, 11);
    let options = Options {
        seed: 5,
        budget: 4,
        ..Options::default()
    };
    let plan = sort::optimise(&hub, &options);
    assert_eq!(plan, sort::optimise(&hub, &options));
    let indicators = sort::simulate(&hub, &plan, 9);
    assert_eq!(indicators, sort::simulate(&hub, &plan, 9));
    assert_ne!(indicators, sort::simulate(&hub, &plan, 10));
}

fn small_layout() -> impl Strategy<Value = Layout> {
    (
        1usize..5,
        2usize..14,
        1usize..25,
        1usize..4,
        1usize..5,
        any::<u64>(),
    )
        .prop_map(
            |(n_inductions, n_chutes, n_destinations, n_classes, n_machines, salt)| {
                // A cheap deterministic stream from the salt, so the shape varies with each case.
                let mut state = salt | 1;
                let mut next = move |range: u64| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state % range
                };
                let loop_length_m = 40.0;
                let inductions = (0..n_inductions)
                    .map(|i| Induction {
                        id: format!("I{i}"),
                        position_m: next(400) as f64 / 10.0,
                        rate_per_hour: 1_000.0 + next(3_000) as f64,
                    })
                    .collect();
                let chutes = (0..n_chutes)
                    .map(|c| Chute {
                        id: format!("C{c}"),
                        position_m: next(400) as f64 / 10.0,
                        capacity_per_hour: 300.0 + next(900) as f64,
                        slide_items: 1 + next(6) as u32,
                        bag_items: 1 + next(60) as u32,
                        bag_swap_s: 5.0 + next(60) as f64,
                    })
                    .collect();
                // Light days (every destination fits one chute) and heavy ones.
                let volume_max = [20, 300][next(2) as usize];
                let destinations = (0..n_destinations)
                    .map(|d| Destination {
                        code: format!("D{d}"),
                        volumes: vec![1 + next(volume_max), next(volume_max / 3)],
                    })
                    .collect::<Vec<_>>();
                let mut weights: Vec<f64> = (0..n_classes).map(|_| 1.0 + next(10) as f64).collect();
                let weight_sum: f64 = weights.iter().sum();
                weights.iter_mut().for_each(|w| *w /= weight_sum);
                let last = 1.0 - weights[..n_classes - 1].iter().sum::<f64>();
                weights[n_classes - 1] = last;
                let item_classes = weights
                    .iter()
                    .enumerate()
                    .map(|(k, &share)| ItemClass {
                        name: format!("K{k}"),
                        weight_kg_max: 1.0 + next(40) as f64,
                        length_mm_max: 100.0 + next(1_500) as f64,
                        width_mm_max: 100.0 + next(800) as f64,
                        height_mm_max: 100.0 + next(800) as f64,
                        share,
                    })
                    .collect();
                let kinds = [
                    MachineKind::CrossBeltDouble,
                    MachineKind::SmallParcel,
                    MachineKind::SwivelWheel,
                    MachineKind::Manual,
                ];
                let machines = (0..n_machines)
                    .map(|m| Machine {
                        name: format!("M{m}"),
                        kind: kinds[m % kinds.len()],
                        weight_kg_max: 1.0 + next(60) as f64,
                        length_mm_max: 100.0 + next(2_000) as f64,
                        width_mm_max: 100.0 + next(1_000) as f64,
                        height_mm_max: 100.0 + next(1_000) as f64,
                        capacity_per_hour: 10.0 + next(2_000) as f64,
                        destinations: (next(2) == 0).then(|| {
                            (0..n_destinations)
                                .filter(|_| next(2) == 0)
                                .map(|d| format!("D{d}"))
                                .collect()
                        }),
                    })
                    .collect();
                Layout {
                    name: "small".into(),
                    sorter: Sorter {
                        loop_length_m,
                        speed_m_per_s: 2.0,
                        carrier_pitch_m: 0.5,
                        fill_factor: 0.9,
                    },
                    recirculation_loops_max: next(3) as u32,
                    exception_chute: format!("C{}", next(n_chutes as u64)),
                    inductions,
                    chutes,
                    waves: vec![
                        Wave {
                            name: "first".into(),
                            duration_s: 600.0,
                        },
                        Wave {
                            name: "second".into(),
                            duration_s: 300.0,
                        },
                    ],
                    destinations,
                    item_classes,
                    machines,
                }
            },
        )
}

fn assert_plan_covers(hub: &Hub, plan: &Plan) {
    plan.check(hub).unwrap();
    assert!(
        plan.destinations_without_chute(hub).is_empty(),
        "{} leaves destinations without a chute",
        plan.name
    );
}

fn assert_allocation_within_envelopes(hub: &Hub) {
    let layout = hub.layout();
    let allocation = sort::allocate(hub).unwrap();
    let wave_idx = layout
        .waves
        .iter()
        .position(|w| w.name == allocation.wave)
        .unwrap();
    let wave_s = layout.waves[wave_idx].duration_s;
    for flow in &allocation.flows {
        let class = layout
            .item_classes
            .iter()
            .find(|c| c.name == flow.class)
            .unwrap();
        let machine = layout
            .machines
            .iter()
            .find(|m| m.name == flow.machine)
            .unwrap();
        assert!(
            sort::equipment::fits(class, machine),
            "{flow:?} outside the envelope"
        );
        let reachable: f64 = layout
            .destinations
            .iter()
            .filter(|d| {
                machine
                    .destinations
                    .as_ref()
                    .is_none_or(|codes| codes.contains(&d.code))
            })
            .map(|d| d.volumes[wave_idx] as f64 * 3600.0 / wave_s)
            .sum();
        assert!(flow.items_per_hour <= class.share * reachable * (1.0 + 1e-6) + 1e-6);
    }
    for load in &allocation.machines {
        assert!(
            load.load_per_hour <= load.capacity_per_hour * (1.0 + 1e-6) + 1e-6,
            "{load:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// On small random hubs (often more destinations than chutes), every plan gives every
    /// destination a chute and the allocation keeps within every machine's envelope.
    #[test]
    fn small_hubs_are_fully_planned(layout in small_layout()) {
        let hub = Hub::new(layout).unwrap();
        let plan = sort::optimise(&hub, &Options { seed: 1, budget: 3, ..Options::default() });
        assert_plan_covers(&hub, &plan);
        assert_plan_covers(&hub, &baseline::code_order(&hub));
        assert_plan_covers(&hub, &baseline::greedy(&hub));
        let indicators = sort::simulate(&hub, &plan, 2);
        assert_conserved(&indicators);
        prop_assert_eq!(indicators.items_without_chute, 0);
        assert_allocation_within_envelopes(&hub);
        // Chutes are shared only when there are too few, unless sharing is allowed to pay:
        // here every destination needs one chute at the default 75% target, and there are
        // enough.
        let layout = hub.layout();
        let n_assignable = layout.chutes.len() - 1;
        let capacity_mean = layout
            .chutes
            .iter()
            .enumerate()
            .filter(|&(c, _)| c != hub.exception_chute_idx())
            .map(|(_, chute)| chute.capacity_per_hour)
            .sum::<f64>()
            / n_assignable as f64;
        let one_chute_each = hub.peak_rates_per_hour().iter().all(|&rate| rate <= 0.75 * capacity_mean);
        if layout.destinations.len() <= n_assignable && one_chute_each {
            let unshared = sort::optimise(&hub, &Options { budget: 0, shared_chute_penalty: 1e9, ..Options::default() });
            prop_assert!(unshared.chute_destinations.iter().all(|d| d.len() <= 1));
            prop_assert_eq!(baseline::greedy(&hub).shared_share(&hub), 0.0);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn generated_hubs_are_fully_planned(seed in 0u64..10_000, load in 0.7f64..1.0) {
        let hub = sort::generate(&GeneratorParams { load, n_waves: 2 }, seed);
        let plan = sort::optimise(&hub, &Options { seed, budget: 2, ..Options::default() });
        assert_plan_covers(&hub, &plan);
        assert_allocation_within_envelopes(&hub);
    }
}

#[test]
fn generated_hubs_keep_to_the_published_ranges() {
    for seed in 0..20 {
        let hub = sort::generate(&GeneratorParams::default(), seed);
        let layout = hub.layout();
        assert!((200..=400).contains(&layout.chutes.len()));
        assert!((100..=300).contains(&layout.destinations.len()));
        assert!((4..=20).contains(&layout.inductions.len()));
        assert!(
            layout
                .inductions
                .iter()
                .all(|i| (1_400.0..=4_000.0).contains(&i.rate_per_hour))
        );
        assert!((1.5..=2.5).contains(&layout.sorter.speed_m_per_s));
        assert!((0.5..=0.8).contains(&layout.sorter.carrier_pitch_m));
        let mut volumes: Vec<u64> = layout
            .destinations
            .iter()
            .map(|d| d.volumes.iter().sum())
            .collect();
        volumes.sort_unstable_by(|a, b| b.cmp(a));
        let total: u64 = volumes.iter().sum();
        let top: u64 = volumes[..volumes.len() / 10].iter().sum();
        let top_share = top as f64 / total as f64;
        assert!(
            (0.6..=0.8).contains(&top_share),
            "top 10% carry {top_share}"
        );
        let offered: f64 =
            total as f64 * 3600.0 / layout.waves.iter().map(|w| w.duration_s).sum::<f64>();
        assert!((offered / hub.nameplate_per_hour() - 0.85).abs() < 0.02);
    }
}

/// The optimiser's placement, without the simulator, reaches at least the half-loop share the
/// baselines do when no chute refuses an item.
#[test]
fn optimiser_places_at_least_as_well_as_the_baselines() {
    for seed in 0..6 {
        let hub = sort::generate(&GeneratorParams::default(), seed);
        let ours = sort::optimise::construct(&hub, &Options::default());
        let ours_rate = ours.static_half_loop_rate(&hub);
        for baseline in [baseline::code_order(&hub), baseline::greedy(&hub)] {
            let rate = baseline.static_half_loop_rate(&hub);
            assert!(
                ours_rate >= rate,
                "seed {seed}: ours {ours_rate} < {} {rate}",
                baseline.name
            );
        }
    }
}

#[test]
fn layouts_round_trip_through_both_formats() {
    let layout = sort::generate_layout(&GeneratorParams::default(), 4);
    // Compared by truth rather than assert_eq!, whose failure would print the whole hub.
    let from_json = layout::parse_json(&layout::to_json(&layout)).unwrap();
    assert!(from_json.layout() == &layout, "JSON changed the layout");
    let from_toml = layout::parse_toml(&layout::to_toml(&layout)).unwrap();
    assert!(from_toml.layout() == &layout, "TOML changed the layout");
    for text in [layout::to_json(&layout), layout::to_toml(&layout)] {
        assert!(layout::parse(&text).unwrap().layout() == &layout);
    }
}

#[test]
fn the_documented_example_parses() {
    let format = include_str!("../FORMAT.md");
    let start = format.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + format[start..].find("```").unwrap();
    let hub = layout::parse_toml(&format[start..end]).unwrap();
    assert_eq!(hub.layout().chutes.len(), 4);
    let evaluation = sort::evaluate(&hub, &Options::default(), 1);
    let page = sort::report::html(&hub, &evaluation);
    assert!(page.contains("<svg") && page.contains("半圈落格率"));
    for result in [&evaluation.ours, &evaluation.greedy, &evaluation.code_order] {
        let shown = format!("{:.1}%", result.indicators.half_loop_drop_rate * 100.0);
        assert!(
            page.contains(&shown),
            "{} half-loop rate {shown} not shown",
            result.name
        );
    }
    // Self-contained: nothing fetched from elsewhere.
    for fetch in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!page.contains(fetch), "the page contains {fetch}");
    }
    assert!(evaluation.allocation.is_some() && evaluation.allocation_error.is_none());
}

/// Each malformed layout is refused with a message that names the place and the fault.
#[test]
fn malformed_layouts_are_refused_clearly() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"name = "x"
[sorter
"#,
            &["line 2"],
        ),
        (
            &TINY.replace("position_m = 3.0", "postion_m = 3.0"),
            &["line ", "postion_m"],
        ),
        (
            &TINY.replace("speed_m_per_s = 1.0", "speed_m_per_s = -1.0"),
            &["line 8", "sorter", "speed_m_per_s is -1"],
        ),
        (
            &TINY.replace("id = \"B\"", "id = \"A\""),
            &["line 25", "chutes[1]", "\"A\"", "earlier chute"],
        ),
        (
            &TINY.replace("exception_chute = \"X\"", "exception_chute = \"Z\""),
            &[
                "line 4: exception_chute",
                "\"Z\" is not the id of any chute",
            ],
        ),
        (
            &TINY.replace(
                "volumes = [2]\n\n[[destinations]]\ncode = \"far\"",
                "volumes = [2, 3]\n\n[[destinations]]\ncode = \"far\"",
            ),
            &["destinations[0]", "\"near\"", "one per wave"],
        ),
        (
            &TINY.replace("position_m = 8.0", "position_m = 12.0"),
            &["line 25", "chutes[1]", "loop length 10"],
        ),
        (
            &TINY.replace("bag_items = 1\n", "bag_items = 0\n"),
            &["chutes[0]", "bag_items"],
        ),
        (
            &TINY.replace("volumes = [2]", "volumes = [0]").replace(
                "volumes = [0]\n\n[[destinations]]\ncode = \"far\"\nvolumes = [2]",
                "volumes = [0]\n\n[[destinations]]\ncode = \"far\"\nvolumes = [0]",
            ),
            &["no destination has any items"],
        ),
        (
            &TINY.replace("fill_factor = 1.0", "fill_factor = 1.5"),
            &["fill_factor"],
        ),
    ];
    for (source, expected) in cases {
        let error = layout::parse_toml(source).expect_err(source).to_string();
        for fragment in *expected {
            assert!(
                error.contains(fragment),
                "{error:?} should mention {fragment:?}"
            );
        }
    }
    let json_error = layout::parse_json("{\"name\": \"x\",\n \"sorter\": 3}")
        .unwrap_err()
        .to_string();
    assert!(json_error.starts_with("line 2"), "{json_error}");
    let oversized = " ".repeat(layout::SOURCE_BYTES_MAX + 1);
    assert!(
        layout::parse_json(&oversized)
            .unwrap_err()
            .to_string()
            .contains("at most")
    );
    let json = layout::to_json(layout::parse_toml(TINY).unwrap().layout());
    let broken = json.replace("\"bag_swap_s\": 1000.0", "\"bag_swap_s\": \"soon\"");
    assert!(
        layout::parse_json(&broken)
            .unwrap_err()
            .to_string()
            .contains("line ")
    );
}

//! Instance generator grounded in published figures for Chinese regional sorting centres.
//!
//! Ranges from the issue: 200–400 chutes, 100–300 destinations with a 70/20/10 volume skew
//! (the busiest 10% of destinations carry 70% of items, the next 20% carry 20%, the rest 10%),
//! 4–20 induction stations at 1,400–4,000 items an hour each, loop speed 1.5–2.5 m/s, carrier
//! pitch 0.5–0.8 m, and offered load as a share of nameplate.
//!
//! The geometry is the common double-sided loop: two groups of induction stations on opposite
//! ends of the loop, with chutes on both sides of the track along the two straights between
//! them, and the exception chute last before the first group. Chute slides, bags and swap
//! times are typical of manual bagging (about 900 items an hour per chute, 40–60 items a bag,
//! 30–45 s a swap).

use rand::{Rng, SeedableRng};

use crate::layout::{
    Chute, Destination, Hub, Induction, ItemClass, Layout, Machine, MachineKind, Sorter, Wave,
};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorParams {
    /// Offered items as a share of the sorter's nameplate rate (0.7, 0.85, 1.0 in the benchmark).
    pub load: f64,
    /// Waves in the day; each lasts one hour.
    pub n_waves: usize,
}

impl Default for GeneratorParams {
    fn default() -> Self {
        GeneratorParams {
            load: 0.85,
            n_waves: 3,
        }
    }
}

const CHUTE_PAIR_PITCH_M: f64 = 1.2;
const STATION_PITCH_M: f64 = 3.0;
const WAVE_S: f64 = 3600.0;

/// Generates the layout of a hub; see the module documentation for what is drawn.
pub fn generate_layout(params: &GeneratorParams, seed: u64) -> Layout {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ 0x005e_ed0f_5047);
    let speed_m_per_s: f64 = rng.random_range(1.5..=2.5);
    let carrier_pitch_m: f64 = rng.random_range(0.5..=0.8);
    let fill_factor: f64 = rng.random_range(0.85..=0.95);
    let nameplate_per_hour = 3600.0 * speed_m_per_s / carrier_pitch_m * fill_factor;

    // Stations together can take 15% more than nameplate, so at full load the loop, not the
    // stations, is what limits.
    let station_total_per_hour = nameplate_per_hour * 1.15;
    let n_inductions = ((station_total_per_hour / rng.random_range(1_800.0..3_200.0f64)).round()
        as usize)
        .clamp(4, 20);
    let station_rate = (station_total_per_hour / n_inductions as f64).clamp(1_400.0, 4_000.0);
    let n_first_group = ((n_inductions as f64 * rng.random_range(0.5..0.7)).round() as usize)
        .clamp(2, n_inductions - 2);
    let n_second_group = n_inductions - n_first_group;

    let n_chutes: usize = rng.random_range(200..=400);
    let n_chute_pairs = n_chutes.div_ceil(2);
    let pairs_first_straight = n_chute_pairs / 2;
    let pairs_second_straight = n_chute_pairs - pairs_first_straight;
    let first_group_m = n_first_group as f64 * STATION_PITCH_M;
    let second_group_m = n_second_group as f64 * STATION_PITCH_M;
    let first_straight_m = pairs_first_straight as f64 * CHUTE_PAIR_PITCH_M;
    let second_straight_m = pairs_second_straight as f64 * CHUTE_PAIR_PITCH_M;
    let loop_length_m = first_group_m + first_straight_m + second_group_m + second_straight_m;

    let mut inductions = Vec::with_capacity(n_inductions);
    for station in 0..n_inductions {
        let position_m = if station < n_first_group {
            station as f64 * STATION_PITCH_M
        } else {
            first_group_m + first_straight_m + (station - n_first_group) as f64 * STATION_PITCH_M
        };
        inductions.push(Induction {
            id: format!("I{:02}", station + 1),
            position_m,
            rate_per_hour: station_rate.round(),
        });
    }

    let bag_items = rng.random_range(40..=60);
    let bag_swap_s = rng.random_range(30.0..=45.0f64).round();
    let mut chutes = Vec::with_capacity(n_chutes);
    for chute in 0..n_chutes {
        let pair = chute / 2;
        let position_m = if pair < pairs_first_straight {
            first_group_m + (pair as f64 + 0.5) * CHUTE_PAIR_PITCH_M
        } else {
            first_group_m
                + first_straight_m
                + second_group_m
                + ((pair - pairs_first_straight) as f64 + 0.5) * CHUTE_PAIR_PITCH_M
        };
        chutes.push(Chute {
            id: format!("C{:03}", chute + 1),
            position_m: (position_m * 100.0).round() / 100.0,
            capacity_per_hour: 900.0,
            slide_items: 6,
            bag_items,
            bag_swap_s,
        });
    }
    let exception_chute = chutes[n_chutes - 1].id.clone();

    let n_destinations: usize = rng.random_range(100..=300);
    let weights = skewed_weights(&mut rng, n_destinations);
    let waves: Vec<Wave> = (0..params.n_waves.max(1))
        .map(|wave| Wave {
            name: format!("wave-{}", wave + 1),
            duration_s: WAVE_S,
        })
        .collect();
    let wave_items = params.load * nameplate_per_hour * WAVE_S / 3600.0;
    let mut volumes = vec![Vec::with_capacity(waves.len()); n_destinations];
    for _ in &waves {
        // Each wave shifts the mix a little: the same destinations stay busy, but not equally.
        let shifted: Vec<f64> = weights
            .iter()
            .map(|&weight| weight * rng.random_range(0.7..1.3))
            .collect();
        let shifted_sum: f64 = shifted.iter().sum();
        for (destination, &weight) in shifted.iter().enumerate() {
            volumes[destination].push((wave_items * weight / shifted_sum).round() as u64);
        }
    }
    let destinations = volumes
        .into_iter()
        .enumerate()
        .map(|(destination, volumes)| Destination {
            code: format!("D{:03}", destination + 1),
            volumes,
        })
        .collect::<Vec<_>>();

    let (item_classes, machines) = equipment(&destinations, nameplate_per_hour * params.load);
    Layout {
        name: format!("generated-{seed}-load{:.0}", params.load * 100.0),
        sorter: Sorter {
            loop_length_m: (loop_length_m * 100.0).round() / 100.0,
            speed_m_per_s: (speed_m_per_s * 100.0f64).round() / 100.0,
            carrier_pitch_m: (carrier_pitch_m * 1000.0f64).round() / 1000.0,
            fill_factor: (fill_factor * 100.0f64).round() / 100.0,
        },
        recirculation_loops_max: 2,
        exception_chute,
        inductions,
        chutes,
        waves,
        destinations,
        item_classes,
        machines,
    }
}

/// Generates a validated hub.
pub fn generate(params: &GeneratorParams, seed: u64) -> Hub {
    Hub::new(generate_layout(params, seed)).expect("the generator makes valid layouts")
}

/// Destination weights with the 70/20/10 skew; within a tier weights vary by a factor of three
/// so that no two destinations are quite alike. The order is shuffled so that codes say nothing
/// about volume.
fn skewed_weights(rng: &mut impl Rng, n_destinations: usize) -> Vec<f64> {
    let n_top = (n_destinations / 10).max(1);
    let n_middle = (n_destinations / 5).max(1);
    let n_rest = n_destinations - n_top - n_middle;
    let mut weights = Vec::with_capacity(n_destinations);
    for (count, tier_share) in [(n_top, 0.7), (n_middle, 0.2), (n_rest, 0.1)] {
        let raw: Vec<f64> = (0..count).map(|_| rng.random_range(0.5..1.5)).collect();
        let raw_sum: f64 = raw.iter().sum();
        weights.extend(raw.iter().map(|w| tier_share * w / raw_sum));
    }
    use rand::seq::SliceRandom;
    weights.shuffle(rng);
    weights
}

/// Item classes and machines of a typical hub, with capacities scaled to its flow. The swivel
/// wheel sorter reaches only the busiest destinations (it feeds their trailers directly).
fn equipment(destinations: &[Destination], flow_per_hour: f64) -> (Vec<ItemClass>, Vec<Machine>) {
    let class = |name: &str, weight, length, width, height, share| ItemClass {
        name: name.to_string(),
        weight_kg_max: weight,
        length_mm_max: length,
        width_mm_max: width,
        height_mm_max: height,
        share,
    };
    let item_classes = vec![
        class("small", 3.0, 350.0, 250.0, 150.0, 0.55),
        class("medium", 15.0, 600.0, 450.0, 400.0, 0.30),
        class("large", 30.0, 1_000.0, 700.0, 600.0, 0.12),
        class("irregular", 60.0, 1_800.0, 800.0, 800.0, 0.03),
    ];
    let mut by_volume: Vec<&Destination> = destinations.iter().collect();
    by_volume.sort_by_key(|d| std::cmp::Reverse(d.volumes.iter().sum::<u64>()));
    let busiest: Vec<String> = by_volume
        .iter()
        .take((destinations.len() / 10).max(1))
        .map(|d| d.code.clone())
        .collect();
    let machine =
        |name: &str, kind, envelope: [f64; 4], capacity: f64, reach: Option<Vec<String>>| Machine {
            name: name.to_string(),
            kind,
            weight_kg_max: envelope[0],
            length_mm_max: envelope[1],
            width_mm_max: envelope[2],
            height_mm_max: envelope[3],
            capacity_per_hour: (capacity * flow_per_hour).round().max(1.0),
            destinations: reach,
        };
    let machines = vec![
        machine(
            "cross-belt",
            MachineKind::CrossBeltDouble,
            [30.0, 1_000.0, 700.0, 600.0],
            0.8,
            None,
        ),
        machine(
            "small-parcel",
            MachineKind::SmallParcel,
            [5.0, 400.0, 300.0, 250.0],
            0.4,
            None,
        ),
        machine(
            "swivel-wheel",
            MachineKind::SwivelWheel,
            [60.0, 1_800.0, 1_000.0, 900.0],
            0.3,
            Some(busiest),
        ),
        machine(
            "manual",
            MachineKind::Manual,
            [100.0, 3_000.0, 1_500.0, 1_500.0],
            0.1,
            None,
        ),
    ];
    (item_classes, machines)
}

//! The layout file (JSON or TOML) and its validation into a [`Hub`]: parse, don't validate.
//!
//! The format is documented in `crates/sort/FORMAT.md`. Every refusal names the entry and,
//! where it can be found, the line, and says what is wrong.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Largest layout file accepted.
pub const SOURCE_BYTES_MAX: usize = 16 * 1024 * 1024;
pub const CHUTES_MAX: usize = 2_000;
pub const INDUCTIONS_MAX: usize = 100;
pub const DESTINATIONS_MAX: usize = 5_000;
pub const WAVES_MAX: usize = 48;
pub const ITEM_CLASSES_MAX: usize = 64;
pub const MACHINES_MAX: usize = 64;
pub const LOOP_LENGTH_M_MAX: f64 = 5_000.0;
pub const CARRIERS_MAX: u32 = 100_000;
/// Items over the whole day; bounds the simulator's memory (about 40 bytes an item).
pub const ITEMS_PER_DAY_MAX: u64 = 10_000_000;
pub const WAVE_DURATION_S_MAX: f64 = 24.0 * 3600.0;
pub const RECIRCULATION_LOOPS_MAX: u32 = 20;
pub const ID_BYTES_MAX: usize = 64;

/// The loop sorter itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sorter {
    pub loop_length_m: f64,
    pub speed_m_per_s: f64,
    pub carrier_pitch_m: f64,
    /// Share of carriers that may be loaded (the rest are out of service or reserved for
    /// long items that take two carriers).
    pub fill_factor: f64,
}

/// An induction station (供包台) where items are put onto the loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Induction {
    pub id: String,
    /// Distance along the loop, in the direction of travel, from the loop's origin.
    pub position_m: f64,
    /// The most items an hour the station can put on the loop; items reach the stations in
    /// proportion to it.
    pub rate_per_hour: f64,
}

/// A chute (格口): one exit of the sorter, with a slide that drains into a bag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chute {
    pub id: String,
    pub position_m: f64,
    /// Items an hour the slide drains into the bag.
    pub capacity_per_hour: f64,
    /// Items the slide holds before it refuses more.
    #[serde(default = "default_slide_items")]
    pub slide_items: u32,
    /// Items in a full bag; the chute closes while the bag is swapped.
    pub bag_items: u32,
    pub bag_swap_s: f64,
}

fn default_slide_items() -> u32 {
    5
}

/// A wave: a stretch of the day with its own mix of destinations. Waves follow each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    pub name: String,
    pub duration_s: f64,
}

/// A destination (路向) and its items in each wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    pub code: String,
    /// Items in each wave, in the order of `waves`.
    pub volumes: Vec<u64>,
}

/// A class of items by weight and size, with its share of all items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemClass {
    pub name: String,
    pub weight_kg_max: f64,
    pub length_mm_max: f64,
    pub width_mm_max: f64,
    pub height_mm_max: f64,
    pub share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineKind {
    /// 双层交叉带
    CrossBeltDouble,
    /// 小件分拣机
    SmallParcel,
    /// 摆轮分拣机
    SwivelWheel,
    /// 人工
    Manual,
}

/// A sorting machine with its size envelope, capacity and the destinations it reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub name: String,
    pub kind: MachineKind,
    pub weight_kg_max: f64,
    pub length_mm_max: f64,
    pub width_mm_max: f64,
    pub height_mm_max: f64,
    pub capacity_per_hour: f64,
    /// Destination codes the machine reaches; absent means all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<String>>,
}

/// The whole file: a hub's sorter, its stations and chutes, and the day's volumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub name: String,
    pub sorter: Sorter,
    /// Loops an item may make after missing its chutes before it is force-ejected.
    pub recirculation_loops_max: u32,
    /// Id of the chute that takes force-ejected items and items without a chute.
    pub exception_chute: String,
    pub inductions: Vec<Induction>,
    pub chutes: Vec<Chute>,
    pub waves: Vec<Wave>,
    pub destinations: Vec<Destination>,
    #[serde(default)]
    pub item_classes: Vec<ItemClass>,
    #[serde(default)]
    pub machines: Vec<Machine>,
}

/// Why a layout was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayoutError {
    #[error("the layout is {bytes} bytes; at most {SOURCE_BYTES_MAX} are accepted")]
    TooLarge { bytes: usize },
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}{path}: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    Invalid {
        /// Where the entry is, e.g. `chutes[3] (id "C004")`.
        path: String,
        line: Option<usize>,
        message: String,
    },
}

/// Parses and validates a JSON layout.
pub fn parse_json(source: &str) -> Result<Hub, LayoutError> {
    check_size(source)?;
    let layout: Layout = serde_json::from_str(source).map_err(|error| LayoutError::Syntax {
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })?;
    Hub::new(layout).map_err(|error| locate(error, source))
}

/// Parses and validates a TOML layout.
pub fn parse_toml(source: &str) -> Result<Hub, LayoutError> {
    check_size(source)?;
    let layout: Layout = toml::from_str(source).map_err(|error| {
        let (line, column) = error
            .span()
            .map(|span| line_column(source, span.start))
            .unwrap_or((0, 0));
        LayoutError::Syntax {
            line,
            column,
            message: error.message().to_string(),
        }
    })?;
    Hub::new(layout).map_err(|error| locate(error, source))
}

/// Parses a layout in either format: JSON when it starts with `{`, TOML otherwise.
pub fn parse(source: &str) -> Result<Hub, LayoutError> {
    if source.trim_start().starts_with('{') {
        parse_json(source)
    } else {
        parse_toml(source)
    }
}

/// Writes a layout as pretty JSON (the generator's output, for instance).
pub fn to_json(layout: &Layout) -> String {
    serde_json::to_string_pretty(layout).expect("a layout always serialises")
}

/// Writes a layout as TOML.
pub fn to_toml(layout: &Layout) -> String {
    toml::to_string(layout).expect("a layout always serialises")
}

fn check_size(source: &str) -> Result<(), LayoutError> {
    if source.len() > SOURCE_BYTES_MAX {
        return Err(LayoutError::TooLarge {
            bytes: source.len(),
        });
    }
    Ok(())
}

fn line_column(source: &str, byte_offset: usize) -> (usize, usize) {
    let before = &source[..byte_offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}

/// Serde gives no positions for values, so a semantic error is placed on the line that holds
/// the offending entry's id in quotes (ids are unique, except in the duplicate-id error, which
/// points at the second), or else on the first line naming the field the message starts with.
fn locate(error: LayoutError, source: &str) -> LayoutError {
    match error {
        LayoutError::Invalid {
            path,
            line: None,
            message,
        } => {
            let by_id = path.split('"').nth(1).and_then(|id| {
                let quoted = format!("\"{id}\"");
                let skip = usize::from(message.contains("earlier"));
                source
                    .lines()
                    .enumerate()
                    .filter(|(_, text)| text.contains(&quoted))
                    .nth(skip)
                    .map(|(index, _)| index)
            });
            let is_field = |word: &str| {
                !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            };
            let by_field = || {
                [message.split(' ').next().unwrap_or(""), path.as_str()]
                    .into_iter()
                    .filter(|word| is_field(word))
                    .find_map(|field| source.lines().position(|text| text.contains(field)))
            };
            let line = by_id.or_else(by_field).map(|index| index + 1);
            LayoutError::Invalid {
                path,
                line,
                message,
            }
        }
        other => other,
    }
}

/// A validated layout with the indexes the simulator and optimiser need.
#[derive(Debug, Clone)]
pub struct Hub {
    layout: Layout,
    n_carriers: u32,
    induction_slots: Vec<u32>,
    chute_slots: Vec<u32>,
    exception_chute_idx: usize,
    destination_idx_by_code: HashMap<String, usize>,
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> LayoutError {
    LayoutError::Invalid {
        path: path.into(),
        line: None,
        message: message.into(),
    }
}

fn check_id(path: &str, id: &str) -> Result<(), LayoutError> {
    if id.trim().is_empty() {
        return Err(invalid(path, "the id is empty"));
    }
    if id.len() > ID_BYTES_MAX || id.contains('"') {
        return Err(invalid(
            path,
            format!("the id must be at most {ID_BYTES_MAX} bytes without quotes"),
        ));
    }
    Ok(())
}

fn check_positive(path: &str, field: &str, value: f64, max: f64) -> Result<(), LayoutError> {
    if !(value.is_finite() && value > 0.0 && value <= max) {
        return Err(invalid(
            path,
            format!("{field} is {value}; it must be above 0 and at most {max}"),
        ));
    }
    Ok(())
}

impl Hub {
    /// Validates a layout. Errors name the entry (`chutes[3] (id "C004")`) and what is wrong.
    pub fn new(layout: Layout) -> Result<Hub, LayoutError> {
        let sorter = &layout.sorter;
        check_positive(
            "sorter",
            "loop_length_m",
            sorter.loop_length_m,
            LOOP_LENGTH_M_MAX,
        )?;
        check_positive("sorter", "speed_m_per_s", sorter.speed_m_per_s, 10.0)?;
        check_positive("sorter", "carrier_pitch_m", sorter.carrier_pitch_m, 5.0)?;
        // Bounds the simulator's steps: at most 10 m/s over at least 0.1 m is 100 steps a
        // second, so a simulated week stays within a 32-bit step count.
        if sorter.carrier_pitch_m < 0.1 {
            return Err(invalid(
                "sorter",
                format!(
                    "carrier_pitch_m is {}; carriers are at least 0.1 m apart",
                    sorter.carrier_pitch_m
                ),
            ));
        }
        check_positive("sorter", "fill_factor", sorter.fill_factor, 1.0)?;
        let n_carriers_float = (sorter.loop_length_m / sorter.carrier_pitch_m).round();
        if !(8.0..=CARRIERS_MAX as f64).contains(&n_carriers_float) {
            return Err(invalid(
                "sorter",
                format!(
                    "loop_length_m / carrier_pitch_m gives {n_carriers_float} carriers; between 8 and {CARRIERS_MAX} are accepted"
                ),
            ));
        }
        let n_carriers = n_carriers_float as u32;
        if layout.recirculation_loops_max > RECIRCULATION_LOOPS_MAX {
            return Err(invalid(
                "recirculation_loops_max",
                format!(
                    "{} loops; at most {RECIRCULATION_LOOPS_MAX} are accepted",
                    layout.recirculation_loops_max
                ),
            ));
        }
        let slot_of = |position_m: f64| -> u32 {
            ((position_m / sorter.carrier_pitch_m).round() as u32) % n_carriers
        };
        let check_position = |path: &str, position_m: f64| -> Result<(), LayoutError> {
            if !(position_m.is_finite() && position_m >= 0.0 && position_m < sorter.loop_length_m) {
                return Err(invalid(
                    path,
                    format!(
                        "position_m is {position_m}; it must be at least 0 and less than the loop length {} m",
                        sorter.loop_length_m
                    ),
                ));
            }
            Ok(())
        };

        check_count("inductions", layout.inductions.len(), INDUCTIONS_MAX)?;
        if layout.inductions.is_empty() {
            return Err(invalid(
                "inductions",
                "at least one induction station is needed",
            ));
        }
        let mut induction_ids = HashMap::new();
        let mut induction_slots = Vec::with_capacity(layout.inductions.len());
        for (idx, induction) in layout.inductions.iter().enumerate() {
            let path = format!("inductions[{idx}] (id \"{}\")", induction.id);
            check_id(&path, &induction.id)?;
            if induction_ids.insert(induction.id.as_str(), idx).is_some() {
                return Err(invalid(path, "this id is used by an earlier induction"));
            }
            check_position(&path, induction.position_m)?;
            check_positive(&path, "rate_per_hour", induction.rate_per_hour, 100_000.0)?;
            if induction.rate_per_hour < 1.0 {
                return Err(invalid(path, "rate_per_hour must be at least 1"));
            }
            induction_slots.push(slot_of(induction.position_m));
        }

        check_count("chutes", layout.chutes.len(), CHUTES_MAX)?;
        if layout.chutes.len() < 2 {
            return Err(invalid(
                "chutes",
                "at least two chutes are needed: the exception chute and one for destinations",
            ));
        }
        let mut chute_ids = HashMap::new();
        let mut chute_slots = Vec::with_capacity(layout.chutes.len());
        for (idx, chute) in layout.chutes.iter().enumerate() {
            let path = format!("chutes[{idx}] (id \"{}\")", chute.id);
            check_id(&path, &chute.id)?;
            if chute_ids.insert(chute.id.as_str(), idx).is_some() {
                return Err(invalid(path, "this id is used by an earlier chute"));
            }
            check_position(&path, chute.position_m)?;
            check_positive(
                &path,
                "capacity_per_hour",
                chute.capacity_per_hour,
                100_000.0,
            )?;
            check_positive(&path, "bag_swap_s", chute.bag_swap_s, 3_600.0)?;
            if chute.slide_items == 0 || chute.slide_items > 1_000 {
                return Err(invalid(path, "slide_items must be between 1 and 1000"));
            }
            if chute.bag_items == 0 || chute.bag_items > 100_000 {
                return Err(invalid(path, "bag_items must be between 1 and 100000"));
            }
            chute_slots.push(slot_of(chute.position_m));
        }
        let exception_chute_idx =
            *chute_ids
                .get(layout.exception_chute.as_str())
                .ok_or_else(|| {
                    invalid(
                        "exception_chute",
                        format!("\"{}\" is not the id of any chute", layout.exception_chute),
                    )
                })?;

        check_count("waves", layout.waves.len(), WAVES_MAX)?;
        if layout.waves.is_empty() {
            return Err(invalid("waves", "at least one wave is needed"));
        }
        for (idx, wave) in layout.waves.iter().enumerate() {
            let path = format!("waves[{idx}] (name \"{}\")", wave.name);
            check_id(&path, &wave.name)?;
            if layout.waves[..idx].iter().any(|w| w.name == wave.name) {
                return Err(invalid(path, "this name is used by an earlier wave"));
            }
            check_positive(&path, "duration_s", wave.duration_s, WAVE_DURATION_S_MAX)?;
        }
        let day_s: f64 = layout.waves.iter().map(|wave| wave.duration_s).sum();
        if day_s > WAVE_DURATION_S_MAX {
            return Err(invalid(
                "waves",
                format!("the waves last {day_s} s together; at most one day is accepted"),
            ));
        }

        check_count("destinations", layout.destinations.len(), DESTINATIONS_MAX)?;
        if layout.destinations.is_empty() {
            return Err(invalid(
                "destinations",
                "at least one destination is needed",
            ));
        }
        let mut destination_idx_by_code = HashMap::new();
        let mut items_per_day: u64 = 0;
        for (idx, destination) in layout.destinations.iter().enumerate() {
            let path = format!("destinations[{idx}] (code \"{}\")", destination.code);
            check_id(&path, &destination.code)?;
            if destination_idx_by_code
                .insert(destination.code.clone(), idx)
                .is_some()
            {
                return Err(invalid(path, "this code is used by an earlier destination"));
            }
            if destination.volumes.len() != layout.waves.len() {
                return Err(invalid(
                    path,
                    format!(
                        "volumes has {} entries; one per wave ({}) is needed",
                        destination.volumes.len(),
                        layout.waves.len()
                    ),
                ));
            }
            for &volume in &destination.volumes {
                items_per_day = items_per_day.saturating_add(volume);
            }
        }
        if items_per_day > ITEMS_PER_DAY_MAX {
            return Err(invalid(
                "destinations",
                format!(
                    "{items_per_day} items in the day; at most {ITEMS_PER_DAY_MAX} are accepted"
                ),
            ));
        }
        if items_per_day == 0 {
            return Err(invalid("destinations", "no destination has any items"));
        }

        check_count("item_classes", layout.item_classes.len(), ITEM_CLASSES_MAX)?;
        for (idx, class) in layout.item_classes.iter().enumerate() {
            let path = format!("item_classes[{idx}] (name \"{}\")", class.name);
            check_id(&path, &class.name)?;
            if layout.item_classes[..idx]
                .iter()
                .any(|c| c.name == class.name)
            {
                return Err(invalid(path, "this name is used by an earlier item class"));
            }
            check_positive(&path, "weight_kg_max", class.weight_kg_max, 10_000.0)?;
            check_positive(&path, "length_mm_max", class.length_mm_max, 100_000.0)?;
            check_positive(&path, "width_mm_max", class.width_mm_max, 100_000.0)?;
            check_positive(&path, "height_mm_max", class.height_mm_max, 100_000.0)?;
            check_positive(&path, "share", class.share, 1.0)?;
        }
        if !layout.item_classes.is_empty() {
            let share_sum: f64 = layout.item_classes.iter().map(|class| class.share).sum();
            if (share_sum - 1.0).abs() > 1e-6 {
                return Err(invalid(
                    "item_classes",
                    format!("the shares add up to {share_sum}; they must add up to 1"),
                ));
            }
        }
        check_count("machines", layout.machines.len(), MACHINES_MAX)?;
        for (idx, machine) in layout.machines.iter().enumerate() {
            let path = format!("machines[{idx}] (name \"{}\")", machine.name);
            check_id(&path, &machine.name)?;
            if layout.machines[..idx]
                .iter()
                .any(|m| m.name == machine.name)
            {
                return Err(invalid(path, "this name is used by an earlier machine"));
            }
            check_positive(&path, "weight_kg_max", machine.weight_kg_max, 100_000.0)?;
            check_positive(&path, "length_mm_max", machine.length_mm_max, 100_000.0)?;
            check_positive(&path, "width_mm_max", machine.width_mm_max, 100_000.0)?;
            check_positive(&path, "height_mm_max", machine.height_mm_max, 100_000.0)?;
            check_positive(
                &path,
                "capacity_per_hour",
                machine.capacity_per_hour,
                10_000_000.0,
            )?;
            for code in machine.destinations.iter().flatten() {
                if !destination_idx_by_code.contains_key(code) {
                    return Err(invalid(
                        path,
                        format!("destinations names \"{code}\", which is not a destination code"),
                    ));
                }
            }
        }
        if !layout.item_classes.is_empty() && layout.machines.is_empty() {
            return Err(invalid(
                "machines",
                "item_classes are given but no machines to allocate them to",
            ));
        }

        Ok(Hub {
            layout,
            n_carriers,
            induction_slots,
            chute_slots,
            exception_chute_idx,
            destination_idx_by_code,
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Carriers on the loop; positions are measured in carrier pitches ("slots").
    pub fn n_carriers(&self) -> u32 {
        self.n_carriers
    }

    pub fn induction_slots(&self) -> &[u32] {
        &self.induction_slots
    }

    pub fn chute_slots(&self) -> &[u32] {
        &self.chute_slots
    }

    pub fn exception_chute_idx(&self) -> usize {
        self.exception_chute_idx
    }

    pub fn destination_idx(&self, code: &str) -> Option<usize> {
        self.destination_idx_by_code.get(code).copied()
    }

    /// Seconds for the loop to advance one carrier pitch.
    pub fn step_s(&self) -> f64 {
        self.layout.sorter.carrier_pitch_m / self.layout.sorter.speed_m_per_s
    }

    /// Nameplate rate: usable carriers passing a point in an hour.
    pub fn nameplate_per_hour(&self) -> f64 {
        3600.0 / self.step_s() * self.layout.sorter.fill_factor
    }

    /// Each destination's busiest rate over the waves, in items an hour.
    pub fn peak_rates_per_hour(&self) -> Vec<f64> {
        let waves = &self.layout.waves;
        self.layout
            .destinations
            .iter()
            .map(|destination| {
                destination
                    .volumes
                    .iter()
                    .zip(waves)
                    .map(|(&volume, wave)| volume as f64 * 3600.0 / wave.duration_s)
                    .fold(0.0, f64::max)
            })
            .collect()
    }

    /// Chutes that may be given to destinations: all but the exception chute.
    pub fn assignable_chutes(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.layout.chutes.len()).filter(|&idx| idx != self.exception_chute_idx)
    }
}

fn check_count(path: &str, count: usize, max: usize) -> Result<(), LayoutError> {
    if count > max {
        return Err(invalid(
            path,
            format!("{count} entries; at most {max} are accepted"),
        ));
    }
    Ok(())
}

/// Forward distance in slots from `from` to `to` round the loop; a chute at the same slot is a
/// full loop away, since the item has just passed it.
pub(crate) fn forward_slots(from: u32, to: u32, n_carriers: u32) -> u32 {
    let distance = (to + n_carriers - from) % n_carriers;
    if distance == 0 { n_carriers } else { distance }
}

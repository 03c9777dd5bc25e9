//! The hub's own logs, as a sorter control system and a yard system export them (the format is
//! in `crates/sort/LOG.md`): one row per item the sorter handled, one row per truck visit. Read
//! from a grid of cells (the caller reads CSV or .xlsx), row by row: a row that cannot be read
//! is reported with its number and why, and the others are kept. The simulator writes the same
//! item log ([`simulated_day`]), so a demo hub has a day to show.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::layout::{Hub, forward_slots};
use crate::plan::Plan;
use crate::sim::{SimOptions, simulate_traced};

/// Most rows one file may hold: a very busy hub's day and night on one loop
/// (20,000 items an hour round the clock); the grid of cells read from the
/// file stays under about 200 MB.
pub const ROWS_MAX: usize = 500_000;
/// Most bad rows reported one by one (all are counted).
pub const BAD_ROWS_REPORTED_MAX: usize = 200;
/// Most rows before the header row that are looked through for it (exports put a title and
/// the period above the table).
pub const HEADER_SEARCH_ROWS: usize = 20;
/// Longest id (item, station, chute, destination, equipment, truck) kept, in characters.
pub const ID_CHARS_MAX: usize = 64;
/// Most recirculations an item can plausibly make before a sorter force-ejects it.
pub const RECIRCULATIONS_MAX: u32 = 100;
/// The equipment name that marks items sorted by hand (`manual` is read the same way).
pub const MANUAL: &str = "人工";

/// One item as the sorter logged it. Times are the hub's local time (Asia/Shanghai), as the
/// control system writes them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemRow {
    /// The row's number as the file shows it (1 is the first line).
    pub row: usize,
    pub item: String,
    pub induction_at: NaiveDateTime,
    /// Empty for items not put on the loop (sorted by hand, say).
    pub station: String,
    pub destination: String,
    /// Empty when the item never dropped (still on the loop when the log was cut).
    pub chute: String,
    pub drop_at: Option<NaiveDateTime>,
    pub recirculations: u32,
    /// The scanner could not read the item's label (无读).
    pub no_read: bool,
    /// Empty means the loop sorter; [`MANUAL`] means sorted by hand.
    pub equipment: String,
}

impl ItemRow {
    pub fn is_manual(&self) -> bool {
        is_manual(&self.equipment)
    }
}

/// Whether an equipment name means sorting by hand.
pub fn is_manual(equipment: &str) -> bool {
    equipment == MANUAL || equipment.eq_ignore_ascii_case("manual")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// 进港: brings items to be sorted.
    Inbound,
    /// 出港: leaves with sorted items.
    Outbound,
}

impl Direction {
    pub fn code(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub fn parse(text: &str) -> Option<Direction> {
        match text.trim().to_lowercase().as_str() {
            "inbound" | "in" | "进港" | "到达" | "进" => Some(Direction::Inbound),
            "outbound" | "out" | "出港" | "发出" | "出" => Some(Direction::Outbound),
            _ => None,
        }
    }
}

/// One truck's visit to the yard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruckRow {
    pub row: usize,
    /// Plate or trip number.
    pub truck: String,
    pub direction: Direction,
    pub arrived_at: NaiveDateTime,
    pub planned_arrival: Option<NaiveDateTime>,
    pub unload_start: Option<NaiveDateTime>,
    pub unload_end: Option<NaiveDateTime>,
    pub planned_departure: Option<NaiveDateTime>,
    pub departed_at: Option<NaiveDateTime>,
}

/// A row that could not be read, and why (English; the row number is beside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    pub row: usize,
    pub why: String,
}

/// Why a whole file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error(
        "no header row found in the first {HEADER_SEARCH_ROWS} rows; it must name the columns {0}"
    )]
    NoHeader(&'static str),
    #[error("the file has more than {ROWS_MAX} rows; split it by day")]
    TooManyRows,
}

/// What a file held.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Read<T> {
    pub rows: Vec<T>,
    /// At most [`BAD_ROWS_REPORTED_MAX`].
    pub bad: Vec<BadRow>,
    pub bad_count: usize,
}

impl<T> Read<T> {
    fn new() -> Read<T> {
        Read {
            rows: Vec::new(),
            bad: Vec::new(),
            bad_count: 0,
        }
    }

    fn reject(&mut self, row: usize, why: String) {
        reject(&mut self.bad, &mut self.bad_count, row, why);
    }
}

/// Counts a bad row and keeps it while fewer than [`BAD_ROWS_REPORTED_MAX`] are kept.
pub(crate) fn reject(bad: &mut Vec<BadRow>, count: &mut usize, row: usize, why: String) {
    *count += 1;
    if bad.len() < BAD_ROWS_REPORTED_MAX {
        bad.push(BadRow { row, why });
    }
}

/// Reads the rows under a file's header, each with `parse`, skipping blank rows.
fn read_rows<C: Copy + PartialEq, T>(
    grid: &[Vec<String>],
    names: &[(C, &[&str])],
    required: &[C],
    needed: &'static str,
    parse: impl Fn(usize, &[String], &HashMap<usize, C>) -> Result<T, String>,
) -> Result<Read<T>, LogError> {
    let (header_idx, columns) = find_header(grid, names, required, needed)?;
    let mut read = Read::new();
    for (idx, row) in grid.iter().enumerate().skip(header_idx + 1) {
        let number = idx + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match parse(number, row, &columns) {
            Ok(parsed) => read.rows.push(parsed),
            Err(why) => read.reject(number, why),
        }
    }
    Ok(read)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemColumn {
    Item,
    InductionAt,
    Station,
    Destination,
    Chute,
    DropAt,
    Recirculations,
    NoRead,
    Equipment,
}

const ITEM_HEADERS: &[(ItemColumn, &[&str])] = &[
    (
        ItemColumn::Item,
        &["item", "barcode", "条码", "单号", "运单号", "包裹号"],
    ),
    (
        ItemColumn::InductionAt,
        &[
            "induction_time",
            "inductiontime",
            "上件时间",
            "供件时间",
            "供包时间",
        ],
    ),
    (
        ItemColumn::Station,
        &[
            "induction_station",
            "inductionstation",
            "station",
            "供件台",
            "供包台",
            "上件台",
        ],
    ),
    (
        ItemColumn::Destination,
        &["destination", "目的地", "目的地代码", "流向"],
    ),
    (ItemColumn::Chute, &["chute", "格口", "格口号", "落格口"]),
    (ItemColumn::DropAt, &["drop_time", "droptime", "落格时间"]),
    (
        ItemColumn::Recirculations,
        &["recirculations", "循环次数", "回流次数", "圈数"],
    ),
    (
        ItemColumn::NoRead,
        &["no_read", "noread", "无读", "是否无读"],
    ),
    (ItemColumn::Equipment, &["equipment", "设备", "分拣设备"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TruckColumn {
    Truck,
    Direction,
    ArrivedAt,
    PlannedArrival,
    UnloadStart,
    UnloadEnd,
    PlannedDeparture,
    DepartedAt,
}

const TRUCK_HEADERS: &[(TruckColumn, &[&str])] = &[
    (TruckColumn::Truck, &["truck", "车牌", "车牌号", "车次"]),
    (TruckColumn::Direction, &["direction", "方向", "进出港"]),
    (
        TruckColumn::ArrivedAt,
        &["arrived", "arrival", "到场时间", "到达时间", "进场时间"],
    ),
    (
        TruckColumn::PlannedArrival,
        &["planned_arrival", "计划到达", "计划到达时间"],
    ),
    (
        TruckColumn::UnloadStart,
        &["unload_start", "开始卸车", "卸车开始"],
    ),
    (
        TruckColumn::UnloadEnd,
        &["unload_end", "卸车完成", "卸车结束"],
    ),
    (
        TruckColumn::PlannedDeparture,
        &["planned_departure", "计划发车", "计划发车时间"],
    ),
    (
        TruckColumn::DepartedAt,
        &["departed", "departure", "发车时间", "离场时间"],
    ),
];

fn normalise(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where each known column is in a header row; `None` unless every required column is there.
fn columns_of<C: Copy + PartialEq>(
    header: &[String],
    names: &[(C, &[&str])],
    required: &[C],
) -> Option<HashMap<usize, C>> {
    let mut found: HashMap<usize, C> = HashMap::new();
    for (idx, cell) in header.iter().enumerate() {
        let cell = normalise(cell);
        if let Some((column, _)) = names.iter().find(|(_, aliases)| {
            aliases
                .iter()
                .any(|alias| normalise(alias) == cell || alias.replace('_', "") == cell)
        }) && !found.values().any(|c| c == column)
        {
            found.insert(idx, *column);
        }
    }
    required
        .iter()
        .all(|c| found.values().any(|f| f == c))
        .then_some(found)
}

/// The header row's index and columns.
fn find_header<C: Copy + PartialEq>(
    grid: &[Vec<String>],
    names: &[(C, &[&str])],
    required: &[C],
    needed: &'static str,
) -> Result<(usize, HashMap<usize, C>), LogError> {
    if grid.len() > ROWS_MAX + HEADER_SEARCH_ROWS {
        return Err(LogError::TooManyRows);
    }
    grid.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find_map(|(idx, row)| columns_of(row, names, required).map(|c| (idx, c)))
        .ok_or(LogError::NoHeader(needed))
}

/// A local time as control systems write it: `2026-12-07 10:31:05`, with `/` or `T`, optional
/// fractions of a second, or without seconds.
pub fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim().replace('/', "-").replace('T', " ");
    let text = text.split('.').next().unwrap_or(&text);
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

fn id_of(text: &str, what: &str) -> Result<String, String> {
    let text = text.trim();
    if text.chars().count() > ID_CHARS_MAX {
        return Err(format!(
            "the {what} is longer than {ID_CHARS_MAX} characters"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("the {what} holds control characters"));
    }
    Ok(text.to_string())
}

fn time_of(text: &str, what: &str) -> Result<Option<NaiveDateTime>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_time(text).map(Some).ok_or_else(|| {
        format!(
            "the {what} '{}' is not a time like 2026-12-07 10:31:05",
            short(text)
        )
    })
}

fn short(text: &str) -> String {
    text.trim().chars().take(40).collect()
}

fn flag_of(text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "" | "0" | "n" | "no" | "false" | "否" => Ok(false),
        "1" | "y" | "yes" | "true" | "是" => Ok(true),
        other => Err(format!(
            "no_read must be 0 or 1 (是/否), not '{}'",
            short(other)
        )),
    }
}

fn cell<'a, C: Copy + PartialEq>(
    row: &'a [String],
    columns: &HashMap<usize, C>,
    column: C,
) -> &'a str {
    columns
        .iter()
        .find(|(_, c)| **c == column)
        .and_then(|(idx, _)| row.get(*idx))
        .map(String::as_str)
        .unwrap_or("")
}

/// Reads the sorter's item log.
pub fn read_items(grid: &[Vec<String>]) -> Result<Read<ItemRow>, LogError> {
    read_rows(
        grid,
        ITEM_HEADERS,
        &[
            ItemColumn::Item,
            ItemColumn::InductionAt,
            ItemColumn::Destination,
        ],
        "item, induction_time and destination (条码, 上件时间, 目的地)",
        item_row,
    )
}

fn item_row(
    number: usize,
    row: &[String],
    columns: &HashMap<usize, ItemColumn>,
) -> Result<ItemRow, String> {
    let get = |column| cell(row, columns, column);
    let item = id_of(get(ItemColumn::Item), "item")?;
    if item.is_empty() {
        return Err("the item's barcode is empty".into());
    }
    let induction_at = time_of(get(ItemColumn::InductionAt), "induction time")?
        .ok_or("the induction time is empty")?;
    let destination = id_of(get(ItemColumn::Destination), "destination")?;
    let chute = id_of(get(ItemColumn::Chute), "chute")?;
    let drop_at = time_of(get(ItemColumn::DropAt), "drop time")?;
    if drop_at.is_some_and(|drop| drop < induction_at) {
        return Err("the drop time is before the induction time".into());
    }
    let recirculations = match get(ItemColumn::Recirculations).trim() {
        "" => 0,
        text => text
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= RECIRCULATIONS_MAX)
            .ok_or_else(|| {
                format!(
                    "recirculations must be a whole number from 0 to {RECIRCULATIONS_MAX}, not '{}'",
                    short(text)
                )
            })?,
    };
    let equipment = id_of(get(ItemColumn::Equipment), "equipment")?;
    // On the loop a drop is into a chute; elsewhere (by hand) it may not be.
    if equipment.is_empty() && drop_at.is_some() && chute.is_empty() {
        return Err("the item has a drop time but no chute".into());
    }
    Ok(ItemRow {
        row: number,
        item,
        induction_at,
        station: id_of(get(ItemColumn::Station), "induction station")?,
        destination,
        chute,
        drop_at,
        recirculations,
        no_read: flag_of(get(ItemColumn::NoRead))?,
        equipment,
    })
}

/// Reads the yard's truck log.
pub fn read_trucks(grid: &[Vec<String>]) -> Result<Read<TruckRow>, LogError> {
    read_rows(
        grid,
        TRUCK_HEADERS,
        &[
            TruckColumn::Truck,
            TruckColumn::Direction,
            TruckColumn::ArrivedAt,
        ],
        "truck, direction and arrived (车牌, 方向, 到场时间)",
        truck_row,
    )
}

fn truck_row(
    number: usize,
    row: &[String],
    columns: &HashMap<usize, TruckColumn>,
) -> Result<TruckRow, String> {
    let get = |column| cell(row, columns, column);
    let truck = id_of(get(TruckColumn::Truck), "truck")?;
    if truck.is_empty() {
        return Err("the truck's plate or trip is empty".into());
    }
    let direction = Direction::parse(get(TruckColumn::Direction)).ok_or_else(|| {
        format!(
            "the direction must be inbound or outbound (进港/出港), not '{}'",
            short(get(TruckColumn::Direction))
        )
    })?;
    let arrived_at =
        time_of(get(TruckColumn::ArrivedAt), "arrival time")?.ok_or("the arrival time is empty")?;
    let unload_start = time_of(get(TruckColumn::UnloadStart), "unloading start")?;
    let unload_end = time_of(get(TruckColumn::UnloadEnd), "unloading end")?;
    let departed_at = time_of(get(TruckColumn::DepartedAt), "departure time")?;
    if unload_start.is_some_and(|t| t < arrived_at) || departed_at.is_some_and(|t| t < arrived_at) {
        return Err("a time is before the truck's arrival".into());
    }
    if let (Some(start), Some(end)) = (unload_start, unload_end)
        && end < start
    {
        return Err("unloading ends before it starts".into());
    }
    Ok(TruckRow {
        row: number,
        truck,
        direction,
        arrived_at,
        planned_arrival: time_of(get(TruckColumn::PlannedArrival), "planned arrival")?,
        unload_start,
        unload_end,
        planned_departure: time_of(get(TruckColumn::PlannedDeparture), "planned departure")?,
        departed_at,
    })
}

const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn time_text(at: Option<NaiveDateTime>) -> String {
    at.map(|t| t.format(TIME_FORMAT).to_string())
        .unwrap_or_default()
}

/// The item log as CSV, in the format [`read_items`] reads.
pub fn items_csv(rows: &[ItemRow]) -> String {
    let mut out = String::from(
        "item,induction_time,induction_station,destination,chute,drop_time,recirculations,no_read,equipment\n",
    );
    for row in rows {
        let fields = [
            csv_field(&row.item),
            time_text(Some(row.induction_at)),
            csv_field(&row.station),
            csv_field(&row.destination),
            csv_field(&row.chute),
            time_text(row.drop_at),
            row.recirculations.to_string(),
            u8::from(row.no_read).to_string(),
            csv_field(&row.equipment),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// The truck log as CSV, in the format [`read_trucks`] reads.
pub fn trucks_csv(rows: &[TruckRow]) -> String {
    let mut out = String::from(
        "truck,direction,planned_arrival,arrived,unload_start,unload_end,planned_departure,departed\n",
    );
    for row in rows {
        let fields = [
            csv_field(&row.truck),
            row.direction.code().to_string(),
            time_text(row.planned_arrival),
            time_text(Some(row.arrived_at)),
            time_text(row.unload_start),
            time_text(row.unload_end),
            time_text(row.planned_departure),
            time_text(row.departed_at),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// What a simulated day adds beyond the simulator's own model.
#[derive(Debug, Clone, PartialEq)]
pub struct DayOptions {
    pub seed: u64,
    pub day: NaiveDate,
    /// When the first wave starts, local time.
    pub start: NaiveTime,
    /// Share of loop items whose label the scanner cannot read: they go to the exception
    /// chute, as on a real sorter.
    pub no_read_rate: f64,
    /// Items sorted by hand beside the loop (irregular parcels), as a share of the loop's.
    pub manual_share: f64,
}

/// The item log of a simulated day: every item the simulator moved, with its station, chute
/// and times, no-reads drawn at `no_read_rate` (sent to the exception chute), and hand-sorted
/// items beside. Rows are in induction order.
pub fn simulated_day(hub: &Hub, plan: &Plan, options: &DayOptions) -> Vec<ItemRow> {
    let layout = hub.layout();
    let start = options.day.and_time(options.start);
    // Whole seconds, as control systems log them.
    let at = |seconds: f64| start + TimeDelta::seconds(seconds.round() as i64);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(options.seed ^ 0x10c_da7a);
    let exception = &layout.chutes[hub.exception_chute_idx()].id;
    let mut rows = Vec::new();
    simulate_traced(
        hub,
        plan,
        &SimOptions {
            seed: options.seed,
            stop_after_s: None,
        },
        |trace| {
            let number = rows.len() + 2;
            let no_read = rng.random::<f64>() < options.no_read_rate;
            let (chute, drop_at, recirculations) = match trace.drop {
                _ if no_read => {
                    // An unread label rides straight to the exception chute.
                    let slots = forward_slots(
                        hub.induction_slots()[trace.station as usize],
                        hub.chute_slots()[hub.exception_chute_idx()],
                        hub.n_carriers(),
                    );
                    (
                        exception.clone(),
                        Some(at(trace.induction_s + hub.step_s() * f64::from(slots))),
                        0,
                    )
                }
                Some((chute_idx, drop_s, recirculations)) => (
                    layout.chutes[chute_idx as usize].id.clone(),
                    Some(at(drop_s)),
                    recirculations,
                ),
                None => (String::new(), None, 0),
            };
            rows.push(ItemRow {
                row: number,
                item: format!("SIM{:09}", trace.item),
                induction_at: at(trace.induction_s),
                station: layout.inductions[trace.station as usize].id.clone(),
                destination: layout.destinations[trace.destination as usize].code.clone(),
                chute,
                drop_at,
                recirculations,
                no_read,
                equipment: String::new(),
            });
        },
    );
    let day_s: f64 = layout.waves.iter().map(|w| w.duration_s).sum();
    let n_manual = (rows.len() as f64 * options.manual_share).round() as usize;
    for n in 0..n_manual {
        let destination = &layout.destinations[rng.random_range(0..layout.destinations.len())];
        let induction_s = rng.random::<f64>() * day_s;
        rows.push(ItemRow {
            row: rows.len() + 2,
            item: format!("MAN{n:09}"),
            induction_at: at(induction_s),
            station: String::new(),
            destination: destination.code.clone(),
            chute: String::new(),
            drop_at: Some(at(induction_s + rng.random_range(60.0..600.0))),
            recirculations: 0,
            no_read: false,
            equipment: MANUAL.to_string(),
        });
    }
    rows.sort_by_key(|row| row.induction_at);
    for (idx, row) in rows.iter_mut().enumerate() {
        row.row = idx + 2;
    }
    rows
}

/// A day of trucks for a simulated hub: inbound trucks through the day bringing the items,
/// outbound trucks after each wave, with the delays a yard sees.
pub fn simulated_trucks(hub: &Hub, options: &DayOptions) -> Vec<TruckRow> {
    let layout = hub.layout();
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(options.seed ^ 0x7a4d);
    let start = options.day.and_time(options.start);
    let minutes = |m: f64| TimeDelta::seconds((m * 60.0).round() as i64);
    let mut rows = Vec::new();
    let mut wave_start_min = 0.0;
    for (wave_idx, wave) in layout.waves.iter().enumerate() {
        let wave_min = wave.duration_s / 60.0;
        // About one inbound truck per 1,500 items, arriving before and during the wave.
        let items: u64 = layout
            .destinations
            .iter()
            .map(|d| d.volumes[wave_idx])
            .sum();
        let n_in = (items / 1_500).max(1);
        for n in 0..n_in {
            let planned =
                start + minutes(wave_start_min - 30.0 + wave_min * n as f64 / n_in as f64);
            let arrived = planned + minutes(rng.random_range(-10.0..25.0));
            let unload_start = arrived + minutes(rng.random_range(2.0..45.0));
            let unload_end = unload_start + minutes(rng.random_range(15.0..35.0));
            rows.push(TruckRow {
                row: 0,
                truck: format!("IN-{}-{:02}", wave_idx + 1, n + 1),
                direction: Direction::Inbound,
                arrived_at: arrived,
                planned_arrival: Some(planned),
                unload_start: Some(unload_start),
                unload_end: Some(unload_end),
                planned_departure: None,
                departed_at: Some(unload_end + minutes(rng.random_range(5.0..20.0))),
            });
        }
        // About one outbound truck per 2,000 items, leaving after the wave.
        let n_out = (items / 2_000).max(1);
        for n in 0..n_out {
            let planned_departure = start + minutes(wave_start_min + wave_min + 20.0);
            let arrived = planned_departure - minutes(rng.random_range(30.0..90.0));
            rows.push(TruckRow {
                row: 0,
                truck: format!("OUT-{}-{:02}", wave_idx + 1, n + 1),
                direction: Direction::Outbound,
                arrived_at: arrived,
                planned_arrival: None,
                unload_start: None,
                unload_end: None,
                planned_departure: Some(planned_departure),
                departed_at: Some(planned_departure + minutes(rng.random_range(-10.0..20.0))),
            });
        }
        wave_start_min += wave_min;
    }
    rows.sort_by_key(|row| row.arrived_at);
    for (idx, row) in rows.iter_mut().enumerate() {
        row.row = idx + 2;
    }
    rows
}

//! Labelled benchmark set: a seeded generator of addresses in real-world
//! formats, scoring of parse results against labels, and the speed run that
//! `examples/address_bench.rs` (and later `yizhan bench address`) drives.

use std::io::Write;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::divisions::{Division, Level, divisions};
use crate::names::stem_and_core;
use crate::{ParsedAddress, parse};

/// One labelled address: the text and the codes a careful reader would give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledAddress {
    pub text: String,
    /// Which format the text was written in (`labelled`, `reversed`, `short_names`, …).
    pub format: String,
    /// `generated` or `tricky` (hand-written).
    pub source: String,
    pub county: Option<String>,
    pub township: Option<String>,
    pub village: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// The expected normalised phone number (`13812345678`, `138****1234`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub phone: Option<String>,
}

/// The labelled sets shipped with the crate: generated, hand-written tricky, and holdout.
const SHIPPED_SETS: [(&str, &str); 3] = [
    ("labelled.jsonl", include_str!("../bench/labelled.jsonl")),
    ("tricky.jsonl", include_str!("../bench/tricky.jsonl")),
    ("holdout.jsonl", include_str!("../bench/holdout.jsonl")),
];

/// Most lines a labelled set may have.
pub const SET_LINES_MAX: usize = 1_000_000;

/// Why a labelled set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("{source_name} line {line}: not a labelled address: {problem}")]
    BadLine {
        source_name: String,
        line: usize,
        problem: String,
    },
    #[error("{source_name} has more than {lines_max} lines")]
    TooLong {
        source_name: String,
        lines_max: usize,
    },
}

/// Reads a labelled set in JSON lines (one [`LabelledAddress`] a line, blank
/// lines skipped); `source_name` names it in errors.
pub fn parse_set(source_name: &str, text: &str) -> Result<Vec<LabelledAddress>, SetError> {
    let mut set = Vec::new();
    for (line_idx, line) in text.lines().enumerate() {
        if line_idx >= SET_LINES_MAX {
            return Err(SetError::TooLong {
                source_name: source_name.to_string(),
                lines_max: SET_LINES_MAX,
            });
        }
        if line.trim().is_empty() {
            continue;
        }
        let labelled = serde_json::from_str(line).map_err(|error| SetError::BadLine {
            source_name: source_name.to_string(),
            line: line_idx + 1,
            problem: error.to_string(),
        })?;
        set.push(labelled);
    }
    Ok(set)
}

/// The 1,083 labelled addresses shipped in `crates/address/bench/`, so that a
/// benchmark runs on a fresh machine without any path.
pub fn shipped_set() -> Vec<LabelledAddress> {
    SHIPPED_SETS
        .iter()
        .flat_map(|(name, text)| {
            parse_set(name, text).expect("the shipped sets are valid (checked by tests)")
        })
        .collect()
}

/// A small deterministic generator (SplitMix64): the benchmark set must be
/// reproducible from its seed, and this needs no dependency.
pub struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    pub fn pick<'items, T>(&mut self, items: &'items [T]) -> &'items T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "欧阳", "司马",
];
const GIVEN_NAMES: [&str; 24] = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华",
];
const ROADS: [&str; 12] = [
    "人民路",
    "建设路",
    "解放路",
    "中山路",
    "北京路",
    "新华街",
    "文化路",
    "胜利大道",
    "朝阳路",
    "长江路",
    "和平街",
    "幸福巷",
];
const ESTATES: [&str; 6] = [
    "阳光花园",
    "锦绣小区",
    "幸福家园",
    "金色港湾",
    "翠苑",
    "华府",
];

fn random_name(random: &mut SeededRandom) -> String {
    let surname = random.pick(&SURNAMES);
    let given = random.pick(&GIVEN_NAMES);
    if random.chance(8) {
        return format!("{surname}{}", ["先生", "女士"][random.below(2)]);
    }
    format!("{surname}{given}")
}

fn random_mobile(random: &mut SeededRandom) -> String {
    let second = [3, 5, 7, 8, 9][random.below(5)];
    format!("1{second}{:09}", random.next_u64() % 1_000_000_000)
}

/// Writes a mobile in one of the forms seen on waybills and in chats;
/// returns the written form and the normalised number expected back.
fn written_phone(random: &mut SeededRandom, privacy: bool) -> (String, String) {
    let number = random_mobile(random);
    if privacy {
        let extension = format!("{:04}", random.below(10_000));
        let virtual_number = format!("170{:08}", random.next_u64() % 100_000_000);
        return match random.below(4) {
            0 => (
                crate::mask_mobile(&number).expect("mobile"),
                crate::mask_mobile(&number).expect("mobile"),
            ),
            1 => (format!("{virtual_number}-{extension}"), virtual_number),
            2 => (format!("{virtual_number}转{extension}"), virtual_number),
            _ => (format!("{virtual_number}[{extension}]"), virtual_number),
        };
    }
    let written = match random.below(6) {
        0 => format!("+86{number}"),
        1 => format!("{} {} {}", &number[..3], &number[3..7], &number[7..]),
        2 => format!("{}-{}-{}", &number[..3], &number[3..7], &number[7..]),
        3 => format!("0086 {number}"),
        _ => number.clone(),
    };
    (written, number)
}

fn random_detail(random: &mut SeededRandom, has_village: bool) -> String {
    let number = 1 + random.below(120);
    if has_village && random.chance(70) {
        return match random.below(3) {
            0 => format!("{}组{}号", 1 + random.below(12), number),
            1 => format!("{}组", 1 + random.below(12)),
            _ => format!("{}社{}号", 1 + random.below(9), number),
        };
    }
    match random.below(4) {
        0 => format!("{}{}号", random.pick(&ROADS), number),
        1 => format!(
            "{}{}栋{}单元{}室",
            random.pick(&ESTATES),
            1 + random.below(30),
            1 + random.below(4),
            101 + random.below(20) * 100 + random.below(4)
        ),
        2 => format!(
            "{}{}号{}楼",
            random.pick(&ROADS),
            number,
            1 + random.below(9)
        ),
        _ => format!("{}号", number),
    }
}

/// How people write a village: 红星村 for 红星村民委员会, 多福巷社区 for 多福巷社区居委会.
fn written_village(village: &Division<'_>) -> String {
    let name = village.name();
    let stem = &name[..stem_and_core(name, Level::Village).0];
    if name.ends_with("村民委员会") || name.ends_with("村委会") {
        if stem.ends_with('村') {
            stem.to_string()
        } else {
            format!("{stem}村")
        }
    } else if name.ends_with("社区居委会") || name.ends_with("社区居民委员会") {
        format!("{stem}社区")
    } else if name.ends_with("委员会") || name.ends_with("居委会") {
        stem.to_string()
    } else {
        name.to_string()
    }
}

fn short_or_full(division: &Division<'_>, short: bool) -> String {
    let name = division.name();
    if !short {
        return name.to_string();
    }
    let stem = &name[..stem_and_core(name, division.level()).0];
    if stem.chars().count() >= 2 {
        stem.to_string()
    } else {
        name.to_string()
    }
}

/// Careless writing: the province often left out, short names, a township
/// with the wrong or no suffix (镇 for 乡), a village without 村.
fn messy_parts(
    random: &mut SeededRandom,
    path: &[Division<'_>],
    with_village: bool,
) -> Vec<String> {
    let (province, city, county, township, village) = (path[0], path[1], path[2], path[3], path[4]);
    let stem = |division: &Division<'_>| short_or_full(division, true);
    let mut parts = Vec::new();
    if random.chance(50) {
        parts.push(stem(&province));
    }
    if !city.is_placeholder() {
        parts.push(stem(&city));
    }
    if county.name() != city.name() {
        parts.push(short_or_full(&county, random.chance(50)));
    }
    let township_stem = stem(&township);
    let suffix = *random.pick(&["镇", "乡", "街道", "", ""]);
    parts.push(format!("{township_stem}{suffix}"));
    if with_village {
        let written = written_village(&village);
        let bare = written
            .strip_suffix('村')
            .filter(|bare| bare.chars().count() >= 2);
        parts.push(match bare {
            Some(bare) if random.chance(50) => bare.to_string(),
            _ => written,
        });
    }
    parts
}

/// The formats the generator writes, with their share in percent.
const FORMATS: [(&str, usize); 13] = [
    ("plain", 10),
    ("messy", 8),
    ("no_spaces", 10),
    ("reversed", 10),
    ("labelled", 10),
    ("short_names", 10),
    ("privacy_number", 8),
    ("dropdown_spaces", 8),
    ("from_city", 8),
    ("from_county", 6),
    ("no_township", 6),
    ("development_zone", 5),
    ("municipality", 5),
];

fn pick_format(random: &mut SeededRandom) -> &'static str {
    let mut roll = random.below(FORMATS.iter().map(|(_, share)| share).sum());
    for (format, share) in FORMATS {
        if roll < share {
            return format;
        }
        roll -= share;
    }
    FORMATS[0].0
}

/// Generates `count` labelled addresses from the division table, reproducibly from `seed`.
/// Each is a random village (or township) written in one of the formats of `FORMATS`
/// (plain, messy, no spaces, reversed, labelled, short names, privacy number, …).
pub fn generate(seed: u64, count: usize) -> Vec<LabelledAddress> {
    let table = divisions();
    let villages: Vec<Division<'_>> = table.at_level(Level::Village).collect();
    let zone_villages: Vec<Division<'_>> = villages
        .iter()
        .copied()
        .filter(Division::is_development_zone)
        .collect();
    let municipality_villages: Vec<Division<'_>> = villages
        .iter()
        .copied()
        .filter(|village| crate::divisions::is_municipality(village.code_number() / 10_000_000_000))
        .collect();
    let mut random = SeededRandom::new(seed);
    let mut set = Vec::with_capacity(count);
    while set.len() < count {
        let format = pick_format(&mut random);
        let village = match format {
            "development_zone" => *random.pick(&zone_villages),
            "municipality" => *random.pick(&municipality_villages),
            _ => *random.pick(&villages),
        };
        set.push(write_address(&mut random, village, format));
    }
    set
}

fn write_address(
    random: &mut SeededRandom,
    village: Division<'_>,
    format: &str,
) -> LabelledAddress {
    let path = village.path();
    let (province, city, county, township) = (path[0], path[1], path[2], path[3]);
    let with_village = format != "no_township" && random.chance(75);
    let short = format == "short_names";
    let mut parts: Vec<String> = Vec::new();
    let skip_province = matches!(format, "from_city" | "from_county");
    let skip_city = format == "from_county" || city.is_placeholder();
    if !skip_province {
        parts.push(short_or_full(&province, short));
    }
    if !skip_city {
        parts.push(short_or_full(&city, short));
    }
    // A city without counties (东莞) has a synthetic county row of the same name, not written twice.
    if county.name() != city.name() || skip_city {
        parts.push(short_or_full(&county, short));
    }
    if format != "no_township" {
        parts.push(short_or_full(&township, short && random.chance(50)));
    }
    if with_village || format == "no_township" {
        parts.push(written_village(&village));
    }
    if format == "messy" {
        parts = messy_parts(random, &path, with_village);
    }
    let has_village = with_village || format == "no_township";
    let detail = random_detail(random, has_village);
    let separator = match format {
        "dropdown_spaces" => " ",
        "messy" if random.chance(30) => " ",
        _ => "",
    };
    let address = format!("{}{separator}{detail}", parts.join(separator));
    let name = random_name(random);
    let (phone_written, phone_expected) = written_phone(random, format == "privacy_number");
    let text = match format {
        "no_spaces" => {
            if random.chance(50) {
                format!("{name}{phone_written}{address}")
            } else {
                format!("{address}{name}{phone_written}")
            }
        }
        "reversed" => {
            let separator = [" ", "，", ","][random.below(3)];
            format!("{address}{separator}{name}{separator}{phone_written}")
        }
        "labelled" => {
            let name_label = *random.pick(&["收货人", "收件人", "姓名", "联系人"]);
            let phone_label = *random.pick(&["电话", "手机号码", "联系电话", "手机"]);
            let address_label = *random.pick(&["地址", "收货地址", "详细地址"]);
            let colon = *random.pick(&["：", ":"]);
            let separator = *random.pick(&[" ", "\n", "，"]);
            format!(
                "{name_label}{colon}{name}{separator}{phone_label}{colon}{phone_written}{separator}{address_label}{colon}{address}"
            )
        }
        _ => {
            let separator = *random.pick(&[" ", "，", " ", "  "]);
            format!("{name}{separator}{phone_written}{separator}{address}")
        }
    };
    LabelledAddress {
        text,
        format: format.to_string(),
        source: "generated".to_string(),
        county: Some(county.code()),
        township: (format != "no_township" || has_village).then(|| township.code()),
        village: has_village.then(|| village.code()),
        name: Some(name),
        phone: Some(phone_expected),
    }
}

/// Correct answers out of the number of addresses, per level and in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Accuracy {
    pub n_addresses: usize,
    pub county_correct: usize,
    pub township_correct: usize,
    pub village_correct: usize,
    pub name_correct: usize,
    pub phone_correct: usize,
    /// Parses that left the county empty (ambiguous or not found) rather than guessing.
    pub county_left_empty: usize,
    pub errors: usize,
}

fn percent(correct: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * correct as f64 / total as f64
    }
}

impl Accuracy {
    /// Adds one labelled address and how it was parsed.
    pub fn add(&mut self, labelled: &LabelledAddress, parsed: Option<&ParsedAddress>) {
        self.n_addresses += 1;
        let Some(parsed) = parsed else {
            self.errors += 1;
            return;
        };
        let code = |level: Level| parsed.place(level).map(|place| place.code.as_str());
        let county_ok = code(Level::County) == labelled.county.as_deref();
        let township_ok = county_ok && code(Level::Township) == labelled.township.as_deref();
        let village_ok = township_ok && code(Level::Village) == labelled.village.as_deref();
        self.county_correct += usize::from(county_ok);
        self.township_correct += usize::from(township_ok);
        self.village_correct += usize::from(village_ok);
        self.county_left_empty += usize::from(parsed.county.is_none());
        self.name_correct += usize::from(labelled.name.is_none() || parsed.name == labelled.name);
        self.phone_correct += usize::from(
            labelled.phone.is_none()
                || parsed.phone.as_ref().map(|phone| &phone.number) == labelled.phone.as_ref(),
        );
    }

    pub fn report_line(&self, label: &str) -> String {
        format!(
            "{label:<22} n={:>5}  county {:>6.2}%  township {:>6.2}%  village {:>6.2}%  name {:>6.2}%  phone {:>6.2}%  county left empty {}",
            self.n_addresses,
            percent(self.county_correct, self.n_addresses),
            percent(self.township_correct, self.n_addresses),
            percent(self.village_correct, self.n_addresses),
            percent(self.name_correct, self.n_addresses),
            percent(self.phone_correct, self.n_addresses),
            self.county_left_empty,
        )
    }
}

/// Scores the set: overall, per source and per format, in that order.
pub fn score(set: &[LabelledAddress]) -> Vec<(String, Accuracy)> {
    let mut groups: Vec<(String, Accuracy)> = vec![("all".to_string(), Accuracy::default())];
    for labelled in set {
        let parsed = parse(&labelled.text).ok();
        for key in [
            "all".to_string(),
            format!("source:{}", labelled.source),
            format!("format:{}", labelled.format),
        ] {
            let group_idx = match groups.iter().position(|(name, _)| *name == key) {
                Some(idx) => idx,
                None => {
                    groups.push((key, Accuracy::default()));
                    groups.len() - 1
                }
            };
            groups[group_idx].1.add(labelled, parsed.as_ref());
        }
    }
    groups[1..].sort_by(|left, right| left.0.cmp(&right.0));
    groups
}

/// The caller's clocks: the library reads none itself.
pub struct Clocks<'clock> {
    pub wall: &'clock dyn Fn() -> Instant,
    /// CPU time used by the calling thread, when the caller can read it; on
    /// a shared machine it shows the speed on one core better than wall time.
    pub thread_cpu: Option<&'clock dyn Fn() -> Duration>,
}

/// Parses per second, by wall time and (when a CPU clock was given) by CPU time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Throughput {
    pub n_parsed: usize,
    pub per_wall_second: f64,
    pub per_cpu_second: Option<f64>,
}

/// Parses every text `rounds` times on the calling thread.
pub fn throughput(set: &[LabelledAddress], rounds: usize, clocks: &Clocks<'_>) -> Throughput {
    crate::warm_up();
    let wall_started = (clocks.wall)();
    let cpu_started = clocks.thread_cpu.map(|cpu| cpu());
    let mut n_parsed = 0usize;
    for _ in 0..rounds {
        for labelled in set {
            let parsed = parse(&labelled.text);
            n_parsed += usize::from(std::hint::black_box(parsed).is_ok());
        }
    }
    let wall_elapsed: Duration = (clocks.wall)() - wall_started;
    let cpu_elapsed = clocks
        .thread_cpu
        .zip(cpu_started)
        .map(|(cpu, started)| cpu().saturating_sub(started));
    let per_second = |elapsed: Duration| n_parsed as f64 / elapsed.as_secs_f64().max(1e-9);
    Throughput {
        n_parsed,
        per_wall_second: per_second(wall_elapsed),
        per_cpu_second: cpu_elapsed.map(per_second),
    }
}

/// The whole benchmark: accuracy tables, then speed; written to `out`.
pub fn run(
    set: &[LabelledAddress],
    rounds: usize,
    clocks: &Clocks<'_>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let load_started = (clocks.wall)();
    crate::warm_up();
    writeln!(
        out,
        "division table and automaton loaded in {:.0} ms",
        ((clocks.wall)() - load_started).as_secs_f64() * 1000.0
    )?;
    for (label, accuracy) in score(set) {
        writeln!(out, "{}", accuracy.report_line(&label))?;
    }
    let speed = throughput(set, rounds, clocks);
    write!(
        out,
        "speed: {:.0} addresses/s on one thread by wall time",
        speed.per_wall_second
    )?;
    if let Some(per_cpu_second) = speed.per_cpu_second {
        write!(
            out,
            ", {per_cpu_second:.0} per CPU-second ({:.1} µs each)",
            1e6 / per_cpu_second
        )?;
    }
    writeln!(out, " ({} parses)", speed.n_parsed)?;
    Ok(())
}

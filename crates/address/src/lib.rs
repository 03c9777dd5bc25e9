//! Smart parsing of Chinese delivery addresses: free text such as
//! `张三 13812345678 四川省成都市武侯区…街道…村3组` becomes a name, a normalised
//! phone, NBS division codes down to the village where the text allows, and
//! the remaining detail, with a confidence and the ambiguities found.
//!
//! The division table (NBS 2023, 665,276 rows) is embedded in the library and
//! loaded once on first use ([`warm_up`] loads it eagerly). The library does no IO.
//!
//! How it reads a text:
//! 1. Full-width forms are normalised; phone numbers are found and blanked
//!    out; labels (收货人：, 电话：, 地址：, 邮编：) split off their fields.
//! 2. One Aho–Corasick pass finds every province, city, county and township
//!    name in the text, full or short (四川, 武侯, 阿坝, 高新区). Short names
//!    followed by a street word (北京路, 中山大道) are dropped.
//! 3. Dynamic programming picks the chain of matches, in text order and each
//!    below the one before, that covers the most text. Several equally good
//!    chains mean ambiguity: a village named after one of them may decide,
//!    otherwise only the levels they agree on are filled and a
//!    [`Note::Ambiguous`] lists the candidates. Nothing is guessed.
//! 4. Villages are searched only below the township (or county) found.
//!    Levels above the deepest division come from the table and are marked
//!    `inferred` when the text did not name them.
//! 5. The recipient's name is taken from a label, a short token before or
//!    after the address, or Han characters glued between detail and phone.
//!
//! ```
//! let parsed = address::parse("张三 13812345678 四川省成都市武侯区簇桥街道").unwrap();
//! assert_eq!(parsed.county.unwrap().code, "510107");
//! ```

pub mod bench;
mod divisions;
mod matcher;
mod names;
mod phone;
mod text;

use serde::{Deserialize, Serialize};

pub use divisions::{Division, Divisions, Level, TableError, divisions};
pub use phone::{Phone, PhoneKind, mask_mobile};

use matcher::{Candidate, VillageHit, choose_chain, find_candidates, find_villages};
use text::{
    Field, blank, clean_name, find_labels, looks_like_name, name_tokens, normalise, tidy_detail,
    tokens,
};

/// Longest accepted input, in bytes of UTF-8 (about 170 Chinese characters).
pub const TEXT_BYTES_MAX: usize = 512;

/// Most candidates listed in an ambiguity note.
pub const AMBIGUOUS_CANDIDATES_MAX: usize = 10;

/// Most equally good divisions whose villages are searched to break a tie.
const TIE_BREAK_DIVISIONS_MAX: usize = 64;

/// Why a text was refused. Texts that are merely not addresses are not
/// errors: they parse to a result with [`Confidence::None`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error(
        "the address text is {bytes} bytes long; at most {bytes_max} bytes are accepted, so shorten it"
    )]
    TooLong { bytes: usize, bytes_max: usize },
    #[error(
        "the address text has control character U+{code_point:04X} at character {char_idx}; remove it"
    )]
    ControlCharacter { char_idx: usize, code_point: u32 },
}

impl ParseError {
    /// A stable machine-readable code for APIs (`address_too_long`, `address_control_character`).
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::TooLong { .. } => "address_too_long",
            ParseError::ControlCharacter { .. } => "address_control_character",
        }
    }
}

/// A division in the result, with its code as it stands in the NBS data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub code: String,
    pub name: String,
    /// Not written in the text but implied by a lower level (or a placeholder row such as `1101 市辖区`).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub inferred: bool,
    /// A statistics-only development zone (county code `xxxx7x`) or a division inside one.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub development_zone: bool,
}

impl Place {
    fn of(division: Division<'_>, inferred: bool) -> Place {
        Place {
            code: division.code(),
            name: division.name().to_string(),
            inferred,
            development_zone: division.is_development_zone(),
        }
    }
}

/// How far the result can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// No division found.
    None,
    /// Ambiguous at county level or above, or resolved only to province or city.
    Low,
    /// Resolved to a county or deeper, but with levels inferred from below
    /// (short of province and city) or ambiguous below the county.
    Medium,
    /// Resolved to a county or deeper with a province or city in the text and no ambiguity.
    High,
}

/// Something the caller should know about the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// Several divisions fit the text equally well at this level; this level
    /// and those below it are left empty.
    Ambiguous {
        level: Level,
        candidates: Vec<Place>,
    },
    /// No division name was recognised.
    NoDivisionFound,
    /// The text names Hong Kong, Macao or Taiwan, which have no NBS division codes.
    OutsideMainland { region: String },
}

/// The parse of one address text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedAddress {
    pub name: Option<String>,
    pub phone: Option<Phone>,
    /// Further numbers in the text, in order.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub other_phones: Vec<Phone>,
    pub province: Option<Place>,
    pub city: Option<Place>,
    pub county: Option<Place>,
    pub township: Option<Place>,
    pub village: Option<Place>,
    /// What remains after the deepest division: road, house number, group (组), room.
    pub detail: String,
    /// A six-digit postcode given with a 邮编 label.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub postcode: Option<String>,
    pub confidence: Confidence,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<Note>,
}

impl ParsedAddress {
    fn empty() -> ParsedAddress {
        ParsedAddress {
            name: None,
            phone: None,
            other_phones: Vec::new(),
            province: None,
            city: None,
            county: None,
            township: None,
            village: None,
            detail: String::new(),
            postcode: None,
            confidence: Confidence::None,
            notes: Vec::new(),
        }
    }

    /// The division at one level, if resolved.
    pub fn place(&self, level: Level) -> Option<&Place> {
        match level {
            Level::Province => self.province.as_ref(),
            Level::City => self.city.as_ref(),
            Level::County => self.county.as_ref(),
            Level::Township => self.township.as_ref(),
            Level::Village => self.village.as_ref(),
        }
    }

    fn place_mut(&mut self, level: Level) -> &mut Option<Place> {
        match level {
            Level::Province => &mut self.province,
            Level::City => &mut self.city,
            Level::County => &mut self.county,
            Level::Township => &mut self.township,
            Level::Village => &mut self.village,
        }
    }

    /// The deepest resolved division, e.g. for routing.
    pub fn deepest(&self) -> Option<&Place> {
        Level::ALL.iter().rev().find_map(|level| self.place(*level))
    }
}

/// Loads the division table and builds the name automaton now rather than on
/// the first parse (about half a second).
pub fn warm_up() {
    let _ = matcher::matcher();
}

/// Parses each line of `input` on its own, numbering lines from 1; for the
/// command line's one-text-per-line mode.
pub fn parse_lines(
    input: &str,
) -> impl Iterator<Item = (usize, Result<ParsedAddress, ParseError>)> + '_ {
    input
        .lines()
        .enumerate()
        .map(|(line_idx, line)| (line_idx + 1, parse(line)))
}

fn check_input(input: &str) -> Result<(), ParseError> {
    if input.len() > TEXT_BYTES_MAX {
        return Err(ParseError::TooLong {
            bytes: input.len(),
            bytes_max: TEXT_BYTES_MAX,
        });
    }
    let control = input
        .chars()
        .enumerate()
        .find(|(_, character)| character.is_control() && !matches!(character, '\t' | '\n' | '\r'));
    if let Some((char_idx, character)) = control {
        return Err(ParseError::ControlCharacter {
            char_idx,
            code_point: character as u32,
        });
    }
    Ok(())
}

/// Parses one address text (at most [`TEXT_BYTES_MAX`] bytes).
pub fn parse(input: &str) -> Result<ParsedAddress, ParseError> {
    check_input(input)?;
    let mut result = ParsedAddress::empty();
    let normalised = normalise(input);
    // `work` is the text with everything that is not address blanked out;
    // blanking keeps byte offsets equal to those of `normalised`.
    let mut work = normalised.clone();

    let mut phones = phone::find_phones(&normalised);
    let phone_spans: Vec<(usize, usize)> = phones
        .iter()
        .map(|found| (found.start, found.end))
        .collect();
    for (start, end) in &phone_spans {
        blank(&mut work, *start, *end);
    }
    if !phones.is_empty() {
        let first = phones.remove(0);
        result.phone = Some(first.phone);
        result.other_phones = phones.into_iter().map(|found| found.phone).collect();
    }

    let labels = find_labels(&work);
    let mut address_spans: Vec<(usize, usize)> = Vec::new();
    for label in &labels {
        let value = work[label.value_start..label.value_end].trim();
        match label.field {
            Field::Name if result.name.is_none() && !value.is_empty() => {
                result.name = Some(value.to_string());
                blank(&mut work, label.value_start, label.value_end);
            }
            Field::Address => address_spans.push((label.value_start, label.value_end)),
            Field::Postcode => {
                if value.len() == 6 && value.bytes().all(|byte| byte.is_ascii_digit()) {
                    result.postcode = Some(value.to_string());
                }
                blank(&mut work, label.value_start, label.value_end);
            }
            Field::Name | Field::Phone => {}
        }
        blank(&mut work, label.label_start, label.value_start);
    }
    if !address_spans.is_empty() {
        // Only the labelled address values are address; keep the rest for the name search.
        let mut outside = work.clone();
        let mut kept = " ".repeat(work.len());
        for (start, end) in &address_spans {
            kept.replace_range(*start..*end, &work[*start..*end]);
            blank(&mut outside, *start, *end);
        }
        if result.name.is_none() {
            result.name = name_tokens(&outside)
                .into_iter()
                .map(|(start, end)| &outside[start..end])
                .find(|token| looks_like_name(token))
                .map(str::to_string);
        }
        let before_labels = result.clone();
        resolve_divisions(&kept, &mut result, &phone_spans);
        if result.county.is_none() {
            // 四川省成都市武侯区 详细地址：簇桥街道…: the labelled value alone is
            // not the whole address, so read the whole text after all.
            let mut retry = before_labels;
            resolve_divisions(&work, &mut retry, &phone_spans);
            if retry.county.is_some() {
                result = retry;
            }
        }
    } else {
        resolve_divisions(&work, &mut result, &phone_spans);
    }
    if let Some(name) = &result.name {
        result.name = Some(clean_name(name).to_string());
    }
    Ok(result)
}

/// The text span the divisions were found in and where the detail starts.
struct Resolution {
    address_start: usize,
    detail_start: usize,
}

/// Hong Kong, Macao and Taiwan: no NBS division codes exist for them.
const OUTSIDE_MAINLAND: [&str; 4] = ["香港", "澳门", "台湾", "澳門"];

fn resolve_divisions(work: &str, result: &mut ParsedAddress, phone_spans: &[(usize, usize)]) {
    let mut candidates = find_candidates(work);
    // 香港九龙… is outside the mainland, but 青岛市市南区香港中路 and
    // 台湾农民创业园 are not: the region must open a token with no division named before it.
    let may_name_region = work.contains(['香', '澳', '台']);
    let outside_mainland = may_name_region
        .then(|| tokens(work))
        .into_iter()
        .flatten()
        .find_map(|(start, end)| {
            let region = OUTSIDE_MAINLAND
                .iter()
                .find(|region| work[start..end].starts_with(**region))?;
            candidates
                .iter()
                .all(|candidate| candidate.start >= start)
                .then_some(*region)
        });
    if outside_mainland.is_some() {
        candidates.clear();
    }
    let choice = choose_chain(&candidates);
    if choice.ends.is_empty() {
        result.notes.push(match outside_mainland {
            Some(region) => Note::OutsideMainland {
                region: region.to_string(),
            },
            None => Note::NoDivisionFound,
        });
        let mut rest = work.to_string();
        if result.name.is_none()
            && let Some((start, end)) = name_tokens(work)
                .into_iter()
                .find(|(start, end)| looks_like_name(&work[*start..*end]))
        {
            result.name = Some(work[start..end].to_string());
            blank(&mut rest, start, end);
        }
        result.detail = tidy_detail(&rest);
        return;
    }

    let mut chain: Vec<Candidate> = choice.chain.clone();
    let mut village: Option<VillageHit> = None;
    let mut resolved: Option<u32>;
    if choice.ends.len() == 1 {
        resolved = Some(choice.ends[0]);
    } else if let Some((end_idx, hit)) = break_tie_by_village(&choice, work) {
        resolved = Some(choice.ends[end_idx]);
        chain = choice.end_chains[end_idx].clone();
        village = Some(hit);
    } else {
        // Keep what all equally good readings agree on, and say where they part.
        resolved = common_ancestor(&choice.ends);
        result.notes.push(ambiguity_note(resolved, &choice.ends));
    }

    let chain_start = chain.first().map_or(0, |candidate| candidate.start);
    let chain_last = chain.last().expect("a chain has at least one element");
    let chain_end = chain_last.end;
    if village.is_none()
        && result.notes.is_empty()
        && let Some(deepest) = resolved
        && divisions().records[deepest as usize].level >= Level::County
    {
        let hits = find_villages(deepest, work, (chain_last.start, chain_end), work.len());
        match villages_found(deepest, &hits) {
            VillagesFound::None => {}
            VillagesFound::One(hit) => village = Some(hit),
            VillagesFound::SameTownship(township) => {
                resolved = Some(township);
                result.notes.push(Note::Ambiguous {
                    level: Level::Village,
                    candidates: places_at(Level::Village, hits.iter().map(|hit| hit.division)),
                });
            }
            VillagesFound::Ambiguous(level) => result.notes.push(Note::Ambiguous {
                level,
                candidates: places_at(level, hits.iter().map(|hit| hit.division)),
            }),
        }
    }
    if let Some(hit) = village {
        resolved = Some(hit.division);
    }

    if let Some(deepest) = resolved {
        let written: Vec<u32> = chain
            .iter()
            .map(|candidate| candidate.division)
            .chain(village.map(|hit| hit.division))
            .collect();
        for division in divisions().at(deepest).path() {
            let inferred = !written.contains(&division.index()) || division.is_placeholder();
            *result.place_mut(division.level()) = Some(Place::of(division, inferred));
        }
    }

    let mut detail_start = village.map_or(chain_end, |hit| hit.end.max(chain_end));
    if village.is_none() && chain_last.form == matcher::Form::Short {
        // 南磨房乡 for 南磨房地区: the suffix written differs from the official one.
        let rest = &work[detail_start..];
        if let Some(suffix) = ["街道", "镇", "乡", "地区", "县", "区", "市"]
            .iter()
            .find(|suffix| rest.starts_with(**suffix))
        {
            detail_start += suffix.len();
        }
    }
    let resolution = Resolution {
        address_start: chain_start,
        detail_start,
    };
    find_name_and_detail(work, result, &resolution, phone_spans);
    result.confidence = confidence_of(result);
}

/// Equally good readings (城关镇 in many counties) may be told apart by a
/// village named after them: returns the reading with the single best village.
fn break_tie_by_village(choice: &matcher::ChainChoice, work: &str) -> Option<(usize, VillageHit)> {
    if choice.ends.len() > TIE_BREAK_DIVISIONS_MAX {
        return None;
    }
    let mut best: Option<(usize, VillageHit)> = None;
    let mut best_is_unique = false;
    for (end_idx, end_chain) in choice.end_chains.iter().enumerate() {
        let last = end_chain.last().expect("chains are not empty");
        if last.level < Level::County {
            continue;
        }
        let hits = find_villages(last.division, work, (last.start, last.end), work.len());
        let [hit] = hits[..] else {
            continue;
        };
        match &best {
            Some((_, current)) if current.rank() > hit.rank() => {}
            Some((_, current)) if current.rank() == hit.rank() => best_is_unique = false,
            _ => {
                best = Some((end_idx, hit));
                best_is_unique = true;
            }
        }
    }
    best.filter(|_| best_is_unique)
}

/// The note for equally good readings below `common`: their divisions at
/// the first level where they differ.
fn ambiguity_note(common: Option<u32>, ends: &[u32]) -> Note {
    let table = divisions();
    let level = common.map_or(Level::Province, |idx| {
        // Ends are never ancestors of one another, so their common ancestor is above the village level.
        Level::ALL[table.records[idx as usize].level.index() + 1]
    });
    Note::Ambiguous {
        level,
        candidates: places_at(level, ends.iter().copied()),
    }
}

/// The distinct divisions at `level` above (or at) the given divisions, as places.
fn places_at(level: Level, divisions_below: impl Iterator<Item = u32>) -> Vec<Place> {
    let table = divisions();
    let mut places: Vec<Place> = Vec::new();
    for below in divisions_below {
        let Some(division) = table.at(below).path().get(level.index()).copied() else {
            continue;
        };
        let place = Place::of(division, false);
        if !places.contains(&place) && places.len() < AMBIGUOUS_CANDIDATES_MAX {
            places.push(place);
        }
    }
    places
}

/// What a village search below a resolved county or township found.
enum VillagesFound {
    None,
    One(VillageHit),
    /// Same-named villages in one township: the township is still known.
    SameTownship(u32),
    /// Villages in different places fit equally well; empty from this level down.
    Ambiguous(Level),
}

fn villages_found(parent: u32, hits: &[VillageHit]) -> VillagesFound {
    let table = divisions();
    match hits {
        [] => VillagesFound::None,
        [hit] => VillagesFound::One(*hit),
        [first, rest @ ..] => {
            let township_of = |hit: &VillageHit| table.records[hit.division as usize].parent;
            let same_township = rest
                .iter()
                .all(|hit| township_of(hit) == township_of(first));
            if table.records[parent as usize].level == Level::County && same_township {
                VillagesFound::SameTownship(township_of(first))
            } else if table.records[parent as usize].level == Level::County {
                VillagesFound::Ambiguous(Level::Township)
            } else {
                VillagesFound::Ambiguous(Level::Village)
            }
        }
    }
}

/// The deepest division that is an ancestor of (or equal to) all of `ends`.
fn common_ancestor(ends: &[u32]) -> Option<u32> {
    let table = divisions();
    let paths: Vec<Vec<Division<'_>>> = ends.iter().map(|&end| table.at(end).path()).collect();
    let mut common = None;
    for depth in 0..5 {
        let first = paths[0].get(depth)?;
        if paths.iter().all(|path| path.get(depth) == Some(first)) {
            common = Some(first.index());
        } else {
            break;
        }
    }
    common
}

/// Picks the recipient's name out of the tokens around the address and takes
/// what follows the deepest division as the detail.
fn find_name_and_detail(
    work: &str,
    result: &mut ParsedAddress,
    resolution: &Resolution,
    phone_spans: &[(usize, usize)],
) {
    let all_tokens = name_tokens(work);
    let mut detail_end = work.len();
    if result.name.is_none() {
        // A name before the address: its own token, or glued in front (张三四川省…).
        for &(start, end) in &all_tokens {
            if end <= resolution.address_start {
                if looks_like_name(&work[start..end]) {
                    result.name = Some(work[start..end].to_string());
                    break;
                }
            } else if start < resolution.address_start {
                let glued = &work[start..resolution.address_start];
                if looks_like_name(glued) {
                    result.name = Some(glued.to_string());
                }
                break;
            }
        }
    }
    if result.name.is_none() {
        // A name after the address: the last token after the detail's start.
        let after: Vec<&(usize, usize)> = all_tokens
            .iter()
            .filter(|(start, _)| *start >= resolution.detail_start)
            .collect();
        if let Some(&&(start, end)) = after.last()
            && (after.len() > 1 || start > resolution.detail_start)
            && looks_like_name(&work[start..end])
        {
            result.name = Some(work[start..end].to_string());
            detail_end = start;
        }
    }
    if result.name.is_none() {
        // 3组张三13812345678: Han characters glued between detail and phone.
        if let Some(&(phone_start, _)) = phone_spans
            .iter()
            .find(|(phone_start, _)| *phone_start > resolution.detail_start)
        {
            let before_phone = &work[resolution.detail_start..phone_start];
            if !before_phone.ends_with(' ') {
                let glued: String = before_phone
                    .chars()
                    .rev()
                    .take_while(|character| {
                        ('\u{4E00}'..='\u{9FFF}').contains(character)
                            && !text::ends_address_detail(*character)
                    })
                    .collect::<Vec<char>>()
                    .into_iter()
                    .rev()
                    .collect();
                let glued_start = phone_start - glued.len();
                let preceded_by_detail_end = work[..glued_start]
                    .chars()
                    .next_back()
                    .is_some_and(text::ends_address_detail);
                let n_chars = glued.chars().count();
                if (2..=4).contains(&n_chars)
                    && preceded_by_detail_end
                    && glued_start > resolution.detail_start
                {
                    result.name = Some(glued);
                    detail_end = detail_end.min(glued_start);
                }
            }
        }
    }
    let detail_end = detail_end.max(resolution.detail_start);
    result.detail = tidy_detail(&work[resolution.detail_start..detail_end]);
}

fn confidence_of(result: &ParsedAddress) -> Confidence {
    let any_ambiguity = result
        .notes
        .iter()
        .any(|note| matches!(note, Note::Ambiguous { .. }));
    if result.deepest().is_none() {
        return if any_ambiguity {
            Confidence::Low
        } else {
            Confidence::None
        };
    }
    let ambiguous_high = result
        .notes
        .iter()
        .any(|note| matches!(note, Note::Ambiguous { level, .. } if *level <= Level::County));
    if ambiguous_high || result.county.is_none() {
        return Confidence::Low;
    }
    let top_written = [&result.province, &result.city]
        .iter()
        .any(|place| place.as_ref().is_some_and(|place| !place.inferred));
    if any_ambiguity || !top_written {
        Confidence::Medium
    } else {
        Confidence::High
    }
}

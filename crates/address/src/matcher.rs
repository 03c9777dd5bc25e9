//! Finds division names in text and picks the most complete consistent chain
//! (province → city → county → township → village), reporting ties instead of guessing.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::divisions::{Divisions, Level, divisions};
pub(crate) use crate::names::Form;
use crate::names::text_forms;

/// One division a search pattern stands for.
#[derive(Debug, Clone, Copy)]
struct Target {
    division: u32,
    form: Form,
    // Copied from the table so that candidate search touches only this array.
    level: Level,
    code: u64,
}

/// The automaton over the names of every province, city, county and township,
/// with what each pattern stands for. Villages are searched only below a
/// township or county already found, which keeps the automaton small.
pub(crate) struct Matcher {
    automaton: AhoCorasick,
    /// Per pattern: start of its targets in `targets`; the next entry ends them.
    target_starts: Vec<u32>,
    targets: Vec<Target>,
}

static MATCHER: LazyLock<Matcher> = LazyLock::new(|| Matcher::build(divisions()));

pub(crate) fn matcher() -> &'static Matcher {
    &MATCHER
}

impl Matcher {
    fn build(table: &Divisions) -> Matcher {
        let mut targets_by_pattern: HashMap<String, Vec<Target>> = HashMap::new();
        for (idx, record) in table.records.iter().enumerate() {
            if record.level == Level::Village {
                continue;
            }
            for (text, form) in text_forms(&table.at(idx as u32)) {
                targets_by_pattern.entry(text).or_default().push(Target {
                    division: idx as u32,
                    form,
                    level: record.level,
                    code: record.code,
                });
            }
        }
        let mut patterns: Vec<(String, Vec<Target>)> = targets_by_pattern.into_iter().collect();
        // Sorted so the automaton (and so every result) is the same from run to run.
        patterns.sort_by(|left, right| left.0.cmp(&right.0));
        let mut target_starts = Vec::with_capacity(patterns.len() + 1);
        let mut targets = Vec::new();
        for (_, pattern_targets) in &patterns {
            target_starts.push(targets.len() as u32);
            targets.extend_from_slice(pattern_targets);
        }
        target_starts.push(targets.len() as u32);
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(patterns.iter().map(|(text, _)| text.as_str()))
            .expect("division names form a valid automaton");
        Matcher {
            automaton,
            target_starts,
            targets,
        }
    }
}

/// A division name found in the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) division: u32,
    pub(crate) level: Level,
    pub(crate) form: Form,
    /// The division's code, kept here so the chain search needs no table look-ups.
    code: u64,
    score: i32,
}

/// Whether `rest` starts with a word that, right after a short name, shows
/// it is part of a street or building name (北京路, 人民大厦, 中山公园)
/// rather than the division itself. A match on the first character keeps
/// this cheap: it runs for every name found.
fn starts_with_street_word(rest: &str) -> bool {
    let Some(first) = rest.chars().next() else {
        return false;
    };
    let second_is = |words: &[&str]| words.iter().any(|word| rest.starts_with(word));
    match first {
        '路' | '街' | '巷' | '道' | '弄' | '桥' | '里' | '站' | '苑' => true,
        '胡' => second_is(&["胡同"]),
        '小' => second_is(&["小区", "小学"]),
        '花' => second_is(&["花园"]),
        '广' => second_is(&["广场"]),
        '公' => second_is(&["公园", "公司"]),
        '大' => second_is(&["大厦", "大学", "大道", "大街"]),
        '中' => second_is(&["中学"]),
        '医' => second_is(&["医院"]),
        '市' => second_is(&["市场"]),
        '商' => second_is(&["商场"]),
        '酒' => second_is(&["酒店"]),
        '宾' => second_is(&["宾馆"]),
        _ => false,
    }
}

fn is_followed_by_street_word(text: &str, end: usize) -> bool {
    let rest = &text[end..];
    if rest.starts_with("街道") {
        // 唐湾街道 written for 唐湾镇: an administrative word, not a street.
        return false;
    }
    // 南磨房南路, 解放中路: a direction before the street word.
    starts_with_street_word(rest)
        || rest
            .strip_prefix(['东', '南', '西', '北', '中'])
            .is_some_and(starts_with_street_word)
}

fn char_count(text: &str) -> i32 {
    text.chars().count() as i32
}

/// Every province, city, county and township name in `text`, overlapping.
/// A candidate scores two per character matched, so that longer evidence
/// wins, and one more for the full official name, so that 吉林市 (the city)
/// beats 吉林 (the province) followed by 市; a generic name (高新区) scores
/// as one character.
pub(crate) fn find_candidates(text: &str) -> Vec<Candidate> {
    let matcher = matcher();
    let mut candidates = Vec::new();
    for found in matcher.automaton.find_overlapping_iter(text) {
        let pattern = found.pattern().as_usize();
        let (start, end) = (found.start(), found.end());
        let targets = &matcher.targets
            [matcher.target_starts[pattern] as usize..matcher.target_starts[pattern + 1] as usize];
        let mut street_word_follows: Option<bool> = None;
        let n_chars = char_count(&text[start..end]);
        let village_word_follows = ["村", "社区", "嘎查", "居委会"]
            .iter()
            .any(|word| text[end..].starts_with(word));
        for target in targets {
            if target.form != Form::Full
                && *street_word_follows.get_or_insert_with(|| is_followed_by_street_word(text, end))
            {
                continue;
            }
            candidates.push(Candidate {
                start,
                end,
                division: target.division,
                level: target.level,
                form: target.form,
                code: target.code,
                score: match target.form {
                    Form::Full => 2 * n_chars + 1,
                    // 巴彦温都尔嘎查村 after 绍根镇 is a village named like
                    // another township, weak evidence for that township.
                    Form::Short if target.level == Level::Township && village_word_follows => 2,
                    Form::Short => 2 * n_chars,
                    Form::Generic => 2,
                },
            });
        }
    }
    candidates.sort_by_key(|candidate| (candidate.start, candidate.end, candidate.division));
    candidates
}

/// True when `ancestor` is a strict ancestor of `descendant`, by code prefix.
pub(crate) fn is_ancestor(table: &Divisions, ancestor: u32, descendant: u32) -> bool {
    let upper = &table.records[ancestor as usize];
    let lower = &table.records[descendant as usize];
    is_ancestor_code((upper.code, upper.level), (lower.code, lower.level))
}

fn is_ancestor_code(
    (upper_code, upper_level): (u64, Level),
    (lower_code, lower_level): (u64, Level),
) -> bool {
    upper_level < lower_level
        && lower_code / 10u64.pow((lower_level.code_digits() - upper_level.code_digits()) as u32)
            == upper_code
}

/// The best chain(s) of candidates: each element an ancestor of the next and
/// after it in the text.
pub(crate) struct ChainChoice {
    /// The matched candidates of one best chain, top down; empty when nothing matched.
    pub(crate) chain: Vec<Candidate>,
    /// The deepest divisions of all equally good chains, none an ancestor of
    /// another; more than one means the text is ambiguous.
    pub(crate) ends: Vec<u32>,
    /// For each of `ends`, its chain (parallel to `ends`).
    pub(crate) end_chains: Vec<Vec<Candidate>>,
}

/// Picks the highest-scoring consistent chain by dynamic programming over the
/// candidates in text order. Only provinces, cities and counties can precede
/// another element, so each candidate checks just those (usually a handful),
/// even when a common township name (城关镇) yields hundreds of candidates.
pub(crate) fn choose_chain(candidates: &[Candidate]) -> ChainChoice {
    let table = divisions();
    let mut totals = vec![0i32; candidates.len()];
    let mut previous: Vec<Option<usize>> = vec![None; candidates.len()];
    let mut upper_indices: Vec<usize> = Vec::new();
    for (idx, candidate) in candidates.iter().enumerate() {
        let mut best_before = 0;
        for &upper_idx in &upper_indices {
            let upper = &candidates[upper_idx];
            if upper.end <= candidate.start
                && totals[upper_idx] > best_before
                && is_ancestor_code((upper.code, upper.level), (candidate.code, candidate.level))
            {
                best_before = totals[upper_idx];
                previous[idx] = Some(upper_idx);
            }
        }
        totals[idx] = candidate.score + best_before;
        if candidate.level <= Level::County {
            upper_indices.push(idx);
        }
    }
    let Some(&best_total) = totals.iter().max() else {
        return ChainChoice {
            chain: Vec::new(),
            ends: Vec::new(),
            end_chains: Vec::new(),
        };
    };
    let mut end_indices: Vec<usize> = (0..candidates.len())
        .filter(|&idx| totals[idx] == best_total)
        .collect();
    end_indices.sort_by_key(|&idx| candidates[idx].division);
    end_indices.dedup_by_key(|idx| candidates[*idx].division);
    // A tie between a division and its own ancestor (东莞市 the city and
    // 东莞市 the synthetic county row) is no ambiguity: keep the deeper one.
    let ends_snapshot = end_indices.clone();
    end_indices.retain(|&idx| {
        !ends_snapshot
            .iter()
            .any(|&other| is_ancestor(table, candidates[idx].division, candidates[other].division))
    });
    let backtrack = |mut idx: usize| {
        let mut chain = vec![candidates[idx]];
        while let Some(before) = previous[idx] {
            chain.push(candidates[before]);
            idx = before;
        }
        chain.reverse();
        chain
    };
    let end_chains: Vec<Vec<Candidate>> = end_indices.iter().map(|&idx| backtrack(idx)).collect();
    ChainChoice {
        chain: end_chains[0].clone(),
        ends: end_indices
            .iter()
            .map(|&idx| candidates[idx].division)
            .collect(),
        end_chains,
    }
}

/// A village name found below a known township or county.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VillageHit {
    pub(crate) division: u32,
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// 1 for a bare core name, more when a village word or the full name follows.
    evidence: i32,
    score: i32,
}

impl VillageHit {
    /// Higher is better: the score, then the earlier position.
    pub(crate) fn rank(&self) -> (i32, std::cmp::Reverse<usize>) {
        (self.score, std::cmp::Reverse(self.start))
    }
}

/// Words a village's core name may be followed by in an address.
const VILLAGE_WORDS: [&str; 9] = [
    "村民委员会",
    "社区居委会",
    "居民委员会",
    "村委会",
    "居委会",
    "委员会",
    "社区",
    "村",
    "嘎查",
];

fn village_hit_in(
    table: &Divisions,
    village: u32,
    text: &str,
    from: usize,
    to: usize,
    parent_end: usize,
) -> Option<VillageHit> {
    let name = table.name_of(village);
    let record = &table.records[village as usize];
    let core = &name[..usize::from(record.core_bytes)];
    let stem = &name[..usize::from(record.stem_bytes)];
    // Every occurrence counts: in 黄羌镇黄羌村 the first 黄羌 is the township.
    byte_occurrences(&text.as_bytes()[from..to], core.as_bytes())
        .filter_map(|offset| {
            let start = from + offset;
            // Right after its township (城东镇堑南…) even a bare name is likely the village.
            let adjacent = text
                .get(parent_end..start)
                .is_some_and(|between| between.trim().is_empty());
            village_hit_at(village, name, (core, stem), text, (start, to), adjacent)
        })
        .max_by_key(|hit| (hit.score, std::cmp::Reverse(hit.start)))
}

/// Start offsets of `needle` in `haystack`. Needles here are a few
/// characters and haystacks a few dozen, where a plain comparison beats
/// setting up a substring searcher; UTF-8 guarantees that a match of whole
/// characters starts on a character boundary.
fn byte_occurrences<'text>(
    haystack: &'text [u8],
    needle: &'text [u8],
) -> impl Iterator<Item = usize> + 'text {
    let first = needle.first().copied();
    let last_start = haystack.len().checked_sub(needle.len());
    (0..=last_start.unwrap_or(0))
        .filter(move |_| last_start.is_some())
        .filter(move |&start| {
            Some(haystack[start]) == first && haystack[start..].starts_with(needle)
        })
}

fn village_hit_at(
    village: u32,
    name: &str,
    (core, stem): (&str, &str),
    text: &str,
    (start, to): (usize, usize),
    adjacent: bool,
) -> Option<VillageHit> {
    let core_end = start + core.len();
    let after = &text[core_end..to];
    let full_name_bytes = (core.len() < name.len())
        .then(|| crate::text::starts_with_normalised(after, &name[core.len()..]))
        .flatten();
    let (end, evidence) = if let Some(rest_bytes) = full_name_bytes {
        (core_end + rest_bytes, 4)
    } else if let Some(word) = VILLAGE_WORDS.iter().find(|word| after.starts_with(**word)) {
        // 广和社区 and 广和村 may both exist: the word written picks the kind.
        let official_word = &name[core.len()..];
        let same_kind = official_word.chars().next() == word.chars().next();
        (core_end + word.len(), if same_kind { 3 } else { 2 })
    } else if stem.len() > core.len() && after.starts_with(&stem[core.len()..]) {
        (start + stem.len(), 2)
    } else if core.ends_with('村') || core.ends_with("社区") {
        // 佘村 keeps its 村 because 佘 alone is too short to search for; a
        // village named exactly so (时村) beats one that only starts so (时村社区).
        (core_end, if core.len() == name.len() { 3 } else { 2 })
    } else {
        // A bare core name is weak evidence: accept it before a group number
        // or at the end, or when it is long enough to be distinctive. A
        // community named after a road (南京路社区) is not meant by the bare
        // road name (南京路100号).
        if core.ends_with(['路', '街', '道', '巷', '里', '弄']) {
            return None;
        }
        let plausible_end = match after.chars().next() {
            None => true,
            Some(character) => {
                character.is_ascii_digit()
                    || character == ' '
                    || ",;组队社号".contains(character)
                    || ((char_count(core) >= 3 || adjacent)
                        && !is_followed_by_street_word(text, core_end))
            }
        };
        if !plausible_end {
            return None;
        }
        (core_end, 1)
    };
    Some(VillageHit {
        division: village,
        start,
        end,
        evidence,
        score: 4 * char_count(&text[start..end]) + evidence,
    })
}

/// Villages below `parent` (a township, or a county for all its townships)
/// named in `text[parent_end..to]`, or starting inside the parent's own
/// match when that was a short form standing for the village (擂鼓村 read as
/// 擂鼓 for 擂鼓镇): the best hits, several when they tie.
pub(crate) fn find_villages(
    parent: u32,
    text: &str,
    (parent_start, parent_end): (usize, usize),
    to: usize,
) -> Vec<VillageHit> {
    let table = divisions();
    let from = parent_start;
    if from >= to {
        return Vec::new();
    }
    let mut best: Vec<VillageHit> = Vec::new();
    let end = table.records[parent as usize].subtree_end;
    // A 128-bit sketch of the characters in the region lets most villages be
    // skipped by their first character before any substring search.
    let char_bit = |character: char| 1u128 << (character as u32 % 128);
    let region_chars = text[from..to]
        .chars()
        .fold(0u128, |sketch, character| sketch | char_bit(character));
    for idx in parent + 1..end {
        let record = &table.records[idx as usize];
        if record.level != Level::Village {
            continue;
        }
        let first = table
            .name_of(idx)
            .chars()
            .next()
            .expect("names are not empty");
        if region_chars & char_bit(first) == 0 {
            continue;
        }
        let Some(mut hit) = village_hit_in(table, idx, text, from, to, parent_end) else {
            continue;
        };
        if hit.start < parent_end {
            if hit.evidence < 2 || hit.end <= parent_end {
                continue;
            }
            // Only the part beyond the township's own text is evidence for
            // the village (店塔镇店塔社区 must not win 店塔村委会 by repeating 店塔镇).
            hit.score = 4 * char_count(&text[parent_end..hit.end]) + hit.evidence;
        }
        let better = match best.first() {
            None => true,
            Some(current) => {
                (hit.score, std::cmp::Reverse(hit.start))
                    > (current.score, std::cmp::Reverse(current.start))
            }
        };
        if better {
            best.clear();
            best.push(hit);
        } else if best
            .first()
            .is_some_and(|current| current.score == hit.score && current.start == hit.start)
        {
            best.push(hit);
        }
    }
    best
}

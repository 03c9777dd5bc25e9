//! The embedded NBS 2023 division table (province down to village) and
//! lookups by code, parent and children.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The compact table produced by `examples/gen_data.rs`; see that file for the format.
static EMBEDDED_TABLE_GZ: &[u8] = include_bytes!("../data/divisions.txt.gz");

static TABLE: LazyLock<Divisions> = LazyLock::new(|| {
    let mut decoder = flate2::read::GzDecoder::new(EMBEDDED_TABLE_GZ);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut decoder, &mut text)
        .expect("the embedded division table is valid gzip UTF-8 (checked by tests)");
    Divisions::from_table_text(&text).expect("the embedded division table is well formed")
});

/// The division table, loaded from the embedded data on first use (about a
/// quarter of a second); later calls are free.
pub fn divisions() -> &'static Divisions {
    &TABLE
}

/// Administrative level, from province (省级) down to village (村级).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province = 1,
    City = 2,
    County = 3,
    Township = 4,
    Village = 5,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Province,
        Level::City,
        Level::County,
        Level::Township,
        Level::Village,
    ];

    /// Number of digits of a code at this level.
    pub fn code_digits(self) -> usize {
        match self {
            Level::Province => 2,
            Level::City => 4,
            Level::County => 6,
            Level::Township => 9,
            Level::Village => 12,
        }
    }

    fn from_code_digits(digits: usize) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|level| level.code_digits() == digits)
    }

    fn from_index(index: u8) -> Option<Level> {
        Level::ALL.get(usize::from(index).checked_sub(1)?).copied()
    }

    pub fn index(self) -> usize {
        self as usize - 1
    }
}

/// One row of the table. Rows are stored in depth-first code order, so a
/// division's descendants are the rows directly after it up to `subtree_end`.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) code: u64,
    pub(crate) name_start: u32,
    pub(crate) name_bytes: u16,
    /// Bytes of the name without its administrative suffix (镇, 村民委员会, …).
    pub(crate) stem_bytes: u8,
    /// Bytes of the stem without a trailing 村/社区/嘎查, or equal to the stem.
    pub(crate) core_bytes: u8,
    pub(crate) level: Level,
    pub(crate) parent: u32,
    pub(crate) subtree_end: u32,
}

/// Why the table text could not be read; only reachable with a corrupt table.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TableError {
    #[error("division table line {line}: {problem}")]
    Malformed { line: usize, problem: &'static str },
}

/// All divisions with lookups by code. Obtain it with [`divisions()`].
pub struct Divisions {
    pub(crate) records: Vec<Record>,
    pub(crate) names: String,
}

/// A division in the table: a cheap handle with its code, name and links.
#[derive(Clone, Copy)]
pub struct Division<'table> {
    table: &'table Divisions,
    idx: u32,
}

impl std::fmt::Debug for Division<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} {}", self.code(), self.name())
    }
}

impl PartialEq for Division<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.table, other.table) && self.idx == other.idx
    }
}

impl<'table> Division<'table> {
    fn record(&self) -> &'table Record {
        &self.table.records[self.idx as usize]
    }

    /// The NBS code as it stands in the data: 2, 4, 6, 9 or 12 digits.
    pub fn code(&self) -> String {
        let record = self.record();
        format!(
            "{:0width$}",
            record.code,
            width = record.level.code_digits()
        )
    }

    /// The code as a number (leading zeros cannot occur: provinces start at 11).
    pub fn code_number(&self) -> u64 {
        self.record().code
    }

    pub fn name(&self) -> &'table str {
        self.table.name_of(self.idx)
    }

    pub fn level(&self) -> Level {
        self.record().level
    }

    pub fn parent(&self) -> Option<Division<'table>> {
        (self.record().level != Level::Province).then(|| Division {
            table: self.table,
            idx: self.record().parent,
        })
    }

    /// The divisions directly below this one, in code order.
    pub fn children(&self) -> impl Iterator<Item = Division<'table>> + 'table {
        let table = self.table;
        let end = self.record().subtree_end;
        let mut next = self.idx + 1;
        std::iter::from_fn(move || {
            if next >= end {
                return None;
            }
            let child = Division { table, idx: next };
            next = table.records[next as usize].subtree_end;
            Some(child)
        })
    }

    /// This division and its ancestors, from the province down.
    pub fn path(&self) -> Vec<Division<'table>> {
        let mut path = vec![*self];
        while let Some(parent) = path.last().and_then(Division::parent) {
            path.push(parent);
        }
        path.reverse();
        path
    }

    /// Statistics-only development zones have county codes of the form `xxxx7x`;
    /// they are not GB/T 2260 divisions but addresses use them.
    pub fn is_development_zone(&self) -> bool {
        let record = self.record();
        let county_code = match record.level {
            Level::Province | Level::City => return false,
            level => record.code / 10u64.pow((level.code_digits() - 6) as u32),
        };
        (county_code / 10) % 10 == 7
    }

    /// Placeholder rows that are not real divisions: a municipality's
    /// `市辖区`/`县` city rows and the provinces' `省直辖县级行政区划` rows.
    pub fn is_placeholder(&self) -> bool {
        let record = self.record();
        record.level == Level::City
            && (record.code % 100 == 90 || is_municipality(record.code / 100))
    }

    pub(crate) fn index(&self) -> u32 {
        self.idx
    }
}

/// Beijing, Tianjin, Shanghai and Chongqing.
pub(crate) fn is_municipality(province_code: u64) -> bool {
    matches!(province_code, 11 | 12 | 31 | 50)
}

impl Divisions {
    /// Builds the table from the generator's text format (see `examples/gen_data.rs`).
    pub fn from_table_text(text: &str) -> Result<Divisions, TableError> {
        let n_lines = text.lines().count();
        let mut records: Vec<Record> = Vec::with_capacity(n_lines);
        let mut names = String::with_capacity(text.len());
        // Index of the most recent row at each level: the parent of the next deeper row.
        let mut open: [Option<u32>; 5] = [None; 5];
        for (line_idx, line) in text.lines().enumerate() {
            let malformed = |problem| TableError::Malformed {
                line: line_idx + 1,
                problem,
            };
            let level = line
                .as_bytes()
                .first()
                .and_then(|byte| byte.checked_sub(b'0'))
                .and_then(Level::from_index)
                .ok_or(malformed("level digit 1-5 expected"))?;
            let suffix_digits = level.code_digits()
                - level
                    .index()
                    .checked_sub(1)
                    .map_or(0, |parent| Level::ALL[parent].code_digits());
            let suffix = line
                .get(1..1 + suffix_digits)
                .filter(|digits| digits.bytes().all(|byte| byte.is_ascii_digit()))
                .ok_or(malformed("code digits expected"))?;
            let suffix: u64 = suffix
                .parse()
                .map_err(|_| malformed("code digits expected"))?;
            let name = &line[1 + suffix_digits..];
            if name.is_empty() || name.len() > usize::from(u16::MAX) {
                return Err(malformed("name missing or too long"));
            }
            let (parent, code) = match level.index().checked_sub(1) {
                None => (0, suffix),
                Some(parent_level) => {
                    let parent = open[parent_level].ok_or(malformed("row without parent"))?;
                    let parent_code = records[parent as usize].code;
                    (
                        parent,
                        parent_code * 10u64.pow(suffix_digits as u32) + suffix,
                    )
                }
            };
            let idx = records.len() as u32;
            // Close the subtrees of this level and deeper.
            for slot in open.iter_mut().skip(level.index()) {
                if let Some(closed) = slot.take() {
                    records[closed as usize].subtree_end = idx;
                }
            }
            open[level.index()] = Some(idx);
            let (stem_bytes, core_bytes) = crate::names::stem_and_core(name, level);
            records.push(Record {
                code,
                name_start: names.len() as u32,
                name_bytes: name.len() as u16,
                stem_bytes: stem_bytes as u8,
                core_bytes: core_bytes as u8,
                level,
                parent,
                subtree_end: idx + 1,
            });
            names.push_str(name);
        }
        let n_records = records.len() as u32;
        for slot in open.into_iter().flatten() {
            records[slot as usize].subtree_end = n_records;
        }
        Ok(Divisions { records, names })
    }

    pub(crate) fn name_of(&self, idx: u32) -> &str {
        let record = &self.records[idx as usize];
        let start = record.name_start as usize;
        &self.names[start..start + usize::from(record.name_bytes)]
    }

    pub(crate) fn at(&self, idx: u32) -> Division<'_> {
        Division { table: self, idx }
    }

    /// Number of divisions of all levels.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Looks a division up by its code of 2, 4, 6, 9 or 12 digits.
    pub fn get(&self, code: &str) -> Option<Division<'_>> {
        if !code.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        let level = Level::from_code_digits(code.len())?;
        let number: u64 = code.parse().ok()?;
        self.get_number(level, number)
    }

    /// Looks a division up by level and numeric code.
    pub fn get_number(&self, level: Level, code: u64) -> Option<Division<'_>> {
        let padded = code * 10u64.pow((12 - level.code_digits()) as u32);
        // Depth-first order is the order of (code padded to 12 digits, level).
        let found = self
            .records
            .binary_search_by(|record| {
                let record_padded =
                    record.code * 10u64.pow((12 - record.level.code_digits()) as u32);
                record_padded.cmp(&padded).then(record.level.cmp(&level))
            })
            .ok()?;
        Some(self.at(found as u32))
    }

    /// The 31 provinces in code order.
    pub fn provinces(&self) -> impl Iterator<Item = Division<'_>> + '_ {
        let mut next = 0u32;
        std::iter::from_fn(move || {
            let record = self.records.get(next as usize)?;
            let province = self.at(next);
            next = record.subtree_end;
            Some(province)
        })
    }

    /// Every division at one level, in code order.
    pub fn at_level(&self, level: Level) -> impl Iterator<Item = Division<'_>> + '_ {
        self.records
            .iter()
            .enumerate()
            .filter(move |(_, record)| record.level == level)
            .map(|(idx, _)| self.at(idx as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_table_links_parents_and_children() {
        let table = Divisions::from_table_text(
            "151四川省\n201成都市\n307武侯区\n4011簇桥街道\n5003龙井社区居委会\n202自贡市\n",
        )
        .expect("well formed");
        let village = table.get("510107011003").expect("village");
        let path: Vec<String> = village.path().iter().map(Division::code).collect();
        assert_eq!(path, ["51", "5101", "510107", "510107011", "510107011003"]);
        let cities: Vec<&str> = table
            .get("51")
            .expect("province")
            .children()
            .map(|city| city.name())
            .collect();
        assert_eq!(cities, ["成都市", "自贡市"]);
    }

    #[test]
    fn malformed_tables_name_the_line() {
        let cases = [
            ("151四川省\n9xx\n", 2, "level digit 1-5 expected"),
            ("201成都市\n", 1, "row without parent"),
            ("15四川省\n", 1, "code digits expected"),
            ("151\n", 1, "name missing or too long"),
        ];
        for (text, line, problem) in cases {
            let error = Divisions::from_table_text(text).err();
            assert_eq!(
                error,
                Some(TableError::Malformed { line, problem }),
                "{text:?}"
            );
        }
    }
}

//! One-off converter: derives the compact embedded division table
//! (`crates/address/data/divisions.txt.gz`) from the NBS CSV files in
//! `../shared/data/china-division/`.
//!
//! Run from the repository root:
//! `cargo run --release -p address --example gen_data -- ../shared/data/china-division crates/address/data/divisions.txt.gz`
//!
//! Output format (UTF-8, gzip): one division per line in depth-first code
//! order, `<level><code suffix><name>`, where level is 1..=5 and the suffix
//! has 2, 2, 2, 3, 3 digits for province, city, county, township, village.
//! A line's parent is the nearest preceding line of the level above, so the
//! full code is the parent's code followed by the suffix.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Splits one CSV line of this data set: fields are either bare codes or
/// double-quoted names without embedded quotes.
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    for character in line.chars() {
        match character {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => fields.push(std::mem::take(&mut current)),
            _ => current.push(character),
        }
    }
    fields.push(current);
    fields
}

/// Reads a CSV file (optionally gzip) into (code, name, parent code) triples,
/// looking columns up by header name because the files differ in column order.
fn read_rows(path: &Path, parent_column: Option<&str>) -> Vec<(String, String, String)> {
    let file = std::fs::File::open(path)
        .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
    let reader: Box<dyn Read> = if path.extension().is_some_and(|ext| ext == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut lines = BufReader::new(reader).lines();
    let header = split_csv_line(&lines.next().expect("header line").expect("readable header"));
    let column = |name: &str| {
        header
            .iter()
            .position(|field| field == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
    };
    let code_idx = column("code");
    let name_idx = column("name");
    let parent_idx = parent_column.map(column);
    let mut rows = Vec::new();
    for (line_idx, line) in lines.enumerate() {
        let line = line.expect("readable line");
        if line.is_empty() {
            continue;
        }
        let fields = split_csv_line(&line);
        assert_eq!(
            fields.len(),
            header.len(),
            "{} line {}: wrong number of fields",
            path.display(),
            line_idx + 2
        );
        let parent = parent_idx
            .map(|idx| fields[idx].clone())
            .unwrap_or_default();
        rows.push((fields[code_idx].clone(), fields[name_idx].clone(), parent));
    }
    rows
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let source = PathBuf::from(
        arguments
            .first()
            .map(String::as_str)
            .unwrap_or("../shared/data/china-division"),
    );
    let target = PathBuf::from(
        arguments
            .get(1)
            .map(String::as_str)
            .unwrap_or("crates/address/data/divisions.txt.gz"),
    );
    if !source.join("provinces.csv").exists() {
        eprintln!(
            "division data not found at {} (pass the china-division folder as first argument)",
            source.display()
        );
        std::process::exit(2);
    }
    let levels: [(&str, Option<&str>, usize); 5] = [
        ("provinces.csv", None, 2),
        ("cities.csv", Some("provinceCode"), 4),
        ("areas.csv", Some("cityCode"), 6),
        ("streets.csv", Some("areaCode"), 9),
        ("villages.csv.gz", Some("streetCode"), 12),
    ];
    // code -> name, per level; BTreeMap keeps codes sorted, which with the
    // fixed widths gives depth-first order when all levels are merged.
    let mut all: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut known_codes: Vec<std::collections::HashSet<String>> = Vec::new();
    for (level_idx, (file, parent_column, width)) in levels.iter().enumerate() {
        let rows = read_rows(&source.join(file), *parent_column);
        let mut codes = std::collections::HashSet::new();
        for (code, name, parent) in rows {
            assert_eq!(
                code.len(),
                *width,
                "{file}: code {code} has the wrong width"
            );
            assert!(
                code.bytes().all(|byte| byte.is_ascii_digit()),
                "{file}: code {code}"
            );
            assert!(
                !name.contains('\n') && !name.is_empty(),
                "{file}: bad name for {code}"
            );
            if level_idx > 0 {
                let parent_width = levels[level_idx - 1].2;
                assert_eq!(
                    &code[..parent_width],
                    parent,
                    "{file}: {code} not under {parent}"
                );
                assert!(
                    known_codes[level_idx - 1].contains(&parent),
                    "{file}: {code} orphan"
                );
            }
            codes.insert(code.clone());
            all.insert(code, (level_idx + 1, name));
        }
        eprintln!("{file}: {} rows", codes.len());
        known_codes.push(codes);
    }
    // Sorting by the code padded to 12 digits gives parents before children.
    let mut ordered: Vec<(String, usize, String)> = all
        .into_iter()
        .map(|(code, (level, name))| (format!("{code:0<12}"), level, name))
        .collect();
    ordered.sort_by(|left, right| left.0.cmp(&right.0).then(left.1.cmp(&right.1)));
    let suffix_ranges = [(0, 2), (2, 4), (4, 6), (6, 9), (9, 12)];
    let mut text = String::new();
    for (padded, level, name) in &ordered {
        let (from, to) = suffix_ranges[level - 1];
        text.push_str(&format!("{level}{}{name}\n", &padded[from..to]));
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(text.as_bytes()).expect("compress");
    let compressed = encoder.finish().expect("compress");
    std::fs::write(&target, &compressed)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", target.display()));
    eprintln!(
        "wrote {} ({} bytes, {} bytes uncompressed, {} divisions)",
        target.display(),
        compressed.len(),
        text.len(),
        ordered.len()
    );
}

//! A carrier's manifest as a spreadsheet (.xlsx/.xls/.ods, sniffed from
//! the bytes), read by the very module `yizhan import` uses: never a panic.
//! Seed the corpus with real workbooks (bench/fuzz.sh makes one) so the
//! fuzzer starts past the zip container.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/manifest_file/src/lib.rs"]
mod manifest_file;

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = manifest_file::spreadsheet_rows(data) else {
        return;
    };
    for (_line, _position, row) in rows.into_iter().take(10_000) {
        if let Ok(row) = row {
            let _ = app::manifest::parse_row_for(domain::Carrier::Zto, &row);
        }
    }
});

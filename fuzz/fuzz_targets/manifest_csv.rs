//! A carrier's manifest as CSV, read by the very module `yizhan import`
//! uses: never a panic, every row either a parcel or a reason a person can
//! read.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/manifest_file/src/lib.rs"]
mod manifest_file;

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = manifest_file::csv_rows(data) else {
        return;
    };
    for (_line, _position, row) in rows.take(10_000) {
        match row {
            Ok(row) => {
                if let Err(reason) = app::manifest::parse_row_for(domain::Carrier::Zto, &row) {
                    assert!(!reason.is_empty());
                }
            }
            Err(reason) => assert!(!reason.is_empty()),
        }
    }
});

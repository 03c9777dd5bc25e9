//! Named limits on everything that comes in, unit last. One place, so the API,
//! the importers and the docs agree on them.

/// Largest HTTP request body the API accepts.
/// Dates the API takes (report ranges, bag days, agreement periods) lie in
/// these years: four-digit years, so day arithmetic can never overflow
/// (chrono's own limit is year 262142).
pub const DATE_YEAR_MIN: i32 = 1970;
pub const DATE_YEAR_MAX: i32 = 9999;

pub const BODY_BYTES_MAX: usize = 1024 * 1024;
/// Most parcels in one inbound batch or manifest request.
pub const BATCH_PARCELS_MAX: usize = 500;
/// Largest page of a listing.
pub const PAGE_SIZE_MAX: u32 = 200;
/// Longest waybill number accepted (after trimming).
pub const WAYBILL_CHARS_MAX: usize = 40;
/// Shortest waybill number accepted.
pub const WAYBILL_CHARS_MIN: usize = 6;
/// Longest person or station name.
pub const NAME_CHARS_MAX: usize = 64;
/// Longest free-text address.
pub const ADDRESS_CHARS_MAX: usize = 200;
/// Longest free-text note (problem description, proof note).
pub const NOTE_CHARS_MAX: usize = 500;
/// Most slots one station may have.
pub const STATION_SLOTS_MAX: u32 = 5_000;
/// Most parcels one slot may hold.
pub const SLOT_CAPACITY_MAX: u32 = 20;
/// Heaviest parcel weight accepted, in grams.
pub const WEIGHT_GRAMS_MAX: u32 = crate::county::WEIGHT_GRAMS_MAX;
/// Rows of a manifest file announced in one transaction: large enough that
/// commits (each an fsync) do not dominate, small enough that a crash loses
/// little work and a chunk's statements stay modest.
pub const MANIFEST_CHUNK_ROWS: usize = 5_000;
/// Rows in one manifest file.
pub const MANIFEST_ROWS_MAX: usize = 1_000_000;

/// Check a free-text field: trimmed, non-empty, at most `chars_max`
/// characters, no control characters. Returns the trimmed text.
pub fn text_field<'a>(field: &str, value: &'a str, chars_max: usize) -> Result<&'a str, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    let n_chars = trimmed.chars().count();
    if n_chars > chars_max {
        return Err(format!(
            "{field} is {n_chars} characters long; at most {chars_max} are allowed"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(trimmed)
}

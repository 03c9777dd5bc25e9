//! The parcel spine's vocabulary and rules: ids, carriers and waybill numbers,
//! phone numbers, stations and pickup codes, the parcel state machine, consent,
//! holding periods and who may act on what. No IO, no clock, no randomness:
//! every function takes what it needs (including `now`) as an argument.

pub mod access;
pub mod approval;
pub mod audit;
pub mod carrier;
pub mod compliance;
pub mod county;
pub mod finance;
pub mod fleet;
pub mod holding;
pub mod ledger;
pub mod limits;
pub mod parcel;
pub mod phone;
pub mod pickup_code;
pub mod sending;
pub mod station;
pub mod terminal;
pub mod waybill;
pub mod webhook;
// Group robots (issue 16, branch board).
pub mod bot;
pub mod economics;
// branch kiosks (issue 14): the kiosk fleet and its daily report.
pub mod kiosk;
// Branch `money` (issue 15): bank statement lines.
pub mod bank;
// branch presale (issue 14): community pre-sale order files and reports.
pub mod presale;
// branch money2 (issue 15, session 10): collection plans' periods, reminders.
pub mod collection;

pub use access::{Principal, Role};
pub use carrier::Carrier;
pub use parcel::{Action, EventKind, ParcelState, ProblemKind, TransitionError};
pub use phone::{Phone, PhoneError};
pub use pickup_code::{CodeFormat, CodeFormatError};
pub use waybill::{WaybillError, WaybillNo};

/// Money is always integer fen (0.01 yuan); never a float.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl std::fmt::Display for Fen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

/// China has kept one offset, UTC+8 with no daylight saving, since 1991, so a
/// fixed offset shows Asia/Shanghai exactly without shipping a tz database.
pub fn shanghai() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The Asia/Shanghai calendar day of an instant: agreements' dates, bags,
/// fee days, reports and "today" on every page are local dates.
pub fn shanghai_day(at: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    at.with_timezone(&shanghai()).date_naive()
}

/// Midnight at the start of a Shanghai day, in UTC.
pub fn day_start(day: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    shanghai()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("a fixed offset has one midnight")
        .with_timezone(&chrono::Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_displays_as_yuan() {
        assert_eq!(Fen(45).to_string(), "¥0.45");
        assert_eq!(Fen(-12_345).to_string(), "-¥123.45");
    }
}

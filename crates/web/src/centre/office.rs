//! What the centre's office pages (agreements, reports, dispatch, sort
//! plans) share: reading a carrier and a day from a form or a query with
//! our own messages, and naming a carrier in the page's language.

use crate::i18n::Tr;
use app::{AppError, Code};
use chrono::NaiveDate;
use domain::Carrier;

/// A carrier as the page names it: "ZTO 中通" in Chinese, "ZTO" in English.
pub(super) fn carrier_name(carrier: Carrier, t: Tr) -> String {
    if t.is_en() {
        carrier.code().to_string()
    } else {
        format!("{} {}", carrier.code(), carrier.name_zh())
    }
}

/// The carrier a form or query names; ZTO when it names none (the pages
/// open on one carrier rather than on nothing).
pub(super) fn parse_carrier(text: Option<&str>) -> Result<Carrier, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(Carrier::Zto),
        Some(text) => Carrier::parse(text)
            .map_err(|detail| AppError::new(Code::CarrierUnknown).with_detail(detail)),
    }
}

/// A day typed as year-month-day; empty is none.
pub(super) fn parse_day(text: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        AppError::new(Code::FormDateInvalid)
            .with("value", text.chars().take(20).collect::<String>())
    })?;
    app::county::check_day(day)?;
    Ok(Some(day))
}

/// The carriers for a picker: code and name.
pub(super) fn carriers(t: Tr) -> Vec<(&'static str, String)> {
    Carrier::ALL
        .iter()
        .map(|c| (c.code(), carrier_name(*c, t)))
        .collect()
}

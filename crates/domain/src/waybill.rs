//! Waybill numbers: a parsed, normalised number, carrier suggestions from the
//! usual patterns, and the UPU S10 check digit.
//!
//! Domestic patterns are conventions, not standards, and all-digit formats
//! overlap, so recognition only *suggests*; the operator's chosen carrier wins
//! and nothing is rejected on a pattern alone.

use crate::carrier::Carrier;
use crate::limits::{WAYBILL_CHARS_MAX, WAYBILL_CHARS_MIN};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct WaybillNo(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaybillError {
    #[error("waybill number is empty")]
    Empty,
    #[error(
        "waybill number has {0} characters; it needs {WAYBILL_CHARS_MIN} to {WAYBILL_CHARS_MAX}"
    )]
    Length(usize),
    #[error("waybill number may hold only letters A-Z, digits and '-'; found {0:?}")]
    Character(char),
}

impl WaybillNo {
    /// Trims, drops inner spaces (scanners and people add them), uppercases.
    pub fn parse(text: &str) -> Result<WaybillNo, WaybillError> {
        let mut normalised = String::with_capacity(text.len());
        for ch in text.trim().chars() {
            match ch {
                ' ' => {}
                'a'..='z' => normalised.push(ch.to_ascii_uppercase()),
                'A'..='Z' | '0'..='9' | '-' => normalised.push(ch),
                other => return Err(WaybillError::Character(other)),
            }
        }
        let n_chars = normalised.len();
        if n_chars == 0 {
            return Err(WaybillError::Empty);
        }
        if !(WAYBILL_CHARS_MIN..=WAYBILL_CHARS_MAX).contains(&n_chars) {
            return Err(WaybillError::Length(n_chars));
        }
        Ok(WaybillNo(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four characters, as messages, labels and the terminal show
    /// a parcel without its whole number (normalised numbers are ASCII).
    pub fn tail(&self) -> &str {
        &self.0[self.0.len().saturating_sub(4)..]
    }

    /// Carriers whose usual pattern this number fits, most confident first.
    pub fn suggest_carriers(&self) -> Vec<Carrier> {
        suggest(&self.0)
    }
}

impl std::fmt::Display for WaybillNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for WaybillNo {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        WaybillNo::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn prefixed_digits(text: &str, prefix: &str, n_digits: usize) -> bool {
    text.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == n_digits && digits(rest))
}

fn suggest(text: &str) -> Vec<Carrier> {
    let mut found = Vec::new();
    // High confidence: lettered prefixes.
    if prefixed_digits(text, "SF", 13) || prefixed_digits(text, "SF", 12) {
        found.push(Carrier::Sf);
    }
    if prefixed_digits(text, "JT", 13) {
        found.push(Carrier::Jt);
    }
    if let Some(rest) = text.strip_prefix("JD")
        && (11..=15).contains(&rest.len())
        && rest
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        found.push(Carrier::Jd);
    }
    if prefixed_digits(text, "YT", 13) {
        found.push(Carrier::Yto);
    }
    if prefixed_digits(text, "DPK", 12) {
        found.push(Carrier::Deppon);
    }
    if is_valid_s10(text) {
        found.push(Carrier::Ems);
    }
    if !found.is_empty() || !digits(text) {
        return found;
    }
    // All digits: medium then weak conventions, which overlap.
    let n_digits = text.len();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| text.starts_with(p));
    if n_digits == 13 && starts(&["10", "11", "12", "50", "51", "52", "95", "97", "98", "99"]) {
        found.push(Carrier::Ems);
    }
    if n_digits == 15 && starts(&["77", "88", "99"]) {
        found.push(Carrier::Sto);
    }
    if (12..=15).contains(&n_digits) && text.starts_with('7') {
        found.push(Carrier::Zto);
    }
    if (n_digits == 13 || n_digits == 15) && starts(&["3", "4"]) {
        found.push(Carrier::Yunda);
    }
    found
}

/// The UPU S10 check digit over eight serial digits, or `None` if `serial`
/// is not eight ASCII digits.
pub fn s10_check_digit(serial: &str) -> Option<u8> {
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    if serial.len() != 8 || !digits(serial) {
        return None;
    }
    let weighted_sum: u32 = serial
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(match 11 - weighted_sum % 11 {
        10 => 0,
        11 => 5,
        r => r as u8,
    })
}

/// `AA` + 8 serial digits + check digit + `CC`, with a correct check digit.
pub fn is_valid_s10(text: &str) -> bool {
    let bytes = text.as_bytes();
    // ASCII first: the serial is sliced by byte offsets (fuzzing found a
    // panic on `EA1234565ͿCN`, thirteen bytes with a two-byte letter).
    text.is_ascii()
        && bytes.len() == 13
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[11..].iter().all(u8::is_ascii_uppercase)
        && s10_check_digit(&text[2..10]).is_some_and(|check| bytes[10] == b'0' + check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_tail_is_the_last_four_characters() {
        assert_eq!(WaybillNo::parse("sf1234567890123").unwrap().tail(), "0123");
        assert_eq!(WaybillNo::parse("731234").unwrap().tail(), "1234");
    }

    #[test]
    fn s10_check_takes_any_text_without_panicking() {
        assert!(!is_valid_s10("EA1234565\u{37f}CN"));
        assert!(!is_valid_s10("é"));
    }

    #[test]
    fn s10_reference_number_is_valid() {
        assert!(is_valid_s10("RB123456785GB"));
        assert!(!is_valid_s10("RB123456784GB"));
        assert_eq!(s10_check_digit("12345678"), Some(5));
    }

    #[test]
    fn suggestions_follow_the_conventions() {
        let cases: &[(&str, &[Carrier])] = &[
            ("SF1234567890123", &[Carrier::Sf]),
            ("JT1234567890123", &[Carrier::Jt]),
            ("JDVA12345678901", &[Carrier::Jd]),
            ("YT1234567890123", &[Carrier::Yto]),
            ("DPK123456789012", &[Carrier::Deppon]),
            ("RB123456785GB", &[Carrier::Ems]),
            ("9812345678901", &[Carrier::Ems]),
            ("773123456789012", &[Carrier::Sto, Carrier::Zto]),
            ("431234567890123", &[Carrier::Yunda]),
            ("ABC123456", &[]),
        ];
        for (text, expected) in cases {
            let waybill = WaybillNo::parse(text).unwrap();
            assert_eq!(&waybill.suggest_carriers(), expected, "{text}");
        }
    }

    #[test]
    fn parse_normalises_and_refuses_with_reasons() {
        assert_eq!(
            WaybillNo::parse(" sf 1234567890123 ").unwrap().as_str(),
            "SF1234567890123"
        );
        assert_eq!(WaybillNo::parse("   "), Err(WaybillError::Empty));
        assert_eq!(WaybillNo::parse("12345"), Err(WaybillError::Length(5)));
        assert_eq!(
            WaybillNo::parse("SF12345678;DROP"),
            Err(WaybillError::Character(';'))
        );
        assert!(matches!(
            WaybillNo::parse(&"1".repeat(41)),
            Err(WaybillError::Length(41))
        ));
    }

    proptest! {
        #[test]
        fn every_serial_has_one_valid_check_digit(serial in "[0-9]{8}") {
            let n_valid = (0..=9)
                .filter(|d| is_valid_s10(&format!("RR{serial}{d}CN")))
                .count();
            prop_assert_eq!(n_valid, 1);
        }

        #[test]
        fn parse_never_panics_and_output_is_normal(text in "\\PC{0,60}") {
            if let Ok(waybill) = WaybillNo::parse(&text) {
                prop_assert!(waybill.as_str().bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'));
            }
        }
    }
}

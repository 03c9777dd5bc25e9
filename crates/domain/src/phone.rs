//! Recipients' phone numbers: parsing, normalising and masking.
//!
//! `Debug` and `Display` always mask, so a phone number that slips into a log
//! line or an error message shows as `138****1234`. The whole number is only
//! reachable through [`Phone::full`], whose callers are few and reviewed.

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Phone {
    /// An 11-digit mainland mobile number.
    Mobile(String),
    /// A privacy-waybill virtual number with its extension.
    Virtual { number: String, extension: String },
    /// A number printed masked on a privacy waybill: only the first three and
    /// the last four digits are known.
    Masked { head: String, tail: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number is too long")]
    TooLong,
    #[error("not a mainland mobile number: it needs 11 digits starting 13-19 (after +86)")]
    NotMobile,
    #[error("extension must be 1 to 6 digits")]
    Extension,
}

const PHONE_CHARS_MAX: usize = 32;

fn is_mobile(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    bytes.len() == 11
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
        && bytes.iter().all(u8::is_ascii_digit)
}

/// Strips spaces, dashes and a +86 / 0086 / 86 country prefix.
fn normalise_mobile(text: &str) -> Result<String, PhoneError> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let without_country = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .or_else(|| compact.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(&compact);
    if is_mobile(without_country) {
        Ok(without_country.to_string())
    } else {
        Err(PhoneError::NotMobile)
    }
}

fn parse_extension(text: &str) -> Result<String, PhoneError> {
    let ext = text.trim();
    if (1..=6).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_digit()) {
        Ok(ext.to_string())
    } else {
        Err(PhoneError::Extension)
    }
}

impl Phone {
    /// Accepts `13812345678`, `+86 138-1234-5678`, `138****1234`,
    /// `17012345678-1234`, `17012345678转1234`, `17012345678[1234]`,
    /// `17012345678,1234`.
    pub fn parse(text: &str) -> Result<Phone, PhoneError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if trimmed.chars().count() > PHONE_CHARS_MAX {
            return Err(PhoneError::TooLong);
        }
        if let Some(star_at) = trimmed.find('*') {
            let head = &trimmed[..star_at];
            let tail = trimmed[star_at..].trim_start_matches('*');
            let n_stars = trimmed.len() - head.len() - tail.len();
            let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if head.len() == 3
                && tail.len() == 4
                && n_stars == 4
                && digits_only(head)
                && digits_only(tail)
                && head.starts_with('1')
            {
                return Ok(Phone::Masked {
                    head: head.to_string(),
                    tail: tail.to_string(),
                });
            }
            return Err(PhoneError::NotMobile);
        }
        if let Some((number, ext)) = trimmed.split_once('转') {
            return Ok(Phone::Virtual {
                number: normalise_mobile(number)?,
                extension: parse_extension(ext)?,
            });
        }
        if let Some((number, rest)) = trimmed.split_once('[') {
            let ext = rest.strip_suffix(']').ok_or(PhoneError::Extension)?;
            return Ok(Phone::Virtual {
                number: normalise_mobile(number)?,
                extension: parse_extension(ext)?,
            });
        }
        if let Some((number, ext)) = trimmed.split_once([',', '#']) {
            return Ok(Phone::Virtual {
                number: normalise_mobile(number)?,
                extension: parse_extension(ext)?,
            });
        }
        // `17012345678-1234`: a dash after a complete 11-digit number is an
        // extension; dashes inside the number are grouping.
        if let Some((number, ext)) = trimmed.rsplit_once('-')
            && let Ok(mobile) = normalise_mobile(number)
            && ext.len() <= 6
        {
            return Ok(Phone::Virtual {
                number: mobile,
                extension: parse_extension(ext)?,
            });
        }
        normalise_mobile(trimmed).map(Phone::Mobile)
    }

    /// The last four digits recipients are asked for at pickup. For a virtual
    /// number that is the extension's last four, which is what the recipient
    /// sees in their own message.
    pub fn tail(&self) -> &str {
        match self {
            Phone::Mobile(number) => &number[number.len() - 4..],
            Phone::Virtual { extension, .. } => &extension[extension.len().saturating_sub(4)..],
            Phone::Masked { tail, .. } => tail,
        }
    }

    /// `138****1234`, the form shown wherever the whole number is not needed.
    pub fn masked(&self) -> String {
        match self {
            Phone::Mobile(number) => format!("{}****{}", &number[..3], &number[7..]),
            Phone::Virtual { number, extension } => {
                format!("{}****{}转{}", &number[..3], &number[7..], extension)
            }
            Phone::Masked { head, tail } => format!("{head}****{tail}"),
        }
    }

    /// The whole number in its canonical text form. Only for sending messages
    /// and for roles that must call the recipient.
    pub fn full(&self) -> String {
        match self {
            Phone::Mobile(number) => number.clone(),
            Phone::Virtual { number, extension } => format!("{number}-{extension}"),
            Phone::Masked { head, tail } => format!("{head}****{tail}"),
        }
    }

    /// Whether a message can be sent to this number at all.
    pub fn is_reachable(&self) -> bool {
        !matches!(self, Phone::Masked { .. })
    }
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Serialises masked: an API response can never leak a number by accident.
impl Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Phone::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A phone tail as typed at a terminal: exactly four digits.
pub fn parse_tail(text: &str) -> Result<&str, String> {
    let trimmed = text.trim();
    if trimmed.len() == 4 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        Ok(trimmed)
    } else {
        Err("phone tail must be exactly the last 4 digits".to_string())
    }
}

/// The mainland mobile numbers written out in `bytes`: runs of exactly
/// eleven ASCII digits matching `1[3-9]\d{9}` (a longer run, such as a
/// waybill or a time in milliseconds, is not a number). For the checks that
/// stored data, a database file or a log holds no whole number.
pub fn mobile_numbers_in(bytes: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if !bytes[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            at += 1;
        }
        let run = &bytes[start..at];
        if run.len() == 11 && run[0] == b'1' && (b'3'..=b'9').contains(&run[1]) {
            found.push(String::from_utf8_lossy(run).into_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_are_found_only_as_whole_eleven_digit_runs() {
        assert_eq!(mobile_numbers_in(b"to 13812345678."), ["13812345678"]);
        assert_eq!(
            mobile_numbers_in(b"{\"to\":\"19912345678\"}"),
            ["19912345678"]
        );
        assert!(
            mobile_numbers_in(b"7731234567890123").is_empty(),
            "a waybill"
        );
        assert!(mobile_numbers_in(b"12812345678 1381234567").is_empty());
    }
    use proptest::prelude::*;

    #[test]
    fn formats_seen_on_waybills() {
        let cases = [
            ("13812345678", "138****5678", "5678"),
            ("+86 138-1234-5678", "138****5678", "5678"),
            ("008613812345678", "138****5678", "5678"),
            ("8613812345678", "138****5678", "5678"),
            ("138****1234", "138****1234", "1234"),
            ("17012345678-1234", "170****5678转1234", "1234"),
            ("17012345678转1234", "170****5678转1234", "1234"),
            ("17012345678[1234]", "170****5678转1234", "1234"),
        ];
        for (text, masked, tail) in cases {
            let phone = Phone::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(phone.masked(), masked, "{text}");
            assert_eq!(phone.tail(), tail, "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_mobile() {
        for text in [
            "",
            "12345678901",
            "1381234567",
            "0571-88888888x",
            "138****12",
            "1381234567890123456789012345678901",
        ] {
            assert!(Phone::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn debug_display_and_json_never_show_the_number() {
        let phone = Phone::parse("13812345678").unwrap();
        assert!(!format!("{phone:?} {phone}").contains("13812345678"));
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"138****5678\"");
        assert_eq!(phone.full(), "13812345678");
    }

    proptest! {
        #[test]
        fn every_mobile_round_trips(second in 3u8..=9, rest in "[0-9]{9}") {
            let text = format!("1{second}{rest}");
            let phone = Phone::parse(&text).unwrap();
            prop_assert_eq!(phone.full(), text.clone());
            prop_assert_eq!(phone.tail(), &text[7..]);
            prop_assert!(!phone.masked().contains(&text));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = Phone::parse(&text);
        }
    }
}

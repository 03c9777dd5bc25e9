//! Finds and normalises phone numbers in free text: mobiles (with +86/0086/86
//! and separators), privacy virtual numbers with an extension, masked numbers
//! (138****1234) and landlines with an area code.

use serde::{Deserialize, Serialize};

/// What sort of number was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    /// An ordinary mobile number, `^1[3-9]\d{9}$`.
    Mobile,
    /// A privacy (virtual) number with an extension, as on 隐私面单.
    Virtual,
    /// A masked mobile number: first 3 + `****` + last 4.
    Masked,
    /// A fixed line with its area code.
    Landline,
}

/// A normalised phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub kind: PhoneKind,
    /// Digits only, or `138****1234` when masked; without the area code for landlines.
    pub number: String,
    /// The virtual number's extension (`17012345678-1234` → `1234`), or a landline's.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extension: Option<String>,
    /// A landline's area code with its leading zero (`028`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub area_code: Option<String>,
}

impl Phone {
    /// The number as usually printed: `028-85551234`, `17012345678-1234`.
    pub fn display(&self) -> String {
        let mut shown = String::new();
        if let Some(area_code) = &self.area_code {
            shown.push_str(area_code);
            shown.push('-');
        }
        shown.push_str(&self.number);
        if let Some(extension) = &self.extension {
            shown.push('-');
            shown.push_str(extension);
        }
        shown
    }
}

/// Masks a mobile number as first 3 + `****` + last 4, the privacy-waybill form.
/// Returns `None` for anything that is not an 11-digit mobile number.
pub fn mask_mobile(number: &str) -> Option<String> {
    let bytes = number.as_bytes();
    let is_mobile = bytes.len() == 11
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
        && bytes.iter().all(u8::is_ascii_digit);
    is_mobile.then(|| format!("{}****{}", &number[..3], &number[7..]))
}

/// A phone number found in text, with the byte span it occupied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundPhone {
    pub(crate) phone: Phone,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

const EXTENSION_DIGITS_MAX: usize = 6;

/// Reads up to `count` digits from `position`, allowing single spaces or
/// dashes between them; returns the digits and the position after the last one.
fn read_grouped_digits(bytes: &[u8], mut position: usize, count: usize) -> Option<(String, usize)> {
    let mut digits = String::with_capacity(count);
    while digits.len() < count {
        match bytes.get(position) {
            Some(byte) if byte.is_ascii_digit() => {
                digits.push(*byte as char);
                position += 1;
            }
            Some(b' ' | b'-')
                if !digits.is_empty()
                    && bytes.get(position + 1).is_some_and(u8::is_ascii_digit) =>
            {
                position += 1;
            }
            _ => return None,
        }
    }
    Some((digits, position))
}

fn read_digits(bytes: &[u8], mut position: usize, count_max: usize) -> (usize, usize) {
    let start = position;
    while position < bytes.len() && bytes[position].is_ascii_digit() && position - start < count_max
    {
        position += 1;
    }
    (start, position)
}

/// An extension after a number: `-1234`, `转1234`, `[1234]`, `(1234)`, `#1234`.
/// A comma is no extension marker: `13812345678,12栋` is a number and a building.
fn read_extension(text: &str, position: usize) -> Option<(String, usize)> {
    let rest = &text[position..];
    let rest_trimmed = rest.trim_start_matches(' ');
    let skipped = rest.len() - rest_trimmed.len();
    let (opener_bytes, closer) = if rest_trimmed.starts_with('转') {
        ('转'.len_utf8(), None)
    } else if rest_trimmed.starts_with("分机") {
        ("分机".len(), None)
    } else {
        match rest_trimmed.as_bytes().first() {
            Some(b'-' | b'#') => (1, None),
            Some(b'[') => (1, Some(b']')),
            Some(b'(') => (1, Some(b')')),
            _ => return None,
        }
    };
    let bytes = text.as_bytes();
    let mut digits_at = position + skipped + opener_bytes;
    while bytes.get(digits_at) == Some(&b' ') {
        digits_at += 1;
    }
    let (start, end) = read_digits(bytes, digits_at, EXTENSION_DIGITS_MAX + 1);
    let n_digits = end - start;
    if n_digits == 0 || n_digits > EXTENSION_DIGITS_MAX {
        return None;
    }
    let mut after = end;
    if let Some(closer) = closer {
        if bytes.get(after) != Some(&closer) {
            return None;
        }
        after += 1;
    }
    if bytes.get(after).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((text[start..end].to_string(), after))
}

/// Skips an international prefix (+86, 0086, (+86), 86) when a mobile number follows it.
fn skip_country_prefix(bytes: &[u8], position: usize) -> usize {
    let candidates: [&[u8]; 4] = [b"(+86)", b"+86", b"0086", b"86"];
    for prefix in candidates {
        if bytes[position..].starts_with(prefix) {
            let mut after = position + prefix.len();
            while matches!(bytes.get(after), Some(b' ' | b'-')) {
                after += 1;
            }
            if bytes.get(after) == Some(&b'1') {
                return after;
            }
        }
    }
    position
}

fn read_mobile(text: &str, start: usize) -> Option<FoundPhone> {
    let bytes = text.as_bytes();
    let number_at = skip_country_prefix(bytes, start);
    if bytes.get(number_at) != Some(&b'1')
        || !bytes
            .get(number_at + 1)
            .is_some_and(|b| (b'3'..=b'9').contains(b))
    {
        return None;
    }
    // Masked: three digits, four stars (or x), four digits.
    let masked = bytes.get(number_at..number_at + 11).filter(|window| {
        window[2].is_ascii_digit()
            && window[3..7]
                .iter()
                .all(|byte| matches!(byte, b'*' | b'x' | b'X'))
            && window[7..].iter().all(u8::is_ascii_digit)
    });
    if masked.is_some() {
        let end = number_at + 11;
        if bytes.get(end).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let number = format!(
            "{}****{}",
            &text[number_at..number_at + 3],
            &text[number_at + 7..end]
        );
        return Some(FoundPhone {
            phone: Phone {
                kind: PhoneKind::Masked,
                number,
                extension: None,
                area_code: None,
            },
            start,
            end,
        });
    }
    let (number, end) = read_grouped_digits(bytes, number_at, 11)?;
    if bytes.get(end).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let (kind, extension, end) = match read_extension(text, end) {
        Some((extension, after)) => (PhoneKind::Virtual, Some(extension), after),
        None => (PhoneKind::Mobile, None, end),
    };
    Some(FoundPhone {
        phone: Phone {
            kind,
            number,
            extension,
            area_code: None,
        },
        start,
        end,
    })
}

/// Landlines: `028-85551234`, `(028)85551234`, `0835 2221234`, `010-12345678-808`.
fn read_landline(text: &str, start: usize) -> Option<FoundPhone> {
    let bytes = text.as_bytes();
    let bracketed = bytes[start] == b'(';
    let area_at = start + usize::from(bracketed);
    if bytes.get(area_at) != Some(&b'0') {
        return None;
    }
    // 010 and 02x have three digits; every other area code has four.
    let area_digits = match bytes.get(area_at + 1) {
        Some(b'1' | b'2') => 3,
        Some(b'3'..=b'9') => 4,
        _ => return None,
    };
    let (_, area_end) = read_digits(bytes, area_at, area_digits);
    if area_end - area_at != area_digits {
        return None;
    }
    let mut local_at = area_end;
    if bracketed {
        if bytes.get(local_at) != Some(&b')') {
            return None;
        }
        local_at += 1;
    }
    if matches!(bytes.get(local_at), Some(b'-' | b' ')) {
        local_at += 1;
    }
    let (local_start, local_end) = read_digits(bytes, local_at, 9);
    let n_local = local_end - local_start;
    if !(7..=8).contains(&n_local) || bytes[local_start] == b'0' {
        return None;
    }
    let (extension, end) = match read_extension(text, local_end) {
        Some((extension, after)) => (Some(extension), after),
        None => (None, local_end),
    };
    Some(FoundPhone {
        phone: Phone {
            kind: PhoneKind::Landline,
            number: text[local_start..local_end].to_string(),
            extension,
            area_code: Some(text[area_at..area_end].to_string()),
        },
        start,
        end,
    })
}

/// Every phone number in `text` (already normalised to half-width), in order.
pub(crate) fn find_phones(text: &str) -> Vec<FoundPhone> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let byte = bytes[position];
        let starts_token = position == 0 || !bytes[position - 1].is_ascii_alphanumeric();
        if starts_token && (byte.is_ascii_digit() || byte == b'+' || byte == b'(') {
            if let Some(phone) =
                read_mobile(text, position).or_else(|| read_landline(text, position))
            {
                position = phone.end;
                found.push(phone);
                continue;
            }
            // Skip the rest of a digit run that is no phone (a house number, a postcode).
            position += 1;
            while position < bytes.len() && bytes[position].is_ascii_digit() {
                position += 1;
            }
            continue;
        }
        position += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, kind, number, extension, area code), one case a line.
    #[test]
    fn phone_formats() {
        use PhoneKind::*;
        type Case = (
            &'static str,
            PhoneKind,
            &'static str,
            Option<&'static str>,
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            ("13812345678", Mobile, "13812345678", None, None),
            ("+8613812345678", Mobile, "13812345678", None, None),
            ("+86 138 1234 5678", Mobile, "13812345678", None, None),
            ("0086-13812345678", Mobile, "13812345678", None, None),
            ("8613812345678", Mobile, "13812345678", None, None),
            ("(+86)13812345678", Mobile, "13812345678", None, None),
            ("138-1234-5678", Mobile, "13812345678", None, None),
            (
                "17012345678-1234",
                Virtual,
                "17012345678",
                Some("1234"),
                None,
            ),
            (
                "17012345678转1234",
                Virtual,
                "17012345678",
                Some("1234"),
                None,
            ),
            (
                "17012345678[1234]",
                Virtual,
                "17012345678",
                Some("1234"),
                None,
            ),
            (
                "17012345678 转 1234",
                Virtual,
                "17012345678",
                Some("1234"),
                None,
            ),
            ("138****1234", Masked, "138****1234", None, None),
            ("138xxxx1234", Masked, "138****1234", None, None),
            ("028-85551234", Landline, "85551234", None, Some("028")),
            ("(0835)2221234", Landline, "2221234", None, Some("0835")),
            (
                "010-12345678-808",
                Landline,
                "12345678",
                Some("808"),
                Some("010"),
            ),
        ];
        for (text, kind, number, extension, area_code) in cases {
            let found = find_phones(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            let phone = &found[0].phone;
            assert_eq!(phone.kind, *kind, "{text}");
            assert_eq!(phone.number, *number, "{text}");
            assert_eq!(phone.extension.as_deref(), *extension, "{text}");
            assert_eq!(phone.area_code.as_deref(), *area_code, "{text}");
            assert_eq!(found[0].end, text.len(), "{text}: whole text consumed");
        }
    }

    #[test]
    fn not_phones() {
        for text in [
            "12345678901",
            "138123456789",
            "610041",
            "3组",
            "1381234567",
            "23号楼",
            "12812345678",
        ] {
            assert_eq!(find_phones(text), vec![], "{text}");
        }
    }

    #[test]
    fn phone_inside_text_keeps_its_span() {
        let text = "张三13812345678四川";
        let found = find_phones(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], "13812345678");
    }

    #[test]
    fn masking() {
        assert_eq!(mask_mobile("13812345678").as_deref(), Some("138****5678"));
        assert_eq!(mask_mobile("1381234567"), None);
        assert_eq!(mask_mobile("23812345678"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_mobile_survives_prefixes_and_separators(
            second in 3u8..=9, rest in 0u64..1_000_000_000, prefix_idx in 0usize..5, separator_idx in 0usize..3
        ) {
            let number = format!("1{second}{rest:09}");
            let prefix = ["", "+86", "0086", "86", "+86 "][prefix_idx];
            let separator = ["", " ", "-"][separator_idx];
            let written = format!(
                "收件人 {prefix}{}{separator}{}{separator}{} 地址", &number[..3], &number[3..7], &number[7..]
            );
            let found = find_phones(&written);
            proptest::prop_assert_eq!(found.len(), 1);
            proptest::prop_assert_eq!(&found[0].phone.number, &number);
            proptest::prop_assert_eq!(found[0].phone.kind, PhoneKind::Mobile);
            let masked = mask_mobile(&number).unwrap();
            let found_masked = find_phones(&masked);
            proptest::prop_assert_eq!(&found_masked[0].phone.number, &masked);
        }
    }
}

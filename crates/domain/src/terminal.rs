//! Rules of the self-service pickup terminal: what a customer may type, the
//! colours that tell customers' slots apart, and the throttle on code
//! guessing. Pure: the use case in `app::terminal` supplies the clock and
//! the history.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Longest pickup code a customer may type (templates render far shorter).
pub const CODE_CHARS_MAX: usize = 32;
/// Longest text a terminal's scanner or QR reader may submit.
pub const SCAN_CHARS_MAX: usize = 200;
/// What a signed QR code's text starts with (see `app::qr`).
pub const QR_PREFIX: &str = "YZQ1.";

/// A light colour for one customer's slots, and how the terminal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PickupColour {
    /// `#rrggbb`, as the light strip takes it.
    pub hex: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
}

/// Colours far apart for the eye, in the order they are handed out. Red
/// comes last: customers read it as "error".
pub const PICKUP_COLOURS: [PickupColour; 8] = [
    PickupColour {
        hex: "#00c853",
        name_zh: "绿色",
        name_en: "green",
    },
    PickupColour {
        hex: "#2962ff",
        name_zh: "蓝色",
        name_en: "blue",
    },
    PickupColour {
        hex: "#ff6d00",
        name_zh: "橙色",
        name_en: "orange",
    },
    PickupColour {
        hex: "#d500f9",
        name_zh: "紫色",
        name_en: "purple",
    },
    PickupColour {
        hex: "#00b8d4",
        name_zh: "青色",
        name_en: "cyan",
    },
    PickupColour {
        hex: "#ffd600",
        name_zh: "黄色",
        name_en: "yellow",
    },
    PickupColour {
        hex: "#ffffff",
        name_zh: "白色",
        name_en: "white",
    },
    PickupColour {
        hex: "#ff1744",
        name_zh: "红色",
        name_en: "red",
    },
];

/// The first colour no open session at the station uses; `None` when all
/// are taken (eight customers at one village station at once: ask to wait).
pub fn choose_colour<'a>(in_use: impl IntoIterator<Item = &'a str>) -> Option<PickupColour> {
    let in_use: Vec<&str> = in_use.into_iter().collect();
    PICKUP_COLOURS.into_iter().find(|colour| {
        !in_use
            .iter()
            .any(|used| used.eq_ignore_ascii_case(colour.hex))
    })
}

pub fn colour_by_hex(hex: &str) -> Option<PickupColour> {
    PICKUP_COLOURS
        .into_iter()
        .find(|colour| colour.hex.eq_ignore_ascii_case(hex))
}

/// What a customer submitted at the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeEntry {
    /// A pickup code, with the phone's last four digits if the customer
    /// typed them too.
    Code {
        code: String,
        phone_tail: Option<String>,
    },
    /// The text of a QR code from an arrival message (verified by `app::qr`).
    Qr(String),
}

/// Parses what was typed or scanned into the code box (and the optional
/// phone-tail box).
pub fn parse_entry(text: &str, phone_tail: Option<&str>) -> Result<CodeEntry, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("enter the pickup code from your message".into());
    }
    if text.chars().count() > SCAN_CHARS_MAX {
        return Err(format!("at most {SCAN_CHARS_MAX} characters"));
    }
    if text.starts_with(QR_PREFIX) {
        return Ok(CodeEntry::Qr(text.to_string()));
    }
    if text.chars().count() > CODE_CHARS_MAX || text.chars().any(char::is_control) {
        return Err("that is not a pickup code".into());
    }
    let phone_tail = match phone_tail.map(str::trim).filter(|t| !t.is_empty()) {
        Some(tail) => Some(crate::phone::parse_tail(tail)?.to_string()),
        None => None,
    };
    Ok(CodeEntry::Code {
        code: crate::pickup_code::normalise_typed(text),
        phone_tail,
    })
}

/// How many wrong codes a terminal, or a phone tail, may enter in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub failures_max: u32,
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    /// Five wrong codes in ten minutes: a customer mistyping twice is never
    /// stopped; a guesser gets five tries per ten minutes, so a 4-digit
    /// sequence takes weeks to walk.
    fn default() -> Self {
        ThrottlePolicy {
            failures_max: 5,
            window: Duration::minutes(10),
        }
    }
}

impl ThrottlePolicy {
    /// `Some(until)` if the failures (any order) lock the terminal or tail at
    /// `now`: the window holds `failures_max` or more of them. The lock lifts
    /// when enough of them age out of the window.
    pub fn locked_until(
        &self,
        failures: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let max = self.failures_max.max(1) as usize;
        let mut recent: Vec<DateTime<Utc>> = failures
            .iter()
            .copied()
            .filter(|at| *at > now - self.window && *at <= now)
            .collect();
        if recent.len() < max {
            return None;
        }
        // Newest first: the lock lasts until the max-th newest ages out.
        recent.sort_unstable_by(|a, b| b.cmp(a));
        Some(recent[max - 1] + self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn colours_are_distinct_and_handed_out_in_order() {
        let mut hexes: Vec<&str> = PICKUP_COLOURS.iter().map(|c| c.hex).collect();
        hexes.sort_unstable();
        hexes.dedup();
        assert_eq!(hexes.len(), PICKUP_COLOURS.len());
        assert_eq!(choose_colour([]).unwrap().hex, "#00c853");
        assert_eq!(choose_colour(["#00C853"]).unwrap().hex, "#2962ff");
        assert!(choose_colour(PICKUP_COLOURS.iter().map(|c| c.hex)).is_none());
    }

    #[test]
    fn entries_parse_codes_tails_and_qr_texts() {
        assert_eq!(
            parse_entry(" a-3-0217 ", Some("5678")).unwrap(),
            CodeEntry::Code {
                code: "A-3-0217".into(),
                phone_tail: Some("5678".into())
            }
        );
        assert_eq!(
            parse_entry("A-3-0217", Some("  ")).unwrap(),
            CodeEntry::Code {
                code: "A-3-0217".into(),
                phone_tail: None
            }
        );
        assert!(matches!(
            parse_entry("YZQ1.abc.def", None).unwrap(),
            CodeEntry::Qr(_)
        ));
        assert!(parse_entry("", None).is_err());
        assert!(parse_entry("A-3-0217", Some("56")).is_err());
        assert!(parse_entry(&"9".repeat(CODE_CHARS_MAX + 1), None).is_err());
        assert!(parse_entry(&"9".repeat(SCAN_CHARS_MAX + 1), None).is_err());
        assert!(parse_entry("A-3\u{7}", None).is_err());
    }

    #[test]
    fn the_throttle_locks_at_the_limit_and_lifts_as_failures_age() {
        let policy = ThrottlePolicy::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let failures: Vec<_> = (0..5).map(|i| t0 + Duration::minutes(i)).collect();
        assert_eq!(
            policy.locked_until(&failures[..4], t0 + Duration::minutes(4)),
            None
        );
        let now = t0 + Duration::minutes(4);
        assert_eq!(
            policy.locked_until(&failures, now),
            Some(t0 + Duration::minutes(10))
        );
        // Ten minutes after the first failure only four remain in the window.
        assert_eq!(
            policy.locked_until(&failures, t0 + Duration::minutes(10)),
            None
        );
    }

    proptest! {
        #[test]
        fn never_locked_below_the_limit_and_always_at_it(
            offsets in proptest::collection::vec(0i64..1200, 0..12),
            max in 1u32..8,
        ) {
            let policy = ThrottlePolicy { failures_max: max, window: Duration::minutes(10) };
            let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            let failures: Vec<_> = offsets.iter().map(|s| now - Duration::seconds(*s)).collect();
            let in_window = offsets.iter().filter(|s| **s < 600).count();
            let locked = policy.locked_until(&failures, now);
            prop_assert_eq!(locked.is_some(), in_window >= max as usize);
            if let Some(until) = locked {
                prop_assert!(until > now);
            }
        }
    }
}

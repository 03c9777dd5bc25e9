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
    /// A pickup code with the last four digits of the recipient's phone:
    /// the code alone never opens the door (`docs/security.md`).
    Code { code: String, phone_tail: String },
    /// The text of a QR code from an arrival message (verified by `app::qr`).
    Qr(String),
}

/// Parses what was typed or scanned into the code box and the phone-tail
/// box. A QR code needs no tail; a typed code does.
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
    let Some(tail) = phone_tail.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err("enter the last four digits of your phone number with the code".into());
    };
    let phone_tail = crate::phone::parse_tail(tail)?.to_string();
    Ok(CodeEntry::Code {
        code: crate::pickup_code::normalise_typed(text),
        phone_tail,
    })
}

/// How wrong attempts (pickup codes at the terminal, passwords at sign-in)
/// from one key — a terminal, a source address, a phone tail, a username —
/// are slowed down: a few are free, then each further failure doubles the
/// wait before the next attempt is heard. Failures are remembered for
/// `memory`; a success does not forget them (a guesser who holds one real
/// code must not be able to reset the count with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within `memory` that cost no wait.
    pub free_failures: u32,
    /// The wait after the first failure beyond the free ones.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// How long a failure counts.
    pub memory: Duration,
}

impl Default for ThrottlePolicy {
    /// The door terminal's: five wrong codes in a day are free (a customer
    /// mistyping is never stopped), then 30 s, 1 min, 2 min, … doubling up
    /// to 12 h. A guesser gets about 18 guesses per key and day
    /// (`docs/security.md` has the model and the test that counts them).
    fn default() -> Self {
        ThrottlePolicy {
            free_failures: 5,
            first_delay: Duration::seconds(30),
            max_delay: Duration::hours(12),
            memory: Duration::hours(24),
        }
    }
}

impl ThrottlePolicy {
    /// The sign-in's: three wrong passwords are free, then 2 s doubling up
    /// to 15 min, remembered for an hour. A person who forgot their password
    /// waits seconds; a password guesser gets a few dozen tries an hour per
    /// username and per address.
    pub fn sign_in() -> Self {
        ThrottlePolicy {
            free_failures: 3,
            first_delay: Duration::seconds(2),
            max_delay: Duration::minutes(15),
            memory: Duration::hours(1),
        }
    }

    /// The wait after the `n`-th remembered failure; zero while free.
    pub fn delay_after(&self, n: usize) -> Duration {
        let free = self.free_failures as usize;
        if n < free.max(1) {
            return Duration::zero();
        }
        let doublings = (n - free.max(1)).min(40) as u32;
        let ms = self
            .first_delay
            .num_milliseconds()
            .max(0)
            .saturating_mul(1i64 << doublings.min(40));
        Duration::milliseconds(ms.min(self.max_delay.num_milliseconds()))
    }

    /// `Some(until)` while the failures (any order) make the key wait at
    /// `now`: the newest remembered failure plus the delay their number
    /// calls for. `None` when the key may try now.
    pub fn locked_until(
        &self,
        failures: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let recent: Vec<DateTime<Utc>> = failures
            .iter()
            .copied()
            .filter(|at| *at > now - self.memory && *at <= now)
            .collect();
        let newest = recent.iter().max()?;
        let until = *newest + self.delay_after(recent.len());
        (until > now).then_some(until)
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
            parse_entry(" a-3-021784 ", Some("5678")).unwrap(),
            CodeEntry::Code {
                code: "A-3-021784".into(),
                phone_tail: "5678".into()
            }
        );
        // The code alone is not enough.
        assert!(parse_entry("A-3-021784", Some("  ")).is_err());
        assert!(parse_entry("A-3-021784", None).is_err());
        assert!(matches!(
            parse_entry("YZQ1.abc.def", None).unwrap(),
            CodeEntry::Qr(_)
        ));
        assert!(parse_entry("", None).is_err());
        assert!(parse_entry("A-3-0217", Some("56")).is_err());
        assert!(parse_entry(&"9".repeat(CODE_CHARS_MAX + 1), Some("5678")).is_err());
        assert!(parse_entry(&"9".repeat(SCAN_CHARS_MAX + 1), None).is_err());
        assert!(parse_entry("A-3\u{7}", Some("5678")).is_err());
    }

    #[test]
    fn the_throttle_is_free_at_first_then_doubles_and_forgets_after_its_memory() {
        let policy = ThrottlePolicy::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let failures: Vec<_> = (0..5).map(|i| t0 + Duration::seconds(i)).collect();
        let last = t0 + Duration::seconds(4);
        assert_eq!(policy.locked_until(&failures[..4], last), None);
        assert_eq!(
            policy.locked_until(&failures, last),
            Some(last + Duration::seconds(30))
        );
        let mut more = failures.clone();
        more.push(last + Duration::seconds(30));
        assert_eq!(
            policy.locked_until(&more, last + Duration::seconds(30)),
            Some(last + Duration::seconds(90))
        );
        assert_eq!(policy.delay_after(100), Duration::hours(12));
        // A day after the failures they no longer count.
        assert_eq!(policy.locked_until(&more, t0 + Duration::hours(25)), None);
    }

    proptest! {
        #[test]
        fn the_wait_never_shrinks_as_failures_grow_and_is_bounded(
            n in 0usize..200,
            free in 0u32..8,
        ) {
            let policy = ThrottlePolicy { free_failures: free, ..ThrottlePolicy::default() };
            prop_assert!(policy.delay_after(n) <= policy.delay_after(n + 1));
            prop_assert!(policy.delay_after(n) <= policy.max_delay);
            let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            let failures = vec![now; n];
            let locked = policy.locked_until(&failures, now);
            prop_assert_eq!(locked.is_some(), n >= free.max(1) as usize);
        }
    }
}

//! Collection plans (周、旬清欠计划, issue 15 point 3, branch `money2`):
//! the periods a plan covers — a week (Monday to Sunday) or a ten-day
//! period (旬: 上旬 1–10, 中旬 11–20, 下旬 21 to the month's end) in
//! Shanghai days — and invoice reminders' steps relative to a due day. Pure.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// What span a collection plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// Monday to Sunday (周).
    Week,
    /// A ten-day period of a month (旬).
    Dekad,
}

impl PlanKind {
    pub const ALL: [PlanKind; 2] = [PlanKind::Week, PlanKind::Dekad];

    pub fn code(self) -> &'static str {
        match self {
            PlanKind::Week => "week",
            PlanKind::Dekad => "dekad",
        }
    }

    pub fn parse(code: &str) -> Option<PlanKind> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The period of this kind that holds `day`.
    pub fn period_of(self, day: NaiveDate) -> Period {
        match self {
            PlanKind::Week => {
                let first = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                Period {
                    kind: self,
                    first,
                    last: first + Duration::days(6),
                }
            }
            PlanKind::Dekad => {
                let (from, to) = match day.day() {
                    1..=10 => (1, Some(10)),
                    11..=20 => (11, Some(20)),
                    _ => (21, None),
                };
                let first = day.with_day(from).expect("days 1, 11 and 21 exist");
                let last = match to {
                    Some(to) => day.with_day(to).expect("days 10 and 20 exist"),
                    None => crate::finance::Month::of(day).last_day(),
                };
                Period {
                    kind: self,
                    first,
                    last,
                }
            }
        }
    }
}

/// The Shanghai days a plan covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub kind: PlanKind,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Period {
    /// Open while its last day has not passed: targets may still change.
    pub fn is_open(&self, today: NaiveDate) -> bool {
        today <= self.last
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.first <= day && day <= self.last
    }

    /// The period's span in Unix milliseconds, `[from, to)`.
    pub fn span_ms(&self) -> (i64, i64) {
        (
            crate::day_start(self.first).timestamp_millis(),
            crate::day_start(self.last + Duration::days(1)).timestamp_millis(),
        )
    }

    /// Its Chinese name: `2026年12月第2周（12-07 至 12-13）`, `2026年12月上旬`.
    pub fn name_zh(&self) -> String {
        match self.kind {
            PlanKind::Week => format!(
                "{}年第{}周（{} 至 {}）",
                self.first.iso_week().year(),
                self.first.iso_week().week(),
                self.first.format("%m-%d"),
                self.last.format("%m-%d")
            ),
            PlanKind::Dekad => format!(
                "{}年{}月{}",
                self.first.year(),
                self.first.month(),
                match self.first.day() {
                    1 => "上旬",
                    11 => "中旬",
                    _ => "下旬",
                }
            ),
        }
    }

    /// Its English name: `week 50 of 2026 (12-07 to 12-13)`, `2026-12 days 1–10`.
    pub fn name_en(&self) -> String {
        match self.kind {
            PlanKind::Week => format!(
                "week {} of {} ({} to {})",
                self.first.iso_week().week(),
                self.first.iso_week().year(),
                self.first.format("%m-%d"),
                self.last.format("%m-%d")
            ),
            PlanKind::Dekad => format!(
                "{} days {}–{}",
                self.first.format("%Y-%m"),
                self.first.day(),
                self.last.day()
            ),
        }
    }
}

/// Most targets one plan holds.
pub const TARGETS_MAX: usize = 200;
/// The largest target: 10,000,000 yuan in fen.
pub const TARGET_FEN_MAX: i64 = 1_000_000_000;
/// Longest plan note.
pub const NOTE_CHARS_MAX: usize = 200;

/// A plan's progress toward a target, in whole percent (at most 100 shown
/// by a bar; the number may pass 100).
pub fn percent(done: crate::Fen, target: crate::Fen) -> i64 {
    if target.0 <= 0 {
        return 100;
    }
    (done.0.max(0).saturating_mul(100)) / target.0
}

/// Reminder steps: days relative to an invoice's due day (negative before,
/// 0 on the day, positive after). The default: 3 days before, on the day,
/// and 1, 7 and 30 days after.
pub const REMINDER_STEPS_DEFAULT: [i64; 5] = [-3, 0, 1, 7, 30];

/// The steps due on `today` for an invoice due on `due` that are not older
/// than `catch_up_days` (a server down for a day still sends yesterday's
/// step once; a step long past is not sent late).
pub fn reminder_steps_due(
    steps: &[i64],
    due: NaiveDate,
    today: NaiveDate,
    catch_up_days: i64,
) -> Vec<i64> {
    steps
        .iter()
        .copied()
        .filter(|step| {
            let day = due + Duration::days(*step);
            day <= today && (today - day).num_days() <= catch_up_days
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn weeks_run_monday_to_sunday() {
        // 2026-12-07 is a Monday.
        for day in ["2026-12-07", "2026-12-10", "2026-12-13"] {
            let p = PlanKind::Week.period_of(d(day));
            assert_eq!(
                (p.first, p.last),
                (d("2026-12-07"), d("2026-12-13")),
                "{day}"
            );
        }
        let p = PlanKind::Week.period_of(d("2026-12-31"));
        assert_eq!((p.first, p.last), (d("2026-12-28"), d("2027-01-03")));
    }

    #[test]
    fn dekads_are_1_to_10_11_to_20_and_21_to_the_end() {
        let cases = [
            ("2026-02-01", "2026-02-01", "2026-02-10"),
            ("2026-02-10", "2026-02-01", "2026-02-10"),
            ("2026-02-11", "2026-02-11", "2026-02-20"),
            ("2026-02-20", "2026-02-11", "2026-02-20"),
            ("2026-02-21", "2026-02-21", "2026-02-28"),
            ("2028-02-29", "2028-02-21", "2028-02-29"),
            ("2026-12-31", "2026-12-21", "2026-12-31"),
        ];
        for (day, first, last) in cases {
            let p = PlanKind::Dekad.period_of(d(day));
            assert_eq!((p.first, p.last), (d(first), d(last)), "{day}");
        }
        assert_eq!(
            PlanKind::Dekad.period_of(d("2026-12-05")).name_zh(),
            "2026年12月上旬"
        );
        assert_eq!(
            PlanKind::Dekad.period_of(d("2026-12-25")).name_zh(),
            "2026年12月下旬"
        );
    }

    #[test]
    fn a_period_spans_shanghai_days() {
        let p = PlanKind::Dekad.period_of(d("2026-12-05"));
        let (from, to) = p.span_ms();
        // 2026-12-01 00:00 Shanghai is 2026-11-30 16:00 UTC.
        assert_eq!(
            from,
            "2026-11-30T16:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(to - from, 10 * 86_400_000);
        assert!(p.is_open(d("2026-12-10")) && !p.is_open(d("2026-12-11")));
    }

    #[test]
    fn reminders_fall_on_their_days_and_catch_up_a_little() {
        let due = d("2026-12-10");
        let steps = REMINDER_STEPS_DEFAULT;
        assert_eq!(
            reminder_steps_due(&steps, due, d("2026-12-06"), 2),
            Vec::<i64>::new()
        );
        assert_eq!(
            reminder_steps_due(&steps, due, d("2026-12-07"), 2),
            vec![-3]
        );
        assert_eq!(reminder_steps_due(&steps, due, d("2026-12-10"), 2), vec![0]);
        assert_eq!(
            reminder_steps_due(&steps, due, d("2026-12-11"), 2),
            vec![0, 1]
        );
        assert_eq!(
            reminder_steps_due(&steps, due, d("2027-01-09"), 2),
            vec![30]
        );
        assert_eq!(
            reminder_steps_due(&steps, due, d("2027-01-20"), 2),
            Vec::<i64>::new()
        );
        assert_eq!(percent(crate::Fen(50), crate::Fen(200)), 25);
        assert_eq!(percent(crate::Fen(300), crate::Fen(200)), 150);
    }
}

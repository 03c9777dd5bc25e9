//! A clock the test sets and moves, so days and expiries pass without
//! sleeping.

use app::ports::Clock;
use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

/// The `Clock` port under the test's control: it stands still until the
/// test calls `set` or `advance`.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn at(now: DateTime<Utc>) -> TestClock {
        TestClock(Mutex::new(now))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap() = now;
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stands_still_until_set_or_advanced() {
        let start = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let clock = TestClock::at(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::minutes(5));
        assert_eq!(clock.now(), start + Duration::minutes(5));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}

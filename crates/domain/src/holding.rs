//! Holding-period arithmetic: which reminders are due and when a parcel goes
//! on the return list. `now` is always passed in.

use crate::station::HoldingPolicy;
use chrono::{DateTime, Duration, Utc};

/// Reminder days (from the policy) that are due at `now` and not yet sent.
pub fn reminders_due(
    policy: &HoldingPolicy,
    stored_at: DateTime<Utc>,
    now: DateTime<Utc>,
    sent_days: &[u32],
) -> Vec<u32> {
    if is_overdue(policy, stored_at, now) {
        return Vec::new();
    }
    policy
        .reminder_days
        .iter()
        .copied()
        .filter(|day| {
            now >= stored_at + Duration::days(i64::from(*day)) && !sent_days.contains(day)
        })
        .collect()
}

pub fn expires_at(policy: &HoldingPolicy, stored_at: DateTime<Utc>) -> DateTime<Utc> {
    stored_at + Duration::days(i64::from(policy.holding_days))
}

/// Past the holding period: the parcel belongs on the return-to-carrier list.
pub fn is_overdue(policy: &HoldingPolicy, stored_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= expires_at(policy, stored_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_fall_on_their_days_once() {
        let policy = HoldingPolicy::default();
        let stored = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let at = |days: i64, hours: i64| stored + Duration::days(days) + Duration::hours(hours);
        assert!(reminders_due(&policy, stored, at(2, 23), &[]).is_empty());
        assert_eq!(reminders_due(&policy, stored, at(3, 0), &[]), vec![3]);
        assert!(reminders_due(&policy, stored, at(4, 0), &[3]).is_empty());
        assert_eq!(reminders_due(&policy, stored, at(6, 1), &[]), vec![3, 6]);
        assert!(!is_overdue(&policy, stored, at(6, 23)));
        assert!(is_overdue(&policy, stored, at(7, 0)));
        assert!(reminders_due(&policy, stored, at(8, 0), &[]).is_empty());
    }
}

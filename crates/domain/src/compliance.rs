//! The compliance catalogue (合规检查, issue 12, point 6): each rule's
//! stable code, Chinese and English title, the role that owns compliance in
//! that work ("管业务必须管合规": the first line owns it, the compliance
//! officer checks it), its thresholds and how long a finding may stay open.
//! The queries are the store's (`ComplianceStore`); what counts as a
//! breach, and for how long, is here. Pure.

use crate::Role;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A pickup event without the recipient's proof in its details.
    PickupWithoutProof,
    /// A parcel on the shelf (with a code) without the recipient's consent.
    StoredWithoutConsent,
    /// A parcel past its station's holding period that was never reminded.
    HeldPastLimitUnreminded,
    /// A keeper who revealed more whole phones in a day than the threshold.
    PhoneRevealsAboveDailyCount,
    /// A webhook subscription whose deliveries have failed for over a day.
    WebhookFailingOverADay,
    /// A station device offline for over an hour.
    DeviceOfflineOverAnHour,
    /// A door terminal with a burst of wrong codes in a day.
    TerminalThrottleBurst,
    /// An account still enabled that nobody has signed into for 90 days.
    UserIdle90Days,
}

/// Thresholds the rules use; the defaults are the product's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Whole phones one keeper may reveal in a day before it is a finding
    /// (also the maker–checker threshold for reveals).
    pub phone_reveals_per_day: u32,
    /// Wrong codes at one terminal in a day that make a burst.
    pub terminal_failures_per_day: u32,
    /// Days without a sign-in before an enabled account is a finding.
    pub idle_days: i64,
    /// How far back event-based rules look, in days.
    pub window_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            phone_reveals_per_day: 20,
            terminal_failures_per_day: 10,
            idle_days: 90,
            window_days: 30,
        }
    }
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::PickupWithoutProof,
        Rule::StoredWithoutConsent,
        Rule::HeldPastLimitUnreminded,
        Rule::PhoneRevealsAboveDailyCount,
        Rule::WebhookFailingOverADay,
        Rule::DeviceOfflineOverAnHour,
        Rule::TerminalThrottleBurst,
        Rule::UserIdle90Days,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Rule::PickupWithoutProof => "pickup_without_proof",
            Rule::StoredWithoutConsent => "stored_without_consent",
            Rule::HeldPastLimitUnreminded => "held_past_limit_unreminded",
            Rule::PhoneRevealsAboveDailyCount => "phone_reveals_above_daily_count",
            Rule::WebhookFailingOverADay => "webhook_failing_over_a_day",
            Rule::DeviceOfflineOverAnHour => "device_offline_over_an_hour",
            Rule::TerminalThrottleBurst => "terminal_throttle_burst",
            Rule::UserIdle90Days => "user_idle_90_days",
        }
    }

    pub fn parse(code: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.code() == code)
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            Rule::PickupWithoutProof => "未凭收件人凭证出库",
            Rule::StoredWithoutConsent => "未经收件人同意入柜上架",
            Rule::HeldPastLimitUnreminded => "超期滞留且未提醒",
            Rule::PhoneRevealsAboveDailyCount => "单日查看完整手机号次数超限",
            Rule::WebhookFailingOverADay => "回调推送失败超过一天",
            Rule::DeviceOfflineOverAnHour => "设备离线超过一小时",
            Rule::TerminalThrottleBurst => "自助终端取件码错误集中出现",
            Rule::UserIdle90Days => "90 天未登录的账号仍处于启用状态",
        }
    }

    pub fn title_en(self) -> &'static str {
        match self {
            Rule::PickupWithoutProof => "parcel handed out without the recipient's proof",
            Rule::StoredWithoutConsent => "parcel stored without the recipient's consent",
            Rule::HeldPastLimitUnreminded => "parcel held past the limit with no reminder",
            Rule::PhoneRevealsAboveDailyCount => "whole phones revealed above the daily count",
            Rule::WebhookFailingOverADay => "webhook deliveries failing for more than a day",
            Rule::DeviceOfflineOverAnHour => "device offline for more than an hour",
            Rule::TerminalThrottleBurst => "burst of wrong codes at a door terminal",
            Rule::UserIdle90Days => "account still enabled after 90 days without sign-in",
        }
    }

    /// Who owns compliance in this work (the first line, or the
    /// administrator for accounts and integrations); the compliance
    /// officer checks and follows up.
    pub fn owner(self) -> Role {
        match self {
            Rule::PickupWithoutProof
            | Rule::StoredWithoutConsent
            | Rule::HeldPastLimitUnreminded
            | Rule::TerminalThrottleBurst
            | Rule::DeviceOfflineOverAnHour => Role::StationKeeper,
            Rule::PhoneRevealsAboveDailyCount => Role::CountyOperator,
            Rule::WebhookFailingOverADay | Rule::UserIdle90Days => Role::Admin,
        }
    }

    /// Days a finding may stay open before it is overdue.
    pub fn due_days(self) -> i64 {
        match self {
            Rule::PickupWithoutProof | Rule::StoredWithoutConsent => 3,
            Rule::DeviceOfflineOverAnHour | Rule::WebhookFailingOverADay => 1,
            _ => 7,
        }
    }
}

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Open,
    /// The responsible person explained it; the officer decides.
    Explained,
    /// Closed: put right. A later breach of the same kind is a new finding.
    Fixed,
    /// Passed to the third line (discipline inspection and audit).
    Escalated,
}

impl FindingStatus {
    pub const ALL: [FindingStatus; 4] = [
        FindingStatus::Open,
        FindingStatus::Explained,
        FindingStatus::Fixed,
        FindingStatus::Escalated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Explained => "explained",
            FindingStatus::Fixed => "fixed",
            FindingStatus::Escalated => "escalated",
        }
    }

    pub fn parse(code: &str) -> Option<FindingStatus> {
        FindingStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            FindingStatus::Open => "待处理",
            FindingStatus::Explained => "已说明",
            FindingStatus::Fixed => "已整改",
            FindingStatus::Escalated => "已上报",
        }
    }

    /// Whether a re-run may add a new finding for the same subject: only
    /// once this one is fixed.
    pub fn is_closed(self) -> bool {
        self == FindingStatus::Fixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_every_rule_has_both_titles() {
        for rule in Rule::ALL {
            assert_eq!(Rule::parse(rule.code()), Some(rule));
            assert!(!rule.title_zh().is_empty() && !rule.title_en().is_empty());
            assert!(rule.due_days() > 0);
        }
        for status in FindingStatus::ALL {
            assert_eq!(FindingStatus::parse(status.code()), Some(status));
        }
    }
}

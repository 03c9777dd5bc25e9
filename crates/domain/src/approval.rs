//! Maker–checker (issue 12, point 5): a sensitive act above a threshold is
//! done only after a second person approved it. The maker's attempt files a
//! request (or finds theirs); a checker — a different person with the right
//! to approve — approves or refuses it; the maker's next attempt with the
//! same scope goes through while the approval is fresh. "不能做", not only
//! forbidden: the act cannot happen without the second person, and the
//! database refuses an approval by the maker themself.
//!
//! Pure: the thresholds, who may check, the scope's canonical text and a
//! request's state at a given time. Storage and the acts are `app`'s.

use crate::{Principal, Role};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What kind of act waits for a second person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An export (reconciliation, fee ledger, lists) over more days than
    /// [`Thresholds::export_days_max`].
    BulkExport,
    /// A whole phone number revealed beyond the day's
    /// [`Thresholds::phone_reveals_per_day`].
    PhoneReveal,
    /// A write-off (核销) of more than [`Thresholds::write_off_fen_max`]
    /// (branch `claims`).
    WriteOff,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::BulkExport, Kind::PhoneReveal, Kind::WriteOff];

    pub fn code(self) -> &'static str {
        match self {
            Kind::BulkExport => "bulk_export",
            Kind::PhoneReveal => "phone_reveal",
            Kind::WriteOff => "write_off",
        }
    }

    pub fn parse(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// How long an approval lets the maker act. An export is read a page at
    /// a time, so it may be used until it expires; a reveal is used once.
    pub fn single_use(self) -> bool {
        matches!(self, Kind::PhoneReveal | Kind::WriteOff)
    }
}

/// Where the second person is needed; the defaults are the product's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// An export over more Shanghai days than this needs approval.
    pub export_days_max: i64,
    /// Whole phones one person may reveal in a Shanghai day without
    /// approval (the compliance rule's count too).
    pub phone_reveals_per_day: u32,
    /// An unanswered request lapses after this long.
    pub request_hours: i64,
    /// An approval lets the maker act for this long.
    pub approval_hours: i64,
    /// A write-off of more fen than this needs approval.
    pub write_off_fen_max: i64,
}

/// The default write-off limit: 50,000 yuan in fen.
pub const WRITE_OFF_FEN_MAX_DEFAULT: i64 = 5_000_000;

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            export_days_max: 31,
            phone_reveals_per_day: crate::compliance::Thresholds::default().phone_reveals_per_day,
            request_hours: 24,
            approval_hours: 4,
            write_off_fen_max: WRITE_OFF_FEN_MAX_DEFAULT,
        }
    }
}

impl Thresholds {
    /// Off: nothing waits for a second person (the demo's seeding and tests
    /// that plant breaches on purpose).
    pub fn off() -> Thresholds {
        Thresholds {
            export_days_max: i64::MAX,
            phone_reveals_per_day: u32::MAX,
            write_off_fen_max: i64::MAX,
            ..Thresholds::default()
        }
    }

    /// Whether an export of Shanghai days `from..=to` is a bulk export.
    pub fn export_needs_approval(&self, from: NaiveDate, to: NaiveDate) -> bool {
        (to - from).num_days() + 1 > self.export_days_max
    }

    /// Whether a write-off of `amount` needs one.
    pub fn write_off_needs_approval(&self, amount: crate::Fen) -> bool {
        amount.0 > self.write_off_fen_max
    }

    /// Whether the next reveal, after `revealed_today` already, needs one.
    pub fn reveal_needs_approval(&self, revealed_today: u64) -> bool {
        revealed_today >= u64::from(self.phone_reveals_per_day)
    }
}

/// Who is held to maker–checker: people. The command line and background
/// jobs (user 0) hold the server's keys and database already; a second
/// person cannot check them, and the audit trail names them.
pub fn applies_to(maker: &Principal) -> bool {
    maker.user_id > 0
}

/// Whether `checker` may decide a request `maker_user_id` made: never the
/// maker, and only the first line's supervisors — the administrator and
/// county staff. The compliance officer and the auditor check after the
/// fact (the trail, the findings); they do not take part in the act.
pub fn may_check(checker: &Principal, maker_user_id: i64) -> bool {
    is_checker(checker) && checker.user_id != maker_user_id
}

/// Whether this person decides others' requests at all.
pub fn is_checker(checker: &Principal) -> bool {
    checker.user_id > 0 && matches!(checker.role, Role::Admin | Role::CountyOperator)
}

/// A request's state at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Approved,
    Refused,
    /// A single-use approval that was used.
    Used,
    /// Lapsed unanswered, or approved and not used in time.
    Expired,
}

impl State {
    pub fn code(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Refused => "refused",
            State::Used => "used",
            State::Expired => "expired",
        }
    }

    pub fn parse(code: &str) -> Option<State> {
        [
            State::Pending,
            State::Approved,
            State::Refused,
            State::Used,
            State::Expired,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// The times and decision that make a request's state.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub kind: Kind,
    pub requested_at: DateTime<Utc>,
    /// `Some(true)` approved, `Some(false)` refused.
    pub decision: Option<bool>,
    pub decided_at: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
}

impl Facts {
    pub fn state(&self, thresholds: &Thresholds, now: DateTime<Utc>) -> State {
        match (self.decision, self.decided_at) {
            (Some(false), _) => State::Refused,
            (Some(true), Some(decided_at)) => {
                if self.kind.single_use() && self.used_at.is_some() {
                    State::Used
                } else if now >= decided_at + Duration::hours(thresholds.approval_hours) {
                    State::Expired
                } else {
                    State::Approved
                }
            }
            _ if now >= self.requested_at + Duration::hours(thresholds.request_hours) => {
                State::Expired
            }
            _ => State::Pending,
        }
    }
}

/// What an approval covers, as canonical text: the same act asked twice
/// has the same scope, and an approval for one scope lets nothing else
/// through. Ids, carrier codes and dates only — never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// An export of `what` (`reconciliation`, `fee_ledger`, …) for a carrier
    /// over Shanghai days `from..=to`.
    Export {
        what: &'static str,
        carrier: Option<&'static str>,
        from: NaiveDate,
        to: NaiveDate,
    },
    /// One parcel's whole phone number.
    Phone { parcel_id: i64 },
    /// A write-off of `amount` fen of a carrier's credit to these invoices
    /// (statement ids, in order).
    WriteOff {
        carrier: &'static str,
        amount: i64,
        statements: Vec<i64>,
    },
    /// A bad-debt write-off (坏账核销) of `amount` fen of one invoice
    /// (branch money2); decided like a write-off.
    BadDebt {
        carrier: &'static str,
        amount: i64,
        statement: i64,
    },
}

impl Scope {
    pub fn kind(&self) -> Kind {
        match self {
            Scope::Export { .. } => Kind::BulkExport,
            Scope::Phone { .. } => Kind::PhoneReveal,
            Scope::WriteOff { .. } | Scope::BadDebt { .. } => Kind::WriteOff,
        }
    }

    /// The canonical text stored and compared.
    pub fn canonical(&self) -> String {
        match self {
            Scope::Export {
                what,
                carrier,
                from,
                to,
            } => format!("export:{what}:{}:{from}:{to}", carrier.unwrap_or("all")),
            Scope::Phone { parcel_id } => format!("phone:parcel:{parcel_id}"),
            Scope::WriteOff {
                carrier,
                amount,
                statements,
            } => format!(
                "write_off:{carrier}:{amount}:{}",
                statements
                    .iter()
                    .map(|id| id.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Scope::BadDebt {
                carrier,
                amount,
                statement,
            } => format!("bad_debt:{carrier}:{amount}:{statement}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(user_id: i64, role: Role) -> Principal {
        Principal {
            user_id,
            username: format!("u{user_id}"),
            role,
            station_ids: vec![],
            carrier: None,
        }
    }

    #[test]
    fn nobody_checks_their_own_request_and_only_supervisors_check() {
        assert!(!may_check(&person(3, Role::CountyOperator), 3));
        assert!(may_check(&person(4, Role::CountyOperator), 3));
        assert!(may_check(&person(4, Role::Admin), 3));
        for role in [
            Role::StationKeeper,
            Role::CarrierIntegrator,
            Role::StationTerminal,
            Role::ComplianceOfficer,
            Role::Auditor,
        ] {
            assert!(!may_check(&person(4, role), 3), "{role:?}");
        }
        // The command line is no second person.
        assert!(!may_check(&person(0, Role::Admin), 3));
        assert!(!applies_to(&person(0, Role::Admin)));
    }

    #[test]
    fn thresholds_count_days_inclusively_and_reveals_from_the_limit() {
        let t = Thresholds::default();
        let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        assert!(!t.export_needs_approval(day(1), day(31)));
        assert!(t.export_needs_approval(day(1), day(1) + Duration::days(31)));
        assert!(!t.reveal_needs_approval(19));
        assert!(t.reveal_needs_approval(20));
        assert!(!Thresholds::off().export_needs_approval(day(1), day(31) + Duration::days(3650)));
        assert!(!Thresholds::off().reveal_needs_approval(1_000_000));
    }

    #[test]
    fn a_request_lapses_an_approval_expires_and_a_reveal_is_used_once() {
        let t = Thresholds::default();
        let at = DateTime::parse_from_rfc3339("2026-12-07T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut facts = Facts {
            kind: Kind::PhoneReveal,
            requested_at: at,
            decision: None,
            decided_at: None,
            used_at: None,
        };
        assert_eq!(facts.state(&t, at + Duration::hours(23)), State::Pending);
        assert_eq!(facts.state(&t, at + Duration::hours(24)), State::Expired);
        facts.decision = Some(true);
        facts.decided_at = Some(at + Duration::hours(1));
        assert_eq!(facts.state(&t, at + Duration::hours(2)), State::Approved);
        assert_eq!(facts.state(&t, at + Duration::hours(5)), State::Expired);
        facts.used_at = Some(at + Duration::hours(2));
        assert_eq!(facts.state(&t, at + Duration::hours(3)), State::Used);
        facts.kind = Kind::BulkExport;
        assert_eq!(facts.state(&t, at + Duration::hours(3)), State::Approved);
        facts.decision = Some(false);
        assert_eq!(facts.state(&t, at + Duration::hours(3)), State::Refused);
    }

    #[test]
    fn scopes_are_canonical_and_distinct() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        let a = Scope::Export {
            what: "fee_ledger",
            carrier: Some("zto"),
            from: day(1),
            to: day(31),
        };
        assert_eq!(a.canonical(), "export:fee_ledger:zto:2026-01-01:2026-01-31");
        let b = Scope::Export {
            what: "reconciliation",
            carrier: Some("zto"),
            from: day(1),
            to: day(31),
        };
        assert_ne!(a.canonical(), b.canonical());
        assert_eq!(Scope::Phone { parcel_id: 7 }.canonical(), "phone:parcel:7");
        assert_eq!(a.kind(), Kind::BulkExport);
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.code()), Some(kind));
        }
    }
}

//! Statements (对账单) and receivables' rules (issue 15, points 2 and 3):
//! the statement month in Shanghai days, a statement line's answers and
//! resolutions, the statement's status from its lines, the due date from
//! payment terms, and the ageing buckets. Pure: `today` is an argument.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// A calendar month of Shanghai days: what one statement covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// `2026-11`.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.trim().split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let month = Month {
            year: year.parse().ok()?,
            month: month.parse().ok()?,
        };
        NaiveDate::from_ymd_opt(month.year, month.month, 1).map(|_| month)
    }

    pub fn of(day: NaiveDate) -> Month {
        Month {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a parsed month")
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().expect("a day before")
    }

    /// A month can be stated once it is over: its last day is before
    /// `today`.
    pub fn is_over(self, today: NaiveDate) -> bool {
        self.last_day() < today
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Where one statement line stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Issued, not yet answered by the carrier.
    Open,
    /// The carrier agreed.
    Confirmed,
    /// The carrier disputed it, with a reason; finance has not resolved it.
    Disputed,
    /// Finance kept the line as issued, with a reason.
    Upheld,
    /// Finance reversed the whole amount (a reversing transfer).
    Reversed,
    /// Finance settled it at a lower amount (an adjusting transfer).
    Adjusted,
}

impl LineStatus {
    pub const ALL: &'static [LineStatus] = &[
        LineStatus::Open,
        LineStatus::Confirmed,
        LineStatus::Disputed,
        LineStatus::Upheld,
        LineStatus::Reversed,
        LineStatus::Adjusted,
    ];

    pub fn code(self) -> &'static str {
        match self {
            LineStatus::Open => "open",
            LineStatus::Confirmed => "confirmed",
            LineStatus::Disputed => "disputed",
            LineStatus::Upheld => "upheld",
            LineStatus::Reversed => "reversed",
            LineStatus::Adjusted => "adjusted",
        }
    }

    pub fn parse(code: &str) -> Option<LineStatus> {
        LineStatus::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// The carrier may still answer: confirm or dispute.
    pub fn answerable(self) -> bool {
        self == LineStatus::Open
    }

    /// Finance may resolve it.
    pub fn resolvable(self) -> bool {
        self == LineStatus::Disputed
    }
}

/// A statement's status, from its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementStatus {
    /// Some lines still wait for the carrier's answer, none is disputed.
    Issued,
    /// A line is disputed and not yet resolved.
    Disputed,
    /// Every line is confirmed or resolved: the amount stands.
    Settled,
}

impl StatementStatus {
    pub fn of(lines: impl IntoIterator<Item = LineStatus>) -> StatementStatus {
        let mut open = false;
        for status in lines {
            match status {
                LineStatus::Disputed => return StatementStatus::Disputed,
                LineStatus::Open => open = true,
                _ => {}
            }
        }
        if open {
            StatementStatus::Issued
        } else {
            StatementStatus::Settled
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            StatementStatus::Issued => "issued",
            StatementStatus::Disputed => "disputed",
            StatementStatus::Settled => "settled",
        }
    }

    pub fn parse(code: &str) -> Option<StatementStatus> {
        [
            StatementStatus::Issued,
            StatementStatus::Disputed,
            StatementStatus::Settled,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// Default payment terms (资金缴纳时限): days after the statement month's
/// last day.
pub const PAYMENT_DAYS_DEFAULT: u32 = 15;
/// The longest payment terms accepted.
pub const PAYMENT_DAYS_MAX: u32 = 180;

/// When a statement's invoice is due: `days` after its month's last day.
pub fn due_day(month: Month, days: u32) -> NaiveDate {
    month.last_day() + chrono::Duration::days(i64::from(days.min(PAYMENT_DAYS_MAX)))
}

/// How overdue a debt is on a Shanghai day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    NotDue,
    Days1To30,
    Days31To60,
    Days61To90,
    Over90,
}

impl Bucket {
    pub const ALL: [Bucket; 5] = [
        Bucket::NotDue,
        Bucket::Days1To30,
        Bucket::Days31To60,
        Bucket::Days61To90,
        Bucket::Over90,
    ];

    /// Due on `due`, seen on `today`: not due up to and including the due
    /// day, then by whole days past it.
    pub fn of(due: NaiveDate, today: NaiveDate) -> Bucket {
        let late = (today - due).num_days();
        match late {
            i64::MIN..=0 => Bucket::NotDue,
            1..=30 => Bucket::Days1To30,
            31..=60 => Bucket::Days31To60,
            61..=90 => Bucket::Days61To90,
            _ => Bucket::Over90,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Bucket::NotDue => "not_due",
            Bucket::Days1To30 => "days_1_30",
            Bucket::Days31To60 => "days_31_60",
            Bucket::Days61To90 => "days_61_90",
            Bucket::Over90 => "over_90",
        }
    }
}

/// What one debtor (a carrier) still owes, by how overdue it is on a
/// Shanghai day: each open invoice's amount in the bucket of its due day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ageing {
    pub carrier: crate::Carrier,
    pub not_due: crate::Fen,
    pub days_1_30: crate::Fen,
    pub days_31_60: crate::Fen,
    pub days_61_90: crate::Fen,
    pub over_90: crate::Fen,
    /// Σ of the buckets.
    pub total: crate::Fen,
    /// The oldest due day among what is still owed.
    pub oldest_due: Option<NaiveDate>,
}

impl Ageing {
    pub fn new(carrier: crate::Carrier) -> Ageing {
        let zero = crate::Fen(0);
        Ageing {
            carrier,
            not_due: zero,
            days_1_30: zero,
            days_31_60: zero,
            days_61_90: zero,
            over_90: zero,
            total: zero,
            oldest_due: None,
        }
    }

    /// The amount in one bucket.
    pub fn bucket(&self, bucket: Bucket) -> crate::Fen {
        match bucket {
            Bucket::NotDue => self.not_due,
            Bucket::Days1To30 => self.days_1_30,
            Bucket::Days31To60 => self.days_31_60,
            Bucket::Days61To90 => self.days_61_90,
            Bucket::Over90 => self.over_90,
        }
    }

    /// Adds an invoice still owed: `owed` due on `due`, seen on `today`.
    /// Nothing owed (zero or a credit) adds nothing.
    pub fn add(&mut self, owed: crate::Fen, due: NaiveDate, today: NaiveDate) {
        if owed.0 <= 0 {
            return;
        }
        let slot = match Bucket::of(due, today) {
            Bucket::NotDue => &mut self.not_due,
            Bucket::Days1To30 => &mut self.days_1_30,
            Bucket::Days31To60 => &mut self.days_31_60,
            Bucket::Days61To90 => &mut self.days_61_90,
            Bucket::Over90 => &mut self.over_90,
        };
        slot.0 += owed.0;
        self.total.0 += owed.0;
        self.oldest_due = Some(self.oldest_due.map_or(due, |d| d.min(due)));
    }
}

/// Ages invoices `(carrier, owed, due day)` per debtor on `today`: one row
/// per carrier that owes something, the largest total first (then by
/// carrier code, so the order is stable).
pub fn age(
    invoices: impl IntoIterator<Item = (crate::Carrier, crate::Fen, NaiveDate)>,
    today: NaiveDate,
) -> Vec<Ageing> {
    let mut rows: Vec<Ageing> = Vec::new();
    for (carrier, owed, due) in invoices {
        let at = match rows.iter().position(|r| r.carrier == carrier) {
            Some(at) => at,
            None => {
                rows.push(Ageing::new(carrier));
                rows.len() - 1
            }
        };
        rows[at].add(owed, due, today);
    }
    rows.retain(|r| r.total.0 > 0);
    rows.sort_by(|a, b| {
        b.total
            .0
            .cmp(&a.total.0)
            .then_with(|| a.carrier.code().cmp(b.carrier.code()))
    });
    rows
}

/// How a debtor was contacted (催收方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Phone,
    Visit,
    Message,
    Letter,
}

impl ContactChannel {
    pub const ALL: [ContactChannel; 4] = [
        ContactChannel::Phone,
        ContactChannel::Visit,
        ContactChannel::Message,
        ContactChannel::Letter,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ContactChannel::Phone => "phone",
            ContactChannel::Visit => "visit",
            ContactChannel::Message => "message",
            ContactChannel::Letter => "letter",
        }
    }

    pub fn parse(code: &str) -> Option<ContactChannel> {
        ContactChannel::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Longest name of the person contacted at the debtor, in characters.
pub const CONTACTED_CHARS_MAX: usize = 50;
/// Longest note of a contact, in characters.
pub const CONTACT_NOTE_CHARS_MAX: usize = 500;
/// Furthest a promise to pay may reach, in days from today.
pub const PROMISE_DAYS_MAX: i64 = 366;
/// Largest promise to pay: 10,000,000 yuan, the ledger's largest transfer.
pub const PROMISE_FEN_MAX: i64 = 1_000_000_000;

/// What is wrong with a contact's fields, in English for the `{detail}` of
/// the English message (the Chinese one lists every rule).
pub fn check_contact(
    contacted: &str,
    note: &str,
    promise: Option<(crate::Fen, NaiveDate)>,
    today: NaiveDate,
) -> Result<(), ContactProblem> {
    let contacted_chars = contacted.trim().chars().count();
    if contacted_chars == 0 || contacted_chars > CONTACTED_CHARS_MAX {
        return Err(ContactProblem::Contacted);
    }
    let note_chars = note.trim().chars().count();
    if note_chars == 0 || note_chars > CONTACT_NOTE_CHARS_MAX {
        return Err(ContactProblem::Note);
    }
    if let Some((amount, by)) = promise {
        if amount.0 <= 0 || amount.0 > PROMISE_FEN_MAX {
            return Err(ContactProblem::PromiseAmount);
        }
        let ahead = (by - today).num_days();
        if !(0..=PROMISE_DAYS_MAX).contains(&ahead) {
            return Err(ContactProblem::PromiseDay);
        }
    }
    Ok(())
}

/// Why a contact was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactProblem {
    Contacted,
    Note,
    PromiseAmount,
    PromiseDay,
}

impl ContactProblem {
    pub fn detail(self) -> &'static str {
        match self {
            ContactProblem::Contacted => "name the person contacted (1 to 50 characters)",
            ContactProblem::Note => "write what was said (1 to 500 characters)",
            ContactProblem::PromiseAmount => {
                "a promised amount is more than 0 and at most 10,000,000 yuan"
            }
            ContactProblem::PromiseDay => "a promise is due from today to a year ahead",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn months_parse_and_bound_their_days() {
        let november = Month::parse("2026-11").unwrap();
        assert_eq!(november.to_string(), "2026-11");
        assert_eq!(november.last_day(), day("2026-11-30"));
        assert_eq!(
            Month::parse("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        assert_eq!(
            Month::parse("2024-02").unwrap().last_day(),
            day("2024-02-29")
        );
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", ""] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert!(!november.is_over(day("2026-11-30")));
        assert!(november.is_over(day("2026-12-01")));
        assert_eq!(due_day(november, 15), day("2026-12-15"));
    }

    #[test]
    fn a_statement_is_settled_when_no_line_is_open_or_disputed() {
        use LineStatus::*;
        assert_eq!(
            StatementStatus::of([Open, Confirmed]),
            StatementStatus::Issued
        );
        assert_eq!(
            StatementStatus::of([Open, Disputed]),
            StatementStatus::Disputed
        );
        assert_eq!(
            StatementStatus::of([Confirmed, Upheld, Reversed, Adjusted]),
            StatementStatus::Settled
        );
        for &status in LineStatus::ALL {
            assert_eq!(LineStatus::parse(status.code()), Some(status));
        }
    }

    #[test]
    fn ageing_counts_whole_days_past_due() {
        let due = day("2026-12-15");
        assert_eq!(Bucket::of(due, day("2026-12-01")), Bucket::NotDue);
        assert_eq!(Bucket::of(due, due), Bucket::NotDue);
        assert_eq!(Bucket::of(due, day("2026-12-16")), Bucket::Days1To30);
        assert_eq!(Bucket::of(due, day("2027-01-14")), Bucket::Days1To30);
        assert_eq!(Bucket::of(due, day("2027-01-15")), Bucket::Days31To60);
        assert_eq!(Bucket::of(due, day("2027-03-15")), Bucket::Days61To90);
        assert_eq!(Bucket::of(due, day("2027-03-16")), Bucket::Over90);
    }

    #[test]
    fn ageing_sums_each_debtor_by_bucket_largest_first() {
        use crate::{Carrier, Fen};
        let today = day("2027-03-01");
        let rows = age(
            [
                (Carrier::Zto, Fen(100), day("2027-03-01")),
                (Carrier::Zto, Fen(250), day("2027-02-28")),
                (Carrier::Sf, Fen(90), day("2026-11-01")),
                (Carrier::Sf, Fen(0), day("2026-01-01")),
                (Carrier::Jd, Fen(-5), day("2026-01-01")),
                (Carrier::Zto, Fen(7), day("2026-12-31")),
            ],
            today,
        );
        assert_eq!(rows.len(), 2, "a debtor owing nothing is no row");
        assert_eq!(rows[0].carrier, Carrier::Zto);
        assert_eq!(rows[0].not_due, Fen(100));
        assert_eq!(rows[0].days_1_30, Fen(250));
        assert_eq!(rows[0].days_31_60, Fen(7));
        assert_eq!(rows[0].total, Fen(357));
        assert_eq!(rows[0].oldest_due, Some(day("2026-12-31")));
        assert_eq!(rows[1].carrier, Carrier::Sf);
        assert_eq!(rows[1].bucket(Bucket::Over90), Fen(90));
        assert_eq!(
            rows[1].oldest_due,
            Some(day("2026-11-01")),
            "zero owed has no age"
        );
        let sum: i64 = Bucket::ALL.iter().map(|b| rows[0].bucket(*b).0).sum();
        assert_eq!(sum, rows[0].total.0);
    }

    #[test]
    fn contacts_are_checked_field_by_field() {
        use crate::Fen;
        let today = day("2026-12-07");
        assert_eq!(check_contact("李经理", "答应月底付清", None, today), Ok(()));
        assert_eq!(
            check_contact(" ", "x", None, today),
            Err(ContactProblem::Contacted)
        );
        assert_eq!(
            check_contact("李", &"字".repeat(501), None, today),
            Err(ContactProblem::Note)
        );
        let promise = |fen, by: &str| Some((Fen(fen), day(by)));
        assert_eq!(
            check_contact("李", "x", promise(1, "2026-12-07"), today),
            Ok(())
        );
        assert_eq!(
            check_contact("李", "x", promise(0, "2026-12-08"), today),
            Err(ContactProblem::PromiseAmount)
        );
        assert_eq!(
            check_contact("李", "x", promise(100, "2026-12-06"), today),
            Err(ContactProblem::PromiseDay)
        );
        assert_eq!(
            check_contact("李", "x", promise(100, "2027-12-09"), today),
            Err(ContactProblem::PromiseDay)
        );
        for channel in ContactChannel::ALL {
            assert_eq!(ContactChannel::parse(channel.code()), Some(channel));
        }
    }
}

/// How a write-off (核销) spreads `available` money over open invoices,
/// taken in the order given (oldest due first, or as chosen): each gets at
/// most what it still owes, and what is left over stays unapplied (the
/// debtor's credit). Returns `(invoice, amount)` for each invoice paid
/// something; never more than `available` in all, never more than an
/// invoice owes, nothing for an invoice that owes nothing.
pub fn allocate(available: crate::Fen, invoices: &[(i64, crate::Fen)]) -> Vec<(i64, crate::Fen)> {
    let mut left = available.0.max(0);
    let mut out = Vec::new();
    for &(id, owed) in invoices {
        if left == 0 {
            break;
        }
        let paid = owed.0.max(0).min(left);
        if paid > 0 {
            out.push((id, crate::Fen(paid)));
            left -= paid;
        }
    }
    out
}

#[cfg(test)]
mod allocate_tests {
    use super::allocate;
    use crate::Fen;

    #[test]
    fn money_goes_to_invoices_in_order_each_up_to_what_it_owes() {
        let invoices = [(1, Fen(100)), (2, Fen(0)), (3, Fen(250)), (4, Fen(50))];
        assert_eq!(allocate(Fen(0), &invoices), vec![]);
        assert_eq!(allocate(Fen(60), &invoices), vec![(1, Fen(60))]);
        assert_eq!(
            allocate(Fen(180), &invoices),
            vec![(1, Fen(100)), (3, Fen(80))],
            "partial payment of the next"
        );
        assert_eq!(
            allocate(Fen(1_000), &invoices),
            vec![(1, Fen(100)), (3, Fen(250)), (4, Fen(50))],
            "an overpayment leaves 600 unapplied"
        );
        assert_eq!(allocate(Fen(-5), &invoices), vec![]);
    }
}

//! The kiosk fleet (寄件宝, issue 14): what a self-service sending kiosk is
//! (its code, the scenario of its host site, its status), the commission a
//! collected order earns its responsible staff, what a collection run found,
//! and the daily report (每日通报): kiosks in service, active, active share,
//! orders, items collected and revenue, by branch, scenario and staff, with
//! rankings and the change from the day before. Pure: the use case reads
//! the kiosks and each kiosk's day counts and asks here.

use crate::Fen;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Longest kiosk code.
pub const KIOSK_CODE_CHARS_MAX: usize = 24;
/// Most kiosks one import file may carry.
pub const KIOSK_IMPORT_ROWS_MAX: usize = 5_000;
/// Most waybills one collection run may scan.
pub const COLLECTION_SCANS_MAX: u32 = 2_000;
/// Kiosks the report ranks.
pub const RANKING_KIOSKS_MAX: usize = 10;

/// The ten host-site scenarios the kiosks are placed by
/// (“小区便利店物业包围驿站，村镇站点包围乡镇快递超市，进校园、进商圈、进景区、进园区”).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    VillagePostal,
    ConvenienceStore,
    LocalProduce,
    Office,
    Hotel,
    Station,
    Pharmacy,
    Campus,
    ShoppingDistrict,
    ScenicArea,
}

impl Scenario {
    pub const ALL: [Scenario; 10] = [
        Scenario::VillagePostal,
        Scenario::ConvenienceStore,
        Scenario::LocalProduce,
        Scenario::Office,
        Scenario::Hotel,
        Scenario::Station,
        Scenario::Pharmacy,
        Scenario::Campus,
        Scenario::ShoppingDistrict,
        Scenario::ScenicArea,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Scenario::VillagePostal => "village_postal",
            Scenario::ConvenienceStore => "convenience_store",
            Scenario::LocalProduce => "local_produce",
            Scenario::Office => "office",
            Scenario::Hotel => "hotel",
            Scenario::Station => "station",
            Scenario::Pharmacy => "pharmacy",
            Scenario::Campus => "campus",
            Scenario::ShoppingDistrict => "shopping_district",
            Scenario::ScenicArea => "scenic_area",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Scenario::VillagePostal => "村邮站",
            Scenario::ConvenienceStore => "便利店",
            Scenario::LocalProduce => "土特产店",
            Scenario::Office => "写字楼",
            Scenario::Hotel => "酒店",
            Scenario::Station => "车站",
            Scenario::Pharmacy => "药店",
            Scenario::Campus => "校园",
            Scenario::ShoppingDistrict => "商圈",
            Scenario::ScenicArea => "景区",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Scenario::VillagePostal => "village postal station",
            Scenario::ConvenienceStore => "convenience store",
            Scenario::LocalProduce => "local-produce shop",
            Scenario::Office => "office building",
            Scenario::Hotel => "hotel",
            Scenario::Station => "station",
            Scenario::Pharmacy => "pharmacy",
            Scenario::Campus => "campus",
            Scenario::ShoppingDistrict => "shopping district",
            Scenario::ScenicArea => "scenic area",
        }
    }

    /// By code or by its Chinese name (what an import file may carry).
    pub fn parse(text: &str) -> Option<Scenario> {
        let text = text.trim();
        Scenario::ALL
            .into_iter()
            .find(|s| s.code() == text || s.name_zh() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KioskStatus {
    /// Placed and taking orders.
    InService,
    /// Placed but out of order or paused; still counts as placed.
    Suspended,
    /// Taken away; no longer placed from its retirement day.
    Retired,
}

impl KioskStatus {
    pub const ALL: [KioskStatus; 3] = [
        KioskStatus::InService,
        KioskStatus::Suspended,
        KioskStatus::Retired,
    ];

    pub fn code(self) -> &'static str {
        match self {
            KioskStatus::InService => "in_service",
            KioskStatus::Suspended => "suspended",
            KioskStatus::Retired => "retired",
        }
    }

    pub fn parse(text: &str) -> Option<KioskStatus> {
        KioskStatus::ALL.into_iter().find(|s| s.code() == text)
    }
}

/// A kiosk code: 1 to 24 of A–Z, 0–9 and `-`, stored upper-case.
pub fn parse_code(text: &str) -> Result<String, &'static str> {
    let code = text.trim().to_ascii_uppercase();
    if code.is_empty()
        || code.chars().count() > KIOSK_CODE_CHARS_MAX
        || !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("code: 1 to 24 of A-Z, 0-9 and -");
    }
    Ok(code)
}

/// Whether a kiosk placed on `placed_on` and retired on `retired_on` (if
/// ever) counts as placed on `day`: from its placement day, up to the day
/// before its retirement.
pub fn placed_on_day(placed_on: NaiveDate, retired_on: Option<NaiveDate>, day: NaiveDate) -> bool {
    placed_on <= day && retired_on.is_none_or(|retired| day < retired)
}

/// What a collected order earns the kiosk's responsible staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Commission {
    /// A fixed amount per collected order.
    PerOrderFen(i64),
    /// Basis points (1/100 of a percent) of the order's price, rounded
    /// half up to the fen.
    PriceBasisPoints(u32),
}

impl Commission {
    /// Largest per-order amount (100 yuan) and share (50%) accepted.
    pub const PER_ORDER_FEN_MAX: i64 = 10_000;
    pub const BASIS_POINTS_MAX: u32 = 5_000;

    pub fn check(self) -> Result<Commission, &'static str> {
        match self {
            Commission::PerOrderFen(fen) if !(0..=Self::PER_ORDER_FEN_MAX).contains(&fen) => {
                Err("per-order commission: 0 to 10000 fen")
            }
            Commission::PriceBasisPoints(bp) if bp > Self::BASIS_POINTS_MAX => {
                Err("commission share: 0 to 5000 basis points (50%)")
            }
            ok => Ok(ok),
        }
    }

    pub fn for_price(self, price: Fen) -> Fen {
        match self {
            Commission::PerOrderFen(fen) => Fen(fen),
            Commission::PriceBasisPoints(bp) => {
                Fen((price.0.max(0) * i64::from(bp) + 5_000) / 10_000)
            }
        }
    }
}

/// What one scan of a collection run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanOutcome {
    /// An accepted order of this kiosk: collected now.
    Collected,
    /// Scanned before in this run: nothing changes.
    Repeat,
    /// Unknown, another kiosk's, or not waiting to be collected.
    Extra,
    /// Waiting in the bin and not scanned when the run closed.
    Missing,
}

impl ScanOutcome {
    pub fn code(self) -> &'static str {
        match self {
            ScanOutcome::Collected => "collected",
            ScanOutcome::Repeat => "repeat",
            ScanOutcome::Extra => "extra",
            ScanOutcome::Missing => "missing",
        }
    }

    pub fn parse(text: &str) -> Option<ScanOutcome> {
        [
            ScanOutcome::Collected,
            ScanOutcome::Repeat,
            ScanOutcome::Extra,
            ScanOutcome::Missing,
        ]
        .into_iter()
        .find(|o| o.code() == text)
    }
}

/// One kiosk as the report sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskFacts {
    pub id: i64,
    pub code: String,
    pub host_name: String,
    pub scenario: Scenario,
    pub branch: String,
    pub staff: String,
    pub placed_on: NaiveDate,
    pub retired_on: Option<NaiveDate>,
}

/// One kiosk's figures for one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    /// Orders accepted (paid or prepaid) that day.
    pub orders: u32,
    /// Items scanned out of the bin that day.
    pub collected: u32,
    /// The accepted orders' prices.
    pub revenue_fen: i64,
}

/// The figures of a set of kiosks for one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Kiosks placed (in service or suspended, not retired) that day.
    pub placed: u32,
    /// Placed kiosks with at least the threshold's orders that day.
    pub active: u32,
    /// `active / placed`, 0 when none is placed; four decimals.
    pub active_share: f64,
    pub orders: u32,
    pub collected: u32,
    pub revenue_fen: i64,
}

impl Totals {
    fn add(&mut self, counts: DayCounts, placed: bool, active: bool) {
        self.placed += u32::from(placed);
        self.active += u32::from(active);
        self.orders += counts.orders;
        self.collected += counts.collected;
        self.revenue_fen += counts.revenue_fen;
    }

    fn finish(&mut self) {
        self.active_share = share(self.active, self.placed);
    }
}

fn share(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (f64::from(part) / f64::from(whole) * 10_000.0).round() / 10_000.0
    }
}

/// The day's figures against the day before's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Change {
    pub placed: i64,
    pub active: i64,
    /// In share points (0.0123 is 1.23 percentage points).
    pub active_share: f64,
    pub orders: i64,
    pub collected: i64,
    pub revenue_fen: i64,
}

impl Change {
    fn between(today: &Totals, before: &Totals) -> Change {
        Change {
            placed: i64::from(today.placed) - i64::from(before.placed),
            active: i64::from(today.active) - i64::from(before.active),
            active_share: ((today.active_share - before.active_share) * 10_000.0).round()
                / 10_000.0,
            orders: i64::from(today.orders) - i64::from(before.orders),
            collected: i64::from(today.collected) - i64::from(before.collected),
            revenue_fen: today.revenue_fen - before.revenue_fen,
        }
    }
}

/// One branch's, scenario's or staff member's line, with its rank (by
/// active share, then orders, then key) and its change from the day before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupLine {
    pub rank: u32,
    /// The branch's name, the scenario's code, or the staff's username.
    pub key: String,
    #[serde(flatten)]
    pub totals: Totals,
    pub change: Change,
}

/// One kiosk's line in the day's ranking (by orders, then collected).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KioskLine {
    pub rank: u32,
    pub kiosk_id: i64,
    pub code: String,
    pub host_name: String,
    pub scenario: Scenario,
    pub branch: String,
    pub staff: String,
    pub orders: u32,
    pub collected: u32,
    pub revenue_fen: i64,
}

/// The daily report (每日通报) of the kiosk fleet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetDayReport {
    pub day: NaiveDate,
    /// Orders a kiosk needs in a day to count as active.
    pub active_orders_min: u32,
    #[serde(flatten)]
    pub totals: Totals,
    pub previous: Totals,
    pub change: Change,
    pub by_branch: Vec<GroupLine>,
    pub by_scenario: Vec<GroupLine>,
    pub by_staff: Vec<GroupLine>,
    /// The busiest kiosks of the day.
    pub top_kiosks: Vec<KioskLine>,
    /// Placed kiosks with no order that day, by code.
    pub n_idle: u32,
}

/// Builds the report for `day` from every kiosk and each kiosk's counts on
/// `day` and on the day before (kiosks without counts had none).
pub fn day_report(
    day: NaiveDate,
    kiosks: &[KioskFacts],
    counts: &HashMap<i64, DayCounts>,
    previous_counts: &HashMap<i64, DayCounts>,
    active_orders_min: u32,
) -> FleetDayReport {
    let before = day.pred_opt().unwrap_or(day);
    let threshold = active_orders_min.max(1);
    type Groups = BTreeMap<String, (Totals, Totals)>;
    let (mut by_branch, mut by_scenario, mut by_staff): (Groups, Groups, Groups) =
        Default::default();
    let mut totals = Totals::default();
    let mut previous = Totals::default();
    let mut lines = Vec::new();
    let mut n_idle = 0;
    for kiosk in kiosks {
        let today = counts.get(&kiosk.id).copied().unwrap_or_default();
        let yesterday = previous_counts.get(&kiosk.id).copied().unwrap_or_default();
        let placed = placed_on_day(kiosk.placed_on, kiosk.retired_on, day);
        let placed_before = placed_on_day(kiosk.placed_on, kiosk.retired_on, before);
        let active = placed && today.orders >= threshold;
        let active_before = placed_before && yesterday.orders >= threshold;
        totals.add(today, placed, active);
        previous.add(yesterday, placed_before, active_before);
        for (groups, key) in [
            (&mut by_branch, kiosk.branch.clone()),
            (&mut by_scenario, kiosk.scenario.code().to_string()),
            (&mut by_staff, kiosk.staff.clone()),
        ] {
            let entry = groups.entry(key).or_default();
            entry.0.add(today, placed, active);
            entry.1.add(yesterday, placed_before, active_before);
        }
        if placed && today.orders == 0 {
            n_idle += 1;
        }
        if today.orders > 0 || today.collected > 0 {
            lines.push(KioskLine {
                rank: 0,
                kiosk_id: kiosk.id,
                code: kiosk.code.clone(),
                host_name: kiosk.host_name.clone(),
                scenario: kiosk.scenario,
                branch: kiosk.branch.clone(),
                staff: kiosk.staff.clone(),
                orders: today.orders,
                collected: today.collected,
                revenue_fen: today.revenue_fen,
            });
        }
    }
    totals.finish();
    previous.finish();
    lines.sort_by(|a, b| (b.orders, b.collected, &a.code).cmp(&(a.orders, a.collected, &b.code)));
    lines.truncate(RANKING_KIOSKS_MAX);
    for (idx, line) in lines.iter_mut().enumerate() {
        line.rank = idx as u32 + 1;
    }
    FleetDayReport {
        day,
        active_orders_min: threshold,
        totals,
        previous,
        change: Change::between(&totals, &previous),
        by_branch: ranked(by_branch),
        by_scenario: ranked(by_scenario),
        by_staff: ranked(by_staff),
        top_kiosks: lines,
        n_idle,
    }
}

fn ranked(groups: BTreeMap<String, (Totals, Totals)>) -> Vec<GroupLine> {
    let mut lines: Vec<GroupLine> = groups
        .into_iter()
        .map(|(key, (mut today, mut before))| {
            today.finish();
            before.finish();
            GroupLine {
                rank: 0,
                key,
                change: Change::between(&today, &before),
                totals: today,
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        b.totals
            .active_share
            .total_cmp(&a.totals.active_share)
            .then(b.totals.orders.cmp(&a.totals.orders))
            .then(a.key.cmp(&b.key))
    });
    for (idx, line) in lines.iter_mut().enumerate() {
        line.rank = idx as u32 + 1;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn kiosk(id: i64, branch: &str, scenario: Scenario, placed: &str) -> KioskFacts {
        KioskFacts {
            id,
            code: format!("K{id:03}"),
            host_name: format!("host {id}"),
            scenario,
            branch: branch.into(),
            staff: if id % 2 == 0 {
                "li".into()
            } else {
                "wang".into()
            },
            placed_on: day(placed),
            retired_on: None,
        }
    }

    fn counts(orders: u32, collected: u32, revenue_fen: i64) -> DayCounts {
        DayCounts {
            orders,
            collected,
            revenue_fen,
        }
    }

    #[test]
    fn scenarios_parse_by_code_and_chinese_name() {
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::parse(scenario.code()), Some(scenario));
            assert_eq!(Scenario::parse(scenario.name_zh()), Some(scenario));
        }
        assert_eq!(Scenario::parse("airport"), None);
    }

    #[test]
    fn codes_are_checked_and_upper_cased() {
        assert_eq!(parse_code(" jjb-001 ").unwrap(), "JJB-001");
        assert!(parse_code("").is_err());
        assert!(parse_code("含中文").is_err());
        assert!(parse_code(&"A".repeat(25)).is_err());
    }

    #[test]
    fn placement_counts_from_the_day_placed_until_the_day_retired() {
        let placed = day("2026-11-10");
        assert!(!placed_on_day(placed, None, day("2026-11-09")));
        assert!(placed_on_day(placed, None, day("2026-11-10")));
        let retired = Some(day("2026-11-20"));
        assert!(placed_on_day(placed, retired, day("2026-11-19")));
        assert!(!placed_on_day(placed, retired, day("2026-11-20")));
    }

    #[test]
    fn commission_per_order_or_share_rounded_half_up() {
        assert_eq!(Commission::PerOrderFen(50).for_price(Fen(1200)), Fen(50));
        // 8% of 12.34 yuan is 98.72 fen: 99.
        assert_eq!(
            Commission::PriceBasisPoints(800).for_price(Fen(1234)),
            Fen(99)
        );
        assert_eq!(Commission::PriceBasisPoints(500).for_price(Fen(10)), Fen(1));
        assert!(Commission::PerOrderFen(-1).check().is_err());
        assert!(Commission::PriceBasisPoints(5_001).check().is_err());
    }

    #[test]
    fn the_report_counts_placed_active_and_ranks_with_the_change() {
        let the_day = day("2026-12-06");
        let kiosks = vec![
            kiosk(1, "城关支局", Scenario::Pharmacy, "2026-11-01"),
            kiosk(2, "城关支局", Scenario::Campus, "2026-11-01"),
            kiosk(3, "临溪支局", Scenario::Pharmacy, "2026-11-01"),
            // Placed on the day: counts today, not yesterday.
            kiosk(4, "临溪支局", Scenario::Hotel, "2026-12-06"),
            // Not yet placed.
            kiosk(5, "临溪支局", Scenario::Hotel, "2026-12-07"),
        ];
        let today = HashMap::from([
            (1, counts(5, 4, 6_000)),
            (3, counts(1, 0, 1_200)),
            (4, counts(2, 2, 2_400)),
        ]);
        let yesterday = HashMap::from([(1, counts(2, 2, 2_400)), (2, counts(1, 1, 1_200))]);
        let report = day_report(the_day, &kiosks, &today, &yesterday, 1);
        assert_eq!(report.totals.placed, 4);
        assert_eq!(report.totals.active, 3);
        assert_eq!(report.totals.active_share, 0.75);
        assert_eq!(report.totals.orders, 8);
        assert_eq!(report.totals.collected, 6);
        assert_eq!(report.totals.revenue_fen, 9_600);
        assert_eq!(report.previous.placed, 3);
        assert_eq!(report.previous.active, 2);
        assert_eq!(report.change.placed, 1);
        assert_eq!(report.change.orders, 5);
        assert_eq!(report.change.active_share, 0.0833);
        assert_eq!(report.n_idle, 1);
        // 临溪: 2 of 2 placed active (100%) ranks above 城关's 1 of 2.
        assert_eq!(report.by_branch[0].key, "临溪支局");
        assert_eq!(report.by_branch[0].rank, 1);
        assert_eq!(report.by_branch[0].totals.placed, 2);
        assert_eq!(report.by_branch[1].totals.active_share, 0.5);
        let pharmacy = report
            .by_scenario
            .iter()
            .find(|line| line.key == "pharmacy")
            .unwrap();
        assert_eq!((pharmacy.totals.placed, pharmacy.totals.active), (2, 2));
        assert_eq!(report.top_kiosks[0].code, "K001");
        assert_eq!(report.top_kiosks.len(), 3);
        // A higher threshold makes fewer kiosks active.
        let strict = day_report(the_day, &kiosks, &today, &yesterday, 2);
        assert_eq!(strict.totals.active, 2);
    }

    #[test]
    fn an_empty_fleet_has_a_zero_share() {
        let report = day_report(day("2026-12-06"), &[], &HashMap::new(), &HashMap::new(), 1);
        assert_eq!(report.totals.active_share, 0.0);
        assert!(report.by_branch.is_empty());
    }
}

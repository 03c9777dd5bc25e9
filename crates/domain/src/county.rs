//! County co-delivery (邮快合作) rules: the three operating modes, carriers'
//! agreements (townships handed over, mode per township, per-piece fees by
//! mode and weight bracket, effective dates), which event counts as
//! delivered in each mode, and the route decision from a parcel's
//! destination division to a route, a contractor or a village station.
//! Pure: the caller brings the agreement, the county's configuration and
//! the parsed address.

use crate::Fen;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How a township's parcels travel the last mile under a carrier's agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 县域同分共配: sorted together at the county centre and carried on a
    /// shared route to the village station, where the recipient collects.
    Joint,
    /// 乡镇承包配送: handed over at the centre to the township's contractor,
    /// who delivers on their own account.
    Contractor,
    /// 村级站点复用: bagged for an existing village station (a post office
    /// or shop point), which shelves it.
    Station,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Joint, Mode::Contractor, Mode::Station];

    pub fn code(self) -> &'static str {
        match self {
            Mode::Joint => "joint",
            Mode::Contractor => "contractor",
            Mode::Station => "station",
        }
    }

    pub fn parse(code: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Mode::Joint => "县域同分共配",
            Mode::Contractor => "乡镇承包配送",
            Mode::Station => "村级站点复用",
        }
    }

    /// Whether an event of this kind is the one that makes the parcel
    /// "delivered" for the fee, in this mode. Each mode accrues at the point
    /// where the co-delivery's service under it ends:
    /// joint — the recipient picked it up at the station (the shared route
    /// and the station are both ours); contractor — handed to the contractor
    /// (the bag dispatched to them); station — shelved at the village station
    /// (stored, or waiting on a shelf for consent).
    pub fn counts_as_delivered(self, event_kind: &str) -> bool {
        match self {
            Mode::Joint => event_kind == "picked_up",
            Mode::Contractor => event_kind == "dispatched",
            Mode::Station => matches!(event_kind, "stored" | "awaiting_consent"),
        }
    }
}

/// A township's division code: 9 digits (NBS 2023).
pub fn parse_township(code: &str) -> Result<String, String> {
    let code = code.trim();
    if code.len() == 9 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_string())
    } else {
        Err(format!(
            "township division code {code:?} must be 9 digits (e.g. 510182103)"
        ))
    }
}

/// Most townships in one agreement, fee brackets per mode.
pub const AGREEMENT_TOWNSHIPS_MAX: usize = 500;
pub const BRACKETS_MAX: usize = 20;
/// Heaviest parcel accepted, in grams (national limit for one piece is 50 kg;
/// a margin for packaging).
pub const WEIGHT_GRAMS_MAX: u32 = 100_000;
/// Highest per-piece fee accepted: 100 yuan.
pub const FEE_FEN_MAX: i64 = 10_000;

/// The terms of one agreement version, as written by the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// Townships the carrier does not cover itself and hands to the county
    /// co-delivery, each with its mode. A township not listed is the
    /// carrier's own: its parcels go to the manual queue, never a default.
    pub townships: Vec<TownshipTerm>,
    /// Per-piece fees per mode, by weight bracket.
    pub fees: Vec<ModeFees>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TownshipTerm {
    pub township: String,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeFees {
    pub mode: Mode,
    /// Ascending by `up_to_grams`; the last has none (open-ended).
    pub brackets: Vec<Bracket>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bracket {
    /// Heaviest weight in this bracket, inclusive; `None` for the last.
    pub up_to_grams: Option<u32>,
    pub fen: Fen,
}

/// Effective dates in Asia/Shanghai, both inclusive; no end means open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

impl Period {
    pub fn new(from: NaiveDate, to: Option<NaiveDate>) -> Result<Period, String> {
        if to.is_some_and(|to| to < from) {
            return Err(format!(
                "the agreement ends ({}) before it starts ({from})",
                to.unwrap_or(from)
            ));
        }
        Ok(Period { from, to })
    }

    pub fn contains(self, day: NaiveDate) -> bool {
        self.from <= day && self.to.is_none_or(|to| day <= to)
    }

    /// Which of an agreement's versions applies on `day`: the
    /// highest-numbered one whose period contains it. A later version
    /// overrides an earlier one where their periods overlap, so a
    /// correction never needs the old version's dates changed.
    pub fn effective<V>(
        versions: impl IntoIterator<Item = V>,
        day: NaiveDate,
        of: impl Fn(&V) -> (u32, Period),
    ) -> Option<V> {
        versions
            .into_iter()
            .filter(|v| of(v).1.contains(day))
            .max_by_key(|v| of(v).0)
    }
}

impl Terms {
    /// Checks the terms: known township codes, each township once, every
    /// mode in use has fees, brackets ascending and ending open, fees within
    /// limits. Returns the terms with townships trimmed.
    pub fn validated(mut self) -> Result<Terms, String> {
        if self.townships.is_empty() {
            return Err("an agreement hands over at least one township".into());
        }
        if self.townships.len() > AGREEMENT_TOWNSHIPS_MAX {
            return Err(format!(
                "an agreement lists at most {AGREEMENT_TOWNSHIPS_MAX} townships"
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for term in &mut self.townships {
            term.township = parse_township(&term.township)?;
            if !seen.insert(term.township.clone()) {
                return Err(format!("township {} is listed twice", term.township));
            }
        }
        let mut modes_with_fees = std::collections::HashSet::new();
        for fees in &self.fees {
            if !modes_with_fees.insert(fees.mode) {
                return Err(format!(
                    "fees for mode {} are given twice",
                    fees.mode.code()
                ));
            }
            let n = fees.brackets.len();
            if n == 0 || n > BRACKETS_MAX {
                return Err(format!(
                    "mode {} needs 1 to {BRACKETS_MAX} weight brackets",
                    fees.mode.code()
                ));
            }
            let mut previous: Option<u32> = None;
            for (idx, bracket) in fees.brackets.iter().enumerate() {
                if !(0..=FEE_FEN_MAX).contains(&bracket.fen.0) {
                    return Err(format!(
                        "fee {} fen is outside 0..={FEE_FEN_MAX}",
                        bracket.fen.0
                    ));
                }
                match (bracket.up_to_grams, idx + 1 == n) {
                    (None, true) => {}
                    (None, false) => {
                        return Err(format!(
                            "mode {}: only the last bracket may be open-ended",
                            fees.mode.code()
                        ));
                    }
                    (Some(_), true) => {
                        return Err(format!(
                            "mode {}: the last bracket must be open-ended (no up_to_grams)",
                            fees.mode.code()
                        ));
                    }
                    (Some(up_to), false) => {
                        if up_to == 0 || up_to > WEIGHT_GRAMS_MAX {
                            return Err(format!(
                                "up_to_grams {up_to} is outside 1..={WEIGHT_GRAMS_MAX}"
                            ));
                        }
                        if previous.is_some_and(|p| up_to <= p) {
                            return Err(format!(
                                "mode {}: brackets must rise in weight",
                                fees.mode.code()
                            ));
                        }
                        previous = Some(up_to);
                    }
                }
            }
        }
        for term in &self.townships {
            if !modes_with_fees.contains(&term.mode) {
                return Err(format!(
                    "township {} uses mode {} but the agreement has no fees for it",
                    term.township,
                    term.mode.code()
                ));
            }
        }
        Ok(self)
    }

    pub fn mode_for(&self, township: &str) -> Option<Mode> {
        self.townships
            .iter()
            .find(|term| term.township == township)
            .map(|term| term.mode)
    }

    /// The fee for one parcel: its bracket index and amount. A parcel
    /// without a weight falls into the lowest bracket: most county parcels
    /// are light, and charging the carrier the lowest rate for what it did
    /// not weigh keeps a missing weight from ever costing it more.
    pub fn fee(&self, mode: Mode, weight_grams: Option<u32>) -> Option<(usize, Fen)> {
        let fees = self.fees.iter().find(|fees| fees.mode == mode)?;
        let idx = match weight_grams {
            None => 0,
            Some(weight) => fees
                .brackets
                .iter()
                .position(|b| b.up_to_grams.is_none_or(|up_to| weight <= up_to))?,
        };
        Some((idx, fees.brackets[idx].fen))
    }
}

/// Where the county's configuration can send a parcel.
#[derive(Debug, Clone, Default)]
pub struct CountyConfig {
    pub routes: Vec<RouteCover>,
    pub contractors: Vec<ContractorCover>,
    pub stations: Vec<StationCover>,
}

/// A joint delivery route and the townships it serves.
#[derive(Debug, Clone)]
pub struct RouteCover {
    pub id: i64,
    pub townships: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ContractorCover {
    pub id: i64,
    pub township: String,
}

/// A station and the division it stands in (a 12-digit village or a
/// 9-digit township code).
#[derive(Debug, Clone)]
pub struct StationCover {
    pub id: i64,
    pub division_code: Option<String>,
}

/// The divisions an address resolved to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    pub township: Option<String>,
    pub village: Option<String>,
    /// The parser found several equally good divisions.
    pub ambiguous: bool,
}

/// Where a parcel goes from the centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A joint route, to a station on it.
    Route {
        route_id: i64,
        station_id: i64,
    },
    Contractor {
        contractor_id: i64,
    },
    /// A village station; `route_id` carries the bag there when a route
    /// covers the township.
    Station {
        station_id: i64,
        route_id: Option<i64>,
    },
}

impl Target {
    /// The key of a target's open bag on a day: one open bag per target
    /// and day, so the next day starts fresh bags.
    pub fn bag_key_on(self, day: NaiveDate) -> String {
        format!("{}:{}", day.format("%Y-%m-%d"), self.bag_key())
    }

    /// One open bag per target.
    pub fn bag_key(self) -> String {
        match self {
            Target::Route {
                route_id,
                station_id,
            } => format!("route:{route_id}:station:{station_id}"),
            Target::Contractor { contractor_id } => format!("contractor:{contractor_id}"),
            Target::Station {
                station_id,
                route_id,
            } => match route_id {
                Some(route_id) => format!("station:{station_id}:route:{route_id}"),
                None => format!("station:{station_id}"),
            },
        }
    }

    pub fn station_id(self) -> Option<i64> {
        match self {
            Target::Route { station_id, .. } | Target::Station { station_id, .. } => {
                Some(station_id)
            }
            Target::Contractor { .. } => None,
        }
    }

    pub fn route_id(self) -> Option<i64> {
        match self {
            Target::Route { route_id, .. } => Some(route_id),
            Target::Station { route_id, .. } => route_id,
            Target::Contractor { .. } => None,
        }
    }

    pub fn contractor_id(self) -> Option<i64> {
        match self {
            Target::Contractor { contractor_id } => Some(contractor_id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub township: String,
    pub village: Option<String>,
    pub mode: Mode,
    pub target: Target,
}

/// Why a parcel needs a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unresolved {
    NoAddress,
    Ambiguous,
    NoTownship,
    NoAgreement,
    TownshipNotHandedOver,
    NoRoute,
    NoContractor,
    NoStation,
}

impl Unresolved {
    pub fn code(self) -> &'static str {
        match self {
            Unresolved::NoAddress => "no_address",
            Unresolved::Ambiguous => "ambiguous",
            Unresolved::NoTownship => "no_township",
            Unresolved::NoAgreement => "no_agreement",
            Unresolved::TownshipNotHandedOver => "township_not_handed_over",
            Unresolved::NoRoute => "no_route",
            Unresolved::NoContractor => "no_contractor",
            Unresolved::NoStation => "no_station",
        }
    }

    pub fn message_zh(self) -> &'static str {
        match self {
            Unresolved::NoAddress => "无地址",
            Unresolved::Ambiguous => "地址有歧义，无法确定乡镇",
            Unresolved::NoTownship => "地址未能解析到乡镇",
            Unresolved::NoAgreement => "该快递公司在此日期没有有效协议",
            Unresolved::TownshipNotHandedOver => "协议未包含该乡镇（快递公司自行派送）",
            Unresolved::NoRoute => "没有覆盖该乡镇的共配线路",
            Unresolved::NoContractor => "该乡镇没有承包人",
            Unresolved::NoStation => "该村/乡镇没有驿站",
        }
    }
}

/// The route decision: destination division → township → the carrier's
/// mode for it → a route, a contractor or a station. Never a default: any
/// missing link is an [`Unresolved`] reason for the manual queue.
pub fn decide(
    destination: &Destination,
    terms: Option<&Terms>,
    config: &CountyConfig,
) -> Result<Decision, Unresolved> {
    if destination.ambiguous {
        return Err(Unresolved::Ambiguous);
    }
    let township = destination
        .township
        .clone()
        .or_else(|| {
            destination
                .village
                .as_ref()
                .and_then(|v| v.get(..9))
                .map(String::from)
        })
        .ok_or(Unresolved::NoTownship)?;
    let terms = terms.ok_or(Unresolved::NoAgreement)?;
    let mode = terms
        .mode_for(&township)
        .ok_or(Unresolved::TownshipNotHandedOver)?;
    let route = config
        .routes
        .iter()
        .find(|route| route.townships.contains(&township))
        .map(|route| route.id);
    let station = || station_for(&township, destination.village.as_deref(), config);
    let target = match mode {
        Mode::Joint => Target::Route {
            route_id: route.ok_or(Unresolved::NoRoute)?,
            station_id: station().ok_or(Unresolved::NoStation)?,
        },
        Mode::Contractor => Target::Contractor {
            contractor_id: config
                .contractors
                .iter()
                .find(|c| c.township == township)
                .map(|c| c.id)
                .ok_or(Unresolved::NoContractor)?,
        },
        Mode::Station => Target::Station {
            station_id: station().ok_or(Unresolved::NoStation)?,
            route_id: route,
        },
    };
    Ok(Decision {
        township,
        village: destination.village.clone(),
        mode,
        target,
    })
}

/// The village's own station, else the first station standing in the
/// township (a township-seat station serves villages without one).
fn station_for(township: &str, village: Option<&str>, config: &CountyConfig) -> Option<i64> {
    fn code_of<'a>(station: &&'a StationCover) -> &'a str {
        station.division_code.as_deref().unwrap_or("")
    }
    if let Some(village) = village
        && let Some(station) = config.stations.iter().find(|s| code_of(s) == village)
    {
        return Some(station.id);
    }
    config
        .stations
        .iter()
        .find(|s| code_of(s).starts_with(township))
        .map(|s| s.id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_highest_version_whose_period_contains_the_day_applies() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 6, d).unwrap();
        let versions = [
            (1, Period::new(day(1), None).unwrap()),
            (2, Period::new(day(10), Some(day(20))).unwrap()),
            (3, Period::new(day(15), Some(day(16))).unwrap()),
        ];
        let pick = |d| Period::effective(versions, day(d), |v| *v).map(|v| v.0);
        assert_eq!(pick(5), Some(1));
        assert_eq!(pick(10), Some(2));
        assert_eq!(pick(15), Some(3));
        assert_eq!(pick(17), Some(2));
        assert_eq!(pick(21), Some(1));
        let later = [(1, Period::new(day(10), None).unwrap())];
        assert_eq!(Period::effective(later, day(9), |v| *v), None);
    }

    use super::*;

    fn terms() -> Terms {
        Terms {
            townships: vec![
                TownshipTerm {
                    township: "510182103".into(),
                    mode: Mode::Joint,
                },
                TownshipTerm {
                    township: "510182101".into(),
                    mode: Mode::Contractor,
                },
                TownshipTerm {
                    township: "510182104".into(),
                    mode: Mode::Station,
                },
            ],
            fees: Mode::ALL
                .iter()
                .map(|mode| ModeFees {
                    mode: *mode,
                    brackets: vec![
                        Bracket {
                            up_to_grams: Some(1000),
                            fen: Fen(50),
                        },
                        Bracket {
                            up_to_grams: Some(5000),
                            fen: Fen(80),
                        },
                        Bracket {
                            up_to_grams: None,
                            fen: Fen(150),
                        },
                    ],
                })
                .collect(),
        }
    }

    fn config() -> CountyConfig {
        CountyConfig {
            routes: vec![RouteCover {
                id: 7,
                townships: vec!["510182103".into(), "510182104".into()],
            }],
            contractors: vec![ContractorCover {
                id: 3,
                township: "510182101".into(),
            }],
            stations: vec![
                StationCover {
                    id: 11,
                    division_code: Some("510182103237".into()),
                },
                StationCover {
                    id: 12,
                    division_code: Some("510182103239".into()),
                },
                StationCover {
                    id: 21,
                    division_code: Some("510182104213".into()),
                },
            ],
        }
    }

    fn to(township: &str, village: Option<&str>) -> Destination {
        Destination {
            township: Some(township.into()),
            village: village.map(String::from),
            ambiguous: false,
        }
    }

    #[test]
    fn each_mode_has_its_target() {
        let terms = terms().validated().unwrap();
        let joint = decide(
            &to("510182103", Some("510182103239")),
            Some(&terms),
            &config(),
        )
        .unwrap();
        assert_eq!(joint.mode, Mode::Joint);
        assert_eq!(
            joint.target,
            Target::Route {
                route_id: 7,
                station_id: 12
            }
        );
        let contractor = decide(&to("510182101", None), Some(&terms), &config()).unwrap();
        assert_eq!(contractor.target, Target::Contractor { contractor_id: 3 });
        let station = decide(
            &to("510182104", Some("510182104215")),
            Some(&terms),
            &config(),
        )
        .unwrap();
        // No station in that village: the township's first station serves it.
        assert_eq!(
            station.target,
            Target::Station {
                station_id: 21,
                route_id: Some(7)
            }
        );
    }

    #[test]
    fn every_missing_link_is_a_reason_never_a_default() {
        let terms = terms().validated().unwrap();
        let mut ambiguous = to("510182103", None);
        ambiguous.ambiguous = true;
        assert_eq!(
            decide(&ambiguous, Some(&terms), &config()),
            Err(Unresolved::Ambiguous)
        );
        assert_eq!(
            decide(&Destination::default(), Some(&terms), &config()),
            Err(Unresolved::NoTownship)
        );
        assert_eq!(
            decide(&to("510182103", None), None, &config()),
            Err(Unresolved::NoAgreement)
        );
        assert_eq!(
            decide(&to("510182107", None), Some(&terms), &config()),
            Err(Unresolved::TownshipNotHandedOver)
        );
        let mut bare = config();
        bare.routes.clear();
        bare.contractors.clear();
        assert_eq!(
            decide(&to("510182103", None), Some(&terms), &bare),
            Err(Unresolved::NoRoute)
        );
        assert_eq!(
            decide(&to("510182101", None), Some(&terms), &bare),
            Err(Unresolved::NoContractor)
        );
        bare.stations.clear();
        assert_eq!(
            decide(&to("510182104", None), Some(&terms), &bare),
            Err(Unresolved::NoStation)
        );
    }

    #[test]
    fn a_village_alone_gives_its_township() {
        let terms = terms().validated().unwrap();
        let destination = Destination {
            township: None,
            village: Some("510182103237".into()),
            ambiguous: false,
        };
        let decision = decide(&destination, Some(&terms), &config()).unwrap();
        assert_eq!(decision.township, "510182103");
        assert_eq!(decision.target.station_id(), Some(11));
    }

    #[test]
    fn fees_fall_into_the_right_bracket() {
        let terms = terms().validated().unwrap();
        assert_eq!(terms.fee(Mode::Joint, None), Some((0, Fen(50))));
        assert_eq!(terms.fee(Mode::Joint, Some(1000)), Some((0, Fen(50))));
        assert_eq!(terms.fee(Mode::Joint, Some(1001)), Some((1, Fen(80))));
        assert_eq!(terms.fee(Mode::Joint, Some(5000)), Some((1, Fen(80))));
        assert_eq!(terms.fee(Mode::Joint, Some(5001)), Some((2, Fen(150))));
    }

    #[test]
    fn bad_terms_are_refused_with_reasons() {
        let mut twice = terms();
        twice.townships.push(twice.townships[0].clone());
        assert!(twice.validated().unwrap_err().contains("twice"));
        let mut closed = terms();
        closed.fees[0].brackets.pop();
        assert!(closed.validated().unwrap_err().contains("open-ended"));
        let mut falling = terms();
        falling.fees[1].brackets[1].up_to_grams = Some(500);
        assert!(falling.validated().unwrap_err().contains("rise"));
        let mut no_fees = terms();
        no_fees.fees.retain(|f| f.mode != Mode::Station);
        assert!(no_fees.validated().unwrap_err().contains("no fees"));
        let mut bad_code = terms();
        bad_code.townships[0].township = "5101".into();
        assert!(bad_code.validated().unwrap_err().contains("9 digits"));
    }

    #[test]
    fn delivered_events_differ_by_mode() {
        assert!(Mode::Joint.counts_as_delivered("picked_up"));
        assert!(!Mode::Joint.counts_as_delivered("stored"));
        assert!(Mode::Contractor.counts_as_delivered("dispatched"));
        assert!(Mode::Station.counts_as_delivered("stored"));
        assert!(Mode::Station.counts_as_delivered("awaiting_consent"));
        assert!(!Mode::Station.counts_as_delivered("picked_up"));
    }

    #[test]
    fn periods_are_inclusive() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let period = Period::new(day(1), Some(day(30))).unwrap();
        assert!(period.contains(day(1)) && period.contains(day(30)));
        assert!(!period.contains(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()));
        assert!(Period::new(day(2), Some(day(1))).is_err());
        assert!(Period::new(day(2), None).unwrap().contains(day(29)));
    }
}

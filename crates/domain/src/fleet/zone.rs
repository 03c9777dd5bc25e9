//! Geofences: the operating area, no-go zones, school and market zones with
//! lower speed limits in their time windows, the station approach and the
//! depot. Which zones are in force at an instant, and the speed limit that
//! applies at a position then.

use super::geo::{LonLat, Polygon};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Most zones in one county's set.
pub const ZONES_MAX: usize = 2_000;
/// Most time windows on one zone.
pub const ZONE_WINDOWS_MAX: usize = 16;
/// Lowest and highest speed limits a zone or vehicle may set, km/h.
pub const SPEED_LIMIT_KMH_MIN: u32 = 3;
pub const SPEED_LIMIT_KMH_MAX: u32 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// Where a vehicle cleared for it may drive; outside every one of its
    /// operating areas it has left its area.
    OperatingArea,
    /// Never to be entered (a construction site, a closed road), or only
    /// outside its time windows when it has some.
    NoGo,
    /// A lower limit while children come and go (its windows).
    School,
    /// A lower limit on market days and hours (its windows).
    Market,
    /// The last stretch before a station: a lower limit, and a vehicle may stand.
    StationApproach,
    /// Where a vehicle starts, charges and may stand.
    Depot,
}

impl ZoneKind {
    pub const ALL: [ZoneKind; 6] = [
        ZoneKind::OperatingArea,
        ZoneKind::NoGo,
        ZoneKind::School,
        ZoneKind::Market,
        ZoneKind::StationApproach,
        ZoneKind::Depot,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ZoneKind::OperatingArea => "operating_area",
            ZoneKind::NoGo => "no_go",
            ZoneKind::School => "school",
            ZoneKind::Market => "market",
            ZoneKind::StationApproach => "station_approach",
            ZoneKind::Depot => "depot",
        }
    }

    pub fn parse(code: &str) -> Option<ZoneKind> {
        ZoneKind::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// A vehicle may stand here without that being an incident.
    pub fn allows_standing(self) -> bool {
        matches!(self, ZoneKind::StationApproach | ZoneKind::Depot)
    }

    /// Whether time windows mean anything for this kind: the lower limit of
    /// a school or market, a no-go closure. An operating area, a depot and
    /// a station approach are always in force.
    pub fn takes_windows(self) -> bool {
        matches!(self, ZoneKind::NoGo | ZoneKind::School | ZoneKind::Market)
    }
}

/// A weekly time window in Asia/Shanghai local time: the weekdays it holds
/// on (bit 0 Monday … bit 6 Sunday) and minutes after midnight, start
/// included, end excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub weekdays: u8,
    pub start_minute: u16,
    pub end_minute: u16,
}

impl TimeWindow {
    pub const EVERY_DAY: u8 = 0b111_1111;
    pub const WEEKDAYS: u8 = 0b001_1111;

    pub fn is_valid(&self) -> bool {
        self.weekdays != 0
            && self.weekdays & !Self::EVERY_DAY == 0
            && self.start_minute < self.end_minute
            && self.end_minute <= 24 * 60
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&crate::shanghai());
        let weekday_bit = 1u8 << local.weekday().num_days_from_monday();
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.weekdays & weekday_bit != 0 && minute >= self.start_minute && minute < self.end_minute
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZoneError {
    #[error("a zone's name must be 1 to {max} characters")]
    Name { max: usize },
    #[error("a speed limit must be {SPEED_LIMIT_KMH_MIN} to {SPEED_LIMIT_KMH_MAX} km/h")]
    SpeedLimit,
    #[error("a time window needs weekdays and a start before its end within the day")]
    Window,
    #[error(
        "at most {ZONE_WINDOWS_MAX} time windows; only no-go, school and market zones take them"
    )]
    Windows,
    #[error("a station approach names its station")]
    Station,
}

/// One geofence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub id: i64,
    pub name: String,
    pub kind: ZoneKind,
    pub area: Polygon,
    /// The limit inside, while in force; none: the vehicle's own.
    pub speed_limit_kmh: Option<u32>,
    /// When the zone is in force; empty: always.
    pub windows: Vec<TimeWindow>,
    /// The station a station approach leads to.
    pub station_id: Option<i64>,
}

impl Zone {
    /// Checks what a zone's fields must satisfy together.
    pub fn validate(&self) -> Result<(), ZoneError> {
        let n_chars = self.name.trim().chars().count();
        if n_chars == 0 || n_chars > crate::limits::NAME_CHARS_MAX {
            return Err(ZoneError::Name {
                max: crate::limits::NAME_CHARS_MAX,
            });
        }
        if self
            .speed_limit_kmh
            .is_some_and(|limit| !(SPEED_LIMIT_KMH_MIN..=SPEED_LIMIT_KMH_MAX).contains(&limit))
        {
            return Err(ZoneError::SpeedLimit);
        }
        if self.windows.len() > ZONE_WINDOWS_MAX
            || (!self.windows.is_empty() && !self.kind.takes_windows())
        {
            return Err(ZoneError::Windows);
        }
        if !self.windows.iter().all(TimeWindow::is_valid) {
            return Err(ZoneError::Window);
        }
        if (self.kind == ZoneKind::StationApproach) != self.station_id.is_some() {
            return Err(ZoneError::Station);
        }
        Ok(())
    }

    pub fn in_force_at(&self, at: DateTime<Utc>) -> bool {
        self.windows.is_empty() || self.windows.iter().any(|window| window.contains(at))
    }

    /// The zone's limit at this instant, if it is in force and sets one.
    pub fn limit_at(&self, at: DateTime<Utc>) -> Option<u32> {
        self.speed_limit_kmh.filter(|_| self.in_force_at(at))
    }
}

/// The limit that applies and the zone that sets it (none: the vehicle's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SpeedLimit {
    pub limit_kmh: u32,
    pub zone_id: Option<i64>,
}

/// A county's zones, as the rule evaluator reads them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Geofences {
    pub zones: Vec<Zone>,
}

impl Geofences {
    pub fn new(zones: Vec<Zone>) -> Geofences {
        Geofences { zones }
    }

    /// Zones in force at `at` that hold the position.
    pub fn at(&self, position: LonLat, at: DateTime<Utc>) -> impl Iterator<Item = &Zone> {
        self.zones
            .iter()
            .filter(move |zone| zone.area.contains(position) && zone.in_force_at(at))
    }

    /// The lowest limit in force at the position: the vehicle's own, or a
    /// lower one of a zone holding it then.
    pub fn speed_limit(
        &self,
        vehicle_limit_kmh: u32,
        position: LonLat,
        at: DateTime<Utc>,
    ) -> SpeedLimit {
        let mut limit = SpeedLimit {
            limit_kmh: vehicle_limit_kmh,
            zone_id: None,
        };
        for zone in self.at(position, at) {
            if let Some(zone_limit) = zone.limit_at(at)
                && zone_limit < limit.limit_kmh
            {
                limit = SpeedLimit {
                    limit_kmh: zone_limit,
                    zone_id: Some(zone.id),
                };
            }
        }
        limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn square(id: i64, kind: ZoneKind, limit: Option<u32>, windows: Vec<TimeWindow>) -> Zone {
        Zone {
            id,
            name: format!("zone {id}"),
            kind,
            area: Polygon::try_from(vec![
                [119.0, 29.0],
                [119.1, 29.0],
                [119.1, 29.1],
                [119.0, 29.1],
            ])
            .unwrap(),
            speed_limit_kmh: limit,
            windows,
            station_id: (kind == ZoneKind::StationApproach).then_some(1),
        }
    }

    /// 2026-12-07 is a Monday; `minute` after Shanghai midnight.
    fn monday_plus(days: i64, minute: i64) -> DateTime<Utc> {
        crate::day_start(chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap())
            + chrono::Duration::days(days)
            + chrono::Duration::minutes(minute)
    }

    #[test]
    fn zones_are_checked() {
        let mut zone = square(1, ZoneKind::School, Some(20), vec![]);
        assert_eq!(zone.validate(), Ok(()));
        zone.speed_limit_kmh = Some(200);
        assert_eq!(zone.validate(), Err(ZoneError::SpeedLimit));
        let mut depot = square(2, ZoneKind::Depot, None, vec![]);
        depot.windows.push(TimeWindow {
            weekdays: 1,
            start_minute: 0,
            end_minute: 60,
        });
        assert_eq!(depot.validate(), Err(ZoneError::Windows));
        let mut school = square(3, ZoneKind::School, Some(20), vec![]);
        school.windows.push(TimeWindow {
            weekdays: 1,
            start_minute: 60,
            end_minute: 60,
        });
        assert_eq!(school.validate(), Err(ZoneError::Window));
        let mut approach = square(4, ZoneKind::StationApproach, Some(10), vec![]);
        approach.station_id = None;
        assert_eq!(approach.validate(), Err(ZoneError::Station));
        assert_eq!(ZoneKind::parse("no_go"), Some(ZoneKind::NoGo));
    }

    #[test]
    fn the_lowest_limit_in_force_applies() {
        let school = square(
            7,
            ZoneKind::School,
            Some(20),
            vec![TimeWindow {
                weekdays: TimeWindow::WEEKDAYS,
                start_minute: 7 * 60,
                end_minute: 8 * 60 + 30,
            }],
        );
        let approach = square(8, ZoneKind::StationApproach, Some(10), vec![]);
        let inside = LonLat::new(119.05, 29.05);
        let outside = LonLat::new(119.5, 29.05);
        let fences = Geofences::new(vec![school.clone()]);
        let morning = monday_plus(0, 7 * 60 + 30);
        assert_eq!(
            fences.speed_limit(40, inside, morning),
            SpeedLimit {
                limit_kmh: 20,
                zone_id: Some(7)
            }
        );
        assert_eq!(fences.speed_limit(40, outside, morning).limit_kmh, 40);
        assert_eq!(
            fences
                .speed_limit(40, inside, monday_plus(0, 9 * 60))
                .limit_kmh,
            40
        );
        // Saturday morning: no school.
        assert_eq!(
            fences
                .speed_limit(40, inside, monday_plus(5, 7 * 60 + 30))
                .limit_kmh,
            40
        );
        // A vehicle slower than the zone keeps its own limit.
        assert_eq!(
            fences.speed_limit(15, inside, morning),
            SpeedLimit {
                limit_kmh: 15,
                zone_id: None
            }
        );
        let both = Geofences::new(vec![school, approach]);
        assert_eq!(both.speed_limit(40, inside, morning).zone_id, Some(8));
    }

    proptest! {
        /// A zone's limit applies exactly on its weekdays, from its start
        /// minute (included) to its end minute (excluded), Shanghai time.
        #[test]
        fn zone_limits_hold_at_their_times_and_only_then(
            weekdays in 1u8..128,
            start in 0u16..1439, length in 1u16..1440,
            day in 0i64..28, minute in 0i64..1440,
            vehicle_limit in 21u32..120,
        ) {
            let window = TimeWindow { weekdays, start_minute: start, end_minute: (start + length).min(1440) };
            let zone = square(1, ZoneKind::Market, Some(20), vec![window]);
            prop_assert_eq!(zone.validate(), Ok(()));
            let at = monday_plus(day, minute);
            let weekday = (day % 7) as u8;
            let expected_in_force = weekdays & (1 << weekday) != 0
                && minute >= i64::from(window.start_minute)
                && minute < i64::from(window.end_minute);
            let fences = Geofences::new(vec![zone]);
            let limit = fences.speed_limit(vehicle_limit, LonLat::new(119.05, 29.05), at);
            prop_assert_eq!(limit.limit_kmh, if expected_in_force { 20 } else { vehicle_limit });
            prop_assert_eq!(limit.zone_id.is_some(), expected_in_force);
            // Outside the zone its windows never matter.
            prop_assert_eq!(fences.speed_limit(vehicle_limit, LonLat::new(118.0, 29.05), at).limit_kmh, vehicle_limit);
        }
    }
}

//! The safe-driving rules: fed every telemetry message of one vehicle (and a
//! tick for the silence between them), the evaluator raises **one alert per
//! incident** with its evidence and the automatic command the rule names.
//!
//! An incident opens when its condition first holds and closes once the
//! condition has not held for `clear_after_ms` (a link loss closes when a
//! message arrives), so a vehicle hovering at a limit, or a message the
//! broker delivers twice, raises nothing new. Messages not newer than the
//! last one are ignored.

use super::geo::{LonLat, distance_m};
use super::zone::{Geofences, ZoneKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Most fault codes in one message, and the longest code.
pub const FAULTS_MAX: usize = 16;
pub const FAULT_CHARS_MAX: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleKind {
    /// Driven by a person; alerts go to the dispatcher, nothing is commanded.
    Van,
    /// Driven by itself under the safe-driving system and remote take-over.
    Unmanned,
}

impl VehicleKind {
    pub fn code(self) -> &'static str {
        match self {
            VehicleKind::Van => "van",
            VehicleKind::Unmanned => "unmanned",
        }
    }

    pub fn parse(code: &str) -> Option<VehicleKind> {
        [VehicleKind::Van, VehicleKind::Unmanned]
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// What the rules need to know about a vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleProfile {
    pub kind: VehicleKind,
    /// Its own limit, km/h; zones may only lower it.
    pub speed_limit_kmh: u32,
    pub battery_wh: u32,
    pub consumption_wh_per_km: u32,
    /// Operating areas it is cleared for; empty: every operating area.
    pub operating_areas: Vec<i64>,
}

/// One telemetry message, as the rules read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    pub at_ms: i64,
    pub position: LonLat,
    pub speed_kmh: f64,
    pub battery_pct: f64,
    #[serde(default)]
    pub faults: Vec<String>,
    #[serde(default)]
    pub emergency_stop: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Speeding,
    LeftOperatingArea,
    EnteredNoGo,
    StoppedOutOfPlace,
    LinkLost,
    BatteryInsufficient,
    Fault,
    EmergencyStop,
}

impl RuleKind {
    pub const ALL: [RuleKind; 8] = [
        RuleKind::Speeding,
        RuleKind::LeftOperatingArea,
        RuleKind::EnteredNoGo,
        RuleKind::StoppedOutOfPlace,
        RuleKind::LinkLost,
        RuleKind::BatteryInsufficient,
        RuleKind::Fault,
        RuleKind::EmergencyStop,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RuleKind::Speeding => "speeding",
            RuleKind::LeftOperatingArea => "left_operating_area",
            RuleKind::EnteredNoGo => "entered_no_go",
            RuleKind::StoppedOutOfPlace => "stopped_out_of_place",
            RuleKind::LinkLost => "link_lost",
            RuleKind::BatteryInsufficient => "battery_insufficient",
            RuleKind::Fault => "fault",
            RuleKind::EmergencyStop => "emergency_stop",
        }
    }

    pub fn parse(code: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// A command the safe-driving system sends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AutoCommand {
    SlowDown { limit_kmh: u32 },
    PullOver,
    ReturnToDepot,
}

impl AutoCommand {
    pub fn op(self) -> &'static str {
        match self {
            AutoCommand::SlowDown { .. } => "slow_down",
            AutoCommand::PullOver => "pull_over",
            AutoCommand::ReturnToDepot => "return_to_depot",
        }
    }
}

/// A point of the recent track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrackPoint {
    pub at_ms: i64,
    pub lon: f64,
    pub lat: f64,
    pub speed_kmh: f64,
}

/// What the alert rests on, for the safety operator and the review.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// The recent track, oldest first, ending at the message that raised it.
    pub track: Vec<TrackPoint>,
    pub speed_kmh: f64,
    pub battery_pct: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_kmh: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needed_wh: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_wh: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_km: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silent_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// One incident's first alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub rule: RuleKind,
    /// What the incident is about beyond its rule: the zone's id, the fault
    /// code; empty when the rule has one incident at a time.
    pub subject: String,
    pub at_ms: i64,
    pub position: LonLat,
    pub evidence: Evidence,
    pub command: Option<AutoCommand>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleSettings {
    /// Above the limit by more than this is speeding (GPS speed jitters).
    pub speed_tolerance_kmh: f64,
    /// No message for this long: the link is lost.
    pub link_lost_after_ms: i64,
    /// Slower than this is standing.
    pub standing_below_kmh: f64,
    /// Standing this long outside a depot or station approach is an incident.
    pub stopped_after_ms: i64,
    /// An incident closes once its condition has not held for this long.
    pub clear_after_ms: i64,
    pub track_points_max: usize,
    /// Battery kept in reserve, percent of capacity.
    pub battery_reserve_pct: f64,
    /// Road distance over straight-line distance, as `app::dispatch` plans.
    pub detour_factor: f64,
    /// Within this of the next waypoint, it counts as reached.
    pub arrival_radius_m: f64,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            speed_tolerance_kmh: 3.0,
            link_lost_after_ms: 10_000,
            standing_below_kmh: 1.0,
            stopped_after_ms: 180_000,
            clear_after_ms: 15_000,
            track_points_max: 30,
            battery_reserve_pct: 10.0,
            detour_factor: 1.3,
            arrival_radius_m: 60.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct OpenIncident {
    last_held_ms: i64,
}

/// The rules' memory of one vehicle.
#[derive(Debug, Clone)]
pub struct Evaluator {
    profile: VehicleProfile,
    settings: RuleSettings,
    track: VecDeque<TrackPoint>,
    last: Option<Telemetry>,
    open: BTreeMap<(RuleKind, String), OpenIncident>,
    /// Waypoints still ahead: the mission's remaining stops, then the depot.
    route: Vec<LonLat>,
    standing_since_ms: Option<i64>,
    /// Told to pull over (or stopped by its own emergency stop): standing
    /// is expected until it moves again.
    held: bool,
    taken_over: bool,
    /// Expected to speak from this instant on, with the position to report
    /// if it stays silent (a mission under way when the server started, or
    /// one just started): the silence rule counts from here until the
    /// first message.
    expected: Option<(i64, LonLat)>,
}

impl Evaluator {
    pub fn new(profile: VehicleProfile, settings: RuleSettings) -> Evaluator {
        Evaluator {
            profile,
            settings,
            track: VecDeque::new(),
            last: None,
            open: BTreeMap::new(),
            route: Vec::new(),
            standing_since_ms: None,
            held: false,
            taken_over: false,
            expected: None,
        }
    }

    /// The vehicle should be speaking from `since_ms` (its mission is under
    /// way), last known at `position`: if no message comes, the silence
    /// rule raises `link_lost` as if its last message were at `since_ms`.
    /// A vehicle already heard from is unaffected.
    pub fn expect_from(&mut self, since_ms: i64, position: LonLat) {
        if self.last.is_none() {
            self.expected = Some((since_ms, position));
        }
    }

    pub fn profile(&self) -> &VehicleProfile {
        &self.profile
    }

    /// The waypoints ahead (remaining stops, then the depot); the battery
    /// rule estimates the energy the rest of the mission needs from them.
    pub fn set_route(&mut self, waypoints: Vec<LonLat>) {
        self.route = waypoints;
    }

    pub fn route(&self) -> &[LonLat] {
        &self.route
    }

    /// A safety operator drives: rules still raise alerts (the operator sees
    /// them) but command nothing, and standing is the operator's choice.
    pub fn set_taken_over(&mut self, taken_over: bool) {
        self.taken_over = taken_over;
    }

    /// The vehicle was told to stop or pull over: standing is expected.
    pub fn hold(&mut self) {
        self.held = true;
    }

    pub fn last(&self) -> Option<&Telemetry> {
        self.last.as_ref()
    }

    /// Incidents open now, as (rule, subject).
    pub fn open_incidents(&self) -> Vec<(RuleKind, String)> {
        self.open.keys().cloned().collect()
    }

    /// The silence rule: call it on a timer; raises `link_lost` once when
    /// the last message is older than the setting.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Alert> {
        let (since_ms, position, evidence) = match (&self.last, self.expected) {
            (Some(last), _) => (last.at_ms, last.position, self.evidence(last)),
            (None, Some((since_ms, position))) => (since_ms, position, Evidence::default()),
            (None, None) => return Vec::new(),
        };
        let silent_ms = now_ms - since_ms;
        if silent_ms < self.settings.link_lost_after_ms {
            return Vec::new();
        }
        let key = (RuleKind::LinkLost, String::new());
        if self.open.contains_key(&key) {
            return Vec::new();
        }
        self.open.insert(
            key,
            OpenIncident {
                last_held_ms: now_ms,
            },
        );
        let mut evidence = evidence;
        evidence.silent_ms = Some(silent_ms);
        vec![Alert {
            rule: RuleKind::LinkLost,
            subject: String::new(),
            at_ms: now_ms,
            position,
            evidence,
            command: None,
        }]
    }

    /// Runs every rule on one message.
    pub fn observe(&mut self, zones: &Geofences, message: &Telemetry) -> Vec<Alert> {
        if self
            .last
            .as_ref()
            .is_some_and(|last| message.at_ms <= last.at_ms)
        {
            return Vec::new();
        }
        // A message ends a silence, and closes what has not held for the
        // clearing time (whether or not messages came meanwhile).
        self.open.remove(&(RuleKind::LinkLost, String::new()));
        let clear_after_ms = self.settings.clear_after_ms;
        self.open
            .retain(|_, open| message.at_ms - open.last_held_ms < clear_after_ms);
        self.track.push_back(TrackPoint {
            at_ms: message.at_ms,
            lon: message.position.lon,
            lat: message.position.lat,
            speed_kmh: message.speed_kmh,
        });
        while self.track.len() > self.settings.track_points_max.max(1) {
            self.track.pop_front();
        }
        while self.route.first().is_some_and(|next| {
            distance_m(message.position, *next) <= self.settings.arrival_radius_m
        }) {
            self.route.remove(0);
        }
        let at = DateTime::<Utc>::from_timestamp_millis(message.at_ms).unwrap_or_default();
        let position = message.position;
        let here: Vec<_> = zones.at(position, at).collect();
        let mut holding: Vec<(RuleKind, String, Evidence, Option<AutoCommand>)> = Vec::new();

        // Speeding for the zone.
        let limit = zones.speed_limit(self.profile.speed_limit_kmh, position, at);
        if message.speed_kmh > f64::from(limit.limit_kmh) + self.settings.speed_tolerance_kmh {
            let mut evidence = self.evidence(message);
            evidence.limit_kmh = Some(limit.limit_kmh);
            evidence.zone_id = limit.zone_id;
            holding.push((
                RuleKind::Speeding,
                String::new(),
                evidence,
                Some(AutoCommand::SlowDown {
                    limit_kmh: limit.limit_kmh,
                }),
            ));
        }
        // Leaving the operating area.
        let areas: Vec<_> = zones
            .zones
            .iter()
            .filter(|zone| {
                zone.kind == ZoneKind::OperatingArea
                    && (self.profile.operating_areas.is_empty()
                        || self.profile.operating_areas.contains(&zone.id))
            })
            .collect();
        if !areas.is_empty() && !areas.iter().any(|zone| zone.area.contains(position)) {
            holding.push((
                RuleKind::LeftOperatingArea,
                String::new(),
                self.evidence(message),
                Some(AutoCommand::PullOver),
            ));
        }
        // Entering a no-go zone: an incident per zone.
        for zone in here.iter().filter(|zone| zone.kind == ZoneKind::NoGo) {
            let mut evidence = self.evidence(message);
            evidence.zone_id = Some(zone.id);
            holding.push((
                RuleKind::EnteredNoGo,
                zone.id.to_string(),
                evidence,
                Some(AutoCommand::PullOver),
            ));
        }
        // Standing where it should not.
        if message.speed_kmh < self.settings.standing_below_kmh {
            // Standing where it may (or told to) does not count towards
            // standing where it should not.
            let excused = self.held
                || self.taken_over
                || message.emergency_stop
                || here.iter().any(|zone| zone.kind.allows_standing());
            let since = if excused {
                self.standing_since_ms = None;
                message.at_ms
            } else {
                *self.standing_since_ms.get_or_insert(message.at_ms)
            };
            let stopped_ms = message.at_ms - since;
            if stopped_ms >= self.settings.stopped_after_ms {
                let mut evidence = self.evidence(message);
                evidence.stopped_ms = Some(stopped_ms);
                holding.push((RuleKind::StoppedOutOfPlace, String::new(), evidence, None));
            }
        } else {
            self.standing_since_ms = None;
            self.held = false;
        }
        // Battery for the rest of the mission.
        let remaining_m = self.remaining_m(position);
        let needed_wh = remaining_m / 1000.0 * f64::from(self.profile.consumption_wh_per_km);
        let battery_wh = f64::from(self.profile.battery_wh);
        let available_wh =
            (message.battery_pct.clamp(0.0, 100.0) - self.settings.battery_reserve_pct) / 100.0
                * battery_wh;
        if !self.route.is_empty() && needed_wh > available_wh {
            let mut evidence = self.evidence(message);
            evidence.needed_wh = Some(needed_wh.ceil() as u32);
            evidence.available_wh = Some(available_wh.max(0.0).floor() as u32);
            evidence.remaining_km = Some((remaining_m / 100.0).round() / 10.0);
            holding.push((
                RuleKind::BatteryInsufficient,
                String::new(),
                evidence,
                Some(AutoCommand::ReturnToDepot),
            ));
        }
        // Faults: an incident per fault code. A jammed compartment does not
        // stop the drive; anything else pulls over.
        for fault in &message.faults {
            let mut evidence = self.evidence(message);
            evidence.fault = Some(fault.clone());
            let command = (!fault.starts_with("compartment")).then_some(AutoCommand::PullOver);
            holding.push((RuleKind::Fault, fault.clone(), evidence, command));
        }
        if message.emergency_stop {
            self.held = true;
            holding.push((
                RuleKind::EmergencyStop,
                String::new(),
                self.evidence(message),
                None,
            ));
        }

        let mut alerts = Vec::new();
        for (rule, subject, evidence, command) in holding {
            let key = (rule, subject);
            if let Some(open) = self.open.get_mut(&key) {
                open.last_held_ms = message.at_ms;
                continue;
            }
            self.open.insert(
                key.clone(),
                OpenIncident {
                    last_held_ms: message.at_ms,
                },
            );
            let command =
                command.filter(|_| self.profile.kind == VehicleKind::Unmanned && !self.taken_over);
            if matches!(
                command,
                Some(AutoCommand::PullOver | AutoCommand::ReturnToDepot)
            ) {
                self.held = true;
            }
            alerts.push(Alert {
                rule: key.0,
                subject: key.1,
                at_ms: message.at_ms,
                position,
                evidence,
                command,
            });
        }
        self.last = Some(message.clone());
        alerts
    }

    /// Metres still to drive: to each waypoint ahead in turn, on the road
    /// (straight line times the detour factor).
    pub fn remaining_m(&self, from: LonLat) -> f64 {
        let mut here = from;
        let mut total = 0.0;
        for waypoint in &self.route {
            total += distance_m(here, *waypoint);
            here = *waypoint;
        }
        total * self.settings.detour_factor
    }

    fn evidence(&self, message: &Telemetry) -> Evidence {
        Evidence {
            track: self.track.iter().copied().collect(),
            speed_kmh: message.speed_kmh,
            battery_pct: message.battery_pct,
            ..Evidence::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::geo::Polygon;
    use crate::fleet::zone::{TimeWindow, Zone};
    use proptest::prelude::*;

    /// Monday 2026-12-07 10:00 Shanghai.
    const T0: i64 = 1_796_608_800_000;

    fn zone(id: i64, kind: ZoneKind, corners: [f64; 4], limit: Option<u32>) -> Zone {
        let [lon0, lat0, lon1, lat1] = corners;
        Zone {
            id,
            name: format!("zone {id}"),
            kind,
            area: Polygon::try_from(vec![[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1]])
                .unwrap(),
            speed_limit_kmh: limit,
            windows: Vec::new(),
            station_id: (kind == ZoneKind::StationApproach).then_some(1),
        }
    }

    /// An operating area from 119.0 to 119.2 east, 29.0 to 29.2 north; a
    /// school zone at 20 km/h, a no-go zone, a depot and a station approach.
    fn county() -> Geofences {
        let mut school = zone(
            3,
            ZoneKind::School,
            [119.05, 29.05, 119.06, 29.06],
            Some(20),
        );
        school.windows.push(TimeWindow {
            weekdays: TimeWindow::EVERY_DAY,
            start_minute: 0,
            end_minute: 24 * 60,
        });
        Geofences::new(vec![
            zone(1, ZoneKind::OperatingArea, [119.0, 29.0, 119.2, 29.2], None),
            zone(2, ZoneKind::NoGo, [119.1, 29.1, 119.11, 29.11], None),
            school,
            zone(4, ZoneKind::Depot, [119.0, 29.0, 119.01, 29.01], None),
            zone(
                5,
                ZoneKind::StationApproach,
                [119.15, 29.15, 119.16, 29.16],
                Some(10),
            ),
        ])
    }

    fn unmanned() -> VehicleProfile {
        VehicleProfile {
            kind: VehicleKind::Unmanned,
            speed_limit_kmh: 30,
            battery_wh: 10_000,
            consumption_wh_per_km: 100,
            operating_areas: vec![],
        }
    }

    fn at(seconds: i64, lon: f64, lat: f64, speed_kmh: f64) -> Telemetry {
        Telemetry {
            at_ms: T0 + seconds * 1000,
            position: LonLat::new(lon, lat),
            speed_kmh,
            battery_pct: 90.0,
            faults: vec![],
            emergency_stop: false,
        }
    }

    fn rules(alerts: &[Alert]) -> Vec<RuleKind> {
        alerts.iter().map(|alert| alert.rule).collect()
    }

    #[test]
    fn each_rule_raises_its_alert_with_evidence_and_command() {
        let zones = county();
        let mut rules_of = Evaluator::new(unmanned(), RuleSettings::default());
        assert!(
            rules_of
                .observe(&zones, &at(0, 119.03, 29.03, 25.0))
                .is_empty()
        );
        // 28 km/h in the 20 km/h school zone.
        let alerts = rules_of.observe(&zones, &at(1, 119.055, 29.055, 28.0));
        assert_eq!(rules(&alerts), [RuleKind::Speeding]);
        assert_eq!(alerts[0].evidence.limit_kmh, Some(20));
        assert_eq!(alerts[0].evidence.zone_id, Some(3));
        assert_eq!(alerts[0].evidence.track.len(), 2);
        assert_eq!(
            alerts[0].command,
            Some(AutoCommand::SlowDown { limit_kmh: 20 })
        );
        // Into the no-go zone.
        let alerts = rules_of.observe(&zones, &at(2, 119.105, 29.105, 10.0));
        assert_eq!(rules(&alerts), [RuleKind::EnteredNoGo]);
        assert_eq!(alerts[0].subject, "2");
        assert_eq!(alerts[0].command, Some(AutoCommand::PullOver));
        // Out of the operating area.
        let alerts = rules_of.observe(&zones, &at(3, 119.3, 29.1, 10.0));
        assert_eq!(rules(&alerts), [RuleKind::LeftOperatingArea]);
        // Silence: once.
        assert_eq!(rules(&rules_of.tick(T0 + 14_000)), [RuleKind::LinkLost]);
        assert!(rules_of.tick(T0 + 20_000).is_empty());
        // A fault and an emergency stop.
        let mut message = at(30, 119.03, 29.03, 0.0);
        message.faults = vec!["lidar".into(), "compartment_jam".into()];
        message.emergency_stop = true;
        let alerts = rules_of.observe(&zones, &message);
        assert_eq!(
            rules(&alerts),
            [RuleKind::Fault, RuleKind::Fault, RuleKind::EmergencyStop]
        );
        assert_eq!(alerts[0].command, Some(AutoCommand::PullOver));
        assert_eq!(alerts[1].command, None);
    }

    #[test]
    fn standing_counts_only_outside_depots_and_approaches_and_unless_told_to() {
        let zones = county();
        let mut rules_of = Evaluator::new(unmanned(), RuleSettings::default());
        // Four minutes at the station approach: fine.
        for second in 0..240 {
            assert!(
                rules_of
                    .observe(&zones, &at(second, 119.155, 29.155, 0.0))
                    .is_empty()
            );
        }
        // Four minutes on an open road: one alert after three.
        let mut raised = Vec::new();
        for second in 300..540 {
            raised.extend(rules_of.observe(&zones, &at(second, 119.03, 29.04, 0.0)));
        }
        assert_eq!(rules(&raised), [RuleKind::StoppedOutOfPlace]);
        assert_eq!(raised[0].at_ms, T0 + 480_000);
        // Told to pull over: standing is expected until it moves.
        let mut rules_of = Evaluator::new(unmanned(), RuleSettings::default());
        rules_of.hold();
        for second in 0..400 {
            assert!(
                rules_of
                    .observe(&zones, &at(second, 119.03, 29.04, 0.0))
                    .is_empty()
            );
        }
    }

    #[test]
    fn the_battery_rule_estimates_the_rest_of_the_route() {
        let zones = county();
        let profile = VehicleProfile {
            battery_wh: 2_000,
            consumption_wh_per_km: 100,
            ..unmanned()
        };
        let mut rules_of = Evaluator::new(profile, RuleSettings::default());
        // About 22 km as the crow flies to the station approach and back to
        // the depot, 29 km on the road: 2.9 kWh, with 1.6 kWh usable.
        rules_of.set_route(vec![
            LonLat::new(119.155, 29.155),
            LonLat::new(119.005, 29.005),
        ]);
        let mut message = at(0, 119.02, 29.02, 20.0);
        message.battery_pct = 90.0;
        let alerts = rules_of.observe(&zones, &message);
        assert_eq!(rules(&alerts), [RuleKind::BatteryInsufficient]);
        assert_eq!(alerts[0].command, Some(AutoCommand::ReturnToDepot));
        assert!(alerts[0].evidence.needed_wh.unwrap() > alerts[0].evidence.available_wh.unwrap());
        // Close to the depot with the stations behind it, the same charge is enough.
        let mut rules_of = Evaluator::new(rules_of.profile().clone(), RuleSettings::default());
        rules_of.set_route(vec![LonLat::new(119.005, 29.005)]);
        assert!(rules_of.observe(&zones, &message).is_empty());
    }

    #[test]
    fn a_taken_over_vehicle_is_commanded_nothing_and_a_van_never() {
        let zones = county();
        let mut rules_of = Evaluator::new(unmanned(), RuleSettings::default());
        rules_of.set_taken_over(true);
        let alerts = rules_of.observe(&zones, &at(0, 119.105, 29.105, 50.0));
        assert_eq!(rules(&alerts), [RuleKind::Speeding, RuleKind::EnteredNoGo]);
        assert!(alerts.iter().all(|alert| alert.command.is_none()));
        let van = VehicleProfile {
            kind: VehicleKind::Van,
            ..unmanned()
        };
        let mut rules_of = Evaluator::new(van, RuleSettings::default());
        let alerts = rules_of.observe(&zones, &at(0, 119.105, 29.105, 50.0));
        assert!(alerts.iter().all(|alert| alert.command.is_none()));
    }

    #[derive(Debug, Clone)]
    enum Step {
        /// A message at this many seconds after the previous one, speeding or not.
        Message { gap_s: i64, speeding: bool },
        /// The last message delivered again.
        Repeat,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1i64..40, any::<bool>())
                .prop_map(|(gap_s, speeding)| Step::Message { gap_s, speeding }),
            Just(Step::Repeat),
        ]
    }

    proptest! {
        /// However many messages repeat a condition (and however often the
        /// broker delivers one twice), an incident raises one alert: a new
        /// alert comes only after the condition was absent for the
        /// clearing time, and never while the link is merely silent.
        #[test]
        fn one_alert_per_incident_however_many_messages_repeat_it(
            steps in proptest::collection::vec(step(), 1..200),
        ) {
            let zones = county();
            let settings = RuleSettings::default();
            let mut rules_of = Evaluator::new(unmanned(), settings);
            let mut now_s = 0;
            let mut last: Option<Telemetry> = None;
            // The model: incidents are runs of speeding messages whose gaps
            // without speeding stay under the clearing time.
            let mut expected = 0;
            let mut last_speeding_s: Option<i64> = None;
            let mut raised = 0;
            for step in steps {
                let message = match step {
                    Step::Repeat => match &last {
                        Some(message) => message.clone(),
                        None => continue,
                    },
                    Step::Message { gap_s, speeding } => {
                        now_s += gap_s;
                        let speed = if speeding { 45.0 } else { 20.0 };
                        let message = at(now_s, 119.03, 29.03, speed);
                        if speeding {
                            if last_speeding_s.is_none_or(|s| now_s - s >= settings.clear_after_ms / 1000) {
                                expected += 1;
                            }
                            last_speeding_s = Some(now_s);
                        } else if last_speeding_s.is_some_and(|s| now_s - s >= settings.clear_after_ms / 1000) {
                            last_speeding_s = None;
                        }
                        message
                    }
                };
                let alerts = rules_of.observe(&zones, &message);
                raised += alerts.iter().filter(|alert| alert.rule == RuleKind::Speeding).count();
                prop_assert!(alerts.iter().all(|alert| alert.rule == RuleKind::Speeding));
                last = Some(message);
            }
            prop_assert_eq!(raised, expected);
        }

        /// A silence raises one `link_lost` however often the timer ticks,
        /// and a message ends it.
        #[test]
        fn a_silence_is_one_incident_however_often_the_timer_ticks(
            ticks in proptest::collection::vec(0i64..120_000, 1..50),
        ) {
            let zones = county();
            let mut rules_of = Evaluator::new(unmanned(), RuleSettings::default());
            rules_of.observe(&zones, &at(0, 119.03, 29.03, 20.0));
            let mut ticks = ticks;
            ticks.sort_unstable();
            let raised: usize = ticks.iter().map(|tick| rules_of.tick(T0 + tick).len()).sum();
            let expected = usize::from(ticks.iter().any(|tick| *tick >= 10_000));
            prop_assert_eq!(raised, expected);
            rules_of.observe(&zones, &at(200, 119.03, 29.03, 20.0));
            prop_assert_eq!(rules_of.tick(T0 + 215_000).len(), 1);
        }
    }

    #[test]
    fn a_vehicle_expected_to_speak_that_stays_silent_loses_its_link_once() {
        let mut rules = Evaluator::new(unmanned(), RuleSettings::default());
        assert!(rules.tick(T0 + 60_000).is_empty(), "nobody expects it");
        rules.expect_from(T0, LonLat::new(119.0, 29.0));
        assert!(rules.tick(T0 + 9_000).is_empty());
        let alerts = rules.tick(T0 + 10_000);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].rule, RuleKind::LinkLost);
        assert_eq!(alerts[0].evidence.silent_ms, Some(10_000));
        assert!(rules.tick(T0 + 20_000).is_empty(), "one incident");
    }
}

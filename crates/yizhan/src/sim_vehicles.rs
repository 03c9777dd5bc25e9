//! `yizhan simulate vehicles` (issue 20): a county's day of unmanned
//! delivery vehicles, end to end through the real parts. It builds a county
//! in a throwaway SQLite database (stations round a centre, each with its
//! approach zone, parcels waiting at the centre), plans the day with
//! `App::plan_dispatch`, turns the routes into missions, scans every parcel
//! aboard, and then drives: each vehicle is its own MQTT client publishing
//! telemetry at 1 Hz on `yizhan/v1/vehicles/{v}/telemetry`, the server's
//! bridge hands every message to the safe-driving rules
//! (`App::ingest_telemetry`, `App::fleet_tick` for silences), and the
//! vehicles obey the commands the server sends them on their `cmd` topics
//! (the start of a mission, the alerts' automatic commands, a hand-back),
//! each through the protocol's `CommandGate` (signature, id, not-after
//! time) and acknowledged on their `ack` topics. At a stop the
//! keeper opens the compartments and the parcels enter the station through
//! `App::hand_over_at_stop` (no scan); back at the depot what is still
//! aboard returns to the centre (`App::finish_mission`). A simulated safety
//! operator handles every incident: takes the vehicle over, acts, hands it
//! back, closes it with a cause.
//!
//! **Time.** Simulated time is a clock of its own (the app's `Clock` port),
//! set to 06:59 Shanghai on today's date while the county is built and to a
//! minute before the first departure when the day starts, then advanced one
//! second per step. A step publishes every vehicle's message and waits until the rules
//! have taken each one (the bridge's telemetry channel says so), then runs
//! the silence rule, so a simulated second lasts exactly as long as the
//! system needs for it: the run is as fast as the machine allows, and the
//! closing JSON says how much faster than wall time it was. Nothing waits
//! on a timer.
//!
//! **Faults** are injected at the middle of a leg, one kind per faulted
//! vehicle (vehicles take the kinds in turn; every kind-plus-one-th vehicle
//! drives clean): `speeding` (the speed controller ignores the limits until
//! told to slow down), `geofence_breach` (the vehicle strays off its road
//! into a no-go zone beside it), `link_loss` (20 s without a message),
//! `low_battery` (a cell fails: too little charge for the rest of the route;
//! the vehicle is sent home and brings its parcels back), `emergency_stop`
//! (pressed for 30 s), `compartment_jam` (at the next stop one compartment
//! does not open; its parcel goes back to the centre).

use anyhow::{Context, bail};
use app::App;
use app::dispatch::{DispatchRequest, Fleet};
use app::fleet::{Compartment, IncidentAct, LoadStatus, NewVehicle};
use app::manifest::ManifestRow;
use app::ports::{Clock, GeoPoint, NewStation, ParcelFilter};
use chrono::{DateTime, Utc};
use devices::vehicle::{
    CompartmentReport, CompartmentState, VehicleTelemetry, ack_topic, command_topic,
    telemetry_topic,
};
use devices::{CommandGate, Operation, Outcome};
use domain::fleet::{
    AutoCommand, Geofences, LonLat, Polygon, TimeWindow, VehicleKind, Zone, ZoneKind, distance_m,
};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Action, Carrier, CodeFormat, Principal, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use rumqttc::{Event, Packet};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{ConnectOptions, Db};

/// An unmanned vehicle's cruising speed and its own limit, km/h.
const CRUISE_KMH: f64 = 25.0;
const SPEED_LIMIT_KMH: u32 = 30;
/// How fast a speeding fault drives, km/h.
const SPEEDING_KMH: f64 = 42.0;
/// How fast the vehicle strays into the no-go zone, and how fast the safety
/// operator drives it back, km/h.
const STRAY_KMH: f64 = 15.0;
const RECOVER_KMH: f64 = 10.0;
const COMPARTMENTS: u32 = 10;
const BATTERY_WH: u32 = 10_000;
const CONSUMPTION_WH_PER_KM: u32 = 80;
/// Standing at a station while the compartments are emptied, ms.
const DWELL_MS: i64 = 120_000;
const STEP_MS: i64 = 1_000;
/// The safety operator takes over this long after the alert, ms.
const OPERATOR_AFTER_MS: i64 = 5_000;
const LINK_LOSS_MS: i64 = 20_000;
const EMERGENCY_STOP_MS: i64 = 30_000;
/// A message the broker never delivers: the run fails rather than hangs.
const MESSAGE_WAIT: Duration = Duration::from_secs(30);
/// What the battery rule assumes (`RuleSettings::default`).
const DETOUR_FACTOR: f64 = 1.3;
const BATTERY_RESERVE_PCT: f64 = 10.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Speeding,
    GeofenceBreach,
    LinkLoss,
    LowBattery,
    EmergencyStop,
    CompartmentJam,
}

impl FaultKind {
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Speeding,
        FaultKind::GeofenceBreach,
        FaultKind::LinkLoss,
        FaultKind::LowBattery,
        FaultKind::EmergencyStop,
        FaultKind::CompartmentJam,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FaultKind::Speeding => "speeding",
            FaultKind::GeofenceBreach => "geofence_breach",
            FaultKind::LinkLoss => "link_loss",
            FaultKind::LowBattery => "low_battery",
            FaultKind::EmergencyStop => "emergency_stop",
            FaultKind::CompartmentJam => "compartment_jam",
        }
    }

    /// Whether a stored incident (rule, subject) is the alert this fault
    /// must raise.
    fn raises(self, rule: &str, subject: &str) -> bool {
        match self {
            FaultKind::Speeding => rule == "speeding",
            FaultKind::GeofenceBreach => rule == "entered_no_go",
            FaultKind::LinkLoss => rule == "link_lost",
            FaultKind::LowBattery => rule == "battery_insufficient",
            FaultKind::EmergencyStop => rule == "emergency_stop",
            FaultKind::CompartmentJam => rule == "fault" && subject == "compartment_jam",
        }
    }
}

/// `all`, nothing (or `none`), or kinds separated by commas; `-`, `_` and
/// spaces are the same (`geofence breach`, `geofence-breach`).
pub fn parse_faults(list: &str) -> anyhow::Result<Vec<FaultKind>> {
    let list = list.trim();
    if list.is_empty() || list.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    if list.eq_ignore_ascii_case("all") {
        return Ok(FaultKind::ALL.to_vec());
    }
    let mut kinds = Vec::new();
    for word in list.split(',') {
        let code = word.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        let Some(kind) = FaultKind::ALL.into_iter().find(|k| k.code() == code) else {
            bail!(
                "unknown fault kind {word:?}: use all, or some of {}",
                FaultKind::ALL.map(FaultKind::code).join(", ")
            );
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

pub struct SimArgs {
    pub vehicles: u32,
    pub minutes: u32,
    pub faults: Vec<FaultKind>,
    pub seed: u64,
    pub mqtt: String,
    pub embedded_broker: bool,
}

/// The simulation's clock: moved by the simulator only.
struct SimClock(Mutex<DateTime<Utc>>);

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("sim clock")
    }
}

impl SimClock {
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("sim clock") = at;
    }
}

fn offset(from: LonLat, east_m: f64, north_m: f64) -> LonLat {
    let lat = from.lat + north_m / 111_320.0;
    let lon = from.lon + east_m / (111_320.0 * from.lat.to_radians().cos());
    LonLat::new(lon, lat)
}

fn square(centre: LonLat, half_m: f64) -> anyhow::Result<Polygon> {
    let corners = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
        .map(|(e, n)| offset(centre, e * half_m, n * half_m));
    Polygon::new(corners.to_vec()).map_err(|e| anyhow::anyhow!("zone polygon: {e:?}"))
}

/// The point `step_m` from `from` towards `to` (straight, on the plane of
/// the degrees: legs are a few kilometres).
fn towards(from: LonLat, to: LonLat, step_m: f64) -> (LonLat, bool) {
    let distance = distance_m(from, to);
    if distance <= step_m || distance < 0.01 {
        return (to, true);
    }
    let f = step_m / distance;
    (
        LonLat::new(
            from.lon + (to.lon - from.lon) * f,
            from.lat + (to.lat - from.lat) * f,
        ),
        false,
    )
}

fn bearing_deg(from: LonLat, to: LonLat) -> Option<f64> {
    let east = (to.lon - from.lon) * from.lat.to_radians().cos();
    let north = to.lat - from.lat;
    if east.abs() < 1e-12 && north.abs() < 1e-12 {
        return None;
    }
    let deg = east.atan2(north).to_degrees();
    Some((deg + 360.0) % 360.0)
}

struct Stop {
    id: i64,
    station_id: i64,
    at: LonLat,
    compartments: Vec<u32>,
}

struct Mission {
    id: i64,
    departure: DateTime<Utc>,
    stops: Vec<Stop>,
    /// The next stop; `stops.len()`: heading home.
    next: usize,
}

impl Mission {
    /// Where leg `leg` starts and ends (leg 0 leaves the depot, the last
    /// one returns to it).
    fn leg(&self, leg: usize, depot: LonLat) -> (LonLat, LonLat) {
        let from = if leg == 0 {
            depot
        } else {
            self.stops[leg - 1].at
        };
        let to = self.stops.get(leg).map_or(depot, |stop| stop.at);
        (from, to)
    }

    fn n_legs(&self) -> usize {
        self.stops.len() + 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    AtDepot,
    Driving,
    Dwelling {
        until_ms: i64,
    },
    /// Heading into the no-go zone (the geofence fault).
    Straying,
    PulledOver,
    /// The safety operator drives it back to where it left its road.
    Recovering,
    EmergencyStopped {
        until_ms: i64,
    },
    Home,
}

struct Fault {
    kind: FaultKind,
    leg: usize,
    /// Where the no-go zone's middle is (the geofence fault).
    no_go: Option<LonLat>,
    injected_at_ms: Option<i64>,
    /// Where it left its road (the geofence fault).
    left_road_at: Option<LonLat>,
}

struct SimVehicle {
    id: i64,
    code: String,
    depot: LonLat,
    position: LonLat,
    heading_deg: f64,
    speed_kmh: f64,
    battery_pct: f64,
    mission: Option<Mission>,
    mode: Mode,
    /// Told to slow down: at most this, km/h.
    cap_kmh: Option<f64>,
    fault: Option<Fault>,
    jammed: Option<u32>,
    open: Vec<u32>,
    silent_until_ms: Option<i64>,
    seq: u64,
}

enum Arrival {
    Stop(usize),
    Home,
}

impl SimVehicle {
    fn target(&self) -> Option<LonLat> {
        let mission = self.mission.as_ref()?;
        Some(
            mission
                .stops
                .get(mission.next)
                .map_or(self.depot, |stop| stop.at),
        )
    }

    /// How far along its current leg it is, 0 to 1.
    fn leg_progress(&self) -> Option<(usize, f64)> {
        let mission = self.mission.as_ref()?;
        let (from, to) = mission.leg(mission.next, self.depot);
        let length = distance_m(from, to);
        if length < 1.0 {
            return Some((mission.next, 1.0));
        }
        Some((mission.next, distance_m(from, self.position) / length))
    }

    fn speeding(&self) -> bool {
        self.cap_kmh.is_none()
            && self.fault.as_ref().is_some_and(|fault| {
                fault.kind == FaultKind::Speeding && fault.injected_at_ms.is_some()
            })
    }

    /// Moves to `to` at `kmh` for one step; true when there.
    fn drive(&mut self, to: LonLat, kmh: f64) -> bool {
        let (next, there) = towards(self.position, to, kmh / 3.6 * STEP_MS as f64 / 1000.0);
        let moved_m = distance_m(self.position, next);
        if let Some(heading) = bearing_deg(self.position, next) {
            self.heading_deg = heading;
        }
        self.position = next;
        self.speed_kmh = if moved_m > 0.0 { kmh } else { 0.0 };
        self.battery_pct = (self.battery_pct
            - moved_m / 1000.0 * f64::from(CONSUMPTION_WH_PER_KM) / f64::from(BATTERY_WH) * 100.0)
            .max(0.0);
        there
    }

    /// One step of driving; what it arrived at.
    fn step(&mut self, now_ms: i64, at: DateTime<Utc>, zones: &Geofences) -> Option<Arrival> {
        match self.mode {
            Mode::AtDepot | Mode::Home | Mode::PulledOver => {
                self.speed_kmh = 0.0;
                None
            }
            Mode::EmergencyStopped { .. } => {
                self.speed_kmh = 0.0;
                None
            }
            Mode::Dwelling { until_ms } => {
                self.speed_kmh = 0.0;
                if now_ms >= until_ms {
                    self.open.clear();
                    if let Some(mission) = &mut self.mission {
                        // Called home meanwhile: it already heads there.
                        mission.next = (mission.next + 1).min(mission.stops.len());
                    }
                    self.mode = Mode::Driving;
                }
                None
            }
            Mode::Straying => {
                let zone = self
                    .fault
                    .as_ref()
                    .and_then(|fault| fault.no_go)
                    .unwrap_or(self.position);
                if self.drive(zone, STRAY_KMH) {
                    // In the middle of the zone and never told to stop: it
                    // stops by itself.
                    self.mode = Mode::PulledOver;
                }
                None
            }
            Mode::Recovering => {
                let back = self
                    .fault
                    .as_ref()
                    .and_then(|fault| fault.left_road_at)
                    .unwrap_or(self.position);
                if self.drive(back, RECOVER_KMH) {
                    self.speed_kmh = 0.0;
                }
                None
            }
            Mode::Driving => {
                let target = self.target()?;
                let kmh = if self.speeding() {
                    SPEEDING_KMH
                } else {
                    // Its own map: the lowest limit here and one step ahead.
                    let wanted = self.cap_kmh.unwrap_or(CRUISE_KMH).min(CRUISE_KMH);
                    let (ahead, _) = towards(self.position, target, wanted / 3.6);
                    let limit = zones
                        .speed_limit(SPEED_LIMIT_KMH, self.position, at)
                        .limit_kmh
                        .min(zones.speed_limit(SPEED_LIMIT_KMH, ahead, at).limit_kmh);
                    wanted.min(f64::from(limit))
                };
                if !self.drive(target, kmh) {
                    return None;
                }
                let mission = self.mission.as_ref()?;
                if mission.next < mission.stops.len() {
                    Some(Arrival::Stop(mission.next))
                } else {
                    Some(Arrival::Home)
                }
            }
        }
    }

    /// Metres the battery rule still counts: to the next waypoint, then
    /// along the rest of the route and home, times the detour factor.
    fn remaining_route_m(&self) -> f64 {
        let Some(mission) = &self.mission else {
            return 0.0;
        };
        let mut here = self.position;
        let mut total = 0.0;
        for stop in &mission.stops[mission.next.min(mission.stops.len())..] {
            total += distance_m(here, stop.at);
            here = stop.at;
        }
        total += distance_m(here, self.depot);
        total * DETOUR_FACTOR
    }

    fn inject(&mut self, now_ms: i64) -> Option<FaultKind> {
        let (leg, progress) = self.leg_progress()?;
        if self.mode != Mode::Driving {
            return None;
        }
        let fault = self.fault.as_mut()?;
        if fault.injected_at_ms.is_some() || fault.leg != leg || progress < 0.5 {
            return None;
        }
        fault.injected_at_ms = Some(now_ms);
        let kind = fault.kind;
        match kind {
            FaultKind::Speeding | FaultKind::CompartmentJam => {}
            FaultKind::GeofenceBreach => {
                fault.left_road_at = Some(self.position);
                self.mode = Mode::Straying;
            }
            FaultKind::LinkLoss => self.silent_until_ms = Some(now_ms + LINK_LOSS_MS),
            FaultKind::LowBattery => {
                // Half the charge the rest of the route needs, above the reserve.
                let needed_wh =
                    self.remaining_route_m() / 1000.0 * f64::from(CONSUMPTION_WH_PER_KM);
                self.battery_pct = (BATTERY_RESERVE_PCT
                    + 0.5 * needed_wh / f64::from(BATTERY_WH) * 100.0)
                    .min(self.battery_pct);
            }
            FaultKind::EmergencyStop => {
                self.mode = Mode::EmergencyStopped {
                    until_ms: now_ms + EMERGENCY_STOP_MS,
                };
                self.speed_kmh = 0.0;
            }
        }
        Some(kind)
    }

    fn telemetry(&mut self, at_ms: i64) -> VehicleTelemetry {
        self.seq += 1;
        let compartments: Vec<CompartmentReport> = (1..=COMPARTMENTS)
            .map(|n| CompartmentReport {
                n,
                state: if self.jammed == Some(n) {
                    CompartmentState::Jammed
                } else if self.open.contains(&n) {
                    CompartmentState::Open
                } else {
                    CompartmentState::Closed
                },
            })
            .collect();
        VehicleTelemetry {
            at_ms,
            lon: self.position.lon,
            lat: self.position.lat,
            speed_kmh: self.speed_kmh,
            heading_deg: self.heading_deg,
            battery_pct: (self.battery_pct * 10.0).round() / 10.0,
            compartments,
            faults: Vec::new(),
            emergency_stop: matches!(self.mode, Mode::EmergencyStopped { until_ms } if at_ms < until_ms),
            seq: Some(self.seq),
        }
    }

    /// A rule's automatic command, obeyed.
    fn obey(&mut self, command: AutoCommand) {
        match command {
            AutoCommand::SlowDown { limit_kmh } => {
                self.cap_kmh = Some(CRUISE_KMH.min(f64::from(limit_kmh)));
            }
            AutoCommand::PullOver => {
                if matches!(self.mode, Mode::Driving | Mode::Straying) {
                    self.mode = Mode::PulledOver;
                    self.speed_kmh = 0.0;
                }
            }
            AutoCommand::ReturnToDepot => {
                if let Some(mission) = &mut self.mission {
                    mission.next = mission.stops.len();
                }
            }
        }
    }

    /// A command from the server, through the gate: what the vehicle does.
    fn act(&mut self, op: &Operation) {
        match op {
            Operation::SlowDown { limit_kmh } => self.obey(AutoCommand::SlowDown {
                limit_kmh: *limit_kmh,
            }),
            Operation::PullOver | Operation::Stop => self.obey(AutoCommand::PullOver),
            Operation::ReturnToDepot => self.obey(AutoCommand::ReturnToDepot),
            Operation::StartMission { .. } => {
                if self.mode == Mode::AtDepot {
                    self.mode = Mode::Driving;
                } else {
                    self.on_handed_back();
                }
            }
            Operation::OpenCompartment { compartments } => self.open.clone_from(compartments),
            _ => {}
        }
    }

    /// Whether what the incident is about is over, so the operator may
    /// hand the vehicle back.
    fn settled(&self, rule: &str, now_ms: i64) -> bool {
        match rule {
            "entered_no_go" => {
                self.mode == Mode::Recovering
                    && self
                        .fault
                        .as_ref()
                        .and_then(|f| f.left_road_at)
                        .is_some_and(|back| distance_m(back, self.position) < 0.5)
            }
            "link_lost" => self.silent_until_ms.is_none_or(|until| now_ms >= until),
            "emergency_stop" => match self.mode {
                Mode::EmergencyStopped { until_ms } => now_ms >= until_ms,
                _ => true,
            },
            _ => true,
        }
    }

    fn on_taken_over(&mut self, rule: &str) {
        match rule {
            "entered_no_go" => self.mode = Mode::Recovering,
            "speeding" => self.cap_kmh = Some(CRUISE_KMH),
            "battery_insufficient" => self.obey(AutoCommand::ReturnToDepot),
            _ => {}
        }
    }

    fn on_handed_back(&mut self) {
        if matches!(
            self.mode,
            Mode::PulledOver | Mode::Recovering | Mode::EmergencyStopped { .. }
        ) {
            self.mode = Mode::Driving;
        }
    }
}

/// What a vehicle's client hands the simulation.
enum Inbound {
    /// The broker confirmed its subscription to its `cmd` topic.
    Subscribed,
    /// A payload arrived on its `cmd` topic.
    Command(usize, Vec<u8>),
}

/// The vehicles' side of the commands: a gate per vehicle, and the command
/// ids the simulation knows the server has just written.
struct CommandBus {
    gates: Vec<CommandGate>,
    expected: HashSet<String>,
    acted: u64,
    refused: u64,
}

impl CommandBus {
    fn expect(&mut self, command_id: String) {
        self.expected.insert(command_id);
    }

    /// Runs whatever has arrived through the vehicles' gates, acts and
    /// acknowledges, and waits until every expected command has arrived
    /// (the bridge publishes at once, woken by the use case).
    async fn deliver(
        &mut self,
        inbox: &mut tokio::sync::mpsc::UnboundedReceiver<Inbound>,
        vehicles: &mut [SimVehicle],
        clients: &[AsyncClient],
        now_ms: i64,
    ) -> anyhow::Result<()> {
        loop {
            let inbound = if self.expected.is_empty() {
                match inbox.try_recv() {
                    Ok(inbound) => inbound,
                    Err(_) => return Ok(()),
                }
            } else {
                match tokio::time::timeout(MESSAGE_WAIT, inbox.recv()).await {
                    Ok(Some(inbound)) => inbound,
                    _ => bail!("commands never reached their vehicles: {:?}", self.expected),
                }
            };
            let Inbound::Command(idx, payload) = inbound else {
                continue;
            };
            let at_ms = u64::try_from(now_ms).unwrap_or(0);
            let Ok(verdict) = self.gates[idx].receive(&payload, at_ms) else {
                self.refused += 1;
                continue;
            };
            if let Some(op) = &verdict.act {
                vehicles[idx].act(op);
                self.acted += 1;
            }
            if matches!(verdict.outcome, Outcome::Done | Outcome::Duplicate) {
                self.expected.remove(&verdict.command_id);
            }
            clients[idx]
                .publish(
                    ack_topic(&vehicles[idx].code),
                    QoS::AtLeastOnce,
                    false,
                    serde_json::to_vec(&verdict.ack(at_ms))?,
                )
                .await?;
        }
    }
}

/// The safety operator's words for each rule: why they took over, what
/// they did, the cause they closed it with.
fn operator_words(rule: &str) -> (&'static str, &'static str, &'static str) {
    match rule {
        "speeding" => (
            "超速，核实限速执行情况",
            "确认车辆已按指令降速行驶",
            "速度控制器故障，已远程重新标定",
        ),
        "entered_no_go" => (
            "车辆驶入禁行区域",
            "远程驾驶车辆退出禁行区域，回到原路线",
            "定位漂移导致偏离道路，已校准",
        ),
        "link_lost" => (
            "车辆失去联系",
            "通信恢复后查看车载视频，确认车辆正常",
            "山区信号盲区",
        ),
        "battery_insufficient" => (
            "电量不足以完成剩余路线",
            "确认车辆返回停车场，未送包裹带回县中心",
            "电池单体故障，已送修",
        ),
        "emergency_stop" => (
            "车辆紧急停车",
            "查看摄像头确认周围安全后解除急停",
            "路人误按急停按钮",
        ),
        "fault" => (
            "车辆报告故障",
            "远程尝试开启格口未果，包裹留在车上带回县中心",
            "格口锁舌卡滞，回站维修",
        ),
        _ => (
            "安全规则报警",
            "查看车辆状态，确认安全",
            "模拟运行中的其他情况",
        ),
    }
}

struct OperatorFlow {
    incident_id: i64,
    vehicle: usize,
    rule: String,
    take_over_at_ms: i64,
    taken: bool,
}

#[derive(Debug, Default, Serialize)]
struct FaultReport {
    injected: u32,
    alerts: u32,
}

#[derive(Debug, Serialize)]
struct UnexpectedAlert {
    vehicle: String,
    rule: String,
    subject: String,
}

#[derive(Debug, Default, Serialize)]
struct ParcelReport {
    total: usize,
    handed_over: usize,
    returned_to_centre: usize,
    not_dispatched: usize,
    lost: usize,
}

#[derive(Debug, Serialize)]
struct Report {
    seed: u64,
    vehicles: u32,
    stations: usize,
    missions: usize,
    minutes: u32,
    /// When the simulated day started (a minute before the first departure).
    day_start: DateTime<Utc>,
    simulated_seconds: i64,
    wall_seconds: f64,
    /// Simulated seconds per wall second.
    speedup: f64,
    broker: String,
    embedded_broker: bool,
    messages_published: u64,
    messages_ingested: u64,
    /// Commands the vehicles' gates let act (each acknowledged), and
    /// payloads on their `cmd` topics they dropped (not signed for them).
    commands_acted: u64,
    commands_refused: u64,
    faults: BTreeMap<&'static str, FaultReport>,
    /// Every injected fault raised exactly one alert of its kind.
    every_fault_one_alert: bool,
    unexpected_alerts: Vec<UnexpectedAlert>,
    incidents: usize,
    takeovers: usize,
    /// Incidents whose log has the take-over, an action, the hand-back
    /// and the closing cause, each with who and when.
    takeovers_logged: usize,
    incidents_closed: usize,
    parcels: ParcelReport,
}

fn staff(username: &str, role: Role, station_ids: Vec<i64>) -> Principal {
    Principal {
        user_id: 0,
        username: username.into(),
        role,
        station_ids,
        carrier: None,
    }
}

/// Whether the square zone at `centre` would catch any point of the legs.
fn crosses(zone: &Polygon, legs: &[(LonLat, LonLat)]) -> bool {
    legs.iter().any(|(from, to)| {
        let length = distance_m(*from, *to);
        let n = (length / 5.0).ceil().max(1.0) as usize;
        (0..=n).any(|i| {
            let f = i as f64 / n as f64;
            zone.contains(LonLat::new(
                from.lon + (to.lon - from.lon) * f,
                from.lat + (to.lat - from.lat) * f,
            ))
        })
    })
}

pub async fn run(args: SimArgs) -> anyhow::Result<String> {
    let wall = Instant::now();
    let n = args.vehicles;
    anyhow::ensure!(
        (1..=200).contains(&n),
        "--vehicles: 1 to 200 (a dispatch plan's fleet)"
    );
    anyhow::ensure!((10..=1440).contains(&args.minutes), "--minutes: 10 to 1440");
    let mut rng = StdRng::seed_from_u64(args.seed);
    // A throwaway database, in memory-backed storage where there is some:
    // the simulation measures the rules, not the disk's fsync.
    let temp = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")?
    } else {
        tempfile::tempdir()?
    };
    let url = format!("sqlite:{}", temp.path().join("simulate.db").display());
    let db = Arc::new(
        Db::connect(&ConnectOptions::new(
            url,
            Arc::new(app::keys::Keys::ephemeral()),
        ))
        .await?,
    );
    let day = domain::shanghai_day(Utc::now());
    let start = domain::day_start(day) + chrono::Duration::minutes(7 * 60 - 1);
    let clock = Arc::new(SimClock(Mutex::new(start)));
    let app = App::new(db.clone(), clock.clone());
    let admin = staff("simulator", Role::Admin, vec![]);
    let dispatcher = staff("dispatcher-sim", Role::CountyOperator, vec![]);
    let safety = staff("safety-operator-sim", Role::CountyOperator, vec![]);

    // The county: a centre, stations round it within what a day's driving
    // reaches, each with the approach an unmanned vehicle stops in.
    let centre = LonLat::new(120.45, 29.05);
    let radius_m =
        (f64::from(args.minutes) * CRUISE_KMH / 60.0 * 1000.0 / 8.0).clamp(800.0, 10_000.0);
    let n_stations = (n as usize * 3).clamp(3, 500);
    app.add_zone(
        &dispatcher,
        &Zone {
            id: 0,
            name: "县域运营区".into(),
            kind: ZoneKind::OperatingArea,
            area: square(centre, radius_m + 3_000.0)?,
            speed_limit_kmh: None,
            windows: vec![],
            station_id: None,
        },
    )
    .await?;
    app.add_zone(
        &dispatcher,
        &Zone {
            id: 0,
            name: "县中心停车场".into(),
            kind: ZoneKind::Depot,
            area: square(centre, 150.0)?,
            speed_limit_kmh: Some(10),
            windows: vec![],
            station_id: None,
        },
    )
    .await?;
    let mut stations: Vec<(i64, LonLat)> = Vec::new();
    for idx in 0..n_stations {
        let r = 400.0 + (radius_m - 400.0) * rng.r#gen::<f64>().sqrt();
        let angle = rng.r#gen::<f64>() * std::f64::consts::TAU;
        let at = offset(centre, r * angle.cos(), r * angle.sin());
        let station = app
            .store
            .create_station(
                &NewStation {
                    name: format!("模拟驿站{:03}", idx + 1),
                    township: "模拟镇".into(),
                    division_code: None,
                    location: Some(GeoPoint {
                        lat: at.lat,
                        lon: at.lon,
                    }),
                    code_format: CodeFormat::default(),
                    holding: HoldingPolicy::default(),
                    slots: lay_out(&[ShelfSpec {
                        label: "A".into(),
                        tiers: 2,
                        slots_per_tier: 10,
                        size: SizeClass::Small,
                        slot_capacity: 2,
                    }])?,
                },
                app.now(),
            )
            .await?;
        app.add_zone(
            &dispatcher,
            &Zone {
                id: 0,
                name: format!("模拟驿站{:03}进站道", idx + 1),
                kind: ZoneKind::StationApproach,
                area: square(at, 50.0)?,
                speed_limit_kmh: Some(10),
                windows: vec![],
                station_id: Some(station.id),
            },
        )
        .await?;
        stations.push((station.id, at));
    }

    // Parcels waiting at the centre: announced, arrived, sorted.
    let mut parcel_ids: Vec<i64> = Vec::new();
    let mut serial = 0u64;
    for (station_id, _) in &stations {
        let k = rng.gen_range(2..=4);
        let rows: Vec<ManifestRow> = (0..k)
            .map(|_| {
                serial += 1;
                ManifestRow {
                    waybill: format!("73{:04}{serial:06}", args.seed % 10_000),
                    station_id: Some(*station_id),
                    ..Default::default()
                }
            })
            .collect();
        app.announce(&admin, Carrier::Zto, &rows, 1).await?;
        for parcel in app
            .store
            .parcels(&ParcelFilter {
                station_id: Some(*station_id),
                limit: 50,
                ..Default::default()
            })
            .await?
        {
            for action in [Action::ArriveAtCentre, Action::Sort] {
                app.centre_scan(&admin, parcel.id, action).await?;
            }
            parcel_ids.push(parcel.id);
        }
    }

    // The fleet, every vehicle at the depot.
    let mut vehicles = Vec::new();
    for idx in 0..n {
        // The process id in the code: two simulations on one broker (tests
        // in parallel) must not hear each other's vehicles.
        let code = format!("uv{:04x}-{:03}", std::process::id() & 0xffff, idx + 1);
        let record = app
            .register_vehicle(
                &dispatcher,
                &NewVehicle {
                    code: code.clone(),
                    name: format!("无人车 {:03}", idx + 1),
                    kind: VehicleKind::Unmanned,
                    compartments: (1..=COMPARTMENTS)
                        .map(|number| Compartment {
                            number,
                            size: if number % 4 == 0 {
                                SizeClass::Medium
                            } else {
                                SizeClass::Small
                            },
                        })
                        .collect(),
                    battery_wh: BATTERY_WH,
                    consumption_wh_per_km: CONSUMPTION_WH_PER_KM,
                    speed_limit_kmh: SPEED_LIMIT_KMH,
                    operating_areas: vec![],
                    station_ids: vec![],
                    depot: GeoPoint {
                        lat: centre.lat,
                        lon: centre.lon,
                    },
                    driver: None,
                },
            )
            .await?;
        vehicles.push(SimVehicle {
            id: record.id,
            code,
            depot: centre,
            position: centre,
            heading_deg: 0.0,
            speed_kmh: 0.0,
            battery_pct: 100.0,
            mission: None,
            mode: Mode::AtDepot,
            cap_kmh: None,
            fault: None,
            jammed: None,
            open: Vec::new(),
            silent_until_ms: None,
            seq: 0,
        });
    }

    // The day's plan, as the dispatcher sends it: routes become missions,
    // every parcel is scanned into its compartment.
    let plan = app
        .plan_dispatch(
            &dispatcher,
            &DispatchRequest {
                fleet: Fleet {
                    vans: 0,
                    van_parcels_max: 1,
                    van_volume_max: 1,
                    unmanned: n,
                    unmanned_compartments: COMPARTMENTS,
                    unmanned_range_km: 60,
                },
                seed: args.seed,
                start_minutes: Some(7 * 60),
                ..DispatchRequest::new(GeoPoint {
                    lat: centre.lat,
                    lon: centre.lon,
                })
            },
        )
        .await?;
    let routes: Vec<_> = plan
        .routes
        .iter()
        .filter(|route| route.kind == "unmanned")
        .collect();
    anyhow::ensure!(
        routes.len() <= vehicles.len(),
        "the plan has more routes than vehicles"
    );
    let drafts: Vec<_> = routes
        .iter()
        .zip(&vehicles)
        .map(|(route, vehicle)| route.mission_draft(vehicle.id, day))
        .collect();
    let mission_ids = if drafts.is_empty() {
        Vec::new()
    } else {
        app.create_missions(&dispatcher, &drafts).await?
    };
    for (idx, mission_id) in mission_ids.iter().enumerate() {
        let view = app.mission(&dispatcher, *mission_id).await?;
        for parcel in &view.parcels {
            app.load_scan(&dispatcher, *mission_id, &parcel.waybill)
                .await?;
        }
        vehicles[idx].mission = Some(Mission {
            id: *mission_id,
            departure: view.mission.planned_departure,
            stops: view
                .stops
                .iter()
                .map(|stop| Stop {
                    id: stop.id,
                    station_id: stop.station_id,
                    at: LonLat::new(stop.location.lon, stop.location.lat),
                    compartments: view
                        .parcels
                        .iter()
                        .filter(|p| p.stop_id == stop.id)
                        .filter_map(|p| p.compartment)
                        .collect(),
                })
                .collect(),
            next: 0,
        });
    }
    let legs_of = |vehicles: &[SimVehicle]| -> Vec<(LonLat, LonLat)> {
        let mut legs = Vec::new();
        for vehicle in vehicles {
            if let Some(mission) = &vehicle.mission {
                for leg in 0..mission.n_legs() {
                    legs.push(mission.leg(leg, vehicle.depot));
                }
            }
        }
        legs
    };
    let all_legs = legs_of(&vehicles);

    // School zones on two second legs: the vehicles must slow for them.
    let mut n_schools = 0;
    for vehicle in &vehicles {
        let Some(mission) = &vehicle.mission else {
            continue;
        };
        if mission.stops.len() < 2 || n_schools >= 2 {
            continue;
        }
        let (from, to) = mission.leg(1, vehicle.depot);
        let middle = LonLat::new((from.lon + to.lon) / 2.0, (from.lat + to.lat) / 2.0);
        app.add_zone(
            &dispatcher,
            &Zone {
                id: 0,
                name: format!("模拟小学{}", n_schools + 1),
                kind: ZoneKind::School,
                area: square(middle, 150.0)?,
                speed_limit_kmh: Some(20),
                windows: vec![TimeWindow {
                    weekdays: TimeWindow::EVERY_DAY,
                    start_minute: 7 * 60,
                    end_minute: 18 * 60,
                }],
                station_id: None,
            },
        )
        .await?;
        n_schools += 1;
    }

    // Faults: vehicles with a mission take the kinds in turn.
    let k = args.faults.len();
    let mut n_with_mission = 0usize;
    let station_points: Vec<LonLat> = stations.iter().map(|(_, at)| *at).chain([centre]).collect();
    for vehicle in vehicles.iter_mut() {
        let Some(mission) = &vehicle.mission else {
            continue;
        };
        let turn = n_with_mission % (k + 1);
        n_with_mission += 1;
        if k == 0 || turn == k {
            continue;
        }
        let kind = args.faults[turn];
        let mut fault = Fault {
            kind,
            leg: 0,
            no_go: None,
            injected_at_ms: None,
            left_road_at: None,
        };
        if kind == FaultKind::GeofenceBreach {
            // A no-go zone (a market street closed to vehicles) 40 m off
            // one of its legs, touching no road any vehicle drives today.
            let mut placed = None;
            'legs: for leg in 0..mission.n_legs() {
                let (from, to) = mission.leg(leg, vehicle.depot);
                let length = distance_m(from, to);
                if length < 200.0 {
                    continue;
                }
                let middle = LonLat::new((from.lon + to.lon) / 2.0, (from.lat + to.lat) / 2.0);
                let east = (to.lon - from.lon) * from.lat.to_radians().cos() * 111_320.0 / length;
                let north = (to.lat - from.lat) * 111_320.0 / length;
                for side in [1.0, -1.0] {
                    let at = offset(middle, -north * 80.0 * side, east * 80.0 * side);
                    let area = square(at, 40.0)?;
                    let near_station = station_points
                        .iter()
                        .any(|point| distance_m(*point, at) < 200.0);
                    if !near_station && !crosses(&area, &all_legs) {
                        placed = Some((leg, at, area));
                        break 'legs;
                    }
                }
            }
            let Some((leg, at, area)) = placed else {
                continue;
            };
            app.add_zone(
                &dispatcher,
                &Zone {
                    id: 0,
                    name: format!("{}旁禁行步行街", vehicle.code),
                    kind: ZoneKind::NoGo,
                    area,
                    speed_limit_kmh: None,
                    windows: vec![],
                    station_id: None,
                },
            )
            .await?;
            fault.leg = leg;
            fault.no_go = Some(at);
        }
        vehicle.fault = Some(fault);
    }
    let zones = Geofences::new(app.zones(&dispatcher).await?);

    // The bus: the server's bridge, and a client per vehicle.
    let (sink, mut telemetry) = tokio::sync::mpsc::channel(1024.max(4 * n as usize));
    let device_key = devices::auth::ServerDeviceKey::random();
    let mut bridge_config = devices::bridge::BridgeConfig::new(
        devices::mqtt::BrokerConfig::open(&args.mqtt),
        device_key.clone(),
        &format!("yizhan-sim-bridge-{}", std::process::id()),
    );
    bridge_config.telemetry = Some(sink);
    let bridge = devices::bridge::Bridge::start(db.clone(), clock.clone(), bridge_config)
        .await
        .context("the simulator's bridge could not reach the broker")?;
    // The use cases wake the bridge when they write a command.
    let mut app = app;
    app.device_waker = Arc::new(bridge.waker());
    let app = app;
    let (host, port) = devices::mqtt::parse_url(&args.mqtt)?;
    let mut clients = Vec::new();
    let mut pumps = Vec::new();
    let mut gates = Vec::new();
    // Every vehicle's commands as its client receives them, and its
    // subscription's confirmation.
    let (inbox_sender, mut inbox) = tokio::sync::mpsc::unbounded_channel::<Inbound>();
    for (idx, vehicle) in vehicles.iter().enumerate() {
        let mut options = MqttOptions::new(
            format!("yizhan-sim-{}-{}", vehicle.code, std::process::id()),
            host.clone(),
            port,
        );
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        client
            .subscribe(command_topic(&vehicle.code), QoS::AtLeastOnce)
            .await?;
        let inbox = inbox_sender.clone();
        pumps.push(tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = inbox.send(Inbound::Subscribed);
                    }
                    Ok(Event::Incoming(Packet::Publish(publish))) => {
                        let _ = inbox.send(Inbound::Command(idx, publish.payload.to_vec()));
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        }));
        clients.push(client);
        gates.push(CommandGate::for_vehicle(
            device_key.vehicle_key(&vehicle.code),
            &vehicle.code,
        ));
    }
    drop(inbox_sender);
    // A command published before a vehicle subscribed would be lost: wait
    // for every subscription.
    let mut n_subscribed = 0;
    while n_subscribed < vehicles.len() {
        match tokio::time::timeout(MESSAGE_WAIT, inbox.recv()).await {
            Ok(Some(Inbound::Subscribed)) => n_subscribed += 1,
            Ok(Some(Inbound::Command(..))) => {}
            _ => bail!("the vehicles could not subscribe to their commands"),
        }
    }
    let mut bus = CommandBus {
        gates,
        expected: HashSet::new(),
        acted: 0,
        refused: 0,
    };

    let codes: HashSet<String> = vehicles.iter().map(|v| v.code.clone()).collect();
    let by_id: HashMap<i64, usize> = vehicles
        .iter()
        .enumerate()
        .map(|(idx, v)| (v.id, idx))
        .collect();
    // The day starts a minute before the first departure.
    let start = vehicles
        .iter()
        .filter_map(|v| v.mission.as_ref().map(|m| m.departure))
        .min()
        .map_or(start, |first| {
            (first - chrono::Duration::minutes(1)).max(start)
        });
    clock.set(start);
    let start_ms = start.timestamp_millis();
    let end_ms = start_ms + i64::from(args.minutes) * 60_000;
    let hard_end_ms = end_ms + 3 * 3_600_000;
    let mut now_ms = start_ms;
    let mut flows: Vec<OperatorFlow> = Vec::new();
    let mut published = 0u64;
    let mut ingested = 0u64;
    let mut recalled = false;
    loop {
        now_ms += STEP_MS;
        let now = DateTime::from_timestamp_millis(now_ms).unwrap_or(start);
        clock.set(now);
        // Departures due.
        for vehicle in vehicles.iter_mut() {
            let due = vehicle.mode == Mode::AtDepot
                && vehicle
                    .mission
                    .as_ref()
                    .is_some_and(|mission| mission.departure <= now);
            if due {
                let id = vehicle.mission.as_ref().map_or(0, |m| m.id);
                app.start_mission(&dispatcher, id).await?;
                bus.expect(app::fleet::mission_start_command_id(id));
            }
        }
        // The vehicles set off when their command arrives.
        bus.deliver(&mut inbox, &mut vehicles, &clients, now_ms)
            .await?;
        // Driving, faults, arrivals.
        for vehicle in vehicles.iter_mut() {
            vehicle.inject(now_ms);
            let Some(arrival) = vehicle.step(now_ms, now, &zones) else {
                continue;
            };
            let Some(mission) = &vehicle.mission else {
                continue;
            };
            match arrival {
                Arrival::Stop(idx) => {
                    let stop = &mission.stops[idx];
                    let mut opened = stop.compartments.clone();
                    let jam_armed = vehicle.jammed.is_none()
                        && vehicle.fault.as_ref().is_some_and(|fault| {
                            fault.kind == FaultKind::CompartmentJam
                                && fault.injected_at_ms.is_some()
                        });
                    if jam_armed && let Some(first) = opened.first().copied() {
                        vehicle.jammed = Some(first);
                        opened.retain(|c| *c != first);
                    }
                    let keeper = staff("keeper-sim", Role::StationKeeper, vec![stop.station_id]);
                    app.hand_over_at_stop(&keeper, mission.id, stop.id, Some(&opened))
                        .await?;
                    vehicle.open = opened;
                    vehicle.mode = Mode::Dwelling {
                        until_ms: now_ms + DWELL_MS,
                    };
                }
                Arrival::Home => {
                    app.finish_mission(&dispatcher, mission.id).await?;
                    vehicle.jammed = None;
                    vehicle.mode = Mode::Home;
                }
            }
        }
        // Every vehicle's message, then wait for the rules to take each.
        let mut expected: HashSet<(String, i64)> = HashSet::new();
        for (vehicle, client) in vehicles.iter_mut().zip(&clients) {
            if vehicle.silent_until_ms.is_some_and(|until| now_ms < until) {
                continue;
            }
            let message = vehicle.telemetry(now_ms);
            client
                .publish(
                    telemetry_topic(&vehicle.code),
                    QoS::AtLeastOnce,
                    false,
                    serde_json::to_vec(&message)?,
                )
                .await?;
            published += 1;
            expected.insert((vehicle.code.clone(), now_ms));
        }
        let mut opened: Vec<i64> = Vec::new();
        while !expected.is_empty() {
            let Ok(Some((code, message))) =
                tokio::time::timeout(MESSAGE_WAIT, telemetry.recv()).await
            else {
                bail!(
                    "{} telemetry messages never reached the rules (broker {})",
                    expected.len(),
                    args.mqtt
                );
            };
            // Another run's vehicle on a shared broker is not ours.
            if !codes.contains(code.as_str()) {
                continue;
            }
            expected.remove(&(code.clone(), message.at_ms));
            ingested += 1;
            opened.extend(app.ingest_telemetry(&code, &message).await?);
        }
        opened.extend(app.fleet_tick().await?);
        // Each alert: the vehicle obeys its command, the operator is called.
        for incident_id in opened {
            let view = app.incident(&dispatcher, incident_id).await?;
            let Some(&idx) = by_id.get(&view.incident.vehicle_id) else {
                continue;
            };
            // Its automatic command arrives over the bus, signed.
            if let Some(command) = view
                .incident
                .command
                .as_deref()
                .and_then(|json| serde_json::from_str::<AutoCommand>(json).ok())
            {
                bus.expect(app::fleet::incident_command_id(incident_id, command.op()));
            }
            flows.push(OperatorFlow {
                incident_id,
                vehicle: idx,
                rule: view.incident.rule.clone(),
                take_over_at_ms: now_ms + OPERATOR_AFTER_MS,
                taken: false,
            });
        }
        bus.deliver(&mut inbox, &mut vehicles, &clients, now_ms)
            .await?;
        // The safety operator's work.
        let mut still = Vec::new();
        for mut flow in flows {
            let (why, what, cause) = operator_words(&flow.rule);
            if !flow.taken && now_ms >= flow.take_over_at_ms {
                app.take_over(&safety, flow.incident_id, why).await?;
                vehicles[flow.vehicle].on_taken_over(&flow.rule);
                flow.taken = true;
            }
            if flow.taken && vehicles[flow.vehicle].settled(&flow.rule, now_ms) {
                app.record_takeover_action(&safety, flow.incident_id, what)
                    .await?;
                let handed = app
                    .hand_back(&safety, flow.incident_id, "交还自动驾驶")
                    .await?;
                app.close_incident(&safety, flow.incident_id, cause).await?;
                // Handing back tells a vehicle on its mission to carry on.
                match handed.log.last() {
                    Some(entry)
                        if handed.vehicle.status == app::fleet::VehicleStatus::OnMission =>
                    {
                        bus.expect(app::fleet::incident_command_id(
                            flow.incident_id,
                            &format!("handback-{}", entry.id),
                        ));
                    }
                    _ => vehicles[flow.vehicle].on_handed_back(),
                }
                continue;
            }
            still.push(flow);
        }
        flows = still;
        bus.deliver(&mut inbox, &mut vehicles, &clients, now_ms)
            .await?;
        // The day is over: whoever is still out is called home.
        if now_ms >= end_ms && !recalled {
            recalled = true;
            for vehicle in vehicles.iter_mut() {
                if !matches!(vehicle.mode, Mode::AtDepot | Mode::Home) {
                    vehicle.obey(AutoCommand::ReturnToDepot);
                }
            }
        }
        let all_in = vehicles.iter().all(|v| match v.mode {
            Mode::Home => true,
            Mode::AtDepot => v.mission.is_none() || recalled,
            _ => false,
        });
        let faults_done = vehicles.iter().all(|v| {
            v.fault.as_ref().is_none_or(|f| {
                f.injected_at_ms.is_some() || matches!(v.mode, Mode::Home | Mode::AtDepot)
            })
        });
        if now_ms >= end_ms && all_in && flows.is_empty() && faults_done {
            break;
        }
        if now_ms >= hard_end_ms {
            bail!("the vehicles were not all home three hours after the day's end");
        }
    }
    for client in &clients {
        let _ = client.disconnect().await;
    }
    for pump in pumps {
        let _ = tokio::time::timeout(Duration::from_secs(5), pump).await;
    }
    bridge.stop();

    // The report, read back from the database.
    let mut incidents = Vec::new();
    let mut after = None;
    loop {
        let page = app.incidents(&dispatcher, after, Some(200), false).await?;
        let done = page.next_after_id.is_none();
        after = page.next_after_id;
        incidents.extend(page.items);
        if done {
            break;
        }
    }
    let mut faults: BTreeMap<&'static str, FaultReport> = args
        .faults
        .iter()
        .map(|kind| (kind.code(), FaultReport::default()))
        .collect();
    let mut every_fault_one_alert = true;
    let mut matched: HashSet<i64> = HashSet::new();
    for vehicle in &vehicles {
        let Some(fault) = &vehicle.fault else {
            continue;
        };
        if fault.injected_at_ms.is_none() {
            continue;
        }
        let alerts: Vec<i64> = incidents
            .iter()
            .filter(|i| i.vehicle_id == vehicle.id && fault.kind.raises(&i.rule, &i.subject))
            .map(|i| i.id)
            .collect();
        let entry = faults.entry(fault.kind.code()).or_default();
        entry.injected += 1;
        entry.alerts += alerts.len() as u32;
        every_fault_one_alert &= alerts.len() == 1;
        matched.extend(alerts);
    }
    let code_of: HashMap<i64, &str> = vehicles.iter().map(|v| (v.id, v.code.as_str())).collect();
    let unexpected_alerts: Vec<UnexpectedAlert> = incidents
        .iter()
        .filter(|i| !matched.contains(&i.id))
        .map(|i| UnexpectedAlert {
            vehicle: code_of.get(&i.vehicle_id).unwrap_or(&"?").to_string(),
            rule: i.rule.clone(),
            subject: i.subject.clone(),
        })
        .collect();
    let mut takeovers = 0;
    let mut takeovers_logged = 0;
    let mut incidents_closed = 0;
    for incident in &incidents {
        let view = app.incident(&dispatcher, incident.id).await?;
        let acts: Vec<IncidentAct> = view.log.iter().map(|entry| entry.act).collect();
        takeovers += acts
            .iter()
            .filter(|a| **a == IncidentAct::TakenOver)
            .count();
        let complete =
            acts == [
                IncidentAct::TakenOver,
                IncidentAct::Acted,
                IncidentAct::HandedBack,
                IncidentAct::Closed,
            ] && view.log.iter().all(|entry| {
                !entry.username.is_empty() && (!entry.why.is_empty() || !entry.what.is_empty())
            });
        takeovers_logged += usize::from(complete);
        incidents_closed += usize::from(incident.status == app::fleet::IncidentStatus::Closed);
    }
    // Every parcel: on its station's shelf, or back (or still) at the centre.
    let mut parcels = ParcelReport {
        total: parcel_ids.len(),
        ..Default::default()
    };
    let mut on_missions: HashMap<i64, (LoadStatus, i64)> = HashMap::new();
    for mission_id in &mission_ids {
        let view = app.mission(&dispatcher, *mission_id).await?;
        for parcel in &view.parcels {
            let station = view
                .stops
                .iter()
                .find(|s| s.id == parcel.stop_id)
                .map_or(0, |s| s.station_id);
            on_missions.insert(parcel.parcel_id, (parcel.status, station));
        }
    }
    for parcel_id in &parcel_ids {
        let Some(parcel) = app.store.parcel(*parcel_id).await? else {
            parcels.lost += 1;
            continue;
        };
        let at_centre = matches!(
            parcel.state,
            domain::ParcelState::ArrivedAtCentre | domain::ParcelState::Sorted
        );
        match on_missions.get(parcel_id) {
            Some((LoadStatus::HandedOver, station))
                if parcel.state.occupies_slot() && parcel.station_id == Some(*station) =>
            {
                parcels.handed_over += 1;
            }
            Some((LoadStatus::Returned, _)) if at_centre => parcels.returned_to_centre += 1,
            None if at_centre => parcels.not_dispatched += 1,
            _ => parcels.lost += 1,
        }
    }
    let simulated_seconds = (now_ms - start_ms) / 1000;
    let wall_seconds = wall.elapsed().as_secs_f64();
    let report = Report {
        seed: args.seed,
        vehicles: n,
        stations: stations.len(),
        missions: mission_ids.len(),
        minutes: args.minutes,
        day_start: start,
        simulated_seconds,
        wall_seconds: (wall_seconds * 10.0).round() / 10.0,
        speedup: (simulated_seconds as f64 / wall_seconds.max(0.001) * 10.0).round() / 10.0,
        broker: args.mqtt.clone(),
        embedded_broker: args.embedded_broker,
        messages_published: published,
        messages_ingested: ingested,
        commands_acted: bus.acted,
        commands_refused: bus.refused,
        faults,
        every_fault_one_alert,
        unexpected_alerts,
        incidents: incidents.len(),
        takeovers,
        takeovers_logged,
        incidents_closed,
        parcels,
    };
    drop(app);
    drop(db);
    Ok(serde_json::to_string(&report)?)
}

/// `yizhan simulate vehicles`: the broker is the one asked for, else the
/// configured one, else the demo's embedded broker on 127.0.0.1:1883.
pub async fn command(
    config: &crate::config::Config,
    vehicles: u32,
    minutes: u32,
    faults: &str,
    seed: u64,
    json: bool,
    mqtt: Option<String>,
) -> anyhow::Result<()> {
    let faults = parse_faults(faults)?;
    let mqtt = mqtt
        .or_else(|| config.devices.mqtt_url.clone())
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    let mut embedded_broker = false;
    if !crate::broker::reachable(&mqtt) {
        crate::broker::start_embedded(&mqtt)
            .with_context(|| format!("no broker at {mqtt}, and none could be started there"))?;
        embedded_broker = true;
    }
    let report = run(SimArgs {
        vehicles,
        minutes,
        faults,
        seed,
        mqtt,
        embedded_broker,
    })
    .await?;
    if json {
        println!("{report}");
    } else {
        let value: serde_json::Value = serde_json::from_str(&report)?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_lists_read_all_none_and_names() {
        assert_eq!(parse_faults("all").unwrap(), FaultKind::ALL.to_vec());
        assert!(parse_faults("").unwrap().is_empty());
        assert_eq!(
            parse_faults("geofence breach, link-loss,speeding").unwrap(),
            vec![
                FaultKind::GeofenceBreach,
                FaultKind::LinkLoss,
                FaultKind::Speeding
            ]
        );
        assert!(parse_faults("flat tyre").is_err());
    }

    #[test]
    fn a_step_moves_at_the_speed_and_stops_at_the_target() {
        let from = LonLat::new(120.45, 29.05);
        let to = offset(from, 100.0, 0.0);
        let (next, there) = towards(from, to, 7.0);
        assert!(!there);
        assert!((distance_m(from, next) - 7.0).abs() < 0.1);
        assert_eq!(towards(next, to, 200.0), (to, true));
        let east = bearing_deg(from, to).unwrap();
        assert!((east - 90.0).abs() < 0.5, "{east}");
    }
}

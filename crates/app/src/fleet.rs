//! The fleet (issue 20): vehicles and the safe-driving system's zones,
//! missions made from a dispatch plan (ordered stops, parcels per
//! compartment with a compartment code), loading scanned compartment by
//! compartment, re-planning a broken-down vehicle's remaining stops onto
//! another without losing a parcel, telemetry run through the rules
//! (`domain::fleet::rules`, one evaluator per vehicle kept here), and the
//! incidents they raise: a safety operator takes a vehicle over, acts, hands
//! it back, and closes the incident with a cause, every step in the
//! append-only take-over log and the audit trail.

use crate::App;
use crate::audit::{Actor, Object};
use crate::error::{AppError, AppResult, Code};
use crate::paging::{Page, page_size};
pub use crate::ports::fleet::{
    Compartment, IncidentAct, IncidentLogEntry, IncidentRecord, IncidentStatus, LoadStatus,
    MissionDraft, MissionParcelRecord, MissionRecord, MissionStatus, MissionStopRecord,
    NewIncident, NewMission, NewMissionParcel, NewMissionStop, NewVehicle, StopDraft,
    VehiclePosition, VehicleRecord, VehicleStatus,
};
use crate::ports::prelude::*;
use crate::ports::{GeoPoint, StoreError};
use chrono::DateTime;
use domain::audit::Act;
use domain::fleet::{
    Alert, Evaluator, Geofences, LonLat, RuleSettings, Telemetry, VehicleKind, VehicleProfile, Zone,
};
use domain::{ParcelState, Principal};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most active missions whose vehicles the silence rule starts watching
/// at a restart, before they speak (`App::fleet_tick`).
const MISSIONS_SEEDED_MAX: u32 = 1_000;

/// Most compartments on one vehicle, vehicles in a fleet, stops on one
/// mission and parcels on one mission.
pub const COMPARTMENTS_MAX: u32 = 64;
pub const VEHICLES_MAX: usize = 1_000;
pub const MISSION_STOPS_MAX: usize = 100;
pub const MISSION_PARCELS_MAX: usize = 2_000;
/// Longest reason, action or cause a safety operator writes.
pub const INCIDENT_NOTE_CHARS_MAX: usize = domain::limits::NOTE_CHARS_MAX;
const VEHICLE_CODE_CHARS_MAX: usize = 16;

/// `device_kind` of a vehicle's commands in the devices' outbox
/// (`device_commands`); `device_id` is the vehicle's code and `station_id`
/// is [`VEHICLE_NO_STATION`], since a vehicle belongs to no station. The
/// bridge publishes them on `yizhan/v1/vehicles/{code}/cmd`, signed with the
/// vehicle's own key (`docs/devices.md`, "Commands to vehicles").
pub const VEHICLE_DEVICE_KIND: &str = "vehicle";
pub const VEHICLE_NO_STATION: i64 = 0;
/// How long a command to a vehicle may wait before it must not act: a
/// `pull_over` a minute late is a different manoeuvre.
pub const VEHICLE_COMMAND_TTL_SECONDS: i64 = 30;

/// A command to an unmanned vehicle: the protocol's operation object
/// (`{"op":"pull_over"}`, `{"op":"open_compartment","compartments":[1,3]}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum VehicleCommand {
    /// Set off on the mission (or, under way, carry on with it).
    StartMission { mission_id: i64 },
    /// Stop where it stands and wait.
    Stop,
    /// Pull over to the roadside and wait.
    PullOver,
    /// Open these compartments.
    OpenCompartment { compartments: Vec<u32> },
    /// Leave the mission and drive back to the depot.
    ReturnToDepot,
    /// Keep at or under this speed.
    SlowDown { limit_kmh: u32 },
}

impl VehicleCommand {
    /// The `op` word on the wire.
    pub fn op(&self) -> &'static str {
        match self {
            VehicleCommand::StartMission { .. } => "start_mission",
            VehicleCommand::Stop => "stop",
            VehicleCommand::PullOver => "pull_over",
            VehicleCommand::OpenCompartment { .. } => "open_compartment",
            VehicleCommand::ReturnToDepot => "return_to_depot",
            VehicleCommand::SlowDown { .. } => "slow_down",
        }
    }

    /// What the command does, for the take-over log.
    pub fn words(&self) -> String {
        match self {
            VehicleCommand::StartMission { mission_id } => {
                format!("指令：继续任务 {mission_id}（start_mission）")
            }
            VehicleCommand::Stop => "指令：原地停车（stop）".into(),
            VehicleCommand::PullOver => "指令：靠边停车（pull_over）".into(),
            VehicleCommand::OpenCompartment { compartments } => {
                let numbers: Vec<String> = compartments.iter().map(u32::to_string).collect();
                format!(
                    "指令：打开 {} 号格口（open_compartment）",
                    numbers.join("、")
                )
            }
            VehicleCommand::ReturnToDepot => "指令：返回车场（return_to_depot）".into(),
            VehicleCommand::SlowDown { limit_kmh } => {
                format!("指令：限速 {limit_kmh} km/h（slow_down）")
            }
        }
    }

    fn check(&self, vehicle: &VehicleRecord) -> AppResult<()> {
        let invalid = |zh: &'static str, en: &'static str| {
            Err(AppError::new(Code::VehicleCommandInvalid).with_words("what", zh, en))
        };
        match self {
            VehicleCommand::OpenCompartment { compartments } => {
                if compartments.is_empty() {
                    return invalid("请选择要打开的格口", "choose the compartments to open");
                }
                let mut seen = std::collections::BTreeSet::new();
                for number in compartments {
                    if !seen.insert(*number)
                        || !vehicle.compartments.iter().any(|c| c.number == *number)
                    {
                        return Err(AppError::new(Code::VehicleCompartmentUnknown)
                            .with("vehicle", &vehicle.code)
                            .with("number", number));
                    }
                }
            }
            VehicleCommand::SlowDown { limit_kmh } if !(1..=120).contains(limit_kmh) => {
                return invalid(
                    "限速应在 1 至 120 km/h 之间",
                    "the speed limit must be 1 to 120 km/h",
                );
            }
            VehicleCommand::StartMission { mission_id } if *mission_id < 1 => {
                return invalid("任务编号无效", "the mission number is not valid");
            }
            _ => {}
        }
        Ok(())
    }
}

impl From<domain::fleet::AutoCommand> for VehicleCommand {
    fn from(command: domain::fleet::AutoCommand) -> VehicleCommand {
        match command {
            domain::fleet::AutoCommand::SlowDown { limit_kmh } => {
                VehicleCommand::SlowDown { limit_kmh }
            }
            domain::fleet::AutoCommand::PullOver => VehicleCommand::PullOver,
            domain::fleet::AutoCommand::ReturnToDepot => VehicleCommand::ReturnToDepot,
        }
    }
}

/// The command id of an incident's automatic command.
pub fn incident_command_id(incident_id: i64, op: &str) -> String {
    format!("incident-{incident_id}-{op}")
}

/// The command id of a mission's `start_mission`.
pub fn mission_start_command_id(mission_id: i64) -> String {
    format!("mission-{mission_id}-start")
}

/// The command id of what the safety operator sent, one per log line.
pub fn takeover_command_id(incident_id: i64, log_id: i64) -> String {
    format!("incident-{incident_id}-op-{log_id}")
}

/// Writes a command for an unmanned vehicle into the devices' outbox inside
/// `tx`, with the same id, not-after and signing rules as a station door's
/// (`device_commands`); the caller wakes the bridge after committing.
/// A van takes no commands. False if the id was written before.
pub async fn enqueue_vehicle_command(
    tx: &mut dyn Tx,
    vehicle: &VehicleRecord,
    command_id: &str,
    command: &VehicleCommand,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<bool> {
    if vehicle.kind != VehicleKind::Unmanned {
        return Err(
            AppError::new(Code::VehicleTakesNoCommands).with("vehicle", vehicle.code.clone())
        );
    }
    command.check(vehicle)?;
    let operation = serde_json::to_value(command)
        .map_err(|e| AppError::Internal(format!("vehicle command: {e}")))?;
    crate::device_commands::enqueue_device_command(
        tx,
        &crate::device_commands::NewDeviceCommand {
            station_id: VEHICLE_NO_STATION,
            device_kind: VEHICLE_DEVICE_KIND.into(),
            device_id: vehicle.code.clone(),
            command_id: command_id.to_string(),
            not_after: now + chrono::Duration::seconds(VEHICLE_COMMAND_TTL_SECONDS),
            operation,
        },
        now,
    )
    .await
}

/// The rules' memory of every vehicle heard from, and the zones they read,
/// shared by every clone of the app.
#[derive(Default)]
pub struct FleetRules {
    evaluators: HashMap<i64, Evaluator>,
    zones: Option<Arc<Geofences>>,
    /// The vehicles on missions under way at start have evaluators (made
    /// by the first `fleet_tick`), so one that stays silent after a
    /// restart still loses its link.
    seeded: bool,
}

pub type SharedFleetRules = Arc<Mutex<FleetRules>>;

/// A mission with everything on it.
#[derive(Debug, Clone, Serialize)]
pub struct MissionView {
    pub mission: MissionRecord,
    pub vehicle: VehicleRecord,
    pub stops: Vec<MissionStopRecord>,
    pub parcels: Vec<MissionParcelRecord>,
}

/// What a loading scan says: the compartment to put the parcel in.
#[derive(Debug, Clone, Serialize)]
pub struct LoadOutcome {
    pub waybill: String,
    pub compartment: Option<u32>,
    pub compartment_code: String,
    /// Scanned before: nothing changed.
    pub already_loaded: bool,
    pub n_loaded: usize,
    pub n_to_load: usize,
}

/// What a re-plan did.
#[derive(Debug, Clone, Serialize)]
pub struct Replan {
    pub cancelled_mission: i64,
    pub new_missions: Vec<i64>,
    pub n_parcels_moved: usize,
    pub n_stops_moved: usize,
}

/// An incident with its take-over log.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    pub incident: IncidentRecord,
    pub vehicle: VehicleRecord,
    pub log: Vec<IncidentLogEntry>,
}

/// What the live map shows.
#[derive(Debug, Clone, Serialize)]
pub struct FleetMap {
    pub vehicles: Vec<VehicleRecord>,
    pub positions: Vec<VehiclePosition>,
    pub zones: Vec<Zone>,
    pub missions: Vec<MissionView>,
    pub incidents: Vec<IncidentRecord>,
}

/// What a hand-over at a station did.
#[derive(Debug, Clone, Serialize)]
pub struct HandOver {
    pub mission_id: i64,
    pub stop_id: i64,
    pub station_id: i64,
    /// The stop was handed over before: nothing changed.
    pub duplicate: bool,
    /// Parcels now in the station's inbound flow (a slot, and a pickup code
    /// where the recipient consented), with no scan: the compartments'
    /// contents are known.
    pub handed_over: Vec<crate::shelve::InboundOutcome>,
    /// Waybills still aboard (a compartment that did not open, a parcel
    /// the station refused); they go back to the centre with the vehicle.
    pub kept_aboard: Vec<String>,
}

/// A vehicle due at a station: its mission, the stop, and what that stop's
/// compartments hold.
#[derive(Debug, Clone, Serialize)]
pub struct StationArrival {
    pub mission_id: i64,
    pub stop_id: i64,
    pub vehicle: VehicleRecord,
    pub compartments: Vec<u32>,
    pub parcels: Vec<MissionParcelRecord>,
    /// Recipients collect from the vehicle at this stop.
    pub collect_from_vehicle: bool,
    /// The stop is open for collection now.
    pub open_for_collection: bool,
}

/// What opening a vehicle at a stop did: a collect-from-vehicle stop
/// opened for collection, any other stop's compartments told to open for
/// the hand-over.
#[derive(Debug, Clone)]
pub enum StopOpened {
    Collection(CollectionOpened),
    Compartments(Vec<u32>),
}

/// A collect-from-vehicle stop opened for collection: the vehicle stands
/// at the station and its parcels for the stop are on the station's books.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionOpened {
    pub mission_id: i64,
    pub stop_id: i64,
    pub station_id: i64,
    /// Opened before: nothing changed.
    pub duplicate: bool,
    /// Each parcel with the slot it goes to if nobody collects it and, where
    /// the recipient consented, its pickup code (the arrival notice went out
    /// with it).
    pub parcels: Vec<crate::shelve::InboundOutcome>,
    /// Waybills the station refused: they stay aboard.
    pub refused: Vec<String>,
}

/// A recipient's collection straight from a vehicle's compartment.
#[derive(Debug, Clone, Serialize)]
pub struct VehicleCollection {
    pub parcel_id: i64,
    pub waybill_tail: String,
    pub vehicle: String,
    /// The one compartment told to open.
    pub compartment: u32,
    pub command_id: String,
}

/// What the end of a mission did.
#[derive(Debug, Clone, Serialize)]
pub struct MissionEnd {
    pub mission_id: i64,
    /// Waybills that came back aboard; they are at the centre again.
    pub returned: Vec<String>,
}

/// A reason, action or cause a person writes: trimmed, 1 to
/// `INCIDENT_NOTE_CHARS_MAX` characters.
fn note(text: &str, what: (&'static str, &'static str)) -> AppResult<String> {
    let text = text.trim();
    let n_chars = text.chars().count();
    if n_chars == 0 || n_chars > INCIDENT_NOTE_CHARS_MAX {
        return Err(AppError::new(Code::IncidentNoteInvalid)
            .with_words("what", what.0, what.1)
            .with("max", INCIDENT_NOTE_CHARS_MAX));
    }
    Ok(text.to_string())
}

const REASON: (&str, &str) = ("原因", "reason");
const ACTION: (&str, &str) = ("所做的操作", "action taken");
const CAUSE: (&str, &str) = ("事件起因", "cause");

fn vehicle_status_words(status: VehicleStatus) -> (&'static str, &'static str) {
    match status {
        VehicleStatus::Available => ("空闲", "available"),
        VehicleStatus::OnMission => ("任务中", "on a mission"),
        VehicleStatus::BrokenDown => ("故障", "broken down"),
        VehicleStatus::Retired => ("已退役", "retired"),
    }
}

fn mission_status_words(status: MissionStatus) -> (&'static str, &'static str) {
    match status {
        MissionStatus::Planned => ("待出发", "planned"),
        MissionStatus::UnderWay => ("进行中", "under way"),
        MissionStatus::Done => ("已完成", "done"),
        MissionStatus::Cancelled => ("已取消", "cancelled"),
    }
}

fn incident_status_words(status: IncidentStatus) -> (&'static str, &'static str) {
    match status {
        IncidentStatus::Open => ("待处理", "open"),
        IncidentStatus::TakenOver => ("接管中", "taken over"),
        IncidentStatus::Closed => ("已关闭", "closed"),
    }
}

fn unavailable(vehicle: &VehicleRecord) -> AppError {
    let (zh, en) = vehicle_status_words(vehicle.status);
    AppError::new(Code::VehicleUnavailable)
        .with("vehicle", vehicle.code.clone())
        .with_words("status", zh, en)
}

fn not_planned(status: MissionStatus) -> AppError {
    let (zh, en) = mission_status_words(status);
    AppError::new(Code::MissionNotPlanned).with_words("status", zh, en)
}

fn lonlat(point: GeoPoint) -> LonLat {
    LonLat::new(point.lon, point.lat)
}

fn geopoint(point: LonLat) -> GeoPoint {
    GeoPoint {
        lat: point.lat,
        lon: point.lon,
    }
}

fn profile_of(vehicle: &VehicleRecord) -> VehicleProfile {
    VehicleProfile {
        kind: vehicle.kind,
        speed_limit_kmh: vehicle.speed_limit_kmh,
        battery_wh: vehicle.battery_wh,
        consumption_wh_per_km: vehicle.consumption_wh_per_km,
        operating_areas: vehicle.operating_areas.clone(),
    }
}

fn conflict_or(error: StoreError, code: Code) -> AppError {
    match error {
        StoreError::Conflict(_) => AppError::new(code),
        other => other.into(),
    }
}

impl App {
    fn may_run_fleet(principal: &Principal) -> AppResult<()> {
        if principal.may_run_county() {
            Ok(())
        } else {
            Err(AppError::Forbidden("fleet"))
        }
    }

    /// Registers a van or an unmanned vehicle.
    pub async fn register_vehicle(
        &self,
        principal: &Principal,
        vehicle: &NewVehicle,
    ) -> AppResult<VehicleRecord> {
        Self::may_run_fleet(principal)?;
        let invalid = |detail: &str| AppError::new(Code::VehicleInvalid).with_detail(detail);
        let code_ok = !vehicle.code.is_empty()
            && vehicle.code.chars().count() <= VEHICLE_CODE_CHARS_MAX
            && vehicle
                .code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !code_ok {
            return Err(invalid("code: 1 to 16 of a-z, 0-9 and -"));
        }
        let n_name = vehicle.name.trim().chars().count();
        if n_name == 0 || n_name > domain::limits::NAME_CHARS_MAX {
            return Err(invalid("name: 1 to 64 characters"));
        }
        if vehicle.compartments.len() > COMPARTMENTS_MAX as usize {
            return Err(invalid("at most 64 compartments"));
        }
        let mut numbers: Vec<u32> = vehicle.compartments.iter().map(|c| c.number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        if numbers.len() != vehicle.compartments.len()
            || numbers.iter().any(|n| !(1..=COMPARTMENTS_MAX).contains(n))
        {
            return Err(invalid("compartments are numbered 1 to 64, each once"));
        }
        if vehicle.kind == VehicleKind::Unmanned && vehicle.compartments.is_empty() {
            return Err(invalid(
                "an unmanned vehicle carries parcels in compartments",
            ));
        }
        if !(domain::fleet::zone::SPEED_LIMIT_KMH_MIN..=domain::fleet::zone::SPEED_LIMIT_KMH_MAX)
            .contains(&vehicle.speed_limit_kmh)
        {
            return Err(invalid("speed_limit_kmh: 3 to 120"));
        }
        if !(1..=1_000_000).contains(&vehicle.battery_wh)
            || !(1..=10_000).contains(&vehicle.consumption_wh_per_km)
        {
            return Err(invalid(
                "battery_wh: 1 to 1000000, consumption_wh_per_km: 1 to 10000",
            ));
        }
        if !vehicle.depot.is_valid() {
            return Err(invalid("depot: a valid latitude and longitude"));
        }
        if vehicle.operating_areas.len() > 100 || vehicle.station_ids.len() > 1_000 {
            return Err(invalid("at most 100 operating areas and 1000 stations"));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_vehicle(vehicle, now)
            .await
            .map_err(|e| conflict_or(e, Code::VehicleCodeTaken))?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::VehicleRegistered,
            Object::new("vehicle", id),
            serde_json::json!({ "code": vehicle.code, "kind": vehicle.kind.code() }),
        )
        .await?;
        let stored = tx
            .vehicle_for_update(id)
            .await?
            .ok_or(AppError::NotFound("vehicle"))?;
        tx.commit().await?;
        Ok(stored)
    }

    pub async fn vehicles(&self, principal: &Principal) -> AppResult<Vec<VehicleRecord>> {
        Self::may_run_fleet(principal)?;
        Ok(self.store.vehicles().await?)
    }

    /// Adds a geofence; the rules read it from the next message on.
    pub async fn add_zone(&self, principal: &Principal, zone: &Zone) -> AppResult<Zone> {
        Self::may_run_fleet(principal)?;
        zone.validate()
            .map_err(|e| AppError::new(Code::ZoneInvalid).with_detail(e))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_zone(zone, now).await?;
        tx.commit().await?;
        self.fleet_rules.lock().expect("fleet rules").zones = None;
        Ok(Zone { id, ..zone.clone() })
    }

    pub async fn zones(&self, principal: &Principal) -> AppResult<Vec<Zone>> {
        Self::may_run_fleet(principal)?;
        Ok(self.store.zones().await?)
    }

    /// Turns planned routes into missions: per vehicle its stops in order
    /// and each parcel in a compartment (an unmanned vehicle: one parcel per
    /// compartment, the smallest that fits; a van: the stop's cage) with a
    /// code to find it by. All or nothing, in one transaction.
    pub async fn create_missions(
        &self,
        principal: &Principal,
        drafts: &[MissionDraft],
    ) -> AppResult<Vec<i64>> {
        Self::may_run_fleet(principal)?;
        if drafts.is_empty() || drafts.len() > VEHICLES_MAX {
            return Err(AppError::new(Code::MissionInvalid).with_detail("1 to 1000 missions"));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut ids = Vec::new();
        for draft in drafts {
            let vehicle = tx
                .vehicle_for_update(draft.vehicle_id)
                .await?
                .ok_or(AppError::NotFound("vehicle"))?;
            if vehicle.status != VehicleStatus::Available {
                return Err(unavailable(&vehicle));
            }
            let n_parcels: usize = draft.stops.iter().map(|s| s.parcel_ids.len()).sum();
            if draft.stops.is_empty()
                || draft.stops.len() > MISSION_STOPS_MAX
                || n_parcels > MISSION_PARCELS_MAX
            {
                return Err(AppError::new(Code::MissionInvalid)
                    .with_detail("1 to 100 stops and at most 2000 parcels a mission"));
            }
            let mut stops = Vec::new();
            let mut free: Vec<Compartment> = vehicle.compartments.clone();
            free.sort_by_key(|c| (c.size, c.number));
            for (seq, stop) in draft.stops.iter().enumerate() {
                let station = tx
                    .station(stop.station_id)
                    .await?
                    .ok_or(AppError::NotFound("station"))?;
                if !vehicle.station_ids.is_empty() && !vehicle.station_ids.contains(&station.id) {
                    return Err(AppError::new(Code::StationNotCleared)
                        .with("vehicle", vehicle.code.clone())
                        .with("station", station.name.clone()));
                }
                let Some(location) = station.location else {
                    return Err(AppError::new(Code::MissionInvalid)
                        .with_detail(format!("station {} has no location", station.id)));
                };
                let mut parcels = Vec::new();
                for parcel_id in &stop.parcel_ids {
                    let parcel = tx
                        .parcel(*parcel_id)
                        .await?
                        .ok_or(AppError::NotFound("parcel"))?;
                    let waiting = matches!(
                        parcel.state,
                        ParcelState::ArrivedAtCentre | ParcelState::Sorted
                    );
                    if !waiting || parcel.station_id != Some(station.id) {
                        return Err(AppError::new(Code::ParcelNotForMission)
                            .with("waybill", parcel.waybill.to_string()));
                    }
                    let (compartment, compartment_code) = if vehicle.kind == VehicleKind::Unmanned {
                        let Some(at) = free.iter().position(|c| c.size >= parcel.size) else {
                            return Err(AppError::new(Code::CompartmentsShort)
                                .with("vehicle", vehicle.code.clone())
                                .with("needed", n_parcels)
                                .with("available", vehicle.compartments.len()));
                        };
                        let compartment = free.remove(at);
                        (
                            Some(compartment.number),
                            format!("{}-{:02}", vehicle.code, compartment.number),
                        )
                    } else {
                        (None, format!("{}-s{}", vehicle.code, seq + 1))
                    };
                    parcels.push(NewMissionParcel {
                        parcel_id: parcel.id,
                        waybill: parcel.waybill.to_string(),
                        compartment,
                        compartment_code,
                        status: LoadStatus::Planned,
                    });
                }
                if stop.collect_from_vehicle && vehicle.kind != VehicleKind::Unmanned {
                    return Err(AppError::new(Code::MissionInvalid).with_detail(
                        "only an unmanned vehicle's compartments can be collected from",
                    ));
                }
                stops.push(NewMissionStop {
                    station_id: station.id,
                    location,
                    planned_arrival: stop.planned_arrival,
                    parcels,
                    collect_from_vehicle: stop.collect_from_vehicle,
                });
            }
            let mission = NewMission {
                vehicle_id: vehicle.id,
                planned_departure: draft.planned_departure,
                created_by: principal.username.clone(),
                stops,
            };
            let id = tx
                .insert_mission(&mission, now)
                .await
                .map_err(|e| conflict_or(e, Code::ParcelOnAnotherMission))?;
            ids.push(id);
        }
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::MissionsCreated,
            Object::county("missions"),
            serde_json::json!({ "missions": ids }),
        )
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn mission(&self, principal: &Principal, id: i64) -> AppResult<MissionView> {
        Self::may_run_fleet(principal)?;
        mission_view(&*self.store, id).await
    }

    /// Missions, newest first (active ones only when asked).
    pub async fn missions(
        &self,
        principal: &Principal,
        active_only: bool,
    ) -> AppResult<Vec<MissionRecord>> {
        Self::may_run_fleet(principal)?;
        Ok(self.store.missions(active_only, 200).await?)
    }

    /// A parcel scanned at the vehicle while loading: says which compartment
    /// it goes in and records it aboard. Scanning it again changes nothing.
    pub async fn load_scan(
        &self,
        principal: &Principal,
        mission_id: i64,
        waybill: &str,
    ) -> AppResult<LoadOutcome> {
        Self::may_run_fleet(principal)?;
        let waybill = waybill.trim();
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mission = tx
            .mission_in(mission_id)
            .await?
            .ok_or(AppError::NotFound("mission"))?;
        tx.vehicle_for_update(mission.vehicle_id).await?;
        if mission.status != MissionStatus::Planned {
            return Err(not_planned(mission.status));
        }
        let parcels = tx.mission_parcels_in(mission_id).await?;
        let Some(parcel) = parcels
            .iter()
            .find(|p| p.waybill.eq_ignore_ascii_case(waybill) && p.status.is_aboard())
        else {
            return Err(
                AppError::new(Code::WaybillNotInMission).with("waybill", waybill.to_string())
            );
        };
        let already_loaded = parcel.status == LoadStatus::Loaded;
        if !already_loaded {
            tx.set_load_status(parcel.id, LoadStatus::Planned, LoadStatus::Loaded, now)
                .await?;
        }
        tx.commit().await?;
        let n_to_load = parcels.iter().filter(|p| p.status.is_aboard()).count();
        let n_loaded = parcels
            .iter()
            .filter(|p| p.status == LoadStatus::Loaded)
            .count()
            + usize::from(!already_loaded);
        Ok(LoadOutcome {
            waybill: parcel.waybill.clone(),
            compartment: parcel.compartment,
            compartment_code: parcel.compartment_code.clone(),
            already_loaded,
            n_loaded,
            n_to_load,
        })
    }

    /// Sends a fully loaded mission on its way.
    pub async fn start_mission(&self, principal: &Principal, mission_id: i64) -> AppResult<()> {
        Self::may_run_fleet(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mission = tx
            .mission_in(mission_id)
            .await?
            .ok_or(AppError::NotFound("mission"))?;
        let vehicle = tx
            .vehicle_for_update(mission.vehicle_id)
            .await?
            .ok_or(AppError::NotFound("vehicle"))?;
        if mission.status != MissionStatus::Planned {
            return Err(not_planned(mission.status));
        }
        let parcels = tx.mission_parcels_in(mission_id).await?;
        let n_left = parcels
            .iter()
            .filter(|p| p.status == LoadStatus::Planned)
            .count();
        if n_left > 0 {
            return Err(AppError::new(Code::MissionNotLoaded).with("n", n_left));
        }
        tx.set_mission_status(mission_id, MissionStatus::UnderWay, now)
            .await?;
        tx.set_vehicle_status(mission.vehicle_id, VehicleStatus::OnMission)
            .await?;
        // An unmanned vehicle is told to go; a van's driver is.
        let commanded = vehicle.kind == VehicleKind::Unmanned;
        if commanded {
            enqueue_vehicle_command(
                &mut *tx,
                &vehicle,
                &mission_start_command_id(mission_id),
                &VehicleCommand::StartMission { mission_id },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if commanded {
            (self.device_waker)();
        }
        let stops = self.store.mission_stops(mission_id).await?;
        let vehicle = self.store.vehicle(mission.vehicle_id).await?;
        if let Some(vehicle) = vehicle {
            let mut waypoints: Vec<LonLat> = stops.iter().map(|s| lonlat(s.location)).collect();
            waypoints.push(lonlat(vehicle.depot));
            let mut rules = self.fleet_rules.lock().expect("fleet rules");
            let evaluator = rules
                .evaluators
                .entry(vehicle.id)
                .or_insert_with(|| Evaluator::new(profile_of(&vehicle), RuleSettings::default()));
            evaluator.set_route(waypoints);
            // From now on it must speak: silence raises `link_lost`.
            evaluator.expect_from(now.timestamp_millis(), lonlat(vehicle.depot));
        }
        Ok(())
    }

    /// A vehicle broke down: its mission's remaining stops and every parcel
    /// still aboard move, in order, onto missions of the vehicles named
    /// (each takes stops while its compartments last), the old mission is
    /// cancelled and the vehicle marked broken down. All in one transaction:
    /// a parcel is aboard exactly one mission before and after.
    pub async fn replan_broken_down(
        &self,
        principal: &Principal,
        vehicle_id: i64,
        onto: &[i64],
        why: &str,
    ) -> AppResult<Replan> {
        Self::may_run_fleet(principal)?;
        let why = note(why, REASON)?;
        if onto.is_empty() || onto.contains(&vehicle_id) || onto.len() > 50 {
            return Err(AppError::new(Code::ReplanNoVehicle));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let broken = tx
            .vehicle_for_update(vehicle_id)
            .await?
            .ok_or(AppError::NotFound("vehicle"))?;
        let Some(mission) = self.store.active_mission(vehicle_id).await? else {
            return Err(AppError::new(Code::MissionNotActive));
        };
        let stops = tx.mission_stops_in(mission.id).await?;
        let parcels = tx.mission_parcels_in(mission.id).await?;
        let remaining: Vec<&MissionStopRecord> =
            stops.iter().filter(|s| s.status == "pending").collect();
        let mut targets = Vec::new();
        for id in onto {
            let vehicle = tx
                .vehicle_for_update(*id)
                .await?
                .ok_or(AppError::NotFound("vehicle"))?;
            if vehicle.status != VehicleStatus::Available {
                return Err(unavailable(&vehicle));
            }
            targets.push(vehicle);
        }
        // Stops in order onto the vehicles in order, while compartments last.
        let mut plans: Vec<(usize, Vec<NewMissionStop>, Vec<Compartment>)> = targets
            .iter()
            .enumerate()
            .map(|(idx, v)| {
                let mut free = v.compartments.clone();
                free.sort_by_key(|c| (c.size, c.number));
                (idx, Vec::new(), free)
            })
            .collect();
        let mut target_idx = 0;
        let mut n_parcels_moved = 0;
        for stop in &remaining {
            let aboard: Vec<&MissionParcelRecord> = parcels
                .iter()
                .filter(|p| p.stop_id == stop.id && p.status.is_aboard())
                .collect();
            let mut placed = false;
            while target_idx < targets.len() {
                let vehicle = &targets[target_idx];
                if !vehicle.station_ids.is_empty()
                    && !vehicle.station_ids.contains(&stop.station_id)
                {
                    target_idx += 1;
                    continue;
                }
                let (_, plan_stops, free) = &mut plans[target_idx];
                let fits = vehicle.kind == VehicleKind::Van || free.len() >= aboard.len();
                if !fits {
                    target_idx += 1;
                    continue;
                }
                let seq = plan_stops.len() + 1;
                let mut moved = Vec::new();
                for parcel in &aboard {
                    let (compartment, code) = if vehicle.kind == VehicleKind::Unmanned {
                        let compartment = free.remove(0);
                        (
                            Some(compartment.number),
                            format!("{}-{:02}", vehicle.code, compartment.number),
                        )
                    } else {
                        (None, format!("{}-s{seq}", vehicle.code))
                    };
                    moved.push(NewMissionParcel {
                        parcel_id: parcel.parcel_id,
                        waybill: parcel.waybill.clone(),
                        compartment,
                        compartment_code: code,
                        status: LoadStatus::Planned,
                    });
                }
                plan_stops.push(NewMissionStop {
                    station_id: stop.station_id,
                    location: stop.location,
                    planned_arrival: stop.planned_arrival,
                    parcels: moved,
                    // A van's driver hands parcels over at the station.
                    collect_from_vehicle: stop.collect_from_vehicle
                        && vehicle.kind == VehicleKind::Unmanned,
                });
                placed = true;
                break;
            }
            if !placed {
                return Err(AppError::new(Code::ReplanNoRoom).with("n", remaining.len()));
            }
            for parcel in &aboard {
                if !tx
                    .set_load_status(parcel.id, parcel.status, LoadStatus::Moved, now)
                    .await?
                {
                    return Err(AppError::Contended("mission parcel moved meanwhile".into()));
                }
                n_parcels_moved += 1;
            }
            tx.set_stop_status(stop.id, "moved", None).await?;
        }
        tx.set_mission_status(mission.id, MissionStatus::Cancelled, now)
            .await?;
        tx.set_vehicle_status(vehicle_id, VehicleStatus::BrokenDown)
            .await?;
        let mut new_missions = Vec::new();
        for (idx, plan_stops, _) in plans {
            if plan_stops.is_empty() {
                continue;
            }
            let id = tx
                .insert_mission(
                    &NewMission {
                        vehicle_id: targets[idx].id,
                        planned_departure: now,
                        created_by: principal.username.clone(),
                        stops: plan_stops,
                    },
                    now,
                )
                .await
                .map_err(|e| conflict_or(e, Code::ParcelOnAnotherMission))?;
            new_missions.push(id);
        }
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::MissionReplanned,
            Object::new("vehicle", broken.id),
            serde_json::json!({ "mission": mission.id, "onto": new_missions, "parcels": n_parcels_moved, "why": why }),
        )
        .await?;
        tx.commit().await?;
        Ok(Replan {
            cancelled_mission: mission.id,
            new_missions,
            n_parcels_moved,
            n_stops_moved: remaining.len(),
        })
    }

    /// The vehicle stands at a stop and its compartments are opened (by the
    /// keeper at the console, or the station's terminal): every parcel for
    /// this stop in a compartment that opened enters the station's inbound
    /// flow through `shelve`, with no scan, since the mission knows what each
    /// compartment holds. `opened`: the compartments that opened (none
    /// given: all of the stop's, as for a van's cage). A parcel whose
    /// compartment stayed shut, or that the station refuses, stays aboard
    /// and goes back to the centre. Handing a stop over again changes nothing.
    pub async fn hand_over_at_stop(
        &self,
        principal: &Principal,
        mission_id: i64,
        stop_id: i64,
        opened: Option<&[u32]>,
    ) -> AppResult<HandOver> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mission = tx
            .mission_in(mission_id)
            .await?
            .ok_or(AppError::NotFound("mission"))?;
        let stop = tx
            .mission_stops_in(mission_id)
            .await?
            .into_iter()
            .find(|stop| stop.id == stop_id)
            .ok_or(AppError::NotFound("mission"))?;
        // The keeper, county staff, or the station's own 24-hour terminal
        // (the automatic hand-over).
        if !principal.may_run_terminal(stop.station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let mut outcome = HandOver {
            mission_id,
            stop_id,
            station_id: stop.station_id,
            duplicate: stop.status != "pending",
            handed_over: Vec::new(),
            kept_aboard: Vec::new(),
        };
        if outcome.duplicate {
            return Ok(outcome);
        }
        if mission.status != MissionStatus::UnderWay {
            return Err(AppError::new(Code::MissionNotActive));
        }
        let station = crate::transition::lock_station(&mut *tx, stop.station_id).await?;
        let aboard: Vec<MissionParcelRecord> = tx
            .mission_parcels_in(mission_id)
            .await?
            .into_iter()
            .filter(|p| p.stop_id == stop_id && p.status == LoadStatus::Loaded)
            .collect();
        let mut handing = Vec::new();
        let mut scans = Vec::new();
        for parcel in aboard {
            let opens = match (opened, parcel.compartment) {
                (Some(opened), Some(number)) => opened.contains(&number),
                _ => true,
            };
            let record = tx.parcel(parcel.parcel_id).await?;
            match record {
                Some(record) if opens => {
                    scans.push(crate::shelve::InboundScan {
                        carrier: record.carrier,
                        waybill: record.waybill.clone(),
                        recipient_name: None,
                        phone: None,
                        size: record.size,
                        consent: None,
                    });
                    handing.push(parcel);
                }
                _ => outcome.kept_aboard.push(parcel.waybill.clone()),
            }
        }
        let by = self.by(principal);
        let inbound = crate::shelve::shelve_many(&mut *tx, by, &station, &scans).await?;
        for rejected in &inbound.rejected {
            outcome.kept_aboard.push(rejected.waybill.clone());
        }
        for stored in inbound.stored {
            let Some(parcel) = handing.iter().find(|p| p.parcel_id == stored.parcel_id) else {
                continue;
            };
            if !tx
                .set_load_status(parcel.id, LoadStatus::Loaded, LoadStatus::HandedOver, now)
                .await?
            {
                return Err(AppError::Contended("mission parcel moved meanwhile".into()));
            }
            outcome.handed_over.push(stored);
        }
        tx.set_stop_status(stop_id, "done", Some(now)).await?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::VehicleHandedOver,
            Object::new("mission", mission_id).at(Some(stop.station_id)),
            serde_json::json!({
                "stop": stop_id,
                "handed_over": outcome.handed_over.len(),
                "kept_aboard": outcome.kept_aboard,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The missions under way with a stop at this station still to hand
    /// over, for the keeper's console: each with its vehicle, and that
    /// stop's parcels and compartments.
    pub async fn vehicles_due_at_station(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<Vec<StationArrival>> {
        if !principal.may_run_terminal(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let mut due = Vec::new();
        for mission in self.store.missions(true, 200).await? {
            if mission.status != MissionStatus::UnderWay {
                continue;
            }
            let view = mission_view(&*self.store, mission.id).await?;
            for stop in &view.stops {
                if stop.station_id != station_id || stop.status != "pending" {
                    continue;
                }
                let parcels: Vec<MissionParcelRecord> = view
                    .parcels
                    .iter()
                    .filter(|p| p.stop_id == stop.id && p.status == LoadStatus::Loaded)
                    .cloned()
                    .collect();
                let mut compartments: Vec<u32> =
                    parcels.iter().filter_map(|p| p.compartment).collect();
                compartments.sort_unstable();
                compartments.dedup();
                due.push(StationArrival {
                    mission_id: mission.id,
                    stop_id: stop.id,
                    vehicle: view.vehicle.clone(),
                    compartments,
                    parcels,
                    collect_from_vehicle: stop.collect_from_vehicle,
                    open_for_collection: stop.collection_opened_at.is_some(),
                });
            }
        }
        Ok(due)
    }

    /// The vehicle stands at the station: the keeper (or the station's
    /// terminal) has its compartments for this stop opened, by a signed
    /// command over the bus (`open_compartment`, in the transaction of the
    /// audit row). The parcels then go in with [`App::hand_over_at_stop`],
    /// naming the compartments that opened. Returns the compartments.
    /// A vehicle stands at a stop: the plan decides what opening means. A
    /// collect-from-vehicle stop opens for collection
    /// ([`App::open_stop_for_collection`], which checks the flag inside its
    /// own transaction), any other stop's compartments open for the
    /// hand-over ([`App::open_compartments_at_stop`]).
    pub async fn open_at_stop(
        &self,
        principal: &Principal,
        mission_id: i64,
        stop_id: i64,
    ) -> AppResult<StopOpened> {
        match self
            .open_stop_for_collection(principal, mission_id, stop_id)
            .await
        {
            Err(error) if error.code() == Code::StopNotForCollection => {
                Ok(StopOpened::Compartments(
                    self.open_compartments_at_stop(principal, mission_id, stop_id)
                        .await?,
                ))
            }
            opened => opened.map(StopOpened::Collection),
        }
    }

    pub async fn open_compartments_at_stop(
        &self,
        principal: &Principal,
        mission_id: i64,
        stop_id: i64,
    ) -> AppResult<Vec<u32>> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mission = tx
            .mission_in(mission_id)
            .await?
            .ok_or(AppError::NotFound("mission"))?;
        let stop = tx
            .mission_stops_in(mission_id)
            .await?
            .into_iter()
            .find(|stop| stop.id == stop_id)
            .ok_or(AppError::NotFound("mission"))?;
        if !principal.may_run_terminal(stop.station_id) {
            return Err(AppError::Forbidden("station"));
        }
        if mission.status != MissionStatus::UnderWay || stop.status != "pending" {
            return Err(AppError::new(Code::MissionNotActive));
        }
        let vehicle = tx
            .vehicle_for_update(mission.vehicle_id)
            .await?
            .ok_or(AppError::NotFound("vehicle"))?;
        let mut compartments: Vec<u32> = tx
            .mission_parcels_in(mission_id)
            .await?
            .iter()
            .filter(|p| p.stop_id == stop_id && p.status == LoadStatus::Loaded)
            .filter_map(|p| p.compartment)
            .collect();
        compartments.sort_unstable();
        compartments.dedup();
        if compartments.is_empty() {
            return Err(AppError::new(Code::VehicleCommandInvalid).with_words(
                "what",
                "这一站没有要交接的格口",
                "this stop has no compartments to hand over",
            ));
        }
        let command_id = format!(
            "mission-{mission_id}-stop-{stop_id}-open-{}",
            now.timestamp_millis()
        );
        enqueue_vehicle_command(
            &mut *tx,
            &vehicle,
            &command_id,
            &VehicleCommand::OpenCompartment {
                compartments: compartments.clone(),
            },
            now,
        )
        .await?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::VehicleCompartmentsOpened,
            Object::new("mission", mission_id).at(Some(stop.station_id)),
            serde_json::json!({
                "stop": stop_id, "vehicle": vehicle.code,
                "compartments": compartments, "command": command_id,
            }),
        )
        .await?;
        tx.commit().await?;
        (self.device_waker)();
        Ok(compartments)
    }

    /// The vehicle stands at a stop the plan marks "collect from the
    /// vehicle" (the keeper, county staff or the station's terminal says
    /// so): the stop's parcels aboard enter the station's inbound flow
    /// through `shelve` while still in their compartments — each gets the
    /// slot it goes to if nobody collects it and, where the recipient
    /// consented, a pickup code and the arrival notice — so recipients can
    /// collect with the same proof as at the door
    /// ([`App::collect_from_vehicle`]). The hand-over
    /// ([`App::hand_over_at_stop`]) later puts what is left on the shelves.
    /// Opening again changes nothing.
    pub async fn open_stop_for_collection(
        &self,
        principal: &Principal,
        mission_id: i64,
        stop_id: i64,
    ) -> AppResult<CollectionOpened> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mission = tx
            .mission_in(mission_id)
            .await?
            .ok_or(AppError::NotFound("mission"))?;
        let stop = tx
            .mission_stops_in(mission_id)
            .await?
            .into_iter()
            .find(|stop| stop.id == stop_id)
            .ok_or(AppError::NotFound("mission"))?;
        if !principal.may_run_terminal(stop.station_id) {
            return Err(AppError::Forbidden("station"));
        }
        if !stop.collect_from_vehicle {
            return Err(AppError::new(Code::StopNotForCollection));
        }
        let mut outcome = CollectionOpened {
            mission_id,
            stop_id,
            station_id: stop.station_id,
            duplicate: stop.collection_opened_at.is_some() || stop.status != "pending",
            parcels: Vec::new(),
            refused: Vec::new(),
        };
        if outcome.duplicate {
            return Ok(outcome);
        }
        if mission.status != MissionStatus::UnderWay {
            return Err(AppError::new(Code::MissionNotActive));
        }
        let station = crate::transition::lock_station(&mut *tx, stop.station_id).await?;
        let mut scans = Vec::new();
        for parcel in tx.mission_parcels_in(mission_id).await? {
            if parcel.stop_id != stop_id || parcel.status != LoadStatus::Loaded {
                continue;
            }
            match tx.parcel(parcel.parcel_id).await? {
                Some(record) => scans.push(crate::shelve::InboundScan {
                    carrier: record.carrier,
                    waybill: record.waybill.clone(),
                    recipient_name: None,
                    phone: None,
                    size: record.size,
                    consent: None,
                }),
                None => outcome.refused.push(parcel.waybill.clone()),
            }
        }
        let by = self.by(principal);
        let inbound = crate::shelve::shelve_many(&mut *tx, by, &station, &scans).await?;
        outcome
            .refused
            .extend(inbound.rejected.iter().map(|r| r.waybill.clone()));
        outcome.parcels = inbound.stored;
        if !tx.open_stop_for_collection(stop_id, now).await? {
            return Err(AppError::Contended("stop opened meanwhile".into()));
        }
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::VehicleCollectionOpened,
            Object::new("mission", mission_id).at(Some(stop.station_id)),
            serde_json::json!({
                "stop": stop_id,
                "parcels": outcome.parcels.len(),
                "refused": outcome.refused,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// A recipient at a vehicle standing open for collection enters their
    /// pickup code and phone tail (or shows their QR code) at the station's
    /// terminal: the proof, its throttles and the guessing alert are the
    /// door's own (`pickup_proof`, one count of attempts for both). The
    /// server sends the vehicle a signed `open_compartment` for that
    /// parcel's compartment only and records the parcel picked up by its
    /// recipient, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn collect_from_vehicle(
        &self,
        principal: &Principal,
        station_id: i64,
        terminal: &str,
        source: &str,
        text: &str,
        phone_tail: Option<&str>,
    ) -> AppResult<VehicleCollection> {
        if !principal.may_run_terminal(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let terminal = domain::limits::text_field("terminal", terminal, 64)
            .map_err(crate::error::text_invalid("terminal", 64))?;
        let entry = domain::terminal::parse_entry(text, phone_tail)
            .map_err(AppError::detail(Code::PickupEntryInvalid))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let station = crate::transition::lock_station(&mut *tx, station_id).await?;
        let source: String = source.chars().take(64).collect();
        let found = crate::pickup_proof::prove(
            &mut *tx,
            &self.secrets.qr_key,
            crate::pickup_proof::throttles(&self.settings),
            &station,
            terminal,
            &source,
            &entry,
            now,
        )
        .await?;
        let Some(mut parcel) = found else {
            tx.commit().await?;
            tracing::info!(
                station = station_id,
                terminal,
                "wrong pickup code at a vehicle"
            );
            return Err(AppError::new(Code::PickupCodeWrong));
        };
        // The vehicle standing here open for collection with the parcel
        // still in its compartment.
        let mut hit = None;
        for mission in self.store.missions(true, 200).await? {
            if mission.status != MissionStatus::UnderWay {
                continue;
            }
            let open: Vec<i64> = tx
                .mission_stops_in(mission.id)
                .await?
                .iter()
                .filter(|s| {
                    s.station_id == station_id
                        && s.status == "pending"
                        && s.collection_opened_at.is_some()
                })
                .map(|s| s.id)
                .collect();
            if open.is_empty() {
                continue;
            }
            if let Some(load) = tx
                .mission_parcels_in(mission.id)
                .await?
                .into_iter()
                .find(|p| {
                    p.parcel_id == parcel.id
                        && open.contains(&p.stop_id)
                        && p.status == LoadStatus::Loaded
                })
            {
                hit = Some((mission, load));
                break;
            }
        }
        let Some((mission, load)) = hit else {
            // The proof was right (and counts as such): the parcel is on
            // the shelves, for the door.
            tx.commit().await?;
            return Err(AppError::new(Code::ParcelNotOnVehicle));
        };
        let vehicle = tx
            .vehicle_for_update(mission.vehicle_id)
            .await?
            .ok_or(AppError::NotFound("vehicle"))?;
        let compartment = load
            .compartment
            .ok_or(AppError::new(Code::ParcelNotOnVehicle))?;
        let command_id = format!(
            "mission-{}-stop-{}-collect-{}",
            mission.id, load.stop_id, load.id
        );
        enqueue_vehicle_command(
            &mut *tx,
            &vehicle,
            &command_id,
            &VehicleCommand::OpenCompartment {
                compartments: vec![compartment],
            },
            now,
        )
        .await?;
        let proof = match entry {
            domain::terminal::CodeEntry::Code { .. } => "code_and_phone_tail",
            domain::terminal::CodeEntry::Qr(_) => "qr",
        };
        crate::transition::apply(
            &mut *tx,
            self.by(principal),
            Some(&station),
            &mut parcel,
            domain::Action::PickUp,
            serde_json::json!({
                "proof": proof, "terminal": terminal, "vehicle": vehicle.code,
                "compartment": compartment, "command": command_id,
            }),
        )
        .await?;
        if !tx
            .set_load_status(load.id, LoadStatus::Loaded, LoadStatus::HandedOver, now)
            .await?
        {
            return Err(AppError::Contended("mission parcel moved meanwhile".into()));
        }
        tx.commit().await?;
        (self.device_waker)();
        tracing::info!(
            station = station_id,
            vehicle = %vehicle.code,
            compartment,
            parcel = parcel.id,
            "parcel collected from a vehicle's compartment"
        );
        Ok(VehicleCollection {
            parcel_id: parcel.id,
            waybill_tail: parcel.waybill.tail().to_string(),
            vehicle: vehicle.code,
            compartment,
            command_id,
        })
    }

    /// The vehicle is back at its depot: whatever is still aboard is back
    /// at the centre (for the parcel it never left: it waits there as
    /// before), the mission is done and the vehicle free for the next.
    pub async fn finish_mission(
        &self,
        principal: &Principal,
        mission_id: i64,
    ) -> AppResult<MissionEnd> {
        Self::may_run_fleet(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mission = tx
            .mission_in(mission_id)
            .await?
            .ok_or(AppError::NotFound("mission"))?;
        tx.vehicle_for_update(mission.vehicle_id).await?;
        if mission.status != MissionStatus::UnderWay {
            return Err(AppError::new(Code::MissionNotActive));
        }
        let mut returned = Vec::new();
        for parcel in tx.mission_parcels_in(mission_id).await? {
            if parcel.status.is_aboard() {
                if !tx
                    .set_load_status(parcel.id, parcel.status, LoadStatus::Returned, now)
                    .await?
                {
                    return Err(AppError::Contended("mission parcel moved meanwhile".into()));
                }
                returned.push(parcel.waybill);
            }
        }
        tx.set_mission_status(mission_id, MissionStatus::Done, now)
            .await?;
        tx.set_vehicle_status(mission.vehicle_id, VehicleStatus::Available)
            .await?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::MissionFinished,
            Object::new("mission", mission_id),
            serde_json::json!({ "vehicle": mission.vehicle_id, "returned": returned }),
        )
        .await?;
        tx.commit().await?;
        // Nothing ahead: the battery rule has no rest of a mission to
        // estimate until the next one starts.
        if let Some(evaluator) = self
            .fleet_rules
            .lock()
            .expect("fleet rules")
            .evaluators
            .get_mut(&mission.vehicle_id)
        {
            evaluator.set_route(Vec::new());
        }
        Ok(MissionEnd {
            mission_id,
            returned,
        })
    }

    /// One telemetry message from a vehicle (the bridge, the simulator):
    /// runs the rules and stores each incident they open, with the command
    /// the rule names. Returns the incidents opened.
    pub async fn ingest_telemetry(
        &self,
        vehicle_code: &str,
        telemetry: &Telemetry,
    ) -> AppResult<Vec<i64>> {
        let vehicle = self
            .store
            .vehicle_by_code(vehicle_code)
            .await?
            .ok_or(AppError::NotFound("vehicle"))?;
        let zones = self.fleet_zones().await?;
        self.ensure_evaluator(&vehicle).await?;
        let alerts = {
            let mut rules = self.fleet_rules.lock().expect("fleet rules");
            rules
                .evaluators
                .entry(vehicle.id)
                .or_insert_with(|| Evaluator::new(profile_of(&vehicle), RuleSettings::default()))
                .observe(&zones, telemetry)
        };
        let mut tx = self.store.begin().await?;
        tx.set_vehicle_position(&VehiclePosition {
            vehicle_id: vehicle.id,
            at: DateTime::from_timestamp_millis(telemetry.at_ms).unwrap_or_default(),
            position: geopoint(telemetry.position),
            speed_kmh: telemetry.speed_kmh,
            battery_pct: telemetry.battery_pct.clamp(0.0, 100.0).round() as u32,
        })
        .await?;
        let (ids, n_commands) = self.store_alerts(&mut *tx, &vehicle, &alerts).await?;
        tx.commit().await?;
        if n_commands > 0 {
            (self.device_waker)();
        }
        Ok(ids)
    }

    /// Makes the vehicle's evaluator the first time it is heard from after
    /// a start, with what the database knows: whether one of its incidents
    /// is taken over (the rules then command it nothing) and the rest of
    /// its mission under way (for the battery rule). So a restart forgets
    /// neither.
    async fn ensure_evaluator(&self, vehicle: &VehicleRecord) -> AppResult<()> {
        if self
            .fleet_rules
            .lock()
            .expect("fleet rules")
            .evaluators
            .contains_key(&vehicle.id)
        {
            return Ok(());
        }
        let taken_over = self.store.vehicle_taken_over(vehicle.id).await?;
        let mut route = Vec::new();
        if let Some(mission) = self.store.active_mission(vehicle.id).await?
            && mission.status == MissionStatus::UnderWay
        {
            route = self
                .store
                .mission_stops(mission.id)
                .await?
                .iter()
                .filter(|stop| stop.status == "pending")
                .map(|stop| lonlat(stop.location))
                .collect();
            route.push(lonlat(vehicle.depot));
        }
        let mut evaluator = Evaluator::new(profile_of(vehicle), RuleSettings::default());
        evaluator.set_taken_over(taken_over);
        if !route.is_empty() {
            evaluator.set_route(route);
        }
        self.fleet_rules
            .lock()
            .expect("fleet rules")
            .evaluators
            .entry(vehicle.id)
            .or_insert(evaluator);
        Ok(())
    }

    /// The silence rule for every vehicle heard from, or expected to speak
    /// (on a mission under way); call on a timer. The first tick after a
    /// start makes the evaluators of the vehicles on missions under way,
    /// so a vehicle that never speaks again still raises `link_lost`.
    pub async fn fleet_tick(&self) -> AppResult<Vec<i64>> {
        let now_ms = self.now().timestamp_millis();
        let seeded = self.fleet_rules.lock().expect("fleet rules").seeded;
        if !seeded {
            let positions = self.store.vehicle_positions().await?;
            let missions = self.store.missions(true, MISSIONS_SEEDED_MAX).await?;
            if missions.len() >= MISSIONS_SEEDED_MAX as usize {
                // A county's fleet is tens of vehicles; say so rather than
                // silently leave a vehicle unwatched if it ever is not.
                tracing::warn!(
                    max = MISSIONS_SEEDED_MAX,
                    "more active missions than the silence rule seeds at start"
                );
            }
            for mission in missions {
                if mission.status != MissionStatus::UnderWay {
                    continue;
                }
                let Some(vehicle) = self.store.vehicle(mission.vehicle_id).await? else {
                    continue;
                };
                self.ensure_evaluator(&vehicle).await?;
                // Silence counts from this start (what came before it is
                // not the vehicle's fault), from where it was last seen.
                let position = positions
                    .iter()
                    .find(|p| p.vehicle_id == vehicle.id)
                    .map_or(vehicle.depot, |p| p.position);
                if let Some(evaluator) = self
                    .fleet_rules
                    .lock()
                    .expect("fleet rules")
                    .evaluators
                    .get_mut(&vehicle.id)
                {
                    evaluator.expect_from(now_ms, lonlat(position));
                }
            }
            self.fleet_rules.lock().expect("fleet rules").seeded = true;
        }
        let raised: Vec<(i64, Vec<Alert>)> = {
            let mut rules = self.fleet_rules.lock().expect("fleet rules");
            rules
                .evaluators
                .iter_mut()
                .map(|(id, evaluator)| (*id, evaluator.tick(now_ms)))
                .filter(|(_, alerts)| !alerts.is_empty())
                .collect()
        };
        let mut ids = Vec::new();
        for (vehicle_id, alerts) in raised {
            let Some(vehicle) = self.store.vehicle(vehicle_id).await? else {
                continue;
            };
            let mut tx = self.store.begin().await?;
            let (opened, n_commands) = self.store_alerts(&mut *tx, &vehicle, &alerts).await?;
            tx.commit().await?;
            if n_commands > 0 {
                (self.device_waker)();
            }
            ids.extend(opened);
        }
        Ok(ids)
    }

    async fn store_alerts(
        &self,
        tx: &mut dyn Tx,
        vehicle: &VehicleRecord,
        alerts: &[Alert],
    ) -> AppResult<(Vec<i64>, usize)> {
        if alerts.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let mut n_commands = 0;
        let mission_id = self.store.active_mission(vehicle.id).await?.map(|m| m.id);
        let mut ids = Vec::new();
        for alert in alerts {
            let incident = NewIncident {
                vehicle_id: vehicle.id,
                mission_id,
                rule: alert.rule.code().to_string(),
                subject: alert.subject.clone(),
                opened_at: DateTime::from_timestamp_millis(alert.at_ms).unwrap_or_default(),
                position: geopoint(alert.position),
                evidence: serde_json::to_string(&alert.evidence)
                    .map_err(|e| AppError::Internal(format!("evidence: {e}")))?,
                command: alert
                    .command
                    .map(|c| serde_json::to_string(&c).unwrap_or_else(|_| c.op().to_string())),
            };
            if let Some(id) = tx.insert_incident(&incident).await? {
                tracing::warn!(
                    vehicle = %vehicle.code,
                    rule = alert.rule.code(),
                    subject = %alert.subject,
                    command = alert.command.map_or("none", |c| c.op()),
                    incident = id,
                    "vehicle incident"
                );
                // The rule's command goes out with the incident, in its
                // transaction (the rules name one only for an unmanned
                // vehicle nobody has taken over).
                if let Some(command) = alert.command
                    && vehicle.kind == VehicleKind::Unmanned
                {
                    let command = VehicleCommand::from(command);
                    enqueue_vehicle_command(
                        tx,
                        vehicle,
                        &incident_command_id(id, command.op()),
                        &command,
                        self.now(),
                    )
                    .await?;
                    n_commands += 1;
                }
                ids.push(id);
            }
        }
        Ok((ids, n_commands))
    }

    async fn fleet_zones(&self) -> AppResult<Arc<Geofences>> {
        if let Some(zones) = &self.fleet_rules.lock().expect("fleet rules").zones {
            return Ok(zones.clone());
        }
        let zones = Arc::new(Geofences::new(self.store.zones().await?));
        self.fleet_rules.lock().expect("fleet rules").zones = Some(zones.clone());
        Ok(zones)
    }

    /// Incidents, oldest first after the cursor; only those not closed when asked.
    pub async fn incidents(
        &self,
        principal: &Principal,
        after_id: Option<i64>,
        limit: Option<u32>,
        open_only: bool,
    ) -> AppResult<Page<IncidentRecord>> {
        Self::may_run_fleet(principal)?;
        let limit = page_size(limit)?;
        let items = self.store.incidents(after_id, open_only, limit).await?;
        Ok(Page::of(items, limit, |incident| incident.id))
    }

    pub async fn incident(&self, principal: &Principal, id: i64) -> AppResult<IncidentView> {
        Self::may_run_fleet(principal)?;
        let incident = self
            .store
            .incident(id)
            .await?
            .ok_or(AppError::NotFound("incident"))?;
        let vehicle = self
            .store
            .vehicle(incident.vehicle_id)
            .await?
            .ok_or(AppError::NotFound("vehicle"))?;
        let log = self.store.incident_log(id).await?;
        Ok(IncidentView {
            incident,
            vehicle,
            log,
        })
    }

    /// A safety operator takes the incident's vehicle over: from now on the
    /// rules command it nothing, and nobody else may take it over until it
    /// is handed back.
    pub async fn take_over(
        &self,
        principal: &Principal,
        incident_id: i64,
        why: &str,
    ) -> AppResult<IncidentView> {
        Self::may_run_fleet(principal)?;
        let why = note(why, REASON)?;
        self.incident_step(
            principal,
            incident_id,
            IncidentAct::TakenOver,
            &why,
            "",
            None,
        )
        .await
    }

    /// What the operator did while in control (pulled over, drove round
    /// the obstacle, opened a compartment): one line in the log each.
    pub async fn record_takeover_action(
        &self,
        principal: &Principal,
        incident_id: i64,
        what: &str,
    ) -> AppResult<IncidentView> {
        Self::may_run_fleet(principal)?;
        let what = note(what, ACTION)?;
        self.incident_step(principal, incident_id, IncidentAct::Acted, "", &what, None)
            .await
    }

    /// A command the operator in control sends the vehicle (stop, pull
    /// over, open a compartment, return to the depot, carry on): signed and
    /// sent like the rules' own, and one line in the take-over log and the
    /// audit trail, in the same transaction.
    pub async fn command_taken_over_vehicle(
        &self,
        principal: &Principal,
        incident_id: i64,
        command: &VehicleCommand,
    ) -> AppResult<IncidentView> {
        Self::may_run_fleet(principal)?;
        let what = command.words();
        self.incident_step(
            principal,
            incident_id,
            IncidentAct::Acted,
            "",
            &what,
            Some(command),
        )
        .await
    }

    /// The operator hands the vehicle back to the safe-driving system.
    pub async fn hand_back(
        &self,
        principal: &Principal,
        incident_id: i64,
        what: &str,
    ) -> AppResult<IncidentView> {
        Self::may_run_fleet(principal)?;
        let what = note(what, ACTION)?;
        self.incident_step(
            principal,
            incident_id,
            IncidentAct::HandedBack,
            "",
            &what,
            None,
        )
        .await
    }

    /// Closes a reviewed incident with its cause (not while taken over).
    pub async fn close_incident(
        &self,
        principal: &Principal,
        incident_id: i64,
        cause: &str,
    ) -> AppResult<IncidentView> {
        Self::may_run_fleet(principal)?;
        let cause = note(cause, CAUSE)?;
        self.incident_step(
            principal,
            incident_id,
            IncidentAct::Closed,
            &cause,
            "",
            None,
        )
        .await
    }

    /// One step of the take-over workflow: checks the incident's status
    /// (and, while taken over, that the caller is the operator in control),
    /// moves it on, appends the log line and the audit row, and sends
    /// `command` to the vehicle, all in one transaction. Handing back sends
    /// the mission under way's `start_mission`: the vehicle carries on under
    /// the rules.
    async fn incident_step(
        &self,
        principal: &Principal,
        incident_id: i64,
        act: IncidentAct,
        why: &str,
        what: &str,
        command: Option<&VehicleCommand>,
    ) -> AppResult<IncidentView> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let incident = tx
            .incident_in(incident_id)
            .await?
            .ok_or(AppError::NotFound("incident"))?;
        let refused = || {
            let (zh, en) = incident_status_words(incident.status);
            AppError::new(Code::IncidentState).with_words("status", zh, en)
        };
        let operator = (principal.user_id > 0).then_some(principal.user_id);
        let (from, to, audit_act) = match act {
            IncidentAct::TakenOver => (
                IncidentStatus::Open,
                IncidentStatus::TakenOver,
                Act::VehicleTakenOver,
            ),
            IncidentAct::Acted => (
                IncidentStatus::TakenOver,
                IncidentStatus::TakenOver,
                Act::VehicleTakeoverAction,
            ),
            IncidentAct::HandedBack => (
                IncidentStatus::TakenOver,
                IncidentStatus::Open,
                Act::VehicleHandedBack,
            ),
            IncidentAct::Closed => (
                IncidentStatus::Open,
                IncidentStatus::Closed,
                Act::IncidentClosed,
            ),
        };
        if incident.status != from {
            return Err(refused());
        }
        if from == IncidentStatus::TakenOver && incident.operator_id != operator {
            return Err(AppError::new(Code::TakenOverByAnother));
        }
        if act != IncidentAct::Acted {
            let moved = tx
                .set_incident_status(
                    incident_id,
                    from,
                    to,
                    (to == IncidentStatus::TakenOver)
                        .then_some(operator)
                        .flatten(),
                    (act == IncidentAct::Closed).then_some(why),
                    now,
                )
                .await
                .map_err(|e| conflict_or(e, Code::TakenOverByAnother))?;
            if !moved {
                return Err(refused());
            }
        }
        let log_id = tx
            .append_incident_log(&IncidentLogEntry {
                id: 0,
                incident_id,
                vehicle_id: incident.vehicle_id,
                at: now,
                user_id: operator,
                username: principal.username.clone(),
                act,
                why: why.to_string(),
                what: what.to_string(),
            })
            .await?;
        let mut sent: Option<(String, VehicleCommand)> = command
            .cloned()
            .map(|command| (takeover_command_id(incident_id, log_id), command));
        if act == IncidentAct::HandedBack
            && let Some(mission) = self.store.active_mission(incident.vehicle_id).await?
            && mission.status == MissionStatus::UnderWay
        {
            sent = Some((
                incident_command_id(incident_id, &format!("handback-{log_id}")),
                VehicleCommand::StartMission {
                    mission_id: mission.id,
                },
            ));
        }
        if let Some((command_id, command)) = &sent {
            let vehicle = self
                .store
                .vehicle(incident.vehicle_id)
                .await?
                .ok_or(AppError::NotFound("vehicle"))?;
            // A van's driver is called, not commanded: handing a van back
            // sends nothing.
            if act == IncidentAct::HandedBack && vehicle.kind != VehicleKind::Unmanned {
                sent = None;
            } else {
                enqueue_vehicle_command(&mut *tx, &vehicle, command_id, command, now).await?;
            }
        }
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            audit_act,
            Object::new("incident", incident_id),
            serde_json::json!({
                "vehicle": incident.vehicle_id, "rule": incident.rule, "why": why, "what": what,
                "command": sent.as_ref().map(|(id, _)| id),
            }),
        )
        .await?;
        tx.commit().await?;
        if sent.is_some() {
            (self.device_waker)();
        }
        match act {
            IncidentAct::TakenOver | IncidentAct::HandedBack => {
                let mut rules = self.fleet_rules.lock().expect("fleet rules");
                if let Some(evaluator) = rules.evaluators.get_mut(&incident.vehicle_id) {
                    evaluator.set_taken_over(act == IncidentAct::TakenOver);
                }
            }
            IncidentAct::Acted | IncidentAct::Closed => {}
        }
        self.incident(principal, incident_id).await
    }

    /// Everything the live map draws.
    pub async fn fleet_map(&self, principal: &Principal) -> AppResult<FleetMap> {
        Self::may_run_fleet(principal)?;
        let mut missions = Vec::new();
        let active = self.store.missions(true, 200).await?;
        for mission in active {
            missions.push(mission_view(&*self.store, mission.id).await?);
        }
        Ok(FleetMap {
            vehicles: self.store.vehicles().await?,
            positions: self.store.vehicle_positions().await?,
            zones: self.store.zones().await?,
            missions,
            incidents: self.store.incidents(None, true, 200).await?,
        })
    }
}

async fn mission_view(store: &dyn Store, id: i64) -> AppResult<MissionView> {
    let mission = store
        .mission(id)
        .await?
        .ok_or(AppError::NotFound("mission"))?;
    let vehicle = store
        .vehicle(mission.vehicle_id)
        .await?
        .ok_or(AppError::NotFound("vehicle"))?;
    Ok(MissionView {
        stops: store.mission_stops(id).await?,
        parcels: store.mission_parcels(id).await?,
        mission,
        vehicle,
    })
}

//! The fleet's port (issue 20): vehicles and their compartments, the
//! safe-driving system's zones, missions (ordered stops, parcels per
//! compartment), incidents with their append-only take-over log, and each
//! vehicle's latest position.

use super::{GeoPoint, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::fleet::{VehicleKind, Zone};
use domain::station::SizeClass;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleStatus {
    Available,
    OnMission,
    BrokenDown,
    Retired,
}

impl VehicleStatus {
    pub fn code(self) -> &'static str {
        match self {
            VehicleStatus::Available => "available",
            VehicleStatus::OnMission => "on_mission",
            VehicleStatus::BrokenDown => "broken_down",
            VehicleStatus::Retired => "retired",
        }
    }

    pub fn parse(code: &str) -> Option<VehicleStatus> {
        [
            VehicleStatus::Available,
            VehicleStatus::OnMission,
            VehicleStatus::BrokenDown,
            VehicleStatus::Retired,
        ]
        .into_iter()
        .find(|status| status.code() == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Compartment {
    pub number: u32,
    pub size: SizeClass,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewVehicle {
    /// Unique, short: the vehicle's id on the device bus and on its labels.
    pub code: String,
    pub name: String,
    pub kind: VehicleKind,
    pub compartments: Vec<Compartment>,
    pub battery_wh: u32,
    pub consumption_wh_per_km: u32,
    pub speed_limit_kmh: u32,
    /// Operating areas it is cleared for (zone ids); empty: every one.
    pub operating_areas: Vec<i64>,
    /// Stations it may serve; empty: every one.
    pub station_ids: Vec<i64>,
    pub depot: GeoPoint,
    /// A van's driver (their staff username).
    pub driver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VehicleRecord {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: VehicleKind,
    pub compartments: Vec<Compartment>,
    pub battery_wh: u32,
    pub consumption_wh_per_km: u32,
    pub speed_limit_kmh: u32,
    pub operating_areas: Vec<i64>,
    pub station_ids: Vec<i64>,
    pub depot: GeoPoint,
    pub driver: Option<String>,
    pub status: VehicleStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissionStatus {
    Planned,
    UnderWay,
    Done,
    Cancelled,
}

impl MissionStatus {
    pub fn code(self) -> &'static str {
        match self {
            MissionStatus::Planned => "planned",
            MissionStatus::UnderWay => "under_way",
            MissionStatus::Done => "done",
            MissionStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(code: &str) -> Option<MissionStatus> {
        [
            MissionStatus::Planned,
            MissionStatus::UnderWay,
            MissionStatus::Done,
            MissionStatus::Cancelled,
        ]
        .into_iter()
        .find(|status| status.code() == code)
    }

    pub fn is_active(self) -> bool {
        matches!(self, MissionStatus::Planned | MissionStatus::UnderWay)
    }
}

/// Where a parcel of a mission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadStatus {
    /// Planned into its compartment, not yet scanned aboard.
    Planned,
    /// Scanned into its compartment at the centre.
    Loaded,
    /// Handed over at its station.
    HandedOver,
    /// Moved to another vehicle's mission (a re-plan).
    Moved,
    /// Back at the centre.
    Returned,
}

impl LoadStatus {
    pub fn code(self) -> &'static str {
        match self {
            LoadStatus::Planned => "planned",
            LoadStatus::Loaded => "loaded",
            LoadStatus::HandedOver => "handed_over",
            LoadStatus::Moved => "moved",
            LoadStatus::Returned => "returned",
        }
    }

    pub fn parse(code: &str) -> Option<LoadStatus> {
        [
            LoadStatus::Planned,
            LoadStatus::Loaded,
            LoadStatus::HandedOver,
            LoadStatus::Moved,
            LoadStatus::Returned,
        ]
        .into_iter()
        .find(|status| status.code() == code)
    }

    pub fn is_aboard(self) -> bool {
        matches!(self, LoadStatus::Planned | LoadStatus::Loaded)
    }
}

/// One vehicle's mission as the dispatcher plans it: stops in order, each
/// with the parcels for it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MissionDraft {
    pub vehicle_id: i64,
    pub planned_departure: DateTime<Utc>,
    pub stops: Vec<StopDraft>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StopDraft {
    pub station_id: i64,
    pub planned_arrival: DateTime<Utc>,
    pub parcel_ids: Vec<i64>,
    /// Recipients collect straight from the vehicle's compartments here
    /// (the stop is opened for collection when the vehicle arrives); what
    /// nobody collects goes onto the station's shelves at the hand-over.
    #[serde(default)]
    pub collect_from_vehicle: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMission {
    pub vehicle_id: i64,
    pub planned_departure: DateTime<Utc>,
    pub created_by: String,
    pub stops: Vec<NewMissionStop>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMissionStop {
    pub station_id: i64,
    pub location: GeoPoint,
    pub planned_arrival: DateTime<Utc>,
    pub parcels: Vec<NewMissionParcel>,
    pub collect_from_vehicle: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewMissionParcel {
    pub parcel_id: i64,
    pub waybill: String,
    pub compartment: Option<u32>,
    pub compartment_code: String,
    pub status: LoadStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissionRecord {
    pub id: i64,
    pub vehicle_id: i64,
    pub status: MissionStatus,
    pub planned_departure: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissionStopRecord {
    pub id: i64,
    pub mission_id: i64,
    pub seq: u32,
    pub station_id: i64,
    pub location: GeoPoint,
    pub planned_arrival: DateTime<Utc>,
    pub arrived_at: Option<DateTime<Utc>>,
    /// `pending`, `done` or `moved`.
    pub status: String,
    /// Recipients collect from the vehicle's compartments at this stop.
    pub collect_from_vehicle: bool,
    /// When the stop was opened for collection (codes issued); none before.
    pub collection_opened_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissionParcelRecord {
    pub id: i64,
    pub mission_id: i64,
    pub stop_id: i64,
    pub parcel_id: i64,
    pub waybill: String,
    pub compartment: Option<u32>,
    pub compartment_code: String,
    pub status: LoadStatus,
    pub loaded_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    TakenOver,
    Closed,
}

impl IncidentStatus {
    pub fn code(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::TakenOver => "taken_over",
            IncidentStatus::Closed => "closed",
        }
    }

    pub fn parse(code: &str) -> Option<IncidentStatus> {
        [
            IncidentStatus::Open,
            IncidentStatus::TakenOver,
            IncidentStatus::Closed,
        ]
        .into_iter()
        .find(|status| status.code() == code)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub vehicle_id: i64,
    pub mission_id: Option<i64>,
    pub rule: String,
    pub subject: String,
    pub opened_at: DateTime<Utc>,
    pub position: GeoPoint,
    /// `domain::fleet::Evidence` as JSON.
    pub evidence: String,
    pub command: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRecord {
    pub id: i64,
    pub vehicle_id: i64,
    pub mission_id: Option<i64>,
    pub rule: String,
    pub subject: String,
    pub opened_at: DateTime<Utc>,
    pub position: GeoPoint,
    pub evidence: String,
    pub command: Option<String>,
    pub status: IncidentStatus,
    pub operator_id: Option<i64>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentAct {
    TakenOver,
    Acted,
    HandedBack,
    Closed,
}

impl IncidentAct {
    pub fn code(self) -> &'static str {
        match self {
            IncidentAct::TakenOver => "taken_over",
            IncidentAct::Acted => "acted",
            IncidentAct::HandedBack => "handed_back",
            IncidentAct::Closed => "closed",
        }
    }

    pub fn parse(code: &str) -> Option<IncidentAct> {
        [
            IncidentAct::TakenOver,
            IncidentAct::Acted,
            IncidentAct::HandedBack,
            IncidentAct::Closed,
        ]
        .into_iter()
        .find(|act| act.code() == code)
    }
}

/// One line of the take-over log: who, when, why, what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentLogEntry {
    pub id: i64,
    pub incident_id: i64,
    pub vehicle_id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub username: String,
    pub act: IncidentAct,
    pub why: String,
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VehiclePosition {
    pub vehicle_id: i64,
    pub at: DateTime<Utc>,
    pub position: GeoPoint,
    pub speed_kmh: f64,
    pub battery_pct: u32,
}

/// Fleet work inside a transaction.
#[async_trait]
pub trait FleetTx: Send {
    async fn insert_vehicle(
        &mut self,
        vehicle: &NewVehicle,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// The vehicle, locked against concurrent changes of its missions.
    async fn vehicle_for_update(&mut self, id: i64) -> StoreResult<Option<VehicleRecord>>;
    async fn set_vehicle_status(&mut self, id: i64, status: VehicleStatus) -> StoreResult<()>;
    async fn insert_zone(&mut self, zone: &Zone, now: DateTime<Utc>) -> StoreResult<i64>;
    /// The mission with its stops and parcels; a parcel already aboard
    /// another mission is a conflict.
    async fn insert_mission(
        &mut self,
        mission: &NewMission,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    async fn mission_in(&mut self, id: i64) -> StoreResult<Option<MissionRecord>>;
    async fn set_mission_status(
        &mut self,
        id: i64,
        status: MissionStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn mission_stops_in(&mut self, mission_id: i64) -> StoreResult<Vec<MissionStopRecord>>;
    async fn mission_parcels_in(
        &mut self,
        mission_id: i64,
    ) -> StoreResult<Vec<MissionParcelRecord>>;
    /// Moves a parcel's load on (`planned → loaded`, `… → moved`, …) only
    /// from the status given; false when it was not in it.
    async fn set_load_status(
        &mut self,
        mission_parcel_id: i64,
        from: LoadStatus,
        to: LoadStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn set_stop_status(
        &mut self,
        stop_id: i64,
        status: &str,
        arrived_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Marks a pending collect-from-vehicle stop opened for collection;
    /// false when it is not such a stop or was opened before.
    async fn open_stop_for_collection(
        &mut self,
        stop_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// False when this incident (vehicle, rule, subject, opening time) is
    /// already stored.
    async fn insert_incident(&mut self, incident: &NewIncident) -> StoreResult<Option<i64>>;
    async fn incident_in(&mut self, id: i64) -> StoreResult<Option<IncidentRecord>>;
    /// Moves an incident on only from the status given; false otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn set_incident_status(
        &mut self,
        id: i64,
        from: IncidentStatus,
        to: IncidentStatus,
        operator_id: Option<i64>,
        cause: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn append_incident_log(&mut self, entry: &IncidentLogEntry) -> StoreResult<i64>;
    async fn set_vehicle_position(&mut self, position: &VehiclePosition) -> StoreResult<()>;
}

/// Fleet reads outside a transaction.
#[async_trait]
pub trait FleetStore: Send + Sync {
    async fn vehicles(&self) -> StoreResult<Vec<VehicleRecord>>;
    async fn vehicle(&self, id: i64) -> StoreResult<Option<VehicleRecord>>;
    async fn vehicle_by_code(&self, code: &str) -> StoreResult<Option<VehicleRecord>>;
    async fn zones(&self) -> StoreResult<Vec<Zone>>;
    /// Missions, newest first; only active ones when asked.
    async fn missions(&self, active_only: bool, limit: u32) -> StoreResult<Vec<MissionRecord>>;
    async fn mission(&self, id: i64) -> StoreResult<Option<MissionRecord>>;
    async fn active_mission(&self, vehicle_id: i64) -> StoreResult<Option<MissionRecord>>;
    async fn mission_stops(&self, mission_id: i64) -> StoreResult<Vec<MissionStopRecord>>;
    async fn mission_parcels(&self, mission_id: i64) -> StoreResult<Vec<MissionParcelRecord>>;
    /// Incidents in id order after the id given; only those not closed
    /// when asked.
    async fn incidents(
        &self,
        after_id: Option<i64>,
        open_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<IncidentRecord>>;
    async fn incident(&self, id: i64) -> StoreResult<Option<IncidentRecord>>;
    async fn incident_log(&self, incident_id: i64) -> StoreResult<Vec<IncidentLogEntry>>;
    async fn vehicle_positions(&self) -> StoreResult<Vec<VehiclePosition>>;
    /// Whether one of the vehicle's incidents is taken over by a safety
    /// operator (the rules' memory of it, read back after a restart).
    async fn vehicle_taken_over(&self, vehicle_id: i64) -> StoreResult<bool>;
}

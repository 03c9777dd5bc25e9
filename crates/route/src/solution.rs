//! The plan the solver returns: routes with their schedules and loads, and every stop it
//! did not serve with the reason. Serialised as the documented JSON solution format.

use serde::{Deserialize, Serialize};

/// Why a stop is not in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnservedReason {
    /// Its delivery or pickup exceeds the capacity of every vehicle type.
    ExceedsCapacity,
    /// It needs more lockable compartments than any vehicle has.
    ExceedsCompartments,
    /// No vehicle can reach it within its time window and be back within its shift.
    TimeWindowUnreachable,
    /// A round trip to it alone exceeds every vehicle's duty limit.
    ExceedsDutyLimit,
    /// A round trip to it alone exceeds every vehicle's range.
    OutOfRange,
    /// No vehicle type is allowed to serve it (`allowed_stops`).
    NotAllowed,
    /// Optional, and serving it would cost more than its penalty.
    NotWorthServing,
    /// Each vehicle could serve it alone, but the fleet could not fit it in with the rest
    /// within the time budget.
    FleetExhausted,
}

impl UnservedReason {
    pub fn describe(self) -> &'static str {
        match self {
            UnservedReason::ExceedsCapacity => {
                "its load exceeds the capacity of every vehicle type"
            }
            UnservedReason::ExceedsCompartments => {
                "it needs more lockable compartments than any vehicle has"
            }
            UnservedReason::TimeWindowUnreachable => {
                "no vehicle can reach it within its time window and return within its shift"
            }
            UnservedReason::ExceedsDutyLimit => "a round trip to it alone exceeds every duty limit",
            UnservedReason::OutOfRange => "a round trip to it alone exceeds every vehicle's range",
            UnservedReason::NotAllowed => "no vehicle type is allowed to serve it",
            UnservedReason::NotWorthServing => {
                "optional, and serving it costs more than its penalty"
            }
            UnservedReason::FleetExhausted => {
                "the fleet could not fit it in with the other stops within the time budget"
            }
        }
    }
}

/// One stop on a route, as scheduled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// Index into `Problem::stops`.
    pub stop: usize,
    pub arrival: i64,
    /// When service starts (after any waiting for the window to open).
    pub service_start: i64,
    /// Load on board when leaving, one entry per dimension.
    pub load_after: Vec<i64>,
    /// Numbers (from 1) of the lockable compartments holding this stop's deliveries, on a
    /// vehicle type with compartments; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compartments: Vec<u32>,
}

/// One vehicle's route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Index into `Problem::vehicle_types`.
    pub vehicle_type: usize,
    pub departure: i64,
    pub visits: Vec<Visit>,
    pub return_time: i64,
    /// In the problem's integer distance unit.
    pub distance: i64,
    /// From departure to return, waiting included.
    pub duration: i64,
    /// Load on board when leaving the depot.
    pub load_start: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unserved {
    pub stop: usize,
    pub reason: UnservedReason,
}

/// A plan. Every route in it is feasible; what could not be served is listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Solution {
    pub routes: Vec<Route>,
    pub unserved: Vec<Unserved>,
    pub n_vehicles: usize,
    /// Total distance in the problem's integer unit; divide by `distance_scale`.
    pub distance: i64,
    /// Fixed costs, distance costs and the penalties of unserved optional stops.
    pub cost: i64,
    /// Whether every required stop is served.
    pub complete: bool,
    /// Search iterations done, for reporting.
    pub iterations: u64,
}

//! The JSON problem and solution formats (documented in `crates/route/docs/format.md`).
//!
//! The problem is [`Problem`] as serde reads it; the solution document is the solver's
//! [`Solution`] with stop ids and reported distances added, so that a reader needs no
//! other file to make sense of it.

use serde::{Deserialize, Serialize};

pub use crate::problem::Problem;
use crate::problem::ProblemError;
use crate::solution::{Route, Solution, UnservedReason};

/// Upper bound on the size of a JSON problem.
pub const TEXT_BYTES_MAX: usize = 256 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("problem JSON larger than {TEXT_BYTES_MAX} bytes")]
    TooLarge,
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("invalid problem: {0}")]
    Invalid(#[from] ProblemError),
}

/// Reads and validates a JSON problem.
pub fn parse_problem(text: &str) -> Result<Problem, JsonError> {
    if text.len() > TEXT_BYTES_MAX {
        return Err(JsonError::TooLarge);
    }
    let problem: Problem = serde_json::from_str(text).map_err(|serde_error| JsonError::Syntax {
        line: serde_error.line(),
        column: serde_error.column(),
        message: serde_error.to_string(),
    })?;
    problem.validate()?;
    Ok(problem)
}

/// An unserved stop in the document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnservedEntry {
    pub stop: usize,
    pub id: String,
    pub reason: UnservedReason,
    pub explanation: String,
}

/// The solution document that `yizhan route solve --json` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SolutionDocument {
    pub name: String,
    pub n_vehicles: usize,
    /// Total distance in the problem's reported unit (`distance / distance_scale`).
    pub distance: f64,
    /// Total distance in integer units, exact.
    pub distance_units: i64,
    pub cost: i64,
    /// Every required stop served and every route within its constraints.
    pub feasible: bool,
    pub routes: Vec<RouteDocument>,
    pub unserved: Vec<UnservedEntry>,
    pub iterations: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteDocument {
    pub vehicle_type_id: String,
    /// Stop ids in visiting order.
    pub stop_ids: Vec<String>,
    #[serde(flatten)]
    pub route: Route,
}

/// Builds the solution document; `feasible` comes from the independent checker.
pub fn document(problem: &Problem, solution: &Solution) -> SolutionDocument {
    let report = crate::check::check(problem, solution);
    SolutionDocument {
        name: problem.name.clone(),
        n_vehicles: solution.n_vehicles,
        distance: solution.distance as f64 / f64::from(problem.distance_scale),
        distance_units: solution.distance,
        cost: solution.cost,
        feasible: report.is_valid() && solution.complete,
        routes: solution
            .routes
            .iter()
            .map(|route| RouteDocument {
                vehicle_type_id: problem.vehicle_types[route.vehicle_type].id.clone(),
                stop_ids: route
                    .visits
                    .iter()
                    .map(|visit| problem.stops[visit.stop].id.clone())
                    .collect(),
                route: route.clone(),
            })
            .collect(),
        unserved: solution
            .unserved
            .iter()
            .map(|entry| UnservedEntry {
                stop: entry.stop,
                id: problem.stops[entry.stop].id.clone(),
                reason: entry.reason,
                explanation: entry.reason.describe().to_string(),
            })
            .collect(),
        iterations: solution.iterations,
    }
}

/// The solution document as pretty JSON.
pub fn solution_to_string(problem: &Problem, solution: &Solution) -> String {
    serde_json::to_string_pretty(&document(problem, solution)).unwrap_or_default()
}

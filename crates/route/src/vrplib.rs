//! Readers for VRPLIB benchmark files (`.vrp` instances and `.sol` solutions), for the
//! Solomon VRPTW and CVRPLIB X sets.
//!
//! Each set's published best-known costs use its own distance convention, and a gap is
//! only meaningful in it: time-window instances follow DIMACS (each arc truncated to one
//! decimal, held here in integer tenths, times scaled alike), capacitated-only instances
//! round each arc to the nearest integer.

use crate::problem::{Depot, Distances, Problem, Rounding, Stop, VehicleType};

/// Upper bound on the text of one file.
pub const TEXT_BYTES_MAX: usize = 64 << 20;
/// Upper bound on `DIMENSION` (nodes, depots included).
pub const NODES_MAX: usize = crate::problem::STOPS_MAX;

/// A refusal naming the line (1-based; 0 when the file as a whole is at fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// Which benchmark convention an instance follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    /// Solomon / DIMACS: arcs truncated to one decimal; distances and times in tenths.
    DimacsTenths,
    /// CVRPLIB: arcs rounded to integers.
    RoundedIntegers,
}

impl Convention {
    /// Integer units per reported unit.
    pub fn scale(self) -> i64 {
        match self {
            Convention::DimacsTenths => 10,
            Convention::RoundedIntegers => 1,
        }
    }
}

/// A parsed benchmark instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub name: String,
    pub problem: Problem,
    pub convention: Convention,
}

impl Instance {
    /// A total distance in the instance's reported unit (e.g. 827.3).
    pub fn reported(&self, distance: i64) -> f64 {
        distance as f64 / self.convention.scale() as f64
    }

    /// The stop index of customer number `customer` in a `.sol` file, which numbers the
    /// non-depot nodes from 1 in file order.
    pub fn stop_of_solution_customer(&self, customer: usize) -> Option<usize> {
        customer
            .checked_sub(1)
            .filter(|stop| *stop < self.problem.stops.len())
    }
}

#[derive(Default)]
struct Sections {
    coordinates: Vec<Option<[f64; 2]>>,
    demands: Vec<Option<i64>>,
    windows: Vec<Option<[i64; 2]>>,
    services: Vec<Option<i64>>,
    depots: Vec<usize>,
}

/// Reads a `.vrp` instance, choosing the convention from the file: DIMACS tenths for
/// files with time windows, rounded integers otherwise.
pub fn parse(text: &str) -> Result<Instance, ParseError> {
    parse_with(text, None)
}

/// Reads a `.vrp` instance under a given convention (`None`: from the file).
pub fn parse_with(text: &str, convention: Option<Convention>) -> Result<Instance, ParseError> {
    if text.len() > TEXT_BYTES_MAX {
        return Err(error(0, format!("file larger than {TEXT_BYTES_MAX} bytes")));
    }
    let mut name = String::new();
    let mut problem_type = String::new();
    let mut dimension: Option<usize> = None;
    let mut vehicles: Option<u32> = None;
    let mut capacity: Option<i64> = None;
    let mut service_time: i64 = 0;
    let mut sections = Sections::default();
    let mut section: Option<&str> = None;
    let mut depot_section_ended = false;

    for (line_idx, raw_line) in text.lines().enumerate() {
        let line_no = line_idx + 1;
        let line = raw_line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "EOF" {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim();
            let value = value.trim().trim_matches('"').trim();
            section = None;
            let number = |what: &str| -> Result<i64, ParseError> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.fract() == 0.0 && *v >= 0.0 && *v < 1e15)
                    .map(|v| v as i64)
                    .ok_or_else(|| {
                        error(
                            line_no,
                            format!("{what} '{value}' is not a non-negative integer"),
                        )
                    })
            };
            match key {
                "NAME" => name = value.to_string(),
                "TYPE" => problem_type = value.to_string(),
                "COMMENT" => {}
                "DIMENSION" => {
                    let n = number("DIMENSION")? as usize;
                    if !(2..=NODES_MAX).contains(&n) {
                        return Err(error(
                            line_no,
                            format!("DIMENSION {n} outside 2..{NODES_MAX}"),
                        ));
                    }
                    dimension = Some(n);
                    sections.coordinates = vec![None; n];
                    sections.demands = vec![None; n];
                    sections.windows = vec![None; n];
                    sections.services = vec![None; n];
                }
                "VEHICLES" => {
                    let n = number("VEHICLES")?;
                    if !(1..=i64::from(crate::problem::VEHICLES_PER_TYPE_MAX)).contains(&n) {
                        return Err(error(
                            line_no,
                            format!(
                                "VEHICLES {n} outside 1..{}",
                                crate::problem::VEHICLES_PER_TYPE_MAX
                            ),
                        ));
                    }
                    vehicles = Some(n as u32);
                }
                "CAPACITY" => capacity = Some(number("CAPACITY")?),
                "SERVICE_TIME" => service_time = number("SERVICE_TIME")?,
                "EDGE_WEIGHT_TYPE" => {
                    if value != "EUC_2D" {
                        return Err(error(
                            line_no,
                            format!("EDGE_WEIGHT_TYPE {value} is not supported; only EUC_2D"),
                        ));
                    }
                }
                _ => return Err(error(line_no, format!("unknown header key '{key}'"))),
            }
            continue;
        }
        if line.ends_with("_SECTION") {
            if dimension.is_none() {
                return Err(error(line_no, format!("{line} before DIMENSION")));
            }
            section = Some(match line {
                "NODE_COORD_SECTION"
                | "DEMAND_SECTION"
                | "TIME_WINDOW_SECTION"
                | "SERVICE_TIME_SECTION"
                | "DEPOT_SECTION" => line,
                other => return Err(error(line_no, format!("section {other} is not supported"))),
            });
            continue;
        }
        let Some(current) = section else {
            return Err(error(
                line_no,
                format!("'{line}' is neither a 'KEY : value' header nor inside a section"),
            ));
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parse_number = |field: &str| -> Result<f64, ParseError> {
            field
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && v.abs() < 1e12)
                .ok_or_else(|| error(line_no, format!("'{field}' is not a number")))
        };
        let parse_integer = |field: &str| -> Result<i64, ParseError> {
            let value = parse_number(field)?;
            if value.fract() != 0.0 || value < 0.0 {
                return Err(error(
                    line_no,
                    format!("'{field}' is not a non-negative integer"),
                ));
            }
            Ok(value as i64)
        };
        let n = dimension.unwrap_or(0);
        if current == "DEPOT_SECTION" {
            if depot_section_ended {
                return Err(error(
                    line_no,
                    "DEPOT_SECTION continues after its closing -1",
                ));
            }
            if fields.len() != 1 {
                return Err(error(
                    line_no,
                    "DEPOT_SECTION lines hold one node number each",
                ));
            }
            if fields[0] == "-1" {
                depot_section_ended = true;
                continue;
            }
            let node = parse_integer(fields[0])? as usize;
            if node == 0 || node > n {
                return Err(error(line_no, format!("depot node {node} outside 1..{n}")));
            }
            sections.depots.push(node - 1);
            continue;
        }
        let expected = match current {
            "NODE_COORD_SECTION" | "TIME_WINDOW_SECTION" => 3,
            _ => 2,
        };
        if fields.len() != expected {
            return Err(error(
                line_no,
                format!(
                    "{current} lines need {expected} fields, found {}",
                    fields.len()
                ),
            ));
        }
        let node = parse_integer(fields[0])? as usize;
        if node == 0 || node > n {
            return Err(error(line_no, format!("node {node} outside 1..{n}")));
        }
        let idx = node - 1;
        let duplicate = match current {
            "NODE_COORD_SECTION" => sections.coordinates[idx]
                .replace([parse_number(fields[1])?, parse_number(fields[2])?])
                .is_some(),
            "DEMAND_SECTION" => sections.demands[idx]
                .replace(parse_integer(fields[1])?)
                .is_some(),
            "TIME_WINDOW_SECTION" => {
                let (earliest, latest) = (parse_integer(fields[1])?, parse_integer(fields[2])?);
                if earliest > latest {
                    return Err(error(
                        line_no,
                        format!("time window {earliest}..{latest} closes before it opens"),
                    ));
                }
                sections.windows[idx].replace([earliest, latest]).is_some()
            }
            _ => sections.services[idx]
                .replace(parse_integer(fields[1])?)
                .is_some(),
        };
        if duplicate {
            return Err(error(
                line_no,
                format!("node {node} appears twice in {current}"),
            ));
        }
    }

    let n = dimension.ok_or_else(|| error(0, "no DIMENSION header"))?;
    let capacity = capacity.ok_or_else(|| error(0, "no CAPACITY header"))?;
    if let Some(missing) = sections.coordinates.iter().position(Option::is_none) {
        return Err(error(
            0,
            format!(
                "node {} has no coordinates in NODE_COORD_SECTION",
                missing + 1
            ),
        ));
    }
    if let Some(missing) = sections.demands.iter().position(Option::is_none) {
        return Err(error(
            0,
            format!("node {} has no demand in DEMAND_SECTION", missing + 1),
        ));
    }
    let has_windows = sections.windows.iter().any(Option::is_some);
    if has_windows && let Some(missing) = sections.windows.iter().position(Option::is_none) {
        return Err(error(
            0,
            format!(
                "node {} has no time window in TIME_WINDOW_SECTION",
                missing + 1
            ),
        ));
    }
    let depot = match sections.depots.as_slice() {
        [] => 0,
        [depot] => *depot,
        _ => return Err(error(0, "several depots are not supported in VRPLIB files")),
    };
    let convention = convention.unwrap_or(if has_windows || problem_type.contains("TW") {
        Convention::DimacsTenths
    } else {
        Convention::RoundedIntegers
    });
    let time_scale = convention.scale();
    let rounding = match convention {
        Convention::DimacsTenths => Rounding::TruncateTenths,
        Convention::RoundedIntegers => Rounding::Nearest,
    };
    let coordinates: Vec<[f64; 2]> = sections
        .coordinates
        .iter()
        .map(|c| c.unwrap_or([0.0, 0.0]))
        .collect();
    let depot_window =
        sections.windows[depot].unwrap_or([0, crate::problem::QUANTITY_MAX / time_scale]);
    let stops: Vec<Stop> = (0..n)
        .filter(|idx| *idx != depot)
        .map(|idx| Stop {
            id: (idx + 1).to_string(),
            location: idx,
            delivery: vec![sections.demands[idx].unwrap_or(0)],
            pickup: vec![0],
            service: sections.services[idx].unwrap_or(service_time) * time_scale,
            time_window: sections.windows[idx].map(|[e, l]| [e * time_scale, l * time_scale]),
            penalty: None,
            compartments: 0,
        })
        .collect();
    let n_stops = stops.len() as u32;
    let problem = Problem {
        name: name.clone(),
        dimensions: vec!["load".into()],
        distance_scale: time_scale as u32,
        distances: Distances::Euclidean {
            coordinates,
            rounding,
        },
        depots: vec![Depot {
            id: (depot + 1).to_string(),
            location: depot,
            open: depot_window[0] * time_scale,
            close: depot_window[1] * time_scale,
        }],
        stops,
        vehicle_types: vec![VehicleType {
            id: "vehicle".into(),
            kind: Default::default(),
            count: vehicles.unwrap_or(n_stops.max(1)),
            start_depot: 0,
            end_depot: None,
            capacity: vec![capacity],
            compartments: None,
            shift_start: None,
            shift_end: None,
            duration_max: None,
            distance_max: None,
            speed_factor: 1.0,
            fixed_cost: 0,
            cost_per_distance: 1,
            allowed_stops: None,
        }],
    };
    problem
        .validate()
        .map_err(|problem_error| error(0, problem_error.to_string()))?;
    Ok(Instance {
        name,
        problem,
        convention,
    })
}

/// A `.sol` file: routes of customer numbers and the stated cost.
#[derive(Clone, Debug, PartialEq)]
pub struct SolutionFile {
    pub routes: Vec<Vec<usize>>,
    pub cost: f64,
}

/// Reads a `.sol` file (`Route #k: c1 c2 ...` lines and a `Cost X` line).
pub fn parse_solution(text: &str) -> Result<SolutionFile, ParseError> {
    if text.len() > TEXT_BYTES_MAX {
        return Err(error(0, format!("file larger than {TEXT_BYTES_MAX} bytes")));
    }
    let mut routes = Vec::new();
    let mut cost = None;
    for (line_idx, raw_line) in text.lines().enumerate() {
        let line_no = line_idx + 1;
        let line = raw_line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("Route") {
            let (_, customers) = rest.split_once(':').ok_or_else(|| {
                error(
                    line_no,
                    "a route line needs 'Route #k:' before its customers",
                )
            })?;
            let route: Result<Vec<usize>, ParseError> = customers
                .split_whitespace()
                .map(|field| {
                    field
                        .parse::<usize>()
                        .ok()
                        .filter(|customer| *customer >= 1 && *customer <= NODES_MAX)
                        .ok_or_else(|| {
                            error(
                                line_no,
                                format!("customer '{field}' is not a number in 1..{NODES_MAX}"),
                            )
                        })
                })
                .collect();
            routes.push(route?);
        } else if let Some(rest) = line.strip_prefix("Cost") {
            let value = rest.trim();
            cost = Some(
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| error(line_no, format!("cost '{value}' is not a number")))?,
            );
        } else {
            return Err(error(
                line_no,
                format!("'{line}' is neither a route nor a cost line"),
            ));
        }
    }
    let cost = cost.ok_or_else(|| error(0, "no 'Cost' line"))?;
    Ok(SolutionFile { routes, cost })
}

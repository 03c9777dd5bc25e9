//! The search: a hybrid genetic search over routes, improved by a granular local search.
//!
//! Infeasible plans are allowed during the search and priced by adaptive penalties for
//! excess load, time warp (with duty overrun) and range overrun; only feasible plans are
//! returned.

pub mod genetic;
pub mod local_search;

use crate::model::Model;
use crate::segment::{LoadSegment, TimeSegment};

/// Distance costs are multiplied by this so that penalty weights can be fractional
/// while every comparison stays in exact integers.
pub const COST_SCALE: i64 = 100;

/// Weights per unit of violation, in units of `1 / COST_SCALE` of a cost unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Penalties {
    pub load: i64,
    pub time: i64,
    pub range: i64,
}

impl Penalties {
    pub fn boosted(&self, factor: i64) -> Penalties {
        Penalties {
            load: self.load * factor,
            time: self.time * factor,
            range: self.range * factor,
        }
    }
}

/// Violations and costs of one route.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteFigures {
    pub distance: i64,
    /// Fixed plus distance cost, unscaled.
    pub cost: i64,
    pub load_excess: i64,
    pub time_excess: i64,
    pub range_excess: i64,
}

impl RouteFigures {
    pub fn penalised(&self, penalties: &Penalties) -> i64 {
        self.cost * COST_SCALE
            + penalties.load * self.load_excess
            + penalties.time * self.time_excess
            + penalties.range * self.range_excess
    }

    pub fn feasible(&self) -> bool {
        self.load_excess == 0 && self.time_excess == 0 && self.range_excess == 0
    }
}

/// Figures of a non-empty route from its summaries.
#[inline]
pub fn route_figures(
    model: &Model,
    vehicle_type: usize,
    distance: i64,
    load: &LoadSegment,
    time: &TimeSegment,
) -> RouteFigures {
    let vehicle = &model.vehicles[vehicle_type];
    RouteFigures {
        distance,
        cost: vehicle.fixed_cost + vehicle.unit_cost * distance,
        load_excess: load.excess(&vehicle.capacity)
            + if load.forbidden & vehicle.type_bit != 0 {
                crate::model::FORBIDDEN_EXCESS
            } else {
                0
            },
        time_excess: time.time_warp + (time.duration - vehicle.duration_max).max(0),
        range_excess: (distance - vehicle.distance_max).max(0),
    }
}

/// Figures of a route given as its customer nodes (depots excluded).
pub fn evaluate_route(model: &Model, vehicle_type: usize, nodes: &[usize]) -> RouteFigures {
    if nodes.is_empty() {
        return RouteFigures::default();
    }
    let vehicle = &model.vehicles[vehicle_type];
    let durations = &model.durations[vehicle.profile];
    let mut time = model.depot_time(vehicle, vehicle.start_node);
    let mut load = LoadSegment::default();
    let mut distance = 0;
    let mut previous = vehicle.start_node;
    for &node in nodes {
        distance += model.distance.get(previous, node);
        time = time.then(&model.node_time(node), durations.get(previous, node));
        load = load.then(&model.load_segments[node]);
        previous = node;
    }
    distance += model.distance.get(previous, vehicle.end_node);
    time = time.then(
        &model.depot_time(vehicle, vehicle.end_node),
        durations.get(previous, vehicle.end_node),
    );
    route_figures(model, vehicle_type, distance, &load, &time)
}

/// A plan during the search: routes as customer node lists, each with its vehicle type.
#[derive(Clone, Debug)]
pub struct Individual {
    pub routes: Vec<(usize, Vec<usize>)>,
    pub figures: RouteFigures,
    /// Summed prizes of the customers not in any route, unscaled.
    pub unserved_prize: i64,
    /// Successor of each node (`usize::MAX` for depots' and unserved), for diversity.
    pub successor: Vec<usize>,
    pub predecessor: Vec<usize>,
}

const NO_NODE: usize = usize::MAX;

impl Individual {
    pub fn new(model: &Model, mut routes: Vec<(usize, Vec<usize>)>) -> Individual {
        routes.retain(|(_, nodes)| !nodes.is_empty());
        let mut figures = RouteFigures::default();
        let mut successor = vec![NO_NODE; model.n_nodes];
        let mut predecessor = vec![NO_NODE; model.n_nodes];
        let mut served = vec![false; model.n_nodes];
        for (vehicle_type, nodes) in &routes {
            let route = evaluate_route(model, *vehicle_type, nodes);
            figures.distance += route.distance;
            figures.cost += route.cost;
            figures.load_excess += route.load_excess;
            figures.time_excess += route.time_excess;
            figures.range_excess += route.range_excess;
            let start = model.vehicles[*vehicle_type].start_node;
            let end = model.vehicles[*vehicle_type].end_node;
            for (idx, &node) in nodes.iter().enumerate() {
                served[node] = true;
                predecessor[node] = if idx == 0 { start } else { nodes[idx - 1] };
                successor[node] = nodes.get(idx + 1).copied().unwrap_or(end);
            }
        }
        let unserved_prize = model
            .customers()
            .filter(|node| !served[*node])
            .map(|node| model.prize[node])
            .sum();
        Individual {
            routes,
            figures,
            unserved_prize,
            successor,
            predecessor,
        }
    }

    pub fn penalised(&self, penalties: &Penalties) -> i64 {
        self.figures.penalised(penalties) + self.unserved_prize * COST_SCALE
    }

    pub fn feasible(&self) -> bool {
        self.figures.feasible()
    }

    /// The true objective: costs plus prizes of unserved stops.
    pub fn objective(&self) -> i64 {
        self.figures.cost + self.unserved_prize
    }

    /// Share of customers whose neighbours differ (broken-pairs distance), in `0..=1`.
    pub fn broken_pairs(&self, other: &Individual, model: &Model) -> f64 {
        let mut broken = 0usize;
        for node in model.customers() {
            let successor = self.successor[node];
            if successor != other.successor[node] && successor != other.predecessor[node] {
                broken += 1;
            }
            let predecessor = self.predecessor[node];
            if predecessor < model.n_depots
                && other.predecessor[node] >= model.n_depots
                && other.successor[node] >= model.n_depots
            {
                broken += 1;
            }
        }
        broken as f64 / model.n_customers().max(1) as f64
    }
}

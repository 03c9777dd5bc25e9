//! Granular local search: segment exchanges, relocations and tail swaps between nearby
//! customers, plus inserting and dropping optional customers, until no move improves.
//!
//! Every move is described as the list of route pieces that form each changed route, so
//! one evaluator prices all moves from cached prefix and suffix summaries, and one
//! function applies them.

use super::{Individual, Penalties, RouteFigures, route_figures};
use crate::model::Model;
use crate::segment::{LoadSegment, TimeSegment};

const UNASSIGNED: usize = usize::MAX;

/// A stretch of an existing route, `start..=end` in positions (position 0 is the start
/// depot); empty when `start > end`. With `route == UNASSIGNED`, the single node `start`.
#[derive(Clone, Copy, Debug)]
struct Piece {
    route: usize,
    start: usize,
    end: usize,
}

impl Piece {
    fn of(route: usize, start: usize, end: usize) -> Piece {
        Piece { route, start, end }
    }
    fn node(node: usize) -> Piece {
        Piece {
            route: UNASSIGNED,
            start: node,
            end: node,
        }
    }
    fn is_empty(&self) -> bool {
        self.start > self.end
    }
}

struct LsRoute {
    vehicle_type: usize,
    /// Start depot, customers, end depot.
    nodes: Vec<usize>,
    cumulative_distance: Vec<i64>,
    prefix_load: Vec<LoadSegment>,
    suffix_load: Vec<LoadSegment>,
    prefix_time: Vec<TimeSegment>,
    suffix_time: Vec<TimeSegment>,
    cost: i64,
    modified_at: u64,
}

impl LsRoute {
    fn n_customers(&self) -> usize {
        self.nodes.len() - 2
    }
}

pub struct LocalSearch<'m> {
    model: &'m Model,
    routes: Vec<LsRoute>,
    route_of: Vec<usize>,
    position_of: Vec<usize>,
    penalties: Penalties,
    tested_at: Vec<u64>,
    clock: u64,
    order: Vec<usize>,
}

impl<'m> LocalSearch<'m> {
    pub fn new(model: &'m Model) -> LocalSearch<'m> {
        let mut routes = Vec::new();
        for (vehicle_type, vehicle) in model.vehicles.iter().enumerate() {
            // More vehicles than customers can never be used.
            for _ in 0..vehicle.count.min(model.n_customers().max(1)) {
                routes.push(LsRoute {
                    vehicle_type,
                    nodes: vec![vehicle.start_node, vehicle.end_node],
                    cumulative_distance: Vec::new(),
                    prefix_load: Vec::new(),
                    suffix_load: Vec::new(),
                    prefix_time: Vec::new(),
                    suffix_time: Vec::new(),
                    cost: 0,
                    modified_at: 0,
                });
            }
        }
        LocalSearch {
            model,
            routes,
            route_of: vec![UNASSIGNED; model.n_nodes],
            position_of: vec![0; model.n_nodes],
            penalties: Penalties {
                load: 1,
                time: 1,
                range: 1,
            },
            tested_at: vec![0; model.n_nodes],
            clock: 1,
            order: model.customers().collect(),
        }
    }

    /// Loads a plan; routes beyond a vehicle type's count leave their customers unassigned
    /// for the search to insert.
    pub fn load(&mut self, individual: &Individual) {
        self.route_of.fill(UNASSIGNED);
        for route in &mut self.routes {
            route.nodes.truncate(1);
            route
                .nodes
                .push(self.model.vehicles[route.vehicle_type].end_node);
        }
        let mut next_slot = 0;
        for (vehicle_type, nodes) in &individual.routes {
            let slot = (next_slot..self.routes.len())
                .chain(0..next_slot)
                .find(|idx| {
                    self.routes[*idx].vehicle_type == *vehicle_type
                        && self.routes[*idx].n_customers() == 0
                });
            let Some(slot) = slot else { continue };
            next_slot = slot + 1;
            let route = &mut self.routes[slot];
            let end = route.nodes.pop().unwrap_or(0);
            route.nodes.extend_from_slice(nodes);
            route.nodes.push(end);
        }
        for route_idx in 0..self.routes.len() {
            self.refresh(route_idx);
        }
        self.tested_at.fill(0);
    }

    pub fn export(&self) -> Individual {
        let routes = self
            .routes
            .iter()
            .filter(|route| route.n_customers() > 0)
            .map(|route| {
                (
                    route.vehicle_type,
                    route.nodes[1..route.nodes.len() - 1].to_vec(),
                )
            })
            .collect();
        Individual::new(self.model, routes)
    }

    /// Improves the loaded plan until no move improves it or `should_stop` says so.
    pub fn run(
        &mut self,
        penalties: Penalties,
        rng: &mut fastrand::Rng,
        should_stop: &mut dyn FnMut() -> bool,
    ) {
        self.penalties = penalties;
        for route_idx in 0..self.routes.len() {
            self.routes[route_idx].cost = self.price_route(route_idx);
        }
        self.tested_at.fill(0);
        self.clock += 1;
        rng.shuffle(&mut self.order);
        let model = self.model;
        let mut improved = true;
        while improved {
            improved = false;
            if should_stop() {
                break;
            }
            for order_idx in 0..self.order.len() {
                // Large instances take long per pass; look at the budget within passes.
                if order_idx % 256 == 255 && should_stop() {
                    return;
                }
                let u = self.order[order_idx];
                if self.route_of[u] == UNASSIGNED {
                    improved |= self.try_insert(u);
                    continue;
                }
                if !model.required[u] && self.try_remove(u) {
                    improved = true;
                    continue;
                }
                let last_tested = self.tested_at[u];
                self.tested_at[u] = self.clock;
                for neighbour_idx in 0..model.neighbours[u].len() {
                    let v = model.neighbours[u][neighbour_idx];
                    if self.route_of[v] == UNASSIGNED || self.route_of[u] == UNASSIGNED {
                        continue;
                    }
                    let route_u = self.route_of[u];
                    let route_v = self.route_of[v];
                    if self.routes[route_u].modified_at <= last_tested
                        && self.routes[route_v].modified_at <= last_tested
                    {
                        continue;
                    }
                    if self.node_moves(u, route_v, self.position_of[v]) {
                        improved = true;
                        continue;
                    }
                    if self.position_of[v] == 1 && self.node_moves(u, route_v, 0) {
                        improved = true;
                    }
                }
                if self.route_of[u] != UNASSIGNED {
                    improved |= self.moves_into_empty_routes(u);
                }
            }
        }
    }

    /// Tries the node moves between `u` and the node at `position_v` of `route_v`;
    /// applies the first that improves.
    fn node_moves(&mut self, u: usize, route_v: usize, position_v: usize) -> bool {
        for (n, m) in [(1, 0), (2, 0), (1, 1), (2, 1), (2, 2)] {
            if self.exchange(u, n, route_v, position_v, m) {
                return true;
            }
        }
        self.swap_tails(u, route_v, position_v)
    }

    /// Moves `u` (and up to two successors) into one empty route of each vehicle type.
    fn moves_into_empty_routes(&mut self, u: usize) -> bool {
        let mut seen_types: Vec<usize> = Vec::new();
        for route_idx in 0..self.routes.len() {
            let vehicle_type = self.routes[route_idx].vehicle_type;
            if self.routes[route_idx].n_customers() > 0 || seen_types.contains(&vehicle_type) {
                continue;
            }
            seen_types.push(vehicle_type);
            for n in 1..=2 {
                if self.exchange(u, n, route_idx, 0, 0) {
                    return true;
                }
            }
            if self.swap_tails(u, route_idx, 0) {
                return true;
            }
        }
        false
    }

    /// Exchanges `n` customers starting at `u` with `m` customers starting at position
    /// `position_v` of `route_v`; with `m == 0`, moves them after that position instead.
    fn exchange(
        &mut self,
        u: usize,
        n: usize,
        route_v: usize,
        position_v: usize,
        m: usize,
    ) -> bool {
        let route_u = self.route_of[u];
        let position_u = self.position_of[u];
        let len_u = self.routes[route_u].n_customers();
        let len_v = self.routes[route_v].n_customers();
        if position_u + n - 1 > len_u {
            return false;
        }
        if m > 0 && (position_v == 0 || position_v + m - 1 > len_v) {
            return false;
        }
        let segment_u = Piece::of(route_u, position_u, position_u + n - 1);
        if route_u != route_v {
            if !self.inter_exchange_may_improve(route_u, position_u, n, route_v, position_v, m) {
                return false;
            }
            if m == 0 {
                let new_u = [
                    Piece::of(route_u, 1, position_u - 1),
                    Piece::of(route_u, position_u + n, len_u),
                ];
                let new_v = [
                    Piece::of(route_v, 1, position_v),
                    segment_u,
                    Piece::of(route_v, position_v + 1, len_v),
                ];
                self.try_two(route_u, &new_u, route_v, &new_v)
            } else {
                let segment_v = Piece::of(route_v, position_v, position_v + m - 1);
                let new_u = [
                    Piece::of(route_u, 1, position_u - 1),
                    segment_v,
                    Piece::of(route_u, position_u + n, len_u),
                ];
                let new_v = [
                    Piece::of(route_v, 1, position_v - 1),
                    segment_u,
                    Piece::of(route_v, position_v + m, len_v),
                ];
                self.try_two(route_u, &new_u, route_v, &new_v)
            }
        } else {
            let r = route_u;
            let (pu, pv, len) = (position_u, position_v, len_u);
            if m == 0 {
                if pv + 1 >= pu && pv < pu + n {
                    return false;
                }
                let pieces = if pv < pu {
                    [
                        Piece::of(r, 1, pv),
                        segment_u,
                        Piece::of(r, pv + 1, pu - 1),
                        Piece::of(r, pu + n, len),
                        Piece::of(r, 1, 0),
                    ]
                } else {
                    [
                        Piece::of(r, 1, pu - 1),
                        Piece::of(r, pu + n, pv),
                        segment_u,
                        Piece::of(r, pv + 1, len),
                        Piece::of(r, 1, 0),
                    ]
                };
                self.try_one(r, &pieces)
            } else {
                let segment_v = Piece::of(r, pv, pv + m - 1);
                let pieces = if pu < pv {
                    if pu + n > pv {
                        return false;
                    }
                    [
                        Piece::of(r, 1, pu - 1),
                        segment_v,
                        Piece::of(r, pu + n, pv - 1),
                        segment_u,
                        Piece::of(r, pv + m, len),
                    ]
                } else {
                    if pv + m > pu {
                        return false;
                    }
                    [
                        Piece::of(r, 1, pv - 1),
                        segment_u,
                        Piece::of(r, pv + m, pu - 1),
                        segment_v,
                        Piece::of(r, pu + n, len),
                    ]
                };
                self.try_one(r, &pieces)
            }
        }
    }

    /// 2-opt*: `u`'s route continues with what followed position `position_v - 1` of
    /// `route_v` and vice versa, so that `u` is followed by the node at `position_v`.
    fn swap_tails(&mut self, u: usize, route_v: usize, position_v: usize) -> bool {
        let route_u = self.route_of[u];
        if route_u == route_v {
            return false;
        }
        let position_u = self.position_of[u];
        // Join after the node before `position_v` (or after the depot).
        let cut_v = position_v.saturating_sub(1);
        let len_u = self.routes[route_u].n_customers();
        let len_v = self.routes[route_v].n_customers();
        if !self.swap_tails_may_improve(route_u, position_u, route_v, cut_v) {
            return false;
        }
        let new_u = [
            Piece::of(route_u, 1, position_u),
            Piece::of(route_v, cut_v + 1, len_v),
        ];
        let new_v = [
            Piece::of(route_v, 1, cut_v),
            Piece::of(route_u, position_u + 1, len_u),
        ];
        self.try_two(route_u, &new_u, route_v, &new_v)
    }

    fn try_insert(&mut self, u: usize) -> bool {
        let model = self.model;
        let mut best: Option<(i64, usize, usize)> = None;
        let consider = |this: &Self,
                        route_idx: usize,
                        position: usize,
                        best: &mut Option<(i64, usize, usize)>| {
            let len = this.routes[route_idx].n_customers();
            let pieces = [
                Piece::of(route_idx, 1, position),
                Piece::node(u),
                Piece::of(route_idx, position + 1, len),
            ];
            let vehicle_type = this.routes[route_idx].vehicle_type;
            let delta = this.price(vehicle_type, &pieces) - this.routes[route_idx].cost;
            if best.is_none_or(|(best_delta, _, _)| delta < best_delta) {
                *best = Some((delta, route_idx, position));
            }
        };
        for &v in &model.neighbours[u] {
            let route_v = self.route_of[v];
            if route_v == UNASSIGNED {
                continue;
            }
            consider(self, route_v, self.position_of[v], &mut best);
            consider(self, route_v, self.position_of[v] - 1, &mut best);
        }
        let mut seen_types: Vec<usize> = Vec::new();
        for route_idx in 0..self.routes.len() {
            let vehicle_type = self.routes[route_idx].vehicle_type;
            if self.routes[route_idx].n_customers() == 0 && !seen_types.contains(&vehicle_type) {
                seen_types.push(vehicle_type);
                consider(self, route_idx, 0, &mut best);
            }
        }
        if best.is_none() {
            // No neighbour is routed yet: try every route's start.
            for route_idx in 0..self.routes.len() {
                consider(self, route_idx, 0, &mut best);
            }
        }
        let Some((delta, route_idx, position)) = best else {
            return false;
        };
        if delta >= model.prize[u] * super::COST_SCALE {
            return false;
        }
        let len = self.routes[route_idx].n_customers();
        let pieces = [
            Piece::of(route_idx, 1, position),
            Piece::node(u),
            Piece::of(route_idx, position + 1, len),
        ];
        self.apply(&[(route_idx, &pieces)]);
        true
    }

    fn try_remove(&mut self, u: usize) -> bool {
        let route_u = self.route_of[u];
        let position = self.position_of[u];
        let len = self.routes[route_u].n_customers();
        let pieces = [
            Piece::of(route_u, 1, position - 1),
            Piece::of(route_u, position + 1, len),
        ];
        let vehicle_type = self.routes[route_u].vehicle_type;
        let delta = self.price(vehicle_type, &pieces) - self.routes[route_u].cost;
        if delta + self.model.prize[u] * super::COST_SCALE < 0 {
            self.apply(&[(route_u, &pieces)]);
            self.route_of[u] = UNASSIGNED;
            return true;
        }
        false
    }

    fn try_one(&mut self, route: usize, pieces: &[Piece]) -> bool {
        let vehicle_type = self.routes[route].vehicle_type;
        let old = self.routes[route].cost;
        if self.lower_bound(vehicle_type, pieces) >= old {
            return false;
        }
        if self.price(vehicle_type, pieces) < old {
            self.apply(&[(route, pieces)]);
            return true;
        }
        false
    }

    fn try_two(
        &mut self,
        route_a: usize,
        pieces_a: &[Piece],
        route_b: usize,
        pieces_b: &[Piece],
    ) -> bool {
        let type_a = self.routes[route_a].vehicle_type;
        let type_b = self.routes[route_b].vehicle_type;
        let old = self.routes[route_a].cost + self.routes[route_b].cost;
        let bound_a = self.lower_bound(type_a, pieces_a);
        if bound_a + self.lower_bound(type_b, pieces_b) >= old {
            return false;
        }
        let cost_a = self.price(type_a, pieces_a);
        if cost_a + self.lower_bound(type_b, pieces_b) >= old {
            return false;
        }
        if cost_a + self.price(type_b, pieces_b) < old {
            self.apply(&[(route_a, pieces_a), (route_b, pieces_b)]);
            return true;
        }
        false
    }

    /// Distance-only bound for a route of `route`'s vehicle type with `distance`, or
    /// nothing when it would be empty.
    #[inline]
    fn distance_bound(&self, route: usize, distance: i64, empty: bool) -> i64 {
        if empty {
            return 0;
        }
        let vehicle = &self.model.vehicles[self.routes[route].vehicle_type];
        (vehicle.fixed_cost + vehicle.unit_cost * distance) * super::COST_SCALE
    }

    /// Fast filter for inter-route exchanges from distance deltas alone: penalties are
    /// never negative, so a move whose distance cost is not below the old penalised
    /// cost cannot improve.
    #[inline]
    fn inter_exchange_may_improve(
        &self,
        route_u: usize,
        pu: usize,
        n: usize,
        route_v: usize,
        pv: usize,
        m: usize,
    ) -> bool {
        let distance = &self.model.distance;
        let (a, b) = (&self.routes[route_u], &self.routes[route_v]);
        let (len_a, len_b) = (a.n_customers(), b.n_customers());
        let a_prev = a.nodes[pu - 1];
        let a_first = a.nodes[pu];
        let a_last = a.nodes[pu + n - 1];
        let a_next = a.nodes[pu + n];
        let inner_u = a.cumulative_distance[pu + n - 1] - a.cumulative_distance[pu];
        let dist_a = a.cumulative_distance[len_a + 1];
        let dist_b = b.cumulative_distance[len_b + 1];
        let removed_a = distance.get(a_prev, a_first) + inner_u + distance.get(a_last, a_next);
        let (new_a, new_b, empty_a, empty_b) = if m == 0 {
            let b_v = b.nodes[pv];
            let b_next = b.nodes[pv + 1];
            let new_a = dist_a - removed_a + distance.get(a_prev, a_next);
            let new_b = dist_b - distance.get(b_v, b_next)
                + distance.get(b_v, a_first)
                + inner_u
                + distance.get(a_last, b_next);
            (new_a, new_b, n == len_a, false)
        } else {
            let b_prev = b.nodes[pv - 1];
            let b_first = b.nodes[pv];
            let b_last = b.nodes[pv + m - 1];
            let b_next = b.nodes[pv + m];
            let inner_v = b.cumulative_distance[pv + m - 1] - b.cumulative_distance[pv];
            let removed_b = distance.get(b_prev, b_first) + inner_v + distance.get(b_last, b_next);
            let new_a = dist_a - removed_a
                + distance.get(a_prev, b_first)
                + inner_v
                + distance.get(b_last, a_next);
            let new_b = dist_b - removed_b
                + distance.get(b_prev, a_first)
                + inner_u
                + distance.get(a_last, b_next);
            (new_a, new_b, false, false)
        };
        self.distance_bound(route_u, new_a, empty_a) + self.distance_bound(route_v, new_b, empty_b)
            < a.cost + b.cost
    }

    #[inline]
    fn swap_tails_may_improve(
        &self,
        route_u: usize,
        pu: usize,
        route_v: usize,
        cut_v: usize,
    ) -> bool {
        let distance = &self.model.distance;
        let (a, b) = (&self.routes[route_u], &self.routes[route_v]);
        let (len_a, len_b) = (a.n_customers(), b.n_customers());
        let (end_a, end_b) = (a.nodes[len_a + 1], b.nodes[len_b + 1]);
        // Distance from `from` through the tail of `route` after `cut` to `end`.
        let tail = |route: &LsRoute, len: usize, cut: usize, from: usize, end: usize| -> i64 {
            if cut >= len {
                distance.get(from, end)
            } else {
                distance.get(from, route.nodes[cut + 1]) + route.cumulative_distance[len]
                    - route.cumulative_distance[cut + 1]
                    + distance.get(route.nodes[len], end)
            }
        };
        let new_a = a.cumulative_distance[pu] + tail(b, len_b, cut_v, a.nodes[pu], end_a);
        let new_b = b.cumulative_distance[cut_v] + tail(a, len_a, pu, b.nodes[cut_v], end_b);
        let empty_a = pu == 0 && cut_v >= len_b;
        let empty_b = cut_v == 0 && pu >= len_a;
        self.distance_bound(route_u, new_a, empty_a) + self.distance_bound(route_v, new_b, empty_b)
            < a.cost + b.cost
    }

    fn piece_first(&self, piece: &Piece) -> usize {
        if piece.route == UNASSIGNED {
            piece.start
        } else {
            self.routes[piece.route].nodes[piece.start]
        }
    }

    fn piece_last(&self, piece: &Piece) -> usize {
        if piece.route == UNASSIGNED {
            piece.start
        } else {
            self.routes[piece.route].nodes[piece.end]
        }
    }

    fn piece_inner_distance(&self, piece: &Piece) -> i64 {
        if piece.route == UNASSIGNED {
            0
        } else {
            let cumulative = &self.routes[piece.route].cumulative_distance;
            cumulative[piece.end] - cumulative[piece.start]
        }
    }

    /// Cost without penalties: no move whose bound is not below the old cost can improve.
    fn lower_bound(&self, vehicle_type: usize, pieces: &[Piece]) -> i64 {
        let model = self.model;
        let vehicle = &model.vehicles[vehicle_type];
        let mut previous = vehicle.start_node;
        let mut distance = 0;
        let mut any = false;
        for piece in pieces.iter().filter(|piece| !piece.is_empty()) {
            any = true;
            distance += model.distance.get(previous, self.piece_first(piece))
                + self.piece_inner_distance(piece);
            previous = self.piece_last(piece);
        }
        if !any {
            return 0;
        }
        distance += model.distance.get(previous, vehicle.end_node);
        (vehicle.fixed_cost + vehicle.unit_cost * distance) * super::COST_SCALE
    }

    /// Penalised cost of a route of `vehicle_type` made of `pieces`.
    fn price(&self, vehicle_type: usize, pieces: &[Piece]) -> i64 {
        self.figures(vehicle_type, pieces)
            .map_or(0, |figures| figures.penalised(&self.penalties))
    }

    fn figures(&self, vehicle_type: usize, pieces: &[Piece]) -> Option<RouteFigures> {
        let model = self.model;
        let vehicle = &model.vehicles[vehicle_type];
        let durations = &model.durations[vehicle.profile];
        let mut non_empty = pieces.iter().filter(|piece| !piece.is_empty()).peekable();
        let first = *non_empty.peek()?;
        let (mut distance, mut load, mut time);
        if first.route != UNASSIGNED
            && first.start == 1
            && self.routes[first.route].vehicle_type == vehicle_type
        {
            let route = &self.routes[first.route];
            distance = route.cumulative_distance[first.end];
            load = route.prefix_load[first.end];
            time = route.prefix_time[first.end];
            non_empty.next();
        } else {
            distance = 0;
            load = LoadSegment::default();
            time = model.depot_time(vehicle, vehicle.start_node);
        }
        while let Some(piece) = non_empty.next() {
            if piece.route == UNASSIGNED {
                let node = piece.start;
                distance += model.distance.get(time.last, node);
                load = load.then(&model.load_segments[node]);
                time = time.then(&model.node_time(node), durations.get(time.last, node));
                continue;
            }
            let route = &self.routes[piece.route];
            let is_last = non_empty.peek().is_none();
            if is_last && piece.end == route.n_customers() && route.vehicle_type == vehicle_type {
                let node = route.nodes[piece.start];
                distance += model.distance.get(time.last, node)
                    + route.cumulative_distance[piece.end + 1]
                    - route.cumulative_distance[piece.start];
                load = load.then(&route.suffix_load[piece.start]);
                time = time.then(
                    &route.suffix_time[piece.start],
                    durations.get(time.last, node),
                );
                return Some(route_figures(model, vehicle_type, distance, &load, &time));
            }
            for position in piece.start..=piece.end {
                let node = route.nodes[position];
                distance += model.distance.get(time.last, node);
                load = load.then(&model.load_segments[node]);
                time = time.then(&model.node_time(node), durations.get(time.last, node));
            }
        }
        distance += model.distance.get(time.last, vehicle.end_node);
        time = time.then(
            &model.depot_time(vehicle, vehicle.end_node),
            durations.get(time.last, vehicle.end_node),
        );
        Some(route_figures(model, vehicle_type, distance, &load, &time))
    }

    fn apply(&mut self, changes: &[(usize, &[Piece])]) {
        let mut new_nodes: Vec<(usize, Vec<usize>)> = Vec::with_capacity(changes.len());
        for (route_idx, pieces) in changes {
            let route = &self.routes[*route_idx];
            let mut nodes = vec![route.nodes[0]];
            for piece in pieces.iter().filter(|piece| !piece.is_empty()) {
                if piece.route == UNASSIGNED {
                    nodes.push(piece.start);
                } else {
                    nodes.extend_from_slice(
                        &self.routes[piece.route].nodes[piece.start..=piece.end],
                    );
                }
            }
            nodes.push(*route.nodes.last().unwrap_or(&0));
            new_nodes.push((*route_idx, nodes));
        }
        self.clock += 1;
        for (route_idx, nodes) in new_nodes {
            self.routes[route_idx].nodes = nodes;
            self.refresh(route_idx);
            self.routes[route_idx].cost = self.price_route(route_idx);
        }
    }

    fn price_route(&self, route_idx: usize) -> i64 {
        let route = &self.routes[route_idx];
        if route.n_customers() == 0 {
            return 0;
        }
        let last = route.nodes.len() - 1;
        route_figures(
            self.model,
            route.vehicle_type,
            route.cumulative_distance[last],
            &route.prefix_load[last],
            &route.prefix_time[last],
        )
        .penalised(&self.penalties)
    }

    /// Recomputes a route's cached summaries and its nodes' positions.
    fn refresh(&mut self, route_idx: usize) {
        let model = self.model;
        let route = &mut self.routes[route_idx];
        let vehicle = &model.vehicles[route.vehicle_type];
        let durations = &model.durations[vehicle.profile];
        let n = route.nodes.len();
        route.modified_at = self.clock;
        route.cumulative_distance.clear();
        route.prefix_load.clear();
        route.prefix_time.clear();
        route.suffix_load.clear();
        route.suffix_time.clear();
        let time_of = |position: usize, node: usize| {
            if position == 0 || position == n - 1 {
                model.depot_time(vehicle, node)
            } else {
                model.node_time(node)
            }
        };
        let mut distance = 0;
        let mut load = LoadSegment::default();
        let mut time = time_of(0, route.nodes[0]);
        for position in 0..n {
            let node = route.nodes[position];
            if position > 0 {
                let previous = route.nodes[position - 1];
                distance += model.distance.get(previous, node);
                load = load.then(&model.load_segments[node]);
                time = time.then(&time_of(position, node), durations.get(previous, node));
            }
            route.cumulative_distance.push(distance);
            route.prefix_load.push(load);
            route.prefix_time.push(time);
            if position > 0 && position < n - 1 {
                self.route_of[node] = route_idx;
                self.position_of[node] = position;
            }
        }
        route.suffix_load.resize(n, LoadSegment::default());
        route
            .suffix_time
            .resize(n, time_of(n - 1, route.nodes[n - 1]));
        let mut load = LoadSegment::default();
        let mut time = time_of(n - 1, route.nodes[n - 1]);
        for position in (0..n - 1).rev() {
            let node = route.nodes[position];
            let next = route.nodes[position + 1];
            load = model.load_segments[node].then(&load);
            time = time_of(position, node).then(&time, durations.get(node, next));
            route.suffix_load[position] = load;
            route.suffix_time[position] = time;
        }
    }
}

//! Hybrid genetic search (after Vidal 2012/2022 and Wouda et al. 2024, PyVRP): a
//! population of locally optimal plans, split into feasible and infeasible halves, bred
//! by selective route exchange and kept diverse by ranking each plan on cost and on its
//! broken-pairs distance to its closest neighbours.

use super::local_search::LocalSearch;
use super::{COST_SCALE, Individual, Penalties};
use crate::model::Model;

/// Tuning of the genetic search; the defaults follow the published ones.
#[derive(Clone, Debug)]
pub struct Params {
    pub population_min: usize,
    pub generation_size: usize,
    pub n_elite: usize,
    pub n_close: usize,
    /// Share of fresh plans that should be feasible; penalties adapt towards it.
    pub feasible_target: f64,
    pub penalty_update_every: u64,
    /// Iterations without a better plan before the population is rebuilt.
    pub restart_after: u64,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            population_min: 25,
            generation_size: 40,
            n_elite: 4,
            n_close: 5,
            feasible_target: 0.43,
            penalty_update_every: 25,
            restart_after: 20_000,
        }
    }
}

pub struct Outcome {
    pub best_feasible: Option<Individual>,
    pub best_any: Individual,
    pub iterations: u64,
}

struct Member {
    individual: Individual,
    cost: i64,
    fitness: f64,
}

#[derive(Default)]
struct SubPopulation {
    members: Vec<Member>,
    /// Broken-pairs distances between members.
    distances: Vec<Vec<f64>>,
}

impl SubPopulation {
    fn add(&mut self, model: &Model, individual: Individual, cost: i64) {
        let row: Vec<f64> = self
            .members
            .iter()
            .map(|member| individual.broken_pairs(&member.individual, model))
            .collect();
        for (idx, distance) in row.iter().enumerate() {
            self.distances[idx].push(*distance);
        }
        let mut own = row;
        own.push(0.0);
        self.distances.push(own);
        self.members.push(Member {
            individual,
            cost,
            fitness: 0.0,
        });
    }

    fn remove(&mut self, idx: usize) {
        self.members.swap_remove(idx);
        self.distances.swap_remove(idx);
        for row in &mut self.distances {
            row.swap_remove(idx);
        }
    }

    fn update_fitness(&mut self, params: &Params) {
        let n = self.members.len();
        if n == 0 {
            return;
        }
        if n == 1 {
            self.members[0].fitness = 0.0;
            return;
        }
        let mut by_cost: Vec<usize> = (0..n).collect();
        by_cost.sort_by_key(|idx| (self.members[*idx].cost, *idx));
        let diversity: Vec<f64> = (0..n)
            .map(|idx| {
                let mut others: Vec<f64> = (0..n)
                    .filter(|other| *other != idx)
                    .map(|other| self.distances[idx][other])
                    .collect();
                others.sort_by(f64::total_cmp);
                let n_close = params.n_close.min(others.len());
                others[..n_close].iter().sum::<f64>() / n_close as f64
            })
            .collect();
        let mut by_diversity: Vec<usize> = (0..n).collect();
        by_diversity.sort_by(|a, b| diversity[*b].total_cmp(&diversity[*a]).then(a.cmp(b)));
        let mut diversity_rank = vec![0.0; n];
        for (rank, idx) in by_diversity.iter().enumerate() {
            diversity_rank[*idx] = rank as f64 / (n - 1) as f64;
        }
        let elite_weight = 1.0 - (params.n_elite as f64 / n as f64).min(1.0);
        for (rank, idx) in by_cost.iter().enumerate() {
            let cost_rank = rank as f64 / (n - 1) as f64;
            self.members[*idx].fitness = cost_rank + elite_weight * diversity_rank[*idx];
        }
    }

    /// Culls to the minimum size, clones first, then the least fit.
    fn select_survivors(&mut self, params: &Params) {
        while self.members.len() > params.population_min {
            let n = self.members.len();
            let clone = (0..n).find(|idx| {
                (0..*idx).any(|other| {
                    self.distances[*idx][other] == 0.0
                        && self.members[*idx].cost == self.members[other].cost
                })
            });
            if let Some(idx) = clone {
                self.remove(idx);
                continue;
            }
            self.update_fitness(params);
            let worst = (0..n)
                .max_by(|a, b| {
                    self.members[*a]
                        .fitness
                        .total_cmp(&self.members[*b].fitness)
                        .then(b.cmp(a))
                })
                .unwrap_or(0);
            self.remove(worst);
        }
    }
}

/// Adapts one penalty weight from the share of recent plans feasible in its respect.
fn adapt(weight: i64, feasible_share: f64, target: f64) -> i64 {
    if feasible_share < target - 0.05 {
        ((weight as f64 * 1.25).ceil() as i64).min(1 << 30)
    } else if feasible_share > target + 0.05 {
        ((weight as f64 * 0.85) as i64).max(1)
    } else {
        weight
    }
}

pub struct Genetic<'m> {
    model: &'m Model,
    params: Params,
    rng: fastrand::Rng,
    local_search: LocalSearch<'m>,
    penalties: Penalties,
    feasible: SubPopulation,
    infeasible: SubPopulation,
    slot_types: Vec<usize>,
    recent_load_feasible: u64,
    recent_time_feasible: u64,
    recent_range_feasible: u64,
    recent_count: u64,
}

impl<'m> Genetic<'m> {
    pub fn new(model: &'m Model, params: Params, seed: u64) -> Genetic<'m> {
        let max_arc = model.distance.max_value().max(1);
        let max_load = model
            .customers()
            .flat_map(|node| {
                model.delivery[node]
                    .iter()
                    .chain(model.pickup[node].iter())
                    .copied()
            })
            .max()
            .unwrap_or(1)
            .max(1);
        let penalties = Penalties {
            load: (COST_SCALE * max_arc / max_load).clamp(10, 100_000),
            time: COST_SCALE,
            range: COST_SCALE,
        };
        let mut slot_types = Vec::new();
        for (vehicle_type, vehicle) in model.vehicles.iter().enumerate() {
            slot_types.extend(std::iter::repeat_n(
                vehicle_type,
                vehicle.count.min(model.n_customers().max(1)),
            ));
        }
        Genetic {
            model,
            params,
            rng: fastrand::Rng::with_seed(seed),
            local_search: LocalSearch::new(model),
            penalties,
            feasible: SubPopulation::default(),
            infeasible: SubPopulation::default(),
            slot_types,
            recent_load_feasible: 0,
            recent_time_feasible: 0,
            recent_range_feasible: 0,
            recent_count: 0,
        }
    }

    /// Runs until `should_stop` or `iterations_max`; reports each better feasible plan.
    pub fn run(
        &mut self,
        iterations_max: u64,
        should_stop: &mut dyn FnMut() -> bool,
        on_improvement: &mut dyn FnMut(u64, &Individual),
    ) -> Outcome {
        let mut best_feasible: Option<Individual> = None;
        let mut best_any: Option<(i64, Individual)> = None;
        let mut iteration = 0u64;
        let mut last_improvement = 0u64;

        let mut consider = |individual: &Individual,
                            iteration: u64,
                            best_feasible: &mut Option<Individual>,
                            best_any: &mut Option<(i64, Individual)>|
         -> bool {
            // Rank infeasible plans by violation first: the fallback should be as close
            // to feasible as possible.
            let violation = individual.figures.load_excess
                + individual.figures.time_excess
                + individual.figures.range_excess;
            let any_key = violation
                .saturating_mul(1 << 20)
                .saturating_add(individual.objective());
            if best_any.as_ref().is_none_or(|(key, _)| any_key < *key) {
                *best_any = Some((any_key, individual.clone()));
            }
            if individual.feasible()
                && best_feasible
                    .as_ref()
                    .is_none_or(|best| individual.objective() < best.objective())
            {
                *best_feasible = Some(individual.clone());
                on_improvement(iteration, individual);
                return true;
            }
            false
        };

        self.initialise(should_stop, &mut |individual| {
            consider(individual, 0, &mut best_feasible, &mut best_any);
        });
        while iteration < iterations_max && !should_stop() {
            iteration += 1;
            self.feasible.update_fitness(&self.params);
            self.infeasible.update_fitness(&self.params);
            let parent_a = self.select_parent();
            let parent_b = self.select_parent();
            let child = match (parent_a, parent_b) {
                (Some(a), Some(b)) => self.crossover(&a, &b),
                _ => self.random_individual(),
            };
            let improved_child = self.educate(&child, self.penalties, should_stop);
            self.track_feasibility(&improved_child);
            if consider(
                &improved_child,
                iteration,
                &mut best_feasible,
                &mut best_any,
            ) {
                last_improvement = iteration;
            }
            let child_feasible = improved_child.feasible();
            self.insert(improved_child.clone());
            if !child_feasible && self.rng.bool() {
                let repaired =
                    self.educate(&improved_child, self.penalties.boosted(10), should_stop);
                if repaired.feasible() {
                    if consider(&repaired, iteration, &mut best_feasible, &mut best_any) {
                        last_improvement = iteration;
                    }
                    self.insert(repaired);
                }
            }
            if iteration.is_multiple_of(self.params.penalty_update_every) {
                self.update_penalties();
            }
            if iteration - last_improvement > self.params.restart_after {
                last_improvement = iteration;
                self.feasible = SubPopulation::default();
                self.infeasible = SubPopulation::default();
                if let Some(best) = &best_feasible {
                    self.insert(best.clone());
                }
                self.initialise(should_stop, &mut |individual| {
                    consider(individual, iteration, &mut best_feasible, &mut best_any);
                });
            }
        }
        let best_any = match best_any {
            Some((_, individual)) => individual,
            None => Individual::new(self.model, Vec::new()),
        };
        if best_feasible.is_none() {
            // Out of budget without a feasible plan: push the closest one towards
            // feasibility with ever higher penalties before anyone drops stops from it.
            let mut never_stop = || false;
            for factor in [10, 100, 1_000, 10_000] {
                let repaired =
                    self.educate(&best_any, self.penalties.boosted(factor), &mut never_stop);
                if repaired.feasible() {
                    best_feasible = Some(repaired);
                    break;
                }
            }
        }
        Outcome {
            best_feasible,
            best_any,
            iterations: iteration,
        }
    }

    fn initialise(
        &mut self,
        should_stop: &mut dyn FnMut() -> bool,
        seen: &mut dyn FnMut(&Individual),
    ) {
        for member_idx in 0..self.params.population_min {
            // Even out of budget, one plan is made, so that there is something to return.
            if member_idx > 0 && should_stop() {
                break;
            }
            let random = self.random_individual();
            let improved = self.educate(&random, self.penalties, should_stop);
            self.track_feasibility(&improved);
            seen(&improved);
            self.insert(improved);
        }
    }

    fn educate(
        &mut self,
        individual: &Individual,
        penalties: Penalties,
        should_stop: &mut dyn FnMut() -> bool,
    ) -> Individual {
        self.local_search.load(individual);
        self.local_search.run(penalties, &mut self.rng, should_stop);
        self.local_search.export()
    }

    fn insert(&mut self, individual: Individual) {
        let cost = individual.penalised(&self.penalties);
        let population = if individual.feasible() {
            &mut self.feasible
        } else {
            &mut self.infeasible
        };
        population.add(self.model, individual, cost);
        if population.members.len() > self.params.population_min + self.params.generation_size {
            population.select_survivors(&self.params);
        }
    }

    fn track_feasibility(&mut self, individual: &Individual) {
        self.recent_count += 1;
        self.recent_load_feasible += u64::from(individual.figures.load_excess == 0);
        self.recent_time_feasible += u64::from(individual.figures.time_excess == 0);
        self.recent_range_feasible += u64::from(individual.figures.range_excess == 0);
    }

    fn update_penalties(&mut self) {
        if self.recent_count == 0 {
            return;
        }
        let share = |count: u64| count as f64 / self.recent_count as f64;
        let target = self.params.feasible_target;
        self.penalties.load = adapt(
            self.penalties.load,
            share(self.recent_load_feasible),
            target,
        );
        self.penalties.time = adapt(
            self.penalties.time,
            share(self.recent_time_feasible),
            target,
        );
        self.penalties.range = adapt(
            self.penalties.range,
            share(self.recent_range_feasible),
            target,
        );
        self.recent_count = 0;
        self.recent_load_feasible = 0;
        self.recent_time_feasible = 0;
        self.recent_range_feasible = 0;
    }

    /// Binary tournament on biased fitness (as last updated) over both sub-populations.
    fn select_parent(&mut self) -> Option<Individual> {
        let n_feasible = self.feasible.members.len();
        let total = n_feasible + self.infeasible.members.len();
        if total == 0 {
            return None;
        }
        let member = |idx: usize| -> &Member {
            if idx < n_feasible {
                &self.feasible.members[idx]
            } else {
                &self.infeasible.members[idx - n_feasible]
            }
        };
        let first = self.rng.usize(0..total);
        let second = self.rng.usize(0..total);
        let winner = if member(second).fitness < member(first).fitness {
            second
        } else {
            first
        };
        Some(member(winner).individual.clone())
    }

    fn random_individual(&mut self) -> Individual {
        let model = self.model;
        let mut customers: Vec<usize> = model.customers().collect();
        self.rng.shuffle(&mut customers);
        let total_load: i64 = customers
            .iter()
            .map(|node| model.delivery[*node][0].max(model.pickup[*node][0]))
            .sum();
        let capacity = model.vehicles[self.slot_types[0]].capacity[0].max(1);
        let needed = ((total_load + capacity - 1) / capacity).max(1) as usize;
        let n_routes = (needed + self.rng.usize(0..=needed / 2 + 1))
            .min(self.slot_types.len())
            .min(customers.len())
            .max(1);
        let mut routes: Vec<(usize, Vec<usize>)> = (0..n_routes)
            .map(|route_idx| (self.slot_types[route_idx], Vec::new()))
            .collect();
        for (idx, node) in customers.into_iter().enumerate() {
            routes[idx % n_routes].1.push(node);
        }
        Individual::new(model, routes)
    }

    /// Selective route exchange (Nagata & Kobayashi 2010, as in PyVRP): a run of
    /// neighbouring routes of one parent replaces the closest run of the other's.
    fn crossover(&mut self, parent_a: &Individual, parent_b: &Individual) -> Individual {
        let model = self.model;
        let routes_a = self.sorted_by_angle(&parent_a.routes);
        let routes_b = self.sorted_by_angle(&parent_b.routes);
        let (n_a, n_b) = (routes_a.len(), routes_b.len());
        if n_a == 0 || n_b == 0 {
            return parent_a.clone();
        }
        let n_moved = self.rng.usize(1..=n_a.min(n_b));
        let start_a = self.rng.usize(0..n_a);
        let mut start_b = self.rng.usize(0..n_b);
        let mut in_selected_a = vec![false; model.n_nodes];
        for offset in 0..n_moved {
            for &node in &routes_a[(start_a + offset) % n_a].1 {
                in_selected_a[node] = true;
            }
        }
        let difference = |start: usize| -> usize {
            let mut count = 0;
            for offset in 0..n_moved {
                count += routes_b[(start + offset) % n_b]
                    .1
                    .iter()
                    .filter(|node| !in_selected_a[**node])
                    .count();
            }
            count
        };
        let mut best_difference = difference(start_b);
        for _ in 0..n_b {
            let left = (start_b + n_b - 1) % n_b;
            let right = (start_b + 1) % n_b;
            let (left_difference, right_difference) = (difference(left), difference(right));
            if left_difference < best_difference && left_difference <= right_difference {
                start_b = left;
                best_difference = left_difference;
            } else if right_difference < best_difference {
                start_b = right;
                best_difference = right_difference;
            } else {
                break;
            }
        }
        let selected_a = |idx: usize| (idx + n_a - start_a) % n_a < n_moved;
        let selected_b = |idx: usize| (idx + n_b - start_b) % n_b < n_moved;
        let mut in_selected_b = vec![false; model.n_nodes];
        let mut in_kept_a = vec![false; model.n_nodes];
        for (idx, (_, nodes)) in routes_b.iter().enumerate() {
            if selected_b(idx) {
                nodes.iter().for_each(|node| in_selected_b[*node] = true);
            }
        }
        for (idx, (_, nodes)) in routes_a.iter().enumerate() {
            if !selected_a(idx) {
                nodes.iter().for_each(|node| in_kept_a[*node] = true);
            }
        }
        let mut child_keep_a: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut child_keep_b: Vec<(usize, Vec<usize>)> = Vec::new();
        for (idx, (vehicle_type, nodes)) in routes_a.iter().enumerate() {
            if !selected_a(idx) {
                child_keep_a.push((*vehicle_type, nodes.clone()));
                child_keep_b.push((
                    *vehicle_type,
                    nodes
                        .iter()
                        .copied()
                        .filter(|node| !in_selected_b[*node])
                        .collect(),
                ));
            }
        }
        for (idx, (vehicle_type, nodes)) in routes_b.iter().enumerate() {
            if selected_b(idx) {
                child_keep_a.push((
                    *vehicle_type,
                    nodes
                        .iter()
                        .copied()
                        .filter(|node| !in_kept_a[*node])
                        .collect(),
                ));
                child_keep_b.push((*vehicle_type, nodes.clone()));
            }
        }
        let first = self.repair(child_keep_a);
        let second = self.repair(child_keep_b);
        if first.penalised(&self.penalties) <= second.penalised(&self.penalties) {
            first
        } else {
            second
        }
    }

    /// Puts back the required customers a crossover dropped, each where it adds the least
    /// distance.
    fn repair(&mut self, mut routes: Vec<(usize, Vec<usize>)>) -> Individual {
        let model = self.model;
        let mut served = vec![false; model.n_nodes];
        for (_, nodes) in &routes {
            nodes.iter().for_each(|node| served[*node] = true);
        }
        let mut missing: Vec<usize> = model
            .customers()
            .filter(|node| !served[*node] && model.required[*node])
            .collect();
        self.rng.shuffle(&mut missing);
        for node in missing {
            let mut best: Option<(i64, usize, usize)> = None;
            for (route_idx, (vehicle_type, nodes)) in routes.iter().enumerate() {
                let vehicle = &model.vehicles[*vehicle_type];
                for position in 0..=nodes.len() {
                    let before = if position == 0 {
                        vehicle.start_node
                    } else {
                        nodes[position - 1]
                    };
                    let after = nodes.get(position).copied().unwrap_or(vehicle.end_node);
                    let delta = model.distance.get(before, node) + model.distance.get(node, after)
                        - model.distance.get(before, after);
                    if best.is_none_or(|(best_delta, _, _)| delta < best_delta) {
                        best = Some((delta, route_idx, position));
                    }
                }
            }
            match best {
                Some((_, route_idx, position)) => routes[route_idx].1.insert(position, node),
                None => routes.push((self.slot_types[0], vec![node])),
            }
        }
        Individual::new(model, routes)
    }

    fn sorted_by_angle(&self, routes: &[(usize, Vec<usize>)]) -> Vec<(usize, Vec<usize>)> {
        let mut sorted = routes.to_vec();
        let Some(coordinates) = &self.model.coordinates else {
            return sorted;
        };
        let angle = |(vehicle_type, nodes): &(usize, Vec<usize>)| -> f64 {
            let depot = coordinates[self.model.vehicles[*vehicle_type].start_node];
            let n = nodes.len().max(1) as f64;
            let x = nodes.iter().map(|node| coordinates[*node][0]).sum::<f64>() / n;
            let y = nodes.iter().map(|node| coordinates[*node][1]).sum::<f64>() / n;
            (y - depot[1]).atan2(x - depot[0])
        };
        sorted.sort_by(|a, b| angle(a).total_cmp(&angle(b)));
        sorted
    }
}

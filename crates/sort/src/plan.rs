//! A sort plan: which destinations each chute takes.

use serde::{Deserialize, Serialize};

use crate::layout::{Hub, forward_slots};

/// Which destinations go to which chute. A chute may take several destinations
/// (a multi-destination chute) and a destination may have several chutes (extra chutes for a
/// large destination); an item takes the first of its chutes downstream that accepts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub name: String,
    /// Indexed like `hub.layout().chutes`: destination indexes taken by each chute.
    pub chute_destinations: Vec<Vec<u32>>,
}

/// One chute's assignment, by id and code, for output and for a plan kept by its caller
/// ([`Plan::from_assignments`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChuteAssignment {
    pub chute: String,
    pub destinations: Vec<String>,
}

/// Why a plan does not fit its hub.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("the plan has {found} chutes; the hub has {expected}")]
    ChuteCount { found: usize, expected: usize },
    #[error("chute {chute} takes destination index {destination_idx}, which does not exist")]
    UnknownDestination { chute: String, destination_idx: u32 },
    #[error("the exception chute {chute} is given destinations")]
    ExceptionChuteAssigned { chute: String },
    #[error("the hub has no chute {chute}")]
    UnknownChute { chute: String },
    #[error("chute {chute} takes destination {destination}, which the hub does not have")]
    UnknownDestinationCode { chute: String, destination: String },
}

impl Plan {
    pub fn empty(hub: &Hub, name: &str) -> Plan {
        Plan {
            name: name.to_string(),
            chute_destinations: vec![Vec::new(); hub.layout().chutes.len()],
        }
    }

    /// The plan that [`Plan::assignments`] wrote out, read back against its hub.
    pub fn from_assignments(
        hub: &Hub,
        name: &str,
        assignments: &[ChuteAssignment],
    ) -> Result<Plan, PlanError> {
        let layout = hub.layout();
        let mut plan = Plan::empty(hub, name);
        for assignment in assignments {
            let chute_idx = layout
                .chutes
                .iter()
                .position(|c| c.id == assignment.chute)
                .ok_or_else(|| PlanError::UnknownChute {
                    chute: assignment.chute.clone(),
                })?;
            for code in &assignment.destinations {
                let destination_idx =
                    hub.destination_idx(code)
                        .ok_or_else(|| PlanError::UnknownDestinationCode {
                            chute: assignment.chute.clone(),
                            destination: code.clone(),
                        })?;
                plan.chute_destinations[chute_idx].push(destination_idx as u32);
            }
        }
        plan.check(hub)?;
        Ok(plan)
    }

    pub fn check(&self, hub: &Hub) -> Result<(), PlanError> {
        let chutes = &hub.layout().chutes;
        if self.chute_destinations.len() != chutes.len() {
            return Err(PlanError::ChuteCount {
                found: self.chute_destinations.len(),
                expected: chutes.len(),
            });
        }
        let n_destinations = hub.layout().destinations.len() as u32;
        for (chute_idx, destinations) in self.chute_destinations.iter().enumerate() {
            if chute_idx == hub.exception_chute_idx() && !destinations.is_empty() {
                return Err(PlanError::ExceptionChuteAssigned {
                    chute: chutes[chute_idx].id.clone(),
                });
            }
            if let Some(&destination_idx) = destinations.iter().find(|&&d| d >= n_destinations) {
                return Err(PlanError::UnknownDestination {
                    chute: chutes[chute_idx].id.clone(),
                    destination_idx,
                });
            }
        }
        Ok(())
    }

    /// Each destination's chutes.
    pub fn destination_chutes(&self, n_destinations: usize) -> Vec<Vec<u32>> {
        let mut chutes_of = vec![Vec::new(); n_destinations];
        for (chute_idx, destinations) in self.chute_destinations.iter().enumerate() {
            for &destination_idx in destinations {
                chutes_of[destination_idx as usize].push(chute_idx as u32);
            }
        }
        chutes_of
    }

    /// Destinations left without a chute; a good plan has none.
    pub fn destinations_without_chute(&self, hub: &Hub) -> Vec<String> {
        let destinations = &hub.layout().destinations;
        self.destination_chutes(destinations.len())
            .iter()
            .zip(destinations)
            .filter(|(chutes, _)| chutes.is_empty())
            .map(|(_, destination)| destination.code.clone())
            .collect()
    }

    pub fn assignments(&self, hub: &Hub) -> Vec<ChuteAssignment> {
        let layout = hub.layout();
        self.chute_destinations
            .iter()
            .enumerate()
            .filter(|(_, destinations)| !destinations.is_empty())
            .map(|(chute_idx, destinations)| ChuteAssignment {
                chute: layout.chutes[chute_idx].id.clone(),
                destinations: destinations
                    .iter()
                    .map(|&d| layout.destinations[d as usize].code.clone())
                    .collect(),
            })
            .collect()
    }

    /// Share of the day's items whose destination shares a chute with another destination;
    /// they must be sorted again by hand.
    pub fn shared_share(&self, hub: &Hub) -> f64 {
        let destinations = &hub.layout().destinations;
        let mut shared = vec![false; destinations.len()];
        for chute in &self.chute_destinations {
            if chute.len() > 1 {
                for &d in chute {
                    shared[d as usize] = true;
                }
            }
        }
        let volume = |d: &crate::layout::Destination| d.volumes.iter().sum::<u64>() as f64;
        let total: f64 = destinations.iter().map(volume).sum();
        let shared_volume: f64 = destinations
            .iter()
            .zip(&shared)
            .filter(|(_, is_shared)| **is_shared)
            .map(|(d, _)| volume(d))
            .sum();
        shared_volume / total.max(1.0)
    }

    /// The half-loop drop rate the plan would reach if no chute ever refused an item: for each
    /// destination, the share of induction rate whose first chute downstream is within half a
    /// loop, weighted by the destination's items.
    pub fn static_half_loop_rate(&self, hub: &Hub) -> f64 {
        let layout = hub.layout();
        let n_carriers = hub.n_carriers();
        let rate_sum: f64 = layout.inductions.iter().map(|i| i.rate_per_hour).sum();
        let chutes_of = self.destination_chutes(layout.destinations.len());
        let mut weighted = 0.0;
        let mut items = 0.0;
        for (destination, chutes) in layout.destinations.iter().zip(&chutes_of) {
            let volume: u64 = destination.volumes.iter().sum();
            items += volume as f64;
            let covered: f64 = layout
                .inductions
                .iter()
                .zip(hub.induction_slots())
                .filter(|(_, slot)| {
                    chutes.iter().any(|&chute_idx| {
                        2 * forward_slots(**slot, hub.chute_slots()[chute_idx as usize], n_carriers)
                            <= n_carriers
                    })
                })
                .map(|(induction, _)| induction.rate_per_hour)
                .sum();
            weighted += volume as f64 * covered / rate_sum;
        }
        weighted / items
    }
}

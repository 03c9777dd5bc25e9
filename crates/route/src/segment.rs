//! Route segments that concatenate in constant time: load and time-warp summaries.
//!
//! The local search evaluates a move by gluing cached prefix and suffix summaries of the
//! routes it touches instead of walking them (Vidal et al. 2013, "A hybrid genetic
//! algorithm with adaptive diversity management for a large class of vehicle routing
//! problems with time-windows"). Time infeasibility is measured as *time warp*: how much
//! a vehicle would have to travel back in time to meet every window.

/// Internal load dimensions: up to three of the caller's plus one for compartments.
pub const LOAD_DIMENSIONS: usize = 4;
pub type Load = [i64; LOAD_DIMENSIONS];

/// Loads of a stretch of route that carries deliveries from the depot and pickups back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadSegment {
    pub delivery: Load,
    pub pickup: Load,
    /// Highest load on board inside the stretch, counting only its own goods.
    pub peak: Load,
    /// Vehicle types (bit per type index) not allowed at some stop of the
    /// stretch; a route of such a type over it carries a forbidden stop.
    pub forbidden: u64,
}

impl LoadSegment {
    pub fn single(delivery: &Load, pickup: &Load) -> LoadSegment {
        let mut peak = [0; LOAD_DIMENSIONS];
        for dim in 0..LOAD_DIMENSIONS {
            peak[dim] = delivery[dim].max(pickup[dim]);
        }
        LoadSegment {
            delivery: *delivery,
            pickup: *pickup,
            peak,
            forbidden: 0,
        }
    }

    #[inline]
    pub fn then(&self, next: &LoadSegment) -> LoadSegment {
        let mut out = LoadSegment {
            forbidden: self.forbidden | next.forbidden,
            ..LoadSegment::default()
        };
        for dim in 0..LOAD_DIMENSIONS {
            out.delivery[dim] = self.delivery[dim] + next.delivery[dim];
            out.pickup[dim] = self.pickup[dim] + next.pickup[dim];
            // Before the stretch `next`, its deliveries are still on board; after `self`,
            // its pickups are.
            out.peak[dim] =
                (self.peak[dim] + next.delivery[dim]).max(next.peak[dim] + self.pickup[dim]);
        }
        out
    }

    #[inline]
    pub fn excess(&self, capacity: &Load) -> i64 {
        self.peak
            .iter()
            .zip(capacity)
            .map(|(peak, capacity)| (peak - capacity).max(0))
            .sum()
    }
}

/// Timing summary of a stretch of route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSegment {
    pub first: usize,
    pub last: usize,
    /// Least total time from starting service at `first` to finishing at `last`, waiting
    /// included.
    pub duration: i64,
    pub time_warp: i64,
    /// Earliest and latest time to start at `first` that achieve `duration` and
    /// `time_warp`.
    pub earliest: i64,
    pub latest: i64,
}

impl TimeSegment {
    pub fn single(node: usize, service: i64, earliest: i64, latest: i64) -> TimeSegment {
        TimeSegment {
            first: node,
            last: node,
            duration: service,
            time_warp: 0,
            earliest,
            latest,
        }
    }

    #[inline]
    pub fn then(&self, next: &TimeSegment, travel: i64) -> TimeSegment {
        let delta = self.duration - self.time_warp + travel;
        let wait = (next.earliest - delta - self.latest).max(0);
        let warp = (self.earliest + delta - next.latest).max(0);
        TimeSegment {
            first: self.first,
            last: next.last,
            duration: self.duration + next.duration + travel + wait,
            time_warp: self.time_warp + next.time_warp + warp,
            earliest: (next.earliest - delta).max(self.earliest) - wait,
            latest: (next.latest - delta).min(self.latest) + warp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(value: i64) -> Load {
        [value, 0, 0, 0]
    }

    #[test]
    fn peak_load_counts_deliveries_still_aboard_and_pickups_already_aboard() {
        // Deliver 5 then pick up 7: leave with 5, after first stop 0, after second 7.
        let first = LoadSegment::single(&load(5), &load(0));
        let second = LoadSegment::single(&load(0), &load(7));
        assert_eq!(first.then(&second).peak[0], 7);
        // Pick up 7 first, then deliver 5: 5 aboard at start, 7 + 0 after the pickup
        // plus the 5 still aboard = 12.
        assert_eq!(second.then(&first).peak[0], 12);
    }

    #[test]
    fn time_warp_appears_when_a_window_is_missed() {
        let depot = TimeSegment::single(0, 0, 0, 100);
        let late_stop = TimeSegment::single(1, 5, 0, 10);
        let joined = depot.then(&late_stop, 30);
        assert_eq!(joined.time_warp, 20);
        let early_stop = TimeSegment::single(2, 5, 50, 60);
        let waited = depot.then(&early_stop, 10);
        assert_eq!(waited.time_warp, 0);
        // Leaving at 40 avoids waiting: the least duration is travel plus service.
        assert_eq!(waited.duration, 15);
    }
}

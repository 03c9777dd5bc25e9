//! Distance and duration matrices from coordinates or from a caller's matrix.
//!
//! Great-circle distances are haversine metres times a detour factor, because a county
//! rarely has a road-network service at hand and the detour factor of rural roads is
//! stable enough to plan with. Benchmark conventions are reproduced exactly in integers.

use crate::problem::{Distances, Problem, Rounding};

/// Mean Earth radius in metres (IUGG).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A dense square matrix of integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    n: usize,
    values: Vec<i64>,
}

impl Matrix {
    pub fn from_fn(n: usize, mut value: impl FnMut(usize, usize) -> i64) -> Matrix {
        let mut values = Vec::with_capacity(n * n);
        for from in 0..n {
            for to in 0..n {
                values.push(value(from, to));
            }
        }
        Matrix { n, values }
    }

    #[inline]
    pub fn get(&self, from: usize, to: usize) -> i64 {
        self.values[from * self.n + to]
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn max_value(&self) -> i64 {
        self.values.iter().copied().max().unwrap_or(0)
    }
}

/// Haversine distance in metres between two `[latitude, longitude]` points in degrees.
pub fn great_circle_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (lat_a, lat_b) = (a[0].to_radians(), b[0].to_radians());
    let d_lat = lat_b - lat_a;
    let d_lon = (b[1] - a[1]).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat_a.cos() * lat_b.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Euclidean arc under a benchmark convention, in the convention's integer unit.
pub fn euclidean_arc(a: [f64; 2], b: [f64; 2], rounding: Rounding) -> i64 {
    let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
    let integral = a.iter().chain(b.iter()).all(|v| v.fract() == 0.0);
    match rounding {
        Rounding::TruncateTenths if integral => {
            // Exact: floor(10·√s) = ⌊√(100·s)⌋ for integer s, no floating-point doubt.
            let squared = (dx * dx + dy * dy) as u64 * 100;
            squared.isqrt() as i64
        }
        Rounding::TruncateTenths => ((dx * dx + dy * dy).sqrt() * 10.0 + 1e-9).floor() as i64,
        // A square root of an integer is never exactly k + 0.5, so rounding has no ties.
        Rounding::Nearest => (dx * dx + dy * dy).sqrt().round() as i64,
    }
}

/// The distance matrix over the problem's locations.
pub fn distance_matrix(problem: &Problem) -> Matrix {
    match &problem.distances {
        Distances::GreatCircle {
            coordinates,
            detour_factor,
            ..
        } => Matrix::from_fn(coordinates.len(), |from, to| {
            (great_circle_m(coordinates[from], coordinates[to]) * detour_factor).round() as i64
        }),
        Distances::Euclidean {
            coordinates,
            rounding,
        } => Matrix::from_fn(coordinates.len(), |from, to| {
            euclidean_arc(coordinates[from], coordinates[to], *rounding)
        }),
        Distances::Matrix { distances, .. } => {
            Matrix::from_fn(distances.len(), |from, to| distances[from][to])
        }
    }
}

/// The duration matrix at speed factor 1 (before a vehicle type's own speed).
pub fn base_duration_matrix(problem: &Problem, distances: &Matrix) -> Matrix {
    match &problem.distances {
        Distances::GreatCircle { speed_m_per_s, .. } => {
            Matrix::from_fn(distances.len(), |from, to| {
                (distances.get(from, to) as f64 / speed_m_per_s).round() as i64
            })
        }
        Distances::Euclidean { .. }
        | Distances::Matrix {
            durations: None, ..
        } => distances.clone(),
        Distances::Matrix {
            durations: Some(durations),
            ..
        } => Matrix::from_fn(durations.len(), |from, to| durations[from][to]),
    }
}

/// Durations for a vehicle of the given speed factor.
pub fn scaled_durations(base: &Matrix, speed_factor: f64) -> Matrix {
    if speed_factor == 1.0 {
        return base.clone();
    }
    Matrix::from_fn(base.len(), |from, to| {
        (base.get(from, to) as f64 / speed_factor).round() as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_matches_the_dimacs_convention() {
        // 3-4-5 triangle: exactly 5.0 → 50 tenths; √2 = 1.414… → 14 tenths.
        assert_eq!(
            euclidean_arc([0.0, 0.0], [3.0, 4.0], Rounding::TruncateTenths),
            50
        );
        assert_eq!(
            euclidean_arc([0.0, 0.0], [1.0, 1.0], Rounding::TruncateTenths),
            14
        );
        assert_eq!(euclidean_arc([0.0, 0.0], [1.0, 1.0], Rounding::Nearest), 1);
        assert_eq!(euclidean_arc([0.0, 0.0], [1.0, 2.0], Rounding::Nearest), 2);
    }

    #[test]
    fn great_circle_of_one_degree_of_latitude_is_about_111_km() {
        let metres = great_circle_m([30.0, 110.0], [31.0, 110.0]);
        assert!((metres - 111_195.0).abs() < 100.0, "{metres}");
    }
}

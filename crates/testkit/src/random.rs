//! A seeded `Random` port, for tests that need the same draws every run
//! (the simulated code guesser).

use app::ports::Random;
use rand::{Rng, SeedableRng};
use std::sync::Mutex;

/// Draws from a seeded `StdRng`: the same seed gives the same
/// pickup codes on every run and machine.
pub struct SeededRandom(Mutex<rand::rngs::StdRng>);

impl SeededRandom {
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)))
    }
}

impl Random for SeededRandom {
    fn below(&self, bound: u64) -> u64 {
        self.0.lock().unwrap().gen_range(0..bound.max(1))
    }
}

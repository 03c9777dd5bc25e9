//! Sort plans for the county centre's sorting hub: a layout (the format of
//! `crates/sort/FORMAT.md`, JSON or TOML) or one generated from published
//! figures, optimised and simulated against the two baselines by the pure
//! `sort` crate on the bounded blocking pool, so a plan never holds the
//! executor. County staff only; nothing is stored.

use crate::App;

/// The sorting hub's board: plans adopted, the hub's logs, the indicators.
pub mod hub;
use crate::error::{AppError, AppResult, Code};
use domain::Principal;

/// Where the hub comes from.
#[derive(Debug, Clone)]
pub enum SortSource {
    /// A layout file's text.
    Layout(String),
    /// A hub generated from published figures with this seed.
    Generate(u64),
}

/// The hub and what the optimiser and simulator made of it.
#[derive(Debug, Clone)]
pub struct SortPlan {
    pub hub: sort::Hub,
    pub evaluation: sort::Evaluation,
}

/// Largest seed the page takes (a JavaScript-safe integer, so a seed copied
/// from a page or a JSON answer reads back the same).
pub const SORT_SEED_MAX: u64 = (1 << 53) - 1;
/// Largest layout taken from a page or a request: a hub of a few hundred
/// chutes and destinations is a few tens of kilobytes.
pub const SORT_LAYOUT_BYTES_MAX: usize = 1024 * 1024;

impl App {
    /// Optimises the chute plan of a hub and compares it with the baselines.
    pub async fn plan_sort(
        &self,
        principal: &Principal,
        source: SortSource,
        seed: u64,
    ) -> AppResult<SortPlan> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("county centre"));
        }
        if seed > SORT_SEED_MAX {
            return Err(AppError::new(Code::SortSeedInvalid).with("max", SORT_SEED_MAX));
        }
        let hub = match source {
            SortSource::Layout(text) => {
                if text.trim().is_empty() {
                    return Err(AppError::new(Code::SortLayoutMissing));
                }
                if text.len() > SORT_LAYOUT_BYTES_MAX {
                    return Err(AppError::new(Code::SortLayoutTooLarge)
                        .with("max_kb", SORT_LAYOUT_BYTES_MAX / 1024));
                }
                sort::layout::parse(&text)
                    .map_err(|error| AppError::new(Code::SortLayoutInvalid).with_detail(error))?
            }
            SortSource::Generate(generator_seed) => {
                if generator_seed > SORT_SEED_MAX {
                    return Err(AppError::new(Code::SortSeedInvalid).with("max", SORT_SEED_MAX));
                }
                sort::generate(&sort::GeneratorParams::default(), generator_seed)
            }
        };
        let plan = self
            .blocking
            .run(move || {
                let evaluation = sort::evaluate(
                    &hub,
                    &sort::Options {
                        seed,
                        ..sort::Options::default()
                    },
                    seed,
                );
                SortPlan { hub, evaluation }
            })
            .await?;
        tracing::info!(hub = %plan.evaluation.hub, "sort plan");
        Ok(plan)
    }
}

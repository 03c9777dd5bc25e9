//! Station inbound (入库) as a keeper scans it: one parcel, or a batch in
//! one transaction. The rules of shelving are in `crate::shelve`.

use crate::App;
use crate::error::{AppError, AppResult, Code};
pub use crate::shelve::{BatchOutcome, InboundOutcome, InboundScan, RejectedScan};
use crate::shelve::{shelve_many, shelve_one};
use crate::transition::lock_station;
use domain::Principal;
use domain::limits::BATCH_PARCELS_MAX;

impl App {
    pub async fn inbound(
        &self,
        principal: &Principal,
        station_id: i64,
        scan: InboundScan,
    ) -> AppResult<InboundOutcome> {
        crate::shelve::check_scan(&scan)?;
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let by = self.by(principal);
        let mut tx = self.store.begin().await?;
        let station = lock_station(&mut *tx, station_id).await?;
        let outcome = shelve_one(&mut *tx, by, &station, &scan).await?;
        tx.commit().await?;
        // Debug, not info: a busy station scans thousands a day, each is in
        // the parcel's events already, and `/metrics` counts them.
        tracing::debug!(station = station_id, parcel = outcome.parcel_id, state = %outcome.state, duplicate = outcome.duplicate, "inbound scan");
        Ok(outcome)
    }

    /// Scans many parcels in one transaction. A scan the rules refuse is
    /// reported and skipped; the rest are kept. A storage fault rolls back
    /// the whole batch, so nothing is half-written.
    pub async fn inbound_batch(
        &self,
        principal: &Principal,
        station_id: i64,
        scans: Vec<InboundScan>,
    ) -> AppResult<BatchOutcome> {
        if scans.is_empty() || scans.len() > BATCH_PARCELS_MAX {
            return Err(AppError::new(Code::BatchSize)
                .with("max", BATCH_PARCELS_MAX)
                .with("n", scans.len()));
        }
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let by = self.by(principal);
        let mut tx = self.store.begin().await?;
        let station = lock_station(&mut *tx, station_id).await?;
        let BatchOutcome { stored, rejected } = shelve_many(&mut *tx, by, &station, &scans).await?;
        tx.commit().await?;
        tracing::info!(
            station = station_id,
            n_stored = stored.len(),
            n_rejected = rejected.len(),
            "inbound batch"
        );
        Ok(BatchOutcome { stored, rejected })
    }
}

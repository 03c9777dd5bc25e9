//! The holding-period job: reminders on their days, and the list of parcels
//! past their holding period that go back to the carrier.

use crate::App;
use crate::effects::notices;
use crate::error::{AppError, AppResult};
use crate::ports::{ParcelFilter, ParcelRecord};
use crate::transition;
use domain::{ParcelState, Principal, holding};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct HoldingReport {
    pub n_checked: u32,
    pub n_reminders: u32,
    pub n_overdue: u32,
}

impl App {
    /// Queues the reminders that are due and counts overdue parcels.
    /// Running it twice queues nothing twice: each reminder has a dedup key
    /// and is noted on the parcel in the same transaction.
    pub async fn run_holding(&self, principal: &Principal) -> AppResult<HoldingReport> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("holding job"));
        }
        let now = self.now();
        let mut report = HoldingReport::default();
        for station in self.store.stations().await? {
            let mut after_id = None;
            loop {
                let filter = ParcelFilter {
                    station_id: Some(station.id),
                    state: Some(ParcelState::Stored),
                    after_id,
                    limit: 200,
                    ..Default::default()
                };
                let page = self.store.parcels(&filter).await?;
                for parcel in &page {
                    report.n_checked += 1;
                    let Some(stored_at) = parcel.stored_at else {
                        continue;
                    };
                    if holding::is_overdue(&station.holding, stored_at, now) {
                        report.n_overdue += 1;
                        continue;
                    }
                    let due = holding::reminders_due(
                        &station.holding,
                        stored_at,
                        now,
                        &parcel.reminders_sent,
                    );
                    if !due.is_empty() {
                        report.n_reminders += self.send_reminders(&station, parcel, &due).await?;
                    }
                }
                match page.last() {
                    Some(last) if page.len() == 200 => after_id = Some(last.id),
                    _ => break,
                }
            }
        }
        tracing::info!(
            n_checked = report.n_checked,
            n_reminders = report.n_reminders,
            n_overdue = report.n_overdue,
            "holding job"
        );
        Ok(report)
    }

    async fn send_reminders(
        &self,
        station: &crate::ports::StationRecord,
        parcel: &ParcelRecord,
        due: &[u32],
    ) -> AppResult<u32> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let Some(mut current) = tx.parcel(parcel.id).await? else {
            return Ok(0);
        };
        if current.state != ParcelState::Stored || current.version != parcel.version {
            return Ok(0); // changed meanwhile; the next run looks again
        }
        // Only the latest due reminder is worth a message; earlier missed
        // days are noted as covered by it.
        let latest = *due.iter().max().expect("due is not empty");
        let mut n_queued = 0;
        if let Some(message) = notices::reminder(station, &current, latest, now)
            && tx.enqueue(&message, now).await?
        {
            n_queued = 1;
        }
        transition::note_reminders(&mut *tx, now, &mut current, due).await?;
        tx.commit().await?;
        Ok(n_queued)
    }

    /// Parcels past their holding period at a station: the return list.
    pub async fn return_list(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<Vec<ParcelRecord>> {
        if !principal.may_view_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let station = self
            .store
            .station(station_id)
            .await?
            .ok_or(AppError::NotFound("station"))?;
        let stored_before =
            self.now() - chrono::Duration::days(i64::from(station.holding.holding_days));
        let filter = ParcelFilter {
            station_id: Some(station_id),
            state: Some(ParcelState::Stored),
            stored_before: Some(stored_before),
            limit: domain::limits::PAGE_SIZE_MAX,
            ..Default::default()
        };
        Ok(self.store.parcels(&filter).await?)
    }
}

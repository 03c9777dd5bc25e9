//! The station keeper's overview: the day's figures, alerts to acknowledge
//! and which devices are online — what the console's first page reads.

use crate::App;
use crate::error::{AppError, AppResult};
pub use crate::ports::devices::DeviceStatusRecord;
use crate::ports::terminal::AlertRecord;
use chrono::{Duration, NaiveDate};
use domain::{ParcelState, Principal};
use serde::Serialize;

/// The keeper's day at a glance (a calendar day in Asia/Shanghai).
#[derive(Debug, Clone, Serialize)]
pub struct DaySummary {
    pub date: NaiveDate,
    pub n_in: u64,
    pub n_out: u64,
    pub n_held: u64,
    pub n_overdue: u64,
    /// Problem parcels at the station now: the same count the problems
    /// page shows ([`App::count_in_state`]), not the day's problem reports.
    pub n_problems: u64,
    /// Parcels on the shelf waiting for the recipient's consent or phone.
    pub n_awaiting: u64,
}

impl App {
    /// Alerts for the keeper, unacknowledged first.
    pub async fn alerts(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<Vec<AlertRecord>> {
        if !principal.may_view_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        Ok(self.store.alerts(station_id, 50).await?)
    }

    pub async fn acknowledge_alert(
        &self,
        principal: &Principal,
        station_id: i64,
        alert_id: i64,
    ) -> AppResult<()> {
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let by = crate::actor_of(principal);
        if self
            .store
            .acknowledge_alert(station_id, alert_id, &by, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(AppError::NotFound("alert"))
        }
    }

    pub async fn device_statuses(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<Vec<DeviceStatusRecord>> {
        if !principal.may_view_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        Ok(self.store.device_statuses(station_id).await?)
    }

    /// In, out, held and overdue for one calendar day (Asia/Shanghai).
    pub async fn day_summary(
        &self,
        principal: &Principal,
        station_id: i64,
        date: NaiveDate,
    ) -> AppResult<DaySummary> {
        if !principal.may_view_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let from = domain::day_start(date);
        let to = from + Duration::days(1);
        let counts = self
            .store
            .count_events(
                station_id,
                &["stored", "awaiting_consent", "picked_up"],
                from,
                to,
            )
            .await?;
        let count = |kinds: &[&str]| -> u64 {
            counts
                .iter()
                .filter(|(kind, _)| kinds.contains(&kind.as_str()))
                .map(|(_, n)| n)
                .sum()
        };
        let by_state = self.store.count_by_state(Some(station_id)).await?;
        let n_held = by_state
            .iter()
            .filter(|(state, _)| state.occupies_slot())
            .map(|(_, n)| n)
            .sum();
        let in_state = |state: ParcelState| -> u64 {
            by_state
                .iter()
                .filter(|(s, _)| *s == state)
                .map(|(_, n)| n)
                .sum()
        };
        let n_overdue = self.return_list(principal, station_id).await?.len() as u64;
        Ok(DaySummary {
            date,
            n_in: count(&["stored", "awaiting_consent"]),
            n_out: count(&["picked_up"]),
            n_held,
            n_overdue,
            n_problems: in_state(ParcelState::Problem),
            n_awaiting: in_state(ParcelState::AwaitingConsent),
        })
    }

    /// How many of a station's parcels are in `state` now: one definition
    /// for the overview's tiles and the lists' headings (the overview once
    /// counted the day's problem reports, the list the problem parcels).
    pub async fn count_in_state(
        &self,
        principal: &Principal,
        station_id: i64,
        state: ParcelState,
    ) -> AppResult<u64> {
        if !principal.may_view_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        Ok(self
            .store
            .count_by_state(Some(station_id))
            .await?
            .into_iter()
            .filter(|(s, _)| *s == state)
            .map(|(_, n)| n)
            .sum())
    }
}

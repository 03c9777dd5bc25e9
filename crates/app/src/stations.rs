//! Reading stations: the list a caller may see, one station, its slots with
//! occupancy, and its parcels counted by state.

use crate::App;
use crate::error::{AppError, AppResult};
use crate::ports::{NewStation, SlotOccupancy, StationRecord};
use domain::{ParcelState, Principal};

impl App {
    /// Adds a station with its shelves: administrators only (the CLI's
    /// `station add` acts as one).
    pub async fn create_station(
        &self,
        principal: &Principal,
        station: &NewStation,
    ) -> AppResult<StationRecord> {
        if !principal.may_administer() {
            return Err(AppError::Forbidden("station"));
        }
        let mut tx = self.store.begin().await?;
        let created = tx.create_station(station, self.now()).await?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::StationCreated,
            crate::audit::Object::new("station", created.id).at(Some(created.id)),
            serde_json::json!({ "slots": station.slots.len() }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(station = created.id, n_slots = station.slots.len(), user = %principal.username, "station created");
        Ok(created)
    }

    /// The stations the caller may look up, the same ones
    /// [`App::station_entry`] answers for: the stations a keeper works at,
    /// every station for county staff and for carriers (whose manifests name
    /// the station a parcel goes to), none for a door terminal.
    pub async fn stations(&self, principal: &Principal) -> AppResult<Vec<StationRecord>> {
        let all = self.store.stations().await?;
        Ok(all
            .into_iter()
            .filter(|s| principal.may_look_up_station(s.id))
            .collect())
    }

    /// One station as the station list shows it; a station the list does
    /// not show answers "not found". Carriers get it for its name and place
    /// (the server shapes what they see); slots, counts and parcels stay
    /// with those who work there ([`App::station`]).
    pub async fn station_entry(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<StationRecord> {
        if !principal.may_look_up_station(station_id) {
            return Err(AppError::NotFound("station"));
        }
        self.store
            .station(station_id)
            .await?
            .ok_or(AppError::NotFound("station"))
    }

    /// One station for those who work there; another station's answers
    /// "not found".
    pub async fn station(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<StationRecord> {
        if !principal.may_view_station(station_id) {
            return Err(AppError::NotFound("station"));
        }
        self.store
            .station(station_id)
            .await?
            .ok_or(AppError::NotFound("station"))
    }

    pub async fn station_slots(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<Vec<SlotOccupancy>> {
        self.station(principal, station_id).await?;
        Ok(self.store.slots(station_id).await?)
    }

    pub async fn station_summary(
        &self,
        principal: &Principal,
        station_id: i64,
    ) -> AppResult<Vec<(ParcelState, u64)>> {
        self.station(principal, station_id).await?;
        Ok(self.store.count_by_state(Some(station_id)).await?)
    }
}

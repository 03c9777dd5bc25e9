//! What follows a parcel event, run by `crate::transition` inside the
//! event's own transaction, so nothing that follows is lost when the change
//! commits and nothing is left behind when it rolls back:
//!
//! - the delivery fee, when the event is the one that counts as delivered
//!   in the parcel's co-delivery mode (`fees`);
//! - the carriers' webhook deliveries (`deliveries`);
//! - the recipient's notice when the parcel reaches the shelf (`notices`).
//!
//! These are shared helpers, not use cases: they take the open transaction
//! and decide nothing about whether the change may happen.

pub(crate) mod deliveries;
pub(crate) mod fees;
pub(crate) mod notices;

use crate::Settings;
use crate::error::AppResult;
use crate::ports::{NewEvent, ParcelRecord, StationRecord, Tx};
use domain::ParcelState;

/// Runs every follower of one event. `station` is the parcel's station when
/// the caller already holds it (read otherwise, and only if needed).
pub(crate) async fn follow(
    tx: &mut dyn Tx,
    settings: &Settings,
    station: Option<&StationRecord>,
    parcel: &ParcelRecord,
    event: &NewEvent,
) -> AppResult<()> {
    fees::accrue(tx, parcel, event).await?;
    deliveries::on_event(tx, parcel, event).await?;
    // The recipient hears when the parcel reaches the shelf: an arrival
    // notice with its code, or a request for consent to station delivery.
    let reached_shelf = matches!(
        event.to_state,
        ParcelState::Stored | ParcelState::AwaitingConsent
    ) && event.from_state != Some(event.to_state);
    // A parcel that waited without a phone: now the recipient can be asked.
    let reachable_now = event.kind == domain::Action::AddContact.event_kind();
    if reached_shelf || reachable_now {
        let loaded;
        let station = match (station, parcel.station_id) {
            (Some(station), _) => Some(station),
            (None, Some(station_id)) => {
                loaded = tx.station(station_id).await?;
                loaded.as_ref()
            }
            (None, None) => None,
        };
        if let Some(station) = station {
            notices::on_shelved(tx, station, parcel, event.at, settings.notice_merge_seconds)
                .await?;
        }
    }
    Ok(())
}

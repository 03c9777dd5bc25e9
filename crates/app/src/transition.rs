//! The one path for every change to a parcel. Every use case that changes a
//! parcel's state — inbound, pickup, problems, returns, consent, the county
//! centre's scans and bags, the door terminal — calls [`apply`] (or
//! [`create`] when a parcel first appears); nothing else writes a parcel's
//! state, and nothing else records a parcel event. Each change, in the
//! caller's transaction:
//!
//! 1. asks the domain's state machine whether the action is legal;
//! 2. applies what the action means for the slot, the pickup code, the
//!    problem and the consent;
//! 3. writes the parcel, refusing a stale version (a concurrent change);
//! 4. records the event, keyed by the parcel and the version it produced;
//! 5. runs what follows an event (`crate::effects`): the fee, the carriers'
//!    webhook deliveries and the recipient's notice.
//!
//! Modelled on TigerBeetle's state machine, where every request runs through
//! one `execute`: the rules of a change are read in one place, and a new
//! follower (a ledger entry, an audit row) is added in one place.

use crate::effects;
use crate::error::{AppError, AppResult, Code};
use crate::ports::{NewEvent, NewParcel, ParcelRecord, Random, SlotRecord, StationRecord, Tx};
use crate::{Settings, actor_of};
use chrono::{DateTime, Utc};
use domain::{Action, ParcelState, Principal};
use serde_json::Value;

/// Who makes a change, and when: what every event records.
#[derive(Clone, Copy)]
pub(crate) struct By<'a> {
    pub principal: &'a Principal,
    pub now: DateTime<Utc>,
    pub settings: &'a Settings,
    /// Draws the secret part of a new pickup code.
    pub random: &'a dyn Random,
}

impl crate::App {
    /// The author of a change made now by `principal`.
    pub(crate) fn by<'a>(&'a self, principal: &'a Principal) -> By<'a> {
        By {
            principal,
            now: self.now(),
            settings: &self.settings,
            random: &*self.random,
        }
    }
}

/// Loads a station and locks it for the rest of the transaction: every
/// change to a station's shelves starts here, so two writers never race for
/// one slot or one code.
pub(crate) async fn lock_station(tx: &mut dyn Tx, station_id: i64) -> AppResult<StationRecord> {
    let station = tx
        .station(station_id)
        .await?
        .ok_or(AppError::NotFound("station"))?;
    tx.lock_station(station_id).await?;
    Ok(station)
}

/// Applies `action` to a loaded parcel inside `tx`. The caller has locked
/// the parcel's station when the change touches its shelves, and has already
/// put what only it knows on the parcel (the slot a scan chose, the phone a
/// scan filled in); this function owns everything that follows from the
/// action itself. `station` is the parcel's station when the caller holds it.
pub(crate) async fn apply(
    tx: &mut dyn Tx,
    by: By<'_>,
    station: Option<&StationRecord>,
    parcel: &mut ParcelRecord,
    action: Action,
    details: Value,
) -> AppResult<()> {
    apply_on(tx, by, station, None, parcel, action, details).await
}

/// [`apply`] for a parcel the caller has just put on `slot` (station
/// inbound): the slot is not read again for its code, which keeps a scan
/// at the statements it needs (the inbound benchmark counts them).
pub(crate) async fn apply_on_slot(
    tx: &mut dyn Tx,
    by: By<'_>,
    station: &StationRecord,
    slot: &SlotRecord,
    parcel: &mut ParcelRecord,
    action: Action,
    details: Value,
) -> AppResult<()> {
    apply_on(tx, by, Some(station), Some(slot), parcel, action, details).await
}

async fn apply_on(
    tx: &mut dyn Tx,
    by: By<'_>,
    station: Option<&StationRecord>,
    slot: Option<&SlotRecord>,
    parcel: &mut ParcelRecord,
    action: Action,
    details: Value,
) -> AppResult<()> {
    let from = parcel.state;
    let next = from.apply(action)?;
    parcel.state = next;
    match action {
        Action::ReportProblem { kind } => parcel.problem = Some(kind),
        Action::StationInbound { consented } => {
            parcel.problem = None;
            // Consent given before (with the manifest, or while the parcel
            // had no phone) is kept, not forgotten by the scan.
            parcel.consent = parcel.consent || consented;
            parcel.stored_at = Some(by.now);
            parcel.reminders_sent.clear();
            parcel.pickup_code = None;
        }
        Action::GrantConsent => parcel.consent = true,
        _ => {}
    }
    // A parcel reaching the shelf with the recipient's consent gets its
    // code here, whether it was just scanned in or just consented.
    if next == ParcelState::Stored && parcel.pickup_code.is_none() {
        let station = station.ok_or(AppError::new(Code::NoStationForParcel))?;
        let slot_id = parcel.slot_id.ok_or(AppError::new(Code::NoSlotForParcel))?;
        let read;
        let slot = match slot.filter(|slot| slot.id == slot_id) {
            Some(slot) => slot,
            None => {
                read = tx.slot(slot_id).await?.ok_or(AppError::NotFound("slot"))?;
                &read
            }
        };
        parcel.pickup_code = Some(assign_code(tx, by.random, station, slot).await?);
    }
    if from.occupies_slot() && !next.occupies_slot() {
        tx.release_place(parcel.id).await?;
        parcel.slot_id = None;
    }
    parcel.updated_at = by.now;
    tx.update_parcel(parcel).await?;
    parcel.version += 1;
    if action == Action::CorrectAnnouncement {
        tx.rewrite_announced(parcel).await?;
    }
    let event = event_of(parcel, action.event_kind(), Some(from), by, details);
    record(tx, by, station, parcel, &event).await
}

/// A parcel comes into being. With `first`, its creation is itself an
/// event, recorded from no state (an unannounced parcel arriving at the
/// centre); without, the row is born announced and its first change is its
/// first event (a parcel first seen at a station, scanned straight in).
pub(crate) async fn create(
    tx: &mut dyn Tx,
    by: By<'_>,
    new: &NewParcel,
    first: Option<(Action, Value)>,
) -> AppResult<ParcelRecord> {
    let expected = match first {
        Some((Action::Announce, _)) | None => ParcelState::Announced,
        Some((action, _)) => ParcelState::Announced.apply(action)?,
    };
    if new.state != expected {
        return Err(AppError::Internal(format!(
            "a new parcel is {}, not {}",
            expected.code(),
            new.state.code()
        )));
    }
    let parcel = tx.insert_parcel(new, by.now).await?;
    if let Some((action, details)) = first {
        let event = event_of(&parcel, action.event_kind(), None, by, details);
        record(tx, by, None, &parcel, &event).await?;
    }
    Ok(parcel)
}

/// Announces many parcels at once (a carrier's manifest): the database
/// decides which waybills are new, and each new parcel gets its
/// `announced` event. Returns the parcels announced now.
pub(crate) async fn announce_many(
    tx: &mut dyn Tx,
    by: By<'_>,
    parcels: &[NewParcel],
) -> AppResult<Vec<ParcelRecord>> {
    if let Some(parcel) = parcels.iter().find(|p| p.state != ParcelState::Announced) {
        return Err(AppError::Internal(format!(
            "a manifest parcel is {}, not announced",
            parcel.state.code()
        )));
    }
    let inserted = tx.insert_new_parcels(parcels, by.now).await?;
    let kind = Action::Announce.event_kind();
    let events: Vec<NewEvent> = inserted
        .iter()
        .map(|parcel| event_of(parcel, kind, None, by, Value::Object(Default::default())))
        .collect();
    let n_events = tx.insert_events(&events).await?;
    if n_events != events.len() as u64 {
        return Err(AppError::Contended(format!(
            "{} of {} announcement events already existed",
            events.len() as u64 - n_events,
            events.len()
        )));
    }
    for (parcel, event) in inserted.iter().zip(&events) {
        effects::follow(tx, by.settings, None, parcel, event).await?;
    }
    Ok(inserted)
}

/// Notes reminders sent for a stored parcel: a change to the parcel that is
/// not a change of state, so it writes the parcel (with the version check)
/// but records no event.
pub(crate) async fn note_reminders(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
    parcel: &mut ParcelRecord,
    days: &[u32],
) -> AppResult<()> {
    parcel.reminders_sent.extend_from_slice(days);
    parcel.updated_at = now;
    tx.update_parcel(parcel).await?;
    parcel.version += 1;
    Ok(())
}

/// A fresh code unique among the station's active parcels, its secret part
/// drawn at random (a counter would tell whoever knows one code where the
/// others are). The station is locked, so the check cannot race; the
/// database's unique index stands behind it all the same. With at most a
/// few hundred active codes in a space of a million, a clash is rare and a
/// hundred in a row means something else is wrong.
async fn assign_code(
    tx: &mut dyn Tx,
    random: &dyn Random,
    station: &StationRecord,
    slot: &SlotRecord,
) -> AppResult<String> {
    let space = station.code_format.secret_space();
    for _ in 0..100 {
        let code =
            station
                .code_format
                .render(&slot.shelf, slot.tier, slot.slot, random.below(space));
        if !tx.code_active(station.id, &code).await? {
            return Ok(code);
        }
    }
    Err(AppError::new(Code::CodesExhausted))
}

/// The event of a change just applied to `parcel`; its key is the parcel
/// and the version the change produced, so the same change never leaves two.
fn event_of(
    parcel: &ParcelRecord,
    kind: &str,
    from: Option<ParcelState>,
    by: By<'_>,
    details: Value,
) -> NewEvent {
    NewEvent {
        parcel_id: parcel.id,
        kind: kind.to_string(),
        from_state: from,
        to_state: parcel.state,
        at: by.now,
        actor: actor_of(by.principal),
        station_id: parcel.station_id,
        idempotency_key: format!("parcel:{}:v{}", parcel.id, parcel.version),
        details,
    }
}

/// Writes the event and what follows it.
async fn record(
    tx: &mut dyn Tx,
    by: By<'_>,
    station: Option<&StationRecord>,
    parcel: &ParcelRecord,
    event: &NewEvent,
) -> AppResult<()> {
    if !tx.insert_event(event).await? {
        return Err(AppError::Contended(format!(
            "event {}",
            event.idempotency_key
        )));
    }
    effects::follow(tx, by.settings, station, parcel, event).await
}

//! Station inbound (入库): a scanned parcel gets a slot and, when the
//! recipient has consented to station delivery, a pickup code and an arrival
//! notice. Scanning the same waybill again returns the same slot and code.

use crate::error::{AppError, AppResult};
use crate::notify;
use crate::ports::{NewEvent, NewParcel, ParcelRecord, SlotRecord, StationRecord, Tx};
use crate::{App, actor_of};
use chrono::{DateTime, Utc};
use domain::limits::{BATCH_PARCELS_MAX, NAME_CHARS_MAX, text_field};
use domain::station::SizeClass;
use domain::{Action, Carrier, ParcelState, Phone, Principal, WaybillNo};
use serde::{Deserialize, Serialize};

/// One scan as it reaches the use case: already parsed.
#[derive(Debug, Clone, Deserialize)]
pub struct InboundScan {
    pub carrier: Carrier,
    pub waybill: WaybillNo,
    #[serde(default)]
    pub recipient_name: Option<String>,
    #[serde(default)]
    pub phone: Option<Phone>,
    #[serde(default = "default_size")]
    pub size: SizeClass,
    /// The recipient's consent to station delivery for this parcel, when
    /// the scan carries it (for example from the carrier's waybill).
    #[serde(default)]
    pub consent: Option<bool>,
}

fn default_size() -> SizeClass {
    SizeClass::Small
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InboundOutcome {
    pub parcel_id: i64,
    pub carrier: Carrier,
    pub waybill: WaybillNo,
    pub state: ParcelState,
    pub slot: Option<String>,
    pub pickup_code: Option<String>,
    /// The waybill was already on this station's shelves; nothing changed.
    pub duplicate: bool,
    /// Carriers whose usual pattern fits the waybill, when the operator's
    /// choice is not among them (a hint, never a rejection).
    pub carrier_hint: Vec<Carrier>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectedScan {
    pub index: usize,
    pub waybill: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchOutcome {
    pub stored: Vec<InboundOutcome>,
    pub rejected: Vec<RejectedScan>,
}

impl App {
    pub async fn inbound(
        &self,
        principal: &Principal,
        station_id: i64,
        scan: InboundScan,
    ) -> AppResult<InboundOutcome> {
        check_scan(&scan)?;
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let station = lock(&mut *tx, station_id).await?;
        let outcome = inbound_one(
            &mut *tx,
            &station,
            principal,
            &scan,
            now,
            self.settings.notice_merge_seconds,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(station = station_id, parcel = outcome.parcel_id, state = %outcome.state, duplicate = outcome.duplicate, "inbound scan");
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
            return Err(AppError::Invalid(format!(
                "a batch holds 1 to {BATCH_PARCELS_MAX} parcels; this one has {}",
                scans.len()
            )));
        }
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let station = lock(&mut *tx, station_id).await?;
        let BatchOutcome { stored, rejected } = inbound_many(
            &mut *tx,
            &station,
            principal,
            &scans,
            now,
            self.settings.notice_merge_seconds,
        )
        .await?;
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

/// Scans many parcels into a locked station inside the caller's
/// transaction: a scan the rules refuse is reported and skipped, a storage
/// fault aborts. Shared by batch scans and whole-bag acceptance.
pub(crate) async fn inbound_many(
    tx: &mut dyn Tx,
    station: &StationRecord,
    principal: &Principal,
    scans: &[InboundScan],
    now: DateTime<Utc>,
    merge_seconds: i64,
) -> AppResult<BatchOutcome> {
    let mut stored = Vec::with_capacity(scans.len());
    let mut rejected = Vec::new();
    for (index, scan) in scans.iter().enumerate() {
        let result = match check_scan(scan) {
            Ok(()) => inbound_one(tx, station, principal, scan, now, merge_seconds).await,
            Err(error) => Err(error),
        };
        match result {
            Ok(outcome) => stored.push(outcome),
            Err(error) if is_fatal(&error) => return Err(error),
            Err(error) => rejected.push(RejectedScan {
                index,
                waybill: scan.waybill.to_string(),
                reason: error.to_string(),
            }),
        }
    }
    Ok(BatchOutcome { stored, rejected })
}

/// Storage faults and lost races abort a batch (its transaction is no
/// longer sound); rule refusals only skip their row.
fn is_fatal(error: &AppError) -> bool {
    matches!(error, AppError::Internal(_) | AppError::Contended(_))
}

fn check_scan(scan: &InboundScan) -> AppResult<()> {
    if let Some(name) = &scan.recipient_name {
        text_field("recipient name", name, NAME_CHARS_MAX).map_err(AppError::Invalid)?;
    }
    Ok(())
}

pub(crate) async fn lock(tx: &mut dyn Tx, station_id: i64) -> AppResult<StationRecord> {
    let station = tx
        .station(station_id)
        .await?
        .ok_or(AppError::NotFound("station"))?;
    tx.lock_station(station_id).await?;
    Ok(station)
}

async fn inbound_one(
    tx: &mut dyn Tx,
    station: &StationRecord,
    principal: &Principal,
    scan: &InboundScan,
    now: DateTime<Utc>,
    merge_seconds: i64,
) -> AppResult<InboundOutcome> {
    let carrier_hint = {
        let suggested = scan.waybill.suggest_carriers();
        if suggested.is_empty() || suggested.contains(&scan.carrier) {
            Vec::new()
        } else {
            suggested
        }
    };
    let same_waybill = tx.parcels_with_waybill(&scan.waybill).await?;
    if let Some(held) = same_waybill
        .iter()
        .find(|p| p.station_id == Some(station.id) && p.state.occupies_slot())
    {
        let slot = match held.slot_id {
            Some(slot_id) => tx.slot(slot_id).await?.map(|slot| slot.label()),
            None => None,
        };
        return Ok(outcome_of(held, slot, true, carrier_hint));
    }
    let known = same_waybill.into_iter().find(|p| p.carrier == scan.carrier);
    let size = known.as_ref().map_or(scan.size, |parcel| parcel.size);
    // Every refusal comes before the first write, so a refused scan in a
    // batch leaves nothing behind.
    let (from, consent_given, phone) = match &known {
        Some(parcel) => (
            parcel.state,
            parcel.consent,
            parcel.phone.clone().or_else(|| scan.phone.clone()),
        ),
        None => (ParcelState::Announced, false, scan.phone.clone()),
    };
    let consented = consent_given
        || scan.consent == Some(true)
        || match &phone {
            Some(phone) => tx.standing_consent(phone).await? == Some(true),
            None => false,
        };
    let action = Action::StationInbound { consented };
    let next = from.apply(action)?;
    let (slot, place) = tx
        .free_place(station.id, size.fits_in())
        .await?
        .ok_or(AppError::StationFull(size.code()))?;
    let mut parcel = match known {
        Some(known) => known,
        None => {
            let new = NewParcel {
                carrier: scan.carrier,
                waybill: scan.waybill.clone(),
                state: ParcelState::Announced,
                recipient_name: scan.recipient_name.clone(),
                phone: scan.phone.clone(),
                address: None,
                size,
                weight_grams: None,
                consent: false,
                station_id: Some(station.id),
            };
            tx.insert_parcel(&new, now).await?
        }
    };
    // The scan fills in what the manifest lacked, never overrides it.
    parcel.phone = phone;
    if parcel.recipient_name.is_none() {
        parcel.recipient_name = scan.recipient_name.clone();
    }
    parcel.consent = consented;
    tx.occupy(slot.id, place, parcel.id).await?;
    parcel.state = next;
    parcel.problem = None;
    parcel.station_id = Some(station.id);
    parcel.slot_id = Some(slot.id);
    parcel.stored_at = Some(now);
    parcel.reminders_sent.clear();
    parcel.pickup_code = None;
    if next == ParcelState::Stored {
        parcel.pickup_code = Some(assign_code(tx, station, &slot).await?);
    }
    parcel.updated_at = now;
    tx.update_parcel(&parcel).await?;
    parcel.version += 1;
    record(
        tx,
        &parcel,
        action.event_kind(),
        Some(from),
        principal,
        now,
        serde_json::json!({ "slot": slot.label() }),
    )
    .await?;
    notify::on_shelved(tx, station, &parcel, now, merge_seconds).await?;
    Ok(outcome_of(&parcel, Some(slot.label()), false, carrier_hint))
}

/// A fresh code unique among the station's active parcels. The station is
/// locked, so the check cannot race; the database's unique index stands
/// behind it all the same.
pub(crate) async fn assign_code(
    tx: &mut dyn Tx,
    station: &StationRecord,
    slot: &SlotRecord,
) -> AppResult<String> {
    let attempts_max = station.code_format.seq_modulus();
    for _ in 0..attempts_max {
        let seq = tx.next_sequence(station.id).await?;
        let code = station
            .code_format
            .render(&slot.shelf, slot.tier, slot.slot, seq);
        if !tx.code_active(station.id, &code).await? {
            return Ok(code);
        }
    }
    Err(AppError::Conflict(
        "every pickup code of this station's format is in use; widen the sequence".into(),
    ))
}

/// The event of a change just applied to `parcel`; its key is the parcel
/// and the version the change produced, so the same change never leaves two.
pub(crate) fn event_of(
    parcel: &ParcelRecord,
    kind: &str,
    from: Option<ParcelState>,
    principal: &Principal,
    now: DateTime<Utc>,
    details: serde_json::Value,
) -> NewEvent {
    NewEvent {
        parcel_id: parcel.id,
        kind: kind.to_string(),
        from_state: from,
        to_state: parcel.state,
        at: now,
        actor: actor_of(principal),
        station_id: parcel.station_id,
        idempotency_key: format!("parcel:{}:v{}", parcel.id, parcel.version),
        details,
    }
}

/// Writes the event of a change that was just applied to `parcel`.
pub(crate) async fn record(
    tx: &mut dyn Tx,
    parcel: &ParcelRecord,
    kind: &str,
    from: Option<ParcelState>,
    principal: &Principal,
    now: DateTime<Utc>,
    details: serde_json::Value,
) -> AppResult<()> {
    let event = event_of(parcel, kind, from, principal, now, details);
    if !tx.insert_event(&event).await? {
        return Err(AppError::Contended(format!(
            "event {}",
            event.idempotency_key
        )));
    }
    // Fees accrue in the transaction of the event that earns them.
    crate::county::accrue_fee(tx, parcel, kind, &event.idempotency_key, now).await?;
    // Carriers hear about the event through the webhooks' outbox, written in
    // this same transaction: no event without its deliveries, no delivery
    // for a change that rolled back.
    crate::webhooks::on_event(tx, parcel, &event).await
}

fn outcome_of(
    parcel: &ParcelRecord,
    slot: Option<String>,
    duplicate: bool,
    carrier_hint: Vec<Carrier>,
) -> InboundOutcome {
    InboundOutcome {
        parcel_id: parcel.id,
        carrier: parcel.carrier,
        waybill: parcel.waybill.clone(),
        state: parcel.state,
        slot,
        pickup_code: parcel.pickup_code.clone(),
        duplicate,
        carrier_hint,
    }
}

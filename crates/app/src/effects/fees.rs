//! The delivery fee that follows the event counting as delivered in a
//! parcel's co-delivery mode (`domain::county::Mode::counts_as_delivered`).

use crate::error::AppResult;
use crate::ports::county::{AgreementVersion, NewFee};
use crate::ports::{NewEvent, ParcelRecord, Tx};
use chrono::NaiveDate;
use domain::county::{Mode, Period};
use domain::{Carrier, shanghai_day};

/// The carrier's agreement version in effect on a Shanghai day, read inside
/// the transaction that needs it.
pub(crate) async fn effective_agreement(
    tx: &mut dyn Tx,
    carrier: Carrier,
    day: NaiveDate,
) -> AppResult<Option<AgreementVersion>> {
    let versions = tx.agreement_versions(carrier).await?;
    Ok(Period::effective(versions, day, |v| (v.version, v.period)))
}

/// Accrues the delivery fee if this event is the one that counts as
/// delivered in the parcel's mode. Called for every event by
/// `crate::transition`, inside the event's transaction; the fee uses the
/// agreement version effective on the event's Shanghai day. A parcel never
/// routed by the centre (a carrier's courier dropping it at a station)
/// accrues nothing; a missing agreement or fee is logged, not invented.
pub(crate) async fn accrue(
    tx: &mut dyn Tx,
    parcel: &ParcelRecord,
    event: &NewEvent,
) -> AppResult<()> {
    let (event_kind, event_key, at) = (
        event.kind.as_str(),
        event.idempotency_key.as_str(),
        event.at,
    );
    // Most events count as delivered in no mode: they cost no query.
    if !Mode::ALL
        .iter()
        .any(|mode| mode.counts_as_delivered(event_kind))
    {
        return Ok(());
    }
    let Some(routing) = tx.routing(parcel.id).await? else {
        return Ok(());
    };
    if !routing.mode.counts_as_delivered(event_kind) {
        return Ok(());
    }
    let day = shanghai_day(at);
    let Some(agreement) = effective_agreement(tx, parcel.carrier, day).await? else {
        tracing::warn!(parcel = parcel.id, carrier = %parcel.carrier, %day, "delivered without an effective agreement; no fee");
        return Ok(());
    };
    let Some((bracket, amount)) = agreement.terms.fee(routing.mode, parcel.weight_grams) else {
        tracing::warn!(parcel = parcel.id, carrier = %parcel.carrier, version = agreement.version, mode = routing.mode.code(), "the effective agreement has no fee for the mode; no fee");
        return Ok(());
    };
    let fee = NewFee {
        carrier: parcel.carrier,
        agreement_id: agreement.agreement_id,
        agreement_version: agreement.version,
        parcel_id: parcel.id,
        event_key: event_key.to_string(),
        event_kind: event_kind.to_string(),
        mode: routing.mode,
        township: routing.township,
        weight_grams: parcel.weight_grams,
        bracket: bracket as u32,
        amount,
        at,
        day,
    };
    // The fee and its ledger transfer commit together: a fee is posted
    // exactly once (issue 15; fees from before the ledger are posted by
    // the start-up backfill, `App::backfill_ledger`).
    if tx.insert_fee(&fee).await? {
        crate::ledger::post(tx, &crate::ledger::fee_transfer(&fee), at).await?;
    }
    Ok(())
}

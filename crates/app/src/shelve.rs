//! Station inbound inside an open transaction (入库): a scanned parcel
//! gets a slot and, when the recipient has consented to station delivery, a
//! pickup code and an arrival notice; scanning the same waybill again
//! returns the same slot and code. Shared by the station's own scans
//! (`crate::inbound`) and a station accepting a whole bag from the county
//! centre (`crate::county`).

use crate::error::{AppError, AppResult, Code, Lang, text_invalid};
use crate::ports::{NewParcel, ParcelRecord, StationRecord, Tx};
use crate::transition::{self, By};
use domain::limits::{NAME_CHARS_MAX, text_field};
use domain::station::SizeClass;
use domain::{Action, Carrier, ParcelState, Phone, WaybillNo};
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
    /// The refusal's stable code.
    pub code: Code,
    /// Why, in English until the caller picks a language
    /// ([`BatchOutcome::in_lang`]).
    pub reason: String,
    #[serde(skip)]
    pub error: AppError,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchOutcome {
    pub stored: Vec<InboundOutcome>,
    pub rejected: Vec<RejectedScan>,
}

impl BatchOutcome {
    /// The rejected rows' reasons in `lang`: the use case cannot know who
    /// reads them, the API and the pages do.
    pub fn in_lang(mut self, lang: Lang) -> BatchOutcome {
        for row in &mut self.rejected {
            row.reason = row.error.message(lang);
        }
        self
    }
}

/// Scans many parcels into a locked station inside the caller's
/// transaction: a scan the rules refuse is reported and skipped, a storage
/// fault aborts. Shared by batch scans and whole-bag acceptance.
pub(crate) async fn shelve_many(
    tx: &mut dyn Tx,
    by: By<'_>,
    station: &StationRecord,
    scans: &[InboundScan],
) -> AppResult<BatchOutcome> {
    let mut stored = Vec::with_capacity(scans.len());
    let mut rejected = Vec::new();
    for (index, scan) in scans.iter().enumerate() {
        let result = match check_scan(scan) {
            Ok(()) => shelve_one(tx, by, station, scan).await,
            Err(error) => Err(error),
        };
        match result {
            Ok(outcome) => stored.push(outcome),
            Err(error) if is_fatal(&error) => return Err(error),
            Err(error) => rejected.push(RejectedScan {
                index,
                waybill: scan.waybill.to_string(),
                code: error.code(),
                reason: error.to_string(),
                error,
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

pub(crate) fn check_scan(scan: &InboundScan) -> AppResult<()> {
    if let Some(name) = &scan.recipient_name {
        text_field("recipient name", name, NAME_CHARS_MAX)
            .map_err(text_invalid("recipient name", NAME_CHARS_MAX))?;
    }
    Ok(())
}

/// Scans one parcel into a locked station inside the caller's transaction.
pub(crate) async fn shelve_one(
    tx: &mut dyn Tx,
    by: By<'_>,
    station: &StationRecord,
    scan: &InboundScan,
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
    if let Some(parcel) = &known {
        check_addressed_here(tx, parcel, station).await?;
    }
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
    let wanted = consent_given
        || scan.consent == Some(true)
        || match &phone {
            Some(phone) => tx.standing_consent(phone).await? == Some(true),
            None => false,
        };
    // No code without someone to tell: a parcel with nobody's phone (an
    // unannounced parcel scanned with none, a manifest row without one)
    // waits on its slot without a code, listed as 待补联系方式 until the
    // keeper adds the phone (`App::add_contact`); its consent is kept.
    let consented = wanted && phone.is_some();
    let action = Action::StationInbound { consented };
    from.apply(action)?;
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
            transition::create(tx, by, &new, None).await?
        }
    };
    // The scan fills in what the manifest lacked, never overrides it.
    parcel.phone = phone;
    parcel.consent = parcel.consent || wanted;
    if parcel.recipient_name.is_none() {
        parcel.recipient_name = scan.recipient_name.clone();
    }
    tx.occupy(slot.id, place, parcel.id).await?;
    parcel.station_id = Some(station.id);
    parcel.slot_id = Some(slot.id);
    transition::apply_on_slot(
        tx,
        by,
        station,
        &slot,
        &mut parcel,
        action,
        serde_json::json!({ "slot": slot.label() }),
    )
    .await?;
    Ok(outcome_of(&parcel, Some(slot.label()), false, carrier_hint))
}

/// A parcel already known may be scanned in only at the station it is
/// addressed to, so a keeper cannot pull another station's parcel onto
/// their shelf (and then read its whole phone number). "Addressed to" is,
/// from the data:
///
/// 1. the station of the parcel's latest misroute, when a county operator
///    recorded one (`misroutes`, `App::record_misroute`); else
/// 2. `parcels.station_id`: the destination of the county centre's route
///    decision (written when the parcel is sorted), or the station the
///    carrier's manifest announced, or the station that holds it now.
///
/// A parcel addressed to no station (announced without one, or routed to a
/// township contractor) is taken by the first station that scans it in, as
/// a parcel never announced is: carriers' couriers and contractors drop
/// parcels at village stations, and no station's data is exposed by it.
async fn check_addressed_here(
    tx: &mut dyn Tx,
    parcel: &ParcelRecord,
    station: &StationRecord,
) -> AppResult<()> {
    let addressed = match tx.misrouted_to(parcel.id).await? {
        Some(station_id) => Some(station_id),
        None => parcel.station_id,
    };
    match addressed {
        Some(station_id) if station_id != station.id => {
            tracing::warn!(
                parcel = parcel.id,
                station = station.id,
                addressed = station_id,
                "scan of a parcel addressed to another station refused"
            );
            Err(AppError::new(Code::AddressedElsewhere).with("waybill", &parcel.waybill))
        }
        _ => Ok(()),
    }
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

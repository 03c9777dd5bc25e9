//! The arrival scan at the county centre with its route decision, and the
//! manual queue for the parcels the decision cannot place.

use super::*;
use crate::effects::fees::effective_agreement;
use crate::transition::{self, By};

impl App {
    /// The arrival scan at the county centre: the parcel arrives (created
    /// if the carrier never announced it), and is sorted at once to a bag
    /// for its route, contractor or station — or queued for a person with
    /// the reason. Scanning it again changes nothing.
    pub async fn centre_arrival(
        &self,
        principal: &Principal,
        scan: ArrivalScan,
    ) -> AppResult<ArrivalOutcome> {
        self.must_run_county(principal)?;
        check_weight(scan.weight_grams)?;
        let address = scan
            .address
            .as_deref()
            .map(|a| text_field("address", a, ADDRESS_CHARS_MAX).map(String::from))
            .transpose()
            .map_err(text_invalid("address", ADDRESS_CHARS_MAX))?;
        let recipient_name = scan
            .recipient_name
            .as_deref()
            .map(|n| text_field("recipient name", n, NAME_CHARS_MAX).map(String::from))
            .transpose()
            .map_err(text_invalid("recipient name", NAME_CHARS_MAX))?;
        let by = self.by(principal);
        let now = by.now;
        let mut tx = self.store.begin().await?;
        let known = tx.parcel_by_waybill(scan.carrier, &scan.waybill).await?;
        let announced = known.is_some();
        let mut parcel = match known {
            Some(parcel) if parcel.state != ParcelState::Announced => {
                let outcome = current_outcome(&mut *tx, parcel, true).await?;
                return Ok(outcome);
            }
            Some(mut parcel) => {
                if parcel.weight_grams.is_none() {
                    parcel.weight_grams = scan.weight_grams;
                }
                transition::apply(
                    &mut *tx,
                    by,
                    None,
                    &mut parcel,
                    Action::ArriveAtCentre,
                    serde_json::json!({}),
                )
                .await?;
                parcel
            }
            None => {
                let new = NewParcel {
                    carrier: scan.carrier,
                    waybill: scan.waybill.clone(),
                    state: ParcelState::ArrivedAtCentre,
                    recipient_name,
                    phone: scan.phone.clone(),
                    address,
                    size: domain::station::SizeClass::Small,
                    weight_grams: scan.weight_grams,
                    consent: false,
                    station_id: None,
                };
                let first = (
                    Action::ArriveAtCentre,
                    serde_json::json!({ "unannounced": true }),
                );
                transition::create(&mut *tx, by, &new, Some(first)).await?
            }
        };
        let destination = parcel
            .address
            .as_deref()
            .map(destination_of)
            .unwrap_or_default();
        let routed = sort_to(&mut *tx, by, &mut parcel, &destination).await?;
        let manual = match routed {
            Ok(_) => None,
            Err(reason) => {
                let detail = match &parcel.address {
                    None => Unresolved::NoAddress.message_zh().to_string(),
                    Some(_) => reason.message_zh().to_string(),
                };
                let reason = if parcel.address.is_none() {
                    Unresolved::NoAddress
                } else {
                    reason
                };
                tx.enqueue_manual(parcel.id, parcel.carrier, reason, &detail, now)
                    .await?;
                Some(ManualReason {
                    reason,
                    message: detail,
                })
            }
        };
        let routing = tx.routing(parcel.id).await?;
        tx.commit().await?;
        tracing::info!(parcel = parcel.id, carrier = %parcel.carrier, announced, manual = ?manual.as_ref().map(|m| m.reason.code()), "centre arrival");
        Ok(ArrivalOutcome {
            parcel_id: parcel.id,
            carrier: parcel.carrier,
            waybill: parcel.waybill,
            state: parcel.state,
            announced,
            duplicate: false,
            routing,
            manual,
        })
    }

    /// An operator places a queued parcel by choosing its division; it is
    /// then sorted like any other. If the choice still cannot be routed the
    /// parcel stays queued and the answer says why.
    pub async fn resolve_manual(
        &self,
        principal: &Principal,
        parcel_id: i64,
        resolution: Resolution,
    ) -> AppResult<ArrivalOutcome> {
        self.must_run_county(principal)?;
        let division = resolution.division.trim();
        let destination = match division.len() {
            9 => Destination {
                township: Some(parse_township(division).map_err(|_| {
                    AppError::new(Code::DivisionInvalid).with("division", format!("{division:?}"))
                })?),
                village: None,
                ambiguous: false,
            },
            12 if division.bytes().all(|b| b.is_ascii_digit()) => Destination {
                township: Some(division[..9].to_string()),
                village: Some(division.to_string()),
                ambiguous: false,
            },
            _ => {
                return Err(
                    AppError::new(Code::DivisionInvalid).with("division", format!("{division:?}"))
                );
            }
        };
        let by = self.by(principal);
        let now = by.now;
        let mut tx = self.store.begin().await?;
        let mut parcel = tx
            .parcel(parcel_id)
            .await?
            .ok_or(AppError::NotFound("parcel"))?;
        let open = tx
            .manual_entry(parcel_id)
            .await?
            .is_some_and(|entry| entry.resolved_at.is_none());
        if !open || parcel.state != ParcelState::ArrivedAtCentre {
            return Err(AppError::new(Code::NotInManualQueue));
        }
        if let Err(reason) = sort_to(&mut *tx, by, &mut parcel, &destination).await? {
            return Err(AppError::new(Code::StillUnroutable)
                .with("division", division)
                .with_words("reason", reason.message_zh(), reason.code()));
        }
        tx.resolve_manual(
            parcel_id,
            &actor_of(principal),
            &serde_json::json!({ "division": division }),
            now,
        )
        .await?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            now,
            crate::audit::Act::ManualResolved,
            crate::audit::Object::new("parcel", parcel_id).at(parcel.station_id),
            serde_json::json!({ "division": division }),
        )
        .await?;
        let outcome = current_outcome(&mut *tx, parcel, false).await?;
        tx.commit().await?;
        tracing::info!(parcel = parcel_id, division, "manual resolution");
        Ok(outcome)
    }

    pub async fn manual_queue(&self, principal: &Principal) -> AppResult<Vec<ManualItem>> {
        self.must_run_county(principal)?;
        Ok(self.store.manual_queue(1_000).await?)
    }

    /// The manual queue as the centre console shows it: each parcel with its
    /// address text and the divisions to choose from (`division_choices`:
    /// the parser's candidates, then the townships the centre serves).
    pub async fn manual_entries(&self, principal: &Principal) -> AppResult<Vec<ManualEntry>> {
        self.must_run_county(principal)?;
        let items = self.store.manual_queue(1_000).await?;
        let mut served: Vec<String> = Vec::new();
        for route in self.store.routes().await? {
            served.extend(route.townships);
        }
        served.extend(
            self.store
                .contractors()
                .await?
                .into_iter()
                .map(|c| c.township),
        );
        for station in self.store.stations().await? {
            if let Some(code) = station.division_code {
                served.push(code.chars().take(9).collect());
            }
        }
        served.sort();
        served.dedup();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Some(parcel) = self.store.parcel(item.parcel_id).await? else {
                continue;
            };
            let choices = division_choices(parcel.address.as_deref(), &served);
            out.push(ManualEntry {
                item,
                waybill: parcel.waybill,
                address: parcel.address,
                choices,
            });
        }
        Ok(out)
    }

    /// One resolution for many queued parcels (the same address problem):
    /// each is placed as `resolve_manual` places one, in its own
    /// transaction with its own audit row; the answer lists each outcome.
    pub async fn resolve_manual_many(
        &self,
        principal: &Principal,
        parcel_ids: &[i64],
        resolution: Resolution,
    ) -> AppResult<Vec<(i64, AppResult<ArrivalOutcome>)>> {
        self.must_run_county(principal)?;
        if parcel_ids.is_empty() {
            return Err(AppError::new(Code::NoParcelChosen));
        }
        if parcel_ids.len() > RESOLVE_MANY_MAX {
            return Err(AppError::new(Code::ResolveTooMany).with("max", RESOLVE_MANY_MAX));
        }
        let mut out = Vec::with_capacity(parcel_ids.len());
        for id in parcel_ids {
            match self
                .resolve_manual(principal, *id, resolution.clone())
                .await
            {
                // A wrong division is wrong for all of them: say it once.
                Err(error) if error.code() == Code::DivisionInvalid => return Err(error),
                outcome => out.push((*id, outcome)),
            }
        }
        Ok(out)
    }
}

/// What a repeated scan or a resolution answers: the parcel as it stands.
async fn current_outcome(
    tx: &mut dyn Tx,
    parcel: ParcelRecord,
    duplicate: bool,
) -> AppResult<ArrivalOutcome> {
    let routing = tx.routing(parcel.id).await?;
    let manual = match tx.manual_entry(parcel.id).await? {
        Some(entry) if entry.resolved_at.is_none() => Some(ManualReason {
            reason: reason_from_code(&entry.reason),
            message: entry.detail,
        }),
        _ => None,
    };
    let announced = tx
        .event_by_key(&format!("parcel:{}:v0", parcel.id))
        .await?
        .is_some_and(|event| event.kind == "announced");
    Ok(ArrivalOutcome {
        parcel_id: parcel.id,
        carrier: parcel.carrier,
        waybill: parcel.waybill,
        state: parcel.state,
        announced,
        duplicate,
        routing,
        manual,
    })
}

fn reason_from_code(code: &str) -> Unresolved {
    [
        Unresolved::NoAddress,
        Unresolved::Ambiguous,
        Unresolved::NoTownship,
        Unresolved::NoAgreement,
        Unresolved::TownshipNotHandedOver,
        Unresolved::NoRoute,
        Unresolved::NoContractor,
        Unresolved::NoStation,
    ]
    .into_iter()
    .find(|r| r.code() == code)
    .unwrap_or(Unresolved::NoTownship)
}

/// Decides where an arrived parcel goes and, if it can, sorts it into the
/// open bag for that target. `Ok(Err(reason))` leaves the parcel arrived
/// and unchanged, for the manual queue.
async fn sort_to(
    tx: &mut dyn Tx,
    by: By<'_>,
    parcel: &mut ParcelRecord,
    destination: &Destination,
) -> AppResult<Result<Decision, Unresolved>> {
    let day = shanghai_day(by.now);
    let agreement = effective_agreement(tx, parcel.carrier, day).await?;
    let config = tx.county_config().await?;
    let decision = match decide(destination, agreement.as_ref().map(|a| &a.terms), &config) {
        Ok(decision) => decision,
        Err(reason) => return Ok(Err(reason)),
    };
    parcel.state.apply(Action::Sort)?;
    let bag = tx
        .open_bag(
            &decision.target.bag_key_on(day),
            decision.target,
            decision.mode,
            day,
            by.now,
        )
        .await?;
    let routing = RoutingRecord {
        parcel_id: parcel.id,
        carrier: parcel.carrier,
        township: decision.township.clone(),
        village: decision.village.clone(),
        mode: decision.mode,
        target: decision.target,
        bag_id: bag.id,
        decided_at: by.now,
        decided_by: actor_of(by.principal),
    };
    if !tx.insert_routing(&routing).await? {
        return Err(AppError::Contended(format!(
            "routing of parcel {}",
            parcel.id
        )));
    }
    // The destination station may see what is on its way to it.
    if let Some(station_id) = decision.target.station_id() {
        parcel.station_id = Some(station_id);
    }
    transition::apply(
        tx,
        by,
        None,
        parcel,
        Action::Sort,
        serde_json::json!({
            "mode": decision.mode,
            "township": decision.township,
            "target": decision.target,
            "bag_id": bag.id,
            "agreement_version": agreement.as_ref().map(|a| a.version),
        }),
    )
    .await?;
    Ok(Ok(decision))
}

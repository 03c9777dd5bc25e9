//! The county co-delivery centre: carriers' agreements and fees, the
//! arrival scan with its route decision, bags, handover to routes and
//! contractors, a station accepting a whole bag, the manual-resolution
//! queue and the announced-versus-arrived reconciliation. The rules are in
//! `domain::county`; this module reads what they need and writes their
//! outcome in one transaction per change.

pub use crate::ports::county::{
    AgreementVersion, BagRecord, BagStatus, ContractorRecord, FeeRecord, FeeSummaryRow, ManualItem,
    NewFee, RouteRecord, RoutingRecord,
};
pub mod print;

use crate::error::{AppError, AppResult};
use crate::inbound::{BatchOutcome, InboundScan, inbound_many, lock, record};
use crate::ports::{NewParcel, ParcelRecord, Tx};
use crate::{App, actor_of};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::county::{
    Decision, Destination, Period, Target, Terms, Unresolved, decide, parse_township,
};
use domain::limits::{ADDRESS_CHARS_MAX, NAME_CHARS_MAX, PAGE_SIZE_MAX, text_field};
use domain::{Action, Carrier, Fen, ParcelState, Phone, Principal, WaybillNo, shanghai};
use serde::{Deserialize, Serialize};

/// The Asia/Shanghai calendar day of an instant: agreements' dates, bags
/// and fee days are all in local dates.
pub fn shanghai_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&shanghai()).date_naive()
}

/// Midnight at the start of a Shanghai day, in UTC.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    shanghai()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("a fixed offset has one midnight")
        .with_timezone(&Utc)
}

/// Longest date range one report or reconciliation covers.
pub const REPORT_DAYS_MAX: i64 = 366;
/// Most parcels listed in each list of a reconciliation.
pub const RECONCILE_LIST_MAX: u32 = 10_000;

/// A new version of a carrier's agreement, as the API takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementRequest {
    pub effective_from: NaiveDate,
    #[serde(default)]
    pub effective_to: Option<NaiveDate>,
    pub terms: Terms,
}

/// Reads a scanned bag label (or a bare bag id typed in).
pub fn parse_bag_label(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let digits = text.strip_prefix("YZBAG:").unwrap_or(text);
    digits
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("{text:?} is not a bag label (YZBAG:<id>)"))
}

#[derive(Debug, Clone, Serialize)]
pub struct FeeSummary {
    pub carrier: Carrier,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: Vec<FeeSummaryRow>,
    pub n_parcels: u64,
    pub total: Fen,
}

/// The centre's arrival scan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalScan {
    pub carrier: Carrier,
    pub waybill: WaybillNo,
    /// From the centre's scale; kept if the manifest had none.
    #[serde(default)]
    pub weight_grams: Option<u32>,
    /// For a parcel the carrier never announced: the address on its label.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub recipient_name: Option<String>,
    #[serde(default)]
    pub phone: Option<Phone>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManualReason {
    pub reason: Unresolved,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArrivalOutcome {
    pub parcel_id: i64,
    pub carrier: Carrier,
    pub waybill: WaybillNo,
    pub state: ParcelState,
    /// The carrier announced it (预报) before it arrived.
    pub announced: bool,
    /// Already scanned at the centre; nothing changed.
    pub duplicate: bool,
    pub routing: Option<RoutingRecord>,
    pub manual: Option<ManualReason>,
}

/// An operator's choice for a parcel in the manual queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// The destination's division: a 9-digit township or a 12-digit village.
    pub division: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BagAcceptance {
    pub bag_id: i64,
    /// The bag had been accepted before; nothing changed.
    pub duplicate: bool,
    pub n_parcels: usize,
    #[serde(flatten)]
    pub inbound: BatchOutcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct BagDispatch {
    pub bag_id: i64,
    pub duplicate: bool,
    pub n_dispatched: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReconciledParcel {
    pub parcel_id: i64,
    pub waybill: WaybillNo,
    pub state: ParcelState,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    pub carrier: Carrier,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Announced in the range, never seen since.
    pub missing: Vec<ReconciledParcel>,
    /// Arrived at the centre in the range, never announced.
    pub unannounced: Vec<ReconciledParcel>,
}

/// A bag with what is in it, for labels and handover lists.
#[derive(Debug, Clone, Serialize)]
pub struct BagContents {
    pub bag: BagRecord,
    /// Who receives the bag, as people name it.
    pub destination: String,
    pub per_carrier: Vec<(Carrier, u32)>,
    pub n_parcels: u32,
}

/// 交接单: the bags handed to one route or contractor on one day.
#[derive(Debug, Clone, Serialize)]
pub struct HandoverList {
    pub title: String,
    pub day: NaiveDate,
    pub bags: Vec<BagContents>,
    pub per_carrier: Vec<(Carrier, u32)>,
    pub n_parcels: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverTo {
    Route(i64),
    Contractor(i64),
}

fn check_range(from: NaiveDate, to: NaiveDate) -> AppResult<()> {
    if to < from {
        return Err(AppError::Invalid(format!(
            "the range ends ({to}) before it starts ({from})"
        )));
    }
    if (to - from).num_days() >= REPORT_DAYS_MAX {
        return Err(AppError::Invalid(format!(
            "a range covers at most {REPORT_DAYS_MAX} days"
        )));
    }
    Ok(())
}

fn check_weight(weight: Option<u32>) -> AppResult<()> {
    match weight {
        Some(w) if w == 0 || w > domain::limits::WEIGHT_GRAMS_MAX => {
            Err(AppError::Invalid(format!(
                "weight {w} g is outside 1..={} g",
                domain::limits::WEIGHT_GRAMS_MAX
            )))
        }
        _ => Ok(()),
    }
}

/// The destination divisions in an address text; ambiguity is kept, never
/// guessed away.
pub fn destination_of(address: &str) -> Destination {
    match address::parse(address) {
        Ok(parsed) => Destination {
            township: parsed.township.as_ref().map(|p| p.code.clone()),
            village: parsed.village.as_ref().map(|p| p.code.clone()),
            ambiguous: parsed.township.is_none()
                && parsed
                    .notes
                    .iter()
                    .any(|note| matches!(note, address::Note::Ambiguous { .. })),
        },
        Err(_) => Destination::default(),
    }
}

impl App {
    fn must_run_county(&self, principal: &Principal) -> AppResult<()> {
        if principal.may_run_county() {
            Ok(())
        } else {
            Err(AppError::Forbidden("county centre"))
        }
    }

    /// Adds a version of the carrier's agreement (admin and county operators).
    pub async fn create_agreement(
        &self,
        principal: &Principal,
        carrier: Carrier,
        request: AgreementRequest,
    ) -> AppResult<AgreementVersion> {
        self.must_run_county(principal)?;
        let period =
            Period::new(request.effective_from, request.effective_to).map_err(AppError::Invalid)?;
        let terms = request.terms.validated().map_err(AppError::Invalid)?;
        let version = self
            .store
            .create_agreement_version(carrier, period, &terms, &actor_of(principal), self.now())
            .await?;
        tracing::info!(carrier = %carrier, version = version.version, from = %period.from, "agreement version");
        Ok(version)
    }

    /// Every version of a carrier's agreement; a carrier sees only its own.
    pub async fn agreements(
        &self,
        principal: &Principal,
        carrier: Carrier,
    ) -> AppResult<Vec<AgreementVersion>> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        Ok(self.store.agreement_versions(carrier).await?)
    }

    pub async fn create_route(
        &self,
        principal: &Principal,
        name: &str,
        townships: &[String],
    ) -> AppResult<RouteRecord> {
        self.must_run_county(principal)?;
        let name = text_field("route name", name, NAME_CHARS_MAX).map_err(AppError::Invalid)?;
        if townships.is_empty() || townships.len() > domain::county::AGREEMENT_TOWNSHIPS_MAX {
            return Err(AppError::Invalid(
                "a route covers 1 to 500 townships".into(),
            ));
        }
        let townships = townships
            .iter()
            .map(|t| parse_township(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::Invalid)?;
        Ok(self
            .store
            .create_route(name, &townships, self.now())
            .await?)
    }

    pub async fn create_contractor(
        &self,
        principal: &Principal,
        name: &str,
        township: &str,
        phone: Option<Phone>,
    ) -> AppResult<ContractorRecord> {
        self.must_run_county(principal)?;
        let name =
            text_field("contractor name", name, NAME_CHARS_MAX).map_err(AppError::Invalid)?;
        let township = parse_township(township).map_err(AppError::Invalid)?;
        Ok(self
            .store
            .create_contractor(name, &township, phone.as_ref(), self.now())
            .await?)
    }

    pub async fn county_routes(&self, principal: &Principal) -> AppResult<Vec<RouteRecord>> {
        self.must_run_county(principal)?;
        Ok(self.store.routes().await?)
    }

    pub async fn county_contractors(
        &self,
        principal: &Principal,
    ) -> AppResult<Vec<ContractorRecord>> {
        self.must_run_county(principal)?;
        Ok(self.store.contractors().await?)
    }

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
            .map_err(AppError::Invalid)?;
        let recipient_name = scan
            .recipient_name
            .as_deref()
            .map(|n| text_field("recipient name", n, NAME_CHARS_MAX).map(String::from))
            .transpose()
            .map_err(AppError::Invalid)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let known = tx.parcel_by_waybill(scan.carrier, &scan.waybill).await?;
        let announced = known.is_some();
        let mut parcel = match known {
            Some(parcel) if parcel.state != ParcelState::Announced => {
                let outcome = current_outcome(&mut *tx, parcel, true).await?;
                return Ok(outcome);
            }
            Some(mut parcel) => {
                let next = parcel.state.apply(Action::ArriveAtCentre)?;
                if parcel.weight_grams.is_none() {
                    parcel.weight_grams = scan.weight_grams;
                }
                parcel.state = next;
                parcel.updated_at = now;
                tx.update_parcel(&parcel).await?;
                parcel.version += 1;
                record(
                    &mut *tx,
                    &parcel,
                    Action::ArriveAtCentre.event_kind(),
                    Some(ParcelState::Announced),
                    principal,
                    now,
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
                let parcel = tx.insert_parcel(&new, now).await?;
                record(
                    &mut *tx,
                    &parcel,
                    Action::ArriveAtCentre.event_kind(),
                    None,
                    principal,
                    now,
                    serde_json::json!({ "unannounced": true }),
                )
                .await?;
                parcel
            }
        };
        let destination = parcel
            .address
            .as_deref()
            .map(destination_of)
            .unwrap_or_default();
        let routed = sort_to(&mut *tx, &mut parcel, &destination, principal, now).await?;
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
                township: Some(parse_township(division).map_err(AppError::Invalid)?),
                village: None,
                ambiguous: false,
            },
            12 if division.bytes().all(|b| b.is_ascii_digit()) => Destination {
                township: Some(division[..9].to_string()),
                village: Some(division.to_string()),
                ambiguous: false,
            },
            _ => {
                return Err(AppError::Invalid(format!(
                    "division {division:?} must be a 9-digit township or a 12-digit village code"
                )));
            }
        };
        let now = self.now();
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
            return Err(AppError::Conflict(
                "the parcel is not waiting in the manual queue".into(),
            ));
        }
        if let Err(reason) = sort_to(&mut *tx, &mut parcel, &destination, principal, now).await? {
            return Err(AppError::Invalid(format!(
                "{division} still cannot be routed: {} ({})",
                reason.message_zh(),
                reason.code()
            )));
        }
        tx.resolve_manual(
            parcel_id,
            &actor_of(principal),
            &serde_json::json!({ "division": division }),
            now,
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

    pub async fn bags(&self, principal: &Principal, day: NaiveDate) -> AppResult<Vec<BagRecord>> {
        self.must_run_county(principal)?;
        Ok(self.store.bags(day).await?)
    }

    /// A bag with its contents: county staff, or the keeper of the station
    /// it is going to.
    pub async fn bag(&self, principal: &Principal, bag_id: i64) -> AppResult<BagContents> {
        let bag = self
            .store
            .bag(bag_id)
            .await?
            .ok_or(AppError::NotFound("bag"))?;
        let allowed = principal.may_run_county()
            || bag
                .target
                .station_id()
                .is_some_and(|id| principal.may_operate_station(id));
        if !allowed {
            return Err(AppError::NotFound("bag"));
        }
        self.bag_contents(bag).await
    }

    async fn bag_contents(&self, bag: BagRecord) -> AppResult<BagContents> {
        let parcels = self.store.bag_parcels(bag.id).await?;
        let mut per_carrier: Vec<(Carrier, u32)> = Vec::new();
        for (_, carrier, _) in &parcels {
            match per_carrier.iter_mut().find(|(c, _)| c == carrier) {
                Some((_, n)) => *n += 1,
                None => per_carrier.push((*carrier, 1)),
            }
        }
        per_carrier.sort();
        let destination = self.destination_name(bag.target).await?;
        Ok(BagContents {
            n_parcels: parcels.len() as u32,
            bag,
            destination,
            per_carrier,
        })
    }

    async fn destination_name(&self, target: Target) -> AppResult<String> {
        let station = match target.station_id() {
            Some(id) => self.store.station(id).await?.map(|s| s.name),
            None => None,
        };
        let route = match target.route_id() {
            Some(id) => self
                .store
                .routes()
                .await?
                .into_iter()
                .find(|r| r.id == id)
                .map(|r| r.name),
            None => None,
        };
        let contractor = match target.contractor_id() {
            Some(id) => self
                .store
                .contractors()
                .await?
                .into_iter()
                .find(|c| c.id == id)
                .map(|c| format!("承包人 {}", c.name)),
            None => None,
        };
        Ok([route, station, contractor]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" → "))
    }

    /// Hands a bag over (to the route's driver or the contractor): every
    /// parcel in it is dispatched. Again changes nothing.
    pub async fn dispatch_bag(&self, principal: &Principal, bag_id: i64) -> AppResult<BagDispatch> {
        self.must_run_county(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let bag = tx.bag(bag_id).await?.ok_or(AppError::NotFound("bag"))?;
        if bag.status != BagStatus::Open {
            return Ok(BagDispatch {
                bag_id,
                duplicate: true,
                n_dispatched: 0,
            });
        }
        if !tx
            .set_bag_status(bag_id, BagStatus::Open, BagStatus::Dispatched, now)
            .await?
        {
            return Err(AppError::Contended(format!("bag {bag_id}")));
        }
        let mut n_dispatched = 0;
        for parcel_id in tx.bag_parcel_ids(bag_id).await? {
            let Some(mut parcel) = tx.parcel(parcel_id).await? else {
                continue;
            };
            // A parcel taken out as a problem since sorting stays behind.
            let Ok(next) = parcel.state.apply(Action::Dispatch) else {
                continue;
            };
            if parcel.state != ParcelState::Sorted {
                continue;
            }
            let from = parcel.state;
            parcel.state = next;
            parcel.updated_at = now;
            tx.update_parcel(&parcel).await?;
            parcel.version += 1;
            record(
                &mut *tx,
                &parcel,
                Action::Dispatch.event_kind(),
                Some(from),
                principal,
                now,
                serde_json::json!({ "bag_id": bag_id }),
            )
            .await?;
            n_dispatched += 1;
        }
        tx.commit().await?;
        tracing::info!(bag = bag_id, n_dispatched, "bag dispatched");
        Ok(BagDispatch {
            bag_id,
            duplicate: false,
            n_dispatched,
        })
    }

    /// The receiving station takes a whole bag into its inbound flow at
    /// once (the same rules as a batch scan). Accepting it again changes
    /// nothing.
    pub async fn accept_bag(
        &self,
        principal: &Principal,
        station_id: i64,
        bag_id: i64,
    ) -> AppResult<BagAcceptance> {
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let station = lock(&mut *tx, station_id).await?;
        let bag = tx
            .bag(bag_id)
            .await?
            .filter(|bag| bag.target.station_id() == Some(station_id))
            .ok_or(AppError::NotFound("bag for this station"))?;
        let parcel_ids = tx.bag_parcel_ids(bag_id).await?;
        match bag.status {
            BagStatus::Accepted => {
                return Ok(BagAcceptance {
                    bag_id,
                    duplicate: true,
                    n_parcels: parcel_ids.len(),
                    inbound: BatchOutcome {
                        stored: Vec::new(),
                        rejected: Vec::new(),
                    },
                });
            }
            BagStatus::Open => {
                return Err(AppError::Conflict(
                    "the bag has not left the centre yet; dispatch it first".into(),
                ));
            }
            BagStatus::Dispatched => {}
        }
        let mut scans = Vec::with_capacity(parcel_ids.len());
        for parcel_id in &parcel_ids {
            if let Some(parcel) = tx.parcel(*parcel_id).await? {
                scans.push(InboundScan {
                    carrier: parcel.carrier,
                    waybill: parcel.waybill.clone(),
                    recipient_name: None,
                    phone: None,
                    size: parcel.size,
                    consent: None,
                });
            }
        }
        let inbound = inbound_many(
            &mut *tx,
            &station,
            principal,
            &scans,
            now,
            self.settings.notice_merge_seconds,
        )
        .await?;
        if !tx
            .set_bag_status(bag_id, BagStatus::Dispatched, BagStatus::Accepted, now)
            .await?
        {
            return Err(AppError::Contended(format!("bag {bag_id}")));
        }
        tx.commit().await?;
        tracing::info!(
            station = station_id,
            bag = bag_id,
            n_stored = inbound.stored.len(),
            n_rejected = inbound.rejected.len(),
            "bag accepted"
        );
        Ok(BagAcceptance {
            bag_id,
            duplicate: false,
            n_parcels: parcel_ids.len(),
            inbound,
        })
    }

    /// The handover list (交接单) of one route or contractor for a day: the
    /// bags handed over, with counts per carrier.
    pub async fn handover(
        &self,
        principal: &Principal,
        to: HandoverTo,
        day: NaiveDate,
    ) -> AppResult<HandoverList> {
        self.must_run_county(principal)?;
        let title = match to {
            HandoverTo::Route(id) => {
                let route = self
                    .store
                    .routes()
                    .await?
                    .into_iter()
                    .find(|r| r.id == id)
                    .ok_or(AppError::NotFound("route"))?;
                format!("共配线路 {}", route.name)
            }
            HandoverTo::Contractor(id) => {
                let contractor = self
                    .store
                    .contractors()
                    .await?
                    .into_iter()
                    .find(|c| c.id == id)
                    .ok_or(AppError::NotFound("contractor"))?;
                format!("乡镇承包人 {}", contractor.name)
            }
        };
        let mut bags = Vec::new();
        let mut per_carrier: Vec<(Carrier, u32)> = Vec::new();
        let mut n_parcels = 0;
        for bag in self.store.bags(day).await? {
            let belongs = match to {
                HandoverTo::Route(id) => bag.target.route_id() == Some(id),
                HandoverTo::Contractor(id) => bag.target.contractor_id() == Some(id),
            };
            if !belongs || bag.status == BagStatus::Open {
                continue;
            }
            let contents = self.bag_contents(bag).await?;
            for (carrier, n) in &contents.per_carrier {
                match per_carrier.iter_mut().find(|(c, _)| c == carrier) {
                    Some((_, total)) => *total += n,
                    None => per_carrier.push((*carrier, *n)),
                }
            }
            n_parcels += contents.n_parcels;
            bags.push(contents);
        }
        per_carrier.sort();
        Ok(HandoverList {
            title,
            day,
            bags,
            per_carrier,
            n_parcels,
        })
    }

    /// Announced versus arrived for a carrier over Shanghai days `from..=to`.
    pub async fn reconcile(
        &self,
        principal: &Principal,
        carrier: Carrier,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<Reconciliation> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        check_range(from, to)?;
        let end = day_start(to + chrono::Duration::days(1));
        let (missing, unannounced) = self
            .store
            .reconcile(carrier, day_start(from), end, RECONCILE_LIST_MAX)
            .await?;
        let view = |parcels: Vec<ParcelRecord>| {
            parcels
                .into_iter()
                .map(|p| ReconciledParcel {
                    parcel_id: p.id,
                    waybill: p.waybill,
                    state: p.state,
                    created_at: p.created_at,
                })
                .collect()
        };
        Ok(Reconciliation {
            carrier,
            from,
            to,
            missing: view(missing),
            unannounced: view(unannounced),
        })
    }

    /// The carrier's fee ledger over Shanghai days `from..=to`, a page at a time.
    pub async fn fee_ledger(
        &self,
        principal: &Principal,
        carrier: Carrier,
        from: NaiveDate,
        to: NaiveDate,
        after_id: Option<i64>,
        limit: Option<u32>,
    ) -> AppResult<Vec<FeeRecord>> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        check_range(from, to)?;
        let limit = limit.unwrap_or(PAGE_SIZE_MAX).clamp(1, PAGE_SIZE_MAX);
        Ok(self
            .store
            .fees(carrier, from, to, after_id.unwrap_or(0), limit)
            .await?)
    }

    pub async fn fee_summary(
        &self,
        principal: &Principal,
        carrier: Carrier,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<FeeSummary> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        check_range(from, to)?;
        let rows = self.store.fee_summary(carrier, from, to).await?;
        Ok(FeeSummary {
            carrier,
            from,
            to,
            n_parcels: rows.iter().map(|r| r.n_parcels).sum(),
            total: Fen(rows.iter().map(|r| r.total.0).sum()),
            rows,
        })
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
    parcel: &mut ParcelRecord,
    destination: &Destination,
    principal: &Principal,
    now: DateTime<Utc>,
) -> AppResult<Result<Decision, Unresolved>> {
    let day = shanghai_day(now);
    let agreement = tx.agreement_at(parcel.carrier, day).await?;
    let config = tx.county_config().await?;
    let decision = match decide(destination, agreement.as_ref().map(|a| &a.terms), &config) {
        Ok(decision) => decision,
        Err(reason) => return Ok(Err(reason)),
    };
    let next = parcel.state.apply(Action::Sort)?;
    let bag = tx
        .open_bag(decision.target, decision.mode, day, now)
        .await?;
    let routing = RoutingRecord {
        parcel_id: parcel.id,
        carrier: parcel.carrier,
        township: decision.township.clone(),
        village: decision.village.clone(),
        mode: decision.mode,
        target: decision.target,
        bag_id: bag.id,
        decided_at: now,
        decided_by: actor_of(principal),
    };
    if !tx.insert_routing(&routing).await? {
        return Err(AppError::Contended(format!(
            "routing of parcel {}",
            parcel.id
        )));
    }
    let from = parcel.state;
    parcel.state = next;
    // The destination station may see what is on its way to it.
    if let Some(station_id) = decision.target.station_id() {
        parcel.station_id = Some(station_id);
    }
    parcel.updated_at = now;
    tx.update_parcel(parcel).await?;
    parcel.version += 1;
    record(
        tx,
        parcel,
        Action::Sort.event_kind(),
        Some(from),
        principal,
        now,
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

/// Accrues the delivery fee if this event is the one that counts as
/// delivered in the parcel's mode. Called for every event from
/// `inbound::record`, inside the event's transaction; the fee uses the
/// agreement version effective on the event's Shanghai day. A parcel never
/// routed by the centre (a carrier's courier dropping it at a station)
/// accrues nothing; a missing agreement or fee is logged, not invented.
pub(crate) async fn accrue_fee(
    tx: &mut dyn Tx,
    parcel: &ParcelRecord,
    event_kind: &str,
    event_key: &str,
    at: DateTime<Utc>,
) -> AppResult<()> {
    if !matches!(
        event_kind,
        "picked_up" | "dispatched" | "stored" | "awaiting_consent"
    ) {
        return Ok(());
    }
    let Some(routing) = tx.routing(parcel.id).await? else {
        return Ok(());
    };
    if !routing.mode.counts_as_delivered(event_kind) {
        return Ok(());
    }
    let day = shanghai_day(at);
    let Some(agreement) = tx.agreement_at(parcel.carrier, day).await? else {
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
    tx.insert_fee(&fee).await?;
    Ok(())
}

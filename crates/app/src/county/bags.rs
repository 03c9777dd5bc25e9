//! Bags: what each holds, handing a bag over (dispatch), a station
//! accepting a whole bag, and the handover list (交接单).

use super::*;
use crate::shelve::shelve_many;
use crate::transition::{self, lock_station};

impl App {
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

    /// Today's (or a day's) bags with what is in each, for the console.
    pub async fn bags_with_contents(
        &self,
        principal: &Principal,
        day: NaiveDate,
    ) -> AppResult<Vec<BagContents>> {
        self.must_run_county(principal)?;
        let mut out = Vec::new();
        for bag in self.store.bags(day).await? {
            out.push(self.bag_contents(bag).await?);
        }
        Ok(out)
    }

    /// The centre's figures for today.
    pub async fn centre_day(&self, principal: &Principal) -> AppResult<CentreDay> {
        self.must_run_county(principal)?;
        let day = self.today();
        let arrivals = self
            .store
            .count_centre_arrivals(day_start(day), day_start(day + chrono::Duration::days(1)))
            .await?;
        let manual = self.store.manual_queue(1_000).await?.len();
        let bags = self.store.bags(day).await?;
        let count = |status: BagStatus| bags.iter().filter(|b| b.status == status).count();
        Ok(CentreDay {
            day,
            arrivals,
            manual,
            open_bags: count(BagStatus::Open),
            closed_bags: count(BagStatus::Closed),
            dispatched_bags: count(BagStatus::Dispatched),
            accepted_bags: count(BagStatus::Accepted),
        })
    }

    /// The names of a bag's or a decision's route, contractor and station.
    pub async fn target_names(
        &self,
        principal: &Principal,
        target: Target,
    ) -> AppResult<TargetNames> {
        self.must_run_county(principal)?;
        self.names_of(target).await
    }

    async fn names_of(&self, target: Target) -> AppResult<TargetNames> {
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
                .map(|c| c.name),
            None => None,
        };
        Ok(TargetNames {
            route,
            contractor,
            station,
        })
    }

    /// Closes (seals) an open bag at the centre: nothing more goes in, and
    /// the next parcel for its target opens a new bag. Closing it again
    /// changes nothing; a bag already handed over is refused.
    pub async fn close_bag(&self, principal: &Principal, bag_id: i64) -> AppResult<BagRecord> {
        self.must_run_county(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let bag = tx.bag(bag_id).await?.ok_or(AppError::NotFound("bag"))?;
        match bag.status {
            BagStatus::Open => {
                if !tx
                    .set_bag_status(bag_id, BagStatus::Open, BagStatus::Closed, now)
                    .await?
                {
                    return Err(AppError::Contended(format!("bag {bag_id}")));
                }
            }
            BagStatus::Closed => return Ok(bag),
            BagStatus::Dispatched | BagStatus::Accepted => {
                return Err(
                    AppError::new(Code::BagAlreadyHandedOver).with("bag", bag.label_payload())
                );
            }
        }
        let bag = tx.bag(bag_id).await?.ok_or(AppError::NotFound("bag"))?;
        tx.commit().await?;
        tracing::info!(bag = bag_id, "bag closed");
        Ok(bag)
    }

    async fn destination_name(&self, target: Target) -> AppResult<String> {
        let names = self.names_of(target).await?;
        Ok([
            names.route,
            names.station,
            names.contractor.map(|name| format!("承包人 {name}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" → "))
    }

    /// Hands a bag over (to the route's driver or the contractor): every
    /// parcel in it is dispatched. Again changes nothing.
    pub async fn dispatch_bag(&self, principal: &Principal, bag_id: i64) -> AppResult<BagDispatch> {
        self.must_run_county(principal)?;
        let by = self.by(principal);
        let now = by.now;
        let mut tx = self.store.begin().await?;
        let bag = tx.bag(bag_id).await?.ok_or(AppError::NotFound("bag"))?;
        // An open bag is handed over as it is; a closed one as it was sealed.
        if !matches!(bag.status, BagStatus::Open | BagStatus::Closed) {
            return Ok(BagDispatch {
                bag_id,
                duplicate: true,
                n_dispatched: 0,
            });
        }
        if !tx
            .set_bag_status(bag_id, bag.status, BagStatus::Dispatched, now)
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
            if parcel.state != ParcelState::Sorted {
                continue;
            }
            transition::apply(
                &mut *tx,
                by,
                None,
                &mut parcel,
                Action::Dispatch,
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
        let by = self.by(principal);
        let now = by.now;
        let mut tx = self.store.begin().await?;
        let station = lock_station(&mut *tx, station_id).await?;
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
            BagStatus::Open | BagStatus::Closed => {
                return Err(AppError::new(Code::BagNotDispatched));
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
        let inbound = shelve_many(&mut *tx, by, &station, &scans).await?;
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
            // Only what was handed over: open and closed bags are still here.
            if !belongs || matches!(bag.status, BagStatus::Open | BagStatus::Closed) {
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
        crate::audit::record_alone(
            &*self.store,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::DataExported,
            crate::audit::Object::county("handover"),
            serde_json::json!({
                "export": "handover",
                "route": match to { HandoverTo::Route(id) => Some(id), HandoverTo::Contractor(_) => None },
                "contractor": match to { HandoverTo::Contractor(id) => Some(id), HandoverTo::Route(_) => None },
                "day": day.to_string(),
                "bags": bags.len(),
                "parcels": n_parcels,
            }),
        )
        .await?;
        Ok(HandoverList {
            title,
            day,
            bags,
            per_carrier,
            n_parcels,
        })
    }
}

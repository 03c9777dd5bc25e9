//! Community pre-sale campaigns picked up at stations (线上预售+线下自提,
//! issue 14 point 4, branch presale): county staff create a campaign (name,
//! shop, dates) and import its orders from the online shop's CSV or .xlsx.
//! Each order for a station becomes a parcel of the county post office
//! (EMS, number `YS{campaign}-{order}`) shelved through the station's own
//! inbound (`crate::shelve`: a slot, a pickup code, the arrival message,
//! the same proof at hand-out), linked to the campaign by a
//! `presale_orders` row; a home-delivery order is listed for the centre.
//! Whether an order was picked up is its parcel's state, so the normal
//! pickup flow is the only one. Each bad row is reported with its line, the
//! good ones kept; an order number the campaign has already is left as it
//! is, so importing a file twice changes nothing. ARCHITECTURE.md,
//! "Pre-sale orders are parcels".

use crate::App;
use crate::audit::{Actor, Object};
use crate::error::{AppError, AppResult, Code};
pub use crate::ports::presale::{CampaignRecord, OrderKind, PresaleOrderRecord};
use crate::ports::presale::{NewCampaign, NewPresaleOrder};
use crate::shelve::{InboundScan, shelve_many};
use crate::transition::lock_station;
use chrono::NaiveDate;
use domain::audit::Act;
use domain::presale::{BadRow, CampaignReport, OrderRow, Pickup};
use domain::station::SizeClass;
use domain::{Carrier, Principal, WaybillNo};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Home-delivery orders a campaign's page lists.
pub const HOME_ORDERS_SHOWN: u32 = 500;

/// A campaign as a person typed it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CampaignInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub shop: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub starts_on: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub ends_on: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PresaleImport {
    /// Orders the file holds that could be read.
    pub n_orders: u32,
    /// Orders added by this import.
    pub n_new: u32,
    /// Of those, stored at a station.
    pub n_stored: u32,
    /// Of those, for home delivery.
    pub n_home: u32,
    /// Orders the campaign had already: left as they were.
    pub n_known: u32,
    /// Rows refused, by line.
    pub rejected: Vec<BadRow>,
}

/// A campaign's page: the campaign, its report and its home deliveries.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    pub campaign: CampaignRecord,
    pub report: CampaignReport,
    pub home: Vec<PresaleOrderRecord>,
}

fn invalid(detail: impl Into<String>) -> AppError {
    AppError::new(Code::PresaleCampaignInvalid).with_detail(detail.into())
}

fn day(text: &str, what: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|day| {
            (domain::limits::DATE_YEAR_MIN..=domain::limits::DATE_YEAR_MAX)
                .contains(&chrono::Datelike::year(day))
        })
        .ok_or_else(|| invalid(format!("{what}: a day as YYYY-MM-DD")))
}

impl App {
    fn may_run_presale(principal: &Principal) -> AppResult<()> {
        if principal.may_run_county() {
            Ok(())
        } else {
            Err(AppError::Forbidden("pre-sale campaign"))
        }
    }

    /// Creates a campaign (audited).
    pub async fn create_presale_campaign(
        &self,
        principal: &Principal,
        input: &CampaignInput,
    ) -> AppResult<CampaignRecord> {
        Self::may_run_presale(principal)?;
        let text = |value: &str, what: &str| -> AppResult<String> {
            let value = value.trim();
            let n = value.chars().count();
            if n == 0 || n > domain::limits::NAME_CHARS_MAX {
                return Err(invalid(format!("{what}: 1 to 64 characters")));
            }
            Ok(value.to_string())
        };
        let campaign = NewCampaign {
            name: text(&input.name, "name")?,
            shop: text(&input.shop, "shop")?,
            starts_on: day(&input.starts_on, "starts_on")?,
            ends_on: day(&input.ends_on, "ends_on")?,
            created_by: principal.username.clone(),
        };
        if campaign.ends_on < campaign.starts_on {
            return Err(invalid("ends_on: not before starts_on"));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_campaign(&campaign, now).await?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::PresaleCampaignCreated,
            Object::new("presale_campaign", id),
            serde_json::json!({ "name": campaign.name, "shop": campaign.shop }),
        )
        .await?;
        let stored = tx
            .campaign_for_update(id)
            .await?
            .ok_or(AppError::NotFound("pre-sale campaign"))?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The campaigns, latest first.
    pub async fn presale_campaigns(&self, principal: &Principal) -> AppResult<Vec<CampaignRecord>> {
        Self::may_run_presale(principal)?;
        Ok(self
            .store
            .campaigns(domain::presale::CAMPAIGNS_SHOWN)
            .await?)
    }

    /// A campaign's report: orders, stored, waiting, picked up, home
    /// delivery and revenue, in total and per station.
    pub async fn presale_report(
        &self,
        principal: &Principal,
        campaign_id: i64,
    ) -> AppResult<CampaignReport> {
        Self::may_run_presale(principal)?;
        self.store
            .campaign(campaign_id)
            .await?
            .ok_or(AppError::NotFound("pre-sale campaign"))?;
        let counts = self.store.presale_counts(campaign_id).await?;
        let stations: HashMap<i64, String> = self
            .store
            .stations()
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        Ok(domain::presale::report(campaign_id, &counts, |id| {
            stations.get(&id).cloned().unwrap_or_else(|| id.to_string())
        }))
    }

    /// A campaign's page.
    pub async fn presale_campaign(
        &self,
        principal: &Principal,
        campaign_id: i64,
    ) -> AppResult<CampaignView> {
        Self::may_run_presale(principal)?;
        let campaign = self
            .store
            .campaign(campaign_id)
            .await?
            .ok_or(AppError::NotFound("pre-sale campaign"))?;
        Ok(CampaignView {
            report: self.presale_report(principal, campaign_id).await?,
            home: self
                .store
                .presale_orders(campaign_id, OrderKind::HomeDelivery, 0, HOME_ORDERS_SHOWN)
                .await?,
            campaign,
        })
    }

    /// Imports a campaign's orders from a file's cells (`manifest_file::
    /// grid`): each bad row is reported with its line and the good ones are
    /// kept, in one transaction with the import's audit row. An order for a
    /// station is shelved there as an EMS parcel (consent given: the buyer
    /// chose the station), so it gets a slot, a pickup code and the arrival
    /// message; a station that is full refuses only that row.
    pub async fn import_presale_orders(
        &self,
        principal: &Principal,
        campaign_id: i64,
        grid: &[Vec<String>],
    ) -> AppResult<PresaleImport> {
        Self::may_run_presale(principal)?;
        let parsed = domain::presale::parse_grid(grid)
            .map_err(|detail| AppError::new(Code::PresaleImportUnreadable).with_detail(detail))?;
        let stations = self.store.stations().await?;
        let ids: HashSet<i64> = stations.iter().map(|s| s.id).collect();
        // A name two stations share names neither.
        let mut by_name: HashMap<&str, Option<i64>> = HashMap::new();
        for station in &stations {
            by_name
                .entry(station.name.as_str())
                .and_modify(|id| *id = None)
                .or_insert(Some(station.id));
        }
        let mut outcome = PresaleImport {
            rejected: parsed.bad,
            ..PresaleImport::default()
        };
        let by = self.by(principal);
        let now = by.now;
        let mut tx = self.store.begin().await?;
        tx.campaign_for_update(campaign_id)
            .await?
            .ok_or(AppError::NotFound("pre-sale campaign"))?;
        let known: HashSet<String> = tx
            .presale_order_numbers(campaign_id)
            .await?
            .into_iter()
            .collect();
        let mut at_station: BTreeMap<i64, Vec<(usize, OrderRow, WaybillNo)>> = BTreeMap::new();
        let mut home: Vec<OrderRow> = Vec::new();
        for (line, order) in parsed.orders {
            outcome.n_orders += 1;
            if known.contains(&order.order_no) {
                outcome.n_known += 1;
                continue;
            }
            let Pickup::Station(named) = &order.pickup else {
                home.push(order);
                continue;
            };
            let station = named
                .parse::<i64>()
                .ok()
                .filter(|id| ids.contains(id))
                .map(Ok)
                .or_else(|| by_name.get(named.as_str()).map(|id| id.ok_or(())));
            let station_id = match station {
                Some(Ok(station_id)) => station_id,
                found => {
                    let reason = match found {
                        Some(_) => format!(
                            "more than one station is called {named:?}: name it by its number"
                        ),
                        None => format!(
                            "there is no station {named:?}: name it by its number or its whole name"
                        ),
                    };
                    outcome.rejected.push(BadRow {
                        line,
                        order_no: order.order_no.clone(),
                        reason,
                    });
                    continue;
                }
            };
            match domain::presale::waybill_for(campaign_id, &order.order_no) {
                Ok(waybill) => at_station
                    .entry(station_id)
                    .or_default()
                    .push((line, order, waybill)),
                Err(reason) => outcome.rejected.push(BadRow {
                    line,
                    order_no: order.order_no.clone(),
                    reason,
                }),
            }
        }
        // Stations are locked in the order of their ids, so two imports
        // (or an import and a bag) never wait on each other in a circle.
        for (station_id, orders) in at_station {
            let station = lock_station(&mut *tx, station_id).await?;
            let scans: Vec<InboundScan> = orders
                .iter()
                .map(|(_, order, waybill)| InboundScan {
                    carrier: Carrier::Ems,
                    waybill: waybill.clone(),
                    recipient_name: order.name.clone(),
                    phone: Some(order.phone.clone()),
                    size: SizeClass::Small,
                    consent: Some(true),
                })
                .collect();
            let batch = shelve_many(&mut *tx, by, &station, &scans).await?;
            let refused: HashMap<usize, String> = batch
                .rejected
                .into_iter()
                .map(|row| (row.index, row.error.message(crate::Lang::En)))
                .collect();
            let mut stored = batch.stored.into_iter();
            for (index, (line, order, _)) in orders.into_iter().enumerate() {
                if let Some(reason) = refused.get(&index) {
                    outcome.rejected.push(BadRow {
                        line,
                        order_no: order.order_no,
                        reason: reason.clone(),
                    });
                    continue;
                }
                let parcel = stored
                    .next()
                    .ok_or_else(|| AppError::Internal("a shelved order went missing".into()))?;
                let new = NewPresaleOrder {
                    campaign_id,
                    order_no: order.order_no,
                    items: order.items,
                    amount: order.amount,
                    station_id: Some(station_id),
                    parcel_id: Some(parcel.parcel_id),
                    phone: None,
                    name: None,
                    address: None,
                };
                if tx.insert_presale_order(&new, now).await? {
                    outcome.n_new += 1;
                    outcome.n_stored += 1;
                } else {
                    outcome.n_known += 1;
                }
            }
        }
        for order in home {
            let new = NewPresaleOrder {
                campaign_id,
                order_no: order.order_no,
                items: order.items,
                amount: order.amount,
                station_id: None,
                parcel_id: None,
                phone: Some(order.phone),
                name: order.name,
                address: order.address,
            };
            if tx.insert_presale_order(&new, now).await? {
                outcome.n_new += 1;
                outcome.n_home += 1;
            } else {
                outcome.n_known += 1;
            }
        }
        outcome.rejected.sort_by_key(|row| row.line);
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::PresaleImported,
            Object::new("presale_campaign", campaign_id),
            serde_json::json!({
                "n_orders": outcome.n_orders,
                "n_new": outcome.n_new,
                "n_stored": outcome.n_stored,
                "n_home": outcome.n_home,
                "n_known": outcome.n_known,
                "n_rejected": outcome.rejected.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            campaign = campaign_id,
            n_new = outcome.n_new,
            n_known = outcome.n_known,
            n_rejected = outcome.rejected.len(),
            "pre-sale orders imported"
        );
        Ok(outcome)
    }
}

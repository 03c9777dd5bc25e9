//! Pre-sale campaigns' port (issue 14 point 4, branch presale): campaigns,
//! their orders (each linked to the parcel it became at a station, or
//! marked for home delivery) and the orders counted by station and by their
//! parcel's state for the report. The buyer's phone, name and address of a
//! home-delivery order are sealed by the store; a station order's live in
//! its parcel.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::presale::OrderCount;
use domain::{Fen, ParcelState, Phone};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct CampaignRecord {
    pub id: i64,
    pub name: String,
    /// The online shop the orders come from.
    pub shop: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// The username of who created it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A campaign as created (already checked).
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub shop: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub created_by: String,
}

/// An order as imported: at a station (with its parcel) or for home
/// delivery (with the buyer's phone, name and address, sealed).
#[derive(Debug, Clone)]
pub struct NewPresaleOrder {
    pub campaign_id: i64,
    pub order_no: String,
    pub items: String,
    pub amount: Fen,
    pub station_id: Option<i64>,
    pub parcel_id: Option<i64>,
    pub phone: Option<Phone>,
    pub name: Option<String>,
    pub address: Option<String>,
}

/// An order as the campaign's page lists it; the phone masks itself.
#[derive(Debug, Clone, Serialize)]
pub struct PresaleOrderRecord {
    pub id: i64,
    pub campaign_id: i64,
    pub order_no: String,
    pub items: String,
    pub amount: Fen,
    pub station_id: Option<i64>,
    pub parcel_id: Option<i64>,
    /// The parcel's state now (none for home delivery).
    pub parcel_state: Option<ParcelState>,
    pub phone: Option<Phone>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Which of a campaign's orders a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    All,
    HomeDelivery,
}

#[async_trait]
pub trait PresaleTx: Send {
    async fn insert_campaign(
        &mut self,
        campaign: &NewCampaign,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// The campaign, locked until the transaction ends (PostgreSQL), so two
    /// imports into one campaign take turns.
    async fn campaign_for_update(&mut self, id: i64) -> StoreResult<Option<CampaignRecord>>;
    /// The campaign's order numbers already imported.
    async fn presale_order_numbers(&mut self, campaign_id: i64) -> StoreResult<Vec<String>>;
    /// Adds the order unless the campaign has its number already; whether
    /// it was added.
    async fn insert_presale_order(
        &mut self,
        order: &NewPresaleOrder,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait PresaleStore: Send + Sync {
    /// The latest campaigns first.
    async fn campaigns(&self, limit: u32) -> StoreResult<Vec<CampaignRecord>>;
    async fn campaign(&self, id: i64) -> StoreResult<Option<CampaignRecord>>;
    /// The campaign's orders counted by station and parcel state.
    async fn presale_counts(&self, campaign_id: i64) -> StoreResult<Vec<OrderCount>>;
    /// The campaign's orders in id order after `after_id`.
    async fn presale_orders(
        &self,
        campaign_id: i64,
        kind: OrderKind,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<PresaleOrderRecord>>;
}

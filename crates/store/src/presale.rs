//! Pre-sale campaigns' tables (issue 14 point 4, branch presale; migration
//! 0034): campaigns and their orders. A station order points at the parcel
//! it became (its state is the order's); a home-delivery order keeps the
//! buyer's phone, name and address, sealed here.

use crate::rows::{corrupt, get, open, time};
use crate::{Backend, Db, DbTx, backend_error, ms};
use app::ports::presale::*;
use app::ports::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::presale::OrderCount;
use domain::{Fen, ParcelState, Phone};
use sqlx::any::AnyRow;

pub const SEALED_PRESALE_PHONE: &str = "presale_orders.phone";
pub const SEALED_PRESALE_NAME: &str = "presale_orders.name";
pub const SEALED_PRESALE_ADDRESS: &str = "presale_orders.address";

/// Every sealed column of the pre-sale tables, for re-sealing after a key
/// rotation (`PrivacyStore::seal_batch`): (table, column, sealed as).
pub const SEALED_COLUMNS: [(&str, &str, &str); 3] = [
    ("presale_orders", "phone", SEALED_PRESALE_PHONE),
    ("presale_orders", "name", SEALED_PRESALE_NAME),
    ("presale_orders", "address", SEALED_PRESALE_ADDRESS),
];

const CAMPAIGN_COLUMNS: &str = "id, name, shop, starts_on, ends_on, created_by, created_at";
const ORDER_COLUMNS: &str = "o.id, o.campaign_id, o.order_no, o.items, o.amount_fen, o.station_id, o.parcel_id, \
     p.state AS parcel_state, o.phone, o.name, o.address, o.created_at";

fn day_of(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt("day", text))
}

fn campaign_from(row: &AnyRow) -> StoreResult<CampaignRecord> {
    Ok(CampaignRecord {
        id: get(row, "id")?,
        name: get(row, "name")?,
        shop: get(row, "shop")?,
        starts_on: day_of(&get::<String>(row, "starts_on")?)?,
        ends_on: day_of(&get::<String>(row, "ends_on")?)?,
        created_by: get(row, "created_by")?,
        created_at: time(get(row, "created_at")?)?,
    })
}

fn state_of(text: Option<String>) -> StoreResult<Option<ParcelState>> {
    text.map(|text| ParcelState::parse(&text).ok_or_else(|| corrupt("parcel state", &text)))
        .transpose()
}

impl Db {
    fn order_from(&self, row: &AnyRow) -> StoreResult<PresaleOrderRecord> {
        let keys = self.keys();
        Ok(PresaleOrderRecord {
            id: get(row, "id")?,
            campaign_id: get(row, "campaign_id")?,
            order_no: get(row, "order_no")?,
            items: get(row, "items")?,
            amount: Fen(get(row, "amount_fen")?),
            station_id: get(row, "station_id")?,
            parcel_id: get(row, "parcel_id")?,
            parcel_state: state_of(get(row, "parcel_state")?)?,
            phone: open(keys, SEALED_PRESALE_PHONE, get(row, "phone")?)?
                .map(|text| Phone::parse(&text).map_err(|_| corrupt("phone", "(hidden)")))
                .transpose()?,
            name: open(keys, SEALED_PRESALE_NAME, get(row, "name")?)?,
            address: open(keys, SEALED_PRESALE_ADDRESS, get(row, "address")?)?,
            created_at: time(get(row, "created_at")?)?,
        })
    }
}

#[async_trait]
impl PresaleTx for DbTx {
    async fn insert_campaign(
        &mut self,
        campaign: &NewCampaign,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO presale_campaigns (name, shop, starts_on, ends_on, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(campaign.name.clone())
                .bind(campaign.shop.clone())
                .bind(campaign.starts_on.format("%Y-%m-%d").to_string())
                .bind(campaign.ends_on.format("%Y-%m-%d").to_string())
                .bind(campaign.created_by.clone())
                .bind(ms(now)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("campaign id not returned".into()))?;
        get(&row, "id")
    }

    async fn campaign_for_update(&mut self, id: i64) -> StoreResult<Option<CampaignRecord>> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM presale_campaigns WHERE id = $1{lock}");
        self.optional(sqlx::query(&sql).bind(id))
            .await?
            .map(|row| campaign_from(&row))
            .transpose()
    }

    async fn presale_order_numbers(&mut self, campaign_id: i64) -> StoreResult<Vec<String>> {
        sqlx::query("SELECT order_no FROM presale_orders WHERE campaign_id = $1")
            .bind(campaign_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| get(row, "order_no"))
            .collect()
    }

    async fn insert_presale_order(
        &mut self,
        order: &NewPresaleOrder,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let phone = order
            .phone
            .as_ref()
            .map(|phone| self.keys.seal(SEALED_PRESALE_PHONE, &phone.full()));
        let name = order
            .name
            .as_deref()
            .map(|name| self.keys.seal(SEALED_PRESALE_NAME, name));
        let address = order
            .address
            .as_deref()
            .map(|address| self.keys.seal(SEALED_PRESALE_ADDRESS, address));
        let n = self
            .execute(
                sqlx::query(
                    "INSERT INTO presale_orders (campaign_id, order_no, items, amount_fen, station_id, parcel_id, \
                     phone, name, address, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (campaign_id, order_no) DO NOTHING",
                )
                .bind(order.campaign_id)
                .bind(order.order_no.clone())
                .bind(order.items.clone())
                .bind(order.amount.0)
                .bind(order.station_id)
                .bind(order.parcel_id)
                .bind(phone)
                .bind(name)
                .bind(address)
                .bind(ms(now)),
            )
            .await?;
        Ok(n == 1)
    }
}

#[async_trait]
impl PresaleStore for Db {
    async fn campaigns(&self, limit: u32) -> StoreResult<Vec<CampaignRecord>> {
        let sql =
            format!("SELECT {CAMPAIGN_COLUMNS} FROM presale_campaigns ORDER BY id DESC LIMIT $1");
        sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(campaign_from)
            .collect()
    }

    async fn campaign(&self, id: i64) -> StoreResult<Option<CampaignRecord>> {
        let sql = format!("SELECT {CAMPAIGN_COLUMNS} FROM presale_campaigns WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| campaign_from(&row))
            .transpose()
    }

    async fn presale_counts(&self, campaign_id: i64) -> StoreResult<Vec<OrderCount>> {
        sqlx::query(
            "SELECT o.station_id, p.state, COUNT(*) AS n, CAST(COALESCE(SUM(o.amount_fen), 0) AS BIGINT) AS fen \
             FROM presale_orders o LEFT JOIN parcels p ON p.id = o.parcel_id \
             WHERE o.campaign_id = $1 GROUP BY o.station_id, p.state",
        )
        .bind(campaign_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|row| {
            let n: i64 = get(row, "n")?;
            Ok(OrderCount {
                station_id: get(row, "station_id")?,
                state: state_of(get(row, "state")?)?,
                orders: u32::try_from(n).unwrap_or(u32::MAX),
                amount: Fen(get(row, "fen")?),
            })
        })
        .collect()
    }

    async fn presale_orders(
        &self,
        campaign_id: i64,
        kind: OrderKind,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<PresaleOrderRecord>> {
        let only = match kind {
            OrderKind::All => "",
            OrderKind::HomeDelivery => " AND o.station_id IS NULL",
        };
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM presale_orders o LEFT JOIN parcels p ON p.id = o.parcel_id \
             WHERE o.campaign_id = $1 AND o.id > $2{only} ORDER BY o.id LIMIT $3"
        );
        sqlx::query(&sql)
            .bind(campaign_id)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| self.order_from(row))
            .collect()
    }
}

//! The kiosk fleet's tables (issue 14, branch kiosks; migration 0031):
//! kiosks, collection runs and their append-only scans, the kiosks' bins
//! and day counts read from `send_orders`, and the bulk history the demo
//! and the benchmark write.

use crate::rows::{corrupt, get, time};
use crate::sending::{
    SEALED_ORDER_ADDRESS, SEALED_ORDER_EVIDENCE, SEALED_ORDER_NAME, SEALED_ORDER_PHONE,
};
use crate::{Backend, Db, DbTx, backend_error, ms};
use app::ports::GeoPoint;
use app::ports::kiosks::*;
use app::ports::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::kiosk::{DayCounts, KioskStatus, ScanOutcome, Scenario};
use domain::sending::OrderState;
use sqlx::any::AnyRow;
use std::collections::HashMap;

const KIOSK_COLUMNS: &str = "k.id, k.code, k.host_name, k.scenario, k.division, k.lat_e6, k.lon_e6, k.placed_on, \
     k.staff_user_id, u.username AS staff, k.branch, k.status, k.retired_on, k.created_at, k.updated_at";
const KIOSK_FROM: &str = "kiosks k JOIN users u ON u.id = k.staff_user_id";
const ORDER_COLUMNS: &str = "id, kiosk_id, waybill, state, price_fen, accepted_at, collected_at";
const RUN_COLUMNS: &str =
    "id, kiosk_id, courier_user_id, started_at, closed_at, n_collected, n_extra, n_missing";
const SCAN_COLUMNS: &str = "collection_id, waybill, order_id, outcome, at";

fn day_of(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt("day", text))
}

fn opt_time(row: &AnyRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    get::<Option<i64>>(row, column)?.map(time).transpose()
}

fn u32_of(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn kiosk_from(row: &AnyRow) -> StoreResult<KioskRecord> {
    let scenario: String = get(row, "scenario")?;
    let status: String = get(row, "status")?;
    Ok(KioskRecord {
        id: get(row, "id")?,
        code: get(row, "code")?,
        host_name: get(row, "host_name")?,
        scenario: Scenario::parse(&scenario).ok_or_else(|| corrupt("scenario", &scenario))?,
        division: get(row, "division")?,
        location: GeoPoint::from_e6(get(row, "lat_e6")?, get(row, "lon_e6")?),
        placed_on: day_of(&get::<String>(row, "placed_on")?)?,
        staff_user_id: get(row, "staff_user_id")?,
        staff: get(row, "staff")?,
        branch: get(row, "branch")?,
        status: KioskStatus::parse(&status).ok_or_else(|| corrupt("kiosk status", &status))?,
        retired_on: get::<Option<String>>(row, "retired_on")?
            .map(|text| day_of(&text))
            .transpose()?,
        created_at: time(get(row, "created_at")?)?,
        updated_at: time(get(row, "updated_at")?)?,
    })
}

fn order_from(row: &AnyRow) -> StoreResult<KioskOrder> {
    let state: String = get(row, "state")?;
    Ok(KioskOrder {
        id: get(row, "id")?,
        kiosk_id: get(row, "kiosk_id")?,
        waybill: get(row, "waybill")?,
        state: OrderState::parse(&state).ok_or_else(|| corrupt("order state", &state))?,
        price_fen: get(row, "price_fen")?,
        accepted_at: opt_time(row, "accepted_at")?,
        collected_at: opt_time(row, "collected_at")?,
    })
}

fn run_from(row: &AnyRow) -> StoreResult<CollectionRecord> {
    Ok(CollectionRecord {
        id: get(row, "id")?,
        kiosk_id: get(row, "kiosk_id")?,
        courier_user_id: get(row, "courier_user_id")?,
        started_at: time(get(row, "started_at")?)?,
        closed_at: opt_time(row, "closed_at")?,
        n_collected: u32_of(get(row, "n_collected")?),
        n_extra: u32_of(get(row, "n_extra")?),
        n_missing: u32_of(get(row, "n_missing")?),
    })
}

fn scan_from(row: &AnyRow) -> StoreResult<CollectionScan> {
    let outcome: String = get(row, "outcome")?;
    Ok(CollectionScan {
        collection_id: get(row, "collection_id")?,
        waybill: get(row, "waybill")?,
        order_id: get(row, "order_id")?,
        outcome: ScanOutcome::parse(&outcome).ok_or_else(|| corrupt("scan outcome", &outcome))?,
        at: time(get(row, "at")?)?,
    })
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

impl DbTx {
    fn kiosk_lock(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE OF k",
            Backend::Sqlite => "",
        }
    }

    fn row_lock(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }
}

#[async_trait]
impl KioskTx for DbTx {
    async fn insert_kiosk(&mut self, kiosk: &KioskFields, now: DateTime<Utc>) -> StoreResult<i64> {
        let (lat_e6, lon_e6) = kiosk.location.to_e6();
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO kiosks (code, host_name, scenario, division, lat_e6, lon_e6, placed_on, staff_user_id, branch, \
                     status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'in_service', $10, $10) RETURNING id",
                )
                .bind(kiosk.code.clone())
                .bind(kiosk.host_name.clone())
                .bind(kiosk.scenario.code())
                .bind(kiosk.division.clone())
                .bind(lat_e6)
                .bind(lon_e6)
                .bind(day_text(kiosk.placed_on))
                .bind(kiosk.staff_user_id)
                .bind(kiosk.branch.clone())
                .bind(ms(now)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("kiosk id not returned".into()))?;
        get(&row, "id")
    }

    async fn kiosk_for_update(&mut self, id: i64) -> StoreResult<Option<KioskRecord>> {
        let sql = format!(
            "SELECT {KIOSK_COLUMNS} FROM {KIOSK_FROM} WHERE k.id = $1{}",
            self.kiosk_lock()
        );
        self.optional(sqlx::query(&sql).bind(id))
            .await?
            .map(|row| kiosk_from(&row))
            .transpose()
    }

    async fn update_kiosk(&mut self, kiosk: &KioskRecord) -> StoreResult<()> {
        let (lat_e6, lon_e6) = kiosk.location.to_e6();
        self.execute(
            sqlx::query(
                "UPDATE kiosks SET code = $2, host_name = $3, scenario = $4, division = $5, lat_e6 = $6, lon_e6 = $7, \
                 placed_on = $8, staff_user_id = $9, branch = $10, status = $11, retired_on = $12, updated_at = $13 WHERE id = $1",
            )
            .bind(kiosk.id)
            .bind(kiosk.code.clone())
            .bind(kiosk.host_name.clone())
            .bind(kiosk.scenario.code())
            .bind(kiosk.division.clone())
            .bind(lat_e6)
            .bind(lon_e6)
            .bind(day_text(kiosk.placed_on))
            .bind(kiosk.staff_user_id)
            .bind(kiosk.branch.clone())
            .bind(kiosk.status.code())
            .bind(kiosk.retired_on.map(day_text))
            .bind(ms(kiosk.updated_at)),
        )
        .await?;
        Ok(())
    }

    async fn insert_collection(
        &mut self,
        kiosk_id: i64,
        courier_user_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO kiosk_collections (kiosk_id, courier_user_id, started_at) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(kiosk_id)
                .bind(courier_user_id)
                .bind(ms(now)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("collection id not returned".into()))?;
        get(&row, "id")
    }

    async fn collection_for_update(&mut self, id: i64) -> StoreResult<Option<CollectionRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM kiosk_collections WHERE id = $1{}",
            self.row_lock()
        );
        self.optional(sqlx::query(&sql).bind(id))
            .await?
            .map(|row| run_from(&row))
            .transpose()
    }

    async fn close_collection(&mut self, run: &CollectionRecord) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "UPDATE kiosk_collections SET closed_at = $2, n_collected = $3, n_extra = $4, n_missing = $5 WHERE id = $1",
            )
            .bind(run.id)
            .bind(run.closed_at.map(ms))
            .bind(i64::from(run.n_collected))
            .bind(i64::from(run.n_extra))
            .bind(i64::from(run.n_missing)),
        )
        .await?;
        Ok(())
    }

    async fn insert_collection_scan(&mut self, scan: &CollectionScan) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "INSERT INTO kiosk_collection_scans (collection_id, waybill, order_id, outcome, at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(scan.collection_id)
            .bind(scan.waybill.clone())
            .bind(scan.order_id)
            .bind(scan.outcome.code())
            .bind(ms(scan.at)),
        )
        .await?;
        Ok(())
    }

    async fn collection_scans_in(
        &mut self,
        collection_id: i64,
    ) -> StoreResult<Vec<CollectionScan>> {
        let sql = format!(
            "SELECT {SCAN_COLUMNS} FROM kiosk_collection_scans WHERE collection_id = $1 ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(collection_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend_error)?
            .iter()
            .map(scan_from)
            .collect()
    }

    async fn send_order_by_waybill(&mut self, waybill: &str) -> StoreResult<Option<KioskOrder>> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM send_orders WHERE waybill = $1");
        self.optional(sqlx::query(&sql).bind(waybill.to_string()))
            .await?
            .map(|row| order_from(&row))
            .transpose()
    }

    async fn kiosk_bin_in(&mut self, kiosk_id: i64) -> StoreResult<Vec<KioskOrder>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM send_orders WHERE kiosk_id = $1 AND state = 'accepted' ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(kiosk_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend_error)?
            .iter()
            .map(order_from)
            .collect()
    }

    async fn insert_history_orders(
        &mut self,
        sender_id: i64,
        orders: &[HistoryOrder],
    ) -> StoreResult<()> {
        // Synthetic parties, sealed like every order's: the history's
        // figures are what matters, not who sent.
        let name = self.keys.seal(SEALED_ORDER_NAME, "演示寄件人");
        let phone = self.keys.seal(SEALED_ORDER_PHONE, "13800000000");
        let address = self.keys.seal(SEALED_ORDER_ADDRESS, "演示地址");
        let evidence = self.keys.seal(SEALED_ORDER_EVIDENCE, "{}");
        // Rows per statement: 14 parameters each stays under SQLite's 32766.
        const ROWS_PER_INSERT: usize = 500;
        for chunk in orders.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO send_orders (sender_id, state, channel, kiosk_id, from_name, from_phone, from_division, from_address, \
                 to_name, to_phone, to_division, to_address, evidence, payer, carrier, waybill, price_fen, created_at, updated_at, \
                 accepted_at, collected_at, version) VALUES ",
            );
            let mut n = 0;
            for idx in 0..chunk.len() {
                if idx > 0 {
                    sql.push_str(", ");
                }
                let p = |k: usize| format!("${}", n + k);
                sql.push_str(&format!(
                    "({}, {}, 'kiosk', {}, {}, {}, '330000', {}, {}, {}, '330000', {}, {}, 'sender', 'EMS', {}, {}, {}, {}, {}, {}, 1)",
                    p(1), p(2), p(3), p(4), p(5), p(6), p(4), p(5), p(6), p(7), p(8), p(9), p(10), p(11), p(12), p(13)
                ));
                n += 13;
            }
            let mut query = sqlx::query(&sql);
            for order in chunk {
                let state = if order.collected_at.is_some() {
                    OrderState::Collected
                } else {
                    OrderState::Accepted
                };
                let last = order.collected_at.unwrap_or(order.accepted_at);
                query = query
                    .bind(sender_id)
                    .bind(state.code())
                    .bind(order.kiosk_id)
                    .bind(name.clone())
                    .bind(phone.clone())
                    .bind(address.clone())
                    .bind(evidence.clone())
                    .bind(order.waybill.clone())
                    .bind(order.price_fen)
                    .bind(ms(order.accepted_at))
                    .bind(ms(last))
                    .bind(ms(order.accepted_at))
                    .bind(order.collected_at.map(ms));
            }
            self.execute(query).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl KioskStore for Db {
    async fn kiosks(&self, filter: &KioskFilter) -> StoreResult<Vec<KioskRecord>> {
        enum Bind {
            Text(String),
            Id(i64),
        }
        let mut sql = format!("SELECT {KIOSK_COLUMNS} FROM {KIOSK_FROM} WHERE 1 = 1");
        let mut binds: Vec<Bind> = Vec::new();
        if let Some(branch) = &filter.branch {
            binds.push(Bind::Text(branch.clone()));
            sql.push_str(&format!(" AND k.branch = ${}", binds.len()));
        }
        if let Some(scenario) = filter.scenario {
            binds.push(Bind::Text(scenario.code().into()));
            sql.push_str(&format!(" AND k.scenario = ${}", binds.len()));
        }
        if let Some(status) = filter.status {
            binds.push(Bind::Text(status.code().into()));
            sql.push_str(&format!(" AND k.status = ${}", binds.len()));
        }
        if let Some(staff) = filter.staff_user_id {
            binds.push(Bind::Id(staff));
            sql.push_str(&format!(" AND k.staff_user_id = ${}", binds.len()));
        }
        if let Some(text) = filter.text.as_ref().filter(|t| !t.trim().is_empty()) {
            // LIKE's wildcards typed by a person are taken out, not escaped:
            // codes and host names have no use for them.
            let cleaned: String = text
                .trim()
                .chars()
                .filter(|c| !matches!(c, '%' | '_' | '\\'))
                .collect();
            binds.push(Bind::Text(format!("%{}%", cleaned.to_uppercase())));
            let n = binds.len();
            binds.push(Bind::Text(format!("%{cleaned}%")));
            sql.push_str(&format!(
                " AND (UPPER(k.code) LIKE ${n} OR k.host_name LIKE ${})",
                n + 1
            ));
        }
        sql.push_str(" ORDER BY k.code");
        let mut query = sqlx::query(&sql);
        for value in binds {
            query = match value {
                Bind::Text(text) => query.bind(text),
                Bind::Id(id) => query.bind(id),
            };
        }
        query
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(kiosk_from)
            .collect()
    }

    async fn kiosk(&self, id: i64) -> StoreResult<Option<KioskRecord>> {
        let sql = format!("SELECT {KIOSK_COLUMNS} FROM {KIOSK_FROM} WHERE k.id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| kiosk_from(&row))
            .transpose()
    }

    async fn kiosk_by_code(&self, code: &str) -> StoreResult<Option<KioskRecord>> {
        let sql = format!("SELECT {KIOSK_COLUMNS} FROM {KIOSK_FROM} WHERE k.code = $1");
        sqlx::query(&sql)
            .bind(code.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| kiosk_from(&row))
            .transpose()
    }

    async fn kiosk_orders(&self, kiosk_id: i64, limit: u32) -> StoreResult<Vec<KioskOrder>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM send_orders WHERE kiosk_id = $1 ORDER BY id DESC LIMIT $2"
        );
        sqlx::query(&sql)
            .bind(kiosk_id)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(order_from)
            .collect()
    }

    async fn kiosk_bin(&self, kiosk_id: i64) -> StoreResult<Vec<KioskOrder>> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM send_orders WHERE kiosk_id = $1 AND state = 'accepted' ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(kiosk_id)
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(order_from)
            .collect()
    }

    async fn collections(&self, kiosk_id: i64, limit: u32) -> StoreResult<Vec<CollectionRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM kiosk_collections WHERE kiosk_id = $1 ORDER BY id DESC LIMIT $2"
        );
        sqlx::query(&sql)
            .bind(kiosk_id)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(run_from)
            .collect()
    }

    async fn collection(&self, id: i64) -> StoreResult<Option<CollectionRecord>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM kiosk_collections WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| run_from(&row))
            .transpose()
    }

    async fn collection_scans(&self, collection_id: i64) -> StoreResult<Vec<CollectionScan>> {
        let sql = format!(
            "SELECT {SCAN_COLUMNS} FROM kiosk_collection_scans WHERE collection_id = $1 ORDER BY id"
        );
        sqlx::query(&sql)
            .bind(collection_id)
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(scan_from)
            .collect()
    }

    async fn kiosk_day_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(i64, DayCounts)>> {
        // Two range scans over the (accepted_at, kiosk_id) and
        // (collected_at, kiosk_id) indexes: only the day's rows are read.
        let accepted = sqlx::query(
            "SELECT kiosk_id, COUNT(*) AS n, CAST(COALESCE(SUM(price_fen), 0) AS BIGINT) AS revenue FROM send_orders \
             WHERE accepted_at >= $1 AND accepted_at < $2 AND kiosk_id IS NOT NULL AND state <> 'cancelled' GROUP BY kiosk_id",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        let collected = sqlx::query(
            "SELECT kiosk_id, COUNT(*) AS n FROM send_orders \
             WHERE collected_at >= $1 AND collected_at < $2 AND kiosk_id IS NOT NULL GROUP BY kiosk_id",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        let mut counts: HashMap<i64, DayCounts> = HashMap::new();
        for row in &accepted {
            let entry = counts.entry(get(row, "kiosk_id")?).or_default();
            entry.orders = u32_of(get(row, "n")?);
            entry.revenue_fen = get(row, "revenue")?;
        }
        for row in &collected {
            let entry = counts.entry(get(row, "kiosk_id")?).or_default();
            entry.collected = u32_of(get(row, "n")?);
        }
        let mut counts: Vec<(i64, DayCounts)> = counts.into_iter().collect();
        counts.sort_by_key(|(id, _)| *id);
        Ok(counts)
    }
}

//! The sorting hub's board (issue 16, point 4; migration 0037): adopted
//! plans, imports of the hub's logs and the counts tallied from them.

use crate::rows::{corrupt, get, time};
use crate::{Db, DbTx, backend_error, ms};
use app::ports::hub::*;
use app::ports::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sort::hub_kpi::{ChuteHour, Counts, HourRow};
use sort::hub_log::{Direction, TruckRow};
use sqlx::any::AnyRow;

const PLAN_COLUMNS: &str =
    "p.id, p.name, p.layout, p.assignments, p.simulated, p.adopted_at, p.adopted_by";
const PLAN_FROM: &str = "hub_plans p";
const IMPORT_COLUMNS: &str = "i.id, i.kind, i.file_name, i.plan_id, i.n_rows, i.n_bad, i.first_day, i.last_day, \
     i.imported_at, i.imported_by";
const HOUR_COLUMNS: &str =
    "day, hour, equipment, items, sorted, half_loop, recirculated, no_read, missorted, exception";
const TRUCK_COLUMNS: &str = "truck, direction, arrived_at, planned_arrival, unload_start, unload_end, \
     planned_departure, departed_at";
const LOCAL_TIME: &str = "%Y-%m-%d %H:%M:%S";

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn day_of(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt("hub day", text))
}

fn local_text(at: Option<NaiveDateTime>) -> Option<String> {
    at.map(|at| at.format(LOCAL_TIME).to_string())
}

fn local_of(text: Option<String>) -> StoreResult<Option<NaiveDateTime>> {
    text.map(|text| {
        NaiveDateTime::parse_from_str(&text, LOCAL_TIME).map_err(|_| corrupt("hub time", &text))
    })
    .transpose()
}

fn count(row: &AnyRow, column: &str) -> StoreResult<u64> {
    Ok(get::<i64>(row, column)?.max(0) as u64)
}

fn plan_from(row: &AnyRow) -> StoreResult<HubPlanRecord> {
    Ok(HubPlanRecord {
        id: get(row, "id")?,
        name: get(row, "name")?,
        layout: get(row, "layout")?,
        assignments: get(row, "assignments")?,
        simulated: get(row, "simulated")?,
        adopted_at: time(get(row, "adopted_at")?)?,
        adopted_by: get(row, "adopted_by")?,
    })
}

fn import_from(row: &AnyRow) -> StoreResult<HubImportRecord> {
    let kind: String = get(row, "kind")?;
    Ok(HubImportRecord {
        id: get(row, "id")?,
        kind: HubLogKind::parse(&kind).ok_or_else(|| corrupt("hub log kind", &kind))?,
        file_name: get(row, "file_name")?,
        plan_id: get(row, "plan_id")?,
        rows: count(row, "n_rows")?,
        bad: count(row, "n_bad")?,
        first_day: get::<Option<String>>(row, "first_day")?
            .map(|d| day_of(&d))
            .transpose()?,
        last_day: get::<Option<String>>(row, "last_day")?
            .map(|d| day_of(&d))
            .transpose()?,
        imported_at: time(get(row, "imported_at")?)?,
        imported_by: get(row, "imported_by")?,
    })
}

fn hour_from(row: &AnyRow) -> StoreResult<HourRow> {
    Ok(HourRow {
        day: day_of(&get::<String>(row, "day")?)?,
        hour: get::<i64>(row, "hour")?.clamp(0, 23) as u8,
        equipment: get(row, "equipment")?,
        counts: Counts {
            items: count(row, "items")?,
            sorted: count(row, "sorted")?,
            half_loop: count(row, "half_loop")?,
            recirculated: count(row, "recirculated")?,
            no_read: count(row, "no_read")?,
            missorted: count(row, "missorted")?,
            exception: count(row, "exception")?,
        },
    })
}

fn truck_from(row: &AnyRow) -> StoreResult<TruckRow> {
    let direction: String = get(row, "direction")?;
    Ok(TruckRow {
        row: 0,
        truck: get(row, "truck")?,
        direction: Direction::parse(&direction)
            .ok_or_else(|| corrupt("truck direction", &direction))?,
        arrived_at: local_of(Some(get(row, "arrived_at")?))?
            .ok_or_else(|| corrupt("truck arrival", ""))?,
        planned_arrival: local_of(get(row, "planned_arrival")?)?,
        unload_start: local_of(get(row, "unload_start")?)?,
        unload_end: local_of(get(row, "unload_end")?)?,
        planned_departure: local_of(get(row, "planned_departure")?)?,
        departed_at: local_of(get(row, "departed_at")?)?,
    })
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl DbTx {
    async fn delete_days(&mut self, table: &str, days: &[NaiveDate]) -> StoreResult<()> {
        for day in days {
            let sql = format!("DELETE FROM {table} WHERE day = $1");
            self.execute(sqlx::query(&sql).bind(day_text(*day))).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl HubTx for DbTx {
    async fn insert_hub_plan(
        &mut self,
        plan: &NewHubPlan,
        username: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO hub_plans (name, layout, assignments, simulated, adopted_at, adopted_by) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(plan.name.clone())
                .bind(plan.layout.clone())
                .bind(plan.assignments.clone())
                .bind(plan.simulated.clone())
                .bind(ms(now))
                .bind(username.to_string()),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("hub plan id not returned".into()))?;
        get(&row, "id")
    }

    async fn insert_hub_import(
        &mut self,
        import: &NewHubImport,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO hub_imports (kind, fingerprint, file_name, plan_id, n_rows, n_bad, first_day, last_day, \
                     imported_at, imported_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (kind, fingerprint) DO NOTHING RETURNING id",
                )
                .bind(import.kind.code())
                .bind(import.fingerprint.clone())
                .bind(import.file_name.clone())
                .bind(import.plan_id)
                .bind(i64_of(import.rows))
                .bind(i64_of(import.bad))
                .bind(import.first_day.map(day_text))
                .bind(import.last_day.map(day_text))
                .bind(ms(now))
                .bind(import.username.clone()),
            )
            .await?;
        row.map(|row| get(&row, "id")).transpose()
    }

    async fn replace_hub_counts(
        &mut self,
        import_id: i64,
        days: &[NaiveDate],
        hours: &[HourRow],
        chute_hours: &[ChuteHour],
    ) -> StoreResult<()> {
        self.delete_days("hub_hours", days).await?;
        self.delete_days("hub_chute_hours", days).await?;
        let plan_id: Option<i64> = {
            let row = self
                .optional(
                    sqlx::query("SELECT plan_id FROM hub_imports WHERE id = $1").bind(import_id),
                )
                .await?
                .ok_or_else(|| StoreError::Backend(format!("hub import {import_id} missing")))?;
            get(&row, "plan_id")?
        };
        let plan_id =
            plan_id.ok_or_else(|| StoreError::Backend("item counts need a plan".into()))?;
        let backend = self.backend;
        crate::insert_rows(
            &mut self.tx,
            backend,
            &format!("hub_hours ({HOUR_COLUMNS}, import_id, plan_id)"),
            12,
            hours,
            |q, row| {
                let c = &row.counts;
                q.bind(day_text(row.day))
                    .bind(i64::from(row.hour))
                    .bind(row.equipment.clone())
                    .bind(i64_of(c.items))
                    .bind(i64_of(c.sorted))
                    .bind(i64_of(c.half_loop))
                    .bind(i64_of(c.recirculated))
                    .bind(i64_of(c.no_read))
                    .bind(i64_of(c.missorted))
                    .bind(i64_of(c.exception))
                    .bind(import_id)
                    .bind(plan_id)
            },
        )
        .await?;
        crate::insert_rows(
            &mut self.tx,
            backend,
            "hub_chute_hours (day, hour, chute, items, import_id)",
            5,
            chute_hours,
            |q, row| {
                q.bind(day_text(row.day))
                    .bind(i64::from(row.hour))
                    .bind(row.chute.clone())
                    .bind(i64_of(row.items))
                    .bind(import_id)
            },
        )
        .await?;
        Ok(())
    }

    async fn replace_hub_trucks(
        &mut self,
        import_id: i64,
        days: &[NaiveDate],
        trucks: &[TruckRow],
    ) -> StoreResult<()> {
        self.delete_days("hub_trucks", days).await?;
        let backend = self.backend;
        crate::insert_rows(
            &mut self.tx,
            backend,
            &format!("hub_trucks (day, {TRUCK_COLUMNS}, import_id)"),
            10,
            trucks,
            |q, truck| {
                q.bind(day_text(truck.arrived_at.date()))
                    .bind(truck.truck.clone())
                    .bind(truck.direction.code())
                    .bind(local_text(Some(truck.arrived_at)))
                    .bind(local_text(truck.planned_arrival))
                    .bind(local_text(truck.unload_start))
                    .bind(local_text(truck.unload_end))
                    .bind(local_text(truck.planned_departure))
                    .bind(local_text(truck.departed_at))
                    .bind(import_id)
            },
        )
        .await?;
        Ok(())
    }
}

impl Db {
    async fn hub_rows(
        &self,
        sql: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<AnyRow>> {
        sqlx::query(sql)
            .bind(day_text(from))
            .bind(day_text(to))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)
    }
}

#[async_trait]
impl HubStore for Db {
    async fn hub_plan_in_force(&self) -> StoreResult<Option<HubPlanRecord>> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM {PLAN_FROM} ORDER BY p.id DESC LIMIT 1");
        sqlx::query(&sql)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| plan_from(&row))
            .transpose()
    }

    async fn hub_plan(&self, id: i64) -> StoreResult<Option<HubPlanRecord>> {
        let sql = format!("SELECT {PLAN_COLUMNS} FROM {PLAN_FROM} WHERE p.id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?
            .map(|row| plan_from(&row))
            .transpose()
    }

    async fn hub_day_plan(&self, day: NaiveDate) -> StoreResult<Option<i64>> {
        let row = sqlx::query("SELECT MAX(plan_id) AS plan_id FROM hub_hours WHERE day = $1")
            .bind(day_text(day))
            .fetch_one(&self.reader)
            .await
            .map_err(backend_error)?;
        get(&row, "plan_id")
    }

    async fn hub_hours(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<HourRow>> {
        let sql = format!(
            "SELECT {HOUR_COLUMNS} FROM hub_hours WHERE day >= $1 AND day <= $2 ORDER BY day, hour, equipment"
        );
        self.hub_rows(&sql, from, to)
            .await?
            .iter()
            .map(hour_from)
            .collect()
    }

    async fn hub_chute_hours(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<ChuteHour>> {
        let rows = self
            .hub_rows(
                "SELECT day, hour, chute, items FROM hub_chute_hours WHERE day >= $1 AND day <= $2 \
                 ORDER BY day, hour, chute",
                from,
                to,
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ChuteHour {
                    day: day_of(&get::<String>(row, "day")?)?,
                    hour: get::<i64>(row, "hour")?.clamp(0, 23) as u8,
                    chute: get(row, "chute")?,
                    items: count(row, "items")?,
                })
            })
            .collect()
    }

    async fn hub_trucks(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<TruckRow>> {
        let sql = format!(
            "SELECT {TRUCK_COLUMNS} FROM hub_trucks WHERE day >= $1 AND day <= $2 ORDER BY arrived_at, id"
        );
        self.hub_rows(&sql, from, to)
            .await?
            .iter()
            .map(truck_from)
            .collect()
    }

    async fn hub_days(&self, limit: u32) -> StoreResult<Vec<NaiveDate>> {
        let rows = sqlx::query("SELECT DISTINCT day FROM hub_hours ORDER BY day DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
        rows.iter()
            .map(|row| day_of(&get::<String>(row, "day")?))
            .collect()
    }

    async fn hub_imports(&self, limit: u32) -> StoreResult<Vec<HubImportRecord>> {
        let sql = format!(
            "SELECT {IMPORT_COLUMNS} FROM hub_imports i \
             ORDER BY i.id DESC LIMIT $1"
        );
        sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(import_from)
            .collect()
    }
}

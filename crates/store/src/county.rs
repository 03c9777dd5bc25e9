//! County co-delivery tables: agreements, routes and contractors, bags,
//! route decisions, the manual queue and the append-only fee ledger. The
//! queries behind the county methods of the `Tx` and `Store` ports.

use crate::rows::{PARCEL_COLUMNS, SEALED_CONTRACTOR_PHONE, open, parcel_from};
use crate::rows::{corrupt, get, time};
use crate::{Db, DbTx};
use crate::{backend_error, ms};
use app::ports::county::{
    AgreementVersion, BagRecord, BagStatus, ContractorRecord, FeeRecord, FeeSummaryRow, ManualItem,
    NewFee, RouteRecord, RoutingRecord,
};
use app::ports::{CountyStore, CountyTx, ParcelRecord, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::county::{
    ContractorCover, CountyConfig, Mode, Period, RouteCover, StationCover, Target, Terms,
};
use domain::{Carrier, Fen, Phone, WaybillNo};
use sqlx::any::AnyRow;

pub(crate) fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_day(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt("day", text))
}

pub(crate) fn carrier(row: &AnyRow) -> StoreResult<Carrier> {
    let code: String = get(row, "carrier")?;
    Carrier::parse(&code).map_err(|_| corrupt("carrier", &code))
}

pub(crate) fn mode(row: &AnyRow) -> StoreResult<Mode> {
    let code: String = get(row, "mode")?;
    Mode::parse(&code).ok_or_else(|| corrupt("mode", &code))
}

/// The target from a row's mode, route, contractor and station columns.
fn target(row: &AnyRow, mode: Mode) -> StoreResult<Target> {
    let route_id: Option<i64> = get(row, "route_id")?;
    let contractor_id: Option<i64> = get(row, "contractor_id")?;
    let station_id: Option<i64> = get(row, "station_id")?;
    let missing = || corrupt("target of mode", mode.code());
    Ok(match mode {
        Mode::Joint => Target::Route {
            route_id: route_id.ok_or_else(missing)?,
            station_id: station_id.ok_or_else(missing)?,
        },
        Mode::Contractor => Target::Contractor {
            contractor_id: contractor_id.ok_or_else(missing)?,
        },
        Mode::Station => Target::Station {
            station_id: station_id.ok_or_else(missing)?,
            route_id,
        },
    })
}

const AGREEMENT_COLUMNS: &str =
    "id, agreement_id, carrier, version, effective_from, effective_to, terms, actor, created_at";

fn agreement_from(row: &AnyRow) -> StoreResult<AgreementVersion> {
    let from: String = get(row, "effective_from")?;
    let to: Option<String> = get(row, "effective_to")?;
    let terms: String = get(row, "terms")?;
    let version: i64 = get(row, "version")?;
    Ok(AgreementVersion {
        id: get(row, "id")?,
        agreement_id: get(row, "agreement_id")?,
        carrier: carrier(row)?,
        version: u32::try_from(version).map_err(|_| corrupt("version", &version.to_string()))?,
        period: Period {
            from: parse_day(&from)?,
            to: to.as_deref().map(parse_day).transpose()?,
        },
        terms: serde_json::from_str::<Terms>(&terms).map_err(|_| corrupt("terms", &terms))?,
        actor: get(row, "actor")?,
        created_at: time(get(row, "created_at")?)?,
    })
}

const BAG_COLUMNS: &str = "id, day, mode, route_id, contractor_id, station_id, status, created_at, closed_at, dispatched_at, accepted_at";

fn bag_from(row: &AnyRow) -> StoreResult<BagRecord> {
    let day: String = get(row, "day")?;
    let status: String = get(row, "status")?;
    let mode = mode(row)?;
    let closed_at: Option<i64> = get(row, "closed_at")?;
    let dispatched_at: Option<i64> = get(row, "dispatched_at")?;
    let accepted_at: Option<i64> = get(row, "accepted_at")?;
    Ok(BagRecord {
        id: get(row, "id")?,
        day: parse_day(&day)?,
        mode,
        target: target(row, mode)?,
        status: BagStatus::parse(&status).ok_or_else(|| corrupt("bag status", &status))?,
        created_at: time(get(row, "created_at")?)?,
        closed_at: closed_at.map(time).transpose()?,
        dispatched_at: dispatched_at.map(time).transpose()?,
        accepted_at: accepted_at.map(time).transpose()?,
    })
}

const ROUTING_COLUMNS: &str = "parcel_id, carrier, township, village, mode, route_id, contractor_id, station_id, bag_id, decided_at, decided_by";

fn routing_from(row: &AnyRow) -> StoreResult<RoutingRecord> {
    let mode = mode(row)?;
    Ok(RoutingRecord {
        parcel_id: get(row, "parcel_id")?,
        carrier: carrier(row)?,
        township: get(row, "township")?,
        village: get(row, "village")?,
        mode,
        target: target(row, mode)?,
        bag_id: get(row, "bag_id")?,
        decided_at: time(get(row, "decided_at")?)?,
        decided_by: get(row, "decided_by")?,
    })
}

const MANUAL_COLUMNS: &str = "id, parcel_id, carrier, reason, detail, created_at, resolved_at";

fn manual_from(row: &AnyRow) -> StoreResult<ManualItem> {
    let resolved_at: Option<i64> = get(row, "resolved_at")?;
    Ok(ManualItem {
        id: get(row, "id")?,
        parcel_id: get(row, "parcel_id")?,
        carrier: carrier(row)?,
        reason: get(row, "reason")?,
        detail: get(row, "detail")?,
        created_at: time(get(row, "created_at")?)?,
        resolved_at: resolved_at.map(time).transpose()?,
    })
}

/// The ledger's columns and the parcel's waybill, which every fee row
/// carries for the carrier's own books (`FeeRecord::waybill`).
pub(crate) const FEE_COLUMNS: &str = "id, carrier, agreement_id, agreement_version, parcel_id, event_key, event_kind, mode, township, weight_grams, bracket, amount_fen, at, day, \
     (SELECT waybill FROM parcels WHERE parcels.id = fee_ledger.parcel_id) AS waybill";

pub(crate) fn fee_from(row: &AnyRow) -> StoreResult<FeeRecord> {
    let version: i64 = get(row, "agreement_version")?;
    let bracket: i64 = get(row, "bracket")?;
    let weight: Option<i64> = get(row, "weight_grams")?;
    let day: String = get(row, "day")?;
    Ok(FeeRecord {
        id: get(row, "id")?,
        waybill: get(row, "waybill")?,
        fee: NewFee {
            carrier: carrier(row)?,
            agreement_id: get(row, "agreement_id")?,
            agreement_version: version as u32,
            parcel_id: get(row, "parcel_id")?,
            event_key: get(row, "event_key")?,
            event_kind: get(row, "event_kind")?,
            mode: mode(row)?,
            township: get(row, "township")?,
            weight_grams: weight.map(|w| w as u32),
            bracket: bracket as u32,
            amount: Fen(get(row, "amount_fen")?),
            at: time(get(row, "at")?)?,
            day: parse_day(&day)?,
        },
    })
}

pub(crate) async fn bag<'e, E>(executor: E, bag_id: i64) -> StoreResult<Option<BagRecord>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!("SELECT {BAG_COLUMNS} FROM bags WHERE id = $1"))
        .bind(bag_id)
        .fetch_optional(executor)
        .await
        .map_err(backend_error)?;
    row.map(|row| bag_from(&row)).transpose()
}

/// A carrier's agreement versions, oldest first: read in a transaction when
/// a fee or a route decision needs the one in effect, and outside for lists.
async fn agreement_versions_of<'e, E>(
    executor: E,
    carrier: Carrier,
) -> StoreResult<Vec<AgreementVersion>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(&format!(
        "SELECT {AGREEMENT_COLUMNS} FROM agreement_versions WHERE carrier = $1 ORDER BY version"
    ))
    .bind(carrier.code())
    .fetch_all(executor)
    .await
    .map_err(backend_error)?
    .iter()
    .map(agreement_from)
    .collect()
}

#[async_trait]
impl CountyTx for DbTx {
    async fn agreement_versions(
        &mut self,
        carrier: Carrier,
    ) -> StoreResult<Vec<app::ports::county::AgreementVersion>> {
        agreement_versions_of(&mut *self.tx, carrier).await
    }

    async fn county_config(&mut self) -> StoreResult<domain::county::CountyConfig> {
        let rows = sqlx::query(
            "SELECT r.id, t.township FROM county_routes r JOIN county_route_townships t ON t.route_id = r.id ORDER BY r.id, t.township",
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        let mut routes: Vec<RouteCover> = Vec::new();
        for row in &rows {
            let id: i64 = get(row, "id")?;
            let township: String = get(row, "township")?;
            match routes.last_mut() {
                Some(route) if route.id == id => route.townships.push(township),
                _ => routes.push(RouteCover {
                    id,
                    townships: vec![township],
                }),
            }
        }
        let contractors = sqlx::query("SELECT id, township FROM contractors ORDER BY id")
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| {
                Ok(ContractorCover {
                    id: get(row, "id")?,
                    township: get(row, "township")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let stations = sqlx::query("SELECT id, division_code FROM stations ORDER BY id")
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| {
                Ok(StationCover {
                    id: get(row, "id")?,
                    division_code: get(row, "division_code")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(CountyConfig {
            routes,
            contractors,
            stations,
        })
    }

    async fn open_bag(
        &mut self,
        key: &str,
        target: domain::county::Target,
        mode: domain::county::Mode,
        day: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<app::ports::county::BagRecord> {
        // A concurrent sorter opening the same bag makes the insert do
        // nothing; the second select then sees its bag.
        let key = key.to_string();
        let select =
            format!("SELECT {BAG_COLUMNS} FROM bags WHERE bag_key = $1 AND status = 'open'");
        let found = sqlx::query(&select)
            .bind(key.clone())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend_error)?;
        if let Some(row) = found {
            return bag_from(&row);
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO bags (bag_key, day, mode, route_id, contractor_id, station_id, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) ON CONFLICT (bag_key) WHERE status = 'open' DO NOTHING RETURNING {BAG_COLUMNS}"
        ))
        .bind(key.clone())
        .bind(day_text(day))
        .bind(mode.code())
        .bind(target.route_id())
        .bind(target.contractor_id())
        .bind(target.station_id())
        .bind(ms(now))
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        let row = match inserted {
            Some(row) => row,
            None => sqlx::query(&select)
                .bind(key)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(backend_error)?,
        };
        bag_from(&row)
    }

    async fn bag(&mut self, bag_id: i64) -> StoreResult<Option<app::ports::county::BagRecord>> {
        bag(&mut *self.tx, bag_id).await
    }

    async fn set_bag_status(
        &mut self,
        bag_id: i64,
        from: app::ports::county::BagStatus,
        to: app::ports::county::BagStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let column = match to {
            BagStatus::Open => return Ok(false),
            BagStatus::Closed => "closed_at",
            BagStatus::Dispatched => "dispatched_at",
            BagStatus::Accepted => "accepted_at",
        };
        let n = sqlx::query(&format!(
            "UPDATE bags SET status = $1, {column} = $2 WHERE id = $3 AND status = $4"
        ))
        .bind(to.code())
        .bind(ms(now))
        .bind(bag_id)
        .bind(from.code())
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn bag_parcel_ids(&mut self, bag_id: i64) -> StoreResult<Vec<i64>> {
        sqlx::query(
            "SELECT parcel_id FROM parcel_routing WHERE bag_id = $1 ORDER BY decided_at, parcel_id",
        )
        .bind(bag_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|row| get(row, "parcel_id"))
        .collect()
    }

    async fn insert_routing(
        &mut self,
        routing: &app::ports::county::RoutingRecord,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO parcel_routing (parcel_id, carrier, township, village, mode, route_id, contractor_id, station_id, bag_id, decided_at, decided_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (parcel_id) DO NOTHING",
        )
        .bind(routing.parcel_id)
        .bind(routing.carrier.code())
        .bind(routing.township.clone())
        .bind(routing.village.clone())
        .bind(routing.mode.code())
        .bind(routing.target.route_id())
        .bind(routing.target.contractor_id())
        .bind(routing.target.station_id())
        .bind(routing.bag_id)
        .bind(ms(routing.decided_at))
        .bind(routing.decided_by.clone())
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn routing(
        &mut self,
        parcel_id: i64,
    ) -> StoreResult<Option<app::ports::county::RoutingRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ROUTING_COLUMNS} FROM parcel_routing WHERE parcel_id = $1"
        ))
        .bind(parcel_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        row.map(|row| routing_from(&row)).transpose()
    }

    async fn enqueue_manual(
        &mut self,
        parcel_id: i64,
        carrier: Carrier,
        reason: domain::county::Unresolved,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO manual_queue (parcel_id, carrier, reason, detail, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (parcel_id) DO NOTHING",
        )
        .bind(parcel_id)
        .bind(carrier.code())
        .bind(reason.code())
        .bind(detail.to_string())
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn manual_entry(
        &mut self,
        parcel_id: i64,
    ) -> StoreResult<Option<app::ports::county::ManualItem>> {
        let row = sqlx::query(&format!(
            "SELECT {MANUAL_COLUMNS} FROM manual_queue WHERE parcel_id = $1"
        ))
        .bind(parcel_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        row.map(|row| manual_from(&row)).transpose()
    }

    async fn resolve_manual(
        &mut self,
        parcel_id: i64,
        actor: &str,
        resolution: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE manual_queue SET resolved_at = $1, resolved_by = $2, resolution = $3 WHERE parcel_id = $4 AND resolved_at IS NULL",
        )
        .bind(ms(now))
        .bind(actor.to_string())
        .bind(resolution.to_string())
        .bind(parcel_id)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn insert_fee(&mut self, fee: &app::ports::county::NewFee) -> StoreResult<bool> {
        // Unique per parcel and per event: a retried event never accrues twice.
        let n = sqlx::query(
            "INSERT INTO fee_ledger (carrier, agreement_id, agreement_version, parcel_id, event_key, event_kind, mode, township, weight_grams, bracket, amount_fen, at, day) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
        )
        .bind(fee.carrier.code())
        .bind(fee.agreement_id)
        .bind(i64::from(fee.agreement_version))
        .bind(fee.parcel_id)
        .bind(fee.event_key.clone())
        .bind(fee.event_kind.clone())
        .bind(fee.mode.code())
        .bind(fee.township.clone())
        .bind(fee.weight_grams.map(i64::from))
        .bind(i64::from(fee.bracket))
        .bind(fee.amount.0)
        .bind(ms(fee.at))
        .bind(day_text(fee.day))
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn create_agreement_version(
        &mut self,
        carrier: Carrier,
        period: domain::county::Period,
        terms: &domain::county::Terms,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<app::ports::county::AgreementVersion> {
        sqlx::query("INSERT INTO agreements (carrier, created_at) VALUES ($1, $2) ON CONFLICT (carrier) DO NOTHING")
            .bind(carrier.code())
            .bind(ms(now))
            .execute(&mut *self.tx)
            .await
            .map_err(backend_error)?;
        let agreement_id: i64 = get(
            &sqlx::query("SELECT id FROM agreements WHERE carrier = $1")
                .bind(carrier.code())
                .fetch_one(&mut *self.tx)
                .await
                .map_err(backend_error)?,
            "id",
        )?;
        // Two concurrent versions collide on UNIQUE (agreement_id, version):
        // one of them is refused as a conflict and may be retried.
        let terms_json =
            serde_json::to_string(terms).map_err(|e| StoreError::Backend(e.to_string()))?;
        let row = sqlx::query(&format!(
            "INSERT INTO agreement_versions (agreement_id, carrier, version, effective_from, effective_to, terms, actor, created_at) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(version), 0) + 1 FROM agreement_versions WHERE agreement_id = $1), $3, $4, $5, $6, $7) \
             RETURNING {AGREEMENT_COLUMNS}"
        ))
        .bind(agreement_id)
        .bind(carrier.code())
        .bind(day_text(period.from))
        .bind(period.to.map(day_text))
        .bind(terms_json)
        .bind(actor.to_string())
        .bind(ms(now))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        let version = agreement_from(&row)?;
        Ok(version)
    }

    async fn create_route(
        &mut self,
        name: &str,
        townships: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<app::ports::county::RouteRecord> {
        let id: i64 = get(
            &sqlx::query(
                "INSERT INTO county_routes (name, created_at) VALUES ($1, $2) RETURNING id",
            )
            .bind(name.to_string())
            .bind(ms(now))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(backend_error)?,
            "id",
        )?;
        let mut townships = townships.to_vec();
        townships.sort();
        townships.dedup();
        for township in &townships {
            sqlx::query("INSERT INTO county_route_townships (route_id, township) VALUES ($1, $2)")
                .bind(id)
                .bind(township.clone())
                .execute(&mut *self.tx)
                .await
                .map_err(backend_error)?;
        }
        Ok(RouteRecord {
            id,
            name: name.to_string(),
            townships,
        })
    }

    async fn create_contractor(
        &mut self,
        name: &str,
        township: &str,
        phone: Option<&Phone>,
        now: DateTime<Utc>,
    ) -> StoreResult<app::ports::county::ContractorRecord> {
        let id: i64 = get(
            &sqlx::query("INSERT INTO contractors (name, township, phone, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(name.to_string())
                .bind(township.to_string())
                .bind(phone.map(|p| self.keys.seal(SEALED_CONTRACTOR_PHONE, &p.full())))
                .bind(ms(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(backend_error)?,
            "id",
        )?;
        Ok(ContractorRecord {
            id,
            name: name.to_string(),
            township: township.to_string(),
            phone: phone.cloned(),
        })
    }
}

#[async_trait]
impl CountyStore for Db {
    async fn agreement_versions(
        &self,
        carrier: Carrier,
    ) -> StoreResult<Vec<app::ports::county::AgreementVersion>> {
        agreement_versions_of(&self.reader, carrier).await
    }

    async fn routes(&self) -> StoreResult<Vec<app::ports::county::RouteRecord>> {
        let rows = sqlx::query(
            "SELECT r.id, r.name, t.township FROM county_routes r LEFT JOIN county_route_townships t ON t.route_id = r.id ORDER BY r.id, t.township",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        let mut routes: Vec<RouteRecord> = Vec::new();
        for row in &rows {
            let id: i64 = get(row, "id")?;
            let township: Option<String> = get(row, "township")?;
            if routes.last().is_none_or(|r| r.id != id) {
                routes.push(RouteRecord {
                    id,
                    name: get(row, "name")?,
                    townships: Vec::new(),
                });
            }
            if let (Some(route), Some(township)) = (routes.last_mut(), township) {
                route.townships.push(township);
            }
        }
        Ok(routes)
    }

    async fn contractors(&self) -> StoreResult<Vec<app::ports::county::ContractorRecord>> {
        sqlx::query("SELECT id, name, township, phone FROM contractors ORDER BY id")
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?
            .iter()
            .map(|row| {
                let phone = open(&self.keys, SEALED_CONTRACTOR_PHONE, get(row, "phone")?)?;
                Ok(ContractorRecord {
                    id: get(row, "id")?,
                    name: get(row, "name")?,
                    township: get(row, "township")?,
                    phone: phone
                        .as_deref()
                        .map(|p| Phone::parse(p).map_err(|_| corrupt("phone", "(hidden)")))
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn bag(&self, bag_id: i64) -> StoreResult<Option<app::ports::county::BagRecord>> {
        bag(&self.reader, bag_id).await
    }

    async fn bags(
        &self,
        day: chrono::NaiveDate,
    ) -> StoreResult<Vec<app::ports::county::BagRecord>> {
        sqlx::query(&format!(
            "SELECT {BAG_COLUMNS} FROM bags WHERE day = $1 ORDER BY id"
        ))
        .bind(day_text(day))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(bag_from)
        .collect()
    }

    async fn count_centre_arrivals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM parcel_events WHERE kind = 'arrived_at_centre' AND at >= $1 AND at < $2",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_one(&self.reader)
        .await
        .map_err(backend_error)?;
        let n: i64 = get(&row, "n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn bag_parcels(&self, bag_id: i64) -> StoreResult<Vec<(i64, Carrier, WaybillNo)>> {
        sqlx::query(
            "SELECT p.id, p.carrier, p.waybill FROM parcel_routing r JOIN parcels p ON p.id = r.parcel_id WHERE r.bag_id = $1 ORDER BY p.id",
        )
        .bind(bag_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|row| {
            let waybill: String = get(row, "waybill")?;
            Ok((
                get(row, "id")?,
                carrier(row)?,
                WaybillNo::parse(&waybill).map_err(|_| corrupt("waybill", &waybill))?,
            ))
        })
        .collect()
    }

    async fn manual_queue(&self, limit: u32) -> StoreResult<Vec<app::ports::county::ManualItem>> {
        sqlx::query(&format!(
            "SELECT {MANUAL_COLUMNS} FROM manual_queue WHERE resolved_at IS NULL ORDER BY id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(manual_from)
        .collect()
    }

    async fn fees(
        &self,
        carrier: Carrier,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<app::ports::county::FeeRecord>> {
        sqlx::query(&format!(
            "SELECT {FEE_COLUMNS} FROM fee_ledger WHERE carrier = $1 AND day >= $2 AND day <= $3 AND id > $4 ORDER BY id LIMIT $5"
        ))
        .bind(carrier.code())
        .bind(day_text(from))
        .bind(day_text(to))
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(fee_from)
        .collect()
    }

    async fn fee_summary(
        &self,
        carrier: Carrier,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<app::ports::county::FeeSummaryRow>> {
        // PostgreSQL sums BIGINT into NUMERIC; the cast keeps one integer type.
        sqlx::query(
            "SELECT mode, agreement_version, bracket, COUNT(*) AS n, CAST(SUM(amount_fen) AS BIGINT) AS total FROM fee_ledger \
             WHERE carrier = $1 AND day >= $2 AND day <= $3 GROUP BY mode, agreement_version, bracket ORDER BY mode, agreement_version, bracket",
        )
        .bind(carrier.code())
        .bind(day_text(from))
        .bind(day_text(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|row| {
            let version: i64 = get(row, "agreement_version")?;
            let bracket: i64 = get(row, "bracket")?;
            let n: i64 = get(row, "n")?;
            Ok(FeeSummaryRow {
                mode: mode(row)?,
                agreement_version: version as u32,
                bracket: bracket as u32,
                n_parcels: n as u64,
                total: Fen(get(row, "total")?),
            })
        })
        .collect()
    }

    async fn reconcile(
        &self,
        carrier: Carrier,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<(Vec<ParcelRecord>, Vec<ParcelRecord>)> {
        let missing = sqlx::query(&format!(
            "SELECT {PARCEL_COLUMNS} FROM parcels p WHERE p.carrier = $1 AND p.state = 'announced' AND EXISTS \
             (SELECT 1 FROM parcel_events e WHERE e.parcel_id = p.id AND e.kind = 'announced' AND e.at >= $2 AND e.at < $3) \
             ORDER BY p.id LIMIT $4"
        ))
        .bind(carrier.code())
        .bind(ms(from))
        .bind(ms(to))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|row| parcel_from(&self.keys, row))
        .collect::<StoreResult<Vec<_>>>()?;
        let unannounced = sqlx::query(&format!(
            "SELECT {PARCEL_COLUMNS} FROM parcels p WHERE p.carrier = $1 AND EXISTS \
             (SELECT 1 FROM parcel_events e WHERE e.parcel_id = p.id AND e.kind = 'arrived_at_centre' AND e.at >= $2 AND e.at < $3) \
             AND NOT EXISTS (SELECT 1 FROM parcel_events e WHERE e.parcel_id = p.id AND e.kind = 'announced') \
             ORDER BY p.id LIMIT $4"
        ))
        .bind(carrier.code())
        .bind(ms(from))
        .bind(ms(to))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(|row| parcel_from(&self.keys, row))
        .collect::<StoreResult<Vec<_>>>()?;
        Ok((missing, unannounced))
    }
}

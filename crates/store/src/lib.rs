//! The storage adapter: one implementation of the app's `Store` port over
//! sqlx's Any driver, serving SQLite (a file in WAL mode with
//! `synchronous=FULL`, so an acknowledged scan survives power loss) and
//! PostgreSQL with the same queries. Migrations exist per backend. No
//! business rules live here: the database only enforces the invariants
//! (unique active codes, slot capacity, idempotency keys).

mod county;
mod device_commands;
mod rows;
mod terminal;
mod webhooks;

use app::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::station::SizeClass;
use domain::{Carrier, ParcelState, Phone, WaybillNo};
use rows::*;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row};
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database behind the `Store` port.
pub struct Db {
    backend: Backend,
    /// SQLite allows one writer at a time; a pool of one connection queues
    /// writers in the application instead of failing them with "busy".
    writer: AnyPool,
    reader: AnyPool,
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    /// PostgreSQL schema to use (created if missing); tests use one each.
    pub schema: Option<String>,
    pub max_connections: u32,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> ConnectOptions {
        ConnectOptions {
            url: url.into(),
            schema: None,
            max_connections: 8,
        }
    }
}

fn backend_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db_error) = &error
        && db_error.is_unique_violation()
    {
        return StoreError::Conflict(db_error.message().to_string());
    }
    StoreError::Backend(error.to_string())
}

impl Db {
    /// Connects and runs the migrations. `sqlite:PATH` creates the file.
    pub async fn connect(options: &ConnectOptions) -> Result<Db, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if options.url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if options.url.starts_with("postgres://") || options.url.starts_with("postgresql://")
        {
            Backend::Postgres
        } else {
            return Err(StoreError::Backend(
                "database URL must start with sqlite: or postgres://".into(),
            ));
        };
        let url = match backend {
            Backend::Sqlite if !options.url.contains("mode=") => {
                let separator = if options.url.contains('?') { '&' } else { '?' };
                format!("{}{separator}mode=rwc", options.url)
            }
            _ => options.url.clone(),
        };
        if let (Backend::Postgres, Some(schema)) = (backend, &options.schema) {
            check_schema_name(schema)?;
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .map_err(backend_error)?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&pool)
                .await
                .map_err(backend_error)?;
            pool.close().await;
        }
        let schema = options.schema.clone();
        // `writer` marks SQLite's single writer connection, which gets a
        // bigger page cache and in-memory statement journals (below).
        let pool_options = move |max: u32, writer: bool| {
            let schema = schema.clone();
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(move |conn, _meta| {
                    let schema = schema.clone();
                    Box::pin(async move {
                        match backend {
                            Backend::Sqlite => {
                                for pragma in [
                                    "PRAGMA journal_mode = WAL",
                                    "PRAGMA synchronous = FULL",
                                    "PRAGMA busy_timeout = 10000",
                                    "PRAGMA foreign_keys = ON",
                                ] {
                                    sqlx::query(pragma).execute(&mut *conn).await?;
                                }
                                if writer {
                                    // A multi-row insert keeps a statement
                                    // journal, which past 64 KiB spills to a
                                    // temporary file unless kept in memory;
                                    // and bulk inserts touch index pages all
                                    // over parcels and parcel_events, which
                                    // the default 2 MB cache keeps re-reading.
                                    // One writer connection, so the 64 MiB is
                                    // bounded. Neither changes durability.
                                    for pragma in
                                        ["PRAGMA temp_store = MEMORY", "PRAGMA cache_size = -65536"]
                                    {
                                        sqlx::query(pragma).execute(&mut *conn).await?;
                                    }
                                }
                            }
                            Backend::Postgres => {
                                if let Some(schema) = schema {
                                    sqlx::query(&format!("SET search_path TO \"{schema}\""))
                                        .execute(&mut *conn)
                                        .await?;
                                }
                            }
                        }
                        Ok(())
                    })
                })
        };
        let (writer, reader) = match backend {
            Backend::Sqlite => {
                let writer = pool_options(1, true)
                    .connect(&url)
                    .await
                    .map_err(backend_error)?;
                // Correctness, not only speed, rests on this: with a second
                // writer, lock upgrades fail with "busy" and `lock_station`
                // (a no-op here) would no longer serialise station changes.
                let writers_max = writer.options().get_max_connections();
                if writers_max != 1 {
                    writer.close().await;
                    return Err(StoreError::Backend(format!(
                        "SQLite needs exactly one writer connection, the pool allows {writers_max}"
                    )));
                }
                let reader = pool_options(options.max_connections.max(1), false)
                    .connect(&url)
                    .await
                    .map_err(backend_error)?;
                (writer, reader)
            }
            Backend::Postgres => {
                let pool = pool_options(options.max_connections.max(2), false)
                    .connect(&url)
                    .await
                    .map_err(backend_error)?;
                (pool.clone(), pool)
            }
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&writer)
            .await
            .map_err(|error| StoreError::Backend(format!("migration failed: {error}")))?;
        Ok(Db {
            backend,
            writer,
            reader,
        })
    }

    pub fn backend_kind(&self) -> Backend {
        self.backend
    }

    /// The most connections the writer pool opens: exactly 1 on SQLite (see
    /// `connect`); on PostgreSQL the one pool's size.
    pub fn writer_connections_max(&self) -> u32 {
        self.writer.options().get_max_connections()
    }

    /// Drops a test schema (PostgreSQL only).
    pub async fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        check_schema_name(schema)?;
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(backend_error)?;
        sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&pool)
            .await
            .map_err(backend_error)?;
        pool.close().await;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Writes, in one transaction, the rows `n` inbound scans write — a
    /// parcel, its slot place, its event and its outbox message each — with
    /// no lookups and no rules: the floor the database allows, for the
    /// inbound benchmark. Needs `n` free places at the station.
    pub async fn raw_insert(
        &self,
        station_id: i64,
        prefix: &str,
        n: u32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        for idx in 0..n {
            let waybill = format!("{prefix}{idx:08}");
            let row = sqlx::query("INSERT INTO parcels (carrier, waybill, state, size, station_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id")
                .bind("ZTO")
                .bind(waybill.clone())
                .bind("announced")
                .bind("small")
                .bind(station_id)
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(backend_error)?;
            let parcel_id: i64 = row.try_get(0).map_err(backend_error)?;
            sqlx::query("UPDATE slot_places SET parcel_id = $1 WHERE (slot_id, place) = (SELECT slot_id, place FROM slot_places WHERE station_id = $2 AND parcel_id IS NULL LIMIT 1)")
                .bind(parcel_id)
                .bind(station_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
            sqlx::query("INSERT INTO parcel_events (parcel_id, kind, to_state, at, actor, idempotency_key, details) VALUES ($1, 'raw', 'announced', $2, 'bench', $3, '{}')")
                .bind(parcel_id)
                .bind(ms(now))
                .bind(format!("raw:{waybill}"))
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
            sqlx::query("INSERT INTO outbox (topic, dedup_key, payload, created_at, available_at, sent_at) VALUES ('raw', $1, '{}', $2, $2, $2)")
                .bind(format!("raw:{waybill}"))
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)
    }

    /// Checks the invariants the schema cannot express alone; returns what
    /// is wrong. Used by the crash and property tests.
    pub async fn check_invariants(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let checks = [
            (
                "parcel on a slot but not shelved, or shelved without a place",
                "SELECT COUNT(*) FROM parcels p LEFT JOIN slot_places sp ON sp.parcel_id = p.id \
                 WHERE (p.state IN ('stored', 'awaiting_consent')) <> (sp.parcel_id IS NOT NULL)",
            ),
            (
                "place and parcel disagree on the slot",
                "SELECT COUNT(*) FROM slot_places sp JOIN parcels p ON p.id = sp.parcel_id WHERE p.slot_id <> sp.slot_id",
            ),
            (
                "duplicate active pickup code",
                "SELECT COUNT(*) FROM (SELECT station_id, pickup_code FROM parcels WHERE state = 'stored' GROUP BY station_id, pickup_code HAVING COUNT(*) > 1) d",
            ),
            (
                "parcel whose state differs from its last event",
                "SELECT COUNT(*) FROM parcels p JOIN parcel_events e ON e.id = (SELECT MAX(id) FROM parcel_events WHERE parcel_id = p.id) WHERE e.to_state <> p.state",
            ),
        ];
        for (what, query) in checks {
            let n: i64 = sqlx::query(query)
                .fetch_one(&self.reader)
                .await
                .map_err(backend_error)?
                .try_get(0)
                .map_err(backend_error)?;
            if n != 0 {
                problems.push(format!("{what}: {n}"));
            }
        }
        Ok(problems)
    }
}

fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    if schema.is_empty()
        || schema.len() > 48
        || !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Backend(
            "schema names are 1-48 of a-z, 0-9 and _".into(),
        ));
    }
    Ok(())
}

/// One row by id, decoded: the same query whether read inside a
/// transaction or from the reader pool.
async fn by_id<'e, E, T>(
    executor: E,
    columns: &str,
    table: &str,
    id: i64,
    decode: fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Option<T>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let sql = format!("SELECT {columns} FROM {table} WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(executor)
        .await
        .map_err(backend_error)?;
    row.map(|row| decode(&row)).transpose()
}

type Q<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Rows per multi-row statement: at thirteen parameters a row, well under
/// SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
const BULK_ROWS: usize = 1_000;

/// `(…),(…)` for a multi-row insert of `n_rows` rows of `n_columns`
/// parameters, bound in row order. SQLite gets anonymous `?` parameters:
/// with numbered ones the driver looks each name up, and SQLite's name
/// look-up is a linear scan, so binding n parameters costs n² (it was 83%
/// of a manifest import). PostgreSQL needs `$n`.
fn values_list(backend: Backend, n_rows: usize, n_columns: usize) -> String {
    let mut sql = String::with_capacity(n_rows * n_columns * 7);
    for row in 0..n_rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..n_columns {
            if column > 0 {
                sql.push(',');
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(row * n_columns + column + 1).to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

pub(crate) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub struct DbTx {
    tx: sqlx::Transaction<'static, Any>,
    backend: Backend,
}

impl DbTx {
    async fn optional(&mut self, query: Q<'_>) -> StoreResult<Option<AnyRow>> {
        query
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend_error)
    }

    /// The highest parcel id so far, for `new_parcel_keys`.
    async fn max_parcel_id(&mut self) -> StoreResult<i64> {
        let row = self
            .optional(sqlx::query("SELECT COALESCE(MAX(id), 0) FROM parcels"))
            .await?
            .ok_or_else(|| StoreError::Backend("no max parcel id".into()))?;
        row.try_get(0).map_err(backend_error)
    }

    /// The `(id, carrier, waybill)` of the `n_inserted` parcels that the
    /// insert just made after `max_parcel_id` returned `before`, as one row.
    /// The insert took SQLite's write lock within this transaction's snapshot
    /// (had another connection written since, it would have failed with
    /// SQLITE_BUSY_SNAPSHOT), so every id above `before` is this insert's.
    /// Ids need not be consecutive: AUTOINCREMENT spends one on a row that
    /// `ON CONFLICT DO NOTHING` then skips. Carrier codes and waybills hold
    /// no spaces (`WaybillNo` keeps `A-Z0-9-`), so a space separates fields.
    async fn new_parcel_keys(
        &mut self,
        before: i64,
        n_inserted: u64,
    ) -> StoreResult<Vec<(i64, String, String)>> {
        if n_inserted == 0 {
            return Ok(Vec::new());
        }
        let row = self
            .optional(
                sqlx::query(
                    "SELECT group_concat(id || ' ' || carrier || ' ' || waybill, ' ') FROM parcels WHERE id > $1",
                )
                .bind(before),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("no inserted parcels read back".into()))?;
        let text: Option<String> = row.try_get(0).map_err(backend_error)?;
        let text = text.unwrap_or_default();
        let mut fields = text.split(' ');
        let mut keys = Vec::with_capacity(n_inserted as usize);
        while let (Some(id), Some(carrier), Some(waybill)) =
            (fields.next(), fields.next(), fields.next())
        {
            let id = id
                .parse::<i64>()
                .map_err(|_| StoreError::Backend(format!("inserted parcel id {id:?}")))?;
            keys.push((id, carrier.to_string(), waybill.to_string()));
        }
        if keys.len() as u64 != n_inserted {
            return Err(StoreError::Backend(format!(
                "inserted {n_inserted} parcels but read back {}",
                keys.len()
            )));
        }
        Ok(keys)
    }

    async fn execute(&mut self, query: Q<'_>) -> StoreResult<u64> {
        Ok(query
            .execute(&mut *self.tx)
            .await
            .map_err(backend_error)?
            .rows_affected())
    }
}

#[async_trait]
impl Tx for DbTx {
    async fn station(&mut self, id: i64) -> StoreResult<Option<StationRecord>> {
        by_id(&mut *self.tx, STATION_COLUMNS, "stations", id, station_from).await
    }

    async fn parcel(&mut self, id: i64) -> StoreResult<Option<ParcelRecord>> {
        by_id(&mut *self.tx, PARCEL_COLUMNS, "parcels", id, parcel_from).await
    }

    async fn parcel_by_waybill(
        &mut self,
        carrier: Carrier,
        waybill: &WaybillNo,
    ) -> StoreResult<Option<ParcelRecord>> {
        let sql =
            format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE carrier = $1 AND waybill = $2");
        let query = sqlx::query(&sql)
            .bind(carrier.code())
            .bind(waybill.as_str());
        self.optional(query)
            .await?
            .map(|row| parcel_from(&row))
            .transpose()
    }

    async fn parcels_with_waybill(
        &mut self,
        waybill: &WaybillNo,
    ) -> StoreResult<Vec<ParcelRecord>> {
        let sql =
            format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE waybill = $1 ORDER BY id LIMIT 20");
        let rows = sqlx::query(&sql)
            .bind(waybill.as_str())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend_error)?;
        rows.iter().map(parcel_from).collect()
    }

    async fn insert_parcel(
        &mut self,
        parcel: &NewParcel,
        now: DateTime<Utc>,
    ) -> StoreResult<ParcelRecord> {
        let query = sqlx::query(
            "INSERT INTO parcels (carrier, waybill, state, recipient_name, phone, phone_tail, address, size, consent, station_id, created_at, updated_at, weight_grams) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id",
        )
        .bind(parcel.carrier.code())
        .bind(parcel.waybill.as_str())
        .bind(parcel.state.code())
        .bind(parcel.recipient_name.clone())
        .bind(parcel.phone.as_ref().map(Phone::full))
        .bind(parcel.phone.as_ref().map(|p| p.tail().to_string()))
        .bind(parcel.address.clone())
        .bind(parcel.size.code())
        .bind(i64::from(parcel.consent))
        .bind(parcel.station_id)
        .bind(ms(now))
        .bind(parcel.weight_grams.map(i64::from));
        let row = self
            .optional(query)
            .await?
            .ok_or_else(|| StoreError::Backend("insert returned no id".into()))?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        Ok(ParcelRecord {
            id,
            carrier: parcel.carrier,
            waybill: parcel.waybill.clone(),
            state: parcel.state,
            problem: None,
            recipient_name: parcel.recipient_name.clone(),
            phone: parcel.phone.clone(),
            address: parcel.address.clone(),
            size: parcel.size,
            weight_grams: parcel.weight_grams,
            consent: parcel.consent,
            station_id: parcel.station_id,
            slot_id: None,
            pickup_code: None,
            stored_at: None,
            reminders_sent: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        })
    }

    async fn insert_new_parcels(
        &mut self,
        parcels: &[NewParcel],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ParcelRecord>> {
        let mut inserted = Vec::with_capacity(parcels.len());
        for chunk in parcels.chunks(BULK_ROWS) {
            // SQLite gets no RETURNING: sqlx's SQLite worker hands rows back
            // through a channel of 50, one thread switch per few rows, which
            // cost a third of an import. The new rows are read back as one
            // aggregated row instead (see `new_parcel_keys`).
            let returning = match self.backend {
                Backend::Sqlite => "",
                Backend::Postgres => " RETURNING id, carrier, waybill",
            };
            let sql = format!(
                "INSERT INTO parcels (carrier, waybill, state, recipient_name, phone, phone_tail, address, size, consent, station_id, weight_grams, created_at, updated_at) VALUES {} \
                 ON CONFLICT (carrier, waybill) DO NOTHING{returning}",
                values_list(self.backend, chunk.len(), 13)
            );
            let mut query = sqlx::query(&sql);
            for parcel in chunk {
                query = query
                    .bind(parcel.carrier.code())
                    .bind(parcel.waybill.as_str())
                    .bind(parcel.state.code())
                    .bind(parcel.recipient_name.as_deref())
                    .bind(parcel.phone.as_ref().map(Phone::full))
                    .bind(parcel.phone.as_ref().map(|p| p.tail().to_string()))
                    .bind(parcel.address.as_deref())
                    .bind(parcel.size.code())
                    .bind(i64::from(parcel.consent))
                    .bind(parcel.station_id)
                    .bind(parcel.weight_grams.map(i64::from))
                    .bind(ms(now))
                    .bind(ms(now));
            }
            let keys: Vec<(i64, String, String)> = match self.backend {
                Backend::Sqlite => {
                    let before = self.max_parcel_id().await?;
                    let n_inserted = self.execute(query).await?;
                    self.new_parcel_keys(before, n_inserted).await?
                }
                Backend::Postgres => query
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(|row| {
                        Ok((
                            row.try_get(0).map_err(backend_error)?,
                            row.try_get(1).map_err(backend_error)?,
                            row.try_get(2).map_err(backend_error)?,
                        ))
                    })
                    .collect::<StoreResult<_>>()?,
            };
            // Map the returned keys back to the rows sent. A waybill repeated
            // within the slice is inserted once; the first occurrence wins, as
            // a row-by-row import would have it.
            let mut by_key: std::collections::HashMap<(&str, &str), &NewParcel> =
                std::collections::HashMap::with_capacity(chunk.len());
            for parcel in chunk {
                by_key
                    .entry((parcel.carrier.code(), parcel.waybill.as_str()))
                    .or_insert(parcel);
            }
            for (id, carrier, waybill) in keys {
                let parcel = by_key
                    .get(&(carrier.as_str(), waybill.as_str()))
                    .ok_or_else(|| {
                        StoreError::Backend(format!("insert returned an unknown waybill {waybill}"))
                    })?;
                inserted.push(ParcelRecord {
                    id,
                    carrier: parcel.carrier,
                    waybill: parcel.waybill.clone(),
                    state: parcel.state,
                    problem: None,
                    recipient_name: parcel.recipient_name.clone(),
                    phone: parcel.phone.clone(),
                    address: parcel.address.clone(),
                    size: parcel.size,
                    consent: parcel.consent,
                    station_id: parcel.station_id,
                    weight_grams: parcel.weight_grams,
                    slot_id: None,
                    pickup_code: None,
                    stored_at: None,
                    reminders_sent: Vec::new(),
                    created_at: now,
                    updated_at: now,
                    version: 0,
                });
            }
        }
        Ok(inserted)
    }

    async fn insert_events(&mut self, events: &[NewEvent]) -> StoreResult<u64> {
        let mut n_inserted = 0;
        for chunk in events.chunks(BULK_ROWS) {
            let sql = format!(
                "INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, at, actor, station_id, idempotency_key, details) VALUES {} \
                 ON CONFLICT (idempotency_key) DO NOTHING",
                values_list(self.backend, chunk.len(), 9)
            );
            let mut query = sqlx::query(&sql);
            for event in chunk {
                query = query
                    .bind(event.parcel_id)
                    .bind(event.kind.as_str())
                    .bind(event.from_state.map(|s| s.code()))
                    .bind(event.to_state.code())
                    .bind(ms(event.at))
                    .bind(event.actor.as_str())
                    .bind(event.station_id)
                    .bind(event.idempotency_key.as_str())
                    .bind(event.details.to_string());
            }
            n_inserted += self.execute(query).await?;
        }
        Ok(n_inserted)
    }

    async fn update_parcel(&mut self, parcel: &ParcelRecord) -> StoreResult<()> {
        let query = sqlx::query(
            "UPDATE parcels SET state = $1, problem = $2, recipient_name = $3, phone = $4, phone_tail = $5, consent = $6, station_id = $7, \
             slot_id = $8, pickup_code = $9, stored_at = $10, reminders_sent = $11, updated_at = $12, weight_grams = $15, version = version + 1 \
             WHERE id = $13 AND version = $14",
        )
        .bind(parcel.state.code())
        .bind(parcel.problem.map(problem_code))
        .bind(parcel.recipient_name.clone())
        .bind(parcel.phone.as_ref().map(Phone::full))
        .bind(parcel.phone.as_ref().map(|p| p.tail().to_string()))
        .bind(i64::from(parcel.consent))
        .bind(parcel.station_id)
        .bind(parcel.slot_id)
        .bind(parcel.pickup_code.clone())
        .bind(parcel.stored_at.map(ms))
        .bind(join_days(&parcel.reminders_sent))
        .bind(ms(parcel.updated_at))
        .bind(parcel.id)
        .bind(parcel.version)
        .bind(parcel.weight_grams.map(i64::from));
        match self.execute(query).await? {
            1 => Ok(()),
            _ => Err(StoreError::Conflict(format!(
                "parcel {} version {}",
                parcel.id, parcel.version
            ))),
        }
    }

    async fn lock_station(&mut self, station_id: i64) -> StoreResult<()> {
        // SQLite has one writer connection, so the transaction is already
        // alone; PostgreSQL takes the station's row lock.
        if self.backend == Backend::Postgres {
            self.optional(
                sqlx::query("SELECT id FROM stations WHERE id = $1 FOR UPDATE").bind(station_id),
            )
            .await?;
        }
        Ok(())
    }

    async fn next_sequence(&mut self, station_id: i64) -> StoreResult<u32> {
        let row = self
            .optional(sqlx::query("UPDATE stations SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq - 1").bind(station_id))
            .await?
            .ok_or_else(|| StoreError::Backend(format!("station {station_id} vanished")))?;
        let seq: i64 = row.try_get(0).map_err(backend_error)?;
        Ok((seq.rem_euclid(1_000_000_000)) as u32)
    }

    async fn code_active(&mut self, station_id: i64, code: &str) -> StoreResult<bool> {
        let row = self
            .optional(sqlx::query("SELECT id FROM parcels WHERE station_id = $1 AND pickup_code = $2 AND state = 'stored' LIMIT 1").bind(station_id).bind(code.to_string()))
            .await?;
        Ok(row.is_some())
    }

    async fn free_place(
        &mut self,
        station_id: i64,
        sizes: &[SizeClass],
    ) -> StoreResult<Option<(SlotRecord, u32)>> {
        for size in sizes {
            let sql = format!(
                "SELECT {SLOT_COLUMNS_S}, sp.place FROM slot_places sp JOIN slots s ON s.id = sp.slot_id \
                 WHERE sp.station_id = $1 AND sp.size = $2 AND sp.parcel_id IS NULL ORDER BY sp.slot_id, sp.place LIMIT 1"
            );
            let query = sqlx::query(&sql).bind(station_id).bind(size.code());
            if let Some(row) = self.optional(query).await? {
                let place: i64 = row.try_get("place").map_err(backend_error)?;
                return Ok(Some((slot_from(&row)?, place as u32)));
            }
        }
        Ok(None)
    }

    async fn occupy(&mut self, slot_id: i64, place: u32, parcel_id: i64) -> StoreResult<()> {
        let query = sqlx::query("UPDATE slot_places SET parcel_id = $1 WHERE slot_id = $2 AND place = $3 AND parcel_id IS NULL")
            .bind(parcel_id)
            .bind(slot_id)
            .bind(i64::from(place));
        match self.execute(query).await? {
            1 => Ok(()),
            _ => Err(StoreError::Conflict(format!(
                "slot {slot_id} place {place} is taken"
            ))),
        }
    }

    async fn free_place_in(&mut self, slot_id: i64) -> StoreResult<Option<u32>> {
        let row = self
            .optional(sqlx::query("SELECT place FROM slot_places WHERE slot_id = $1 AND parcel_id IS NULL ORDER BY place LIMIT 1").bind(slot_id))
            .await?;
        row.map(|row| {
            row.try_get::<i64, _>(0)
                .map(|place| place as u32)
                .map_err(backend_error)
        })
        .transpose()
    }

    async fn release_place(&mut self, parcel_id: i64) -> StoreResult<()> {
        self.execute(
            sqlx::query("UPDATE slot_places SET parcel_id = NULL WHERE parcel_id = $1")
                .bind(parcel_id),
        )
        .await?;
        Ok(())
    }

    async fn slot(&mut self, slot_id: i64) -> StoreResult<Option<SlotRecord>> {
        by_id(&mut *self.tx, SLOT_COLUMNS, "slots", slot_id, slot_from).await
    }

    async fn insert_event(&mut self, event: &NewEvent) -> StoreResult<bool> {
        let query = sqlx::query(
            "INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, at, actor, station_id, idempotency_key, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(event.parcel_id)
        .bind(event.kind.clone())
        .bind(event.from_state.map(|s| s.code()))
        .bind(event.to_state.code())
        .bind(ms(event.at))
        .bind(event.actor.clone())
        .bind(event.station_id)
        .bind(event.idempotency_key.clone())
        .bind(event.details.to_string());
        Ok(self.execute(query).await? == 1)
    }

    async fn event_by_key(&mut self, key: &str) -> StoreResult<Option<EventRecord>> {
        let row = self
            .optional(
                sqlx::query(&format!(
                    "SELECT {EVENT_COLUMNS} FROM parcel_events WHERE idempotency_key = $1"
                ))
                .bind(key.to_string()),
            )
            .await?;
        row.map(|row| event_from(&row)).transpose()
    }

    async fn enqueue(&mut self, message: &OutboxMessage, now: DateTime<Utc>) -> StoreResult<bool> {
        let query = sqlx::query(
            "INSERT INTO outbox (topic, dedup_key, merge_key, payload, created_at, available_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(message.topic.clone())
        .bind(message.dedup_key.clone())
        .bind(message.merge_key.clone())
        .bind(message.payload.to_string())
        .bind(ms(now))
        .bind(ms(message.available_at));
        Ok(self.execute(query).await? == 1)
    }

    async fn standing_consent(&mut self, phone: &Phone) -> StoreResult<Option<bool>> {
        let row = self
            .optional(
                sqlx::query("SELECT station_ok FROM consents WHERE phone = $1").bind(phone.full()),
            )
            .await?;
        row.map(|row| {
            row.try_get::<i64, _>(0)
                .map(|ok| ok != 0)
                .map_err(backend_error)
        })
        .transpose()
    }

    async fn webhook_subscriptions_for(
        &mut self,
        carrier: Carrier,
    ) -> StoreResult<Vec<app::webhooks::WebhookSubscription>> {
        webhooks::subscriptions_for(&mut self.tx, carrier).await
    }

    async fn enqueue_webhook(
        &mut self,
        delivery: &app::webhooks::NewWebhookDelivery,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        webhooks::enqueue(&mut self.tx, delivery, now).await
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(backend_error)
    }

    async fn enqueue_device_command(
        &mut self,
        command: &app::device_commands::NewDeviceCommand,
        payload: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        device_commands::enqueue(&mut self.tx, command, payload, now).await
    }

    async fn parcel_by_active_code(
        &mut self,
        station_id: i64,
        code: &str,
    ) -> StoreResult<Option<ParcelRecord>> {
        terminal::parcel_by_active_code(&mut self.tx, station_id, code).await
    }

    async fn stored_parcels_for_phone(
        &mut self,
        station_id: i64,
        phone: &Phone,
    ) -> StoreResult<Vec<ParcelRecord>> {
        terminal::stored_parcels_for_phone(&mut self.tx, station_id, phone).await
    }

    async fn open_pickup_sessions(
        &mut self,
        station_id: i64,
    ) -> StoreResult<Vec<app::terminal::PickupSessionRecord>> {
        terminal::open_sessions(&mut self.tx, station_id).await
    }

    async fn insert_pickup_session(
        &mut self,
        session: &app::terminal::NewPickupSession,
    ) -> StoreResult<i64> {
        terminal::insert_session(&mut self.tx, session).await
    }

    async fn update_pickup_session(
        &mut self,
        session: &app::terminal::PickupSessionRecord,
    ) -> StoreResult<()> {
        terminal::update_session(&mut self.tx, session).await
    }

    async fn pickup_session(
        &mut self,
        id: i64,
    ) -> StoreResult<Option<app::terminal::PickupSessionRecord>> {
        terminal::session(&mut self.tx, id).await
    }

    async fn record_code_attempt(
        &mut self,
        attempt: &app::terminal::CodeAttempt,
    ) -> StoreResult<()> {
        terminal::record_attempt(&mut self.tx, attempt).await
    }

    async fn failed_code_attempts(
        &mut self,
        station_id: i64,
        by: app::terminal::AttemptsBy<'_>,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        terminal::failed_attempts(&mut self.tx, station_id, by, since).await
    }

    async fn insert_alert(&mut self, alert: &app::terminal::NewAlert) -> StoreResult<bool> {
        terminal::insert_alert(&mut self.tx, alert).await
    }

    async fn agreement_at(
        &mut self,
        carrier: Carrier,
        day: chrono::NaiveDate,
    ) -> StoreResult<Option<app::county::AgreementVersion>> {
        county::agreement_at(&mut self.tx, carrier, day).await
    }

    async fn county_config(&mut self) -> StoreResult<domain::county::CountyConfig> {
        county::county_config(&mut self.tx).await
    }

    async fn open_bag(
        &mut self,
        target: domain::county::Target,
        mode: domain::county::Mode,
        day: chrono::NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<app::county::BagRecord> {
        county::open_bag(&mut self.tx, target, mode, day, now).await
    }

    async fn bag(&mut self, bag_id: i64) -> StoreResult<Option<app::county::BagRecord>> {
        county::bag(&mut *self.tx, bag_id).await
    }

    async fn set_bag_status(
        &mut self,
        bag_id: i64,
        from: app::county::BagStatus,
        to: app::county::BagStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        county::set_bag_status(&mut self.tx, bag_id, from, to, now).await
    }

    async fn bag_parcel_ids(&mut self, bag_id: i64) -> StoreResult<Vec<i64>> {
        county::bag_parcel_ids(&mut self.tx, bag_id).await
    }

    async fn insert_routing(&mut self, routing: &app::county::RoutingRecord) -> StoreResult<bool> {
        county::insert_routing(&mut self.tx, routing).await
    }

    async fn routing(&mut self, parcel_id: i64) -> StoreResult<Option<app::county::RoutingRecord>> {
        county::routing(&mut self.tx, parcel_id).await
    }

    async fn enqueue_manual(
        &mut self,
        parcel_id: i64,
        carrier: Carrier,
        reason: domain::county::Unresolved,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        county::enqueue_manual(&mut self.tx, parcel_id, carrier, reason, detail, now).await
    }

    async fn manual_entry(
        &mut self,
        parcel_id: i64,
    ) -> StoreResult<Option<app::county::ManualItem>> {
        county::manual_entry(&mut self.tx, parcel_id).await
    }

    async fn resolve_manual(
        &mut self,
        parcel_id: i64,
        actor: &str,
        resolution: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        county::resolve_manual(&mut self.tx, parcel_id, actor, resolution, now).await
    }

    async fn insert_fee(&mut self, fee: &app::county::NewFee) -> StoreResult<bool> {
        county::insert_fee(&mut self.tx, fee).await
    }
}

#[async_trait]
impl Store for Db {
    fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    async fn begin(&self) -> StoreResult<Box<dyn Tx + '_>> {
        let tx = self.writer.begin().await.map_err(backend_error)?;
        Ok(Box::new(DbTx {
            tx,
            backend: self.backend,
        }))
    }

    async fn create_station(
        &self,
        station: &NewStation,
        now: DateTime<Utc>,
    ) -> StoreResult<StationRecord> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        let row = sqlx::query(
            "INSERT INTO stations (name, township, division_code, code_format, holding_days, reminder_days, created_at, lat_e6, lon_e6) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(station.name.clone())
        .bind(station.township.clone())
        .bind(station.division_code.clone())
        .bind(station.code_format.source().to_string())
        .bind(i64::from(station.holding.holding_days))
        .bind(join_days(&station.holding.reminder_days))
        .bind(ms(now))
        .bind(station.location.map(|p| p.to_e6().0))
        .bind(station.location.map(|p| p.to_e6().1))
        .fetch_one(&mut *tx)
        .await
        .map_err(backend_error)?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        for slot in &station.slots {
            let row = sqlx::query("INSERT INTO slots (station_id, shelf, tier, slot, size, capacity) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(id)
                .bind(slot.shelf.clone())
                .bind(i64::from(slot.tier))
                .bind(i64::from(slot.slot))
                .bind(slot.size.code())
                .bind(i64::from(slot.capacity))
                .fetch_one(&mut *tx)
                .await
                .map_err(backend_error)?;
            let slot_id: i64 = row.try_get(0).map_err(backend_error)?;
            for place in 0..slot.capacity {
                sqlx::query(
                    "INSERT INTO slot_places (slot_id, place, station_id, size) VALUES ($1, $2, $3, $4)",
                )
                .bind(slot_id)
                .bind(i64::from(place))
                .bind(id)
                .bind(slot.size.code())
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
            }
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(StationRecord {
            id,
            name: station.name.clone(),
            township: station.township.clone(),
            division_code: station.division_code.clone(),
            location: station.location,
            code_format: station.code_format.clone(),
            holding: station.holding.clone(),
        })
    }

    async fn stations(&self) -> StoreResult<Vec<StationRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {STATION_COLUMNS} FROM stations ORDER BY id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(station_from).collect()
    }

    async fn station(&self, id: i64) -> StoreResult<Option<StationRecord>> {
        by_id(&self.reader, STATION_COLUMNS, "stations", id, station_from).await
    }

    async fn slots(&self, station_id: i64) -> StoreResult<Vec<SlotOccupancy>> {
        let rows = sqlx::query(&format!(
            "SELECT {SLOT_COLUMNS_S}, COUNT(sp.parcel_id) AS n_parcels FROM slots s LEFT JOIN slot_places sp ON sp.slot_id = s.id \
             WHERE s.station_id = $1 GROUP BY s.id, s.station_id, s.shelf, s.tier, s.slot, s.size, s.capacity ORDER BY s.id"
        ))
        .bind(station_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let n_parcels: i64 = row.try_get("n_parcels").map_err(backend_error)?;
                Ok(SlotOccupancy {
                    slot: slot_from(row)?,
                    n_parcels: n_parcels as u32,
                    n_overdue: 0,
                })
            })
            .collect()
    }

    async fn slot(&self, slot_id: i64) -> StoreResult<Option<SlotRecord>> {
        by_id(&self.reader, SLOT_COLUMNS, "slots", slot_id, slot_from).await
    }

    async fn parcel(&self, id: i64) -> StoreResult<Option<ParcelRecord>> {
        by_id(&self.reader, PARCEL_COLUMNS, "parcels", id, parcel_from).await
    }

    async fn parcels(&self, filter: &ParcelFilter) -> StoreResult<Vec<ParcelRecord>> {
        // Conditions are fixed text with numbered parameters; values are
        // always bound, never spliced into the SQL.
        let mut conditions = vec!["id > $1".to_string()];
        let mut texts: Vec<String> = Vec::new();
        let mut numbers: Vec<i64> = vec![filter.after_id.unwrap_or(0)];
        let add_number = |conditions: &mut Vec<String>,
                          column: &str,
                          value: i64,
                          op: &str,
                          numbers: &mut Vec<i64>| {
            numbers.push(value);
            conditions.push(format!("{column} {op} ${}", numbers.len()));
        };
        if let Some(station_id) = filter.station_id {
            add_number(&mut conditions, "station_id", station_id, "=", &mut numbers);
        }
        if let Some(before) = filter.stored_before {
            add_number(&mut conditions, "stored_at", ms(before), "<=", &mut numbers);
        }
        let n_numbers = numbers.len();
        let mut add_text = |column: &str, value: String| {
            texts.push(value);
            conditions.push(format!("{column} = ${}", n_numbers + texts.len()));
        };
        if let Some(carrier) = filter.carrier {
            add_text("carrier", carrier.code().to_string());
        }
        if let Some(state) = filter.state {
            add_text("state", state.code().to_string());
        }
        if let Some(code) = &filter.pickup_code {
            add_text("pickup_code", code.clone());
        }
        if let Some(tail) = &filter.phone_tail {
            add_text("phone_tail", tail.clone());
        }
        if let Some(waybill) = &filter.waybill {
            add_text("waybill", waybill.clone());
        }
        let sql = format!(
            "SELECT {PARCEL_COLUMNS} FROM parcels WHERE {} ORDER BY id LIMIT {}",
            conditions.join(" AND "),
            filter.limit.min(1_000)
        );
        let mut query = sqlx::query(&sql);
        for number in numbers {
            query = query.bind(number);
        }
        for text in texts {
            query = query.bind(text);
        }
        let rows = query.fetch_all(&self.reader).await.map_err(backend_error)?;
        rows.iter().map(parcel_from).collect()
    }

    async fn events(&self, parcel_id: i64) -> StoreResult<Vec<EventRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM parcel_events WHERE parcel_id = $1 ORDER BY id"
        ))
        .bind(parcel_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(event_from).collect()
    }

    async fn count_by_state(
        &self,
        station_id: Option<i64>,
    ) -> StoreResult<Vec<(ParcelState, u64)>> {
        let rows =
            match station_id {
                Some(id) => sqlx::query(
                    "SELECT state, COUNT(*) AS n FROM parcels WHERE station_id = $1 GROUP BY state",
                )
                .bind(id)
                .fetch_all(&self.reader)
                .await,
                None => {
                    sqlx::query("SELECT state, COUNT(*) AS n FROM parcels GROUP BY state")
                        .fetch_all(&self.reader)
                        .await
                }
            }
            .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state").map_err(backend_error)?;
                let n: i64 = row.try_get("n").map_err(backend_error)?;
                Ok((parse_state(&state)?, n as u64))
            })
            .collect()
    }

    async fn set_standing_consent(
        &self,
        phone: &Phone,
        station_ok: bool,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO consents (phone, station_ok, source, recorded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (phone) DO UPDATE SET station_ok = excluded.station_ok, source = excluded.source, recorded_at = excluded.recorded_at",
        )
        .bind(phone.full())
        .bind(i64::from(station_ok))
        .bind(source.to_string())
        .bind(ms(now))
        .execute(&self.writer)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn pending_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<PendingMessage>> {
        let rows = sqlx::query("SELECT id, topic, merge_key, payload, attempts FROM outbox WHERE sent_at IS NULL AND gave_up = 0 AND available_at <= $1 ORDER BY id LIMIT $2")
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload").map_err(backend_error)?;
                let attempts: i64 = row.try_get("attempts").map_err(backend_error)?;
                Ok(PendingMessage {
                    id: row.try_get("id").map_err(backend_error)?,
                    topic: row.try_get("topic").map_err(backend_error)?,
                    merge_key: row.try_get("merge_key").map_err(backend_error)?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Backend(e.to_string()))?,
                    attempts: attempts as u32,
                })
            })
            .collect()
    }

    async fn mark_sent(&self, ids: &[i64], now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        for id in ids {
            sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL")
                .bind(ms(now))
                .bind(*id)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)
    }

    async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
        give_up: bool,
    ) -> StoreResult<()> {
        let error: String = error.chars().take(500).collect();
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, available_at = $2, gave_up = $3 WHERE id = $4")
            .bind(error)
            .bind(ms(retry_at))
            .bind(i64::from(give_up))
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    async fn create_user(&self, user: &UserRecord, now: DateTime<Utc>) -> StoreResult<i64> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        let row = sqlx::query("INSERT INTO users (username, display_name, password_hash, role, carrier, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(user.username.clone())
            .bind(user.display_name.clone())
            .bind(user.password_hash.clone())
            .bind(user.role.code())
            .bind(user.carrier.map(Carrier::code))
            .bind(ms(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(backend_error)?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        for station_id in &user.station_ids {
            sqlx::query("INSERT INTO user_stations (user_id, station_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*station_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(id)
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        ))
        .bind(username.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        match row {
            Some(row) => Ok(Some(self.user_with_stations(&row).await?)),
            None => Ok(None),
        }
    }

    async fn user_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = (SELECT user_id FROM api_tokens WHERE token_hash = $1 AND expires_at > $2)"
        ))
        .bind(token_hash.to_string())
        .bind(ms(now))
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        match row {
            Some(row) => Ok(Some(self.user_with_stations(&row).await?)),
            None => Ok(None),
        }
    }

    async fn create_token(
        &self,
        user_id: i64,
        token_hash: &str,
        name: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (user_id, token_hash, name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(user_id)
            .bind(token_hash.to_string())
            .bind(name.to_string())
            .bind(ms(now))
            .bind(ms(expires_at))
            .execute(&self.writer)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    async fn due_device_commands(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<app::device_commands::DeviceCommandRecord>> {
        device_commands::due(&self.reader, now, limit).await
    }

    async fn device_command_attempted(
        &self,
        id: i64,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        device_commands::attempted(&self.writer, id, next_attempt_at).await
    }

    async fn finish_device_command(
        &self,
        command_id: &str,
        status: app::device_commands::DeviceCommandStatus,
        outcome: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        device_commands::finish(&self.writer, command_id, status, outcome, now).await
    }

    async fn device_command(
        &self,
        command_id: &str,
    ) -> StoreResult<Option<app::device_commands::DeviceCommandRecord>> {
        device_commands::one(&self.reader, command_id).await
    }

    async fn server_secret(
        &self,
        name: &str,
        candidate: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<String> {
        terminal::server_secret(&self.writer, name, candidate, now).await
    }

    async fn idle_pickup_sessions(
        &self,
        idle_before: DateTime<Utc>,
    ) -> StoreResult<Vec<app::terminal::PickupSessionRecord>> {
        terminal::idle_sessions(&self.reader, idle_before).await
    }

    async fn alerts(
        &self,
        station_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<app::terminal::AlertRecord>> {
        terminal::alerts(&self.reader, station_id, limit).await
    }

    async fn acknowledge_alert(
        &self,
        station_id: i64,
        alert_id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        terminal::acknowledge_alert(&self.writer, station_id, alert_id, by, now).await
    }

    async fn set_device_status(
        &self,
        status: &app::terminal::DeviceStatusRecord,
    ) -> StoreResult<()> {
        terminal::set_device_status(&self.writer, status).await
    }

    async fn device_statuses(
        &self,
        station_id: i64,
    ) -> StoreResult<Vec<app::terminal::DeviceStatusRecord>> {
        terminal::device_statuses(&self.reader, station_id).await
    }

    async fn revoke_token(&self, token_hash: &str) -> StoreResult<bool> {
        terminal::revoke_token(&self.writer, token_hash).await
    }

    async fn count_events(
        &self,
        station_id: i64,
        kinds: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, u64)>> {
        terminal::count_events(&self.reader, station_id, kinds, from, to).await
    }

    async fn create_agreement_version(
        &self,
        carrier: Carrier,
        period: domain::county::Period,
        terms: &domain::county::Terms,
        actor: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<app::county::AgreementVersion> {
        county::create_agreement_version(&self.writer, carrier, period, terms, actor, now).await
    }

    async fn agreement_versions(
        &self,
        carrier: Carrier,
    ) -> StoreResult<Vec<app::county::AgreementVersion>> {
        county::agreement_versions(&self.reader, carrier).await
    }

    async fn create_route(
        &self,
        name: &str,
        townships: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<app::county::RouteRecord> {
        county::create_route(&self.writer, name, townships, now).await
    }

    async fn routes(&self) -> StoreResult<Vec<app::county::RouteRecord>> {
        county::routes(&self.reader).await
    }

    async fn create_contractor(
        &self,
        name: &str,
        township: &str,
        phone: Option<&Phone>,
        now: DateTime<Utc>,
    ) -> StoreResult<app::county::ContractorRecord> {
        county::create_contractor(&self.writer, name, township, phone, now).await
    }

    async fn contractors(&self) -> StoreResult<Vec<app::county::ContractorRecord>> {
        county::contractors(&self.reader).await
    }

    async fn bag(&self, bag_id: i64) -> StoreResult<Option<app::county::BagRecord>> {
        county::bag(&self.reader, bag_id).await
    }

    async fn bags(&self, day: chrono::NaiveDate) -> StoreResult<Vec<app::county::BagRecord>> {
        county::bags(&self.reader, day).await
    }

    async fn bag_parcels(&self, bag_id: i64) -> StoreResult<Vec<(i64, Carrier, WaybillNo)>> {
        county::bag_parcels(&self.reader, bag_id).await
    }

    async fn manual_queue(&self, limit: u32) -> StoreResult<Vec<app::county::ManualItem>> {
        county::manual_queue(&self.reader, limit).await
    }

    async fn fees(
        &self,
        carrier: Carrier,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<app::county::FeeRecord>> {
        county::fees(&self.reader, carrier, from, to, after_id, limit).await
    }

    async fn fee_summary(
        &self,
        carrier: Carrier,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<app::county::FeeSummaryRow>> {
        county::fee_summary(&self.reader, carrier, from, to).await
    }

    async fn reconcile(
        &self,
        carrier: Carrier,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<(Vec<ParcelRecord>, Vec<ParcelRecord>)> {
        county::reconcile(&self.reader, carrier, from, to, limit).await
    }

    async fn create_webhook_subscription(
        &self,
        subscription: &app::webhooks::NewWebhookSubscription,
        now: DateTime<Utc>,
    ) -> StoreResult<app::webhooks::WebhookSubscription> {
        webhooks::create(&self.writer, subscription, now).await
    }

    async fn webhook_subscription(
        &self,
        id: i64,
    ) -> StoreResult<Option<app::webhooks::WebhookSubscription>> {
        webhooks::one(&self.reader, id).await
    }

    async fn webhook_subscriptions(
        &self,
        carrier: Option<Carrier>,
    ) -> StoreResult<Vec<app::webhooks::WebhookSubscription>> {
        webhooks::list(&self.reader, carrier).await
    }

    async fn update_webhook_subscription(
        &self,
        subscription: &app::webhooks::WebhookSubscription,
    ) -> StoreResult<()> {
        webhooks::update(&self.writer, subscription).await
    }

    async fn due_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<app::webhooks::DueDelivery>> {
        webhooks::due(&self.reader, now, limit).await
    }

    async fn record_webhook_attempt(
        &self,
        outcome: &app::webhooks::AttemptOutcome,
    ) -> StoreResult<()> {
        webhooks::attempted(&self.writer, outcome).await
    }

    async fn webhook_deliveries(
        &self,
        subscription_id: i64,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<app::webhooks::DeliveryRecord>> {
        webhooks::deliveries(&self.reader, subscription_id, after_id, limit).await
    }

    async fn webhook_attempts(
        &self,
        carrier: Carrier,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<app::webhooks::AttemptRecord>> {
        webhooks::attempts(&self.reader, carrier, after_id, limit).await
    }
}

impl Db {
    async fn user_with_stations(&self, row: &AnyRow) -> StoreResult<UserRecord> {
        let mut user = user_from(row)?;
        let rows = sqlx::query(
            "SELECT station_id FROM user_stations WHERE user_id = $1 ORDER BY station_id",
        )
        .bind(user.id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        user.station_ids = rows
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()
            .map_err(backend_error)?;
        Ok(user)
    }
}

impl Db {
    pub fn backend_kind_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite (WAL, synchronous=FULL)",
            Backend::Postgres => "postgres",
        }
    }
}

//! The storage adapter: one implementation of the app's `Store` port over
//! sqlx's Any driver, serving SQLite (a file in WAL mode with
//! `synchronous=FULL`, so an acknowledged scan survives power loss) and
//! PostgreSQL with the same queries. Migrations exist per backend. No
//! business rules live here: the database only enforces the invariants
//! (unique active codes, slot capacity, idempotency keys).

mod approvals;
mod audit;
// Seeing (issue 16, branch board).
mod board;
// branch claims (issue 15).
mod claims;
mod compliance;
pub use compliance::BreachPlan;
mod county;
mod device_commands;
mod fleet;
// The sorting hub's board (issue 16, point 4).
pub mod generate;
mod hub;
mod idempotency;
// branch kiosks (issue 14).
mod kiosks;
mod ledger;
mod outbox;
mod parcels;
mod privacy;
mod rows;
mod sending;
mod terminal;
mod users;
mod webhooks;
// branch presale (issue 14).
mod presale;
// branch kiosk-dev (issue 14, session 10).
mod kiosk_devices;

use app::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rows::*;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row};
use std::sync::Arc;
use std::time::Duration;

pub use app::keys::Keys;

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
    /// Seals and opens personal data and makes the look-up hashes: the one
    /// place encryption happens (ARCHITECTURE.md, "Encryption in the
    /// store"), so use cases keep working with `domain::Phone` and plain
    /// text.
    keys: Arc<Keys>,
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    /// PostgreSQL schema to use (created if missing); tests use one each.
    pub schema: Option<String>,
    pub max_connections: u32,
    /// The key file's keys (`app::keys`).
    pub keys: Arc<Keys>,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>, keys: Arc<Keys>) -> ConnectOptions {
        ConnectOptions {
            url: url.into(),
            schema: None,
            max_connections: 8,
            keys,
        }
    }
}

fn backend_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db_error) = &error
        && db_error.is_unique_violation()
    {
        // The database's wording names tables and columns: it goes to the
        // log, and the caller gets a conflict code (`contended`, or a use
        // case's own code such as `route_name_taken`).
        tracing::warn!(
            table = db_error.table().unwrap_or("?"),
            constraint = db_error.constraint().unwrap_or("?"),
            detail = %db_error.message(),
            "a unique key refused a write"
        );
        return StoreError::Conflict("the same key was written at the same moment".into());
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
                                    // Erased and re-sealed values are
                                    // overwritten with zeros, not left in
                                    // free pages of the file (issue 12).
                                    "PRAGMA secure_delete = ON",
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
            keys: options.keys.clone(),
        })
    }

    /// The keys this database's values are sealed under.
    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
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

    /// Every non-null text value in every table as `(table, column,
    /// value)`: what a copy of the database shows. For the tests that check
    /// no personal data is readable in it.
    pub async fn text_values(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let columns_sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND upper(p.type) = 'TEXT' ORDER BY 1, 2"
            }
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND data_type = 'text' ORDER BY 1, 2"
            }
        };
        let columns = sqlx::query(columns_sql)
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
        let mut values = Vec::new();
        for row in &columns {
            let table: String = row.try_get("t").map_err(backend_error)?;
            let column: String = row.try_get("c").map_err(backend_error)?;
            let rows = sqlx::query(&format!(
                "SELECT \"{column}\" FROM \"{table}\" WHERE \"{column}\" IS NOT NULL"
            ))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
            for value in rows {
                values.push((
                    table.clone(),
                    column.clone(),
                    value.try_get::<String, _>(0).map_err(backend_error)?,
                ));
            }
        }
        Ok(values)
    }

    /// Runs one statement as it is: for tests that play an older version
    /// (plain-text rows) or someone editing the database by hand.
    pub async fn raw_execute(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql)
            .execute(&self.writer)
            .await
            .map_err(backend_error)?
            .rows_affected())
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
pub(crate) const BULK_ROWS: usize = 1_000;

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

/// Inserts `rows` into `target` (`table (columns)`) a bulk statement at a
/// time, `bind` binding one row's `n_columns` values in column order.
pub(crate) async fn insert_rows<T>(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    target: &str,
    n_columns: usize,
    rows: &[T],
    bind: impl for<'q> Fn(Q<'q>, &T) -> Q<'q>,
) -> StoreResult<()> {
    for chunk in rows.chunks(BULK_ROWS) {
        let sql = format!(
            "INSERT INTO {target} VALUES {}",
            values_list(backend, chunk.len(), n_columns)
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            query = bind(query, row);
        }
        query.execute(&mut **tx).await.map_err(backend_error)?;
    }
    Ok(())
}

pub(crate) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub struct DbTx {
    tx: sqlx::Transaction<'static, Any>,
    backend: Backend,
    keys: Arc<Keys>,
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
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(backend_error)
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
            keys: self.keys.clone(),
        }))
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

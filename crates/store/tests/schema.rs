//! The databases as `Db::connect` sets them up. The two migration sets (in
//! `migrations/sqlite` and `migrations/postgres`) must describe the same
//! schema, since one set of queries runs on both: this migrates a SQLite
//! file and a PostgreSQL schema, reads both catalogues, and fails with a
//! readable list of differences. And SQLite's correctness rests on a writer
//! pool of exactly one connection, which is checked here too.
//!
//! What is compared: tables; columns with their nullability and a type class
//! (integer, text, real, blob; SQLite's by its affinity rules); primary keys;
//! indexes by name with their columns, uniqueness and whether they are
//! partial; the indexes behind `UNIQUE` constraints by table and columns
//! (their names are the database's choice: `sqlite_autoindex_parcels_1`
//! against `parcels_carrier_waybill_key`); triggers by table, timing and
//! event. Not compared: defaults, `CHECK` constraints, foreign keys, partial
//! index predicates, and SQL text, which each database spells its own way.
//!
//! Deliberate differences, each an exception below with its reason:
//! - Trigger names: SQLite's trigger has one event, so the fee ledger has
//!   `fee_ledger_no_update` and `fee_ledger_no_delete` there; PostgreSQL has
//!   one `fee_ledger_no_change` for `UPDATE OR DELETE` over a function.
//!   Triggers are therefore compared by table, timing and event, not name.

use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;
use store::{ConnectOptions, Db};
use testkit::TestDatabase;

/// A catalogue as "what" → "how": `column parcels.waybill` → `text, not
/// null`. Two databases agree when their catalogues are equal.
type Catalogue = BTreeMap<String, String>;

/// SQLite's type affinity of a declared type (sqlite.org/datatype3.html,
/// 3.1), named as the class both backends are compared by.
fn sqlite_class(declared: &str) -> String {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("INT") {
        "integer".into()
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|s| upper.contains(s)) {
        "text".into()
    } else if upper.is_empty() || upper.contains("BLOB") {
        "blob".into()
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|s| upper.contains(s)) {
        "real".into()
    } else {
        format!("numeric ({declared})")
    }
}

/// The class of a PostgreSQL `information_schema.columns.data_type`.
fn postgres_class(data_type: &str) -> String {
    match data_type {
        "bigint" | "integer" | "smallint" => "integer".into(),
        "text" | "character varying" | "character" => "text".into(),
        "real" | "double precision" => "real".into(),
        "bytea" => "blob".into(),
        other => format!("other ({other})"),
    }
}

fn nullability(not_null: bool) -> &'static str {
    if not_null { "not null" } else { "null" }
}

fn index_shape(table: &str, columns: &[String], unique: bool, partial: bool) -> String {
    let mut shape = format!("on {table} ({})", columns.join(", "));
    if unique {
        shape.push_str(", unique");
    }
    if partial {
        shape.push_str(", partial");
    }
    shape
}

/// Tables the migrator keeps for itself, not part of the schema.
const MIGRATOR_TABLE: &str = "_sqlx_migrations";

async fn sqlite_catalogue(conn: &mut AnyConnection) -> Catalogue {
    let mut catalogue = Catalogue::new();
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> $1 ORDER BY name",
    )
    .bind(MIGRATOR_TABLE)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect();
    for table in &tables {
        catalogue.insert(format!("table {table}"), String::new());
        let columns = sqlx::query(&format!(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let mut primary_key: Vec<(i64, String)> = Vec::new();
        for column in &columns {
            let name: String = column.get(0);
            let declared: String = column.get(1);
            let not_null: i64 = column.get(2);
            let pk_position: i64 = column.get(3);
            // A primary key column cannot hold NULL on either side (SQLite's
            // rowid alias reports notnull = 0 all the same).
            let not_null = not_null != 0 || pk_position > 0;
            catalogue.insert(
                format!("column {table}.{name}"),
                format!("{}, {}", sqlite_class(&declared), nullability(not_null)),
            );
            if pk_position > 0 {
                primary_key.push((pk_position, name));
            }
        }
        primary_key.sort();
        let primary_key: Vec<String> = primary_key.into_iter().map(|(_, name)| name).collect();
        if !primary_key.is_empty() {
            catalogue.insert(
                format!("primary key of {table}"),
                format!("({})", primary_key.join(", ")),
            );
        }
        let indexes = sqlx::query(&format!(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list('{table}')"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for index in &indexes {
            let name: String = index.get(0);
            let unique: i64 = index.get(1);
            let origin: String = index.get(2);
            let partial: i64 = index.get(3);
            let columns: Vec<String> = sqlx::query(&format!(
                "SELECT COALESCE(name, '<expression>') FROM pragma_index_info('{name}') ORDER BY seqno"
            ))
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
            match origin.as_str() {
                // The primary key is compared above.
                "pk" => {}
                "u" => {
                    catalogue.insert(
                        format!("unique constraint on {table} ({})", columns.join(", ")),
                        String::new(),
                    );
                }
                _ => {
                    catalogue.insert(
                        format!("index {name}"),
                        index_shape(table, &columns, unique != 0, partial != 0),
                    );
                }
            }
        }
    }
    let triggers = sqlx::query("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    for trigger in &triggers {
        let table: String = trigger.get(0);
        let sql: String = trigger.get(1);
        let (timing, event) = sqlite_trigger_timing_and_event(&sql);
        catalogue.insert(
            format!("trigger on {table} {timing} {event}"),
            String::new(),
        );
    }
    catalogue
}

/// `BEFORE UPDATE` out of `CREATE TRIGGER name BEFORE UPDATE ON table …`.
fn sqlite_trigger_timing_and_event(sql: &str) -> (String, String) {
    let words: Vec<String> = sql
        .split_whitespace()
        .map(|word| word.to_ascii_uppercase())
        .take_while(|word| word != "ON")
        .collect();
    let find = |wanted: &[&str]| {
        words
            .iter()
            .find(|word| wanted.contains(&word.as_str()))
            .cloned()
            .unwrap_or_else(|| panic!("no {wanted:?} in trigger {sql}"))
    };
    // SQLite's default timing is BEFORE.
    let timing = words
        .iter()
        .find(|word| ["BEFORE", "AFTER", "INSTEAD"].contains(&word.as_str()))
        .map_or("BEFORE".to_string(), |word| {
            if word == "INSTEAD" {
                "INSTEAD OF".into()
            } else {
                word.clone()
            }
        });
    (timing, find(&["INSERT", "UPDATE", "DELETE"]))
}

async fn postgres_catalogue(conn: &mut AnyConnection) -> Catalogue {
    let mut catalogue = Catalogue::new();
    let tables = sqlx::query(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> $1",
    )
    .bind(MIGRATOR_TABLE)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for table in &tables {
        let table: String = table.get(0);
        catalogue.insert(format!("table {table}"), String::new());
    }
    let columns = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> $1",
    )
    .bind(MIGRATOR_TABLE)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for column in &columns {
        let (table, name, data_type, nullable): (String, String, String, String) =
            (column.get(0), column.get(1), column.get(2), column.get(3));
        catalogue.insert(
            format!("column {table}.{name}"),
            format!(
                "{}, {}",
                postgres_class(&data_type),
                nullability(nullable == "NO")
            ),
        );
    }
    // pg_index rather than the pg_indexes view over it: the view gives only
    // the definition's text, this gives the columns in order and the flags.
    let indexes = sqlx::query(
        "SELECT t.relname::text, i.relname::text, ix.indisunique, ix.indisprimary, \
                ix.indpred IS NOT NULL, \
                COALESCE(c.contype::text, ''), \
                array_to_string(ARRAY( \
                    SELECT COALESCE(a.attname::text, '<expression>') \
                    FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, position) \
                    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                    ORDER BY k.position), ', ') \
         FROM pg_index ix \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         LEFT JOIN pg_constraint c ON c.conindid = ix.indexrelid AND c.conrelid = t.oid \
         WHERE n.nspname = current_schema() AND t.relname <> $1",
    )
    .bind(MIGRATOR_TABLE)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for index in &indexes {
        let table: String = index.get(0);
        let name: String = index.get(1);
        let unique: bool = index.get(2);
        let primary: bool = index.get(3);
        let partial: bool = index.get(4);
        let constraint: String = index.get(5);
        let columns: String = index.get(6);
        if primary {
            catalogue.insert(format!("primary key of {table}"), format!("({columns})"));
        } else if constraint == "u" {
            catalogue.insert(
                format!("unique constraint on {table} ({columns})"),
                String::new(),
            );
        } else {
            let columns: Vec<String> = columns.split(", ").map(String::from).collect();
            catalogue.insert(
                format!("index {name}"),
                index_shape(&table, &columns, unique, partial),
            );
        }
    }
    // One row per event: a trigger on UPDATE OR DELETE gives two.
    let triggers = sqlx::query(
        "SELECT event_object_table::text, action_timing::text, event_manipulation::text \
         FROM information_schema.triggers WHERE trigger_schema = current_schema()",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for trigger in &triggers {
        let (table, timing, event): (String, String, String) =
            (trigger.get(0), trigger.get(1), trigger.get(2));
        catalogue.insert(
            format!("trigger on {table} {timing} {event}"),
            String::new(),
        );
    }
    catalogue
}

async fn catalogue(database: &TestDatabase) -> Catalogue {
    let mut conn = database.raw().await;
    match database.name() {
        "sqlite" => sqlite_catalogue(&mut conn).await,
        _ => postgres_catalogue(&mut conn).await,
    }
}

/// " (how)", or nothing for what has no properties (a table).
fn properties(how: &str) -> String {
    if how.is_empty() {
        String::new()
    } else {
        format!(" ({how})")
    }
}

/// Every difference, one readable line each; empty when they agree.
fn differences(
    left_name: &str,
    left: &Catalogue,
    right_name: &str,
    right: &Catalogue,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (what, how) in left {
        match right.get(what) {
            None => lines.push(format!("{what}: only in {left_name}{}", properties(how))),
            Some(other) if other != how => lines.push(format!(
                "{what}: {left_name} has {how}, {right_name} has {other}"
            )),
            Some(_) => {}
        }
    }
    for (what, how) in right {
        if !left.contains_key(what) {
            lines.push(format!("{what}: only in {right_name}{}", properties(how)));
        }
    }
    lines
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_describe_the_same_schema() {
    let Some(url) = testkit::database_url() else {
        return;
    };
    let sqlite = testkit::sqlite_database().await;
    let postgres = testkit::postgres_database(&url).await;
    let sqlite_catalogue = catalogue(&sqlite).await;
    let postgres_catalogue = catalogue(&postgres).await;
    // The comparison must have something to compare.
    assert!(sqlite_catalogue.contains_key("index parcels_active_code"));
    assert!(sqlite_catalogue.contains_key("trigger on fee_ledger BEFORE DELETE"));
    let drift = differences("sqlite", &sqlite_catalogue, "postgres", &postgres_catalogue);
    assert!(
        drift.is_empty(),
        "the migrations in crates/store/migrations/sqlite and /postgres drift apart \
         (add a migration to the one that lags):\n  {}",
        drift.join("\n  ")
    );
    sqlite.cleanup().await;
    postgres.cleanup().await;
}

/// The comparison itself, on two SQLite files one of which drifts: every
/// kind of drift shows up as a line that names it.
#[tokio::test]
async fn drift_is_reported_line_by_line() {
    let base = testkit::sqlite_database().await;
    let drifted = testkit::sqlite_database().await;
    let mut conn = drifted.raw().await;
    for statement in [
        "ALTER TABLE parcels ADD COLUMN drifted TEXT",
        "CREATE TABLE drifted_table (id INTEGER PRIMARY KEY, amount REAL NOT NULL)",
        "DROP INDEX parcels_tail",
        "CREATE INDEX parcels_tail ON parcels (phone_tail)",
        "DROP INDEX parcels_waybill",
        "CREATE UNIQUE INDEX bags_day_again ON bags (day) WHERE status = 'open'",
        "DROP TRIGGER fee_ledger_no_delete",
    ] {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    drop(conn);
    let drift = differences(
        "base",
        &catalogue(&base).await,
        "drifted",
        &catalogue(&drifted).await,
    );
    let expected = [
        "column parcels.drifted: only in drifted (text, null)",
        "table drifted_table: only in drifted",
        "column drifted_table.id: only in drifted (integer, not null)",
        "column drifted_table.amount: only in drifted (real, not null)",
        "primary key of drifted_table: only in drifted ((id))",
        "index parcels_tail: base has on parcels (station_id, phone_tail), drifted has on parcels (phone_tail)",
        "index parcels_waybill: only in base (on parcels (waybill))",
        "index bags_day_again: only in drifted (on bags (day), unique, partial)",
        "trigger on fee_ledger BEFORE DELETE: only in base",
    ];
    for line in expected {
        assert!(
            drift.iter().any(|found| found == line),
            "{line:?} not in {drift:#?}"
        );
    }
    assert_eq!(drift.len(), expected.len(), "{drift:#?}");
    base.cleanup().await;
    drifted.cleanup().await;
}

/// SQLite allows one writer at a time: with more than one writer
/// connection, lock upgrades fail with "busy" and the station lock (a no-op
/// on SQLite) would no longer serialise writes. Asked for many connections,
/// the store still opens one writer; more would be refused at connect.
#[tokio::test]
async fn sqlite_has_exactly_one_writer_connection() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("writer.db").display());
    let db = Db::connect(&ConnectOptions {
        max_connections: 64,
        ..ConnectOptions::new(url, testkit::test_keys())
    })
    .await
    .unwrap();
    assert_eq!(db.writer_connections_max(), 1);
    db.close().await;
}

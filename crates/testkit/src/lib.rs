//! Shared test support for the workspace's tests: a clock the test moves,
//! the databases store-backed tests run on (SQLite always, PostgreSQL in a
//! fresh schema when configured), the common fixtures, and the service
//! checks that make a test fail when its PostgreSQL or MQTT broker is
//! missing under `YIZHAN_REQUIRE_SERVICES=1` (as in CI) instead of passing
//! without it.
//!
//! A dev-dependency only (`publish = false`): nothing here is for production.

mod clock;
mod database;
mod fixtures;
mod random;
mod sender;
mod services;
// branch claims (issue 15).
mod books;

pub use books::generated_books;
pub use clock::TestClock;
pub use database::{
    Harness, TestDatabase, backends, databases, postgres, postgres_database, sqlite,
    sqlite_database, test_keys,
};
pub use fixtures::{
    admin, assert_invariants, keeper_of, register_station_devices, scan, send_code_sent,
    sender_signed_in, start, station, verified_sender,
};
pub use random::SeededRandom;
pub use sender::RecordingSender;
pub use services::{
    DATABASE_URL_VAR, MQTT_URL_VAR, REQUIRE_SERVICES_VAR, Service, database_url, mqtt_url,
    require_services, skip_or_fail,
};

//! The databases tests run on: a SQLite file in its own temporary
//! directory always, and PostgreSQL in a fresh schema of
//! `YIZHAN_TEST_DATABASE_URL` when it answers (a failure under
//! `YIZHAN_REQUIRE_SERVICES=1` when it does not). Each test gets its own
//! database, so tests running at once never meet.

use crate::clock::TestClock;
use crate::fixtures::start;
use crate::services::database_url;
use app::App;
use app::ports::Store;
use std::sync::Arc;
use store::{ConnectOptions, Db};

/// PostgreSQL connections per test database: enough for the contract
/// tests' concurrent scans to really overlap.
const POSTGRES_CONNECTIONS_MAX: u32 = 16;

/// A migrated database of the test's own.
pub struct TestDatabase {
    pub db: Arc<Db>,
    /// How to open a side connection to the same database.
    url: String,
    /// The PostgreSQL schema, dropped by `cleanup`.
    schema: Option<String>,
    /// The SQLite file's directory, removed when dropped.
    _dir: Option<tempfile::TempDir>,
    /// The key file this database's values are sealed under.
    pub key_file: app::keys::KeyFile,
}

impl TestDatabase {
    /// "sqlite" or "postgres", for assertion messages.
    pub fn name(&self) -> &'static str {
        self.db.backend()
    }

    /// A raw connection beside the store, to try what the store never does
    /// or to read the catalogue.
    pub async fn raw(&self) -> sqlx::AnyConnection {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.unwrap();
        if let Some(schema) = &self.schema {
            sqlx::query(&format!("SET search_path TO \"{schema}\""))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        conn
    }

    /// A second store on the same database under other keys (a rotated
    /// key file, or a wrong one).
    pub async fn connect_with(&self, keys: Arc<store::Keys>) -> Db {
        Db::connect(&ConnectOptions {
            url: self.url.clone(),
            schema: self.schema.clone(),
            max_connections: 4,
            keys,
        })
        .await
        .unwrap()
    }

    /// The PostgreSQL schema this database lives in (`None` for SQLite).
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Closes the pools and drops the PostgreSQL schema; the SQLite file
    /// goes with its directory.
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some(schema) = &self.schema {
            Db::drop_schema(&self.url, schema).await.unwrap();
        }
    }
}

/// Fresh keys for a test database: each database its own, as each
/// deployment has its own key file.
pub fn test_keys() -> Arc<store::Keys> {
    Arc::new(store::Keys::ephemeral())
}

fn test_key_file() -> app::keys::KeyFile {
    app::keys::KeyFile::generate(chrono::Utc::now(), app::keys::ImportedSecrets::default())
}

fn keys_of(file: &app::keys::KeyFile) -> Arc<store::Keys> {
    Arc::new(store::Keys::from_file(file).expect("generated keys are valid"))
}

/// A fresh SQLite file, migrated.
pub async fn sqlite_database() -> TestDatabase {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("test.db").display());
    let key_file = test_key_file();
    let db = Db::connect(&ConnectOptions::new(url.clone(), keys_of(&key_file)))
        .await
        .unwrap();
    TestDatabase {
        db: Arc::new(db),
        url,
        schema: None,
        _dir: Some(dir),
        key_file,
    }
}

/// A fresh schema in the PostgreSQL database at `url`, migrated.
pub async fn postgres_database(url: &str) -> TestDatabase {
    let schema = format!("t_{}", rand::random::<u64>());
    let key_file = test_key_file();
    let options = ConnectOptions {
        url: url.to_string(),
        schema: Some(schema.clone()),
        max_connections: POSTGRES_CONNECTIONS_MAX,
        keys: keys_of(&key_file),
    };
    let db = Db::connect(&options).await.unwrap_or_else(|error| {
        panic!(
            "PostgreSQL at {}: {error}",
            crate::services::DATABASE_URL_VAR
        )
    });
    TestDatabase {
        db: Arc::new(db),
        url: url.to_string(),
        schema: Some(schema),
        _dir: None,
        key_file,
    }
}

/// SQLite always; PostgreSQL when it answers (and says so when it does not;
/// fails under `YIZHAN_REQUIRE_SERVICES=1`).
pub async fn databases() -> Vec<TestDatabase> {
    let mut databases = vec![sqlite_database().await];
    if let Some(url) = database_url() {
        databases.push(postgres_database(&url).await);
    }
    databases
}

/// The use cases over a test database, with a test clock at `start()`.
pub struct Harness {
    pub app: App,
    pub db: Arc<Db>,
    pub clock: Arc<TestClock>,
    database: TestDatabase,
}

impl Harness {
    pub fn new(database: TestDatabase) -> Harness {
        let clock = Arc::new(TestClock::at(start()));
        let mut app = App::new(database.db.clone(), clock.clone());
        app.use_keys(database.db.keys().clone());
        Harness {
            app,
            db: database.db.clone(),
            clock,
            database,
        }
    }

    /// "sqlite" or "postgres", for assertion messages.
    pub fn name(&self) -> &'static str {
        self.database.name()
    }

    /// A raw connection beside the store, to try what the store never does.
    pub async fn raw(&self) -> sqlx::AnyConnection {
        self.database.raw().await
    }

    pub async fn cleanup(self) {
        self.database.cleanup().await;
    }

    pub fn database(&self) -> &TestDatabase {
        &self.database
    }
}

/// The use cases over a fresh SQLite file.
pub async fn sqlite() -> Harness {
    Harness::new(sqlite_database().await)
}

/// The use cases over a fresh schema of the PostgreSQL database at `url`.
pub async fn postgres(url: &str) -> Harness {
    Harness::new(postgres_database(url).await)
}

/// SQLite always; PostgreSQL when it answers (and says so when it does not;
/// fails under `YIZHAN_REQUIRE_SERVICES=1`).
pub async fn backends() -> Vec<Harness> {
    databases().await.into_iter().map(Harness::new).collect()
}

//! Wiring: the one place that turns the configuration into an [`App`] —
//! connect the database (running its migrations), apply the settings, load
//! the server's keys. Every command that works on the county's data gets its
//! `App` from [`build`].

use crate::config::{self, Config};
use anyhow::Context;
use app::App;
use app::ports::SystemClock;
use std::sync::Arc;
use store::{ConnectOptions, Db};

/// Connects, applies the configuration's settings and loads the server's
/// keys, so an `App` from here signs QR codes and console forms as every
/// other process on the same database does.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let db = connect(&config.database.url, config.database.max_connections).await?;
    let mut app = App::new(db, Arc::new(SystemClock));
    app.settings.notice_merge_seconds = config.notify.merge_seconds;
    app.settings.public_url = config
        .web
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    // `serve` refuses an invalid retry policy; the other commands send no
    // webhooks, so they keep the default rather than fail over it.
    if let Ok(policy) = config.webhooks.retry_policy() {
        app.settings.webhook_retry = policy;
    }
    app.settings.webhook_targets = config.webhooks.target_policy()?;
    app.settings.dispatch_solve_seconds_max = config.dispatch.solve_seconds_max()?;
    app.load_secrets()
        .await
        .context("loading the server's keys")?;
    Ok(app)
}

/// Opens the database at `url` (creating a SQLite file's folder) and runs
/// its migrations.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Arc<Db>> {
    if let Some(path) = url.strip_prefix("sqlite:")
        && let Some(parent) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let options = ConnectOptions {
        url: url.to_string(),
        schema: None,
        max_connections,
    };
    let db = Db::connect(&options)
        .await
        .with_context(|| format!("opening database {}", config::redact_url(url)))?;
    Ok(Arc::new(db))
}

/// The command line and the background jobs act as the county's
/// administrator.
pub fn system_principal() -> domain::Principal {
    domain::Principal {
        user_id: 0,
        username: "system".into(),
        role: domain::Role::Admin,
        station_ids: vec![],
        carrier: None,
    }
}

/// The server's device key (`server_secrets.devices`, created on first use):
/// every device's command key is derived from it (docs/devices.md), so every
/// server process signs commands alike and provisioning needs no table.
pub async fn device_key(app: &App) -> anyhow::Result<devices::auth::ServerDeviceKey> {
    let mut fresh = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut fresh);
    let stored = app
        .store
        .server_secret("devices", &hex::encode(fresh), app.now())
        .await
        .context("loading the server's device key")?;
    let bytes = hex::decode(stored).context("the server's device key is not hex")?;
    Ok(devices::auth::ServerDeviceKey::new(bytes))
}

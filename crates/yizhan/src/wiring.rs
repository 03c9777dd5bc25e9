//! Wiring: the one place that turns the configuration into an [`App`] —
//! read the key file, connect the database (running its migrations), seal
//! what an older version left in plain text, apply the settings. Every
//! command that works on the county's data gets its `App` from [`build`].

use crate::config::{self, Config};
use crate::keys_cmd;
use anyhow::Context;
use app::App;
use app::keys::Keys;
use app::ports::SystemClock;
use std::sync::Arc;
use store::{ConnectOptions, Db};

/// Reads the key file, connects, applies the configuration's settings and
/// seals any personal data still in plain text or under an older data key,
/// so an `App` from here signs QR codes and console forms as every other
/// process on the same database does.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let keys = Arc::new(keys_cmd::load_keys(config)?);
    let app = build_with_keys(config, keys).await?;
    seal_at_start(&app).await?;
    backfill_ledger_at_start(&app).await?;
    Ok(app)
}

/// The start-up step: values an older version left in plain text, or that
/// are sealed under an older data key, are sealed under the current one in
/// batches. Interrupted, the next start goes on.
pub async fn seal_at_start(app: &App) -> anyhow::Result<u64> {
    let sealed = app
        .seal_personal_data()
        .await
        .context("sealing personal data under the current data key")?;
    if sealed > 0 {
        tracing::info!(
            rows = sealed,
            key = app.keys.current_id(),
            "personal data sealed"
        );
    }
    Ok(sealed)
}

pub async fn build_with_keys(config: &Config, keys: Arc<Keys>) -> anyhow::Result<App> {
    let db = connect(
        &config.database.url,
        config.database.max_connections,
        keys.clone(),
    )
    .await?;
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
    app.settings.retention = config.retention.settings()?;
    app.settings.approvals = config.approvals.thresholds()?;
    let (carrier, tariff) = config.sending.settings()?;
    app.settings.sending.carrier = carrier;
    if let Some(tariff) = tariff {
        app.settings.sending.tariff = Arc::new(tariff);
    }
    app.settings.invoice_reminder_days = config.finance.reminder_days()?;
    app.settings.county_manager_phone = config.finance.manager_phone()?;
    app.use_keys(keys);
    let legacy = app.store.legacy_server_secrets().await?;
    if !legacy.is_empty() {
        tracing::warn!(
            n = legacy.len(),
            "the database still holds server keys from before the key file (server_secrets); they are not used. \
             If QR codes or devices issued before must keep working, make the key file with `yizhan keys init --import`"
        );
    }
    Ok(app)
}

/// Opens the database at `url` (creating a SQLite file's folder) and runs
/// its migrations.
pub async fn connect(url: &str, max_connections: u32, keys: Arc<Keys>) -> anyhow::Result<Arc<Db>> {
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
        keys,
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

/// The server's device key (the key file's `device_key`): every device's
/// command key is derived from it (docs/devices.md), so every server
/// process signs commands alike and provisioning needs no table.
pub async fn device_key(app: &App) -> anyhow::Result<devices::auth::ServerDeviceKey> {
    Ok(devices::auth::ServerDeviceKey::new(
        app.keys.devices.clone(),
    ))
}

/// The start-up step of issue 15: fees accrued before the ledger existed
/// are posted to it once, a batch per transaction (interrupted, the next
/// start goes on; a fee's transfer id is its parcel's, so none posts twice).
pub async fn backfill_ledger_at_start(app: &App) -> anyhow::Result<u64> {
    let posted = app
        .backfill_ledger()
        .await
        .context("posting fees accrued before the ledger existed")?;
    if posted > 0 {
        tracing::info!(transfers = posted, "fees from before the ledger posted");
    }
    Ok(posted)
}

//! `serve` and `demo`: the HTTP server with the API and the pages, the
//! background jobs (outbox relay, holding job, pickup-session expiry), the
//! carriers' webhook relay, and the devices' MQTT bridge; the demo adds its
//! county, a broker when none answers, and simulated devices.

use crate::cli::DemoArgs;
use crate::config::{self, Config};
use crate::wiring;
use crate::{broker, demo, senders};
use anyhow::Context;
use app::App;
use std::sync::Arc;

/// `yizhan serve`: the configured database, served until Ctrl-C.
pub async fn serve_command(
    mut config: Config,
    listen: Option<String>,
    demo: bool,
) -> anyhow::Result<()> {
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    let mut app = wiring::build(&config).await?;
    refuse_demo_password(&app, &config, demo).await?;
    // Serving the demo county, the sender's sign-in page shows the one-time
    // code as `yizhan demo` does (no SMS leaves a demo).
    app.settings.sending.reveal_codes = demo;
    serve(app, &config, None, &DemoDevices::default()).await
}

/// Which of the demo's stations get simulated devices, and where those keep
/// their command memory.
#[derive(Default)]
struct DemoDevices {
    /// `(station, None)`: none of the station's devices; `(station,
    /// Some(id))`: all but that one.
    except: Vec<(i64, Option<String>)>,
    memory_dir: Option<std::path::PathBuf>,
}

/// `serve` is for a real county: it will not start while anyone can sign in
/// with the password the README publishes (the demo's, and `serve`'s default
/// database is the demo's file), unless the caller says it is a demo.
async fn refuse_demo_password(app: &App, config: &Config, demo: bool) -> anyhow::Result<()> {
    let users = app.users_with_password(demo::DEMO_PASSWORD).await?;
    if users.is_empty() {
        return Ok(());
    }
    if demo {
        eprintln!(
            "serve --demo: {} users have the published demo password; this is a demo, not a county",
            users.len()
        );
        return Ok(());
    }
    let shown = users.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    let more = if users.len() > 5 {
        format!(" and {} more", users.len() - 5)
    } else {
        String::new()
    };
    anyhow::bail!(
        "refusing to serve: {n} users ({shown}{more}) of {database} have the demo password published in the README, \
         so anyone could sign in as them.\n\
         - For a real county, use its own database: set database.url in yizhan.toml or YIZHAN_DATABASE__URL \
         (e.g. YIZHAN_DATABASE__URL=sqlite:/srv/yizhan/yizhan.db), run `yizhan migrate`, add users with `yizhan user add`.\n\
         - To take this database live, give each of those users a password of their own: `yizhan user password NAME`.\n\
         - To serve the demo county as it is, run `yizhan demo`, or `yizhan serve --demo`.",
        n = users.len(),
        database = config::redact_url(&config.database.url),
    )
}

/// `yizhan demo`: a demo county in its own SQLite file (seeded on the first
/// run), served with simulated devices.
pub async fn demo_command(mut config: Config, args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        data_dir,
        listen,
        no_serve,
        mqtt,
        no_devices,
        simulate_devices_except,
    } = args;
    config.database.url = format!("sqlite:{}", data_dir.join("yizhan.db").display());
    config.server.listen = listen;
    if !no_devices && !broker::reachable(&mqtt) {
        // A fresh machine has no broker: bring a small one along.
        match broker::start_embedded(&mqtt) {
            Ok(()) => {
                println!("devices: no MQTT broker at {mqtt}; started an embedded one for the demo")
            }
            Err(error) => {
                eprintln!("devices: no MQTT broker at {mqtt} and none embedded: {error}")
            }
        }
    }
    config.devices.mqtt_url = (!no_devices).then_some(mqtt);
    // The demo's carriers may post to plain-http receivers on this machine's
    // network; a real deployment keeps HTTPS and the internal-address guard.
    config.webhooks.allow_http = true;
    // The demo keeps its key file beside its database, which is fine for a
    // demo and nothing else: a copy of the folder is a copy of both.
    let keys = crate::keys_cmd::demo_keys(&config, &data_dir.join("keys.json")).await?;
    let mut app = wiring::build_with_keys(&config, keys).await?;
    // No SMS leaves a demo (the log sender never logs a message's text), so
    // the sender's sign-in page shows the one-time code itself.
    app.settings.sending.reveal_codes = true;
    wiring::seal_at_start(&app).await?;
    let fresh = app.store.stations().await?.is_empty();
    let credentials = demo::seed(&app).await?;
    if fresh {
        demo::plant_breaches(&app, &config.database.url).await?;
    }
    if no_serve {
        return Ok(());
    }
    let memory_dir = data_dir.join("device-memory");
    std::fs::create_dir_all(&memory_dir)
        .with_context(|| format!("creating {}", memory_dir.display()))?;
    let demo_devices = DemoDevices {
        except: simulate_devices_except,
        memory_dir: Some(memory_dir),
    };
    serve(app, &config, Some(credentials), &demo_devices).await
}

async fn serve(
    mut app: App,
    config: &Config,
    demo_credentials: Option<String>,
    demo_devices: &DemoDevices,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let address = listener.local_addr()?;
    let device_key = wiring::device_key(&app).await?;
    let bridge = start_devices(&mut app, config, device_key.clone())?;
    // The demo simulates every station's door, lights and scanner. They
    // hold the command keys the server derives for them, as provisioned
    // controllers would, and connect to the demo's loopback broker without
    // a login.
    let mut _simulators = Vec::new();
    if let (Some(_), Some(url), true) = (
        &bridge,
        &config.devices.mqtt_url,
        demo_credentials.is_some(),
    ) {
        let mut real = Vec::new();
        let stations = app.store.stations().await?;
        for (station_id, _) in &demo_devices.except {
            anyhow::ensure!(
                stations.iter().any(|station| station.id == *station_id),
                "--simulate-devices-except {station_id}: the demo has no station {station_id} (its stations are {})",
                stations
                    .iter()
                    .map(|station| station.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for station in stations {
            let mut sim_config = devices::sim::SimConfig::new(url, station.id, &device_key);
            sim_config.memory_dir = demo_devices.memory_dir.clone();
            let mut whole_station = false;
            for (except_station, device) in &demo_devices.except {
                if *except_station != station.id {
                    continue;
                }
                match device {
                    Some(device) => {
                        sim_config.except.insert(device.clone());
                    }
                    None => whole_station = true,
                }
            }
            if whole_station {
                real.push(format!("{} (all devices)", station.id));
                continue;
            }
            if !sim_config.except.is_empty() {
                let ids: Vec<&str> = sim_config.except.iter().map(String::as_str).collect();
                real.push(format!("{}:{}", station.id, ids.join(",")));
            }
            match devices::sim::Simulator::start(sim_config, app.clock.clone()).await {
                Ok(simulator) => _simulators.push(simulator),
                Err(error) => eprintln!("devices: station {} not simulated: {error}", station.id),
            }
        }
        println!(
            "devices: simulating door, lights and checkout scanner at {} stations",
            _simulators.len()
        );
        if !real.is_empty() {
            println!(
                "devices: not simulated, for real controllers on {url}: {} (docs/devices.md, Vendor's quick start)",
                real.join(", ")
            );
        }
    }
    let sender = senders::from_config(&config.notify)?;
    config.webhooks.retry_policy()?;
    let webhook_sender = senders::HttpWebhookSender::new(
        std::time::Duration::from_secs(config.webhooks.timeout_seconds),
        config.webhooks.target_policy()?,
        config.webhooks.ca_file.as_deref().map(std::path::Path::new),
    )?;
    // Seeing (issue 16): /metrics counts every job's runs; the group
    // robots' relay and the daily report.
    let metrics = crate::metrics::Metrics::new(config.metrics.token.clone());
    let bot_sender = senders::HttpBotSender::new(
        &config.bots,
        std::time::Duration::from_secs(config.webhooks.timeout_seconds),
        config.webhooks.target_policy()?,
        app.clock.clone(),
    )?;
    let daily = DailyReportJob {
        at: config.report.daily_time()?,
        bot: config.report.bot.clone(),
        lang: config.report.language()?,
    };
    if let Some(bot) = &daily.bot {
        anyhow::ensure!(
            bot_sender.has(bot),
            "report.bot = {bot:?} names no configured robot: add [bots.{bot}] (docs/operations.md)"
        );
    }
    tokio::spawn(background(app.clone(), sender, metrics.clone()));
    tokio::spawn(retention(
        app.clone(),
        std::time::Duration::from_secs(60 * config.retention.every_minutes.max(1)),
        metrics.clone(),
    ));
    tokio::spawn(webhook_relay(
        app.clone(),
        webhook_sender,
        std::time::Duration::from_secs(config.webhooks.relay_every_seconds.max(1)),
        metrics.clone(),
    ));
    tokio::spawn(bot_relay(app.clone(), bot_sender, daily, metrics.clone()));
    tokio::spawn(board_rollup(app.clone(), metrics.clone()));
    println!(
        "yizhan is serving at http://{address}/ (database: {})",
        config::redact_url(&config.database.url)
    );
    println!(
        "  keeper's console: http://{address}/console   door terminal: http://{address}/terminal"
    );
    if let Some(credentials) = demo_credentials {
        println!(
            "{}",
            credentials.replace("{URL}", &format!("http://{address}/"))
        );
    }
    let web = web::router(web::WebState {
        app: app.clone(),
        secure_cookies: config.web.cookies_secure(),
    });
    let proxies = server::proxy::TrustedProxies::parse(&config.server.trusted_proxies)
        .map_err(anyhow::Error::msg)?;
    let router = server::proxy::behind(
        server::layered_for(
            server::api(server::AppState { app: app.clone() })
                .merge(web)
                .merge(device_schemas())
                .merge(crate::metrics::routes(crate::metrics::MetricsState {
                    app,
                    metrics: metrics.clone(),
                }))
                // Times every request by its route template (`/metrics`).
                .layer(axum::middleware::from_fn_with_state(
                    metrics,
                    crate::metrics::track,
                )),
            config.web.https(),
        ),
        proxies,
    );
    // Connect info gives the public tracking query's rate limiter the
    // client's address.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// `GET /api/devices/schemas/{name}`: the device protocol's JSON Schemas
/// (docs/devices.md), without sign-in: a vendor's build fetches them and
/// they hold no secrets. Served from the files compiled into `devices`.
fn device_schemas() -> axum::Router {
    axum::Router::new().route(
        "/api/devices/schemas/{name}",
        axum::routing::get(device_schema),
    )
}

async fn device_schema(
    axum::extract::Path(name): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match devices::schemas::schema(&name) {
        Some(text) => (
            [(axum::http::header::CONTENT_TYPE, "application/schema+json")],
            text,
        )
            .into_response(),
        None => {
            let names: Vec<&str> = devices::schemas::SCHEMAS
                .iter()
                .map(|(file, _)| *file)
                .collect();
            (
                axum::http::StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!({
                    "code": "not_found",
                    "message": format!("没有这个设备协议模式 / no device protocol schema {name:?}; there are: {}", names.join(", ")),
                })),
            )
                .into_response()
        }
    }
}

/// Connects the devices' side when a broker is configured: the bridge
/// publishes signed device commands and reports device liveness and checkout
/// scans, which go to the use cases. A broker that is down is retried in the
/// background with a growing delay; commands wait in the outbox meanwhile.
fn start_devices(
    app: &mut App,
    config: &Config,
    device_key: devices::auth::ServerDeviceKey,
) -> anyhow::Result<Option<devices::bridge::Bridge>> {
    let Some(broker) = config.devices.broker()? else {
        return Ok(None);
    };
    let url = broker.url.clone();
    // A loopback broker (the demo's) is out of the station network's reach.
    let loopback = devices::mqtt::parse_broker_url(&url)
        .is_ok_and(|(host, _, _)| matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]"));
    if !loopback && (broker.login.is_none() || broker.ca_pem.is_none()) {
        tracing::warn!(
            url = %url,
            login = broker.login.is_some(),
            tls = broker.ca_pem.is_some(),
            "devices: the broker connection is not both authenticated and encrypted; anyone on the station network may read the traffic (docs/devices.md, Broker configuration)"
        );
    }
    let client_id = format!("yizhan-server-{}", std::process::id());
    let mut bridge_config = devices::bridge::BridgeConfig::new(broker, device_key, &client_id);
    bridge_config.drops = app.dropped_device_messages.clone();
    bridge_config.door_open_alert_after =
        std::time::Duration::from_secs(config.devices.door_open_alert_seconds.clamp(10, 86_400));
    // Vehicles' telemetry goes through the safe-driving rules; a timer
    // tick finds what silence means (a lost link) between messages.
    let (telemetry_sink, mut telemetry) = tokio::sync::mpsc::channel(1024);
    bridge_config.telemetry = Some(telemetry_sink);
    let bridge = devices::bridge::Bridge::start_in_background(
        app.store.clone(),
        app.clock.clone(),
        bridge_config,
    )
    .context("devices")?;
    app.device_waker = Arc::new(bridge.waker());
    // (Cloned after the waker is set: the rules' automatic commands wake
    // the bridge at once.)
    let rules = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = telemetry.recv() => {
                    let Some((vehicle, message)) = message else { return };
                    match rules.ingest_telemetry(&vehicle, &message).await {
                        Ok(_) => {}
                        // A vehicle not (or no longer) in the fleet: the
                        // bridge has counted it; a warning per message
                        // would flood the log at 1 Hz.
                        Err(app::AppError::NotFound(_)) => {
                            tracing::debug!(vehicle = %vehicle, "telemetry of an unknown vehicle");
                        }
                        Err(error) => {
                            tracing::warn!(vehicle = %vehicle, %error, "vehicle telemetry not taken");
                        }
                    }
                }
                _ = tick.tick() => {
                    if let Err(error) = rules.fleet_tick().await {
                        tracing::warn!(%error, "fleet rules' tick failed");
                    }
                }
            }
        }
    });
    let mut events = bridge.subscribe();
    let relay = app.clone();
    tokio::spawn(async move {
        use devices::bridge::BridgeEvent;
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(n, "device events dropped: the server fell behind");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            match event {
                BridgeEvent::DeviceState {
                    state_topic,
                    online,
                } => {
                    let Some((station_id, kind, device_id, _)) = devices::parse_topic(&state_topic)
                    else {
                        continue;
                    };
                    if let Err(error) = relay
                        .record_device_state(
                            &state_topic,
                            station_id,
                            kind.code(),
                            device_id,
                            online,
                        )
                        .await
                    {
                        tracing::warn!(%error, "device state not recorded");
                    }
                }
                BridgeEvent::Scan {
                    station_id,
                    scanner_id,
                    code,
                    ..
                } => match relay.device_scan(station_id, &scanner_id, &code).await {
                    Ok(outcome) => {
                        tracing::info!(station = station_id, scanner = %scanner_id, outcome = ?std::mem::discriminant(&outcome), "checkout scan")
                    }
                    Err(error) => {
                        tracing::info!(station = station_id, scanner = %scanner_id, %error, "checkout scan refused")
                    }
                },
                _ => {}
            }
        }
    });
    println!(
        "devices: using the MQTT broker at {url} (reconnecting in the background if it is down)"
    );
    Ok(Some(bridge))
}

/// Sends due webhook deliveries every few seconds; after a full batch (some
/// carrier had `BATCH` due) it goes again at once, so a backlog drains at
/// the senders' pace.
async fn webhook_relay(
    app: App,
    sender: senders::HttpWebhookSender,
    every: std::time::Duration,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) {
    const BATCH: u32 = 100;
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        loop {
            match app.relay_webhooks_once(&sender, BATCH).await {
                Ok(report) if report.more_due => {
                    metrics.job("webhook_relay", true);
                    continue;
                }
                Ok(_) => {
                    metrics.job("webhook_relay", true);
                    break;
                }
                Err(error) => {
                    metrics.job("webhook_relay", false);
                    tracing::warn!(error = %error, "webhook relay failed");
                    break;
                }
            }
        }
    }
}

/// Erases and prunes what is past its period (docs/privacy.md), at start
/// and then every `retention.every_minutes`.
async fn retention(
    app: App,
    every: std::time::Duration,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let result = app.run_retention().await;
        metrics.job("retention", result.is_ok());
        if let Err(error) = result {
            tracing::warn!(error = %error, "retention run failed");
        }
    }
}

/// Relays the outbox every few seconds, retries owed refunds every ten
/// minutes, runs the holding job hourly and the compliance checks daily (at
/// start-up, then every 24 hours).
async fn background(
    app: App,
    sender: Arc<dyn app::notify::Sender>,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let system = wiring::system_principal();
    let mut relay_tick = tokio::time::interval(std::time::Duration::from_secs(5));
    let mut holding_tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    // Idle pickup sessions end within a second of their time-out.
    let mut session_tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut compliance_tick = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
    // Refunds the payment provider failed are asked for again.
    let mut refund_tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = session_tick.tick() => {
                if let Err(error) = app.expire_pickup_sessions().await {
                    tracing::warn!(error = %error, "pickup session expiry failed");
                }
            }
            _ = relay_tick.tick() => {
                let result = app.relay_once(sender.as_ref(), 200).await;
                metrics.job("outbox_relay", result.is_ok());
                if let Err(error) = result {
                    tracing::warn!(error = %error, "outbox relay failed");
                }
            }
            _ = holding_tick.tick() => {
                let result = app.run_holding(&system).await;
                metrics.job("holding", result.is_ok());
                if let Err(error) = result {
                    tracing::warn!(error = %error, "holding job failed");
                }
                // Invoice reminders (branch money2): once per invoice and
                // step however often this runs.
                let result = app.send_invoice_reminders(&system).await;
                metrics.job("invoice_reminders", result.is_ok());
                if let Err(error) = result {
                    tracing::warn!(error = %error, "invoice reminders failed");
                }
                // Exposure control (branch money2): incidents opened,
                // alerted once, held and cleared.
                let result = app.check_exposure(&system).await;
                metrics.job("exposure", result.is_ok());
                if let Err(error) = result {
                    tracing::warn!(error = %error, "exposure check failed");
                }
            }
            _ = refund_tick.tick() => {
                let result = app.retry_refunds_once(100).await;
                metrics.job("refund_retry", result.is_ok());
                match result {
                    Ok(run) if run.tried > 0 => {
                        tracing::info!(tried = run.tried, refunded = run.refunded, "refund retry")
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(error = %error, "refund retry failed"),
                }
            }
            _ = compliance_tick.tick() => {
                let ok = daily_compliance(&app, &system).await;
                metrics.job("compliance", ok);
            }
        }
    }
}

/// The daily compliance run, and the day's audit head in the log (the
/// daily figures until the daily report of a later issue prints it): a
/// copy of the head kept outside the database shows a later rewrite of
/// the whole chain.
/// True when the checks ran (the job's metric counts a failure as one).
async fn daily_compliance(app: &App, system: &domain::Principal) -> bool {
    let ok = match app.run_compliance(system).await {
        Ok(run) => {
            tracing::info!(new_findings = run.new_findings, "daily compliance checks");
            true
        }
        Err(error) => {
            tracing::warn!(error = %error, "compliance checks failed");
            false
        }
    };
    match app.audit_head(system).await {
        Ok(Some(head)) => {
            tracing::info!(seq = head.seq, hash = %head.hash, "daily figures: audit head")
        }
        Ok(None) => tracing::info!("daily figures: audit trail empty"),
        Err(error) => tracing::warn!(error = %error, "reading the audit head failed"),
    }
    ok
}

/// Rolls closed days into the board's daily aggregates at start-up and
/// every ten minutes (ARCHITECTURE.md, "The board's daily aggregates"). Its
/// own task: the first run over a year of events takes minutes, and the
/// outbox relay must not wait for it.
async fn board_rollup(app: App, metrics: Arc<crate::metrics::Metrics>) {
    let system = wiring::system_principal();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        let result = app.roll_up_board(&system).await;
        metrics.job("board_rollup", result.is_ok());
        if let Err(error) = result {
            tracing::warn!(error = %error, "board roll-up failed");
        }
    }
}

/// When the daily report goes to the group robot (`[report]`).
struct DailyReportJob {
    at: chrono::NaiveTime,
    bot: Option<String>,
    lang: app::Lang,
}

/// Sends due group robot messages every 10 seconds, and once a day after
/// `report.daily_at` (Asia/Shanghai) queues yesterday's daily report for
/// `report.bot`. Queuing is once per day and robot in the database, so a
/// restart or a second server queues nothing twice.
async fn bot_relay(
    app: App,
    sender: senders::HttpBotSender,
    daily: DailyReportJob,
    metrics: Arc<crate::metrics::Metrics>,
) {
    let system = wiring::system_principal();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    let mut queued_for: Option<chrono::NaiveDate> = None;
    loop {
        tick.tick().await;
        if let Some(bot) = &daily.bot {
            let now = app.now().with_timezone(&domain::shanghai());
            let today = now.date_naive();
            if now.time() >= daily.at && queued_for != Some(today) {
                let yesterday = today.pred_opt().unwrap_or(today);
                let result = app
                    .push_daily_report(&system, yesterday, bot, daily.lang)
                    .await;
                metrics.job("daily_report", result.is_ok());
                match result {
                    Ok(_) => queued_for = Some(today),
                    Err(error) => tracing::warn!(%error, "daily report not queued"),
                }
            }
        }
        loop {
            let result = app.relay_bot_messages_once(&sender, 20).await;
            metrics.job("bot_relay", result.is_ok());
            match result {
                Ok(report) if report.more_due => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %error, "group robot relay failed");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_device_schemas_are_served_by_name() {
        for (name, text) in devices::schemas::SCHEMAS {
            let response = device_schema(axum::extract::Path(name.to_string())).await;
            assert_eq!(response.status(), axum::http::StatusCode::OK, "{name}");
            assert_eq!(
                response.headers()[axum::http::header::CONTENT_TYPE],
                "application/schema+json"
            );
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            assert_eq!(body, text.as_bytes());
        }
        let missing = device_schema(axum::extract::Path("secrets.json".into())).await;
        assert_eq!(missing.status(), axum::http::StatusCode::NOT_FOUND);
    }
}

//! `yizhan bench vehicles` (issue 20, branch vehicles2): N simulated
//! vehicles, each its own MQTT client, publish telemetry at 1 Hz of wall
//! time on the real broker; the server's bridge hands every message to the
//! safe-driving rules (`App::ingest_telemetry`, one at a time as
//! `yizhan serve` does) against SQLite in memory-backed storage. Every
//! vehicle speeds for one message in every 20 s, so the speeding rule opens
//! an incident (with its `slow_down` in the devices' outbox) about every
//! 20 s per vehicle. Prints the ingest rate (messages per second) and the
//! latencies from a message's publication (its `at_ms`, the wall clock) to
//! its ingest, and to its incident stored (the goal: p99 under 100 ms).

use crate::bench::percentile;
use anyhow::Context;
use app::App;
use app::fleet::{Compartment, NewVehicle};
use app::ports::{GeoPoint, SystemClock};
use domain::fleet::VehicleKind;
use domain::station::SizeClass;
use domain::{Principal, Role};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use store::{ConnectOptions, Db};

/// How often each vehicle speeds: one message in this many.
const SPEEDING_EVERY: u64 = 20;

fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub async fn vehicles(mqtt: String, n: u32, seconds: u32) -> anyhow::Result<()> {
    anyhow::ensure!((1..=1000).contains(&n), "--vehicles: 1 to 1000");
    anyhow::ensure!((5..=3600).contains(&seconds), "--seconds: 5 to 3600");
    if !crate::broker::reachable(&mqtt) {
        crate::broker::start_embedded(&mqtt)
            .with_context(|| format!("no broker at {mqtt}, and none could be started there"))?;
    }
    let temp = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")?
    } else {
        tempfile::tempdir()?
    };
    let url = format!("sqlite:{}", temp.path().join("bench.db").display());
    let db = Arc::new(
        Db::connect(&ConnectOptions::new(
            url,
            Arc::new(app::keys::Keys::ephemeral()),
        ))
        .await?,
    );
    let clock = Arc::new(SystemClock);
    let mut app = App::new(db.clone(), clock.clone());
    let dispatcher = Principal {
        user_id: 0,
        username: "bench".into(),
        role: Role::Admin,
        station_ids: vec![],
        carrier: None,
    };
    let run = std::process::id();
    let codes: Vec<String> = (0..n).map(|idx| format!("b{run}-{idx}")).collect();
    for code in &codes {
        app.register_vehicle(
            &dispatcher,
            &NewVehicle {
                code: code.clone(),
                name: format!("压测车 {code}"),
                kind: VehicleKind::Unmanned,
                compartments: vec![Compartment {
                    number: 1,
                    size: SizeClass::Small,
                }],
                battery_wh: 10_000,
                consumption_wh_per_km: 80,
                speed_limit_kmh: 30,
                operating_areas: vec![],
                station_ids: vec![],
                depot: GeoPoint {
                    lat: 29.05,
                    lon: 120.45,
                },
                driver: None,
            },
        )
        .await?;
    }

    let (sink, mut telemetry) = tokio::sync::mpsc::channel(4096);
    let mut bridge_config = devices::bridge::BridgeConfig::new(
        devices::mqtt::BrokerConfig::open(&mqtt),
        devices::auth::ServerDeviceKey::random(),
        &format!("yizhan-bench-bridge-{run}"),
    );
    bridge_config.telemetry = Some(sink);
    let bridge = devices::bridge::Bridge::start(db.clone(), clock.clone(), bridge_config)
        .await
        .context("the bridge could not reach the broker")?;
    app.device_waker = Arc::new(bridge.waker());
    let app = app;

    // The server side: every message through the rules, one at a time.
    let ingested = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let consumer =
        {
            let app = app.clone();
            let ingested = ingested.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut to_ingest_ms = Vec::new();
                let mut to_alert_ms = Vec::new();
                let mut failures = 0u64;
                loop {
                    // Once the vehicles stop, half a second without a message
                    // ends the run.
                    let (vehicle, message) =
                        match tokio::time::timeout(Duration::from_millis(500), telemetry.recv())
                            .await
                        {
                            Ok(Some(received)) => received,
                            Ok(None) => break,
                            Err(_) if stop.load(Ordering::Relaxed) => break,
                            Err(_) => continue,
                        };
                    match app.ingest_telemetry(&vehicle, &message).await {
                        Ok(opened) => {
                            let took = (wall_ms() - message.at_ms) as f64;
                            to_ingest_ms.push(took);
                            if !opened.is_empty() {
                                to_alert_ms.push(took);
                            }
                        }
                        Err(_) => failures += 1,
                    }
                    ingested.fetch_add(1, Ordering::Relaxed);
                }
                (to_ingest_ms, to_alert_ms, failures)
            })
        };

    // The vehicles: one client each, connected before the clock starts.
    let (host, port) = devices::mqtt::parse_url(&mqtt)?;
    let published = Arc::new(AtomicU64::new(0));
    let mut connected = Vec::new();
    let mut tasks = Vec::new();
    for (idx, code) in codes.iter().enumerate() {
        let mut options = MqttOptions::new(format!("yizhan-bench-{code}"), host.clone(), port);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut eventloop) = AsyncClient::new(options, 16);
        let (up_sender, up) = tokio::sync::oneshot::channel();
        connected.push(up);
        tasks.push(tokio::spawn(async move {
            let mut up_sender = Some(up_sender);
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        if let Some(sender) = up_sender.take() {
                            let _ = sender.send(());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        }));
        let topic = devices::vehicle::telemetry_topic(code);
        let published = published.clone();
        let stop = stop.clone();
        let n_vehicles = u64::from(n);
        tasks.push(tokio::spawn(async move {
            // Spread the vehicles over the second.
            let phase = Duration::from_millis(1000 * idx as u64 / n_vehicles);
            tokio::time::sleep(phase).await;
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seq: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                every.tick().await;
                seq += 1;
                let speeding = (seq + idx as u64).is_multiple_of(SPEEDING_EVERY);
                let message = serde_json::json!({
                    "at_ms": wall_ms(),
                    "lon": 120.45 + (idx as f64) * 1e-4 + (seq as f64) * 5e-5,
                    "lat": 29.05,
                    "speed_kmh": if speeding { 48.0 } else { 20.0 },
                    "heading_deg": 90.0,
                    "battery_pct": 80.0,
                    "seq": seq,
                });
                if client
                    .publish(&topic, QoS::AtLeastOnce, false, message.to_string())
                    .await
                    .is_ok()
                {
                    published.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = client.disconnect().await;
        }));
    }
    for up in connected {
        tokio::time::timeout(Duration::from_secs(30), up)
            .await
            .context("a vehicle could not connect to the broker")?
            .ok();
    }
    let started = Instant::now();
    let ingested_at_start = ingested.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(u64::from(seconds))).await;
    stop.store(true, Ordering::Relaxed);
    let measured_s = started.elapsed().as_secs_f64();
    let ingested_in_run = ingested.load(Ordering::Relaxed) - ingested_at_start;
    // What is on its way arrives; the rules then report.
    let (mut to_ingest, mut to_alert, failures) =
        match tokio::time::timeout(Duration::from_secs(30), consumer).await {
            Ok(joined) => joined?,
            Err(_) => anyhow::bail!("the rules did not finish"),
        };
    bridge.stop();
    for task in &tasks {
        task.abort();
    }
    to_ingest.sort_by(f64::total_cmp);
    to_alert.sort_by(f64::total_cmp);
    let quantiles = |sorted: &[f64]| {
        if sorted.is_empty() {
            serde_json::json!(null)
        } else {
            serde_json::json!({
                "p50": percentile(sorted, 0.50),
                "p95": percentile(sorted, 0.95),
                "p99": percentile(sorted, 0.99),
                "max": sorted[sorted.len() - 1],
            })
        }
    };
    let report = serde_json::json!({
        "vehicles": n,
        "seconds": seconds,
        "messages_published": published.load(Ordering::Relaxed),
        "messages_ingested": ingested.load(Ordering::Relaxed),
        "ingest_failures": failures,
        "messages_per_second": (ingested_in_run as f64 / measured_s * 10.0).round() / 10.0,
        "alerts": to_alert.len(),
        "message_to_ingest_ms": quantiles(&to_ingest),
        "message_to_alert_ms": quantiles(&to_alert),
        "goal_alert_p99_under_100_ms": to_alert
            .last()
            .is_some_and(|_| percentile(&to_alert, 0.99) < 100.0),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

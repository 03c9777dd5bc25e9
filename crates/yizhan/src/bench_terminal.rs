//! `yizhan bench terminal`: from a valid code entered at the door terminal
//! (an HTTP request to `/terminal/api/code`, as the tablet sends it) to the
//! door-open command acting at the simulated door controller, and to the
//! slots lighting at the simulated light strip — through the whole path: the
//! use case's transaction, the devices' outbox, the bridge, the broker
//! (a real MQTT broker), the device. SQLite in a temporary folder.
//!
//! With `--sign-in-flood N`, N wrong sign-ins arrive while the pickups run
//! (issue 11): half as HTTP requests to `/api/login` from this machine's one
//! address, which the sign-in throttle answers with 429 after a few, and
//! half straight to `App::sign_in` from N/2 invented addresses and
//! usernames, which no per-key throttle stops, so each runs argon2 on the
//! blocking pool. The door must not notice either.

use crate::bench::percentile;
use app::App;
use app::inbound::InboundScan;
use app::ports::{NewStation, SystemClock};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Phone, Principal, Role, WaybillNo};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{ConnectOptions, Db};

pub async fn terminal(mqtt: String, n: u32, flood: u32) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let url = format!("sqlite:{}", temp.path().join("bench.db").display());
    let db = Arc::new(
        Db::connect(&ConnectOptions::new(
            url,
            Arc::new(app::keys::Keys::ephemeral()),
        ))
        .await?,
    );
    let mut app = App::new(db.clone(), Arc::new(SystemClock));
    let admin = Principal {
        user_id: 0,
        username: "bench".into(),
        role: Role::Admin,
        station_ids: vec![],
        carrier: None,
    };
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: n.div_ceil(50).max(1),
        slots_per_tier: 50,
        size: SizeClass::Small,
        slot_capacity: 1,
    }];
    // Station 1 of a fresh database: its simulated devices take the client
    // ids of station 1, so run this where no other station 1 (a demo) is on
    // the broker.
    let station = app
        .store
        .create_station(
            &NewStation {
                name: "bench".into(),
                township: "bench".into(),
                division_code: None,
                location: None,
                code_format: CodeFormat::parse("{shelf}-{tier}-{code:6}")?,
                holding: HoldingPolicy::default(),
                slots: lay_out(&shelves)?,
            },
            app.now(),
        )
        .await?;
    let mut codes = Vec::new();
    let mut tails = Vec::new();
    for i in 0..n {
        let outcome = app
            .inbound(
                &admin,
                station.id,
                InboundScan {
                    carrier: Carrier::Zto,
                    waybill: WaybillNo::parse(&format!("75{i:012}"))?,
                    recipient_name: None,
                    phone: Some(Phone::parse(&format!("139{i:08}"))?),
                    size: SizeClass::Small,
                    consent: Some(true),
                },
            )
            .await?;
        codes.push(outcome.pickup_code.expect("consented parcels get a code"));
        tails.push(format!("{:04}", i % 10_000));
    }

    let device_key = devices::auth::ServerDeviceKey::random();
    for (kind, device_id) in [
        ("door", "front"),
        ("lights", "shelves"),
        ("scanner", "checkout"),
    ] {
        app.register_device(
            &admin,
            station.id,
            &app::devices::DeviceRegistration { kind, device_id },
        )
        .await?;
    }
    let bridge = devices::bridge::Bridge::start(
        db.clone(),
        app.clock.clone(),
        devices::bridge::BridgeConfig::new(
            devices::mqtt::BrokerConfig::open(&mqtt),
            device_key.clone(),
            &format!("yizhan-bench-{}", std::process::id()),
        ),
    )
    .await?;
    app.device_waker = Arc::new(bridge.waker());
    let simulator = devices::sim::Simulator::start(
        devices::sim::SimConfig::new(&mqtt, station.id, &device_key),
        app.clock.clone(),
    )
    .await?;
    let mut state = simulator.state();

    let token = app.pair_terminal(&admin, station.id).await?;
    let csrf = web::csrf_token(&app.secrets.web_key, &token);
    let web = web::router(web::WebState {
        app: app.clone(),
        secure_cookies: false,
    });
    // Served as `yizhan serve` serves: the API and the pages, with the
    // client's address for the throttles.
    let router = server::layered(server::api(server::AppState { app: app.clone() }).merge(web));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let client = reqwest::Client::new();

    let flood_started = Instant::now();
    let flood_task = (flood > 0).then(|| {
        let app = app.clone();
        let client = client.clone();
        let base = base.clone();
        tokio::spawn(async move { sign_in_flood(app, client, base, flood).await })
    });

    eprintln!("bench terminal: {n} pickups at a simulated station over {mqtt}");
    let (mut to_door, mut to_lights, mut to_answer) = (Vec::new(), Vec::new(), Vec::new());
    for (code, tail) in codes.iter().zip(&tails) {
        let openings = state.borrow().door_openings;
        let started = Instant::now();
        let response = client
            .post(format!("{base}/terminal/api/code"))
            .header("cookie", format!("{}={token}", web::TERMINAL_COOKIE))
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({ "code": code, "phone_tail": tail }))
            .send()
            .await?;
        let answered = started.elapsed();
        anyhow::ensure!(
            response.status().is_success(),
            "code refused: {}",
            response.text().await?
        );
        let session: serde_json::Value = response.json().await?;
        let segment = session["items"][0]["segment"].as_u64().unwrap_or(0) as u32;
        let (mut door, mut lights) = (None, None);
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                {
                    let now = state.borrow_and_update();
                    if door.is_none() && now.door_openings > openings {
                        door = Some(started.elapsed());
                    }
                    if lights.is_none() && now.lit.contains_key(&segment) {
                        lights = Some(started.elapsed());
                    }
                }
                if door.is_some() && lights.is_some() {
                    return;
                }
                if state.changed().await.is_err() {
                    return;
                }
            }
        })
        .await
        .map_err(|_| anyhow::anyhow!("the simulated devices did not act within 10 s"))?;
        to_answer.push(answered.as_secs_f64() * 1000.0);
        to_door.push(door.expect("waited for").as_secs_f64() * 1000.0);
        to_lights.push(lights.expect("waited for").as_secs_f64() * 1000.0);
        // The customer finishes, so the next one may take the same colour.
        let id = session["id"].as_i64().unwrap_or(0);
        client
            .post(format!("{base}/terminal/api/session/{id}/end"))
            .header("cookie", format!("{}={token}", web::TERMINAL_COOKIE))
            .header("x-csrf-token", &csrf)
            .send()
            .await?;
    }
    let pickups_took = flood_started.elapsed();
    if let Some(task) = flood_task {
        let report = task.await??;
        println!(
            "sign-in flood: {} wrong sign-ins; during the {:.1} s of pickups {} had been answered \
             (API from one address: {} refused 401, {} throttled 429; use case from distinct \
             addresses: {} refused after argon2); the flood took {:.1} s",
            flood,
            pickups_took.as_secs_f64(),
            report.answered_during(pickups_took),
            report.unauthorised,
            report.throttled,
            report.direct_refused,
            report.took.as_secs_f64()
        );
    }
    println!("code entered → (n = {n}, milliseconds)   p50     p99     max");
    for (what, samples) in [
        ("terminal answered          ", &mut to_answer),
        ("door opened (simulator)    ", &mut to_door),
        ("slots lit (simulator)      ", &mut to_lights),
    ] {
        samples.sort_by(f64::total_cmp);
        println!(
            "  {what}           {:7.1} {:7.1} {:7.1}",
            percentile(samples, 0.5),
            percentile(samples, 0.99),
            samples[samples.len() - 1]
        );
    }
    simulator.stop().await;
    drop(bridge);
    Ok(())
}

/// What the wrong sign-ins got.
struct FloodReport {
    unauthorised: u32,
    throttled: u32,
    direct_refused: u32,
    /// When each answer came, from the flood's start.
    answered_at: Vec<Duration>,
    took: Duration,
}

impl FloodReport {
    fn answered_during(&self, span: Duration) -> usize {
        self.answered_at.iter().filter(|at| **at <= span).count()
    }
}

/// `n` wrong sign-ins, 32 at a time: half over HTTP from this address,
/// half to the use case from distinct invented addresses and usernames.
async fn sign_in_flood(
    app: App,
    client: reqwest::Client,
    base: String,
    n: u32,
) -> anyhow::Result<FloodReport> {
    let started = Instant::now();
    let over_http = n / 2;
    // 32 in flight at a time, as a burst of clients would be.
    let permits = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = permits.clone().acquire_owned().await?;
        let (app, client, base) = (app.clone(), client.clone(), base.clone());
        tasks.spawn(async move {
            let _permit = permit;
            if i < over_http {
                let status = client
                    .post(format!("{base}/api/login"))
                    .json(
                        &serde_json::json!({"username": "admin", "password": format!("guess-{i}")}),
                    )
                    .send()
                    .await?
                    .status()
                    .as_u16();
                Ok::<_, anyhow::Error>((status, started.elapsed()))
            } else {
                let source = format!("10.{}.{}.{}", i / 65_536 % 256, i / 256 % 256, i % 256);
                let refused = app
                    .sign_in(&format!("user{i}"), "wrong password", &source)
                    .await
                    .is_err();
                Ok((if refused { 0 } else { 200 }, started.elapsed()))
            }
        });
    }
    let attempts = tasks.join_all().await;
    let mut report = FloodReport {
        unauthorised: 0,
        throttled: 0,
        direct_refused: 0,
        answered_at: Vec::new(),
        took: started.elapsed(),
    };
    for attempt in attempts {
        let (status, at) = attempt?;
        match status {
            401 => report.unauthorised += 1,
            429 => report.throttled += 1,
            0 => report.direct_refused += 1,
            other => anyhow::bail!("a wrong sign-in answered {other}"),
        }
        report.answered_at.push(at);
    }
    Ok(report)
}

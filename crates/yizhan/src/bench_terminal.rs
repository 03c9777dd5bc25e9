//! `yizhan bench terminal`: from a valid code entered at the door terminal
//! (an HTTP request to `/terminal/api/code`, as the tablet sends it) to the
//! door-open command acting at the simulated door controller, and to the
//! slots lighting at the simulated light strip — through the whole path: the
//! use case's transaction, the devices' outbox, the bridge, the broker
//! (a real MQTT broker), the device. SQLite in a temporary folder.

use crate::bench::percentile;
use app::App;
use app::inbound::InboundScan;
use app::ports::{NewStation, SystemClock};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Phone, Principal, Role, WaybillNo};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{ConnectOptions, Db};

pub async fn terminal(mqtt: String, n: u32) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let url = format!("sqlite:{}", temp.path().join("bench.db").display());
    let db = Arc::new(Db::connect(&ConnectOptions::new(url)).await?);
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
                code_format: CodeFormat::parse("{shelf}-{tier}-{seq:6}")?,
                holding: HoldingPolicy::default(),
                slots: lay_out(&shelves)?,
            },
            app.now(),
        )
        .await?;
    let mut codes = Vec::new();
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
    }

    let device_key = devices::auth::ServerDeviceKey::random();
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
    let router = web::router(web::WebState {
        app: app.clone(),
        secure_cookies: false,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();

    eprintln!("bench terminal: {n} pickups at a simulated station over {mqtt}");
    let (mut to_door, mut to_lights, mut to_answer) = (Vec::new(), Vec::new(), Vec::new());
    for code in &codes {
        let openings = state.borrow().door_openings;
        let started = Instant::now();
        let response = client
            .post(format!("{base}/terminal/api/code"))
            .header("cookie", format!("{}={token}", web::TERMINAL_COOKIE))
            .header("x-csrf-token", &csrf)
            .json(&serde_json::json!({ "code": code }))
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

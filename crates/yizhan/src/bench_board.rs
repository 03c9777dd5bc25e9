//! `yizhan bench board` (issue 16): about a year of a busy county — ten
//! million parcels with their events, routing and fees by default — written
//! into a fresh SQLite file (and a fresh PostgreSQL schema when a URL is
//! given), then the board's queries timed before and after the daily
//! aggregates are rolled up, the daily report timed, and inbound scans per
//! second measured with and without the roll-up job running beside them.
//! Figures and the command are in docs/benchmarks.md.

use crate::bench::percentile;
use app::App;
use app::inbound::InboundScan;
use app::ports::{GeoPoint, NewStation, SystemClock};
use chrono::{Duration, NaiveDate, Utc};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Phone, Principal, Role, WaybillNo};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use store::generate::CountySpec;
use store::{ConnectOptions, Db};

/// What `yizhan bench board` was asked for.
pub struct BoardBench {
    pub parcels: u64,
    pub days: u32,
    pub stations: u32,
    pub sqlite: Option<PathBuf>,
    pub postgres: Option<String>,
    pub queries: u32,
    pub scans: u32,
}

fn admin() -> Principal {
    Principal {
        user_id: 0,
        username: "bench".into(),
        role: Role::Admin,
        station_ids: vec![],
        carrier: None,
    }
}

fn millis(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

pub async fn board(bench: BoardBench) -> anyhow::Result<()> {
    anyhow::ensure!(bench.parcels >= 1, "--parcels must be at least 1");
    anyhow::ensure!((2..=366).contains(&bench.days), "--days must be 2 to 366");
    anyhow::ensure!(
        (1..=10_000).contains(&bench.stations),
        "--stations must be 1 to 10000"
    );
    let temp = tempfile::tempdir()?;
    let sqlite_path = bench
        .sqlite
        .clone()
        .unwrap_or_else(|| temp.path().join("board.db"));
    anyhow::ensure!(
        !sqlite_path.exists(),
        "{} exists; the benchmark writes a fresh database",
        sqlite_path.display()
    );
    let mut targets = vec![(format!("sqlite:{}", sqlite_path.display()), None)];
    match &bench.postgres {
        Some(url) => targets.push((
            url.clone(),
            Some(format!("bench_{}", rand::random::<u32>())),
        )),
        None => println!("PostgreSQL skipped: pass --postgres URL"),
    }
    for (url, schema) in targets {
        let options = ConnectOptions {
            url: url.clone(),
            schema: schema.clone(),
            max_connections: 8,
            keys: Arc::new(app::keys::Keys::ephemeral()),
        };
        let db = Arc::new(Db::connect(&options).await?);
        let outcome = run(&bench, &db).await;
        db.close().await;
        if let Some(schema) = &schema {
            Db::drop_schema(&url, schema).await?;
        }
        outcome?;
    }
    Ok(())
}

async fn run(bench: &BoardBench, db: &Arc<Db>) -> anyhow::Result<()> {
    let app = App::new(db.clone(), Arc::new(SystemClock));
    let admin = admin();
    let today = domain::shanghai_day(Utc::now());
    let yesterday = today - Duration::days(1);
    println!(
        "backend: {} · {} parcels over {} days ending {yesterday} at {} stations",
        db.backend_kind_name(),
        bench.parcels,
        bench.days,
        bench.stations
    );

    // Stations around a county seat, each with a place for the map.
    let mut station_ids = Vec::new();
    for idx in 0..bench.stations {
        let station = app
            .store
            .create_station(
                &station_new(
                    &format!("驿站{idx:04}"),
                    1,
                    Some(GeoPoint {
                        lat: 31.0 + f64::from(idx % 40) * 0.01,
                        lon: 117.0 + f64::from(idx / 40) * 0.01,
                    }),
                )?,
                Utc::now(),
            )
            .await?;
        station_ids.push(station.id);
    }

    let spec = CountySpec {
        parcels: bench.parcels,
        days: bench.days,
        last_day: yesterday,
        station_ids,
        seed: 16,
    };
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut progress = |n: u64| {
        if last_report.elapsed().as_secs() >= 30 {
            eprintln!(
                "  … {n} parcels in {:.0} s",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    };
    let generated = db.generate_county(&spec, &mut progress).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "generated: {} parcels, {} events, {} fees in {seconds:.1} s ({:.0} parcels/s, {:.0} rows/s)",
        generated.parcels,
        generated.events,
        generated.fees,
        generated.parcels as f64 / seconds,
        (generated.parcels * 2 + generated.events + generated.fees) as f64 / seconds
    );

    let ranges: Vec<(&str, NaiveDate, NaiveDate)> = vec![
        ("today", today, today),
        ("yesterday", yesterday, yesterday),
        ("7 days", today - Duration::days(6), today),
        ("30 days", today - Duration::days(29), today),
        ("365 days", today - Duration::days(364), today),
    ];

    // The events counted directly, before any roll-up: one run each.
    println!("board straight from the events (no aggregates):");
    for (name, from, to) in &ranges {
        let begun = Instant::now();
        app.board(&admin, *from, *to).await?;
        println!("  {name:>10}: {:>9.1} ms", millis(begun));
    }
    let begun = Instant::now();
    app.daily_report(&admin, yesterday).await?;
    println!("  daily report of {yesterday}: {:.1} ms", millis(begun));

    let begun = Instant::now();
    let rolled = app.roll_up_board(&admin).await?;
    println!(
        "roll-up: {} days in {:.1} s",
        rolled.days,
        begun.elapsed().as_secs_f64()
    );

    println!(
        "board from the daily aggregates (today from the events), {} queries per range:",
        bench.queries
    );
    let mut all = Vec::new();
    for (name, from, to) in &ranges {
        let mut samples = Vec::new();
        for _ in 0..bench.queries {
            let begun = Instant::now();
            app.board(&admin, *from, *to).await?;
            samples.push(millis(begun));
        }
        samples.sort_by(f64::total_cmp);
        println!(
            "  {name:>10}: p50 {:>7.1} ms   p95 {:>7.1} ms",
            percentile(&samples, 0.5),
            percentile(&samples, 0.95)
        );
        all.extend(samples);
    }
    all.sort_by(f64::total_cmp);
    println!(
        "  all ranges: p50 {:.1} ms   p95 {:.1} ms (goal p95 < 200 ms)",
        percentile(&all, 0.5),
        percentile(&all, 0.95)
    );
    let begun = Instant::now();
    app.daily_report(&admin, yesterday).await?;
    println!(
        "daily report of {yesterday}: {:.1} ms (goal < 5 s)",
        millis(begun)
    );

    // Inbound with and without the roll-up job beside it: the job is made
    // to redo the whole year, so it runs through the scans.
    let inbound_station = app
        .store
        .create_station(
            &station_new("bench inbound", bench.scans.div_ceil(50) * 2 + 2, None)?,
            Utc::now(),
        )
        .await?;
    let idle = scans(&app, &admin, inbound_station.id, "61", bench.scans).await?;
    println!(
        "inbound without the roll-up: {:.0} scans/s (p99 {:.1} ms)",
        idle.0, idle.1
    );
    db.forget_board_rollups().await?;
    let job = {
        let app = app.clone();
        let admin = admin.clone();
        tokio::spawn(async move { app.roll_up_board(&admin).await })
    };
    let busy = scans(&app, &admin, inbound_station.id, "62", bench.scans).await?;
    let job_running = !job.is_finished();
    let rolled = job.await??;
    println!(
        "inbound with the roll-up running: {:.0} scans/s (p99 {:.1} ms; the job rolled {} days{})",
        busy.0,
        busy.1,
        rolled.days,
        if job_running {
            ", still running when the scans ended"
        } else {
            ", finished before the scans ended"
        }
    );
    Ok(())
}

fn station_new(name: &str, tiers: u32, location: Option<GeoPoint>) -> anyhow::Result<NewStation> {
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers,
        slots_per_tier: 50,
        size: SizeClass::Small,
        slot_capacity: 1,
    }];
    Ok(NewStation {
        location,
        name: name.into(),
        township: "bench".into(),
        division_code: None,
        code_format: CodeFormat::parse("{shelf}-{tier}-{code:6}")?,
        holding: HoldingPolicy::default(),
        slots: lay_out(&shelves)?,
    })
}

/// `n` single inbound scans: scans per second and the p99 latency.
async fn scans(
    app: &App,
    admin: &Principal,
    station_id: i64,
    prefix: &str,
    n: u32,
) -> anyhow::Result<(f64, f64)> {
    let mut latencies = Vec::with_capacity(n as usize);
    let started = Instant::now();
    for idx in 0..n {
        let scan = InboundScan {
            carrier: Carrier::Zto,
            waybill: WaybillNo::parse(&format!("{prefix}{idx:010}"))?,
            recipient_name: None,
            phone: Some(Phone::parse(&format!("138{:08}", idx % 100_000_000))?),
            size: SizeClass::Small,
            consent: Some(true),
        };
        let begun = Instant::now();
        app.inbound(admin, station_id, scan).await?;
        latencies.push(millis(begun));
    }
    let rate = f64::from(n) / started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok((rate, percentile(&latencies, 0.99)))
}

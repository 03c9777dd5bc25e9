//! The `yizhan bench` commands; `command` runs one. `bench inbound` (here):
//! durable inbound scans per second and latency, single scans and batches of
//! 100, beside the rate at which the same rows (parcel, slot place, event,
//! outbox message per scan) can be written raw, with no lookups or rules —
//! the floor the database allows. `bench route` and `bench import` are here
//! too; `bench terminal` is in `bench_terminal`.

use crate::cli::{BenchCommand, BenchRouteArgs};
use app::App;
use app::inbound::InboundScan;
use app::ports::{NewStation, SystemClock};
use chrono::Utc;
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Phone, Principal, Role, WaybillNo};
use std::sync::Arc;
use std::time::Instant;
use store::{ConnectOptions, Db};

/// Runs one `yizhan bench` command.
pub async fn command(what: BenchCommand) -> anyhow::Result<()> {
    match what {
        BenchCommand::Inbound { database, scans } => inbound(database, scans).await,
        BenchCommand::Terminal {
            mqtt,
            pickups,
            sign_in_flood,
        } => crate::bench_terminal::terminal(mqtt, pickups, sign_in_flood).await,
        BenchCommand::Import { rows, postgres } => {
            anyhow::ensure!(
                (1..=domain::limits::MANIFEST_ROWS_MAX).contains(&rows),
                "--rows must be 1 to {}",
                domain::limits::MANIFEST_ROWS_MAX
            );
            import(rows, postgres.filter(|url| !url.is_empty())).await
        }
        BenchCommand::Board {
            parcels,
            days,
            stations,
            sqlite,
            postgres,
            queries,
            scans,
        } => {
            crate::bench_board::board(crate::bench_board::BoardBench {
                parcels,
                days,
                stations,
                sqlite,
                postgres: postgres.filter(|url| !url.is_empty()),
                queries,
                scans,
            })
            .await
        }
        BenchCommand::Sort { budget } => {
            let mut bench_config = sort::bench::BenchConfig::default();
            if let Some(budget) = budget {
                bench_config.budget = budget;
            }
            let origin = Instant::now();
            let clock_s = move || origin.elapsed().as_secs_f64();
            sort::bench::run(&mut std::io::stdout().lock(), &bench_config, &clock_s)?;
            Ok(())
        }
        BenchCommand::Route(BenchRouteArgs {
            data,
            set,
            budgets_ms,
            seed,
            threads,
            only,
        }) => route(data, &set, &budgets_ms, seed, threads, only.as_deref()),
        BenchCommand::Kiosks {
            kiosks,
            days,
            postgres,
        } => crate::kiosks_cmd::bench(kiosks, days, postgres).await,
        BenchCommand::Ledger {
            transfers,
            postgres,
        } => crate::bench_ledger::ledger(transfers, postgres.filter(|url| !url.is_empty())).await,
        BenchCommand::Send { orders, postgres } => crate::bench_send::send(orders, postgres).await,
        BenchCommand::Vehicles {
            mqtt,
            vehicles,
            seconds,
        } => crate::bench_vehicles::vehicles(mqtt, vehicles, seconds).await,
        BenchCommand::Address { rounds } => {
            let clocks = address::bench::Clocks {
                wall: &Instant::now,
                thread_cpu: None,
            };
            address::bench::run(
                &address::bench::shipped_set(),
                rounds,
                &clocks,
                &mut std::io::stdout(),
            )?;
            Ok(())
        }
    }
}

/// The `p` quantile (0 to 1) of sorted samples, nearest rank.
pub(crate) fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let idx = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms[idx]
}

fn scan(prefix: &str, idx: u32) -> InboundScan {
    InboundScan {
        carrier: Carrier::Zto,
        waybill: WaybillNo::parse(&format!("{prefix}{idx:010}")).expect("valid"),
        recipient_name: Some("张三".into()),
        phone: Some(Phone::parse(&format!("138{:08}", idx % 100_000_000)).expect("valid")),
        size: SizeClass::Small,
        consent: Some(true),
    }
}

pub async fn inbound(database: Option<String>, n_scans: u32) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let (url, schema) = match database {
        Some(url) if url.starts_with("postgres") => {
            (url, Some(format!("bench_{}", rand::random::<u32>())))
        }
        Some(url) => (url, None),
        None => (
            format!("sqlite:{}", temp.path().join("bench.db").display()),
            None,
        ),
    };
    let options = ConnectOptions {
        url: url.clone(),
        schema: schema.clone(),
        max_connections: 8,
        keys: Arc::new(app::keys::Keys::ephemeral()),
    };
    let db = Arc::new(Db::connect(&options).await?);
    let app = App::new(db.clone(), Arc::new(SystemClock));
    let admin = Principal {
        user_id: 0,
        username: "bench".into(),
        role: Role::Admin,
        station_ids: vec![],
        carrier: None,
    };
    // One station large enough for every scan of the run.
    let tiers = n_scans.div_ceil(100).max(1) * 2;
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers,
        slots_per_tier: 50,
        size: SizeClass::Small,
        slot_capacity: 1,
    }];
    let station_new = |slots| NewStation {
        location: None,
        name: "bench".into(),
        township: "bench".into(),
        division_code: None,
        code_format: CodeFormat::parse("{shelf}-{tier}-{code:6}").expect("valid"),
        holding: HoldingPolicy::default(),
        slots,
    };
    let station = app
        .store
        .create_station(&station_new(lay_out(&shelves)?), Utc::now())
        .await?;
    let batch_station = app
        .store
        .create_station(&station_new(lay_out(&shelves)?), Utc::now())
        .await?;
    let raw_station = app
        .store
        .create_station(&station_new(lay_out(&shelves)?), Utc::now())
        .await?;

    println!(
        "backend: {} ({} scans each)",
        db.backend_kind_name(),
        n_scans
    );
    let mut latencies = Vec::with_capacity(n_scans as usize);
    let started = Instant::now();
    for idx in 0..n_scans {
        let begun = Instant::now();
        app.inbound(&admin, station.id, scan("71", idx)).await?;
        latencies.push(begun.elapsed().as_secs_f64() * 1000.0);
    }
    let single_rate = f64::from(n_scans) / started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    println!(
        "single scans:     {single_rate:>9.0} scans/s   p50 {:.2} ms   p99 {:.2} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );

    let batch_size = 100;
    let mut batch_latencies = Vec::new();
    let started = Instant::now();
    for batch_start in (0..n_scans).step_by(batch_size) {
        let scans: Vec<_> = (batch_start..(batch_start + batch_size as u32).min(n_scans))
            .map(|idx| scan("72", idx))
            .collect();
        let begun = Instant::now();
        let outcome = app.inbound_batch(&admin, batch_station.id, scans).await?;
        anyhow::ensure!(
            outcome.rejected.is_empty(),
            "bench batch refused rows: {:?}",
            outcome.rejected.first()
        );
        batch_latencies.push(begun.elapsed().as_secs_f64() * 1000.0);
    }
    let batch_rate = f64::from(n_scans) / started.elapsed().as_secs_f64();
    batch_latencies.sort_by(f64::total_cmp);
    println!(
        "batches of 100:   {batch_rate:>9.0} scans/s   p50 {:.2} ms   p99 {:.2} ms per batch",
        percentile(&batch_latencies, 0.5),
        percentile(&batch_latencies, 0.99)
    );

    let started = Instant::now();
    for batch_start in (0..n_scans).step_by(batch_size) {
        db.raw_insert(
            raw_station.id,
            &format!("RAW{batch_start:08}-"),
            (batch_size as u32).min(n_scans - batch_start),
            Utc::now(),
        )
        .await?;
    }
    let raw_rate = f64::from(n_scans) / started.elapsed().as_secs_f64();
    println!(
        "raw rows of 100 scans per transaction: {raw_rate:>9.0} scans/s (parcel, place, event, outbox; no lookups)"
    );
    println!("batch / raw: {:.2}", batch_rate / raw_rate);
    db.close().await;
    if let Some(schema) = schema {
        Db::drop_schema(&url, &schema).await?;
    }
    Ok(())
}

/// `yizhan bench route`: the Solomon and CVRPLIB X instances from the shared
/// benchmark folder, at each budget, with gaps to the best-known solutions.
pub fn route(
    data: Option<std::path::PathBuf>,
    set: &str,
    budgets_ms: &[u64],
    seed: u64,
    threads: usize,
    only: Option<&str>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use route::bench::{BenchInstance, best_known_distance};
    use route::vrplib;
    let data = data.unwrap_or_else(|| std::path::PathBuf::from("../shared/data/vrp-benchmarks"));
    anyhow::ensure!(
        data.is_dir(),
        "benchmark data not found at {} — it lives in the shared folder beside the repository (vrp-benchmarks/); pass --data DIR",
        data.display()
    );
    let folders: &[&str] = match set {
        "solomon" => &["solomon"],
        "x" => &["cvrp-x"],
        "all" => &["solomon", "cvrp-x"],
        other => anyhow::bail!("unknown set {other:?}; use solomon, x or all"),
    };
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let mut instances = Vec::new();
    for folder in folders {
        let mut paths: Vec<_> = std::fs::read_dir(data.join(folder))
            .with_context(|| format!("listing {}", data.join(folder).display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "vrp"))
            .collect();
        paths.sort();
        for path in paths {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            if only.is_some_and(|prefix| !stem.starts_with(prefix)) {
                continue;
            }
            let instance = vrplib::parse(&read(&path)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let sol_path = path.with_extension("sol");
            let best_known = if sol_path.exists() {
                Some(
                    vrplib::parse_solution(&read(&sol_path)?)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", sol_path.display()))?,
                )
            } else {
                None
            };
            if let Some(best) = &best_known {
                let recomputed =
                    best_known_distance(&instance, best).map(|units| instance.reported(units));
                if recomputed.is_none_or(|value| (value - best.cost).abs() > 1e-6) {
                    eprintln!(
                        "warning: {stem}: best-known routes measure {recomputed:?}, the file says {}",
                        best.cost
                    );
                }
            }
            instances.push(BenchInstance {
                instance,
                best_known,
            });
        }
    }
    eprintln!("{} instances from {}", instances.len(), data.display());
    route::bench::run(
        &instances,
        budgets_ms,
        seed,
        threads,
        &std::time::Instant::now,
        &mut std::io::stdout(),
    )?;
    Ok(())
}

/// `yizhan bench import`: writes a manifest of `n_rows` rows as CSV and as
/// .xlsx, imports each into a fresh SQLite file (and a fresh PostgreSQL
/// schema when a URL is given) through the same path as `yizhan import
/// manifest`, and prints rows per second; then imports the CSV again to show
/// that nothing is announced twice.
pub async fn import(n_rows: usize, postgres: Option<String>) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let csv_path = temp.path().join("manifest.csv");
    let xlsx_path = temp.path().join("manifest.xlsx");
    let started = Instant::now();
    write_manifests(n_rows, &csv_path, &xlsx_path)?;
    println!(
        "generated {n_rows} rows as CSV ({:.1} MB) and .xlsx ({:.1} MB) in {:.1} s",
        std::fs::metadata(&csv_path)?.len() as f64 / 1e6,
        std::fs::metadata(&xlsx_path)?.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let mut targets: Vec<(&str, String, Option<String>)> = Vec::new();
    for format in ["csv", "xlsx"] {
        targets.push((
            format,
            format!(
                "sqlite:{}",
                temp.path().join(format!("import-{format}.db")).display()
            ),
            None,
        ));
    }
    match &postgres {
        Some(url) => {
            for format in ["csv", "xlsx"] {
                targets.push((
                    format,
                    url.clone(),
                    Some(format!("bench_import_{}", rand::random::<u32>())),
                ));
            }
        }
        None => println!("PostgreSQL skipped: pass --postgres URL or set YIZHAN_TEST_DATABASE_URL"),
    }
    println!(
        "{:<10} {:<6} {:>9} {:>9} {:>10} {:>12}",
        "database", "file", "rows", "seconds", "rows/s", "re-import"
    );
    for (format, url, schema) in targets {
        let options = ConnectOptions {
            url: url.clone(),
            schema: schema.clone(),
            max_connections: 4,
            keys: Arc::new(app::keys::Keys::ephemeral()),
        };
        let db = Arc::new(Db::connect(&options).await?);
        let app = App::new(db.clone(), Arc::new(SystemClock));
        let file = if format == "csv" {
            &csv_path
        } else {
            &xlsx_path
        };
        let started = Instant::now();
        let summary = crate::import::run(&app, file, Carrier::Zto, false).await?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            summary.n_announced == n_rows && summary.rejected.is_empty(),
            "expected {n_rows} announced, got {} ({} refused)",
            summary.n_announced,
            summary.rejected.len()
        );
        let again_started = Instant::now();
        let again = crate::import::run(&app, file, Carrier::Zto, false).await?;
        anyhow::ensure!(
            again.n_announced == 0 && again.n_known == n_rows,
            "a re-import announced {} again",
            again.n_announced
        );
        let problems = db.check_invariants().await?;
        anyhow::ensure!(problems.is_empty(), "invariants broken: {problems:?}");
        println!(
            "{:<10} {:<6} {:>9} {:>9.2} {:>10.0} {:>10.2} s",
            db.backend_kind_name().split(' ').next().unwrap_or("?"),
            format,
            n_rows,
            seconds,
            n_rows as f64 / seconds,
            again_started.elapsed().as_secs_f64()
        );
        db.close().await;
        if let Some(schema) = schema {
            Db::drop_schema(&url, &schema).await?;
        }
    }
    Ok(())
}

/// A realistic manifest: every column filled, like a carrier's export.
fn write_manifests(
    n_rows: usize,
    csv_path: &std::path::Path,
    xlsx_path: &std::path::Path,
) -> anyhow::Result<()> {
    const HEADERS: [&str; 7] = [
        "waybill",
        "recipient_name",
        "phone",
        "address",
        "station_id",
        "size",
        "consent",
    ];
    let row = |idx: usize| -> [String; 7] {
        [
            format!("73{idx:010}"),
            ["张三", "李四", "王五", "赵六"][idx % 4].to_string(),
            format!("138{:08}", idx % 100_000_000),
            format!(
                "四川省成都市武侯区簇桥街道石桥村{}组{}号",
                idx % 12 + 1,
                idx % 97 + 1
            ),
            String::new(),
            ["small", "medium", "large"][idx % 3].to_string(),
            idx.is_multiple_of(2).to_string(),
        ]
    };
    let mut writer = csv::Writer::from_path(csv_path)?;
    writer.write_record(HEADERS)?;
    for idx in 0..n_rows {
        writer.write_record(row(idx))?;
    }
    writer.flush()?;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, header) in HEADERS.iter().enumerate() {
        sheet.write_string(0, col as u16, *header)?;
    }
    for idx in 0..n_rows {
        let excel_row = u32::try_from(idx + 1)?;
        for (col, value) in row(idx).iter().enumerate() {
            if !value.is_empty() {
                sheet.write_string(excel_row, col as u16, value)?;
            }
        }
    }
    workbook.save(xlsx_path)?;
    Ok(())
}

//! The kiosk fleet in the binary (issue 14, branch kiosks): the demo's
//! fleet (about 300 kiosks across the ten scenarios and five branches,
//! with 90 days of orders, generated from a seed and written in bulk),
//! `yizhan report kiosks --day D [--json]` and `yizhan bench kiosks` (the
//! daily report over that history, timed).

use crate::config::Config;
use crate::wiring;
use anyhow::Context;
use app::App;
use app::kiosks::{HistoryOrder, KioskInput};
use app::ports::GeoPoint;
use chrono::{Duration, NaiveDate, Utc};
use domain::kiosk::{FleetDayReport, Scenario};
use domain::{Phone, Principal};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// The demo's branches (支局) and the townships they serve.
const BRANCHES: [(&str, &str); 5] = [
    ("城关支局", "510182103"),
    ("丽春支局", "510182103"),
    ("龙门山支局", "510182101"),
    ("九尺支局", "510182104"),
    ("濛阳支局", "510182104"),
];

/// Host sites per scenario, for the demo's names.
fn host_name(scenario: Scenario, idx: usize) -> String {
    let kind = match scenario {
        Scenario::VillagePostal => "村邮站",
        Scenario::ConvenienceStore => "便利店",
        Scenario::LocalProduce => "土特产店",
        Scenario::Office => "写字楼大堂",
        Scenario::Hotel => "酒店前台",
        Scenario::Station => "汽车站",
        Scenario::Pharmacy => "大药房",
        Scenario::Campus => "校园快递点",
        Scenario::ShoppingDistrict => "商业街",
        Scenario::ScenicArea => "景区游客中心",
    };
    format!(
        "{}{kind}",
        [
            "阳光", "永兴", "福源", "金桥", "康宁", "春晖", "宏达", "绿野"
        ][idx % 8]
    )
}

/// How busy a kiosk of each scenario is: the chance it has an order on a
/// day, before the kiosk's own factor. Pharmacies, village postal stations
/// and convenience stores lead, as the seed reports.
fn busy(scenario: Scenario) -> f64 {
    match scenario {
        Scenario::Pharmacy | Scenario::VillagePostal => 0.72,
        Scenario::ConvenienceStore | Scenario::LocalProduce => 0.64,
        Scenario::Campus | Scenario::ShoppingDistrict => 0.58,
        Scenario::Office | Scenario::Station => 0.48,
        Scenario::Hotel | Scenario::ScenicArea => 0.38,
    }
}

/// A generated order: (kiosk index, accepted at, collected at, price in
/// fen).
pub type FleetOrder = (
    usize,
    chrono::DateTime<Utc>,
    Option<chrono::DateTime<Utc>>,
    i64,
);

/// The generated fleet: kiosks as typed, and their orders.
pub struct Fleet {
    pub kiosks: Vec<KioskInput>,
    pub orders: Vec<FleetOrder>,
}

/// A fleet of `n_kiosks` placed over the first two thirds of `days` days
/// ending yesterday (Shanghai), with orders every day; orders accepted in
/// the last hours before `now` are left in their bins. The same seed gives
/// the same fleet.
pub fn generate(
    n_kiosks: usize,
    days: u32,
    today: NaiveDate,
    now: chrono::DateTime<Utc>,
    staff: &[String],
    seed: u64,
) -> Fleet {
    let mut rng = StdRng::seed_from_u64(seed);
    let first = today - Duration::days(i64::from(days));
    let placing_days = (i64::from(days) * 2 / 3).max(1);
    let mut kiosks = Vec::with_capacity(n_kiosks);
    let mut factors = Vec::with_capacity(n_kiosks);
    for idx in 0..n_kiosks {
        let scenario = Scenario::ALL[idx % Scenario::ALL.len()];
        let (branch, township) = BRANCHES[(idx / 3) % BRANCHES.len()];
        let placed_on = first + Duration::days(idx as i64 * placing_days / n_kiosks as i64);
        let bearing = idx as f64 * 2.399_963; // the golden angle: an even spread
        let km = 2.0 + 20.0 * ((idx * 37) % 101) as f64 / 101.0;
        let location = GeoPoint {
            lat: crate::demo::COUNTY_CENTRE.lat + km / 111.0 * bearing.cos(),
            lon: crate::demo::COUNTY_CENTRE.lon + km / 96.0 * bearing.sin(),
        };
        kiosks.push(KioskInput {
            code: format!("JJB-{:04}", idx + 1),
            host_name: host_name(scenario, idx),
            scenario: scenario.code().into(),
            division: township.into(),
            lat: format!("{:.6}", location.lat),
            lon: format!("{:.6}", location.lon),
            placed_on: placed_on.to_string(),
            staff: staff[idx % staff.len()].clone(),
            branch: branch.into(),
        });
        factors.push((placed_on, busy(scenario) * rng.gen_range(0.75..1.2)));
    }
    let mut orders = Vec::new();
    for day_idx in 0..=days {
        let day = first + Duration::days(i64::from(day_idx));
        let day_start = domain::day_start(day);
        for (idx, (placed_on, chance)) in factors.iter().enumerate() {
            if *placed_on > day || !rng.gen_bool(chance.min(0.95)) {
                continue;
            }
            // 1 order, sometimes a few: about 1.55 an active kiosk-day.
            let mut n = 1;
            while n < 6 && rng.gen_bool(0.36) {
                n += 1;
            }
            for _ in 0..n {
                // Between 08:00 and 21:00 Shanghai.
                let accepted = day_start + Duration::minutes(rng.gen_range(8 * 60..21 * 60));
                if accepted >= now {
                    continue;
                }
                // Collected on the courier's round 2 to 20 hours later.
                let collected = accepted + Duration::minutes(rng.gen_range(120..1_200));
                let price = [800, 1_000, 1_200, 1_500, 1_800, 2_300][rng.gen_range(0..6)];
                orders.push((idx, accepted, (collected < now).then_some(collected), price));
            }
        }
    }
    Fleet { kiosks, orders }
}

/// Writes a generated fleet: the kiosks through the import (one
/// transaction, an audit row each), then every order in one transaction of
/// bulk inserts. Returns the kiosks' ids by index.
pub async fn write(app: &App, who: &Principal, fleet: &Fleet) -> anyhow::Result<Vec<i64>> {
    let rows = fleet
        .kiosks
        .iter()
        .enumerate()
        .map(|(idx, k)| (idx + 2, Ok(k.clone())))
        .collect();
    let imported = app.import_kiosks(who, rows).await?;
    anyhow::ensure!(
        imported.rejected.is_empty(),
        "demo kiosks refused: {:?}",
        imported.rejected.first()
    );
    let mut ids = Vec::with_capacity(fleet.kiosks.len());
    for kiosk in &fleet.kiosks {
        let stored = app
            .store
            .kiosk_by_code(&kiosk.code)
            .await?
            .context("a demo kiosk was not stored")?;
        ids.push(stored.id);
    }
    let now = app.now();
    let mut tx = app.store.begin().await?;
    let sender = tx
        .ensure_sender(&Phone::parse("13800000000").expect("valid"), now)
        .await?;
    let history: Vec<HistoryOrder> = fleet
        .orders
        .iter()
        .enumerate()
        .map(|(n, (idx, accepted, collected, price))| HistoryOrder {
            kiosk_id: ids[*idx],
            // EMS domestic numbers (13 digits from 98), one per order.
            waybill: format!("98{:011}", n + 1),
            price_fen: *price,
            accepted_at: *accepted,
            collected_at: *collected,
        })
        .collect();
    tx.insert_history_orders(sender.id, &history).await?;
    tx.commit().await?;
    Ok(ids)
}

/// The demo's fleet: five staff who serve kiosks, 300 kiosks, 90 days.
pub async fn seed_demo(app: &App) -> anyhow::Result<()> {
    let started = Instant::now();
    let system = wiring::system_principal();
    let mut staff = Vec::new();
    for idx in 1..=5 {
        let username = format!("courier{idx}");
        app.create_user(app::auth::NewUser {
            username: username.clone(),
            display_name: format!("揽投员{idx}"),
            password: crate::demo::DEMO_PASSWORD.into(),
            role: domain::Role::CountyOperator,
            carrier: None,
            station_ids: vec![],
        })
        .await?;
        staff.push(username);
    }
    let fleet = generate(300, 90, app.today(), app.now(), &staff, 2026);
    let n_orders = fleet.orders.len();
    write(app, &system, &fleet).await?;
    tracing::info!(
        n_kiosks = fleet.kiosks.len(),
        n_orders,
        seconds = started.elapsed().as_secs_f32(),
        "demo kiosk fleet created"
    );
    Ok(())
}

/// `yizhan report kiosks`: the fleet's daily report for a Shanghai day
/// (default yesterday), as JSON or a few lines.
pub async fn report(config: &Config, day: Option<NaiveDate>, json: bool) -> anyhow::Result<()> {
    let app = wiring::build(config).await?;
    let system = wiring::system_principal();
    let day = day.unwrap_or_else(|| app.today().pred_opt().unwrap_or_else(|| app.today()));
    let report = app.kiosk_report(&system, day).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text(&report));
    }
    Ok(())
}

fn text(r: &FleetDayReport) -> String {
    let mut out = format!(
        "kiosks {}: placed {}, active {} ({:.1}%), orders {}, collected {}, revenue ¥{:.2}; \
         day on day: orders {:+}, active share {:+.1} points\n",
        r.day,
        r.totals.placed,
        r.totals.active,
        r.totals.active_share * 100.0,
        r.totals.orders,
        r.totals.collected,
        r.totals.revenue_fen as f64 / 100.0,
        r.change.orders,
        r.change.active_share * 100.0,
    );
    for (title, lines) in [
        ("branch", &r.by_branch),
        ("scenario", &r.by_scenario),
        ("staff", &r.by_staff),
    ] {
        for line in lines {
            out.push_str(&format!(
                "  {title} #{} {}: placed {}, active {} ({:.1}%), orders {}, collected {}\n",
                line.rank,
                line.key,
                line.totals.placed,
                line.totals.active,
                line.totals.active_share * 100.0,
                line.totals.orders,
                line.totals.collected,
            ));
        }
    }
    out
}

/// `yizhan bench kiosks`: writes a fleet of `n_kiosks` with `days` days of
/// orders into a fresh database (SQLite, or a fresh PostgreSQL schema) and
/// times the daily report for each of the last `days` days.
pub async fn bench(n_kiosks: usize, days: u32, postgres: Option<String>) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=10_000).contains(&n_kiosks) && (1..=366).contains(&days),
        "--kiosks 1 to 10000, --days 1 to 366"
    );
    let temp = tempfile::tempdir()?;
    let (url, schema) = match postgres.filter(|url| !url.is_empty()) {
        Some(url) => (url, Some(format!("bench_{}", rand::random::<u32>()))),
        None => (
            format!("sqlite:{}", temp.path().join("bench.db").display()),
            None,
        ),
    };
    let options = store::ConnectOptions {
        url: url.clone(),
        schema: schema.clone(),
        max_connections: 8,
        keys: std::sync::Arc::new(app::keys::Keys::ephemeral()),
    };
    let db = std::sync::Arc::new(store::Db::connect(&options).await?);
    let backend = db.backend_kind_name();
    let app = App::new(db.clone(), std::sync::Arc::new(app::ports::SystemClock));
    let system = wiring::system_principal();
    app.create_user(app::auth::NewUser {
        username: "courier1".into(),
        display_name: "courier1".into(),
        password: "bench-password-2026".into(),
        role: domain::Role::CountyOperator,
        carrier: None,
        station_ids: vec![],
    })
    .await?;
    let started = Instant::now();
    let fleet = generate(
        n_kiosks,
        days,
        app.today(),
        app.now(),
        &["courier1".into()],
        7,
    );
    let generated_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    write(&app, &system, &fleet).await?;
    let written_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut samples = Vec::new();
    let mut checksum = 0u64;
    for back in 1..=days {
        let day = app.today() - Duration::days(i64::from(back));
        let started = Instant::now();
        let report = app.kiosk_report(&system, day).await?;
        samples.push(started.elapsed().as_secs_f64() * 1e3);
        checksum += u64::from(report.totals.orders);
    }
    samples.sort_by(f64::total_cmp);
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    println!(
        "bench kiosks ({backend}): {n_kiosks} kiosks, {days} days, {} orders (generated in {generated_ms:.0} ms, written in {written_ms:.0} ms)",
        fleet.orders.len()
    );
    println!(
        "daily report, {} days: mean {mean:.2} ms, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({checksum} orders counted)",
        samples.len(),
        crate::bench::percentile(&samples, 0.5),
        crate::bench::percentile(&samples, 0.99),
        samples.last().copied().unwrap_or_default(),
    );
    if let Some(schema) = schema {
        store::Db::drop_schema(&url, &schema).await?;
    }
    Ok(())
}

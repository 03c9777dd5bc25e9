//! The sorting hub on the command line and in the demo (issue 16, point 4):
//! `yizhan hub adopt | import | report | simulate`, and the demo hub's busy
//! day — a plan adopted for a generated hub, and the simulator's item log
//! and a yard's truck log for yesterday imported through the same use case
//! as an uploaded file.

use crate::cli::HubCommand;
use anyhow::Context;
use app::App;
use app::sort_plans::SortSource;
use app::sort_plans::hub::HubLogKind;
use chrono::{NaiveDate, NaiveTime};
use sort::hub_log::{self, DayOptions};
use std::path::Path;

/// The demo hub: generated from published figures, twelve one-hour waves
/// from seven in the morning.
const DEMO_WAVES: usize = 12;
const DEMO_GENERATOR_SEED: u64 = 2026;
const DEMO_START_HOUR: u32 = 7;
/// Rows read from a log file: the logs' own bound and room for a title.
const GRID_ROWS_MAX: usize = hub_log::ROWS_MAX + hub_log::HEADER_SEARCH_ROWS;

fn day_options(day: NaiveDate, seed: u64) -> DayOptions {
    DayOptions {
        seed,
        day,
        start: NaiveTime::from_hms_opt(DEMO_START_HOUR, 0, 0).unwrap_or(NaiveTime::MIN),
        // About one label in 250 unread, and 6% irregular items sorted by
        // hand: ordinary figures for a cross-belt hub.
        no_read_rate: 0.004,
        manual_share: 0.06,
    }
}

/// The plan in force, as the hub and plan the simulator takes.
async fn plan_in_force(app: &App) -> anyhow::Result<(sort::Hub, sort::Plan)> {
    let record = app
        .store
        .hub_plan_in_force()
        .await?
        .context("no plan adopted for the hub yet: run `yizhan hub adopt` first")?;
    Ok(app::sort_plans::hub::hub_and_plan(&record)?)
}

/// The simulated day's two logs, as CSV.
fn simulated_logs(hub: &sort::Hub, plan: &sort::Plan, options: &DayOptions) -> (String, String) {
    let items = hub_log::simulated_day(hub, plan, options);
    let trucks = hub_log::simulated_trucks(hub, options);
    (hub_log::items_csv(&items), hub_log::trucks_csv(&trucks))
}

async fn import_text(app: &App, kind: HubLogKind, name: &str, csv: &str) -> anyhow::Result<()> {
    let grid = manifest_file::grid::csv_grid_up_to(csv.as_bytes(), GRID_ROWS_MAX)?;
    app.import_hub_log(&crate::wiring::system_principal(), kind, name, grid)
        .await?;
    Ok(())
}

/// The demo's hub: a plan adopted and yesterday's logs imported.
pub async fn seed_demo(app: &App) -> anyhow::Result<()> {
    let system = crate::wiring::system_principal();
    let params = sort::GeneratorParams {
        n_waves: DEMO_WAVES,
        ..sort::GeneratorParams::default()
    };
    let layout = sort::generate_layout(&params, DEMO_GENERATOR_SEED);
    app.adopt_hub_plan(
        &system,
        "演示分拣中心日常方案",
        SortSource::Layout(sort::layout::to_json(&layout)),
        1,
    )
    .await?;
    let (hub, plan) = plan_in_force(app).await?;
    let yesterday = app.today().pred_opt().unwrap_or_else(|| app.today());
    let (items, trucks) = simulated_logs(&hub, &plan, &day_options(yesterday, 1));
    import_text(
        app,
        HubLogKind::Items,
        &format!("sorter-{yesterday}.csv"),
        &items,
    )
    .await?;
    import_text(
        app,
        HubLogKind::Trucks,
        &format!("yard-{yesterday}.csv"),
        &trucks,
    )
    .await?;
    Ok(())
}

pub async fn command(app: &App, what: HubCommand) -> anyhow::Result<()> {
    let system = crate::wiring::system_principal();
    match what {
        HubCommand::Adopt {
            file,
            generate,
            seed,
            name,
        } => {
            let source = match (file, generate) {
                (Some(file), _) => SortSource::Layout(
                    std::fs::read_to_string(&file)
                        .with_context(|| format!("reading {}", file.display()))?,
                ),
                (None, Some(seed)) => SortSource::Generate(seed),
                (None, None) => anyhow::bail!("give a layout file or --generate SEED"),
            };
            let plan = app.adopt_hub_plan(&system, &name, source, seed).await?;
            println!("{}", serde_json::to_string_pretty(&plan)?);
        }
        HubCommand::Import { file, kind, json } => {
            let kind = HubLogKind::parse(&kind).context("--kind is items or trucks")?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let grid = manifest_file::grid::any_grid_up_to(&bytes, GRID_ROWS_MAX)?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let report = app.import_hub_log(&system, kind, &name, grid).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                match report.import_id {
                    None => println!("{name}: imported before; nothing changed"),
                    Some(id) => println!(
                        "{name}: import {id}, {} rows over {} day(s), {} bad",
                        report.rows,
                        report.days.len(),
                        report.bad_count
                    ),
                }
                for bad in &report.bad {
                    println!("  row {}: {}", bad.row, bad.why);
                }
            }
        }
        HubCommand::Report { day, json } => {
            let day = day.unwrap_or_else(|| app.today().pred_opt().unwrap_or_else(|| app.today()));
            let board = app.hub_board(&system, Some(day)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&board)?);
            } else {
                let f = &board.figures;
                let pct = |v: Option<f64>| v.map_or("—".into(), |v| format!("{:.1}%", v * 100.0));
                println!(
                    "hub {day}: {} items, {} sorted on the loop",
                    f.items, f.loop_counts.sorted
                );
                println!(
                    "  throughput {}/h of nameplate {:.0}/h; half-loop {}; recirculation {}; no-read {}; missort {}",
                    f.throughput_per_hour
                        .map_or("—".into(), |t| format!("{t:.0}")),
                    f.nameplate_per_hour,
                    pct(f.half_loop_drop_rate),
                    pct(f.recirculation_rate),
                    pct(f.no_read_rate),
                    pct(f.missort_rate)
                );
                println!(
                    "  trucks {} in, {} out; unloading on time {}; departures on time {}",
                    f.trucks.inbound,
                    f.trucks.outbound,
                    pct(f.trucks.unload_on_time_share),
                    pct(f.trucks.departure_on_time_share)
                );
            }
        }
        HubCommand::Simulate {
            day,
            seed,
            items,
            trucks,
        } => {
            let (hub, plan) = plan_in_force(app).await?;
            let day = day.unwrap_or_else(|| app.today().pred_opt().unwrap_or_else(|| app.today()));
            let (items_csv, trucks_csv) = simulated_logs(&hub, &plan, &day_options(day, seed));
            write(&items, &items_csv)?;
            write(&trucks, &trucks_csv)?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

//! The command line's tools: `migrate`, `dispatch`, `route solve`,
//! `address parse`, `sort-plan`, `webhook add|list` and `simulate devices`.
//! Each parses its flags, calls a use case or a pure crate, and prints.

use crate::cli::{DispatchArgs, RouteSolveArgs, SortPlanArgs, WebhookCommand};
use crate::config::{self, Config};
use crate::demo;
use crate::wiring;
use anyhow::Context;
use app::App;
use std::sync::Arc;

/// `yizhan migrate`: connecting runs the migrations; nothing else is
/// needed, so no `App` is built.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    // Migrations write no personal data: throwaway keys serve.
    wiring::connect(
        &config.database.url,
        1,
        Arc::new(app::keys::Keys::ephemeral()),
    )
    .await?;
    println!(
        "migrations applied to {}",
        config::redact_url(&config.database.url)
    );
    Ok(())
}

/// `yizhan dispatch`: plans the day's routes and prints them (and writes
/// the page when asked).
pub async fn dispatch(config: &Config, args: DispatchArgs) -> anyhow::Result<()> {
    let DispatchArgs {
        centre,
        vans,
        unmanned,
        iterations,
        html,
        lang,
    } = args;
    let centre = match centre {
        Some(text) => {
            let (lat, lon) = text
                .split_once(',')
                .ok_or_else(|| anyhow::anyhow!("--centre takes LAT,LON"))?;
            app::ports::GeoPoint {
                lat: lat.trim().parse().context("--centre latitude")?,
                lon: lon.trim().parse().context("--centre longitude")?,
            }
        }
        None => demo::COUNTY_CENTRE,
    };
    // Built after the flags are checked, so a mistyped --centre is told
    // before the database is opened.
    let app = wiring::build(config).await?;
    let operator = domain::Principal {
        user_id: 0,
        username: "cli-dispatch".into(),
        role: domain::Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    };
    let fleet = app::dispatch::Fleet {
        vans,
        unmanned,
        ..app::dispatch::Fleet::default()
    };
    let plan = app
        .plan_dispatch(
            &operator,
            &app::dispatch::DispatchRequest {
                centre,
                fleet,
                iterations,
                seed: 1,
                start_minutes: None,
            },
        )
        .await?;
    for route in &plan.routes {
        println!(
            "{} ({}) {}–{}, {:.1} km",
            route.vehicle, route.kind, route.departure, route.return_time, route.distance_km
        );
        for stop in &route.stops {
            println!(
                "  {} {} — {} parcels, {} aboard after",
                stop.arrival, stop.station, stop.n_parcels, stop.parcels_aboard_after
            );
        }
    }
    for station in plan.unserved.iter().chain(&plan.unlocated) {
        println!(
            "not planned: {} ({} parcels): {}",
            station.station, station.n_parcels, station.reason
        );
    }
    println!(
        "{} parcels on {} routes, {:.1} km",
        plan.n_parcels_planned,
        plan.routes.len(),
        plan.distance_km
    );
    if plan.stopped_at_deadline {
        eprintln!(
            "the search stopped at its deadline (dispatch.solve_seconds_max) before {iterations} iterations; the plan is checked, but another run may differ"
        );
    }
    if let Some(path) = html {
        let lang = if lang == "en" {
            app::Lang::En
        } else {
            app::Lang::Zh
        };
        std::fs::write(
            &path,
            web::plans::dispatch_document(&plan, lang, app.today()),
        )
        .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// `yizhan route solve`: a problem file solved under a time limit, with a
/// progress line on standard error.
pub fn route_solve(args: RouteSolveArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let RouteSolveArgs {
        file,
        time_limit_ms,
        seed,
        threads,
        json,
    } = args;
    let file = file.as_path();
    const TIME_LIMIT_MS_MAX: u64 = 24 * 3600 * 1000;
    anyhow::ensure!(
        (1..=TIME_LIMIT_MS_MAX).contains(&time_limit_ms),
        "--time-limit-ms must be 1 to {TIME_LIMIT_MS_MAX}"
    );
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let (problem, _convention) = route::read_problem(&text)
        .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
    let started = std::time::Instant::now();
    let scale = f64::from(problem.distance_scale);
    let progress = move |p: &route::Progress| {
        eprint!(
            "\r{:>7.1} s  iteration {:>8}  distance {:>12.1}  vehicles {:>3}  ",
            started.elapsed().as_secs_f64(),
            p.iterations,
            p.distance as f64 / scale,
            p.n_vehicles
        );
        let _ = std::io::stderr().flush();
    };
    let options = route::SolveOptions {
        seed,
        deadline: Some(started + std::time::Duration::from_millis(time_limit_ms)),
        threads,
        progress: Some(&progress),
        ..route::SolveOptions::default()
    };
    let solution = route::solve(&problem, &options)
        .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
    eprintln!();
    let document = route::json::document(&problem, &solution);
    if json {
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        println!(
            "{}: {} vehicles, distance {:.1}, {} unserved, {}",
            document.name,
            document.n_vehicles,
            document.distance,
            document.unserved.len(),
            if document.feasible {
                "feasible"
            } else {
                "NOT feasible"
            }
        );
    }
    Ok(())
}

/// `yizhan address parse`: one JSON object per address.
pub fn parse_addresses(texts: Vec<String>) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let mut output = std::io::stdout().lock();
    let mut print = |line_no: usize, text: &str| -> anyhow::Result<()> {
        let value = match address::parse(text) {
            Ok(parsed) => serde_json::to_value(parsed)?,
            Err(error) => {
                serde_json::json!({ "line": line_no, "error": error.to_string(), "code": error.code() })
            }
        };
        writeln!(output, "{value}")?;
        Ok(())
    };
    if texts.is_empty() {
        for (idx, line) in std::io::stdin().lock().lines().enumerate() {
            print(idx + 1, &line.context("reading standard input")?)?;
        }
    } else {
        for (idx, text) in texts.iter().enumerate() {
            print(idx + 1, text)?;
        }
    }
    Ok(())
}

/// `yizhan sort-plan`: optimise a hub's chute plan and compare it with the
/// baselines.
pub fn sort_plan(args: SortPlanArgs) -> anyhow::Result<()> {
    let SortPlanArgs {
        file,
        generate,
        json,
        html,
        seed,
        lang,
    } = args;
    let hub = match (file, generate) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            sort::layout::parse(&text)
                .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?
        }
        (None, Some(generator_seed)) => {
            sort::generate(&sort::GeneratorParams::default(), generator_seed)
        }
        (None, None) => anyhow::bail!("name a layout file, or --generate SEED"),
    };
    let evaluation = sort::evaluate(
        &hub,
        &sort::Options {
            seed,
            ..sort::Options::default()
        },
        seed,
    );
    if let Some(path) = &html {
        std::fs::write(
            path,
            sort::report::html_in(&hub, &evaluation, sort::report::Lang::from_code(&lang)),
        )
        .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if json || html.is_none() {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
    }
    Ok(())
}

/// `yizhan webhook add|list`.
pub async fn webhook_command(app: &App, what: WebhookCommand) -> anyhow::Result<()> {
    let system = wiring::system_principal();
    match what {
        WebhookCommand::Add {
            carrier,
            url,
            events,
        } => {
            let carrier = domain::Carrier::parse(&carrier).map_err(anyhow::Error::msg)?;
            let created = app.create_webhook(&system, carrier, &url, &events).await?;
            println!(
                "subscription {} for {} → {}\nevents: {}\nsigning secret (shown once; store it now): {}",
                created.subscription.id,
                carrier,
                created.subscription.url,
                created.subscription.event_kinds.join(", "),
                created.secret
            );
        }
        WebhookCommand::List { carrier } => {
            let subscriptions = match carrier {
                Some(carrier) => {
                    let carrier = domain::Carrier::parse(&carrier).map_err(anyhow::Error::msg)?;
                    app.webhooks(&system, carrier).await?
                }
                None => app.all_webhooks(&system).await?,
            };
            for subscription in subscriptions {
                println!("{}", serde_json::to_string(&subscription)?);
            }
        }
    }
    Ok(())
}

//! The `yizhan` binary: configuration, wiring and the command line —
//! `serve`, `demo`, `migrate`, `import manifest`, `bench inbound`.

mod admin;
mod bench;
mod bench_terminal;
mod broker;
mod config;
mod county;
mod demo;
mod import;
mod senders;
#[cfg(test)]
mod webhook_tests;

use anyhow::Context;
use app::App;
use app::ports::SystemClock;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;
use store::{ConnectOptions, Db};

#[derive(Parser)]
#[command(
    name = "yizhan",
    version,
    about = "驿站 — county and village express delivery"
)]
struct Cli {
    /// Configuration file (TOML); YIZHAN_* environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API with the configured database.
    Serve {
        #[arg(long)]
        listen: Option<String>,
    },
    /// Create a demo county (first run only) in DATA_DIR, print the URL and
    /// demo credentials, and serve.
    Demo {
        #[arg(long, default_value = "yizhan-data")]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seed only, then exit (for tests).
        #[arg(long)]
        no_serve: bool,
        /// The MQTT broker for the stations' doors and lights; the demo
        /// simulates every station's devices on it.
        #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
        mqtt: String,
        /// Run without devices (no broker needed).
        #[arg(long)]
        no_devices: bool,
    },
    /// Run database migrations and exit.
    Migrate,
    /// Add a station with its shelves.
    Station {
        #[command(subcommand)]
        what: StationCommand,
    },
    /// Add users; issue API tokens.
    User {
        #[command(subcommand)]
        what: UserCommand,
    },
    /// Carriers' webhook subscriptions (tracking back to carriers; docs/webhooks.md).
    Webhook {
        #[command(subcommand)]
        what: WebhookCommand,
    },
    /// Import data files.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Plan a sorting hub: read a layout with volumes (JSON or TOML, see
    /// crates/sort/FORMAT.md), optimise the chute plan, simulate it against
    /// the code-order and greedy baselines.
    SortPlan {
        /// Layout file; `--generate SEED` instead makes one from published figures.
        file: Option<PathBuf>,
        #[arg(long, conflicts_with = "file")]
        generate: Option<u64>,
        /// Print the plan and indicators as JSON.
        #[arg(long)]
        json: bool,
        /// Write a page with the chute map and indicators.
        #[arg(long)]
        html: Option<PathBuf>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Vehicle routing.
    Route {
        #[command(subcommand)]
        what: RouteCommand,
    },
    /// Plan the day's routes for the parcels waiting at the county centre.
    Dispatch {
        /// The county centre, `LAT,LON` (default: the demo county's).
        #[arg(long)]
        centre: Option<String>,
        #[arg(long, default_value_t = 2)]
        vans: u32,
        #[arg(long, default_value_t = 2)]
        unmanned: u32,
        #[arg(long, default_value_t = 2000)]
        iterations: u64,
        /// Write the plan as a page (route list and drawing).
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Addresses.
    Address {
        #[command(subcommand)]
        what: AddressCommand,
    },
    /// Benchmarks that print figures.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Simulated hardware for demos and tests.
    Simulate {
        #[command(subcommand)]
        what: SimulateCommand,
    },
    /// Announced versus arrived at the county centre for a carrier over
    /// Shanghai days FROM..=TO (default today): missing and unannounced
    /// parcels, as one JSON document.
    Reconcile {
        #[arg(long)]
        carrier: String,
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
    },
    /// The printable handover list (交接单) of a route or a contractor for a
    /// day, as HTML on standard output.
    Handover {
        #[arg(
            long,
            conflicts_with = "contractor",
            required_unless_present = "contractor"
        )]
        route: Option<i64>,
        #[arg(long)]
        contractor: Option<i64>,
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
    },
}

#[derive(Subcommand)]
enum SimulateCommand {
    /// A station's door controller and light strip on an MQTT broker
    /// (docs/devices.md), printing the station's state as JSON lines.
    Devices {
        #[arg(long)]
        station: i64,
        #[arg(long, env = "YIZHAN_MQTT_URL", default_value = "mqtt://127.0.0.1:1883")]
        mqtt: String,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A carrier's manifest as CSV: waybill,recipient_name,phone,address,station_id,size,consent
    Manifest {
        file: PathBuf,
        #[arg(long)]
        carrier: String,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Subscribe a carrier's endpoint to parcel events; prints the signing
    /// secret, which is shown this once and never again.
    Add {
        #[arg(long)]
        carrier: String,
        #[arg(long)]
        url: String,
        /// Events to send, comma-separated (default: all): arrived, sorted,
        /// dispatched, at_station, stored, picked_up, returned, problem.
        #[arg(long = "events", value_delimiter = ',')]
        events: Vec<String>,
    },
    /// List subscriptions (without secrets), one JSON object per line.
    List {
        #[arg(long)]
        carrier: Option<String>,
    },
}

#[derive(Subcommand)]
enum StationCommand {
    /// e.g. `yizhan station add --name 石桥村驿站 --township 石桥镇 --shelf A:4x10:small:2 --shelf D:2x6:large:1`
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        township: String,
        /// The township's 9-digit division code.
        #[arg(long)]
        division_code: Option<String>,
        /// LABEL:TIERSxSLOTS:SIZE:CAPACITY, once per shelf.
        #[arg(long = "shelf", required = true)]
        shelves: Vec<String>,
        /// Pickup code template, default {shelf}-{tier}-{seq:4}.
        #[arg(long)]
        code_format: Option<String>,
        #[arg(long, default_value_t = 7)]
        holding_days: u32,
        /// LAT,LON for route planning.
        #[arg(long)]
        location: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from YIZHAN_NEW_PASSWORD or standard input.
    Add {
        username: String,
        /// admin, county_operator, station_keeper or carrier_integrator.
        #[arg(long)]
        role: String,
        /// For a station keeper: a station id, once per station.
        #[arg(long = "station")]
        stations: Vec<i64>,
        /// For a carrier integrator: the carrier code.
        #[arg(long)]
        carrier: Option<String>,
    },
    /// Issue a long-lived API token (for a carrier's system); printed once.
    Token {
        username: String,
        #[arg(long, default_value_t = 24 * 90)]
        hours: i64,
        #[arg(long, default_value = "api")]
        name: String,
    },
}

#[derive(Subcommand)]
enum RouteCommand {
    /// Solve a routing problem: the JSON format (crates/route/docs/format.md) or a
    /// VRPLIB file (Solomon, CVRPLIB). A progress line runs on standard error.
    Solve {
        file: PathBuf,
        #[arg(long, default_value_t = 1000)]
        time_limit_ms: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Independent searches on this many cores; the best plan wins.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Print the whole solution as JSON (otherwise a summary).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AddressCommand {
    /// Parse free-text addresses, one per input line (standard input, or the
    /// arguments), printing one JSON object per line.
    Parse { texts: Vec<String> },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Durable inbound scans per second and latency, against the raw insert rate.
    Inbound {
        /// Database URL; default a fresh SQLite file in a temporary folder.
        #[arg(long)]
        database: Option<String>,
        #[arg(long, default_value_t = 2000)]
        scans: u32,
    },
    /// Manifest import rows per second: generates a CSV and an .xlsx
    /// manifest and imports each into SQLite (and PostgreSQL when given).
    Import {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// PostgreSQL URL (a fresh schema is created and dropped).
        #[arg(long, env = "YIZHAN_TEST_DATABASE_URL")]
        postgres: Option<String>,
    },
    /// Vehicle routing on the Solomon and CVRPLIB X instances (needs the
    /// shared benchmark folder).
    Route {
        /// Folder holding solomon/ and cvrp-x/.
        #[arg(long)]
        data: Option<PathBuf>,
        /// solomon, x or all.
        #[arg(long, default_value = "solomon")]
        set: String,
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        budgets_ms: Vec<u64>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Only instances whose name starts with this.
        #[arg(long)]
        only: Option<String>,
    },
    /// Address parsing on the shipped labelled sets: accuracy per level and
    /// addresses per second (wall time; the crate's example adds CPU time).
    Address {
        #[arg(long, default_value_t = 100)]
        rounds: usize,
    },
    /// The door terminal: a valid code to the door opening and the slots
    /// lighting at simulated devices, over a real MQTT broker.
    Terminal {
        #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
        mqtt: String,
        #[arg(long, default_value_t = 300)]
        pickups: u32,
    },
    /// The sorting hub: three loads, five seeds, three plans.
    Sort {
        /// Simulations the optimiser may run per hub.
        #[arg(long)]
        budget: Option<u32>,
    },
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("YIZHAN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Logs go to stderr: stdout is for what a command prints (JSON
        // lines of `address parse` and `simulate devices`, the address line
        // of `serve`).
        .with_writer(std::io::stderr)
        .init();
}

pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Arc<Db>> {
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
    };
    let db = Db::connect(&options)
        .await
        .with_context(|| format!("opening database {}", config::redact_url(url)))?;
    Ok(Arc::new(db))
}

/// Errors print as one readable chain of causes, without a backtrace.
fn main() -> std::process::ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("the tokio runtime starts");
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    init_logging();
    let cli = Cli::parse();
    let mut config = config::Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            let db = connect(&config.database.url, config.database.max_connections).await?;
            serve(app_of(db, &config), &config, None).await
        }
        Command::Demo {
            data_dir,
            listen,
            no_serve,
            mqtt,
            no_devices,
        } => {
            config.database.url = format!("sqlite:{}", data_dir.join("yizhan.db").display());
            config.server.listen = listen;
            if !no_devices && !broker::reachable(&mqtt) {
                // A fresh machine has no broker: bring a small one along.
                match broker::start_embedded(&mqtt) {
                    Ok(()) => println!(
                        "devices: no MQTT broker at {mqtt}; started an embedded one for the demo"
                    ),
                    Err(error) => {
                        eprintln!("devices: no MQTT broker at {mqtt} and none embedded: {error}")
                    }
                }
            }
            config.devices.mqtt_url = (!no_devices).then_some(mqtt);
            let db = connect(&config.database.url, config.database.max_connections).await?;
            let app = app_of(db, &config);
            let credentials = demo::seed(&app).await?;
            if no_serve {
                return Ok(());
            }
            serve(app, &config, Some(credentials)).await
        }
        Command::Dispatch {
            centre,
            vans,
            unmanned,
            iterations,
            html,
        } => dispatch(&config, centre, vans, unmanned, iterations, html).await,
        Command::Station {
            what:
                StationCommand::Add {
                    name,
                    township,
                    division_code,
                    shelves,
                    code_format,
                    holding_days,
                    location,
                },
        } => {
            let db = connect(&config.database.url, config.database.max_connections).await?;
            admin::add_station(
                &app_of(db, &config),
                admin::StationArgs {
                    name,
                    township,
                    division_code,
                    shelves,
                    code_format,
                    holding_days,
                    location,
                },
            )
            .await
        }
        Command::User { what } => {
            let db = connect(&config.database.url, config.database.max_connections).await?;
            let app = app_of(db, &config);
            match what {
                UserCommand::Add {
                    username,
                    role,
                    stations,
                    carrier,
                } => admin::add_user(&app, &username, &role, stations, carrier).await,
                UserCommand::Token {
                    username,
                    hours,
                    name,
                } => admin::issue_token(&app, &username, hours, &name).await,
            }
        }
        Command::Reconcile { carrier, from, to } => {
            let db = connect(&config.database.url, config.database.max_connections).await?;
            county::reconcile(&app_of(db, &config), &carrier, from, to).await
        }
        Command::Handover {
            route,
            contractor,
            day,
        } => {
            let db = connect(&config.database.url, config.database.max_connections).await?;
            county::handover(&app_of(db, &config), route, contractor, day).await
        }
        Command::Webhook { what } => {
            let db = connect(&config.database.url, config.database.max_connections).await?;
            webhook_command(&app_of(db, &config), what).await
        }
        Command::Migrate => {
            connect(&config.database.url, 1).await?;
            println!(
                "migrations applied to {}",
                config::redact_url(&config.database.url)
            );
            Ok(())
        }
        Command::Import {
            what: ImportCommand::Manifest { file, carrier },
        } => {
            let db = connect(&config.database.url, config.database.max_connections).await?;
            import::manifest(&app_of(db, &config), &file, &carrier).await
        }
        Command::Bench {
            what: BenchCommand::Inbound { database, scans },
        } => bench::inbound(database, scans).await,
        Command::Bench {
            what: BenchCommand::Terminal { mqtt, pickups },
        } => bench_terminal::terminal(mqtt, pickups).await,
        Command::Bench {
            what: BenchCommand::Import { rows, postgres },
        } => {
            anyhow::ensure!(
                (1..=domain::limits::MANIFEST_ROWS_MAX).contains(&rows),
                "--rows must be 1 to {}",
                domain::limits::MANIFEST_ROWS_MAX
            );
            bench::import(rows, postgres.filter(|url| !url.is_empty())).await
        }
        Command::Bench {
            what: BenchCommand::Sort { budget },
        } => {
            let mut bench_config = sort::bench::BenchConfig::default();
            if let Some(budget) = budget {
                bench_config.budget = budget;
            }
            let origin = std::time::Instant::now();
            let clock_s = move || origin.elapsed().as_secs_f64();
            sort::bench::run(&mut std::io::stdout().lock(), &bench_config, &clock_s)?;
            Ok(())
        }
        Command::Address {
            what: AddressCommand::Parse { texts },
        } => parse_addresses(texts),
        Command::Route {
            what:
                RouteCommand::Solve {
                    file,
                    time_limit_ms,
                    seed,
                    threads,
                    json,
                },
        } => route_solve(&file, time_limit_ms, seed, threads, json),
        Command::Bench {
            what:
                BenchCommand::Route {
                    data,
                    set,
                    budgets_ms,
                    seed,
                    threads,
                    only,
                },
        } => bench::route(data, &set, &budgets_ms, seed, threads, only.as_deref()),
        Command::Bench {
            what: BenchCommand::Address { rounds },
        } => {
            let clocks = address::bench::Clocks {
                wall: &std::time::Instant::now,
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
        Command::SortPlan {
            file,
            generate,
            json,
            html,
            seed,
        } => sort_plan(file, generate, json, html, seed),
        Command::Simulate {
            what: SimulateCommand::Devices { station, mqtt },
        } => {
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            devices::sim::run_printing(
                devices::sim::SimConfig::new(&mqtt, station),
                std::sync::Arc::new(app::ports::SystemClock),
                shutdown,
                &mut std::io::stdout(),
            )
            .await?;
            Ok(())
        }
    }
}

async fn dispatch(
    config: &config::Config,
    centre: Option<String>,
    vans: u32,
    unmanned: u32,
    iterations: u64,
    html: Option<PathBuf>,
) -> anyhow::Result<()> {
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
    let db = connect(&config.database.url, config.database.max_connections).await?;
    let app = app_of(db, config);
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
    if let Some(path) = html {
        std::fs::write(&path, demo::dispatch_page(&plan))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn route_solve(
    file: &std::path::Path,
    time_limit_ms: u64,
    seed: u64,
    threads: usize,
    json: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
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

fn parse_addresses(texts: Vec<String>) -> anyhow::Result<()> {
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

fn sort_plan(
    file: Option<PathBuf>,
    generate: Option<u64>,
    json: bool,
    html: Option<PathBuf>,
    seed: u64,
) -> anyhow::Result<()> {
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
        std::fs::write(path, sort::report::html(&hub, &evaluation))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if json || html.is_none() {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
    }
    Ok(())
}

fn app_of(db: Arc<Db>, config: &config::Config) -> App {
    let mut app = App::new(db, Arc::new(SystemClock));
    app.settings.notice_merge_seconds = config.notify.merge_seconds;
    app.settings.public_url = config
        .web
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    // `serve` refuses an invalid retry policy before it gets here.
    if let Ok(policy) = config.webhooks.retry_policy() {
        app.settings.webhook_retry = policy;
    }
    app
}

/// Connects the devices' side when a broker is configured: the bridge
/// publishes device commands and reports device liveness and checkout
/// scans, which go to the use cases. Without a broker the server runs, and
/// says that doors and lights will not move.
async fn start_devices(app: &mut App, config: &config::Config) -> Option<devices::bridge::Bridge> {
    let url = config.devices.mqtt_url.as_deref()?;
    let client_id = format!("yizhan-server-{}", std::process::id());
    let bridge = match devices::bridge::Bridge::start(
        app.store.clone(),
        app.clock.clone(),
        devices::bridge::BridgeConfig::new(url, &client_id),
    )
    .await
    {
        Ok(bridge) => bridge,
        Err(error) => {
            eprintln!(
                "devices: {error}; doors and lights will not move until the broker is reachable and the server restarts"
            );
            return None;
        }
    };
    app.device_waker = Arc::new(bridge.waker());
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
    println!("devices: connected to the MQTT broker at {url}");
    Some(bridge)
}

/// The command line acts as the county's administrator.
fn system_principal() -> domain::Principal {
    domain::Principal {
        user_id: 0,
        username: "system".into(),
        role: domain::Role::Admin,
        station_ids: vec![],
        carrier: None,
    }
}

async fn webhook_command(app: &App, what: WebhookCommand) -> anyhow::Result<()> {
    let system = system_principal();
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

async fn serve(
    mut app: App,
    config: &config::Config,
    demo_credentials: Option<String>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let address = listener.local_addr()?;
    app.load_secrets().await?;
    let bridge = start_devices(&mut app, config).await;
    // The demo simulates every station's door, lights and scanner.
    let mut _simulators = Vec::new();
    if let (Some(_), Some(url), true) = (
        &bridge,
        &config.devices.mqtt_url,
        demo_credentials.is_some(),
    ) {
        for station in app.store.stations().await? {
            match devices::sim::Simulator::start(
                devices::sim::SimConfig::new(url, station.id),
                app.clock.clone(),
            )
            .await
            {
                Ok(simulator) => _simulators.push(simulator),
                Err(error) => eprintln!("devices: station {} not simulated: {error}", station.id),
            }
        }
        println!(
            "devices: simulating door, lights and checkout scanner at {} stations",
            _simulators.len()
        );
    }
    let sender = senders::from_config(&config.notify)?;
    config.webhooks.retry_policy()?;
    let webhook_sender = senders::HttpWebhookSender::new(std::time::Duration::from_secs(
        config.webhooks.timeout_seconds,
    ))?;
    tokio::spawn(background(app.clone(), sender));
    tokio::spawn(webhook_relay(
        app.clone(),
        webhook_sender,
        std::time::Duration::from_secs(config.webhooks.relay_every_seconds.max(1)),
    ));
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
        secure_cookies: config.web.secure_cookies,
    });
    let router = server::layered(server::api(server::AppState { app }).merge(web));
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

/// Sends due webhook deliveries every few seconds; after a full batch it
/// goes again at once, so a backlog drains at the senders' pace.
async fn webhook_relay(app: App, sender: senders::HttpWebhookSender, every: std::time::Duration) {
    const BATCH: u32 = 100;
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        loop {
            match app.relay_webhooks_once(&sender, BATCH).await {
                Ok(report) if report.n_delivered + report.n_retrying + report.n_failed >= BATCH => {
                    continue;
                }
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = %error, "webhook relay failed");
                    break;
                }
            }
        }
    }
}

/// Relays the outbox every few seconds and runs the holding job hourly.
async fn background(app: App, sender: Arc<dyn app::notify::Sender>) {
    let system = system_principal();
    let mut relay_tick = tokio::time::interval(std::time::Duration::from_secs(5));
    let mut holding_tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    // Idle pickup sessions end within a second of their time-out.
    let mut session_tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = session_tick.tick() => {
                if let Err(error) = app.expire_pickup_sessions().await {
                    tracing::warn!(error = %error, "pickup session expiry failed");
                }
            }
            _ = relay_tick.tick() => {
                if let Err(error) = app.relay_once(sender.as_ref(), 200).await {
                    tracing::warn!(error = %error, "outbox relay failed");
                }
            }
            _ = holding_tick.tick() => {
                if let Err(error) = app.run_holding(&system).await {
                    tracing::warn!(error = %error, "holding job failed");
                }
            }
        }
    }
}

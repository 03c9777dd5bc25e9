//! The `yizhan` binary: logging and the command line's dispatch over
//! commands. The commands are defined in `cli`, the `App` is built in
//! `wiring`, the server and its jobs run in `serve`, and the tools live in
//! `tools`, `admin`, `county`, `import`, `devices_cmd` and `bench`.

mod admin;
mod bench;
mod bench_board;
// branch claims (issue 15).
mod bench_ledger;
mod bench_send;
mod bench_terminal;
// branch vehicles2 (issue 20): telemetry ingest and message-to-alert latency.
mod bench_vehicles;
mod broker;
mod cli;
mod config;
mod county;
mod demo;
mod devices_cmd;
mod import;
mod keys_cmd;
#[cfg(test)]
mod privacy_tests;
mod send_cmd;
mod senders;
mod serve;
mod tools;
#[cfg(test)]
mod webhook_tests;
mod wiring;
// Seeing (issue 16, branch board).
#[cfg(test)]
mod bot_tests;
mod metrics;
mod report_cmd;
// branch kiosks (issue 14): the demo's fleet, `report kiosks`, `bench kiosks`.
mod kiosks_cmd;
// branch presale (issue 14): the demo's campaign, `report presale`.
mod presale_cmd;
// Branch money (issue 15): `yizhan ledger check`; branch arrears: `yizhan arrears`.
mod finance_cmd;
// Branch vehicles (issue 20): `yizhan simulate vehicles`.
mod sim_vehicles;
// The sorting hub's board (issue 16, point 4): `yizhan hub`, the demo hub.
mod hub_cmd;

use clap::Parser;
use cli::{
    AddressCommand, Cli, Command, ImportCommand, RetentionCommand, RouteCommand, SimulateCommand,
    StationCommand,
};

/// Logging at `default` unless `YIZHAN_LOG` says otherwise. The demo logs
/// warnings only: its first run seeds about 1,300 messages, and a line each
/// buried the URL and the sign-ins (issue 13).
fn init_logging(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("YIZHAN_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Logs go to stderr: stdout is for what a command prints (JSON
        // lines of `address parse` and `simulate devices`, the address line
        // of `serve`).
        .with_writer(std::io::stderr)
        .init();
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
    let cli = Cli::parse();
    init_logging(match cli.command {
        Command::Demo(_) => "warn",
        _ => "info,sqlx=warn,tower_http=warn",
    });
    let config = config::Config::load(cli.config.as_deref())?;
    let app = || wiring::build(&config);
    match cli.command {
        Command::Serve { listen, demo } => serve::serve_command(config, listen, demo).await,
        Command::Demo(args) => serve::demo_command(config, args).await,
        Command::Migrate => tools::migrate(&config).await,
        Command::Keys { what } => keys_cmd::command(&config, what).await,
        Command::Retention {
            what: RetentionCommand::Run,
        } => keys_cmd::retention_run(&app().await?).await,
        Command::Station {
            what: StationCommand::Add(args),
        } => admin::add_station(&app().await?, args).await,
        Command::User { what } => admin::user_command(&app().await?, what).await,
        Command::Webhook { what } => tools::webhook_command(&app().await?, what).await,
        Command::Import {
            what:
                ImportCommand::Manifest {
                    file,
                    carrier,
                    json,
                },
        } => import::manifest(&app().await?, &file, &carrier, json).await,
        Command::Audit { what } => admin::audit_command(&app().await?, what).await,
        Command::Compliance { what } => admin::compliance_command(&app().await?, what).await,
        Command::Reconcile { carrier, from, to } => {
            county::reconcile(&app().await?, &carrier, from, to).await
        }
        Command::Handover {
            route,
            contractor,
            day,
        } => county::handover(&app().await?, route, contractor, day).await,
        Command::Dispatch(args) => tools::dispatch(&config, args).await,
        Command::Route {
            what: RouteCommand::Solve(args),
        } => tools::route_solve(args),
        Command::Address {
            what: AddressCommand::Parse { texts },
        } => tools::parse_addresses(texts),
        Command::SortPlan(args) => tools::sort_plan(args),
        Command::Send { what } => send_cmd::command(what, &config),
        Command::Bench { what } => bench::command(what).await,
        Command::Devices { what } => devices_cmd::command(&config, what).await,
        Command::Simulate {
            what:
                SimulateCommand::Devices {
                    station,
                    mqtt,
                    credentials,
                    memory_dir,
                },
        } => {
            devices_cmd::simulate(&config, station, &mqtt, credentials.as_deref(), &memory_dir)
                .await
        }
        Command::Simulate {
            what:
                SimulateCommand::Vehicles {
                    vehicles,
                    minutes,
                    faults,
                    seed,
                    json,
                    mqtt,
                },
        } => sim_vehicles::command(&config, vehicles, minutes, &faults, seed, json, mqtt).await,
        Command::Report {
            what:
                cli::ReportCommand::Daily {
                    day,
                    xlsx,
                    push,
                    bot,
                },
        } => report_cmd::daily(&config, day, xlsx, push, bot).await,
        Command::Report {
            what: cli::ReportCommand::Kiosks { day, json },
        } => kiosks_cmd::report(&config, day, json).await,
        Command::Report {
            what: cli::ReportCommand::Presale { campaign, json },
        } => presale_cmd::report(&config, campaign, json).await,
        Command::Ledger {
            what: cli::LedgerCommand::Receipts { day, push, bot },
        } => finance_cmd::receipts(&config, day, push, bot).await,
        Command::Ledger { what } => finance_cmd::ledger(&app().await?, what).await,
        Command::Arrears { json } => finance_cmd::arrears(&app().await?, json).await,
        Command::Hub { what } => hub_cmd::command(&app().await?, what).await,
    }
}

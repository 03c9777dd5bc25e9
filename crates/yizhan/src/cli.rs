//! The command line's definitions (clap): every command, its flags and
//! their help. What each command does lives in `serve`, `tools`, `admin`,
//! `county`, `import` and `bench`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "yizhan",
    version,
    about = "驿站 — county and village express delivery"
)]
pub struct Cli {
    /// Configuration file (TOML); YIZHAN_* environment variables override it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the API with the configured database.
    Serve {
        #[arg(long)]
        listen: Option<String>,
        /// Serve even though users still have the demo password published in
        /// the README (a demo county only; `serve` refuses otherwise).
        #[arg(long)]
        demo: bool,
    },
    /// Create a demo county (first run only) in DATA_DIR, print the URL and
    /// demo credentials, and serve.
    Demo(DemoArgs),
    /// Run database migrations and exit.
    Migrate,
    /// The key file: personal data's encryption keys and the server's
    /// signing keys (docs/privacy.md).
    Keys {
        #[command(subcommand)]
        what: KeysCommand,
    },
    /// Personal data's retention: erase and prune what is past its period.
    Retention {
        #[command(subcommand)]
        what: RetentionCommand,
    },
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
    /// Station devices' broker credentials (docs/devices.md).
    Devices {
        #[command(subcommand)]
        what: DevicesCommand,
    },
    /// Import data files.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Plan a sorting hub: read a layout with volumes (JSON or TOML, see
    /// crates/sort/FORMAT.md), optimise the chute plan, simulate it against
    /// the code-order and greedy baselines.
    SortPlan(SortPlanArgs),
    /// Vehicle routing.
    Route {
        #[command(subcommand)]
        what: RouteCommand,
    },
    /// Plan the day's routes for the parcels waiting at the county centre.
    Dispatch(DispatchArgs),
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
    /// The audit trail (docs/security.md): verify its hash chain, or print
    /// its head.
    Audit {
        #[command(subcommand)]
        what: AuditCommand,
    },
    /// Compliance checks (docs/security.md): run every rule now and print
    /// what each found, or list the findings.
    Compliance {
        #[command(subcommand)]
        what: ComplianceCommand,
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
    /// Sending (寄件, issue 14): price an item by the tariff.
    Send {
        #[command(subcommand)]
        what: SendCommand,
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
    /// Reports for the county's managers (docs/operations.md).
    Report {
        #[command(subcommand)]
        what: ReportCommand,
    },
    /// The double-entry ledger (docs/finance.md).
    Ledger {
        #[command(subcommand)]
        what: LedgerCommand,
    },
    /// The arrears ledger (欠费台账, docs/finance.md): each debtor with what
    /// it still owes per ageing bucket (not due, 1–30, 31–60, 61–90, over 90
    /// Shanghai days past the due day), in fen, the largest debtor first.
    Arrears {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// The sorting hub's board (issue 16, point 4; crates/sort/LOG.md):
    /// adopt a plan, import the hub's logs, print a day's indicators.
    Hub {
        #[command(subcommand)]
        what: HubCommand,
    },
}

/// Branch board (issue 16).
#[derive(Subcommand)]
pub enum ReportCommand {
    /// The daily report (日报) for a Shanghai day (default yesterday):
    /// prints the group message's markdown; `--xlsx` writes the workbook;
    /// `--push` queues it for the group robot and sends it.
    Daily {
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
        #[arg(long)]
        xlsx: Option<std::path::PathBuf>,
        #[arg(long)]
        push: bool,
        /// The robot (`[bots.NAME]`); default `report.bot`.
        #[arg(long)]
        bot: Option<String>,
    },
    /// Branch kiosks (issue 14): the kiosk fleet's daily report (每日通报)
    /// for a Shanghai day (default yesterday): placed, active, active share,
    /// orders, items collected and revenue, by branch, scenario and staff.
    Kiosks {
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
        /// Print the whole report as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Branch presale (issue 14): a community pre-sale campaign's report:
    /// orders, stored at stations, waiting, picked up, home delivery and
    /// revenue, in total and per station.
    Presale {
        #[arg(long)]
        campaign: i64,
        /// Print the report as one JSON document.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Verify the ledger: debits equal credits, every cached balance equals
    /// the sum of its transfers, no transfer was changed (the hash chain),
    /// every accrued fee is posted. Prints the totals; exits non-zero on any
    /// break.
    Check {
        /// Print the whole check as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Import a bank statement (CSV in UTF-8 or GBK, or .xlsx, as online
    /// banking exports it) into unapplied cash: each line of money received
    /// once, however often it is imported; bad rows are listed and the good
    /// ones kept.
    ImportBank {
        file: std::path::PathBuf,
        /// Print the report as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// The money received on a bank day (到账通报, default today): prints
    /// the group message; `--push` queues it for the group robot and sends
    /// it.
    Receipts {
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
        #[arg(long)]
        push: bool,
        /// The robot (`[bots.NAME]`); default `report.bot`.
        #[arg(long)]
        bot: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the chain from the first row: print the count and the head hash,
    /// or name the first broken row and fail.
    Verify,
    /// Print the last row's sequence and hash.
    Head,
}

#[derive(Subcommand)]
pub enum ComplianceCommand {
    /// Run every rule now; one JSON document with what each saw and found.
    Run,
    /// Findings as JSON lines, oldest first (--status open|explained|fixed|escalated).
    List {
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum SimulateCommand {
    /// A station's door controller, light strip and checkout scanner on an
    /// MQTT broker (docs/devices.md), printing the station's state as JSON
    /// lines. With `--credentials` (a file from `yizhan devices provision`)
    /// they log in as provisioned; without, they connect anonymously with
    /// command keys from the configured database (a demo's broker).
    Devices {
        #[arg(long)]
        station: Option<i64>,
        #[arg(long, env = "YIZHAN_MQTT_URL", default_value = "mqtt://127.0.0.1:1883")]
        mqtt: String,
        #[arg(long)]
        credentials: Option<PathBuf>,
        /// Where the devices keep the command ids they acted on, so a
        /// restart does not forget them (docs/devices.md).
        #[arg(long, default_value = "yizhan-data/device-memory")]
        memory_dir: PathBuf,
    },
    /// A county's day of unmanned delivery vehicles through the real bus
    /// and rules (docs/devices.md, "Simulating vehicles"): stations and
    /// parcels in a throwaway database, the day's plan as missions, each
    /// vehicle publishing telemetry at 1 Hz of simulated time, obeying the
    /// rules' commands, with faults injected; a simulated safety operator
    /// handles every incident. Prints one JSON object: per fault kind the
    /// faults injected and the alerts raised, the take-overs, where every
    /// parcel ended. Simulated time runs as fast as the system takes each
    /// second's messages.
    Vehicles {
        #[arg(long, default_value_t = 8)]
        vehicles: u32,
        /// The day's length in simulated minutes from the first departure;
        /// vehicles still out then are called home.
        #[arg(long, default_value_t = 480)]
        minutes: u32,
        /// `all`, or kinds separated by commas: speeding, geofence_breach,
        /// link_loss, low_battery, emergency_stop, compartment_jam.
        #[arg(long, default_value = "")]
        faults: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// One line of JSON (otherwise indented).
        #[arg(long)]
        json: bool,
        /// The broker; default the configured one (`devices.mqtt_url`),
        /// else mqtt://127.0.0.1:1883, with the demo's embedded broker
        /// started there when nothing listens.
        #[arg(long)]
        mqtt: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum DevicesCommand {
    /// Make a station's devices' broker logins and command keys: writes them
    /// (with the broker URL and CA) to `--out` for the station's controller,
    /// and prints the Mosquitto password-file and ACL lines for the broker.
    /// Running it again makes new passwords (the old lines stop working once
    /// replaced at the broker); command keys stay the same.
    Provision {
        #[arg(long)]
        station: i64,
        /// The broker URL the devices use, e.g. mqtts://broker.example:8883.
        #[arg(long)]
        mqtt: String,
        /// The CA certificate (PEM) that signed the broker's certificate.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Where to write the devices' credentials (JSON, mode 0600).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "front")]
        door: String,
        #[arg(long, default_value = "shelves")]
        lights: String,
        #[arg(long, default_value = "checkout")]
        scanner: String,
    },
    /// Make the server's own broker login: prints its password-file and ACL
    /// lines and the password for `devices.mqtt_password`.
    ServerLogin {
        #[arg(long, default_value = "yizhan-server")]
        username: String,
    },
    /// Certify a door controller or light strip: drives the device on the
    /// broker through every case of protocol 1.0 (docs/devices.md) and
    /// prints a pass/fail report. Speaks as the server (its broker login
    /// from the configuration, or --username/--password). Exits non-zero
    /// unless every case passed.
    Conformance(ConformanceArgs),
}

#[derive(Args)]
pub struct ConformanceArgs {
    #[arg(long)]
    pub station: i64,
    #[arg(long)]
    pub device: String,
    /// door or lights; by default from --credentials, or `front` is a
    /// door and `shelves` lights.
    #[arg(long)]
    pub kind: Option<String>,
    /// The broker; by default devices.mqtt_url of the configuration.
    #[arg(long)]
    pub broker: Option<String>,
    /// A login that may publish commands; by default the server's
    /// (devices.mqtt_username and devices.mqtt_password).
    #[arg(long, requires = "password")]
    pub username: Option<String>,
    #[arg(long, requires = "username", env = "YIZHAN_CONFORMANCE_PASSWORD")]
    pub password: Option<String>,
    /// The broker's CA certificate (PEM) for mqtts://; by default
    /// devices.mqtt_ca_file.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The station's provisioning file, for the device's command key;
    /// without it the key is derived from the configured database's.
    #[arg(long)]
    pub credentials: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Skip the two cases that need the device switched off and on
    /// (the report then does not pass).
    #[arg(long)]
    pub no_power_cycle: bool,
    /// How long the device may take to answer a command, ms.
    #[arg(long, default_value_t = 5000)]
    pub answer_within_ms: u64,
    /// How long to wait for the device to go offline or come back, s.
    #[arg(long, default_value_t = 120)]
    pub power_cycle_within_s: u64,
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// A carrier's manifest as CSV or .xlsx: waybill,recipient_name,phone,address,station_id,size,consent,weight_grams
    /// (formats in docs/county.md). Exits 1 when a row was refused.
    Manifest {
        file: PathBuf,
        #[arg(long)]
        carrier: String,
        /// Print the outcome as one JSON object on stdout (refused rows
        /// included) instead of lines.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum WebhookCommand {
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
pub enum StationCommand {
    /// e.g. `yizhan station add --name 石桥村驿站 --township 石桥镇 --shelf A:4x10:small:2 --shelf D:2x6:large:1`
    Add(StationArgs),
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from YIZHAN_NEW_PASSWORD or standard input.
    Add {
        username: String,
        /// admin, county_operator, station_keeper, carrier_integrator,
        /// compliance_officer or auditor.
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
    /// Disable an account: it cannot sign in and its tokens stop working at once.
    Disable { username: String },
    /// Enable a disabled account again (its old tokens stay ended).
    Enable { username: String },
    /// End every token of an account (a lost tablet, a leaked carrier token).
    RevokeTokens { username: String },
    /// Set an account's password (forgotten, or the demo password of a county
    /// going live), read from YIZHAN_NEW_PASSWORD or standard input; every
    /// token of the account ends.
    Password { username: String },
}

#[derive(Subcommand)]
pub enum RouteCommand {
    /// Solve a routing problem: the JSON format (crates/route/docs/format.md) or a
    /// VRPLIB file (Solomon, CVRPLIB). A progress line runs on standard error.
    Solve(RouteSolveArgs),
}

#[derive(Subcommand)]
pub enum AddressCommand {
    /// Parse free-text addresses, one per input line (standard input, or the
    /// arguments), printing one JSON object per line.
    Parse { texts: Vec<String> },
}

#[derive(Subcommand)]
pub enum BenchCommand {
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
    Route(BenchRouteArgs),
    /// Vehicles' telemetry (issue 20): N simulated vehicles at 1 Hz of wall
    /// time through the real broker, bridge and safe-driving rules;
    /// messages per second and message-to-alert latency percentiles.
    Vehicles {
        /// The broker (the demo's embedded one is started there if nothing
        /// listens).
        #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
        mqtt: String,
        #[arg(long, default_value_t = 200)]
        vehicles: u32,
        /// How long the vehicles publish.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
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
        /// Wrong sign-ins sent while the pickups run: half over the API
        /// from one address (the throttle's case), half straight to the use
        /// case from as many addresses and usernames (what no per-key
        /// throttle stops: each runs argon2).
        #[arg(long, default_value_t = 0)]
        sign_in_flood: u32,
    },
    /// The sorting hub: three loads, five seeds, three plans.
    Sort {
        /// Simulations the optimiser may run per hub.
        #[arg(long)]
        budget: Option<u32>,
    },
    /// Branch kiosks (issue 14): the kiosk fleet's daily report over a
    /// generated fleet and its order history, timed day by day.
    Kiosks {
        #[arg(long, default_value_t = 300)]
        kiosks: usize,
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// PostgreSQL URL (a fresh schema is created and dropped); default SQLite.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// The county board at scale (issue 16): generates about a year of a
    /// busy county into a fresh SQLite file (and PostgreSQL schema when
    /// given), then times the board's queries, the daily report, the
    /// daily roll-up and inbound scans beside it.
    Board {
        /// Parcels to generate (each with its events, routing and fee).
        #[arg(long, default_value_t = 10_000_000)]
        parcels: u64,
        /// Shanghai days the parcels are spread over, ending yesterday.
        #[arg(long, default_value_t = 365)]
        days: u32,
        #[arg(long, default_value_t = 300)]
        stations: u32,
        /// SQLite file to write and keep (must not exist); default a
        /// temporary file.
        #[arg(long)]
        sqlite: Option<PathBuf>,
        /// PostgreSQL URL (a fresh schema is created and dropped).
        #[arg(long)]
        postgres: Option<String>,
        /// Timed board queries per range.
        #[arg(long, default_value_t = 20)]
        queries: u32,
        /// Inbound scans timed without and with the roll-up running.
        #[arg(long, default_value_t = 1000)]
        scans: u32,
    },
    /// Branch claims (issue 15): ledger transfers posted per second into
    /// SQLite (and PostgreSQL when given) against the raw insert rate of
    /// the same rows.
    Ledger {
        #[arg(long, default_value_t = 20_000)]
        transfers: u32,
        /// PostgreSQL URL (a fresh schema is created and dropped).
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Sending (issue 14): one sender's orders through the use cases — the
    /// quote, order creation with inspection, quote and submission timed as
    /// one (goal p99 under 50 ms), the payment callback, and the label as
    /// ZPL, TSPL and PDF.
    Send {
        #[arg(long, default_value_t = 2_000)]
        orders: u32,
        /// PostgreSQL URL (a fresh schema is created and dropped); default SQLite.
        #[arg(long)]
        postgres: Option<String>,
    },
}

// The argument groups below are the larger commands' flags, kept as structs
// so the code running a command takes them whole. They carry no doc comment
// of their own: the command's help text is the variant's.

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, default_value = "yizhan-data")]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Seed only, then exit (for tests).
    #[arg(long)]
    pub no_serve: bool,
    /// The MQTT broker for the stations' doors and lights; the demo
    /// simulates every station's devices on it.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt: String,
    /// Run without devices (no broker needed).
    #[arg(long, conflicts_with = "simulate_devices_except")]
    pub no_devices: bool,
    /// Keep the broker but do not simulate this station's devices
    /// (`STATION`) or this one device (`STATION:DEVICE`, e.g. `1:front`),
    /// so a real controller can take its place. Repeatable.
    #[arg(long = "simulate-devices-except", value_name = "STATION[:DEVICE]", value_parser = parse_except)]
    pub simulate_devices_except: Vec<(i64, Option<String>)>,
}

/// `7` or `7:front`.
fn parse_except(text: &str) -> Result<(i64, Option<String>), String> {
    let (station, device) = match text.split_once(':') {
        Some((station, device)) => (station, Some(device)),
        None => (text, None),
    };
    let station = station
        .trim()
        .parse::<i64>()
        .map_err(|_| format!("{text:?}: expected STATION or STATION:DEVICE, e.g. 1 or 1:front"))?;
    match device.map(str::trim) {
        Some(device)
            if device.is_empty()
                || !device
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            Err(format!(
                "{text:?}: a device id is letters, digits and '-', e.g. 1:front"
            ))
        }
        device => Ok((station, device.map(str::to_string))),
    }
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Write a new key file (mode 0600); refuses to overwrite one.
    Init {
        /// Where to write it; default: YIZHAN_KEYS_FILE or keys.file.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Take over the keys an older version kept in the database
        /// (`server_secrets`), so QR codes, console sessions and device
        /// credentials issued before keep working, then remove them there.
        #[arg(long)]
        import: bool,
    },
    /// Add a data key, make it current and re-seal every value under it, in
    /// batches (resumable: any later start, or `keys reseal`, goes on).
    Rotate,
    /// Re-seal values still in plain text or under an older data key.
    Reseal,
}

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Run retention once and print the counts per kind as JSON.
    Run,
}

#[derive(Args)]
pub struct SortPlanArgs {
    /// Layout file; `--generate SEED` instead makes one from published figures.
    pub file: Option<PathBuf>,
    #[arg(long, conflicts_with = "file")]
    pub generate: Option<u64>,
    /// Print the plan and indicators as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write a page with the chute map and indicators.
    #[arg(long)]
    pub html: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The page's language: zh (default) or en.
    #[arg(long, default_value = "zh", value_parser = ["zh", "en"])]
    pub lang: String,
}

#[derive(Args)]
pub struct DispatchArgs {
    /// The county centre, `LAT,LON` (default: the demo county's).
    #[arg(long)]
    pub centre: Option<String>,
    #[arg(long, default_value_t = 2)]
    pub vans: u32,
    #[arg(long, default_value_t = 2)]
    pub unmanned: u32,
    #[arg(long, default_value_t = 2000)]
    pub iterations: u64,
    /// Write the plan as a page (map and each driver's route list).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// The page's language: zh (default) or en.
    #[arg(long, default_value = "zh", value_parser = ["zh", "en"])]
    pub lang: String,
}

#[derive(Args)]
pub struct StationArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub township: String,
    /// The township's 9-digit division code.
    #[arg(long)]
    pub division_code: Option<String>,
    /// LABEL:TIERSxSLOTS:SIZE:CAPACITY, once per shelf.
    #[arg(long = "shelf", required = true)]
    pub shelves: Vec<String>,
    /// Pickup code template, default {shelf}-{tier}-{code:6} (N random digits in {code:N}, 6 to 8).
    #[arg(long)]
    pub code_format: Option<String>,
    #[arg(long, default_value_t = 7)]
    pub holding_days: u32,
    /// LAT,LON for route planning.
    #[arg(long)]
    pub location: Option<String>,
}

#[derive(Args)]
pub struct RouteSolveArgs {
    pub file: PathBuf,
    #[arg(long, default_value_t = 1000)]
    pub time_limit_ms: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Independent searches on this many cores; the best plan wins.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Print the whole solution as JSON (otherwise a summary).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct BenchRouteArgs {
    /// Folder holding solomon/ and cvrp-x/.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// solomon, x or all.
    #[arg(long, default_value = "solomon")]
    pub set: String,
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub budgets_ms: Vec<u64>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Only instances whose name starts with this.
    #[arg(long)]
    pub only: Option<String>,
}

#[derive(Subcommand)]
pub enum SendCommand {
    /// Quote a price from one NBS division to another by the tariff in
    /// effect (the shipped tariff unless --tariff names a file).
    Quote(SendQuoteArgs),
}

#[derive(Args)]
pub struct SendQuoteArgs {
    /// The origin's division code (2 to 12 digits, e.g. 510182).
    #[arg(long)]
    pub from: String,
    /// The destination's division code.
    #[arg(long)]
    pub to: String,
    /// The actual weight in grams.
    #[arg(long)]
    pub weight_grams: u32,
    /// Length x width x height in whole centimetres (30x20x10).
    #[arg(long)]
    pub size: Option<String>,
    /// The inspection category, for surcharges that name one (liquids, food, …).
    #[arg(long)]
    pub category: Option<String>,
    /// A tariff file (TOML, the format of crates/domain/tariffs/default.toml).
    #[arg(long)]
    pub tariff: Option<PathBuf>,
    /// The Shanghai day whose tariff version applies (default today).
    #[arg(long)]
    pub day: Option<chrono::NaiveDate>,
    /// Print the whole quote as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The sorting hub's board (issue 16, point 4; crates/sort/LOG.md).
#[derive(Subcommand)]
pub enum HubCommand {
    /// Adopt a plan for the hub: a layout file (crates/sort/FORMAT.md) or
    /// `--generate SEED`, optimised and simulated as `sort-plan` does.
    Adopt {
        file: Option<std::path::PathBuf>,
        #[arg(long, conflicts_with = "file")]
        generate: Option<u64>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        name: String,
    },
    /// Import the sorter's item log or the yard's truck log (CSV or .xlsx).
    Import {
        file: std::path::PathBuf,
        /// items or trucks
        #[arg(long, value_parser = ["items", "trucks"])]
        kind: String,
        #[arg(long)]
        json: bool,
    },
    /// The hub's indicators for a Shanghai day (default yesterday).
    Report {
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
        #[arg(long)]
        json: bool,
    },
    /// Write a simulated day's item and truck logs for the plan in force.
    Simulate {
        #[arg(long)]
        day: Option<chrono::NaiveDate>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        items: std::path::PathBuf,
        #[arg(long)]
        trucks: std::path::PathBuf,
    },
}

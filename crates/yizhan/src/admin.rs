//! Setting a county up from the command line: stations with their shelves,
//! users with roles, and long-lived API tokens for carriers' systems.

use crate::cli::{StationArgs, UserCommand};
use anyhow::Context;
use app::App;
use app::auth::NewUser;
use app::ports::{GeoPoint, NewStation};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Role};

/// `A:4x10:small:2` — shelf label, tiers × slots per tier, size class,
/// parcels per slot.
pub fn parse_shelf(text: &str) -> anyhow::Result<ShelfSpec> {
    let parts: Vec<&str> = text.split(':').collect();
    let [label, grid, size, capacity] = parts.as_slice() else {
        anyhow::bail!("shelf {text:?}: write LABEL:TIERSxSLOTS:SIZE:CAPACITY, e.g. A:4x10:small:2");
    };
    let (tiers, slots) = grid
        .split_once('x')
        .ok_or_else(|| anyhow::anyhow!("shelf {text:?}: the grid is TIERSxSLOTS, e.g. 4x10"))?;
    Ok(ShelfSpec {
        label: label.to_string(),
        tiers: tiers
            .parse()
            .with_context(|| format!("shelf {text:?}: tiers"))?,
        slots_per_tier: slots
            .parse()
            .with_context(|| format!("shelf {text:?}: slots per tier"))?,
        size: SizeClass::parse(size).map_err(anyhow::Error::msg)?,
        slot_capacity: capacity
            .parse()
            .with_context(|| format!("shelf {text:?}: capacity"))?,
    })
}

pub async fn add_station(app: &App, args: StationArgs) -> anyhow::Result<()> {
    let name = domain::limits::text_field("name", &args.name, domain::limits::NAME_CHARS_MAX)
        .map_err(anyhow::Error::msg)?;
    let shelves = args
        .shelves
        .iter()
        .map(|s| parse_shelf(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let location = match args.location {
        Some(text) => {
            let (lat, lon) = text
                .split_once(',')
                .ok_or_else(|| anyhow::anyhow!("--location takes LAT,LON"))?;
            let point = GeoPoint {
                lat: lat.trim().parse().context("latitude")?,
                lon: lon.trim().parse().context("longitude")?,
            };
            anyhow::ensure!(point.is_valid(), "--location is not a point on Earth");
            Some(point)
        }
        None => None,
    };
    let code_format = match args.code_format {
        Some(format) => CodeFormat::parse(&format)?,
        None => CodeFormat::default(),
    };
    let holding = HoldingPolicy::new(
        args.holding_days,
        HoldingPolicy::default()
            .reminder_days
            .into_iter()
            .filter(|d| *d < args.holding_days)
            .collect(),
    )
    .map_err(anyhow::Error::msg)?;
    let station = NewStation {
        name: name.to_string(),
        township: args.township,
        division_code: args.division_code,
        location,
        code_format,
        holding,
        slots: lay_out(&shelves)?,
    };
    let created = app
        .create_station(&crate::wiring::system_principal(), &station)
        .await?;
    println!(
        "station {} created: {} ({} slots)",
        created.id,
        created.name,
        station.slots.len()
    );
    Ok(())
}

/// `yizhan user add|token|disable|enable|revoke-tokens`.
pub async fn user_command(app: &App, what: UserCommand) -> anyhow::Result<()> {
    match what {
        UserCommand::Add {
            username,
            role,
            stations,
            carrier,
        } => add_user(app, &username, &role, stations, carrier).await,
        UserCommand::Token {
            username,
            hours,
            name,
        } => issue_token(app, &username, hours, &name).await,
        UserCommand::Disable { username } => {
            let done = app
                .disable_user(&crate::wiring::system_principal(), &username)
                .await?;
            println!(
                "user {} disabled; {} token(s) revoked",
                done.username, done.tokens_revoked
            );
            Ok(())
        }
        UserCommand::Enable { username } => {
            let done = app
                .enable_user(&crate::wiring::system_principal(), &username)
                .await?;
            println!("user {} enabled", done.username);
            Ok(())
        }
        UserCommand::Password { username } => {
            let password = new_password(&username)?;
            let done = app
                .set_user_password(&crate::wiring::system_principal(), &username, &password)
                .await?;
            println!(
                "user {}: password set; {} token(s) revoked",
                done.username, done.tokens_revoked
            );
            Ok(())
        }
        UserCommand::RevokeTokens { username } => {
            let done = app
                .revoke_user_tokens(&crate::wiring::system_principal(), &username)
                .await?;
            println!(
                "user {}: {} token(s) revoked",
                done.username, done.tokens_revoked
            );
            Ok(())
        }
    }
}

pub async fn add_user(
    app: &App,
    username: &str,
    role: &str,
    stations: Vec<i64>,
    carrier: Option<String>,
) -> anyhow::Result<()> {
    let role = Role::parse(role).map_err(anyhow::Error::msg)?;
    let carrier = carrier
        .map(|c| Carrier::parse(&c))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    // The password comes from the environment or standard input, never the
    // command line, where it would stay in shell history and process lists.
    let password = new_password(username)?;
    let id = app
        .create_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password,
            role,
            carrier,
            station_ids: stations,
        })
        .await?;
    println!("user {id} created: {username} ({})", role.code());
    Ok(())
}

pub async fn issue_token(app: &App, username: &str, hours: i64, name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=24 * 366).contains(&hours),
        "--hours must be 1 to {}",
        24 * 366
    );
    let user = app
        .store
        .user_by_name(username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user {username:?}"))?;
    let token = app
        .issue_api_token(&app::audit::Actor::system("cli"), user.id, name, hours)
        .await?;
    // The token is printed once, to standard output only; it is stored hashed.
    println!("{token}");
    Ok(())
}

/// `yizhan audit verify|head`: walks the chain (names the first broken row
/// and fails), or prints the head for a copy kept elsewhere.
pub async fn audit_command(app: &App, what: crate::cli::AuditCommand) -> anyhow::Result<()> {
    let system = crate::wiring::system_principal();
    match what {
        crate::cli::AuditCommand::Verify => {
            let report = app.verify_audit(&system).await?;
            let head = match (&report.head_seq, &report.head_hash) {
                (Some(seq), Some(hash)) => format!("head #{seq} {hash}"),
                _ => "empty".to_string(),
            };
            match &report.broken {
                None => {
                    println!("audit trail intact: {} rows, {head}", report.count);
                    Ok(())
                }
                Some(broken) => anyhow::bail!(
                    "audit trail broken at row #{} ({}): {} rows, {head}",
                    broken.seq,
                    broken.reason.code(),
                    report.count
                ),
            }
        }
        crate::cli::AuditCommand::Head => {
            match app.audit_head(&system).await? {
                Some(row) => println!("audit head #{} {}", row.seq, row.hash),
                None => println!("audit trail empty"),
            }
            Ok(())
        }
    }
}

/// `yizhan compliance run|list`.
pub async fn compliance_command(
    app: &App,
    what: crate::cli::ComplianceCommand,
) -> anyhow::Result<()> {
    let system = crate::wiring::system_principal();
    match what {
        crate::cli::ComplianceCommand::Run => {
            let run = app.run_compliance(&system).await?;
            println!("{}", serde_json::to_string_pretty(&run)?);
        }
        crate::cli::ComplianceCommand::List { status } => {
            let status = status
                .map(|s| {
                    domain::compliance::FindingStatus::parse(&s).ok_or_else(|| {
                        anyhow::anyhow!("--status is open, explained, fixed or escalated")
                    })
                })
                .transpose()?;
            for finding in app.findings(&system, status).await? {
                println!("{}", serde_json::to_string(&finding)?);
            }
        }
    }
    Ok(())
}

/// A new password from YIZHAN_NEW_PASSWORD or one line of standard input,
/// never the command line, where it would stay in shell history and
/// process lists.
fn new_password(username: &str) -> anyhow::Result<String> {
    match std::env::var("YIZHAN_NEW_PASSWORD") {
        Ok(password) => Ok(password),
        Err(_) => {
            eprintln!("password for {username} (one line on standard input):");
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password")?;
            Ok(line.trim_end_matches(['\r', '\n']).to_string())
        }
    }
}

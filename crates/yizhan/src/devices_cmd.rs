//! `yizhan devices provision|server-login|conformance` (broker logins,
//! command keys, Mosquitto lines, certification) and `yizhan simulate
//! devices`.

use crate::cli::{ConformanceArgs, DevicesCommand};
use crate::config::Config;
use crate::wiring;
use anyhow::Context;
use devices::auth::{self, StationCredentials};
use std::path::Path;

pub async fn command(config: &Config, what: DevicesCommand) -> anyhow::Result<()> {
    match what {
        DevicesCommand::Provision {
            station,
            mqtt,
            ca,
            out,
            door,
            lights,
            scanner,
        } => {
            devices::mqtt::parse_broker_url(&mqtt)?;
            let ca_pem =
                match &ca {
                    Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
                        format!("reading the CA certificate {}", path.display())
                    })?),
                    None => None,
                };
            anyhow::ensure!(
                !mqtt.starts_with("mqtts://") || ca_pem.is_some(),
                "an mqtts:// broker needs --ca (the CA certificate that signed the broker's)"
            );
            let app = wiring::build(config).await?;
            anyhow::ensure!(
                app.store.station(station).await?.is_some(),
                "there is no station {station}"
            );
            let server = wiring::device_key(&app).await?;
            let (credentials, password_lines, acl) = auth::provision_station(
                &server,
                station,
                &mqtt,
                ca_pem,
                [&door, &lights, &scanner],
            );
            write_private(&out, &serde_json::to_string_pretty(&credentials)?)?;
            eprintln!(
                "devices: credentials for station {station} written to {} (copy it to the station's controller; it holds passwords and keys)",
                out.display()
            );
            println!("# Mosquitto password_file lines (append; reload the broker):");
            print!("{password_lines}");
            println!("# Mosquitto acl_file lines (append):");
            print!("{acl}");
            Ok(())
        }
        DevicesCommand::ServerLogin { username } => {
            let (password, line, acl) = auth::provision_server(&username);
            println!("# Mosquitto password_file line:");
            println!("{line}");
            println!("# Mosquitto acl_file lines:");
            print!("{acl}");
            println!("# yizhan configuration (yizhan.toml [devices], or the environment):");
            println!("YIZHAN_DEVICES__MQTT_USERNAME={username}");
            println!("YIZHAN_DEVICES__MQTT_PASSWORD={password}");
            Ok(())
        }
        DevicesCommand::Conformance(args) => conformance(config, args).await,
    }
}

fn read_credentials(path: &Path) -> anyhow::Result<StationCredentials> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a credentials file from `yizhan devices provision`",
            path.display()
        )
    })
}

/// `yizhan devices conformance`: runs the suite against one device and
/// prints its report; fails unless every case passed.
async fn conformance(config: &Config, args: ConformanceArgs) -> anyhow::Result<()> {
    use devices::DeviceKind;
    let credentials = args
        .credentials
        .as_deref()
        .map(read_credentials)
        .transpose()?;
    if let Some(credentials) = &credentials {
        anyhow::ensure!(
            credentials.station_id == args.station,
            "the credentials are for station {}, not {}",
            credentials.station_id,
            args.station
        );
    }
    let from_file = credentials.as_ref().and_then(|credentials| {
        credentials
            .devices
            .iter()
            .find(|device| device.device_id == args.device)
    });
    let kind = match (args.kind.as_deref(), from_file, args.device.as_str()) {
        (Some("door"), ..) => DeviceKind::Door,
        (Some("lights"), ..) => DeviceKind::Lights,
        (Some(other), ..) => anyhow::bail!("--kind is door or lights, not {other:?}"),
        (None, Some(device), _) => device.kind,
        (None, None, "front") => DeviceKind::Door,
        (None, None, "shelves") => DeviceKind::Lights,
        (None, None, device) => {
            anyhow::bail!("say which kind of device {device:?} is: --kind door or --kind lights")
        }
    };
    anyhow::ensure!(
        kind != DeviceKind::Scanner,
        "a scanner takes no commands; the suite certifies doors and light strips"
    );
    let command_key = match from_file {
        Some(device) => devices::auth::CommandKey::from_hex(&device.command_key)
            .context("the credentials' command key is not 64 hex digits")?,
        None => {
            let app = wiring::build(config).await?;
            wiring::device_key(&app)
                .await?
                .device_key(args.station, kind, &args.device)
        }
    };
    let mut devices_config = config.devices.clone();
    if let Some(url) = args.broker {
        devices_config.mqtt_url = Some(url);
    }
    if let Some(ca) = args.ca {
        devices_config.mqtt_ca_file = Some(ca);
    }
    if let (Some(username), Some(password)) = (args.username, args.password) {
        devices_config.mqtt_username = Some(username);
        devices_config.mqtt_password = Some(password);
    }
    let broker = devices_config
        .broker()?
        .context("no broker: give --broker or set devices.mqtt_url")?;
    let mut suite = devices::conformance::SuiteConfig::new(
        broker,
        args.station,
        kind,
        &args.device,
        command_key,
    );
    suite.answer_within = std::time::Duration::from_millis(args.answer_within_ms.max(1));
    suite.power_cycle_within = std::time::Duration::from_secs(args.power_cycle_within_s.max(1));
    let operator = devices::conformance::PromptOperator;
    let report = devices::conformance::run(
        suite,
        (!args.no_power_cycle).then_some(&operator as &dyn devices::conformance::Operator),
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    anyhow::ensure!(
        report.passed,
        "the device does not conform (or cases were skipped)"
    );
    Ok(())
}

/// Writes a file only its owner can read (it holds passwords and keys).
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    Ok(())
}

/// `yizhan simulate devices`: one station's simulated devices, printing
/// its state as JSON lines until Ctrl-C.
pub async fn simulate(
    config: &Config,
    station: Option<i64>,
    mqtt: &str,
    credentials: Option<&Path>,
    memory_dir: &Path,
) -> anyhow::Result<()> {
    let mut sim_config = match credentials {
        Some(path) => {
            let credentials = read_credentials(path)?;
            anyhow::ensure!(
                station.is_none_or(|station| station == credentials.station_id),
                "{} is for station {}, not {}",
                path.display(),
                credentials.station_id,
                station.unwrap_or_default()
            );
            devices::sim::SimConfig::from_credentials(&credentials).map_err(anyhow::Error::msg)?
        }
        None => {
            let station = station.context("--station or --credentials is needed")?;
            let app = wiring::build(config).await?;
            let server = wiring::device_key(&app).await?;
            devices::sim::SimConfig::new(mqtt, station, &server)
        }
    };
    std::fs::create_dir_all(memory_dir)
        .with_context(|| format!("creating {}", memory_dir.display()))?;
    sim_config.memory_dir = Some(memory_dir.to_path_buf());
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    devices::sim::run_printing(
        sim_config,
        std::sync::Arc::new(app::ports::SystemClock),
        shutdown,
        &mut std::io::stdout(),
    )
    .await?;
    Ok(())
}

//! `yizhan devices provision|server-login` (broker logins, command keys,
//! Mosquitto lines) and `yizhan simulate devices`.

use crate::cli::DevicesCommand;
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
    }
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
) -> anyhow::Result<()> {
    let sim_config = match credentials {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let credentials: StationCredentials =
                serde_json::from_str(&text).with_context(|| {
                    format!(
                        "{} is not a credentials file from `yizhan devices provision`",
                        path.display()
                    )
                })?;
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

//! `yizhan send …`: sending's check commands. `send quote` prices an item
//! by the tariff in force (the shipped one, or `--tariff FILE`) without a
//! database, so a county can try a tariff file before it goes live.

use crate::cli::{SendCommand, SendQuoteArgs};
use anyhow::{Context, bail};
use domain::sending::tariff::{self, Division, QuoteRequest, Tariff};

pub fn command(what: SendCommand, config: &crate::config::Config) -> anyhow::Result<()> {
    match what {
        SendCommand::Quote(args) => quote(args, config),
    }
}

/// A division code that names a real division (NBS 2023), at any level.
fn known_division(code: &str) -> anyhow::Result<Division> {
    let division = Division::parse(code).map_err(anyhow::Error::msg)?;
    if address::divisions().get(division.as_str()).is_none() {
        bail!("division code {code} is not in the NBS 2023 table");
    }
    Ok(division)
}

/// Prices by `--tariff FILE`, else the configured `sending.tariff_file`
/// (what the server charges), else the shipped tariff.
fn quote(args: SendQuoteArgs, config: &crate::config::Config) -> anyhow::Result<()> {
    let tariff = match &args.tariff {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Tariff::parse_toml(&text)
                .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?
        }
        None => config
            .sending
            .settings()?
            .1
            .unwrap_or_else(Tariff::default_tariff),
    };
    let day = args
        .day
        .unwrap_or_else(|| domain::shanghai_day(chrono::Utc::now()));
    let Some(version) = tariff.effective(day) else {
        bail!("no version of the tariff is in effect on {day}");
    };
    let size_cm = args
        .size
        .as_deref()
        .map(tariff::parse_size)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let quote = version
        .quote(&QuoteRequest {
            from: known_division(&args.from)?,
            to: known_division(&args.to)?,
            weight_grams: args.weight_grams,
            size_cm,
            category: args.category.clone(),
        })
        .map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string(&quote)?);
    } else {
        println!(
            "{} → {}: {} ({}), billed {} g, tariff version {}: {}",
            args.from,
            args.to,
            quote.zone_name_zh,
            quote.zone,
            quote.billed_grams,
            quote.tariff_version,
            quote.price_fen
        );
    }
    Ok(())
}

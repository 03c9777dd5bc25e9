//! `yizhan report daily`: the daily report (日报) for a Shanghai day —
//! printed as the group message's markdown, written as .xlsx with
//! `--xlsx`, and pushed to the managers' group robot with `--push`
//! (queued once per day and robot, then sent at once; what does not go out
//! now is retried by `serve`'s relay).

use crate::config::Config;
use crate::{senders, wiring};
use anyhow::Context;
use std::sync::Arc;

pub async fn daily(
    config: &Config,
    day: Option<chrono::NaiveDate>,
    xlsx: Option<std::path::PathBuf>,
    push: bool,
    bot: Option<String>,
) -> anyhow::Result<()> {
    let lang = config.report.language()?;
    let app = wiring::build(config).await?;
    let system = wiring::system_principal();
    let day = match day {
        Some(day) => day,
        None => app.today().pred_opt().unwrap_or_else(|| app.today()),
    };
    let report = app.daily_report(&system, day).await?;
    let (_, text) = report.markdown(lang);
    println!("{text}");
    if let Some(path) = xlsx {
        let t = web::i18n::Tr(lang);
        let bytes = web::board_sheets::workbook(&web::board_sheets::daily_tables(&report, t))
            .context("building the spreadsheet")?;
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("daily report {day} written to {}", path.display());
    }
    if push {
        let Some(bot) = bot.or_else(|| config.report.bot.clone()) else {
            anyhow::bail!(
                "--push needs a group robot: name one with --bot NAME or set report.bot, and configure it under [bots.NAME] (docs/operations.md)"
            );
        };
        anyhow::ensure!(
            config.bots.contains_key(&bot),
            "no group robot {bot:?} is configured: add [bots.{bot}] with kind and url to yizhan.toml (docs/operations.md)"
        );
        let sender = senders::HttpBotSender::new(
            &config.bots,
            std::time::Duration::from_secs(config.webhooks.timeout_seconds),
            config.webhooks.target_policy()?,
            Arc::new(app::ports::SystemClock),
        )?;
        let queued = app.push_daily_report(&system, day, &bot, lang).await?;
        let sent = app.relay_bot_messages_once(&sender, 10).await?;
        eprintln!(
            "daily report {day} for robot {bot}: {}; sent {}, to retry {}, failed {}",
            if queued {
                "queued"
            } else {
                "already queued before"
            },
            sent.n_sent,
            sent.n_retrying,
            sent.n_failed
        );
    }
    Ok(())
}

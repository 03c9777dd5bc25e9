//! `yizhan ledger check` and `yizhan arrears` (issue 15, docs/finance.md):
//! the ledger's check command (it prints the totals and fails on any break,
//! so a script or a cron job can run it) and the ageing of what debtors owe.

use crate::cli::LedgerCommand;
use app::App;

pub async fn ledger(app: &App, what: LedgerCommand) -> anyhow::Result<()> {
    let system = crate::wiring::system_principal();
    match what {
        LedgerCommand::ImportBank { file, json } => import_bank(app, &file, json).await,
        // It needs the configuration's robots: `main` runs it.
        LedgerCommand::Receipts { .. } => {
            anyhow::bail!("ledger receipts is run with the configuration")
        }
        LedgerCommand::Check { json } => {
            let check = app.check_ledger(&system).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&check)?);
            } else {
                let head = match (&check.head_seq, &check.head_hash) {
                    (Some(seq), Some(hash)) => format!("head #{seq} {hash}"),
                    _ => "empty".to_string(),
                };
                println!(
                    "ledger: {} transfers totalling {}, {} accounts, debits {} credits {}, {head}",
                    check.transfers,
                    check.transfers_total,
                    check.accounts,
                    check.debits,
                    check.credits
                );
                for problem in &check.problems {
                    let place = match (problem.seq, &problem.account) {
                        (Some(seq), _) => format!("transfer #{seq}"),
                        (None, Some(account)) => format!("account {account}"),
                        (None, None) => "ledger".to_string(),
                    };
                    println!("BROKEN {} at {place}: {}", problem.kind, problem.detail);
                }
            }
            if !check.is_whole() {
                anyhow::bail!(
                    "the ledger is broken: {} problem(s), first {}",
                    check.n_problems,
                    check.problems.first().map_or("?", |p| p.kind)
                );
            }
            if !json {
                println!("ledger whole");
            }
            Ok(())
        }
    }
}

/// `yizhan arrears [--json]`: each debtor's open invoices by age, in fen,
/// with the person responsible for collecting (phone masked).
pub async fn arrears(app: &App, json: bool) -> anyhow::Result<()> {
    let system = crate::wiring::system_principal();
    let rows = app.arrears_ledger(&system).await?;
    if json {
        let debtors: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                let buckets: serde_json::Map<String, serde_json::Value> = app::finance::Bucket::ALL
                    .iter()
                    .map(|b| (b.code().to_string(), row.ageing.bucket(*b).0.into()))
                    .collect();
                let responsible = row.responsible().map(|r| {
                    serde_json::json!({
                        "username": r.username,
                        "name": r.name,
                        "phone": r.phone.as_ref().map(|p| p.masked()),
                    })
                });
                serde_json::json!({
                    "carrier": row.ageing.carrier.code(),
                    "responsible": responsible,
                    "payment_days": row.payment_days(),
                    "oldest_due": row.ageing.oldest_due.map(|d| d.to_string()),
                    "total_fen": row.ageing.total.0,
                    "buckets_fen": buckets,
                })
            })
            .collect();
        let doc = serde_json::json!({ "day": app.today().to_string(), "debtors": debtors });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("arrears on {}: {} debtor(s)", app.today(), rows.len());
    for row in &rows {
        let buckets: Vec<String> = app::finance::Bucket::ALL
            .iter()
            .map(|b| format!("{} {}", b.code(), row.ageing.bucket(*b).0))
            .collect();
        let responsible = row.responsible().map_or_else(
            || "nobody responsible".to_string(),
            |r| {
                format!(
                    "chased by {} ({}{})",
                    r.name,
                    r.username,
                    r.phone
                        .as_ref()
                        .map(|p| format!(", {}", p.masked()))
                        .unwrap_or_default()
                )
            },
        );
        println!(
            "{} owes {} fen: {}; {responsible}",
            row.ageing.carrier.code(),
            row.ageing.total.0,
            buckets.join(", ")
        );
    }
    Ok(())
}

/// `yizhan ledger import-bank FILE [--json]`: a bank statement into
/// unapplied cash; fails when no line could be read at all.
pub async fn import_bank(app: &App, file: &std::path::Path, json: bool) -> anyhow::Result<()> {
    use anyhow::Context;
    let system = crate::wiring::system_principal();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    anyhow::ensure!(
        bytes.len() <= BANK_FILE_BYTES_MAX,
        "{} is larger than {} MB; split it",
        file.display(),
        BANK_FILE_BYTES_MAX >> 20
    );
    let rows = manifest_file::grid::any_grid(&bytes)
        .with_context(|| format!("reading {}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = app.import_bank_statement(&system, &name, &rows).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let i = &report.import;
    println!(
        "{}: {} line(s) of money received, {} new totalling {}, {} imported before; {} row(s) not money received, {} bad",
        i.file_name, i.n_lines, i.n_new, i.new_amount, i.n_known, i.n_not_received, i.n_bad
    );
    for (row, why) in &report.bad {
        println!("row {row}: {why}");
    }
    Ok(())
}

/// Largest bank statement file read.
pub const BANK_FILE_BYTES_MAX: usize = 32 << 20;

/// `yizhan ledger receipts [--day D] [--push] [--bot NAME]`: the day's money
/// received (到账通报), printed as the group message and optionally pushed.
pub async fn receipts(
    config: &crate::config::Config,
    day: Option<chrono::NaiveDate>,
    push: bool,
    bot: Option<String>,
) -> anyhow::Result<()> {
    let lang = config.report.language()?;
    let app = crate::wiring::build(config).await?;
    let system = crate::wiring::system_principal();
    let day = day.unwrap_or_else(|| app.today());
    let list = app.receipts_on(&system, day).await?;
    let (_, text) = list.markdown(lang);
    println!("{text}");
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
        let sender = crate::senders::HttpBotSender::new(
            &config.bots,
            std::time::Duration::from_secs(config.webhooks.timeout_seconds),
            config.webhooks.target_policy()?,
            std::sync::Arc::new(app::ports::SystemClock),
        )?;
        let queued = app.push_receipts(&system, day, &bot, lang).await?;
        let sent = app.relay_bot_messages_once(&sender, 10).await?;
        eprintln!(
            "money received {day} for robot {bot}: {}; sent {}, to retry {}, failed {}",
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

/// Branch claims (issue 15): the demo's money received — a bank export of
/// the last six weeks, carriers' payments and one payer nobody knows — of
/// which ZTO's oldest payment is claimed (its credit waits for ZTO's next
/// statement); the rest waits on `/finance/receipts`, each with its age.
pub async fn seed_demo_receipts(app: &App) -> anyhow::Result<()> {
    let admin = domain::Principal {
        user_id: 0,
        username: "demo".into(),
        role: domain::Role::Admin,
        station_ids: vec![],
        carrier: None,
    };
    let today = app.today();
    let mut rows = vec![
        [
            "交易日期",
            "贷方金额",
            "对方户名",
            "对方账号",
            "摘要",
            "流水号",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (days_ago, amount, payer, account, reference) in [
        (
            41,
            "3860.00",
            "中通快递彭州网点",
            "6222000011112222",
            "派费",
        ),
        (
            33,
            "1275.50",
            "韵达快递彭州分部",
            "6222000011113333",
            "派费",
        ),
        (17, "980.00", "圆通速递彭州", "6222000011115555", "上月派费"),
        (
            9,
            "2400.00",
            "申通快递彭州",
            "6222000011114444",
            "派费 部分",
        ),
        (
            3,
            "150.00",
            "彭州某商贸有限公司",
            "6222000099990000",
            "货款",
        ),
    ] {
        let day = today - chrono::Duration::days(days_ago);
        rows.push(
            [
                day.to_string(),
                amount.to_string(),
                payer.to_string(),
                account.to_string(),
                reference.to_string(),
                format!("DEMO{days_ago:03}"),
            ]
            .to_vec(),
        );
    }
    let report = app
        .import_bank_statement(&admin, "演示银行流水.csv", &rows)
        .await?;
    if let Some(oldest) = report.new.first() {
        app.claim_receipt(&admin, oldest.id, domain::Carrier::Zto)
            .await?;
    }
    Ok(())
}

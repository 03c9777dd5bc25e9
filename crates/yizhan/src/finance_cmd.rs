//! `yizhan ledger check` and `yizhan arrears` (issue 15, docs/finance.md):
//! the ledger's check command (it prints the totals and fails on any break,
//! so a script or a cron job can run it) and the ageing of what debtors owe.

use crate::cli::LedgerCommand;
use app::App;

pub async fn ledger(app: &App, what: LedgerCommand) -> anyhow::Result<()> {
    let system = crate::wiring::system_principal();
    match what {
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

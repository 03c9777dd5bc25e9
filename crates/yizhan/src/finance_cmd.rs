//! `yizhan ledger check` (issue 15, docs/finance.md): the ledger's check
//! command. It prints the totals and fails on any break, so a script or a
//! cron job can run it.

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

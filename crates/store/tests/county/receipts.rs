//! Money received (issue 15, point 4) on both databases: bank statements in
//! the Chinese and the English layout imported into unapplied cash, each
//! bank line once however often and in however many overlapping files it
//! comes, bad rows reported one by one and the good ones kept, and the
//! day's list of money received queued for the finance group's robot.

use super::*;
use app::finance::{Account, AccountKind};

fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// A bank's Chinese export: title rows, then the table.
fn chinese() -> Vec<Vec<String>> {
    grid(&[
        &["账号：6222000011110000"],
        &[
            "交易日期",
            "借方金额",
            "贷方金额",
            "对方户名",
            "对方账号",
            "摘要",
            "流水号",
        ],
        &[
            "2026-12-07",
            "",
            "1,234.50",
            "中通快递彭州网点",
            "6222000011112222",
            "11月派费",
            "A001",
        ],
        &["2026-12-07", "88.00", "", "电费", "", "", "A002"],
        &[
            "2026-12-07",
            "",
            "300",
            "韵达快递",
            "6222000011113333",
            "11月派费",
            "A003",
        ],
        &["2026-13-07", "", "5.00", "某人", "", "", "A004"],
        &["2026-12-07", "", "abc", "某人", "", "", "A005"],
        &[
            "2026-12-08",
            "",
            "66.60",
            "申通快递",
            "6222000011114444",
            "",
            "A006",
        ],
    ])
}

/// An English export overlapping the Chinese one by one line (A003) and
/// bringing one new.
fn english() -> Vec<Vec<String>> {
    grid(&[
        &[
            "Date",
            "Amount",
            "Payer Name",
            "Payer Account",
            "Reference",
            "Serial No",
        ],
        &[
            "2026/12/07",
            "300.00",
            "韵达快递",
            "6222000011113333",
            "11月派费",
            "A003",
        ],
        &[
            "2026/12/08",
            "1000",
            "圆通速递",
            "6222000011115555",
            "10月派费",
            "B001",
        ],
    ])
}

async fn unapplied(app: &App) -> Fen {
    app.store
        .ledger_account(&Account::of(AccountKind::UnappliedCash))
        .await
        .unwrap()
        .map_or(Fen(0), |a| a.balance)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_lines_are_received_once_however_often_they_are_imported() {
    for h in backends().await {
        let app = &h.app;
        let zto = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Zto));
        assert_eq!(
            app.import_bank_statement(&zto, "a.csv", &chinese())
                .await
                .unwrap_err()
                .code(),
            Code::Forbidden
        );
        let unreadable = app
            .import_bank_statement(&admin(), "x.csv", &grid(&[&["a", "b"], &["1", "2"]]))
            .await
            .unwrap_err();
        assert_eq!(unreadable.code(), Code::BankFileUnreadable);

        let first = app
            .import_bank_statement(&admin(), "12月.csv", &chinese())
            .await
            .unwrap();
        assert_eq!(first.import.n_lines, 3, "{}", h.name());
        assert_eq!(first.import.n_new, 3);
        assert_eq!(first.import.n_known, 0);
        assert_eq!(first.import.n_not_received, 1);
        assert_eq!(first.import.new_amount, Fen(123_450 + 30_000 + 6_660));
        assert_eq!(
            first.bad.iter().map(|(row, _)| *row).collect::<Vec<_>>(),
            [6, 7],
            "each bad row by the number the file shows"
        );
        assert!(first.bad[0].1.contains("2026-13-07"), "{:?}", first.bad);
        assert_eq!(unapplied(app).await, first.import.new_amount);
        let transfers = app.check_ledger(&admin()).await.unwrap().transfers;

        // The same file again, and concurrently twice more: nothing new.
        let (file, boss) = (chinese(), admin());
        let (again, once_more) = tokio::join!(
            app.import_bank_statement(&boss, "12月.csv", &file),
            app.import_bank_statement(&boss, "12月 copy.csv", &file),
        );
        for report in [again.unwrap(), once_more.unwrap()] {
            assert_eq!(
                (report.import.n_new, report.import.n_known),
                (0, 3),
                "{}",
                h.name()
            );
            assert_eq!(report.bad.len(), 2, "bad rows are still reported");
        }
        assert_eq!(
            app.check_ledger(&admin()).await.unwrap().transfers,
            transfers
        );
        assert_eq!(unapplied(app).await, first.import.new_amount);

        // An overlapping export in the English layout: only its new line.
        let overlap = app
            .import_bank_statement(&admin(), "dec.xlsx", &english())
            .await
            .unwrap();
        assert_eq!((overlap.import.n_new, overlap.import.n_known), (1, 1));
        assert_eq!(overlap.new[0].payer_name, "圆通速递");
        let again = app
            .import_bank_statement(&admin(), "dec.xlsx", &english())
            .await
            .unwrap();
        assert_eq!((again.import.n_new, again.import.n_known), (0, 2));
        assert_eq!(
            unapplied(app).await,
            Fen(first.import.new_amount.0 + 100_000)
        );
        let check = app.check_ledger(&admin()).await.unwrap();
        assert!(check.is_whole(), "{:?}", check.problems);
        assert_eq!(check.transfers, transfers + 1);

        // The day's list of money received, and its group message.
        let day: NaiveDate = "2026-12-07".parse().unwrap();
        let list = app.receipts_on(&admin(), day).await.unwrap();
        assert_eq!(list.receipts.len(), 2);
        assert_eq!(list.total, Fen(153_450));
        let (title, text) = list.markdown(app::Lang::Zh);
        assert_eq!(title, "到账通报 2026-12-07");
        assert!(
            text.contains("中通快递彭州网点 (…2222) **¥1234.50**"),
            "{text}"
        );
        assert!(
            !text.contains("6222000011112222"),
            "accounts cut to their tail"
        );
        assert!(
            app.push_receipts(&admin(), day, "finance", app::Lang::Zh)
                .await
                .unwrap()
        );
        assert!(
            !app.push_receipts(&admin(), day, "finance", app::Lang::Zh)
                .await
                .unwrap(),
            "the same list is queued once"
        );
        assert_eq!(
            app.receipts_on(&zto, day).await.unwrap_err().code(),
            Code::Forbidden
        );
        let imports = app.bank_imports(&admin()).await.unwrap();
        assert_eq!(imports.len(), 5);
        assert_eq!(imports[0].file_name, "dec.xlsx");

        // Receipts are never changed or removed.
        let mut raw = h.raw().await;
        for statement in ["UPDATE receipts SET amount_fen = 1", "DELETE FROM receipts"] {
            assert!(
                sqlx::query(statement).execute(&mut raw).await.is_err(),
                "{} {statement}",
                h.name()
            );
        }
        raw.close().await.unwrap();
        h.cleanup().await;
    }
}

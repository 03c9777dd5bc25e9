//! The double-entry ledger (issue 15, point 1) on both databases: fees post
//! into it once, in their own transaction; posting is idempotent by id;
//! transfers cannot be changed or removed, and the check finds a change made
//! past the triggers; fees from before the ledger are backfilled once.

use super::*;
use app::finance::{Account, AccountKind, NewTransfer, TransferKind};
use sqlx::Row;

fn transfer(id: &str, amount: i64) -> NewTransfer {
    NewTransfer {
        id: id.into(),
        debit: Account::of(AccountKind::PaymentClearing),
        credit: Account::of(AccountKind::UnappliedCash),
        amount: Fen(amount),
        kind: TransferKind::Receipt,
        reference: "bank line 1".into(),
        parcel_id: None,
        reverses: None,
        at_ms: 1_700_000_000_000,
    }
}

async fn post(app: &App, new: &NewTransfer) -> Result<app::ledger::Posted, AppError> {
    let mut tx = app.store.begin().await.unwrap();
    let posted = app::ledger::post(&mut *tx, new, app.now()).await?;
    tx.commit().await.unwrap();
    Ok(posted)
}

async fn balance(app: &App, account: Account) -> Fen {
    app.store
        .ledger_account(&account)
        .await
        .unwrap()
        .map_or(Fen(0), |a| a.balance)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fees_post_into_the_ledger_once_and_the_ledger_checks_whole() {
    for h in backends().await {
        let app = &h.app;
        let day = run_county_day(app).await;
        let mut total = 0;
        let mut n_fees = 0;
        for carrier in CARRIERS {
            let summary = app
                .fee_summary(&admin(), carrier, day.day, day.day)
                .await
                .unwrap();
            assert!(summary.total.0 > 0, "{carrier:?} accrued fees");
            assert_eq!(
                balance(app, Account::receivable(carrier)).await,
                summary.total,
                "{}: {carrier:?}'s receivable is its fees to the fen",
                h.name()
            );
            total += summary.total.0;
            n_fees += summary.n_parcels;
        }
        assert_eq!(
            balance(app, Account::of(AccountKind::CoDeliveryRevenue)).await,
            Fen(total)
        );
        let check = app.check_ledger(&admin()).await.unwrap();
        assert!(check.is_whole(), "{}: {:?}", h.name(), check.problems);
        assert_eq!(check.transfers, n_fees);
        assert_eq!((check.debits, check.credits), (Fen(total), Fen(total)));
        assert_eq!(check.accounts, CARRIERS.len() as u64 + 1);
        // Nothing was accrued before the ledger: the backfill posts nothing.
        assert_eq!(app.backfill_ledger().await.unwrap(), 0);
        // A carrier reads its own receivable, not another's, nor revenue.
        let zto = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Zto));
        let (record, page) = app
            .account_transfers(&zto, "carrier_receivable:ZTO", None, Some(2))
            .await
            .unwrap();
        assert_eq!(record.unwrap().n_transfers as usize, 9);
        assert_eq!(page.items.len(), 2);
        assert!(page.items[0].seq > page.items[1].seq, "newest first");
        let next = app
            .account_transfers(&zto, "carrier_receivable:ZTO", page.next_after_id, None)
            .await
            .unwrap()
            .1;
        assert_eq!(next.items.len(), 7);
        for code in ["carrier_receivable:SF", "co_delivery_revenue", "nonsense"] {
            assert!(matches!(
                app.account_transfers(&zto, code, None, None).await,
                Err(AppError::NotFound("ledger account"))
            ));
        }
        assert!(matches!(
            app.check_ledger(&zto).await,
            Err(AppError::Forbidden(_))
        ));
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_transfer_id_a_thousand_times_is_one_transfer() {
    for h in backends().await {
        let app = &h.app;
        let receipt = transfer("bank:20261207:1", 12_345);
        let first = post(app, &receipt).await.unwrap();
        assert!(!first.repeat);
        // 999 more, ten transactions of a hundred posts.
        for _ in 0..9 {
            let mut tx = app.store.begin().await.unwrap();
            for _ in 0..111 {
                let again = app::ledger::post(&mut *tx, &receipt, app.now())
                    .await
                    .unwrap();
                assert!(again.repeat);
                assert_eq!(again.transfer, first.transfer);
            }
            tx.commit().await.unwrap();
        }
        // Concurrent posters of one id: one transfer.
        let racing = transfer("bank:20261207:2", 500);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (app, racing) = (app.clone(), racing.clone());
            tasks.push(tokio::spawn(async move { post(&app, &racing).await }));
        }
        let mut new = 0;
        for task in tasks {
            if !task.await.unwrap().unwrap().repeat {
                new += 1;
            }
        }
        assert_eq!(new, 1, "{}", h.name());
        assert_eq!(
            balance(app, Account::of(AccountKind::PaymentClearing)).await,
            Fen(12_845)
        );
        let check = app.check_ledger(&admin()).await.unwrap();
        assert!(check.is_whole(), "{:?}", check.problems);
        assert_eq!(check.transfers, 2);
        // The same id with other content is refused; so is a transfer
        // breaking the rules.
        assert_eq!(
            post(app, &transfer("bank:20261207:1", 12_346))
                .await
                .unwrap_err()
                .code(),
            Code::TransferIdReused
        );
        for bad in [
            transfer("x", 0),
            transfer("x", -1),
            transfer("with space", 1),
            NewTransfer {
                credit: Account::of(AccountKind::PaymentClearing),
                ..transfer("x", 1)
            },
            NewTransfer {
                kind: TransferKind::Reversal,
                ..transfer("x", 1)
            },
        ] {
            assert_eq!(
                post(app, &bad).await.unwrap_err().code(),
                Code::TransferInvalid
            );
        }
        // A reversal undoes it, never an edit.
        let reversal = receipt.reversal("rev:bank:20261207:1".into(), "entered twice".into(), 1);
        post(app, &reversal).await.unwrap();
        assert_eq!(
            balance(app, Account::of(AccountKind::PaymentClearing)).await,
            Fen(500)
        );
        assert!(app.check_ledger(&admin()).await.unwrap().is_whole());
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_are_append_only_and_the_check_finds_any_change() {
    for h in backends().await {
        let app = &h.app;
        post(app, &transfer("t1", 100)).await.unwrap();
        post(app, &transfer("t2", 200)).await.unwrap();
        post(app, &transfer("t3", 300)).await.unwrap();
        assert!(app.check_ledger(&admin()).await.unwrap().is_whole());
        let mut raw = h.raw().await;
        for sql in [
            "UPDATE ledger_transfers SET amount_fen = 1 WHERE transfer_id = 't2'",
            "DELETE FROM ledger_transfers WHERE transfer_id = 't3'",
        ] {
            assert!(
                sqlx::query(sql).execute(&mut raw).await.is_err(),
                "{}: {sql} must be refused",
                h.name()
            );
        }
        // A cached total changed by hand.
        sqlx::query("UPDATE ledger_accounts SET debits_fen = debits_fen + 1 WHERE code = 'payment_clearing'")
            .execute(&mut raw)
            .await
            .unwrap();
        let check = app.check_ledger(&admin()).await.unwrap();
        let kinds: Vec<&str> = check.problems.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            vec!["balance_mismatch", "unbalanced"],
            "{}",
            h.name()
        );
        sqlx::query("UPDATE ledger_accounts SET debits_fen = debits_fen - 1 WHERE code = 'payment_clearing'")
            .execute(&mut raw)
            .await
            .unwrap();
        assert!(app.check_ledger(&admin()).await.unwrap().is_whole());
        // Past the triggers: a transfer's amount changed.
        let drop = match h.name() {
            "sqlite" => "DROP TRIGGER ledger_transfers_no_update",
            _ => "DROP TRIGGER ledger_transfers_no_change ON ledger_transfers",
        };
        sqlx::query(drop).execute(&mut raw).await.unwrap();
        sqlx::query("UPDATE ledger_transfers SET amount_fen = 250 WHERE transfer_id = 't2'")
            .execute(&mut raw)
            .await
            .unwrap();
        let check = app.check_ledger(&admin()).await.unwrap();
        assert!(!check.is_whole());
        assert_eq!(check.problems[0].kind, "transfer_changed");
        assert_eq!(check.problems[0].seq, Some(2));
        assert!(
            check.problems.iter().any(|p| p.kind == "balance_mismatch"),
            "{:?}",
            check.problems
        );
        drop_conn(raw).await;
        h.cleanup().await;
    }
}

async fn drop_conn(conn: sqlx::AnyConnection) {
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fees_from_before_the_ledger_are_posted_once_by_a_resumable_backfill() {
    for h in backends().await {
        let app = &h.app;
        county(app).await;
        agree(app, Carrier::Zto, today(app) - Duration::days(30), 1).await;
        let rows: Vec<ManifestRow> = (0..5)
            .map(|n| row(&format!("7310000001{n:02}"), JOINT_ADDRESSES[0], Some(800)))
            .collect();
        let announced = app
            .announce(&admin(), Carrier::Zto, &rows, 1)
            .await
            .unwrap();
        assert_eq!(announced.n_announced, 5);
        // Fees an older version accrued: rows in fee_ledger, no transfers.
        let mut raw = h.raw().await;
        sqlx::query(
            "INSERT INTO fee_ledger (carrier, agreement_id, agreement_version, parcel_id, event_key, event_kind, mode, township, weight_grams, bracket, amount_fen, at, day) \
             SELECT 'ZTO', (SELECT MIN(id) FROM agreements), 1, id, 'old:' || waybill, 'dispatched', 'joint', '510182103', 800, 0, 50 + id, 1700000000000, '2023-11-14' \
             FROM parcels WHERE carrier = 'ZTO'",
        )
        .execute(&mut raw)
        .await
        .unwrap();
        let check = app.check_ledger(&admin()).await.unwrap();
        assert_eq!(
            check
                .problems
                .iter()
                .filter(|p| p.kind == "fee_unposted")
                .count(),
            5
        );
        // Interrupted after one batch of two, then run at the next start.
        assert_eq!(app.backfill_ledger_step(2).await.unwrap(), 2);
        assert_eq!(app.backfill_ledger().await.unwrap(), 3);
        assert_eq!(app.backfill_ledger().await.unwrap(), 0);
        let fees: i64 = sqlx::query("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM fee_ledger")
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap();
        assert_eq!(
            balance(app, Account::receivable(Carrier::Zto)).await,
            Fen(fees)
        );
        let check = app.check_ledger(&admin()).await.unwrap();
        assert!(check.is_whole(), "{}: {:?}", h.name(), check.problems);
        assert_eq!(check.transfers, 5);
        drop_conn(raw).await;
        h.cleanup().await;
    }
}

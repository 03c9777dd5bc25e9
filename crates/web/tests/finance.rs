//! The finance workplace over real HTTP against real SQLite (issue 15): the
//! ledger's check and accounts, an account's transfers, issuing a statement
//! refused with the reason in the page's language, and who may come in
//! (the full role matrix is in `pages.rs`).

use app::App;
use app::finance::{Account, AccountKind, NewTransfer, TransferKind};
use app::ports::SystemClock;
use domain::{Fen, Role};
use std::sync::Arc;

mod support;
use support::{Site, user};

async fn site() -> Site {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    user(&app, "operator", Role::CountyOperator, None, &[]).await;
    for (n, amount) in [(1, 12_345), (2, 655)] {
        let mut tx = app.store.begin().await.unwrap();
        app::ledger::post(
            &mut *tx,
            &NewTransfer {
                id: format!("bank:test:{n}"),
                debit: Account::of(AccountKind::PaymentClearing),
                credit: Account::of(AccountKind::UnappliedCash),
                amount: Fen(amount),
                kind: TransferKind::Receipt,
                reference: format!("到账 {n}"),
                parcel_id: None,
                reverses: None,
                at_ms: app.now().timestamp_millis(),
            },
            app.now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    Site::serve(app, database).await
}

#[tokio::test]
async fn finance_shows_the_ledger_and_refuses_a_statement_with_the_reason() {
    let site = site().await;
    let operator = site.sign_in("operator").await;
    let (status, html) = operator.get("/finance").await;
    assert_eq!(status, 200);
    assert!(html.contains("账簿核对无误"), "{html}");
    assert!(html.contains("¥130.00"), "the two receipts' total: {html}");
    assert!(html.contains("/finance/accounts/payment_clearing"));
    let (status, html) = operator.get("/finance/accounts/payment_clearing").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("到账 1") && html.contains("¥123.45"),
        "{html}"
    );
    assert!(html.contains("unapplied_cash"), "the other account: {html}");
    let (status, _) = operator.get("/finance/accounts/nonsense").await;
    assert_eq!(status, 404);
    // This month is not over; a month written wrong says how to write it.
    let this_month = app::finance::Month::of(site.app.today()).to_string();
    let (status, html) = operator
        .post(
            "/finance/statements",
            &[
                ("carrier", "ZTO"),
                ("month", &this_month),
                ("payment_days", ""),
            ],
        )
        .await;
    assert_eq!(status, 409);
    assert!(html.contains("尚未结束"), "{html}");
    let (status, html) = operator
        .post(
            "/finance/statements",
            &[("carrier", "ZTO"), ("month", "2026-13")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("2026-11"), "{html}");
    // No form without the session's token.
    let response = operator
        .client
        .post(site.url("/finance/statements"))
        .form(&[("carrier", "ZTO"), ("month", "2026-11"), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn the_arrears_ledger_names_who_chases_each_debt_and_keeps_its_history() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    user(&app, "operator", Role::CountyOperator, None, &[]).await;
    user(&app, "wang", Role::CountyOperator, None, &[]).await;
    // An invoice long overdue, as finance issued it.
    database
        .db
        .raw_execute(
            "INSERT INTO statements (carrier, month, status, n_lines, issued_fen, credited_fen, due_day, issued_at, issued_by, updated_at) \
             VALUES ('ZTO', '2020-01', 'issued', 1, 12345, 0, '2020-02-15', 0, 'finance', 0)",
        )
        .await
        .unwrap();
    let site = Site::serve(app, database).await;
    let operator = site.sign_in("operator").await;
    let (status, html) = operator.get("/finance").await;
    assert_eq!(status, 200);
    assert!(html.contains("欠费台账"), "{html}");
    assert!(
        html.contains("/finance/debtors/ZTO")
            && html.contains("¥123.45")
            && html.contains("未指定"),
        "{html}"
    );
    let (status, html) = operator
        .post(
            "/finance/debtors/ZTO/terms",
            &[
                ("responsible", "wang"),
                ("phone", "13812345678"),
                ("payment_days", "30"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{html}");
    let (status, html) = operator
        .post(
            "/finance/debtors/ZTO/terms",
            &[
                ("responsible", "nobody"),
                ("phone", ""),
                ("payment_days", "30"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("nobody"), "{html}");
    let (status, html) = operator
        .post(
            "/finance/debtors/ZTO/contacts",
            &[
                ("contacted", "李经理"),
                ("channel", "phone"),
                ("note", "答应月底付清"),
                ("promised", "123.45"),
                ("promised_by", &site.app.today().to_string()),
            ],
        )
        .await;
    assert_eq!(status, 303, "{html}");
    let (status, html) = operator
        .post(
            "/finance/debtors/ZTO/contacts",
            &[
                ("contacted", "李经理"),
                ("channel", "phone"),
                ("note", "x"),
                ("promised", "12.345"),
                ("promised_by", ""),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("承诺付款"), "{html}");
    let (status, html) = operator.get("/finance/debtors/ZTO").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("答应月底付清") && html.contains("李经理"),
        "{html}"
    );
    assert!(
        html.contains("13812345678"),
        "the full number where finance edits it: {html}"
    );
    let (_, html) = operator.get("/finance").await;
    assert!(
        html.contains("138****5678") && !html.contains("13812345678"),
        "masked in the list: {html}"
    );
    let (status, _) = operator.get("/finance/debtors/NOPE").await;
    assert_eq!(status, 400, "an unknown carrier");
}

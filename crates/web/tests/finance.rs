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

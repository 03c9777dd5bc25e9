//! Claims (认领) and write-offs (核销) over real HTTP against real SQLite
//! (branch `claims`, issue 15): a bank statement uploaded to
//! `/finance/receipts`, the money listed unclaimed with its age, claimed for
//! a debtor and written off against its oldest invoice from the page, the
//! rest written off from the debtor's page, a second claim refused with who
//! claimed it, and the carrier seeing its payments in its portal.

use app::App;
use app::finance::Month;
use app::ports::SystemClock;
use chrono::{Datelike, Duration};
use domain::{Carrier, Fen, Role};
use std::sync::Arc;

mod support;
use support::{Site, user};

#[tokio::test]
async fn money_uploaded_is_claimed_and_written_off_from_the_pages() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    user(&app, "operator", Role::CountyOperator, None, &[]).await;
    user(
        &app,
        "zto",
        Role::CarrierIntegrator,
        Some(Carrier::Zto),
        &[],
    )
    .await;
    // Last month's fees, stated.
    let today = app.today();
    let first_of_month = today - Duration::days(i64::from(today.day0()));
    let last_month = Month::of(first_of_month - Duration::days(1));
    testkit::generated_books(&app, &database.db, 300, 20, last_month.last_day(), 5).await;
    app.backfill_ledger().await.unwrap();
    let statement = app
        .issue_statement(&testkit::admin(), Carrier::Zto, last_month, Some(10))
        .await
        .unwrap()
        .statement;
    let site = Site::serve(app, database).await;
    let operator = site.sign_in("operator").await;

    // The bank's export uploaded: two payments, one of them yesterday's.
    let yesterday = today - Duration::days(1);
    let part = statement.net.0 / 2;
    let file = format!(
        "交易日期,贷方金额,对方户名,对方账号,摘要,流水号\n\
         {yesterday},{}.{:02},中通快递彭州网点,6222000011112222,派费,W1\n\
         {today},{}.{:02},中通快递彭州网点,6222000011112222,派费,W2\n",
        part / 100,
        part % 100,
        statement.net.0 / 100 + 100,
        statement.net.0 % 100,
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf", operator.csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(file.into_bytes())
                .file_name("流水.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let response = operator
        .client
        .post(site.url("/finance/receipts/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"import-outcome\""), "{html}");
    assert!(html.contains("新增 2 笔"), "{html}");
    let (status, html) = operator.get("/finance/receipts").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"unclaimed\""), "{html}");
    assert!(
        html.contains("<td class=\"num\">1</td>"),
        "yesterday's is a day old: {html}"
    );
    let unclaimed = site
        .app
        .unclaimed_receipts(&testkit::admin())
        .await
        .unwrap();
    assert_eq!(unclaimed.len(), 2);
    let (first, second) = (unclaimed[0].receipt.id, unclaimed[1].receipt.id);

    // Claimed and written off against the oldest invoice from the page.
    let (status, to) = operator
        .post(
            &format!("/finance/receipts/{first}/claim"),
            &[("carrier", "ZTO"), ("write_off", "1")],
        )
        .await;
    assert_eq!((status, to.as_str()), (303, "/finance/debtors/ZTO"), "{to}");
    let owed = site
        .app
        .statement(&testkit::admin(), statement.id)
        .await
        .unwrap()
        .statement;
    assert_eq!(owed.paid, Fen(part));
    assert_eq!(owed.net, Fen(statement.net.0 - part));
    // Claimed again, for anyone: refused, naming who claimed it.
    let (status, html) = operator
        .post(
            &format!("/finance/receipts/{first}/claim"),
            &[("carrier", "YTO")],
        )
        .await;
    assert_eq!(status, 409);
    assert!(html.contains("operator") && html.contains("ZTO"), "{html}");

    // The second claimed without writing off: it waits as credit.
    let (status, _) = operator
        .post(
            &format!("/finance/receipts/{second}/claim"),
            &[("carrier", "ZTO")],
        )
        .await;
    assert_eq!(status, 303);
    let (status, html) = operator.get("/finance/debtors/ZTO").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"debtor-credit\""), "{html}");
    assert!(html.contains("id=\"write-off-form\""), "{html}");
    assert!(html.contains("id=\"payments\""), "{html}");
    let key_at = html.find("name=\"key\" value=\"").unwrap() + 18;
    let key = html[key_at..].split('"').next().unwrap().to_string();
    // Written off from the debtor's page: the invoice is paid, the rest is
    // credit; the same form sent twice is one write-off.
    for _ in 0..2 {
        let (status, to) = operator
            .post(
                "/finance/debtors/ZTO/write-off",
                &[("key", &key), ("statement", ""), ("amount", "")],
            )
            .await;
        assert_eq!((status, to.as_str()), (303, "/finance/debtors/ZTO"), "{to}");
    }
    let paid = site
        .app
        .statement(&testkit::admin(), statement.id)
        .await
        .unwrap()
        .statement;
    assert_eq!(paid.net, Fen(0), "paid in full");
    let money = site
        .app
        .debtor_payments(&testkit::admin(), Carrier::Zto)
        .await
        .unwrap();
    assert_eq!(money.payments.len(), 2, "the repeat wrote nothing");
    assert_eq!(
        money.credit,
        Fen(part + 10_000),
        "claimed net + 100 yuan + part, paid net"
    );
    let (status, html) = operator
        .post(
            "/finance/debtors/ZTO/write-off",
            &[("key", "web-another"), ("statement", ""), ("amount", "")],
        )
        .await;
    assert_eq!(status, 409, "nothing left to write off");
    assert!(html.contains("没有可核销的金额"), "{html}");

    // The carrier sees its payments in its portal.
    let zto = site.sign_in("zto").await;
    let (status, html) = zto.get("/carrier/statements").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"payments\"") && html.contains("id=\"credit\""),
        "{html}"
    );
    assert!(html.contains(&money.credit.to_string()), "{html}");
    let check = site.app.check_ledger(&testkit::admin()).await.unwrap();
    assert!(check.is_whole(), "{:?}", check.problems);
}

/// Branch `money2` (issue 15, session 10): a ten-day collection plan made on
/// `/finance/plans`, a target set for the person responsible for ZTO (a bad
/// row refused with its number), its progress read from the ledger after a
/// write-off, the list with its bar, and the plan as .xlsx.
#[tokio::test]
async fn a_collection_plan_shows_each_persons_progress_from_the_write_offs() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    user(&app, "operator", Role::CountyOperator, None, &[]).await;
    let today = app.today();
    let first_of_month = today - Duration::days(i64::from(today.day0()));
    let last_month = Month::of(first_of_month - Duration::days(1));
    testkit::generated_books(&app, &database.db, 200, 20, last_month.last_day(), 7).await;
    app.backfill_ledger().await.unwrap();
    let boss = testkit::admin();
    let statement = app
        .issue_statement(&boss, Carrier::Zto, last_month, Some(10))
        .await
        .unwrap()
        .statement;
    app.set_debtor_terms(
        &boss,
        Carrier::Zto,
        &app::finance::TermsRequest {
            responsible: Some("operator".into()),
            phone: None,
            payment_days: 10,
        },
    )
    .await
    .unwrap();
    // Half the invoice paid today.
    let half = statement.net.0 / 2;
    let imported = app
        .import_bank_statement(
            &boss,
            "today.csv",
            &[
                vec![
                    "交易日期".into(),
                    "贷方金额".into(),
                    "对方户名".into(),
                    "流水号".into(),
                ],
                vec![
                    today.to_string(),
                    format!("{}.{:02}", half / 100, half % 100),
                    "中通快递".into(),
                    "PL1".into(),
                ],
            ],
        )
        .await
        .unwrap();
    app.claim_receipt(&boss, imported.new[0].id, Carrier::Zto)
        .await
        .unwrap();
    app.write_off(
        &boss,
        &app::finance::WriteOffRequest {
            key: "plan-web".into(),
            carrier: Carrier::Zto,
            statements: vec![],
            amount: None,
        },
    )
    .await
    .unwrap();
    let site = Site::serve(app, database).await;
    let operator = site.sign_in("operator").await;

    let (status, html) = operator.get("/finance").await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/finance/plans\""), "{html}");
    let (status, to) = operator
        .post(
            "/finance/plans",
            &[("kind", "dekad"), ("day", ""), ("note", "")],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    assert!(to.starts_with("/finance/plans/"), "{to}");
    let (status, html) = operator.get(&to).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"targets-form\""), "{html}");
    assert!(html.contains("尚未设定目标"), "{html}");

    // A target in words, not yuan: refused with its row.
    let targets = format!("{to}/targets");
    let (status, html) = operator
        .post(
            &targets,
            &[
                ("user_0", "operator"),
                ("carrier_0", ""),
                ("target_0", "很多"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("第 1 行"), "{html}");
    // The whole invoice as the target: half done.
    let whole = format!("{}.{:02}", half * 2 / 100, half * 2 % 100);
    let (status, back) = operator
        .post(
            &targets,
            &[
                ("user_0", "operator"),
                ("carrier_0", ""),
                ("target_0", &whole),
                ("user_1", ""),
                ("target_1", ""),
                ("note", "先收中通"),
            ],
        )
        .await;
    assert_eq!((status, back.as_str()), (303, to.as_str()));
    let (status, html) = operator.get(&to).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"plan-people\""), "{html}");
    assert!(
        html.contains("<progress max=\"100\" value=\"50\">"),
        "{html}"
    );
    assert!(html.contains(&Fen(half).to_string()), "{html}");
    assert!(html.contains("先收中通"), "{html}");
    let (status, html) = operator.get("/finance/plans").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"plans\"") && html.contains("50%"),
        "{html}"
    );
    let (status, bytes) = operator.get_bytes(&format!("{to}/plan.xlsx")).await;
    assert_eq!(status, 200);
    assert!(bytes.starts_with(b"PK"), "a workbook");
}

/// Branch `money2`: exposure control from `/finance/exposure` — a limit
/// with the hold rule set by the form, the check holding the carrier, the
/// page offering the release, and the release.
#[tokio::test]
async fn a_carrier_past_its_limit_is_held_and_released_from_the_page() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    user(&app, "operator", Role::CountyOperator, None, &[]).await;
    let today = app.today();
    let first_of_month = today - Duration::days(i64::from(today.day0()));
    testkit::generated_books(
        &app,
        &database.db,
        200,
        20,
        first_of_month - Duration::days(1),
        9,
    )
    .await;
    app.backfill_ledger().await.unwrap();
    let site = Site::serve(app, database).await;
    let operator = site.sign_in("operator").await;
    let (status, html) = operator.get("/finance/exposure").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"exposure-ZTO\""), "{html}");
    let (status, html) = operator
        .post(
            "/finance/exposure/ZTO/limit",
            &[("limit", "很多"), ("hold", "1")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("信用额度须为零或正数"), "{html}");
    let (status, to) = operator
        .post(
            "/finance/exposure/ZTO/limit",
            &[("limit", "0.01"), ("hold", "1")],
        )
        .await;
    assert_eq!((status, to.as_str()), (303, "/finance/exposure"));
    let (status, _) = operator.post("/finance/exposure/check", &[]).await;
    assert_eq!(status, 303);
    let (_, html) = operator.get("/finance/exposure").await;
    assert!(html.contains("已暂停预报"), "{html}");
    assert!(html.contains("/finance/exposure/ZTO/release"), "{html}");
    let refused = site
        .app
        .announce(
            &testkit::admin(),
            Carrier::Zto,
            &[app::manifest::ManifestRow {
                waybill: "739860000001".into(),
                ..Default::default()
            }],
            1,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), app::Code::CarrierHeld);
    // The carrier sees that it is held, in its portal.
    user(
        &site.app,
        "zto",
        Role::CarrierIntegrator,
        Some(Carrier::Zto),
        &[],
    )
    .await;
    let zto = site.sign_in("zto").await;
    let (status, html) = zto.get("/carrier/statements").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"held\"") && html.contains("id=\"exposure\""),
        "{html}"
    );
    let (status, _) = operator.post("/finance/exposure/ZTO/release", &[]).await;
    assert_eq!(status, 303);
    let (_, html) = operator.get("/finance/exposure").await;
    assert!(html.contains("已解除暂停"), "{html}");
    let (status, html) = operator.post("/finance/exposure/ZTO/release", &[]).await;
    assert_eq!(status, 409, "{html}");
}

/// Branch `money2`: un-claiming from the debtor's page — the claim listed
/// with its form, a reason required, the money back to unclaimed.
#[tokio::test]
async fn a_wrong_claim_is_unclaimed_from_the_debtors_page() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    user(&app, "operator", Role::CountyOperator, None, &[]).await;
    let today = app.today();
    let boss = testkit::admin();
    let imported = app
        .import_bank_statement(
            &boss,
            "today.csv",
            &[
                vec![
                    "交易日期".into(),
                    "贷方金额".into(),
                    "对方户名".into(),
                    "流水号".into(),
                ],
                vec![
                    today.to_string(),
                    "88.00".into(),
                    "圆通速递".into(),
                    "UC1".into(),
                ],
            ],
        )
        .await
        .unwrap();
    let receipt = imported.new[0].id;
    app.claim_receipt(&boss, receipt, Carrier::Zto)
        .await
        .unwrap();
    let site = Site::serve(app, database).await;
    let operator = site.sign_in("operator").await;
    let (status, html) = operator.get("/finance/debtors/ZTO").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"debtor-claims\""), "{html}");
    assert!(
        html.contains(&format!("/finance/receipts/{receipt}/unclaim")),
        "{html}"
    );
    let path = format!("/finance/receipts/{receipt}/unclaim");
    let (status, html) = operator
        .post(&path, &[("carrier", "ZTO"), ("reason", "")])
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("撤销认领的原因"), "{html}");
    let (status, to) = operator
        .post(&path, &[("carrier", "ZTO"), ("reason", "付款人是圆通")])
        .await;
    assert_eq!((status, to.as_str()), (303, "/finance/debtors/ZTO"));
    let (_, html) = operator.get("/finance/debtors/ZTO").await;
    assert!(
        html.contains("已撤销") && html.contains("付款人是圆通"),
        "{html}"
    );
    let unclaimed = site.app.unclaimed_receipts(&boss).await.unwrap();
    assert_eq!(unclaimed.len(), 1, "back to unclaimed");
}

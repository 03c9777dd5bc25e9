//! Collection plans (周、旬清欠计划; branch `money2`, issue 15 session 10) on
//! SQLite and PostgreSQL: a plan per ten-day period or week, made once,
//! targets per responsible person and per debtor refused row by row when
//! wrong, progress read from the ledger's write-offs inside the period's
//! Shanghai days (never typed in), and no change once the period is over.

use super::*;
use app::finance::{PlanKind, TargetRequest};
use app::ports::Clock;

fn target(username: &str, carrier: Option<Carrier>, fen: i64) -> TargetRequest {
    TargetRequest {
        username: username.into(),
        carrier,
        target: Fen(fen),
    }
}

/// Shanghai wall time as the test clock's UTC instant.
fn shanghai(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .unwrap()
        .and_local_timezone(domain::shanghai())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_measures_each_person_by_the_money_written_off_in_its_period() {
    for h in backends().await {
        let app = &h.app;
        books(&h, 400, 21).await;
        app.backfill_ledger().await.unwrap();
        let boss = admin();
        let wang = person(&h, "wang", Role::CountyOperator).await;
        person(&h, "li", Role::CountyOperator).await;
        for (carrier, who) in [(Carrier::Zto, "wang"), (Carrier::Yto, "li")] {
            app.set_debtor_terms(
                &boss,
                carrier,
                &app::finance::TermsRequest {
                    responsible: Some(who.into()),
                    phone: None,
                    payment_days: 10,
                },
            )
            .await
            .unwrap();
        }
        let mut owed = std::collections::BTreeMap::new();
        for carrier in [Carrier::Zto, Carrier::Yto] {
            let s = app
                .issue_statement(&boss, carrier, month("2026-03"), Some(10))
                .await
                .unwrap()
                .statement;
            owed.insert(carrier, s.net);
        }

        // The clock says 2026-06-03: the ten-day period is 06-01 to 06-10.
        let plan = app
            .make_collection_plan(
                &wang,
                PlanKind::Dekad,
                "2026-06-03".parse().unwrap(),
                "六月上旬",
            )
            .await
            .unwrap();
        assert_eq!(plan.period.first.to_string(), "2026-06-01", "{}", h.name());
        assert_eq!(plan.period.last.to_string(), "2026-06-10");
        let again = app
            .make_collection_plan(&boss, PlanKind::Dekad, "2026-06-09".parse().unwrap(), "")
            .await
            .unwrap();
        assert_eq!(again.id, plan.id, "one plan per period");
        let week = app
            .make_collection_plan(&boss, PlanKind::Week, "2026-06-03".parse().unwrap(), "")
            .await
            .unwrap();
        assert_ne!(week.id, plan.id);
        assert_eq!(week.period.first.to_string(), "2026-06-01", "a Monday");
        assert_eq!(week.period.last.to_string(), "2026-06-07");
        assert_eq!(
            app.make_collection_plan(&boss, PlanKind::Dekad, "2026-05-31".parse().unwrap(), "")
                .await
                .unwrap_err()
                .code(),
            Code::CollectionPlanClosed,
            "a period already over"
        );
        let carrier_user = Principal {
            carrier: Some(Carrier::Zto),
            ..person_principal("zto-user", Role::CarrierIntegrator)
        };
        assert_eq!(
            app.make_collection_plan(
                &carrier_user,
                PlanKind::Week,
                "2026-06-03".parse().unwrap(),
                ""
            )
            .await
            .unwrap_err()
            .code(),
            Code::Forbidden
        );
        assert_eq!(
            app.collection_plan(&carrier_user, plan.id)
                .await
                .unwrap_err()
                .code(),
            Code::Forbidden
        );

        // Targets refused row by row, nothing kept.
        for (bad, row) in [
            (
                vec![target("wang", None, 100), target("nobody", None, 100)],
                "2",
            ),
            (vec![target("zto-user", None, 100)], "1"),
            (vec![target("wang", None, 0)], "1"),
            (
                vec![target("wang", None, 100), target("wang", None, 200)],
                "2",
            ),
        ] {
            let refused = app
                .set_collection_targets(&boss, plan.id, "", &bad)
                .await
                .unwrap_err();
            assert_eq!(refused.code(), Code::CollectionTargetInvalid, "{bad:?}");
            assert!(
                refused
                    .message(app::Lang::Zh)
                    .contains(&format!("第 {row} 行")),
                "{}",
                refused.message(app::Lang::Zh)
            );
        }
        assert!(
            app.collection_plan(&boss, plan.id)
                .await
                .unwrap()
                .targets
                .is_empty()
        );
        assert_eq!(
            app.set_collection_targets(&boss, 999_999, "", &[])
                .await
                .unwrap_err()
                .code(),
            Code::NotFound
        );

        // wang: a whole target (ZTO is his by its terms); li: YTO only.
        let zto_part = owed[&Carrier::Zto].0 / 4;
        let set = app
            .set_collection_targets(
                &boss,
                plan.id,
                "清欠",
                &[
                    target("wang", None, zto_part * 2),
                    target("li", Some(Carrier::Yto), owed[&Carrier::Yto].0),
                ],
            )
            .await
            .unwrap();
        assert_eq!(set.people.len(), 2);
        assert_eq!(set.done, Fen(0), "nothing written off yet");
        assert_eq!(set.plan.note, "清欠");

        // Money in, claimed; one write-off the minute before the period
        // (Shanghai), the rest inside it.
        let imported = app
            .import_bank_statement(
                &boss,
                "6月.csv",
                &bank_file(&[
                    (
                        "2026-05-30".parse().unwrap(),
                        owed[&Carrier::Zto].0,
                        "中通快递",
                        "P1",
                    ),
                    (
                        "2026-05-30".parse().unwrap(),
                        owed[&Carrier::Yto].0,
                        "圆通速递",
                        "P2",
                    ),
                ]),
            )
            .await
            .unwrap();
        app.claim_receipt(&boss, imported.new[0].id, Carrier::Zto)
            .await
            .unwrap();
        app.claim_receipt(&boss, imported.new[1].id, Carrier::Yto)
            .await
            .unwrap();
        h.clock.set(shanghai("2026-05-31 23:59"));
        app.write_off(
            &boss,
            &write_off("before", Carrier::Zto, vec![], Some(zto_part)),
        )
        .await
        .unwrap();
        h.clock.set(shanghai("2026-06-01 00:00"));
        app.write_off(
            &boss,
            &write_off("in1", Carrier::Zto, vec![], Some(zto_part)),
        )
        .await
        .unwrap();
        h.clock.set(shanghai("2026-06-10 23:59"));
        app.write_off(
            &boss,
            &write_off("in2", Carrier::Yto, vec![], Some(owed[&Carrier::Yto].0 / 2)),
        )
        .await
        .unwrap();
        h.clock.set(shanghai("2026-06-11 00:00"));
        app.write_off(
            &boss,
            &write_off("after", Carrier::Zto, vec![], Some(zto_part)),
        )
        .await
        .unwrap();

        let view = app.collection_plan(&boss, plan.id).await.unwrap();
        assert!(!view.open, "06-11 is past the period");
        let wang_row = view.people.iter().find(|p| p.username == "wang").unwrap();
        assert_eq!(
            wang_row.done,
            Fen(zto_part),
            "{}: only in1 counts",
            h.name()
        );
        assert_eq!(wang_row.percent, 50);
        assert_eq!(wang_row.debtors.len(), 1);
        assert!(wang_row.debtors[0].assigned);
        let li_row = view.people.iter().find(|p| p.username == "li").unwrap();
        assert_eq!(
            li_row.target,
            owed[&Carrier::Yto],
            "the sum of li's debtor targets"
        );
        assert_eq!(li_row.done, Fen(owed[&Carrier::Yto].0 / 2));
        assert_eq!(view.done, Fen(wang_row.done.0 + li_row.done.0));
        // The week 06-01..06-07 saw in1 only.
        let week_view = app.collection_plan(&boss, week.id).await.unwrap();
        assert!(week_view.people.is_empty(), "no targets, no people");

        // Over: targets are fixed.
        assert_eq!(
            app.set_collection_targets(&boss, plan.id, "", &[target("wang", None, 1)])
                .await
                .unwrap_err()
                .code(),
            Code::CollectionPlanClosed
        );
        let plans = app.collection_plans(&boss).await.unwrap();
        assert_eq!(plans.len(), 2);
        // The auditor reads plans; the changes are in the audit trail.
        let trail = app.store.audit_rows_after(0, 1_000).await.unwrap();
        assert_eq!(
            trail
                .iter()
                .filter(|r| r.act == "collection_plan_set")
                .count(),
            3,
            "two plans made, one set of targets"
        );
        assert!(app.check_ledger(&boss).await.unwrap().is_whole());
        h.cleanup().await;
    }
}

fn person_principal(username: &str, role: Role) -> Principal {
    Principal {
        user_id: 0,
        username: username.into(),
        role,
        station_ids: vec![],
        carrier: None,
    }
}

/// Invoice reminders: 3 days before, on the day, 1/7/30 days after the due
/// day (Shanghai) to the debtor's responsible person through the outbox,
/// once per invoice and step however often the job runs; a step missed for a
/// day is sent late, a paid invoice and a debtor with nobody to tell are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_go_to_the_responsible_person_once_per_invoice_and_step() {
    for h in backends().await {
        let app = &h.app;
        books(&h, 300, 31).await;
        app.backfill_ledger().await.unwrap();
        let boss = admin();
        person(&h, "wang", Role::CountyOperator).await;
        app.set_debtor_terms(
            &boss,
            Carrier::Zto,
            &app::finance::TermsRequest {
                responsible: Some("wang".into()),
                phone: Some("13812345678".into()),
                payment_days: 10,
            },
        )
        .await
        .unwrap();
        // May's invoices are due 2026-06-10; YTO has nobody responsible.
        let zto = app
            .issue_statement(&boss, Carrier::Zto, month("2026-05"), Some(10))
            .await
            .unwrap()
            .statement;
        assert_eq!(zto.due_day.to_string(), "2026-06-10");
        app.issue_statement(&boss, Carrier::Yto, month("2026-05"), Some(10))
            .await
            .unwrap();
        let sms = |h: &Harness| {
            let store = h.app.store.clone();
            let now = h.clock.now();
            async move {
                store
                    .pending_messages(now + Duration::days(400), 1_000)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|m| m.payload["template"] == "invoice_reminder")
                    .collect::<Vec<_>>()
            }
        };

        // 2026-06-03: nothing due yet.
        let run = app.send_invoice_reminders(&boss).await.unwrap();
        assert_eq!(run, app::finance::ReminderRun::default(), "{}", h.name());
        // 2026-06-07 08:00 Shanghai: three days before.
        h.clock.set(shanghai("2026-06-07 08:00"));
        let run = app.send_invoice_reminders(&boss).await.unwrap();
        assert_eq!(
            (run.queued, run.repeats, run.nobody),
            (1, 0, 1),
            "{}",
            h.name()
        );
        let again = app.send_invoice_reminders(&boss).await.unwrap();
        assert_eq!(
            (again.queued, again.repeats),
            (0, 1),
            "a second run writes nothing"
        );
        let sent = sms(&h).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].payload["to"], "13812345678");
        let text = app::notify::render(&sent[0].payload);
        assert!(
            text.contains("将于3天后到期") && text.contains("中通"),
            "{text}"
        );
        // The server was down on the due day: on the 11th the day's step and
        // the first day after both go out.
        h.clock.set(shanghai("2026-06-11 00:30"));
        let run = app.send_invoice_reminders(&boss).await.unwrap();
        assert_eq!(run.queued, 2, "{}", h.name());
        let texts: Vec<String> = sms(&h)
            .await
            .iter()
            .map(|m| app::notify::render(&m.payload))
            .collect();
        assert!(texts.iter().any(|t| t.contains("今天到期")), "{texts:?}");
        assert!(texts.iter().any(|t| t.contains("已逾期1天")), "{texts:?}");
        // Paid in full before the seventh day: no more reminders.
        let net = app.statement(&boss, zto.id).await.unwrap().statement.net;
        let imported = app
            .import_bank_statement(
                &boss,
                "paid.csv",
                &bank_file(&[("2026-06-11".parse().unwrap(), net.0, "中通快递", "R1")]),
            )
            .await
            .unwrap();
        app.claim_receipt(&boss, imported.new[0].id, Carrier::Zto)
            .await
            .unwrap();
        app.write_off(&boss, &write_off("paid", Carrier::Zto, vec![], None))
            .await
            .unwrap();
        h.clock.set(shanghai("2026-06-17 09:00"));
        let run = app.send_invoice_reminders(&boss).await.unwrap();
        assert_eq!(
            (run.queued, run.nobody),
            (0, 1),
            "{}: YTO still owes, nobody to tell",
            h.name()
        );
        assert_eq!(sms(&h).await.len(), 3);
        h.cleanup().await;
    }
}

fn manifest(carrier: Carrier, n: usize, from: usize) -> Vec<app::manifest::ManifestRow> {
    (from..from + n)
        .map(|i| app::manifest::ManifestRow {
            waybill: match carrier {
                Carrier::Yto => format!("YT{i:013}"),
                _ => format!("73986{i:07}"),
            },
            ..Default::default()
        })
        .collect()
}

/// Exposure control: a carrier past its credit limit with the hold rule is
/// held (its new manifests refused with a clear error, audited), its
/// responsible person and the county manager told once; finance releases it;
/// the incident clears once the debt is within terms; a debtor owing over
/// 90 days opens an incident of its own without a limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_past_its_limit_is_held_until_finance_releases_it() {
    for mut h in backends().await {
        h.app.settings.county_manager_phone = Some("13900001111".into());
        let app = &h.app;
        books(&h, 300, 41).await;
        app.backfill_ledger().await.unwrap();
        let boss = admin();
        person(&h, "li", Role::CountyOperator).await;
        app.set_debtor_terms(
            &boss,
            Carrier::Yto,
            &app::finance::TermsRequest {
                responsible: Some("li".into()),
                phone: Some("13812340000".into()),
                payment_days: 10,
            },
        )
        .await
        .unwrap();
        // ZTO's March invoice is due 2026-04-10: 54 days overdue today.
        app.issue_statement(&boss, Carrier::Zto, month("2026-03"), Some(10))
            .await
            .unwrap();
        // Before any rule: nothing happens.
        assert_eq!(
            app.check_exposure(&boss).await.unwrap(),
            app::finance::ExposureRun::default(),
            "{}",
            h.name()
        );
        assert_eq!(
            app.set_credit_limit(
                &boss,
                Carrier::Yto,
                &app::finance::CreditRequest {
                    limit: Some(Fen(-1)),
                    hold: true
                }
            )
            .await
            .unwrap_err()
            .code(),
            Code::CreditLimitInvalid
        );
        app.set_credit_limit(
            &boss,
            Carrier::Yto,
            &app::finance::CreditRequest {
                limit: Some(Fen(100)),
                hold: true,
            },
        )
        .await
        .unwrap();
        let run = app.check_exposure(&boss).await.unwrap();
        assert_eq!(
            (run.opened, run.held, run.alerts),
            (1, 1, 2),
            "{}",
            h.name()
        );
        let again = app.check_exposure(&boss).await.unwrap();
        assert_eq!(
            again,
            app::finance::ExposureRun::default(),
            "once per incident"
        );
        let rows = app.exposure(&boss).await.unwrap();
        let yto = rows.iter().find(|r| r.carrier == Carrier::Yto).unwrap();
        assert!(yto.exposure > Fen(100) && yto.incident.as_ref().unwrap().holds());

        // Held: YTO's new manifests are refused, ZTO's are not.
        let refused = app
            .announce(&boss, Carrier::Yto, &manifest(Carrier::Yto, 2, 1), 1)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::CarrierHeld, "{}", h.name());
        assert!(
            refused.message(app::Lang::Zh).contains("圆通"),
            "{}",
            refused.message(app::Lang::Zh)
        );
        app.announce(&boss, Carrier::Zto, &manifest(Carrier::Zto, 2, 1), 1)
            .await
            .unwrap();

        // Released by finance: accepted again; the incident stays open (no
        // new alert, no new hold) while YTO is still past its limit.
        app.release_carrier(&boss, Carrier::Yto).await.unwrap();
        assert_eq!(
            app.release_carrier(&boss, Carrier::Yto)
                .await
                .unwrap_err()
                .code(),
            Code::CarrierNotHeld
        );
        app.announce(&boss, Carrier::Yto, &manifest(Carrier::Yto, 2, 1), 1)
            .await
            .unwrap();
        assert_eq!(
            app.check_exposure(&boss).await.unwrap(),
            app::finance::ExposureRun::default()
        );

        // The limit raised past the debt: the incident clears.
        app.set_credit_limit(
            &boss,
            Carrier::Yto,
            &app::finance::CreditRequest {
                limit: Some(Fen(1_000_000_000)),
                hold: true,
            },
        )
        .await
        .unwrap();
        assert_eq!(app.check_exposure(&boss).await.unwrap().cleared, 1);

        // 2026-07-15: ZTO's March invoice is 96 days overdue — an incident
        // without a limit; no hold rule, so its manifests go on; nobody is
        // responsible for ZTO, so only the manager is told.
        h.clock.set(shanghai("2026-07-15 09:00"));
        let run = app.check_exposure(&boss).await.unwrap();
        assert_eq!(
            (run.opened, run.held, run.alerts),
            (1, 0, 1),
            "{}",
            h.name()
        );
        app.announce(&boss, Carrier::Zto, &manifest(Carrier::Zto, 1, 10), 1)
            .await
            .unwrap();

        let alerts: Vec<String> = app
            .store
            .pending_messages(h.clock.now() + Duration::days(1), 1_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.payload["template"] == "exposure_alert")
            .map(|m| app::notify::render(&m.payload))
            .collect();
        assert_eq!(alerts.len(), 3, "{alerts:?}");
        assert!(
            alerts.iter().any(|t| t.contains("已暂停接收")),
            "{alerts:?}"
        );
        let trail = app.store.audit_rows_after(0, 1_000).await.unwrap();
        let count = |act: &str| trail.iter().filter(|r| r.act == act).count();
        assert_eq!(
            (
                count("credit_limit_set"),
                count("carrier_held"),
                count("carrier_released")
            ),
            (2, 1, 1)
        );
        h.cleanup().await;
    }
}

/// Corrections: a receipt claimed for the wrong debtor is un-claimed — the
/// claim ends (kept, with why), a reversing transfer takes the money from
/// that debtor's credit back to unapplied cash — and claimed again for the
/// right one; once written off, un-claiming is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_claimed_for_the_wrong_debtor_is_unclaimed_and_claimed_again() {
    for h in backends().await {
        let app = &h.app;
        books(&h, 300, 51).await;
        app.backfill_ledger().await.unwrap();
        let boss = admin();
        let march = app
            .issue_statement(&boss, Carrier::Zto, month("2026-03"), Some(10))
            .await
            .unwrap()
            .statement;
        let part = march.net.0 / 3;
        assert!(part > 0, "{}", h.name());
        let day: NaiveDate = "2026-06-01".parse().unwrap();
        let imported = app
            .import_bank_statement(
                &boss,
                "6月.csv",
                &bank_file(&[
                    (day, part, "中通快递", "U1"),
                    (day, march.net.0 - part, "中通快递", "U2"),
                ]),
            )
            .await
            .unwrap();
        let (a, b) = (imported.new[0].id, imported.new[1].id);
        // Claimed for YTO by mistake.
        app.claim_receipt(&boss, a, Carrier::Yto).await.unwrap();
        assert_eq!(
            balance(app, Account::credit_of(Carrier::Yto)).await,
            Fen(part)
        );
        assert_eq!(
            app.unclaim_receipt(&boss, a, " ").await.unwrap_err().code(),
            Code::UnclaimReasonInvalid
        );
        let ended = app
            .unclaim_receipt(&boss, a, "付款人是中通，认领错了")
            .await
            .unwrap();
        assert_eq!(
            ended.ended.as_ref().unwrap().transfer_id,
            format!("unclaim:{a}")
        );
        assert_eq!(
            balance(app, Account::credit_of(Carrier::Yto)).await,
            Fen(0),
            "{}",
            h.name()
        );
        assert_eq!(
            balance(app, Account::of(AccountKind::UnappliedCash)).await,
            Fen(march.net.0),
            "the money is unclaimed again"
        );
        assert!(
            app.unclaimed_receipts(&boss)
                .await
                .unwrap()
                .iter()
                .any(|u| u.receipt.id == a)
        );
        assert_eq!(
            app.unclaim_receipt(&boss, a, "again")
                .await
                .unwrap_err()
                .code(),
            Code::NotFound
        );
        // Claimed again, for ZTO, under a new transfer id.
        let again = app.claim_receipt(&boss, a, Carrier::Zto).await.unwrap();
        assert_eq!(again.transfer_id, format!("claim:{a}:2"));
        assert_eq!(
            app.claim_receipt(&boss, a, Carrier::Yto)
                .await
                .unwrap_err()
                .code(),
            Code::ReceiptClaimed,
            "one live claim"
        );
        let yto_claims = app
            .debtor_payments(&boss, Carrier::Yto)
            .await
            .unwrap()
            .claims;
        assert!(
            yto_claims.len() == 1 && yto_claims[0].ended.is_some(),
            "the ended claim is kept"
        );
        // Written off: the money is spent, un-claiming is refused.
        app.claim_receipt(&boss, b, Carrier::Zto).await.unwrap();
        app.write_off(&boss, &write_off("all", Carrier::Zto, vec![], None))
            .await
            .unwrap();
        let spent = app.unclaim_receipt(&boss, a, "晚了").await.unwrap_err();
        assert_eq!(spent.code(), Code::ClaimSpent, "{}", h.name());
        let trail = app.store.audit_rows_after(0, 1_000).await.unwrap();
        assert_eq!(
            trail
                .iter()
                .filter(|r| r.act == "receipt_unclaimed")
                .count(),
            1
        );
        let check = app.check_ledger(&boss).await.unwrap();
        assert!(check.is_whole(), "{}: {:?}", h.name(), check.problems);
        h.cleanup().await;
    }
}

/// Bad debts: an invoice written off as uncollectable to write-off expense —
/// its net falls, the ledger stays whole, a repeat key is one write-off, a
/// collection plan does not count it, and above the threshold a second
/// person must approve it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_debt_goes_to_write_off_expense_with_a_second_person_above_the_threshold() {
    for mut h in backends().await {
        h.app.settings.approvals.write_off_fen_max = 150;
        let app = &h.app;
        books(&h, 300, 61).await;
        app.backfill_ledger().await.unwrap();
        let boss = admin();
        let wang = person(&h, "wang", Role::CountyOperator).await;
        let march = app
            .issue_statement(&boss, Carrier::Zto, month("2026-03"), Some(10))
            .await
            .unwrap()
            .statement;
        assert!(march.net.0 > 300, "{}", h.name());
        let bad = |key: &str, amount: Option<i64>, reason: &str| app::finance::BadDebtRequest {
            key: key.into(),
            carrier: Carrier::Zto,
            statement: march.id,
            amount: amount.map(Fen),
            reason: reason.into(),
        };
        assert_eq!(
            app.write_off_bad_debt(&wang, &bad("b1", Some(100), " "))
                .await
                .unwrap_err()
                .code(),
            Code::BadDebtReasonInvalid
        );
        let done = app
            .write_off_bad_debt(&wang, &bad("b1", Some(100), "网点已撤销，无法追偿"))
            .await
            .unwrap();
        assert!(!done.repeat);
        assert_eq!(done.payments[0].transfer_id, format!("bad:b1:{}", march.id));
        let again = app
            .write_off_bad_debt(&wang, &bad("b1", Some(100), "网点已撤销，无法追偿"))
            .await
            .unwrap();
        assert!(again.repeat, "{}", h.name());
        // An ordinary write-off cannot take the bad debt's stored key and
        // find it as its own repeat.
        assert_eq!(
            app.write_off(
                &wang,
                &app::finance::WriteOffRequest {
                    key: "bad:b1".into(),
                    carrier: Carrier::Zto,
                    statements: vec![],
                    amount: None,
                },
            )
            .await
            .unwrap_err()
            .code(),
            Code::WriteOffKeyInvalid,
            "{}",
            h.name()
        );
        assert_eq!(
            balance(app, Account::of(AccountKind::WriteOffExpense)).await,
            Fen(100)
        );
        let now = app.statement(&boss, march.id).await.unwrap().statement;
        assert_eq!(now.net, Fen(march.net.0 - 100));
        // Not collected money: plans do not count it.
        let (from, to) = domain::collection::PlanKind::Dekad
            .period_of(app.today())
            .span_ms();
        assert!(
            app.store
                .credited_between(domain::ledger::TransferKind::WriteOff, from, to)
                .await
                .unwrap()
                .is_empty()
        );
        // Above the threshold: filed for a second person.
        assert_eq!(
            app.write_off_bad_debt(&wang, &bad("b2", Some(200), "破产"))
                .await
                .unwrap_err()
                .code(),
            Code::ApprovalRequired,
            "{}",
            h.name()
        );
        let trail = app.store.audit_rows_after(0, 1_000).await.unwrap();
        assert_eq!(
            trail
                .iter()
                .filter(|r| r.act == "bad_debt_written_off")
                .count(),
            1
        );
        assert!(app.check_ledger(&boss).await.unwrap().is_whole());
        h.cleanup().await;
    }
}

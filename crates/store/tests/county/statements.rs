//! Statements (对账单, issue 15, point 2) on both databases: issued from the
//! ledger once the month is over, answered line by line by the carrier,
//! disputes resolved by reversing or adjusting transfers; the statement's
//! net equals the carrier's receivable to the fen.

use super::*;
use app::finance::{
    Account, Bucket, LineAnswer, LineStatus, Month, Resolution, StatementStatus, TransferKind,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_are_issued_answered_and_resolved_in_step_with_the_ledger() {
    for h in backends().await {
        let app = &h.app;
        let day = run_county_day(app).await;
        let month = Month::of(day.day);
        let zto = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Zto));
        let sf = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Sf));
        let refused = |r: Result<app::finance::StatementView, AppError>| r.unwrap_err().code();
        assert_eq!(
            refused(
                app.issue_statement(&admin(), Carrier::Zto, month, None)
                    .await
            ),
            Code::StatementMonthOpen
        );
        // The first hour of the next month.
        h.clock
            .set(domain::day_start(month.next().first_day()) + Duration::hours(1));
        assert_eq!(
            refused(app.issue_statement(&zto, Carrier::Zto, month, None).await),
            Code::Forbidden
        );
        let issued = app
            .issue_statement(&admin(), Carrier::Zto, month, Some(20))
            .await
            .unwrap();
        let receivable = app
            .store
            .ledger_account(&Account::receivable(Carrier::Zto))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(issued.statement.n_lines, 9, "{}", h.name());
        assert_eq!(issued.lines.len(), 9);
        assert_eq!(issued.statement.issued, receivable.balance, "to the fen");
        assert_eq!(
            issued.lines.iter().map(|l| l.amount.0).sum::<i64>(),
            receivable.balance.0
        );
        assert_eq!(issued.statement.status, StatementStatus::Issued);
        assert_eq!(
            issued.statement.due_day,
            month.last_day() + Duration::days(20)
        );
        let fees = app
            .fee_ledger(&admin(), Carrier::Zto, day.day, day.day, None, None)
            .await
            .unwrap();
        for line in &issued.lines {
            let fee = fees
                .iter()
                .find(|f| Some(f.fee.parcel_id) == line.parcel_id)
                .expect("every line is a fee");
            assert_eq!(
                (
                    &fee.waybill,
                    fee.fee.mode,
                    fee.fee.bracket,
                    fee.fee.agreement_version,
                    fee.fee.amount
                ),
                (
                    &line.waybill,
                    line.mode,
                    line.bracket,
                    line.agreement_version,
                    line.amount
                )
            );
        }
        let id = issued.statement.id;
        assert_eq!(
            refused(
                app.issue_statement(&admin(), Carrier::Zto, month, None)
                    .await
            ),
            Code::StatementExists
        );
        assert_eq!(
            refused(
                app.issue_statement(&admin(), Carrier::Jd, month, None)
                    .await
            ),
            Code::StatementEmpty
        );
        // Each carrier sees its own statements only.
        assert_eq!(app.statements(&zto, None).await.unwrap().len(), 1);
        assert!(app.statements(&sf, None).await.unwrap().is_empty());
        assert!(matches!(
            app.statement(&sf, id).await,
            Err(AppError::NotFound("statement"))
        ));
        assert_eq!(app.statements(&admin(), None).await.unwrap().len(), 1);

        // The carrier answers: one confirmed, three disputed.
        let line = |n: usize| issued.lines[n].id;
        let dispute = |n: usize| LineAnswer::Dispute {
            line_id: line(n),
            reason: format!("第 {n} 行重量不对"),
        };
        assert_eq!(
            refused(
                app.answer_statement(
                    &zto,
                    id,
                    &[LineAnswer::Dispute {
                        line_id: line(1),
                        reason: " ".into()
                    }]
                )
                .await
            ),
            Code::ReasonMissing
        );
        assert!(matches!(
            app.answer_statement(&sf, id, &[LineAnswer::Confirm { line_id: line(0) }])
                .await,
            Err(AppError::NotFound("statement"))
        ));
        let answered = app
            .answer_statement(
                &zto,
                id,
                &[
                    LineAnswer::Confirm { line_id: line(0) },
                    dispute(1),
                    dispute(2),
                    dispute(3),
                ],
            )
            .await
            .unwrap();
        assert_eq!(answered.statement.status, StatementStatus::Disputed);
        assert_eq!(
            refused(
                app.answer_statement(&zto, id, &[LineAnswer::Confirm { line_id: line(0) }])
                    .await
            ),
            Code::LineAnswered
        );

        // Finance resolves: reversed, adjusted, upheld.
        let amount = |n: usize| issued.lines[n].amount;
        assert_eq!(
            refused(
                app.resolve_statement_line(&zto, id, line(1), Resolution::Reverse, "x")
                    .await
            ),
            Code::Forbidden
        );
        assert_eq!(
            refused(
                app.resolve_statement_line(&admin(), id, line(0), Resolution::Reverse, "x")
                    .await
            ),
            Code::LineNotDisputed
        );
        assert_eq!(
            refused(
                app.resolve_statement_line(
                    &admin(),
                    id,
                    line(2),
                    Resolution::Adjust { amount: amount(2) },
                    "x"
                )
                .await
            ),
            Code::AdjustmentInvalid
        );
        app.resolve_statement_line(&admin(), id, line(1), Resolution::Reverse, "包裹未妥投")
            .await
            .unwrap();
        let adjusted_to = Fen(amount(2).0 / 2);
        app.resolve_statement_line(
            &admin(),
            id,
            line(2),
            Resolution::Adjust {
                amount: adjusted_to,
            },
            "按首重计费",
        )
        .await
        .unwrap();
        let upheld = app
            .resolve_statement_line(&admin(), id, line(3), Resolution::Uphold, "称重记录无误")
            .await
            .unwrap();
        assert_eq!(
            upheld.statement.status,
            StatementStatus::Issued,
            "five lines open"
        );
        let credited = Fen(amount(1).0 + amount(2).0 - adjusted_to.0);
        assert_eq!(upheld.statement.credited, credited);
        let rest: Vec<LineAnswer> = (4..9)
            .map(|n| LineAnswer::Confirm { line_id: line(n) })
            .collect();
        let settled = app.answer_statement(&zto, id, &rest).await.unwrap();
        assert_eq!(settled.statement.status, StatementStatus::Settled);
        let statuses: Vec<LineStatus> = settled.lines.iter().map(|l| l.status).collect();
        assert_eq!(
            &statuses[..4],
            &[
                LineStatus::Confirmed,
                LineStatus::Reversed,
                LineStatus::Adjusted,
                LineStatus::Upheld
            ]
        );
        // The statement's net is the receivable, to the fen.
        let receivable = app
            .store
            .ledger_account(&Account::receivable(Carrier::Zto))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(settled.statement.net, receivable.balance);
        assert_eq!(
            settled.statement.net,
            Fen(settled.statement.issued.0 - credited.0)
        );
        let kinds: Vec<TransferKind> = app
            .account_transfers(&zto, "carrier_receivable:ZTO", None, Some(2))
            .await
            .unwrap()
            .1
            .items
            .iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![TransferKind::Adjustment, TransferKind::Reversal]
        );
        let check = app.check_ledger(&admin()).await.unwrap();
        assert!(check.is_whole(), "{}: {:?}", h.name(), check.problems);
        h.cleanup().await;
    }
}

/// Ageing (issue 15, point 3): an issued statement is an invoice owed from
/// its due day; its net moves from bucket to bucket as Shanghai days pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrears_age_each_debtor_from_the_due_day_in_shanghai_days() {
    for h in backends().await {
        let app = &h.app;
        let day = run_county_day(app).await;
        let month = Month::of(day.day);
        h.clock
            .set(domain::day_start(month.next().first_day()) + Duration::hours(1));
        assert!(app.arrears_ageing(&admin()).await.unwrap().is_empty());
        let issued = app
            .issue_statement(&admin(), Carrier::Zto, month, Some(10))
            .await
            .unwrap()
            .statement;
        let due = issued.due_day;
        let zto = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Zto));
        assert_eq!(
            app.arrears_ageing(&zto).await.unwrap_err().code(),
            Code::Forbidden
        );
        let auditor = principal(Role::Auditor, vec![], None);
        // (the Shanghai day seen, the bucket the whole net is in)
        for (late, bucket) in [
            (0, Bucket::NotDue),
            (1, Bucket::Days1To30),
            (30, Bucket::Days1To30),
            (31, Bucket::Days31To60),
            (61, Bucket::Days61To90),
            (91, Bucket::Over90),
        ] {
            // The last minute of the Shanghai day, and its first.
            let seen = due + Duration::days(late);
            for at in [
                domain::day_start(seen + Duration::days(1)) - Duration::minutes(1),
                domain::day_start(seen),
            ] {
                h.clock.set(at);
                let rows = app.arrears_ageing(&auditor).await.unwrap();
                assert_eq!(rows.len(), 1, "{}", h.name());
                let row = &rows[0];
                assert_eq!(row.carrier, Carrier::Zto);
                assert_eq!(row.total, issued.net);
                assert_eq!(row.oldest_due, Some(due));
                for b in Bucket::ALL {
                    let want = if b == bucket { issued.net } else { Fen(0) };
                    assert_eq!(row.bucket(b), want, "{} late {late}: {b:?}", h.name());
                }
            }
        }
        h.cleanup().await;
    }
}

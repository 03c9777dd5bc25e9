//! Maker–checker on SQLite and PostgreSQL (issue 12, point 5): a reveal
//! beyond the day's count and an export over the day limit cannot happen
//! until a second person approved them; the maker's attempt files the
//! request; nobody approves their own; an approved reveal is spent once,
//! an approved export lasts its window; every step is in the audit trail;
//! the database itself refuses a self-approval.

use app::AppError;
use app::auth::NewUser;
use app::ports::audit::AuditFilter;
use chrono::{Duration, NaiveDate};
use domain::approval::{State, Thresholds};
use domain::{Carrier, Principal, Role};
use testkit::*;

async fn person(h: &Harness, username: &str, role: Role, stations: Vec<i64>) -> Principal {
    let user_id = h
        .app
        .create_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password: "correct horse battery".into(),
            role,
            carrier: None,
            station_ids: stations.clone(),
        })
        .await
        .unwrap();
    Principal {
        user_id,
        username: username.into(),
        role,
        station_ids: stations,
        carrier: None,
    }
}

/// The approval id an `approval_required` refusal names.
fn required(result: Result<impl std::fmt::Debug, AppError>) -> i64 {
    match result {
        Err(error) if error.is(app::Code::ApprovalRequired) => {
            let message = error.message(app::Lang::En);
            let digits: String = message
                .split('#')
                .nth(1)
                .unwrap()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().unwrap()
        }
        other => panic!("wanted approval_required, got {other:?}"),
    }
}

async fn acts(h: &Harness, act: &str) -> Vec<String> {
    h.app
        .audit_trail(
            &admin(),
            AuditFilter {
                act: Some(act.into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.details)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reveal_beyond_the_count_waits_for_a_second_person_and_is_spent_once() {
    for h in backends().await {
        let station_id = station(&h.app, 8, 2).await;
        let keeper = person(&h, "keeper_a", Role::StationKeeper, vec![station_id]).await;
        let operator = person(&h, "operator_a", Role::CountyOperator, vec![]).await;
        let officer = person(&h, "officer_a", Role::ComplianceOfficer, vec![]).await;
        let parcel = h
            .app
            .inbound(&keeper, station_id, scan("ZT1000000001", "13800138000"))
            .await
            .unwrap()
            .parcel_id;
        let limit = Thresholds::default().phone_reveals_per_day;
        for _ in 0..limit {
            assert!(h.app.parcel_phone(&keeper, parcel).await.unwrap().is_some());
        }
        // One more: refused, and the request is filed once however often
        // the keeper tries.
        let id = required(h.app.parcel_phone(&keeper, parcel).await);
        assert_eq!(required(h.app.parcel_phone(&keeper, parcel).await), id);
        let (_, mine) = h.app.approvals(&keeper).await.unwrap();
        assert_eq!(mine.len(), 1, "{}", h.name());
        assert_eq!(mine[0].state, State::Pending);
        assert_eq!(mine[0].record.scope, format!("phone:parcel:{parcel}"));

        // Neither the keeper nor the compliance officer may decide it.
        assert!(matches!(
            h.app.decide_approval(&keeper, id, true, None).await,
            Err(ref e) if e.is(app::Code::ApprovalOwnRequest)
        ));
        assert!(matches!(
            h.app.decide_approval(&officer, id, true, None).await,
            Err(AppError::Forbidden(_))
        ));
        // The county operator sees it and approves.
        let (to_decide, _) = h.app.approvals(&operator).await.unwrap();
        assert_eq!(
            to_decide.iter().map(|v| v.record.id).collect::<Vec<_>>(),
            vec![id]
        );
        let decided = h
            .app
            .decide_approval(&operator, id, true, None)
            .await
            .unwrap();
        assert_eq!(decided.state, State::Approved);
        assert!(matches!(
            h.app.decide_approval(&operator, id, false, Some("late")).await,
            Err(ref e) if e.is(app::Code::ApprovalNotPending)
        ));

        // The reveal goes through once; the next one needs a new approval.
        assert!(h.app.parcel_phone(&keeper, parcel).await.unwrap().is_some());
        let again = required(h.app.parcel_phone(&keeper, parcel).await);
        assert_ne!(again, id);

        // The trail: requested twice, granted once, and the reveal names
        // the approval it used.
        assert_eq!(
            acts(&h, "approval_requested").await.len(),
            2,
            "{}",
            h.name()
        );
        assert_eq!(acts(&h, "approval_granted").await.len(), 1);
        let reveals = acts(&h, "phone_revealed").await;
        assert_eq!(reveals.len() as u32, limit + 1);
        assert!(
            reveals
                .iter()
                .any(|d| d.contains(&format!("\"approval\":{id}"))),
            "{reveals:?}"
        );
        // A new Shanghai day starts a new count.
        h.clock.advance(Duration::days(1));
        assert!(h.app.parcel_phone(&keeper, parcel).await.unwrap().is_some());
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_over_the_day_limit_needs_another_operator_for_its_window() {
    for h in backends().await {
        let maker = person(&h, "operator_m", Role::CountyOperator, vec![]).await;
        let checker = person(&h, "operator_c", Role::CountyOperator, vec![]).await;
        let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let month = from + Duration::days(30);
        let long = from + Duration::days(60);
        // Within the limit: no second person.
        h.app
            .fee_ledger(&maker, Carrier::Zto, from, month, None, None)
            .await
            .unwrap();
        // Over it: refused until approved, and the scope is exact.
        let id = required(
            h.app
                .fee_ledger(&maker, Carrier::Zto, from, long, None, None)
                .await,
        );
        let other = required(h.app.reconcile(&maker, Carrier::Zto, from, long).await);
        assert_ne!(id, other, "a different export is a different request");
        // A refusal must say why, and then the maker files again.
        assert!(matches!(
            h.app.decide_approval(&checker, other, false, None).await,
            Err(ref e) if e.is(app::Code::ApprovalNoteRequired)
        ));
        let refused = h
            .app
            .decide_approval(&checker, other, false, Some("范围过大，请按月导出"))
            .await
            .unwrap();
        assert_eq!(refused.state, State::Refused);
        assert_ne!(
            required(h.app.reconcile(&maker, Carrier::Zto, from, long).await),
            other
        );

        h.app
            .decide_approval(&checker, id, true, None)
            .await
            .unwrap();
        // An export is read a page at a time: usable until the window ends.
        for _ in 0..3 {
            h.app
                .fee_ledger(&maker, Carrier::Zto, from, long, None, None)
                .await
                .unwrap();
        }
        // Another person does not borrow the maker's approval.
        assert_ne!(
            required(
                h.app
                    .fee_ledger(&checker, Carrier::Zto, from, long, None, None)
                    .await
            ),
            id
        );
        h.clock
            .advance(Duration::hours(Thresholds::default().approval_hours));
        assert_ne!(
            required(
                h.app
                    .fee_ledger(&maker, Carrier::Zto, from, long, None, None)
                    .await
            ),
            id,
            "an approval past its window lets nothing through"
        );
        let exports = acts(&h, "data_exported").await;
        assert!(
            exports
                .iter()
                .any(|d| d.contains(&format!("\"approval\":{id}"))),
            "{exports:?}"
        );
        h.cleanup().await;
    }
}

/// "不能做": even a write that goes around the use case cannot record an
/// approval by the person who asked for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_a_self_approval() {
    for h in backends().await {
        let maker = person(&h, "operator_s", Role::CountyOperator, vec![]).await;
        let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let id = required(
            h.app
                .reconcile(&maker, Carrier::Zto, from, from + Duration::days(90))
                .await,
        );
        let refused = h
            .db
            .raw_execute(&format!(
                "UPDATE approvals SET decision = 'approved', decided_by = requested_by, decided_at = 1 WHERE id = {id}"
            ))
            .await;
        assert!(refused.is_err(), "{}: {refused:?}", h.name());
        h.cleanup().await;
    }
}

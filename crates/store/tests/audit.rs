//! The audit trail on SQLite and PostgreSQL (issue 12, point 4): sensitive
//! acts leave one chained row each, in their own transaction; the database
//! refuses UPDATE and DELETE; a row edited by hand (the trigger dropped or
//! disabled, as a database owner could) is named by `verify_audit`;
//! concurrent appends never fork the chain; and an act whose record cannot
//! be written does not happen.

use app::audit::{Act, BreakReason};
use app::auth::NewUser;
use app::parcels::{PickupProof, ShownProof};
use app::ports::audit::AuditFilter;
use domain::Role;
use sqlx::Connection;
use testkit::*;

async fn acts_of(h: &Harness) -> Vec<String> {
    let rows = h
        .app
        .audit_trail(
            &admin(),
            AuditFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    rows.into_iter().rev().map(|row| row.act).collect()
}

/// A station with one shelved parcel; its id.
async fn shelved(h: &Harness, waybill: &str) -> (i64, i64) {
    let station_id = station(&h.app, 4, 2).await;
    let outcome = h
        .app
        .inbound(
            &keeper_of(station_id),
            station_id,
            scan(waybill, "13800138000"),
        )
        .await
        .unwrap();
    (station_id, outcome.parcel_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_acts_leave_a_chain_that_verifies_and_names_a_hand_edited_row() {
    for h in backends().await {
        let (station_id, parcel_id) = shelved(&h, "ZT0000000001").await;
        let keeper = keeper_of(station_id);
        // Shelving is not a sensitive act: nothing yet.
        assert!(acts_of(&h).await.is_empty(), "{}", h.name());

        let phone = h.app.parcel_phone(&keeper, parcel_id).await.unwrap();
        assert_eq!(phone.as_deref(), Some("13800138000"));
        h.app
            .pick_up(
                &keeper,
                parcel_id,
                PickupProof::StaffAssisted {
                    shown: ShownProof::IdCard,
                    note: Some("本人 13800138000".into()),
                },
            )
            .await
            .unwrap();
        h.app
            .create_user(NewUser {
                username: "officer".into(),
                display_name: "合规专员".into(),
                password: "correct horse battery".into(),
                role: Role::ComplianceOfficer,
                carrier: None,
                station_ids: vec![],
            })
            .await
            .unwrap();
        assert_eq!(
            acts_of(&h).await,
            ["phone_revealed", "pickup_staff_assisted", "user_created"],
            "{}",
            h.name()
        );
        let rows = h
            .app
            .audit_trail(
                &admin(),
                AuditFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        // No whole number anywhere in the trail: the reveal keeps the masked
        // phone, the staff note stays out.
        for row in &rows {
            assert!(
                !row.details.contains("13800138000"),
                "{}: {row:?}",
                h.name()
            );
        }
        let reveal = rows.iter().find(|r| r.act == "phone_revealed").unwrap();
        assert_eq!(reveal.details, r#"{"phone":"138****8000"}"#);
        assert_eq!(
            (
                reveal.object_kind.as_str(),
                reveal.object_id,
                reveal.station_id
            ),
            ("parcel", Some(parcel_id), Some(station_id))
        );
        assert_eq!(reveal.actor, "keeper");
        assert_eq!(reveal.actor_role, "station_keeper");

        let report = h.app.verify_audit(&admin()).await.unwrap();
        assert!(report.ok(), "{}: {report:?}", h.name());
        assert_eq!(report.count, 3);
        assert_eq!(report.head_seq, Some(3));
        let head = h.app.audit_head(&admin()).await.unwrap().unwrap();
        assert_eq!(report.head_hash.as_deref(), Some(head.hash.as_str()));

        // The database refuses changes and removals.
        let mut raw = h.raw().await;
        for statement in [
            "UPDATE audit_log SET actor = 'someone_else' WHERE seq = 2",
            "DELETE FROM audit_log WHERE seq = 3",
        ] {
            let refused = sqlx::query(statement).execute(&mut raw).await;
            assert!(refused.is_err(), "{}: {statement} was allowed", h.name());
        }
        // A database owner can take the trigger away; the chain still tells.
        let disable = match h.name() {
            "sqlite" => "DROP TRIGGER audit_log_no_update",
            _ => "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
        };
        sqlx::query(disable).execute(&mut raw).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'someone_else' WHERE seq = 2")
            .execute(&mut raw)
            .await
            .unwrap();
        raw.close().await.unwrap();
        let report = h.app.verify_audit(&admin()).await.unwrap();
        let broken = report.broken.expect("the edit is caught");
        assert_eq!(
            (broken.seq, broken.reason),
            (2, BreakReason::HashMismatch),
            "{}",
            h.name()
        );
        assert_eq!(report.count, 3);
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acts_append_to_one_chain_without_forking() {
    for h in backends().await {
        let (station_id, parcel_id) = shelved(&h, "ZT0000000002").await;
        let keeper = keeper_of(station_id);
        let n = 24;
        let mut tasks = Vec::new();
        // More reveals than one person's daily count: this test is about
        // the chain, so the maker–checker gate is lifted
        // (`store/tests/approvals.rs` holds the gate).
        let mut ungated = h.app.clone();
        ungated.settings.approvals = domain::approval::Thresholds::off();
        for _ in 0..n {
            let app = ungated.clone();
            let keeper = keeper.clone();
            tasks.push(tokio::spawn(async move {
                app.parcel_phone(&keeper, parcel_id).await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let report = h.app.verify_audit(&admin()).await.unwrap();
        assert!(report.ok(), "{}: {report:?}", h.name());
        assert_eq!(report.count, n, "{}", h.name());
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_act_whose_record_cannot_be_written_does_not_happen() {
    for h in backends().await {
        // A username that is a whole mobile number would put personal data
        // into a table that can never be edited: the record is refused, and
        // with it the user.
        let refused = h
            .app
            .create_user(NewUser {
                username: "13800138000".into(),
                display_name: "x".into(),
                password: "correct horse battery".into(),
                role: Role::Auditor,
                carrier: None,
                station_ids: vec![],
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), app::Code::AuditPersonalData, "{}", h.name());
        assert!(
            h.app
                .store
                .user_by_name("13800138000")
                .await
                .unwrap()
                .is_none()
        );
        assert!(acts_of(&h).await.is_empty());
        // The command line is named as such.
        h.app
            .create_user(NewUser {
                username: "auditor".into(),
                display_name: "审计".into(),
                password: "correct horse battery".into(),
                role: Role::Auditor,
                carrier: None,
                station_ids: vec![],
            })
            .await
            .unwrap();
        let row = h.app.audit_head(&admin()).await.unwrap().unwrap();
        assert_eq!(
            (
                row.actor.as_str(),
                row.actor_role.as_str(),
                row.actor_user_id
            ),
            ("cli", "system", None)
        );
        assert_eq!(Act::parse(&row.act), Some(Act::UserCreated));
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_administrator_and_the_second_and_third_lines_read_the_trail() {
    for h in backends().await {
        let station_id = station(&h.app, 2, 1).await;
        let mut refused = vec![keeper_of(station_id)];
        for role in [
            Role::CountyOperator,
            Role::CarrierIntegrator,
            Role::StationTerminal,
        ] {
            let mut p = admin();
            p.role = role;
            refused.push(p);
        }
        for p in refused {
            assert!(h.app.verify_audit(&p).await.is_err(), "{:?}", p.role);
            assert!(h.app.audit_head(&p).await.is_err(), "{:?}", p.role);
        }
        for role in [Role::Admin, Role::ComplianceOfficer, Role::Auditor] {
            let mut p = admin();
            p.role = role;
            assert!(h.app.verify_audit(&p).await.unwrap().ok());
        }
        h.cleanup().await;
    }
}

/// Configuration changes write their row in their own transaction: when
/// the row is refused (here an actor named by a mobile number, which the
/// trail never holds) the change is not made either — no station, route,
/// contractor, webhook subscription or contact phone without its record.
#[tokio::test]
async fn a_configuration_change_whose_record_is_refused_is_not_made() {
    for h in backends().await {
        let phone_named = domain::Principal {
            user_id: 9,
            username: "13800138000".into(),
            role: Role::Admin,
            station_ids: vec![],
            carrier: None,
        };
        let refused = |e: app::AppError| assert_eq!(e.code(), app::Code::AuditPersonalData, "{e}");
        let before = h.app.store.stations().await.unwrap().len();
        let new_station = app::ports::NewStation {
            name: "石桥村驿站".into(),
            township: "石桥镇".into(),
            division_code: None,
            location: None,
            code_format: domain::CodeFormat::default(),
            holding: domain::station::HoldingPolicy::default(),
            slots: vec![],
        };
        refused(
            h.app
                .create_station(&phone_named, &new_station)
                .await
                .unwrap_err(),
        );
        assert_eq!(h.app.store.stations().await.unwrap().len(), before);

        refused(
            h.app
                .create_route(&phone_named, "一号线", &["510182103".to_string()])
                .await
                .unwrap_err(),
        );
        assert!(h.app.store.routes().await.unwrap().is_empty());
        refused(
            h.app
                .create_contractor(&phone_named, "老王", "510182103", None)
                .await
                .unwrap_err(),
        );
        assert!(h.app.store.contractors().await.unwrap().is_empty());
        refused(
            h.app
                .create_webhook(
                    &phone_named,
                    domain::Carrier::Zto,
                    "https://hooks.example.com/yizhan",
                    &["stored".to_string()],
                )
                .await
                .unwrap_err(),
        );
        assert!(
            h.app
                .store
                .webhook_subscriptions(None)
                .await
                .unwrap()
                .is_empty()
        );

        let station = station(&h.app, 2, 1).await;
        refused(
            h.app
                .set_station_contact_phone(&phone_named, station, Some("0571-88886666"))
                .await
                .unwrap_err(),
        );
        assert_eq!(
            h.app.store.station_contact_phone(station).await.unwrap(),
            None
        );
        assert!(acts_of(&h).await.is_empty(), "{}", h.name());
        h.cleanup().await;
    }
}

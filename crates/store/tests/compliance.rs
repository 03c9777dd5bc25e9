//! Compliance checks as code on SQLite and PostgreSQL (issue 12, point 6):
//! the demo's planted breaches (`Db::plant_breaches`, plus whole-phone
//! reveals above the daily count through the real use case) are each found
//! by their rule; a re-run adds nothing while they stay open; the officer
//! assigns, explains and closes with a history line and an audit row each;
//! the auditor reads and changes nothing.

use app::auth::NewUser;
use app::compliance::FindingUpdate;
use domain::compliance::{FindingStatus, Rule, Thresholds};
use domain::{Carrier, Principal, Role};
use store::BreachPlan;
use testkit::*;

fn as_role(role: Role, username: &str) -> Principal {
    Principal {
        user_id: 99,
        username: username.into(),
        role,
        station_ids: vec![],
        carrier: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_planted_breach_is_found_once_and_the_officer_follows_it_up() {
    for h in backends().await {
        let station_id = station(&h.app, 8, 2).await;
        let keeper_id = h
            .app
            .create_user(NewUser {
                username: "keeper_b".into(),
                display_name: "店主".into(),
                password: "correct horse battery".into(),
                role: Role::StationKeeper,
                carrier: None,
                station_ids: vec![station_id],
            })
            .await
            .unwrap();
        let idle_id = h
            .app
            .create_user(NewUser {
                username: "county_idle".into(),
                display_name: "久未登录".into(),
                password: "correct horse battery".into(),
                role: Role::CountyOperator,
                carrier: None,
                station_ids: vec![],
            })
            .await
            .unwrap();
        let mut keeper = keeper_of(station_id);
        keeper.user_id = keeper_id;
        let mut parcels = Vec::new();
        for i in 0..4 {
            let outcome = h
                .app
                .inbound(
                    &keeper,
                    station_id,
                    scan(&format!("ZT10000000{i:02}"), "13800138000"),
                )
                .await
                .unwrap();
            parcels.push(outcome.parcel_id);
        }
        let subscription = h
            .app
            .create_webhook(&admin(), Carrier::Zto, "https://zto.example/hook", &[])
            .await
            .unwrap()
            .subscription
            .id;
        // Checks on a clean county find nothing.
        let officer = as_role(Role::ComplianceOfficer, "officer");
        let clean = h.app.run_compliance(&officer).await.unwrap();
        assert_eq!(clean.new_findings, 0, "{}: {clean:?}", h.name());

        h.db.plant_breaches(
            &BreachPlan {
                station_id,
                parcels: [parcels[0], parcels[1], parcels[2]],
                idle_user_id: idle_id,
                subscription_id: subscription,
            },
            h.app.now(),
        )
        .await
        .unwrap();
        // Planted around the maker–checker gate on purpose: a reveal beyond
        // the count without a second person is what this rule exists to find
        // should the gate ever fail (`store/tests/approvals.rs` holds it).
        let mut ungated = h.app.clone();
        ungated.settings.approvals = domain::approval::Thresholds::off();
        for _ in 0..=Thresholds::default().phone_reveals_per_day {
            ungated.parcel_phone(&keeper, parcels[3]).await.unwrap();
        }

        let run = h.app.run_compliance(&officer).await.unwrap();
        for outcome in &run.rules {
            assert!(
                outcome.seen >= 1 && outcome.new >= 1,
                "{}: {} found nothing: {run:?}",
                h.name(),
                outcome.rule
            );
        }
        assert_eq!(run.rules.len(), Rule::ALL.len());
        let findings = h.app.findings(&officer, None).await.unwrap();
        assert_eq!(findings.len(), run.new_findings, "{}", h.name());
        // Evidence holds ids and counts, never the phone.
        for finding in &findings {
            assert!(!finding.evidence.contains("13800138000"), "{finding:?}");
            assert_eq!(finding.status, FindingStatus::Open);
        }
        // The keeper answers for the station's breaches; the revealer for
        // their reveals.
        let stored = findings
            .iter()
            .find(|f| f.rule == "stored_without_consent")
            .unwrap();
        assert_eq!(stored.responsible_user_id, Some(keeper_id), "{stored:?}");
        assert_eq!(stored.responsible.as_deref(), Some("keeper_b"));
        let reveals = findings
            .iter()
            .find(|f| f.rule == "phone_reveals_above_daily_count")
            .unwrap();
        assert_eq!(reveals.responsible_user_id, Some(keeper_id));

        // A re-run sees them again and opens nothing new.
        let again = h.app.run_compliance(&officer).await.unwrap();
        assert_eq!(again.new_findings, 0, "{}: {again:?}", h.name());
        assert_eq!(
            h.app.findings(&officer, None).await.unwrap().len(),
            findings.len()
        );

        // The officer follows one up; each step is history and audit.
        let explained = h
            .app
            .update_finding(
                &officer,
                stored.id,
                FindingUpdate {
                    status: Some(FindingStatus::Explained),
                    responsible: Some("county_idle".into()),
                    note: Some("店主说明：同意记录漏录".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(explained.finding.status, FindingStatus::Explained);
        assert_eq!(explained.finding.responsible_user_id, Some(idle_id));
        assert_eq!(explained.history.len(), 2);
        let open = h
            .app
            .findings(&officer, Some(FindingStatus::Open))
            .await
            .unwrap();
        assert_eq!(open.len(), findings.len() - 1);
        // The auditor reads and changes nothing; nor does a keeper.
        let auditor = as_role(Role::Auditor, "auditor");
        assert_eq!(
            h.app
                .finding(&auditor, stored.id)
                .await
                .unwrap()
                .history
                .len(),
            2
        );
        for who in [&auditor, &keeper] {
            assert!(h.app.run_compliance(who).await.is_err());
            assert!(
                h.app
                    .update_finding(who, stored.id, FindingUpdate::default())
                    .await
                    .is_err()
            );
        }
        assert!(h.app.findings(&keeper, None).await.is_err());
        let fixed = h
            .app
            .update_finding(
                &officer,
                stored.id,
                FindingUpdate {
                    status: Some(FindingStatus::Fixed),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(fixed.finding.status, FindingStatus::Fixed);
        let closed = h
            .app
            .update_finding(&officer, stored.id, FindingUpdate::default())
            .await
            .unwrap_err();
        assert_eq!(closed.code(), app::Code::FindingClosed);
        // The trail recorded the runs and the changes, and still verifies.
        let report = h.app.verify_audit(&officer).await.unwrap();
        assert!(report.ok(), "{}: {report:?}", h.name());
        h.cleanup().await;
    }
}

//! The kiosk fleet on SQLite and PostgreSQL (issue 14, branch kiosks):
//! placing, editing, suspending and retiring kiosks (each audited), an
//! import whose bad rows are reported one by one while the good ones are
//! kept, collection (a scan collects an accepted order of the kiosk with
//! its event and the staff's commission posted once; repeats, other
//! kiosks' and unknown waybills are flagged; closing records what is still
//! in the bin as missing) and the daily report's figures.

use app::Code;
use app::auth::NewUser;
use app::kiosks::{HistoryOrder, KioskFilter, KioskInput};
use app::ports::prelude::*;
use chrono::{Duration, NaiveDate};
use domain::kiosk::{KioskStatus, ScanOutcome};
use domain::sending::OrderState;
use domain::{Phone, Principal, Role};
use testkit::*;

async fn staff(h: &Harness, username: &str) -> Principal {
    let user_id = h
        .app
        .create_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password: "kiosk-test-password".into(),
            role: Role::CountyOperator,
            carrier: None,
            station_ids: vec![],
        })
        .await
        .unwrap();
    Principal {
        user_id,
        username: username.into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    }
}

fn input(code: &str, staff: &str, branch: &str, scenario: &str, placed_on: &str) -> KioskInput {
    KioskInput {
        code: code.into(),
        host_name: format!("{code} 的场所"),
        scenario: scenario.into(),
        division: "510182103".into(),
        lat: "30.70".into(),
        lon: "103.90".into(),
        placed_on: placed_on.into(),
        staff: staff.into(),
        branch: branch.into(),
    }
}

async fn acts(h: &Harness, act: &str) -> usize {
    h.db.audit_rows_after(0, 1_000)
        .await
        .unwrap()
        .iter()
        .filter(|row| row.act == act)
        .count()
}

/// Accepted (or collected) orders at a kiosk, as the demo writes them: the
/// sending flow's own tests cover how an order gets accepted.
async fn orders_at(h: &Harness, orders: &[HistoryOrder]) {
    let now = h.app.now();
    let mut tx = h.db.begin().await.unwrap();
    let sender = tx
        .ensure_sender(&Phone::parse("13800000000").unwrap(), now)
        .await
        .unwrap();
    tx.insert_history_orders(sender.id, orders).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn kiosks_are_placed_edited_and_retired_with_audit_and_imports_keep_good_rows() {
    for h in backends().await {
        let name = h.name();
        let li = staff(&h, "li").await;
        let today = h.app.today().to_string();
        let kiosk = h
            .app
            .create_kiosk(&li, &input("jjb-001", "li", "城关支局", "pharmacy", &today))
            .await
            .unwrap();
        assert_eq!(kiosk.code, "JJB-001", "{name}: codes are upper-cased");
        assert_eq!(kiosk.staff, "li");
        assert_eq!(kiosk.status, KioskStatus::InService);
        let taken = h
            .app
            .create_kiosk(&li, &input("JJB-001", "li", "城关支局", "hotel", &today))
            .await
            .unwrap_err();
        assert!(taken.is(Code::KioskCodeTaken), "{name}: {taken}");
        let unknown = h
            .app
            .create_kiosk(
                &li,
                &input("JJB-002", "nobody", "城关支局", "hotel", &today),
            )
            .await
            .unwrap_err();
        assert!(unknown.is(Code::KioskStaffUnknown), "{name}: {unknown}");
        // A keeper may not touch the fleet.
        let keeper = keeper_of(1);
        assert!(
            h.app
                .kiosks(&keeper, &KioskFilter::default())
                .await
                .is_err()
        );

        let mut edited = input("JJB-001", "li", "丽春支局", "药店", &today);
        edited.host_name = "康宁大药房".into();
        let kiosk = h.app.update_kiosk(&li, kiosk.id, &edited).await.unwrap();
        assert_eq!(kiosk.branch, "丽春支局");
        assert_eq!(kiosk.host_name, "康宁大药房");
        h.app
            .set_kiosk_suspended(&li, kiosk.id, true)
            .await
            .unwrap();
        assert_eq!(acts(&h, "kiosk_created").await, 1, "{name}");
        assert_eq!(acts(&h, "kiosk_updated").await, 2, "{name}");

        // The import: four bad rows named by line, two good ones kept.
        let rows = vec![
            (2, Ok(input("JJB-010", "li", "九尺支局", "campus", &today))),
            (3, Ok(input("JJB-011", "li", "九尺支局", "airport", &today))),
            (4, Ok(input("JJB-001", "li", "九尺支局", "hotel", &today))),
            (5, Err("unreadable row: missing field".to_string())),
            (6, Ok(input("JJB-010", "li", "九尺支局", "hotel", &today))),
            (7, Ok(input("JJB-012", "li", "九尺支局", "景区", &today))),
        ];
        let imported = h.app.import_kiosks(&li, rows).await.unwrap();
        assert_eq!(imported.n_created, 2, "{name}: {imported:?}");
        let lines: Vec<usize> = imported.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 5, 6], "{name}");
        assert!(imported.rejected[0].reason.contains("scenario"));
        assert!(imported.rejected[3].reason.contains("line 2"));
        let all = h.app.kiosks(&li, &KioskFilter::default()).await.unwrap();
        assert_eq!(all.len(), 3);
        let filtered = h
            .app
            .kiosks(
                &li,
                &KioskFilter {
                    branch: Some("九尺支局".into()),
                    text: Some("012".into()),
                    ..KioskFilter::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(filtered.len(), 1);
        assert_eq!(filtered[0].code, "JJB-012");

        // Retiring needs an empty bin.
        orders_at(
            &h,
            &[HistoryOrder {
                kiosk_id: kiosk.id,
                waybill: "9800000000001".into(),
                price_fen: 1_200,
                accepted_at: h.app.now(),
                collected_at: None,
            }],
        )
        .await;
        let full = h.app.retire_kiosk(&li, kiosk.id).await.unwrap_err();
        assert!(full.is(Code::KioskBinNotEmpty), "{name}: {full}");
        let other = filtered[0].id;
        let retired = h.app.retire_kiosk(&li, other).await.unwrap();
        assert_eq!(retired.status, KioskStatus::Retired);
        assert_eq!(retired.retired_on, Some(h.app.today()));
        assert_eq!(acts(&h, "kiosk_retired").await, 1, "{name}");
        h.cleanup().await;
    }
}

#[tokio::test]
async fn a_courier_collects_the_bin_and_the_run_flags_extra_and_missing() {
    for h in backends().await {
        let name = h.name();
        let li = staff(&h, "li").await;
        let wang = staff(&h, "wang").await;
        let today = h.app.today().to_string();
        let a = h
            .app
            .create_kiosk(&li, &input("JJB-A", "li", "城关支局", "pharmacy", &today))
            .await
            .unwrap();
        let b = h
            .app
            .create_kiosk(&li, &input("JJB-B", "wang", "城关支局", "hotel", &today))
            .await
            .unwrap();
        let now = h.app.now();
        let order = |kiosk_id, waybill: &str| HistoryOrder {
            kiosk_id,
            waybill: waybill.into(),
            price_fen: 1_500,
            accepted_at: now,
            collected_at: None,
        };
        orders_at(
            &h,
            &[
                order(a.id, "9800000000001"),
                order(a.id, "9800000000002"),
                order(a.id, "9800000000003"),
                order(b.id, "9800000000004"),
            ],
        )
        .await;
        h.clock.advance(Duration::hours(2));
        let run = h.app.start_collection(&wang, a.id).await.unwrap();
        let scan = |waybill: &'static str| {
            let h = &h;
            let wang = wang.clone();
            async move { h.app.collect_scan(&wang, run.id, waybill).await.unwrap() }
        };
        let first = scan("9800000000001").await;
        assert_eq!(first.outcome, ScanOutcome::Collected, "{name}");
        assert_eq!(
            first.commission_fen,
            Some(50),
            "{name}: 0.50 yuan a collected order"
        );
        assert_eq!(scan(" 9800000000001 ").await.outcome, ScanOutcome::Repeat);
        assert_eq!(
            scan("9800000000004").await.outcome,
            ScanOutcome::Extra,
            "another kiosk's"
        );
        assert_eq!(
            scan("SF0000000000000").await.outcome,
            ScanOutcome::Extra,
            "unknown"
        );
        assert_eq!(scan("9800000000002").await.outcome, ScanOutcome::Collected);
        // Someone else cannot use the courier's run.
        assert!(
            h.app
                .collect_scan(&li, run.id, "9800000000003")
                .await
                .is_err()
        );
        let closed = h.app.close_collection(&wang, run.id).await.unwrap();
        assert_eq!(
            (closed.n_collected, closed.n_extra, closed.n_missing),
            (2, 2, 1),
            "{name}"
        );
        let view = h.app.collection_view(&wang, run.id).await.unwrap();
        let missing: Vec<&str> = view
            .scans
            .iter()
            .filter(|s| s.outcome == ScanOutcome::Missing)
            .map(|s| s.waybill.as_str())
            .collect();
        assert_eq!(missing, ["9800000000003"], "{name}");
        let closed_again = h
            .app
            .collect_scan(&wang, run.id, "9800000000003")
            .await
            .unwrap_err();
        assert!(closed_again.is(Code::CollectionClosed));

        // The order moved through the state machine with its event.
        let collected =
            h.db.send_order(first_order_id(&h, "9800000000001").await)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(collected.state, OrderState::Collected);
        let events = h.db.order_events(collected.id).await.unwrap();
        assert_eq!(events.last().unwrap().kind, "collect", "{name}");
        assert_eq!(
            events.last().unwrap().from_state,
            Some(OrderState::Accepted)
        );
        // One commission per order, to the kiosk's staff, posted once.
        let mut tx = h.db.begin().await.unwrap();
        let transfer = tx
            .transfer_by_id(&format!("commission:{}", collected.id))
            .await
            .unwrap()
            .expect("the commission is posted");
        assert_eq!(transfer.amount.0, 50);
        assert!(
            transfer.reference.contains("staff li"),
            "{}",
            transfer.reference
        );
        drop(tx);
        // The kiosk's page: one item left in the bin.
        let page = h.app.kiosk_view(&li, a.id).await.unwrap();
        assert_eq!(page.bin.len(), 1);
        assert_eq!(page.runs.len(), 1);

        // The day's report counts the orders and the two collected.
        let report = h.app.kiosk_report(&li, h.app.today()).await.unwrap();
        assert_eq!(report.totals.placed, 2, "{name}");
        assert_eq!(report.totals.active, 2);
        assert_eq!(report.totals.orders, 4);
        assert_eq!(report.totals.collected, 2);
        assert_eq!(report.totals.revenue_fen, 6_000);
        assert_eq!(report.previous.placed, 0);
        let wang_line = report.by_staff.iter().find(|l| l.key == "wang").unwrap();
        assert_eq!(wang_line.totals.orders, 1);
        h.cleanup().await;
    }
}

async fn first_order_id(h: &Harness, waybill: &str) -> i64 {
    let mut tx = h.db.begin().await.unwrap();
    tx.send_order_by_waybill(waybill).await.unwrap().unwrap().id
}

#[tokio::test]
async fn the_report_counts_each_shanghai_day_with_its_day_before() {
    for h in backends().await {
        let name = h.name();
        let li = staff(&h, "li").await;
        let day = h.app.today();
        let before = day.pred_opt().unwrap();
        let placed = |d: NaiveDate| d.to_string();
        let k1 = h
            .app
            .create_kiosk(
                &li,
                &input("K1", "li", "城关支局", "pharmacy", &placed(before)),
            )
            .await
            .unwrap();
        let k2 = h
            .app
            .create_kiosk(&li, &input("K2", "li", "丽春支局", "campus", &placed(day)))
            .await
            .unwrap();
        let at = |d: NaiveDate, hour: i64| domain::day_start(d) + Duration::hours(hour);
        let order = |kiosk_id, n: u32, accepted, collected| HistoryOrder {
            kiosk_id,
            waybill: format!("98{n:011}"),
            price_fen: 1_000,
            accepted_at: accepted,
            collected_at: collected,
        };
        orders_at(
            &h,
            &[
                // The day before: one order at K1, collected on the day.
                order(k1.id, 1, at(before, 23), Some(at(day, 1))),
                // The day: two at K2, one of them collected; none at K1.
                order(k2.id, 2, at(day, 0), Some(at(day, 2))),
                order(k2.id, 3, at(day, 3), None),
                // The next day: not counted.
                order(k1.id, 4, at(day, 24), None),
            ],
        )
        .await;
        let report = h.app.kiosk_report(&li, day).await.unwrap();
        assert_eq!(report.totals.placed, 2, "{name}");
        assert_eq!(report.totals.active, 1);
        assert_eq!(report.totals.active_share, 0.5);
        assert_eq!(report.totals.orders, 2);
        assert_eq!(report.totals.collected, 2);
        assert_eq!(report.previous.placed, 1);
        assert_eq!(report.previous.active, 1);
        assert_eq!(report.previous.orders, 1);
        assert_eq!(report.change.orders, 1);
        assert_eq!(report.n_idle, 1);
        assert_eq!(report.top_kiosks[0].code, "K2");
        h.cleanup().await;
    }
}

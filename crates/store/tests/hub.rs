//! The sorting hub's board on SQLite and PostgreSQL (issue 16, point 4): a
//! plan adopted (audited), the simulator's item log and a truck log
//! imported and tallied into the same figures the pure tally gives, the same
//! file twice changing nothing, a corrected file replacing its day, bad rows
//! reported while the good ones count, and nobody but county staff in.

use app::Code;
use app::ports::prelude::*;
use app::sort_plans::SortSource;
use app::sort_plans::hub::HubLogKind;
use chrono::{NaiveDate, NaiveTime};
use domain::{Principal, Role};
use sort::hub_kpi;
use sort::hub_log::{self, DayOptions};
use testkit::*;

fn county() -> Principal {
    Principal {
        user_id: 0,
        username: "hub-manager".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    }
}

/// A CSV without quoted fields (what the simulator writes) as a grid.
fn grid(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .map(|line| line.split(',').map(str::to_string).collect())
        .collect()
}

fn options(day: NaiveDate, seed: u64) -> DayOptions {
    DayOptions {
        seed,
        day,
        start: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
        no_read_rate: 0.01,
        manual_share: 0.05,
    }
}

async fn acts(h: &Harness, act: &str) -> usize {
    h.db.audit_rows_after(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|row| row.act == act)
        .count()
}

#[tokio::test]
async fn a_days_logs_become_the_hubs_indicators_once_per_file() {
    for h in backends().await {
        let name = h.name();
        let manager = county();
        let day = h.app.today().pred_opt().unwrap();

        // No plan yet: the item log has nothing to be judged against.
        let early = h
            .app
            .import_hub_log(
                &manager,
                HubLogKind::Items,
                "x.csv",
                grid("item,induction_time,destination\n"),
            )
            .await
            .unwrap_err();
        assert!(early.is(Code::HubPlanMissing), "{name}: {early}");

        let plan = h
            .app
            .adopt_hub_plan(&manager, "日常方案", SortSource::Generate(3), 1)
            .await
            .unwrap();
        assert_eq!(acts(&h, "hub_plan_adopted").await, 1, "{name}");
        let record = h.db.hub_plan_in_force().await.unwrap().unwrap();
        assert_eq!(record.id, plan.id);
        let (hub, sort_plan) = app::sort_plans::hub::hub_and_plan(&record).unwrap();

        let items = hub_log::simulated_day(&hub, &sort_plan, &options(day, 5));
        let mut csv = hub_log::items_csv(&items);
        // Two rows a person would have to fix: an unknown chute and a bad time.
        csv.push_str("BAD1,2026-01-01 10:00:00,I01,X,NO-SUCH-CHUTE,,0,0,\n");
        csv.push_str("BAD2,yesterday,I01,X,,,0,0,\n");
        let report = h
            .app
            .import_hub_log(&manager, HubLogKind::Items, "sorter.csv", grid(&csv))
            .await
            .unwrap();
        assert!(report.import_id.is_some(), "{name}");
        assert_eq!(
            report.bad_count,
            2,
            "{name}: {:?}",
            &report.bad[..report.bad.len().min(3)]
        );
        let bad_rows: Vec<usize> = report.bad.iter().map(|b| b.row).collect();
        assert_eq!(bad_rows, vec![items.len() + 2, items.len() + 3], "{name}");
        assert!(report.bad[0].why.contains("NO-SUCH-CHUTE"), "{name}");
        assert_eq!(report.days, vec![day], "{name}");

        // The stored counts give the figures the pure tally gives.
        let expected = hub_kpi::tally(&hub, &sort_plan, &items);
        let want = hub_kpi::figures(
            hub.nameplate_per_hour(),
            &expected.hours,
            &expected.chute_hours,
            &[],
        );
        let board = h.app.hub_board(&manager, Some(day)).await.unwrap();
        assert_eq!(board.figures.items, items.len() as u64, "{name}");
        assert_eq!(board.figures.loop_counts, want.loop_counts, "{name}");
        assert_eq!(
            board.figures.half_loop_drop_rate, want.half_loop_drop_rate,
            "{name}"
        );
        assert_eq!(
            board.figures.chute_items_per_hour_max, want.chute_items_per_hour_max,
            "{name}"
        );
        assert!(
            board.figures.loop_counts.no_read > 0,
            "{name}: no-reads were drawn"
        );
        assert!(
            board.figures.on_machine_share.unwrap() < 1.0,
            "{name}: hand-sorted items count"
        );
        let shift_items: u64 = board.shifts.iter().map(|(_, f)| f.items).sum();
        assert_eq!(
            shift_items, board.figures.items,
            "{name}: the shifts add up to the day"
        );
        let hour_items: u64 = board.hours.iter().map(|(_, f)| f.items).sum();
        assert_eq!(
            hour_items, board.figures.items,
            "{name}: the hours add up to the day"
        );
        assert_eq!(board.plan.as_ref().map(|p| p.id), Some(plan.id), "{name}");

        // The same file again: nothing changes.
        let again = h
            .app
            .import_hub_log(&manager, HubLogKind::Items, "sorter (copy).csv", grid(&csv))
            .await
            .unwrap();
        assert_eq!(again.import_id, None, "{name}");
        assert_eq!(acts(&h, "hub_log_imported").await, 1, "{name}");
        let same = h.app.hub_board(&manager, Some(day)).await.unwrap();
        assert_eq!(
            same.figures.loop_counts, board.figures.loop_counts,
            "{name}"
        );

        // A corrected export of the day replaces it, not adds to it.
        let fewer: Vec<_> = items.iter().take(items.len() / 2).cloned().collect();
        h.app
            .import_hub_log(
                &manager,
                HubLogKind::Items,
                "sorter-fixed.csv",
                grid(&hub_log::items_csv(&fewer)),
            )
            .await
            .unwrap();
        let replaced = h.app.hub_board(&manager, Some(day)).await.unwrap();
        assert_eq!(replaced.figures.items, fewer.len() as u64, "{name}");

        // The yard's trucks.
        let trucks = hub_log::simulated_trucks(&hub, &options(day, 5));
        h.app
            .import_hub_log(
                &manager,
                HubLogKind::Trucks,
                "yard.csv",
                grid(&hub_log::trucks_csv(&trucks)),
            )
            .await
            .unwrap();
        let with_trucks = h.app.hub_board(&manager, Some(day)).await.unwrap();
        assert_eq!(with_trucks.trucks.len(), trucks.len(), "{name}");
        let t = &with_trucks.figures.trucks;
        assert_eq!(t.inbound + t.outbound, trucks.len() as u64, "{name}");
        assert!(
            t.unload_on_time_share.is_some() && t.departure_on_time_share.is_some(),
            "{name}"
        );
        assert_eq!(with_trucks.imports.len(), 3, "{name}: three files imported");

        // A file with no header the reader knows is refused as a whole.
        let unreadable = h
            .app
            .import_hub_log(
                &manager,
                HubLogKind::Trucks,
                "junk.csv",
                grid("a,b,c\n1,2,3\n"),
            )
            .await
            .unwrap_err();
        assert!(
            unreadable.is(Code::HubLogUnreadable),
            "{name}: {unreadable}"
        );

        // Only county staff and the administrator.
        let keeper = Principal {
            user_id: 0,
            username: "keeper".into(),
            role: Role::StationKeeper,
            station_ids: vec![1],
            carrier: None,
        };
        assert!(h.app.hub_board(&keeper, Some(day)).await.is_err(), "{name}");
        assert!(
            h.app
                .import_hub_log(
                    &keeper,
                    HubLogKind::Trucks,
                    "yard.csv",
                    grid(&hub_log::trucks_csv(&trucks))
                )
                .await
                .is_err(),
            "{name}"
        );
    }
}

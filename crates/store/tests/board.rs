//! The board's daily aggregates on SQLite and PostgreSQL (issue 16): a
//! generated county's figures are the same summed from the aggregates as
//! recounted from the events, over ranges wholly rolled up and ranges that
//! are partly rolled up and partly today's; rolling up twice writes nothing;
//! and the generator writes what it says.

use app::ports::{Clock, NewStation};
use chrono::{Duration, NaiveDate};
use domain::CodeFormat;
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use store::generate::CountySpec;
use testkit::*;

async fn stations(h: &Harness, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for idx in 0..n {
        let shelves = [ShelfSpec {
            label: "A".into(),
            tiers: 1,
            slots_per_tier: 2,
            size: SizeClass::Small,
            slot_capacity: 1,
        }];
        let new = NewStation {
            location: None,
            name: format!("驿站{idx}"),
            township: "镇".into(),
            division_code: None,
            code_format: CodeFormat::default(),
            holding: HoldingPolicy::default(),
            slots: lay_out(&shelves).unwrap(),
        };
        ids.push(h.app.store.create_station(&new, start()).await.unwrap().id);
    }
    ids
}

/// The figures as JSON without the moment they were made.
fn comparable(figures: &app::board::BoardFigures) -> serde_json::Value {
    let mut value = serde_json::to_value(figures).unwrap();
    value.as_object_mut().unwrap().remove("generated_at");
    value
}

#[tokio::test]
async fn aggregates_equal_a_recount_from_the_events_on_both_databases() {
    for h in backends().await {
        let today = domain::shanghai_day(h.clock.now());
        let yesterday = today - Duration::days(1);
        let ids = stations(&h, 3).await;
        let spec = CountySpec {
            parcels: 3_000,
            days: 12,
            last_day: yesterday,
            station_ids: ids,
            seed: 7,
        };
        let generated = h.db.generate_county(&spec, &mut |_| {}).await.unwrap();
        assert_eq!(generated.parcels, 3_000, "{}", h.name());
        assert!(generated.events >= 5 * 3_000, "{}", h.name());
        assert!(generated.fees > 0, "{}", h.name());

        let first = yesterday - Duration::days(11);
        let ranges: Vec<(NaiveDate, NaiveDate)> = vec![
            (first, today),
            (first - Duration::days(3), yesterday),
            (yesterday, yesterday),
            (today, today),
            (first + Duration::days(4), first + Duration::days(6)),
        ];
        let admin = admin();
        let mut direct = Vec::new();
        for (from, to) in &ranges {
            direct.push(comparable(&h.app.board(&admin, *from, *to).await.unwrap()));
        }
        let report_direct = h.app.daily_report(&admin, yesterday).await.unwrap();
        assert!(
            report_direct.figures.total("picked_up") > 0,
            "{}: the generated county has pickups",
            h.name()
        );

        let rolled = h.app.roll_up_board(&admin).await.unwrap();
        // From the first event's day to yesterday; the parcels of the
        // generated days' last hours reach their shelves today.
        assert_eq!(rolled.days, 12, "{}", h.name());
        assert_eq!(
            h.app.roll_up_board(&admin).await.unwrap().days,
            0,
            "{}: a day is rolled up once",
            h.name()
        );
        for ((from, to), expected) in ranges.iter().zip(&direct) {
            let summed = comparable(&h.app.board(&admin, *from, *to).await.unwrap());
            assert_eq!(&summed, expected, "{}: {from}..={to}", h.name());
        }
        let report = h.app.daily_report(&admin, yesterday).await.unwrap();
        assert_eq!(
            report.markdown(app::Lang::Zh),
            report_direct.markdown(app::Lang::Zh),
            "{}",
            h.name()
        );

        // Forgotten and rolled up again, the sums are the same.
        h.db.forget_board_rollups().await.unwrap();
        assert_eq!(h.app.roll_up_board(&admin).await.unwrap().days, 12);
        let summed = comparable(&h.app.board(&admin, ranges[0].0, ranges[0].1).await.unwrap());
        assert_eq!(summed, direct[0], "{}", h.name());
        h.cleanup().await;
    }
}

#[tokio::test]
async fn only_county_staff_roll_up_the_board() {
    let h = sqlite().await;
    let keeper = domain::Principal {
        user_id: 9,
        username: "keeper".into(),
        role: domain::Role::StationKeeper,
        station_ids: vec![1],
        carrier: None,
    };
    assert!(h.app.roll_up_board(&keeper).await.is_err());
    assert_eq!(h.app.roll_up_board(&admin()).await.unwrap().days, 0);
    h.cleanup().await;
}

#[tokio::test]
async fn device_changes_are_kept_once_each_and_give_each_stations_uptime() {
    use app::ports::devices::DeviceStatusRecord;
    use app::ports::{BoardStore, DeviceStore};
    use chrono::{DateTime, Utc};
    for h in backends().await {
        let name = h.name();
        let at =
            |minute: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap();
        let status = |online: bool, minute: i64| DeviceStatusRecord {
            state_topic: "yizhan/v1/s/7/door/door-1/state".into(),
            station_id: 7,
            device_kind: "door".into(),
            device_id: "door-1".into(),
            online,
            changed_at: at(minute),
        };
        // Online, heard online again (a retained message on reconnect: no
        // change), offline at minute 60, online at 90.
        for (online, minute) in [(true, -30), (true, 10), (false, 60), (true, 90)] {
            h.db.set_device_status(&status(online, minute))
                .await
                .unwrap();
        }
        let changes = h.db.device_changes(at(0), at(120)).await.unwrap();
        let seen: Vec<(bool, DateTime<Utc>)> = changes.iter().map(|c| (c.online, c.at)).collect();
        assert_eq!(
            seen,
            vec![(true, at(-30)), (false, at(60)), (true, at(90))],
            "{name}: the state before the range, then each change once"
        );
        let uptime = app::board::uptime_by_station(&changes, at(0), at(120));
        assert!(
            (uptime[&7] - 90.0 / 120.0).abs() < 1e-9,
            "{name}: {uptime:?}"
        );
    }
}

//! Issue 12 on the demo county, on SQLite and PostgreSQL: a copy of the
//! database — every text column of every table — shows no mobile number
//! and no recipient's name, while search by phone tail, the terminal's
//! phone-tail check, the phone reveal and SMS sending still work.

use crate::demo;
use app::ports::ParcelFilter;
use app::ports::prelude::*;
use chrono::Duration;
use domain::phone::mobile_numbers_in;
use domain::{ParcelState, Principal, Role};

/// The names the demo gives its recipients (`demo::seed`).
pub(crate) fn demo_names() -> Vec<String> {
    let mut names = Vec::new();
    for surname in ["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"] {
        for title in ["先生", "女士", "阿姨", "大爷"] {
            names.push(format!("{surname}{title}"));
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_database_shows_no_number_or_name_and_everything_still_works() {
    let names = demo_names();
    for h in testkit::backends().await {
        demo::seed(&h.app).await.unwrap();
        let values = h.db.text_values().await.unwrap();
        assert!(values.len() > 1_000, "{}: the dump read the data", h.name());
        let readable: Vec<_> = values
            .iter()
            .filter(|(_, _, v)| {
                !mobile_numbers_in(v.as_bytes()).is_empty()
                    || names.iter().any(|name| v.contains(name.as_str()))
            })
            .map(|(table, column, _)| format!("{table}.{column}"))
            .collect();
        assert!(
            readable.is_empty(),
            "{}: readable in {readable:?}",
            h.name()
        );

        // A stored parcel, as the keeper sees it.
        let stored =
            h.db.parcels(&ParcelFilter {
                state: Some(ParcelState::Stored),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .pop()
            .expect("the demo has stored parcels");
        let station_id = stored.station_id.unwrap();
        let phone = stored.phone.clone().expect("a phone");
        let keeper = testkit::keeper_of(station_id);
        let by_tail = h
            .app
            .search_station(&keeper, station_id, phone.tail())
            .await
            .unwrap()
            .parcels;
        assert!(
            by_tail.iter().any(|v| v.parcel.id == stored.id),
            "{}",
            h.name()
        );
        assert_eq!(
            h.app.parcel_phone(&keeper, stored.id).await.unwrap(),
            Some(phone.full().to_string())
        );
        let terminal = Principal {
            user_id: 99,
            username: "terminal".into(),
            role: Role::StationTerminal,
            station_ids: vec![station_id],
            carrier: None,
        };
        let code = stored.pickup_code.clone().unwrap();
        assert!(
            h.app
                .start_pickup(
                    &terminal,
                    station_id,
                    "tablet",
                    "192.0.2.1",
                    &code,
                    Some(phone.tail())
                )
                .await
                .unwrap()
                .items
                .iter()
                .any(|item| item.parcel_id == stored.id)
        );
        // The waiting messages go to whole numbers, with their codes.
        h.clock.advance(Duration::minutes(5));
        let sender = testkit::RecordingSender::default();
        h.app.relay_once(&sender, 500).await.unwrap();
        let sent = sender.sent.lock().unwrap().clone();
        assert!(!sent.is_empty(), "{}", h.name());
        assert!(
            sent.iter()
                .all(|(to, _)| mobile_numbers_in(to.as_bytes()).len() == 1)
        );
        let readable_after: Vec<_> =
            h.db.text_values()
                .await
                .unwrap()
                .into_iter()
                .filter(|(_, _, v)| !mobile_numbers_in(v.as_bytes()).is_empty())
                .collect();
        assert!(readable_after.is_empty(), "{}", h.name());
        h.cleanup().await;
    }
}

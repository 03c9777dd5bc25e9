//! Personal data at rest (issue 12) on SQLite and PostgreSQL: what a copy
//! of the database shows, sealing what an older version left in plain
//! text, key rotation, and retention driven through its periods by a test
//! clock.

use app::parcels::PickupProof;
use app::ports::ParcelFilter;
use app::ports::prelude::*;
use chrono::Duration;
use domain::phone::mobile_numbers_in;
use domain::{ParcelState, Phone, Principal, Role};
use std::sync::Arc;
use testkit::*;

const NAME: &str = "张三";
const PHONES: [&str; 2] = ["13812345678", "13900001111"];

/// Every text value of the database that shows a mobile number or one of
/// `words`, as `table.column`.
async fn readable(db: &store::Db, words: &[&str]) -> Vec<String> {
    db.text_values()
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, _, value)| {
            !mobile_numbers_in(value.as_bytes()).is_empty()
                || words.iter().any(|w| value.contains(w))
        })
        .map(|(table, column, _)| format!("{table}.{column}"))
        .collect()
}

fn terminal_of(station_id: i64) -> Principal {
    Principal {
        user_id: 9,
        username: "terminal-1".into(),
        role: Role::StationTerminal,
        station_ids: vec![station_id],
        carrier: None,
    }
}

/// Two parcels in for two recipients; their codes.
async fn stocked(h: &Harness, station_id: i64) -> Vec<String> {
    let keeper = keeper_of(station_id);
    let mut codes = Vec::new();
    for (waybill, phone) in [("731234567801", PHONES[0]), ("731234567802", PHONES[1])] {
        let mut parcel = scan(waybill, phone);
        parcel.recipient_name = Some(NAME.into());
        let outcome = h.app.inbound(&keeper, station_id, parcel).await.unwrap();
        codes.push(outcome.pickup_code.unwrap());
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_database_shows_no_number_or_name_yet_everything_still_works() {
    for h in backends().await {
        let station_id = station(&h.app, 10, 1).await;
        let keeper = keeper_of(station_id);
        let codes = stocked(&h, station_id).await;
        h.db.set_standing_consent(&Phone::parse(PHONES[0]).unwrap(), true, "test", h.app.now())
            .await
            .unwrap();
        h.app
            .create_contractor(
                &admin(),
                "李四运输",
                "510182103",
                Some(Phone::parse("13700002222").unwrap()),
            )
            .await
            .unwrap();
        // A keeper's own mobile as the station's contact phone.
        h.app
            .set_station_contact_phone(&keeper, station_id, Some("13700003333"))
            .await
            .unwrap();
        assert_eq!(
            readable(&h.db, &[NAME]).await,
            Vec::<String>::new(),
            "{}: readable personal data",
            h.name()
        );

        // Search by the phone tail still finds the parcel.
        let found = h
            .app
            .search_station(&keeper, station_id, "5678")
            .await
            .unwrap()
            .parcels;
        assert_eq!(found.len(), 1, "{}", h.name());
        let parcel_id = found[0].parcel.id;
        assert_eq!(found[0].parcel.recipient_name.as_deref(), Some(NAME));
        // The reveal endpoint's use case gets the whole number.
        assert_eq!(
            h.app
                .parcel_phone(&keeper, parcel_id)
                .await
                .unwrap()
                .as_deref(),
            Some(PHONES[0])
        );
        // Standing consent is found by the number's keyed hash.
        let mut tx = h.db.begin().await.unwrap();
        assert_eq!(
            tx.standing_consent(&Phone::parse(PHONES[0]).unwrap())
                .await
                .unwrap(),
            Some(true)
        );
        drop(tx);
        // The contractor's phone opens.
        let contractors = h.db.contractors().await.unwrap();
        assert_eq!(contractors[0].phone.as_ref().unwrap().full(), "13700002222");
        // So does the station's contact phone, shown at the door.
        assert_eq!(
            h.app
                .station_contact_phone(&keeper, station_id)
                .await
                .unwrap()
                .as_deref(),
            Some("13700003333")
        );

        // The SMS goes to the whole number with the code; once sent, its
        // body is emptied and only template and times stay.
        h.clock.advance(Duration::minutes(1));
        let sender = testkit::RecordingSender::default();
        h.app.relay_once(&sender, 100).await.unwrap();
        let sent = sender.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 2, "{}", h.name());
        assert!(
            sent.iter()
                .any(|(to, text)| to == PHONES[0] && text.contains(&codes[0]))
        );
        let outbox: Vec<_> =
            h.db.text_values()
                .await
                .unwrap()
                .into_iter()
                .filter(|(table, _, _)| table == "outbox")
                .collect();
        assert!(
            outbox
                .iter()
                .filter(|(_, column, _)| column == "payload")
                .all(|(_, _, v)| v.is_empty()),
            "{}: sent bodies are emptied",
            h.name()
        );
        assert!(
            outbox
                .iter()
                .any(|(_, c, v)| c == "template" && v == "arrival")
        );

        // The terminal's phone-tail check still opens the door for the
        // code with the right tail, and not with a wrong one.
        let terminal = terminal_of(station_id);
        assert!(
            h.app
                .start_pickup(
                    &terminal,
                    station_id,
                    "tablet",
                    "192.0.2.1",
                    &codes[1],
                    Some("0000")
                )
                .await
                .is_err()
        );
        let session = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "tablet",
                "192.0.2.1",
                &codes[1],
                Some("1111"),
            )
            .await
            .unwrap();
        assert_eq!(session.items.len(), 1);
        assert_eq!(readable(&h.db, &[NAME]).await, Vec::<String>::new());
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_rows_of_an_older_version_are_sealed_at_start_and_keys_rotate() {
    for h in backends().await {
        let station_id = station(&h.app, 10, 1).await;
        let keeper = keeper_of(station_id);
        let codes = stocked(&h, station_id).await;
        // Play the older version: plain values where sealed ones were.
        h.db.raw_execute(&format!(
            "UPDATE parcels SET phone = '{}', recipient_name = '{NAME}', address = '石桥村1组', phone_tail = '5678', phone_hash = NULL \
             WHERE waybill = '731234567801'",
            PHONES[0]
        ))
        .await
        .unwrap();
        h.db.raw_execute(&format!(
            "INSERT INTO consents (phone, station_ok, source, recorded_at) VALUES ('{}', 1, 'old', 0)",
            PHONES[1]
        ))
        .await
        .unwrap();
        h.db.raw_execute(&format!(
            "UPDATE outbox SET payload = '{{\"template\":\"arrival\",\"to\":\"{}\"}}', merge_key = 'arrival:1:{}', template = NULL",
            PHONES[0], PHONES[0]
        ))
        .await
        .unwrap();
        assert!(
            !readable(&h.db, &[NAME]).await.is_empty(),
            "the set-up is plain"
        );

        let sealed = h.app.seal_personal_data().await.unwrap();
        assert!(sealed >= 4, "{}: {sealed} rows sealed", h.name());
        assert_eq!(
            readable(&h.db, &[NAME]).await,
            Vec::<String>::new(),
            "{}",
            h.name()
        );
        assert_eq!(h.app.seal_personal_data().await.unwrap(), 0, "nothing left");
        let found = h
            .app
            .search_station(&keeper, station_id, "5678")
            .await
            .unwrap()
            .parcels;
        assert_eq!(found.len(), 1, "{}: the tail hash was made", h.name());
        assert_eq!(found[0].parcel.address.as_deref(), Some("石桥村1组"));
        let session = h
            .app
            .start_pickup(
                &terminal_of(station_id),
                station_id,
                "tablet",
                "192.0.2.1",
                &codes[0],
                Some("5678"),
            )
            .await
            .unwrap();
        assert_eq!(
            session.items.len(),
            1,
            "{}: the phone hash was made",
            h.name()
        );
        let mut tx = h.db.begin().await.unwrap();
        assert_eq!(
            tx.standing_consent(&Phone::parse(PHONES[1]).unwrap())
                .await
                .unwrap(),
            Some(true)
        );
        drop(tx);

        // Rotation: a second data key becomes current; every value is
        // sealed again under it, and the old key file alone opens nothing
        // new.
        let mut file = h.database().key_file.clone();
        file.add_data_key(h.app.now());
        let rotated = Arc::new(store::Keys::from_file(&file).unwrap());
        let db2 = Arc::new(h.database().connect_with(rotated.clone()).await);
        let mut app2 = app::App::new(db2.clone(), h.clock.clone());
        app2.use_keys(rotated);
        let resealed = app2.seal_personal_data().await.unwrap();
        assert!(resealed >= 2, "{}: {resealed} rows resealed", h.name());
        let sealed_values: Vec<_> = db2
            .text_values()
            .await
            .unwrap()
            .into_iter()
            .filter(|(_, _, v)| v.starts_with(app::keys::SEALED_PREFIX))
            .collect();
        assert!(!sealed_values.is_empty());
        assert!(
            sealed_values
                .iter()
                .all(|(_, _, v)| v.starts_with("enc1:k2:")),
            "{}: every value under k2",
            h.name()
        );
        let parcel = db2.parcel(found[0].parcel.id).await.unwrap().unwrap();
        assert_eq!(parcel.phone.unwrap().full(), PHONES[0]);
        let error =
            h.db.parcel(found[0].parcel.id)
                .await
                .unwrap_err()
                .to_string();
        assert!(
            error.contains("k2") && !error.contains(PHONES[0]),
            "{error}"
        );
        db2.close().await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_erases_and_prunes_each_kind_after_its_period_and_keeps_the_rest() {
    for h in backends().await {
        let station_id = station(&h.app, 10, 1).await;
        let keeper = keeper_of(station_id);
        let admin = admin();
        let mut ids = Vec::new();
        for (waybill, phone) in [
            ("731234567801", "13812345678"),
            ("731234567802", "13900001111"),
            ("731234567803", "13700003333"),
        ] {
            let outcome = h
                .app
                .inbound(&keeper, station_id, scan(waybill, phone))
                .await
                .unwrap();
            ids.push((outcome.parcel_id, outcome.pickup_code.unwrap()));
        }
        h.app
            .pick_up(
                &keeper,
                ids[0].0,
                PickupProof::CodeAndPhoneTail {
                    code: ids[0].1.clone(),
                    phone_tail: "5678".into(),
                },
            )
            .await
            .unwrap();
        h.app.return_to_carrier(&admin, ids[1].0).await.unwrap();
        // A wrong code at the terminal leaves an attempt row; a session
        // opens (door and light commands) and is ended.
        let terminal = terminal_of(station_id);
        let _ = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "tablet",
                "192.0.2.1",
                "A-1-000000",
                Some("3333"),
            )
            .await;
        h.app
            .start_pickup(
                &terminal,
                station_id,
                "tablet",
                "192.0.2.1",
                &ids[2].1,
                Some("3333"),
            )
            .await
            .unwrap();
        h.clock.advance(Duration::minutes(10));
        h.app.expire_pickup_sessions().await.unwrap();
        for command in h.db.due_device_commands(h.app.now(), 100).await.unwrap() {
            h.db.finish_device_command(
                &command.command_id,
                app::device_commands::DeviceCommandStatus::Done,
                Some("done"),
                h.app.now(),
            )
            .await
            .unwrap();
        }
        h.app
            .relay_once(&testkit::RecordingSender::default(), 100)
            .await
            .unwrap();
        let counts_before = h.db.count_by_state(Some(station_id)).await.unwrap();
        let events_before = h.db.events(ids[0].0).await.unwrap().len();

        // Within every period, nothing goes.
        h.clock.advance(Duration::days(29));
        let report = h.app.run_retention().await.unwrap();
        assert_eq!(report.parcels_erased, 0, "{}", h.name());
        assert!(
            report.pruned.iter().all(|(_, n)| *n == 0),
            "{}: {report:?}",
            h.name()
        );

        // Past 30 days: the parcels that left lose their personal data,
        // the shelved one keeps it; attempts, commands and sessions go.
        h.clock.advance(Duration::days(2));
        let report = h.app.run_retention().await.unwrap();
        assert_eq!(report.parcels_erased, 2, "{}", h.name());
        let pruned = |kind: &str| {
            report
                .pruned
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, n)| *n)
                .unwrap()
        };
        assert!(pruned("code_attempts") >= 1, "{}: {report:?}", h.name());
        assert!(pruned("device_commands") >= 1, "{}: {report:?}", h.name());
        assert_eq!(pruned("pickup_sessions"), 1, "{}: {report:?}", h.name());
        assert_eq!(pruned("sent_messages"), 0, "messages stay 90 days");
        for (id, state) in [
            (ids[0].0, ParcelState::PickedUp),
            (ids[1].0, ParcelState::Returned),
        ] {
            let parcel = h.db.parcel(id).await.unwrap().unwrap();
            assert_eq!(parcel.state, state);
            assert_eq!(parcel.station_id, Some(station_id));
            assert!(
                parcel.phone.is_none()
                    && parcel.recipient_name.is_none()
                    && parcel.address.is_none()
                    && parcel.pickup_code.is_none(),
                "{}: parcel {id} erased",
                h.name()
            );
        }
        let kept = h.db.parcel(ids[2].0).await.unwrap().unwrap();
        assert_eq!(kept.phone.unwrap().full(), "13700003333");
        assert_eq!(
            h.db.count_by_state(Some(station_id)).await.unwrap(),
            counts_before
        );
        assert_eq!(h.db.events(ids[0].0).await.unwrap().len(), events_before);
        let tail_search = ParcelFilter {
            station_id: Some(station_id),
            phone_tail: Some("5678".into()),
            limit: 10,
            ..Default::default()
        };
        assert!(
            h.db.parcels(&tail_search).await.unwrap().is_empty(),
            "the tail hash went too"
        );

        // Sent messages' rows go after 90 days; a second run finds nothing.
        h.clock.advance(Duration::days(60));
        let report = h.app.run_retention().await.unwrap();
        assert!(
            report
                .pruned
                .iter()
                .any(|(k, n)| *k == "sent_messages" && *n >= 3),
            "{}: {report:?}",
            h.name()
        );
        let again = h.app.run_retention().await.unwrap();
        assert_eq!(again.parcels_erased, 0);
        assert!(again.pruned.iter().all(|(_, n)| *n == 0), "{again:?}");
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

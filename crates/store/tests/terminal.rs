//! The self-service pickup terminal against real SQLite and PostgreSQL:
//! sessions, colours, door and light commands in the devices' outbox,
//! checkout scans, throttling, alerts, signed QR codes and idle expiry.

use app::device_commands::DeviceCommandRecord;
use app::ports::ParcelFilter;
use app::ports::prelude::*;
use app::terminal::{ScanOutcome, SessionState};
use app::{AppError, Code};
use chrono::Duration;
use domain::{ParcelState, Principal, Role};
use serde_json::Value;
use testkit::*;

/// The phone tails of [`stocked`]'s three parcels, in scan order.
const TAILS: [&str; 3] = ["5678", "5678", "1111"];
/// Where the tablet's requests come from.
const SOURCE: &str = "192.0.2.10";

fn terminal_of(station_id: i64) -> Principal {
    Principal {
        user_id: 9,
        username: "terminal-1".into(),
        role: Role::StationTerminal,
        station_ids: vec![station_id],
        carrier: None,
    }
}

/// The commands waiting for the devices, as (device kind, operation).
async fn pending_commands(h: &Harness) -> Vec<(String, Value)> {
    let due: Vec<DeviceCommandRecord> = h.db.due_device_commands(h.app.now(), 100).await.unwrap();
    due.into_iter()
        .map(|c| (c.device_kind, serde_json::from_str(&c.payload).unwrap()))
        .collect()
}

async fn clear_commands(h: &Harness) {
    for c in h.db.due_device_commands(h.app.now(), 100).await.unwrap() {
        h.db.finish_device_command(
            &c.command_id,
            app::device_commands::DeviceCommandStatus::Done,
            Some("done"),
            h.app.now(),
        )
        .await
        .unwrap();
    }
}

/// Three parcels in: two for one recipient, one for another. Returns the
/// station and the codes and waybills in scan order.
async fn stocked(h: &Harness) -> (i64, Vec<(String, String)>) {
    let station_id = station(&h.app, 10, 1).await;
    let keeper = keeper_of(station_id);
    let mut out = Vec::new();
    for (waybill, phone) in [
        ("731234567801", "13812345678"),
        ("731234567802", "13812345678"),
        ("731234567803", "13900001111"),
    ] {
        let outcome = h
            .app
            .inbound(&keeper, station_id, scan(waybill, phone))
            .await
            .unwrap();
        out.push((outcome.pickup_code.unwrap(), waybill.to_string()));
    }
    (station_id, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_lights_all_the_recipients_parcels_in_a_colour_of_their_own() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let terminal = terminal_of(station_id);
        let first = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap();
        assert_eq!(first.items.len(), 2, "both of the recipient's parcels");
        assert_eq!(first.state, SessionState::Open);
        let commands = pending_commands(&h).await;
        let door: Vec<_> = commands.iter().filter(|(k, _)| k == "door").collect();
        assert_eq!(door.len(), 1);
        assert_eq!(door[0].1["op"], "open");
        let light = commands
            .iter()
            .find(|(k, _)| k == "lights")
            .expect("a light command");
        // One colour per light command (protocol 1.0, docs/devices.md).
        assert_eq!(light.1["colour"], first.colour.hex);
        let segments: Vec<u64> = light.1["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect();
        let expected: Vec<u64> = first.items.iter().map(|i| u64::from(i.segment)).collect();
        assert_eq!(segments, expected);
        assert!(light.1["not_after_ms"].as_i64().unwrap() > h.app.now().timestamp_millis());

        // Another customer at the same time gets another colour.
        let second = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[2].0,
                Some(TAILS[2]),
            )
            .await
            .unwrap();
        assert_eq!(second.items.len(), 1);
        assert_ne!(second.colour.hex, first.colour.hex);
        // The first customer typing again re-opens their own session.
        let again = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[1].0,
                Some(TAILS[1]),
            )
            .await
            .unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(again.colour, first.colour);
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_records_only_the_customers_own_parcels() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let terminal = terminal_of(station_id);
        let session = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap();
        clear_commands(&h).await;

        // Someone else's parcel: refused, nothing recorded.
        let wrong = h
            .app
            .checkout_scan(
                &terminal,
                station_id,
                Some(session.id),
                "front-tablet",
                &parcels[2].1,
            )
            .await
            .unwrap();
        assert!(matches!(wrong, ScanOutcome::NotYours { .. }), "{wrong:?}");
        let third =
            h.db.parcels(&ParcelFilter {
                waybill: Some(parcels[2].1.clone()),
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(third[0].state, ParcelState::Stored);
        assert_eq!(h.db.events(third[0].id).await.unwrap().len(), 1);
        assert!(pending_commands(&h).await.is_empty());

        // Their own: recorded as the recipient's self-checkout.
        let taken = h
            .app
            .checkout_scan(
                &terminal,
                station_id,
                Some(session.id),
                "front-tablet",
                &parcels[0].1,
            )
            .await
            .unwrap();
        let ScanOutcome::Taken {
            parcel_id,
            session: view,
        } = taken
        else {
            panic!("expected taken, got {taken:?}");
        };
        assert_eq!(view.state, SessionState::Open);
        let events = h.db.events(parcel_id).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.kind, "picked_up");
        assert_eq!(last.details["proof"], "self_checkout_scan");
        assert_eq!(last.details["session"], session.id);
        // Its segment goes dark; the other stays lit.
        let off = pending_commands(&h).await;
        assert_eq!(off.len(), 1);
        assert_eq!(off[0].1["op"], "off");
        clear_commands(&h).await;

        // The same scan again changes nothing.
        let again = h
            .app
            .checkout_scan(
                &terminal,
                station_id,
                Some(session.id),
                "front-tablet",
                &parcels[0].1,
            )
            .await
            .unwrap();
        assert!(matches!(again, ScanOutcome::AlreadyTaken { .. }));
        assert_eq!(h.db.events(parcel_id).await.unwrap().len(), events.len());

        // The checkout scanner over MQTT takes the last one; the session is done.
        let last = h
            .app
            .device_scan(station_id, "checkout", &parcels[1].1)
            .await
            .unwrap();
        let ScanOutcome::Taken { session: view, .. } = last else {
            panic!("expected taken, got {last:?}");
        };
        assert_eq!(view.state, SessionState::Done);
        assert!(view.items.iter().all(|i| i.taken));
        assert_invariants(&h.db).await;
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_without_the_phone_tail_or_with_a_wrong_one_opens_nothing() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let terminal = terminal_of(station_id);
        // Today's code alone opened the door; now it is refused before any
        // look-up, and counts as nothing.
        let error = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                None,
            )
            .await
            .unwrap_err();
        assert!(error.is(Code::PickupEntryInvalid), "{error:?}");
        let error = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                Some("0000"),
            )
            .await
            .unwrap_err();
        assert!(error.is(Code::PickupCodeWrong), "{error:?}");
        // Another recipient's tail with this code does not open it either.
        let error = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[2]),
            )
            .await
            .unwrap_err();
        assert!(error.is(Code::PickupCodeWrong), "{error:?}");
        assert!(pending_commands(&h).await.is_empty(), "no door opened");
        h.app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap();
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_random_not_a_counter() {
    for h in backends().await {
        let (_, parcels) = stocked(&h).await;
        let secrets: Vec<u64> = parcels
            .iter()
            .map(|(code, _)| code.rsplit('-').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            parcels
                .iter()
                .all(|(code, _)| code.rsplit('-').next().unwrap().len() == 6),
            "six random digits: {parcels:?}"
        );
        // Three consecutive scans under a counter differ by one; random
        // draws from a million almost never do (the chance is ~1e-6).
        assert!(
            secrets.windows(2).any(|w| w[0].abs_diff(w[1]) > 1),
            "consecutive codes look sequential: {parcels:?}"
        );
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_codes_slows_down_each_key_and_alerts_the_keeper_but_qr_still_opens() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let terminal = terminal_of(station_id);
        let policy = h.app.settings.terminal.throttle_terminal;
        for i in 0..policy.free_failures {
            let error = h
                .app
                .start_pickup(
                    &terminal,
                    station_id,
                    "front-tablet",
                    SOURCE,
                    &format!("Z-9-{i:06}"),
                    Some(&format!("{:04}", 9000 + i)),
                )
                .await
                .unwrap_err();
            assert!(error.is(Code::PickupCodeWrong), "{error:?}");
            h.clock.advance(Duration::seconds(5));
        }
        // Now even the right code and tail wait: the wait is the first delay.
        let error = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap_err();
        let AppError::Throttled { retry_after_s, .. } = error else {
            panic!("expected a wait, got {error:?}");
        };
        assert!(
            retry_after_s > 0 && retry_after_s <= policy.first_delay.num_seconds(),
            "{retry_after_s}"
        );
        assert!(pending_commands(&h).await.is_empty(), "no door opened");
        let alerts = h
            .app
            .alerts(&keeper_of(station_id), station_id)
            .await
            .unwrap();
        assert_eq!(alerts.len(), 1, "one alert per burst: {alerts:?}");
        assert_eq!(alerts[0].kind, "code_guessing");

        // A genuine QR code is not throttled: the customer still gets in.
        let parcel =
            h.db.parcels(&ParcelFilter {
                waybill: Some(parcels[2].1.clone()),
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap()
            .remove(0);
        let qr = app::qr::sign(
            &h.app.secrets.qr_key,
            app::qr::QrClaim {
                station_id,
                parcel_id: parcel.id,
                expires_at: h.app.now() + Duration::days(1),
            },
        );
        let session = h
            .app
            .start_pickup(&terminal, station_id, "front-tablet", SOURCE, &qr, None)
            .await
            .unwrap();
        h.app
            .end_pickup(&terminal, station_id, session.id)
            .await
            .unwrap();

        // After the wait one more guess is heard; the next wait doubles.
        h.clock.advance(policy.first_delay);
        let error = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                "Z-9-999999",
                Some("9999"),
            )
            .await
            .unwrap_err();
        assert!(error.is(Code::PickupCodeWrong), "{error:?}");
        h.clock.advance(policy.first_delay);
        let error = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, AppError::Throttled { .. }), "{error:?}");
        h.clock.advance(policy.first_delay);
        h.app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap();
        // The failures are forgotten after the throttle's memory.
        h.clock.advance(policy.memory);
        // The keeper acknowledges the alert; it cannot be acknowledged twice.
        let keeper = keeper_of(station_id);
        h.app
            .acknowledge_alert(&keeper, station_id, alerts[0].id)
            .await
            .unwrap();
        assert!(
            h.app
                .acknowledge_alert(&keeper, station_id, alerts[0].id)
                .await
                .is_err()
        );
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_waits_on_its_own_source_and_tail_included() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let terminal = terminal_of(station_id);
        let free = h.app.settings.terminal.throttle_source.free_failures;
        // Guesses from one address through different terminal names (a
        // stolen token) stop on the address's count.
        for i in 0..free {
            let error = h
                .app
                .start_pickup(
                    &terminal,
                    station_id,
                    &format!("t{i}"),
                    "198.51.100.7",
                    &format!("Z-9-{i:06}"),
                    Some(&format!("{:04}", 2000 + i)),
                )
                .await
                .unwrap_err();
            assert!(error.is(Code::PickupCodeWrong), "{error:?}");
        }
        let error = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "fresh",
                "198.51.100.7",
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, AppError::Throttled { .. }), "{error:?}");
        // The right code with a wrong tail, from a new terminal and address
        // each time, so only the tail's own count can stop it.
        for i in 0..h.app.settings.terminal.throttle_phone.free_failures {
            let error = h
                .app
                .start_pickup(
                    &terminal,
                    station_id,
                    &format!("u{i}"),
                    &format!("203.0.113.{i}"),
                    &parcels[0].0,
                    Some("0000"),
                )
                .await
                .unwrap_err();
            assert!(error.is(Code::PickupCodeWrong), "{error:?}");
        }
        let error = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "fresh",
                SOURCE,
                &parcels[0].0,
                Some("0000"),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, AppError::Throttled { .. }), "{error:?}");
        // Nobody else waits: the right tail, another address and terminal.
        h.app
            .start_pickup(
                &terminal,
                station_id,
                "fresh",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap();
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_qr_codes_open_only_their_station_until_they_expire() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let terminal = terminal_of(station_id);
        let parcel =
            h.db.parcels(&ParcelFilter {
                waybill: Some(parcels[2].1.clone()),
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap()
            .remove(0);
        let claim = app::qr::QrClaim {
            station_id,
            parcel_id: parcel.id,
            expires_at: h.app.now() + Duration::days(1),
        };
        let text = app::qr::sign(&h.app.secrets.qr_key, claim);
        let forged = app::qr::sign(b"not the server's key", claim);
        assert!(
            h.app
                .start_pickup(&terminal, station_id, "t1", SOURCE, &forged, None)
                .await
                .is_err()
        );
        let session = h
            .app
            .start_pickup(&terminal, station_id, "t1", SOURCE, &text, None)
            .await
            .unwrap();
        assert_eq!(session.items[0].parcel_id, parcel.id);
        h.app
            .end_pickup(&terminal, station_id, session.id)
            .await
            .unwrap();
        h.clock.advance(Duration::days(1));
        assert!(
            h.app
                .start_pickup(&terminal, station_id, "t1", SOURCE, &text, None)
                .await
                .is_err()
        );
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_end_and_their_lights_go_out() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let terminal = terminal_of(station_id);
        let session = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "t1",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap();
        clear_commands(&h).await;
        h.clock.advance(Duration::seconds(30));
        assert_eq!(h.app.expire_pickup_sessions().await.unwrap(), 0);
        h.clock.advance(h.app.settings.terminal.idle);
        assert_eq!(h.app.expire_pickup_sessions().await.unwrap(), 1);
        let off = pending_commands(&h).await;
        assert_eq!(off.len(), 1);
        assert_eq!(off[0].1["op"], "off");
        assert_eq!(off[0].1["segments"].as_array().unwrap().len(), 2);
        let view = h
            .app
            .pickup_session(&terminal, station_id, session.id)
            .await
            .unwrap();
        assert_eq!(view.state, SessionState::Expired);
        // The colour is free again.
        let next = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "t1",
                SOURCE,
                &parcels[2].0,
                Some(TAILS[2]),
            )
            .await
            .unwrap();
        assert_eq!(next.colour, session.colour);
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_sees_nothing_but_its_sessions() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let terminal = terminal_of(station_id);
        let other = station(&h.app, 4, 1).await;
        assert!(matches!(
            h.app
                .search(
                    &terminal,
                    ParcelFilter {
                        station_id: Some(station_id),
                        limit: 10,
                        ..Default::default()
                    }
                )
                .await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            h.app
                .start_pickup(
                    &terminal,
                    other,
                    "t1",
                    SOURCE,
                    &parcels[0].0,
                    Some(TAILS[0])
                )
                .await,
            Err(AppError::Forbidden(_))
        ));
        let session = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "t1",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap();
        assert!(matches!(
            h.app.pickup_session(&terminal, other, session.id).await,
            Err(AppError::Forbidden(_))
        ));
        assert!(matches!(
            h.app
                .pickup_session(&terminal_of(other), other, session.id)
                .await,
            Err(AppError::NotFound(_))
        ));
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arrival_message_carries_a_qr_link_that_opens_the_terminal() {
    for h in backends().await {
        let (station_id, _) = stocked(&h).await;
        h.clock
            .advance(Duration::seconds(h.app.settings.notice_merge_seconds + 1));
        let sender = testkit::RecordingSender::default();
        h.app.relay_once(&sender, 100).await.unwrap();
        let sent: Vec<String> = sender.sent().into_iter().map(|(_, text)| text).collect();
        assert_eq!(sent.len(), 2, "one message per recipient: {sent:?}");
        let two = sent
            .iter()
            .find(|t| t.contains("2个包裹"))
            .expect("merged notice");
        let token = two
            .split("/q/")
            .nth(1)
            .expect("a QR link in the message")
            .trim_end_matches(|c: char| !c.is_ascii_hexdigit());
        assert!(token.starts_with("YZQ1."), "{two}");
        let session = h
            .app
            .start_pickup(
                &terminal_of(station_id),
                station_id,
                "t1",
                SOURCE,
                token,
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            session.items.len(),
            2,
            "the QR code opens for all the recipient's parcels"
        );
        h.cleanup().await;
    }
}

/// The alerts of one kind at the station.
async fn alerts_of(h: &Harness, station_id: i64, kind: &str) -> usize {
    h.db.alerts(station_id, 50)
        .await
        .unwrap()
        .iter()
        .filter(|a| a.kind == kind)
        .count()
}

/// The newest door command of a pickup session.
async fn door_command(h: &Harness, session_id: i64) -> DeviceCommandRecord {
    h.db.latest_device_command(&format!("pickup-{session_id}-open-"))
        .await
        .unwrap()
        .expect("a door command")
}

/// Issue 19: "open" only after the door's ack; a door that never answers
/// ends the session as `door_failed`, tells the customer whom to call,
/// alerts the keeper once, and hands nothing out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_door_is_open_only_once_acknowledged_and_a_silent_door_hands_nothing_out() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let keeper = keeper_of(station_id);
        h.app
            .set_station_contact_phone(&keeper, station_id, Some("0571-8800 1234"))
            .await
            .unwrap();
        let terminal = terminal_of(station_id);
        let start = |i: usize| {
            h.app.start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[i].0,
                Some(TAILS[i]),
            )
        };

        // An acknowledging door: opening, then open.
        let view = start(2).await.unwrap();
        assert_eq!(view.door.state, app::terminal::DoorState::Opening);
        let command = door_command(&h, view.id).await;
        h.db.finish_device_command(
            &command.command_id,
            app::device_commands::DeviceCommandStatus::Done,
            Some("done"),
            h.app.now(),
        )
        .await
        .unwrap();
        let view = h
            .app
            .pickup_session(&terminal, station_id, view.id)
            .await
            .unwrap();
        assert_eq!(view.door.state, app::terminal::DoorState::Open);
        assert_eq!(view.state, SessionState::Open);
        assert_eq!(view.door.station_phone, None, "no number while all is well");

        // A silent door: the command runs out, as the bridge ends it.
        let view = start(0).await.unwrap();
        assert_eq!(view.door.state, app::terminal::DoorState::Opening);
        h.clock.advance(Duration::seconds(21));
        let command = door_command(&h, view.id).await;
        assert!(
            app::device_commands::expire_device_command(&*h.db, &command, None, h.app.now())
                .await
                .unwrap()
        );
        let view = h
            .app
            .pickup_session(&terminal, station_id, view.id)
            .await
            .unwrap();
        assert_eq!(view.state, SessionState::DoorFailed, "{}", h.name());
        assert_eq!(view.door.state, app::terminal::DoorState::Failed);
        assert_eq!(view.door.reason, Some("expired"));
        assert_eq!(view.door.station_phone.as_deref(), Some("0571-8800 1234"));
        assert!(view.items.iter().all(|i| !i.taken));
        for (_, waybill) in &parcels[..2] {
            let mut tx = h.db.begin().await.unwrap();
            let found = tx
                .parcels_with_waybill(&domain::WaybillNo::parse(waybill).unwrap())
                .await
                .unwrap();
            drop(tx);
            assert_eq!(found[0].state, ParcelState::Stored, "still on the shelf");
        }
        assert_eq!(alerts_of(&h, station_id, "door_command_expired").await, 1);
        // The lights for the customer who never got in go out.
        let off = pending_commands(&h).await;
        assert!(
            off.iter().any(|(k, op)| k == "lights" && op["op"] == "off"),
            "{off:?}"
        );
        // Polling again changes nothing and alerts nothing more.
        h.app
            .pickup_session(&terminal, station_id, view.id)
            .await
            .unwrap();
        assert_eq!(alerts_of(&h, station_id, "door_command_expired").await, 1);
        h.cleanup().await;
    }
}

/// Issue 19: a door controller known to be offline fails the pickup at
/// once (its command is never sent late) and alerts the keeper; a door
/// that acks `failed` fails it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_or_failing_door_ends_the_pickup_at_once_with_an_alert() {
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let terminal = terminal_of(station_id);
        h.app
            .record_device_state(
                &format!("yizhan/v1/stations/{station_id}/door/front/state"),
                station_id,
                "door",
                "front",
                false,
            )
            .await
            .unwrap();
        let view = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[2].0,
                Some(TAILS[2]),
            )
            .await
            .unwrap();
        assert_eq!(view.state, SessionState::DoorFailed, "{}", h.name());
        assert_eq!(view.door.reason, Some("offline"));
        assert_eq!(view.door.station_phone, None, "no number set: come back");
        let command = door_command(&h, view.id).await;
        assert_eq!(
            command.status,
            app::device_commands::DeviceCommandStatus::Failed
        );
        assert_eq!(alerts_of(&h, station_id, "door_command_failed").await, 1);

        // Back online, but the door itself reports a fault.
        h.app
            .record_device_state(
                &format!("yizhan/v1/stations/{station_id}/door/front/state"),
                station_id,
                "door",
                "front",
                true,
            )
            .await
            .unwrap();
        let view = h
            .app
            .start_pickup(
                &terminal,
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[0].0,
                Some(TAILS[0]),
            )
            .await
            .unwrap();
        assert_eq!(view.state, SessionState::Open);
        let command = door_command(&h, view.id).await;
        app::device_commands::end_without_acting(
            &*h.db,
            &command,
            app::device_commands::DeviceCommandStatus::Failed,
            Some("failed"),
            h.app.now(),
        )
        .await
        .unwrap();
        // The background sweep ends it even if no terminal polls.
        h.app.expire_pickup_sessions().await.unwrap();
        let view = h
            .app
            .pickup_session(&terminal, station_id, view.id)
            .await
            .unwrap();
        assert_eq!(view.state, SessionState::DoorFailed);
        assert_eq!(view.door.reason, Some("failed"));
        assert_eq!(alerts_of(&h, station_id, "door_command_failed").await, 2);
        h.cleanup().await;
    }
}

/// Issue 19: the registry decides which devices are heard; replacing a
/// device refuses the old id at once and the terminal addresses the new
/// one; unknown ids alert once per hour; door sensors alert when forced or
/// left open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_accepts_registered_devices_replaces_them_and_reports_strangers() {
    use app::device_registry::{DeviceSeen, Sender, alert_doors_left_open, record_seen, sender};
    use app::devices::DeviceRegistration;
    for h in backends().await {
        let (station_id, parcels) = stocked(&h).await;
        let keeper = keeper_of(station_id);
        let register = |kind: &'static str, device_id: &'static str| {
            let keeper = keeper.clone();
            let app = h.app.clone();
            async move {
                app.register_device(&keeper, station_id, &DeviceRegistration { kind, device_id })
                    .await
            }
        };
        let door = register("door", "front").await.unwrap();
        assert_eq!(
            door.credential_ref,
            format!("yizhan-s{station_id}-door-front; command key v1")
        );
        register("lights", "shelves").await.unwrap();
        let code = |e: AppError| match e {
            AppError::Refused { code, .. } => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(register("door", "front").await.unwrap_err()),
            Code::DeviceExists
        );
        assert_eq!(
            code(register("door", "Front/#").await.unwrap_err()),
            Code::DeviceIdInvalid
        );
        assert_eq!(
            code(register("camera", "c1").await.unwrap_err()),
            Code::DeviceKindInvalid
        );
        assert!(matches!(
            h.app
                .register_device(
                    &keeper_of(station_id + 1),
                    station_id,
                    &DeviceRegistration {
                        kind: "door",
                        device_id: "x"
                    }
                )
                .await,
            Err(AppError::Forbidden(_))
        ));

        let now = h.app.now();
        assert!(matches!(
            sender(&*h.db, station_id, "door", "front", now)
                .await
                .unwrap(),
            Sender::Registered(_)
        ));
        for _ in 0..3 {
            assert_eq!(
                sender(&*h.db, station_id, "door", "ghost", now)
                    .await
                    .unwrap(),
                Sender::Unknown
            );
        }
        assert_eq!(
            sender(&*h.db, station_id + 1000, "door", "front", now)
                .await
                .unwrap(),
            Sender::UnknownStation,
            "another deployment's station"
        );
        assert_eq!(
            alerts_of(&h, station_id, "unknown_device").await,
            1,
            "once an hour"
        );
        h.clock.advance(Duration::hours(1));
        sender(&*h.db, station_id, "door", "ghost", h.app.now())
            .await
            .unwrap();
        assert_eq!(alerts_of(&h, station_id, "unknown_device").await, 2);

        // Replace the door: the old id is refused, the terminal uses the new.
        let new = h
            .app
            .replace_device(&keeper, station_id, door.id, "front-2")
            .await
            .unwrap();
        assert_eq!(new.device_id, "front-2");
        assert_eq!(
            sender(&*h.db, station_id, "door", "front", h.app.now())
                .await
                .unwrap(),
            Sender::Unknown,
            "the replaced door is refused"
        );
        assert_eq!(
            code(
                h.app
                    .replace_device(&keeper, station_id, door.id, "front-3")
                    .await
                    .unwrap_err()
            ),
            Code::DeviceRetired
        );
        let listed = h.app.station_devices(&keeper, station_id).await.unwrap();
        let old = listed.iter().find(|d| d.device.id == door.id).unwrap();
        assert_eq!(old.device.replaced_by, Some(new.id));
        assert!(old.device.retired_at.is_some());
        let view = h
            .app
            .start_pickup(
                &terminal_of(station_id),
                station_id,
                "front-tablet",
                SOURCE,
                &parcels[2].0,
                Some(TAILS[2]),
            )
            .await
            .unwrap();
        assert_eq!(door_command(&h, view.id).await.device_id, "front-2");

        // What the new door's state says: model, firmware, sensor.
        let seen = |door: Option<&'static str>, now| DeviceSeen {
            model: Some("YZ-D1"),
            firmware: Some("1.2.0"),
            door_sensor: door,
            now,
        };
        record_seen(&*h.db, &new, &seen(Some("closed"), h.app.now()))
            .await
            .unwrap();
        record_seen(&*h.db, &new, &seen(Some("open"), h.app.now()))
            .await
            .unwrap();
        let after = Duration::minutes(3);
        assert_eq!(
            alert_doors_left_open(&*h.db, h.app.now(), after)
                .await
                .unwrap(),
            0
        );
        h.clock.advance(Duration::minutes(4));
        // Still open (a repeated state does not restart the clock).
        record_seen(&*h.db, &new, &seen(Some("open"), h.app.now()))
            .await
            .unwrap();
        assert_eq!(
            alert_doors_left_open(&*h.db, h.app.now(), after)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            alert_doors_left_open(&*h.db, h.app.now(), after)
                .await
                .unwrap(),
            0,
            "once per opening"
        );
        record_seen(&*h.db, &new, &seen(Some("forced"), h.app.now()))
            .await
            .unwrap();
        assert_eq!(alerts_of(&h, station_id, "door_forced").await, 1);
        let listed = h.app.station_devices(&keeper, station_id).await.unwrap();
        let shown = listed.iter().find(|d| d.device.id == new.id).unwrap();
        assert_eq!(shown.device.model.as_deref(), Some("YZ-D1"));
        assert_eq!(shown.device.firmware.as_deref(), Some("1.2.0"));
        assert_eq!(shown.device.door_sensor.as_deref(), Some("forced"));
        assert_eq!(shown.device.last_seen_at, Some(h.app.now()));
        h.cleanup().await;
    }
}

//! A kiosk's devices over a real Mosquitto, on SQLite and PostgreSQL (issue
//! 14, branch kiosk-dev): the simulated kiosk's controller, scale, bin,
//! camera and printer speak protocol 1.0 on `yizhan/v1/kiosks/…`; the
//! bridge records their liveness, the scale's settled weight (the screen
//! takes it into the order), the camera's photo (a signed `capture`, the
//! JPEG posted back with the camera's signature), the printer's printed and
//! out-of-paper answers to a signed `print_label`, the bin's drop naming the
//! order, and a full bin raising one alert per incident. Unregistered
//! devices and malformed messages are dropped and counted. SKIP without a
//! broker, a failure under `YIZHAN_REQUIRE_SERVICES=1`.

use app::App;
use app::Code;
use app::auth::NewUser;
use app::kiosks::KioskInput;
use app::ports::prelude::*;
use app::sending::OrderContents;
use chrono::Utc;
use devices::auth::ServerDeviceKey;
use devices::bridge::{Bridge, BridgeConfig, BridgeEvent};
use devices::kiosk::{KioskChannel, KioskKind, Paper, topic};
use devices::mqtt::BrokerConfig;
use devices::sim::{KioskSimConfig, KioskSimulator};
use domain::sending::{Evidence, OrderState, Payer, Platform};
use domain::{Carrier, Principal, Role};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use std::sync::Arc;
use testkit::{Harness, TestClock, backends};
use tokio::sync::broadcast;

const WAIT: std::time::Duration = std::time::Duration::from_secs(15);

async fn next(
    events: &mut broadcast::Receiver<BridgeEvent>,
    what: &str,
    mut wanted: impl FnMut(&BridgeEvent) -> bool,
) -> BridgeEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("bridge stopped"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
}

fn kiosk_event(kiosk: &str, channel: &'static str) -> impl FnMut(&BridgeEvent) -> bool {
    let prefix = format!("yizhan/v1/kiosks/{kiosk}/");
    move |event| matches!(event, BridgeEvent::Kiosk { topic, channel: c, .. } if topic.starts_with(&prefix) && *c == channel)
}

fn ended(command_id: &str) -> impl FnMut(&BridgeEvent) -> bool {
    let id = command_id.to_string();
    move |event| matches!(event, BridgeEvent::Ended { command_id, .. } if *command_id == id)
}

async fn staff(h: &Harness) -> Principal {
    let user_id = h
        .app
        .create_user(NewUser {
            username: "kiosk-staff".into(),
            display_name: "李".into(),
            password: "kiosk-test-password".into(),
            role: Role::CountyOperator,
            carrier: None,
            station_ids: vec![],
        })
        .await
        .unwrap();
    Principal {
        user_id,
        username: "kiosk-staff".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_weighs_photographs_prints_and_reports_the_drop_and_a_full_bin_once() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    for (n, h) in backends().await.into_iter().enumerate() {
        let name = h.name();
        let clock = Arc::new(TestClock::at(Utc::now()));
        let mut app = App::new(h.db.clone(), clock.clone());
        app.use_keys(h.db.keys().clone());
        let operator = staff(&h).await;
        // A code no other run uses: states are retained on the broker.
        let code = format!("KT{}-{n}", Utc::now().timestamp_millis() % 1_000_000_000);
        let kiosk = app
            .create_kiosk(
                &operator,
                &KioskInput {
                    code: code.clone(),
                    host_name: "白果村便利店".into(),
                    scenario: "convenience_store".into(),
                    division: "510182103".into(),
                    lat: "30.70".into(),
                    lon: "103.90".into(),
                    placed_on: clock.now().format("%Y-%m-%d").to_string(),
                    staff: "kiosk-staff".into(),
                    branch: "城关支局".into(),
                },
            )
            .await
            .unwrap();
        let devices = app
            .register_kiosk_devices(&operator, kiosk.id)
            .await
            .unwrap();
        assert_eq!(devices.len(), 5, "{name}");
        assert_eq!(
            app.register_kiosk_devices(&operator, kiosk.id)
                .await
                .unwrap()
                .len(),
            5,
            "{name}: registering again adds nothing"
        );
        let keeper = testkit::keeper_of(1);
        assert!(app.register_kiosk_devices(&keeper, kiosk.id).await.is_err());

        let server_key = ServerDeviceKey::new(app.keys.devices.clone());
        let config = BridgeConfig::new(
            BrokerConfig::open(&url),
            server_key.clone(),
            &format!("yizhan-test-bridge-{code}"),
        );
        let drops = config.drops.clone();
        let bridge = Bridge::start(h.db.clone(), clock.clone(), config)
            .await
            .expect("bridge connects");
        let mut events = bridge.subscribe();
        let (photo_sink, mut photos) = tokio::sync::mpsc::unbounded_channel();
        let mut sim_config = KioskSimConfig::new(&url, &code, &server_key);
        sim_config.photos = Some(Arc::new(move |id, bytes, signature| {
            let _ = photo_sink.send((id, bytes, signature));
        }));
        let sim = KioskSimulator::start(sim_config.clone(), clock.clone())
            .await
            .expect("kiosk connects");
        for _ in 0..5 {
            next(&mut events, "a kiosk state", kiosk_event(&code, "state")).await;
        }
        let fleet = app.kiosk_fleet_liveness(&operator).await.unwrap();
        let seen = &fleet[&kiosk.id];
        assert_eq!((seen.n_devices, seen.n_online), (5, 5), "{name}");
        assert!(seen.controller_online);
        assert_eq!(seen.paper.as_deref(), Some("ok"));

        // An order at the kiosk by a verified sender.
        app.add_waybill_range(
            &testkit::admin(),
            Carrier::Ems,
            "",
            1_100_000_000_000,
            1_100_000_000_099,
            13,
        )
        .await
        .unwrap();
        let sender = testkit::verified_sender(&app, "13912345678").await;
        let from = app
            .confirm_party("张三", "13912345678", "510182103", "白果村3组12号")
            .unwrap();
        let to = app
            .confirm_party("李四", "13800001111", "330727", "安文街道新城路8号")
            .unwrap();
        let order = app
            .create_send_order_via(&sender, "kiosk", Some(&code), from, to)
            .await
            .unwrap();
        assert_eq!(order.kiosk_id, Some(kiosk.id), "{name}");

        // The scale: nothing settled yet, then the parcel's weight.
        assert!(
            app.kiosk_weight(&kiosk)
                .await
                .unwrap_err()
                .is(Code::KioskWeightMissing)
        );
        sim.place_on_scale(812).await.unwrap();
        next(&mut events, "the weight", kiosk_event(&code, "weight")).await;
        assert_eq!(
            app.kiosk_weight(&kiosk).await.unwrap().grams,
            Some(812),
            "{name}"
        );

        // The camera: a signed capture; the photo comes back signed.
        let capture = app
            .kiosk_capture_photo(&kiosk, &sender, order.id)
            .await
            .unwrap();
        let (photo_id, bytes, signature) = tokio::time::timeout(WAIT, photos.recv())
            .await
            .expect("the camera posts its photo")
            .unwrap();
        assert_eq!(photo_id, capture);
        let forged = app
            .receive_kiosk_photo(&capture, &"0".repeat(64), &bytes)
            .await;
        assert!(forged.unwrap_err().is(Code::KioskPhotoRefused), "{name}");
        let photo = app
            .receive_kiosk_photo(&capture, &signature, &bytes)
            .await
            .unwrap();
        assert_eq!(
            app.receive_kiosk_photo(&capture, &signature, &bytes)
                .await
                .unwrap(),
            photo,
            "a photo posted twice is kept once"
        );
        next(&mut events, "the capture's ack", ended(&capture)).await;
        let state = app.kiosk_command_state(&kiosk, &capture).await.unwrap();
        assert_eq!(
            (state.status, state.photo.as_deref()),
            ("done", Some(photo.as_str()))
        );

        // Inspection with the camera's photo and the scale's weight; a
        // platform's return code accepts the order.
        let weighed = app.kiosk_weight(&kiosk).await.unwrap().grams.unwrap();
        app.set_send_contents(
            &sender,
            order.id,
            OrderContents {
                category: "clothing".into(),
                evidence: Evidence {
                    package_photo: Some(photo.clone()),
                    ..Evidence::default()
                },
                weight_grams: weighed,
                size_cm: None,
            },
        )
        .await
        .unwrap();
        app.submit_send_order(
            &sender,
            order.id,
            Payer::platform(Platform::Taobao, "TB-RET-123456").unwrap(),
        )
        .await
        .unwrap();
        let accepted = app.send_order(&sender, order.id).await.unwrap();
        assert_eq!(accepted.state, OrderState::Accepted, "{name}");
        let waybill = accepted.waybill.unwrap();

        // The printer: out of paper fails with its reason; refilled, prints.
        sim.set_paper(Paper::Out).await.unwrap();
        next(
            &mut events,
            "the printer's state",
            kiosk_event(&code, "state"),
        )
        .await;
        let first = app
            .kiosk_print_label(&kiosk, &sender, order.id)
            .await
            .unwrap();
        next(&mut events, "the failed print", ended(&first)).await;
        let failed = app.kiosk_command_state(&kiosk, &first).await.unwrap();
        assert_eq!(failed.status, "failed", "{name}");
        assert!(failed.outcome.unwrap().contains("out_of_paper"));
        sim.set_paper(Paper::Ok).await.unwrap();
        next(
            &mut events,
            "the printer's state",
            kiosk_event(&code, "state"),
        )
        .await;
        let second = app
            .kiosk_print_label(&kiosk, &sender, order.id)
            .await
            .unwrap();
        next(&mut events, "the print", ended(&second)).await;
        assert_eq!(
            app.kiosk_command_state(&kiosk, &second)
                .await
                .unwrap()
                .status,
            "done"
        );
        let printed = sim.state().borrow().printed.clone();
        assert_eq!(printed.len(), 1);
        assert!(
            printed[0].1.contains(&waybill),
            "the label carries the waybill"
        );

        // The bin: the parcel goes in, named by the waybill on its label.
        assert!(
            app.kiosk_dropped(&kiosk, &sender, order.id)
                .await
                .unwrap()
                .is_none()
        );
        sim.drop_in_bin(&waybill, 40).await.unwrap();
        let drop = next(&mut events, "the drop", kiosk_event(&code, "drop")).await;
        assert!(
            matches!(drop, BridgeEvent::Kiosk { order_id: Some(id), .. } if id == order.id),
            "{name}"
        );
        assert!(
            app.kiosk_dropped(&kiosk, &sender, order.id)
                .await
                .unwrap()
                .is_some()
        );

        // A full bin: one alert per incident, resolved when there is room.
        for _ in 0..2 {
            sim.set_bin(100, true).await.unwrap();
            next(&mut events, "the bin's state", kiosk_event(&code, "state")).await;
        }
        let alerts = app.kiosk_alerts(&operator).await.unwrap();
        let ours: Vec<_> = alerts.iter().filter(|a| a.kiosk_id == kiosk.id).collect();
        assert_eq!(ours.len(), 1, "{name}: {alerts:?}");
        assert!(ours[0].message.contains(&code) && ours[0].message.contains("已满"));
        sim.set_bin(10, false).await.unwrap();
        next(&mut events, "the bin's state", kiosk_event(&code, "state")).await;
        assert!(
            app.kiosk_alerts(&operator)
                .await
                .unwrap()
                .iter()
                .all(|a| a.kiosk_id != kiosk.id)
        );
        sim.set_bin(97, false).await.unwrap();
        next(&mut events, "the bin's state", kiosk_event(&code, "state")).await;
        let again = app.kiosk_alerts(&operator).await.unwrap();
        assert_eq!(
            again.iter().filter(|a| a.kiosk_id == kiosk.id).count(),
            1,
            "a new incident"
        );

        // An unregistered device of the kiosk and a malformed weight are dropped.
        let (host, port) = devices::mqtt::parse_url(&url).unwrap();
        let (intruder, mut eventloop) =
            AsyncClient::new(MqttOptions::new(format!("intruder-{code}"), host, port), 16);
        let pump = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
        intruder
            .publish(
                topic(&code, KioskKind::Scale, "spare", KioskChannel::Weight),
                QoS::AtLeastOnce,
                false,
                br#"{"grams":5,"stable":true,"at_ms":1}"#.to_vec(),
            )
            .await
            .unwrap();
        next(&mut events, "the unknown device's drop", |e| matches!(e, BridgeEvent::Dropped { reason: "unknown_device", topic, .. } if topic.contains("/spare/"))).await;
        intruder
            .publish(
                topic(&code, KioskKind::Scale, "main", KioskChannel::Weight),
                QoS::AtLeastOnce,
                false,
                br#"{"grams":"heavy"}"#.to_vec(),
            )
            .await
            .unwrap();
        next(&mut events, "the malformed weight's drop", |e| {
            matches!(
                e,
                BridgeEvent::Dropped {
                    reason: "malformed",
                    ..
                }
            )
        })
        .await;
        assert!(drops.snapshot()["malformed"] >= 1);
        pump.abort();

        // Power off: the controller's last will takes the kiosk offline.
        sim.power_off().await;
        let controller = topic(&code, KioskKind::Controller, "main", KioskChannel::State);
        next(
            &mut events,
            "the last will",
            |e| matches!(e, BridgeEvent::Kiosk { topic, .. } if *topic == controller),
        )
        .await;
        let fleet = app.kiosk_fleet_liveness(&operator).await.unwrap();
        assert!(!fleet[&kiosk.id].controller_online, "{name}");
        // Liveness changes reach the uptime history.
        let changes =
            h.db.device_changes(
                clock.now() - chrono::Duration::hours(1),
                clock.now() + chrono::Duration::hours(1),
            )
            .await
            .unwrap();
        assert!(
            changes.iter().any(|c| c.state_topic == controller),
            "{name}"
        );
        bridge.stop();
        h.cleanup().await;
    }
}

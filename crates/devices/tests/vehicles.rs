//! Vehicles' telemetry over a real Mosquitto (issue 20): a vehicle publishes
//! on its telemetry topic, the bridge hands each good message to the fleet's
//! rules, which store one incident per incident; a malformed message is
//! dropped and counted, never passed on. The rules' automatic commands, the
//! start of a mission and the safety operator's commands go out signed on
//! the vehicle's `cmd` topic through the devices' outbox, and the vehicle's
//! ack ends them. SKIP without a broker, a failure under
//! `YIZHAN_REQUIRE_SERVICES=1`.

use app::App;
use app::fleet::{Compartment, NewVehicle};
use app::ports::{Clock, DeviceStore, FleetStore, GeoPoint};
use chrono::Utc;
use devices::auth::ServerDeviceKey;
use devices::bridge::{Bridge, BridgeConfig};
use devices::mqtt::BrokerConfig;
use devices::vehicle::telemetry_topic;
use domain::fleet::VehicleKind;
use domain::station::SizeClass;
use domain::{Principal, Role};
use rumqttc::{AsyncClient, MqttOptions, QoS};
use std::sync::Arc;
use testkit::TestClock;

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_reaches_the_rules_and_raises_one_incident() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let database = testkit::sqlite_database().await;
    let db = database.db.clone();
    let clock = Arc::new(TestClock::at(Utc::now()));
    let app = App::new(db.clone(), clock.clone());
    let operator = Principal {
        user_id: 0,
        username: "dispatcher".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    };
    // A code no other run uses: telemetry is not retained, but be safe.
    let code = format!("uv-{}", Utc::now().timestamp_millis() % 1_000_000_000);
    app.register_vehicle(
        &operator,
        &NewVehicle {
            code: code.clone(),
            name: "无人车".into(),
            kind: VehicleKind::Unmanned,
            compartments: vec![Compartment {
                number: 1,
                size: SizeClass::Small,
            }],
            battery_wh: 10_000,
            consumption_wh_per_km: 100,
            speed_limit_kmh: 30,
            operating_areas: vec![],
            station_ids: vec![],
            depot: GeoPoint {
                lat: 29.0,
                lon: 119.0,
            },
            driver: None,
        },
    )
    .await
    .unwrap();
    let (sink, mut telemetry) = tokio::sync::mpsc::channel(64);
    let mut config = BridgeConfig::new(
        BrokerConfig::open(&url),
        ServerDeviceKey::random(),
        &format!("yizhan-test-bridge-{code}"),
    );
    config.telemetry = Some(sink);
    let drops = config.drops.clone();
    let bridge = Bridge::start(db.clone(), clock.clone(), config)
        .await
        .expect("bridge connects");

    let (host, port) = devices::mqtt::parse_url(&url).unwrap();
    let (vehicle, mut eventloop) =
        AsyncClient::new(MqttOptions::new(format!("vehicle-{code}"), host, port), 64);
    let pump = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let t0 = clock.now().timestamp_millis();
    vehicle
        .publish(
            telemetry_topic(&code),
            QoS::AtLeastOnce,
            false,
            b"{\"lon\":1".to_vec(),
        )
        .await
        .unwrap();
    for second in 0..5 {
        let message = serde_json::json!({
            "at_ms": t0 + second * 1000, "lon": 119.05, "lat": 29.05, "speed_kmh": 48.0,
            "heading_deg": 90.0, "battery_pct": 80.0, "compartments": [{"n": 1, "state": "closed"}],
            "faults": [], "emergency_stop": false, "seq": second
        });
        vehicle
            .publish(
                telemetry_topic(&code),
                QoS::AtLeastOnce,
                false,
                message.to_string().into_bytes(),
            )
            .await
            .unwrap();
    }
    // Five good messages arrive, in order; the malformed one does not.
    let mut opened = Vec::new();
    let mut second = 0;
    while second < 5 {
        let (from, message) = tokio::time::timeout(WAIT, telemetry.recv())
            .await
            .expect("telemetry arrives")
            .expect("bridge running");
        // Every bridge on the broker hears every vehicle: another test's
        // vehicle is not this one.
        if from != code {
            continue;
        }
        assert_eq!(message.at_ms, t0 + second * 1000);
        opened.extend(app.ingest_telemetry(&from, &message).await.unwrap());
        second += 1;
    }
    assert_eq!(
        opened.len(),
        1,
        "five messages of one speeding: one incident"
    );
    let incident = db.incident(opened[0]).await.unwrap().unwrap();
    assert_eq!(incident.rule, "speeding");
    assert!(incident.command.unwrap().contains("slow_down"));
    assert_eq!(drops.snapshot().get("malformed").copied().unwrap_or(0), 1);
    vehicle.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, pump).await;
    bridge.stop();
}

fn unmanned(code: &str) -> NewVehicle {
    NewVehicle {
        code: code.to_string(),
        name: "无人车".into(),
        kind: VehicleKind::Unmanned,
        compartments: vec![
            Compartment {
                number: 1,
                size: SizeClass::Small,
            },
            Compartment {
                number: 2,
                size: SizeClass::Small,
            },
        ],
        battery_wh: 10_000,
        consumption_wh_per_km: 100,
        speed_limit_kmh: 30,
        operating_areas: vec![],
        station_ids: vec![],
        depot: GeoPoint {
            lat: 29.0,
            lon: 119.0,
        },
        driver: None,
    }
}

/// The next command that reaches the vehicle, through its gate; acked.
async fn next_command(
    inbox: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    gate: &mut devices::CommandGate,
    vehicle: &AsyncClient,
    code: &str,
    now_ms: u64,
    forged: &mut u32,
) -> devices::Verdict {
    loop {
        let payload = tokio::time::timeout(WAIT, inbox.recv())
            .await
            .expect("a command arrives")
            .expect("vehicle connected");
        match gate.receive(&payload, now_ms) {
            Ok(verdict) => {
                vehicle
                    .publish(
                        devices::vehicle::ack_topic(code),
                        QoS::AtLeastOnce,
                        false,
                        serde_json::to_vec(&verdict.ack(now_ms)).unwrap(),
                    )
                    .await
                    .unwrap();
                return verdict;
            }
            Err(_) => *forged += 1,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_to_a_vehicle_are_signed_sent_through_the_outbox_and_acknowledged() {
    use app::fleet::{VehicleCommand, incident_command_id};
    use devices::bridge::BridgeEvent;
    use devices::{Operation, Outcome};
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let database = testkit::sqlite_database().await;
    let db = database.db.clone();
    let clock = Arc::new(TestClock::at(Utc::now()));
    let mut app = App::new(db.clone(), clock.clone());
    let operator = Principal {
        user_id: 7,
        username: "safety".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    };
    let code = format!("uc-{}", Utc::now().timestamp_millis() % 1_000_000_000);
    app.register_vehicle(&operator, &unmanned(&code))
        .await
        .unwrap();
    let key = ServerDeviceKey::random();
    let (sink, mut telemetry) = tokio::sync::mpsc::channel(64);
    let mut config = BridgeConfig::new(
        BrokerConfig::open(&url),
        key.clone(),
        &format!("yizhan-test-bridge-{code}"),
    );
    config.telemetry = Some(sink);
    let bridge = Bridge::start(db.clone(), clock.clone(), config)
        .await
        .expect("bridge connects");
    app.device_waker = Arc::new(bridge.waker());
    let mut events = bridge.subscribe();

    // The vehicle: its own client, subscribed to its own cmd topic, with
    // its own key in its gate.
    let (host, port) = devices::mqtt::parse_url(&url).unwrap();
    let (vehicle, mut eventloop) =
        AsyncClient::new(MqttOptions::new(format!("vehicle-{code}"), host, port), 64);
    let (inbox_sender, mut inbox) = tokio::sync::mpsc::unbounded_channel();
    let (subscribed_sender, subscribed) = tokio::sync::oneshot::channel();
    let pump = tokio::spawn(async move {
        let mut subscribed_sender = Some(subscribed_sender);
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    if let Some(sender) = subscribed_sender.take() {
                        let _ = sender.send(());
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish))) => {
                    let _ = inbox_sender.send(publish.payload.to_vec());
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    vehicle
        .subscribe(devices::vehicle::command_topic(&code), QoS::AtLeastOnce)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, subscribed)
        .await
        .expect("subscribed")
        .unwrap();
    let mut gate = devices::CommandGate::for_vehicle(key.vehicle_key(&code), &code);
    let mut forged = 0;

    // Speeding: the rule's slow_down goes out with the incident.
    let t0 = clock.now().timestamp_millis();
    let message = serde_json::json!({
        "at_ms": t0, "lon": 119.05, "lat": 29.05, "speed_kmh": 48.0,
        "heading_deg": 90.0, "battery_pct": 80.0
    });
    vehicle
        .publish(
            telemetry_topic(&code),
            QoS::AtLeastOnce,
            false,
            message.to_string().into_bytes(),
        )
        .await
        .unwrap();
    // (Every bridge on the broker hears every vehicle: skip other tests'.)
    let message = loop {
        let (from, message) = tokio::time::timeout(WAIT, telemetry.recv())
            .await
            .unwrap()
            .unwrap();
        if from == code {
            break message;
        }
    };
    let opened = app.ingest_telemetry(&code, &message).await.unwrap();
    assert_eq!(opened.len(), 1);
    let now_ms = u64::try_from(t0).unwrap();
    let verdict = next_command(&mut inbox, &mut gate, &vehicle, &code, now_ms, &mut forged).await;
    assert_eq!(
        verdict.command_id,
        incident_command_id(opened[0], "slow_down")
    );
    assert_eq!(verdict.outcome, Outcome::Done);
    assert_eq!(verdict.act, Some(Operation::SlowDown { limit_kmh: 30 }));
    // The ack ends it, as a door's does.
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(BridgeEvent::Ended {
                command_id,
                status,
                outcome,
            }) = events.recv().await
                && command_id == verdict.command_id
            {
                return (status, outcome);
            }
        }
    })
    .await
    .expect("the ack is recorded");
    assert_eq!(
        ended,
        (
            app::device_commands::DeviceCommandStatus::Done,
            Some("done".to_string())
        )
    );
    let stored = db
        .device_command(&verdict.command_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.device_kind.as_str(), stored.device_id.as_str()),
        ("vehicle", code.as_str())
    );

    // The safety operator takes over and sends a command of their own: the
    // same path, logged in the take-over log.
    app.take_over(&operator, opened[0], "超速，远程接管")
        .await
        .unwrap();
    let view = app
        .command_taken_over_vehicle(
            &operator,
            opened[0],
            &VehicleCommand::OpenCompartment {
                compartments: vec![2],
            },
        )
        .await
        .unwrap();
    assert!(view.log.last().unwrap().what.contains("open_compartment"));
    let verdict = next_command(&mut inbox, &mut gate, &vehicle, &code, now_ms, &mut forged).await;
    assert_eq!(
        verdict.act,
        Some(Operation::OpenCompartment {
            compartments: vec![2]
        })
    );
    // A compartment the vehicle does not have is refused before anything
    // is written; and nobody but the operator in control commands it.
    let error = app
        .command_taken_over_vehicle(
            &operator,
            opened[0],
            &VehicleCommand::OpenCompartment {
                compartments: vec![9],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), app::Code::VehicleCompartmentUnknown);
    let other = Principal {
        user_id: 8,
        username: "other".into(),
        ..operator.clone()
    };
    let error = app
        .command_taken_over_vehicle(&other, opened[0], &VehicleCommand::Stop)
        .await
        .unwrap_err();
    assert_eq!(error.code(), app::Code::TakenOverByAnother);

    // A command signed with another vehicle's key, published by hand, is
    // dropped by the gate without an ack.
    let stranger = devices::auth::sign_command(
        &key.vehicle_key("someone-else"),
        &devices::vehicle::command_topic(&code),
        br#"{"command_id":"forged-1","not_after_ms":99999999999999,"op":"return_to_depot"}"#,
    );
    vehicle
        .publish(
            devices::vehicle::command_topic(&code),
            QoS::AtLeastOnce,
            false,
            stranger,
        )
        .await
        .unwrap();
    app.command_taken_over_vehicle(&operator, opened[0], &VehicleCommand::PullOver)
        .await
        .unwrap();
    let verdict = next_command(&mut inbox, &mut gate, &vehicle, &code, now_ms, &mut forged).await;
    assert_eq!(verdict.act, Some(Operation::PullOver));
    // (It travelled on another connection: it may come after the real one.)
    if forged == 0 {
        let payload = tokio::time::timeout(WAIT, inbox.recv())
            .await
            .expect("the forged command arrives")
            .unwrap();
        assert!(gate.receive(&payload, now_ms).is_err());
        forged += 1;
    }
    assert_eq!(forged, 1, "the forged command was dropped");
    vehicle.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, pump).await;
    bridge.stop();
}

/// A recipient collects straight from a vehicle's compartment (branch
/// vehicles2): the code and phone tail at the station's terminal send the
/// vehicle one signed `open_compartment` over the real broker, for that
/// parcel's compartment only, and the vehicle's ack ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipients_code_opens_only_their_compartment_over_the_bus() {
    use app::fleet::{MissionDraft, StopDraft};
    use app::manifest::ManifestRow;
    use app::ports::{NewStation, ParcelFilter, ParcelStore, Store};
    use devices::bridge::BridgeEvent;
    use devices::{Operation, Outcome};
    use domain::station::{HoldingPolicy, ShelfSpec, lay_out};
    use domain::{Carrier, CodeFormat};
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let database = testkit::sqlite_database().await;
    let db = database.db.clone();
    let clock = Arc::new(TestClock::at(Utc::now()));
    let mut app = App::new(db.clone(), clock.clone());
    let operator = Principal {
        user_id: 0,
        username: "dispatcher".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    };
    let station = db
        .create_station(
            &NewStation {
                location: Some(GeoPoint {
                    lat: 29.02,
                    lon: 119.02,
                }),
                name: "东村驿站".into(),
                township: "镇".into(),
                division_code: None,
                code_format: CodeFormat::default(),
                holding: HoldingPolicy::default(),
                slots: lay_out(&[ShelfSpec {
                    label: "A".into(),
                    tiers: 1,
                    slots_per_tier: 10,
                    size: SizeClass::Small,
                    slot_capacity: 2,
                }])
                .unwrap(),
            },
            clock.now(),
        )
        .await
        .unwrap()
        .id;
    let rows: Vec<ManifestRow> = (0..2)
        .map(|idx| ManifestRow {
            waybill: format!("7351{idx:06}"),
            station_id: Some(station),
            phone: Some(format!("1390013900{idx}")),
            consent: Some(true),
            ..Default::default()
        })
        .collect();
    app.announce(&testkit::admin(), Carrier::Zto, &rows, 1)
        .await
        .unwrap();
    let mut parcel_ids = Vec::new();
    for parcel in db
        .parcels(&ParcelFilter {
            station_id: Some(station),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
    {
        for action in [domain::Action::ArriveAtCentre, domain::Action::Sort] {
            app.centre_scan(&testkit::admin(), parcel.id, action)
                .await
                .unwrap();
        }
        parcel_ids.push(parcel.id);
    }
    let code = format!("ucv-{}", Utc::now().timestamp_millis() % 1_000_000_000);
    let vehicle_id = app
        .register_vehicle(&operator, &unmanned(&code))
        .await
        .unwrap()
        .id;
    let key = ServerDeviceKey::random();
    // (The bridge follows vehicles' topics when it has somewhere to hand
    // their telemetry.)
    let (sink, _telemetry) = tokio::sync::mpsc::channel(64);
    let mut config = BridgeConfig::new(
        BrokerConfig::open(&url),
        key.clone(),
        &format!("yizhan-test-bridge-{code}"),
    );
    config.telemetry = Some(sink);
    let bridge = Bridge::start(db.clone(), clock.clone(), config)
        .await
        .expect("bridge connects");
    app.device_waker = Arc::new(bridge.waker());
    let mut events = bridge.subscribe();

    let (host, port) = devices::mqtt::parse_url(&url).unwrap();
    let (vehicle, mut eventloop) =
        AsyncClient::new(MqttOptions::new(format!("vehicle-{code}"), host, port), 64);
    let (inbox_sender, mut inbox) = tokio::sync::mpsc::unbounded_channel();
    let (subscribed_sender, subscribed) = tokio::sync::oneshot::channel();
    let pump = tokio::spawn(async move {
        let mut subscribed_sender = Some(subscribed_sender);
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    if let Some(sender) = subscribed_sender.take() {
                        let _ = sender.send(());
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish))) => {
                    let _ = inbox_sender.send(publish.payload.to_vec());
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    vehicle
        .subscribe(devices::vehicle::command_topic(&code), QoS::AtLeastOnce)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, subscribed)
        .await
        .expect("subscribed")
        .unwrap();
    let mut gate = devices::CommandGate::for_vehicle(key.vehicle_key(&code), &code);
    let mut forged = 0;
    let now_ms = u64::try_from(clock.now().timestamp_millis()).unwrap();

    let now = clock.now();
    let mission = app
        .create_missions(
            &operator,
            &[MissionDraft {
                vehicle_id,
                planned_departure: now,
                stops: vec![StopDraft {
                    station_id: station,
                    planned_arrival: now,
                    parcel_ids: parcel_ids.clone(),
                    collect_from_vehicle: true,
                }],
            }],
        )
        .await
        .unwrap()[0];
    let view = app.mission(&operator, mission).await.unwrap();
    for parcel in &view.parcels {
        app.load_scan(&operator, mission, &parcel.waybill)
            .await
            .unwrap();
    }
    app.start_mission(&operator, mission).await.unwrap();
    let started = next_command(&mut inbox, &mut gate, &vehicle, &code, now_ms, &mut forged).await;
    assert_eq!(
        started.act,
        Some(Operation::StartMission {
            mission_id: mission
        })
    );
    let terminal = Principal {
        user_id: 0,
        username: "terminal-east".into(),
        role: Role::StationTerminal,
        station_ids: vec![station],
        carrier: None,
    };
    let opened = app
        .open_stop_for_collection(&terminal, mission, view.stops[0].id)
        .await
        .unwrap();
    let chosen = &opened.parcels[1];
    let tail = db
        .parcel(chosen.parcel_id)
        .await
        .unwrap()
        .unwrap()
        .phone
        .unwrap()
        .tail()
        .to_string();
    let collected = app
        .collect_from_vehicle(
            &terminal,
            station,
            "terminal-east",
            "10.0.0.7",
            chosen.pickup_code.as_deref().unwrap(),
            Some(&tail),
        )
        .await
        .unwrap();
    let compartment = view
        .parcels
        .iter()
        .find(|p| p.parcel_id == chosen.parcel_id)
        .unwrap()
        .compartment
        .unwrap();
    let verdict = next_command(&mut inbox, &mut gate, &vehicle, &code, now_ms, &mut forged).await;
    assert_eq!(verdict.command_id, collected.command_id);
    assert_eq!(verdict.outcome, Outcome::Done);
    assert_eq!(
        verdict.act,
        Some(Operation::OpenCompartment {
            compartments: vec![compartment]
        })
    );
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(BridgeEvent::Ended {
                command_id, status, ..
            }) = events.recv().await
                && command_id == collected.command_id
            {
                return status;
            }
        }
    })
    .await;
    let stored = db.device_command(&collected.command_id).await.unwrap();
    assert_eq!(
        ended.unwrap_or_else(|_| panic!("the ack is recorded; the command as stored: {stored:?}")),
        app::device_commands::DeviceCommandStatus::Done
    );
    assert_eq!(forged, 0);
    vehicle.disconnect().await.unwrap();
    let _ = tokio::time::timeout(WAIT, pump).await;
    bridge.stop();
}

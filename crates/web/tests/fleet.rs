//! The fleet page (`/fleet`, issue 20): a safety operator sees an incident
//! the rules raised on the map and in the list, takes the vehicle over,
//! records what they did, hands it back and closes the incident with its
//! cause, all through the page's forms; the incident's log holds each step.

mod support;

use app::App;
use app::fleet::{Compartment, IncidentAct, IncidentStatus, NewVehicle};
use app::ports::{GeoPoint, SystemClock};
use chrono::Utc;
use domain::fleet::{LonLat, Polygon, Telemetry, VehicleKind, Zone, ZoneKind};
use domain::station::SizeClass;
use domain::{Principal, Role};
use std::sync::Arc;

#[tokio::test]
async fn a_safety_operator_handles_an_incident_end_to_end_on_the_fleet_page() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    support::user(&app, "safety", Role::CountyOperator, None, &[]).await;
    let admin = Principal {
        user_id: 0,
        username: "admin".into(),
        role: Role::Admin,
        station_ids: vec![],
        carrier: None,
    };
    app.register_vehicle(
        &admin,
        &NewVehicle {
            code: "uv-1".into(),
            name: "一号无人车".into(),
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
    let area = Polygon::new(vec![
        LonLat::new(119.1, 29.1),
        LonLat::new(119.11, 29.1),
        LonLat::new(119.11, 29.11),
        LonLat::new(119.1, 29.11),
    ])
    .unwrap();
    app.add_zone(
        &admin,
        &Zone {
            id: 0,
            name: "施工路段".into(),
            kind: ZoneKind::NoGo,
            area,
            speed_limit_kmh: None,
            windows: vec![],
            station_id: None,
        },
    )
    .await
    .unwrap();
    let opened = app
        .ingest_telemetry(
            "uv-1",
            &Telemetry {
                at_ms: Utc::now().timestamp_millis(),
                position: LonLat::new(119.105, 29.105),
                speed_kmh: 8.0,
                battery_pct: 70.0,
                faults: vec![],
                emergency_stop: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(opened.len(), 1);
    let incident = opened[0];
    let site = support::Site::serve(app, database).await;
    let session = site.sign_in("safety").await;

    let (status, page) = session.get("/fleet").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<svg class=\"fleet-map\""),
        "the map is drawn"
    );
    assert!(
        page.contains("驶入禁行区"),
        "the incident is listed by its rule"
    );
    assert!(page.contains(&format!("/fleet/incidents/{incident}/take_over")));

    // A take-over without a reason is refused with the reason why.
    let (status, body) = session
        .post(
            &format!("/fleet/incidents/{incident}/take_over"),
            &[("note", " ")],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    for (step, note) in [
        ("take_over", "车辆驶入施工路段"),
        ("act", "远程倒车驶出"),
        ("hand_back", "已回到规划路线"),
        ("close", "地图未标注临时施工"),
    ] {
        let (status, location) = session
            .post(
                &format!("/fleet/incidents/{incident}/{step}"),
                &[("note", note)],
            )
            .await;
        assert_eq!(status, 303, "{step}: {location}");
        assert_eq!(location, format!("/fleet#incident-{incident}"));
    }
    let view = site.app.incident(&admin, incident).await.unwrap();
    assert_eq!(view.incident.status, IncidentStatus::Closed);
    let steps: Vec<(IncidentAct, &str)> = view
        .log
        .iter()
        .map(|e| (e.act, e.username.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (IncidentAct::TakenOver, "safety"),
            (IncidentAct::Acted, "safety"),
            (IncidentAct::HandedBack, "safety"),
            (IncidentAct::Closed, "safety"),
        ]
    );
    let (_, page) = session.get("/fleet").await;
    assert!(
        !page.contains(&format!("incident-{incident}")),
        "a closed incident leaves the list"
    );
}

/// The operator in control sends the vehicle a command from the page: it
/// is in the devices' outbox for the bridge to sign and publish, and a line
/// of the take-over log; a compartment the vehicle lacks is refused.
#[tokio::test]
async fn the_operator_in_control_commands_the_vehicle_from_the_fleet_page() {
    use app::ports::DeviceStore;
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    support::user(&app, "safety", Role::CountyOperator, None, &[]).await;
    let admin = Principal {
        user_id: 0,
        username: "admin".into(),
        role: Role::Admin,
        station_ids: vec![],
        carrier: None,
    };
    app.register_vehicle(
        &admin,
        &NewVehicle {
            code: "uv-2".into(),
            name: "二号无人车".into(),
            kind: VehicleKind::Unmanned,
            compartments: (1..=2)
                .map(|number| Compartment {
                    number,
                    size: SizeClass::Small,
                })
                .collect(),
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
    let opened = app
        .ingest_telemetry(
            "uv-2",
            &Telemetry {
                at_ms: Utc::now().timestamp_millis(),
                position: LonLat::new(119.0, 29.0),
                speed_kmh: 0.0,
                battery_pct: 70.0,
                faults: vec!["lidar".into()],
                emergency_stop: false,
            },
        )
        .await
        .unwrap();
    let incident = opened[0];
    let db = database.db.clone();
    let site = support::Site::serve(app, database).await;
    let session = site.sign_in("safety").await;
    let (status, _) = session
        .post(
            &format!("/fleet/incidents/{incident}/take_over"),
            &[("note", "激光雷达故障")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = session.get("/fleet").await;
    assert!(page.contains(&format!("/fleet/incidents/{incident}/command")));
    let (status, location) = session
        .post(
            &format!("/fleet/incidents/{incident}/command"),
            &[("op", "open_compartment"), ("compartments", "1，2")],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    let (status, body) = session
        .post(
            &format!("/fleet/incidents/{incident}/command"),
            &[("op", "open_compartment"), ("compartments", "9")],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("没有 9 号格口"), "{body}");
    let view = site.app.incident(&admin, incident).await.unwrap();
    let last = view.log.last().unwrap();
    assert_eq!(last.act, IncidentAct::Acted);
    assert_eq!(last.what, "指令：打开 1、2 号格口（open_compartment）");
    let sent = db
        .device_command(&app::fleet::takeover_command_id(incident, last.id))
        .await
        .unwrap()
        .expect("in the devices' outbox");
    assert_eq!(sent.device_id, "uv-2");
    assert!(sent.payload.contains(r#""compartments":[1,2]"#));
}

/// The keeper's console (车辆交接): an unmanned vehicle due at the station
/// is listed with its compartments; the keeper has them opened (a signed
/// command in the devices' outbox, audited) and hands the stop over with
/// the jammed compartment unticked: the others' parcels are on the shelf
/// with no scan, the jammed one stays aboard. Another station's keeper
/// cannot open them.
#[tokio::test]
async fn a_keeper_opens_a_vehicle_s_compartments_and_hands_its_parcels_over_without_a_scan() {
    use app::fleet::{MissionDraft, StopDraft};
    use app::manifest::ManifestRow;
    use app::ports::{DeviceStore, NewStation, ParcelFilter};
    use domain::station::{HoldingPolicy, ShelfSpec, lay_out};
    use domain::{Carrier, CodeFormat};
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    let admin = testkit::admin();
    let mut stations = Vec::new();
    for (name, lat) in [("东村驿站", 29.02), ("西村驿站", 29.05)] {
        let new = NewStation {
            location: Some(GeoPoint { lat, lon: 119.02 }),
            name: name.into(),
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
        };
        stations.push(app.store.create_station(&new, app.now()).await.unwrap().id);
    }
    let station = stations[0];
    support::user(&app, "keeper", Role::StationKeeper, None, &[station]).await;
    support::user(&app, "other", Role::StationKeeper, None, &[stations[1]]).await;
    let rows: Vec<ManifestRow> = (0..3)
        .map(|idx| ManifestRow {
            waybill: format!("7441{idx:06}"),
            station_id: Some(station),
            ..Default::default()
        })
        .collect();
    app.announce(&admin, Carrier::Zto, &rows, 1).await.unwrap();
    let mut parcel_ids = Vec::new();
    for parcel in app
        .store
        .parcels(&ParcelFilter {
            station_id: Some(station),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
    {
        for action in [domain::Action::ArriveAtCentre, domain::Action::Sort] {
            app.centre_scan(&admin, parcel.id, action).await.unwrap();
        }
        parcel_ids.push(parcel.id);
    }
    let uv = app
        .register_vehicle(
            &admin,
            &NewVehicle {
                code: "uv-3".into(),
                name: "三号无人车".into(),
                kind: VehicleKind::Unmanned,
                compartments: (1..=4)
                    .map(|number| Compartment {
                        number,
                        size: SizeClass::Small,
                    })
                    .collect(),
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
    let now = app.now();
    let missions = app
        .create_missions(
            &admin,
            &[MissionDraft {
                vehicle_id: uv.id,
                planned_departure: now,
                stops: vec![StopDraft {
                    station_id: station,
                    planned_arrival: now,
                    parcel_ids: parcel_ids.clone(),
                    collect_from_vehicle: false,
                }],
            }],
        )
        .await
        .unwrap();
    let mission = app.mission(&admin, missions[0]).await.unwrap();
    for parcel in &mission.parcels {
        app.load_scan(&admin, missions[0], &parcel.waybill)
            .await
            .unwrap();
    }
    app.start_mission(&admin, missions[0]).await.unwrap();
    let stop = mission.stops[0].id;
    let jammed = mission.parcels[0].compartment.unwrap();
    let db = database.db.clone();
    let site = support::Site::serve(app, database).await;

    // Another station's keeper sees nothing to do and cannot open them.
    let other = site.sign_in("other").await;
    let (status, page) = other
        .get(&format!("/console/s/{}/vehicles", stations[1]))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("没有车辆要在本站交接"), "{page}");
    let (status, _) = other
        .post(
            &format!(
                "/console/s/{}/vehicles/{}/{stop}/open",
                stations[1], missions[0]
            ),
            &[],
        )
        .await;
    assert_eq!(status, 403);

    let keeper = site.sign_in("keeper").await;
    let (status, page) = keeper.get(&format!("/console/s/{station}/vehicles")).await;
    assert_eq!(status, 200);
    assert!(page.contains("uv-3 三号无人车"), "{page}");
    assert!(page.contains(&format!("name=\"c{jammed}\"")), "{page}");
    let (status, location) = keeper
        .post(
            &format!("/console/s/{station}/vehicles/{}/{stop}/open", missions[0]),
            &[],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    let opened: Vec<u32> = {
        let mut c: Vec<u32> = mission
            .parcels
            .iter()
            .filter_map(|p| p.compartment)
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let numbers: Vec<String> = opened.iter().map(u32::to_string).collect();
    assert_eq!(
        location,
        format!("/console/s/{station}/vehicles?opened={}", numbers.join(","))
    );
    let trail = site
        .app
        .audit_trail(
            &admin,
            app::ports::audit::AuditFilter {
                act: Some("vehicle_compartments_opened".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    let details: serde_json::Value = serde_json::from_str(&trail[0].details).unwrap();
    let command_id = details["command"].as_str().unwrap().to_string();
    let command = db.device_command(&command_id).await.unwrap().unwrap();
    assert_eq!(command.device_id, "uv-3");
    assert!(command.payload.contains(r#""op":"open_compartment""#));

    // The jammed compartment stays unticked: its parcel stays aboard.
    let ticked: Vec<String> = opened
        .iter()
        .filter(|c| **c != jammed)
        .map(|c| format!("c{c}"))
        .collect();
    let form: Vec<(&str, &str)> = ticked.iter().map(|c| (c.as_str(), "1")).collect();
    let (status, location) = keeper
        .post(
            &format!(
                "/console/s/{station}/vehicles/{}/{stop}/hand_over",
                missions[0]
            ),
            &form,
        )
        .await;
    assert_eq!(status, 303, "{location}");
    let aboard_jammed = mission
        .parcels
        .iter()
        .filter(|p| p.compartment == Some(jammed))
        .count();
    assert_eq!(
        location,
        format!(
            "/console/s/{station}/vehicles?handed={}&kept={aboard_jammed}",
            3 - aboard_jammed
        )
    );
    for parcel in &mission.parcels {
        let record = site
            .app
            .store
            .parcel(parcel.parcel_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            record.state.occupies_slot(),
            parcel.compartment != Some(jammed),
            "{record:?}"
        );
    }
    let (_, page) = keeper.get(&format!("/console/s/{station}/vehicles")).await;
    assert!(page.contains("没有车辆要在本站交接"), "the stop is done");
}

/// A dispatcher registers a vehicle and draws a zone with the page's
/// forms; a malformed field is refused with what it should be.
#[tokio::test]
async fn a_dispatcher_adds_a_vehicle_and_a_zone_on_the_fleet_page() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    support::user(&app, "dispatcher", Role::CountyOperator, None, &[]).await;
    let site = support::Site::serve(app, database).await;
    let session = site.sign_in("dispatcher").await;
    let (_, page) = session.get("/fleet").await;
    let body = &page[page.find("</title>").unwrap()..];
    assert!(body.contains("action=\"/fleet/vehicles\""), "{page}");
    assert!(page.contains("action=\"/fleet/zones\""));
    let vehicle = [
        ("code", "uv-9"),
        ("name", "九号无人车"),
        ("kind", "unmanned"),
        ("compartments", "6"),
        ("battery_wh", "12000"),
        ("consumption_wh_per_km", "90"),
        ("speed_limit_kmh", "25"),
        ("depot", "119.05，29.05"),
    ];
    let (status, location) = session.post("/fleet/vehicles", &vehicle).await;
    assert_eq!(status, 303, "{location}");
    let mut bad = vehicle;
    bad[0].1 = "uv-10";
    bad[4].1 = "很多";
    let (status, body) = session.post("/fleet/vehicles", &bad).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("电池容量"), "{body}");
    let (status, location) = session
        .post(
            "/fleet/zones",
            &[
                ("name", "石桥小学"),
                ("kind", "school"),
                ("speed_limit_kmh", "20"),
                ("vertices", "119.10,29.10; 119.11,29.10; 119.11,29.11"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    let (status, body) = session
        .post(
            "/fleet/zones",
            &[
                ("name", "半个区域"),
                ("kind", "no_go"),
                ("vertices", "119.10,29.10; 119.11"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let staff = Principal {
        user_id: 0,
        username: "admin".into(),
        role: Role::Admin,
        station_ids: vec![],
        carrier: None,
    };
    let vehicles = site.app.vehicles(&staff).await.unwrap();
    assert_eq!(vehicles.len(), 1);
    assert_eq!(
        (vehicles[0].code.as_str(), vehicles[0].compartments.len()),
        ("uv-9", 6)
    );
    let zones = site.app.zones(&staff).await.unwrap();
    assert_eq!(zones.len(), 1);
    assert_eq!(zones[0].speed_limit_kmh, Some(20));
    let (_, page) = session.get("/fleet").await;
    assert!(page.contains("石桥小学"), "the zone is on the map");
}

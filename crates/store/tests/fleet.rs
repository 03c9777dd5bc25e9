//! The fleet on SQLite and PostgreSQL (issue 20): vehicles and zones,
//! missions from planned routes with a compartment per parcel, loading
//! scanned compartment by compartment, a broken-down vehicle's remaining
//! stops re-planned onto another without losing a parcel, telemetry run
//! through the safe-driving rules into one incident per incident, and the
//! take-over workflow logged and audited step by step.

use app::Code;
use app::fleet::{
    Compartment, IncidentAct, IncidentStatus, LoadStatus, MissionDraft, MissionStatus, NewVehicle,
    StopDraft, VehicleStatus,
};
use app::manifest::ManifestRow;
use app::ports::audit::AuditFilter;
use app::ports::{GeoPoint, NewStation, ParcelFilter};
use chrono::Duration;
use domain::fleet::{LonLat, Polygon, Telemetry, VehicleKind, Zone, ZoneKind};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Principal, Role};
use testkit::*;

fn operator() -> Principal {
    Principal {
        user_id: 0,
        username: "dispatcher".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    }
}

fn safety_operator(user_id: i64, name: &str) -> Principal {
    Principal {
        user_id,
        username: name.into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    }
}

async fn located_station(h: &Harness, name: &str, lat: f64, lon: f64) -> i64 {
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: 1,
        slots_per_tier: 10,
        size: SizeClass::Small,
        slot_capacity: 2,
    }];
    let new = NewStation {
        location: Some(GeoPoint { lat, lon }),
        name: name.into(),
        township: "镇".into(),
        division_code: None,
        code_format: CodeFormat::default(),
        holding: HoldingPolicy::default(),
        slots: lay_out(&shelves).unwrap(),
    };
    h.app
        .store
        .create_station(&new, h.app.now())
        .await
        .unwrap()
        .id
}

/// Parcels announced for the station and sorted at the centre; their ids.
async fn waiting_parcels(h: &Harness, station_id: i64, prefix: &str, n: usize) -> Vec<i64> {
    let rows: Vec<ManifestRow> = (0..n)
        .map(|idx| ManifestRow {
            waybill: format!("{prefix}{idx:06}"),
            station_id: Some(station_id),
            ..Default::default()
        })
        .collect();
    h.app
        .announce(&admin(), Carrier::Zto, &rows, 1)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for parcel in h
        .app
        .store
        .parcels(&ParcelFilter {
            station_id: Some(station_id),
            limit: 200,
            ..Default::default()
        })
        .await
        .unwrap()
    {
        if !parcel.waybill.to_string().starts_with(prefix) {
            continue;
        }
        for action in [domain::Action::ArriveAtCentre, domain::Action::Sort] {
            h.app
                .centre_scan(&admin(), parcel.id, action)
                .await
                .unwrap();
        }
        ids.push(parcel.id);
    }
    ids
}

fn unmanned(code: &str, n_compartments: u32) -> NewVehicle {
    NewVehicle {
        code: code.into(),
        name: format!("无人车 {code}"),
        kind: VehicleKind::Unmanned,
        compartments: (1..=n_compartments)
            .map(|number| Compartment {
                number,
                size: if number % 4 == 0 {
                    SizeClass::Medium
                } else {
                    SizeClass::Small
                },
            })
            .collect(),
        battery_wh: 10_000,
        consumption_wh_per_km: 120,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missions_load_by_compartment_and_a_breakdown_moves_every_parcel() {
    for h in backends().await {
        let a = located_station(&h, "东村驿站", 29.02, 119.02).await;
        let b = located_station(&h, "西村驿站", 29.05, 119.04).await;
        let parcels_a = waiting_parcels(&h, a, "7311", 3).await;
        let parcels_b = waiting_parcels(&h, b, "7312", 2).await;
        let uv1 = h
            .app
            .register_vehicle(&operator(), &unmanned("uv-1", 8))
            .await
            .unwrap();
        let uv2 = h
            .app
            .register_vehicle(&operator(), &unmanned("uv-2", 8))
            .await
            .unwrap();
        let small = h
            .app
            .register_vehicle(&operator(), &unmanned("uv-3", 2))
            .await
            .unwrap();
        assert!(
            h.app
                .register_vehicle(&operator(), &unmanned("uv-1", 8))
                .await
                .unwrap_err()
                .is(Code::VehicleCodeTaken)
        );
        assert!(
            h.app
                .register_vehicle(&keeper_of(a), &unmanned("uv-9", 8))
                .await
                .is_err(),
            "a keeper registers no vehicle"
        );
        let now = h.app.now();
        let draft = |vehicle_id, stops: Vec<(i64, &Vec<i64>)>| MissionDraft {
            vehicle_id,
            planned_departure: now,
            stops: stops
                .into_iter()
                .enumerate()
                .map(|(idx, (station_id, parcel_ids))| StopDraft {
                    station_id,
                    planned_arrival: now + Duration::minutes(20 * (idx as i64 + 1)),
                    parcel_ids: parcel_ids.clone(),
                    collect_from_vehicle: false,
                })
                .collect(),
        };
        // Two compartments cannot take three parcels: nothing is written.
        let refused = h
            .app
            .create_missions(&operator(), &[draft(small.id, vec![(a, &parcels_a)])])
            .await
            .unwrap_err();
        assert!(refused.is(Code::CompartmentsShort), "{refused:?}");
        let ids = h
            .app
            .create_missions(
                &operator(),
                &[draft(uv1.id, vec![(a, &parcels_a), (b, &parcels_b)])],
            )
            .await
            .unwrap();
        // A parcel is aboard one mission only.
        let twice = h
            .app
            .create_missions(&operator(), &[draft(uv2.id, vec![(a, &parcels_a)])])
            .await
            .unwrap_err();
        assert!(twice.is(Code::ParcelOnAnotherMission), "{twice:?}");
        let view = h.app.mission(&operator(), ids[0]).await.unwrap();
        assert_eq!(view.stops.len(), 2);
        assert_eq!(view.parcels.len(), 5);
        let mut compartments: Vec<u32> = view
            .parcels
            .iter()
            .map(|p| p.compartment.unwrap())
            .collect();
        compartments.sort_unstable();
        compartments.dedup();
        assert_eq!(compartments.len(), 5, "one parcel per compartment");
        assert!(
            view.parcels
                .iter()
                .all(|p| p.compartment_code.starts_with("uv-1-"))
        );

        // Loading: each scan names its compartment; a repeat changes nothing;
        // the mission leaves only when everything is aboard.
        let first = &view.parcels[0];
        let outcome = h
            .app
            .load_scan(&operator(), ids[0], &first.waybill)
            .await
            .unwrap();
        assert_eq!(outcome.compartment, first.compartment);
        assert!(!outcome.already_loaded);
        assert!(
            h.app
                .load_scan(&operator(), ids[0], &first.waybill)
                .await
                .unwrap()
                .already_loaded
        );
        assert!(
            h.app
                .load_scan(&operator(), ids[0], "SF0000000000")
                .await
                .unwrap_err()
                .is(Code::WaybillNotInMission)
        );
        assert!(
            h.app
                .start_mission(&operator(), ids[0])
                .await
                .unwrap_err()
                .is(Code::MissionNotLoaded)
        );
        for parcel in &view.parcels[1..] {
            h.app
                .load_scan(&operator(), ids[0], &parcel.waybill)
                .await
                .unwrap();
        }
        h.app.start_mission(&operator(), ids[0]).await.unwrap();
        assert_eq!(
            h.app.store.vehicle(uv1.id).await.unwrap().unwrap().status,
            VehicleStatus::OnMission
        );

        // uv-1 breaks down: both stops and all five parcels move to uv-2.
        let replan = h
            .app
            .replan_broken_down(&operator(), uv1.id, &[uv2.id], "驱动电机故障")
            .await
            .unwrap();
        assert_eq!(replan.n_parcels_moved, 5);
        assert_eq!(replan.new_missions.len(), 1);
        let old = h.app.mission(&operator(), ids[0]).await.unwrap();
        assert_eq!(old.mission.status, MissionStatus::Cancelled);
        assert!(old.parcels.iter().all(|p| p.status == LoadStatus::Moved));
        let new = h
            .app
            .mission(&operator(), replan.new_missions[0])
            .await
            .unwrap();
        assert_eq!(new.vehicle.id, uv2.id);
        assert_eq!(
            new.stops.iter().map(|s| s.station_id).collect::<Vec<_>>(),
            vec![a, b],
            "the stops keep their order"
        );
        let mut moved: Vec<i64> = new.parcels.iter().map(|p| p.parcel_id).collect();
        moved.sort_unstable();
        let mut all: Vec<i64> = parcels_a.iter().chain(&parcels_b).copied().collect();
        all.sort_unstable();
        assert_eq!(moved, all, "no parcel lost, none twice");
        assert_eq!(
            h.app.store.vehicle(uv1.id).await.unwrap().unwrap().status,
            VehicleStatus::BrokenDown
        );
        let audit = h
            .app
            .audit_trail(
                &admin(),
                AuditFilter {
                    act: Some("mission_replanned".into()),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        h.cleanup().await;
    }
}

fn square(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> Polygon {
    Polygon::new(vec![
        LonLat::new(lon0, lat0),
        LonLat::new(lon1, lat0),
        LonLat::new(lon1, lat1),
        LonLat::new(lon0, lat1),
    ])
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_raises_one_incident_each_and_a_take_over_is_logged_end_to_end() {
    for h in backends().await {
        let uv = h
            .app
            .register_vehicle(&operator(), &unmanned("uv-7", 4))
            .await
            .unwrap();
        for (name, kind, area, limit) in [
            (
                "县城运营区",
                ZoneKind::OperatingArea,
                square(118.9, 28.9, 119.2, 29.2),
                None,
            ),
            (
                "施工路段",
                ZoneKind::NoGo,
                square(119.1, 29.1, 119.11, 29.11),
                None,
            ),
        ] {
            h.app
                .add_zone(
                    &operator(),
                    &Zone {
                        id: 0,
                        name: name.into(),
                        kind,
                        area,
                        speed_limit_kmh: limit,
                        windows: vec![],
                        station_id: None,
                    },
                )
                .await
                .unwrap();
        }
        let bad_zone = Zone {
            id: 0,
            name: String::new(),
            kind: ZoneKind::NoGo,
            area: square(119.0, 29.0, 119.01, 29.01),
            speed_limit_kmh: None,
            windows: vec![],
            station_id: None,
        };
        assert!(
            h.app
                .add_zone(&operator(), &bad_zone)
                .await
                .unwrap_err()
                .is(Code::ZoneInvalid)
        );
        let t0 = h.app.now().timestamp_millis();
        let message = |second: i64, lon: f64, lat: f64, speed_kmh: f64| Telemetry {
            at_ms: t0 + second * 1000,
            position: LonLat::new(lon, lat),
            speed_kmh,
            battery_pct: 80.0,
            faults: vec![],
            emergency_stop: false,
        };
        // Speeding for ten seconds, delivered twice each: one incident.
        let mut opened = Vec::new();
        for second in 0..10 {
            let speeding = message(second, 119.05, 29.05, 45.0);
            opened.extend(h.app.ingest_telemetry("uv-7", &speeding).await.unwrap());
            opened.extend(h.app.ingest_telemetry("uv-7", &speeding).await.unwrap());
        }
        assert_eq!(opened.len(), 1);
        // Into the no-go zone.
        opened.extend(
            h.app
                .ingest_telemetry("uv-7", &message(10, 119.105, 29.105, 10.0))
                .await
                .unwrap(),
        );
        assert_eq!(opened.len(), 2);
        let page = h
            .app
            .incidents(&operator(), None, Some(50), true)
            .await
            .unwrap();
        let rules: Vec<&str> = page.items.iter().map(|i| i.rule.as_str()).collect();
        assert_eq!(rules, ["speeding", "entered_no_go"]);
        assert!(page.items[0].evidence.contains("\"limit_kmh\":30"));
        assert!(
            page.items[1]
                .command
                .as_deref()
                .unwrap()
                .contains("pull_over")
        );
        let positions = h.app.store.vehicle_positions().await.unwrap();
        assert_eq!(positions.len(), 1);
        assert_eq!(positions[0].vehicle_id, uv.id);

        // The take-over: one operator takes over, a second cannot, the first
        // acts and hands back, and the incident closes with its cause.
        let incident = page.items[1].id;
        let (first, second) = (
            safety_operator(41, "safety_li"),
            safety_operator(42, "safety_wang"),
        );
        assert!(
            h.app
                .close_incident(&first, incident, "")
                .await
                .unwrap_err()
                .is(Code::IncidentNoteInvalid)
        );
        h.app
            .take_over(&first, incident, "车辆驶入施工路段")
            .await
            .unwrap();
        assert!(
            h.app
                .take_over(&second, incident, "也想接管")
                .await
                .unwrap_err()
                .is(Code::IncidentState)
        );
        assert!(
            h.app
                .record_takeover_action(&second, incident, "倒车")
                .await
                .unwrap_err()
                .is(Code::TakenOverByAnother)
        );
        assert!(
            h.app
                .close_incident(&first, incident, "误入")
                .await
                .unwrap_err()
                .is(Code::IncidentState)
        );
        h.app
            .record_takeover_action(&first, incident, "远程倒车驶出施工路段")
            .await
            .unwrap();
        h.app
            .hand_back(&first, incident, "已回到规划路线")
            .await
            .unwrap();
        let view = h
            .app
            .close_incident(&second, incident, "地图未标注临时施工，已补充禁行区")
            .await
            .unwrap();
        assert_eq!(view.incident.status, IncidentStatus::Closed);
        assert_eq!(
            view.incident.cause.as_deref(),
            Some("地图未标注临时施工，已补充禁行区")
        );
        let acts: Vec<(IncidentAct, &str)> = view
            .log
            .iter()
            .map(|e| (e.act, e.username.as_str()))
            .collect();
        assert_eq!(
            acts,
            [
                (IncidentAct::TakenOver, "safety_li"),
                (IncidentAct::Acted, "safety_li"),
                (IncidentAct::HandedBack, "safety_li"),
                (IncidentAct::Closed, "safety_wang"),
            ]
        );
        assert_eq!(view.log[0].why, "车辆驶入施工路段");
        assert_eq!(view.log[1].what, "远程倒车驶出施工路段");
        for act in [
            "vehicle_taken_over",
            "vehicle_takeover_action",
            "vehicle_handed_back",
            "incident_closed",
        ] {
            let rows = h
                .app
                .audit_trail(
                    &admin(),
                    AuditFilter {
                        act: Some(act.into()),
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(rows.len(), 1, "{act}");
        }
        // The log refuses changes.
        let mut raw = h.raw().await;
        assert!(
            sqlx::query("UPDATE incident_log SET why = 'x'")
                .execute(&mut raw)
                .await
                .is_err()
        );
        assert!(
            sqlx::query("DELETE FROM incident_log")
                .execute(&mut raw)
                .await
                .is_err()
        );
        // A keeper sees no incident.
        assert!(
            h.app
                .incidents(&keeper_of(1), None, None, false)
                .await
                .is_err()
        );
        // The link: silence raises one incident however often the timer runs.
        h.clock.advance(Duration::seconds(60));
        let lost = h.app.fleet_tick().await.unwrap();
        assert_eq!(lost.len(), 1);
        assert!(h.app.fleet_tick().await.unwrap().is_empty());
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_commands_go_to_the_outbox_and_a_restart_remembers_who_is_taken_over() {
    use app::fleet::{VehicleCommand, incident_command_id};
    use app::ports::{DeviceStore, FleetStore};
    for h in backends().await {
        h.app
            .register_vehicle(&operator(), &unmanned("uv-8", 4))
            .await
            .unwrap();
        h.app
            .add_zone(
                &operator(),
                &Zone {
                    id: 0,
                    name: "施工路段".into(),
                    kind: ZoneKind::NoGo,
                    area: square(119.1, 29.1, 119.11, 29.11),
                    speed_limit_kmh: None,
                    windows: vec![],
                    station_id: None,
                },
            )
            .await
            .unwrap();
        let t0 = h.app.now().timestamp_millis();
        let message = |second: i64, lon: f64, lat: f64, speed_kmh: f64| Telemetry {
            at_ms: t0 + second * 1000,
            position: LonLat::new(lon, lat),
            speed_kmh,
            battery_pct: 80.0,
            faults: vec![],
            emergency_stop: false,
        };
        // The rule's command is in the devices' outbox with the incident.
        let speeding = h
            .app
            .ingest_telemetry("uv-8", &message(0, 119.05, 29.05, 45.0))
            .await
            .unwrap();
        let command =
            h.db.device_command(&incident_command_id(speeding[0], "slow_down"))
                .await
                .unwrap()
                .expect("slow_down in the outbox");
        assert_eq!(
            (
                command.station_id,
                command.device_kind.as_str(),
                command.device_id.as_str()
            ),
            (0, "vehicle", "uv-8")
        );
        assert!(command.payload.contains(r#""op":"slow_down""#));
        assert!(command.payload.contains(r#""limit_kmh":30"#));
        assert_eq!(command.not_after, h.app.now() + Duration::seconds(30));
        let operator_li = safety_operator(41, "safety_li");
        h.app
            .take_over(&operator_li, speeding[0], "超速，接管")
            .await
            .unwrap();
        let view = h
            .app
            .command_taken_over_vehicle(&operator_li, speeding[0], &VehicleCommand::PullOver)
            .await
            .unwrap();
        let sent = app::fleet::takeover_command_id(speeding[0], view.log.last().unwrap().id);
        let stored = h.db.device_command(&sent).await.unwrap().unwrap();
        assert!(stored.payload.contains(r#""op":"pull_over""#));
        assert_eq!(view.log.last().unwrap().what, "指令：靠边停车（pull_over）");

        // The server restarts: a new app on the same database. The vehicle
        // drives into the no-go zone: the incident opens, but nobody
        // commands a vehicle a safety operator is driving.
        let mut restarted = app::App::new(h.db.clone(), h.clock.clone());
        restarted.use_keys(h.db.keys().clone());
        let no_go = restarted
            .ingest_telemetry("uv-8", &message(1, 119.105, 29.105, 10.0))
            .await
            .unwrap();
        assert_eq!(no_go.len(), 1);
        let incident = h.db.incident(no_go[0]).await.unwrap().unwrap();
        assert_eq!(incident.rule, "entered_no_go");
        assert_eq!(incident.command, None, "taken over: no automatic command");
        assert!(
            h.db.device_command(&incident_command_id(no_go[0], "pull_over"))
                .await
                .unwrap()
                .is_none()
        );
        // Handed back (no mission under way: nothing to carry on with), the
        // rules command it again.
        restarted
            .hand_back(&operator_li, speeding[0], "交还")
            .await
            .unwrap();
        restarted
            .close_incident(&operator_li, speeding[0], "限速标志更新")
            .await
            .unwrap();
        let fault = Telemetry {
            faults: vec!["lidar".into()],
            ..message(2, 119.05, 29.05, 10.0)
        };
        let opened = restarted.ingest_telemetry("uv-8", &fault).await.unwrap();
        assert_eq!(opened.len(), 1);
        assert!(
            h.db.device_command(&incident_command_id(opened[0], "pull_over"))
                .await
                .unwrap()
                .is_some()
        );
        // A van takes no commands.
        let mut van = unmanned("van-1", 1);
        van.kind = VehicleKind::Van;
        h.app.register_vehicle(&operator(), &van).await.unwrap();
        let van_fault = restarted.ingest_telemetry("van-1", &fault).await.unwrap();
        h.app
            .take_over(&operator_li, van_fault[0], "司机报告故障")
            .await
            .unwrap();
        assert!(
            h.app
                .command_taken_over_vehicle(&operator_li, van_fault[0], &VehicleCommand::Stop)
                .await
                .unwrap_err()
                .is(Code::VehicleTakesNoCommands)
        );
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_plan_becomes_missions_and_unmanned_vehicles_go_only_where_received() {
    use app::dispatch::{DispatchRequest, Fleet};
    for h in backends().await {
        let a = located_station(&h, "东村驿站", 29.02, 119.02).await;
        let b = located_station(&h, "西村驿站", 29.05, 119.04).await;
        let mut all = waiting_parcels(&h, a, "7321", 3).await;
        all.extend(waiting_parcels(&h, b, "7322", 2).await);
        // Only station A has an approach an unmanned vehicle can stop at.
        h.app
            .add_zone(
                &operator(),
                &Zone {
                    id: 0,
                    name: "东村驿站进站道".into(),
                    kind: ZoneKind::StationApproach,
                    area: square(119.019, 29.019, 119.021, 29.021),
                    speed_limit_kmh: Some(10),
                    windows: vec![],
                    station_id: Some(a),
                },
            )
            .await
            .unwrap();
        let mut van = unmanned("van-1", 0);
        van.kind = VehicleKind::Van;
        van.driver = Some("driver_zhao".into());
        let van = h.app.register_vehicle(&operator(), &van).await.unwrap();
        let robot = h
            .app
            .register_vehicle(&operator(), &unmanned("uv-1", 8))
            .await
            .unwrap();
        let request = DispatchRequest {
            fleet: Fleet {
                vans: 1,
                van_parcels_max: 50,
                van_volume_max: 200,
                unmanned: 1,
                unmanned_compartments: 8,
                unmanned_range_km: 60,
            },
            ..DispatchRequest::new(GeoPoint {
                lat: 29.0,
                lon: 119.0,
            })
        };
        let plan = h.app.plan_dispatch(&operator(), &request).await.unwrap();
        assert!(plan.feasible);
        assert_eq!(plan.n_parcels_planned, 5);
        for route in plan.routes.iter().filter(|route| route.kind == "unmanned") {
            assert!(
                route.stops.iter().all(|stop| stop.station_id == a),
                "{route:?}"
            );
        }
        let day = domain::shanghai_day(h.app.now());
        let drafts: Vec<MissionDraft> = plan
            .routes
            .iter()
            .map(|route| {
                route.mission_draft(
                    if route.kind == "unmanned" {
                        robot.id
                    } else {
                        van.id
                    },
                    day,
                )
            })
            .collect();
        let ids = h.app.create_missions(&operator(), &drafts).await.unwrap();
        let mut planned = Vec::new();
        for id in ids {
            let view = h.app.mission(&operator(), id).await.unwrap();
            if view.vehicle.kind == VehicleKind::Van {
                assert!(
                    view.parcels
                        .iter()
                        .all(|p| p.compartment.is_none()
                            && p.compartment_code.starts_with("van-1-s"))
                );
            }
            planned.extend(view.parcels.iter().map(|p| p.parcel_id));
        }
        planned.sort_unstable();
        all.sort_unstable();
        assert_eq!(planned, all, "every waiting parcel on exactly one mission");
        h.cleanup().await;
    }
}

/// Hand-over at the station (issue 20): the compartments that open put their
/// parcels on the station's shelves with no scan; a jammed one keeps its
/// parcel aboard, which comes back to the centre when the mission ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_hands_its_compartments_to_the_station_and_the_rest_comes_back() {
    for h in backends().await {
        let a = located_station(&h, "东村驿站", 29.02, 119.02).await;
        let b = located_station(&h, "西村驿站", 29.05, 119.04).await;
        let parcels_a = waiting_parcels(&h, a, "7331", 3).await;
        let parcels_b = waiting_parcels(&h, b, "7332", 1).await;
        let uv = h
            .app
            .register_vehicle(&operator(), &unmanned("uv-7", 8))
            .await
            .unwrap();
        let now = h.app.now();
        let ids = h
            .app
            .create_missions(
                &operator(),
                &[MissionDraft {
                    vehicle_id: uv.id,
                    planned_departure: now,
                    stops: [(a, &parcels_a), (b, &parcels_b)]
                        .into_iter()
                        .map(|(station_id, parcel_ids)| StopDraft {
                            station_id,
                            planned_arrival: now,
                            parcel_ids: parcel_ids.clone(),
                            collect_from_vehicle: false,
                        })
                        .collect(),
                }],
            )
            .await
            .unwrap();
        let view = h.app.mission(&operator(), ids[0]).await.unwrap();
        for parcel in &view.parcels {
            h.app
                .load_scan(&operator(), ids[0], &parcel.waybill)
                .await
                .unwrap();
        }
        let stop_a = view.stops.iter().find(|s| s.station_id == a).unwrap();
        // Not before it leaves.
        assert!(
            h.app
                .hand_over_at_stop(&keeper_of(a), ids[0], stop_a.id, None)
                .await
                .unwrap_err()
                .is(Code::MissionNotActive)
        );
        h.app.start_mission(&operator(), ids[0]).await.unwrap();
        // Another station's keeper cannot empty this stop.
        assert!(
            h.app
                .hand_over_at_stop(&keeper_of(b), ids[0], stop_a.id, None)
                .await
                .is_err()
        );
        let for_a: Vec<_> = view
            .parcels
            .iter()
            .filter(|p| p.stop_id == stop_a.id)
            .collect();
        let jammed = for_a[0].compartment.unwrap();
        let opened: Vec<u32> = for_a
            .iter()
            .filter_map(|p| p.compartment)
            .filter(|c| *c != jammed)
            .collect();
        let handed = h
            .app
            .hand_over_at_stop(&keeper_of(a), ids[0], stop_a.id, Some(&opened))
            .await
            .unwrap();
        assert_eq!(handed.handed_over.len(), 2);
        assert_eq!(handed.kept_aboard, vec![for_a[0].waybill.clone()]);
        for outcome in &handed.handed_over {
            let parcel = h
                .app
                .store
                .parcel(outcome.parcel_id)
                .await
                .unwrap()
                .unwrap();
            assert!(parcel.state.occupies_slot(), "{parcel:?}");
            assert_eq!(parcel.station_id, Some(a));
        }
        // Again: nothing changes.
        let again = h
            .app
            .hand_over_at_stop(&keeper_of(a), ids[0], stop_a.id, Some(&opened))
            .await
            .unwrap();
        assert!(again.duplicate && again.handed_over.is_empty());
        // Called home before station B: B's parcel and the jammed one return.
        let end = h.app.finish_mission(&operator(), ids[0]).await.unwrap();
        let mut returned = end.returned.clone();
        returned.sort();
        let mut expected = vec![
            for_a[0].waybill.clone(),
            view.parcels
                .iter()
                .find(|p| p.stop_id != stop_a.id)
                .unwrap()
                .waybill
                .clone(),
        ];
        expected.sort();
        assert_eq!(returned, expected);
        let after = h.app.mission(&operator(), ids[0]).await.unwrap();
        assert_eq!(after.mission.status, MissionStatus::Done);
        assert_eq!(after.vehicle.status, VehicleStatus::Available);
        for parcel in after
            .parcels
            .iter()
            .filter(|p| p.status == LoadStatus::Returned)
        {
            let record = h.app.store.parcel(parcel.parcel_id).await.unwrap().unwrap();
            assert!(matches!(
                record.state,
                domain::ParcelState::ArrivedAtCentre | domain::ParcelState::Sorted
            ));
        }
        assert!(
            h.app
                .finish_mission(&operator(), ids[0])
                .await
                .unwrap_err()
                .is(Code::MissionNotActive)
        );
        h.cleanup().await;
    }
}

/// The station's 24-hour terminal (a paired tablet's principal).
fn terminal_of(station_id: i64) -> Principal {
    Principal {
        user_id: 0,
        username: format!("terminal-{station_id}"),
        role: Role::StationTerminal,
        station_ids: vec![station_id],
        carrier: None,
    }
}

/// Parcels for the station waiting at the centre, each with its
/// recipient's phone (`1380013800{idx}`) and consent; their ids.
async fn waiting_parcels_with_phones(
    h: &Harness,
    station_id: i64,
    prefix: &str,
    n: usize,
) -> Vec<i64> {
    let rows: Vec<ManifestRow> = (0..n)
        .map(|idx| ManifestRow {
            waybill: format!("{prefix}{idx:06}"),
            station_id: Some(station_id),
            phone: Some(format!("1380013800{idx}")),
            consent: Some(true),
            ..Default::default()
        })
        .collect();
    h.app
        .announce(&admin(), Carrier::Zto, &rows, 1)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for parcel in h
        .app
        .store
        .parcels(&ParcelFilter {
            station_id: Some(station_id),
            limit: 200,
            ..Default::default()
        })
        .await
        .unwrap()
    {
        if !parcel.waybill.to_string().starts_with(prefix) {
            continue;
        }
        for action in [domain::Action::ArriveAtCentre, domain::Action::Sort] {
            h.app
                .centre_scan(&admin(), parcel.id, action)
                .await
                .unwrap();
        }
        ids.push(parcel.id);
    }
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_collects_from_the_vehicles_compartment_with_the_doors_proof() {
    for h in backends().await {
        let a = located_station(&h, "东村驿站", 29.02, 119.02).await;
        let b = located_station(&h, "西村驿站", 29.05, 119.04).await;
        let parcels = waiting_parcels_with_phones(&h, a, "7341", 3).await;
        let uv = h
            .app
            .register_vehicle(&operator(), &unmanned("uv-8", 8))
            .await
            .unwrap();
        let now = h.app.now();
        let draft = |collect| MissionDraft {
            vehicle_id: uv.id,
            planned_departure: now,
            stops: vec![StopDraft {
                station_id: a,
                planned_arrival: now,
                parcel_ids: parcels.clone(),
                collect_from_vehicle: collect,
            }],
        };
        let ids = h
            .app
            .create_missions(&operator(), &[draft(true)])
            .await
            .unwrap();
        let view = h.app.mission(&operator(), ids[0]).await.unwrap();
        assert!(view.stops[0].collect_from_vehicle);
        for parcel in &view.parcels {
            h.app
                .load_scan(&operator(), ids[0], &parcel.waybill)
                .await
                .unwrap();
        }
        h.app.start_mission(&operator(), ids[0]).await.unwrap();
        let stop = view.stops[0].id;

        // Before the vehicle is opened for collection nobody holds a code.
        let early = h
            .app
            .collect_from_vehicle(
                &terminal_of(a),
                a,
                "t1",
                "10.0.0.1",
                "A-1-000000",
                Some("8000"),
            )
            .await
            .unwrap_err();
        assert!(early.is(Code::PickupCodeWrong), "{early:?}");
        // Another station's terminal cannot open this stop.
        assert!(
            h.app
                .open_stop_for_collection(&terminal_of(b), ids[0], stop)
                .await
                .is_err()
        );
        let opened = h
            .app
            .open_stop_for_collection(&terminal_of(a), ids[0], stop)
            .await
            .unwrap();
        assert_eq!(opened.parcels.len(), 3);
        assert!(opened.refused.is_empty());
        assert!(
            h.app
                .open_stop_for_collection(&terminal_of(a), ids[0], stop)
                .await
                .unwrap()
                .duplicate
        );
        let first = &opened.parcels[0];
        let code = first
            .pickup_code
            .clone()
            .expect("a code for a consenting recipient");
        let phone_tail = {
            let record = h.app.store.parcel(first.parcel_id).await.unwrap().unwrap();
            record.phone.unwrap().tail().to_string()
        };
        // The code alone, or with a wrong tail, opens nothing.
        let wrong = h
            .app
            .collect_from_vehicle(&terminal_of(a), a, "t1", "10.0.0.1", &code, Some("0000"))
            .await
            .unwrap_err();
        assert!(wrong.is(Code::PickupCodeWrong), "{wrong:?}");
        assert!(
            h.app
                .collect_from_vehicle(&terminal_of(a), a, "t1", "10.0.0.1", &code, None)
                .await
                .unwrap_err()
                .is(Code::PickupEntryInvalid)
        );
        // Another station's terminal is refused whatever it types.
        assert!(
            h.app
                .collect_from_vehicle(
                    &terminal_of(b),
                    a,
                    "t9",
                    "10.0.0.9",
                    &code,
                    Some(&phone_tail)
                )
                .await
                .is_err()
        );
        let collected = h
            .app
            .collect_from_vehicle(
                &terminal_of(a),
                a,
                "t1",
                "10.0.0.1",
                &code,
                Some(&phone_tail),
            )
            .await
            .unwrap();
        let load = view
            .parcels
            .iter()
            .find(|p| p.parcel_id == first.parcel_id)
            .unwrap();
        assert_eq!(Some(collected.compartment), load.compartment);
        assert_eq!(collected.vehicle, "uv-8");
        // One signed open_compartment, for that compartment only.
        let command = h
            .app
            .store
            .device_command(&collected.command_id)
            .await
            .unwrap()
            .expect("the command is in the devices' outbox");
        assert_eq!(
            (command.device_kind.as_str(), command.device_id.as_str()),
            ("vehicle", "uv-8")
        );
        let payload: serde_json::Value = serde_json::from_str(&command.payload).unwrap();
        assert_eq!(payload["op"], "open_compartment");
        assert_eq!(
            payload["compartments"],
            serde_json::json!([collected.compartment])
        );
        // Handed out with the recipient's own proof, as at the door.
        let record = h.app.store.parcel(first.parcel_id).await.unwrap().unwrap();
        assert_eq!(record.state, domain::ParcelState::PickedUp);
        let events = h.app.store.events(first.parcel_id).await.unwrap();
        let picked = events.iter().find(|e| e.kind == "picked_up").unwrap();
        assert_eq!(picked.details["proof"], "code_and_phone_tail");
        assert_eq!(picked.details["vehicle"], "uv-8");
        // The same code again finds nothing: it was used.
        assert!(
            h.app
                .collect_from_vehicle(
                    &terminal_of(a),
                    a,
                    "t1",
                    "10.0.0.1",
                    &code,
                    Some(&phone_tail)
                )
                .await
                .unwrap_err()
                .is(Code::PickupCodeWrong)
        );

        // The door's attempt limits hold at the vehicle, counted together
        // with the door's: three wrong codes at the door, then the vehicle.
        for _ in 0..3 {
            assert!(
                h.app
                    .start_pickup(
                        &terminal_of(a),
                        a,
                        "t2",
                        "10.0.0.2",
                        "A-1-999999",
                        Some("1234")
                    )
                    .await
                    .is_err()
            );
        }
        let mut refused = None;
        for _ in 0..4 {
            let error = h
                .app
                .collect_from_vehicle(
                    &terminal_of(a),
                    a,
                    "t2",
                    "10.0.0.2",
                    "A-1-999999",
                    Some("1234"),
                )
                .await
                .unwrap_err();
            if !error.is(Code::PickupCodeWrong) {
                refused = Some(error);
                break;
            }
        }
        let refused = refused.expect("the vehicle slows a guesser down like the door");
        assert!(refused.is(Code::RateLimited), "{refused:?}");
        let alerts = h.app.store.alerts(a, 50).await.unwrap();
        assert!(alerts.iter().any(|alert| alert.kind == "code_guessing"));

        // The vehicle leaves: what nobody collected goes onto the shelves
        // with the terminal's automatic hand-over, the collected parcel
        // does not.
        let handed = h
            .app
            .hand_over_at_stop(&terminal_of(a), ids[0], stop, None)
            .await
            .unwrap();
        assert_eq!(handed.handed_over.len(), 2);
        assert!(handed.kept_aboard.is_empty());
        for outcome in &handed.handed_over {
            assert_ne!(outcome.parcel_id, first.parcel_id);
            let parcel = h
                .app
                .store
                .parcel(outcome.parcel_id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(parcel.state, domain::ParcelState::Stored);
            assert_eq!(parcel.station_id, Some(a));
        }
        let after = h.app.mission(&operator(), ids[0]).await.unwrap();
        assert!(
            after
                .parcels
                .iter()
                .all(|p| p.status == LoadStatus::HandedOver)
        );
        // After the hand-over nothing more is collected from the vehicle.
        let second = &opened.parcels[1];
        let tail = h
            .app
            .store
            .parcel(second.parcel_id)
            .await
            .unwrap()
            .unwrap()
            .phone
            .unwrap()
            .tail()
            .to_string();
        let late = h
            .app
            .collect_from_vehicle(
                &terminal_of(a),
                a,
                "t3",
                "10.0.0.3",
                second.pickup_code.as_deref().unwrap(),
                Some(&tail),
            )
            .await
            .unwrap_err();
        assert!(late.is(Code::ParcelNotOnVehicle), "{late:?}");
        // A van's stops are not collected from.
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vans_stop_is_never_collect_from_vehicle() {
    for h in backends().await {
        let a = located_station(&h, "东村驿站", 29.02, 119.02).await;
        let parcels = waiting_parcels_with_phones(&h, a, "7342", 1).await;
        let mut van = unmanned("van-1", 0);
        van.kind = VehicleKind::Van;
        let van = h.app.register_vehicle(&operator(), &van).await.unwrap();
        let now = h.app.now();
        let error = h
            .app
            .create_missions(
                &operator(),
                &[MissionDraft {
                    vehicle_id: van.id,
                    planned_departure: now,
                    stops: vec![StopDraft {
                        station_id: a,
                        planned_arrival: now,
                        parcel_ids: parcels,
                        collect_from_vehicle: true,
                    }],
                }],
            )
            .await
            .unwrap_err();
        assert!(error.is(Code::MissionInvalid), "{error:?}");
        h.cleanup().await;
    }
}

/// Branch vehicles2 (issue 20, point 5): a vehicle command that expires
/// unacknowledged opens an incident for the safety operator, and after a
/// restart a vehicle on a mission under way that never speaks again still
/// loses its link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_command_alerts_and_a_silent_vehicle_loses_its_link_after_a_restart() {
    for h in backends().await {
        let a = located_station(&h, "东村驿站", 29.02, 119.02).await;
        let parcels = waiting_parcels(&h, a, "7361", 2).await;
        let uv = h
            .app
            .register_vehicle(&operator(), &unmanned("uv-5", 4))
            .await
            .unwrap();
        let now = h.app.now();
        let ids = h
            .app
            .create_missions(
                &operator(),
                &[MissionDraft {
                    vehicle_id: uv.id,
                    planned_departure: now,
                    stops: vec![StopDraft {
                        station_id: a,
                        planned_arrival: now,
                        parcel_ids: parcels,
                        collect_from_vehicle: false,
                    }],
                }],
            )
            .await
            .unwrap();
        let view = h.app.mission(&operator(), ids[0]).await.unwrap();
        for parcel in &view.parcels {
            h.app
                .load_scan(&operator(), ids[0], &parcel.waybill)
                .await
                .unwrap();
        }
        h.app.start_mission(&operator(), ids[0]).await.unwrap();

        // The start command is never acknowledged; past its not-after the
        // bridge ends it, and the operator gets an incident (once).
        h.clock.advance(Duration::seconds(31));
        let command_id = app::fleet::mission_start_command_id(ids[0]);
        let record = h
            .app
            .store
            .device_command(&command_id)
            .await
            .unwrap()
            .unwrap();
        assert!(
            app::device_commands::expire_device_command(&*h.app.store, &record, None, h.app.now())
                .await
                .unwrap()
        );
        let again = h
            .app
            .store
            .device_command(&command_id)
            .await
            .unwrap()
            .unwrap();
        assert!(
            !app::device_commands::expire_device_command(&*h.app.store, &again, None, h.app.now())
                .await
                .unwrap()
        );
        let incidents = h
            .app
            .incidents(&operator(), None, None, true)
            .await
            .unwrap();
        let expired: Vec<_> = incidents
            .items
            .iter()
            .filter(|i| i.rule == app::device_commands::COMMAND_EXPIRED_RULE)
            .collect();
        assert_eq!(expired.len(), 1, "{incidents:?}");
        assert_eq!(expired[0].subject, command_id);
        assert_eq!(expired[0].vehicle_id, uv.id);
        assert_eq!(expired[0].mission_id, Some(ids[0]));
        let evidence: serde_json::Value = serde_json::from_str(&expired[0].evidence).unwrap();
        assert_eq!(evidence["op"], "start_mission");

        // The server restarts: the new app has heard nothing from uv-5.
        let mut restarted = app::App::new(h.db.clone(), h.clock.clone());
        restarted.use_keys(h.db.keys().clone());
        assert!(restarted.fleet_tick().await.unwrap().is_empty());
        h.clock.advance(Duration::seconds(9));
        assert!(restarted.fleet_tick().await.unwrap().is_empty());
        h.clock.advance(Duration::seconds(2));
        let lost = restarted.fleet_tick().await.unwrap();
        assert_eq!(lost.len(), 1);
        let incident = restarted.incident(&operator(), lost[0]).await.unwrap();
        assert_eq!(incident.incident.rule, "link_lost");
        assert_eq!(incident.incident.vehicle_id, uv.id);
        h.clock.advance(Duration::seconds(30));
        assert!(
            restarted.fleet_tick().await.unwrap().is_empty(),
            "one incident however long the silence"
        );
        h.cleanup().await;
    }
}

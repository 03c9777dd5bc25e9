//! Missions from the dispatch plan on `/fleet/missions` and the 24-hour
//! terminal's vehicle calls (issue 20, branch vehicles2), over real HTTP
//! against real SQLite: the dispatcher plans the day, turns the route into
//! a mission with a collect-from-vehicle stop, scans the loading
//! compartment by compartment and sends it off, re-plans it onto another
//! vehicle when it breaks down; at the station the terminal opens the
//! vehicle for collection, a recipient collects with code and phone tail,
//! and the terminal hands the rest over.

mod support;

use app::App;
use app::fleet::{Compartment, MissionStatus, NewVehicle};
use app::manifest::ManifestRow;
use app::ports::{GeoPoint, NewStation, ParcelFilter, SystemClock};
use domain::fleet::{Polygon, VehicleKind, Zone, ZoneKind};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Role};
use std::sync::Arc;

fn unmanned(code: &str) -> NewVehicle {
    NewVehicle {
        code: code.into(),
        name: format!("无人车 {code}"),
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
    }
}

/// The value of the first `name="{name}"` input after `from` in a page,
/// unescaped as a browser would.
fn input_value(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + name.len()
        + 15;
    let end = at + page[at..].find('"').unwrap();
    page[at..end]
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn a_dispatcher_sends_the_day_from_the_plan_and_the_terminal_serves_the_vehicle() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    let admin = testkit::admin();
    let station = app
        .store
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
            app.now(),
        )
        .await
        .unwrap()
        .id;
    // Unmanned vehicles go only where a station approach receives them.
    app.add_zone(
        &admin,
        &Zone {
            id: 0,
            name: "东村驿站停靠区".into(),
            kind: ZoneKind::StationApproach,
            area: Polygon::try_from(vec![
                [119.019, 29.019],
                [119.021, 29.019],
                [119.021, 29.021],
                [119.019, 29.021],
            ])
            .unwrap(),
            speed_limit_kmh: Some(10),
            windows: vec![],
            station_id: Some(station),
        },
    )
    .await
    .unwrap();
    support::user(&app, "ops", Role::CountyOperator, None, &[]).await;
    support::user(&app, "keeper", Role::StationKeeper, None, &[station]).await;
    let rows: Vec<ManifestRow> = (0..2)
        .map(|idx| ManifestRow {
            waybill: format!("7451{idx:06}"),
            station_id: Some(station),
            phone: Some(format!("1370013700{idx}")),
            consent: Some(true),
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
    let uv1 = app
        .register_vehicle(&admin, &unmanned("uv-1"))
        .await
        .unwrap();
    let uv2 = app
        .register_vehicle(&admin, &unmanned("uv-2"))
        .await
        .unwrap();
    let site = support::Site::serve(app, database).await;

    // A keeper is sent to their own workplace.
    let keeper = site.sign_in("keeper").await;
    let (status, _) = keeper.get("/fleet/missions").await;
    assert_eq!(status, 303);

    let ops = site.sign_in("ops").await;
    let (status, page) = ops.get("/fleet/missions").await;
    assert_eq!(status, 200);
    assert!(page.contains("派车任务"), "{page}");
    // A malformed start is refused with what it should be, nothing planned.
    let (status, page) = ops
        .post(
            "/fleet/plan",
            &[("lat", "29.0"), ("lon", "119.0"), ("start", "7点")],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("出发时间"), "{page}");
    let (status, page) = ops
        .post(
            "/fleet/plan",
            &[("lat", "29.0"), ("lon", "119.0"), ("start", "07:00")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("东村驿站"), "{page}");
    let draft = input_value(&page, "draft");
    let (status, location) = ops
        .post(
            "/fleet/missions",
            &[
                ("draft", draft.as_str()),
                ("vehicle", &uv1.id.to_string()),
                ("collect_1", "1"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    let first: i64 = location
        .strip_prefix("/fleet/missions/")
        .unwrap()
        .parse()
        .unwrap();
    let view = site.app.mission(&admin, first).await.unwrap();
    assert_eq!(view.vehicle.id, uv1.id);
    assert!(view.stops[0].collect_from_vehicle);
    let mut aboard: Vec<i64> = view.parcels.iter().map(|p| p.parcel_id).collect();
    aboard.sort_unstable();
    parcel_ids.sort_unstable();
    assert_eq!(aboard, parcel_ids, "every waiting parcel is on the mission");

    // Not before it is loaded; then a scan per compartment.
    let (status, _) = ops
        .post(&format!("/fleet/missions/{first}/start"), &[])
        .await;
    assert_eq!(status, 409);
    for parcel in &view.parcels {
        let (status, location) = ops
            .post(
                &format!("/fleet/missions/{first}/load"),
                &[("waybill", parcel.waybill.as_str())],
            )
            .await;
        assert_eq!(status, 303);
        assert_eq!(
            location,
            format!("/fleet/missions/{first}?loaded={}", parcel.compartment_code)
        );
    }
    let (_, page) = ops
        .get(&format!(
            "/fleet/missions/{first}?loaded={}",
            view.parcels[0].compartment_code
        ))
        .await;
    assert!(page.contains("已装入格口"), "{page}");
    assert!(page.contains("(2/2)"), "{page}");
    let (status, _) = ops
        .post(&format!("/fleet/missions/{first}/start"), &[])
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        site.app
            .mission(&admin, first)
            .await
            .unwrap()
            .mission
            .status,
        MissionStatus::UnderWay
    );

    // uv-1 breaks down: its stop and parcels move to uv-2 from the page.
    let (_, page) = ops.get(&format!("/fleet/missions/{first}")).await;
    assert!(page.contains("uv-2"), "{page}");
    let (status, location) = ops
        .post(
            &format!("/fleet/missions/{first}/replan"),
            &[("onto_1", &uv2.id.to_string()), ("why", "电机故障")],
        )
        .await;
    assert_eq!(status, 303, "{location}");
    let second: i64 = location
        .strip_prefix("/fleet/missions/")
        .unwrap()
        .parse()
        .unwrap();
    let moved = site.app.mission(&admin, second).await.unwrap();
    assert_eq!(moved.vehicle.id, uv2.id);
    assert!(
        moved.stops[0].collect_from_vehicle,
        "the plan's flag travels"
    );
    assert_eq!(moved.parcels.len(), 2);
    for parcel in &moved.parcels {
        ops.post(
            &format!("/fleet/missions/{second}/load"),
            &[("waybill", parcel.waybill.as_str())],
        )
        .await;
    }
    let (status, _) = ops
        .post(&format!("/fleet/missions/{second}/start"), &[])
        .await;
    assert_eq!(status, 303);
    let stop = moved.stops[0].id;

    // The station's terminal, paired by the keeper.
    let (status, _) = keeper
        .post(&format!("/console/s/{station}/terminal"), &[])
        .await;
    assert_eq!(status, 303);
    let (_, page) = keeper.get("/terminal").await;
    // The terminal's own screen carries the vehicle panel and its words;
    // its script drives the calls below (session 10).
    assert!(
        page.contains("id=\"vehicles\"") && page.contains("id=\"vehicle-collect\""),
        "{page}"
    );
    assert!(
        page.contains("车辆到站") && page.contains("交接入库"),
        "{page}"
    );
    let (_, script) = keeper.get("/static/terminal.js").await;
    for call in ["/terminal/api/vehicles", "/terminal/api/vehicles/collect"] {
        assert!(script.contains(call), "terminal.js calls {call}");
    }
    let at = page.find("data-csrf=\"").unwrap() + 11;
    let csrf = page[at..at + 32].to_string();
    let call = |path: &str, body: serde_json::Value| {
        keeper
            .client
            .post(site.url(path))
            .header("x-csrf-token", csrf.clone())
            .json(&body)
            .send()
    };
    let due: serde_json::Value = keeper
        .client
        .get(site.url("/terminal/api/vehicles"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(due[0]["vehicle"], "uv-2");
    assert_eq!(due[0]["collect_from_vehicle"], true);
    assert_eq!(due[0]["open_for_collection"], false);
    assert!(
        due[0].get("parcels").is_none(),
        "no waybills on the terminal"
    );
    let opened = call(
        "/terminal/api/vehicles/open",
        serde_json::json!({"mission_id": second, "stop_id": stop}),
    )
    .await
    .unwrap();
    assert_eq!(opened.status(), 200);
    let opened: serde_json::Value = opened.json().await.unwrap();
    assert_eq!(opened["collection"], true);
    assert_eq!(opened["n_parcels"], 2);
    let parcel = site
        .app
        .store
        .parcel(moved.parcels[0].parcel_id)
        .await
        .unwrap()
        .unwrap();
    let code = parcel.pickup_code.clone().unwrap();
    let tail = parcel.phone.as_ref().unwrap().tail().to_string();
    let wrong = call(
        "/terminal/api/vehicles/collect",
        serde_json::json!({"code": code, "phone_tail": "0000"}),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 404);
    let wrong: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(wrong["error"]["code"], "pickup_code_wrong");
    let collected = call(
        "/terminal/api/vehicles/collect",
        serde_json::json!({"code": code, "phone_tail": tail}),
    )
    .await
    .unwrap();
    assert_eq!(collected.status(), 200);
    let collected: serde_json::Value = collected.json().await.unwrap();
    assert_eq!(collected["vehicle"], "uv-2");
    assert_eq!(
        collected["compartment"],
        serde_json::json!(moved.parcels[0].compartment.unwrap())
    );
    let handed = call(
        "/terminal/api/vehicles/hand-over",
        serde_json::json!({"mission_id": second, "stop_id": stop}),
    )
    .await
    .unwrap();
    assert_eq!(handed.status(), 200);
    let handed: serde_json::Value = handed.json().await.unwrap();
    assert_eq!(handed["handed_over"], 1);
    assert_eq!(handed["kept_aboard"], 0);
    let picked = site
        .app
        .store
        .parcel(moved.parcels[0].parcel_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(picked.state, domain::ParcelState::PickedUp);
    let shelved = site
        .app
        .store
        .parcel(moved.parcels[1].parcel_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shelved.state, domain::ParcelState::Stored);
}

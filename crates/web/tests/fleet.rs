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

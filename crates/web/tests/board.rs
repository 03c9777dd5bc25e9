//! The county board (`/board`, issue 16) over real HTTP on real SQLite:
//! the page with the chart library served from the product itself, the
//! live figures as JSON, every table as .xlsx, and the daily report with
//! its spreadsheet, for county staff and the administrator only.

use app::App;
use app::inbound::InboundScan;
use app::parcels::PickupProof;
use app::ports::SystemClock;
use domain::station::SizeClass;
use domain::{Carrier, Phone, Role, WaybillNo};
use std::sync::Arc;

mod support;
use support::{Site, station, user};

/// A site with two stations, one parcel stored at each and one of them
/// picked up by the recipient with the code and phone tail.
async fn site() -> Site {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    user(&app, "admin", Role::Admin, None, &[]).await;
    user(&app, "operator", Role::CountyOperator, None, &[]).await;
    let s1 = station(&app, "石桥村驿站").await;
    let s2 = station(&app, "河坝村驿站").await;
    user(&app, "keeper1", Role::StationKeeper, None, &[s1]).await;
    for (station_id, waybill) in [(s1, "731234567801"), (s2, "731234567802")] {
        let outcome = app
            .inbound(
                &testkit::admin(),
                station_id,
                InboundScan {
                    carrier: Carrier::Zto,
                    waybill: WaybillNo::parse(waybill).unwrap(),
                    recipient_name: Some("张三".into()),
                    phone: Some(Phone::parse("13812345678").unwrap()),
                    size: SizeClass::Small,
                    consent: Some(true),
                },
            )
            .await
            .unwrap();
        if station_id == s1 {
            app.pick_up(
                &testkit::admin(),
                outcome.parcel_id,
                PickupProof::CodeAndPhoneTail {
                    code: outcome.pickup_code.unwrap(),
                    phone_tail: "5678".into(),
                },
            )
            .await
            .unwrap();
        }
    }
    Site::serve(app, database).await
}

#[tokio::test]
async fn the_board_renders_with_the_chart_library_served_by_the_product() {
    let site = site().await;
    let admin = site.sign_in("admin").await;
    let (status, page) = admin.get("/board").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<script src=\"/static/vendor/echarts/echarts.min.js\"></script>"));
    assert!(page.contains("<script src=\"/static/board.js\"></script>"));
    assert!(
        !page.contains("cdn") && !page.contains("https://"),
        "nothing from outside"
    );
    assert!(page.contains("石桥村驿站") && page.contains("河坝村驿站"));
    assert!(
        page.contains("board-flag"),
        "both stations are under 300 a day"
    );
    assert!(!page.contains("13812345678") && !page.contains("张三"));
    let library = admin
        .client
        .get(site.url("/static/vendor/echarts/echarts.min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(library.status(), 200);
    assert!(
        library.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age"),
        "cached"
    );
    let body = library.text().await.unwrap();
    assert!(body.len() > 500_000 && body.contains("echarts"));
    let (status, licence) = admin.get("/static/vendor/echarts/LICENSE").await;
    assert_eq!(status, 200);
    assert!(licence.contains("Apache License") && licence.contains("d3"));

    // The live figures the page polls.
    let (status, json) = admin.get("/board/data").await;
    assert_eq!(status, 200, "{json}");
    let data: serde_json::Value = serde_json::from_str(&json).unwrap();
    let figures = &data["figures"];
    assert_eq!(figures["totals"][4], 2, "two parcels stored: {figures}");
    assert_eq!(figures["totals"][5], 1, "one picked up");
    assert_eq!(figures["pickups"], 1);
    assert_eq!(figures["within_24h"], 1);
    assert_eq!(figures["stations"].as_array().unwrap().len(), 2);
    assert_eq!(
        figures["stations"][0]["n_self_service"], 0,
        "code at the counter is staff"
    );
    assert!(!json.contains("13812345678") && !json.contains("张三"));

    // A range is checked.
    let (status, _) = admin.get("/board?from=2026-12-05&to=2026-12-01").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn every_board_table_and_the_daily_report_download_as_xlsx() {
    use calamine::Reader;
    let site = site().await;
    let operator = site.sign_in("operator").await;
    let today = site.app.today();
    for path in [
        format!("/board/board.xlsx?from={today}&to={today}"),
        format!("/board/daily.xlsx?day={today}"),
    ] {
        let (status, bytes) = operator.get_bytes(&path).await;
        assert_eq!(status, 200, "{path}");
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let names = book.sheet_names().to_vec();
        assert!(names.len() >= 3, "{path}: {names:?}");
        let stations = book.worksheet_range("驿站").unwrap();
        let cells: Vec<String> = stations.cells().map(|(_, _, c)| c.to_string()).collect();
        assert!(cells.iter().any(|c| c == "石桥村驿站"), "{path}: {cells:?}");
    }
    let (status, page) = operator.get(&format!("/board/daily?day={today}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("县域快递日报") && page.contains("石桥村驿站"),
        "{page}"
    );
    // A keeper is sent to their own workplace.
    let keeper = site.sign_in("keeper1").await;
    let (status, _) = keeper.get("/board").await;
    assert_eq!(status, 303);
}

/// Station economics: every assumption shown and editable by query string,
/// the seed's figures and their national extrapolation beside ours, and a
/// bad value refused with its range.
#[tokio::test]
async fn station_economics_show_every_assumption_and_the_seeds_extrapolation() {
    let site = site().await;
    let admin = site.sign_in("admin").await;
    let (status, page) = admin.get("/board/economics").await;
    assert_eq!(status, 200, "{page}");
    for name in [
        "minutes_per_pickup",
        "wage_per_hour",
        "unstaffed_hours_per_day",
        "sends_per_day",
        "margin_per_send",
        "days_per_year",
        "outlets",
    ] {
        assert!(page.contains(&format!("name=\"{name}\"")), "{name}");
    }
    // The seed: 104,100 outlets × 32,200 ≈ 3.35 bn, × 56,900 ≈ 5.92 bn.
    assert!(page.contains("3.35") && page.contains("5.92") && page.contains("32200–38900"));
    // 4 unstaffed hours × 20 yuan × 365 days = 29200 a station, by default.
    assert!(page.contains("<td>29200</td>"), "{page}");
    let (status, page) = admin
        .get("/board/economics?wage_per_hour=30&unstaffed_hours_per_day=2")
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<td>21900</td>"),
        "2 h × 30 yuan × 365: {page}"
    );
    let (status, page) = admin
        .get("/board/economics?unstaffed_hours_per_day=30")
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("unstaffed_hours_per_day"), "{page}");
}

#[tokio::test]
async fn the_board_sets_the_kiosk_fleet_and_the_arrears_beside_the_flow() {
    let site = site().await;
    let operator_principal = testkit::admin();
    let today = site.app.today();
    site.app
        .create_kiosk(
            &operator_principal,
            &app::kiosks::KioskInput {
                code: "JJB-BOARD".into(),
                host_name: "康宁大药房".into(),
                scenario: "pharmacy".into(),
                division: "510182103".into(),
                lat: "30.70".into(),
                lon: "103.90".into(),
                placed_on: today.to_string(),
                staff: "operator".into(),
                branch: "城关支局".into(),
            },
        )
        .await
        .unwrap();
    let admin = site.sign_in("admin").await;
    let (status, page) = admin.get(&format!("/board?from={today}&to={today}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"data-table="kiosks""#), "{page}");
    assert!(
        page.contains(r#"data-tile="kiosks""#) && page.contains("0/1"),
        "one kiosk placed, none active: {page}"
    );
    assert!(
        page.contains(r#"data-table="arrears""#) && page.contains("逾期欠费"),
        "{page}"
    );
    let (_, json) = admin
        .get(&format!("/board/data?from={today}&to={today}"))
        .await;
    assert!(
        json.contains(r#""id":"kiosks""#) && json.contains(r#""id":"arrears""#),
        "{json}"
    );
    let (status, bytes) = admin
        .get_bytes(&format!("/board/board.xlsx?from={today}&to={today}"))
        .await;
    assert_eq!(status, 200);
    use calamine::Reader;
    let book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let names = book.sheet_names().to_vec();
    assert!(
        names.iter().any(|n| n == "寄件宝（当日）") && names.iter().any(|n| n == "欠费账龄"),
        "{names:?}"
    );
}

//! The county centre's office pages over real HTTP against real SQLite
//! (issue 13): agreements (read, create, refuse with the reason and keep
//! what was typed, which version applies on a day), reconciliation and fees
//! with the .xlsx download read back, dispatch with its map and route
//! lists, sort plans from a layout, and CSRF on every form.

use app::App;
use app::auth::NewUser;
use app::county::{AgreementRequest, ArrivalScan, BagStatus};
use app::manifest::ManifestRow;
use app::ports::{GeoPoint, NewStation, SystemClock};
use calamine::{Data, Reader, Xlsx};
use chrono::Duration;
use domain::county::{Bracket, Mode, ModeFees, Terms, TownshipTerm};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Fen, Role, WaybillNo};
use reqwest::redirect::Policy;
use std::sync::Arc;
use testkit::TestDatabase;

const PASSWORD: &str = "correct horse battery";
const JOINT_TOWNSHIP: &str = "510182103"; // 丽春镇
const CONTRACTOR_TOWNSHIP: &str = "510182101"; // 龙门山镇
const STATION_TOWNSHIP: &str = "510182104"; // 九尺镇
const CONTRACTOR_ADDRESS: &str = "彭州市龙门山镇宝山村5组12号";
const STATION_ADDRESS: &str = "彭州九尺镇天宝村2组";

struct World {
    base: String,
    app: App,
    /// ZTO's contractor-mode parcels with their fees: (waybill, fen).
    fees: Vec<(String, i64)>,
    /// Announced, never arrived.
    missing: String,
    _database: TestDatabase,
}

fn terms() -> Terms {
    let brackets = |fens: &[(Option<u32>, i64)]| {
        fens.iter()
            .map(|(up_to_grams, fen)| Bracket {
                up_to_grams: *up_to_grams,
                fen: Fen(*fen),
            })
            .collect()
    };
    Terms {
        townships: vec![
            TownshipTerm {
                township: JOINT_TOWNSHIP.into(),
                mode: Mode::Joint,
            },
            TownshipTerm {
                township: CONTRACTOR_TOWNSHIP.into(),
                mode: Mode::Contractor,
            },
            TownshipTerm {
                township: STATION_TOWNSHIP.into(),
                mode: Mode::Station,
            },
        ],
        fees: vec![
            ModeFees {
                mode: Mode::Joint,
                brackets: brackets(&[(Some(1000), 50), (None, 150)]),
            },
            ModeFees {
                mode: Mode::Contractor,
                brackets: brackets(&[(Some(3000), 100), (None, 200)]),
            },
            ModeFees {
                mode: Mode::Station,
                brackets: brackets(&[(None, 30)]),
            },
        ],
    }
}

/// A county of two located village stations, a joint route, a contractor
/// and ZTO's agreement; three ZTO parcels handed to the contractor (so
/// their fees accrue), one sorted for a station and waiting at the centre
/// (for dispatch), one announced and never seen.
async fn world() -> World {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    let admin = testkit::admin();
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: 2,
        slots_per_tier: 10,
        size: SizeClass::Small,
        slot_capacity: 5,
    }];
    for (name, village, lat, lon) in [
        ("白果村驿站", "510182103237", 31.02, 103.99),
        ("天宝村驿站", "510182104213", 30.93, 104.08),
    ] {
        app.store
            .create_station(
                &NewStation {
                    name: name.into(),
                    township: "镇".into(),
                    division_code: Some(village.into()),
                    location: Some(GeoPoint { lat, lon }),
                    code_format: CodeFormat::default(),
                    holding: HoldingPolicy::default(),
                    slots: lay_out(&shelves).unwrap(),
                },
                app.now(),
            )
            .await
            .unwrap();
    }
    app.create_route(
        &admin,
        "丽春—九尺线",
        &[JOINT_TOWNSHIP.into(), STATION_TOWNSHIP.into()],
    )
    .await
    .unwrap();
    app.create_contractor(&admin, "王师傅", CONTRACTOR_TOWNSHIP, None)
        .await
        .unwrap();
    app.create_agreement(
        &admin,
        Carrier::Zto,
        AgreementRequest {
            effective_from: app.today() - Duration::days(10),
            effective_to: None,
            terms: terms(),
        },
    )
    .await
    .unwrap();
    let row = |waybill: &str, address: &str, weight_grams: Option<u32>| ManifestRow {
        waybill: waybill.into(),
        recipient_name: Some("李四".into()),
        phone: Some("13900001111".into()),
        address: Some(address.into()),
        consent: Some(true),
        weight_grams,
        ..Default::default()
    };
    let rows = vec![
        row("73100000000001", CONTRACTOR_ADDRESS, Some(600)),
        row("73100000000002", CONTRACTOR_ADDRESS, Some(4000)),
        row("73100000000003", CONTRACTOR_ADDRESS, None),
        row("73100000000004", STATION_ADDRESS, Some(800)),
        row("73100000000005", STATION_ADDRESS, Some(900)),
    ];
    let outcome = app.announce(&admin, Carrier::Zto, &rows, 1).await.unwrap();
    assert_eq!(outcome.n_announced, rows.len(), "{:?}", outcome.rejected);
    for waybill in [
        "73100000000001",
        "73100000000002",
        "73100000000003",
        "73100000000004",
    ] {
        let arrival = app
            .centre_arrival(
                &admin,
                ArrivalScan {
                    carrier: Carrier::Zto,
                    waybill: WaybillNo::parse(waybill).unwrap(),
                    weight_grams: None,
                    address: None,
                    recipient_name: None,
                    phone: None,
                },
            )
            .await
            .unwrap();
        assert!(
            arrival.manual.is_none(),
            "{waybill} routed: {:?}",
            arrival.manual
        );
    }
    // The contractor's bag goes; the station's waits for the van.
    for bag in app.bags(&admin, app.today()).await.unwrap() {
        if bag.status == BagStatus::Open && bag.target.contractor_id().is_some() {
            app.dispatch_bag(&admin, bag.id).await.unwrap();
        }
    }
    for (username, role) in [
        ("operator", Role::CountyOperator),
        ("zto", Role::CarrierIntegrator),
    ] {
        app.create_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password: PASSWORD.into(),
            role,
            carrier: (role == Role::CarrierIntegrator).then_some(Carrier::Zto),
            station_ids: vec![],
        })
        .await
        .unwrap();
    }
    let router = web::router(web::WebState {
        app: app.clone(),
        secure_cookies: false,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    World {
        base,
        app,
        fees: vec![
            ("73100000000001".into(), 100),
            ("73100000000002".into(), 200),
            ("73100000000003".into(), 100),
        ],
        missing: "73100000000005".into(),
        _database: database,
    }
}

/// A signed-in operator's browser and the CSRF token of its forms.
async fn operator(w: &World) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let login = client
        .get(format!("{}/console/login", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = client
        .post(format!("{}/console/login", w.base))
        .form(&[
            ("username", "operator"),
            ("password", PASSWORD),
            ("csrf", &csrf_of(&login)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signed in");
    let (_, page) = get(&client, format!("{}/centre/agreements", w.base)).await;
    let csrf = csrf_of(&page);
    (client, csrf)
}

fn csrf_of(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[start..start + 32].to_string()
}

async fn get(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn post(client: &reqwest::Client, url: String, form: &[(&str, &str)]) -> (u16, String) {
    let response = client.post(url).form(form).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn versions(w: &World) -> usize {
    w.app
        .agreements(&testkit::admin(), Carrier::Zto)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn agreements_are_read_created_refused_with_the_reason_and_looked_up_by_day() {
    let w = world().await;
    let (client, csrf) = operator(&w).await;
    let today = w.app.today();
    let (status, html) = get(&client, format!("{}/centre/agreements?carrier=ZTO", w.base)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("合作协议") && html.contains("版本 1") && html.contains("在这一天适用"),
        "{html}"
    );
    assert!(
        html.contains("3000:100, 200"),
        "the form starts from the latest terms"
    );

    let url = format!("{}/centre/agreements", w.base);
    let from = (today + Duration::days(5)).to_string();
    let townships = "510182103 joint\n510182101 承包\n510182104 station";
    // Brackets that are not numbers: refused by line of the form, typed text kept.
    let (status, html) = post(
        &client,
        url.clone(),
        &[
            ("csrf", &csrf),
            ("carrier", "ZTO"),
            ("effective_from", &from),
            ("townships", townships),
            ("joint", "一千:50"),
            ("contractor", "3000:120, 220"),
            ("station", "30"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("县域同分共配的计费档有误"), "{html}");
    assert!(
        html.contains("一千:50") && html.contains("3000:120, 220") && html.contains(&from),
        "nothing typed is lost"
    );
    // Brackets that do not rise: the domain's rule, in Chinese.
    let (status, html) = post(
        &client,
        url.clone(),
        &[
            ("csrf", &csrf),
            ("carrier", "ZTO"),
            ("effective_from", &from),
            ("townships", townships),
            ("joint", "5000:50, 1000:80, 150"),
            ("contractor", "3000:120, 220"),
            ("station", "30"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("协议条款有误"), "{html}");
    // A bad township line names its line.
    let (status, html) = post(
        &client,
        url.clone(),
        &[
            ("csrf", &csrf),
            ("carrier", "ZTO"),
            ("effective_from", &from),
            ("townships", "510182103 joint\n51018 joint"),
            ("joint", "150"),
            ("contractor", ""),
            ("station", ""),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("乡镇第 2 行有误"), "{html}");
    // Ending before it starts.
    let before = (today + Duration::days(2)).to_string();
    let (status, html) = post(
        &client,
        url.clone(),
        &[
            ("csrf", &csrf),
            ("carrier", "ZTO"),
            ("effective_from", &from),
            ("effective_to", &before),
            ("townships", townships),
            ("joint", "150"),
            ("contractor", "3000:120, 220"),
            ("station", "30"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("生效期有误"), "{html}");
    // Without the form's CSRF token nothing is created.
    let (status, _) = post(
        &client,
        url.clone(),
        &[
            ("csrf", "00000000000000000000000000000000"),
            ("carrier", "ZTO"),
            ("effective_from", &from),
            ("townships", townships),
            ("joint", "150"),
            ("contractor", "3000:120, 220"),
            ("station", "30"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(versions(&w).await, 1, "refusals created nothing");

    let response = client
        .post(url.clone())
        .form(&[
            ("csrf", csrf.as_str()),
            ("carrier", "ZTO"),
            ("effective_from", &from),
            ("townships", townships),
            ("joint", "1000:60, 160"),
            ("contractor", "3000:120, 220"),
            ("station", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/centre/agreements?carrier=ZTO&created=2"
    );
    let created = &w
        .app
        .agreements(&testkit::admin(), Carrier::Zto)
        .await
        .unwrap()[1];
    assert_eq!(
        created.terms.fee(Mode::Contractor, Some(5000)),
        Some((1, Fen(220)))
    );
    assert_eq!(
        created.terms.mode_for(CONTRACTOR_TOWNSHIP),
        Some(Mode::Contractor)
    );

    // Which version applies: the first until the second starts.
    let (_, html) = get(
        &client,
        format!("{}/centre/agreements?carrier=ZTO&day={today}", w.base),
    )
    .await;
    assert!(html.contains("<b>版本 1</b> 在这一天适用"), "{html}");
    let later = today + Duration::days(6);
    let (_, html) = get(
        &client,
        format!("{}/centre/agreements?carrier=ZTO&day={later}", w.base),
    )
    .await;
    assert!(html.contains("<b>版本 2</b> 在这一天适用"), "{html}");
    let (_, html) = get(
        &client,
        format!("{}/centre/agreements?carrier=SF&day={later}", w.base),
    )
    .await;
    assert!(html.contains("这一天没有生效的协议版本"), "{html}");
    let (status, html) = get(
        &client,
        format!("{}/centre/agreements?carrier=ZTO&day=2026-13-01", w.base),
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("日期“2026-13-01”有误"), "{html}");
}

#[tokio::test]
async fn reports_show_the_fees_with_totals_and_the_spreadsheet_reads_back_the_same() {
    let w = world().await;
    let (client, _) = operator(&w).await;
    let today = w.app.today();
    let total: i64 = w.fees.iter().map(|(_, fen)| fen).sum();
    let total_text = Fen(total).to_string();
    let query = format!("carrier=ZTO&from={}&to={today}", today - Duration::days(1));
    let (status, html) = get(&client, format!("{}/centre/reports?{query}", w.base)).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!("<b>{}</b>", w.fees.len())) && html.contains(&total_text),
        "{html}"
    );
    for (waybill, _) in &w.fees {
        assert!(html.contains(waybill), "fee row of {waybill}");
    }
    assert!(html.contains(&w.missing), "the missing parcel is listed");

    let response = client
        .get(format!("{}/centre/reports/fees.xlsx?{query}", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["费用汇总", "费用明细", "已预报未到件", "到件未预报"]
    );
    let fees = book.worksheet_range("费用明细").unwrap();
    let rows: Vec<&[Data]> = fees.rows().collect();
    assert_eq!(rows[0][0], Data::String("运单号".into()));
    assert_eq!(rows[0][9], Data::String("金额（元）".into()));
    let mut seen = Vec::new();
    for row in &rows[1..rows.len() - 1] {
        let Data::String(waybill) = &row[0] else {
            panic!("waybill {:?}", row[0])
        };
        let Data::Float(yuan) = row[9] else {
            panic!("amount {:?}", row[9])
        };
        seen.push((waybill.clone(), (yuan * 100.0).round() as i64));
    }
    seen.sort();
    assert_eq!(seen, w.fees, "every fee with its waybill and amount");
    let last = rows.last().unwrap();
    assert_eq!(last[0], Data::String("合计".into()));
    assert_eq!(last[9], Data::Float(total as f64 / 100.0));
    let summary = book.worksheet_range("费用汇总").unwrap();
    let total_row = summary
        .rows()
        .find(|r| r[0] == Data::String("合计".into()))
        .unwrap();
    assert_eq!(total_row[3], Data::Float(w.fees.len() as f64));
    assert_eq!(total_row[4], Data::Float(total as f64 / 100.0));
    let missing = book.worksheet_range("已预报未到件").unwrap();
    assert!(
        missing
            .rows()
            .any(|r| r[0] == Data::String(w.missing.clone()))
    );

    // The download went through the use cases, which recorded the export.
    let exports = w
        .app
        .audit_trail(
            &testkit::admin(),
            app::ports::audit::AuditFilter {
                act: Some("data_exported".into()),
                limit: 200,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let by_operator = |kind: &str| {
        exports
            .iter()
            .filter(|row| row.actor == "operator" && row.details.contains(kind))
            .count()
    };
    assert!(
        by_operator("fee_ledger") >= 2 && by_operator("reconciliation") >= 2,
        "{exports:?}"
    );

    // In English, the sheets and headers are English.
    client
        .get(format!("{}/lang/en", w.base))
        .send()
        .await
        .unwrap();
    let bytes = client
        .get(format!("{}/centre/reports/fees.xlsx?{query}", w.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["Fee summary", "Fees", "Missing", "Unannounced"]
    );
    // A range the use case refuses says why, in the page's language.
    let (status, html) = get(
        &client,
        format!(
            "{}/centre/reports?carrier=ZTO&from={today}&to={}",
            w.base,
            today - Duration::days(3)
        ),
    )
    .await;
    assert_eq!(status, 422);
    assert!(!html.contains("Internal"), "{html}");
}

#[tokio::test]
async fn dispatch_plans_the_waiting_parcels_on_a_map_with_route_lists() {
    let w = world().await;
    let (client, csrf) = operator(&w).await;
    let (status, html) = get(&client, format!("{}/centre/dispatch", w.base)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("name=\"lat\" value=\"30.975000\""),
        "the centre defaults to the stations' middle: {html}"
    );
    let url = format!("{}/centre/dispatch", w.base);
    let form = |vans: &'static str| {
        vec![
            ("vans", vans),
            ("van_parcels", "100"),
            ("unmanned", "0"),
            ("compartments", "24"),
            ("start", "07:30"),
            ("lat", "30.99"),
            ("lon", "103.94"),
        ]
    };
    let mut bad = form("两辆");
    bad.push(("csrf", &csrf));
    let (status, html) = post(&client, url.clone(), &bad).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("货车数须为不小于 0 的整数") && html.contains("value=\"两辆\""),
        "{html}"
    );
    let mut good = form("1");
    good.push(("csrf", &csrf));
    let (status, html) = post(&client, url.clone(), &good).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<svg") && html.contains("class=\"dispatch-map\""),
        "{html}"
    );
    assert!(
        html.contains("天宝村驿站") && html.contains("县中心"),
        "{html}"
    );
    assert!(
        html.contains("货车 1") && html.contains("司机签字") && html.contains("派送路单"),
        "{html}"
    );
    assert!(
        html.contains("class=\"scale\"") && html.contains("class=\"north\""),
        "scale bar and north arrow"
    );
    let mut forged = form("1");
    forged.push(("csrf", "00000000000000000000000000000000"));
    let (status, _) = post(&client, url, &forged).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn sort_plans_come_from_a_layout_in_one_language_and_a_bad_layout_says_why() {
    let w = world().await;
    let (client, csrf) = operator(&w).await;
    let (status, html) = get(&client, format!("{}/centre/sort", w.base)).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"layout-text\""), "{html}");
    let format = include_str!("../../sort/FORMAT.md");
    let start = format.find("```toml\n").unwrap() + "```toml\n".len();
    let layout = &format[start..start + format[start..].find("```").unwrap()];
    let url = format!("{}/centre/sort", w.base);
    let (status, html) = post(
        &client,
        url.clone(),
        &[
            ("csrf", &csrf),
            ("source", "layout"),
            ("layout", layout),
            ("seed", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("半圈落格率") && html.contains("格口图") && html.contains("<svg"),
        "{html}"
    );
    assert!(
        !html.contains("(half-loop") && !html.contains("Indicators"),
        "one language at a time"
    );
    let (status, html) = post(
        &client,
        url.clone(),
        &[
            ("csrf", &csrf),
            ("source", "layout"),
            ("layout", "name = 1\nchutes = []"),
            ("seed", "1"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("布局文件有误") && html.contains("chutes = []"),
        "{html}"
    );
    client
        .get(format!("{}/lang/en", w.base))
        .send()
        .await
        .unwrap();
    let (status, html) = post(
        &client,
        url.clone(),
        &[
            ("csrf", &csrf),
            ("source", "layout"),
            ("layout", layout),
            ("seed", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Half-loop drop rate") && !html.contains("半圈落格率"),
        "{html}"
    );
    let (status, _) = post(
        &client,
        url,
        &[
            ("csrf", "00000000000000000000000000000000"),
            ("source", "generate"),
            ("generator_seed", "1"),
        ],
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_carriers_staff_and_signed_out_visitors_get_none_of_the_office_pages() {
    let w = world().await;
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    for path in [
        "/centre/agreements",
        "/centre/reports",
        "/centre/reports/fees.xlsx?carrier=ZTO",
        "/centre/dispatch",
        "/centre/sort",
    ] {
        let response = client
            .get(format!("{}{path}", w.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/console/login", "{path}");
        let (token, _) = w.app.sign_in("zto", PASSWORD, "test").await.unwrap();
        let response = client
            .get(format!("{}{path}", w.base))
            .header("cookie", format!("yz_session={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{path} as a carrier");
        assert_ne!(response.headers()["location"], "", "{path}");
        assert!(
            !response.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/centre"),
            "{path}"
        );
    }
}

//! The county centre console (`/centre`, issue 13) over real HTTP against
//! real SQLite: the start page's figures, arrival scanning (page and the
//! script's JSON), the manual queue with bulk resolution, bags closed,
//! labelled and handed over, and the printable handover list with its
//! barcodes; CSRF refusals, and a keeper sent away from every centre page.

use app::App;
use app::auth::NewUser;
use app::county::{AgreementRequest, BagStatus};
use app::manifest::ManifestRow;
use app::ports::{NewStation, SystemClock};
use domain::county::{Bracket, Mode, ModeFees, Terms, TownshipTerm};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Fen, Role};
use reqwest::redirect::Policy;
use std::sync::Arc;
use testkit::TestDatabase;

const PASSWORD: &str = "correct horse battery";
/// 丽春镇 (joint, on the route) and its 白果村, 龙门山镇 (contractor).
const JOINT: &str = "510182103";
const VILLAGE: &str = "510182103237";
const CONTRACTOR_TOWNSHIP: &str = "510182101";
const AMBIGUOUS: &str = "石桥镇中街8号";

struct World {
    base: String,
    app: App,
    route_id: i64,
    contractor_id: i64,
    /// Announced ZTO waybills: routable to the joint route, to the
    /// contractor, two with the same ambiguous address, one with no township.
    joint: String,
    contractor: String,
    ambiguous: [String; 2],
    _database: TestDatabase,
}

async fn world() -> World {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    let admin = testkit::admin();
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: 2,
        slots_per_tier: 5,
        size: SizeClass::Small,
        slot_capacity: 2,
    }];
    let station = app
        .create_station(
            &admin,
            &NewStation {
                name: "白果村驿站".into(),
                township: "丽春镇".into(),
                division_code: Some(VILLAGE.into()),
                location: None,
                code_format: CodeFormat::default(),
                holding: HoldingPolicy::default(),
                slots: lay_out(&shelves).unwrap(),
            },
        )
        .await
        .unwrap();
    for (username, role, stations) in [
        ("operator", Role::CountyOperator, vec![]),
        ("keeper1", Role::StationKeeper, vec![station.id]),
    ] {
        app.create_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password: PASSWORD.into(),
            role,
            carrier: None,
            station_ids: stations,
        })
        .await
        .unwrap();
    }
    let route = app
        .create_route(&admin, "丽春共配线", &[JOINT.into()])
        .await
        .unwrap();
    let contractor = app
        .create_contractor(&admin, "王建国", CONTRACTOR_TOWNSHIP, None)
        .await
        .unwrap();
    let fees = |mode| ModeFees {
        mode,
        brackets: vec![Bracket {
            up_to_grams: None,
            fen: Fen(50),
        }],
    };
    app.create_agreement(
        &admin,
        Carrier::Zto,
        AgreementRequest {
            effective_from: app.today() - chrono::Duration::days(1),
            effective_to: None,
            terms: Terms {
                townships: vec![
                    TownshipTerm {
                        township: JOINT.into(),
                        mode: Mode::Joint,
                    },
                    TownshipTerm {
                        township: CONTRACTOR_TOWNSHIP.into(),
                        mode: Mode::Contractor,
                    },
                ],
                fees: vec![fees(Mode::Joint), fees(Mode::Contractor)],
            },
        },
    )
    .await
    .unwrap();
    let rows: Vec<ManifestRow> = [
        "四川省成都市彭州市丽春镇白果村3组5号",
        "四川省成都市彭州市龙门山镇宝山村1组2号",
        AMBIGUOUS,
        AMBIGUOUS,
    ]
    .iter()
    .enumerate()
    .map(|(i, address)| ManifestRow {
        waybill: format!("73123456780{i}"),
        recipient_name: Some("王女士".into()),
        phone: Some(format!("1391234567{i}")),
        address: Some((*address).into()),
        ..Default::default()
    })
    .collect();
    let announced = app.announce(&admin, Carrier::Zto, &rows, 1).await.unwrap();
    assert!(announced.rejected.is_empty(), "{:?}", announced.rejected);
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
        route_id: route.id,
        contractor_id: contractor.id,
        joint: rows[0].waybill.clone(),
        contractor: rows[1].waybill.clone(),
        ambiguous: [rows[2].waybill.clone(), rows[3].waybill.clone()],
        _database: database,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn csrf_of(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[start..start + 32].to_string()
}

/// Signs in; answers the client, the CSRF token and where sign-in led.
async fn signed_in(w: &World, username: &str) -> (reqwest::Client, String, String) {
    let client = browser();
    let page = get(&client, &format!("{}/console/login", w.base)).await;
    let response = client
        .post(format!("{}/console/login", w.base))
        .form(&[
            ("username", username),
            ("password", PASSWORD),
            ("csrf", &csrf_of(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signed in");
    let home = response.headers()["location"].to_str().unwrap().to_string();
    let page = client
        .get(format!("{}/centre", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = if page.contains("name=\"csrf\"") {
        csrf_of(&page)
    } else {
        String::new()
    };
    (client, csrf, home)
}

async fn get(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.text().await.unwrap()
}

async fn scan_json(
    w: &World,
    client: &reqwest::Client,
    csrf: &str,
    waybill: &str,
) -> serde_json::Value {
    let response = client
        .post(format!("{}/centre/arrival", w.base))
        .header("accept", "application/json")
        .form(&[("csrf", csrf), ("carrier", "ZTO"), ("waybill", waybill)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_operator_lands_on_the_centre_and_sees_the_days_figures() {
    let w = world().await;
    let (client, csrf, home) = signed_in(&w, "operator").await;
    assert_eq!(home, "/centre");
    let page = get(&client, &format!("{}/centre", w.base)).await;
    assert!(page.contains("今日到件扫描"), "{page}");
    assert!(page.contains("id=\"fig-arrivals\"><b>0</b>"), "{page}");
    scan_json(&w, &client, &csrf, &w.joint).await;
    scan_json(&w, &client, &csrf, &w.ambiguous[0]).await;
    let page = get(&client, &format!("{}/centre", w.base)).await;
    assert!(page.contains("id=\"fig-arrivals\"><b>2</b>"), "{page}");
    assert!(page.contains("id=\"fig-manual\"><b>1</b>"), "{page}");
    assert!(page.contains("id=\"fig-open\"><b>1</b>"), "{page}");
    // English by cookie.
    client
        .get(format!("{}/lang/en", w.base))
        .send()
        .await
        .unwrap();
    let page = get(&client, &format!("{}/centre", w.base)).await;
    assert!(page.contains("Arrival scans today"), "{page}");
}

#[tokio::test]
async fn a_keeper_is_sent_away_from_every_centre_page() {
    let w = world().await;
    let (client, _, home) = signed_in(&w, "keeper1").await;
    assert_eq!(home, "/console");
    for path in [
        "/centre",
        "/centre/arrival",
        "/centre/manual",
        "/centre/bags",
        "/centre/bags/1/label",
        &format!("/centre/handover/route/{}", w.route_id),
    ] {
        let response = client
            .get(format!("{}{path}", w.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/console", "{path}");
    }
    let anonymous = browser()
        .get(format!("{}/centre/arrival", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.headers()["location"], "/console/login");
}

#[tokio::test]
async fn an_arrival_scan_shows_the_route_decision_and_fills_the_open_bags() {
    let w = world().await;
    let (client, csrf, _) = signed_in(&w, "operator").await;
    // What the carrier announced and has not arrived is listed to scan.
    let page = get(&client, &format!("{}/centre/arrival?carrier=ZTO", w.base)).await;
    assert!(
        page.contains(&format!("data-waybill=\"{}\"", w.joint)),
        "{page}"
    );
    let answer = scan_json(&w, &client, &csrf, &w.joint).await;
    let result = &answer["result"];
    assert_eq!(result["status"], "routed", "{answer}");
    assert_eq!(result["station"], "白果村驿站", "{answer}");
    assert_eq!(result["route"], "丽春共配线", "{answer}");
    assert_eq!(result["mode"], "县域同分共配", "{answer}");
    let bags = answer["bags"].as_array().unwrap();
    assert_eq!(bags.len(), 1, "{answer}");
    assert_eq!(bags[0]["n"], 1);
    assert_eq!(
        Some(bags[0]["label"].as_str().unwrap()),
        result["bag"].as_str()
    );
    // The contractor's parcel, by the form post without the script.
    let page = client
        .post(format!("{}/centre/arrival", w.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("carrier", "ZTO"),
            ("waybill", &w.contractor),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("result decision routed"), "{page}");
    assert!(
        page.contains("王建国") && page.contains("乡镇承包配送"),
        "{page}"
    );
    // Scanning it again changes nothing and says so.
    let again = scan_json(&w, &client, &csrf, &w.joint).await;
    assert_eq!(again["result"]["status"], "duplicate", "{again}");
    assert_eq!(again["bags"][0]["n"], 1, "{again}");
    // An ambiguous address goes to the manual queue with the reason.
    let manual = scan_json(&w, &client, &csrf, &w.ambiguous[0]).await;
    assert_eq!(manual["result"]["status"], "manual", "{manual}");
    assert!(
        manual["result"]["reason"]
            .as_str()
            .unwrap()
            .contains("歧义"),
        "{manual}"
    );
    // A waybill the carrier never announced, without an address: queued, saying why.
    let unknown = scan_json(&w, &client, &csrf, "ZZ99887766").await;
    assert_eq!(unknown["result"]["status"], "manual", "{unknown}");
    assert_eq!(unknown["result"]["unannounced"], true, "{unknown}");
    assert!(
        unknown["result"]["reason"]
            .as_str()
            .unwrap()
            .contains("无地址"),
        "{unknown}"
    );
    // A malformed waybill is refused with a message that says what is wrong.
    let bad = scan_json(&w, &client, &csrf, "运单？").await;
    assert_eq!(bad["result"]["status"], "error", "{bad}");
    assert!(
        !bad["result"]["reason"].as_str().unwrap().is_empty(),
        "{bad}"
    );
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let w = world().await;
    let (client, csrf, _) = signed_in(&w, "operator").await;
    let answer = scan_json(&w, &client, &csrf, &w.joint).await;
    let bag_id: i64 = answer["result"]["bag"].as_str().unwrap()[6..]
        .parse()
        .unwrap();
    let forged = client
        .post(format!("{}/centre/arrival", w.base))
        .header("accept", "application/json")
        .form(&[
            ("csrf", "00"),
            ("carrier", "ZTO"),
            ("waybill", &w.contractor),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let body: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf_invalid");
    for path in [
        format!("/centre/bags/{bag_id}/close"),
        format!("/centre/bags/{bag_id}/dispatch"),
        "/centre/manual/resolve".to_string(),
    ] {
        let response = client
            .post(format!("{}{path}", w.base))
            .form(&[("csrf", "00"), ("division", VILLAGE)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    // Nothing changed.
    let bag = w.app.bag(&testkit::admin(), bag_id).await.unwrap();
    assert_eq!(bag.bag.status, BagStatus::Open);
    let outcome = w
        .app
        .search(
            &testkit::admin(),
            app::ports::ParcelFilter {
                waybill: Some(w.contractor.clone()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.parcels[0].parcel.state,
        domain::ParcelState::Announced
    );
}

#[tokio::test]
async fn the_manual_queue_resolves_every_parcel_with_the_same_address_at_once() {
    let w = world().await;
    let (client, csrf, _) = signed_in(&w, "operator").await;
    for waybill in &w.ambiguous {
        scan_json(&w, &client, &csrf, waybill).await;
    }
    let page = get(&client, &format!("{}/centre/manual", w.base)).await;
    assert!(page.contains(AMBIGUOUS), "{page}");
    assert_eq!(
        page.matches("class=\"manual-group\"").count(),
        1,
        "one group: {page}"
    );
    for waybill in &w.ambiguous {
        assert!(page.contains(waybill.as_str()), "{page}");
    }
    // The parser's candidates are offered, down to villages.
    assert!(page.contains("石桥镇"), "{page}");
    assert!(
        page.contains(&format!("value=\"{VILLAGE}\"")),
        "served villages: {page}"
    );
    let ids: Vec<String> = page
        .match_indices("name=\"parcel\" value=\"")
        .map(|(at, m)| {
            let rest = &page[at + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect();
    assert_eq!(ids.len(), 2);
    // A code that is no division is refused, and nothing is lost.
    let refused = client
        .post(format!("{}/centre/manual/resolve", w.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("parcel", &ids[0]),
            ("parcel", &ids[1]),
            ("code", "12345"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    assert!(text.contains("须为 9 位乡镇代码或 12 位村级代码"), "{text}");
    assert_eq!(
        w.app.manual_queue(&testkit::admin()).await.unwrap().len(),
        2
    );
    // None ticked: says so.
    let none = client
        .post(format!("{}/centre/manual/resolve", w.base))
        .form(&[("csrf", csrf.as_str()), ("division", VILLAGE)])
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 422);
    assert!(none.text().await.unwrap().contains("请至少勾选一个包裹"));
    // Both at once, to the village.
    let done = client
        .post(format!("{}/centre/manual/resolve", w.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("parcel", &ids[0]),
            ("parcel", &ids[1]),
            ("division", VILLAGE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let text = done.text().await.unwrap();
    assert_eq!(
        text.matches("<li class=\"alert good\">").count(),
        2,
        "{text}"
    );
    assert!(text.contains("人工分拣队列是空的"), "{text}");
    assert!(
        w.app
            .manual_queue(&testkit::admin())
            .await
            .unwrap()
            .is_empty()
    );
    // Each resolution is in the audit trail.
    let audit = w.app.store.audit_rows_after(0, 100).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|row| row.act == "manual_resolved")
            .count(),
        2
    );
}

#[tokio::test]
async fn bags_close_print_hand_over_and_list_on_a_handover_sheet_with_barcodes() {
    let w = world().await;
    let (client, csrf, _) = signed_in(&w, "operator").await;
    let day = w.app.today();
    // Before anything was handed over the sheet warns instead of printing blank.
    let empty = get(
        &client,
        &format!("{}/centre/handover/route/{}?day={day}", w.base, w.route_id),
    )
    .await;
    assert!(empty.contains("id=\"handover-empty\""), "{empty}");
    let answer = scan_json(&w, &client, &csrf, &w.joint).await;
    let label = answer["result"]["bag"].as_str().unwrap().to_string();
    let bag_id: i64 = label[6..].parse().unwrap();
    let page = get(&client, &format!("{}/centre/bags", w.base)).await;
    assert!(
        page.contains(&format!("id=\"bag-{bag_id}\" class=\"bag-open\"")),
        "{page}"
    );
    // Close: the next parcel for the same station opens a new bag.
    let closed = client
        .post(format!("{}/centre/bags/{bag_id}/close", w.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 303);
    let bag = w.app.bag(&testkit::admin(), bag_id).await.unwrap();
    assert_eq!(bag.bag.status, BagStatus::Closed);
    assert!(bag.bag.closed_at.is_some());
    // The label prints under the cookie session, with its QR code.
    let printed = get(&client, &format!("{}/centre/bags/{bag_id}/label", w.base)).await;
    assert!(
        printed.contains("<svg") && printed.contains(&label),
        "{printed}"
    );
    let dispatched = client
        .post(format!("{}/centre/bags/{bag_id}/dispatch", w.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(dispatched.status(), 303);
    let page = get(&client, &format!("{}/centre/bags?day={day}", w.base)).await;
    assert!(
        page.contains(&format!("id=\"bag-{bag_id}\" class=\"bag-dispatched\"")),
        "{page}"
    );
    // Closing a bag that left is refused with the reason.
    let late = client
        .post(format!("{}/centre/bags/{bag_id}/close", w.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 409);
    assert!(late.text().await.unwrap().contains("已交接"));
    // The handover sheet: the bag as a Code 128 barcode, totals, signatures.
    let sheet = get(
        &client,
        &format!("{}/centre/handover/route/{}?day={day}", w.base, w.route_id),
    )
    .await;
    assert!(!sheet.contains("handover-empty"), "{sheet}");
    assert!(sheet.contains("class=\"barcode\""), "{sheet}");
    assert!(
        sheet.contains(&format!("aria-label=\"{label}\"")),
        "{sheet}"
    );
    assert!(sheet.contains("<rect"), "{sheet}");
    assert!(sheet.contains("接件人签字"), "{sheet}");
    assert!(sheet.contains("白果村驿站"), "{sheet}");
    // The contractor had nothing handed over: a warning, not a blank sheet.
    let other = get(
        &client,
        &format!(
            "{}/centre/handover/contractor/{}?day={day}",
            w.base, w.contractor_id
        ),
    )
    .await;
    assert!(other.contains("id=\"handover-empty\""), "{other}");
    // A day that is no date says how to write one.
    let bad_day = client
        .get(format!("{}/centre/bags?day=7.12.2026", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_day.status(), 422);
    assert!(bad_day.text().await.unwrap().contains("2026-12-07"));
}

//! The console and terminal over real HTTP against real SQLite: sign-in,
//! CSRF, who may open what, masked phones, pairing, and the QR page.

use app::App;
use app::auth::NewUser;
use app::inbound::InboundScan;
use app::ports::{NewStation, SystemClock};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Phone, Role, WaybillNo};
use std::sync::Arc;
use testkit::TestDatabase;

mod support;
use support::{PASSWORD, browser, csrf_of};

struct World {
    base: String,
    app: App,
    stations: [i64; 2],
    /// One stored parcel per station: (id, code, waybill).
    parcels: Vec<(i64, String, String)>,
    /// Keeps the SQLite file for the test's length.
    _database: TestDatabase,
}

async fn world() -> World {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    let mut stations = [0; 2];
    let mut parcels = Vec::new();
    for (i, name) in ["石桥村驿站", "河坝村驿站"].into_iter().enumerate() {
        let shelves = [ShelfSpec {
            label: "A".into(),
            tiers: 2,
            slots_per_tier: 5,
            size: SizeClass::Small,
            slot_capacity: 2,
        }];
        let station = app
            .store
            .create_station(
                &NewStation {
                    name: name.into(),
                    township: "石桥镇".into(),
                    division_code: None,
                    location: None,
                    code_format: CodeFormat::default(),
                    holding: HoldingPolicy::default(),
                    slots: lay_out(&shelves).unwrap(),
                },
                app.now(),
            )
            .await
            .unwrap();
        stations[i] = station.id;
        app.create_user(NewUser {
            username: format!("keeper{}", i + 1),
            display_name: "店主".into(),
            password: PASSWORD.into(),
            role: Role::StationKeeper,
            carrier: None,
            station_ids: vec![station.id],
        })
        .await
        .unwrap();
        let waybill = format!("7312345678{:02}", i + 10);
        let outcome = app
            .inbound(
                &testkit::admin(),
                station.id,
                InboundScan {
                    carrier: Carrier::Zto,
                    waybill: WaybillNo::parse(&waybill).unwrap(),
                    recipient_name: Some("张三".into()),
                    phone: Some(Phone::parse("13812345678").unwrap()),
                    size: SizeClass::Small,
                    consent: Some(true),
                },
            )
            .await
            .unwrap();
        parcels.push((outcome.parcel_id, outcome.pickup_code.unwrap(), waybill));
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
        stations,
        parcels,
        _database: database,
    }
}

async fn signed_in(w: &World, username: &str) -> (reqwest::Client, String) {
    let client = browser();
    let page = client
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
            ("username", username),
            ("password", PASSWORD),
            ("csrf", &csrf_of(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signed in");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("yz_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let home = client
        .get(format!("{}/console/s/{}", w.base, w.stations[0]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&home);
    (client, csrf)
}

#[tokio::test]
async fn sign_in_needs_the_forms_own_csrf_token_and_the_right_password() {
    let w = world().await;
    let client = browser();
    client
        .get(format!("{}/console/login", w.base))
        .send()
        .await
        .unwrap();
    let forged = client
        .post(format!("{}/console/login", w.base))
        .form(&[
            ("username", "keeper1"),
            ("password", PASSWORD),
            ("csrf", "00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let page = client
        .get(format!("{}/console/login", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let wrong = client
        .post(format!("{}/console/login", w.base))
        .form(&[
            ("username", "keeper1"),
            ("password", "wrong password"),
            ("csrf", &csrf_of(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("用户名或密码不正确"));
    // Without a session every console page sends you to sign in.
    let anonymous = browser()
        .get(format!("{}/console/s/{}", w.base, w.stations[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/console/login");
}

#[tokio::test]
async fn a_keeper_sees_and_changes_only_their_own_station() {
    let w = world().await;
    let (client, csrf) = signed_in(&w, "keeper1").await;
    let [mine, theirs] = w.stations;
    for path in [
        format!("/console/s/{theirs}"),
        format!("/console/s/{theirs}/inbound"),
        format!("/console/s/{theirs}/shelves"),
        format!("/console/s/{theirs}/search?q=5678"),
        format!("/console/s/{theirs}/returns"),
        format!("/console/s/{theirs}/label/{}", w.parcels[1].0),
        format!("/console/s/{mine}/label/{}", w.parcels[1].0),
    ] {
        let status = client
            .get(format!("{}{path}", w.base))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status == 403 || status == 404, "{path}: {status}");
    }
    // Handing out the other station's parcel through my station's URL.
    let crafted = client
        .post(format!(
            "{}/console/s/{mine}/parcels/{}/handout",
            w.base, w.parcels[1].0
        ))
        .form(&[("csrf", csrf.as_str()), ("shown", "id_card")])
        .send()
        .await
        .unwrap();
    assert_eq!(crafted.status(), 404);
    // My own parcel, but the form lacks the session's token.
    let no_csrf = client
        .post(format!(
            "{}/console/s/{mine}/parcels/{}/handout",
            w.base, w.parcels[0].0
        ))
        .form(&[
            ("csrf", "0123456789abcdef0123456789abcdef"),
            ("shown", "id_card"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let parcel = w.app.store.parcel(w.parcels[0].0).await.unwrap().unwrap();
    assert_eq!(parcel.state, domain::ParcelState::Stored, "nothing changed");
    // With the token it works, and is recorded as staff-assisted.
    let done = client
        .post(format!(
            "{}/console/s/{mine}/parcels/{}/handout",
            w.base, w.parcels[0].0
        ))
        .form(&[("csrf", csrf.as_str()), ("shown", "id_card")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let events = w.app.store.events(w.parcels[0].0).await.unwrap();
    assert_eq!(events.last().unwrap().details["proof"], "staff_assisted");
}

#[tokio::test]
async fn search_results_show_masked_phones_only() {
    let w = world().await;
    let (client, _) = signed_in(&w, "keeper1").await;
    let page = client
        .get(format!(
            "{}/console/s/{}/search?q=5678",
            w.base, w.stations[0]
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&w.parcels[0].2), "the parcel is found");
    assert!(!page.contains("13812345678"), "no whole phone number");
    assert!(page.contains("138****5678"), "the masked number");
}

#[tokio::test]
async fn inbound_by_the_scanner_screen_answers_json_for_the_script() {
    let w = world().await;
    let (client, csrf) = signed_in(&w, "keeper1").await;
    let post = |waybill: &'static str| {
        client
            .post(format!("{}/console/s/{}/inbound", w.base, w.stations[0]))
            .header("accept", "application/json")
            .form(&[
                ("csrf", csrf.as_str()),
                ("carrier", "ZTO"),
                ("waybill", waybill),
                ("phone", "13900001111"),
                ("size", "small"),
            ])
            .send()
    };
    let first: serde_json::Value = post("731234567899").await.unwrap().json().await.unwrap();
    let again: serde_json::Value = post("731234567899").await.unwrap().json().await.unwrap();
    let bad: serde_json::Value = post("??").await.unwrap().json().await.unwrap();
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["code"], first["code"]);
    assert_eq!(bad["status"], "error");
    assert!(bad["message"].as_str().unwrap().len() > 5, "{bad}");
    assert!(
        matches!(first["status"].as_str(), Some("stored" | "awaiting")),
        "{first}"
    );
    // Refusals read in the page's language, never in the parser's English.
    let message = bad["message"].as_str().unwrap();
    assert!(message.contains("运单号"), "{bad}");
    assert!(!message.chars().any(|c| c.is_ascii_alphabetic()), "{bad}");
}

/// A row the shelving rules refuse shows the Chinese reason for its code
/// on the scanner screen (and on the page without the script), English
/// only for a browser that chose English.
#[tokio::test]
async fn a_refused_inbound_row_says_why_in_the_pages_language() {
    let w = world().await;
    let (client, csrf) = signed_in(&w, "keeper1").await;
    // The stations have small slots only: a large parcel is refused.
    let scan = |accept: &'static str| {
        client
            .post(format!("{}/console/s/{}/inbound", w.base, w.stations[0]))
            .header("accept", accept)
            .form(&[
                ("csrf", csrf.as_str()),
                ("carrier", "ZTO"),
                ("waybill", "731234567801"),
                ("phone", "13900001111"),
                ("size", "large"),
            ])
            .send()
    };
    let refused: serde_json::Value = scan("application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["status"], "error", "{refused}");
    assert_eq!(
        refused["message"], "驿站已没有能放大件的空格口",
        "{refused}"
    );
    let page = scan("text/html").await.unwrap().text().await.unwrap();
    assert!(page.contains("驿站已没有能放大件的空格口"), "{page}");
    assert!(!page.contains("no free slot"), "{page}");
    client
        .get(format!("{}/lang/en", w.base))
        .send()
        .await
        .unwrap();
    let english = client
        .post(format!("{}/console/s/{}/inbound", w.base, w.stations[0]))
        .header("accept", "application/json")
        .form(&[
            ("csrf", csrf.as_str()),
            ("carrier", "ZTO"),
            ("waybill", "731234567801"),
            ("size", "large"),
        ])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        english["message"], "the station has no free slot for a large parcel",
        "{english}"
    );
}

#[tokio::test]
async fn a_paired_terminal_serves_pickups_and_nothing_else() {
    let w = world().await;
    let (client, csrf) = signed_in(&w, "keeper1").await;
    // Unpaired, the terminal API refuses.
    let unpaired = browser()
        .post(format!("{}/terminal/api/code", w.base))
        .json(&serde_json::json!({"code": w.parcels[0].1, "phone_tail": "5678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unpaired.status(), 401);
    let paired = client
        .post(format!("{}/console/s/{}/terminal", w.base, w.stations[0]))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(paired.status(), 303);
    assert_eq!(paired.headers()["location"], "/terminal");
    // The keeper's session is gone from this browser.
    let console = client
        .get(format!("{}/console/s/{}", w.base, w.stations[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), 303);
    let page = client
        .get(format!("{}/terminal", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("data-csrf=\"").unwrap() + 11;
    let terminal_csrf = &page[start..start + 32];
    let forged = client
        .post(format!("{}/terminal/api/code", w.base))
        .json(&serde_json::json!({"code": w.parcels[0].1, "phone_tail": "5678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "no CSRF header");
    // The code alone opens nothing: the terminal asks for the phone tail.
    let alone = client
        .post(format!("{}/terminal/api/code", w.base))
        .header("x-csrf-token", terminal_csrf)
        .json(&serde_json::json!({"code": w.parcels[0].1}))
        .send()
        .await
        .unwrap();
    assert_eq!(alone.status(), 422);
    let alone: serde_json::Value = alone.json().await.unwrap();
    assert_eq!(
        (&alone["error"]["code"], &alone["error"]["message"]),
        (
            &serde_json::json!("pickup_entry_invalid"),
            &serde_json::json!("请输入短信中的取件码和手机号后 4 位")
        ),
        "{alone}"
    );
    let opened: serde_json::Value = client
        .post(format!("{}/terminal/api/code", w.base))
        .header("x-csrf-token", terminal_csrf)
        .json(&serde_json::json!({"code": w.parcels[0].1, "phone_tail": "5678"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(opened["items"].as_array().unwrap().len(), 1);
    let text = opened.to_string();
    assert!(
        !text.contains("13812345678") && !text.contains("张三"),
        "no personal data: {text}"
    );
    let scanned: serde_json::Value = client
        .post(format!("{}/terminal/api/scan", w.base))
        .header("x-csrf-token", terminal_csrf)
        .json(&serde_json::json!({"session_id": opened["id"], "text": w.parcels[0].2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scanned["outcome"], "taken");
    assert_eq!(scanned["session"]["state"], "done");
}

/// A paired terminal in a browser; returns the client and its CSRF token.
async fn paired_terminal(w: &World) -> (reqwest::Client, String) {
    let (client, csrf) = signed_in(w, "keeper1").await;
    let paired = client
        .post(format!("{}/console/s/{}/terminal", w.base, w.stations[0]))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(paired.status(), 303);
    let page = client
        .get(format!("{}/terminal", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("data-csrf=\"").unwrap() + 11;
    let csrf = page[start..start + 32].to_string();
    (client, csrf)
}

/// The terminal answers each refusal with its own code and the message for
/// it: a wrong code is a wrong code, and only when every light colour is
/// taken does a customer hear that it is busy.
#[tokio::test]
async fn the_terminal_shows_the_message_of_the_actual_code() {
    let w = world().await;
    let admin = testkit::admin();
    // Nine more recipients, each with a parcel: one more than there are
    // light colours, with the world's own parcel.
    let mut codes = vec![(w.parcels[0].1.clone(), "5678".to_string())];
    for i in 0..domain::terminal::PICKUP_COLOURS.len() {
        let outcome = w
            .app
            .inbound(
                &admin,
                w.stations[0],
                InboundScan {
                    carrier: Carrier::Zto,
                    waybill: WaybillNo::parse(&format!("73123450{i:04}")).unwrap(),
                    recipient_name: None,
                    phone: Some(Phone::parse(&format!("1390000{i:04}")).unwrap()),
                    size: SizeClass::Small,
                    consent: Some(true),
                },
            )
            .await
            .unwrap();
        codes.push((outcome.pickup_code.unwrap(), format!("{i:04}")));
    }
    let (client, csrf) = paired_terminal(&w).await;
    let enter = |(code, tail): (String, String)| {
        client
            .post(format!("{}/terminal/api/code", w.base))
            .header("x-csrf-token", csrf.as_str())
            .json(&serde_json::json!({"code": code, "phone_tail": tail}))
            .send()
    };
    let wrong = enter(("Z-9-000001".into(), "0001".into())).await.unwrap();
    assert_eq!(wrong.status(), 404);
    let wrong: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(
        (&wrong["error"]["code"], &wrong["error"]["message"]),
        (
            &serde_json::json!("pickup_code_wrong"),
            &serde_json::json!("取件码或手机尾号不正确，请核对短信")
        ),
        "{wrong}"
    );
    let last = codes.pop().unwrap();
    for code in codes {
        let opened = enter(code).await.unwrap();
        assert_eq!(opened.status(), 200);
    }
    let busy = enter(last).await.unwrap();
    assert_eq!(busy.status(), 409);
    let busy: serde_json::Value = busy.json().await.unwrap();
    assert_eq!(busy["error"]["code"], "colours_exhausted", "{busy}");
    assert_eq!(
        busy["error"]["message"], "取件人较多，灯光颜色已全部占用，请稍等片刻",
        "{busy}"
    );
    // The script shows the server's message as it is, for every code.
    let script = client
        .get(format!("{}/static/terminal.js", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(script.contains("error.message || S[\"error.title\"]"));
    assert!(
        !script.contains("\"conflict\""),
        "no code is read as another"
    );
}

#[tokio::test]
async fn the_qr_page_shows_a_code_only_for_a_genuine_token() {
    let w = world().await;
    let claim = app::qr::QrClaim {
        station_id: w.stations[0],
        parcel_id: w.parcels[0].0,
        expires_at: w.app.now() + chrono::Duration::days(3),
    };
    let genuine = app::qr::sign(&w.app.secrets.qr_key, claim);
    let forged = app::qr::sign(b"guess", claim);
    let page = browser()
        .get(format!("{}/q/{genuine}", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("石桥村驿站"));
    assert!(!html.contains("13812345678") && !html.contains("张三"));
    let refused = browser()
        .get(format!("{}/q/{forged}", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    assert!(!refused.text().await.unwrap().contains("<svg"));
}

/// Issue 11, finding 12: the content security policy (`server::CONTENT_SECURITY_POLICY`)
/// allows scripts only from our own files. An inline event handler, a
/// `javascript:` link or an inline script in a template would stop working
/// under it, so none may be there (a JSON data block is not a script).
#[test]
fn templates_carry_no_inline_script() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    // ` onclick=`, ` onload =`…: a space, "on", letters, "=".
    let has_handler = |text: &str| {
        let lower = text.to_ascii_lowercase();
        lower.match_indices(" on").any(|(at, _)| {
            let rest = &lower[at + 3..];
            let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            letters > 0 && rest[letters..].trim_start().starts_with('=')
        })
    };
    let mut checked = 0;
    // Every template, area folders (`centre/`, …) included.
    let mut paths = Vec::new();
    let mut dirs = vec![dir.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                paths.push(path);
            }
        }
    }
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display();
        assert!(!has_handler(&text), "{name}: an inline event handler");
        assert!(
            !text.to_ascii_lowercase().contains("javascript:"),
            "{name}: a javascript: link"
        );
        for tag in text.split("<script").skip(1) {
            let attributes = tag.split('>').next().unwrap_or_default();
            assert!(
                attributes.contains("src=") || attributes.contains("application/json"),
                "{name}: an inline script <script{attributes}>"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} templates found in {}",
        dir.display()
    );
}

#[tokio::test]
async fn too_many_wrong_passwords_show_when_to_try_again_on_the_sign_in_page() {
    let w = world().await;
    let client = browser();
    let page = client
        .get(format!("{}/console/login", w.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let attempt = |password: &'static str| {
        client
            .post(format!("{}/console/login", w.base))
            .form(&[
                ("username", "keeper1"),
                ("password", password),
                ("csrf", csrf.as_str()),
            ])
            .send()
    };
    for _ in 0..domain::terminal::ThrottlePolicy::sign_in().free_failures {
        let wrong = attempt("not the password").await.unwrap();
        assert_eq!(wrong.status(), 401);
        assert!(wrong.text().await.unwrap().contains("login-error"));
    }
    let waiting = attempt(PASSWORD).await.unwrap();
    assert_eq!(waiting.status(), 429);
    assert!(waiting.headers().contains_key("retry-after"));
    let html = waiting.text().await.unwrap();
    assert!(
        html.contains("id=\"login-wait\"") && html.contains("密码错误次数过多，请于"),
        "{html}"
    );
    assert!(
        html.contains("name=\"csrf\""),
        "the form is there to try again"
    );
}

/// Signs in a user whose sign-in leads elsewhere than the console; the
/// client, and where the sign-in led.
async fn signed_in_to(w: &World, username: &str) -> (reqwest::Client, String) {
    let client = browser();
    let page = client
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
            ("username", username),
            ("password", PASSWORD),
            ("csrf", &csrf_of(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signed in");
    let to = response.headers()["location"].to_str().unwrap().to_string();
    (client, to)
}

async fn page(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Issue 12: the compliance officer and the auditor are led to the
/// compliance page, not the keeper's console; the officer runs the checks
/// and follows a finding up; the auditor reads the same and changes nothing.
#[tokio::test]
async fn the_compliance_page_serves_the_officer_and_the_auditor_not_the_console() {
    let w = world().await;
    for (username, role) in [
        ("officer", Role::ComplianceOfficer),
        ("auditor", Role::Auditor),
    ] {
        w.app
            .create_user(NewUser {
                username: username.into(),
                display_name: username.into(),
                password: PASSWORD.into(),
                role,
                carrier: None,
                station_ids: vec![],
            })
            .await
            .unwrap();
    }
    // A breach: more whole phones revealed in a day than the threshold.
    let mut keeper = testkit::keeper_of(w.stations[0]);
    keeper.user_id = 1;
    // Planted around the maker–checker gate, as the demo plants it.
    let mut ungated = w.app.clone();
    ungated.settings.approvals = domain::approval::Thresholds::off();
    for _ in 0..=domain::compliance::Thresholds::default().phone_reveals_per_day {
        ungated.parcel_phone(&keeper, w.parcels[0].0).await.unwrap();
    }

    let (officer, to) = signed_in_to(&w, "officer").await;
    assert_eq!(to, "/compliance");
    let console = officer
        .get(format!("{}/console", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), 303);
    assert_eq!(
        console.headers()["location"],
        "/compliance",
        "not the keeper's console"
    );
    let (status, html) = page(&officer, format!("{}/compliance", w.base)).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("合规管理") && html.contains("审计链完整"),
        "{html}"
    );
    assert!(
        html.contains("查看完整手机号"),
        "the trail shows the reveals: {html}"
    );
    assert!(!html.contains("13812345678"), "no whole phone on the page");
    let csrf = csrf_of(&html);
    let ran = officer
        .post(format!("{}/compliance/run", w.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(ran.status(), 303);
    assert_eq!(ran.headers()["location"], "/compliance?ran=1");
    let (_, html) = page(&officer, format!("{}/compliance?status=open", w.base)).await;
    assert!(html.contains("单日查看完整手机号次数超限"), "{html}");
    let finding = w.app.findings(&testkit::admin(), None).await.unwrap()[0].id;
    let url = format!("{}/compliance/findings/{finding}", w.base);
    let (_, html) = page(&officer, url.clone()).await;
    assert!(
        html.contains("reveals_24h") && html.contains("name=\"note\""),
        "{html}"
    );
    let saved = officer
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("status", "explained"),
            ("responsible", ""),
            ("note", "店主说明：逐一回电核实包裹"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let (_, html) = page(&officer, url.clone()).await;
    assert!(
        html.contains("已说明") && html.contains("逐一回电核实包裹"),
        "{html}"
    );
    // A form without the session's token changes nothing.
    let forged = officer
        .post(&url)
        .form(&[("csrf", "00"), ("status", "fixed")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let (auditor, to) = signed_in_to(&w, "auditor").await;
    assert_eq!(to, "/compliance");
    let (status, html) = page(&auditor, format!("{}/compliance", w.base)).await;
    assert_eq!(status, 200);
    assert!(html.contains("单日查看完整手机号次数超限") && html.contains("审计链完整"));
    assert!(
        !html.contains("/compliance/run"),
        "the auditor runs nothing"
    );
    let (_, html) = page(&auditor, url.clone()).await;
    assert!(
        html.contains("逐一回电核实包裹") && !html.contains("name=\"note\""),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let refused = auditor
        .post(format!("{}/compliance/run", w.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let refused = auditor
        .post(&url)
        .form(&[("csrf", csrf.as_str()), ("status", "fixed")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    // A keeper is sent back to the console; English is a cookie away.
    let (keeper_browser, _) = signed_in(&w, "keeper1").await;
    let away = keeper_browser
        .get(format!("{}/compliance", w.base))
        .send()
        .await
        .unwrap();
    assert_eq!(away.headers()["location"], "/console");
    auditor
        .get(format!("{}/lang/en", w.base))
        .send()
        .await
        .unwrap();
    let (_, html) = page(&auditor, format!("{}/compliance", w.base)).await;
    assert!(
        html.contains("Compliance") && html.contains("Chain intact"),
        "{html}"
    );
}

/// What a page must answer one role.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// The page itself (200).
    Page,
    /// Sent elsewhere (303) to a path starting with this.
    To(&'static str),
    /// Refused (403 or 404): the object is not theirs.
    Refused,
}

/// The pages' authorisation matrix (issue 13): every page, every role.
/// A new page adds its row here; `{s1}`/`{s2}` are the two stations, the
/// first keeper's and the second's. `docs/security.md` mirrors this table.
#[rustfmt::skip]
const PAGES: &[(&str, [Want; 7])] = {
    use Want::*;
    // admin, operator, keeper1 (station s1), keeper2, officer, auditor, zto
    &[
        ("/console", [Page, Page, To("/console/s/"), To("/console/s/"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/console/s/{s1}", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/console/s/{s1}/search", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        // Branch centre-ops: the belt side of the centre (bag labels and
        // handover lists are in tests/centre.rs, which makes the bags).
        ("/centre/arrival", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/manual", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/bags", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/compliance", [Page, To("/centre"), To("/console"), To("/console"), Page, Page, To("/carrier")]),
        // The carrier portal (branch `carrier`): a carrier's staff only;
        // everyone else goes to their own workplace.
        ("/carrier", [To("/console"), To("/centre"), To("/console"), To("/console"), To("/compliance"), To("/compliance"), Page]),
        ("/carrier/manifest", [To("/console"), To("/centre"), To("/console"), To("/console"), To("/compliance"), To("/compliance"), Page]),
        ("/carrier/reports", [To("/console"), To("/centre"), To("/console"), To("/console"), To("/compliance"), To("/compliance"), Page]),
        ("/carrier/webhooks", [To("/console"), To("/centre"), To("/console"), To("/console"), To("/compliance"), To("/compliance"), Page]),
        ("/carrier/tokens", [To("/console"), To("/centre"), To("/console"), To("/console"), To("/compliance"), To("/compliance"), Page]),
        // Everyone sees their own requests; checkers decide others'.
        ("/approvals", [Page, Page, Page, Page, Page, Page, Page]),
        // Everyone with a password changes their own (tests/account.rs).
        ("/account/password", [Page, Page, Page, Page, Page, Page, Page]),
        // The centre's office pages (branch centre-office).
        ("/centre/agreements", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/agreements?carrier=SF&day=2026-12-01", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/reports", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/reports/fees.xlsx?carrier=ZTO", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/dispatch", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/sort", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        // Branch `station`: the console's new pages ({p1} is station s1's
        // parcel) and the favicon everyone may fetch.
        ("/console/s/{s1}/pending", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/console/s/{s1}/problems", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/console/s/{s1}/returns", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/console/s/{s1}/returns/print", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/console/s/{s1}/parcels/{p1}", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/console/s/{s1}/export/problems", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/console/s/{s1}/export/returns", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/favicon.svg", [Page, Page, Page, Page, Page, Page, Page]),
        // Branch board (issue 16): the county board and the daily report.
        ("/board", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/board/data", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/board/board.xlsx", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/board/daily", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/board/economics", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/board/daily.xlsx", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        // Branch `money`: the finance workplace (county staff and the administrator).
        ("/finance", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/finance/accounts/co_delivery_revenue", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/finance/debtors/ZTO", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/finance/receipts", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/carrier/statements", [To("/console"), To("/centre"), To("/console"), To("/console"), To("/compliance"), To("/compliance"), Page]),
        // Branch `vehicles` (issue 20): the dispatcher's and safety operator's page.
        ("/fleet", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        // Branch `fleet-ops` (issue 20): vehicles handing over at the station.
        ("/console/s/{s1}/vehicles", [Page, Page, Page, Refused, To("/compliance"), To("/compliance"), To("/carrier")]),
        // Branch `send-page` (issue 14): a sending order's label (no such order
        // here, so staff get 404; the page itself is in tests/send.rs).
        ("/centre/send/orders/999999/label", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/send/orders/999999/label.zpl", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        // Branch `send-flow` (issue 14): the centre's sending orders; the
        // sender's pages (/send) answer staff with the sender's sign-in, a
        // session of its own (their flow is in tests/sender.rs).
        ("/centre/send", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/send/orders/999999", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/send", [To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login")]),
        ("/send/login", [Page, Page, Page, Page, Page, Page, Page]),
        ("/send/new", [To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login")]),
        ("/send/orders/1", [To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login")]),
        ("/send/orders/1/label", [To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login"), To("/send/login")]),
        // Branch `kiosks` (issue 14): the kiosk fleet, its daily report and
        // collection (no such kiosk or run here: staff get 404).
        ("/centre/kiosks", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/kiosks/999999", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/kiosks/report?day=2026-12-01", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/kiosks/report.xlsx?day=2026-12-01", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/collect", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/collect/999999", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        // The sorting hub's board (issue 16, point 4).
        ("/centre/hub", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/hub?day=2026-12-01", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/hub/hub.xlsx?day=2026-12-01", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        // Branch `presale` (issue 14): community pre-sale campaigns (no such
        // campaign here: staff get 404).
        ("/centre/presale", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/presale/999999", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/centre/presale/999999/report.xlsx", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        // Branch kiosk-dev (issue 14, session 10): the kiosk's screen is a
        // device session of its own; a staff browser is no paired screen and
        // sees the "not paired" page (its order pages refuse).
        ("/kiosk", [Page, Page, Page, Page, Page, Page, Page]),
        // Branch `money2` (issue 15, session 10): collection plans (no such
        // plan here: staff get 404).
        ("/finance/plans", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/finance/plans/999999", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/finance/plans/999999/plan.xlsx", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/finance/exposure", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        // Branch `vehicles2` (issue 20): missions from the plan (no such
        // mission here: staff get 404; the flow is in tests/fleet_missions.rs).
        ("/fleet/missions", [Page, Page, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
        ("/fleet/missions/999999", [Refused, Refused, To("/console"), To("/console"), To("/compliance"), To("/compliance"), To("/carrier")]),
    ]
};

#[tokio::test]
async fn every_page_serves_only_its_roles() {
    let w = world().await;
    let users = [
        ("admin", Role::Admin, None),
        ("operator", Role::CountyOperator, None),
        ("officer", Role::ComplianceOfficer, None),
        ("auditor", Role::Auditor, None),
        ("zto", Role::CarrierIntegrator, Some(Carrier::Zto)),
    ];
    for (username, role, carrier) in users {
        w.app
            .create_user(NewUser {
                username: username.into(),
                display_name: username.into(),
                password: PASSWORD.into(),
                role,
                carrier,
                station_ids: vec![],
            })
            .await
            .unwrap();
    }
    let order = [
        "admin", "operator", "keeper1", "keeper2", "officer", "auditor", "zto",
    ];
    let mut sessions = Vec::new();
    for username in order {
        // Straight from the use case: the sign-in form refuses some roles,
        // and a stolen or leftover cookie must meet the same walls.
        let (token, _) = w.app.sign_in(username, PASSWORD, "matrix").await.unwrap();
        sessions.push(token);
    }
    let client = browser();
    let mut wrong = Vec::new();
    for (path, wants) in PAGES {
        let path = path
            .replace("{s1}", &w.stations[0].to_string())
            .replace("{s2}", &w.stations[1].to_string())
            .replace("{p1}", &w.parcels[0].0.to_string());
        for ((username, token), want) in order.iter().zip(&sessions).zip(wants) {
            let response = client
                .get(format!("{}{path}", w.base))
                .header("cookie", format!("yz_session={token}"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let fine = match want {
                Want::Page => status == 200,
                Want::To(prefix) => status == 303 && location.starts_with(prefix),
                Want::Refused => status == 403 || status == 404,
            };
            if !fine {
                wrong.push(format!(
                    "{path} as {username}: wanted {want:?}, got {status} {location}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Maker–checker in the browser (issue 12): an operator's long export is
/// refused and filed; the maker cannot approve it on the page, a second
/// operator can; the maker's list then shows it approved and the export
/// goes through.
#[tokio::test]
async fn a_second_operator_approves_a_bulk_export_on_the_approvals_page() {
    let w = world().await;
    let mut ids = Vec::new();
    for username in ["maker", "checker"] {
        ids.push(
            w.app
                .create_user(NewUser {
                    username: username.into(),
                    display_name: username.into(),
                    password: PASSWORD.into(),
                    role: Role::CountyOperator,
                    carrier: None,
                    station_ids: vec![],
                })
                .await
                .unwrap(),
        );
    }
    let maker = domain::Principal {
        user_id: ids[0],
        username: "maker".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    };
    let from = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let to = from + chrono::Duration::days(90);
    let refused = w.app.reconcile(&maker, Carrier::Zto, from, to).await;
    assert!(
        matches!(refused, Err(ref e) if e.is(app::Code::ApprovalRequired)),
        "{refused:?}"
    );
    let (maker_client, _) = signed_in_to(&w, "maker").await;
    let (status, mine) = page(&maker_client, format!("{}/approvals", w.base)).await;
    assert_eq!(status, 200);
    assert!(
        mine.contains("对账 · 中通") && mine.contains("待审批"),
        "{mine}"
    );
    let id: i64 = {
        let at = mine.find("<td>").unwrap() + 4;
        mine[at..mine[at..].find('<').unwrap() + at]
            .parse()
            .unwrap()
    };
    // The maker's own page offers no decision, and a forged one is refused.
    assert!(!mine.contains("/decide"), "no approve button for one's own");
    let forged = maker_client
        .post(format!("{}/approvals/{id}/decide", w.base))
        .form(&[("csrf", csrf_of(&mine).as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let forged_page = forged.text().await.unwrap();
    assert!(forged_page.contains("不能审批自己"), "{forged_page}");

    let (checker_client, _) = signed_in_to(&w, "checker").await;
    let (_, waiting) = page(&checker_client, format!("{}/approvals", w.base)).await;
    assert!(
        waiting.contains(&format!("/approvals/{id}/decide")),
        "{waiting}"
    );
    // Without the session's CSRF token: refused.
    let no_csrf = checker_client
        .post(format!("{}/approvals/{id}/decide", w.base))
        .form(&[("csrf", "00"), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let approved = checker_client
        .post(format!("{}/approvals/{id}/decide", w.base))
        .form(&[
            ("csrf", csrf_of(&waiting).as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 303);
    let (_, mine) = page(&maker_client, format!("{}/approvals", w.base)).await;
    assert!(
        mine.contains("已批准") && mine.contains("checker"),
        "{mine}"
    );
    w.app
        .reconcile(&maker, Carrier::Zto, from, to)
        .await
        .unwrap();
}

/// The static scripts and styles are whole: a merge that drops a closing
/// brace leaves a script that never runs (the scanner screen silently
/// falls back to page loads) or a style block that swallows the rest.
/// Brace balance is a cheap check that would have caught both.
#[test]
fn static_scripts_and_styles_have_balanced_braces() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "js" && ext != "css" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (open, close) in [('{', '}'), ('(', ')')] {
            assert_eq!(
                text.matches(open).count(),
                text.matches(close).count(),
                "{}: unbalanced {open}{close}",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} static files found");
}

/// The shared test support signs every role in through the form and lands
/// where `web::home_for` says, with a CSRF token for that workplace's forms.
#[tokio::test]
async fn every_role_signs_in_through_the_form_and_lands_at_its_home() {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
    let station = support::station(&app, "石桥村驿站").await;
    support::user(&app, "op", Role::CountyOperator, None, &[]).await;
    support::user(&app, "k", Role::StationKeeper, None, &[station]).await;
    support::user(
        &app,
        "zto",
        Role::CarrierIntegrator,
        Some(Carrier::Zto),
        &[],
    )
    .await;
    support::user(&app, "officer", Role::ComplianceOfficer, None, &[]).await;
    let site = support::Site::serve(app, database).await;
    for (username, home) in [
        ("op", "/centre".to_string()),
        ("k", format!("/console/s/{station}")),
        ("zto", "/carrier".to_string()),
        ("officer", "/compliance".to_string()),
    ] {
        let session = site.sign_in(username).await;
        assert_eq!(session.home, home, "{username}");
        assert_eq!(session.csrf.len(), 32);
        let (status, _) = session.get(&home).await;
        assert_eq!(status, 200, "{username} at {home}");
    }
}

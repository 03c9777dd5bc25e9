//! The carrier portal over real HTTP, on SQLite and PostgreSQL: a carrier's
//! user sees only its own parcels and never a code, phone or name; a
//! manifest with bad rows keeps the good ones and names the bad by line;
//! another carrier's webhook or token id is refused; forms need the
//! session's CSRF token; tokens are shown once, listed and revoked.

use app::App;
use app::auth::NewUser;
use app::inbound::InboundScan;
use app::ports::{NewStation, ParcelFilter, SystemClock};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Phone, Role, WaybillNo};
use reqwest::redirect::Policy;
use std::sync::Arc;
use testkit::TestDatabase;

const PASSWORD: &str = "correct horse battery";

struct World {
    base: String,
    app: App,
    /// The ZTO parcel stored at the station: (waybill, pickup code).
    zto_parcel: (String, String),
    /// The YTO parcel stored at the station.
    yto_waybill: String,
    database: TestDatabase,
}

/// One station, a ZTO and a YTO parcel stored there with a phone and a
/// name, and a user of each carrier (`zto`, `yto`).
async fn world(database: TestDatabase) -> World {
    let mut app = App::new(database.db.clone(), Arc::new(SystemClock));
    app.use_keys(database.db.keys().clone());
    let station = app
        .store
        .create_station(
            &NewStation {
                name: "石桥村驿站".into(),
                township: "石桥镇".into(),
                division_code: None,
                location: None,
                code_format: CodeFormat::default(),
                holding: HoldingPolicy::default(),
                slots: lay_out(&[ShelfSpec {
                    label: "A".into(),
                    tiers: 2,
                    slots_per_tier: 5,
                    size: SizeClass::Small,
                    slot_capacity: 2,
                }])
                .unwrap(),
            },
            app.now(),
        )
        .await
        .unwrap();
    let mut stored = Vec::new();
    for (carrier, waybill) in [
        (Carrier::Zto, "731234567801"),
        (Carrier::Yto, "YT1234567890123"),
    ] {
        let outcome = app
            .inbound(
                &testkit::admin(),
                station.id,
                InboundScan {
                    carrier,
                    waybill: WaybillNo::parse(waybill).unwrap(),
                    recipient_name: Some("张三丰".into()),
                    phone: Some(Phone::parse("13900007777").unwrap()),
                    size: SizeClass::Small,
                    consent: Some(true),
                },
            )
            .await
            .unwrap();
        stored.push((waybill.to_string(), outcome.pickup_code.unwrap()));
    }
    for (username, carrier) in [("zto", Carrier::Zto), ("yto", Carrier::Yto)] {
        app.create_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password: PASSWORD.into(),
            role: Role::CarrierIntegrator,
            carrier: Some(carrier),
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
        zto_parcel: stored[0].clone(),
        yto_waybill: stored[1].0.clone(),
        database,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token in a page's first form.
fn csrf_of(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[start..start + 32].to_string()
}

/// Signs in through the console's sign-in form, which leads a carrier's
/// user to the portal.
async fn signed_in(w: &World, username: &str) -> reqwest::Client {
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
    assert_eq!(response.headers()["location"], "/carrier");
    client
}

async fn get(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn post(client: &reqwest::Client, url: String, form: &[(&str, &str)]) -> (u16, String) {
    let response = client.post(url).form(form).send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (status, location.unwrap_or(response.text().await.unwrap()))
}

#[tokio::test]
async fn a_carrier_sees_only_its_own_parcels_and_no_code_phone_or_name() {
    for database in testkit::databases().await {
        let w = world(database).await;
        let zto = signed_in(&w, "zto").await;
        let (status, html) = get(&zto, format!("{}/carrier", w.base)).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains(&w.zto_parcel.0), "its parcel: {html}");
        assert!(!html.contains(&w.yto_waybill), "not another carrier's");
        for secret in [w.zto_parcel.1.as_str(), "7777", "139****", "张三丰", "A-1-"] {
            assert!(!html.contains(secret), "{secret} shown: {html}");
        }
        assert!(html.contains("快递公司平台"), "Chinese first");
        // Search by waybill, by state and by day.
        let (_, found) = get(
            &zto,
            format!("{}/carrier?waybill={}", w.base, w.zto_parcel.0),
        )
        .await;
        assert!(found.contains(&w.zto_parcel.0));
        let (_, other) = get(
            &zto,
            format!("{}/carrier?waybill={}", w.base, w.yto_waybill),
        )
        .await;
        assert!(!other.contains(&w.yto_waybill) || !other.contains("class=\"waybill\""));
        assert!(other.contains("id=\"nothing\""), "{other}");
        let (_, announced) = get(&zto, format!("{}/carrier?state=announced", w.base)).await;
        assert!(
            announced.contains("id=\"nothing\""),
            "the parcel is stored: {announced}"
        );
        let (_, stored) = get(&zto, format!("{}/carrier?state=stored", w.base)).await;
        assert!(stored.contains(&w.zto_parcel.0), "{stored}");
        let (_, old) = get(
            &zto,
            format!("{}/carrier?from=2020-01-01&to=2020-01-02", w.base),
        )
        .await;
        assert!(old.contains("id=\"nothing\""), "{old}");
        let (status, bad) = get(&zto, format!("{}/carrier?from=yesterday", w.base)).await;
        assert_eq!(status, 422, "{bad}");
        assert!(
            bad.contains("from") && bad.contains("2026-12-07"),
            "says how: {bad}"
        );
        // The reports page answers for its own carrier.
        let (status, reports) = get(&zto, format!("{}/carrier/reports", w.base)).await;
        assert_eq!(status, 200, "{reports}");
        assert!(reports.contains("id=\"reconciliation\""));
        let response = zto
            .get(format!("{}/carrier/reports/fees.csv", w.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("attachment")
        );
        assert!(response.text().await.unwrap().contains("amount_fen"));
        w.database.cleanup().await;
    }
}

#[tokio::test]
async fn an_upload_with_bad_rows_names_them_by_line_and_keeps_the_good_ones() {
    for database in testkit::databases().await {
        let w = world(database).await;
        let zto = signed_in(&w, "zto").await;
        let (_, page) = get(&zto, format!("{}/carrier/manifest", w.base)).await;
        let csrf = csrf_of(&page);
        let file = "waybill,recipient_name,phone,weight_grams\n\
                    731234567811,李四,13900001111,500\n\
                    not#a#waybill,王五,13900002222,\n\
                    731234567812,赵六,12345,\n\
                    731234567813,钱七,,1200\n";
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(file.as_bytes().to_vec())
                    .file_name("manifest.csv")
                    .mime_str("text/csv")
                    .unwrap(),
            );
        let response = zto
            .post(format!("{}/carrier/manifest", w.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains("id=\"n-announced\">2<"), "{html}");
        assert!(html.contains("id=\"n-refused\">2<"), "{html}");
        assert!(html.contains("<td class=\"line\">3</td>"), "line 3: {html}");
        assert!(html.contains("<td class=\"line\">4</td>"), "line 4: {html}");
        // The good rows are kept, as ZTO's.
        for waybill in ["731234567811", "731234567813"] {
            let found = w
                .app
                .store
                .parcels(&ParcelFilter {
                    waybill: Some(waybill.into()),
                    limit: 5,
                    ..ParcelFilter::default()
                })
                .await
                .unwrap();
            assert_eq!(found.len(), 1, "{waybill} kept");
            assert_eq!(found[0].carrier, Carrier::Zto);
        }
        // The refused rows download as a CSV that reads back as a manifest.
        let start = html
            .find("name=\"csv\" value=\"")
            .expect("the download form")
            + 18;
        let end = start + html[start..].find('"').unwrap();
        let carried = html[start..end]
            .replace("&#13;", "\r")
            .replace("&#10;", "\n")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        let response = zto
            .post(format!("{}/carrier/manifest/refused.csv", w.base))
            .form(&[("csrf", csrf.as_str()), ("csv", carried.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let csv = response.text().await.unwrap();
        assert!(csv.contains("line,reason,waybill"), "{csv}");
        assert!(csv.contains("3,") && csv.contains("not#a#waybill"), "{csv}");
        assert!(csv.contains("4,") && csv.contains("12345"), "{csv}");
        assert!(
            !csv.contains("731234567811"),
            "only the refused rows: {csv}"
        );
        // A damaged spreadsheet is refused with advice, and nothing else.
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"not a zip".to_vec()).file_name("m.xlsx"),
            );
        let response = zto
            .post(format!("{}/carrier/manifest", w.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
        assert!(response.text().await.unwrap().contains(".xlsx"));
        w.database.cleanup().await;
    }
}

#[tokio::test]
async fn another_carriers_webhook_or_token_is_refused() {
    for database in testkit::databases().await {
        let w = world(database).await;
        let (yto_token, yto) = w.app.sign_in("yto", PASSWORD, "test").await.unwrap();
        let _ = yto_token;
        let subscription = w
            .app
            .create_webhook(&yto, Carrier::Yto, "https://hooks.yto.example/in", &[])
            .await
            .unwrap()
            .subscription
            .id;
        let token = w
            .app
            .create_carrier_token(&yto, Carrier::Yto, "yto-sorter")
            .await
            .unwrap();
        let token_id = w.app.carrier_tokens(&yto, Carrier::Yto).await.unwrap()[0].id;
        let zto = signed_in(&w, "zto").await;
        let (_, page) = get(&zto, format!("{}/carrier/webhooks", w.base)).await;
        assert!(!page.contains("hooks.yto.example"), "not listed: {page}");
        let csrf = csrf_of(&page);
        let (status, _) = get(&zto, format!("{}/carrier/webhooks/{subscription}", w.base)).await;
        assert_eq!(status, 404, "another carrier's log");
        for (action, extra) in [("test", ""), ("active", "false"), ("rotate", "")] {
            let (status, body) = post(
                &zto,
                format!("{}/carrier/webhooks/{subscription}/{action}", w.base),
                &[("csrf", &csrf), ("active", extra)],
            )
            .await;
            assert_eq!(status, 404, "{action}: {body}");
        }
        let (_, tokens) = get(&zto, format!("{}/carrier/tokens", w.base)).await;
        assert!(!tokens.contains("yto-sorter"), "not listed: {tokens}");
        let (status, _) = post(
            &zto,
            format!("{}/carrier/tokens/{token_id}/revoke", w.base),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(status, 404);
        // Both still stand.
        assert!(w.app.authenticate(&token).await.is_ok());
        assert!(w.app.webhooks(&yto, Carrier::Yto).await.unwrap()[0].active);
        w.database.cleanup().await;
    }
}

#[tokio::test]
async fn portal_forms_need_the_sessions_csrf_token() {
    let w = world(testkit::sqlite_database().await).await;
    let zto = signed_in(&w, "zto").await;
    for (path, form) in [
        ("/carrier/tokens", vec![("name", "x")]),
        (
            "/carrier/webhooks",
            vec![("url", "https://hooks.zto.example/x")],
        ),
        ("/carrier/manifest/refused.csv", vec![("csv", "a,b")]),
        ("/carrier/logout", vec![]),
    ] {
        for csrf in [None, Some("00112233445566778899aabbccddeeff")] {
            let mut form = form.clone();
            if let Some(csrf) = csrf {
                form.push(("csrf", csrf));
            }
            let (status, body) = post(&zto, format!("{}{path}", w.base), &form).await;
            assert_eq!(status, 403, "{path} without a good token: {body}");
        }
    }
    let form = reqwest::multipart::Form::new()
        .text("csrf", "00112233445566778899aabbccddeeff")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"waybill\n731234567899\n".to_vec()).file_name("m.csv"),
        );
    let response = zto
        .post(format!("{}/carrier/manifest", w.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        w.app
            .carrier_tokens(&testkit::admin(), Carrier::Zto)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn tokens_are_shown_once_listed_with_last_use_and_revoked() {
    for database in testkit::databases().await {
        let w = world(database).await;
        let zto = signed_in(&w, "zto").await;
        let (_, page) = get(&zto, format!("{}/carrier/tokens", w.base)).await;
        assert!(page.contains("id=\"no-tokens\""));
        let csrf = csrf_of(&page);
        let (status, created) = post(
            &zto,
            format!("{}/carrier/tokens", w.base),
            &[("csrf", &csrf), ("name", "yto-sorter")],
        )
        .await;
        assert_eq!(status, 200);
        let start = created.find("id=\"token\">").unwrap() + 11;
        let token = created[start..start + 67].to_string();
        assert!(token.starts_with("yz_"), "{token}");
        assert!(created.contains("未使用"), "never used yet");
        // Shown once: the list does not show it again.
        let (_, listed) = get(&zto, format!("{}/carrier/tokens", w.base)).await;
        assert!(listed.contains("yto-sorter") && !listed.contains(&token));
        // Its use is seen.
        let principal = w.app.authenticate(&token).await.unwrap();
        assert_eq!(principal.carrier, Some(Carrier::Zto));
        let (_, used) = get(&zto, format!("{}/carrier/tokens", w.base)).await;
        assert!(!used.contains("未使用"), "last use shown: {used}");
        let id = w
            .app
            .carrier_tokens(&principal, Carrier::Zto)
            .await
            .unwrap()[0]
            .id;
        let (status, location) = post(
            &zto,
            format!("{}/carrier/tokens/{id}/revoke", w.base),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(
            (status, location.as_str()),
            (303, "/carrier/tokens?done=revoked")
        );
        assert!(w.app.authenticate(&token).await.is_err(), "revoked at once");
        // Both acts are in the audit trail.
        let trail = w
            .app
            .audit_trail(
                &testkit::admin(),
                app::ports::audit::AuditFilter {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let acts: Vec<&str> = trail.iter().map(|row| row.act.as_str()).collect();
        assert!(
            acts.contains(&"token_issued") && acts.contains(&"tokens_revoked"),
            "{acts:?}"
        );
        w.database.cleanup().await;
    }
}

//! The keeper's console without dead ends (issue 13, item 3), over real
//! HTTP against real SQLite: a parcel without a phone waits until the
//! keeper adds one; consent is recorded with what, how and when; problem
//! parcels are counted once and put back on a shelf; returns are confirmed;
//! the parcel page shows its history and reveals the phone only with an
//! audit row; exports are recorded; English pages name states and carriers
//! in English.

use app::App;
use app::auth::NewUser;
use app::inbound::InboundScan;
use app::ports::{NewStation, SystemClock};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, ParcelState, Phone, Role, WaybillNo};
use reqwest::redirect::Policy;
use std::sync::Arc;
use testkit::TestDatabase;

const PASSWORD: &str = "correct horse battery";

struct World {
    base: String,
    app: App,
    station: i64,
    client: reqwest::Client,
    csrf: String,
    _database: TestDatabase,
}

async fn world() -> World {
    let database = testkit::sqlite_database().await;
    let app = App::new(database.db.clone(), Arc::new(SystemClock));
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
                name: "石桥村驿站".into(),
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
        .unwrap()
        .id;
    app.create_user(NewUser {
        username: "keeper1".into(),
        display_name: "店主".into(),
        password: PASSWORD.into(),
        role: Role::StationKeeper,
        carrier: None,
        station_ids: vec![station],
    })
    .await
    .unwrap();
    let router = web::router(web::WebState {
        app: app.clone(),
        secure_cookies: false,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let login = client
        .get(format!("{base}/console/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signed = client
        .post(format!("{base}/console/login"))
        .form(&[
            ("username", "keeper1"),
            ("password", PASSWORD),
            ("csrf", &csrf_of(&login)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let home = client
        .get(format!("{base}/console/s/{station}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    World {
        csrf: csrf_of(&home),
        base,
        app,
        station,
        client,
        _database: database,
    }
}

fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF token") + 19;
    html[start..start + 32].to_string()
}

impl World {
    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts a form with the session's CSRF token; the status and where it
    /// sends the browser (or the page it shows).
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let mut fields = vec![("csrf", self.csrf.as_str())];
        fields.extend_from_slice(form);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = response.text().await.unwrap();
        (status, location.unwrap_or(body))
    }

    async fn scan(&self, waybill: &str, phone: Option<&str>, consent: Option<bool>) -> i64 {
        self.app
            .inbound(
                &testkit::admin(),
                self.station,
                InboundScan {
                    carrier: Carrier::Zto,
                    waybill: WaybillNo::parse(waybill).unwrap(),
                    recipient_name: None,
                    phone: phone.map(|p| Phone::parse(p).unwrap()),
                    size: SizeClass::Small,
                    consent,
                },
            )
            .await
            .unwrap()
            .parcel_id
    }

    async fn state(&self, parcel: i64) -> (ParcelState, Option<String>) {
        let p = self.app.store.parcel(parcel).await.unwrap().unwrap();
        (p.state, p.pickup_code)
    }

    async fn acts(&self) -> Vec<(String, String)> {
        self.app
            .store
            .audit_rows_after(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.act, row.details))
            .collect()
    }
}

#[tokio::test]
async fn a_parcel_without_a_phone_waits_for_one_and_then_the_recipient_is_told() {
    let w = world().await;
    // Even with consent on the scan, no code is made for nobody to hear of.
    let parcel = w.scan("731234560001", None, Some(true)).await;
    assert_eq!(w.state(parcel).await, (ParcelState::AwaitingConsent, None));
    let (status, page) = w.get(&format!("/console/s/{}/pending", w.station)).await;
    assert_eq!(status, 200);
    let needs = &page
        [page.find("id=\"needs-contact\"").unwrap()..page.find("id=\"awaiting-consent\"").unwrap()];
    assert!(needs.contains("731234560001"), "{needs}");
    assert!(needs.contains("待补联系方式"), "{needs}");

    // A bad number is refused in words, and changes nothing.
    let (status, body) = w
        .post(
            &format!("/console/s/{}/parcels/{parcel}/contact", w.station),
            &[("phone", "1381234")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("手机号"), "{body}");
    assert_eq!(w.state(parcel).await.0, ParcelState::AwaitingConsent);

    let (status, to) = w
        .post(
            &format!("/console/s/{}/parcels/{parcel}/contact", w.station),
            &[("phone", "13812345678")],
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (
            303,
            format!("/console/s/{}/pending?done=contact", w.station).as_str()
        )
    );
    // The consent it came with holds: stored with a code, the notice queued.
    let (state, code) = w.state(parcel).await;
    assert_eq!(state, ParcelState::Stored);
    assert!(code.is_some());
    assert!(
        w.acts()
            .await
            .iter()
            .any(|(act, details)| act == "contact_added" && !details.contains("13812345678")),
        "audited, masked"
    );
    // A second try is refused: there is a phone now.
    let (status, _) = w
        .post(
            &format!("/console/s/{}/parcels/{parcel}/contact", w.station),
            &[("phone", "13812345678")],
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn consent_is_recorded_with_what_how_and_when_and_the_parcel_moves_on() {
    let w = world().await;
    let agrees = w.scan("731234560011", Some("13812340011"), None).await;
    let refuses = w.scan("731234560012", Some("13812340012"), None).await;
    assert_eq!(w.state(agrees).await.0, ParcelState::AwaitingConsent);
    let (_, page) = w.get(&format!("/console/s/{}/pending", w.station)).await;
    let awaiting = &page[page.find("id=\"awaiting-consent\"").unwrap()..];
    assert!(awaiting.contains("731234560011") && awaiting.contains("731234560012"));
    assert!(!awaiting.contains("13812340011"), "masked on the list");

    // An answer from the future is refused.
    let (status, body) = w
        .post(
            &format!("/console/s/{}/parcels/{agrees}/consent", w.station),
            &[
                ("answer", "agreed"),
                ("how", "phone_call"),
                ("at", "2099-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(w.state(agrees).await.0, ParcelState::AwaitingConsent);

    let now = w
        .app
        .now()
        .with_timezone(&domain::shanghai())
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let (status, _) = w
        .post(
            &format!("/console/s/{}/parcels/{agrees}/consent", w.station),
            &[("answer", "agreed"), ("how", "phone_call"), ("at", &now)],
        )
        .await;
    assert_eq!(status, 303);
    let (state, code) = w.state(agrees).await;
    assert_eq!(state, ParcelState::Stored);
    assert!(code.is_some(), "a code once consented");

    let (status, _) = w
        .post(
            &format!("/console/s/{}/parcels/{refuses}/consent", w.station),
            &[("answer", "refused"), ("how", "in_person"), ("at", &now)],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(w.state(refuses).await.0, ParcelState::Returned);

    let recorded: Vec<String> = w
        .acts()
        .await
        .into_iter()
        .filter(|(act, _)| act == "consent_recorded")
        .map(|(_, details)| details)
        .collect();
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert!(recorded[0].contains("\"agreed\":true") && recorded[0].contains("phone_call"));
    assert!(recorded[1].contains("\"agreed\":false") && recorded[1].contains("in_person"));
    // The history shows it on the parcel's page.
    let (_, page) = w
        .get(&format!("/console/s/{}/parcels/{agrees}", w.station))
        .await;
    assert!(page.contains("收件人同意代收"), "{page}");
    // Recorded twice? The second is refused: it is not waiting any more.
    let (status, _) = w
        .post(
            &format!("/console/s/{}/parcels/{agrees}/consent", w.station),
            &[("answer", "agreed"), ("how", "phone_call"), ("at", &now)],
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn problems_are_counted_once_shown_with_their_kind_and_put_back_on_a_shelf() {
    let w = world().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            w.scan(&format!("73123456002{i}"), Some("13812340020"), Some(true))
                .await,
        );
    }
    for id in &ids {
        w.app
            .report_problem(&testkit::admin(), *id, domain::ProblemKind::Damaged, None)
            .await
            .unwrap();
    }
    // The overview and the list agree.
    let (_, overview) = w.get(&format!("/console/s/{}", w.station)).await;
    assert!(overview.contains("id=\"n-problems\">3<"), "{overview}");
    let (_, list) = w.get(&format!("/console/s/{}/problems", w.station)).await;
    assert!(list.contains("id=\"problem-total\">(3)"), "{list}");
    assert!(list.contains("破损"), "the kind is shown");
    assert!(list.contains("/resolve"), "an action to put it back");

    let (status, to) = w
        .post(
            &format!("/console/s/{}/parcels/{}/resolve", w.station, ids[0]),
            &[],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    let (state, code) = w.state(ids[0]).await;
    assert_eq!(state, ParcelState::Stored);
    let (_, page) = w.get(&to).await;
    assert!(page.contains(&code.unwrap()), "the new code is on the page");
    assert!(!page.contains("不在货架上"), "and a slot");
    let (_, overview) = w.get(&format!("/console/s/{}", w.station)).await;
    assert!(overview.contains("id=\"n-problems\">2<"), "{overview}");

    // Hand out a problem parcel the recipient takes as it is.
    let (status, _) = w
        .post(
            &format!("/console/s/{}/parcels/{}/handout", w.station, ids[1]),
            &[("shown", "id_card"), ("note", "")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(w.state(ids[1]).await.0, ParcelState::PickedUp);

    // Returning asks first; only the confirmation returns.
    let path = format!("/console/s/{}/parcels/{}/return", w.station, ids[2]);
    let (status, page) = w.post(&path, &[("from", "problems")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("confirm-return"), "{page}");
    assert_eq!(w.state(ids[2]).await.0, ParcelState::Problem);
    let (status, to) = w
        .post(&path, &[("from", "problems"), ("confirmed", "yes")])
        .await;
    assert_eq!(
        (status, to.contains("/problems?done=returned")),
        (303, true)
    );
    assert_eq!(w.state(ids[2]).await.0, ParcelState::Returned);
    let (_, list) = w.get(&format!("/console/s/{}/problems", w.station)).await;
    assert!(list.contains("id=\"problem-total\">(0)"), "{list}");
}

#[tokio::test]
async fn the_parcel_page_reveals_the_phone_only_with_an_audit_row_and_exports_are_recorded() {
    let w = world().await;
    let parcel = w
        .scan("731234560031", Some("13812340031"), Some(true))
        .await;
    let (status, page) = w
        .get(&format!("/console/s/{}/parcels/{parcel}", w.station))
        .await;
    assert_eq!(status, 200);
    assert!(!page.contains("13812340031"), "masked until asked");
    assert!(page.contains("入库，待取件"), "the history: {page}");
    assert!(
        !w.acts()
            .await
            .iter()
            .any(|(act, _)| act == "phone_revealed")
    );
    let (status, page) = w
        .post(
            &format!("/console/s/{}/parcels/{parcel}/phone", w.station),
            &[],
        )
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("tel:13812340031"), "{page}");
    assert!(
        w.acts()
            .await
            .iter()
            .any(|(act, _)| act == "phone_revealed")
    );

    let response = w
        .client
        .get(format!(
            "{}/console/s/{}/export/search?q=0031",
            w.base, w.station
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an .xlsx is a zip");
    let exported: Vec<String> = w
        .acts()
        .await
        .into_iter()
        .filter(|(act, _)| act == "data_exported")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(exported.len(), 1);
    assert!(
        exported[0].contains("\"export\":\"search\"") && exported[0].contains("\"rows\":1"),
        "{exported:?}"
    );
}

#[tokio::test]
async fn english_pages_name_states_and_carriers_in_english() {
    let w = world().await;
    w.scan("731234560041", Some("13812340041"), Some(true))
        .await;
    let _ = w
        .client
        .get(format!("{}/lang/en", w.base))
        .send()
        .await
        .unwrap();
    let (_, page) = w
        .get(&format!("/console/s/{}/search?q=0041", w.station))
        .await;
    assert!(
        page.contains("ZTO Express") && page.contains("Ready for pickup"),
        "{page}"
    );
    assert!(!page.contains("中通") && !page.contains("待取件"), "{page}");
}

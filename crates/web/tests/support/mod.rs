//! What the web tests share: a site served over real HTTP on a real
//! database, users of every role, and a cookie-keeping client that signs
//! in through the sign-in form like a person does. A test file says
//! `mod support;` and builds its own world from these pieces, so a new
//! workplace's tests need no copy of them.
//!
//! Each test binary uses some of these helpers and not others.
#![allow(dead_code)]

use app::App;
use app::auth::NewUser;
use app::ports::NewStation;
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{Carrier, CodeFormat, Role};
use reqwest::redirect::Policy;
use testkit::TestDatabase;

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery";

/// The product's pages served on a free local port.
pub struct Site {
    pub base: String,
    pub app: App,
    /// Keeps the database (the SQLite file) for the test's length.
    pub database: TestDatabase,
}

impl Site {
    /// Serves `web::router` for `app` (built on `database`) on 127.0.0.1.
    pub async fn serve(app: App, database: TestDatabase) -> Site {
        let router = web::router(web::WebState {
            app: app.clone(),
            secure_cookies: false,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Site {
            base,
            app,
            database,
        }
    }

    /// The whole address of a path on this site.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client signed in as `username` through the sign-in form, with the
    /// CSRF token of its session (read from the page it was led to).
    pub async fn sign_in(&self, username: &str) -> Session {
        let client = browser();
        let page = client
            .get(self.url("/console/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let response = client
            .post(self.url("/console/login"))
            .form(&[
                ("username", username),
                ("password", PASSWORD),
                ("csrf", &csrf_of(&page)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{username} signed in");
        let mut home = response.headers()["location"].to_str().unwrap().to_string();
        // A home may send on once more (the console to the keeper's station).
        let page = loop {
            let response = client.get(self.url(&home)).send().await.unwrap();
            match response.headers().get("location") {
                Some(next) if response.status().is_redirection() => {
                    home = next.to_str().unwrap().to_string();
                }
                _ => break response.text().await.unwrap(),
            }
        };
        // Every workplace's frame carries the session's token (the sign-out
        // form at least).
        let csrf = csrf_of(&page);
        Session {
            client,
            csrf,
            home,
            base: self.base.clone(),
        }
    }
}

/// A signed-in browser.
pub struct Session {
    pub client: reqwest::Client,
    /// The session's CSRF token, for forms.
    pub csrf: String,
    /// Where sign-in led (the role's home).
    pub home: String,
    base: String,
}

impl Session {
    /// GET a path: the status and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// GET a path: the status and the raw bytes (downloads).
    pub async fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.bytes().await.unwrap().to_vec(),
        )
    }

    /// POST a form with the session's CSRF token added: the status and the
    /// redirect's target, or the body when there is none.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &self.csrf));
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
        (status, location.unwrap_or(response.text().await.unwrap()))
    }
}

/// A client that keeps cookies and does not follow redirects, so a test
/// sees where a page sends it.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token in a page's first form.
pub fn csrf_of(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[start..start + 32].to_string()
}

/// A user with `PASSWORD`.
pub async fn user(
    app: &App,
    username: &str,
    role: Role,
    carrier: Option<Carrier>,
    stations: &[i64],
) {
    app.create_user(NewUser {
        username: username.into(),
        display_name: username.into(),
        password: PASSWORD.into(),
        role,
        carrier,
        station_ids: stations.to_vec(),
    })
    .await
    .unwrap();
}

/// A village station with one small shelf of 2×5 slots, two parcels each.
pub async fn station(app: &App, name: &str) -> i64 {
    let shelves = [ShelfSpec {
        label: "A".into(),
        tiers: 2,
        slots_per_tier: 5,
        size: SizeClass::Small,
        slot_capacity: 2,
    }];
    app.store
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
        .unwrap()
        .id
}

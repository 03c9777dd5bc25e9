//! The JSON API's bodies, through the real router on a real SQLite file:
//! the first byte picks a route that takes a body, the rest is the body,
//! sent with an administrator's token (the widest rights, so parsing and
//! the use cases are reached, not just the authorisation check).
//! Never a panic and never a 5xx: malformed input must be a 4xx with the
//! error document, whatever the bytes.
#![no_main]
use app::App;
use app::auth::NewUser;
use app::ports::SystemClock;
use axum::body::Body;
use axum::http::{Request, header};
use domain::Role;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

struct Target {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
    /// (method, path with its parameters filled in)
    routes: Vec<(&'static str, String)>,
    _database: testkit::TestDatabase,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (database, app, token) = runtime.block_on(async {
            let database = testkit::sqlite_database().await;
            let app = App::new(database.db.clone(), Arc::new(SystemClock));
            let user_id = app
                .create_user(NewUser {
                    username: "fuzz-admin".into(),
                    display_name: "fuzz".into(),
                    password: "fuzz-password-1".into(),
                    role: Role::Admin,
                    carrier: None,
                    station_ids: vec![],
                })
                .await
                .unwrap();
            let token = app.issue_token(user_id, "fuzz", 24 * 365).await.unwrap();
            (database, app, token)
        });
        // Ids that may exist; a username that is not the fuzzer's own, so a
        // `disable` body cannot lock the fuzzer out and end the run early.
        let fill = |path: &str| {
            let mut filled = String::new();
            let mut rest = path;
            while let Some(open) = rest.find('{') {
                let close = rest[open..].find('}').unwrap() + open;
                filled.push_str(&rest[..open]);
                filled.push_str(match &rest[open + 1..close] {
                    "username" => "someone-else",
                    "carrier" => "zto",
                    "waybill" => "ZT1234567890",
                    _ => "1",
                });
                rest = &rest[close + 1..];
            }
            filled.push_str(rest);
            filled
        };
        let routes = server::routes()
            .into_iter()
            .filter(|(spec, _)| spec.body.is_some() && spec.path != "/api/login")
            .map(|(spec, _)| (spec.method, fill(spec.path)))
            .collect();
        Target {
            runtime,
            router: server::router(server::AppState { app }),
            token,
            routes,
            _database: database,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let target = target();
    let (method, path) = &target.routes[usize::from(pick) % target.routes.len()];
    let request = Request::builder()
        .method(*method)
        .uri(path.as_str())
        .header(header::AUTHORIZATION, format!("Bearer {}", target.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    target.runtime.block_on(async {
        let response = target.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            !status.is_server_error(),
            "{method} {path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        if status.is_client_error() {
            let document: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("{method} {path}: {status} without a JSON error"));
            assert!(document["error"]["code"].is_string(), "{document}");
        }
    });
});

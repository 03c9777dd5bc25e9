//! A person changes their own password in the browser, and an
//! administrator sets one: the old password and every old session stop
//! working, the new password signs in, and each change is in the audit
//! trail.

use app::ports::SystemClock;
use domain::Role;
use std::sync::Arc;

mod support;
use support::{PASSWORD, Site, browser, csrf_of};

const NEW: &str = "a longer new passphrase";

async fn site() -> Site {
    let database = testkit::sqlite_database().await;
    let app = app::App::new(database.db.clone(), Arc::new(SystemClock));
    let station = support::station(&app, "石桥村驿站").await;
    support::user(&app, "keeper", Role::StationKeeper, None, &[station]).await;
    Site::serve(app, database).await
}

/// Signs in with `password` through the form; the status it answers.
async fn sign_in_with(site: &Site, username: &str, password: &str) -> u16 {
    let client = browser();
    let page = client
        .get(site.url("/console/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    client
        .post(site.url("/console/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", &csrf_of(&page)),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_keeper_changes_their_password_and_every_old_session_ends() {
    let site = site().await;
    let here = site.sign_in("keeper").await;
    let elsewhere = site.sign_in("keeper").await;
    let (status, page) = here.get("/account/password").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("修改密码") && page.contains("当前密码"),
        "{page}"
    );

    // A wrong current password and a mistyped repeat are refused with the
    // reason, and change nothing.
    let (status, page) = here
        .post(
            "/account/password",
            &[
                ("current", "not the password"),
                ("new", NEW),
                ("repeat", NEW),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("当前密码不对"), "{page}");
    let (status, page) = here
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", NEW),
                ("repeat", "something else"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("两次输入的新密码不一致"), "{page}");
    let (status, page) = here
        .post(
            "/account/password",
            &[("current", PASSWORD), ("new", "short"), ("repeat", "short")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("8 至 128"), "{page}");
    assert_eq!(elsewhere.get("/console").await.0, 303, "still signed in");
    assert_eq!(sign_in_with(&site, "keeper", PASSWORD).await, 303);

    // A form from another site rides the session's cookie but cannot know
    // its token: refused, nothing changed.
    let forged = here
        .client
        .post(site.url("/account/password"))
        .form(&[
            ("csrf", "0".repeat(32).as_str()),
            ("current", PASSWORD),
            ("new", NEW),
            ("repeat", NEW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(sign_in_with(&site, "keeper", PASSWORD).await, 303);

    let (status, location) = here
        .post(
            "/account/password",
            &[("current", PASSWORD), ("new", NEW), ("repeat", NEW)],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location, "/console/login?changed=1");
    let (_, login) = here.get("/console/login?changed=1").await;
    assert!(login.contains("密码已修改"), "{login}");

    // Both old sessions are over; the old password no longer signs in, the
    // new one does.
    for session in [&here, &elsewhere] {
        let response = session
            .client
            .get(site.url("/console"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["location"], "/console/login");
    }
    assert_eq!(sign_in_with(&site, "keeper", PASSWORD).await, 401);
    assert_eq!(sign_in_with(&site, "keeper", NEW).await, 303);

    let trail = site
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
    assert!(acts.contains(&"password_changed"), "{acts:?}");
    site.database.cleanup().await;
}

#[tokio::test]
async fn an_administrator_sets_a_password_and_the_old_sessions_end() {
    let site = site().await;
    let keeper = site.sign_in("keeper").await;
    let admin = testkit::admin();
    let done = site
        .app
        .set_user_password(&admin, "keeper", NEW)
        .await
        .unwrap();
    assert!(done.tokens_revoked >= 1);
    let response = keeper
        .client
        .get(site.url("/console"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/console/login");
    assert_eq!(sign_in_with(&site, "keeper", NEW).await, 303);
    // Only an administrator may.
    let keeper_principal = site
        .app
        .authenticate(&{
            let (token, _) = site.app.sign_in("keeper", NEW, "test").await.unwrap();
            token
        })
        .await
        .unwrap();
    assert!(
        site.app
            .set_user_password(&keeper_principal, "keeper", PASSWORD)
            .await
            .is_err()
    );
    // A password too short is refused before anything changes.
    assert!(
        site.app
            .set_user_password(&admin, "keeper", "short")
            .await
            .unwrap_err()
            .is(app::Code::PasswordInvalid)
    );
    assert_eq!(sign_in_with(&site, "keeper", NEW).await, 303);
    site.database.cleanup().await;
}

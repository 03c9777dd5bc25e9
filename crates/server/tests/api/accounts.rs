//! Sign-in throttling and account administration over the API (issue 11,
//! findings 9 and 10).

use super::*;

#[tokio::test]
async fn wrong_sign_ins_wait_with_429_and_retry_after_even_for_the_right_password() {
    let t = spawn_app().await;
    let login = |username: &'static str, password: &'static str| {
        t.client
            .post(format!("{}/api/login", t.base))
            .json(&json!({"username": username, "password": password}))
            .send()
    };
    let free = domain::terminal::ThrottlePolicy::sign_in().free_failures;
    for _ in 0..free {
        let wrong = login("keeper_a", "not-the-password").await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Now the username waits: even the right password is not heard.
    let waiting = login("keeper_a", PASSWORD).await.unwrap();
    assert_eq!(waiting.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: i64 = waiting.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: Value = waiting.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wrong passwords"),
        "{body}"
    );
    // Unknown usernames are throttled the same way: the answer does not
    // tell which usernames exist.
    for _ in 0..free {
        let wrong = login("nobody", "not-the-password").await.unwrap();
        assert!(
            matches!(
                wrong.status(),
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
            ),
            "{}",
            wrong.status()
        );
    }
}

#[tokio::test]
async fn an_admin_disables_a_user_whose_tokens_stop_at_once() {
    let t = spawn_app().await;
    let admin = t.token("admin").await;
    let keeper = t.token("keeper_a").await;
    let (status, _) = t.call(Method::GET, "/api/me", Some(&keeper), None).await;
    assert_eq!(status, StatusCode::OK);
    // Nobody but an admin may.
    let (status, answer) = t
        .call(
            Method::POST,
            "/api/users/keeper_b/disable",
            Some(&keeper),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = t
        .call(
            Method::POST,
            "/api/users/keeper_a/disable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["disabled"], true);
    assert_eq!(answer["tokens_revoked"], 1, "{answer}");
    let (status, _) = t.call(Method::GET, "/api/me", Some(&keeper), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old token is dead");
    let (status, answer) = t
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({"username": "keeper_a", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"]["code"], "account_disabled", "{answer}");
    // An admin cannot lock themselves out.
    let (status, answer) = t
        .call(Method::POST, "/api/users/admin/disable", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let (status, answer) = t
        .call(
            Method::POST,
            "/api/users/nobody/disable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    // Enabled again, the account signs in; the old token stays dead.
    let (status, _) = t
        .call(
            Method::POST,
            "/api/users/keeper_a/enable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = t.token("keeper_a").await;
    let (status, _) = t.call(Method::GET, "/api/me", Some(&fresh), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t.call(Method::GET, "/api/me", Some(&keeper), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Revoking ends every token without disabling.
    let (status, answer) = t
        .call(
            Method::POST,
            "/api/users/keeper_a/revoke-tokens",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["disabled"], false);
    let (status, _) = t.call(Method::GET, "/api/me", Some(&fresh), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    t.token("keeper_a").await;
}

//! Sign-in throttling per username and per address, disabled accounts,
//! revoked tokens and terminal re-pairing, against the real use cases on
//! SQLite and PostgreSQL (issue 11, findings 9 and 10).

use app::auth::NewUser;
use app::ports::prelude::*;
use app::{AppError, Code};
use domain::Role;
use testkit::*;

const PASSWORD: &str = "correct horse battery";

async fn user(h: &Harness, username: &str, role: Role, station_ids: Vec<i64>) {
    h.app
        .create_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password: PASSWORD.into(),
            role,
            carrier: None,
            station_ids,
        })
        .await
        .unwrap();
}

fn waits(result: Result<impl std::fmt::Debug, AppError>) -> i64 {
    match result {
        Err(AppError::Throttled { retry_after_s, .. }) => retry_after_s,
        other => panic!("expected a wait, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_sign_ins_wait_per_username_and_per_address_and_the_wait_grows() {
    for h in backends().await {
        let station_id = station(&h.app, 4, 1).await;
        user(&h, "keeper1", Role::StationKeeper, vec![station_id]).await;
        let policy = h.app.settings.sign_in_throttle;
        for _ in 0..policy.free_failures {
            let error = h
                .app
                .sign_in("keeper1", "wrong", "192.0.2.1")
                .await
                .unwrap_err();
            assert!(matches!(error, AppError::Unauthenticated), "{error:?}");
        }
        // The username waits, from any address, even with the right password.
        let first = waits(h.app.sign_in("keeper1", PASSWORD, "192.0.2.99").await);
        assert_eq!(first, policy.first_delay.num_seconds());
        // The address waits, whatever the username.
        waits(h.app.sign_in("someone_else", "wrong", "192.0.2.1").await);
        // Anyone else is heard.
        let error = h
            .app
            .sign_in("someone_else", "wrong", "192.0.2.2")
            .await
            .unwrap_err();
        assert!(matches!(error, AppError::Unauthenticated), "{error:?}");

        // After the wait one more wrong password; the next wait doubles.
        h.clock.advance(policy.first_delay);
        h.app
            .sign_in("keeper1", "wrong", "192.0.2.1")
            .await
            .unwrap_err();
        let second = waits(h.app.sign_in("keeper1", PASSWORD, "192.0.2.3").await);
        assert_eq!(second, 2 * first);
        h.clock.advance(policy.first_delay * 2);
        // The right password is heard now and ends the username's wait.
        h.app
            .sign_in("keeper1", PASSWORD, "192.0.2.3")
            .await
            .unwrap();
        h.app
            .sign_in("keeper1", "wrong", "192.0.2.4")
            .await
            .unwrap_err();
        h.app
            .sign_in("keeper1", PASSWORD, "192.0.2.4")
            .await
            .unwrap();
        // Failures are forgotten after the policy's memory.
        h.clock.advance(policy.memory);
        h.app
            .sign_in("keeper1", PASSWORD, "192.0.2.1")
            .await
            .unwrap();
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_cannot_sign_in_and_its_tokens_stop_at_once() {
    for h in backends().await {
        let station_id = station(&h.app, 4, 1).await;
        // User 1 is the administrator `testkit::admin()` acts as.
        user(&h, "admin", Role::Admin, vec![]).await;
        user(&h, "keeper1", Role::StationKeeper, vec![station_id]).await;
        let error = h.app.disable_user(&admin(), "admin").await.unwrap_err();
        assert!(error.is(Code::CannotDisableSelf), "{error:?}");
        let (token, _) = h
            .app
            .sign_in("keeper1", PASSWORD, "192.0.2.1")
            .await
            .unwrap();
        let (other, _) = h
            .app
            .sign_in("keeper1", PASSWORD, "192.0.2.1")
            .await
            .unwrap();
        h.app.authenticate(&token).await.unwrap();
        // A keeper may not disable anyone.
        let error = h
            .app
            .disable_user(&keeper_of(station_id), "keeper1")
            .await
            .unwrap_err();
        assert!(matches!(error, AppError::Forbidden(_)), "{error:?}");
        let done = h.app.disable_user(&admin(), "keeper1").await.unwrap();
        assert_eq!(done.tokens_revoked, 2);
        for t in [&token, &other] {
            let error = h.app.authenticate(t).await.unwrap_err();
            assert!(matches!(error, AppError::Unauthenticated), "{error:?}");
        }
        let error = h
            .app
            .sign_in("keeper1", PASSWORD, "192.0.2.1")
            .await
            .unwrap_err();
        assert!(error.is(Code::AccountDisabled), "{error:?}");
        // A token issued while disabled (the CLI's `user token`) does not
        // authenticate either.
        let user = h.db.user_by_name("keeper1").await.unwrap().unwrap();
        let issued = h.app.issue_token(user.id, "api", 1).await.unwrap();
        assert!(h.app.authenticate(&issued).await.is_err());
        h.app.enable_user(&admin(), "keeper1").await.unwrap();
        assert!(
            h.app.authenticate(&token).await.is_err(),
            "revoked for good"
        );
        h.app.authenticate(&issued).await.unwrap();
        h.app
            .sign_in("keeper1", PASSWORD, "192.0.2.1")
            .await
            .unwrap();
        // Revoking ends every token and leaves the account enabled.
        let done = h.app.revoke_user_tokens(&admin(), "keeper1").await.unwrap();
        assert!(done.tokens_revoked >= 2 && !done.disabled, "{done:?}");
        assert!(h.app.authenticate(&issued).await.is_err());
        h.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_a_terminal_again_ends_the_earlier_terminal_tokens() {
    for h in backends().await {
        let station_id = station(&h.app, 4, 1).await;
        let other_station = station(&h.app, 4, 1).await;
        let keeper = keeper_of(station_id);
        let old = h.app.pair_terminal(&keeper, station_id).await.unwrap();
        let elsewhere = h
            .app
            .pair_terminal(&keeper_of(other_station), other_station)
            .await
            .unwrap();
        h.app.authenticate(&old).await.unwrap();
        let new = h.app.pair_terminal(&keeper, station_id).await.unwrap();
        let error = h.app.authenticate(&old).await.unwrap_err();
        assert!(matches!(error, AppError::Unauthenticated), "{error:?}");
        let principal = h.app.authenticate(&new).await.unwrap();
        assert_eq!(principal.role, Role::StationTerminal);
        // Another station's terminal is not touched.
        h.app.authenticate(&elsewhere).await.unwrap();
        h.cleanup().await;
    }
}

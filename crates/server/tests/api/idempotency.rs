//! `Idempotency-Key` on POSTs, on both databases: a repeat with the same
//! key and body answers the first answer and acts once; the same key with
//! another body is refused with our code; keys are per caller; a refused
//! request keeps nothing, so it may be retried with its key.

use super::*;

async fn post_with_key(
    t: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Option<String>, Value) {
    let response = t
        .client
        .post(format!("{}{path}", t.base))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_string());
    (status, replayed, response.json().await.unwrap())
}

#[tokio::test]
async fn a_repeated_post_with_its_key_acts_once_and_answers_the_same() {
    for database in testkit::databases().await {
        let backend = database.name();
        let t = spawn_app_on(database).await;
        let admin = t.token("admin").await;
        let sf = t.token("sf").await;
        let manifest = json!({"parcels": [{"waybill": "731234599001", "recipient_name": "张三", "phone": "13812345678"}]});
        let path = "/api/carriers/ZTO/manifest";
        let first = post_with_key(&t, path, &admin, "key-1", &manifest).await;
        assert_eq!(first.0, StatusCode::OK, "{backend}: {}", first.2);
        assert_eq!(first.1, None, "{backend}");
        assert_eq!(first.2["n_announced"], 1, "{backend}: {}", first.2);
        // The same request again: the first answer, not a second act
        // (a second act would say "already known").
        let again = post_with_key(&t, path, &admin, "key-1", &manifest).await;
        assert_eq!(again.0, StatusCode::OK, "{backend}");
        assert_eq!(again.1.as_deref(), Some("true"), "{backend}");
        assert_eq!(again.2, first.2, "{backend}");
        // The same key with another body is refused with our code.
        let other = json!({"parcels": [{"waybill": "731234599002"}]});
        let reused = post_with_key(&t, path, &admin, "key-1", &other).await;
        assert_eq!(reused.0, StatusCode::CONFLICT, "{backend}: {}", reused.2);
        assert_eq!(reused.2["error"]["code"], "idempotency_key_reused");
        // Nothing of the second body was announced.
        let (_, parcels) = t
            .call(
                Method::GET,
                "/api/parcels?waybill=731234599002",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(parcels["items"], json!([]), "{backend}: {parcels}");
        // Keys are per caller: another caller's same key is its own.
        let mine = json!({"parcels": [{"waybill": "SF1234567890123"}]});
        let theirs = post_with_key(&t, "/api/carriers/SF/manifest", &sf, "key-1", &mine).await;
        assert_eq!(theirs.0, StatusCode::OK, "{backend}: {}", theirs.2);
        assert_eq!(theirs.1, None);
        assert_eq!(theirs.2["n_announced"], 1);
        // A refused request keeps nothing: the same key may be used again.
        let refused = post_with_key(
            &t,
            "/api/carriers/SF/manifest",
            &admin,
            "key-2",
            &json!({"parcels": "no"}),
        )
        .await;
        assert_eq!(
            refused.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{backend}: {}",
            refused.2
        );
        let retried = post_with_key(
            &t,
            "/api/carriers/SF/manifest",
            &admin,
            "key-2",
            &json!({"parcels": []}),
        )
        .await;
        assert_eq!(retried.0, StatusCode::OK, "{backend}: {}", retried.2);
        // A malformed key is refused with our code.
        let bad = post_with_key(&t, path, &admin, "two words", &manifest).await;
        assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{backend}");
        assert_eq!(bad.2["error"]["code"], "idempotency_key_invalid");
    }
}

/// Keys are kept a day: the retention job prunes older ones, after which
/// the key acts again.
#[tokio::test]
async fn the_retention_job_prunes_keys_older_than_a_day() {
    for harness in testkit::backends().await {
        let backend = harness.name();
        let principal = domain::Principal {
            user_id: 1,
            username: "admin".into(),
            role: Role::Admin,
            station_ids: vec![],
            carrier: None,
        };
        let fingerprint = app::idempotency::fingerprint("POST", "/api/x", b"{}");
        let claim = harness
            .app
            .claim_idempotent(&principal, "k", &fingerprint)
            .await
            .unwrap();
        assert_eq!(claim, app::idempotency::Claim::Run, "{backend}");
        harness
            .app
            .finish_idempotent(&principal, "k", 200, "{\"ok\":true}")
            .await
            .unwrap();
        let replay = harness
            .app
            .claim_idempotent(&principal, "k", &fingerprint)
            .await
            .unwrap();
        assert_eq!(
            replay,
            app::idempotency::Claim::Replay {
                status: 200,
                body: "{\"ok\":true}".into()
            },
            "{backend}"
        );
        harness.clock.advance(chrono::Duration::hours(25));
        let report = harness.app.run_retention().await.unwrap();
        assert!(
            report.pruned.contains(&("idempotency_keys", 1)),
            "{backend}: {report:?}"
        );
        let fresh = harness
            .app
            .claim_idempotent(&principal, "k", &fingerprint)
            .await
            .unwrap();
        assert_eq!(fresh, app::idempotency::Claim::Run, "{backend}");
        harness.cleanup().await;
    }
}

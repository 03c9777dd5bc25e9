//! The devices' outbox: written inside a transaction (gone if it rolls
//! back), one row per command id, published until ended, ended once. Runs on
//! SQLite always and on PostgreSQL when `YIZHAN_TEST_DATABASE_URL` is set
//! (required under `YIZHAN_REQUIRE_SERVICES=1`).

use app::device_commands::{DeviceCommandStatus, NewDeviceCommand, enqueue_device_command};
use app::ports::Store;
use app::ports::prelude::*;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

fn door_open(command_id: &str, not_after: DateTime<Utc>) -> NewDeviceCommand {
    NewDeviceCommand {
        station_id: 7,
        device_kind: "door".into(),
        device_id: "front".into(),
        command_id: command_id.into(),
        not_after,
        operation: json!({"op": "open", "hold_ms": 5000}),
    }
}

#[tokio::test]
async fn device_commands_are_transactional_unique_and_end_once() {
    for database in testkit::databases().await {
        let db = &database.db;
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let not_after = now + Duration::seconds(30);

        let mut tx = db.begin().await.unwrap();
        assert!(
            enqueue_device_command(&mut *tx, &door_open("rolled-back", not_after), now)
                .await
                .unwrap()
        );
        drop(tx);
        assert!(db.device_command("rolled-back").await.unwrap().is_none());

        let mut tx = db.begin().await.unwrap();
        assert!(
            enqueue_device_command(&mut *tx, &door_open("c1", not_after), now)
                .await
                .unwrap()
        );
        assert!(
            !enqueue_device_command(&mut *tx, &door_open("c1", not_after), now)
                .await
                .unwrap(),
            "a second write of one command id must be refused"
        );
        tx.commit().await.unwrap();

        let due = db.due_device_commands(now, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        let payload: serde_json::Value = serde_json::from_str(&due[0].payload).unwrap();
        assert_eq!(payload["command_id"], "c1");
        assert_eq!(payload["not_after_ms"], not_after.timestamp_millis());
        assert_eq!(payload["op"], "open");
        assert_eq!(due[0].status, DeviceCommandStatus::Pending);

        db.device_command_attempted(due[0].id, now + Duration::seconds(2))
            .await
            .unwrap();
        assert!(db.due_device_commands(now, 10).await.unwrap().is_empty());
        let again = db
            .due_device_commands(now + Duration::seconds(2), 10)
            .await
            .unwrap();
        assert_eq!(again[0].attempts, 1);
        assert_eq!(again[0].command_id, "c1", "a retry keeps its command id");

        assert!(
            db.finish_device_command("c1", DeviceCommandStatus::Done, Some("done"), now)
                .await
                .unwrap()
        );
        assert!(
            !db.finish_device_command("c1", DeviceCommandStatus::Expired, None, now)
                .await
                .unwrap(),
            "an ended command must not end again"
        );
        let ended = db.device_command("c1").await.unwrap().unwrap();
        assert_eq!(ended.status, DeviceCommandStatus::Done);
        assert_eq!(ended.outcome.as_deref(), Some("done"));
        assert!(
            db.due_device_commands(now + Duration::seconds(60), 10)
                .await
                .unwrap()
                .is_empty()
        );

        let mut tx = db.begin().await.unwrap();
        let refused = enqueue_device_command(&mut *tx, &door_open("late", now), now).await;
        assert!(
            refused.is_err(),
            "a command already past not-after is refused"
        );
        drop(tx);

        database.cleanup().await;
    }
}

//! The messages' outbox behind `app::ports::{OutboxTx, OutboxStore}`.

use crate::rows::SEALED_OUTBOX;
use crate::{Db, DbTx, backend_error, ms};
use app::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

#[async_trait]
impl OutboxTx for DbTx {
    async fn enqueue(&mut self, message: &OutboxMessage, now: DateTime<Utc>) -> StoreResult<bool> {
        // The body holds the number and the pickup codes: sealed. The merge
        // key names the number too, and the relay only compares it, so a
        // keyed hash serves. The template stays readable for the keeper's
        // figures and outlives the body (emptied when sent).
        let template = message
            .payload
            .get("template")
            .and_then(|t| t.as_str())
            .map(|t| t.chars().take(64).collect::<String>());
        let query = sqlx::query(
            "INSERT INTO outbox (topic, dedup_key, merge_key, payload, created_at, available_at, template) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(message.topic.clone())
        .bind(message.dedup_key.clone())
        .bind(
            message
                .merge_key
                .as_ref()
                .map(|key| self.keys.lookup_hash("merge", key)),
        )
        .bind(self.keys.seal(SEALED_OUTBOX, &message.payload.to_string()))
        .bind(ms(now))
        .bind(ms(message.available_at))
        .bind(template);
        Ok(self.execute(query).await? == 1)
    }
}

#[async_trait]
impl OutboxStore for Db {
    async fn pending_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<PendingMessage>> {
        let rows = sqlx::query("SELECT id, topic, merge_key, payload, attempts FROM outbox WHERE sent_at IS NULL AND gave_up = 0 AND available_at <= $1 ORDER BY id LIMIT $2")
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload").map_err(backend_error)?;
                let payload = self
                    .keys
                    .open(SEALED_OUTBOX, &payload)
                    .map_err(|error| StoreError::Backend(error.to_string()))?;
                let attempts: i64 = row.try_get("attempts").map_err(backend_error)?;
                Ok(PendingMessage {
                    id: row.try_get("id").map_err(backend_error)?,
                    topic: row.try_get("topic").map_err(backend_error)?,
                    merge_key: row.try_get("merge_key").map_err(backend_error)?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Backend(e.to_string()))?,
                    attempts: attempts as u32,
                })
            })
            .collect()
    }

    async fn mark_sent(&self, ids: &[i64], now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        for id in ids {
            // Sent: the body (number, codes) is no longer needed; the row
            // keeps topic, template and times (issue 12, minimisation).
            sqlx::query(
                "UPDATE outbox SET sent_at = $1, payload = '' WHERE id = $2 AND sent_at IS NULL",
            )
            .bind(ms(now))
            .bind(*id)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)
    }

    async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
        give_up: bool,
    ) -> StoreResult<()> {
        let error: String = error.chars().take(500).collect();
        // A message given up on will never be sent: its body goes too.
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, available_at = $2, gave_up = $3, \
                     payload = CASE WHEN $3 = 1 THEN '' ELSE payload END WHERE id = $4")
            .bind(error)
            .bind(ms(retry_at))
            .bind(i64::from(give_up))
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}

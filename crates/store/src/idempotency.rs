//! The API's idempotency keys behind `IdempotencyStore`. Answers are sealed
//! like other personal data: a replayed parcel view holds the recipient's
//! name.

use crate::backend_error;
use crate::rows::{get, time};
use crate::{Db, ms};
use app::ports::StoreResult;
use app::ports::idempotency::{IdempotencyRecord, IdempotencyStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The column label the answers are sealed under.
const SEALED_RESPONSE: &str = "idempotency_keys.response";

#[async_trait]
impl IdempotencyStore for Db {
    async fn claim_idempotency_key(
        &self,
        user_id: i64,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, idempotency_key, fingerprint, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(user_id)
        .bind(key)
        .bind(fingerprint)
        .bind(ms(now))
        .fetch_optional(&self.writer)
        .await
        .map_err(backend_error)?;
        Ok(claimed.is_some())
    }

    async fn idempotency_key(
        &self,
        user_id: i64,
        key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        let row = sqlx::query(
            "SELECT fingerprint, status, response, created_at FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(user_id)
        .bind(key)
        .fetch_optional(&self.writer)
        .await
        .map_err(backend_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let status: Option<i64> = get(&row, "status")?;
        let response = crate::rows::open(&self.keys, SEALED_RESPONSE, get(&row, "response")?)?;
        Ok(Some(IdempotencyRecord {
            fingerprint: get(&row, "fingerprint")?,
            status: status.and_then(|s| u16::try_from(s).ok()),
            response,
            created_at: time(get(&row, "created_at")?)?,
        }))
    }

    async fn finish_idempotency_key(
        &self,
        user_id: i64,
        key: &str,
        status: u16,
        response: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, response = $2 WHERE user_id = $3 AND idempotency_key = $4",
        )
        .bind(i64::from(status))
        .bind(self.keys.seal(SEALED_RESPONSE, response))
        .bind(user_id)
        .bind(key)
        .execute(&self.writer)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn release_idempotency_key(&self, user_id: i64, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = $2")
            .bind(user_id)
            .bind(key)
            .execute(&self.writer)
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}

//! Users, their API tokens and the server's keys, behind
//! `app::ports::UserStore`.

use crate::rows::*;
use crate::{Db, DbTx, backend_error, ms};
use app::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::Carrier;
use sqlx::Row;

#[async_trait]
impl UserStore for Db {
    async fn create_user(&self, user: &UserRecord, now: DateTime<Utc>) -> StoreResult<i64> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        let row = sqlx::query("INSERT INTO users (username, display_name, password_hash, role, carrier, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(user.username.clone())
            .bind(user.display_name.clone())
            .bind(user.password_hash.clone())
            .bind(user.role.code())
            .bind(user.carrier.map(Carrier::code))
            .bind(ms(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(backend_error)?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        for station_id in &user.station_ids {
            sqlx::query("INSERT INTO user_stations (user_id, station_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*station_id)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(id)
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        ))
        .bind(username.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        match row {
            Some(row) => Ok(Some(self.user_with_stations(&row).await?)),
            None => Ok(None),
        }
    }

    async fn password_hashes(&self) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT username, password_hash FROM users ORDER BY username")
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
        rows.iter()
            .map(|row| Ok((get(row, "username")?, get(row, "password_hash")?)))
            .collect()
    }

    async fn user_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = (SELECT user_id FROM api_tokens WHERE token_hash = $1 AND expires_at > $2) AND disabled_at IS NULL"
        ))
        .bind(token_hash.to_string())
        .bind(ms(now))
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        match row {
            Some(row) => Ok(Some(self.user_with_stations(&row).await?)),
            None => Ok(None),
        }
    }

    async fn create_token(
        &self,
        user_id: i64,
        token_hash: &str,
        name: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (user_id, token_hash, name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(user_id)
            .bind(token_hash.to_string())
            .bind(name.to_string())
            .bind(ms(now))
            .bind(ms(expires_at))
            .execute(&self.writer)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    async fn carrier_api_tokens(
        &self,
        carrier: Carrier,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ApiTokenRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {API_TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE u.carrier = $1 AND t.kind = 'api' AND t.expires_at > $2 ORDER BY t.id DESC"
        ))
        .bind(carrier.code())
        .bind(ms(now))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(api_token_from).collect()
    }

    async fn api_token(&self, token_id: i64) -> StoreResult<Option<ApiTokenRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {API_TOKEN_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.id = $1 AND t.kind = 'api'"
        ))
        .bind(token_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.as_ref().map(api_token_from).transpose()
    }

    async fn note_api_token_use(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND kind = 'api' \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(ms(now))
        .bind(token_hash.to_string())
        .bind(ms(since))
        .execute(&self.writer)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn revoke_token(&self, token_hash: &str) -> StoreResult<bool> {
        let changed = sqlx::query("DELETE FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash.to_string())
            .execute(&self.writer)
            .await
            .map_err(backend_error)?
            .rows_affected();
        Ok(changed == 1)
    }

    async fn revoke_user_tokens(&self, user_id: i64) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.writer)
            .await
            .map_err(backend_error)?
            .rows_affected())
    }

    async fn set_user_disabled(
        &self,
        user_id: i64,
        disabled_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        let changed = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled_at.map(ms))
            .bind(user_id)
            .execute(&self.writer)
            .await
            .map_err(backend_error)?
            .rows_affected();
        Ok(changed == 1)
    }

    async fn legacy_server_secrets(&self) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT name, value FROM server_secrets ORDER BY name")
            .fetch_all(&self.writer)
            .await
            .map_err(backend_error)?;
        rows.iter()
            .map(|row| Ok((get(row, "name")?, get(row, "value")?)))
            .collect()
    }

    async fn clear_legacy_server_secrets(&self) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM server_secrets")
            .execute(&self.writer)
            .await
            .map_err(backend_error)?
            .rows_affected())
    }
}

/// The same writes as `UserStore`'s, inside the caller's transaction, so the
/// audit row recording a user change commits with it.
#[async_trait]
impl UserTx for DbTx {
    async fn create_user_in(&mut self, user: &UserRecord, now: DateTime<Utc>) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query("INSERT INTO users (username, display_name, password_hash, role, carrier, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                    .bind(user.username.clone())
                    .bind(user.display_name.clone())
                    .bind(user.password_hash.clone())
                    .bind(user.role.code())
                    .bind(user.carrier.map(Carrier::code))
                    .bind(ms(now)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("no user id returned".into()))?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        for station_id in &user.station_ids {
            self.execute(
                sqlx::query("INSERT INTO user_stations (user_id, station_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(*station_id),
            )
            .await?;
        }
        Ok(id)
    }

    async fn create_token_in(
        &mut self,
        user_id: i64,
        token_hash: &str,
        name: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.execute(
            sqlx::query("INSERT INTO api_tokens (user_id, token_hash, name, created_at, expires_at, kind) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(user_id)
                .bind(token_hash.to_string())
                .bind(name.to_string())
                .bind(ms(now))
                .bind(ms(expires_at))
                .bind(kind.code()),
        )
        .await?;
        Ok(())
    }

    async fn delete_api_token_in(&mut self, token_id: i64) -> StoreResult<bool> {
        let deleted = self
            .execute(
                sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND kind = 'api'").bind(token_id),
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn set_password_hash_in(
        &mut self,
        user_id: i64,
        password_hash: &str,
    ) -> StoreResult<bool> {
        let changed = self
            .execute(
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(password_hash.to_string())
                    .bind(user_id),
            )
            .await?;
        Ok(changed == 1)
    }

    async fn revoke_user_tokens_in(&mut self, user_id: i64) -> StoreResult<u64> {
        self.execute(sqlx::query("DELETE FROM api_tokens WHERE user_id = $1").bind(user_id))
            .await
    }

    async fn set_user_disabled_in(
        &mut self,
        user_id: i64,
        disabled_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        let changed = self
            .execute(
                sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
                    .bind(disabled_at.map(ms))
                    .bind(user_id),
            )
            .await?;
        Ok(changed == 1)
    }
}

const API_TOKEN_COLUMNS: &str =
    "t.id, t.name, t.user_id, u.username, u.carrier, t.created_at, t.expires_at, t.last_used_at";

fn api_token_from(row: &sqlx::any::AnyRow) -> StoreResult<ApiTokenRecord> {
    let carrier: Option<String> = get(row, "carrier")?;
    Ok(ApiTokenRecord {
        id: get(row, "id")?,
        name: get(row, "name")?,
        user_id: get(row, "user_id")?,
        username: get(row, "username")?,
        carrier: carrier
            .as_deref()
            .map(|c| Carrier::parse(c).map_err(|_| corrupt("carrier", c)))
            .transpose()?,
        created_at: time(get(row, "created_at")?)?,
        expires_at: time(get(row, "expires_at")?)?,
        last_used_at: get::<Option<i64>>(row, "last_used_at")?
            .map(time)
            .transpose()?,
    })
}

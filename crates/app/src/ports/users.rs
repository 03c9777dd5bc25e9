//! Users, their API tokens and the server's own keys.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{Carrier, Role};

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub carrier: Option<Carrier>,
    pub station_ids: Vec<i64>,
    /// Set by an administrator: the account's tokens do not authenticate
    /// and it cannot sign in.
    pub disabled_at: Option<DateTime<Utc>>,
}
/// User changes inside a transaction, so the audit row that records one
/// commits or fails with it (`app::audit`).
#[async_trait]
pub trait UserTx: Send {
    async fn create_user_in(&mut self, user: &UserRecord, now: DateTime<Utc>) -> StoreResult<i64>;
    async fn create_token_in(
        &mut self,
        user_id: i64,
        token_hash: &str,
        name: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Ends every token of the user; how many there were.
    async fn revoke_user_tokens_in(&mut self, user_id: i64) -> StoreResult<u64>;
    /// Disables (`Some(now)`) or enables (`None`) an account; false if there
    /// is no such user.
    async fn set_user_disabled_in(
        &mut self,
        user_id: i64,
        disabled_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, user: &UserRecord, now: DateTime<Utc>) -> StoreResult<i64>;
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    /// Every user's name and password hash, by name (the start-up check for
    /// the published demo password).
    async fn password_hashes(&self) -> StoreResult<Vec<(String, String)>>;
    async fn user_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>>;
    async fn create_token(
        &self,
        user_id: i64,
        token_hash: &str,
        name: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Ends a token (sign-out); false if it did not exist.
    async fn revoke_token(&self, token_hash: &str) -> StoreResult<bool>;
    /// Ends every token of the user; how many there were.
    async fn revoke_user_tokens(&self, user_id: i64) -> StoreResult<u64>;
    /// Disables (`Some(now)`) or enables (`None`) an account; false if there
    /// is no such user.
    async fn set_user_disabled(
        &self,
        user_id: i64,
        disabled_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool>;
    /// The keys an older version kept in `server_secrets` (name, hex), for
    /// `yizhan keys init --import`; empty once imported.
    async fn legacy_server_secrets(&self) -> StoreResult<Vec<(String, String)>>;
    /// Removes the imported keys from the database.
    async fn clear_legacy_server_secrets(&self) -> StoreResult<u64>;
}

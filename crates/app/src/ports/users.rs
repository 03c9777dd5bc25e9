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
/// A long-lived API token of a carrier's system, as its list shows it:
/// never the token, which is stored only as its hash.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub name: String,
    /// Whose token it is: it authenticates as this user.
    pub user_id: i64,
    pub username: String,
    /// The user's carrier, which the token acts for.
    pub carrier: Option<Carrier>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When it last authenticated a request (to the minute); none if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a token is for (`api_tokens.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A sign-in session or a paired terminal.
    Session,
    /// A long-lived API token of a system (listed and revocable by the
    /// carrier, its last use noted).
    Api,
}

impl TokenKind {
    pub fn code(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
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
        kind: TokenKind,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Replaces the user's password hash; false if there is no such user.
    async fn set_password_hash_in(
        &mut self,
        user_id: i64,
        password_hash: &str,
    ) -> StoreResult<bool>;
    /// Ends every token of the user; how many there were.
    async fn revoke_user_tokens_in(&mut self, user_id: i64) -> StoreResult<u64>;
    /// Ends one API token; false if there was none with this id.
    async fn delete_api_token_in(&mut self, token_id: i64) -> StoreResult<bool>;
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
    /// The unexpired API tokens of every user of a carrier, newest first.
    async fn carrier_api_tokens(
        &self,
        carrier: Carrier,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ApiTokenRecord>>;
    /// One API token (kind `api`) by id, with its user's carrier.
    async fn api_token(&self, token_id: i64) -> StoreResult<Option<ApiTokenRecord>>;
    /// Notes that an API token authenticated a request at `now`, unless it
    /// was already noted at or after `since` (so at most one write a
    /// minute per token); sign-in sessions are not noted.
    async fn note_api_token_use(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<()>;
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

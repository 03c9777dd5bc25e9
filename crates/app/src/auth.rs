//! Users, passwords (argon2id) and API tokens. Tokens are random and stored
//! only as their SHA-256, so a copy of the database holds no usable token.
//! Wrong passwords are throttled per username and per source address with a
//! growing wait ([`SignInThrottle`]); an administrator may disable an
//! account (its tokens stop working at once) and revoke its tokens.

use crate::App;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code, Throttle, text_invalid};
pub use crate::ports::ApiTokenRecord;
use crate::ports::prelude::*;
use crate::ports::{TokenKind, UserRecord};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use domain::terminal::ThrottlePolicy;
use domain::{Carrier, Principal, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Recent wrong sign-ins per key (`user:NAME`, `addr:ADDRESS`), in memory.
/// Checked before argon2 runs, so a flood from one address or at one
/// username costs a map look-up, not a hash. In memory rather than in the
/// database: a flood must not become a flood of writes on the one SQLite
/// writer the door terminals share; a restart forgets, which costs a
/// guesser's budget at most one memory period per restart.
#[derive(Debug, Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

/// Keys remembered at most; beyond this the oldest-looking are forgotten
/// first (a flood of invented usernames must not grow memory without end).
const THROTTLE_KEYS_MAX: usize = 100_000;

/// Live API tokens one carrier may hold.
pub const CARRIER_TOKENS_MAX: usize = 20;
/// How long a carrier's API token made in the portal lasts.
pub const CARRIER_TOKEN_HOURS: i64 = 24 * 365;
/// Longest name of an API token.
pub const TOKEN_NAME_CHARS_MAX: usize = 64;
/// A token's last use is noted to this many seconds.
const TOKEN_USE_GRANULARITY_SECONDS: i64 = 60;

impl SignInThrottle {
    fn locked_until(
        &self,
        policy: &ThrottlePolicy,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|key| policy.locked_until(failures.get(key)?, now))
            .max()
    }

    fn record_failure(&self, policy: &ThrottlePolicy, keys: &[String], now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= THROTTLE_KEYS_MAX {
            failures.retain(|_, times| times.iter().any(|at| *at > now - policy.memory));
            if failures.len() >= THROTTLE_KEYS_MAX {
                failures.clear();
            }
        }
        for key in keys {
            let times = failures.entry(key.clone()).or_default();
            times.retain(|at| *at > now - policy.memory);
            // The policy's wait is capped, so a few hundred remembered
            // failures say as much as more would.
            if times.len() < 512 {
                times.push(now);
            }
        }
    }

    fn forget(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// What an administrator sees of an account after changing it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountView {
    pub username: String,
    pub role: &'static str,
    pub disabled: bool,
    /// Tokens ended by this change.
    pub tokens_revoked: u64,
}

pub fn hash_password(password: &str) -> AppResult<String> {
    if !(8..=128).contains(&password.chars().count()) {
        return Err(AppError::new(Code::PasswordInvalid));
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AppError::Internal(format!("password hashing failed: {error}")))
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn principal_of(user: UserRecord) -> Principal {
    Principal {
        user_id: user.id,
        username: user.username,
        role: user.role,
        station_ids: user.station_ids,
        carrier: user.carrier,
    }
}

pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub carrier: Option<Carrier>,
    pub station_ids: Vec<i64>,
}

impl App {
    /// Adds a user (the command line and the demo, acting as `actor`; a
    /// terminal's user is made by pairing). Recorded in the audit trail in
    /// the same transaction.
    pub async fn create_user(&self, user: NewUser) -> AppResult<i64> {
        self.create_user_by(&Actor::system("cli"), user).await
    }

    pub async fn create_user_by(&self, actor: &Actor, user: NewUser) -> AppResult<i64> {
        let username = domain::limits::text_field("username", &user.username, 32)
            .map_err(text_invalid("username", 32))?;
        if !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(AppError::new(Code::UsernameInvalid));
        }
        match (user.role, user.carrier, user.station_ids.is_empty()) {
            (Role::CarrierIntegrator, None, _) => {
                return Err(AppError::new(Code::UserNeedsCarrier));
            }
            (Role::StationKeeper | Role::StationTerminal, _, true) => {
                return Err(AppError::new(Code::UserNeedsStation));
            }
            _ => {}
        }
        // argon2 is CPU-heavy by design: it runs on the blocking pool.
        let password = user.password;
        let password_hash = self
            .blocking
            .run(move || hash_password(&password))
            .await??;
        let record = UserRecord {
            id: 0,
            username: username.to_string(),
            display_name: user.display_name,
            password_hash,
            role: user.role,
            carrier: user.carrier,
            station_ids: user.station_ids,
            disabled_at: None,
        };
        let mut tx = self.store.begin().await?;
        let id = tx.create_user_in(&record, self.now()).await?;
        audit::record(
            &mut *tx,
            actor,
            self.now(),
            Act::UserCreated,
            Object::new("user", id),
            serde_json::json!({
                "username": record.username,
                "role": record.role.code(),
                "stations": record.station_ids,
                "carrier": record.carrier.map(Carrier::code),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The users whose password is `password`: `serve` refuses to start
    /// while anyone still has the demo password published in the README.
    /// One argon2 verification per user, on the blocking pool.
    pub async fn users_with_password(&self, password: &str) -> AppResult<Vec<String>> {
        let mut found = Vec::new();
        for (username, hash) in self.store.password_hashes().await? {
            let password = password.to_string();
            if self
                .blocking
                .run(move || verify_password(&password, &hash))
                .await?
            {
                found.push(username);
            }
        }
        Ok(found)
    }

    /// Checks a password and issues a token valid for the configured hours.
    /// `source` is the address the request came from. Refused unheard (no
    /// argon2) while the username or the address must wait after recent
    /// failures; unknown users cost the same work as known ones.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        source: &str,
    ) -> AppResult<(String, Principal)> {
        let name = username.trim().chars().take(64).collect::<String>();
        let policy = self.settings.sign_in_throttle;
        let keys = [
            format!("user:{}", name.to_lowercase()),
            format!("addr:{}", source.chars().take(64).collect::<String>()),
        ];
        let now = self.now();
        if let Some(until) = self.sign_in_throttle.locked_until(&policy, &keys, now) {
            tracing::info!(username = %name, source, until = %until, "sign-in must wait");
            return Err(AppError::throttled(Throttle::SignIn, until, now));
        }
        let user = self.store.user_by_name(&name).await?;
        // Verify against a fixed hash when the user is unknown, so timing
        // does not reveal which usernames exist.
        const UNKNOWN: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$J4moa2MM0/6uf3HbY2Tf5Fux8JIBTwIhmhxGRE2nXcY";
        let stored = user
            .as_ref()
            .map_or(UNKNOWN, |u| u.password_hash.as_str())
            .to_string();
        let password = password.to_string();
        // On the blocking pool, so a burst of sign-ins queues there instead
        // of stalling every other request on the executor.
        let verified = self
            .blocking
            .run(move || verify_password(&password, &stored))
            .await?;
        let Some(user) = user.filter(|_| verified) else {
            self.sign_in_throttle
                .record_failure(&policy, &keys, self.now());
            tracing::info!(username = %name, source, "sign-in refused");
            return Err(AppError::Unauthenticated);
        };
        if user.disabled_at.is_some() {
            tracing::info!(username = %name, source, "sign-in to a disabled account refused");
            return Err(AppError::new(Code::AccountDisabled));
        }
        // The right password ends the username's wait; the address's
        // failures stay (one valid account must not reset a guesser's
        // budget for the others).
        self.sign_in_throttle.forget(&keys[0]);
        // The idle-account compliance rule reads when each account last
        // signed in.
        self.store.note_sign_in(user.id, self.now()).await?;
        let token = self
            .issue_token(user.id, "sign-in", self.settings.token_hours)
            .await?;
        Ok((token, principal_of(user)))
    }

    /// A new token inside the caller's transaction (pairing: the revoke,
    /// the new token and their audit row commit together; an API token and
    /// its audit row likewise).
    async fn issue_token_in(
        &self,
        tx: &mut dyn Tx,
        user_id: i64,
        name: &str,
        kind: TokenKind,
        hours: i64,
    ) -> AppResult<String> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!("yz_{}", hex::encode(bytes));
        let now = self.now();
        tx.create_token_in(
            user_id,
            &token_hash(&token),
            name,
            kind,
            now,
            now + chrono::Duration::hours(hours),
        )
        .await?;
        Ok(token)
    }

    /// A long-lived API token issued from the command line (a carrier's
    /// system): recorded in the audit trail with it. Sign-in tokens are not
    /// audited acts.
    pub async fn issue_api_token(
        &self,
        actor: &Actor,
        user_id: i64,
        name: &str,
        hours: i64,
    ) -> AppResult<String> {
        let mut tx = self.store.begin().await?;
        let token = self
            .issue_token_in(&mut *tx, user_id, name, TokenKind::Api, hours)
            .await?;
        audit::record(
            &mut *tx,
            actor,
            self.now(),
            Act::TokenIssued,
            Object::new("user", user_id),
            serde_json::json!({ "hours": hours }),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The live API tokens of a carrier's system (every user of the
    /// carrier), without the tokens themselves: the carrier's own users and
    /// county staff.
    pub async fn carrier_tokens(
        &self,
        principal: &Principal,
        carrier: Carrier,
    ) -> AppResult<Vec<ApiTokenRecord>> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        Ok(self.store.carrier_api_tokens(carrier, self.now()).await?)
    }

    /// A carrier's user makes an API token for its system (the carrier
    /// portal): it authenticates as that user, so it acts for that carrier
    /// only, for [`CARRIER_TOKEN_HOURS`]. Shown in this answer only; the
    /// act is audited (`token_issued`) in the same transaction.
    pub async fn create_carrier_token(
        &self,
        principal: &Principal,
        carrier: Carrier,
        name: &str,
    ) -> AppResult<String> {
        // Only the carrier's own user: a token made by county staff would
        // carry the staff's rights, not the carrier's.
        if principal.role != Role::CarrierIntegrator || principal.carrier != Some(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        let name = domain::limits::text_field("name", name, TOKEN_NAME_CHARS_MAX)
            .map_err(text_invalid("token name", TOKEN_NAME_CHARS_MAX))?
            .trim();
        if name.is_empty() {
            return Err(AppError::new(Code::TokenNameMissing));
        }
        let live = self.store.carrier_api_tokens(carrier, self.now()).await?;
        if live.len() >= CARRIER_TOKENS_MAX {
            return Err(AppError::new(Code::TokenLimit).with("max", CARRIER_TOKENS_MAX));
        }
        let mut tx = self.store.begin().await?;
        let token = self
            .issue_token_in(
                &mut *tx,
                principal.user_id,
                name,
                TokenKind::Api,
                CARRIER_TOKEN_HOURS,
            )
            .await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::TokenIssued,
            Object::new("user", principal.user_id),
            serde_json::json!({ "carrier": carrier.code(), "hours": CARRIER_TOKEN_HOURS }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(carrier = %carrier, user = %principal.username, "carrier API token created");
        Ok(token)
    }

    /// Revokes one API token of a carrier's system: it stops at once.
    /// Another carrier's token answers "not found", like one that does not
    /// exist. Audited (`tokens_revoked`) in the same transaction.
    pub async fn revoke_carrier_token(
        &self,
        principal: &Principal,
        token_id: i64,
    ) -> AppResult<()> {
        let token = self
            .store
            .api_token(token_id)
            .await?
            .filter(|t| t.carrier.is_some_and(|c| principal.may_act_for_carrier(c)))
            .ok_or(AppError::NotFound("API token"))?;
        let mut tx = self.store.begin().await?;
        let deleted = tx.delete_api_token_in(token.id).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::TokensRevoked,
            Object::new("user", token.user_id),
            serde_json::json!({ "token_id": token.id, "carrier": token.carrier.map(Carrier::code), "tokens_revoked": u64::from(deleted) }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(token = token.id, user = %principal.username, "carrier API token revoked");
        Ok(())
    }

    pub async fn issue_token(&self, user_id: i64, name: &str, hours: i64) -> AppResult<String> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!("yz_{}", hex::encode(bytes));
        let now = self.now();
        self.store
            .create_token(
                user_id,
                &token_hash(&token),
                name,
                now,
                now + chrono::Duration::hours(hours),
            )
            .await?;
        Ok(token)
    }

    pub async fn authenticate(&self, token: &str) -> AppResult<Principal> {
        if token.len() > 128 {
            return Err(AppError::Unauthenticated);
        }
        let user = self
            .store
            .user_by_token(&token_hash(token), self.now())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        // A carrier's system: its token's last use is shown in the portal
        // (at most one write a minute per token; nobody else's requests
        // write anything here).
        if user.role == Role::CarrierIntegrator {
            let now = self.now();
            self.store
                .note_api_token_use(
                    &token_hash(token),
                    now,
                    now - chrono::Duration::seconds(TOKEN_USE_GRANULARITY_SECONDS),
                )
                .await?;
        }
        Ok(principal_of(user))
    }

    /// Ends a token (signing out of the console); unknown tokens are fine.
    pub async fn sign_out(&self, token: &str) -> AppResult<()> {
        if token.len() <= 128 {
            self.store.revoke_token(&token_hash(token)).await?;
        }
        Ok(())
    }

    /// Makes the device the caller is using the station's self-service
    /// terminal: a token for the station's terminal user (created on first
    /// use), which may run pickups at that station and nothing else.
    pub async fn pair_terminal(&self, principal: &Principal, station_id: i64) -> AppResult<String> {
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        self.store
            .station(station_id)
            .await?
            .ok_or(AppError::NotFound("station"))?;
        let username = format!("terminal-{station_id}");
        let user_id = match self.store.user_by_name(&username).await? {
            Some(user) if user.role == Role::StationTerminal => user.id,
            Some(_) => {
                return Err(AppError::new(Code::UsernameTaken).with("username", username));
            }
            None => {
                // Nobody signs in as a terminal: its password is random and
                // thrown away; only paired tokens open it.
                let mut bytes = [0u8; 24];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                self.create_user_by(
                    &Actor::of(principal),
                    NewUser {
                        username: username.clone(),
                        display_name: format!("自助终端 {station_id}"),
                        password: hex::encode(bytes),
                        role: Role::StationTerminal,
                        carrier: None,
                        station_ids: vec![station_id],
                    },
                )
                .await?
            }
        };
        // Pairing replaces the station's terminal: the tokens of earlier
        // pairings (a lost or replaced tablet) stop working now.
        let mut tx = self.store.begin().await?;
        let revoked = tx.revoke_user_tokens_in(user_id).await?;
        let token = self
            .issue_token_in(&mut *tx, user_id, "terminal", TokenKind::Session, 24 * 365)
            .await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::TerminalPaired,
            Object::new("user", user_id).at(Some(station_id)),
            serde_json::json!({ "tokens_revoked": revoked }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            station = station_id,
            by = %principal.username,
            n_revoked = revoked,
            "terminal paired; earlier terminal tokens revoked"
        );
        // A terminal stays paired for a year (above); the keeper pairs it
        // again.
        Ok(token)
    }

    /// An administrator disables an account: it cannot sign in and its
    /// tokens stop authenticating at once (they are also deleted, so
    /// enabling it again does not bring them back).
    pub async fn disable_user(
        &self,
        principal: &Principal,
        username: &str,
    ) -> AppResult<AccountView> {
        let user = self.administered_user(principal, username).await?;
        if user.id == principal.user_id {
            return Err(AppError::new(Code::CannotDisableSelf));
        }
        let mut tx = self.store.begin().await?;
        tx.set_user_disabled_in(user.id, Some(self.now())).await?;
        let revoked = tx.revoke_user_tokens_in(user.id).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::UserDisabled,
            Object::new("user", user.id),
            serde_json::json!({ "username": user.username, "tokens_revoked": revoked }),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(username = %user.username, by = %principal.username, n_revoked = revoked, "account disabled");
        Ok(AccountView {
            username: user.username,
            role: user.role.code(),
            disabled: true,
            tokens_revoked: revoked,
        })
    }

    /// An administrator (or the operator at the command line) sets a
    /// user's password: a forgotten one, or the demo password of a county
    /// going live. Every token of the account ends with it, so whoever knew
    /// the old password is signed out everywhere.
    pub async fn set_user_password(
        &self,
        principal: &Principal,
        username: &str,
        password: &str,
    ) -> AppResult<AccountView> {
        let user = self.administered_user(principal, username).await?;
        let password = password.to_string();
        let hash = self
            .blocking
            .run(move || hash_password(&password))
            .await??;
        let mut tx = self.store.begin().await?;
        tx.set_password_hash_in(user.id, &hash).await?;
        let revoked = tx.revoke_user_tokens_in(user.id).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::PasswordSet,
            Object::new("user", user.id),
            serde_json::json!({ "username": user.username, "tokens_revoked": revoked }),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(username = %user.username, by = %principal.username, n_revoked = revoked, "password set");
        Ok(AccountView {
            username: user.username,
            role: user.role.code(),
            disabled: user.disabled_at.is_some(),
            tokens_revoked: revoked,
        })
    }

    /// A signed-in person changes their own password, proving the current
    /// one (throttled like signing in: a stolen session must not become a
    /// password guesser). Every token of the account ends, this session's
    /// too, so the person signs in again with the new password and any
    /// other session an intruder held is gone.
    pub async fn change_own_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
        source: &str,
    ) -> AppResult<u64> {
        let policy = self.settings.sign_in_throttle;
        let keys = [format!("user:{}", principal.username.to_lowercase())];
        let now = self.now();
        if let Some(until) = self.sign_in_throttle.locked_until(&policy, &keys, now) {
            return Err(AppError::throttled(Throttle::SignIn, until, now));
        }
        let user = self
            .store
            .user_by_name(&principal.username)
            .await?
            .filter(|user| user.id == principal.user_id)
            .ok_or(AppError::Unauthenticated)?;
        let (current, new, stored) = (current.to_string(), new.to_string(), user.password_hash);
        let checked = self
            .blocking
            .run(move || {
                if !verify_password(&current, &stored) {
                    return Ok(None);
                }
                if current == new {
                    return Err(AppError::new(Code::PasswordUnchanged));
                }
                hash_password(&new).map(Some)
            })
            .await??;
        let Some(hash) = checked else {
            self.sign_in_throttle
                .record_failure(&policy, &keys, self.now());
            tracing::info!(username = %principal.username, source, "password change with a wrong current password");
            return Err(AppError::new(Code::PasswordWrong));
        };
        self.sign_in_throttle.forget(&keys[0]);
        let mut tx = self.store.begin().await?;
        tx.set_password_hash_in(user.id, &hash).await?;
        let revoked = tx.revoke_user_tokens_in(user.id).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::PasswordChanged,
            Object::new("user", user.id),
            serde_json::json!({ "tokens_revoked": revoked }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(username = %principal.username, n_revoked = revoked, "own password changed");
        Ok(revoked)
    }

    /// An administrator enables a disabled account again.
    pub async fn enable_user(
        &self,
        principal: &Principal,
        username: &str,
    ) -> AppResult<AccountView> {
        let user = self.administered_user(principal, username).await?;
        let mut tx = self.store.begin().await?;
        tx.set_user_disabled_in(user.id, None).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::UserEnabled,
            Object::new("user", user.id),
            serde_json::json!({ "username": user.username }),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(username = %user.username, by = %principal.username, "account enabled");
        Ok(AccountView {
            username: user.username,
            role: user.role.code(),
            disabled: false,
            tokens_revoked: 0,
        })
    }

    /// An administrator ends every token of an account (a lost phone, a
    /// leaked integration token); the account may sign in again.
    pub async fn revoke_user_tokens(
        &self,
        principal: &Principal,
        username: &str,
    ) -> AppResult<AccountView> {
        let user = self.administered_user(principal, username).await?;
        let mut tx = self.store.begin().await?;
        let revoked = tx.revoke_user_tokens_in(user.id).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::TokensRevoked,
            Object::new("user", user.id),
            serde_json::json!({ "username": user.username, "tokens_revoked": revoked }),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(username = %user.username, by = %principal.username, n_revoked = revoked, "tokens revoked");
        Ok(AccountView {
            username: user.username,
            role: user.role.code(),
            disabled: user.disabled_at.is_some(),
            tokens_revoked: revoked,
        })
    }

    async fn administered_user(
        &self,
        principal: &Principal,
        username: &str,
    ) -> AppResult<UserRecord> {
        if !principal.may_administer() {
            return Err(AppError::Forbidden("user"));
        }
        let username = domain::limits::text_field("username", username, 32)
            .map_err(text_invalid("username", 32))?;
        self.store
            .user_by_name(username)
            .await?
            .ok_or(AppError::NotFound("user"))
    }
}

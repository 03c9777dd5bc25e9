//! Users, passwords (argon2id) and API tokens. Tokens are random and stored
//! only as their SHA-256, so a copy of the database holds no usable token.

use crate::App;
use crate::error::{AppError, AppResult, Code, text_invalid};
use crate::ports::UserRecord;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use domain::{Carrier, Principal, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};

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
    pub async fn create_user(&self, user: NewUser) -> AppResult<i64> {
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
        };
        Ok(self.store.create_user(&record, self.now()).await?)
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
    pub async fn sign_in(&self, username: &str, password: &str) -> AppResult<(String, Principal)> {
        let user = self.store.user_by_name(username.trim()).await?;
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
        if !verified || user.is_none() {
            tracing::info!(username = %username.chars().take(32).collect::<String>(), "sign-in refused");
            return Err(AppError::Unauthenticated);
        }
        let user = user.expect("checked above");
        let token = self
            .issue_token(user.id, "sign-in", self.settings.token_hours)
            .await?;
        Ok((token, principal_of(user)))
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
                self.create_user(NewUser {
                    username: username.clone(),
                    display_name: format!("自助终端 {station_id}"),
                    password: hex::encode(bytes),
                    role: Role::StationTerminal,
                    carrier: None,
                    station_ids: vec![station_id],
                })
                .await?
            }
        };
        tracing::info!(station = station_id, by = %principal.username, "terminal paired");
        // A terminal stays paired for a year; the keeper pairs it again.
        self.issue_token(user_id, "terminal", 24 * 365).await
    }
}

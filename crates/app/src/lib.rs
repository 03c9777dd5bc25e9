//! The use cases: station inbound, finding and handing out parcels, moves,
//! problems, returns, the holding-period job, notifications and sign-in.
//! Each use case checks the caller's rights, asks the domain for the rule,
//! and writes its change, its event and its outgoing messages in one
//! transaction through the [`ports::Store`] port.

pub mod auth;
pub mod device_commands;
pub mod dispatch;
pub mod error;
pub mod holding;
pub mod inbound;
pub mod manifest;
pub mod notify;
pub mod parcels;
pub mod ports;
pub mod stations;
pub mod webhooks;

use chrono::{DateTime, Utc};
pub use error::{AppError, AppResult};
use ports::{Clock, Store};
use std::sync::Arc;

/// Tunables of the use cases, with the product's defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Arrival notices wait this long in the outbox so that parcels arriving
    /// for one recipient in quick succession go out as one message.
    pub notice_merge_seconds: i64,
    /// API tokens from sign-in live this long.
    pub token_hours: i64,
    /// When failed webhook deliveries are tried again, and how often.
    pub webhook_retry: domain::webhook::RetryPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            notice_merge_seconds: 30,
            token_hours: 12,
            webhook_retry: domain::webhook::RetryPolicy::default(),
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> App {
        App {
            store,
            clock,
            settings: Settings::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Who did something, as written into events.
pub fn actor_of(principal: &domain::Principal) -> String {
    format!("{}:{}", principal.role.code(), principal.username)
}

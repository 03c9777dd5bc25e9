//! The use cases: station inbound, finding and handing out parcels, moves,
//! problems, returns, the holding-period job, notifications and sign-in.
//! Each use case checks the caller's rights, asks the domain for the rule,
//! and writes its change, its event and its outgoing messages in one
//! transaction through the [`ports::Store`] port.

// Shared by every use case: errors, ports, the one parcel transition path
// and what follows an event, station inbound inside a transaction, device
// commands, signed QR codes and the bounded pool for CPU-heavy work. None
// of these imports a use-case module.
pub mod approvals;
pub mod audit;
pub mod blocking;
// The group robots' outbox (issue 16, branch board).
pub mod bots;
pub mod device_commands;
pub mod device_registry;
mod effects;
pub mod error;
pub mod keys;
pub mod ledger;
pub mod paging;
mod pickup_proof;
pub mod ports;
pub mod qr;
mod shelve;
mod transition;
// branch kiosk-dev (issue 14, session 10): the kiosks' devices (shared).
pub mod kiosk_devices;

// The use cases. Each imports the shared modules above, `domain` and
// nothing else of this crate: no use case imports another
// (`tests/layers.rs` holds this).
pub mod auth;
// The county board and the daily report (issue 16, branch board).
pub mod board;
pub mod compliance;
pub mod county;
pub mod dashboard;
pub mod devices;
pub mod dispatch;
pub mod finance;
pub mod fleet;
pub mod holding;
pub mod idempotency;
pub mod inbound;
pub mod manifest;
pub mod notify;
pub mod parcels;
pub mod retention;
pub mod sending;
pub mod sort_plans;
pub mod stations;
pub mod terminal;
pub mod webhooks;
// branch kiosks (issue 14): the kiosk fleet and its daily report.
pub mod kiosks;
// branch presale (issue 14): community pre-sale campaigns.
pub mod presale;

use chrono::{DateTime, Utc};
pub use error::{AppError, AppResult, Code, ErrorKind, Lang};
use ports::{Clock, Random, Store};
use std::sync::Arc;

/// Tunables of the use cases, with the product's defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Arrival notices wait this long in the outbox so that parcels arriving
    /// for one recipient in quick succession go out as one message.
    pub notice_merge_seconds: i64,
    /// API tokens from sign-in live this long.
    pub token_hours: i64,
    /// How wrong passwords are slowed down, per username and per address.
    pub sign_in_throttle: domain::terminal::ThrottlePolicy,
    /// Where customers reach this server (QR links in messages).
    pub public_url: String,
    pub terminal: terminal::TerminalSettings,
    /// When failed webhook deliveries are tried again, and how often.
    pub webhook_retry: domain::webhook::RetryPolicy,
    /// Where webhooks may go: public HTTPS by default; the demo allows plain
    /// http, and an on-premises carrier gateway is allow-listed by CIDR or
    /// host name (`webhooks.allow`).
    pub webhook_targets: domain::webhook::TargetPolicy,
    /// A dispatch plan's search stops after this long even if its iteration
    /// budget is not spent, so one large plan cannot hold a core (and the
    /// county's one planning place) for long.
    pub dispatch_solve_seconds_max: u64,
    /// How long personal data and short-lived rows are kept
    /// (`docs/privacy.md`).
    pub retention: retention::RetentionSettings,
    /// Where a sensitive act needs a second person (maker–checker).
    pub approvals: domain::approval::Thresholds,
    /// Sending: the carrier, the tariff, one-time codes (issue 14).
    pub sending: sending::SendingSettings,
    /// The kiosk fleet: what counts as active, the commission (issue 14).
    pub kiosks: kiosks::KioskSettings,
    /// Invoice reminders' days relative to the due day (negative before;
    /// branch money2, issue 15): `domain::collection::REMINDER_STEPS_DEFAULT`.
    pub invoice_reminder_days: Vec<i64>,
    /// The county manager's mobile number (the whole number), told when a
    /// carrier passes its credit limit or owes over 90 days (branch money2).
    pub county_manager_phone: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            notice_merge_seconds: 30,
            token_hours: 12,
            sign_in_throttle: domain::terminal::ThrottlePolicy::sign_in(),
            public_url: "http://127.0.0.1:8080".into(),
            terminal: terminal::TerminalSettings::default(),
            webhook_retry: domain::webhook::RetryPolicy::default(),
            webhook_targets: domain::webhook::TargetPolicy::default(),
            dispatch_solve_seconds_max: 30,
            retention: retention::RetentionSettings::default(),
            approvals: domain::approval::Thresholds::default(),
            sending: sending::SendingSettings::default(),
            kiosks: kiosks::KioskSettings::default(),
            invoice_reminder_days: domain::collection::REMINDER_STEPS_DEFAULT.to_vec(),
            county_manager_phone: None,
        }
    }
}

/// Keys the server signs with. Random per process until
/// [`App::use_keys`] replaces them with the key file's (`app::keys`), so
/// signed QR codes and console forms survive a restart.
pub struct Secrets {
    /// Signs the QR codes in arrival messages (`qr`).
    pub qr_key: Vec<u8>,
    /// Signs the console's CSRF tokens.
    pub web_key: Vec<u8>,
}

impl Secrets {
    pub fn random() -> Secrets {
        Secrets {
            qr_key: random_key().to_vec(),
            web_key: random_key().to_vec(),
        }
    }
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    key
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(redacted)")
    }
}

/// Called after a change that wrote device commands commits, so the MQTT
/// bridge publishes them now rather than at its next poll.
pub type DeviceWaker = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Draws pickup codes' secrets (`ports::OsRandom` unless a test seeds
    /// one).
    pub random: Arc<dyn Random>,
    pub settings: Settings,
    pub secrets: Arc<Secrets>,
    /// The key file's keys (the device key is derived from here); random
    /// per process until [`App::use_keys`].
    pub keys: Arc<keys::Keys>,
    pub device_waker: DeviceWaker,
    /// Where CPU-heavy work runs (argon2, route solving), off the executor.
    pub blocking: blocking::BlockingPool,
    /// Held while a dispatch plan is made: the deployment serves one county,
    /// and a second plan at the same time would read the same waiting
    /// parcels and only compete for the cores.
    pub dispatch_running: Arc<tokio::sync::Mutex<()>>,
    /// The webhook relay's per-carrier circuit breakers.
    pub webhook_breakers: webhooks::Breakers,
    /// When each webhook subscription last had a test event.
    pub webhook_test_events: webhooks::TestEventTimes,
    /// Recent wrong sign-ins, shared by every clone of the app.
    pub sign_in_throttle: Arc<auth::SignInThrottle>,
    /// Device messages the MQTT bridge dropped, per reason; the bridge
    /// holds the same counters.
    pub dropped_device_messages: Arc<device_registry::DroppedMessages>,
    /// The payment provider (`ports::payments`); a simulated one with a
    /// random key until the binary wires another.
    pub payments: Arc<dyn ports::payments::PaymentProvider>,
    /// The safe-driving rules' memory of every vehicle heard from, and the
    /// zones they read (issue 20).
    pub fleet_rules: fleet::SharedFleetRules,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> App {
        App {
            store,
            clock,
            random: Arc::new(ports::OsRandom),
            settings: Settings::default(),
            secrets: Arc::new(Secrets::random()),
            keys: Arc::new(keys::Keys::ephemeral()),
            device_waker: Arc::new(|| {}),
            blocking: blocking::BlockingPool::sized_to_cores(),
            dispatch_running: Arc::new(tokio::sync::Mutex::new(())),
            webhook_breakers: webhooks::Breakers::default(),
            webhook_test_events: webhooks::TestEventTimes::default(),
            sign_in_throttle: Arc::new(auth::SignInThrottle::default()),
            dropped_device_messages: Arc::default(),
            payments: Arc::new(ports::payments::SimulatedPayments::new(
                random_key().to_vec(),
            )),
            fleet_rules: Arc::default(),
        }
    }

    /// Signs with the key file's keys, so every server process and every
    /// restart agrees on them.
    pub fn use_keys(&mut self, keys: Arc<keys::Keys>) {
        self.secrets = Arc::new(Secrets {
            qr_key: keys.qr.clone(),
            web_key: keys.web.clone(),
        });
        self.keys = keys;
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in Asia/Shanghai by the clock port: the one "today" every
    /// page, report and command defaults to.
    pub fn today(&self) -> chrono::NaiveDate {
        domain::shanghai_day(self.now())
    }
}

/// Who did something, as written into events.
pub fn actor_of(principal: &domain::Principal) -> String {
    format!("{}:{}", principal.role.code(), principal.username)
}

//! The 24-hour station's port: pickup sessions, code attempts and alerts,
//! and the records that cross it (`crate::terminal` is the use case).

use super::{ParcelRecord, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::Phone;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Open,
    /// Every parcel was taken.
    Done,
    /// The customer (or keeper) ended it.
    Ended,
    /// Nothing happened for [`TerminalSettings::idle`].
    Expired,
    /// The door did not open (no ack in time, the door said `expired` or
    /// `failed`, or it was offline): the customer never got in, so nothing
    /// was handed out and the lights went out.
    DoorFailed,
}

impl SessionState {
    pub fn code(self) -> &'static str {
        match self {
            SessionState::Open => "open",
            SessionState::Done => "done",
            SessionState::Ended => "ended",
            SessionState::Expired => "expired",
            SessionState::DoorFailed => "door_failed",
        }
    }

    pub fn from_code(code: &str) -> Option<SessionState> {
        [
            SessionState::Open,
            SessionState::Done,
            SessionState::Ended,
            SessionState::Expired,
            SessionState::DoorFailed,
        ]
        .into_iter()
        .find(|state| state.code() == code)
    }
}

/// One parcel a session's customer may take, and the light segment that
/// shows its slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionItem {
    pub parcel_id: i64,
    pub segment: u32,
    pub slot: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupSessionRecord {
    pub id: i64,
    pub station_id: i64,
    pub terminal: String,
    pub colour: String,
    pub items: Vec<SessionItem>,
    pub state: SessionState,
    pub started_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewPickupSession {
    pub station_id: i64,
    pub terminal: String,
    pub colour: String,
    pub items: Vec<SessionItem>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct CodeAttempt {
    pub station_id: i64,
    pub terminal: String,
    /// The address the attempt came from.
    pub source: String,
    pub phone_tail: Option<String>,
    pub succeeded: bool,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub enum AttemptsBy<'a> {
    Terminal(&'a str),
    Source(&'a str),
    PhoneTail(&'a str),
}

#[derive(Debug, Clone)]
pub struct NewAlert {
    pub station_id: i64,
    pub kind: String,
    pub message: String,
    pub dedup_key: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertRecord {
    pub id: i64,
    pub station_id: i64,
    pub kind: String,
    pub message: String,
    pub at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
}
#[async_trait]
pub trait TerminalTx: Send {
    /// The parcel holding this active pickup code at the station.
    async fn parcel_by_active_code(
        &mut self,
        station_id: i64,
        code: &str,
    ) -> StoreResult<Option<ParcelRecord>>;
    /// Every parcel stored at the station for this phone number.
    async fn stored_parcels_for_phone(
        &mut self,
        station_id: i64,
        phone: &Phone,
    ) -> StoreResult<Vec<ParcelRecord>>;
    async fn open_pickup_sessions(
        &mut self,
        station_id: i64,
    ) -> StoreResult<Vec<PickupSessionRecord>>;
    /// A colour already taken by an open session at the station is a
    /// conflict.
    async fn insert_pickup_session(&mut self, session: &NewPickupSession) -> StoreResult<i64>;
    /// Writes the session's items, state and times back.
    async fn update_pickup_session(&mut self, session: &PickupSessionRecord) -> StoreResult<()>;
    async fn pickup_session(&mut self, id: i64) -> StoreResult<Option<PickupSessionRecord>>;
    async fn record_code_attempt(&mut self, attempt: &CodeAttempt) -> StoreResult<()>;
    /// When the failed attempts at the station since `since` were made, for
    /// one terminal, one source address or one phone tail.
    async fn failed_code_attempts(
        &mut self,
        station_id: i64,
        by: AttemptsBy<'_>,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>>;
    /// Raises an alert unless one with its dedup key exists; false if it did.
    async fn insert_alert(&mut self, alert: &NewAlert) -> StoreResult<bool>;
}

#[async_trait]
pub trait TerminalStore: Send + Sync {
    /// Open pickup sessions with no activity since `idle_before`.
    async fn idle_pickup_sessions(
        &self,
        idle_before: DateTime<Utc>,
    ) -> StoreResult<Vec<PickupSessionRecord>>;
    /// The station's alerts, unacknowledged first, newest first.
    async fn alerts(&self, station_id: i64, limit: u32) -> StoreResult<Vec<AlertRecord>>;
    /// False if there is no such unacknowledged alert at the station.
    async fn acknowledge_alert(
        &self,
        station_id: i64,
        alert_id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

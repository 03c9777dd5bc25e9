//! Seeing (issue 16): the group robots' outbox (`bot_messages`), the
//! county board's figures read from the event tables, and the operators'
//! gauges behind `/metrics`. Counts only: nothing here carries a name, a
//! phone or an address.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A message for a managers' group chat, written in the same transaction
/// as what caused it (the daily report, a day's receipts list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBotMessage {
    /// The robot's configured name (`[bots.NAME]` in `yizhan.toml`).
    pub bot: String,
    /// A second message with the same key is not written (the daily report
    /// of one day goes out once however often it is pushed).
    pub dedup_key: String,
    pub title: String,
    pub markdown: String,
    pub available_at: DateTime<Utc>,
}

/// A message whose next attempt is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueBotMessage {
    pub id: i64,
    pub bot: String,
    pub dedup_key: String,
    pub title: String,
    pub markdown: String,
    pub attempts: u32,
}

/// Where a bot message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BotStatus {
    Pending,
    Sent,
    /// Every attempt failed; kept for the operators, never deleted.
    Failed,
}

impl BotStatus {
    pub fn code(self) -> &'static str {
        match self {
            BotStatus::Pending => "pending",
            BotStatus::Sent => "sent",
            BotStatus::Failed => "failed",
        }
    }
}

/// What the relay writes after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotAttempt {
    pub id: i64,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub status: BotStatus,
    /// A coarse code (`http_status`, `errcode_45009`, `timeout`, …): never
    /// the robot's URL or key.
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// One connection pool's use, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// `writer` or `reader`.
    pub pool: &'static str,
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The backlogs operators alert on, counted now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationsCounts {
    pub outbox_pending: u64,
    pub outbox_given_up: u64,
    /// Age in seconds of the oldest pending message (0 when none).
    pub outbox_oldest_seconds: i64,
    pub webhooks_pending: u64,
    pub webhooks_failed: u64,
    pub webhooks_oldest_seconds: i64,
    pub device_commands_pending: u64,
    pub device_commands_expired: u64,
    pub device_commands_failed: u64,
    pub devices_online: u64,
    pub devices_offline: u64,
    pub bots_pending: u64,
    pub bots_failed: u64,
    pub manual_queue_open: u64,
}

/// Events of one kind for one carrier and mode on one Shanghai day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowCount {
    pub day: chrono::NaiveDate,
    pub kind: String,
    pub carrier: String,
    /// The parcel's county mode, if the centre routed it.
    pub mode: Option<String>,
    pub n: u64,
}

/// A device's online state from `at` on (`device_status_changes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChange {
    pub state_topic: String,
    pub station_id: i64,
    pub online: bool,
    pub at: DateTime<Utc>,
}

/// One station's figures over a range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StationCounts {
    pub station_id: i64,
    /// Parcels scanned in (stored or awaiting consent).
    pub n_in: u64,
    pub n_picked_up: u64,
    /// Pickups the recipient made at the terminal (self-checkout).
    pub n_self_service: u64,
    /// Parcels stored now past the station's holding period.
    pub n_past_holding: u64,
    pub devices_online: u64,
    pub devices_total: u64,
}

/// Fees accrued for a carrier in a mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeCount {
    pub carrier: String,
    pub mode: String,
    pub n: u64,
    pub fen: i64,
}

/// A carrier's webhook deliveries written in the range, by status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookCount {
    pub carrier: String,
    pub status: String,
    pub n: u64,
}

#[async_trait]
pub trait BoardTx: Send {
    /// Writes a bot message unless its key exists; false if it did.
    async fn enqueue_bot_message(
        &mut self,
        message: &NewBotMessage,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait BoardStore: Send + Sync {
    /// Pending bot messages whose next attempt is due, oldest first.
    async fn due_bot_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DueBotMessage>>;
    /// Records one attempt (only while the message is still pending with
    /// the attempts the relay read, so two relays cannot both move it).
    async fn record_bot_attempt(&self, attempt: &BotAttempt) -> StoreResult<()>;
    /// The bot message with this key, if written: its status and attempts.
    async fn bot_message_status(&self, dedup_key: &str) -> StoreResult<Option<(BotStatus, u32)>>;

    /// The connection pools' use now (no query).
    fn pool_use(&self) -> Vec<PoolUse>;
    /// The backlogs counted now.
    async fn operations_counts(&self, now: DateTime<Utc>) -> StoreResult<OperationsCounts>;

    /// Events of `kinds` in `[from, to)`, per Shanghai day, kind, carrier
    /// and mode.
    async fn flow_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        kinds: &[&str],
    ) -> StoreResult<Vec<FlowCount>>;
    /// Open manual-queue entries and when the oldest was queued.
    async fn manual_queue_age(&self) -> StoreResult<(u64, Option<DateTime<Utc>>)>;
    /// Pickups in `[from, to)` by how long the parcel waited on the shelf:
    /// the count in each bucket whose upper bound (hours) is in `bounds`,
    /// plus one last bucket for longer waits.
    async fn dwell_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bounds_hours: &[i64],
    ) -> StoreResult<Vec<u64>>;
    /// Outbox messages of a template written in `[from, to)`.
    async fn messages_written(
        &self,
        template: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Every station's counts over `[from, to)`, with the parcels past
    /// holding and devices online `now`.
    async fn station_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<StationCounts>>;
    /// Devices' changes of online state in `[from, to)`, with each
    /// device's last change before `from` (its state when the range
    /// began), per device in time order.
    async fn device_changes(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<DeviceChange>>;
    /// Fees accrued on Shanghai days `from..=to`, per carrier and mode.
    async fn fee_counts(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<FeeCount>>;
    /// Webhook deliveries written in `[from, to)`, per carrier and status.
    async fn webhook_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<WebhookCount>>;

    /// The days of `from..=to` whose figures are rolled up into the daily
    /// aggregates (ARCHITECTURE.md, "The board's daily aggregates").
    async fn rolled_days(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<chrono::NaiveDate>>;
    /// Every kind's events on the rolled-up days of `from..=to`, summed
    /// per kind, carrier and mode (`day` is `from`): what `flow_counts`
    /// counted when each was rolled up. Summed in the database, so a year
    /// is a few hundred rows, not one per day.
    async fn rolled_flow(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<FlowCount>>;
    /// The same events per rolled-up day and kind (all carriers and modes).
    async fn rolled_flow_by_day(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<(chrono::NaiveDate, String, u64)>>;
    /// Parcels in, picked up and self-service pickups per station over the
    /// rolled-up days of `from..=to` (the other fields are zero).
    async fn rolled_stations(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<StationCounts>>;
    /// The other daily counters (`dwell:<hours>`, `message:<template>`)
    /// summed over the rolled-up days of `from..=to`.
    async fn rolled_counts(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<std::collections::BTreeMap<String, u64>>;
    /// Fees per carrier and mode over the rolled-up days of `from..=to`.
    async fn rolled_fees(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> StoreResult<Vec<FeeCount>>;
    /// Rolls Shanghai day `day` up from the event tables in one
    /// transaction (the flow: events of `kinds`); false if it was rolled up
    /// already. Dwell buckets are labelled by their upper bound in hours.
    async fn roll_up_day(
        &self,
        day: chrono::NaiveDate,
        kinds: &[&str],
        bounds_hours: &[i64],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The Shanghai day of the first event recorded, if any.
    async fn first_event_day(&self) -> StoreResult<Option<chrono::NaiveDate>>;
}

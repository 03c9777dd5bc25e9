//! Tracking back to carriers: the port for webhook subscriptions, the
//! webhooks' outbox (deliveries) and the attempt log.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::Carrier;
use domain::webhook::WebhookSecret;
use serde::Serialize;

/// A carrier's subscription as stored. The secret signs every delivery; it
/// leaves the system once, in the answer that creates the subscription.
#[derive(Debug, Clone)]
pub struct WebhookSubscription {
    pub id: i64,
    pub carrier: Carrier,
    pub url: String,
    pub secret: WebhookSecret,
    /// Public event names (`domain::webhook::EVENTS`) this subscription hears.
    pub event_kinds: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// The secret before the last rotation, still signing (beside the new
    /// one) until `previous_secret_until`, so a receiver can switch over.
    pub previous_secret: Option<WebhookSecret>,
    pub previous_secret_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewWebhookSubscription {
    pub carrier: Carrier,
    pub url: String,
    pub secret: WebhookSecret,
    pub event_kinds: Vec<String>,
    pub created_by: String,
}

/// One delivery written to the webhooks' outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhookDelivery {
    pub subscription_id: i64,
    pub carrier: Carrier,
    /// The de-duplication key: the event's idempotency key and the
    /// subscription. The database refuses a second row with it.
    pub delivery_key: String,
    pub event_kind: String,
    /// The exact body that will be signed and sent.
    pub payload: String,
    pub available_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Every attempt failed; kept for inspection, never deleted.
    Failed,
}

impl DeliveryStatus {
    pub fn code(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.code() == code)
    }
}

/// A delivery whose next attempt is due, with what sending it needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub subscription_id: i64,
    pub carrier: Carrier,
    pub delivery_key: String,
    pub event_kind: String,
    pub payload: String,
    pub attempts: u32,
    pub url: String,
    pub secret: WebhookSecret,
    pub previous_secret: Option<WebhookSecret>,
    pub previous_secret_until: Option<DateTime<Utc>>,
}

/// One parcel event of a carrier's parcels, for the carrier's event feed.
#[derive(Debug, Clone)]
pub struct CarrierEventRecord {
    /// The event's id: the feed's cursor.
    pub id: i64,
    pub parcel_id: i64,
    pub waybill: String,
    pub kind: String,
    pub to_state: String,
    pub at: DateTime<Utc>,
    pub station_id: Option<i64>,
    pub idempotency_key: String,
}

/// A delivery as the carrier's log shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub subscription_id: i64,
    pub carrier: Carrier,
    pub delivery_key: String,
    pub event_kind: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed, in English (`last_error_zh` in
    /// Chinese, `last_error_code` stable): never connection details.
    pub last_error: Option<String>,
    pub last_error_zh: Option<String>,
    pub last_error_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One attempt to send a delivery, as logged.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptRecord {
    pub id: i64,
    pub delivery_id: i64,
    pub subscription_id: i64,
    pub carrier: Carrier,
    pub delivery_key: String,
    pub event_kind: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    /// Why it failed, in English (`error_zh` in Chinese, `error_code`
    /// stable): never connection details.
    pub error: Option<String>,
    pub error_zh: Option<String>,
    pub error_code: Option<String>,
    /// When the next attempt is due; none once delivered or given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Where the delivery stood after this attempt: `pending` (to be
    /// retried), `delivered`, `failed`, or `duplicate` when another relay
    /// had already moved the delivery on.
    pub outcome: String,
}

/// What the relay writes after one attempt: the delivery's new state and
/// its log row, in one transaction.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub delivery_id: i64,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub status: DeliveryStatus,
}
#[async_trait]
pub trait WebhookTx: Send {
    /// A carrier's webhook subscriptions (active or not; not deleted), read inside the
    /// transaction that writes an event, so the deliveries it writes match.
    async fn webhook_subscriptions_for(
        &mut self,
        carrier: Carrier,
    ) -> StoreResult<Vec<WebhookSubscription>>;
    /// Writes a webhook delivery unless its delivery key exists; false if it did.
    async fn enqueue_webhook(
        &mut self,
        delivery: &NewWebhookDelivery,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    // Subscription changes, in the transaction so their audit rows commit
    // with them.
    async fn create_webhook_subscription(
        &mut self,
        subscription: &NewWebhookSubscription,
        now: DateTime<Utc>,
    ) -> StoreResult<WebhookSubscription>;
    /// Writes a subscription's URL, event kinds and active flag.
    async fn update_webhook_subscription(
        &mut self,
        subscription: &WebhookSubscription,
    ) -> StoreResult<()>;
    /// Replaces a subscription's secret; the old one keeps signing until
    /// `previous_until`.
    async fn rotate_webhook_secret(
        &mut self,
        id: i64,
        secret: &WebhookSecret,
        previous: &WebhookSecret,
        previous_until: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Deletes a subscription (kept as a tombstone for its delivery log)
    /// and closes its pending deliveries as failed, in one transaction.
    async fn delete_webhook_subscription(&mut self, id: i64, now: DateTime<Utc>)
    -> StoreResult<()>;
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// A subscription that is not deleted.
    async fn webhook_subscription(&self, id: i64) -> StoreResult<Option<WebhookSubscription>>;
    /// One carrier's subscriptions, or everyone's, by id; deleted ones are gone.
    async fn webhook_subscriptions(
        &self,
        carrier: Option<Carrier>,
    ) -> StoreResult<Vec<WebhookSubscription>>;
    /// Writes one delivery outside a parcel's transaction (a test event).
    async fn enqueue_webhook_now(
        &self,
        delivery: &NewWebhookDelivery,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Pending deliveries of active subscriptions whose next attempt is
    /// due, oldest first, at most `per_carrier` of each carrier (so one
    /// carrier's backlog cannot fill the batch).
    async fn due_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        per_carrier: u32,
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Events of a carrier's parcels with ids above `after_id` whose kind
    /// is one of `kinds`, by id.
    async fn carrier_events(
        &self,
        carrier: Carrier,
        kinds: &[&str],
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<CarrierEventRecord>>;
    /// Records one attempt: the delivery's new status and next attempt, and
    /// its row in the attempt log, in one transaction.
    async fn record_webhook_attempt(&self, outcome: &AttemptOutcome) -> StoreResult<()>;
    /// A subscription's deliveries with ids above `after_id`, by id.
    async fn webhook_deliveries(
        &self,
        subscription_id: i64,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    /// A carrier's attempt log with ids above `after_id`, by id.
    async fn webhook_attempts(
        &self,
        carrier: Carrier,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<AttemptRecord>>;
}

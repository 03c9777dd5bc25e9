//! Tracking back to carriers: per-carrier webhook subscriptions, the
//! deliveries a parcel event writes into the webhooks' outbox inside the
//! use case's own transaction, the relay that signs and sends them with
//! back-off, and the public tracking query.
//!
//! Webhook deliveries have their own table (`webhook_deliveries`) rather than
//! rows in `outbox`: the message relay hands every outbox row to the SMS
//! sender, and a delivery needs its subscription, its attempt log and a
//! status a carrier can read.
//!
//! What a carrier receives is what it already knows plus what happened:
//! waybill, event, time, place. Never the recipient's name, phone or
//! address, and never the pickup code: the code together with the phone
//! tail (which the carrier has) is enough to collect the parcel at the
//! counter, so the code goes only to the recipient, by SMS. The payload says
//! `has_pickup_code` instead, which is what a carrier's app needs to tell its
//! customer "your code was sent by SMS".

use crate::App;
pub use crate::effects::deliveries::Place;
use crate::effects::deliveries::{iso_shanghai, place_of};
use crate::error::{AppError, AppResult, Code};
use crate::ports::StationRecord;
pub use crate::ports::webhooks::{
    AttemptOutcome, AttemptRecord, CarrierEventRecord, DeliveryRecord, DeliveryStatus, DueDelivery,
    NewWebhookDelivery, NewWebhookSubscription, WebhookSubscription,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::webhook::{
    self, CircuitBreaker, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TargetRefusal,
    WebhookSecret,
};
use domain::{Carrier, Principal, WaybillNo};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A subscription as the API shows it: everything but the secret.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionView {
    pub id: i64,
    pub carrier: Carrier,
    pub url: String,
    pub event_kinds: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl From<&WebhookSubscription> for SubscriptionView {
    fn from(s: &WebhookSubscription) -> Self {
        SubscriptionView {
            id: s.id,
            carrier: s.carrier,
            url: s.url.clone(),
            event_kinds: s.event_kinds.clone(),
            active: s.active,
            created_at: s.created_at,
            created_by: s.created_by.clone(),
        }
    }
}

/// The answer to creating a subscription: the only time the secret is shown.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    pub secret: String,
}

/// Changes to a subscription; what is absent stays.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    pub url: Option<String>,
    pub event_kinds: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// Posts a signed body to a carrier. The binary's adapter uses reqwest with
/// a timeout, resolves the host itself and refuses internal addresses;
/// tests may use anything that speaks HTTP.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// `Ok(status)` when the receiver answered (any status), `Err` when it
    /// was refused, could not be reached or did not answer in time.
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, SendFailure>;
}

/// Why a delivery attempt got no answer. Deliberately coarse: the log a
/// carrier reads must not tell an internal host's open ports from its
/// closed ones, so there is no "connection refused", no address, no port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// The host is, or resolves to, an internal address not on the allow-list.
    PrivateAddress,
    /// Plain `http://` where HTTPS is required.
    HttpsRequired,
    Timeout,
    Unreachable,
    /// The receiver's certificate was not trusted.
    Tls,
    Failed,
}

impl SendFailure {
    /// The stable code stored in the log.
    pub fn code(self) -> &'static str {
        match self {
            SendFailure::PrivateAddress => "private_address",
            SendFailure::HttpsRequired => "https_required",
            SendFailure::Timeout => "timeout",
            SendFailure::Unreachable => "unreachable",
            SendFailure::Tls => "tls",
            SendFailure::Failed => "failed",
        }
    }
}

/// The stored error codes of the delivery log and their English and
/// Chinese wording. `http_status` names the status code beside it.
const ERROR_TEXTS: &[(&str, &str, &str)] = &[
    (
        "private_address",
        "refused: private address",
        "已拒绝：内部地址",
    ),
    (
        "https_required",
        "refused: the URL must use https://",
        "已拒绝：回调地址须使用 https://",
    ),
    (
        "timeout",
        "the receiver did not answer in time",
        "接收方未在时限内应答",
    ),
    (
        "unreachable",
        "the receiver could not be reached",
        "无法连接接收方",
    ),
    (
        "tls",
        "the receiver's TLS certificate was not accepted",
        "接收方的 TLS 证书未通过验证",
    ),
    ("failed", "sending failed", "发送失败"),
    (
        "subscription_deleted",
        "the subscription was deleted before delivery",
        "投递前订阅已被删除",
    ),
];

/// (English, Chinese, code) of a stored error: a known code is worded in
/// both languages; older free text is shown as it is.
fn describe_error(stored: &str, status_code: Option<u16>) -> (String, String, Option<String>) {
    if stored == "http_status" {
        let code = status_code.map(|c| c.to_string()).unwrap_or_default();
        return (
            format!("the receiver answered {code}"),
            format!("接收方返回 {code}"),
            Some(stored.to_string()),
        );
    }
    match ERROR_TEXTS.iter().find(|(code, _, _)| *code == stored) {
        Some((code, en, zh)) => (en.to_string(), zh.to_string(), Some(code.to_string())),
        None => (stored.to_string(), stored.to_string(), None),
    }
}

fn describe_delivery(mut record: DeliveryRecord) -> DeliveryRecord {
    if let Some(stored) = record.last_error.take() {
        let (en, zh, code) = describe_error(&stored, record.last_status_code);
        record.last_error = Some(en);
        record.last_error_zh = Some(zh);
        record.last_error_code = code;
    }
    record
}

fn describe_attempt(mut record: AttemptRecord) -> AttemptRecord {
    if let Some(stored) = record.error.take() {
        let (en, zh, code) = describe_error(&stored, record.status_code);
        record.error = Some(en);
        record.error_zh = Some(zh);
        record.error_code = code;
    }
    record
}

/// The refusal for a subscription URL the policy does not accept.
fn refuse_url(refusal: TargetRefusal) -> AppError {
    match refusal {
        TargetRefusal::Invalid(detail) => {
            AppError::new(Code::WebhookUrlInvalid).with_detail(detail)
        }
        TargetRefusal::HttpsRequired => AppError::new(Code::WebhookHttpsRequired),
        TargetRefusal::PrivateAddress { host } => {
            AppError::new(Code::WebhookUrlPrivate).with("host", host)
        }
    }
}

/// Most hours the previous secret may keep signing after a rotation.
pub const ROTATION_OVERLAP_HOURS_MAX: u32 = 7 * 24;
/// The overlap when the caller names none.
pub const ROTATION_OVERLAP_HOURS_DEFAULT: u32 = 24;

/// The answer to a rotation: the new secret, shown this once, and until
/// when the old one still signs.
#[derive(Debug, Clone, Serialize)]
pub struct RotatedSecret {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    pub secret: String,
    pub previous_secret_valid_until: DateTime<Utc>,
}

/// A test event written for a subscription.
#[derive(Debug, Clone, Serialize)]
pub struct TestDelivery {
    pub subscription_id: i64,
    pub delivery_id: String,
    pub event: &'static str,
}

/// One event of a carrier's feed: what a webhook would have carried.
#[derive(Debug, Clone, Serialize)]
pub struct FeedEvent {
    /// The cursor: pass the last one as `after` for the next page.
    pub id: i64,
    pub event: &'static str,
    pub event_zh: &'static str,
    pub event_key: String,
    pub carrier: Carrier,
    pub waybill: String,
    pub state: String,
    pub at: DateTime<Utc>,
    pub at_shanghai: String,
    pub place: Option<Place>,
}

/// A page of a carrier's event feed.
#[derive(Debug, Clone, Serialize)]
pub struct EventFeed {
    pub events: Vec<FeedEvent>,
    /// The `after` for the next page (the last event's id, or the `after`
    /// asked for when the page is empty).
    pub next_after: i64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WebhookRelayReport {
    pub n_delivered: u32,
    pub n_retrying: u32,
    pub n_failed: u32,
    /// Due deliveries not attempted because their carrier's breaker is open.
    pub n_skipped: u32,
    /// Some carrier had a full batch: more may be due at once.
    pub more_due: bool,
}

impl WebhookRelayReport {
    fn add(&mut self, other: WebhookRelayReport) {
        self.n_delivered += other.n_delivered;
        self.n_retrying += other.n_retrying;
        self.n_failed += other.n_failed;
        self.n_skipped += other.n_skipped;
        self.more_due |= other.more_due;
    }
}

/// The relay's per-carrier circuit breakers (in memory: a restart gives
/// every carrier a fresh chance).
pub type Breakers = std::sync::Arc<std::sync::Mutex<HashMap<Carrier, CircuitBreaker>>>;

/// When each subscription last had a test event, so that the test button
/// cannot fill the deliveries table (one a subscription per
/// [`TEST_EVENT_GAP_SECONDS`]). In memory like the breakers: a restart
/// forgets it, which costs at most one extra test event.
pub type TestEventTimes = std::sync::Arc<std::sync::Mutex<HashMap<i64, DateTime<Utc>>>>;

/// The least time between two test events of one subscription.
pub const TEST_EVENT_GAP_SECONDS: i64 = 10;

/// The public name of the event an integrator sends itself to try an
/// endpoint (defined with the event table in `domain::webhook`).
pub use domain::webhook::{TEST_EVENT, TEST_EVENT_ZH};

fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

/// A page of the carrier's delivery log.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub after_id: Option<i64>,
    pub limit: u32,
}

impl App {
    /// Subscribes a carrier's endpoint. County staff may do it for any
    /// carrier, a carrier's own user for its own carrier only. The secret
    /// is in this answer and nowhere else, ever.
    pub async fn create_webhook(
        &self,
        principal: &Principal,
        carrier: Carrier,
        url: &str,
        event_kinds: &[String],
    ) -> AppResult<CreatedSubscription> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        let url = self
            .settings
            .webhook_targets
            .check_url(url)
            .map_err(refuse_url)?
            .to_string();
        let event_kinds = webhook::parse_event_names(event_kinds)
            .map_err(AppError::detail(Code::WebhookEventsInvalid))?;
        // Inactive subscriptions count too (their deliveries wait); a
        // deleted one makes room.
        let existing = self.store.webhook_subscriptions(Some(carrier)).await?;
        if existing.len() >= webhook::SUBSCRIPTIONS_PER_CARRIER_MAX {
            return Err(AppError::new(Code::WebhookLimit)
                .with("max", webhook::SUBSCRIPTIONS_PER_CARRIER_MAX));
        }
        let secret = new_secret();
        let mut tx = self.store.begin().await?;
        let subscription = tx
            .create_webhook_subscription(
                &NewWebhookSubscription {
                    carrier,
                    url,
                    secret: WebhookSecret::new(secret.clone()),
                    event_kinds,
                    created_by: crate::actor_of(principal),
                },
                self.now(),
            )
            .await?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::WebhookCreated,
            crate::audit::Object::new("webhook_subscription", subscription.id),
            serde_json::json!({ "carrier": carrier.code() }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(carrier = %carrier, subscription = subscription.id, user = %principal.username, "webhook subscription created");
        Ok(CreatedSubscription {
            subscription: SubscriptionView::from(&subscription),
            secret,
        })
    }

    /// A carrier's subscriptions, without their secrets.
    pub async fn webhooks(
        &self,
        principal: &Principal,
        carrier: Carrier,
    ) -> AppResult<Vec<SubscriptionView>> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        Ok(self
            .store
            .webhook_subscriptions(Some(carrier))
            .await?
            .iter()
            .map(SubscriptionView::from)
            .collect())
    }

    /// Every subscription (the CLI's list); county staff only.
    pub async fn all_webhooks(&self, principal: &Principal) -> AppResult<Vec<SubscriptionView>> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("webhooks"));
        }
        Ok(self
            .store
            .webhook_subscriptions(None)
            .await?
            .iter()
            .map(SubscriptionView::from)
            .collect())
    }

    /// Loads a subscription the caller may manage; another carrier's
    /// answers "not found", so its existence is not revealed.
    async fn own_webhook(
        &self,
        principal: &Principal,
        subscription_id: i64,
    ) -> AppResult<WebhookSubscription> {
        let subscription = self
            .store
            .webhook_subscription(subscription_id)
            .await?
            .ok_or(AppError::NotFound("webhook subscription"))?;
        if !principal.may_act_for_carrier(subscription.carrier) {
            return Err(AppError::NotFound("webhook subscription"));
        }
        Ok(subscription)
    }

    /// Changes a subscription's URL, events or active flag. Deliveries
    /// already written keep waiting while it is inactive and go out when it
    /// is active again; nothing is dropped.
    pub async fn update_webhook(
        &self,
        principal: &Principal,
        subscription_id: i64,
        patch: SubscriptionPatch,
    ) -> AppResult<SubscriptionView> {
        let mut subscription = self.own_webhook(principal, subscription_id).await?;
        if let Some(url) = &patch.url {
            subscription.url = self
                .settings
                .webhook_targets
                .check_url(url)
                .map_err(refuse_url)?
                .to_string();
        }
        if let Some(kinds) = &patch.event_kinds {
            subscription.event_kinds = webhook::parse_event_names(kinds)
                .map_err(AppError::detail(Code::WebhookEventsInvalid))?;
        }
        if let Some(active) = patch.active {
            subscription.active = active;
        }
        let mut tx = self.store.begin().await?;
        tx.update_webhook_subscription(&subscription).await?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::WebhookUpdated,
            crate::audit::Object::new("webhook_subscription", subscription.id),
            serde_json::json!({ "carrier": subscription.carrier.code(), "active": subscription.active, "url_changed": patch.url.is_some(), "events_changed": patch.event_kinds.is_some() }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(carrier = %subscription.carrier, subscription = subscription.id, active = subscription.active, user = %principal.username, "webhook subscription changed");
        Ok(SubscriptionView::from(&subscription))
    }

    /// A subscription's deliveries, newest last, a page at a time.
    pub async fn webhook_deliveries(
        &self,
        principal: &Principal,
        subscription_id: i64,
        page: Page,
    ) -> AppResult<Vec<DeliveryRecord>> {
        crate::paging::page_size(Some(page.limit))?;
        self.own_webhook(principal, subscription_id).await?;
        Ok(self
            .store
            .webhook_deliveries(subscription_id, page.after_id.unwrap_or(0), page.limit)
            .await?
            .into_iter()
            .map(describe_delivery)
            .collect())
    }

    /// Every attempt to deliver to a carrier, oldest first, a page at a time.
    pub async fn webhook_attempts(
        &self,
        principal: &Principal,
        carrier: Carrier,
        page: Page,
    ) -> AppResult<Vec<AttemptRecord>> {
        crate::paging::page_size(Some(page.limit))?;
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        Ok(self
            .store
            .webhook_attempts(carrier, page.after_id.unwrap_or(0), page.limit)
            .await?
            .into_iter()
            .map(describe_attempt)
            .collect())
    }

    /// Deletes a subscription: it hears no more events, its pending
    /// deliveries are closed as failed, and it no longer counts toward the
    /// carrier's cap. Its delivery log is kept (for the county's records).
    pub async fn delete_webhook(
        &self,
        principal: &Principal,
        subscription_id: i64,
    ) -> AppResult<()> {
        let subscription = self.own_webhook(principal, subscription_id).await?;
        let mut tx = self.store.begin().await?;
        tx.delete_webhook_subscription(subscription.id, self.now())
            .await?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::WebhookDeleted,
            crate::audit::Object::new("webhook_subscription", subscription.id),
            serde_json::json!({ "carrier": subscription.carrier.code() }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(carrier = %subscription.carrier, subscription = subscription.id, user = %principal.username, "webhook subscription deleted");
        Ok(())
    }

    /// Gives a subscription a new secret, shown in this answer only. The old
    /// one keeps signing beside it for `overlap_hours` (default 24), so the
    /// receiver can switch at its own pace: during the overlap every
    /// delivery carries two `v1` signatures, one per secret.
    pub async fn rotate_webhook_secret(
        &self,
        principal: &Principal,
        subscription_id: i64,
        overlap_hours: Option<u32>,
    ) -> AppResult<RotatedSecret> {
        let overlap = overlap_hours.unwrap_or(ROTATION_OVERLAP_HOURS_DEFAULT);
        if overlap > ROTATION_OVERLAP_HOURS_MAX {
            return Err(
                AppError::new(Code::WebhookOverlapInvalid).with("max", ROTATION_OVERLAP_HOURS_MAX)
            );
        }
        let subscription = self.own_webhook(principal, subscription_id).await?;
        let secret = new_secret();
        let until = self.now() + chrono::Duration::hours(i64::from(overlap));
        let mut tx = self.store.begin().await?;
        tx.rotate_webhook_secret(
            subscription.id,
            &WebhookSecret::new(secret.clone()),
            &subscription.secret,
            until,
        )
        .await?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::WebhookSecretRotated,
            crate::audit::Object::new("webhook_subscription", subscription.id),
            serde_json::json!({ "carrier": subscription.carrier.code(), "overlap_hours": overlap }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(carrier = %subscription.carrier, subscription = subscription.id, overlap_hours = overlap, user = %principal.username, "webhook secret rotated");
        Ok(RotatedSecret {
            subscription: SubscriptionView::from(&subscription),
            secret,
            previous_secret_valid_until: until,
        })
    }

    /// Writes a `test` event for a subscription: signed and sent by the
    /// relay like any delivery, and logged, so an integrator can check the
    /// endpoint and the signature before real parcels flow.
    pub async fn send_test_webhook(
        &self,
        principal: &Principal,
        subscription_id: i64,
    ) -> AppResult<TestDelivery> {
        let subscription = self.own_webhook(principal, subscription_id).await?;
        let now = self.now();
        {
            let mut sent = self
                .webhook_test_events
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(last) = sent.get(&subscription.id) {
                let next = *last + chrono::Duration::seconds(TEST_EVENT_GAP_SECONDS);
                if next > now {
                    return Err(AppError::throttled(
                        crate::error::Throttle::TestEvent,
                        next,
                        now,
                    ));
                }
            }
            sent.insert(subscription.id, now);
        }
        let delivery_key = format!("test:{}:s{}", &new_secret()[6..22], subscription.id);
        let body = serde_json::json!({
            "delivery_id": delivery_key,
            "event": TEST_EVENT,
            "event_zh": TEST_EVENT_ZH,
            "carrier": subscription.carrier,
            "at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "at_shanghai": iso_shanghai(now),
            "test": true,
        });
        self.store
            .enqueue_webhook_now(
                &NewWebhookDelivery {
                    subscription_id: subscription.id,
                    carrier: subscription.carrier,
                    delivery_key: delivery_key.clone(),
                    event_kind: TEST_EVENT.to_string(),
                    payload: body.to_string(),
                    available_at: now,
                },
                now,
            )
            .await?;
        tracing::info!(carrier = %subscription.carrier, subscription = subscription.id, user = %principal.username, "webhook test event written");
        Ok(TestDelivery {
            subscription_id: subscription.id,
            delivery_id: delivery_key,
            event: TEST_EVENT,
        })
    }

    /// A carrier's parcel events as webhooks carry them, oldest first, after
    /// the cursor `after` (an event id; 0 or absent: from the start), so an
    /// integrator can backfill what a down endpoint missed. A carrier sees
    /// only its own parcels; county staff any carrier's.
    pub async fn carrier_events(
        &self,
        principal: &Principal,
        carrier: Carrier,
        after: Option<i64>,
        limit: Option<u32>,
    ) -> AppResult<EventFeed> {
        let limit = crate::paging::page_size(limit)?;
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        let after = after.unwrap_or(0).max(0);
        let kinds: Vec<&str> = webhook::EVENTS
            .iter()
            .filter(|event| event.webhook)
            .map(|event| event.internal)
            .collect();
        let records = self
            .store
            .carrier_events(carrier, &kinds, after, limit)
            .await?;
        let mut stations: HashMap<i64, Option<StationRecord>> = HashMap::new();
        let mut events = Vec::with_capacity(records.len());
        for record in records {
            let Some(public) = webhook::public_event(&record.kind) else {
                continue;
            };
            let station = match public.place {
                webhook::PlaceKind::Station => {
                    self.cached_station(&mut stations, record.station_id)
                        .await?
                }
                _ => None,
            };
            events.push(FeedEvent {
                id: record.id,
                event: public.public,
                event_zh: public.name_zh,
                event_key: record.idempotency_key,
                carrier,
                waybill: record.waybill,
                state: record.to_state,
                at: record.at,
                at_shanghai: iso_shanghai(record.at),
                place: place_of(public.place, station.as_ref()),
            });
        }
        let next_after = events.last().map_or(after, |event| event.id);
        Ok(EventFeed { events, next_after })
    }

    /// Sends the deliveries that are due, once each: signs the stored body
    /// with the subscription's secret (and the previous one during a
    /// rotation) and the current time, posts it, and records the attempt. A
    /// 2xx answer delivers; anything else is retried on the settings'
    /// back-off schedule until its attempts run out. Carriers are served
    /// concurrently, each in order, at most `limit` deliveries each; a
    /// carrier whose breaker is open is skipped, the others go on. Safe to
    /// run from several places: a delivery that went out twice carries the
    /// same `X-Yizhan-Delivery` key, which receivers de-duplicate on.
    pub async fn relay_webhooks_once(
        &self,
        sender: &dyn WebhookSender,
        limit: u32,
    ) -> AppResult<WebhookRelayReport> {
        let due = self.store.due_webhook_deliveries(self.now(), limit).await?;
        let mut by_carrier: BTreeMap<Carrier, Vec<DueDelivery>> = BTreeMap::new();
        for delivery in due {
            by_carrier
                .entry(delivery.carrier)
                .or_default()
                .push(delivery);
        }
        let reports =
            futures::future::join_all(by_carrier.into_iter().map(|(carrier, deliveries)| {
                self.relay_carrier(sender, carrier, deliveries, limit)
            }))
            .await;
        let mut report = WebhookRelayReport::default();
        for one in reports {
            report.add(one?);
        }
        Ok(report)
    }

    async fn relay_carrier(
        &self,
        sender: &dyn WebhookSender,
        carrier: Carrier,
        deliveries: Vec<DueDelivery>,
        limit: u32,
    ) -> AppResult<WebhookRelayReport> {
        let n = deliveries.len() as u32;
        // A full batch may have more behind it; a skipped carrier has not.
        let mut report = WebhookRelayReport {
            more_due: n >= limit,
            ..WebhookRelayReport::default()
        };
        for (done, delivery) in deliveries.into_iter().enumerate() {
            let now = self.now();
            let allowed = self
                .webhook_breakers
                .lock()
                .map(|breakers| breakers.get(&carrier).is_none_or(|b| b.allows(now)))
                .unwrap_or(true);
            if !allowed {
                report.n_skipped += n - done as u32;
                report.more_due = false;
                break;
            }
            let status = self.attempt_delivery(sender, &delivery, now).await?;
            match status {
                DeliveryStatus::Delivered => report.n_delivered += 1,
                DeliveryStatus::Pending => report.n_retrying += 1,
                DeliveryStatus::Failed => report.n_failed += 1,
            }
            if let Ok(mut breakers) = self.webhook_breakers.lock() {
                let breaker = breakers.entry(carrier).or_default();
                if breaker.record(status == DeliveryStatus::Delivered, now) {
                    tracing::warn!(
                        carrier = %carrier,
                        until = ?breaker.open_until(now),
                        "webhook deliveries to this carrier keep failing; skipping it for a while"
                    );
                }
            }
        }
        Ok(report)
    }

    /// One attempt at one delivery, recorded; the delivery's new status.
    async fn attempt_delivery(
        &self,
        sender: &dyn WebhookSender,
        delivery: &DueDelivery,
        now: DateTime<Utc>,
    ) -> AppResult<DeliveryStatus> {
        let mut secrets = vec![delivery.secret.reveal()];
        if let (Some(previous), Some(until)) =
            (&delivery.previous_secret, delivery.previous_secret_until)
            && now < until
        {
            secrets.push(previous.reveal());
        }
        let signature =
            webhook::sign_with_all(&secrets, now.timestamp(), delivery.payload.as_bytes());
        let attempt = delivery.attempts + 1;
        let headers = [
            ("Content-Type", "application/json".to_string()),
            (SIGNATURE_HEADER, signature),
            (DELIVERY_HEADER, delivery.delivery_key.clone()),
            (EVENT_HEADER, delivery.event_kind.clone()),
            ("X-Yizhan-Attempt", attempt.to_string()),
        ];
        // The policy again, before any network: the URL was checked when it
        // was registered, but the policy may have been tightened since.
        let result = match self.settings.webhook_targets.check_url(&delivery.url) {
            Ok(_) => {
                sender
                    .post(&delivery.url, &headers, &delivery.payload)
                    .await
            }
            Err(TargetRefusal::HttpsRequired) => Err(SendFailure::HttpsRequired),
            Err(TargetRefusal::PrivateAddress { .. }) => Err(SendFailure::PrivateAddress),
            Err(TargetRefusal::Invalid(_)) => Err(SendFailure::Failed),
        };
        let (status_code, error) = match result {
            Ok(code) if (200..300).contains(&code) => (Some(code), None),
            Ok(code) => (Some(code), Some("http_status".to_string())),
            Err(failure) => (None, Some(failure.code().to_string())),
        };
        let (status, next_attempt_at) = if error.is_none() {
            (DeliveryStatus::Delivered, None)
        } else {
            match self
                .settings
                .webhook_retry
                .delay_after(attempt, &delivery.delivery_key)
            {
                Some(delay) => (DeliveryStatus::Pending, Some(now + delay)),
                None => (DeliveryStatus::Failed, None),
            }
        };
        tracing::info!(
            carrier = %delivery.carrier,
            subscription = delivery.subscription_id,
            delivery = %delivery.delivery_key,
            event = %delivery.event_kind,
            attempt,
            status_code,
            error = error.as_deref().unwrap_or(""),
            outcome = status.code(),
            "webhook attempt"
        );
        self.store
            .record_webhook_attempt(&AttemptOutcome {
                delivery_id: delivery.id,
                attempt,
                at: now,
                status_code,
                error,
                next_attempt_at,
                status,
            })
            .await?;
        Ok(status)
    }

    /// The public tracking answer for a waybill: status, place and the
    /// timeline, with no personal data. Anyone may ask, so it says nothing a
    /// waybill number should not reveal: no name, phone, address or code.
    pub async fn track(&self, waybill: &str, carrier: Option<Carrier>) -> AppResult<TrackView> {
        let waybill = WaybillNo::parse(waybill)
            .map_err(|e| AppError::new(Code::WaybillInvalid).with_detail(e))?;
        let parcels = self
            .store
            .parcels(&crate::ports::ParcelFilter {
                waybill: Some(waybill.as_str().to_string()),
                carrier,
                limit: TRACK_PARCELS_MAX,
                ..crate::ports::ParcelFilter::default()
            })
            .await?;
        if parcels.is_empty() {
            // A sender's order has its waybill from the pool before any
            // parcel of ours does (branch send-flow).
            let sending = self.track_sending(waybill.as_str(), carrier).await?;
            if sending.is_empty() {
                return Err(AppError::NotFound("waybill"));
            }
            return Ok(TrackView {
                parcels: Vec::new(),
                sending,
            });
        }
        let mut stations: HashMap<i64, Option<StationRecord>> = HashMap::new();
        let mut tracked = Vec::with_capacity(parcels.len());
        for parcel in parcels {
            let mut events = Vec::new();
            for event in self.store.events(parcel.id).await? {
                let Some(public) = webhook::public_event(&event.kind) else {
                    continue;
                };
                let station = self.cached_station(&mut stations, event.station_id).await?;
                events.push(TrackEvent {
                    event: public.public,
                    event_zh: public.name_zh,
                    at: event.at,
                    at_shanghai: iso_shanghai(event.at),
                    place: place_of(public.place, station.as_ref()),
                });
            }
            let place = events.iter().rev().find_map(|e| e.place.clone());
            tracked.push(TrackedParcel {
                carrier: parcel.carrier,
                carrier_zh: parcel.carrier.name_zh(),
                waybill: parcel.waybill.to_string(),
                state: parcel.state,
                state_zh: parcel.state.name_zh(),
                place,
                events,
            });
        }
        Ok(TrackView {
            parcels: tracked,
            sending: Vec::new(),
        })
    }

    /// A sending order's public timeline: accepted, collected, cancelled,
    /// with no personal data (no name, phone, address or price).
    async fn track_sending(
        &self,
        waybill: &str,
        carrier: Option<Carrier>,
    ) -> AppResult<Vec<TrackedSend>> {
        let Some(order) = self
            .store
            .send_order_by_waybill(waybill)
            .await?
            .filter(|order| carrier.is_none_or(|c| c == order.carrier))
        else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        for event in self.store.order_events(order.id).await? {
            let internal = match event.kind.as_str() {
                "paid" | "prepaid" => "send_accepted",
                "collect" | "collected" => "send_collected",
                "cancelled" => "send_cancelled",
                _ => continue,
            };
            let Some(public) = webhook::public_event(internal) else {
                continue;
            };
            events.push(TrackEvent {
                event: public.public,
                event_zh: public.name_zh,
                at: event.at,
                at_shanghai: iso_shanghai(event.at),
                place: None,
            });
        }
        Ok(vec![TrackedSend {
            carrier: order.carrier,
            carrier_zh: order.carrier.name_zh(),
            waybill: waybill.to_string(),
            state: order.state.code(),
            state_zh: order.state.name_zh(),
            events,
        }])
    }

    async fn cached_station(
        &self,
        cache: &mut HashMap<i64, Option<StationRecord>>,
        station_id: Option<i64>,
    ) -> AppResult<Option<StationRecord>> {
        let Some(id) = station_id else {
            return Ok(None);
        };
        if let Some(station) = cache.get(&id) {
            return Ok(station.clone());
        }
        let station = self.store.station(id).await?;
        cache.insert(id, station.clone());
        Ok(station)
    }
}

/// Parcels shown for one waybill (the same number at several carriers).
const TRACK_PARCELS_MAX: u32 = 5;

#[derive(Debug, Clone, Serialize)]
pub struct TrackView {
    pub parcels: Vec<TrackedParcel>,
    /// A sender's order under this waybill (branch send-flow); absent when
    /// there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sending: Vec<TrackedSend>,
}

/// A sending order as public tracking shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TrackedSend {
    pub carrier: Carrier,
    pub carrier_zh: &'static str,
    pub waybill: String,
    /// `domain::sending::OrderState`'s code.
    pub state: &'static str,
    pub state_zh: &'static str,
    pub events: Vec<TrackEvent>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackedParcel {
    pub carrier: Carrier,
    pub carrier_zh: &'static str,
    pub waybill: String,
    pub state: domain::ParcelState,
    pub state_zh: &'static str,
    pub place: Option<Place>,
    pub events: Vec<TrackEvent>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackEvent {
    pub event: &'static str,
    pub event_zh: &'static str,
    pub at: DateTime<Utc>,
    pub at_shanghai: String,
    pub place: Option<Place>,
}

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
    AttemptOutcome, AttemptRecord, DeliveryRecord, DeliveryStatus, DueDelivery, NewWebhookDelivery,
    NewWebhookSubscription, WebhookSubscription,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::webhook::{self, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, WebhookSecret};
use domain::{Carrier, Principal, WaybillNo};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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
/// a timeout; tests may use anything that speaks HTTP.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// `Ok(status)` when the receiver answered (any status), `Err` when it
    /// could not be reached or did not answer in time.
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, String>;
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WebhookRelayReport {
    pub n_delivered: u32,
    pub n_retrying: u32,
    pub n_failed: u32,
}

/// Longest error text kept per attempt.
const ERROR_CHARS_MAX: usize = 300;

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
        let url = webhook::parse_url(url).map_err(AppError::detail(Code::WebhookUrlInvalid))?;
        let event_kinds = webhook::parse_event_names(event_kinds)
            .map_err(AppError::detail(Code::WebhookEventsInvalid))?;
        // Inactive subscriptions count too: subscriptions are never deleted,
        // so deactivating to make room would let the table grow without end.
        let existing = self.store.webhook_subscriptions(Some(carrier)).await?;
        if existing.len() >= webhook::SUBSCRIPTIONS_PER_CARRIER_MAX {
            return Err(AppError::new(Code::WebhookLimit)
                .with("max", webhook::SUBSCRIPTIONS_PER_CARRIER_MAX));
        }
        let secret = new_secret();
        let subscription = self
            .store
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
            subscription.url =
                webhook::parse_url(url).map_err(AppError::detail(Code::WebhookUrlInvalid))?;
        }
        if let Some(kinds) = &patch.event_kinds {
            subscription.event_kinds = webhook::parse_event_names(kinds)
                .map_err(AppError::detail(Code::WebhookEventsInvalid))?;
        }
        if let Some(active) = patch.active {
            subscription.active = active;
        }
        self.store
            .update_webhook_subscription(&subscription)
            .await?;
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
            .await?)
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
            .await?)
    }

    /// Sends the deliveries that are due, once each: signs the stored body
    /// with the subscription's secret and the current time, posts it, and
    /// records the attempt. A 2xx answer delivers; anything else is retried
    /// on the settings' back-off schedule until its attempts run out. Safe
    /// to run from several places: a delivery that went out twice carries
    /// the same `X-Yizhan-Delivery` key, which receivers de-duplicate on.
    pub async fn relay_webhooks_once(
        &self,
        sender: &dyn WebhookSender,
        limit: u32,
    ) -> AppResult<WebhookRelayReport> {
        let due = self.store.due_webhook_deliveries(self.now(), limit).await?;
        let mut report = WebhookRelayReport::default();
        for delivery in due {
            let now = self.now();
            let signature = webhook::sign(
                delivery.secret.reveal(),
                now.timestamp(),
                delivery.payload.as_bytes(),
            );
            let attempt = delivery.attempts + 1;
            let headers = [
                ("Content-Type", "application/json".to_string()),
                (SIGNATURE_HEADER, signature),
                (DELIVERY_HEADER, delivery.delivery_key.clone()),
                (EVENT_HEADER, delivery.event_kind.clone()),
                ("X-Yizhan-Attempt", attempt.to_string()),
            ];
            let result = sender
                .post(&delivery.url, &headers, &delivery.payload)
                .await;
            let (status_code, error) = match result {
                Ok(code) if (200..300).contains(&code) => (Some(code), None),
                Ok(code) => (Some(code), Some(format!("the receiver answered {code}"))),
                Err(error) => (None, Some(error.chars().take(ERROR_CHARS_MAX).collect())),
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
            match status {
                DeliveryStatus::Delivered => report.n_delivered += 1,
                DeliveryStatus::Pending => report.n_retrying += 1,
                DeliveryStatus::Failed => report.n_failed += 1,
            }
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
        }
        Ok(report)
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
            return Err(AppError::NotFound("waybill"));
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
        Ok(TrackView { parcels: tracked })
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

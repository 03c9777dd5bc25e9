//! The webhook tables: subscriptions, the webhooks' outbox
//! (`webhook_deliveries`) and the attempt log, behind the webhook methods of
//! the `Tx` and `Store` ports.

use crate::backend_error;
use crate::rows::{SEALED_WEBHOOK_SECRET, get, time};
use crate::{Db, DbTx};
use app::keys::Keys;
use app::ports::webhooks::{
    AttemptRecord, CarrierEventRecord, DeliveryRecord, DeliveryStatus, DueDelivery,
    WebhookSubscription,
};
use app::ports::{StoreError, StoreResult, WebhookStore, WebhookTx};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::Carrier;
use domain::webhook::WebhookSecret;
use sqlx::Row;
use sqlx::any::AnyRow;

const SUBSCRIPTION_COLUMNS: &str = "id, carrier, url, secret, event_kinds, active, created_at, created_by, previous_secret, previous_secret_until";

fn optional_time(ms: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    ms.map(time).transpose()
}

fn carrier_of(code: &str) -> StoreResult<Carrier> {
    Carrier::parse(code)
        .map_err(|_| StoreError::Backend(format!("stored carrier {code:?} is not valid")))
}

fn status(code: &str) -> StoreResult<DeliveryStatus> {
    DeliveryStatus::from_code(code)
        .ok_or_else(|| StoreError::Backend(format!("stored delivery status {code:?} is not valid")))
}

fn status_code(value: Option<i64>) -> Option<u16> {
    value.and_then(|code| u16::try_from(code).ok())
}

fn secret_of(keys: &Keys, stored: String) -> StoreResult<WebhookSecret> {
    keys.open(SEALED_WEBHOOK_SECRET, &stored)
        .map(WebhookSecret::new)
        .map_err(|error| StoreError::Backend(error.to_string()))
}

fn subscription(keys: &Keys, row: &AnyRow) -> StoreResult<WebhookSubscription> {
    let kinds: String = get(row, "event_kinds")?;
    Ok(WebhookSubscription {
        id: get(row, "id")?,
        carrier: carrier_of(&get::<String>(row, "carrier")?)?,
        url: get(row, "url")?,
        secret: secret_of(keys, get(row, "secret")?)?,
        event_kinds: kinds
            .split(',')
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect(),
        active: get::<i64>(row, "active")? != 0,
        created_at: time(get(row, "created_at")?)?,
        created_by: get(row, "created_by")?,
        previous_secret: get::<Option<String>>(row, "previous_secret")?
            .map(|stored| secret_of(keys, stored))
            .transpose()?,
        previous_secret_until: optional_time(get(row, "previous_secret_until")?)?,
    })
}

#[async_trait]
impl WebhookTx for DbTx {
    async fn webhook_subscriptions_for(
        &mut self,
        carrier: Carrier,
    ) -> StoreResult<Vec<app::ports::webhooks::WebhookSubscription>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE carrier = $1 AND deleted_at IS NULL ORDER BY id"
        ))
        .bind(carrier.code())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| subscription(&self.keys, row))
            .collect()
    }

    async fn enqueue_webhook(
        &mut self,
        delivery: &app::ports::webhooks::NewWebhookDelivery,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (subscription_id, carrier, delivery_key, event_kind, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (delivery_key) DO NOTHING",
        )
        .bind(delivery.subscription_id)
        .bind(delivery.carrier.code())
        .bind(delivery.delivery_key.clone())
        .bind(delivery.event_kind.clone())
        .bind(delivery.payload.clone())
        .bind(now.timestamp_millis())
        .bind(delivery.available_at.timestamp_millis())
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn create_webhook_subscription(
        &mut self,
        subscription: &app::ports::webhooks::NewWebhookSubscription,
        now: DateTime<Utc>,
    ) -> StoreResult<app::ports::webhooks::WebhookSubscription> {
        let row = sqlx::query(
            "INSERT INTO webhook_subscriptions (carrier, url, secret, event_kinds, active, created_at, created_by) \
             VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id",
        )
        .bind(subscription.carrier.code())
        .bind(subscription.url.clone())
        .bind(self.keys.seal(SEALED_WEBHOOK_SECRET, subscription.secret.reveal()))
        .bind(subscription.event_kinds.join(","))
        .bind(now.timestamp_millis())
        .bind(subscription.created_by.clone())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        Ok(WebhookSubscription {
            id,
            carrier: subscription.carrier,
            url: subscription.url.clone(),
            secret: subscription.secret.clone(),
            event_kinds: subscription.event_kinds.clone(),
            active: true,
            created_at: DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now),
            created_by: subscription.created_by.clone(),
            previous_secret: None,
            previous_secret_until: None,
        })
    }

    async fn update_webhook_subscription(
        &mut self,
        subscription: &app::ports::webhooks::WebhookSubscription,
    ) -> StoreResult<()> {
        let changed = sqlx::query(
            "UPDATE webhook_subscriptions SET url = $1, event_kinds = $2, active = $3 WHERE id = $4 AND deleted_at IS NULL",
        )
        .bind(subscription.url.clone())
        .bind(subscription.event_kinds.join(","))
        .bind(i64::from(subscription.active))
        .bind(subscription.id)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Backend(format!(
                "webhook subscription {} vanished",
                subscription.id
            )));
        }
        Ok(())
    }

    async fn rotate_webhook_secret(
        &mut self,
        id: i64,
        secret: &WebhookSecret,
        previous: &WebhookSecret,
        previous_until: DateTime<Utc>,
    ) -> StoreResult<()> {
        let changed = sqlx::query(
            "UPDATE webhook_subscriptions SET secret = $1, previous_secret = $2, previous_secret_until = $3 WHERE id = $4 AND deleted_at IS NULL",
        )
        .bind(self.keys.seal(SEALED_WEBHOOK_SECRET, secret.reveal()))
        .bind(self.keys.seal(SEALED_WEBHOOK_SECRET, previous.reveal()))
        .bind(previous_until.timestamp_millis())
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Backend(format!(
                "webhook subscription {id} vanished"
            )));
        }
        Ok(())
    }

    async fn delete_webhook_subscription(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_subscriptions SET deleted_at = $1, active = 0 WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(now.timestamp_millis())
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = 'subscription_deleted' \
             WHERE subscription_id = $1 AND status = 'pending'",
        )
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        Ok(())
    }
}

#[async_trait]
impl WebhookStore for Db {
    async fn webhook_subscription(
        &self,
        id: i64,
    ) -> StoreResult<Option<app::ports::webhooks::WebhookSubscription>> {
        let row = sqlx::query(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.as_ref()
            .map(|row| subscription(&self.keys, row))
            .transpose()
    }

    async fn webhook_subscriptions(
        &self,
        carrier: Option<Carrier>,
    ) -> StoreResult<Vec<app::ports::webhooks::WebhookSubscription>> {
        let rows = match carrier {
            Some(carrier) => {
                sqlx::query(&format!(
                    "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE carrier = $1 AND deleted_at IS NULL ORDER BY id"
                ))
                .bind(carrier.code())
                .fetch_all(&self.reader)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE deleted_at IS NULL ORDER BY id"
                ))
                .fetch_all(&self.reader)
                .await
            }
        }
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| subscription(&self.keys, row))
            .collect()
    }

    async fn enqueue_webhook_now(
        &self,
        delivery: &app::ports::webhooks::NewWebhookDelivery,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhook_deliveries (subscription_id, carrier, delivery_key, event_kind, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(delivery.subscription_id)
        .bind(delivery.carrier.code())
        .bind(delivery.delivery_key.clone())
        .bind(delivery.event_kind.clone())
        .bind(delivery.payload.clone())
        .bind(now.timestamp_millis())
        .bind(delivery.available_at.timestamp_millis())
        .execute(&self.writer)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn due_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        per_carrier: u32,
    ) -> StoreResult<Vec<app::ports::webhooks::DueDelivery>> {
        // A window per carrier: one carrier's backlog (or outage) takes at
        // most `per_carrier` places, so the others are in every batch.
        let rows = sqlx::query(
            "SELECT id, subscription_id, carrier, delivery_key, event_kind, payload, attempts, url, secret, previous_secret, previous_secret_until FROM ( \
               SELECT d.id, d.subscription_id, d.carrier, d.delivery_key, d.event_kind, d.payload, d.attempts, d.next_attempt_at, \
                      s.url, s.secret, s.previous_secret, s.previous_secret_until, \
                      ROW_NUMBER() OVER (PARTITION BY d.carrier ORDER BY d.next_attempt_at, d.id) AS place \
               FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id \
               WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND s.active = 1 AND s.deleted_at IS NULL \
             ) due WHERE place <= $2 ORDER BY next_attempt_at, id",
        )
        .bind(now.timestamp_millis())
        .bind(i64::from(per_carrier))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(DueDelivery {
                    id: get(row, "id")?,
                    subscription_id: get(row, "subscription_id")?,
                    carrier: carrier_of(&get::<String>(row, "carrier")?)?,
                    delivery_key: get(row, "delivery_key")?,
                    event_kind: get(row, "event_kind")?,
                    payload: get(row, "payload")?,
                    attempts: u32::try_from(get::<i64>(row, "attempts")?).unwrap_or(u32::MAX),
                    url: get(row, "url")?,
                    secret: secret_of(&self.keys, get(row, "secret")?)?,
                    previous_secret: get::<Option<String>>(row, "previous_secret")?
                        .map(|stored| secret_of(&self.keys, stored))
                        .transpose()?,
                    previous_secret_until: optional_time(get(row, "previous_secret_until")?)?,
                })
            })
            .collect()
    }

    async fn carrier_events(
        &self,
        carrier: Carrier,
        kinds: &[&str],
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<CarrierEventRecord>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "SELECT e.id, e.parcel_id, p.waybill, e.kind, e.to_state, e.at, e.station_id, e.idempotency_key \
             FROM parcel_events e JOIN parcels p ON p.id = e.parcel_id \
             WHERE p.carrier = $1 AND e.id > $2 AND e.kind IN ({}) ORDER BY e.id LIMIT $3",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(carrier.code())
            .bind(after_id)
            .bind(i64::from(limit));
        for kind in kinds {
            query = query.bind(kind.to_string());
        }
        let rows = query.fetch_all(&self.reader).await.map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(CarrierEventRecord {
                    id: get(row, "id")?,
                    parcel_id: get(row, "parcel_id")?,
                    waybill: get(row, "waybill")?,
                    kind: get(row, "kind")?,
                    to_state: get(row, "to_state")?,
                    at: time(get(row, "at")?)?,
                    station_id: get(row, "station_id")?,
                    idempotency_key: get(row, "idempotency_key")?,
                })
            })
            .collect()
    }

    async fn record_webhook_attempt(
        &self,
        outcome: &app::ports::webhooks::AttemptOutcome,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        let error: Option<String> = outcome
            .error
            .as_ref()
            .map(|e| e.chars().take(500).collect());
        let delivered_at = (outcome.status == DeliveryStatus::Delivered).then_some(outcome.at);
        // Only a pending delivery moves on, and only from the attempt count the
        // relay saw, so two relays racing on one delivery log one attempt each
        // but cannot move it backwards.
        let changed = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_status_code = $4, last_error = $5, delivered_at = $6 \
             WHERE id = $7 AND status = 'pending' AND attempts = $8",
        )
        .bind(outcome.status.code())
        .bind(i64::from(outcome.attempt))
        .bind(outcome.next_attempt_at.map(|at| at.timestamp_millis()))
        .bind(outcome.status_code.map(i64::from))
        .bind(error.clone())
        .bind(delivered_at.map(|at| at.timestamp_millis()))
        .bind(outcome.delivery_id)
        .bind(i64::from(outcome.attempt) - 1)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, carrier, attempt, at, status_code, error, next_attempt_at, status) \
             SELECT id, carrier, $1, $2, $3, $4, $5, $6 FROM webhook_deliveries WHERE id = $7",
        )
        .bind(i64::from(outcome.attempt))
        .bind(outcome.at.timestamp_millis())
        .bind(outcome.status_code.map(i64::from))
        .bind(error)
        .bind(outcome.next_attempt_at.map(|at| at.timestamp_millis()))
        .bind(if changed == 1 {
            outcome.status.code()
        } else {
            // Another relay moved the delivery first; this attempt is still
            // logged, marked as a duplicate send.
            "duplicate"
        })
        .bind(outcome.delivery_id)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        tx.commit().await.map_err(backend_error)
    }

    async fn webhook_deliveries(
        &self,
        subscription_id: i64,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<app::ports::webhooks::DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT id, subscription_id, carrier, delivery_key, event_kind, status, attempts, next_attempt_at, last_status_code, last_error, created_at, delivered_at \
             FROM webhook_deliveries WHERE subscription_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(subscription_id)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let state = status(&get::<String>(row, "status")?)?;
                Ok(DeliveryRecord {
                    id: get(row, "id")?,
                    subscription_id: get(row, "subscription_id")?,
                    carrier: carrier_of(&get::<String>(row, "carrier")?)?,
                    delivery_key: get(row, "delivery_key")?,
                    event_kind: get(row, "event_kind")?,
                    status: state,
                    attempts: u32::try_from(get::<i64>(row, "attempts")?).unwrap_or(u32::MAX),
                    next_attempt_at: if state == DeliveryStatus::Pending {
                        optional_time(get(row, "next_attempt_at")?)?
                    } else {
                        None
                    },
                    last_status_code: status_code(get(row, "last_status_code")?),
                    last_error: get(row, "last_error")?,
                    last_error_zh: None,
                    last_error_code: None,
                    created_at: time(get(row, "created_at")?)?,
                    delivered_at: optional_time(get(row, "delivered_at")?)?,
                })
            })
            .collect()
    }

    async fn webhook_attempts(
        &self,
        carrier: Carrier,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<app::ports::webhooks::AttemptRecord>> {
        let rows = sqlx::query(
            "SELECT a.id, a.delivery_id, d.subscription_id, a.carrier, d.delivery_key, d.event_kind, a.attempt, a.at, a.status_code, a.error, a.next_attempt_at, a.status \
             FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
             WHERE a.carrier = $1 AND a.id > $2 ORDER BY a.id LIMIT $3",
        )
        .bind(carrier.code())
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(AttemptRecord {
                    id: get(row, "id")?,
                    delivery_id: get(row, "delivery_id")?,
                    subscription_id: get(row, "subscription_id")?,
                    carrier: carrier_of(&get::<String>(row, "carrier")?)?,
                    delivery_key: get(row, "delivery_key")?,
                    event_kind: get(row, "event_kind")?,
                    attempt: u32::try_from(get::<i64>(row, "attempt")?).unwrap_or(u32::MAX),
                    at: time(get(row, "at")?)?,
                    status_code: status_code(get(row, "status_code")?),
                    error: get(row, "error")?,
                    error_zh: None,
                    error_code: None,
                    next_attempt_at: optional_time(get(row, "next_attempt_at")?)?,
                    outcome: get(row, "status")?,
                })
            })
            .collect()
    }
}

//! The recipient's messages that follow a parcel reaching the shelf (an
//! arrival notice with its code, or a request for consent), and the
//! holding job's reminders, written to the outbox in the change's transaction.

use crate::error::AppResult;
use crate::ports::{OutboxMessage, ParcelRecord, StationRecord, Tx};
use chrono::{DateTime, Duration, Utc};
use domain::{ParcelState, holding, shanghai};
use serde_json::json;

pub const TOPIC_SMS: &str = "sms";

/// Writes the outbox message a newly shelved parcel calls for: an arrival
/// notice with its code, or a request for consent to station delivery.
pub(crate) async fn on_shelved(
    tx: &mut dyn Tx,
    station: &StationRecord,
    parcel: &ParcelRecord,
    now: DateTime<Utc>,
    merge_seconds: i64,
) -> AppResult<()> {
    let Some(phone) = parcel.phone.as_ref().filter(|phone| phone.is_reachable()) else {
        return Ok(());
    };
    let stored_ms = parcel.stored_at.unwrap_or(now).timestamp_millis();
    let message = if parcel.state == ParcelState::Stored {
        let expires = holding::expires_at(&station.holding, parcel.stored_at.unwrap_or(now));
        OutboxMessage {
            topic: TOPIC_SMS.into(),
            dedup_key: format!("arrival:{}:{stored_ms}", parcel.id),
            merge_key: Some(format!("arrival:{}:{}", station.id, phone.full())),
            payload: json!({
                "template": "arrival",
                "to": phone.full(),
                "station": station.name,
                "codes": [parcel.pickup_code],
                "parcel_ids": [parcel.id],
                "expires": expires.with_timezone(&shanghai()).format("%m月%d日").to_string(),
                // For the signed QR link, made when the message is sent.
                "station_id": station.id,
                "expires_at": expires.timestamp(),
            }),
            available_at: now + Duration::seconds(merge_seconds),
        }
    } else {
        OutboxMessage {
            topic: TOPIC_SMS.into(),
            dedup_key: format!("consent:{}:{stored_ms}", parcel.id),
            merge_key: None,
            payload: json!({
                "template": "consent_request",
                "to": phone.full(),
                "station": station.name,
                "carrier": parcel.carrier.name_zh(),
                "waybill_tail": parcel.waybill.tail(),
                "parcel_ids": [parcel.id],
            }),
            available_at: now,
        }
    };
    tx.enqueue(&message, now).await?;
    Ok(())
}

pub(crate) fn reminder(
    station: &StationRecord,
    parcel: &ParcelRecord,
    day: u32,
    now: DateTime<Utc>,
) -> Option<OutboxMessage> {
    let phone = parcel.phone.as_ref().filter(|phone| phone.is_reachable())?;
    let stored_at = parcel.stored_at?;
    let expires = holding::expires_at(&station.holding, stored_at);
    Some(OutboxMessage {
        topic: TOPIC_SMS.into(),
        dedup_key: format!(
            "reminder:{}:{}:{day}",
            parcel.id,
            stored_at.timestamp_millis()
        ),
        merge_key: None,
        payload: json!({
            "template": "reminder",
            "to": phone.full(),
            "station": station.name,
            "codes": [parcel.pickup_code],
            "parcel_ids": [parcel.id],
            "days": day,
            "expires": expires.with_timezone(&shanghai()).format("%m月%d日").to_string(),
        }),
        available_at: now,
    })
}

//! The carriers' webhook deliveries that follow a parcel event: one row per
//! matching subscription in the webhooks' outbox, and the public view of the
//! event and its place that both the deliveries and public tracking use.

use crate::error::AppResult;
use crate::ports::webhooks::{NewWebhookDelivery, WebhookSubscription};
use crate::ports::{NewEvent, ParcelRecord, StationRecord, Tx};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::webhook::{self, PlaceKind, PublicEvent};
use serde::Serialize;
use serde_json::{Value, json};

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn iso_shanghai(at: DateTime<Utc>) -> String {
    at.with_timezone(&domain::shanghai())
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Where something happened, as carriers and the public see it: a name and
/// a township, nothing about people.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Place {
    pub kind: PlaceKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub township: Option<String>,
}

pub(crate) fn place_of(kind: PlaceKind, station: Option<&StationRecord>) -> Option<Place> {
    let centre = || Place {
        kind: PlaceKind::Centre,
        name: webhook::CENTRE_NAME_ZH.to_string(),
        township: None,
    };
    match (kind, station) {
        (PlaceKind::None, _) => None,
        (PlaceKind::Centre, _) | (PlaceKind::Station, None) => Some(centre()),
        (PlaceKind::Station, Some(station)) => Some(Place {
            kind: PlaceKind::Station,
            name: station.name.clone(),
            township: Some(station.township.clone()),
        }),
    }
}

/// The body sent for one event to one subscription.
fn payload(
    delivery_key: &str,
    public: &PublicEvent,
    event: &NewEvent,
    parcel: &ParcelRecord,
    place: Option<&Place>,
) -> Value {
    let mut body = json!({
        "delivery_id": delivery_key,
        "event": public.public,
        "event_zh": public.name_zh,
        "event_key": event.idempotency_key,
        // Deliveries may arrive out of order (one is retried while a later
        // one gets through); the per-parcel sequence puts them back.
        "sequence": parcel.version,
        "carrier": parcel.carrier,
        "waybill": parcel.waybill,
        "state": parcel.state,
        "at": iso(event.at),
        "at_shanghai": iso_shanghai(event.at),
        "place": place,
        "has_pickup_code": parcel.pickup_code.is_some(),
    });
    if let Some(problem) = parcel.problem {
        body["problem"] = json!(problem);
    }
    body
}

/// Writes a delivery for each subscription of the parcel's carrier that
/// hears this event, inside the transaction that wrote the event. A paused
/// subscription gets its deliveries too: they wait (the relay sends only
/// for active subscriptions) and go out when it is resumed, so a pause
/// loses nothing. Called for every event by `crate::transition`; kinds
/// without a public webhook name cost nothing.
pub(crate) async fn on_event(
    tx: &mut dyn Tx,
    parcel: &ParcelRecord,
    event: &NewEvent,
) -> AppResult<()> {
    let Some(public) = webhook::public_event(&event.kind).filter(|e| e.webhook) else {
        return Ok(());
    };
    let subscriptions: Vec<WebhookSubscription> = tx
        .webhook_subscriptions_for(parcel.carrier)
        .await?
        .into_iter()
        .filter(|s| s.event_kinds.iter().any(|k| k == public.public))
        .collect();
    if subscriptions.is_empty() {
        return Ok(());
    }
    let station = match (public.place, event.station_id) {
        (PlaceKind::Station, Some(station_id)) => tx.station(station_id).await?,
        _ => None,
    };
    let place = place_of(public.place, station.as_ref());
    for subscription in subscriptions {
        let delivery_key = format!("{}:s{}", event.idempotency_key, subscription.id);
        let body = payload(&delivery_key, public, event, parcel, place.as_ref());
        tx.enqueue_webhook(
            &NewWebhookDelivery {
                subscription_id: subscription.id,
                carrier: parcel.carrier,
                delivery_key,
                event_kind: public.public.to_string(),
                payload: body.to_string(),
                available_at: event.at,
            },
            event.at,
        )
        .await?;
    }
    Ok(())
}

/// Writes a delivery for each subscription of the carrier that hears this
/// sending move (`send.accepted`, `send.collected`, `send.cancelled`),
/// inside the move's transaction. The body names the waybill and the
/// order's state, never a person (branch send-flow).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn on_send_event(
    tx: &mut dyn Tx,
    order_id: i64,
    carrier: domain::Carrier,
    waybill: &str,
    state: &str,
    sequence: i64,
    internal_kind: &str,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let Some(public) = webhook::public_event(internal_kind).filter(|e| e.webhook) else {
        return Ok(());
    };
    let subscriptions: Vec<WebhookSubscription> = tx
        .webhook_subscriptions_for(carrier)
        .await?
        .into_iter()
        .filter(|s| s.event_kinds.iter().any(|k| k == public.public))
        .collect();
    let event_key = format!("send:{order_id}:{internal_kind}");
    let place = place_of(public.place, None);
    for subscription in subscriptions {
        let delivery_key = format!("{event_key}:s{}", subscription.id);
        let body = json!({
            "delivery_id": delivery_key,
            "event": public.public,
            "event_zh": public.name_zh,
            "event_key": event_key,
            "sequence": sequence,
            "carrier": carrier,
            "waybill": waybill,
            "sending": true,
            "state": state,
            "at": iso(at),
            "at_shanghai": iso_shanghai(at),
            "place": place,
        });
        tx.enqueue_webhook(
            &NewWebhookDelivery {
                subscription_id: subscription.id,
                carrier,
                delivery_key,
                event_kind: public.public.to_string(),
                payload: body.to_string(),
                available_at: at,
            },
            at,
        )
        .await?;
    }
    Ok(())
}

//! Sending moves as carriers and the public see them (branch send-flow):
//! `send.accepted`, `send.collected` and `send.cancelled` go to the
//! carrier's webhook subscriptions through the webhooks' outbox, in the
//! transaction of the move, signed and relayed like parcel events
//! (docs/webhooks.md). The order's own event row (`send_order_events`,
//! written by every move) is the tracking record public tracking reads.

use super::*;
use crate::ports::sending::OrderRecord;

/// A sending move that carriers hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendEvent {
    /// Paid, or prepaid by a platform: the carrier will get the item.
    Accepted,
    /// The courier collected the item (branch kiosks calls this).
    Collected,
    /// Cancelled after it had a waybill number.
    Cancelled,
}

impl SendEvent {
    /// The internal kind in `domain::webhook::EVENTS`.
    pub fn internal(self) -> &'static str {
        match self {
            SendEvent::Accepted => "send_accepted",
            SendEvent::Collected => "send_collected",
            SendEvent::Cancelled => "send_cancelled",
        }
    }
}

/// Writes the webhook deliveries of one sending move, inside the move's
/// transaction: one row per subscription of the order's carrier that hears
/// it. An order without a waybill number yet (a draft cancelled) is
/// nothing to a carrier and writes nothing. Every sending move calls this
/// after writing its order event; collection (`sending/collect.rs`, branch
/// kiosks) calls it with [`SendEvent::Collected`].
pub async fn emit_send_event(
    tx: &mut dyn Tx,
    order: &OrderRecord,
    event: SendEvent,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let Some(waybill) = order.waybill.as_deref() else {
        return Ok(());
    };
    crate::effects::deliveries::on_send_event(
        tx,
        order.id,
        order.carrier,
        waybill,
        order.state.code(),
        order.version,
        event.internal(),
        at,
    )
    .await
}

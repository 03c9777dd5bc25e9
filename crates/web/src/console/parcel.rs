//! One parcel: what it is, where it is, its history (every event, who and
//! when), what can be done to it, and the whole phone number to call the
//! recipient, shown only on request and recorded in the audit trail
//! (`App::parcel_phone`).

use super::{CsrfForm, Frame, ParcelRow, row};
use crate::i18n::Tr;
use crate::{Keeper, WebError, WebState, local, render};
use app::ports::EventRecord;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

struct EventRow {
    at: String,
    what: &'static str,
    kind: String,
    actor: String,
    details: String,
}

#[derive(Template)]
#[template(path = "station/parcel.html")]
struct ParcelPage {
    f: Frame,
    p: ParcelRow,
    /// The same parcel as the lists' one row, with its actions.
    rows: Vec<ParcelRow>,
    events: Vec<EventRow>,
    /// The whole number, once the keeper asked for it (audited).
    full_phone: Option<String>,
    notice: Option<&'static str>,
}

/// An event's name in the page's language; a kind without a name here
/// shows as stored.
fn event_name(kind: &str, t: Tr) -> &'static str {
    let (zh, en) = match kind {
        "announced" => ("快递公司预报", "Announced by the carrier"),
        "arrived_at_centre" => ("到达县中心", "Arrived at the county centre"),
        "sorted" => ("县中心分拣", "Sorted at the centre"),
        "dispatched" => ("从县中心发出", "Dispatched from the centre"),
        "awaiting_consent" => ("入站，待收件人同意", "Shelved, awaiting consent"),
        "stored" => ("入库，待取件", "Stored, ready for pickup"),
        "consent_granted" => ("收件人同意代收", "Recipient consented"),
        "contact_added" => ("补录收件人手机号", "Recipient's phone added"),
        "moved" => ("移格口", "Moved to another slot"),
        "picked_up" => ("已取件", "Picked up"),
        "problem" => ("标记问题件", "Marked as a problem"),
        "returned" => ("退回快递公司", "Returned to the carrier"),
        _ => ("", ""),
    };
    if t.is_en() { en } else { zh }
}

/// The event's details as short `name: value` pairs (slot, proof shown,
/// what the recipient said, …); nothing here is a whole phone number, the
/// use cases write only masked ones.
fn details_text(details: &serde_json::Value) -> String {
    let Some(map) = details.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[derive(Deserialize)]
pub(super) struct DetailQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn page(
    state: &WebState,
    keeper: &Keeper,
    station_id: i64,
    parcel_id: i64,
    full_phone: Option<String>,
    done: Option<&str>,
) -> Result<Response, WebError> {
    let f = Frame::load(state, keeper, station_id, "search").await?;
    let view = state
        .app
        .parcel_at_station(&keeper.principal, station_id, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    let events = state
        .app
        .parcel_events(&keeper.principal, parcel_id)
        .await
        .map_err(keeper.app_err())?
        .into_iter()
        .map(|e: EventRecord| EventRow {
            at: local(e.at),
            what: event_name(&e.kind, keeper.tr),
            details: details_text(&e.details),
            kind: e.kind,
            actor: e.actor,
        })
        .collect();
    let p = row(view, keeper.tr);
    Ok(render(ParcelPage {
        rows: vec![p.clone()],
        p,
        f,
        events,
        full_phone,
        notice: done.map(|done| {
            keeper.tr.get(match done {
                "resolved" => "station.resolved_done",
                _ => "done.ok",
            })
        }),
    }))
}

pub(super) async fn detail(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Query(query): Query<DetailQuery>,
) -> Result<Response, WebError> {
    page(
        &state,
        &keeper,
        station_id,
        parcel_id,
        None,
        query.done.as_deref(),
    )
    .await
}

/// The whole number, to call the recipient: a POST (it writes the audit
/// row), answered with the page showing the number once; never in a URL.
pub(super) async fn reveal_phone(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    state
        .app
        .parcel_at_station(&keeper.principal, station_id, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    let full = state
        .app
        .parcel_phone(&keeper.principal, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    page(&state, &keeper, station_id, parcel_id, full, None).await
}

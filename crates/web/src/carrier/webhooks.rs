//! The carrier's webhook subscriptions: list, create (the secret shown
//! once), pause and resume, the delivery log with every attempt, secret
//! rotation (the new secret shown once) and a `test` event sent through the
//! relay like any other delivery. Every id is checked by the use case: another
//! carrier's subscription answers "not found".

use super::{CarrierStaff, Frame, full_local, no_store};
use crate::{WebError, WebState, field, local, render};
use app::webhooks::{Page, SubscriptionPatch, SubscriptionView};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::limits::PAGE_SIZE_MAX;
use serde::Deserialize;

struct SubRow {
    id: i64,
    url: String,
    events: String,
    active: bool,
    created: String,
}

fn sub_row(t: crate::i18n::Tr, s: &SubscriptionView) -> SubRow {
    let events = s
        .event_kinds
        .iter()
        .map(|name| event_name(t, name))
        .collect::<Vec<_>>()
        .join(if t.is_en() { ", " } else { "、" });
    SubRow {
        id: s.id,
        url: s.url.clone(),
        events,
        active: s.active,
        created: local(s.created_at),
    }
}

/// A public event's name in the page's language.
fn event_name(t: crate::i18n::Tr, public: &str) -> String {
    if public == domain::webhook::TEST_EVENT {
        return t.get("carrier.webhooks.test_event").to_string();
    }
    match domain::webhook::EVENTS.iter().find(|e| e.public == public) {
        Some(event) if !t.is_en() => event.name_zh.to_string(),
        _ => public.to_string(),
    }
}

/// A secret shown this once: which subscription, and the secret.
struct Shown {
    id: i64,
    secret: String,
    /// Until when the previous secret still signs (a rotation).
    previous_until: Option<String>,
}

#[derive(Template)]
#[template(path = "carrier/webhooks.html")]
struct WebhooksPage {
    f: Frame,
    subs: Vec<SubRow>,
    /// (public name, name shown) of every event a subscription may name.
    events: Vec<(&'static str, String)>,
    shown: Option<Shown>,
    notice: Option<&'static str>,
    url: String,
}

#[derive(Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
    after: Option<String>,
}

fn notice(t: crate::i18n::Tr, done: Option<&str>) -> Option<&'static str> {
    let key = match done? {
        "paused" => "carrier.webhooks.paused",
        "resumed" => "carrier.webhooks.resumed",
        "test" => "carrier.webhooks.test_sent",
        _ => return None,
    };
    Some(t.get(key))
}

async fn page(
    state: &WebState,
    staff: &CarrierStaff,
    shown: Option<Shown>,
    notice: Option<&'static str>,
    url: String,
) -> Result<Response, WebError> {
    let subs = state
        .app
        .webhooks(&staff.principal, staff.carrier)
        .await
        .map_err(staff.app_err())?;
    let t = staff.tr;
    let response = render(WebhooksPage {
        f: Frame::new(staff, "webhooks"),
        subs: subs.iter().map(|s| sub_row(t, s)).collect(),
        events: domain::webhook::EVENTS
            .iter()
            .filter(|e| e.webhook)
            .map(|e| (e.public, event_name(t, e.public)))
            .collect(),
        shown,
        notice,
        url,
    });
    Ok(no_store(response))
}

pub(super) async fn webhooks(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Query(query): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let notice = notice(staff.tr, query.done.as_deref());
    page(&state, &staff, None, notice, String::new()).await
}

/// The create form: `url`, `csrf` and one `event` per ticked box (none
/// ticked: every event).
pub(super) async fn create(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    staff.check(&state, value("csrf"))?;
    let url = field(staff.tr, value("url"))?.trim().to_string();
    let events: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "event")
        .map(|(_, v)| v.clone())
        .take(64)
        .collect();
    let created = state
        .app
        .create_webhook(&staff.principal, staff.carrier, &url, &events)
        .await
        .map_err(staff.app_err())?;
    let shown = Shown {
        id: created.subscription.id,
        secret: created.secret,
        previous_until: None,
    };
    page(&state, &staff, Some(shown), None, String::new()).await
}

#[derive(Deserialize)]
pub(super) struct ActiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

pub(super) async fn set_active(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Path(id): Path<i64>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, WebError> {
    staff.check(&state, &form.csrf)?;
    let active = form.active == "true";
    state
        .app
        .update_webhook(
            &staff.principal,
            id,
            SubscriptionPatch {
                active: Some(active),
                ..SubscriptionPatch::default()
            },
        )
        .await
        .map_err(staff.app_err())?;
    let done = if active { "resumed" } else { "paused" };
    Ok(Redirect::to(&format!("/carrier/webhooks?done={done}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn rotate(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    staff.check(&state, &form.csrf)?;
    let rotated = state
        .app
        .rotate_webhook_secret(&staff.principal, id, None)
        .await
        .map_err(staff.app_err())?;
    let shown = Shown {
        id: rotated.subscription.id,
        secret: rotated.secret,
        previous_until: Some(full_local(rotated.previous_secret_valid_until)),
    };
    page(&state, &staff, Some(shown), None, String::new()).await
}

pub(super) async fn test_event(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    staff.check(&state, &form.csrf)?;
    state
        .app
        .send_test_webhook(&staff.principal, id)
        .await
        .map_err(staff.app_err())?;
    Ok(Redirect::to(&format!("/carrier/webhooks/{id}?done=test")).into_response())
}

struct DeliveryRow {
    event: String,
    status: &'static str,
    status_class: &'static str,
    attempts: u32,
    last: String,
    created: String,
    delivered: String,
    next: String,
}

struct AttemptRow {
    event: String,
    attempt: u32,
    at: String,
    result: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "carrier/webhook_log.html")]
struct LogPage {
    f: Frame,
    sub: SubRow,
    notice: Option<&'static str>,
    deliveries: Vec<DeliveryRow>,
    attempts: Vec<AttemptRow>,
    /// The `after` of the next page of deliveries.
    next: Option<i64>,
}

/// One subscription's delivery log: each delivery with its status, and
/// every attempt (time, answer or error, what came of it).
pub(super) async fn log(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Path(id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let t = staff.tr;
    let after = match query
        .after
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            WebError::from_app(
                AppError::new(Code::QueryInvalid).with_detail("after must be a number"),
                t,
            )
        })?),
    };
    let limit = PAGE_SIZE_MAX;
    let deliveries = state
        .app
        .webhook_deliveries(
            &staff.principal,
            id,
            Page {
                after_id: after,
                limit,
            },
        )
        .await
        .map_err(staff.app_err())?;
    // The subscription itself (found: the call above checked it is theirs).
    let subs = state
        .app
        .webhooks(&staff.principal, staff.carrier)
        .await
        .map_err(staff.app_err())?;
    let sub = subs
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| WebError::from_app(AppError::NotFound("webhook subscription"), t))?;
    let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
    // The carrier's attempts, a page at a time, kept for these deliveries.
    let mut attempts = Vec::new();
    if !ids.is_empty() {
        let mut cursor = None;
        loop {
            let page = state
                .app
                .webhook_attempts(
                    &staff.principal,
                    staff.carrier,
                    Page {
                        after_id: cursor,
                        limit,
                    },
                )
                .await
                .map_err(staff.app_err())?;
            let full = page.len() == limit as usize;
            cursor = page.last().map(|a| a.id);
            attempts.extend(
                page.into_iter()
                    .filter(|a| a.subscription_id == id && ids.contains(&a.delivery_id)),
            );
            if !full || attempts.len() >= 1_000 {
                break;
            }
        }
    }
    let error_text = |code: Option<u16>, en: Option<&str>, zh: Option<&str>| -> String {
        match (code, if t.is_en() { en } else { zh }) {
            (_, Some(error)) => error.to_string(),
            (Some(code), None) => code.to_string(),
            (None, None) => String::new(),
        }
    };
    let next = (deliveries.len() == limit as usize)
        .then(|| deliveries.last().map(|d| d.id))
        .flatten();
    let page = LogPage {
        f: Frame::new(&staff, "webhooks"),
        sub: sub_row(t, sub),
        notice: notice(t, query.done.as_deref()),
        deliveries: deliveries
            .iter()
            .map(|d| {
                let (status, status_class) = match d.status.code() {
                    "delivered" => (t.get("carrier.webhooks.delivered"), "good"),
                    "failed" => (t.get("carrier.webhooks.failed"), "bad"),
                    _ => (t.get("carrier.webhooks.pending"), "wait"),
                };
                DeliveryRow {
                    event: event_name(t, &d.event_kind),
                    status,
                    status_class,
                    attempts: d.attempts,
                    last: error_text(
                        d.last_status_code,
                        d.last_error.as_deref(),
                        d.last_error_zh.as_deref(),
                    ),
                    created: local(d.created_at),
                    delivered: d.delivered_at.map(local).unwrap_or_default(),
                    next: d.next_attempt_at.map(local).unwrap_or_default(),
                }
            })
            .collect(),
        attempts: attempts
            .iter()
            .map(|a| AttemptRow {
                event: event_name(t, &a.event_kind),
                attempt: a.attempt,
                at: full_local(a.at),
                result: error_text(a.status_code, a.error.as_deref(), a.error_zh.as_deref()),
                outcome: match a.outcome.as_str() {
                    "delivered" => t.get("carrier.webhooks.outcome.delivered"),
                    "pending" => t.get("carrier.webhooks.outcome.pending"),
                    "failed" => t.get("carrier.webhooks.outcome.failed"),
                    "duplicate" => t.get("carrier.webhooks.outcome.duplicate"),
                    other => other,
                }
                .to_string(),
            })
            .collect(),
        next,
    };
    Ok(render(page))
}

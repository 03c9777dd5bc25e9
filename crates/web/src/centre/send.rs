//! Sending orders under `/centre` (issue 14): the list of every sending
//! order (by state, day and carrier, phones masked, paged), an order's page
//! with its events, inspections and payments, cancel with refund, and the
//! privacy label's printable page and ZPL, for county staff and the admin.
//! Names and phones are shown masked; the whole ones stay in the store.

use super::{Frame, Operator};
use crate::sender::{LabelPage, label_download};
use crate::{WebError, WebState, field, local, render};
use app::sending::{OrderRecord, mask_name};
use app::{AppError, Code};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use domain::Carrier;
use domain::sending::{OrderAction, OrderState};
use serde::Deserialize;

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/centre/send", get(list))
        .route("/centre/send/orders/{order_id}", get(order))
        .route("/centre/send/orders/{order_id}/cancel", post(cancel))
        .route("/centre/send/orders/{order_id}/label", get(label))
        // label.zpl, label.tspl, label.pdf (`app::sending::LabelFormat`).
        .route(
            "/centre/send/orders/{order_id}/{label_file}",
            get(label_printer_file),
        )
}

/// An order as the list shows it: names and phones masked, the sender's
/// and recipient's places only.
struct Row {
    id: i64,
    state: &'static str,
    state_code: &'static str,
    created: String,
    channel: String,
    from: String,
    to: String,
    carrier: &'static str,
    waybill: String,
    price: String,
    payer: String,
}

impl Row {
    fn of(order: &OrderRecord, t: crate::i18n::Tr) -> Row {
        Row {
            id: order.id,
            state: crate::sender::state_name(order.state, t),
            state_code: order.state.code(),
            created: local(order.created_at),
            channel: order.channel.clone(),
            from: format!(
                "{} {} {}",
                mask_name(&order.from.name),
                order.from.phone.masked(),
                order.from.division
            ),
            to: format!(
                "{} {} {}",
                mask_name(&order.to.name),
                order.to.phone.masked(),
                order.to.division
            ),
            carrier: order.carrier.name_zh(),
            waybill: order.waybill.clone().unwrap_or_default(),
            price: order
                .price_fen
                .map(|fen| fen.to_string())
                .unwrap_or_default(),
            payer: order.payer.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "centre/send_orders.html")]
struct ListPage {
    f: Frame,
    rows: Vec<Row>,
    states: Vec<(&'static str, &'static str)>,
    carriers: Vec<(&'static str, &'static str)>,
    state: String,
    day: String,
    carrier: String,
    /// The next page's link, when this one is full.
    next: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    carrier: String,
    before: Option<i64>,
}

/// Orders a page shows.
const PAGE_SIZE: u32 = 50;

async fn list(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let bad = |what: &str, value: &str| {
        WebError::from_app(
            AppError::new(Code::SendFilterInvalid)
                .with("field", what)
                .with("value", value),
            t,
        )
    };
    let filter_state = match field(t, &query.state)?.trim() {
        "" => None,
        code => Some(OrderState::parse(code).ok_or_else(|| bad("state", code))?),
    };
    let day = match field(t, &query.day)?.trim() {
        "" => None,
        text => Some(
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad("day", text))?,
        ),
    };
    let carrier = match field(t, &query.carrier)?.trim() {
        "" => None,
        code => Some(Carrier::parse(code).map_err(|_| bad("carrier", code))?),
    };
    let orders = state
        .app
        .send_orders_for_staff(
            &operator.principal,
            filter_state,
            day,
            carrier,
            query.before,
            Some(PAGE_SIZE),
        )
        .await
        .map_err(operator.app_err())?;
    let next = (orders.len() == PAGE_SIZE as usize)
        .then(|| orders.last().map(|o| o.id))
        .flatten()
        .map(|last| {
            format!(
                "/centre/send?state={}&day={}&carrier={}&before={last}",
                query.state.trim(),
                query.day.trim(),
                query.carrier.trim()
            )
        });
    Ok(render(ListPage {
        f: Frame::new(&operator, "send"),
        rows: orders.iter().map(|o| Row::of(o, t)).collect(),
        states: OrderState::ALL
            .iter()
            .map(|s| (s.code(), crate::sender::state_name(*s, t)))
            .collect(),
        carriers: Carrier::ALL
            .iter()
            .map(|c| (c.code(), c.name_zh()))
            .collect(),
        state: query.state.trim().to_string(),
        day: query.day.trim().to_string(),
        carrier: query.carrier.trim().to_string(),
        next,
    }))
}

struct EventRow {
    at: String,
    kind: String,
    from: &'static str,
    to: &'static str,
    actor: String,
}

struct InspectionRow {
    at: String,
    category: String,
    outcome: String,
    rule: String,
}

struct PaymentRow {
    merchant_order_no: String,
    amount: String,
    status: &'static str,
    created: String,
    paid: String,
}

#[derive(Template)]
#[template(path = "centre/send_order.html")]
struct OrderPage {
    f: Frame,
    row: Row,
    category: String,
    weight: String,
    return_code: String,
    kiosk: String,
    kiosk_id: Option<i64>,
    labelled: bool,
    cancellable: bool,
    events: Vec<EventRow>,
    inspections: Vec<InspectionRow>,
    payments: Vec<PaymentRow>,
}

async fn order(
    State(state): State<WebState>,
    operator: Operator,
    Path(order_id): Path<i64>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let detail = state
        .app
        .send_order_detail_for_staff(&operator.principal, order_id)
        .await
        .map_err(operator.app_err())?;
    let order = &detail.order;
    // The kiosk's code as its QR carried it (on the order's first event);
    // when the fleet knows that kiosk the order is its (`kiosk_id`) and the
    // code links to the kiosk's page.
    let kiosk = detail
        .events
        .first()
        .and_then(|e| e.details.get("kiosk").and_then(|k| k.as_str()))
        .map(String::from)
        .unwrap_or_default();
    let page = OrderPage {
        f: Frame::new(&operator, "send"),
        row: Row::of(order, t),
        category: order
            .category
            .as_deref()
            .and_then(domain::sending::inspection::category)
            .map(|c| if t.is_en() { c.name_en } else { c.name_zh })
            .unwrap_or_default()
            .to_string(),
        weight: order
            .weight_grams
            .map(|g| format!("{g} g"))
            .unwrap_or_default(),
        return_code: order.return_code.clone().unwrap_or_default(),
        kiosk,
        kiosk_id: order.kiosk_id,
        labelled: matches!(order.state, OrderState::Accepted | OrderState::Collected),
        cancellable: order.state.apply(OrderAction::Cancel).is_ok(),
        events: detail
            .events
            .iter()
            .map(|e| EventRow {
                at: local(e.at),
                kind: e.kind.clone(),
                from: e
                    .from_state
                    .map(|s| crate::sender::state_name(s, t))
                    .unwrap_or(""),
                to: crate::sender::state_name(e.to_state, t),
                actor: e.actor.clone(),
            })
            .collect(),
        inspections: detail
            .inspections
            .iter()
            .map(|i| InspectionRow {
                at: local(i.at),
                category: domain::sending::inspection::category(&i.category)
                    .map(|c| if t.is_en() { c.name_en } else { c.name_zh })
                    .unwrap_or(&i.category)
                    .to_string(),
                outcome: i.outcome.clone(),
                rule: i.rule.clone().unwrap_or_default(),
            })
            .collect(),
        payments: detail
            .payments
            .iter()
            .map(|p| PaymentRow {
                merchant_order_no: p.merchant_order_no.clone(),
                amount: p.amount.to_string(),
                status: p.status.code(),
                created: local(p.created_at),
                paid: p.paid_at.map(local).unwrap_or_default(),
            })
            .collect(),
    };
    Ok(render(page))
}

#[derive(Deserialize)]
struct CancelForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn cancel(
    State(state): State<WebState>,
    operator: Operator,
    Path(order_id): Path<i64>,
    Form(form): Form<CancelForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    state
        .app
        .cancel_send_order_for_staff(
            &operator.principal,
            order_id,
            field(operator.tr, &form.reason)?,
        )
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/centre/send/orders/{order_id}")).into_response())
}

async fn label(
    State(state): State<WebState>,
    operator: Operator,
    Path(order_id): Path<i64>,
) -> Result<Response, WebError> {
    let label = state
        .app
        .send_label_for_staff(&operator.principal, order_id)
        .await
        .map_err(operator.app_err())?;
    Ok(render(LabelPage::new(
        operator.tr,
        label,
        format!("/centre/send/orders/{order_id}/label"),
    )))
}

async fn label_printer_file(
    State(state): State<WebState>,
    operator: Operator,
    Path((order_id, file)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let format = app::sending::LabelFormat::parse(&file).map_err(operator.app_err())?;
    let label = state
        .app
        .send_label_for_staff(&operator.principal, order_id)
        .await
        .map_err(operator.app_err())?;
    Ok(label_download(&label, format))
}

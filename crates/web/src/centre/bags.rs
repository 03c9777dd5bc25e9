//! Bags (`/centre/bags`): the day's bags by status with closing, the label,
//! handing over and the station's acceptance; and the handover lists
//! (交接单) per route and contractor as printable pages under the cookie
//! session (`/centre/handover/...`; the API's copies stay for integrators).

use super::arrival::mode_name;
use super::{Frame, Operator};
use crate::i18n::Tr;
use crate::{WebError, WebState, local, render};
use app::county::{BagContents, HandoverTo, print};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct DayQuery {
    day: Option<String>,
}

impl DayQuery {
    fn day(&self, state: &WebState, t: Tr) -> Result<NaiveDate, WebError> {
        let day = match self.day.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                WebError::from_app(
                    AppError::new(Code::DayInvalid).with("day", format!("{text:?}")),
                    t,
                )
            })?),
        };
        state
            .app
            .day_or_today(day)
            .map_err(|error| WebError::from_app(error, t))
    }
}

struct BagRow {
    id: i64,
    label: String,
    destination: String,
    mode: &'static str,
    status: &'static str,
    status_name: &'static str,
    n: u32,
    per_carrier: String,
    /// When it was closed, handed over or accepted, whichever is latest.
    when: String,
}

fn row_of(t: Tr, contents: &BagContents) -> BagRow {
    let bag = &contents.bag;
    let status = bag.status.code();
    BagRow {
        id: bag.id,
        label: bag.label_payload(),
        destination: contents.destination.clone(),
        mode: mode_name(t, bag.mode),
        status,
        status_name: t.get(&format!("centre.bags.status.{status}")),
        n: contents.n_parcels,
        per_carrier: contents
            .per_carrier
            .iter()
            .map(|(carrier, n)| format!("{} {n}", carrier.name_zh()))
            .collect::<Vec<_>>()
            .join("，"),
        when: bag
            .accepted_at
            .or(bag.dispatched_at)
            .or(bag.closed_at)
            .map(local)
            .unwrap_or_default(),
    }
}

struct Link {
    href: String,
    name: String,
}

#[derive(Template)]
#[template(path = "centre/bags.html")]
struct BagsPage {
    f: Frame,
    day: NaiveDate,
    bags: Vec<BagRow>,
    routes: Vec<Link>,
    contractors: Vec<Link>,
}

pub(super) async fn page(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<DayQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let day = query.day(&state, t)?;
    let contents = state
        .app
        .bags_with_contents(&operator.principal, day)
        .await
        .map_err(operator.app_err())?;
    let mut bags: Vec<BagRow> = contents.iter().map(|c| row_of(t, c)).collect();
    // What needs a hand first: open, then closed, then what has left.
    let rank = |status: &str| match status {
        "open" => 0,
        "closed" => 1,
        "dispatched" => 2,
        _ => 3,
    };
    bags.sort_by_key(|b| (rank(b.status), b.id));
    let routes = state
        .app
        .county_routes(&operator.principal)
        .await
        .map_err(operator.app_err())?
        .into_iter()
        .map(|r| Link {
            href: format!("/centre/handover/route/{}?day={day}", r.id),
            name: r.name,
        })
        .collect();
    let contractors = state
        .app
        .county_contractors(&operator.principal)
        .await
        .map_err(operator.app_err())?
        .into_iter()
        .map(|c| Link {
            href: format!("/centre/handover/contractor/{}?day={day}", c.id),
            name: c.name,
        })
        .collect();
    Ok(render(BagsPage {
        f: Frame::new(&operator, "bags"),
        day,
        bags,
        routes,
        contractors,
    }))
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

fn back_to(day: NaiveDate, bag_id: i64) -> Response {
    Redirect::to(&format!("/centre/bags?day={day}#bag-{bag_id}")).into_response()
}

pub(super) async fn close(
    State(state): State<WebState>,
    operator: Operator,
    Path(bag_id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let bag = state
        .app
        .close_bag(&operator.principal, bag_id)
        .await
        .map_err(operator.app_err())?;
    Ok(back_to(bag.day, bag_id))
}

pub(super) async fn dispatch(
    State(state): State<WebState>,
    operator: Operator,
    Path(bag_id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    state
        .app
        .dispatch_bag(&operator.principal, bag_id)
        .await
        .map_err(operator.app_err())?;
    let contents = state
        .app
        .bag(&operator.principal, bag_id)
        .await
        .map_err(operator.app_err())?;
    Ok(back_to(contents.bag.day, bag_id))
}

/// The bag label (100 × 150 mm, QR code of `YZBAG:<id>`), as the API
/// prints it, under the cookie session.
pub(super) async fn label(
    State(state): State<WebState>,
    operator: Operator,
    Path(bag_id): Path<i64>,
) -> Result<Response, WebError> {
    let contents = state
        .app
        .bag(&operator.principal, bag_id)
        .await
        .map_err(operator.app_err())?;
    Ok(Html(print::bag_label_html(&contents)).into_response())
}

struct HandoverRow {
    label: String,
    barcode: String,
    destination: String,
    mode: &'static str,
    per_carrier: String,
    n: u32,
}

#[derive(Template)]
#[template(path = "centre/handover.html")]
struct HandoverPage {
    f: Frame,
    title: String,
    day: NaiveDate,
    rows: Vec<HandoverRow>,
    totals: Vec<(&'static str, &'static str, u32)>,
    n_parcels: u32,
}

pub(super) async fn handover(
    State(state): State<WebState>,
    operator: Operator,
    Path((kind, id)): Path<(String, i64)>,
    Query(query): Query<DayQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let to = match kind.as_str() {
        "route" => HandoverTo::Route(id),
        "contractor" => HandoverTo::Contractor(id),
        _ => return Err(WebError::from_app(AppError::NotFound("route"), t)),
    };
    let day = query.day(&state, t)?;
    let list = state
        .app
        .handover(&operator.principal, to, day)
        .await
        .map_err(operator.app_err())?;
    let rows = list
        .bags
        .iter()
        .map(|contents| HandoverRow {
            label: contents.bag.label_payload(),
            barcode: print::code128_svg(&contents.bag.label_payload()),
            destination: contents.destination.clone(),
            mode: mode_name(t, contents.bag.mode),
            per_carrier: contents
                .per_carrier
                .iter()
                .map(|(carrier, n)| format!("{} {n}", carrier.name_zh()))
                .collect::<Vec<_>>()
                .join("，"),
            n: contents.n_parcels,
        })
        .collect();
    Ok(render(HandoverPage {
        f: Frame::new(&operator, "bags"),
        title: list.title,
        day: list.day,
        rows,
        totals: list
            .per_carrier
            .iter()
            .map(|(carrier, n)| (carrier.name_zh(), carrier.code(), *n))
            .collect(),
        n_parcels: list.n_parcels,
    }))
}

pub(super) fn routes() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/centre/bags", get(page))
        .route("/centre/bags/{bag_id}/close", post(close))
        .route("/centre/bags/{bag_id}/dispatch", post(dispatch))
        .route("/centre/bags/{bag_id}/label", get(label))
        .route("/centre/handover/{kind}/{id}", get(handover))
}

//! The county centre console (`/centre`, issue 13): what county staff do at
//! the co-delivery centre — arrival scanning at the belt, the manual queue,
//! bags and handover lists, agreements, reconciliation and fees, dispatch
//! and sort plans. Same stack as the keeper's console: server-rendered,
//! Chinese first, works without JavaScript.
//!
//! This module holds the route table, the `Operator` extractor and the
//! frame every centre page shares; each area's handlers are in a submodule
//! that returns its own `Router`, so areas grow without touching each other.

mod arrival;
mod bags;
mod home;
mod manual;
// The office side (branch centre-office): agreements, reports, dispatch, sort plans.
mod agreements;
mod dispatch;
mod office;
mod reports;
mod sort;
// The county board and the daily report (issue 16, branch board).
mod board;
// The finance workplace (branch money, issue 15).
mod finance;
// branch vehicles (issue 20): the fleet page at `/fleet`.
mod fleet;
// branch vehicles2 (issue 20): missions from the dispatch plan.
mod missions;
// branch send-page (issue 14): sending orders' privacy labels; branch
// send-flow: the list of sending orders and an order's page.
mod send;
// branch kiosks (issue 14): the kiosk fleet, its daily report, collection.
mod kiosks;
// The sorting hub's board (issue 16, point 4).
mod hub;
// branch presale (issue 14): community pre-sale campaigns.
mod presale;
// branch money2 (issue 15, session 10): collection plans.
mod plans;

use crate::i18n::Tr;
use crate::{Session, WebState};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/centre", get(home::home))
        .merge(arrival::routes())
        .merge(manual::routes())
        .merge(bags::routes())
        .merge(agreements::routes())
        .merge(reports::routes())
        .merge(dispatch::routes())
        .merge(sort::routes())
        .merge(board::routes())
        .merge(finance::routes())
        .merge(fleet::routes())
        .merge(send::routes())
        .merge(kiosks::routes())
        .merge(hub::routes())
        .merge(presale::routes())
        .merge(plans::routes())
        .merge(plans::routes_exposure())
        .merge(missions::routes())
}

/// A signed-in person who may run the county centre (county staff and the
/// administrator). Anyone else is sent to their own home page.
pub struct Operator(Session);

impl std::ops::Deref for Operator {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl FromRequestParts<WebState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::read(parts, state).await?;
        if !session.principal.may_run_county() {
            return Err(Redirect::to(crate::home_for(&session.principal)).into_response());
        }
        Ok(Operator(session))
    }
}

/// What every centre page shows around its content
/// (`templates/centre/base.html`).
struct Frame {
    t: Tr,
    csrf: String,
    user: String,
    /// Which tab is open.
    tab: &'static str,
}

impl Frame {
    fn new(operator: &Operator, tab: &'static str) -> Frame {
        Frame {
            t: operator.tr,
            csrf: operator.csrf.clone(),
            user: operator.principal.username.clone(),
            tab,
        }
    }
}

//! The keeper's console: sign-in, the day at a glance, scanner inbound,
//! the shelf map, search and staff-assisted hand-out, problems, returns,
//! alerts, device liveness and pairing the door terminal. This module holds
//! the route table and what several pages share (the station frame, parcel
//! rows, the station check); each area's handlers are in a submodule.

mod devices;
mod export;
mod inbound;
mod overview;
mod pairing;
mod parcel;
mod pending;
mod problems;
mod search;
mod session;
// The sender's sign-in (`/send`) has a pre-session CSRF token the same way.
pub(crate) use session::pre_session;
mod shelves;
mod vehicles;

use crate::i18n::Tr;
use crate::{CONSOLE_CSS, CONSOLE_JS, Keeper, WebError, WebState, local};
use app::parcels::ParcelView;
use app::ports::StationRecord;
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use domain::ParcelState;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/console", get(session::home))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/s/{station_id}", get(overview::dashboard))
        .route(
            "/console/s/{station_id}/alerts/{alert_id}/ack",
            post(overview::acknowledge),
        )
        .route(
            "/console/s/{station_id}/inbound",
            get(inbound::inbound_page).post(inbound::inbound),
        )
        .route(
            "/console/s/{station_id}/label/{parcel_id}",
            get(inbound::label),
        )
        .route("/console/s/{station_id}/shelves", get(shelves::shelves))
        .route("/console/s/{station_id}/search", get(search::search))
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/handout",
            post(search::handout),
        )
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/problem",
            post(problems::problem),
        )
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/return",
            post(problems::return_parcel),
        )
        .route("/console/s/{station_id}/problems", get(problems::problems))
        .route("/console/s/{station_id}/returns", get(problems::returns))
        .route(
            "/console/s/{station_id}/terminal",
            get(pairing::terminal_page).post(pairing::pair_terminal),
        )
        .route(
            "/console/s/{station_id}/devices",
            get(devices::devices_page).post(devices::register),
        )
        .route(
            "/console/s/{station_id}/devices/replace",
            post(devices::replace),
        )
        .route(
            "/console/s/{station_id}/contact-phone",
            post(devices::contact_phone),
        )
        // Branch `station`: the dead ends of issue 13, item 3.
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}",
            get(parcel::detail),
        )
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/phone",
            post(parcel::reveal_phone),
        )
        .route("/console/s/{station_id}/pending", get(pending::pending))
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/contact",
            post(pending::add_contact),
        )
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/consent",
            post(pending::record_consent),
        )
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/resolve",
            post(problems::resolve),
        )
        .route(
            "/console/s/{station_id}/returns/print",
            get(problems::returns_print),
        )
        .route("/console/s/{station_id}/export/{list}", get(export::export))
        .route("/console/s/{station_id}/vehicles", get(vehicles::vehicles))
        .route(
            "/console/s/{station_id}/vehicles/{mission_id}/{stop_id}/open",
            post(vehicles::open),
        )
        .route(
            "/console/s/{station_id}/vehicles/{mission_id}/{stop_id}/hand_over",
            post(vehicles::hand_over),
        )
        .route("/static/station.css", get(station_css))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/lang/{code}", get(session::set_language))
        .route("/static/console.css", get(css))
        .route("/static/console.js", get(js))
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        CONSOLE_CSS,
    )
        .into_response()
}

async fn station_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        crate::STATION_CSS,
    )
        .into_response()
}

/// Our own mark (a parcel on a shelf), drawn for this project: no licence
/// to carry. Browsers ask for `/favicon.ico` even when the page names the
/// SVG; both answer with it.
async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        crate::FAVICON_SVG,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        CONSOLE_JS,
    )
        .into_response()
}

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// What every station page shows around its content.
struct Frame {
    t: Tr,
    csrf: String,
    user: String,
    station: StationRecord,
    /// Which tab is open.
    tab: &'static str,
}

impl Frame {
    async fn load(
        state: &WebState,
        keeper: &Keeper,
        station_id: i64,
        tab: &'static str,
    ) -> Result<Frame, WebError> {
        let station = state
            .app
            .station(&keeper.principal, station_id)
            .await
            .map_err(keeper.app_err())?;
        Ok(Frame {
            t: keeper.tr,
            csrf: keeper.csrf.clone(),
            user: keeper.principal.username.clone(),
            station,
            tab,
        })
    }
}

/// One parcel row with what the keeper can do to it.
#[derive(Clone)]
struct ParcelRow {
    id: i64,
    waybill: String,
    carrier: &'static str,
    recipient: String,
    phone: String,
    state: &'static str,
    stored: bool,
    /// Waiting for the recipient's consent (or, without a phone, for one).
    awaiting: bool,
    /// On the problems list; `problem` names what is wrong.
    is_problem: bool,
    problem: &'static str,
    code: String,
    slot: String,
    stored_at: String,
    overdue: bool,
}

/// A row in the page's language: states, carriers and problem kinds have
/// an English name beside the Chinese one.
fn row(view: ParcelView, t: Tr) -> ParcelRow {
    let p = view.parcel;
    let en = t.is_en();
    ParcelRow {
        id: p.id,
        waybill: p.waybill.as_str().to_string(),
        carrier: p.carrier.name_in(en),
        recipient: p.recipient_name.unwrap_or_default(),
        // Masked: `Phone`'s Display never shows the whole number.
        phone: p.phone.map(|phone| phone.to_string()).unwrap_or_default(),
        state: p.state.name_in(en),
        stored: p.state == ParcelState::Stored,
        awaiting: p.state == ParcelState::AwaitingConsent,
        is_problem: p.state == ParcelState::Problem,
        problem: p.problem.map(|kind| kind.name_in(en)).unwrap_or_default(),
        code: p.pickup_code.unwrap_or_default(),
        slot: view.slot.unwrap_or_default(),
        stored_at: p.stored_at.map(local).unwrap_or_default(),
        overdue: view.overdue,
    }
}

/// After an action on a parcel, back to the search it was found by, with
/// what was done (only characters a code or waybill holds go into the URL).
fn back_to_search(station_id: i64, q: &str, done: &str) -> Response {
    let q: String = q
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    Redirect::to(&format!("/console/s/{station_id}/search?q={q}&done={done}")).into_response()
}

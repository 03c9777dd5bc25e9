//! The tablet at the station's door, and the public page a QR code in an
//! arrival message opens. The terminal page is one screen driven by a small
//! script; its calls are JSON under `/terminal/api`, each with the CSRF
//! header.

use crate::i18n::Tr;
use crate::{Language, TERMINAL_JS, TerminalDevice, WebError, WebState, field, render};
use app::AppError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/terminal", get(page))
        .route("/terminal/api/code", post(code))
        .route("/terminal/api/scan", post(scan))
        .route("/terminal/api/session/{session_id}", get(session))
        .route("/terminal/api/session/{session_id}/end", post(end))
        .route("/terminal/api/vehicles", get(vehicles))
        .route("/terminal/api/vehicles/open", post(vehicle_open))
        .route("/terminal/api/vehicles/hand-over", post(vehicle_hand_over))
        .route("/terminal/api/vehicles/collect", post(vehicle_collect))
        .route("/static/terminal.js", get(js))
        .route("/q/{token}", get(qr_page))
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        TERMINAL_JS,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "terminal.html")]
struct TerminalPage {
    t: Tr,
    paired: bool,
    station: String,
    /// The station's public contact phone, shown on the screen (none set:
    /// nothing shown).
    station_phone: Option<String>,
    csrf: String,
    /// Every string the script shows, in the page's language.
    strings: String,
}

/// Strings the terminal script needs, as a JSON object.
fn script_strings(t: Tr) -> String {
    let keys = [
        "terminal.not_yours",
        "terminal.already",
        "terminal.all_done",
        "terminal.ended",
        "terminal.expired",
        "terminal.taken",
        "terminal.waiting",
        "terminal.seconds_left",
        "terminal.door_open",
        "terminal.door_opening",
        "terminal.door_failed",
        "terminal.door_call",
        "terminal.door_come_back",
        "terminal.close_door",
        "terminal.vehicle_parcels",
        "terminal.vehicle_open",
        "terminal.vehicle_open_collection",
        "terminal.vehicle_hand_over",
        "terminal.vehicle_opened",
        "terminal.vehicle_handed",
        "terminal.vehicle_collection_open",
        "terminal.vehicle_take",
        "error.title",
    ];
    let map: serde_json::Map<String, serde_json::Value> = keys
        .iter()
        .map(|k| (k.to_string(), serde_json::Value::from(t.get(k))))
        .collect();
    // `</` cannot appear in JSON from these strings, so it is safe inside a
    // <script> element; escape it anyway in case a translation adds one.
    serde_json::Value::Object(map)
        .to_string()
        .replace("</", "<\\/")
}

async fn page(
    State(state): State<WebState>,
    Language(t): Language,
    terminal: Option<TerminalDevice>,
) -> Result<Response, WebError> {
    let Some(terminal) = terminal else {
        return Ok(render(TerminalPage {
            t,
            paired: false,
            station: String::new(),
            station_phone: None,
            csrf: String::new(),
            strings: script_strings(t),
        }));
    };
    let station = state
        .app
        .terminal_station(&terminal.principal, terminal.station_id)
        .await
        .map_err(|e| WebError::from_app(e, t))?
        .name;
    let station_phone = state
        .app
        .station_contact_phone(&terminal.principal, terminal.station_id)
        .await
        .map_err(|e| WebError::from_app(e, t))?;
    Ok(render(TerminalPage {
        t: terminal.tr,
        paired: true,
        station,
        station_phone,
        csrf: terminal.csrf,
        strings: script_strings(terminal.tr),
    }))
}

fn unpaired(t: Tr) -> WebError {
    WebError::from_app(AppError::Unauthenticated, t).json()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    code: String,
    #[serde(default)]
    phone_tail: Option<String>,
}

async fn code(
    State(state): State<WebState>,
    Language(t): Language,
    crate::ClientAddr(source): crate::ClientAddr,
    terminal: Option<TerminalDevice>,
    headers: HeaderMap,
    Json(body): Json<CodeRequest>,
) -> Result<Response, WebError> {
    let terminal = terminal.ok_or_else(|| unpaired(t))?;
    terminal.check(&state, &headers)?;
    let code = field(t, &body.code).map_err(WebError::json)?;
    let view = state
        .app
        .start_pickup(
            &terminal.principal,
            terminal.station_id,
            &terminal.principal.username,
            &source,
            code,
            body.phone_tail.as_deref(),
        )
        .await
        .map_err(|e| WebError::from_app(e, t).json())?;
    Ok(Json(view).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanRequest {
    session_id: i64,
    text: String,
}

async fn scan(
    State(state): State<WebState>,
    Language(t): Language,
    terminal: Option<TerminalDevice>,
    headers: HeaderMap,
    Json(body): Json<ScanRequest>,
) -> Result<Response, WebError> {
    let terminal = terminal.ok_or_else(|| unpaired(t))?;
    terminal.check(&state, &headers)?;
    let text = field(t, &body.text).map_err(WebError::json)?;
    let outcome = state
        .app
        .checkout_scan(
            &terminal.principal,
            terminal.station_id,
            Some(body.session_id),
            &terminal.principal.username,
            text,
        )
        .await
        .map_err(|e| WebError::from_app(e, t).json())?;
    Ok(Json(outcome).into_response())
}

async fn session(
    State(state): State<WebState>,
    Language(t): Language,
    terminal: Option<TerminalDevice>,
    Path(session_id): Path<i64>,
) -> Result<Response, WebError> {
    let terminal = terminal.ok_or_else(|| unpaired(t))?;
    let view = state
        .app
        .pickup_session(&terminal.principal, terminal.station_id, session_id)
        .await
        .map_err(|e| WebError::from_app(e, t).json())?;
    Ok(Json(view).into_response())
}

async fn end(
    State(state): State<WebState>,
    Language(t): Language,
    terminal: Option<TerminalDevice>,
    headers: HeaderMap,
    Path(session_id): Path<i64>,
) -> Result<Response, WebError> {
    let terminal = terminal.ok_or_else(|| unpaired(t))?;
    terminal.check(&state, &headers)?;
    let view = state
        .app
        .end_pickup(&terminal.principal, terminal.station_id, session_id)
        .await
        .map_err(|e| WebError::from_app(e, t).json())?;
    Ok(Json(view).into_response())
}

#[derive(Template)]
#[template(path = "qr.html")]
struct QrPage {
    t: Tr,
    valid: bool,
    station: String,
    svg: String,
}

/// The page behind the link in an arrival message: the QR code to show at
/// the terminal. It names the station and nothing personal; a forged or
/// expired token shows no code.
async fn qr_page(
    State(state): State<WebState>,
    Language(t): Language,
    Path(token): Path<String>,
) -> Response {
    let station = state
        .app
        .pickup_qr_station(&token)
        .await
        .ok()
        .map(|s| s.name);
    let Some(station) = station else {
        let mut response = render(QrPage {
            t,
            valid: false,
            station: String::new(),
            svg: String::new(),
        });
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let svg = qrcode::QrCode::new(token.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(240, 240)
                .build()
        })
        .unwrap_or_default();
    render(QrPage {
        t,
        valid: true,
        station,
        svg,
    })
}

/// A vehicle due at the station as the terminal sees it: no waybill, no
/// recipient, just what to open.
#[derive(serde::Serialize)]
struct VehicleDue {
    mission_id: i64,
    stop_id: i64,
    vehicle: String,
    name: String,
    compartments: Vec<u32>,
    n_parcels: usize,
    collect_from_vehicle: bool,
    open_for_collection: bool,
}

/// The vehicles due at the terminal's station (issue 20).
async fn vehicles(
    State(state): State<WebState>,
    Language(t): Language,
    terminal: Option<TerminalDevice>,
) -> Result<Response, WebError> {
    let terminal = terminal.ok_or_else(|| unpaired(t))?;
    let due = state
        .app
        .vehicles_due_at_station(&terminal.principal, terminal.station_id)
        .await
        .map_err(|e| WebError::from_app(e, t).json())?;
    let due: Vec<VehicleDue> = due
        .into_iter()
        .map(|arrival| VehicleDue {
            mission_id: arrival.mission_id,
            stop_id: arrival.stop_id,
            vehicle: arrival.vehicle.code,
            name: arrival.vehicle.name,
            compartments: arrival.compartments,
            n_parcels: arrival.parcels.len(),
            collect_from_vehicle: arrival.collect_from_vehicle,
            open_for_collection: arrival.open_for_collection,
        })
        .collect();
    Ok(Json(due).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopRequest {
    mission_id: i64,
    stop_id: i64,
    /// For a hand-over: the compartments that opened (none: all).
    #[serde(default)]
    compartments: Option<Vec<u32>>,
}

/// The vehicle stands at the station: a collect-from-vehicle stop opens
/// for collection (codes issued, recipients told); any other stop's
/// compartments are told to open for the hand-over.
async fn vehicle_open(
    State(state): State<WebState>,
    Language(t): Language,
    terminal: Option<TerminalDevice>,
    headers: HeaderMap,
    Json(body): Json<StopRequest>,
) -> Result<Response, WebError> {
    let terminal = terminal.ok_or_else(|| unpaired(t))?;
    terminal.check(&state, &headers)?;
    let opened = state
        .app
        .open_at_stop(&terminal.principal, body.mission_id, body.stop_id)
        .await
        .map_err(|e| WebError::from_app(e, t).json())?;
    let answer = match opened {
        app::fleet::StopOpened::Collection(opened) => serde_json::json!({
            "collection": true,
            "n_parcels": opened.parcels.len(),
            "duplicate": opened.duplicate,
        }),
        app::fleet::StopOpened::Compartments(compartments) => {
            serde_json::json!({ "collection": false, "compartments": compartments })
        }
    };
    Ok(Json(answer).into_response())
}

/// The automatic hand-over: the stop's parcels in the compartments that
/// opened go onto the shelves with no scan.
async fn vehicle_hand_over(
    State(state): State<WebState>,
    Language(t): Language,
    terminal: Option<TerminalDevice>,
    headers: HeaderMap,
    Json(body): Json<StopRequest>,
) -> Result<Response, WebError> {
    let terminal = terminal.ok_or_else(|| unpaired(t))?;
    terminal.check(&state, &headers)?;
    let handed = state
        .app
        .hand_over_at_stop(
            &terminal.principal,
            body.mission_id,
            body.stop_id,
            body.compartments.as_deref(),
        )
        .await
        .map_err(|e| WebError::from_app(e, t).json())?;
    Ok(Json(serde_json::json!({
        "handed_over": handed.handed_over.len(),
        "kept_aboard": handed.kept_aboard.len(),
        "duplicate": handed.duplicate,
    }))
    .into_response())
}

/// A recipient's code and phone tail (or QR code) at a vehicle open for
/// collection: that parcel's compartment opens.
async fn vehicle_collect(
    State(state): State<WebState>,
    Language(t): Language,
    crate::ClientAddr(source): crate::ClientAddr,
    terminal: Option<TerminalDevice>,
    headers: HeaderMap,
    Json(body): Json<CodeRequest>,
) -> Result<Response, WebError> {
    let terminal = terminal.ok_or_else(|| unpaired(t))?;
    terminal.check(&state, &headers)?;
    let code = field(t, &body.code).map_err(WebError::json)?;
    let collected = state
        .app
        .collect_from_vehicle(
            &terminal.principal,
            terminal.station_id,
            &terminal.principal.username,
            &source,
            code,
            body.phone_tail.as_deref(),
        )
        .await
        .map_err(|e| WebError::from_app(e, t).json())?;
    Ok(Json(serde_json::json!({
        "vehicle": collected.vehicle,
        "compartment": collected.compartment,
        "waybill_tail": collected.waybill_tail,
    }))
    .into_response())
}

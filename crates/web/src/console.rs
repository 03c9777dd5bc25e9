//! The keeper's console: sign-in, the day at a glance, scanner inbound,
//! the shelf map, search and staff-assisted hand-out, problems, returns,
//! alerts, device liveness and pairing the door terminal.

use crate::i18n::Tr;
use crate::{
    CONSOLE_CSS, CONSOLE_JS, Keeper, LANG_COOKIE, Language, PRE_COOKIE, SESSION_COOKIE,
    TERMINAL_COOKIE, WebError, WebState, cookie, csrf_matches, csrf_token, field, local, removal,
    render, wants_json,
};
use app::dashboard::DaySummary;
use app::inbound::InboundScan;
use app::parcels::{ParcelView, PickupProof, ShownProof};
use app::ports::{ParcelFilter, StationRecord};
use app::terminal::{AlertRecord, DeviceStatusRecord};
use app::{AppError, Code};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_extra::extract::CookieJar;
use domain::station::SizeClass;
use domain::{Carrier, ParcelState, Phone, ProblemKind, WaybillNo};
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/console", get(home))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/s/{station_id}", get(dashboard))
        .route(
            "/console/s/{station_id}/alerts/{alert_id}/ack",
            post(acknowledge),
        )
        .route(
            "/console/s/{station_id}/inbound",
            get(inbound_page).post(inbound),
        )
        .route("/console/s/{station_id}/label/{parcel_id}", get(label))
        .route("/console/s/{station_id}/shelves", get(shelves))
        .route("/console/s/{station_id}/search", get(search))
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/handout",
            post(handout),
        )
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/problem",
            post(problem),
        )
        .route(
            "/console/s/{station_id}/parcels/{parcel_id}/return",
            post(return_parcel),
        )
        .route("/console/s/{station_id}/problems", get(problems))
        .route("/console/s/{station_id}/returns", get(returns))
        .route(
            "/console/s/{station_id}/terminal",
            get(terminal_page).post(pair_terminal),
        )
        .route("/lang/{code}", get(set_language))
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

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        CONSOLE_JS,
    )
        .into_response()
}

/// Chooses the language and goes back where the user was (same site only).
async fn set_language(
    State(state): State<WebState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let value = if code == "en" { "en" } else { "zh" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or_else(|| "/console".into());
    let jar = jar.add(cookie(
        &state,
        LANG_COOKIE,
        value.into(),
        chrono::Duration::days(365),
    ));
    (jar, Redirect::to(&back)).into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    csrf: String,
    failed: bool,
}

async fn login_page(
    State(state): State<WebState>,
    Language(t): Language,
    jar: CookieJar,
) -> Response {
    let (jar, seed) = pre_session(&state, jar);
    let page = LoginPage {
        t,
        csrf: csrf_token(&state.app.secrets.web_key, &format!("pre:{seed}")),
        failed: false,
    };
    (jar, render(page)).into_response()
}

fn pre_session(state: &WebState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(seed) = jar.get(PRE_COOKIE).map(|c| c.value().to_string()) {
        return (jar, seed);
    }
    let seed = hex::encode(rand::random::<[u8; 16]>());
    let jar = jar.add(cookie(
        state,
        PRE_COOKIE,
        seed.clone(),
        chrono::Duration::days(1),
    ));
    (jar, seed)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

async fn login(
    State(state): State<WebState>,
    Language(t): Language,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let (jar, seed) = pre_session(&state, jar);
    if !csrf_matches(
        &state.app.secrets.web_key,
        &format!("pre:{seed}"),
        &form.csrf,
    ) {
        return Err(WebError::csrf(t));
    }
    let username = field(t, &form.username)?;
    let password = field(t, &form.password)?;
    match state.app.sign_in(username, password).await {
        Ok((token, principal))
            if !matches!(
                principal.role,
                domain::Role::StationTerminal | domain::Role::CarrierIntegrator
            ) =>
        {
            let jar = jar.add(cookie(
                &state,
                SESSION_COOKIE,
                token,
                chrono::Duration::hours(state.app.settings.token_hours),
            ));
            Ok((jar, Redirect::to("/console")).into_response())
        }
        Ok((token, _)) => {
            state.app.sign_out(&token).await.ok();
            Err(WebError::from_app(AppError::new(Code::ConsoleForbidden), t))
        }
        Err(AppError::Unauthenticated) => {
            let page = LoginPage {
                t,
                csrf: csrf_token(&state.app.secrets.web_key, &format!("pre:{seed}")),
                failed: true,
            };
            let mut response = render(page);
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            Ok((jar, response).into_response())
        }
        Err(error) => Err(WebError::from_app(error, t)),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<WebState>,
    keeper: Keeper,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    state
        .app
        .sign_out(&keeper.token)
        .await
        .map_err(keeper.app_err())?;
    let jar = jar.remove(removal(SESSION_COOKIE));
    Ok((jar, Redirect::to("/console/login")).into_response())
}

#[derive(Template)]
#[template(path = "stations.html")]
struct StationsPage {
    t: Tr,
    csrf: String,
    user: String,
    stations: Vec<StationRecord>,
}

async fn home(State(state): State<WebState>, keeper: Keeper) -> Result<Response, WebError> {
    let stations = state
        .app
        .stations(&keeper.principal)
        .await
        .map_err(keeper.app_err())?;
    if let [only] = stations.as_slice() {
        return Ok(Redirect::to(&format!("/console/s/{}", only.id)).into_response());
    }
    Ok(render(StationsPage {
        t: keeper.tr,
        csrf: keeper.csrf,
        user: keeper.principal.username,
        stations,
    }))
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

struct AlertView {
    id: i64,
    message: String,
    at: String,
    acknowledged: bool,
}

struct DeviceView {
    kind: &'static str,
    id: String,
    online: bool,
    since: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    f: Frame,
    summary: DaySummary,
    alerts: Vec<AlertView>,
    devices: Vec<DeviceView>,
}

async fn dashboard(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "home").await?;

    let today = state
        .app
        .now()
        .with_timezone(&domain::shanghai())
        .date_naive();
    let summary = state
        .app
        .day_summary(&keeper.principal, station_id, today)
        .await
        .map_err(keeper.app_err())?;
    let alerts = state
        .app
        .alerts(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?
        .into_iter()
        .map(|a: AlertRecord| AlertView {
            id: a.id,
            message: a.message,
            at: local(a.at),
            acknowledged: a.acknowledged_at.is_some(),
        })
        .collect();
    let devices = state
        .app
        .device_statuses(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?
        .into_iter()
        .map(|d: DeviceStatusRecord| DeviceView {
            kind: match d.device_kind.as_str() {
                "door" => "devices.door",
                "lights" => "devices.lights",
                _ => "devices.scanner",
            },
            id: d.device_id,
            online: d.online,
            since: local(d.changed_at),
        })
        .collect();
    Ok(render(DashboardPage {
        f,
        summary,
        alerts,
        devices,
    }))
}

async fn acknowledge(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, alert_id)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    state
        .app
        .acknowledge_alert(&keeper.principal, station_id, alert_id)
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!("/console/s/{station_id}")).into_response())
}

/// The outcome of one scan, as the scanner screen shows it.
#[derive(serde::Serialize)]
struct ScanResult {
    /// `stored`, `duplicate`, `awaiting` or `error`.
    status: &'static str,
    title: &'static str,
    code: Option<String>,
    slot: Option<String>,
    waybill: String,
    parcel_id: Option<i64>,
    message: Option<String>,
}

#[derive(Template)]
#[template(path = "inbound.html")]
struct InboundPage {
    f: Frame,
    carriers: Vec<CarrierOption>,
    result: Option<ScanResult>,
}

struct CarrierOption {
    code: &'static str,
    name: &'static str,
    selected: bool,
}

#[derive(Deserialize)]
struct CarrierQuery {
    carrier: Option<String>,
}

fn carrier_options(selected: &str) -> Vec<CarrierOption> {
    Carrier::ALL
        .iter()
        .map(|c| CarrierOption {
            code: c.code(),
            name: c.name_zh(),
            selected: c.code() == selected,
        })
        .collect()
}

async fn inbound_page(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Query(query): Query<CarrierQuery>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "inbound").await?;
    Ok(render(InboundPage {
        f,
        carriers: carrier_options(query.carrier.as_deref().unwrap_or("ZTO")),
        result: None,
    }))
}

#[derive(Deserialize)]
struct InboundForm {
    csrf: String,
    carrier: String,
    waybill: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    size: String,
}

async fn inbound(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<InboundForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    let t = keeper.tr;
    let waybill_text = field(t, &form.waybill)?.trim().to_string();
    let result = match parse_scan(&form) {
        Err(error) => ScanResult {
            status: "error",
            title: t.get("inbound.error"),
            code: None,
            slot: None,
            waybill: waybill_text,
            parcel_id: None,
            message: Some(error.message(t.0)),
        },
        Ok(scan) => match state.app.inbound(&keeper.principal, station_id, scan).await {
            Ok(outcome) => {
                let status = if outcome.duplicate {
                    "duplicate"
                } else if outcome.pickup_code.is_some() {
                    "stored"
                } else {
                    "awaiting"
                };
                ScanResult {
                    status,
                    title: t.get(match status {
                        "duplicate" => "inbound.duplicate",
                        "stored" => "inbound.stored",
                        _ => "inbound.awaiting",
                    }),
                    code: outcome.pickup_code,
                    slot: outcome.slot,
                    waybill: outcome.waybill.as_str().to_string(),
                    parcel_id: Some(outcome.parcel_id),
                    message: (!outcome.carrier_hint.is_empty()).then(|| {
                        let names: Vec<&str> =
                            outcome.carrier_hint.iter().map(|c| c.name_zh()).collect();
                        format!("运单号更像：{}", names.join("、"))
                    }),
                }
            }
            Err(error @ (AppError::Forbidden(_) | AppError::NotFound(_))) => {
                return Err(WebError::from_app(error, t));
            }
            Err(error) => ScanResult {
                status: "error",
                title: t.get("inbound.error"),
                code: None,
                slot: None,
                waybill: waybill_text,
                parcel_id: None,
                message: Some(error.message(t.0)),
            },
        },
    };
    if wants_json(&headers) {
        return Ok(Json(result).into_response());
    }
    let f = Frame::load(&state, &keeper, station_id, "inbound").await?;
    Ok(render(InboundPage {
        f,
        carriers: carrier_options(&form.carrier),
        result: Some(result),
    }))
}

fn parse_scan(form: &InboundForm) -> Result<InboundScan, AppError> {
    let carrier = Carrier::parse(&form.carrier).map_err(AppError::detail(Code::CarrierUnknown))?;
    let waybill = WaybillNo::parse(&form.waybill)
        .map_err(|e| AppError::new(Code::WaybillInvalid).with_detail(e))?;
    let phone = match form.phone.trim() {
        "" => None,
        text => {
            Some(Phone::parse(text).map_err(|e| AppError::new(Code::PhoneInvalid).with_detail(e))?)
        }
    };
    let size = match form.size.as_str() {
        "" | "small" => SizeClass::Small,
        "medium" => SizeClass::Medium,
        "large" => SizeClass::Large,
        other => return Err(AppError::new(Code::SizeInvalid).with("size", format!("{other:?}"))),
    };
    Ok(InboundScan {
        carrier,
        waybill,
        recipient_name: None,
        phone,
        size,
        consent: None,
    })
}

#[derive(Template)]
#[template(path = "label.html")]
struct LabelPage {
    t: Tr,
    station: String,
    code: String,
    slot: String,
    carrier: &'static str,
    waybill_tail: String,
    date: String,
}

async fn label(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "inbound").await?;
    let view = state
        .app
        .parcel(&keeper.principal, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    if view.parcel.station_id != Some(station_id) {
        return Err(WebError::from_app(AppError::NotFound("parcel"), keeper.tr));
    }
    Ok(render(LabelPage {
        t: keeper.tr,
        station: f.station.name,
        code: view.parcel.pickup_code.clone().unwrap_or_default(),
        slot: view.slot.clone().unwrap_or_default(),
        carrier: view.parcel.carrier.name_zh(),
        waybill_tail: view.parcel.waybill.tail().to_string(),
        date: view.parcel.stored_at.map(local).unwrap_or_default(),
    }))
}

struct SlotCell {
    label: String,
    n: u32,
    capacity: u32,
    overdue: bool,
}

struct ShelfRow {
    shelf: String,
    tiers: Vec<(u32, Vec<SlotCell>)>,
}

#[derive(Template)]
#[template(path = "shelves.html")]
struct ShelvesPage {
    f: Frame,
    shelves: Vec<ShelfRow>,
}

async fn shelves(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "shelves").await?;
    let slots = state
        .app
        .station_slots(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?;
    let mut by_shelf: BTreeMap<String, BTreeMap<u32, Vec<SlotCell>>> = BTreeMap::new();
    for s in slots {
        by_shelf
            .entry(s.slot.shelf.clone())
            .or_default()
            .entry(s.slot.tier)
            .or_default()
            .push(SlotCell {
                label: s.slot.label(),
                n: s.n_parcels,
                capacity: s.slot.capacity,
                overdue: s.n_overdue > 0,
            });
    }
    let shelves = by_shelf
        .into_iter()
        .map(|(shelf, tiers)| ShelfRow {
            shelf,
            // Top tier first, as the keeper faces the shelf.
            tiers: tiers.into_iter().rev().collect(),
        })
        .collect();
    Ok(render(ShelvesPage { f, shelves }))
}

/// One parcel row with what the keeper can do to it.
struct ParcelRow {
    id: i64,
    waybill: String,
    carrier: &'static str,
    recipient: String,
    phone: String,
    state: &'static str,
    stored: bool,
    code: String,
    slot: String,
    stored_at: String,
    overdue: bool,
}

fn row(view: ParcelView) -> ParcelRow {
    let p = view.parcel;
    ParcelRow {
        id: p.id,
        waybill: p.waybill.as_str().to_string(),
        carrier: p.carrier.name_zh(),
        recipient: p.recipient_name.unwrap_or_default(),
        // Masked: `Phone`'s Display never shows the whole number.
        phone: p.phone.map(|phone| phone.to_string()).unwrap_or_default(),
        state: p.state.name_zh(),
        stored: p.state == ParcelState::Stored,
        code: p.pickup_code.unwrap_or_default(),
        slot: view.slot.unwrap_or_default(),
        stored_at: p.stored_at.map(local).unwrap_or_default(),
        overdue: view.overdue,
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    f: Frame,
    q: String,
    searched: bool,
    rows: Vec<ParcelRow>,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: Option<String>,
}

/// What the keeper typed: four digits are a phone tail, something that
/// parses as a waybill number and is long is a waybill, anything else a
/// pickup code.
fn filter_for(q: &str) -> ParcelFilter {
    let q = q.trim();
    let mut filter = ParcelFilter {
        limit: 50,
        ..Default::default()
    };
    if q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit()) {
        filter.phone_tail = Some(q.to_string());
    } else if q.len() >= 10 && !q.contains('-') && WaybillNo::parse(q).is_ok() {
        filter.waybill = WaybillNo::parse(q).ok().map(|w| w.as_str().to_string());
    } else {
        filter.pickup_code = Some(q.to_string());
    }
    filter
}

async fn search(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Query(query): Query<SearchQuery>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "search").await?;
    let q = field(keeper.tr, &query.q)?.trim().to_string();
    let rows = if q.is_empty() {
        Vec::new()
    } else {
        state
            .app
            .station_parcels(&keeper.principal, station_id, filter_for(&q))
            .await
            .map_err(keeper.app_err())?
            .parcels
            .into_iter()
            .map(row)
            .collect()
    };
    let notice = query
        .done
        .as_deref()
        .map(|done| {
            keeper.tr.get(match done {
                "handout" => "handout.done",
                _ => "done.ok",
            })
        })
        .map(str::to_string);
    Ok(render(SearchPage {
        f,
        searched: !q.is_empty(),
        q,
        rows,
        notice,
    }))
}

#[derive(Deserialize)]
struct HandoutForm {
    csrf: String,
    shown: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    q: String,
}

async fn handout(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<HandoutForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    let t = keeper.tr;
    let shown = match form.shown.as_str() {
        "message" => ShownProof::Message,
        "id_card" => ShownProof::IdCard,
        "app_qr" => ShownProof::AppQrCode,
        _ => {
            return Err(WebError::from_app(
                AppError::new(Code::ChoiceMissing).with_words(
                    "what",
                    "收件人出示的凭证",
                    "what the recipient showed",
                ),
                t,
            ));
        }
    };
    let note = field(t, &form.note)?.trim();
    check_station(&state, &keeper, station_id, parcel_id).await?;
    state
        .app
        .pick_up(
            &keeper.principal,
            parcel_id,
            PickupProof::StaffAssisted {
                shown,
                note: (!note.is_empty()).then(|| note.to_string()),
            },
        )
        .await
        .map_err(|e| WebError::from_app(e, t))?;
    Ok(back_to_search(station_id, &form.q, "handout"))
}

fn back_to_search(station_id: i64, q: &str, done: &str) -> Response {
    let q: String = q
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    Redirect::to(&format!("/console/s/{station_id}/search?q={q}&done={done}")).into_response()
}

/// The parcel must be at the station in the URL, so a form for one station
/// cannot act on another's parcels through a crafted id.
async fn check_station(
    state: &WebState,
    keeper: &Keeper,
    station_id: i64,
    parcel_id: i64,
) -> Result<(), WebError> {
    let view = state
        .app
        .parcel(&keeper.principal, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    if view.parcel.station_id == Some(station_id) {
        Ok(())
    } else {
        Err(WebError::from_app(AppError::NotFound("parcel"), keeper.tr))
    }
}

#[derive(Deserialize)]
struct ProblemForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    q: String,
}

async fn problem(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<ProblemForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    let kind = match form.kind.as_str() {
        "damaged" => ProblemKind::Damaged,
        "wrong_address" => ProblemKind::WrongAddress,
        "refused" => ProblemKind::Refused,
        "lost" => ProblemKind::Lost,
        _ => {
            return Err(WebError::from_app(
                AppError::new(Code::ChoiceMissing).with_words(
                    "what",
                    "包裹的问题",
                    "what is wrong with the parcel",
                ),
                keeper.tr,
            ));
        }
    };
    check_station(&state, &keeper, station_id, parcel_id).await?;
    state
        .app
        .report_problem(&keeper.principal, parcel_id, kind, None)
        .await
        .map_err(keeper.app_err())?;
    Ok(back_to_search(station_id, &form.q, "problem"))
}

async fn return_parcel(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<ProblemFormReturn>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    check_station(&state, &keeper, station_id, parcel_id).await?;
    state
        .app
        .return_to_carrier(&keeper.principal, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!("/console/s/{station_id}/returns")).into_response())
}

#[derive(Deserialize)]
struct ProblemFormReturn {
    csrf: String,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    f: Frame,
    title: &'static str,
    rows: Vec<ParcelRow>,
    returns: bool,
}

async fn problems(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "problems").await?;
    let rows = state
        .app
        .station_parcels(
            &keeper.principal,
            station_id,
            ParcelFilter {
                state: Some(ParcelState::Problem),
                limit: domain::limits::PAGE_SIZE_MAX,
                ..Default::default()
            },
        )
        .await
        .map_err(keeper.app_err())?
        .parcels
        .into_iter()
        .map(row)
        .collect();
    Ok(render(ListPage {
        title: keeper.tr.get("problems.title"),
        f,
        rows,
        returns: false,
    }))
}

async fn returns(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "returns").await?;
    let parcels = state
        .app
        .return_list(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?;
    let slots: BTreeMap<i64, String> = state
        .app
        .station_slots(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?
        .into_iter()
        .map(|s| (s.slot.id, s.slot.label()))
        .collect();
    let rows = parcels
        .into_iter()
        .map(|parcel| {
            let slot = parcel.slot_id.and_then(|id| slots.get(&id).cloned());
            row(ParcelView {
                parcel,
                slot,
                overdue: true,
            })
        })
        .collect();
    Ok(render(ListPage {
        title: keeper.tr.get("returns.title"),
        f,
        rows,
        returns: true,
    }))
}

#[derive(Template)]
#[template(path = "pair.html")]
struct PairPage {
    f: Frame,
}

async fn terminal_page(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "terminal").await?;
    Ok(render(PairPage { f }))
}

/// Turns this browser into the station's terminal: it gets the terminal's
/// token and loses the keeper's session, so a villager at the tablet can
/// never reach the console.
async fn pair_terminal(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    let token = state
        .app
        .pair_terminal(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?;
    state.app.sign_out(&keeper.token).await.ok();
    let jar = jar.remove(removal(SESSION_COOKIE)).add(cookie(
        &state,
        TERMINAL_COOKIE,
        token,
        chrono::Duration::days(365),
    ));
    Ok((jar, Redirect::to("/terminal")).into_response())
}

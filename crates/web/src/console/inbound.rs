//! Scanner inbound (a page, and JSON for the scanner screen's script) and
//! the printed shelf label of a stored parcel.

use super::Frame;
use crate::i18n::Tr;
use crate::{Keeper, WebError, WebState, field, local, render, wants_json};
use app::inbound::InboundScan;
use app::{AppError, Code};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use domain::station::SizeClass;
use domain::{Carrier, Phone, WaybillNo};
use serde::Deserialize;

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
pub(super) struct CarrierQuery {
    carrier: Option<String>,
}

fn carrier_options(selected: &str, t: Tr) -> Vec<CarrierOption> {
    Carrier::ALL
        .iter()
        .map(|c| CarrierOption {
            code: c.code(),
            name: c.name_in(t.is_en()),
            selected: c.code() == selected,
        })
        .collect()
}

pub(super) async fn inbound_page(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Query(query): Query<CarrierQuery>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "inbound").await?;
    Ok(render(InboundPage {
        f,
        carriers: carrier_options(query.carrier.as_deref().unwrap_or("ZTO"), keeper.tr),
        result: None,
    }))
}

#[derive(Deserialize)]
pub(super) struct InboundForm {
    csrf: String,
    carrier: String,
    waybill: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    size: String,
}

pub(super) async fn inbound(
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
                    message: if !outcome.carrier_hint.is_empty() {
                        let names: Vec<&str> = outcome
                            .carrier_hint
                            .iter()
                            .map(|c| c.name_in(t.is_en()))
                            .collect();
                        Some(format!(
                            "{}{}",
                            t.get("station.looks_like"),
                            names.join(", ")
                        ))
                    } else if status == "awaiting" {
                        // Nobody to tell yet, or waiting for consent: say
                        // where the parcel waits and what to do.
                        Some(t.get("station.awaiting_where").to_string())
                    } else {
                        None
                    },
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
        carriers: carrier_options(&form.carrier, t),
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

pub(super) async fn label(
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
        carrier: view.parcel.carrier.name_in(keeper.tr.is_en()),
        waybill_tail: view.parcel.waybill.tail().to_string(),
        date: view.parcel.stored_at.map(local).unwrap_or_default(),
    }))
}

//! The station's devices (issue 19): the registry with kind, model,
//! firmware, last seen, liveness and door sensor; registering a device,
//! replacing one (the old id is refused from then on) and the station's
//! public contact phone shown at the door terminal.

use super::Frame;
use crate::{Keeper, WebError, WebState, local, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

struct Row {
    row: i64,
    kind: &'static str,
    device_id: String,
    model: String,
    firmware: String,
    last_seen: String,
    /// `online`, `offline` or `unknown` (never heard).
    liveness: &'static str,
    /// The door sensor's i18n key, if it reported one.
    sensor: Option<&'static str>,
    active: bool,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    f: Frame,
    rows: Vec<Row>,
    contact_phone: String,
}

fn kind_key(kind: &str) -> &'static str {
    match kind {
        "door" => "devices.door",
        "lights" => "devices.lights",
        _ => "devices.scanner",
    }
}

pub(super) async fn devices_page(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "devices").await?;
    let rows = state
        .app
        .station_devices(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?
        .into_iter()
        .map(|view| {
            let d = view.device;
            Row {
                row: d.id,
                kind: kind_key(&d.kind),
                device_id: d.device_id,
                model: d.model.unwrap_or_else(|| "—".into()),
                firmware: d.firmware.unwrap_or_else(|| "—".into()),
                last_seen: d.last_seen_at.map(local).unwrap_or_else(|| "—".into()),
                liveness: match view.online {
                    Some(true) => "online",
                    Some(false) => "offline",
                    None => "unknown",
                },
                sensor: d.door_sensor.as_deref().map(|s| match s {
                    "open" => "devices.sensor_open",
                    "forced" => "devices.sensor_forced",
                    _ => "devices.sensor_closed",
                }),
                active: d.retired_at.is_none(),
            }
        })
        .collect();
    let contact_phone = state
        .app
        .station_contact_phone(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?
        .unwrap_or_default();
    Ok(render(DevicesPage {
        f,
        rows,
        contact_phone,
    }))
}

#[derive(Deserialize)]
pub(super) struct RegisterForm {
    csrf: String,
    kind: String,
    device_id: String,
}

pub(super) async fn register(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Form(form): Form<RegisterForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    state
        .app
        .register_device(
            &keeper.principal,
            station_id,
            &app::devices::DeviceRegistration {
                kind: form.kind.trim(),
                device_id: form.device_id.trim(),
            },
        )
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!("/console/s/{station_id}/devices")).into_response())
}

#[derive(Deserialize)]
pub(super) struct ReplaceForm {
    csrf: String,
    device: i64,
    new_device_id: String,
}

pub(super) async fn replace(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Form(form): Form<ReplaceForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    state
        .app
        .replace_device(
            &keeper.principal,
            station_id,
            form.device,
            form.new_device_id.trim(),
        )
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!("/console/s/{station_id}/devices")).into_response())
}

#[derive(Deserialize)]
pub(super) struct PhoneForm {
    csrf: String,
    phone: String,
}

pub(super) async fn contact_phone(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Form(form): Form<PhoneForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    state
        .app
        .set_station_contact_phone(&keeper.principal, station_id, Some(&form.phone))
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!("/console/s/{station_id}/devices")).into_response())
}

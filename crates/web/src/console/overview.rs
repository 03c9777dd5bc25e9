//! A station's day at a glance: the day's figures, alerts (with their
//! acknowledgement) and device liveness.

use super::{CsrfForm, Frame};
use crate::{Keeper, WebError, WebState, local, render};
use app::dashboard::DaySummary;
use app::terminal::{AlertRecord, DeviceStatusRecord};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

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

pub(super) async fn dashboard(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "home").await?;

    let today = state.app.today();
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

pub(super) async fn acknowledge(
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

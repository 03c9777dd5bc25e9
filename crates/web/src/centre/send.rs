//! Sending orders' privacy labels under `/centre` (issue 14, branch
//! send-page): the printable 76×130 mm page and its ZPL download, for
//! county staff and the admin. Names and phones come masked from
//! `App::send_label_for_staff`; the whole ones never reach this module.

use super::Operator;
use crate::i18n::Tr;
use crate::{WebError, WebState, render};
use app::county::print;
use app::sending::{SendLabel, label_zpl};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/centre/send/orders/{order_id}/label", get(label))
        .route(
            "/centre/send/orders/{order_id}/label.zpl",
            get(label_zpl_file),
        )
}

#[derive(Template)]
#[template(path = "centre/send_label.html")]
struct LabelPage {
    t: Tr,
    label: SendLabel,
    carrier: &'static str,
    barcode: String,
    qr: String,
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
    Ok(render(LabelPage {
        t: operator.tr,
        carrier: label.carrier.name_zh(),
        barcode: print::code128_svg(&label.waybill),
        qr: print::qr_svg(&label.qr_payload),
        label,
    }))
}

async fn label_zpl_file(
    State(state): State<WebState>,
    operator: Operator,
    Path(order_id): Path<i64>,
) -> Result<Response, WebError> {
    let label = state
        .app
        .send_label_for_staff(&operator.principal, order_id)
        .await
        .map_err(operator.app_err())?;
    let disposition = format!("attachment; filename=\"label-{}.zpl\"", label.waybill);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/zpl; charset=utf-8".to_string(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        label_zpl(&label),
    )
        .into_response())
}

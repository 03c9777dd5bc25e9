//! Search by phone tail, waybill or pickup code, and the staff-assisted
//! hand-out that records the proof the recipient showed.

use super::{Frame, ParcelRow, back_to_search, row};
use crate::{Keeper, WebError, WebState, field, render};
use app::parcels::{PickupProof, ShownProof};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

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
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: Option<String>,
}

/// What the keeper typed: four digits are a phone tail, something that
/// parses as a waybill number and is long is a waybill, anything else a
/// pickup code.
pub(super) async fn search(
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
            .search_station(&keeper.principal, station_id, &q)
            .await
            .map_err(keeper.app_err())?
            .parcels
            .into_iter()
            .map(|v| row(v, keeper.tr))
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
pub(super) struct HandoutForm {
    csrf: String,
    shown: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    q: String,
}

pub(super) async fn handout(
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
    state
        .app
        .parcel_at_station(&keeper.principal, station_id, parcel_id)
        .await
        .map_err(keeper.app_err())?;
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

//! The console's lists as .xlsx downloads: search results, problems,
//! returns and parcels waiting (待处理). Each export is recorded
//! (`data_exported`) before the file leaves; phones in it are masked as on
//! the page.

use super::{ParcelRow, row};
use crate::i18n::Tr;
use crate::{Keeper, WebError, WebState, field};
use app::parcels::ParcelView;
use app::ports::ParcelFilter;
use app::{AppError, Code};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use domain::ParcelState;
use serde::Deserialize;

/// Most rows one file holds (the lists' page-size limit).
const EXPORT_ROWS_MAX: u32 = domain::limits::PAGE_SIZE_MAX;

#[derive(Deserialize)]
pub(super) struct ExportQuery {
    #[serde(default)]
    q: String,
}

pub(super) async fn export(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, list)): Path<(i64, String)>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, WebError> {
    let t = keeper.tr;
    let by_state = |state: ParcelState| ParcelFilter {
        state: Some(state),
        limit: EXPORT_ROWS_MAX,
        ..Default::default()
    };
    let (name, views): (&str, Vec<ParcelView>) = match list.as_str() {
        "problems" | "pending" => {
            let (name, filter) = if list == "problems" {
                ("problems", by_state(ParcelState::Problem))
            } else {
                ("pending", by_state(ParcelState::AwaitingConsent))
            };
            let page = state
                .app
                .station_parcels(&keeper.principal, station_id, filter)
                .await
                .map_err(keeper.app_err())?;
            if page.next_after_id.is_some() {
                return Err(WebError::from_app(
                    AppError::new(Code::ExportTooLarge).with("max", EXPORT_ROWS_MAX),
                    t,
                ));
            }
            (name, page.parcels)
        }
        "returns" => {
            let parcels = state
                .app
                .return_list(&keeper.principal, station_id)
                .await
                .map_err(keeper.app_err())?;
            let slots: std::collections::BTreeMap<i64, String> = state
                .app
                .station_slots(&keeper.principal, station_id)
                .await
                .map_err(keeper.app_err())?
                .into_iter()
                .map(|s| (s.slot.id, s.slot.label()))
                .collect();
            let views = parcels
                .into_iter()
                .map(|parcel| ParcelView {
                    slot: parcel.slot_id.and_then(|id| slots.get(&id).cloned()),
                    parcel,
                    overdue: true,
                })
                .collect();
            ("returns", views)
        }
        "search" => {
            let q = field(t, &query.q)?.trim().to_string();
            let views = if q.is_empty() {
                Vec::new()
            } else {
                state
                    .app
                    .search_station(&keeper.principal, station_id, &q)
                    .await
                    .map_err(keeper.app_err())?
                    .parcels
            };
            ("search", views)
        }
        _ => {
            return Err(WebError::from_app(
                AppError::new(Code::ChoiceMissing).with_words(
                    "what",
                    "要导出的清单",
                    "which list to export",
                ),
                t,
            ));
        }
    };
    let rows: Vec<ParcelRow> = views.into_iter().map(|v| row(v, t)).collect();
    let bytes = workbook(&rows, t).map_err(crate::xlsx::failed(t))?;
    state
        .app
        .record_station_export(&keeper.principal, station_id, name, rows.len())
        .await
        .map_err(keeper.app_err())?;
    let date = state.app.today().format("%Y%m%d");
    Ok(crate::xlsx::download(
        bytes,
        &format!("station-{station_id}-{name}-{date}.xlsx"),
    ))
}

fn workbook(rows: &[ParcelRow], t: Tr) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let heads = [
        "parcel.waybill",
        "parcel.carrier",
        "parcel.state",
        "problem.kind",
        "parcel.slot",
        "parcel.code",
        "parcel.recipient",
        "parcel.phone",
        "parcel.stored_at",
    ];
    for (col, key) in heads.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, t.get(key), &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let line = i as u32 + 1;
        let cells = [
            r.waybill.as_str(),
            r.carrier,
            r.state,
            r.problem,
            r.slot.as_str(),
            r.code.as_str(),
            r.recipient.as_str(),
            r.phone.as_str(),
            r.stored_at.as_str(),
        ];
        for (col, value) in cells.iter().enumerate() {
            // Text, never numbers: waybills and codes keep their digits.
            sheet.write_string(line, col as u16, *value)?;
        }
    }
    sheet.set_column_width(0, 20)?;
    book.save_to_buffer()
}

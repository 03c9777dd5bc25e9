//! Manifest upload: a CSV or .xlsx file read by the very readers the
//! command-line import uses (the `manifest_file` crate), announced a chunk per transaction
//! (`App::announce_parsed_chunk`), the good rows kept and every refused row
//! shown by its line with the reason, and downloadable as CSV so the
//! carrier can fix those rows and upload them again.

use super::{CarrierStaff, Frame, csv_download, csv_line_as_sent, no_store};
use crate::{WebError, WebState, render};
use app::manifest::{ManifestRow, RejectedRow};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, State};
use axum::response::Response;
use domain::limits::{MANIFEST_CHUNK_ROWS, MANIFEST_ROWS_MAX};
use serde::Deserialize;

/// The largest file accepted from the browser (the command line takes any
/// size, a chunk at a time).
pub(super) const UPLOAD_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Refused rows listed on the page; all of them are in the download.
const SHOWN_MAX: usize = 500;
/// The most text the refused-rows download carries back (a form field).
const REFUSED_CSV_BYTES_MAX: usize = 1024 * 1024;

#[derive(Template)]
#[template(path = "carrier/manifest.html")]
struct ManifestPage {
    f: Frame,
    outcome: Option<Outcome>,
}

struct Outcome {
    file: String,
    n_rows: usize,
    n_announced: usize,
    n_known: usize,
    n_refused: usize,
    shown: Vec<RejectedRow>,
    /// The refused rows as CSV, for the download form; none when there are
    /// none or they are too many to carry back.
    refused_csv: Option<String>,
}

pub(super) async fn upload_page(staff: CarrierStaff) -> Response {
    render(ManifestPage {
        f: Frame::new(&staff, "manifest"),
        outcome: None,
    })
}

/// Why the file could not be read at all, in the page's language.
fn unreadable(detail: impl std::fmt::Display) -> AppError {
    AppError::new(Code::ManifestFileUnreadable).with_detail(detail.to_string())
}

pub(super) async fn upload(
    State(state): State<WebState>,
    staff: CarrierStaff,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let err = staff.app_err();
    let crate::upload::Upload { csrf, file } =
        crate::upload::Upload::read(&mut form, UPLOAD_BYTES_MAX)
            .await
            .map_err(|detail| err(unreadable(detail)))?;
    staff.check(&state, &csrf)?;
    let (name, bytes) = file.ok_or_else(|| err(AppError::new(Code::ManifestFileMissing)))?;
    let extension = crate::upload::extension(&name);
    // Reading is CPU work: off the request threads.
    let rows = tokio::task::spawn_blocking(move || read(&extension, &bytes))
        .await
        .map_err(|e| err(AppError::Internal(format!("manifest reader: {e}"))))?
        .map_err(|e| err(unreadable(e)))?;
    let carrier = staff.carrier;
    let n_rows = rows.len();
    // Each refusal with the row as it was sent (none when unreadable).
    let mut refused: Vec<(RejectedRow, Option<ManifestRow>)> = Vec::new();
    let (mut n_announced, mut n_known) = (0, 0);
    for chunk in rows.chunks(MANIFEST_CHUNK_ROWS) {
        let mut parcels = Vec::with_capacity(chunk.len());
        let mut lines = Vec::with_capacity(chunk.len());
        let mut sources = Vec::with_capacity(chunk.len());
        for (line, row) in chunk {
            match row {
                Ok(row) => match app::manifest::parse_row_for(carrier, row) {
                    Ok(parcel) => {
                        parcels.push(parcel);
                        lines.push(*line);
                        sources.push(row);
                    }
                    Err(reason) => refused.push((
                        RejectedRow {
                            row: *line,
                            waybill: row.waybill.chars().take(64).collect(),
                            reason,
                        },
                        Some(row.clone()),
                    )),
                },
                Err(reason) => refused.push((
                    RejectedRow {
                        row: *line,
                        waybill: String::new(),
                        reason: reason.clone(),
                    },
                    None,
                )),
            }
        }
        if parcels.is_empty() {
            continue;
        }
        let outcome = state
            .app
            .announce_parsed_chunk(&staff.principal, carrier, parcels, 0)
            .await
            .map_err(staff.app_err())?;
        n_announced += outcome.n_announced;
        n_known += outcome.n_already_known;
        for refusal in outcome.rejected {
            let index = refusal.row;
            refused.push((
                RejectedRow {
                    row: lines[index],
                    ..refusal
                },
                Some(sources[index].clone()),
            ));
        }
    }
    refused.sort_by_key(|(refusal, _)| refusal.row);
    let refused_csv = (!refused.is_empty())
        .then(|| refused_file(&refused))
        .filter(|csv| csv.len() <= REFUSED_CSV_BYTES_MAX);
    let n_refused = refused.len();
    let shown = refused
        .into_iter()
        .take(SHOWN_MAX)
        .map(|(refusal, _)| refusal)
        .collect();
    Ok(no_store(render(ManifestPage {
        f: Frame::new(&staff, "manifest"),
        outcome: Some(Outcome {
            file: name,
            n_rows,
            n_announced,
            n_known,
            n_refused,
            shown,
            refused_csv,
        }),
    })))
}

/// A row of the file with its line number, or why it could not be read.
type FileRow = (usize, Result<ManifestRow, String>);

/// The file's rows with their line numbers: CSV unless the name says
/// .xlsx; the older .xls and .ods are refused with advice, as by the CLI.
fn read(extension: &str, bytes: &[u8]) -> Result<Vec<FileRow>, String> {
    let rows: Vec<manifest_file::SourceRow> = match extension {
        "xlsx" | "xlsm" => manifest_file::spreadsheet_rows(bytes).map_err(|e| format!("{e:#}"))?,
        "xls" | "ods" => {
            return Err(format!(
                "this is an .{extension} file; save it as .xlsx or export CSV"
            ));
        }
        _ => {
            let mut rows = Vec::new();
            for row in manifest_file::csv_rows(bytes).map_err(|e| format!("{e:#}"))? {
                rows.push(row);
                if rows.len() > MANIFEST_ROWS_MAX {
                    break;
                }
            }
            rows
        }
    };
    if rows.len() > MANIFEST_ROWS_MAX {
        return Err(format!(
            "the file has more than {MANIFEST_ROWS_MAX} rows; split it"
        ));
    }
    Ok(rows.into_iter().map(|(line, _, row)| (line, row)).collect())
}

/// The refused rows as a manifest CSV with the line and reason in front:
/// the reader ignores those two columns, so the fixed file uploads as it is.
fn refused_file(refused: &[(RejectedRow, Option<ManifestRow>)]) -> String {
    let mut out = csv_line_as_sent(&[
        "line",
        "reason",
        "waybill",
        "recipient_name",
        "phone",
        "address",
        "station_id",
        "size",
        "consent",
        "weight_grams",
    ]);
    for (refusal, row) in refused {
        let line = refusal.row.to_string();
        match row {
            Some(row) => {
                let station = row.station_id.map(|s| s.to_string()).unwrap_or_default();
                let consent = row.consent.map(|c| c.to_string()).unwrap_or_default();
                let weight = row.weight_grams.map(|w| w.to_string()).unwrap_or_default();
                out.push_str(&csv_line_as_sent(&[
                    &line,
                    &refusal.reason,
                    &row.waybill,
                    row.recipient_name.as_deref().unwrap_or(""),
                    row.phone.as_deref().unwrap_or(""),
                    row.address.as_deref().unwrap_or(""),
                    &station,
                    row.size.as_deref().unwrap_or(""),
                    &consent,
                    &weight,
                ]));
            }
            None => out.push_str(&csv_line_as_sent(&[
                &line,
                &refusal.reason,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ])),
        }
    }
    out
}

#[derive(Deserialize)]
pub(super) struct RefusedForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    csv: String,
}

/// Gives the refused rows back as a file: the text the result page carried
/// in its form (the file itself is not kept on the server).
pub(super) async fn refused_csv(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Form(form): Form<RefusedForm>,
) -> Result<Response, WebError> {
    staff.check(&state, &form.csrf)?;
    if form.csv.len() > REFUSED_CSV_BYTES_MAX {
        return Err(WebError::from_app(
            AppError::new(Code::FieldTooLong).with("max", REFUSED_CSV_BYTES_MAX),
            staff.tr,
        ));
    }
    Ok(csv_download("refused-rows.csv", form.csv))
}

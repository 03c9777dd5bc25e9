//! `yizhan import manifest FILE --carrier CODE`: announces parcels from a
//! carrier's CSV or spreadsheet (.xlsx, .xls, .ods; first sheet) in chunks,
//! with a progress bar, reporting every refused row by its line number and
//! keeping the good ones.

use anyhow::Context;
use app::App;
use app::manifest::{ManifestRow, RejectedRow};
use domain::limits::{BATCH_PARCELS_MAX, MANIFEST_ROWS_MAX};
use domain::{Carrier, Principal, Role};
use std::path::Path;

/// One row of the file: its line number and the row, or why it could not
/// be read.
type SourceRow = (usize, Result<ManifestRow, String>);

pub async fn manifest(app: &App, file: &Path, carrier: &str) -> anyhow::Result<()> {
    let carrier = Carrier::parse(carrier).map_err(anyhow::Error::msg)?;
    let operator = Principal {
        user_id: 0,
        username: "cli-import".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    };
    let extension = file
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let rows: Box<dyn Iterator<Item = SourceRow>> = match extension.as_str() {
        "xlsx" | "xlsm" | "xls" | "ods" => Box::new(spreadsheet_rows(file)?.into_iter()),
        _ => Box::new(csv_rows(file)?),
    };
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} rows read, {msg}")
            .expect("valid template"),
    );
    let mut rejected: Vec<RejectedRow> = Vec::new();
    let (mut n_announced, mut n_known) = (0usize, 0usize);
    let mut chunk: Vec<ManifestRow> = Vec::with_capacity(BATCH_PARCELS_MAX);
    // The file line of each row in the chunk, so refusals name real lines.
    let mut chunk_lines: Vec<usize> = Vec::with_capacity(BATCH_PARCELS_MAX);
    let mut rows = rows.peekable();
    let mut n_rows = 0usize;
    while let Some((line, row)) = rows.next() {
        n_rows += 1;
        anyhow::ensure!(
            n_rows <= MANIFEST_ROWS_MAX,
            "the file has more than {MANIFEST_ROWS_MAX} rows; split it"
        );
        match row {
            Ok(row) => {
                chunk.push(row);
                chunk_lines.push(line);
            }
            Err(reason) => rejected.push(RejectedRow {
                row: line,
                waybill: String::new(),
                reason,
            }),
        }
        if chunk.len() == BATCH_PARCELS_MAX || (rows.peek().is_none() && !chunk.is_empty()) {
            let outcome = app.announce(&operator, carrier, &chunk, 0).await?;
            n_announced += outcome.n_announced;
            n_known += outcome.n_already_known;
            rejected.extend(outcome.rejected.into_iter().map(|r| RejectedRow {
                row: chunk_lines[r.row],
                ..r
            }));
            chunk.clear();
            chunk_lines.clear();
            progress.set_position(n_rows as u64);
            progress.set_message(format!("{n_announced} announced"));
        }
    }
    progress.finish_and_clear();
    rejected.sort_by_key(|r| r.row);
    for row in &rejected {
        eprintln!("line {}: {} {}", row.row, row.waybill, row.reason);
    }
    println!(
        "{n_announced} announced, {n_known} already known, {} refused",
        rejected.len()
    );
    Ok(())
}

fn csv_rows(file: &Path) -> anyhow::Result<impl Iterator<Item = SourceRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let headers = reader.headers().context("reading the header line")?.clone();
    Ok(reader.into_records().map(move |record| match record {
        Ok(record) => {
            let line = record.position().map_or(0, |p| p.line() as usize);
            (
                line,
                record
                    .deserialize::<ManifestRow>(Some(&headers))
                    .map_err(|error| format!("unreadable row: {error}")),
            )
        }
        Err(error) => (
            error.position().map_or(0, |p| p.line() as usize),
            Err(format!("unreadable row: {error}")),
        ),
    }))
}

/// The first sheet, its first row naming the columns as in the CSV form.
/// Numbers that are whole (waybills and phones typed as numbers) read as
/// integers, not `7.31e11`.
fn spreadsheet_rows(file: &Path) -> anyhow::Result<Vec<SourceRow>> {
    use calamine::{Data, Reader};
    let mut workbook = calamine::open_workbook_auto(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| anyhow::anyhow!("{} has no sheet", file.display()))??;
    let cell_text = |cell: &Data| -> String {
        match cell {
            Data::Empty => String::new(),
            Data::Float(value) if value.fract() == 0.0 && value.abs() < 1e15 => {
                format!("{value:.0}")
            }
            Data::Bool(value) => value.to_string(),
            other => other.to_string().trim().to_string(),
        }
    };
    let mut rows = range.rows();
    let headers: Vec<String> = rows
        .next()
        .map(|row| row.iter().map(cell_text).collect())
        .unwrap_or_default();
    anyhow::ensure!(
        headers.iter().any(|h| h == "waybill"),
        "the first row of the first sheet must name the columns, including waybill"
    );
    Ok(rows
        .enumerate()
        .take(MANIFEST_ROWS_MAX + 1)
        .map(|(idx, row)| {
            let line = idx + 2;
            let mut fields = serde_json::Map::new();
            for (header, cell) in headers.iter().zip(row) {
                let text = cell_text(cell);
                if header.is_empty() || text.is_empty() {
                    continue;
                }
                let value = match (header.as_str(), text.as_str()) {
                    ("station_id" | "weight_grams", _) => text
                        .parse::<i64>()
                        .map(serde_json::Value::from)
                        .unwrap_or(serde_json::Value::String(text)),
                    ("consent", "true" | "1" | "是") => serde_json::Value::Bool(true),
                    ("consent", "false" | "0" | "否") => serde_json::Value::Bool(false),
                    _ => serde_json::Value::String(text),
                };
                fields.insert(header.clone(), value);
            }
            (
                line,
                serde_json::from_value::<ManifestRow>(serde_json::Value::Object(fields))
                    .map_err(|error| format!("unreadable row: {error}")),
            )
        })
        .collect())
}

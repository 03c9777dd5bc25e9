//! Reading a carrier's manifest file (CSV, or the first sheet of a
//! spreadsheet) into rows. Free of the CLI and of paths (it needs only
//! `anyhow`, `csv`, `calamine`, `serde_json` and `app`'s row type) so that
//! the fuzz target `fuzz/fuzz_targets/manifest_*.rs` compiles this very file.

use anyhow::Context;
use app::manifest::ManifestRow;
use domain::limits::MANIFEST_ROWS_MAX;
use std::io::Read;

/// One row of the file: its line number, how far into the file it is (bytes
/// for CSV, rows for spreadsheets, for the progress bar), and the row or why
/// it could not be read.
pub type SourceRow = (usize, u64, Result<ManifestRow, String>);

pub fn csv_rows<R: Read>(data: R) -> anyhow::Result<impl Iterator<Item = SourceRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(data);
    let headers = reader.headers().context("reading the header line")?.clone();
    Ok(reader.into_records().map(move |record| match record {
        Ok(record) => {
            let line = record.position().map_or(0, |p| p.line() as usize);
            let byte = record.position().map_or(0, |p| p.byte());
            (
                line,
                byte,
                record
                    .deserialize::<ManifestRow>(Some(&headers))
                    .map_err(|error| format!("unreadable row: {error}")),
            )
        }
        Err(error) => (
            error.position().map_or(0, |p| p.line() as usize),
            error.position().map_or(0, |p| p.byte()),
            Err(format!("unreadable row: {error}")),
        ),
    }))
}

/// The first sheet, its first row naming the columns as in the CSV form.
/// The file is read whole into memory first (calamine reads a workbook
/// whole anyway, and the compressed file is smaller than its rows).
/// Numbers that are whole (waybills and phones typed as numbers) read as
/// integers, not `7.31e11`.
pub fn spreadsheet_rows(data: &[u8]) -> anyhow::Result<Vec<SourceRow>> {
    use calamine::{Data, Reader};
    let mut workbook = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(data))
        .context("reading the file as a spreadsheet (.xlsx, .xls or .ods)")?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| anyhow::anyhow!("the spreadsheet has no sheet"))??;
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
                idx as u64 + 1,
                serde_json::from_value::<ManifestRow>(serde_json::Value::Object(fields))
                    .map_err(|error| format!("unreadable row: {error}")),
            )
        })
        .collect())
}

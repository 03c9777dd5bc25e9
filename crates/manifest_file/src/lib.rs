//! Reading a carrier's manifest file (CSV, or the first sheet of a
//! spreadsheet) into rows: one reader for `yizhan import manifest` and the
//! carrier portal's upload, so a file reads the same in both. Free of the
//! CLI and of paths (it needs only `anyhow`, `csv`, `calamine`, `serde_json`
//! and `app`'s row type) so that the fuzz targets
//! `fuzz/fuzz_targets/manifest_*.rs` compile this very file.

pub mod grid;

use anyhow::Context;
use app::manifest::ManifestRow;
use domain::limits::MANIFEST_ROWS_MAX;
use std::io::Read;

/// One row of the file: its line number, how far into the file it is (bytes
/// for CSV, rows for spreadsheets, for the progress bar), and the row or why
/// it could not be read.
pub type SourceRow = (usize, u64, Result<ManifestRow, String>);

/// Line ends as LF: the CSV reader counts a line at each `\n`, and at a
/// CRLF (what Excel and Python's csv module write) it takes the `\r` as the
/// record's end and starts the next record before the `\n`, so every line
/// number came out one too low. A lone `\r` stays as it is.
pub struct CrlfAsLf<R> {
    inner: R,
    /// Bytes converted and not yet given out, from `position`.
    queue: Vec<u8>,
    position: usize,
    /// A `\r` at the end of the last read, decided by the next byte.
    pending_cr: bool,
}

impl<R: Read> CrlfAsLf<R> {
    pub fn new(inner: R) -> CrlfAsLf<R> {
        CrlfAsLf {
            inner,
            queue: Vec::new(),
            position: 0,
            pending_cr: false,
        }
    }
}

impl<R: Read> Read for CrlfAsLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.position == self.queue.len() {
            let mut buffer = [0u8; 8192];
            let n = self.inner.read(&mut buffer)?;
            self.queue.clear();
            self.position = 0;
            if n == 0 {
                if !std::mem::take(&mut self.pending_cr) {
                    return Ok(0);
                }
                self.queue.push(b'\r');
                break;
            }
            for &byte in &buffer[..n] {
                if std::mem::take(&mut self.pending_cr) && byte != b'\n' {
                    self.queue.push(b'\r');
                }
                if byte == b'\r' {
                    self.pending_cr = true;
                } else {
                    self.queue.push(byte);
                }
            }
        }
        let n = out.len().min(self.queue.len() - self.position);
        out[..n].copy_from_slice(&self.queue[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

pub fn csv_rows<R: Read>(data: R) -> anyhow::Result<impl Iterator<Item = SourceRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(CrlfAsLf::new(data));
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
                    .map_err(|error| row_error(&error, &headers)),
            )
        }
        Err(error) => (
            error.position().map_or(0, |p| p.line() as usize),
            error.position().map_or(0, |p| p.byte()),
            Err(format!("unreadable row: {error}")),
        ),
    }))
}

/// Why a CSV row could not be read, naming the column, without the CSV
/// library's own wording and position (the line is reported beside it).
fn row_error(error: &csv::Error, headers: &csv::StringRecord) -> String {
    if let csv::ErrorKind::Deserialize { err, .. } = error.kind() {
        let column = err
            .field()
            .and_then(|index| headers.get(index as usize))
            .unwrap_or("a column");
        let message = match err.kind() {
            csv::DeserializeErrorKind::Message(message) => message.clone(),
            csv::DeserializeErrorKind::ParseInt(_) | csv::DeserializeErrorKind::ParseFloat(_) => {
                "is not a whole number".to_string()
            }
            other => other.to_string(),
        };
        if message.starts_with(column) {
            return message;
        }
        return format!("{column}: {message}");
    }
    format!("unreadable row: {error}")
}

/// Columns read from a sheet: a manifest names eight, a carrier's export may
/// carry others beside them; a cell further right than this is ignored.
pub const SHEET_COLUMNS_MAX: u32 = 32;

/// The first sheet of an .xlsx workbook, its first row naming the columns as
/// in the CSV form. Cells are streamed and kept only where a manifest can
/// have them, so memory follows the cells present: reading the sheet as one
/// dense range (as calamine's `worksheet_range` does) lets one stray cell at
/// `XFD1048576` demand a grid of 17 billion cells. The older .xls and .ods
/// formats have no such reader in calamine and are refused with advice.
/// Numbers that are whole (waybills and phones typed as numbers) read as
/// integers, not `7.31e11`.
pub fn spreadsheet_rows(data: &[u8]) -> anyhow::Result<Vec<SourceRow>> {
    // calamine is a third-party parser handed an outside file; a panic in it
    // (fuzzing found an arithmetic overflow on an over-long cell reference)
    // becomes a refusal rather than the end of the import, and its message
    // and backtrace are kept off the operator's screen (panics elsewhere
    // still print as usual).
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parser = info
                .location()
                .is_some_and(|at| at.file().contains("/calamine-"));
            if !in_parser {
                default(info);
            }
        }));
    });
    std::panic::catch_unwind(|| xlsx_rows(data)).unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "the spreadsheet is damaged and cannot be read; open it and save it again as .xlsx, or export CSV"
        ))
    })
}

fn xlsx_rows(data: &[u8]) -> anyhow::Result<Vec<SourceRow>> {
    use calamine::{Data, Reader, Xlsx};
    use std::collections::BTreeMap;
    let mut workbook = Xlsx::new(std::io::Cursor::new(data)).context(
        "reading the file as an .xlsx workbook (save .xls or .ods files as .xlsx, or export CSV)",
    )?;
    let first = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the workbook has no sheet"))?;
    let mut reader = workbook
        .worksheet_cells_reader(&first)
        .context("reading the first sheet")?;
    let mut cells: BTreeMap<(u32, u32), Data> = BTreeMap::new();
    let mut rows_seen = std::collections::BTreeSet::new();
    while let Some(cell) = reader.next_cell().context("reading the first sheet")? {
        let (row, col) = cell.get_position();
        if col >= SHEET_COLUMNS_MAX {
            continue;
        }
        if rows_seen.insert(row) && rows_seen.len() > MANIFEST_ROWS_MAX + 1 {
            anyhow::bail!("the sheet has more than {MANIFEST_ROWS_MAX} rows; split it");
        }
        cells.insert((row, col), Data::from(cell.get_value().clone()));
    }
    drop(reader);
    let row_cells = |row: u32| -> Vec<Data> {
        let mut values = Vec::new();
        for ((_, col), value) in cells.range((row, 0)..(row, SHEET_COLUMNS_MAX)) {
            values.resize(*col as usize, Data::Empty);
            values.push(value.clone());
        }
        values
    };
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
    let mut rows = rows_seen.into_iter();
    let headers: Vec<String> = rows
        .next()
        .map(|row| row_cells(row).iter().map(cell_text).collect())
        .unwrap_or_default();
    anyhow::ensure!(
        headers.iter().any(|h| h == "waybill"),
        "the first row of the first sheet must name the columns, including waybill"
    );
    Ok(rows
        .enumerate()
        .map(|(idx, row)| {
            let line = row as usize + 1;
            let mut fields = serde_json::Map::new();
            for (header, cell) in headers.iter().zip(&row_cells(row)) {
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

/// A row of a table file: its line number, and the row or why it could not
/// be read.
pub type Record<T> = (usize, Result<T, String>);

/// The header row and every other row's cells, with line numbers.
type TextRows = (Vec<String>, Vec<(usize, Vec<String>)>);

/// Rows of any table file (CSV, or the first sheet of an .xlsx) read into
/// `T` by column name, every cell as text: for imports other than
/// manifests (the kiosk fleet's). `required` names a column the first row
/// must have. Each row comes with its line number, or why it could not be
/// read; the older .xls and .ods are refused with advice.
pub fn records<T: serde::de::DeserializeOwned>(
    extension: &str,
    bytes: &[u8],
    required: &str,
) -> Result<Vec<Record<T>>, String> {
    let rows = match extension {
        "xlsx" | "xlsm" => {
            let (headers, rows) = std::panic::catch_unwind(|| sheet_text_rows(bytes))
                .unwrap_or_else(|_| {
                    Err(anyhow::anyhow!(
                        "the spreadsheet is damaged and cannot be read; open it and save it again as .xlsx, or export CSV"
                    ))
                })
                .map_err(|e| format!("{e:#}"))?;
            if !headers.iter().any(|h| h == required) {
                return Err(format!(
                    "the first row of the first sheet must name the columns, including {required}"
                ));
            }
            rows.into_iter()
                .map(|(line, cells)| {
                    let mut fields = serde_json::Map::new();
                    for (header, text) in headers.iter().zip(cells) {
                        if !header.is_empty() && !text.is_empty() {
                            fields.insert(header.clone(), serde_json::Value::String(text));
                        }
                    }
                    (
                        line,
                        serde_json::from_value::<T>(serde_json::Value::Object(fields))
                            .map_err(|error| format!("unreadable row: {error}")),
                    )
                })
                .collect()
        }
        "xls" | "ods" => {
            return Err(format!(
                "this is an .{extension} file; save it as .xlsx or export CSV"
            ));
        }
        _ => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(false)
                .trim(csv::Trim::All)
                .from_reader(CrlfAsLf::new(bytes));
            let headers = reader
                .headers()
                .map_err(|e| format!("reading the header line: {e}"))?
                .clone();
            if !headers.iter().any(|h| h == required) {
                return Err(format!(
                    "the first line must name the columns, including {required}"
                ));
            }
            let mut rows = Vec::new();
            for record in reader.into_records() {
                if rows.len() > MANIFEST_ROWS_MAX {
                    break;
                }
                rows.push(match record {
                    Ok(record) => (
                        record.position().map_or(0, |p| p.line() as usize),
                        record
                            .deserialize::<T>(Some(&headers))
                            .map_err(|error| row_error(&error, &headers)),
                    ),
                    Err(error) => (
                        error.position().map_or(0, |p| p.line() as usize),
                        Err(format!("unreadable row: {error}")),
                    ),
                });
            }
            rows
        }
    };
    if rows.len() > MANIFEST_ROWS_MAX {
        return Err(format!(
            "the file has more than {MANIFEST_ROWS_MAX} rows; split it"
        ));
    }
    Ok(rows)
}

/// The first sheet's header row and every other row's cells as text, with
/// line numbers; cells streamed as in `xlsx_rows`.
fn sheet_text_rows(data: &[u8]) -> anyhow::Result<TextRows> {
    use calamine::{Data, Reader, Xlsx};
    use std::collections::BTreeMap;
    let mut workbook = Xlsx::new(std::io::Cursor::new(data)).context(
        "reading the file as an .xlsx workbook (save .xls or .ods files as .xlsx, or export CSV)",
    )?;
    let first = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the workbook has no sheet"))?;
    let mut reader = workbook
        .worksheet_cells_reader(&first)
        .context("reading the first sheet")?;
    let mut cells: BTreeMap<(u32, u32), String> = BTreeMap::new();
    let mut rows_seen = std::collections::BTreeSet::new();
    while let Some(cell) = reader.next_cell().context("reading the first sheet")? {
        let (row, col) = cell.get_position();
        if col >= SHEET_COLUMNS_MAX {
            continue;
        }
        if rows_seen.insert(row) && rows_seen.len() > MANIFEST_ROWS_MAX + 1 {
            anyhow::bail!("the sheet has more than {MANIFEST_ROWS_MAX} rows; split it");
        }
        let text = match Data::from(cell.get_value().clone()) {
            Data::Empty => String::new(),
            Data::Float(value) if value.fract() == 0.0 && value.abs() < 1e15 => {
                format!("{value:.0}")
            }
            Data::Bool(value) => value.to_string(),
            other => other.to_string().trim().to_string(),
        };
        cells.insert((row, col), text);
    }
    drop(reader);
    let row_cells = |row: u32| -> Vec<String> {
        let mut values = Vec::new();
        for ((_, col), value) in cells.range((row, 0)..(row, SHEET_COLUMNS_MAX)) {
            values.resize(*col as usize, String::new());
            values.push(value.clone());
        }
        values
    };
    let mut rows = rows_seen.into_iter();
    let headers = rows.next().map(row_cells).unwrap_or_default();
    let body = rows.map(|row| (row as usize + 1, row_cells(row))).collect();
    Ok((headers, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        CrlfAsLf::new(input).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn crlf_becomes_lf_and_lone_crs_stay() {
        assert_eq!(normalised(b"a,b\r\nc,d\r\n"), b"a,b\nc,d\n");
        assert_eq!(normalised(b"a\rb\r"), b"a\rb\r");
        assert_eq!(normalised(b"a\n\r\n"), b"a\n\n");
        // A CRLF split across reads of the inner reader.
        let split = std::io::Read::chain(&b"a\r"[..], &b"\nb"[..]);
        let mut out = Vec::new();
        CrlfAsLf::new(split).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"a\nb");
    }

    #[test]
    fn crlf_files_number_their_lines_like_lf_files() {
        let lf = "waybill,phone\n731000000001,1\n731000000002,2\n";
        let crlf = lf.replace('\n', "\r\n");
        let lines = |text: &str| -> Vec<usize> {
            csv_rows(text.as_bytes())
                .unwrap()
                .map(|(line, _, _)| line)
                .collect()
        };
        assert_eq!(lines(lf), vec![2, 3]);
        assert_eq!(lines(&crlf), vec![2, 3]);
    }
}

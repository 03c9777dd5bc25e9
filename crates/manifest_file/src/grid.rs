//! Any table file as a grid of cell texts (issue 15: bank statements): a CSV
//! in UTF-8 (with or without a BOM) or in GB18030/GBK, as Chinese banks'
//! online banking exports it, or the first sheet of an .xlsx. Rows that
//! are shorter than others are kept as they are; what the cells mean is the
//! caller's (`domain::bank`).

use anyhow::Context;
use std::collections::BTreeMap;

/// Most rows read from one file.
pub const GRID_ROWS_MAX: usize = 20_000;
/// Columns read from a row; cells further right are ignored.
pub const GRID_COLUMNS_MAX: usize = 32;

/// The text of a CSV file: UTF-8 when it is, GB18030 (a superset of GBK)
/// otherwise.
pub fn decode_text(data: &[u8]) -> String {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    match std::str::from_utf8(data) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::GB18030.decode(data).0.into_owned(),
    }
}

/// A CSV file's rows as cell texts, trimmed.
pub fn csv_grid(data: &[u8]) -> anyhow::Result<Vec<Vec<String>>> {
    csv_grid_up_to(data, GRID_ROWS_MAX)
}

/// As [`csv_grid`], with the caller's bound on rows (a sorter's day log is
/// far longer than a bank statement).
pub fn csv_grid_up_to(data: &[u8], rows_max: usize) -> anyhow::Result<Vec<Vec<String>>> {
    let text = decode_text(data);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(crate::CrlfAsLf::new(text.as_bytes()));
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.context("reading the CSV file")?;
        anyhow::ensure!(
            rows.len() < rows_max,
            "the file has more than {rows_max} rows; split it"
        );
        rows.push(
            record
                .iter()
                .take(GRID_COLUMNS_MAX)
                .map(str::to_string)
                .collect(),
        );
    }
    Ok(rows)
}

/// The first sheet of an .xlsx workbook as cell texts. Cells are streamed
/// (see `spreadsheet_rows` for why); whole numbers read without a decimal
/// point, dates as `2026-12-07 10:31:00`.
pub fn xlsx_grid(data: &[u8]) -> anyhow::Result<Vec<Vec<String>>> {
    xlsx_grid_up_to(data, GRID_ROWS_MAX)
}

/// As [`xlsx_grid`], with the caller's bound on rows.
pub fn xlsx_grid_up_to(data: &[u8], rows_max: usize) -> anyhow::Result<Vec<Vec<String>>> {
    std::panic::catch_unwind(|| xlsx_cells(data, rows_max)).unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "the spreadsheet is damaged and cannot be read; open it and save it again as .xlsx, or export CSV"
        ))
    })
}

fn xlsx_cells(data: &[u8], rows_max: usize) -> anyhow::Result<Vec<Vec<String>>> {
    use calamine::{Data, Reader, Xlsx};
    let mut workbook = Xlsx::new(std::io::Cursor::new(data)).context(
        "reading the file as an .xlsx workbook (save .xls files as .xlsx, or export CSV)",
    )?;
    let first = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the workbook has no sheet"))?;
    let mut reader = workbook
        .worksheet_cells_reader(&first)
        .context("reading the first sheet")?;
    let mut cells: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    while let Some(cell) = reader.next_cell().context("reading the first sheet")? {
        let (row, col) = cell.get_position();
        if col as usize >= GRID_COLUMNS_MAX {
            continue;
        }
        if !cells.contains_key(&row) && cells.len() >= rows_max {
            anyhow::bail!("the sheet has more than {rows_max} rows; split it");
        }
        let value = Data::from(cell.get_value().clone());
        let text = match &value {
            Data::Empty => continue,
            Data::Float(value) if value.fract() == 0.0 && value.abs() < 1e15 => {
                format!("{value:.0}")
            }
            Data::DateTime(at) => excel_time(at.as_f64()).unwrap_or_else(|| value.to_string()),
            other => other.to_string().trim().to_string(),
        };
        cells.entry(row).or_default().insert(col, text);
    }
    let Some(&last) = cells.keys().next_back() else {
        return Ok(Vec::new());
    };
    anyhow::ensure!(
        (last as usize) < rows_max,
        "the sheet reaches past row {rows_max}; split it"
    );
    let mut rows = Vec::with_capacity(cells.len());
    // Row numbers stay as the sheet shows them: an empty row is an empty
    // row, so a bad row is reported on the line the clerk sees.
    for at in 0..=last {
        let mut row = Vec::new();
        if let Some(found) = cells.get(&at) {
            for (col, text) in found {
                row.resize(*col as usize, String::new());
                row.push(text.clone());
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// An Excel date-time (days since 1899-12-30, the fraction the time of
/// day) as `2026-12-07 10:31:00`.
fn excel_time(serial: f64) -> Option<String> {
    if !serial.is_finite() || !(0.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let at = epoch + chrono::Duration::seconds((serial * 86_400.0).round() as i64);
    Some(at.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// A file by its kind: an .xlsx (a zip: `PK` first) or CSV.
pub fn any_grid(data: &[u8]) -> anyhow::Result<Vec<Vec<String>>> {
    any_grid_up_to(data, GRID_ROWS_MAX)
}

/// As [`any_grid`], with the caller's bound on rows.
pub fn any_grid_up_to(data: &[u8], rows_max: usize) -> anyhow::Result<Vec<Vec<String>>> {
    if data.starts_with(b"PK") {
        xlsx_grid_up_to(data, rows_max)
    } else {
        csv_grid_up_to(data, rows_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serials_are_days_since_1899_12_30() {
        assert_eq!(excel_time(46363.4375).unwrap(), "2026-12-07 10:30:00");
        assert_eq!(excel_time(-1.0), None);
    }

    #[test]
    fn gbk_csv_reads_as_the_same_text() {
        let text = "交易日期,贷方金额,对方户名\r\n2026-12-07,\"1,234.50\",中通快递\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let rows = csv_grid(&gbk).unwrap();
        assert_eq!(rows, csv_grid(text.as_bytes()).unwrap());
        assert_eq!(rows[1], ["2026-12-07", "1,234.50", "中通快递"]);
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(csv_grid(&with_bom).unwrap()[0][0], "交易日期");
    }
}

//! Spreadsheets people download, built in one place so the county centre's
//! reports page and the carrier portal give the same file: the fee summary,
//! every fee row with its waybill, and the reconciliation's two lists. The
//! rows come from the use cases (`App::fee_summary`, `App::fee_ledger`,
//! `App::reconcile`), which check who may read them and record the export
//! (`data_exported`); this module only lays them out. Money is a number in
//! yuan with two decimals under a header that says so; days and times are
//! Asia/Shanghai.

use crate::i18n::Tr;
use app::county::{FeeSummary, Reconciliation};
use chrono::NaiveDate;
use domain::Fen;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

/// One fee as the spreadsheet and the page list it.
#[derive(Debug, Clone)]
pub struct FeeLine {
    pub waybill: String,
    /// The Shanghai day the fee was earned.
    pub day: NaiveDate,
    /// The delivering event's time, Asia/Shanghai.
    pub at: String,
    pub mode: domain::county::Mode,
    pub event_kind: String,
    pub township: String,
    pub weight_grams: Option<u32>,
    pub agreement_version: u32,
    /// The weight bracket, counted from 1 as people count.
    pub bracket: u32,
    pub amount: Fen,
}

/// What one fee report holds.
pub struct FeeReport<'a> {
    pub summary: &'a FeeSummary,
    pub lines: &'a [FeeLine],
    pub reconciliation: &'a Reconciliation,
}

/// Fen as yuan for a money cell.
pub fn yuan(fen: Fen) -> f64 {
    fen.0 as f64 / 100.0
}

/// A mode's name in the page's language.
pub fn mode_name(mode: domain::county::Mode, t: Tr) -> &'static str {
    if t.is_en() {
        mode.code()
    } else {
        mode.name_zh()
    }
}

/// The workbook's bytes.
pub fn fee_report(report: &FeeReport, t: Tr) -> Result<Vec<u8>, XlsxError> {
    let summary = report.summary;
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    let money_bold = Format::new().set_num_format("0.00").set_bold();
    let carrier = if t.is_en() {
        summary.carrier.code().to_string()
    } else {
        format!("{} {}", summary.carrier.code(), summary.carrier.name_zh())
    };

    // The summary: per mode, agreement version and bracket, and the total.
    let sheet = book.add_worksheet();
    sheet.set_name(t.get("xlsx.sheet.summary"))?;
    sheet.write_string_with_format(0, 0, t.get("xlsx.carrier"), &bold)?;
    sheet.write_string(0, 1, &carrier)?;
    sheet.write_string_with_format(1, 0, t.get("xlsx.days"), &bold)?;
    sheet.write_string(1, 1, format!("{} – {}", summary.from, summary.to))?;
    let headers = [
        t.get("xlsx.mode"),
        t.get("xlsx.version"),
        t.get("xlsx.bracket"),
        t.get("xlsx.parcels"),
        t.get("xlsx.amount_yuan"),
    ];
    header(sheet, 3, &headers, &bold)?;
    let mut row = 4;
    for line in &summary.rows {
        sheet.write_string(row, 0, mode_name(line.mode, t))?;
        sheet.write_number(row, 1, f64::from(line.agreement_version))?;
        sheet.write_number(row, 2, f64::from(line.bracket + 1))?;
        sheet.write_number(row, 3, line.n_parcels as f64)?;
        sheet.write_number_with_format(row, 4, yuan(line.total), &money)?;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, t.get("xlsx.total"), &bold)?;
    sheet.write_number_with_format(row, 3, summary.n_parcels as f64, &bold)?;
    sheet.write_number_with_format(row, 4, yuan(summary.total), &money_bold)?;
    sheet.set_column_width(0, 16)?;
    sheet.set_column_width(1, 24)?;
    sheet.set_column_width(4, 14)?;

    // Every fee with its waybill.
    let sheet = book.add_worksheet();
    sheet.set_name(t.get("xlsx.sheet.fees"))?;
    let headers = [
        t.get("xlsx.waybill"),
        t.get("xlsx.day"),
        t.get("xlsx.time"),
        t.get("xlsx.mode"),
        t.get("xlsx.event"),
        t.get("xlsx.township"),
        t.get("xlsx.weight"),
        t.get("xlsx.version"),
        t.get("xlsx.bracket"),
        t.get("xlsx.amount_yuan"),
    ];
    header(sheet, 0, &headers, &bold)?;
    let mut row = 1;
    let mut total = 0i64;
    for line in report.lines {
        sheet.write_string(row, 0, &line.waybill)?;
        sheet.write_string(row, 1, line.day.to_string())?;
        sheet.write_string(row, 2, &line.at)?;
        sheet.write_string(row, 3, mode_name(line.mode, t))?;
        sheet.write_string(row, 4, &line.event_kind)?;
        sheet.write_string(row, 5, &line.township)?;
        if let Some(grams) = line.weight_grams {
            sheet.write_number(row, 6, f64::from(grams))?;
        }
        sheet.write_number(row, 7, f64::from(line.agreement_version))?;
        sheet.write_number(row, 8, f64::from(line.bracket))?;
        sheet.write_number_with_format(row, 9, yuan(line.amount), &money)?;
        total += line.amount.0;
        row += 1;
    }
    sheet.write_string_with_format(row, 0, t.get("xlsx.total"), &bold)?;
    sheet.write_number_with_format(row, 9, yuan(Fen(total)), &money_bold)?;
    sheet.set_column_width(0, 20)?;
    sheet.set_column_width(1, 12)?;
    sheet.set_column_width(2, 12)?;
    sheet.set_column_width(3, 14)?;
    sheet.set_column_width(5, 12)?;
    sheet.set_column_width(9, 12)?;
    sheet.set_freeze_panes(1, 0)?;

    // The reconciliation's two lists.
    let lists = [
        (t.get("xlsx.sheet.missing"), &report.reconciliation.missing),
        (
            t.get("xlsx.sheet.unannounced"),
            &report.reconciliation.unannounced,
        ),
    ];
    for (name, parcels) in lists {
        let sheet = book.add_worksheet();
        sheet.set_name(name)?;
        header(
            sheet,
            0,
            &[
                t.get("xlsx.waybill"),
                t.get("xlsx.state"),
                t.get("xlsx.since"),
            ],
            &bold,
        )?;
        for (idx, parcel) in parcels.iter().enumerate() {
            let row = idx as u32 + 1;
            sheet.write_string(row, 0, parcel.waybill.to_string())?;
            sheet.write_string(
                row,
                1,
                if t.is_en() {
                    parcel.state.code()
                } else {
                    parcel.state.name_zh()
                },
            )?;
            sheet.write_string(
                row,
                2,
                parcel
                    .created_at
                    .with_timezone(&domain::shanghai())
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            )?;
        }
        sheet.set_column_width(0, 20)?;
        sheet.set_column_width(1, 14)?;
        sheet.set_column_width(2, 18)?;
    }
    book.save_to_buffer()
}

fn header(sheet: &mut Worksheet, row: u32, names: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (col, name) in names.iter().enumerate() {
        sheet.write_string_with_format(row, col as u16, *name, bold)?;
    }
    Ok(())
}

/// A finished workbook as a download named `name`.
pub(crate) fn download(bytes: Vec<u8>, name: &str) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// A workbook that could not be written is our fault, shown as an
/// internal error in the page's language.
pub(crate) fn failed(t: Tr) -> impl Fn(XlsxError) -> crate::WebError {
    move |error| {
        crate::WebError::from_app(app::AppError::Internal(format!("spreadsheet: {error}")), t)
    }
}

// branch money2 (issue 15, session 10): a collection plan (周、旬清欠计划).

/// A collection plan: its period and totals, then each person with their
/// target, what was written off and the percent, and under each the debtors
/// behind them. Money in yuan.
pub fn collection_plan(view: &app::finance::PlanView, t: Tr) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    let money_bold = Format::new().set_num_format("0.00").set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(t.get("xlsx.sheet.plan"))?;
    let period = &view.plan.period;
    let name = if t.is_en() {
        period.name_en()
    } else {
        period.name_zh()
    };
    sheet.write_string_with_format(0, 0, t.get("plans.period"), &bold)?;
    sheet.write_string(0, 1, format!("{name} ({} – {})", period.first, period.last))?;
    sheet.write_string_with_format(1, 0, t.get("plans.note"), &bold)?;
    sheet.write_string(1, 1, &view.plan.note)?;
    let headers = [
        t.get("plans.person"),
        t.get("xlsx.carrier"),
        t.get("plans.target_yuan"),
        t.get("plans.done"),
        t.get("plans.progress"),
    ];
    header(sheet, 3, &headers, &bold)?;
    let mut row = 4;
    for person in &view.people {
        sheet.write_string_with_format(
            row,
            0,
            format!("{} ({})", person.name, person.username),
            &bold,
        )?;
        sheet.write_number_with_format(row, 2, yuan(person.target), &money_bold)?;
        sheet.write_number_with_format(row, 3, yuan(person.done), &money_bold)?;
        sheet.write_string(row, 4, format!("{}%", person.percent))?;
        row += 1;
        for debtor in &person.debtors {
            let carrier = if t.is_en() {
                debtor.carrier.code().to_string()
            } else {
                format!("{} {}", debtor.carrier.code(), debtor.carrier.name_zh())
            };
            sheet.write_string(row, 1, carrier)?;
            if let Some(target) = debtor.target {
                sheet.write_number_with_format(row, 2, yuan(target), &money)?;
            }
            sheet.write_number_with_format(row, 3, yuan(debtor.done), &money)?;
            row += 1;
        }
    }
    sheet.write_string_with_format(row, 0, t.get("xlsx.total"), &bold)?;
    sheet.write_number_with_format(row, 2, yuan(view.target), &money_bold)?;
    sheet.write_number_with_format(row, 3, yuan(view.done), &money_bold)?;
    sheet.write_string_with_format(row, 4, format!("{}%", view.percent), &bold)?;
    sheet.set_column_width(0, 24)?;
    sheet.set_column_width(1, 20)?;
    sheet.set_column_width(2, 14)?;
    sheet.set_column_width(3, 14)?;
    book.save_to_buffer()
}

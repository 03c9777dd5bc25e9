//! The county board's and the daily report's tables as .xlsx (issue 16),
//! shared by the board's download and `yizhan report daily --xlsx`: one
//! sheet per table, the same rows the pages show. Counts and sums only:
//! no sheet holds a waybill, a name or a phone, so these downloads are not
//! personal-data exports. Money in yuan with two decimals.

use crate::i18n::Tr;
use app::board::{BoardFigures, DailyReport, FLOW_STEPS};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// A cell of a table.
pub enum Cell {
    Text(String),
    Number(f64),
    /// A share 0–1, shown as a percentage.
    Share(Option<f64>),
    Money(i64),
}

/// One table: its sheet name, headers and rows.
pub struct Table {
    pub name: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

fn n(value: u64) -> Cell {
    Cell::Number(value as f64)
}

fn step_name(idx: usize, t: Tr) -> &'static str {
    let (_, zh, en, _) = FLOW_STEPS[idx];
    if t.is_en() { en } else { zh }
}

/// The board's tables, in the order the page shows them.
pub fn board_tables(f: &BoardFigures, t: Tr) -> Vec<Table> {
    let mut tables = Vec::new();
    // The flow by day.
    let mut headers = vec![t.get("board.day")];
    headers.extend((0..FLOW_STEPS.len()).map(|idx| step_name(idx, t)));
    tables.push(Table {
        name: t.get("board.sheet.flow").to_string(),
        headers,
        rows: f
            .by_day
            .iter()
            .map(|day| {
                let mut row = vec![Cell::Text(day.day.to_string())];
                row.extend(day.steps.iter().map(|v| n(*v)));
                row
            })
            .collect(),
    });
    // The flow by carrier and mode.
    tables.push(Table {
        name: t.get("board.sheet.flow_carrier").to_string(),
        headers: vec![
            t.get("board.step"),
            t.get("board.carrier"),
            t.get("board.mode"),
            t.get("board.parcels"),
        ],
        rows: f
            .flow
            .iter()
            .map(|cell| {
                let step = FLOW_STEPS
                    .iter()
                    .position(|(key, ..)| *key == cell.step)
                    .map(|idx| step_name(idx, t))
                    .unwrap_or(cell.step);
                vec![
                    Cell::Text(step.to_string()),
                    Cell::Text(carrier_label(cell.carrier, t)),
                    Cell::Text(mode_label(cell.mode.as_deref(), t)),
                    n(cell.n),
                ]
            })
            .collect(),
    });
    // The recipients' side.
    let mut rows = vec![
        vec![Cell::Text(t.get("board.pickups").into()), n(f.pickups)],
        vec![
            Cell::Text(t.get("board.within_24h").into()),
            n(f.within_24h),
        ],
        vec![
            Cell::Text(t.get("board.within_48h").into()),
            n(f.within_48h),
        ],
        vec![
            Cell::Text(t.get("board.within_72h").into()),
            n(f.within_72h),
        ],
        vec![
            Cell::Text(t.get("board.reminders").into()),
            n(f.reminders_sent),
        ],
        vec![
            Cell::Text(t.get("board.past_holding").into()),
            n(f.past_holding),
        ],
        vec![
            Cell::Text(t.get("board.manual_queue").into()),
            n(f.manual_queue),
        ],
        vec![
            Cell::Text(t.get("board.problems").into()),
            n(f.problems_reported),
        ],
    ];
    for bucket in &f.dwell {
        rows.push(vec![
            Cell::Text(dwell_label(bucket.up_to_hours, t)),
            n(bucket.n),
        ]);
    }
    tables.push(Table {
        name: t.get("board.sheet.recipients").to_string(),
        headers: vec![t.get("board.figure"), t.get("board.value")],
        rows,
    });
    tables.push(station_table(&f.stations, t));
    tables.push(carrier_table(&f.carriers, t));
    tables
}

fn station_table(stations: &[app::board::StationRow], t: Tr) -> Table {
    Table {
        name: t.get("board.sheet.stations").to_string(),
        headers: vec![
            t.get("board.station"),
            t.get("board.township"),
            t.get("board.in"),
            t.get("board.in_per_day"),
            t.get("board.low_efficiency"),
            t.get("board.picked_up"),
            t.get("board.self_service"),
            t.get("board.self_share"),
            t.get("board.past_holding"),
            t.get("board.devices_online"),
            t.get("board.devices_total"),
            t.get("board.device_uptime"),
        ],
        rows: stations
            .iter()
            .map(|s| {
                vec![
                    Cell::Text(s.name.clone()),
                    Cell::Text(s.township.clone()),
                    n(s.n_in),
                    Cell::Number(s.in_per_day),
                    Cell::Text(
                        if s.low_efficiency {
                            t.get("board.yes")
                        } else {
                            ""
                        }
                        .into(),
                    ),
                    n(s.n_picked_up),
                    n(s.n_self_service),
                    Cell::Share(s.self_service_share),
                    n(s.n_past_holding),
                    n(s.devices_online),
                    n(s.devices_total),
                    Cell::Share(s.device_uptime),
                ]
            })
            .collect(),
    }
}

fn carrier_table(carriers: &[app::board::CarrierRow], t: Tr) -> Table {
    Table {
        name: t.get("board.sheet.carriers").to_string(),
        headers: vec![
            t.get("board.carrier"),
            t.get("board.arrived"),
            t.get("board.mode.joint"),
            t.get("board.mode.contractor"),
            t.get("board.mode.station"),
            t.get("board.fees_n"),
            t.get("board.fees_yuan"),
            t.get("board.webhooks_delivered"),
            t.get("board.webhooks_pending"),
            t.get("board.webhooks_failed"),
        ],
        rows: carriers
            .iter()
            .map(|c| {
                let mode = |m: &str| n(c.arrived_by_mode.get(m).copied().unwrap_or(0));
                vec![
                    Cell::Text(carrier_label(c.carrier, t)),
                    n(c.n_arrived),
                    mode("joint"),
                    mode("contractor"),
                    mode("station"),
                    n(c.n_fees),
                    Cell::Money(c.fees_fen),
                    n(c.webhooks_delivered),
                    n(c.webhooks_pending),
                    n(c.webhooks_failed),
                ]
            })
            .collect(),
    }
}

/// The daily report's tables: headlines with the day before and the
/// change, then the ranked stations and carriers.
pub fn daily_tables(report: &DailyReport, t: Tr) -> Vec<Table> {
    let headlines = Table {
        name: t.get("board.sheet.daily").to_string(),
        headers: vec![
            t.get("board.figure"),
            t.get("board.value"),
            t.get("board.previous"),
            t.get("board.change"),
        ],
        rows: report
            .headlines
            .iter()
            .map(|h| {
                vec![
                    Cell::Text(if t.is_en() { h.en } else { h.zh }.to_string()),
                    n(h.value),
                    n(h.previous),
                    Cell::Text(h.change_text()),
                ]
            })
            .collect(),
    };
    vec![
        headlines,
        station_table(&report.stations, t),
        carrier_table(&report.carriers, t),
    ]
}

pub fn carrier_label(carrier: domain::Carrier, t: Tr) -> String {
    if t.is_en() {
        carrier.code().to_string()
    } else {
        carrier.name_zh().to_string()
    }
}

pub fn mode_label(mode: Option<&str>, t: Tr) -> String {
    match mode.and_then(domain::county::Mode::parse) {
        Some(mode) => crate::xlsx::mode_name(mode, t).to_string(),
        None => t.get("board.mode.none").to_string(),
    }
}

pub fn dwell_label(up_to_hours: Option<i64>, t: Tr) -> String {
    match (up_to_hours, t.is_en()) {
        (Some(h), true) => format!("picked up within {h} h"),
        (Some(h), false) => format!("{h} 小时内取走"),
        (None, true) => "longer".into(),
        (None, false) => "更久".into(),
    }
}

/// The workbook's bytes: a sheet per table.
pub fn workbook(tables: &[Table]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    let share = Format::new().set_num_format("0.0%");
    for table in tables {
        let sheet = book.add_worksheet();
        // Sheet names: at most 31 characters, none of []:*?/\ (ours have none).
        sheet.set_name(table.name.chars().take(31).collect::<String>())?;
        for (col, header) in table.headers.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *header, &bold)?;
            sheet.set_column_width(col as u16, 14)?;
        }
        for (row_idx, row) in table.rows.iter().enumerate() {
            let r = row_idx as u32 + 1;
            for (col, cell) in row.iter().enumerate() {
                let c = col as u16;
                match cell {
                    Cell::Text(text) => {
                        sheet.write_string(r, c, text)?;
                    }
                    Cell::Number(value) => {
                        sheet.write_number(r, c, *value)?;
                    }
                    Cell::Share(Some(value)) => {
                        sheet.write_number_with_format(r, c, *value, &share)?;
                    }
                    Cell::Share(None) => {}
                    Cell::Money(fen) => {
                        sheet.write_number_with_format(r, c, *fen as f64 / 100.0, &money)?;
                    }
                }
            }
        }
    }
    book.save_to_buffer()
}

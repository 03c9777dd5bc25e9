//! The county board (`/board`, issue 16): the flow over a day or a range
//! of Shanghai days, the recipients' side, every station and carrier, with
//! charts drawn by ECharts (vendored under `static/vendor/echarts/` with
//! its licence, served by the product, no CDN) and kept live by
//! `static/board.js`, which polls `/board/data` (the same figures as JSON)
//! every 30 seconds. Every table downloads as .xlsx (`/board/board.xlsx`);
//! the daily report is `/board/daily` (page) and `/board/daily.xlsx`.
//! County staff and the administrator; the figures come from
//! `App::board` / `App::daily_report`, which check the caller.

use super::office::parse_day;
use super::{Frame, Operator};
use crate::board_sheets::{self, Cell, Table};
use crate::i18n::Tr;
use crate::{WebError, WebState, render};
use app::AppError;
use app::board::{BoardFigures, FLOW_STEPS};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/board", get(board))
        .route("/board/data", get(data))
        .route("/board/board.xlsx", get(board_xlsx))
        .route("/board/daily", get(daily))
        .route("/board/daily.xlsx", get(daily_xlsx))
        .route("/board/economics", get(economics))
        .route("/static/board.js", get(script))
        .route("/static/vendor/echarts/echarts.min.js", get(echarts))
        .route("/static/vendor/echarts/LICENSE", get(echarts_license))
}

/// The vendored chart library (ECharts 6.1.0, Apache-2.0; `LICENSE`,
/// `NOTICE` and `licenses/LICENSE-d3` beside it), compiled in.
const ECHARTS_JS: &str = include_str!("../../static/vendor/echarts/echarts.min.js");
const ECHARTS_LICENSE: &str = concat!(
    include_str!("../../static/vendor/echarts/LICENSE"),
    "\n\n",
    include_str!("../../static/vendor/echarts/NOTICE"),
    "\n\n",
    include_str!("../../static/vendor/echarts/licenses/LICENSE-d3"),
);
const BOARD_JS: &str = include_str!("../../static/board.js");

async fn echarts() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // The file changes only with the product: a day in caches, and
            // its name changes with a new version's path if ever needed.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ECHARTS_JS,
    )
        .into_response()
}

async fn echarts_license() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        ECHARTS_LICENSE,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        BOARD_JS,
    )
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct DayQuery {
    day: Option<String>,
}

/// The days a query names: `from` alone is that day, nothing is today.
fn range(state: &WebState, query: &RangeQuery) -> Result<(NaiveDate, NaiveDate), AppError> {
    let today = state.app.today();
    let from = parse_day(query.from.as_deref())?;
    let to = parse_day(query.to.as_deref())?;
    Ok(match (from, to) {
        (Some(from), Some(to)) => (from, to),
        (Some(day), None) | (None, Some(day)) => (day, day),
        (None, None) => (today, today),
    })
}

/// A rendered table: headers and rows of text, with the JSON keys the
/// script rebuilds it from (`data-table`).
struct HtmlTable {
    id: &'static str,
    title: &'static str,
    headers: Vec<&'static str>,
    rows: Vec<HtmlRow>,
}

struct HtmlRow {
    cells: Vec<String>,
    /// Flagged (a low-efficiency station).
    flag: bool,
}

fn text_of(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Number(value) if value.fract() == 0.0 => format!("{value:.0}"),
        Cell::Number(value) => format!("{value:.1}"),
        Cell::Share(Some(share)) => format!("{:.0}%", share * 100.0),
        Cell::Share(None) => "—".into(),
        Cell::Money(fen) => format!("{:.2}", *fen as f64 / 100.0),
    }
}

fn html_tables(
    tables: Vec<Table>,
    ids: &[&'static str],
    titles: &[&'static str],
) -> Vec<HtmlTable> {
    tables
        .into_iter()
        .zip(ids.iter().zip(titles))
        .map(|(table, (id, title))| HtmlTable {
            id,
            title,
            headers: table.headers,
            rows: table
                .rows
                .iter()
                .map(|row| HtmlRow {
                    flag: *id == "stations"
                        && row
                            .get(4)
                            .is_some_and(|c| matches!(c, Cell::Text(t) if !t.is_empty())),
                    cells: row.iter().map(text_of).collect(),
                })
                .collect(),
        })
        .collect()
}

/// One headline tile.
struct Tile {
    key: &'static str,
    label: &'static str,
    value: String,
    note: String,
}

fn tiles(f: &BoardFigures, t: Tr) -> Vec<Tile> {
    let mut tiles: Vec<Tile> = FLOW_STEPS
        .iter()
        .enumerate()
        .map(|(idx, (key, zh, en, _))| Tile {
            key,
            label: if t.is_en() { en } else { zh },
            value: f.totals[idx].to_string(),
            note: String::new(),
        })
        .collect();
    let share = |n: u64| {
        f.pickup_share(n)
            .map(|s| format!("{:.0}%", s * 100.0))
            .unwrap_or_else(|| "—".into())
    };
    tiles.push(Tile {
        key: "manual_queue",
        label: t.get("board.manual_queue"),
        value: f.manual_queue.to_string(),
        note: f
            .manual_queue_oldest_hours
            .map(|h| format!("{} {h} h", t.get("board.oldest")))
            .unwrap_or_default(),
    });
    tiles.push(Tile {
        key: "problems",
        label: t.get("board.problems"),
        value: f.problems_reported.to_string(),
        note: String::new(),
    });
    tiles.push(Tile {
        key: "within_24h",
        label: t.get("board.within_24h"),
        value: share(f.within_24h),
        note: format!(
            "48 h {} · 72 h {}",
            share(f.within_48h),
            share(f.within_72h)
        ),
    });
    tiles.push(Tile {
        key: "reminders",
        label: t.get("board.reminders"),
        value: f.reminders_sent.to_string(),
        note: String::new(),
    });
    tiles.push(Tile {
        key: "past_holding",
        label: t.get("board.past_holding"),
        value: f.past_holding.to_string(),
        note: String::new(),
    });
    tiles
}

/// The kiosk fleet's day and the debtors' ageing beside the county's flow
/// (issue 16: "kiosks placed / active / collected and arrears by age"),
/// from their own use cases, which check the caller; the arrears only for
/// those who may read the books. Tables with their page ids and titles,
/// and headline tiles.
struct Beside {
    tables: Vec<Table>,
    ids: Vec<&'static str>,
    titles: Vec<&'static str>,
    tiles: Vec<Tile>,
}

async fn beside(state: &WebState, operator: &Operator, day: NaiveDate) -> Result<Beside, WebError> {
    let t = operator.tr;
    let err = operator.app_err();
    let mut out = Beside {
        tables: Vec::new(),
        ids: Vec::new(),
        titles: Vec::new(),
        tiles: Vec::new(),
    };
    let report = state
        .app
        .kiosk_report(&operator.principal, day)
        .await
        .map_err(&err)?;
    let (now, before) = (&report.totals, &report.previous);
    let n = |v: u32| Cell::Number(f64::from(v));
    out.tables.push(Table {
        name: t.get("board.sheet.kiosks").to_string(),
        headers: vec![
            t.get("board.kiosk.measure"),
            t.get("board.kiosk.day"),
            t.get("board.kiosk.before"),
        ],
        rows: vec![
            vec![
                Cell::Text(t.get("board.kiosk.placed").into()),
                n(now.placed),
                n(before.placed),
            ],
            vec![
                Cell::Text(t.get("board.kiosk.active").into()),
                n(now.active),
                n(before.active),
            ],
            vec![
                Cell::Text(t.get("board.kiosk.active_share").into()),
                Cell::Share(Some(now.active_share)),
                Cell::Share(Some(before.active_share)),
            ],
            vec![
                Cell::Text(t.get("board.kiosk.orders").into()),
                n(now.orders),
                n(before.orders),
            ],
            vec![
                Cell::Text(t.get("board.kiosk.collected").into()),
                n(now.collected),
                n(before.collected),
            ],
            vec![
                Cell::Text(t.get("board.kiosk.revenue").into()),
                Cell::Money(now.revenue_fen),
                Cell::Money(before.revenue_fen),
            ],
        ],
    });
    out.ids.push("kiosks");
    out.titles.push(t.get("board.sheet.kiosks"));
    out.tiles.push(Tile {
        key: "kiosks",
        label: t.get("board.kiosk.tile"),
        value: format!("{}/{}", now.active, now.placed),
        note: format!("{} {}", t.get("board.kiosk.collected"), now.collected),
    });
    if operator.principal.may_read_books() {
        let ageing = state
            .app
            .arrears_ageing(&operator.principal)
            .await
            .map_err(&err)?;
        let mut total = domain::finance::Ageing::new(domain::Carrier::Ems);
        let mut rows = Vec::new();
        for debtor in ageing.iter().filter(|a| a.total.0 != 0) {
            for (sum, part) in [
                (&mut total.not_due, debtor.not_due),
                (&mut total.days_1_30, debtor.days_1_30),
                (&mut total.days_31_60, debtor.days_31_60),
                (&mut total.days_61_90, debtor.days_61_90),
                (&mut total.over_90, debtor.over_90),
                (&mut total.total, debtor.total),
            ] {
                sum.0 += part.0;
            }
            rows.push(ageing_row(
                board_sheets::carrier_label(debtor.carrier, t),
                debtor,
            ));
        }
        rows.push(ageing_row(t.get("board.arrears.all").to_string(), &total));
        out.tables.push(Table {
            name: t.get("board.sheet.arrears").to_string(),
            headers: vec![
                t.get("board.carrier"),
                t.get("board.arrears.not_due"),
                "1–30",
                "31–60",
                "61–90",
                t.get("board.arrears.over_90"),
                t.get("board.arrears.total"),
            ],
            rows,
        });
        out.ids.push("arrears");
        out.titles.push(t.get("board.sheet.arrears"));
        let overdue = total.total.0 - total.not_due.0;
        out.tiles.push(Tile {
            key: "arrears",
            label: t.get("board.arrears.tile"),
            value: domain::Fen(overdue).to_string(),
            note: format!("{} {}", t.get("board.arrears.over_90"), total.over_90),
        });
    }
    Ok(out)
}

fn ageing_row(name: String, a: &domain::finance::Ageing) -> Vec<Cell> {
    vec![
        Cell::Text(name),
        Cell::Money(a.not_due.0),
        Cell::Money(a.days_1_30.0),
        Cell::Money(a.days_31_60.0),
        Cell::Money(a.days_61_90.0),
        Cell::Money(a.over_90.0),
        Cell::Money(a.total.0),
    ]
}

#[derive(Template)]
#[template(path = "board/board.html")]
struct BoardPage {
    f: Frame,
    from: String,
    to: String,
    query: String,
    tiles: Vec<Tile>,
    tables: Vec<HtmlTable>,
    n_low: usize,
    n_stations: usize,
    updated: String,
}

const BOARD_TABLE_IDS: &[&str] = &["by_day", "flow", "recipients", "stations", "carriers"];

fn board_titles(t: Tr) -> Vec<&'static str> {
    [
        "board.sheet.flow",
        "board.sheet.flow_carrier",
        "board.sheet.recipients",
        "board.sheet.stations",
        "board.sheet.carriers",
    ]
    .iter()
    .map(|key| t.get(key))
    .collect()
}

/// The days a request asks for and the board's figures over them: what
/// the page, its JSON and its spreadsheet all start from.
async fn figures_for(
    state: &WebState,
    operator: &Operator,
    query: &RangeQuery,
) -> Result<(NaiveDate, NaiveDate, BoardFigures), WebError> {
    let (from, to) = range(state, query).map_err(operator.app_err())?;
    let figures = state
        .app
        .board(&operator.principal, from, to)
        .await
        .map_err(operator.app_err())?;
    Ok((from, to, figures))
}

async fn board(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<RangeQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let (from, to, figures) = figures_for(&state, &operator, &query).await?;
    let n_low = figures.stations.iter().filter(|s| s.low_efficiency).count();
    let beside = beside(&state, &operator, to).await?;
    let mut tiles = tiles(&figures, t);
    tiles.extend(beside.tiles);
    let mut tables = html_tables(
        board_sheets::board_tables(&figures, t),
        BOARD_TABLE_IDS,
        &board_titles(t),
    );
    tables.extend(html_tables(beside.tables, &beside.ids, &beside.titles));
    Ok(render(BoardPage {
        f: Frame::new(&operator, "board"),
        from: from.to_string(),
        to: to.to_string(),
        query: format!("from={from}&to={to}"),
        tiles,
        tables,
        n_low,
        n_stations: figures.stations.len(),
        updated: crate::local(figures.generated_at),
    }))
}

/// The board's figures as JSON, with the labels the charts show in the
/// page's language: what `board.js` polls.
async fn data(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<RangeQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let (_, to, figures) = figures_for(&state, &operator, &query).await?;
    let beside = beside(&state, &operator, to).await?;
    let steps: Vec<&str> = FLOW_STEPS
        .iter()
        .map(|(_, zh, en, _)| if t.is_en() { *en } else { *zh })
        .collect();
    let dwell: Vec<String> = figures
        .dwell
        .iter()
        .map(|b| board_sheets::dwell_label(b.up_to_hours, t))
        .collect();
    let tiles: Vec<serde_json::Value> = tiles(&figures, t)
        .into_iter()
        .chain(beside.tiles)
        .map(|tile| serde_json::json!({"key": tile.key, "value": tile.value, "note": tile.note}))
        .collect();
    let tables: Vec<serde_json::Value> = html_tables(
        board_sheets::board_tables(&figures, t),
        BOARD_TABLE_IDS,
        &board_titles(t),
    )
    .into_iter()
    .chain(html_tables(beside.tables, &beside.ids, &beside.titles))
    .map(|table| {
        serde_json::json!({
            "id": table.id,
            "rows": table.rows.iter().map(|r| serde_json::json!({"cells": r.cells, "flag": r.flag})).collect::<Vec<_>>(),
        })
    })
    .collect();
    let carriers: Vec<String> = figures
        .carriers
        .iter()
        .map(|c| board_sheets::carrier_label(c.carrier, t))
        .collect();
    Ok(axum::Json(serde_json::json!({
        "figures": figures,
        "labels": {
            "steps": steps,
            "dwell": dwell,
            "carriers": carriers,
            "in": t.get("board.in"),
            "line": t.get("board.line_300"),
            "self_share": t.get("board.self_share"),
            "modes": [t.get("board.mode.joint"), t.get("board.mode.contractor"), t.get("board.mode.station"), t.get("board.mode.none")],
        },
        "tiles": tiles,
        "tables": tables,
        "updated": crate::local(figures.generated_at),
    }))
    .into_response())
}

async fn board_xlsx(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<RangeQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let (from, to, figures) = figures_for(&state, &operator, &query).await?;
    let mut tables = board_sheets::board_tables(&figures, t);
    tables.extend(beside(&state, &operator, to).await?.tables);
    let bytes = board_sheets::workbook(&tables).map_err(crate::xlsx::failed(t))?;
    Ok(crate::xlsx::download(
        bytes,
        &format!("board-{from}-{to}.xlsx"),
    ))
}

#[derive(Template)]
#[template(path = "board/daily.html")]
struct DailyPage {
    f: Frame,
    day: String,
    previous_day: String,
    tables: Vec<HtmlTable>,
    markdown: String,
}

/// The day a daily report is for: the one asked, or yesterday.
fn report_day(state: &WebState, query: &DayQuery) -> Result<NaiveDate, AppError> {
    Ok(match parse_day(query.day.as_deref())? {
        Some(day) => day,
        None => state
            .app
            .today()
            .pred_opt()
            .unwrap_or_else(|| state.app.today()),
    })
}

async fn daily(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<DayQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let day = report_day(&state, &query).map_err(operator.app_err())?;
    let report = state
        .app
        .daily_report(&operator.principal, day)
        .await
        .map_err(operator.app_err())?;
    let (_, markdown) = report.markdown(t.0);
    Ok(render(DailyPage {
        f: Frame::new(&operator, "board"),
        day: day.to_string(),
        previous_day: day.pred_opt().unwrap_or(day).to_string(),
        tables: html_tables(
            board_sheets::daily_tables(&report, t),
            &["headlines", "stations", "carriers"],
            &[
                t.get("board.sheet.daily"),
                t.get("board.sheet.stations"),
                t.get("board.sheet.carriers"),
            ],
        ),
        markdown,
    }))
}

async fn daily_xlsx(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<DayQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let day = report_day(&state, &query).map_err(operator.app_err())?;
    let report = state
        .app
        .daily_report(&operator.principal, day)
        .await
        .map_err(operator.app_err())?;
    let bytes = board_sheets::workbook(&board_sheets::daily_tables(&report, t))
        .map_err(crate::xlsx::failed(t))?;
    Ok(crate::xlsx::download(bytes, &format!("daily-{day}.xlsx")))
}

#[derive(Deserialize)]
pub(super) struct EconomicsQuery {
    from: Option<String>,
    to: Option<String>,
    minutes_per_pickup: Option<String>,
    wage_per_hour: Option<String>,
    unstaffed_hours_per_day: Option<String>,
    sends_per_day: Option<String>,
    margin_per_send: Option<String>,
    days_per_year: Option<String>,
    outlets: Option<String>,
}

/// The assumptions a query names over the defaults, each checked against
/// `domain::economics::LIMITS`.
fn assumptions(query: &EconomicsQuery) -> Result<domain::economics::Assumptions, AppError> {
    let mut a = domain::economics::Assumptions::default();
    let fields: [(&str, &Option<String>, &mut f64); 7] = [
        (
            "minutes_per_pickup",
            &query.minutes_per_pickup,
            &mut a.minutes_per_pickup,
        ),
        ("wage_per_hour", &query.wage_per_hour, &mut a.wage_per_hour),
        (
            "unstaffed_hours_per_day",
            &query.unstaffed_hours_per_day,
            &mut a.unstaffed_hours_per_day,
        ),
        ("sends_per_day", &query.sends_per_day, &mut a.sends_per_day),
        (
            "margin_per_send",
            &query.margin_per_send,
            &mut a.margin_per_send,
        ),
        ("days_per_year", &query.days_per_year, &mut a.days_per_year),
        ("outlets", &query.outlets, &mut a.outlets),
    ];
    for (name, given, slot) in fields {
        let Some(text) = given.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
            continue;
        };
        let (_, min, max) = domain::economics::LIMITS
            .iter()
            .find(|(n, ..)| *n == name)
            .copied()
            .unwrap_or((name, 0.0, 0.0));
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() && (min..=max).contains(&value) => *slot = value,
            _ => {
                return Err(AppError::new(app::Code::EconomicsParameterInvalid)
                    .with("name", name)
                    .with("min", min)
                    .with("max", max));
            }
        }
    }
    Ok(a)
}

struct EconomicsRow {
    name: String,
    self_per_day: String,
    from_pickups: String,
    from_hours: String,
    labour: String,
    sending: String,
}

struct Parameter {
    name: &'static str,
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "board/economics.html")]
struct EconomicsPage {
    f: Frame,
    from: String,
    to: String,
    parameters: Vec<Parameter>,
    rows: Vec<EconomicsRow>,
    county_labour: String,
    county_sending: String,
    average_labour: String,
    average_sending: String,
    outlets: String,
    national_labour: String,
    national_sending: String,
    seed_labour: String,
    seed_sending: String,
    seed_national_low: String,
    seed_national_high: String,
    seed_national_sending: String,
}

fn yuan(value: f64) -> String {
    format!("{value:.0}")
}

async fn economics(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<EconomicsQuery>,
) -> Result<Response, WebError> {
    use domain::economics::{self as e, national_billions};
    let t = operator.tr;
    let (from, to) = range(
        &state,
        &RangeQuery {
            from: query.from.clone(),
            to: query.to.clone(),
        },
    )
    .map_err(operator.app_err())?;
    let a = assumptions(&query).map_err(operator.app_err())?;
    let result = state
        .app
        .station_economics(&operator.principal, from, to, a)
        .await
        .map_err(operator.app_err())?;
    let values = [
        ("minutes_per_pickup", a.minutes_per_pickup),
        ("wage_per_hour", a.wage_per_hour),
        ("unstaffed_hours_per_day", a.unstaffed_hours_per_day),
        ("sends_per_day", a.sends_per_day),
        ("margin_per_send", a.margin_per_send),
        ("days_per_year", a.days_per_year),
        ("outlets", a.outlets),
    ];
    let labels = [
        "board.econ.minutes_per_pickup",
        "board.econ.wage_per_hour",
        "board.econ.unstaffed_hours_per_day",
        "board.econ.sends_per_day",
        "board.econ.margin_per_send",
        "board.econ.days_per_year",
        "board.econ.outlets",
    ];
    Ok(render(EconomicsPage {
        f: Frame::new(&operator, "board"),
        from: from.to_string(),
        to: to.to_string(),
        parameters: values
            .iter()
            .zip(labels)
            .map(|((name, value), label)| Parameter {
                name,
                label: t.get(label),
                value: format!("{value}"),
            })
            .collect(),
        rows: result
            .stations
            .iter()
            .map(|s| EconomicsRow {
                name: s.station.name.clone(),
                self_per_day: format!("{:.1}", s.estimate.self_service_per_day),
                from_pickups: yuan(s.estimate.labour_from_pickups),
                from_hours: yuan(s.estimate.labour_from_hours),
                labour: yuan(s.estimate.labour_saved),
                sending: yuan(s.estimate.sending_added),
            })
            .collect(),
        county_labour: yuan(result.county_labour_saved),
        county_sending: yuan(result.county_sending_added),
        average_labour: yuan(result.average_labour_saved),
        average_sending: yuan(result.average_sending_added),
        outlets: format!("{:.0}", a.outlets),
        national_labour: format!(
            "{:.2}",
            national_billions(result.average_labour_saved, a.outlets)
        ),
        national_sending: format!(
            "{:.2}",
            national_billions(result.average_sending_added, a.outlets)
        ),
        seed_labour: format!(
            "{}–{}",
            yuan(e::SEED_LABOUR_SAVED_LOW),
            yuan(e::SEED_LABOUR_SAVED_HIGH)
        ),
        seed_sending: yuan(e::SEED_SENDING_ADDED),
        seed_national_low: format!(
            "{:.2}",
            national_billions(e::SEED_LABOUR_SAVED_LOW, e::SEED_OUTLETS)
        ),
        seed_national_high: format!(
            "{:.2}",
            national_billions(e::SEED_LABOUR_SAVED_HIGH, e::SEED_OUTLETS)
        ),
        seed_national_sending: format!(
            "{:.2}",
            national_billions(e::SEED_SENDING_ADDED, e::SEED_OUTLETS)
        ),
    }))
}

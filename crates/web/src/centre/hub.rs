//! The sorting hub's board (`/centre/hub`, issue 16 point 4): the eleven
//! indicators of a day measured from the hub's own logs, per shift and per
//! hour, with the adopted plan's simulated figures beside them; the forms
//! that import the sorter's item log and the yard's truck log (CSV or
//! .xlsx, `crates/sort/LOG.md`); every table as .xlsx. A plan is adopted
//! from the sort plan page (`/centre/sort`) with the same layout and seeds.
//! County staff and the administrator (`App::hub_board` checks).

use super::office::parse_day;
use super::sort::SortForm;
use super::{Frame, Operator};
use crate::board_sheets::{self, Cell, Table};
use crate::i18n::Tr;
use crate::{WebError, WebState, render};
use app::sort_plans::SortSource;
use app::sort_plans::hub::{HubBoard, HubLogKind};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sort::hub_kpi::{Figures, Shift};
use sort::hub_log::BadRow;

/// Largest log uploaded: a busy hub's day is about 20 MB of CSV.
const LOG_FILE_BYTES_MAX: usize = 64 << 20;

pub(super) fn routes() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/centre/hub", get(hub_page))
        .route("/centre/hub/hub.xlsx", get(hub_xlsx))
        .route("/centre/hub/plan", post(adopt))
        .route("/static/hub.js", get(script))
        .route(
            "/centre/hub/import/{kind}",
            post(import).layer(axum::extract::DefaultBodyLimit::max(
                LOG_FILE_BYTES_MAX + 64 * 1024,
            )),
        )
}

const HUB_JS: &str = include_str!("../../static/hub.js");

async fn script() -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        HUB_JS,
    )
        .into_response()
}

#[derive(Deserialize, Default)]
struct DayQuery {
    day: Option<String>,
}

struct HtmlTable {
    title: String,
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "centre/hub.html")]
struct HubPage {
    f: Frame,
    day: String,
    days: Vec<String>,
    has_plan: bool,
    plan_line: String,
    has_data: bool,
    tables: Vec<HtmlTable>,
    /// JSON for `static/hub.js`: hours, sorted per hour, the nameplate.
    chart: String,
    outcome: Option<String>,
    bad: Vec<BadRow>,
}

fn share(value: Option<f64>) -> Cell {
    Cell::Share(value)
}

fn number(value: Option<f64>) -> Cell {
    value.map_or(Cell::Text("—".into()), |v| {
        Cell::Number((v * 10.0).round() / 10.0)
    })
}

fn count(value: u64) -> Cell {
    Cell::Number(value as f64)
}

fn shift_name(shift: Shift, t: Tr) -> &'static str {
    t.get(match shift {
        Shift::Early => "hub.shift.early",
        Shift::Late => "hub.shift.late",
        Shift::Night => "hub.shift.night",
    })
}

fn equipment_name(name: &str, t: Tr) -> String {
    if name.is_empty() {
        t.get("hub.loop").to_string()
    } else {
        name.to_string()
    }
}

/// The columns of a figures row (a shift or an hour).
fn figures_headers(first: &'static str, t: Tr) -> Vec<&'static str> {
    vec![
        first,
        t.get("hub.items"),
        t.get("hub.sorted"),
        t.get("hub.k.half_loop"),
        t.get("hub.k.recirculation"),
        t.get("hub.k.no_read"),
        t.get("hub.k.missort"),
        t.get("hub.k.chute_per_hour"),
    ]
}

fn figures_row(first: String, f: &Figures) -> Vec<Cell> {
    vec![
        Cell::Text(first),
        count(f.items),
        count(f.loop_counts.sorted),
        share(f.half_loop_drop_rate),
        share(f.recirculation_rate),
        share(f.no_read_rate),
        share(f.missort_rate),
        number(f.chute_items_per_hour_mean),
    ]
}

/// The page's tables, also the workbook's sheets.
fn tables(board: &HubBoard, t: Tr) -> Vec<Table> {
    let f = &board.figures;
    let plan = board.plan.as_ref().map(|p| &p.simulated);
    let planned = |value: Option<f64>| plan.map_or(Cell::Text("—".into()), |_| share(value));
    let trucks = &f.trucks;
    let peak = f.peak_hour.as_ref().map_or("—".to_string(), |p| {
        format!("{:02}:00 ({})", p.hour, p.sorted)
    });
    let on_machine = f
        .by_equipment
        .iter()
        .map(|e| {
            format!(
                "{} {:.0}%",
                equipment_name(&e.equipment, t),
                e.share * 100.0
            )
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let indicators = vec![
        vec![
            Cell::Text(t.get("hub.k.throughput").into()),
            number(f.throughput_per_hour),
            plan.map_or(Cell::Text("—".into()), |p| {
                Cell::Number(p.throughput_per_hour.round())
            }),
            Cell::Text(format!(
                "{} {:.0}",
                t.get("hub.nameplate"),
                f.nameplate_per_hour
            )),
        ],
        vec![
            Cell::Text(t.get("hub.k.throughput_share").into()),
            share(f.throughput_share_of_nameplate),
            planned(plan.map(|p| p.throughput_per_hour / p.nameplate_per_hour.max(1.0))),
            Cell::Text(String::new()),
        ],
        vec![
            Cell::Text(t.get("hub.k.half_loop").into()),
            share(f.half_loop_drop_rate),
            planned(plan.map(|p| p.half_loop_drop_rate)),
            Cell::Text(String::new()),
        ],
        vec![
            Cell::Text(t.get("hub.k.recirculation").into()),
            share(f.recirculation_rate),
            planned(plan.map(|p| p.recirculation_rate)),
            Cell::Text(String::new()),
        ],
        vec![
            Cell::Text(t.get("hub.k.no_read").into()),
            share(f.no_read_rate),
            Cell::Text("—".into()),
            Cell::Text(String::new()),
        ],
        vec![
            Cell::Text(t.get("hub.k.missort").into()),
            share(f.missort_rate),
            Cell::Text("—".into()),
            Cell::Text(format!(
                "{} {}",
                t.get("hub.exception"),
                f.exception_rate
                    .map_or("—".into(), |s| format!("{:.1}%", s * 100.0))
            )),
        ],
        vec![
            Cell::Text(t.get("hub.k.chute_per_hour").into()),
            number(f.chute_items_per_hour_mean),
            Cell::Text("—".into()),
            Cell::Text(format!(
                "{} {}",
                t.get("hub.max"),
                f.chute_items_per_hour_max
                    .map_or("—".into(), |m| m.to_string())
            )),
        ],
        vec![
            Cell::Text(t.get("hub.k.peak").into()),
            Cell::Text(peak),
            Cell::Text("—".into()),
            Cell::Text(String::new()),
        ],
        vec![
            Cell::Text(t.get("hub.k.on_machine").into()),
            share(f.on_machine_share),
            Cell::Text("—".into()),
            Cell::Text(on_machine),
        ],
        vec![
            Cell::Text(t.get("hub.k.yard").into()),
            number(trucks.yard_minutes_mean),
            Cell::Text("—".into()),
            Cell::Text(format!(
                "{} {} · {} {}",
                t.get("hub.trucks_in"),
                trucks.inbound,
                t.get("hub.trucks_out"),
                trucks.outbound
            )),
        ],
        vec![
            Cell::Text(t.get("hub.k.unload").into()),
            share(trucks.unload_on_time_share),
            Cell::Text("—".into()),
            Cell::Text(format!(
                "{} {}",
                t.get("hub.wait_mean"),
                trucks
                    .unload_wait_minutes_mean
                    .map_or("—".into(), |m| format!("{m:.0}"))
            )),
        ],
        vec![
            Cell::Text(t.get("hub.k.departure").into()),
            share(trucks.departure_on_time_share),
            Cell::Text("—".into()),
            Cell::Text(String::new()),
        ],
    ];
    let mut out = vec![Table {
        name: t.get("hub.sheet.indicators").into(),
        headers: vec![
            t.get("hub.indicator"),
            t.get("hub.measured"),
            t.get("hub.planned"),
            t.get("hub.note"),
        ],
        rows: indicators,
    }];
    out.push(Table {
        name: t.get("hub.sheet.shifts").into(),
        headers: figures_headers(t.get("hub.shift"), t),
        rows: board
            .shifts
            .iter()
            .map(|(shift, f)| figures_row(shift_name(*shift, t).into(), f))
            .collect(),
    });
    out.push(Table {
        name: t.get("hub.sheet.hours").into(),
        headers: figures_headers(t.get("hub.hour"), t),
        rows: board
            .hours
            .iter()
            .map(|(hour, f)| figures_row(format!("{hour:02}:00"), f))
            .collect(),
    });
    out.push(Table {
        name: t.get("hub.sheet.equipment").into(),
        headers: vec![
            t.get("hub.equipment"),
            t.get("hub.items"),
            t.get("hub.share"),
        ],
        rows: f
            .by_equipment
            .iter()
            .map(|e| {
                vec![
                    Cell::Text(equipment_name(&e.equipment, t)),
                    count(e.items),
                    Cell::Share(Some(e.share)),
                ]
            })
            .collect(),
    });
    let time = |at: Option<chrono::NaiveDateTime>| {
        Cell::Text(at.map_or(String::new(), |at| at.format("%H:%M").to_string()))
    };
    out.push(Table {
        name: t.get("hub.sheet.trucks").into(),
        headers: vec![
            t.get("hub.truck"),
            t.get("hub.direction"),
            t.get("hub.planned_arrival"),
            t.get("hub.arrived"),
            t.get("hub.unload_start"),
            t.get("hub.unload_end"),
            t.get("hub.planned_departure"),
            t.get("hub.departed"),
        ],
        rows: board
            .trucks
            .iter()
            .map(|truck| {
                vec![
                    Cell::Text(truck.truck.clone()),
                    Cell::Text(
                        t.get(match truck.direction {
                            sort::hub_log::Direction::Inbound => "hub.inbound",
                            sort::hub_log::Direction::Outbound => "hub.outbound",
                        })
                        .into(),
                    ),
                    time(truck.planned_arrival),
                    time(Some(truck.arrived_at)),
                    time(truck.unload_start),
                    time(truck.unload_end),
                    time(truck.planned_departure),
                    time(truck.departed_at),
                ]
            })
            .collect(),
    });
    out
}

fn text_of(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Number(value) if value.fract() == 0.0 => format!("{value:.0}"),
        Cell::Number(value) => format!("{value:.1}"),
        Cell::Share(Some(share)) => format!("{:.1}%", share * 100.0),
        Cell::Share(None) => "—".into(),
        Cell::Money(fen) => format!("{:.2}", *fen as f64 / 100.0),
    }
}

async fn board_for(
    state: &WebState,
    operator: &Operator,
    day: Option<&str>,
) -> Result<HubBoard, WebError> {
    let err = operator.app_err();
    let day = parse_day(day).map_err(&err)?;
    state
        .app
        .hub_board(&operator.principal, day)
        .await
        .map_err(err)
}

async fn page(
    state: &WebState,
    operator: &Operator,
    day: Option<&str>,
    outcome: Option<String>,
    bad: Vec<BadRow>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let board = board_for(state, operator, day).await?;
    let plan_line = board.plan.as_ref().map_or(String::new(), |p| {
        t.get("hub.plan_line")
            .replace("{name}", &p.name)
            .replace("{chutes}", &p.simulated.chutes.to_string())
            .replace("{destinations}", &p.simulated.destinations.to_string())
            .replace("{by}", &p.adopted_by)
            .replace(
                "{at}",
                &p.adopted_at
                    .with_timezone(&domain::shanghai())
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
            )
    });
    let chart = serde_json::json!({
        "hours": board.hours.iter().map(|(h, _)| format!("{h:02}:00")).collect::<Vec<_>>(),
        "sorted": board.hours.iter().map(|(_, f)| f.loop_counts.sorted).collect::<Vec<_>>(),
        "nameplate": board.figures.nameplate_per_hour.round(),
        "labels": {
            "sorted": t.get("hub.sorted"),
            "nameplate": t.get("hub.nameplate"),
        },
    })
    .to_string();
    let html_tables = tables(&board, t)
        .into_iter()
        .map(|table| HtmlTable {
            title: table.name,
            headers: table.headers,
            rows: table
                .rows
                .iter()
                .map(|row| row.iter().map(text_of).collect())
                .collect(),
        })
        .collect();
    Ok(render(HubPage {
        f: Frame::new(operator, "hub"),
        day: board.day.to_string(),
        days: board.days.iter().map(|d| d.to_string()).collect(),
        has_plan: board.plan.is_some(),
        plan_line,
        has_data: board.figures.items > 0 || !board.trucks.is_empty(),
        tables: html_tables,
        chart,
        outcome,
        bad,
    }))
}

async fn hub_page(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<DayQuery>,
) -> Result<Response, WebError> {
    page(&state, &operator, query.day.as_deref(), None, Vec::new()).await
}

async fn hub_xlsx(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<DayQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let board = board_for(&state, &operator, query.day.as_deref()).await?;
    let bytes = board_sheets::workbook(&tables(&board, t)).map_err(crate::xlsx::failed(t))?;
    Ok(crate::xlsx::download(
        bytes,
        &format!("hub-{}.xlsx", board.day),
    ))
}

#[derive(Deserialize, Default)]
struct AdoptForm {
    #[serde(flatten)]
    sort: SortForm,
    #[serde(default)]
    name: String,
}

async fn adopt(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<AdoptForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.sort.csrf)?;
    let err = operator.app_err();
    let seed = super::sort::seed(&form.sort.seed).map_err(&err)?;
    let source = if form.sort.source == "generate" {
        SortSource::Generate(super::sort::seed(&form.sort.generator_seed).map_err(&err)?)
    } else {
        SortSource::Layout(form.sort.layout)
    };
    state
        .app
        .adopt_hub_plan(&operator.principal, &form.name, source, seed)
        .await
        .map_err(err)?;
    Ok(Redirect::to("/centre/hub").into_response())
}

async fn import(
    State(state): State<WebState>,
    operator: Operator,
    axum::extract::Path(kind): axum::extract::Path<String>,
    mut form: axum::extract::Multipart,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let err = operator.app_err();
    let kind = HubLogKind::parse(&kind).ok_or_else(|| err(AppError::NotFound("hub log")))?;
    let unreadable = |detail: String| AppError::new(Code::HubLogUnreadable).with_detail(detail);
    let crate::upload::Upload { csrf, file } =
        crate::upload::Upload::read(&mut form, LOG_FILE_BYTES_MAX)
            .await
            .map_err(|detail| err(unreadable(detail)))?;
    operator.check(&state, &csrf)?;
    let (name, bytes) = file.ok_or_else(|| {
        err(unreadable(
            "choose the CSV or .xlsx export (at most 64 MB)".into(),
        ))
    })?;
    // Reading is CPU work: off the request threads.
    let grid = tokio::task::spawn_blocking(move || {
        manifest_file::grid::any_grid_up_to(
            &bytes,
            sort::hub_log::ROWS_MAX + sort::hub_log::HEADER_SEARCH_ROWS,
        )
    })
    .await
    .map_err(|e| err(AppError::Internal(format!("hub log reader: {e}"))))?
    .map_err(|e| err(unreadable(format!("{e:#}"))))?;
    let report = state
        .app
        .import_hub_log(&operator.principal, kind, &name, grid)
        .await
        .map_err(&err)?;
    let outcome = match report.import_id {
        None => t.get("hub.import.known").to_string(),
        Some(_) => t
            .get("hub.import.done")
            .replace("{rows}", &(report.rows - report.bad_count).to_string())
            .replace("{days}", &report.days.len().to_string())
            .replace("{bad}", &report.bad_count.to_string()),
    };
    let day = report.days.last().map(|d| d.to_string());
    page(&state, &operator, day.as_deref(), Some(outcome), report.bad).await
}

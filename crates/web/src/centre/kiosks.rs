//! The kiosk fleet's pages (issue 14, branch kiosks), for county staff and
//! the administrator: `/centre/kiosks` (the list with filters, a form to
//! place a kiosk, the CSV/.xlsx import), a kiosk's page (its fields to
//! edit, suspend, resume or retire; its bin, orders and collection runs),
//! the daily report `/centre/kiosks/report?day=` with its .xlsx, and
//! collection `/centre/collect` (phone-first: pick a kiosk, scan each item
//! out, close). Each form calls one `App` method.

use super::office::parse_day;
use super::{Frame, Operator};
use crate::board_sheets::{self, Cell, Table};
use crate::i18n::Tr;
use crate::{WebError, WebState, local, render};
use app::kiosks::{
    CollectionRecord, KioskFilter, KioskImport, KioskInput, KioskOrder, KioskRecord,
};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::kiosk::{FleetDayReport, GroupLine, KioskStatus, ScanOutcome, Scenario, Totals};
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/centre/kiosks", get(list).post(create))
        .route("/centre/kiosks/import", post(import))
        .route("/centre/kiosks/report", get(report))
        .route("/centre/kiosks/report.xlsx", get(report_xlsx))
        .route("/centre/kiosks/{id}", get(kiosk).post(update))
        .route("/centre/kiosks/{id}/status", post(status))
        .route("/centre/collect", get(collect_home).post(collect_start))
        .route("/centre/collect/{run}", get(collect_run))
        .route("/centre/collect/{run}/scan", post(collect_scan))
        .route("/centre/collect/{run}/close", post(collect_close))
}

fn yuan(fen: i64) -> String {
    format!("{:.2}", fen as f64 / 100.0)
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn signed(value: i64) -> String {
    if value > 0 {
        format!("+{value}")
    } else {
        value.to_string()
    }
}

fn scenario_name(scenario: Scenario, t: Tr) -> &'static str {
    if t.is_en() {
        scenario.name_en()
    } else {
        scenario.name_zh()
    }
}

fn status_name(status: KioskStatus, t: Tr) -> &'static str {
    t.get(&format!("kiosks.status.{}", status.code()))
}

struct Choice {
    code: String,
    name: String,
    on: bool,
}

struct KioskRow {
    id: i64,
    code: String,
    host_name: String,
    scenario: &'static str,
    branch: String,
    staff: String,
    placed_on: String,
    status: &'static str,
    /// Devices online of those registered (`3/5`), empty without devices
    /// (branch kiosk-dev).
    online: String,
}

fn kiosk_row(kiosk: &KioskRecord, t: Tr) -> KioskRow {
    KioskRow {
        id: kiosk.id,
        code: kiosk.code.clone(),
        host_name: kiosk.host_name.clone(),
        scenario: scenario_name(kiosk.scenario, t),
        branch: kiosk.branch.clone(),
        staff: kiosk.staff.clone(),
        placed_on: kiosk.placed_on.to_string(),
        status: status_name(kiosk.status, t),
        online: String::new(),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    branch: Option<String>,
    scenario: Option<String>,
    status: Option<String>,
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "centre/kiosks.html")]
struct ListPage {
    f: Frame,
    kiosks: Vec<KioskRow>,
    branches: Vec<Choice>,
    scenarios: Vec<Choice>,
    statuses: Vec<Choice>,
    q: String,
    imported: Option<KioskImport>,
    today: String,
    /// Open kiosk alerts (a full bin), branch kiosk-dev.
    alerts: Vec<String>,
}

fn scenario_choices(t: Tr, chosen: Option<Scenario>) -> Vec<Choice> {
    Scenario::ALL
        .into_iter()
        .map(|s| Choice {
            code: s.code().into(),
            name: scenario_name(s, t).into(),
            on: chosen == Some(s),
        })
        .collect()
}

async fn list_page(
    state: &WebState,
    operator: &Operator,
    query: &ListQuery,
    imported: Option<KioskImport>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let scenario = nonempty(&query.scenario).and_then(|s| Scenario::parse(&s));
    let status = nonempty(&query.status).and_then(|s| KioskStatus::parse(&s));
    let branch = nonempty(&query.branch);
    let q: String = query
        .q
        .clone()
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect();
    let filter = KioskFilter {
        branch: branch.clone(),
        scenario,
        status,
        staff_user_id: None,
        text: Some(q.clone()),
    };
    let app = &state.app;
    let kiosks = app
        .kiosks(&operator.principal, &filter)
        .await
        .map_err(operator.app_err())?;
    let branches = app
        .kiosk_branches(&operator.principal)
        .await
        .map_err(operator.app_err())?
        .into_iter()
        .map(|b| Choice {
            on: branch.as_deref() == Some(b.as_str()),
            name: b.clone(),
            code: b,
        })
        .collect();
    let liveness = app
        .kiosk_fleet_liveness(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    let alerts = app
        .kiosk_alerts(&operator.principal)
        .await
        .map_err(operator.app_err())?
        .into_iter()
        .map(|alert| alert.message)
        .collect();
    Ok(render(ListPage {
        f: Frame::new(operator, "kiosks"),
        alerts,
        kiosks: kiosks
            .iter()
            .map(|k| {
                let mut row = kiosk_row(k, t);
                if let Some(seen) = liveness.get(&k.id) {
                    row.online = format!("{}/{}", seen.n_online, seen.n_devices);
                }
                row
            })
            .collect(),
        branches,
        scenarios: scenario_choices(t, scenario),
        statuses: KioskStatus::ALL
            .into_iter()
            .map(|s| Choice {
                code: s.code().into(),
                name: status_name(s, t).into(),
                on: status == Some(s),
            })
            .collect(),
        q,
        imported,
        today: app.today().to_string(),
    }))
}

async fn list(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    list_page(&state, &operator, &query, None).await
}

#[derive(Deserialize)]
pub(super) struct KioskForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: KioskInput,
}

async fn create(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<KioskForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let kiosk = state
        .app
        .create_kiosk(&operator.principal, &form.input)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/centre/kiosks/{}", kiosk.id)).into_response())
}

async fn update(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(form): Form<KioskForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    state
        .app
        .update_kiosk(&operator.principal, id, &form.input)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/centre/kiosks/{id}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
}

async fn status(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let app = &state.app;
    let who = &operator.principal;
    let done = match form.action.as_str() {
        "suspend" => app.set_kiosk_suspended(who, id, true).await,
        "resume" => app.set_kiosk_suspended(who, id, false).await,
        "retire" => app.retire_kiosk(who, id).await,
        _ => Err(AppError::NotFound("kiosk")),
    };
    done.map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/centre/kiosks/{id}")).into_response())
}

/// Most bytes of an import file.
const IMPORT_BYTES_MAX: usize = 4 * 1024 * 1024;

async fn import(
    State(state): State<WebState>,
    operator: Operator,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let err = operator.app_err();
    let unreadable =
        |detail: String| AppError::new(Code::KioskImportUnreadable).with_detail(detail);
    let crate::upload::Upload { csrf, file } =
        crate::upload::Upload::read(&mut form, IMPORT_BYTES_MAX)
            .await
            .map_err(|detail| err(unreadable(detail)))?;
    operator.check(&state, &csrf)?;
    let (name, bytes) = file.ok_or_else(|| err(unreadable("choose a CSV or .xlsx file".into())))?;
    let extension = crate::upload::extension(&name);
    let rows = tokio::task::spawn_blocking(move || {
        manifest_file::records::<KioskInput>(&extension, &bytes, "code")
    })
    .await
    .map_err(|e| err(AppError::Internal(format!("kiosk file reader: {e}"))))?
    .map_err(|e| err(unreadable(e)))?;
    let outcome = state
        .app
        .import_kiosks(&operator.principal, rows)
        .await
        .map_err(operator.app_err())?;
    list_page(&state, &operator, &ListQuery::default(), Some(outcome)).await
}

struct OrderRow {
    waybill: String,
    state: &'static str,
    price: String,
    accepted: String,
    collected: String,
}

fn order_row(order: &KioskOrder, t: Tr) -> OrderRow {
    OrderRow {
        waybill: order.waybill.clone().unwrap_or_default(),
        state: if t.is_en() {
            order.state.name_en()
        } else {
            order.state.name_zh()
        },
        price: order.price_fen.map(yuan).unwrap_or_default(),
        accepted: order.accepted_at.map(local).unwrap_or_default(),
        collected: order.collected_at.map(local).unwrap_or_default(),
    }
}

struct RunRow {
    id: i64,
    started: String,
    closed: String,
    n_collected: u32,
    n_extra: u32,
    n_missing: u32,
}

fn run_row(run: &CollectionRecord) -> RunRow {
    RunRow {
        id: run.id,
        started: local(run.started_at),
        closed: run.closed_at.map(local).unwrap_or_default(),
        n_collected: run.n_collected,
        n_extra: run.n_extra,
        n_missing: run.n_missing,
    }
}

#[derive(Template)]
#[template(path = "centre/kiosk.html")]
struct KioskPage {
    f: Frame,
    k: KioskRow,
    retired: bool,
    suspended: bool,
    input: KioskInput,
    scenarios: Vec<Choice>,
    bin: Vec<OrderRow>,
    orders: Vec<OrderRow>,
    runs: Vec<RunRow>,
    /// The kiosk's devices (branch kiosk-dev).
    devices: Vec<DeviceRow>,
}

struct DeviceRow {
    kind: &'static str,
    device_id: String,
    online: bool,
    last_seen: String,
    condition: String,
}

fn device_row(device: &app::kiosk_devices::KioskDeviceRecord, t: Tr) -> DeviceRow {
    let mut condition = Vec::new();
    if let Some(fill) = device.fill_pct {
        condition.push(format!("{fill}%"));
    }
    if device.full_since.is_some() {
        condition.push(if t.is_en() { "full" } else { "已满" }.to_string());
    }
    if let Some(paper) = &device.paper {
        condition.push(match (paper.as_str(), t.is_en()) {
            ("out", false) => "缺纸".into(),
            ("low", false) => "纸少".into(),
            ("ok", false) => "纸足".into(),
            (word, _) => format!("paper {word}"),
        });
    }
    DeviceRow {
        kind: if t.is_en() {
            match device.kind.as_str() {
                "controller" => "controller",
                "scale" => "scale",
                "bin" => "bin",
                "camera" => "camera",
                "printer" => "printer",
                _ => "device",
            }
        } else {
            app::kiosk_devices::kind_zh(&device.kind)
        },
        device_id: device.device_id.clone(),
        online: device.online,
        last_seen: device.last_seen_at.map(local).unwrap_or_default(),
        condition: condition.join(" · "),
    }
}

async fn kiosk(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let view = state
        .app
        .kiosk_view(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    let devices = state
        .app
        .kiosk_devices_of(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    let k = &view.kiosk;
    Ok(render(KioskPage {
        devices: devices.iter().map(|d| device_row(d, t)).collect(),
        f: Frame::new(&operator, "kiosks"),
        retired: k.status == KioskStatus::Retired,
        suspended: k.status == KioskStatus::Suspended,
        input: KioskInput {
            code: k.code.clone(),
            host_name: k.host_name.clone(),
            scenario: k.scenario.code().into(),
            division: k.division.clone(),
            lat: format!("{:.6}", k.location.lat),
            lon: format!("{:.6}", k.location.lon),
            placed_on: k.placed_on.to_string(),
            staff: k.staff.clone(),
            branch: k.branch.clone(),
        },
        scenarios: scenario_choices(t, Some(k.scenario)),
        k: kiosk_row(k, t),
        bin: view.bin.iter().map(|o| order_row(o, t)).collect(),
        orders: view.orders.iter().map(|o| order_row(o, t)).collect(),
        runs: view.runs.iter().map(run_row).collect(),
    }))
}

// The daily report.

#[derive(Deserialize)]
pub(super) struct DayQuery {
    day: Option<String>,
}

fn report_day(state: &WebState, query: &DayQuery) -> Result<chrono::NaiveDate, AppError> {
    Ok(match parse_day(query.day.as_deref())? {
        Some(day) => day,
        None => state.app.today(),
    })
}

struct FigureRow {
    rank: u32,
    name: String,
    placed: u32,
    active: u32,
    share: String,
    orders: u32,
    collected: u32,
    revenue: String,
    change_orders: String,
    change_share: String,
}

fn figure_row(
    name: String,
    rank: u32,
    totals: &Totals,
    change_orders: i64,
    change_share: f64,
) -> FigureRow {
    FigureRow {
        rank,
        name,
        placed: totals.placed,
        active: totals.active,
        share: percent(totals.active_share),
        orders: totals.orders,
        collected: totals.collected,
        revenue: yuan(totals.revenue_fen),
        change_orders: signed(change_orders),
        change_share: format!("{:+.1}", change_share * 100.0),
    }
}

fn group_rows(lines: &[GroupLine], name: impl Fn(&str) -> String) -> Vec<FigureRow> {
    lines
        .iter()
        .map(|line| {
            figure_row(
                name(&line.key),
                line.rank,
                &line.totals,
                line.change.orders,
                line.change.active_share,
            )
        })
        .collect()
}

fn scenario_key_name(key: &str, t: Tr) -> String {
    Scenario::parse(key).map_or_else(|| key.to_string(), |s| scenario_name(s, t).to_string())
}

struct GroupTable {
    title: &'static str,
    id: &'static str,
    rows: Vec<FigureRow>,
}

#[derive(Template)]
#[template(path = "centre/kiosk_report.html")]
struct ReportPage {
    f: Frame,
    day: String,
    prev_day: String,
    next_day: String,
    totals: Vec<FigureRow>,
    change_orders: String,
    change_share: String,
    threshold: u32,
    n_idle: u32,
    groups: Vec<GroupTable>,
    top: Vec<TopRow>,
}

struct TopRow {
    rank: u32,
    id: i64,
    code: String,
    host_name: String,
    scenario: &'static str,
    branch: String,
    staff: String,
    orders: u32,
    collected: u32,
    revenue: String,
}

async fn report(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<DayQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let day = report_day(&state, &query).map_err(operator.app_err())?;
    let r = state
        .app
        .kiosk_report(&operator.principal, day)
        .await
        .map_err(operator.app_err())?;
    Ok(render(ReportPage {
        f: Frame::new(&operator, "kiosks"),
        day: day.to_string(),
        prev_day: day.pred_opt().unwrap_or(day).to_string(),
        next_day: day.succ_opt().unwrap_or(day).to_string(),
        totals: vec![
            figure_row(t.get("kiosks.report.day").into(), 0, &r.totals, 0, 0.0),
            figure_row(
                t.get("kiosks.report.previous").into(),
                0,
                &r.previous,
                0,
                0.0,
            ),
        ],
        change_orders: signed(r.change.orders),
        change_share: format!("{:+.1}", r.change.active_share * 100.0),
        threshold: r.active_orders_min,
        n_idle: r.n_idle,
        groups: vec![
            GroupTable {
                title: "kiosks.report.by_branch",
                id: "by-branch",
                rows: group_rows(&r.by_branch, |k| k.to_string()),
            },
            GroupTable {
                title: "kiosks.report.by_scenario",
                id: "by-scenario",
                rows: group_rows(&r.by_scenario, |k| scenario_key_name(k, t)),
            },
            GroupTable {
                title: "kiosks.report.by_staff",
                id: "by-staff",
                rows: group_rows(&r.by_staff, |k| k.to_string()),
            },
        ],
        top: r
            .top_kiosks
            .iter()
            .map(|line| TopRow {
                rank: line.rank,
                id: line.kiosk_id,
                code: line.code.clone(),
                host_name: line.host_name.clone(),
                scenario: scenario_name(line.scenario, t),
                branch: line.branch.clone(),
                staff: line.staff.clone(),
                orders: line.orders,
                collected: line.collected,
                revenue: yuan(line.revenue_fen),
            })
            .collect(),
    }))
}

/// The report's tables for the .xlsx: the totals with the day before, then
/// one sheet per breakdown and the ranking.
pub fn report_tables(r: &FleetDayReport, t: Tr) -> Vec<Table> {
    let headers = || {
        vec![
            t.get("kiosks.report.rank"),
            t.get("kiosks.report.name"),
            t.get("kiosks.report.placed"),
            t.get("kiosks.report.active"),
            t.get("kiosks.report.share"),
            t.get("kiosks.report.orders"),
            t.get("kiosks.report.collected"),
            t.get("kiosks.report.revenue"),
            t.get("kiosks.report.change_orders"),
        ]
    };
    let row = |rank: u32, name: String, totals: &Totals, change_orders: i64| {
        vec![
            Cell::Number(f64::from(rank)),
            Cell::Text(name),
            Cell::Number(f64::from(totals.placed)),
            Cell::Number(f64::from(totals.active)),
            Cell::Share(Some(totals.active_share)),
            Cell::Number(f64::from(totals.orders)),
            Cell::Number(f64::from(totals.collected)),
            Cell::Money(totals.revenue_fen),
            Cell::Number(change_orders as f64),
        ]
    };
    let group = |name: &str, lines: &[GroupLine], label: &dyn Fn(&str) -> String| Table {
        name: name.to_string(),
        headers: headers(),
        rows: lines
            .iter()
            .map(|l| row(l.rank, label(&l.key), &l.totals, l.change.orders))
            .collect(),
    };
    vec![
        Table {
            name: r.day.to_string(),
            headers: headers(),
            rows: vec![
                row(0, r.day.to_string(), &r.totals, r.change.orders),
                row(
                    0,
                    r.day.pred_opt().unwrap_or(r.day).to_string(),
                    &r.previous,
                    0,
                ),
            ],
        },
        group(t.get("kiosks.report.by_branch"), &r.by_branch, &|k| {
            k.to_string()
        }),
        group(t.get("kiosks.report.by_scenario"), &r.by_scenario, &|k| {
            scenario_key_name(k, t)
        }),
        group(t.get("kiosks.report.by_staff"), &r.by_staff, &|k| {
            k.to_string()
        }),
        Table {
            name: t.get("kiosks.report.top").to_string(),
            headers: vec![
                t.get("kiosks.report.rank"),
                t.get("kiosks.code"),
                t.get("kiosks.host"),
                t.get("kiosks.scenario"),
                t.get("kiosks.branch"),
                t.get("kiosks.staff"),
                t.get("kiosks.report.orders"),
                t.get("kiosks.report.collected"),
                t.get("kiosks.report.revenue"),
            ],
            rows: r
                .top_kiosks
                .iter()
                .map(|l| {
                    vec![
                        Cell::Number(f64::from(l.rank)),
                        Cell::Text(l.code.clone()),
                        Cell::Text(l.host_name.clone()),
                        Cell::Text(scenario_name(l.scenario, t).into()),
                        Cell::Text(l.branch.clone()),
                        Cell::Text(l.staff.clone()),
                        Cell::Number(f64::from(l.orders)),
                        Cell::Number(f64::from(l.collected)),
                        Cell::Money(l.revenue_fen),
                    ]
                })
                .collect(),
        },
    ]
}

async fn report_xlsx(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<DayQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let day = report_day(&state, &query).map_err(operator.app_err())?;
    let r = state
        .app
        .kiosk_report(&operator.principal, day)
        .await
        .map_err(operator.app_err())?;
    let bytes = board_sheets::workbook(&report_tables(&r, t)).map_err(crate::xlsx::failed(t))?;
    Ok(crate::xlsx::download(bytes, &format!("kiosks-{day}.xlsx")))
}

// Collection (揽收).

struct PickRow {
    id: i64,
    label: String,
}

#[derive(Template)]
#[template(path = "centre/collect.html")]
struct CollectHome {
    f: Frame,
    kiosks: Vec<PickRow>,
    /// Open kiosk alerts (a full bin), branch kiosk-dev.
    alerts: Vec<String>,
}

async fn collect_home(
    State(state): State<WebState>,
    operator: Operator,
) -> Result<Response, WebError> {
    let kiosks = state
        .app
        .kiosks(&operator.principal, &KioskFilter::default())
        .await
        .map_err(operator.app_err())?;
    let alerts = state
        .app
        .kiosk_alerts(&operator.principal)
        .await
        .map_err(operator.app_err())?
        .into_iter()
        .map(|alert| alert.message)
        .collect();
    Ok(render(CollectHome {
        alerts,
        f: Frame::new(&operator, "collect"),
        kiosks: kiosks
            .iter()
            .filter(|k| k.status != KioskStatus::Retired)
            .map(|k| PickRow {
                id: k.id,
                label: format!("{} · {} · {}", k.code, k.host_name, k.branch),
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
pub(super) struct StartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kiosk_id: i64,
}

async fn collect_start(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<StartForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let run = state
        .app
        .start_collection(&operator.principal, form.kiosk_id)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/centre/collect/{}", run.id)).into_response())
}

struct ScanRow {
    waybill: String,
    outcome: &'static str,
    outcome_name: &'static str,
    at: String,
}

#[derive(Template)]
#[template(path = "centre/collect_run.html")]
struct RunPage {
    f: Frame,
    id: i64,
    kiosk: String,
    closed: bool,
    bin: Vec<OrderRow>,
    scans: Vec<ScanRow>,
    n_collected: usize,
    n_extra: usize,
    n_missing: usize,
    last: Option<ScanRow>,
}

#[derive(Deserialize)]
pub(super) struct RunQuery {
    last: Option<String>,
}

async fn collect_run(
    State(state): State<WebState>,
    operator: Operator,
    Path(run_id): Path<i64>,
    Query(query): Query<RunQuery>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let view = state
        .app
        .collection_view(&operator.principal, run_id)
        .await
        .map_err(operator.app_err())?;
    let scan_row = |waybill: &str, outcome: ScanOutcome, at: String| ScanRow {
        waybill: waybill.to_string(),
        outcome: outcome.code(),
        outcome_name: t.get(&format!("collect.outcome.{}", outcome.code())),
        at,
    };
    let scans: Vec<ScanRow> = view
        .scans
        .iter()
        .rev()
        .map(|s| scan_row(&s.waybill, s.outcome, local(s.at)))
        .collect();
    let count = |o: ScanOutcome| view.scans.iter().filter(|s| s.outcome == o).count();
    // The last scan, named in the redirect, shown large for the courier.
    let last = query.last.as_deref().and_then(|waybill| {
        view.scans
            .iter()
            .rev()
            .find(|s| s.waybill == waybill)
            .map(|s| scan_row(&s.waybill, s.outcome, local(s.at)))
    });
    Ok(render(RunPage {
        f: Frame::new(&operator, "collect"),
        id: run_id,
        kiosk: format!("{} · {}", view.kiosk.code, view.kiosk.host_name),
        closed: view.run.closed_at.is_some(),
        bin: view.bin.iter().map(|o| order_row(o, t)).collect(),
        n_collected: count(ScanOutcome::Collected),
        n_extra: count(ScanOutcome::Extra),
        n_missing: count(ScanOutcome::Missing),
        scans,
        last,
    }))
}

#[derive(Deserialize)]
pub(super) struct ScanForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    waybill: String,
}

async fn collect_scan(
    State(state): State<WebState>,
    operator: Operator,
    Path(run_id): Path<i64>,
    Form(form): Form<ScanForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let result = state
        .app
        .collect_scan(&operator.principal, run_id, &form.waybill)
        .await
        .map_err(operator.app_err())?;
    let mut to = format!("/centre/collect/{run_id}?last=");
    to.extend(url_safe(&result.waybill));
    Ok(Redirect::to(&to).into_response())
}

/// A waybill for a query string: its letters, digits and `-` (all a
/// normalised waybill holds).
fn url_safe(waybill: &str) -> impl Iterator<Item = char> + '_ {
    waybill
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn collect_close(
    State(state): State<WebState>,
    operator: Operator,
    Path(run_id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    state
        .app
        .close_collection(&operator.principal, run_id)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/centre/collect/{run_id}")).into_response())
}

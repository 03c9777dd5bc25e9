//! Community pre-sale campaigns' pages (issue 14 point 4, branch presale),
//! for county staff and the administrator: `/centre/presale` (the
//! campaigns and a form to create one), a campaign's page (its report per
//! station, the home deliveries, the order file's import) and the report as
//! .xlsx. Each form calls one `App` method.

use super::{Frame, Operator};
use crate::board_sheets::{self, Cell, Table};
use crate::i18n::Tr;
use crate::{WebError, WebState, local, render};
use app::presale::{CampaignInput, CampaignRecord, PresaleImport};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::Fen;
use domain::presale::{CampaignReport, Figures};
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/centre/presale", get(list).post(create))
        .route("/centre/presale/{id}", get(campaign))
        .route("/centre/presale/{id}/import", post(import))
        .route("/centre/presale/{id}/report.xlsx", get(report_xlsx))
}

fn yuan(fen: i64) -> String {
    Fen(fen).to_string()
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

struct CampaignRow {
    id: i64,
    name: String,
    shop: String,
    starts_on: String,
    ends_on: String,
    created_by: String,
    created: String,
}

fn campaign_row(c: &CampaignRecord) -> CampaignRow {
    CampaignRow {
        id: c.id,
        name: c.name.clone(),
        shop: c.shop.clone(),
        starts_on: c.starts_on.to_string(),
        ends_on: c.ends_on.to_string(),
        created_by: c.created_by.clone(),
        created: local(c.created_at),
    }
}

#[derive(Template)]
#[template(path = "centre/presale.html")]
struct ListPage {
    f: Frame,
    campaigns: Vec<CampaignRow>,
    today: String,
}

async fn list(State(state): State<WebState>, operator: Operator) -> Result<Response, WebError> {
    let campaigns = state
        .app
        .presale_campaigns(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    Ok(render(ListPage {
        f: Frame::new(&operator, "presale"),
        campaigns: campaigns.iter().map(campaign_row).collect(),
        today: state.app.today().to_string(),
    }))
}

#[derive(Deserialize)]
pub(super) struct CampaignForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: CampaignInput,
}

async fn create(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<CampaignForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let campaign = state
        .app
        .create_presale_campaign(&operator.principal, &form.input)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/centre/presale/{}", campaign.id)).into_response())
}

struct FigureRow {
    name: String,
    orders: u32,
    stored: u32,
    waiting: u32,
    picked_up: u32,
    share: String,
    other: u32,
    home_delivery: u32,
    revenue: String,
    picked_up_revenue: String,
}

fn figure_row(name: String, f: &Figures) -> FigureRow {
    FigureRow {
        name,
        orders: f.orders,
        stored: f.stored,
        waiting: f.waiting,
        picked_up: f.picked_up,
        share: percent(f.picked_up_share()),
        other: f.other,
        home_delivery: f.home_delivery,
        revenue: yuan(f.revenue_fen),
        picked_up_revenue: yuan(f.picked_up_fen),
    }
}

struct HomeRow {
    order_no: String,
    items: String,
    amount: String,
    name: String,
    phone: String,
    address: String,
}

#[derive(Template)]
#[template(path = "centre/presale_campaign.html")]
struct CampaignPage {
    f: Frame,
    c: CampaignRow,
    totals: FigureRow,
    stations: Vec<FigureRow>,
    home: Vec<HomeRow>,
    imported: Option<PresaleImport>,
}

async fn campaign_page(
    state: &WebState,
    operator: &Operator,
    id: i64,
    imported: Option<PresaleImport>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let view = state
        .app
        .presale_campaign(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    Ok(render(CampaignPage {
        f: Frame::new(operator, "presale"),
        c: campaign_row(&view.campaign),
        totals: figure_row(t.get("presale.total").into(), &view.report.totals),
        stations: view
            .report
            .stations
            .iter()
            .map(|line| figure_row(line.station.clone(), &line.figures))
            .collect(),
        home: view
            .home
            .iter()
            .map(|o| HomeRow {
                order_no: o.order_no.clone(),
                items: o.items.clone(),
                amount: o.amount.to_string(),
                name: o.name.clone().unwrap_or_default(),
                phone: o.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
                address: o.address.clone().unwrap_or_default(),
            })
            .collect(),
        imported,
    }))
}

async fn campaign(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    campaign_page(&state, &operator, id, None).await
}

/// Most bytes of an order file.
const IMPORT_BYTES_MAX: usize = 4 * 1024 * 1024;

async fn import(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let err = operator.app_err();
    let unreadable =
        |detail: String| AppError::new(Code::PresaleImportUnreadable).with_detail(detail);
    let crate::upload::Upload { csrf, file } =
        crate::upload::Upload::read(&mut form, IMPORT_BYTES_MAX)
            .await
            .map_err(|detail| err(unreadable(detail)))?;
    operator.check(&state, &csrf)?;
    let (name, bytes) = file.ok_or_else(|| err(unreadable("choose a CSV or .xlsx file".into())))?;
    if matches!(crate::upload::extension(&name).as_str(), "xls" | "ods") {
        return Err(err(unreadable(
            "this is an .xls or .ods file; save it as .xlsx or export CSV".into(),
        )));
    }
    let grid = tokio::task::spawn_blocking(move || manifest_file::grid::any_grid(&bytes))
        .await
        .map_err(|e| err(AppError::Internal(format!("order file reader: {e}"))))?
        .map_err(|e| err(unreadable(format!("{e:#}"))))?;
    let outcome = state
        .app
        .import_presale_orders(&operator.principal, id, &grid)
        .await
        .map_err(operator.app_err())?;
    campaign_page(&state, &operator, id, Some(outcome)).await
}

/// The report's tables for the .xlsx: the totals and a row per station,
/// then the home deliveries.
pub fn report_tables(name: &str, r: &CampaignReport, t: Tr) -> Vec<Table> {
    let headers = vec![
        t.get("presale.station"),
        t.get("presale.orders"),
        t.get("presale.stored"),
        t.get("presale.waiting"),
        t.get("presale.picked_up"),
        t.get("presale.share"),
        t.get("presale.other"),
        t.get("presale.home"),
        t.get("presale.revenue"),
        t.get("presale.picked_up_revenue"),
    ];
    let row = |name: String, f: &Figures| {
        vec![
            Cell::Text(name),
            Cell::Number(f64::from(f.orders)),
            Cell::Number(f64::from(f.stored)),
            Cell::Number(f64::from(f.waiting)),
            Cell::Number(f64::from(f.picked_up)),
            Cell::Share(Some(f.picked_up_share())),
            Cell::Number(f64::from(f.other)),
            Cell::Number(f64::from(f.home_delivery)),
            Cell::Money(f.revenue_fen),
            Cell::Money(f.picked_up_fen),
        ]
    };
    let mut rows = vec![row(
        format!("{name} · {}", t.get("presale.total")),
        &r.totals,
    )];
    rows.extend(
        r.stations
            .iter()
            .map(|line| row(line.station.clone(), &line.figures)),
    );
    vec![Table {
        name: t.get("presale.report").to_string(),
        headers,
        rows,
    }]
}

async fn report_xlsx(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let view = state
        .app
        .presale_campaign(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    let bytes = board_sheets::workbook(&report_tables(&view.campaign.name, &view.report, t))
        .map_err(crate::xlsx::failed(t))?;
    Ok(crate::xlsx::download(bytes, &format!("presale-{id}.xlsx")))
}

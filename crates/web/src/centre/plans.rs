//! Collection plans on `/finance/plans` (周、旬清欠计划; branch `money2`,
//! issue 15 session 10): the plans with their progress bars, making the
//! plan of a week or ten-day period, a plan's people and the debtors behind
//! them, its targets edited while the period is open, and the plan as
//! .xlsx. Progress is the use case's (read from the ledger); each handler
//! parses, calls one `App` method and renders.

use super::finance::parse_yuan;
use super::office::{carrier_name, carriers, parse_day};
use super::{Frame, Operator};
use crate::{WebError, WebState, field, render};
use app::finance::{PlanKind, PlanView, TargetRequest};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::Carrier;
use serde::Deserialize;

/// Blank target rows the form offers besides the plan's own.
const BLANK_ROWS: usize = 4;

pub(super) fn routes() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/finance/plans", get(list).post(make))
        .route("/finance/plans/{id}", get(show))
        .route("/finance/plans/{id}/targets", post(set_targets))
        .route("/finance/plans/{id}/plan.xlsx", get(download))
}

struct PlanRow {
    id: i64,
    name: String,
    kind: &'static str,
    open: bool,
    target: String,
    done: String,
    percent: i64,
    /// For the bar: at most 100.
    bar: i64,
}

fn period_name(view: &PlanView, english: bool) -> String {
    if english {
        view.plan.period.name_en()
    } else {
        view.plan.period.name_zh()
    }
}

fn kind_key(kind: PlanKind) -> &'static str {
    match kind {
        PlanKind::Week => "plans.kind.week",
        PlanKind::Dekad => "plans.kind.dekad",
    }
}

fn plan_row(view: &PlanView, english: bool) -> PlanRow {
    PlanRow {
        id: view.plan.id,
        name: period_name(view, english),
        kind: kind_key(view.plan.period.kind),
        open: view.open,
        target: view.target.to_string(),
        done: view.done.to_string(),
        percent: view.percent,
        bar: view.percent.min(100),
    }
}

#[derive(Template)]
#[template(path = "centre/finance_plans.html")]
struct ListPage {
    f: Frame,
    plans: Vec<PlanRow>,
    today: String,
}

async fn list(State(state): State<WebState>, operator: Operator) -> Result<Response, WebError> {
    let t = operator.tr;
    let plans = state
        .app
        .collection_plans(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    Ok(render(ListPage {
        f: Frame::new(&operator, "finance"),
        plans: plans.iter().map(|p| plan_row(p, t.is_en())).collect(),
        today: state.app.today().to_string(),
    }))
}

#[derive(Deserialize)]
struct MakeForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    note: String,
}

async fn make(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<MakeForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let kind = PlanKind::parse(field(t, &form.kind)?).unwrap_or(PlanKind::Week);
    let day = parse_day(Some(field(t, &form.day)?))
        .map_err(operator.app_err())?
        .unwrap_or_else(|| state.app.today());
    let plan = state
        .app
        .make_collection_plan(&operator.principal, kind, day, field(t, &form.note)?)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/finance/plans/{}", plan.id)).into_response())
}

struct DebtorLine {
    carrier: String,
    assigned: bool,
    target: String,
    done: String,
}

struct PersonRow {
    name: String,
    username: String,
    target: String,
    done: String,
    percent: i64,
    bar: i64,
    debtors: Vec<DebtorLine>,
}

struct TargetRow {
    username: String,
    carrier: &'static str,
    target: String,
}

#[derive(Template)]
#[template(path = "centre/finance_plan.html")]
struct PlanPage {
    f: Frame,
    p: PlanRow,
    note: String,
    first: String,
    last: String,
    people: Vec<PersonRow>,
    rows: Vec<TargetRow>,
    carriers: Vec<(&'static str, String)>,
}

async fn show(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let view = state
        .app
        .collection_plan(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    let mut rows: Vec<TargetRow> = view
        .targets
        .iter()
        .map(|x| TargetRow {
            username: x.username.clone(),
            carrier: x.carrier.map_or("", |c| c.code()),
            target: x.target.to_string().trim_start_matches('¥').to_string(),
        })
        .collect();
    rows.extend((0..BLANK_ROWS).map(|_| TargetRow {
        username: String::new(),
        carrier: "",
        target: String::new(),
    }));
    Ok(render(PlanPage {
        f: Frame::new(&operator, "finance"),
        p: plan_row(&view, t.is_en()),
        note: view.plan.note.clone(),
        first: view.plan.period.first.to_string(),
        last: view.plan.period.last.to_string(),
        people: view
            .people
            .iter()
            .map(|p| PersonRow {
                name: p.name.clone(),
                username: p.username.clone(),
                target: p.target.to_string(),
                done: p.done.to_string(),
                percent: p.percent,
                bar: p.percent.min(100),
                debtors: p
                    .debtors
                    .iter()
                    .map(|d| DebtorLine {
                        carrier: carrier_name(d.carrier, t),
                        assigned: d.assigned,
                        target: d.target.map(|x| x.to_string()).unwrap_or_default(),
                        done: d.done.to_string(),
                    })
                    .collect(),
            })
            .collect(),
        rows,
        carriers: carriers(t),
    }))
}

/// The targets form: `csrf`, `note`, and rows `user_N`, `carrier_N`,
/// `target_N` (yuan); a row with no person and no amount is skipped.
async fn set_targets(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    operator.check(&state, value("csrf"))?;
    let mut targets = Vec::new();
    for i in 0..=domain::collection::TARGETS_MAX {
        let (user, carrier, amount) = (
            field(t, value(&format!("user_{i}")))?.trim(),
            field(t, value(&format!("carrier_{i}")))?.trim(),
            field(t, value(&format!("target_{i}")))?.trim(),
        );
        if user.is_empty() && amount.is_empty() {
            continue;
        }
        let row = targets.len() + 1;
        let carrier = match carrier {
            "" => None,
            code => Some(
                Carrier::parse(code)
                    .map_err(|detail| AppError::new(Code::CarrierUnknown).with_detail(detail))
                    .map_err(operator.app_err())?,
            ),
        };
        let target = parse_yuan(amount)
            .ok_or_else(|| {
                AppError::new(Code::CollectionTargetInvalid)
                    .with("row", row)
                    .with_words(
                        "reason",
                        "目标金额请以元为单位填写，如 5000 或 5000.50",
                        "write the target in yuan, such as 5000 or 5000.50",
                    )
            })
            .map_err(operator.app_err())?;
        targets.push(TargetRequest {
            username: user.to_string(),
            carrier,
            target,
        });
    }
    state
        .app
        .set_collection_targets(&operator.principal, id, field(t, value("note"))?, &targets)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/finance/plans/{id}")).into_response())
}

async fn download(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let t = operator.tr;
    let view = state
        .app
        .export_collection_plan(&operator.principal, id)
        .await
        .map_err(operator.app_err())?;
    let bytes = crate::xlsx::collection_plan(&view, t).map_err(crate::xlsx::failed(t))?;
    let name = format!(
        "plan-{}-{}.xlsx",
        view.plan.period.kind.code(),
        view.plan.period.first
    );
    Ok(crate::xlsx::download(bytes, &name))
}

// Exposure control (branch money2): `/finance/exposure` — each carrier's
// exposure, limit, rule and incident; setting a limit; releasing a hold.

struct ExposureLine {
    code: &'static str,
    carrier: String,
    exposure: String,
    over_90: String,
    limit: String,
    /// The limit as typed in the form (yuan, no sign).
    limit_input: String,
    hold: bool,
    /// `exposure.state.*`: fine, alerted, held, released.
    state: &'static str,
    holds: bool,
}

#[derive(Template)]
#[template(path = "centre/finance_exposure.html")]
struct ExposurePage {
    f: Frame,
    rows: Vec<ExposureLine>,
}

pub(super) fn routes_exposure() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/finance/exposure", get(exposure))
        .route("/finance/exposure/check", post(check_exposure))
        .route("/finance/exposure/{code}/limit", post(set_limit))
        .route("/finance/exposure/{code}/release", post(release))
        .route("/finance/receipts/{id}/unclaim", post(unclaim))
}

async fn exposure(State(state): State<WebState>, operator: Operator) -> Result<Response, WebError> {
    let t = operator.tr;
    let rows = state
        .app
        .exposure(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    Ok(render(ExposurePage {
        f: Frame::new(&operator, "finance"),
        rows: rows
            .iter()
            .map(|r| ExposureLine {
                code: r.carrier.code(),
                carrier: carrier_name(r.carrier, t),
                exposure: r.exposure.to_string(),
                over_90: r.over_90.to_string(),
                limit: r
                    .rule
                    .as_ref()
                    .and_then(|x| x.limit)
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                limit_input: r
                    .rule
                    .as_ref()
                    .and_then(|x| x.limit)
                    .map(|l| format!("{}.{:02}", l.0 / 100, l.0 % 100))
                    .unwrap_or_default(),
                hold: r.rule.as_ref().is_some_and(|x| x.hold),
                state: match &r.incident {
                    None if r.breached() => "exposure.state.breached",
                    None => "exposure.state.fine",
                    Some(i) if i.holds() => "exposure.state.held",
                    Some(i) if i.released_at_ms.is_some() => "exposure.state.released",
                    Some(_) => "exposure.state.alerted",
                },
                holds: r.incident.as_ref().is_some_and(|i| i.holds()),
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn check_exposure(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    state
        .app
        .check_exposure(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to("/finance/exposure").into_response())
}

#[derive(Deserialize)]
struct LimitForm {
    csrf: String,
    #[serde(default)]
    limit: String,
    #[serde(default)]
    hold: String,
}

async fn set_limit(
    State(state): State<WebState>,
    operator: Operator,
    Path(code): Path<String>,
    Form(form): Form<LimitForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let carrier =
        super::office::parse_carrier(Some(field(t, &code)?)).map_err(operator.app_err())?;
    let limit = match field(t, &form.limit)?.trim() {
        "" => None,
        text => Some(
            parse_yuan(text)
                .ok_or_else(|| AppError::new(Code::CreditLimitInvalid))
                .map_err(operator.app_err())?,
        ),
    };
    state
        .app
        .set_credit_limit(
            &operator.principal,
            carrier,
            &app::finance::CreditRequest {
                limit,
                hold: form.hold == "1",
            },
        )
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to("/finance/exposure").into_response())
}

async fn release(
    State(state): State<WebState>,
    operator: Operator,
    Path(code): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let carrier =
        super::office::parse_carrier(Some(field(t, &code)?)).map_err(operator.app_err())?;
    state
        .app
        .release_carrier(&operator.principal, carrier)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to("/finance/exposure").into_response())
}

// Corrections (branch money2): un-claiming a receipt claimed for the wrong
// debtor, from the debtor's page.

#[derive(Deserialize)]
struct UnclaimForm {
    csrf: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    reason: String,
}

async fn unclaim(
    State(state): State<WebState>,
    operator: Operator,
    Path(id): Path<i64>,
    Form(form): Form<UnclaimForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let claim = state
        .app
        .unclaim_receipt(&operator.principal, id, field(t, &form.reason)?)
        .await
        .map_err(operator.app_err())?;
    let back = match Carrier::parse(form.carrier.trim()) {
        Ok(carrier) => carrier,
        Err(_) => claim.carrier,
    };
    Ok(Redirect::to(&format!("/finance/debtors/{}", back.code())).into_response())
}

//! The manual queue (`/centre/manual`): the parcels the route decision
//! could not place, grouped by their address text, each group with the
//! parser's candidates; one resolution places every ticked parcel of a
//! group (bulk), each in its own transaction with its own audit row.

use super::arrival::reason_text;
use super::{Frame, Operator};
use crate::{WebError, WebState, field, local, render};
use app::county::{DivisionChoice, ManualEntry, Resolution};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Parcels sharing one address text (or none), resolved together.
struct Group {
    /// A stable index for the form's element ids.
    idx: usize,
    address: Option<String>,
    reason: &'static str,
    parcels: Vec<Row>,
    choices: Vec<DivisionChoice>,
}

struct Row {
    parcel_id: i64,
    carrier: &'static str,
    waybill: String,
    since: String,
}

/// What one resolution did, per parcel.
struct Notice {
    ok: bool,
    text: String,
}

#[derive(Template)]
#[template(path = "centre/manual.html")]
struct ManualPage {
    f: Frame,
    groups: Vec<Group>,
    notices: Vec<Notice>,
    error: Option<String>,
}

fn groups_of(t: crate::i18n::Tr, entries: Vec<ManualEntry>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for entry in entries {
        let row = Row {
            parcel_id: entry.item.parcel_id,
            carrier: entry.item.carrier.name_zh(),
            waybill: entry.waybill.as_str().to_string(),
            since: local(entry.item.created_at),
        };
        match groups.iter_mut().find(|g| g.address == entry.address) {
            Some(group) => group.parcels.push(row),
            None => groups.push(Group {
                idx: groups.len(),
                address: entry.address,
                reason: reason_text(t, &entry.item.reason),
                parcels: vec![row],
                choices: entry.choices,
            }),
        }
    }
    groups
}

async fn show(
    state: &WebState,
    operator: &Operator,
    notices: Vec<Notice>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let entries = state
        .app
        .manual_entries(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    let failed = error.is_some();
    let mut response = render(ManualPage {
        f: Frame::new(operator, "manual"),
        groups: groups_of(operator.tr, entries),
        notices,
        error,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

pub(super) async fn page(
    State(state): State<WebState>,
    operator: Operator,
) -> Result<Response, WebError> {
    show(&state, &operator, Vec::new(), None).await
}

/// The form: `csrf`, `parcel` (repeated, the ticked parcels), `division`
/// (a chosen candidate) and `code` (a typed code, which wins when given).
pub(super) async fn resolve(
    State(state): State<WebState>,
    operator: Operator,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    operator.check(&state, value("csrf"))?;
    let t = operator.tr;
    let typed = field(t, value("code"))?.trim();
    let division = if typed.is_empty() {
        field(t, value("division"))?.trim()
    } else {
        typed
    };
    let mut parcel_ids = Vec::new();
    for (_, id) in pairs.iter().filter(|(k, _)| k == "parcel") {
        match id.trim().parse::<i64>() {
            Ok(id) => parcel_ids.push(id),
            Err(_) => {
                return Err(WebError::from_app(AppError::NotFound("parcel"), t));
            }
        }
    }
    if division.is_empty() {
        let error = AppError::new(Code::DivisionInvalid).with("division", "\"\"");
        return show(&state, &operator, Vec::new(), Some(error.message(t.0))).await;
    }
    let outcomes = match state
        .app
        .resolve_manual_many(
            &operator.principal,
            &parcel_ids,
            Resolution {
                division: division.to_string(),
            },
        )
        .await
    {
        Ok(outcomes) => outcomes,
        Err(error @ (AppError::Forbidden(_) | AppError::NotFound(_))) => {
            return Err(WebError::from_app(error, t));
        }
        Err(error) => {
            return show(&state, &operator, Vec::new(), Some(error.message(t.0))).await;
        }
    };
    let notices = outcomes
        .into_iter()
        .map(|(id, outcome)| match outcome {
            Ok(outcome) => Notice {
                ok: outcome.routing.is_some(),
                text: format!(
                    "{} {} {} → YZBAG:{}",
                    t.get("centre.manual.placed"),
                    outcome.carrier.name_zh(),
                    outcome.waybill.as_str(),
                    outcome.routing.map(|r| r.bag_id).unwrap_or_default()
                ),
            },
            Err(error) => Notice {
                ok: false,
                text: format!(
                    "{} #{id}: {}",
                    t.get("centre.manual.failed"),
                    error.message(t.0)
                ),
            },
        })
        .collect();
    Ok(show(&state, &operator, notices, None)
        .await?
        .into_response())
}

pub(super) fn routes() -> axum::Router<WebState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/centre/manual", get(page))
        .route("/centre/manual/resolve", post(resolve))
}

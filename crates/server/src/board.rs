//! The county board's figures as JSON (issue 16, `docs/operations.md`):
//! `GET /api/board` (a range of Shanghai days) and `GET /api/board/daily`
//! (the daily report), for county staff's and the administrator's tokens;
//! the use cases refuse everyone else. Counts and sums only.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Caller};
use app::AppError;
use axum::Json;
use axum::extract::State;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use serde_json::Value;

type ApiResult = Result<Json<Value>, ApiError>;

fn ok(value: impl serde::Serialize) -> ApiResult {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ApiError::from(AppError::Internal(e.to_string())))
}

/// `?from=&to=`: Shanghai days, both inclusive; `to` defaults to today and
/// `from` to `to`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BoardRange {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

/// `?day=`: a Shanghai day; default yesterday.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportDay {
    day: Option<NaiveDate>,
}

pub async fn figures(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiQuery(range): ApiQuery<BoardRange>,
) -> ApiResult {
    let today = domain::shanghai_day(state.app.now());
    let to = range.to.unwrap_or(today);
    let from = range.from.unwrap_or(to);
    ok(state.app.board(&principal, from, to).await?)
}

pub async fn daily(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiQuery(query): ApiQuery<ReportDay>,
) -> ApiResult {
    let yesterday = domain::shanghai_day(state.app.now()) - Duration::days(1);
    ok(state
        .app
        .daily_report(&principal, query.day.unwrap_or(yesterday))
        .await?)
}

//! The centre's start page: today's figures, each a link into its area.

use super::{Frame, Operator};
use crate::{WebError, WebState, render};
use app::county::CentreDay;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

#[derive(Template)]
#[template(path = "centre/home.html")]
struct HomePage {
    f: Frame,
    day: CentreDay,
}

pub(super) async fn home(
    State(state): State<WebState>,
    operator: Operator,
) -> Result<Response, WebError> {
    let day = state
        .app
        .centre_day(&operator.principal)
        .await
        .map_err(operator.app_err())?;
    Ok(render(HomePage {
        f: Frame::new(&operator, "home"),
        day,
    }))
}

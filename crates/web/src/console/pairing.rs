//! Pairing the door terminal: this browser becomes the station's
//! self-service terminal.

use super::{CsrfForm, Frame};
use crate::{Keeper, SESSION_COOKIE, TERMINAL_COOKIE, WebError, WebState, cookie, removal, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

#[derive(Template)]
#[template(path = "pair.html")]
struct PairPage {
    f: Frame,
}

pub(super) async fn terminal_page(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "terminal").await?;
    Ok(render(PairPage { f }))
}

/// Turns this browser into the station's terminal: it gets the terminal's
/// token and loses the keeper's session, so a villager at the tablet can
/// never reach the console.
pub(super) async fn pair_terminal(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    let token = state
        .app
        .pair_terminal(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?;
    state.app.sign_out(&keeper.token).await.ok();
    let jar = jar.remove(removal(SESSION_COOKIE)).add(cookie(
        &state,
        TERMINAL_COOKIE,
        token,
        chrono::Duration::days(365),
    ));
    Ok((jar, Redirect::to("/terminal")).into_response())
}

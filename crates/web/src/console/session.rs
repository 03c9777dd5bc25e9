//! Signing in and out of the console, the station list a signed-in user
//! starts from, and the language choice.

use super::CsrfForm;
use crate::i18n::Tr;
use crate::{
    Keeper, LANG_COOKIE, Language, PRE_COOKIE, SESSION_COOKIE, WebError, WebState, cookie,
    csrf_matches, csrf_token, field, removal, render,
};
use app::ports::StationRecord;
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

/// Chooses the language and goes back where the user was (same site only).
pub(super) async fn set_language(
    State(state): State<WebState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let value = if code == "en" { "en" } else { "zh" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or_else(|| "/console".into());
    let jar = jar.add(cookie(
        &state,
        LANG_COOKIE,
        value.into(),
        chrono::Duration::days(365),
    ));
    (jar, Redirect::to(&back)).into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    csrf: String,
    failed: bool,
    /// Arrived here after changing the password.
    changed: bool,
    /// Why the sign-in must wait (too many wrong passwords), in the page's
    /// language.
    wait: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    #[serde(default)]
    changed: Option<u8>,
}

pub(super) async fn login_page(
    State(state): State<WebState>,
    Language(t): Language,
    Query(query): Query<LoginQuery>,
    jar: CookieJar,
) -> Response {
    let (jar, seed) = pre_session(&state, jar);
    let page = LoginPage {
        t,
        csrf: csrf_token(&state.app.secrets.web_key, &format!("pre:{seed}")),
        failed: false,
        changed: query.changed.is_some(),
        wait: None,
    };
    (jar, render(page)).into_response()
}

pub(crate) fn pre_session(state: &WebState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(seed) = jar.get(PRE_COOKIE).map(|c| c.value().to_string()) {
        return (jar, seed);
    }
    let seed = hex::encode(rand::random::<[u8; 16]>());
    let jar = jar.add(cookie(
        state,
        PRE_COOKIE,
        seed.clone(),
        chrono::Duration::days(1),
    ));
    (jar, seed)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

pub(super) async fn login(
    State(state): State<WebState>,
    Language(t): Language,
    crate::ClientAddr(source): crate::ClientAddr,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let (jar, seed) = pre_session(&state, jar);
    if !csrf_matches(
        &state.app.secrets.web_key,
        &format!("pre:{seed}"),
        &form.csrf,
    ) {
        return Err(WebError::csrf(t));
    }
    let username = field(t, &form.username)?;
    let password = field(t, &form.password)?;
    match state.app.sign_in(username, password, &source).await {
        Ok((token, principal)) if principal.role != domain::Role::StationTerminal => {
            let jar = jar.add(cookie(
                &state,
                SESSION_COOKIE,
                token,
                chrono::Duration::hours(state.app.settings.token_hours),
            ));
            Ok((jar, Redirect::to(crate::home_for(&principal))).into_response())
        }
        Ok((token, _)) => {
            state.app.sign_out(&token).await.ok();
            Err(WebError::from_app(AppError::new(Code::ConsoleForbidden), t))
        }
        Err(AppError::Unauthenticated) => {
            let page = LoginPage {
                t,
                csrf: csrf_token(&state.app.secrets.web_key, &format!("pre:{seed}")),
                failed: true,
                changed: false,
                wait: None,
            };
            let mut response = render(page);
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            Ok((jar, response).into_response())
        }
        Err(error @ AppError::Throttled { .. }) => {
            // The sign-in page again, saying until when to wait.
            let page = LoginPage {
                t,
                csrf: csrf_token(&state.app.secrets.web_key, &format!("pre:{seed}")),
                failed: false,
                changed: false,
                wait: Some(error.message(t.0)),
            };
            let mut response = render(page);
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            if let Some(seconds) = error.retry_after() {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, seconds.into());
            }
            Ok((jar, response).into_response())
        }
        Err(error) => Err(WebError::from_app(error, t)),
    }
}

pub(super) async fn logout(
    State(state): State<WebState>,
    keeper: Keeper,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    state
        .app
        .sign_out(&keeper.token)
        .await
        .map_err(keeper.app_err())?;
    let jar = jar.remove(removal(SESSION_COOKIE));
    Ok((jar, Redirect::to("/console/login")).into_response())
}

#[derive(Template)]
#[template(path = "stations.html")]
struct StationsPage {
    t: Tr,
    csrf: String,
    user: String,
    stations: Vec<StationRecord>,
}

pub(super) async fn home(
    State(state): State<WebState>,
    keeper: Keeper,
) -> Result<Response, WebError> {
    let stations = state
        .app
        .stations(&keeper.principal)
        .await
        .map_err(keeper.app_err())?;
    if let [only] = stations.as_slice() {
        return Ok(Redirect::to(&format!("/console/s/{}", only.id)).into_response());
    }
    Ok(render(StationsPage {
        t: keeper.tr,
        csrf: keeper.csrf.clone(),
        user: keeper.principal.username.clone(),
        stations,
    }))
}

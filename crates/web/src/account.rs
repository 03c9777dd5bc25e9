//! A signed-in person's own account: changing their password. Every staff
//! role has it (keepers, county staff, carriers' staff, the second and third
//! lines); a station's terminal has no password to change.

use crate::i18n::Tr;
use crate::{
    ClientAddr, SESSION_COOKIE, Session, WebError, WebState, field, home_for, removal, render,
};
use app::AppError;
use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Router, http::header};
use axum_extra::extract::CookieJar;
use domain::Role;
use serde::Deserialize;

pub(crate) fn routes() -> Router<WebState> {
    Router::new().route(
        "/account/password",
        get(password_page).post(change_password),
    )
}

/// Anyone signed in with a password of their own.
struct Account(Session);

impl FromRequestParts<WebState> for Account {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::read(parts, state).await?;
        if session.principal.role == Role::StationTerminal {
            return Err(Redirect::to("/console/login").into_response());
        }
        Ok(Account(session))
    }
}

#[derive(Template)]
#[template(path = "account_password.html")]
struct PasswordPage {
    t: Tr,
    csrf: String,
    user: String,
    home: &'static str,
    error: Option<String>,
}

async fn password_page(account: Account) -> Response {
    let Account(session) = account;
    render(PasswordPage {
        t: session.tr,
        csrf: session.csrf.clone(),
        user: session.principal.username.clone(),
        home: home_for(&session.principal),
        error: None,
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    repeat: String,
}

/// On success every session of the account ends (this one too) and the
/// person signs in again with the new password; a refusal shows the form
/// again with the reason.
async fn change_password(
    State(state): State<WebState>,
    account: Account,
    ClientAddr(source): ClientAddr,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let Account(session) = account;
    let t = session.tr;
    session.check(&state, &form.csrf)?;
    let current = field(t, &form.current)?;
    let new = field(t, &form.new)?;
    let refused = |message: String, status: StatusCode| {
        let mut response = render(PasswordPage {
            t,
            csrf: session.csrf.clone(),
            user: session.principal.username.clone(),
            home: home_for(&session.principal),
            error: Some(message),
        });
        *response.status_mut() = status;
        response
    };
    if new != form.repeat {
        return Ok(refused(
            t.get("account.mismatch").to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    match state
        .app
        .change_own_password(&session.principal, current, new, &source)
        .await
    {
        Ok(_) => {
            let jar = jar.remove(removal(SESSION_COOKIE));
            Ok((jar, Redirect::to("/console/login?changed=1")).into_response())
        }
        Err(error @ AppError::Throttled { .. }) => {
            let mut response = refused(error.message(t.0), StatusCode::TOO_MANY_REQUESTS);
            if let Some(seconds) = error.retry_after() {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, seconds.into());
            }
            Ok(response)
        }
        Err(error @ AppError::Refused { .. }) => Ok(refused(
            error.message(t.0),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(error) => Err(WebError::from_app(error, t)),
    }
}

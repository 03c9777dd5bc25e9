//! The people-facing pages: the keeper's console (server-rendered, works
//! without JavaScript; a little JavaScript makes the scanner screen faster)
//! and the self-service terminal at the station's door. Simplified Chinese
//! by default, English by choice; times in Asia/Shanghai.
//!
//! Sessions are API tokens in cookies (`HttpOnly`, `SameSite=Lax`, `Secure`
//! when served over HTTPS); every form and every terminal call carries a
//! CSRF token derived from the session with the server's key. Like the API,
//! no business rules here: each handler parses, calls one use case and
//! renders.

mod account;
mod approvals;
mod carrier;
mod centre;
mod compliance;
mod console;
pub mod i18n;
mod terminal;
mod upload;
// Plans drawn for people and spreadsheets, shared by the pages and the CLI.
pub mod plans;
pub mod xlsx;
// The board's and the daily report's tables (issue 16, branch board).
pub mod board_sheets;
// The sender's own pages at /send (issue 14, branch send-flow).
mod sender;
// branch kiosk-dev (issue 14, session 10): the kiosk's screen.
mod kiosk_screen;

use app::Code;
use app::{App, AppError};
use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use domain::{Principal, Role};
use hmac::{Hmac, Mac};
use i18n::Tr;
use sha2::Sha256;

pub const SESSION_COOKIE: &str = "yz_session";
pub const TERMINAL_COOKIE: &str = "yz_terminal";
pub const LANG_COOKIE: &str = "yz_lang";
/// A random value given to a browser before sign-in, so the login form has
/// a CSRF token too.
pub const PRE_COOKIE: &str = "yz_pre";
/// Longest form field the pages accept (a waybill, a note, a password).
const FIELD_CHARS_MAX: usize = 500;

#[derive(Clone)]
pub struct WebState {
    pub app: App,
    /// Mark cookies `Secure`. On when the server is reached over HTTPS
    /// (behind a TLS-terminating proxy); a plain-HTTP village LAN would
    /// otherwise never keep a session.
    pub secure_cookies: bool,
}

pub fn router(state: WebState) -> Router {
    console::routes()
        .merge(account::routes())
        .merge(approvals::routes())
        .merge(centre::routes())
        .merge(carrier::routes())
        .merge(compliance::routes())
        .merge(terminal::routes())
        .merge(sender::routes())
        .merge(kiosk_screen::routes())
        .with_state(state)
}

/// The language the browser chose.
pub struct Language(pub Tr);

impl<S: Send + Sync> FromRequestParts<S> for Language {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(Language(Tr(i18n::from_cookie(
            jar.get(LANG_COOKIE).map(Cookie::value),
        ))))
    }
}

/// The CSRF token for a session (or pre-session) value: a keyed hash, so it
/// needs no storage and cannot be made without the server's key.
pub fn csrf_token(key: &[u8], seed: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(b"csrf:");
    mac.update(seed.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

fn csrf_matches(key: &[u8], seed: &str, given: &str) -> bool {
    let Ok(given) = hex::decode(given.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(b"csrf:");
    mac.update(seed.as_bytes());
    given.len() == 16 && mac.verify_truncated_left(&given).is_ok()
}

/// Whoever the session cookie names: read once here, for every page that
/// needs a signed-in person; `Keeper` and `compliance::Overseer` say which
/// people each area serves.
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    pub tr: Tr,
    token: String,
}

impl Session {
    /// Turns a use case's refusal into this user's error page.
    fn app_err(&self) -> impl Fn(AppError) -> WebError + use<> {
        let tr = self.tr;
        move |error| WebError::from_app(error, tr)
    }

    /// Refuses a form whose CSRF token is not this session's.
    fn check(&self, state: &WebState, given: &str) -> Result<(), WebError> {
        if csrf_matches(&state.app.secrets.web_key, &self.token, given) {
            Ok(())
        } else {
            Err(WebError::csrf(self.tr))
        }
    }

    /// The signed-in person, or the sign-in page.
    async fn read(parts: &Parts, state: &WebState) -> Result<Session, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let tr = Tr(i18n::from_cookie(jar.get(LANG_COOKIE).map(Cookie::value)));
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(to_login());
        };
        let principal = match state.app.authenticate(&token).await {
            Ok(principal) => principal,
            Err(AppError::Unauthenticated) => return Err(to_login()),
            Err(error) => return Err(WebError::from_app(error, tr).into_response()),
        };
        Ok(Session {
            csrf: csrf_token(&state.app.secrets.web_key, &token),
            principal,
            tr,
            token,
        })
    }
}

/// Where a signed-in person starts: the one place that says which
/// workplace serves which role (sign-in leads there, and a page meant for
/// another role sends them back there).
pub(crate) fn home_for(principal: &Principal) -> &'static str {
    match principal.role {
        // The second and third lines work from the compliance page.
        Role::ComplianceOfficer | Role::Auditor => "/compliance",
        Role::CountyOperator => "/centre",
        // A carrier's staff work from the carrier portal.
        Role::CarrierIntegrator => "/carrier",
        Role::StationTerminal | Role::Admin | Role::StationKeeper => "/console",
    }
}

fn to_login() -> Response {
    Redirect::to("/console/login").into_response()
}

/// A signed-in console user (keeper, county operator, admin).
pub struct Keeper(Session);

impl std::ops::Deref for Keeper {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl FromRequestParts<WebState> for Keeper {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::read(parts, state).await?;
        if session.principal.role == Role::StationTerminal {
            return Err(to_login());
        }
        // A carrier's staff have their own portal.
        if session.principal.role == Role::CarrierIntegrator {
            return Err(Redirect::to(home_for(&session.principal)).into_response());
        }
        // The compliance officer and the auditor act on no station: their
        // page is the compliance page.
        if session.principal.is_oversight() {
            return Err(Redirect::to(home_for(&session.principal)).into_response());
        }
        Ok(Keeper(session))
    }
}

/// The address a request came from, as text for the throttles ("unknown"
/// when the server was started without connect info, as in-process tests
/// are). `yizhan serve` starts with it.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(
                    || "unknown".to_string(),
                    |axum::extract::ConnectInfo(address)| address.ip().to_string(),
                ),
        ))
    }
}

/// The paired self-service terminal of one station.
pub struct TerminalDevice {
    pub principal: Principal,
    pub station_id: i64,
    pub csrf: String,
    pub tr: Tr,
    token: String,
}

impl TerminalDevice {
    fn check(&self, state: &WebState, headers: &HeaderMap) -> Result<(), WebError> {
        let given = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if csrf_matches(&state.app.secrets.web_key, &self.token, given) {
            Ok(())
        } else {
            Err(WebError::csrf(self.tr).json())
        }
    }
}

impl OptionalFromRequestParts<WebState> for TerminalDevice {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Option<Self>, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let tr = Tr(i18n::from_cookie(jar.get(LANG_COOKIE).map(Cookie::value)));
        let Some(token) = jar.get(TERMINAL_COOKIE).map(|c| c.value().to_string()) else {
            return Ok(None);
        };
        let principal = match state.app.authenticate(&token).await {
            Ok(principal) => principal,
            Err(AppError::Unauthenticated) => return Ok(None),
            Err(error) => return Err(WebError::from_app(error, tr).json().into_response()),
        };
        let (Role::StationTerminal, [station_id]) =
            (principal.role, principal.station_ids.as_slice())
        else {
            return Ok(None);
        };
        Ok(Some(TerminalDevice {
            station_id: *station_id,
            csrf: csrf_token(&state.app.secrets.web_key, &token),
            principal,
            tr,
            token,
        }))
    }
}

/// A cookie the way every cookie of ours is set.
fn cookie(
    state: &WebState,
    name: &'static str,
    value: String,
    max_age: chrono::Duration,
) -> Cookie<'static> {
    let mut cookie = Cookie::new(name, value);
    cookie.set_path("/");
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_secure(state.secure_cookies);
    cookie.set_max_age(time::Duration::seconds(max_age.num_seconds()));
    cookie
}

fn removal(name: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::from(name);
    cookie.set_path("/");
    cookie
}

/// Renders a page, or a plain error if the template itself fails.
fn render(page: impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "page failed to render").into_response()
        }
    }
}

/// Checks a form field's length before it goes anywhere.
fn field(tr: Tr, value: &str) -> Result<&str, WebError> {
    if value.chars().count() > FIELD_CHARS_MAX {
        return Err(WebError::from_app(
            AppError::new(Code::FieldTooLong).with("max", FIELD_CHARS_MAX),
            tr,
        ));
    }
    Ok(value)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    message: String,
}

/// An error as a page (forms) or as the API's JSON shape (terminal calls),
/// its message in the page's language from the code's template.
pub struct WebError {
    error: AppError,
    tr: Tr,
    json: bool,
}

impl WebError {
    fn csrf(tr: Tr) -> WebError {
        WebError::from_app(AppError::new(Code::CsrfInvalid), tr)
    }

    fn from_app(error: AppError, tr: Tr) -> WebError {
        WebError {
            error,
            tr,
            json: false,
        }
    }

    fn json(mut self) -> WebError {
        self.json = true;
        self
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self.error {
            tracing::error!(detail = %detail, "internal error");
        }
        let code = self.error.code();
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = self.error.message(self.tr.0);
        let retry_after = self.error.retry_after();
        let mut response = self.render(status, code, message);
        // Every 429 says when to come back, pages and the terminal's JSON
        // alike.
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl WebError {
    fn render(self, status: StatusCode, code: Code, message: String) -> Response {
        if self.json {
            let body = serde_json::json!({"error": {
                "code": code.name(),
                "type": code.kind().name(),
                "message": message,
            }});
            return (status, axum::Json(body)).into_response();
        }
        let mut response = render(ErrorPage {
            t: self.tr,
            message,
        });
        *response.status_mut() = status;
        response
    }
}

/// Whether the caller (the console's script) wants JSON back.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// Asia/Shanghai wall-clock time for pages.
fn local(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&domain::shanghai())
        .format("%m-%d %H:%M")
        .to_string()
}

/// Static assets, compiled in: no CDN, nothing to install.
const CONSOLE_CSS: &str = include_str!("../static/console.css");
const CONSOLE_JS: &str = include_str!("../static/console.js");
const TERMINAL_JS: &str = include_str!("../static/terminal.js");
/// The station console's own styles and our favicon (branch `station`).
const STATION_CSS: &str = include_str!("../static/station.css");
const FAVICON_SVG: &str = include_str!("../static/favicon.svg");
/// The sender's pages' script: the demo's simulated-payment button.
const SEND_JS: &str = include_str!("../static/send.js");

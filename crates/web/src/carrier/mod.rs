//! The carrier portal (`/carrier`, issue 13): what a carrier's staff do
//! from a browser — their parcels by state, manifest upload with the
//! refused rows by line, reconciliation and fees, webhook subscriptions
//! with the delivery log, secret rotation and a test event, and the API
//! tokens of their own system. Same stack as the keeper's console:
//! server-rendered, Chinese first, works without JavaScript.
//!
//! This module holds the route table, the `CarrierStaff` extractor and the
//! frame every portal page shares; each area is a submodule. A carrier's
//! parcels are shown through `app::parcels::CarrierParcel`, the same view
//! the API gives carriers: no pickup code, slot, phone, name or staff.

mod manifest;
mod parcels;
mod reports;
mod tokens;
mod webhooks;
// Branch money (issue 15): the carrier's statements.
mod statements;

use crate::i18n::Tr;
use crate::{SESSION_COOKIE, Session, WebError, WebState, removal};
use app::{AppError, Code};
use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use chrono::NaiveDate;
use domain::{Carrier, Role};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/carrier", get(parcels::parcels))
        .route(
            "/carrier/manifest",
            get(manifest::upload_page).post(manifest::upload).layer(
                axum::extract::DefaultBodyLimit::max(manifest::UPLOAD_BYTES_MAX),
            ),
        )
        .route("/carrier/manifest/refused.csv", post(manifest::refused_csv))
        .route("/carrier/reports", get(reports::reports))
        .route("/carrier/reports/fees.csv", get(reports::fees_csv))
        .route(
            "/carrier/reports/reconciliation.csv",
            get(reports::reconciliation_csv),
        )
        .route(
            "/carrier/webhooks",
            get(webhooks::webhooks).post(webhooks::create),
        )
        .route("/carrier/webhooks/{id}", get(webhooks::log))
        .route("/carrier/webhooks/{id}/active", post(webhooks::set_active))
        .route("/carrier/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/carrier/webhooks/{id}/test", post(webhooks::test_event))
        .route("/carrier/tokens", get(tokens::tokens).post(tokens::create))
        .route("/carrier/tokens/{id}/revoke", post(tokens::revoke))
        .route("/carrier/logout", post(logout))
        .route("/carrier/statements", get(statements::statements))
        .route("/carrier/statements/{id}", get(statements::statement))
        .route("/carrier/statements/{id}/answer", post(statements::answer))
}

/// A signed-in carrier's user, with its carrier. Anyone else is sent to
/// their own home page (`crate::home_for`); a carrier user without a
/// carrier (a broken account) is refused.
pub struct CarrierStaff {
    session: Session,
    pub carrier: Carrier,
}

impl std::ops::Deref for CarrierStaff {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

impl FromRequestParts<WebState> for CarrierStaff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::read(parts, state).await?;
        match (session.principal.role, session.principal.carrier) {
            (Role::CarrierIntegrator, Some(carrier)) => Ok(CarrierStaff { session, carrier }),
            (Role::CarrierIntegrator, None) => {
                Err(WebError::from_app(AppError::Forbidden("carrier"), session.tr).into_response())
            }
            _ => Err(Redirect::to(crate::home_for(&session.principal)).into_response()),
        }
    }
}

/// What every portal page shows around its content
/// (`templates/carrier/base.html`).
struct Frame {
    t: Tr,
    csrf: String,
    user: String,
    /// The carrier's name in the page's language.
    carrier: &'static str,
    /// Which tab is open.
    tab: &'static str,
}

impl Frame {
    fn new(staff: &CarrierStaff, tab: &'static str) -> Frame {
        Frame {
            t: staff.tr,
            csrf: staff.csrf.clone(),
            user: staff.principal.username.clone(),
            carrier: carrier_name(staff.tr, staff.carrier),
            tab,
        }
    }
}

/// A carrier's name as the page's language says it.
fn carrier_name(t: Tr, carrier: Carrier) -> &'static str {
    if t.is_en() {
        carrier.code()
    } else {
        carrier.name_zh()
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Signing out of the portal: ends the session's token.
async fn logout(
    State(state): State<WebState>,
    staff: CarrierStaff,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    staff.check(&state, &form.csrf)?;
    state
        .app
        .sign_out(&staff.token)
        .await
        .map_err(staff.app_err())?;
    let jar = jar.remove(removal(SESSION_COOKIE));
    Ok((jar, Redirect::to("/console/login")).into_response())
}

/// A day typed into a form (`2026-12-07`); empty is absent.
fn day(t: Tr, name: &str, value: Option<&str>) -> Result<Option<NaiveDate>, WebError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                WebError::from_app(
                    AppError::new(Code::DayInvalid).with("day", format!("{name}: {text}")),
                    t,
                )
            }),
    }
}

/// A day range from a form, defaulting to the last seven Shanghai days.
fn day_range(
    staff: &CarrierStaff,
    state: &WebState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(NaiveDate, NaiveDate), WebError> {
    let today = state
        .app
        .now()
        .with_timezone(&domain::shanghai())
        .date_naive();
    let to = day(staff.tr, "to", to)?.unwrap_or(today);
    let from = day(staff.tr, "from", from)?.unwrap_or(to - chrono::Duration::days(6));
    Ok((from, to))
}

/// A download: CSV with a UTF-8 byte-order mark (so Excel reads the
/// Chinese right), as an attachment that no cache keeps.
fn csv_download(name: &str, body: String) -> Response {
    let mut response = format!("\u{feff}{body}").into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// One CSV field, quoted when it must be; a leading `=`, `+`, `-` or `@`
/// is prefixed with `'` so a spreadsheet does not run it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_line(fields: &[&str]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// A CSV line of the carrier's own manifest values, kept as they were sent
/// (only quoted), so the fixed file reads back the same.
fn csv_line_as_sent(fields: &[&str]) -> String {
    let mut line = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Asia/Shanghai date and time with the year, for logs and downloads.
fn full_local(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&domain::shanghai())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A page that must not be kept by any cache (secrets shown once, a
/// manifest's refused rows).
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

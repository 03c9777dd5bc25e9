//! API tokens for the carrier's own system: create (the token shown once),
//! list (name, created, last used, expiry) and revoke. A token belongs to
//! the carrier user who made it and so acts for that carrier only; the use
//! cases audit creation and revocation and refuse another carrier's ids.

use super::{CarrierStaff, Frame, full_local, no_store};
use crate::{WebError, WebState, field, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

struct TokenRow {
    id: i64,
    name: String,
    owner: String,
    created: String,
    last_used: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "carrier/tokens.html")]
struct TokensPage {
    f: Frame,
    tokens: Vec<TokenRow>,
    /// A token just created: shown this once.
    created: Option<String>,
    notice: Option<&'static str>,
}

async fn page(
    state: &WebState,
    staff: &CarrierStaff,
    created: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let tokens = state
        .app
        .carrier_tokens(&staff.principal, staff.carrier)
        .await
        .map_err(staff.app_err())?;
    let never = staff.tr.get("carrier.tokens.never");
    Ok(no_store(render(TokensPage {
        f: Frame::new(staff, "tokens"),
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id,
                name: t.name,
                owner: t.username,
                created: full_local(t.created_at),
                last_used: t.last_used_at.map_or_else(|| never.to_string(), full_local),
                expires: full_local(t.expires_at),
            })
            .collect(),
        created,
        notice,
    })))
}

#[derive(Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

pub(super) async fn tokens(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Query(query): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let notice = match query.done.as_deref() {
        Some("revoked") => Some(staff.tr.get("carrier.tokens.revoked")),
        _ => None,
    };
    page(&state, &staff, None, notice).await
}

#[derive(Deserialize)]
pub(super) struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

pub(super) async fn create(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Form(form): Form<CreateForm>,
) -> Result<Response, WebError> {
    staff.check(&state, &form.csrf)?;
    let name = field(staff.tr, &form.name)?;
    let token = state
        .app
        .create_carrier_token(&staff.principal, staff.carrier, name)
        .await
        .map_err(staff.app_err())?;
    page(&state, &staff, Some(token), None).await
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn revoke(
    State(state): State<WebState>,
    staff: CarrierStaff,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    staff.check(&state, &form.csrf)?;
    state
        .app
        .revoke_carrier_token(&staff.principal, id)
        .await
        .map_err(staff.app_err())?;
    Ok(Redirect::to("/carrier/tokens?done=revoked").into_response())
}

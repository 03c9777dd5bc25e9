//! The approvals page (`/approvals`, issue 12 point 5): maker–checker in a
//! browser. Checkers (county staff, the administrator) see others' pending
//! requests with approve and refuse; everyone sees their own requests and
//! what became of them. A refused attempt elsewhere names its request, so
//! the maker knows whom to ask; after approval they simply try again.

use crate::i18n::Tr;
use crate::{Session, WebError, WebState, home_for, local, render};
use app::approvals::ApprovalView;
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use domain::Role;
use domain::approval::{Kind, State as ApprovalState};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/approvals", get(page))
        .route("/approvals/{approval_id}/decide", post(decide))
}

/// A signed-in person (not a door terminal).
pub struct Person(Session);

impl std::ops::Deref for Person {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl FromRequestParts<WebState> for Person {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::read(parts, state).await?;
        if session.principal.role == Role::StationTerminal {
            return Err(Redirect::to(home_for(&session.principal)).into_response());
        }
        Ok(Person(session))
    }
}

struct Row {
    id: i64,
    kind: &'static str,
    scope: String,
    requester: String,
    requested_at: String,
    state: &'static str,
    decider: String,
    note: String,
}

fn row(t: Tr, view: ApprovalView) -> Row {
    let r = view.record;
    Row {
        id: r.id,
        kind: t.get(match r.kind {
            Kind::BulkExport => "approvals.kind.bulk_export",
            Kind::PhoneReveal => "approvals.kind.phone_reveal",
            Kind::WriteOff => "approvals.kind.write_off",
        }),
        scope: scope_words(t, &r.scope),
        requester: r.requester,
        requested_at: local(r.requested_at),
        state: t.get(match view.state {
            ApprovalState::Pending => "approvals.state.pending",
            ApprovalState::Approved => "approvals.state.approved",
            ApprovalState::Refused => "approvals.state.refused",
            ApprovalState::Used => "approvals.state.used",
            ApprovalState::Expired => "approvals.state.expired",
        }),
        decider: r.decider.unwrap_or_default(),
        note: r.note.unwrap_or_default(),
    }
}

/// The canonical scope (`export:fee_ledger:zto:2026-01-01:2026-03-31`,
/// `phone:parcel:42`) in the page's words.
fn scope_words(t: Tr, scope: &str) -> String {
    let parts: Vec<&str> = scope.split(':').collect();
    match parts.as_slice() {
        ["export", what, carrier, from, to] => {
            let what = match *what {
                "reconciliation" => t.get("approvals.export.reconciliation"),
                "fee_ledger" => t.get("approvals.export.fee_ledger"),
                other => other,
            };
            let carrier = domain::Carrier::parse(carrier)
                .map(|c| c.name_zh().to_string())
                .unwrap_or_else(|_| carrier.to_uppercase());
            format!("{what} · {carrier} · {from} – {to}")
        }
        ["phone", "parcel", id] => format!("{} #{id}", t.get("approvals.parcel")),
        _ => scope.to_string(),
    }
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct Page {
    t: Tr,
    csrf: String,
    user: String,
    home: &'static str,
    checker: bool,
    to_decide: Vec<Row>,
    mine: Vec<Row>,
}

async fn page(State(state): State<WebState>, who: Person) -> Result<Response, WebError> {
    let (to_decide, mine) = state
        .app
        .approvals(&who.principal)
        .await
        .map_err(who.app_err())?;
    let t = who.tr;
    Ok(render(Page {
        t,
        csrf: who.csrf.clone(),
        user: who.principal.username.clone(),
        home: home_for(&who.principal),
        checker: domain::approval::is_checker(&who.principal),
        to_decide: to_decide.into_iter().map(|v| row(t, v)).collect(),
        mine: mine.into_iter().map(|v| row(t, v)).collect(),
    }))
}

#[derive(Deserialize)]
struct DecideForm {
    csrf: String,
    /// "approve" or "refuse".
    decision: String,
    #[serde(default)]
    note: String,
}

async fn decide(
    State(state): State<WebState>,
    who: Person,
    Path(approval_id): Path<i64>,
    Form(form): Form<DecideForm>,
) -> Result<Response, WebError> {
    who.check(&state, &form.csrf)?;
    let approve = form.decision == "approve";
    state
        .app
        .decide_approval(&who.principal, approval_id, approve, Some(&form.note))
        .await
        .map_err(who.app_err())?;
    Ok(Redirect::to("/approvals").into_response())
}

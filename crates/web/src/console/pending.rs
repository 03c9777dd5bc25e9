//! Parcels on the shelf without a pickup code (待处理): those with no
//! recipient's phone (待补联系方式: the keeper adds it, and only then is the
//! recipient asked or told) and those waiting for the recipient's consent
//! (the keeper records what they said, how and when).

use super::problems::LIST_PAGE;
use super::{Frame, ParcelRow, row};
use crate::{Keeper, WebError, WebState, field, render};
use app::parcels::{ConsentAnswer, ConsentChannel};
use app::ports::ParcelFilter;
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDateTime, TimeZone};
use domain::{ParcelState, Phone};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "station/pending.html")]
struct PendingPage {
    f: Frame,
    needs_contact: Vec<ParcelRow>,
    awaiting: Vec<ParcelRow>,
    next: Option<i64>,
    /// Now in Asia/Shanghai, as a `datetime-local` input wants it.
    now: String,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub(super) struct PendingQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    done: Option<String>,
}

pub(super) async fn pending(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
    Query(query): Query<PendingQuery>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "pending").await?;
    let page = state
        .app
        .station_parcels(
            &keeper.principal,
            station_id,
            ParcelFilter {
                state: Some(ParcelState::AwaitingConsent),
                after_id: query.after,
                limit: LIST_PAGE,
                ..Default::default()
            },
        )
        .await
        .map_err(keeper.app_err())?;
    let (needs_contact, awaiting): (Vec<ParcelRow>, Vec<ParcelRow>) = page
        .parcels
        .into_iter()
        .map(|v| row(v, keeper.tr))
        .partition(|r| r.phone.is_empty());
    let notice = query.done.as_deref().map(|done| {
        keeper.tr.get(match done {
            "contact" => "station.contact_done",
            "agreed" => "station.agreed_done",
            "refused" => "station.refused_done",
            _ => "done.ok",
        })
    });
    Ok(render(PendingPage {
        f,
        needs_contact,
        awaiting,
        next: page.next_after_id,
        now: state
            .app
            .now()
            .with_timezone(&domain::shanghai())
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
        notice,
    }))
}

#[derive(Deserialize)]
pub(super) struct ContactForm {
    csrf: String,
    phone: String,
}

pub(super) async fn add_contact(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<ContactForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    let phone = Phone::parse(field(keeper.tr, &form.phone)?.trim()).map_err(|e| {
        WebError::from_app(AppError::new(Code::PhoneInvalid).with_detail(e), keeper.tr)
    })?;
    state
        .app
        .parcel_at_station(&keeper.principal, station_id, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    state
        .app
        .add_contact(&keeper.principal, parcel_id, phone)
        .await
        .map_err(keeper.app_err())?;
    Ok(Redirect::to(&format!("/console/s/{station_id}/pending?done=contact")).into_response())
}

#[derive(Deserialize)]
pub(super) struct ConsentForm {
    csrf: String,
    answer: String,
    how: String,
    /// `datetime-local`, Asia/Shanghai.
    at: String,
}

pub(super) async fn record_consent(
    State(state): State<WebState>,
    keeper: Keeper,
    Path((station_id, parcel_id)): Path<(i64, i64)>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, WebError> {
    keeper.check(&state, &form.csrf)?;
    let t = keeper.tr;
    let choice = |zh: &'static str, en: &'static str| {
        WebError::from_app(
            AppError::new(Code::ChoiceMissing).with_words("what", zh, en),
            t,
        )
    };
    let agreed = match form.answer.as_str() {
        "agreed" => true,
        "refused" => false,
        _ => return Err(choice("收件人的答复", "what the recipient said")),
    };
    let how = ConsentChannel::parse(&form.how)
        .ok_or_else(|| choice("收件人答复的方式", "how the recipient answered"))?;
    let at = NaiveDateTime::parse_from_str(field(t, &form.at)?.trim(), "%Y-%m-%dT%H:%M")
        .ok()
        .and_then(|local| domain::shanghai().from_local_datetime(&local).single())
        .ok_or_else(|| choice("收件人答复的时间", "when the recipient answered"))?
        .with_timezone(&chrono::Utc);
    state
        .app
        .parcel_at_station(&keeper.principal, station_id, parcel_id)
        .await
        .map_err(keeper.app_err())?;
    state
        .app
        .record_consent(
            &keeper.principal,
            parcel_id,
            ConsentAnswer { agreed, how, at },
        )
        .await
        .map_err(keeper.app_err())?;
    let done = if agreed { "agreed" } else { "refused" };
    Ok(Redirect::to(&format!("/console/s/{station_id}/pending?done={done}")).into_response())
}

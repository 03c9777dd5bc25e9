//! Arrival scanning at the centre's belt (`/centre/arrival`): a
//! keyboard-wedge scanner types the waybill and Enter; the route decision
//! shows large with a tone per outcome, and the open bags fill on the same
//! page. The script posts with `Accept: application/json` and gets the
//! outcome and the open bags back; without it the form posts and the page
//! shows the same.

use super::{Frame, Operator};
use crate::i18n::Tr;
use crate::{WebError, WebState, field, render, wants_json};
use app::county::{ArrivalOutcome, ArrivalScan, BagContents, BagStatus};
use app::ports::ParcelFilter;
use app::{AppError, Code};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use domain::{Carrier, ParcelState, WaybillNo};
use serde::{Deserialize, Serialize};

/// How many announced, not yet arrived parcels the page lists.
const EXPECTED_SHOWN: u32 = 20;

/// One scan's outcome as the page and the script show it.
#[derive(Serialize)]
pub(super) struct ScanView {
    /// `routed`, `manual`, `duplicate` or `error` (the tone and colour).
    status: &'static str,
    title: &'static str,
    waybill: String,
    carrier: String,
    /// Not announced by the carrier before it arrived.
    unannounced: bool,
    mode: Option<&'static str>,
    route: Option<String>,
    contractor: Option<String>,
    station: Option<String>,
    bag: Option<String>,
    /// Why it went to the manual queue, or why the scan was refused.
    reason: Option<String>,
    /// A repeated scan: the parcel's state now.
    state: Option<&'static str>,
}

/// An open bag filling at the belt.
#[derive(Serialize)]
pub(super) struct BagLine {
    id: i64,
    label: String,
    destination: String,
    mode: &'static str,
    n: u32,
    per_carrier: String,
}

impl BagLine {
    pub(super) fn of(t: Tr, contents: &BagContents) -> BagLine {
        BagLine {
            id: contents.bag.id,
            label: contents.bag.label_payload(),
            destination: contents.destination.clone(),
            mode: mode_name(t, contents.bag.mode),
            n: contents.n_parcels,
            per_carrier: contents
                .per_carrier
                .iter()
                .map(|(carrier, n)| format!("{} {n}", carrier.name_zh()))
                .collect::<Vec<_>>()
                .join("，"),
        }
    }
}

pub(super) fn mode_name(t: Tr, mode: domain::county::Mode) -> &'static str {
    t.get(&format!("centre.mode.{}", mode.code()))
}

pub(super) fn reason_text(t: Tr, code: &str) -> &'static str {
    t.get(&format!("centre.reason.{code}"))
}

#[derive(Serialize)]
struct ScanAnswer {
    result: ScanView,
    bags: Vec<BagLine>,
}

struct CarrierOption {
    code: &'static str,
    name: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "centre/arrival.html")]
struct ArrivalPage {
    f: Frame,
    carriers: Vec<CarrierOption>,
    result: Option<ScanView>,
    bags: Vec<BagLine>,
    expected: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct CarrierQuery {
    carrier: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ArrivalForm {
    csrf: String,
    carrier: String,
    waybill: String,
    #[serde(default)]
    weight: String,
    #[serde(default)]
    address: String,
}

fn carrier_options(selected: Carrier) -> Vec<CarrierOption> {
    Carrier::ALL
        .iter()
        .map(|c| CarrierOption {
            code: c.code(),
            name: c.name_zh(),
            selected: *c == selected,
        })
        .collect()
}

pub(super) async fn page(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<CarrierQuery>,
) -> Result<Response, WebError> {
    let carrier = query
        .carrier
        .as_deref()
        .and_then(|c| Carrier::parse(c).ok())
        .unwrap_or(Carrier::Zto);
    render_page(&state, &operator, carrier, None).await
}

async fn render_page(
    state: &WebState,
    operator: &Operator,
    carrier: Carrier,
    result: Option<ScanView>,
) -> Result<Response, WebError> {
    let bags = open_bags(state, operator).await?;
    let expected = state
        .app
        .search(
            &operator.principal,
            ParcelFilter {
                carrier: Some(carrier),
                state: Some(ParcelState::Announced),
                limit: EXPECTED_SHOWN,
                ..ParcelFilter::default()
            },
        )
        .await
        .map_err(operator.app_err())?
        .parcels
        .into_iter()
        .map(|view| view.parcel.waybill.as_str().to_string())
        .collect();
    Ok(render(ArrivalPage {
        f: Frame::new(operator, "arrival"),
        carriers: carrier_options(carrier),
        result,
        bags,
        expected,
    }))
}

async fn open_bags(state: &WebState, operator: &Operator) -> Result<Vec<BagLine>, WebError> {
    let today = state.app.today();
    Ok(state
        .app
        .bags_with_contents(&operator.principal, today)
        .await
        .map_err(operator.app_err())?
        .iter()
        .filter(|contents| contents.bag.status == BagStatus::Open)
        .map(|contents| BagLine::of(operator.tr, contents))
        .collect())
}

pub(super) async fn scan(
    State(state): State<WebState>,
    operator: Operator,
    headers: HeaderMap,
    Form(form): Form<ArrivalForm>,
) -> Result<Response, WebError> {
    let json = wants_json(&headers);
    if let Err(error) = operator.check(&state, &form.csrf) {
        return Err(if json { error.json() } else { error });
    }
    let t = operator.tr;
    let waybill_text = field(t, &form.waybill)?.trim().to_string();
    field(t, &form.address)?;
    let carrier = Carrier::parse(&form.carrier).unwrap_or(Carrier::Zto);
    let result = match parse_scan(&form) {
        Err(error) => error_view(t, waybill_text, &form.carrier, &error),
        Ok(scan) => match state.app.centre_arrival(&operator.principal, scan).await {
            Ok(outcome) => view_of(&state, &operator, outcome).await?,
            Err(error @ AppError::Forbidden(_)) => {
                return Err(WebError::from_app(error, t));
            }
            Err(error) => error_view(t, waybill_text, &form.carrier, &error),
        },
    };
    if json {
        let bags = open_bags(&state, &operator).await?;
        return Ok(Json(ScanAnswer { result, bags }).into_response());
    }
    render_page(&state, &operator, carrier, Some(result)).await
}

fn parse_scan(form: &ArrivalForm) -> Result<ArrivalScan, AppError> {
    let carrier = Carrier::parse(&form.carrier).map_err(AppError::detail(Code::CarrierUnknown))?;
    let waybill = WaybillNo::parse(&form.waybill)
        .map_err(|e| AppError::new(Code::WaybillInvalid).with_detail(e))?;
    let weight_grams = match form.weight.trim() {
        "" => None,
        text => Some(text.parse::<u32>().map_err(|_| {
            AppError::new(Code::WeightInvalid)
                .with("grams", format!("{text:?}"))
                .with("max", domain::limits::WEIGHT_GRAMS_MAX)
        })?),
    };
    let address = match form.address.trim() {
        "" => None,
        text => Some(text.to_string()),
    };
    Ok(ArrivalScan {
        carrier,
        waybill,
        weight_grams,
        address,
        recipient_name: None,
        phone: None,
    })
}

fn error_view(t: Tr, waybill: String, carrier: &str, error: &AppError) -> ScanView {
    ScanView {
        status: "error",
        title: t.get("centre.scan.error"),
        waybill,
        carrier: Carrier::parse(carrier)
            .map(|c| c.name_zh().to_string())
            .unwrap_or_default(),
        unannounced: false,
        mode: None,
        route: None,
        contractor: None,
        station: None,
        bag: None,
        reason: Some(error.message(t.0)),
        state: None,
    }
}

async fn view_of(
    state: &WebState,
    operator: &Operator,
    outcome: ArrivalOutcome,
) -> Result<ScanView, WebError> {
    let t = operator.tr;
    let status = if outcome.duplicate {
        "duplicate"
    } else if outcome.routing.is_some() {
        "routed"
    } else {
        "manual"
    };
    let mut view = ScanView {
        status,
        title: t.get(match status {
            "duplicate" => "centre.scan.duplicate",
            "routed" => "centre.scan.routed",
            _ => "centre.scan.manual",
        }),
        waybill: outcome.waybill.as_str().to_string(),
        carrier: outcome.carrier.name_zh().to_string(),
        unannounced: !outcome.announced,
        mode: None,
        route: None,
        contractor: None,
        station: None,
        bag: None,
        reason: outcome
            .manual
            .as_ref()
            .map(|m| reason_text(t, m.reason.code()).to_string()),
        state: outcome.duplicate.then(|| {
            if t.is_en() {
                outcome.state.code()
            } else {
                outcome.state.name_zh()
            }
        }),
    };
    if let Some(routing) = &outcome.routing {
        let names = state
            .app
            .target_names(&operator.principal, routing.target)
            .await
            .map_err(operator.app_err())?;
        view.mode = Some(mode_name(t, routing.mode));
        view.route = names.route;
        view.contractor = names.contractor;
        view.station = names.station;
        view.bag = Some(format!("YZBAG:{}", routing.bag_id));
    }
    Ok(view)
}

pub(super) fn routes() -> axum::Router<WebState> {
    use axum::routing::get;
    axum::Router::new().route("/centre/arrival", get(page).post(scan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::county::BagStatus;
    use domain::county::{Mode, Unresolved};

    /// The keys these pages build at run time exist in both languages (the
    /// template walk sees only literal keys).
    #[test]
    fn every_mode_reason_and_bag_status_is_worded_in_both_languages() {
        for t in [Tr(app::Lang::Zh), Tr(app::Lang::En)] {
            for mode in [Mode::Joint, Mode::Contractor, Mode::Station] {
                assert_ne!(mode_name(t, mode), "?", "{mode:?}");
            }
            for reason in [
                Unresolved::NoAddress,
                Unresolved::Ambiguous,
                Unresolved::NoTownship,
                Unresolved::NoAgreement,
                Unresolved::TownshipNotHandedOver,
                Unresolved::NoRoute,
                Unresolved::NoContractor,
                Unresolved::NoStation,
            ] {
                assert_ne!(reason_text(t, reason.code()), "?", "{reason:?}");
            }
            for status in [
                BagStatus::Open,
                BagStatus::Closed,
                BagStatus::Dispatched,
                BagStatus::Accepted,
            ] {
                let key = format!("centre.bags.status.{}", status.code());
                assert_ne!(t.get(&key), "?", "{key}");
            }
        }
    }
}

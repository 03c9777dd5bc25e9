//! County co-delivery handlers: agreements, fees, reconciliation, the
//! centre's arrival scans and manual queue, bags, labels and handover
//! lists. Parse, call one use case, shape the answer.

use crate::AppState;
use crate::error::{AcceptLanguage, ApiError};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use app::county::{AgreementRequest, ArrivalScan, HandoverTo, Resolution, print};
use app::{AppError, Code};
use axum::Json;
use axum::extract::State;
use axum::response::Html;
use chrono::NaiveDate;
use domain::{Carrier, Phone};
use serde::Deserialize;
use serde_json::Value;

type ApiResult = Result<Json<Value>, ApiError>;
type PageResult = Result<Html<String>, ApiError>;

fn ok(value: impl serde::Serialize) -> ApiResult {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ApiError::from(AppError::Internal(e.to_string())))
}

fn carrier(code: &str) -> Result<Carrier, ApiError> {
    Carrier::parse(code).map_err(ApiError::detail(Code::CarrierUnknown))
}

/// A range of Shanghai days; both ends default to today.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DayRange {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

/// A range of Shanghai days and a page of a list over it (`app::paging`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PagedDayRange {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    after_id: Option<i64>,
    limit: Option<u32>,
}

impl PagedDayRange {
    fn days(&self, state: &AppState) -> Result<(NaiveDate, NaiveDate), ApiError> {
        Ok(state.app.report_days(self.from, self.to)?)
    }
}

impl DayRange {
    fn days(&self, state: &AppState) -> Result<(NaiveDate, NaiveDate), ApiError> {
        Ok(state.app.report_days(self.from, self.to)?)
    }
}

pub async fn agreements(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(code): ApiPath<String>,
) -> ApiResult {
    ok(state.app.agreements(&principal, carrier(&code)?).await?)
}

pub async fn create_agreement(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(code): ApiPath<String>,
    ApiJson(request): ApiJson<AgreementRequest>,
) -> ApiResult {
    ok(state
        .app
        .create_agreement(&principal, carrier(&code)?, request)
        .await?)
}

pub async fn fees(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(code): ApiPath<String>,
    ApiQuery(range): ApiQuery<PagedDayRange>,
) -> ApiResult {
    let (from, to) = range.days(&state)?;
    let limit = app::paging::page_size(range.limit)?;
    let rows = state
        .app
        .fee_ledger(
            &principal,
            carrier(&code)?,
            from,
            to,
            range.after_id,
            Some(limit),
        )
        .await?;
    ok(app::paging::Page::of(rows, limit, |fee| fee.id))
}

pub async fn fee_summary(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(code): ApiPath<String>,
    ApiQuery(range): ApiQuery<DayRange>,
) -> ApiResult {
    let (from, to) = range.days(&state)?;
    ok(state
        .app
        .fee_summary(&principal, carrier(&code)?, from, to)
        .await?)
}

pub async fn reconciliation(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(code): ApiPath<String>,
    ApiQuery(range): ApiQuery<DayRange>,
) -> ApiResult {
    let (from, to) = range.days(&state)?;
    ok(state
        .app
        .reconcile(&principal, carrier(&code)?, from, to)
        .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRoute {
    name: String,
    townships: Vec<String>,
}

pub async fn routes(State(state): State<AppState>, Caller(principal): Caller) -> ApiResult {
    ok(state.app.county_routes(&principal).await?)
}

pub async fn create_route(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiJson(body): ApiJson<NewRoute>,
) -> ApiResult {
    ok(state
        .app
        .create_route(&principal, &body.name, &body.townships)
        .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContractor {
    name: String,
    township: String,
    #[serde(default)]
    phone: Option<String>,
}

pub async fn contractors(State(state): State<AppState>, Caller(principal): Caller) -> ApiResult {
    ok(state.app.county_contractors(&principal).await?)
}

pub async fn create_contractor(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiJson(body): ApiJson<NewContractor>,
) -> ApiResult {
    let phone = body
        .phone
        .as_deref()
        .map(Phone::parse)
        .transpose()
        .map_err(ApiError::detail(Code::PhoneInvalid))?;
    ok(state
        .app
        .create_contractor(&principal, &body.name, &body.township, phone)
        .await?)
}

pub async fn arrival(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiJson(scan): ApiJson<ArrivalScan>,
) -> ApiResult {
    ok(state.app.centre_arrival(&principal, scan).await?)
}

pub async fn manual_queue(State(state): State<AppState>, Caller(principal): Caller) -> ApiResult {
    ok(state.app.manual_queue(&principal).await?)
}

pub async fn resolve(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
    ApiJson(resolution): ApiJson<Resolution>,
) -> ApiResult {
    ok(state
        .app
        .resolve_manual(&principal, parcel_id, resolution)
        .await?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    day: Option<NaiveDate>,
}

impl DayQuery {
    fn day(&self, state: &AppState) -> Result<NaiveDate, ApiError> {
        Ok(state.app.day_or_today(self.day)?)
    }
}

pub async fn bags(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> ApiResult {
    ok(state.app.bags(&principal, query.day(&state)?).await?)
}

pub async fn bag(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(bag_id): ApiPath<i64>,
) -> ApiResult {
    ok(state.app.bag(&principal, bag_id).await?)
}

pub async fn bag_label(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(bag_id): ApiPath<i64>,
) -> PageResult {
    let contents = state.app.bag(&principal, bag_id).await?;
    Ok(Html(print::bag_label_html(&contents)))
}

pub async fn dispatch_bag(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(bag_id): ApiPath<i64>,
) -> ApiResult {
    ok(state.app.dispatch_bag(&principal, bag_id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BagScan {
    /// The bag label's QR payload (`YZBAG:<id>`) or the bag id.
    label: String,
}

pub async fn accept_bag(
    State(state): State<AppState>,
    Caller(principal): Caller,
    AcceptLanguage(lang): AcceptLanguage,
    ApiPath(station_id): ApiPath<i64>,
    ApiJson(scan): ApiJson<BagScan>,
) -> ApiResult {
    let bag_id = app::county::parse_bag_label(&scan.label)
        .map_err(ApiError::detail(Code::BagLabelInvalid))?;
    let mut acceptance = state.app.accept_bag(&principal, station_id, bag_id).await?;
    acceptance.inbound = acceptance.inbound.in_lang(lang);
    ok(acceptance)
}

async fn handover(
    state: AppState,
    principal: domain::Principal,
    to: HandoverTo,
    query: DayQuery,
) -> PageResult {
    let list = state
        .app
        .handover(&principal, to, query.day(&state)?)
        .await?;
    Ok(Html(print::handover_html(&list)))
}

pub async fn route_handover(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(route_id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> PageResult {
    handover(state, principal, HandoverTo::Route(route_id), query).await
}

pub async fn contractor_handover(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(contractor_id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> PageResult {
    handover(
        state,
        principal,
        HandoverTo::Contractor(contractor_id),
        query,
    )
    .await
}

/// A corrected announcement: every field of a manifest row but the
/// waybill, which the path names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    #[serde(default)]
    recipient_name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    station_id: Option<i64>,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    consent: Option<serde_json::Value>,
    #[serde(default)]
    weight_grams: Option<serde_json::Value>,
}

/// The parcel as the caller's role sees it, after a change.
fn parcel_view(principal: &domain::Principal, parcel: app::ports::ParcelRecord) -> ApiResult {
    crate::views::parcel(
        principal,
        app::parcels::ParcelView {
            parcel,
            slot: None,
            overdue: false,
        },
    )
    .map(Json)
    .map_err(|e| ApiError::from(AppError::Internal(e.to_string())))
}

pub async fn correct_announcement(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath((code, waybill)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Announcement>,
) -> ApiResult {
    let fields = body;
    // The manifest row's own parsing, so the formats are the manifest's.
    let row = serde_json::json!({
        "waybill": waybill,
        "recipient_name": fields.recipient_name,
        "phone": fields.phone,
        "address": fields.address,
        "station_id": fields.station_id,
        "size": fields.size,
        "consent": fields.consent,
        "weight_grams": fields.weight_grams,
    });
    let row: app::manifest::ManifestRow = serde_json::from_value(row).map_err(|error| {
        ApiError::from(
            AppError::new(Code::AnnouncementInvalid)
                .with_detail(crate::extract::plain_words(&error.to_string())),
        )
    })?;
    let parcel = state
        .app
        .correct_announcement(&principal, carrier(&code)?, &row)
        .await?;
    parcel_view(&principal, parcel)
}

pub async fn cancel_announcement(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath((code, waybill)): ApiPath<(String, String)>,
) -> ApiResult {
    let waybill =
        domain::WaybillNo::parse(&waybill).map_err(ApiError::detail(Code::WaybillInvalid))?;
    let parcel = state
        .app
        .cancel_announcement(&principal, carrier(&code)?, &waybill)
        .await?;
    parcel_view(&principal, parcel)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractorDeliveries {
    parcels: Vec<app::county::deliveries::DeliveredParcel>,
}

pub async fn contractor_deliveries(
    State(state): State<AppState>,
    Caller(principal): Caller,
    AcceptLanguage(lang): AcceptLanguage,
    ApiPath(contractor_id): ApiPath<i64>,
    ApiJson(body): ApiJson<ContractorDeliveries>,
) -> ApiResult {
    ok(state
        .app
        .contractor_delivered(&principal, contractor_id, &body.parcels)
        .await?
        .in_lang(lang))
}

/// Request body schemas of the county routes, for the OpenAPI document.
pub fn schemas() -> serde_json::Map<String, Value> {
    let carriers: Vec<&str> = Carrier::ALL.iter().map(|c| c.code()).collect();
    let modes = ["joint", "contractor", "station"];
    let value = serde_json::json!({
        "AgreementRequest": {"type": "object", "required": ["effective_from", "terms"], "properties": {
            "effective_from": {"type": "string", "format": "date", "description": "Asia/Shanghai date, inclusive"},
            "effective_to": {"type": "string", "format": "date"},
            "terms": {"type": "object", "required": ["townships", "fees"], "properties": {
                "townships": {"type": "array", "maxItems": 500, "items": {"type": "object", "required": ["township", "mode"], "properties": {
                    "township": {"type": "string", "pattern": "^[0-9]{9}$"}, "mode": {"enum": modes}}}},
                "fees": {"type": "array", "items": {"type": "object", "required": ["mode", "brackets"], "properties": {
                    "mode": {"enum": modes},
                    "brackets": {"type": "array", "maxItems": 20, "items": {"type": "object", "required": ["fen"], "properties": {
                        "up_to_grams": {"type": "integer", "description": "inclusive; omit on the last bracket"}, "fen": {"type": "integer"}}}}}}}}}}},
        "NewRoute": {"type": "object", "required": ["name", "townships"], "properties": {"name": {"type": "string", "maxLength": 64}, "townships": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{9}$"}}}},
        "NewContractor": {"type": "object", "required": ["name", "township"], "properties": {"name": {"type": "string", "maxLength": 64}, "township": {"type": "string", "pattern": "^[0-9]{9}$"}, "phone": {"type": "string"}}},
        "ArrivalScan": {"type": "object", "required": ["carrier", "waybill"], "properties": {
            "carrier": {"type": "string", "enum": carriers}, "waybill": {"type": "string"}, "weight_grams": {"type": "integer", "minimum": 1, "maximum": 100000},
            "address": {"type": "string", "maxLength": 200}, "recipient_name": {"type": "string"}, "phone": {"type": "string"}}},
        "Resolution": {"type": "object", "required": ["division"], "properties": {"division": {"type": "string", "pattern": "^([0-9]{9}|[0-9]{12})$"}}},
        "BagScan": {"type": "object", "required": ["label"], "properties": {"label": {"type": "string", "example": "YZBAG:42"}}},
        "Announcement": {"type": "object", "description": "Every field of a manifest row but the waybill (in the path); a field left out is cleared. Formats as in `Manifest`.",
            "properties": crate::handlers::manifest_row_properties(false)},
        "ContractorDeliveries": {"type": "object", "required": ["parcels"], "properties": {"parcels": {"type": "array", "minItems": 1,
            "maxItems": app::county::deliveries::DELIVERY_REPORT_MAX, "items": {"type": "object", "required": ["carrier", "waybill"], "properties": {
                "carrier": {"type": "string", "enum": carriers}, "waybill": {"type": "string", "minLength": 6, "maxLength": 40}}}}}}
    });
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

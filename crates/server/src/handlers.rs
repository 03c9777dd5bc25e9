//! Request handlers: parse, call one use case, shape the answer.

use crate::AppState;
use crate::error::{AcceptLanguage, ApiError};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::views;
use app::inbound::InboundScan;
use app::manifest::ManifestRow;
use app::parcels::PickupProof;
use app::ports::ParcelFilter;
use app::{AppError, Code};
use axum::Json;
use axum::extract::State;
use axum::response::{Html, IntoResponse};
use domain::limits::NAME_CHARS_MAX;
use domain::{Action, Carrier, ParcelState, ProblemKind};
use serde::Deserialize;
use serde_json::{Value, json};

type ApiResult = Result<Json<Value>, ApiError>;

fn ok(value: impl serde::Serialize) -> ApiResult {
    shaped(serde_json::to_value(value))
}

/// An answer already shaped for the caller's role (`crate::views`).
fn shaped(value: serde_json::Result<Value>) -> ApiResult {
    value
        .map(Json)
        .map_err(|e| ApiError::from(AppError::Internal(e.to_string())))
}

pub async fn healthz(State(state): State<AppState>) -> ApiResult {
    state.app.store.stations().await.map_err(AppError::from)?;
    ok(json!({ "status": "ok", "database": state.app.store.backend() }))
}

pub async fn openapi(State(state): State<AppState>) -> Json<Value> {
    Json(crate::openapi::document(&state.app.settings.public_url))
}

pub async fn not_found() -> ApiError {
    ApiError::new(Code::RouteNotFound)
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(Code::MethodNotAllowed)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    crate::tracking::ClientIp(ip): crate::tracking::ClientIp,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult {
    if body.username.len() > NAME_CHARS_MAX || body.password.len() > 128 {
        return Err(AppError::Unauthenticated.into());
    }
    let source = ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let (token, principal) = state
        .app
        .sign_in(&body.username, &body.password, &source)
        .await?;
    ok(
        json!({ "token": token, "user": principal, "expires_in_hours": state.app.settings.token_hours }),
    )
}

pub async fn me(Caller(principal): Caller) -> ApiResult {
    ok(principal)
}

pub async fn disable_user(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(username): ApiPath<String>,
) -> ApiResult {
    ok(state.app.disable_user(&principal, &username).await?)
}

pub async fn enable_user(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(username): ApiPath<String>,
) -> ApiResult {
    ok(state.app.enable_user(&principal, &username).await?)
}

pub async fn revoke_user_tokens(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(username): ApiPath<String>,
) -> ApiResult {
    ok(state.app.revoke_user_tokens(&principal, &username).await?)
}

pub async fn stations(State(state): State<AppState>, Caller(principal): Caller) -> ApiResult {
    shaped(views::stations(
        &principal,
        state.app.stations(&principal).await?,
    ))
}

pub async fn station(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
) -> ApiResult {
    shaped(views::station(
        &principal,
        state.app.station_entry(&principal, station_id).await?,
    ))
}

pub async fn slots(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
) -> ApiResult {
    ok(state.app.station_slots(&principal, station_id).await?)
}

pub async fn summary(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
) -> ApiResult {
    let counts = state.app.station_summary(&principal, station_id).await?;
    ok(counts
        .into_iter()
        .map(|(s, n)| (s.code().to_string(), json!(n)))
        .collect::<serde_json::Map<String, Value>>())
}

pub async fn inbound(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
    ApiJson(scan): ApiJson<InboundScan>,
) -> ApiResult {
    ok(state.app.inbound(&principal, station_id, scan).await?)
}

#[derive(Deserialize)]
pub struct InboundBatch {
    scans: Vec<InboundScan>,
}

pub async fn inbound_batch(
    State(state): State<AppState>,
    Caller(principal): Caller,
    AcceptLanguage(lang): AcceptLanguage,
    ApiPath(station_id): ApiPath<i64>,
    ApiJson(batch): ApiJson<InboundBatch>,
) -> ApiResult {
    ok(state
        .app
        .inbound_batch(&principal, station_id, batch.scans)
        .await?
        .in_lang(lang))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ParcelQuery {
    code: Option<String>,
    phone_tail: Option<String>,
    waybill: Option<String>,
    state: Option<String>,
    carrier: Option<String>,
    station_id: Option<i64>,
    after_id: Option<i64>,
    limit: Option<u32>,
}

impl ParcelQuery {
    fn into_filter(self, station_id: Option<i64>) -> Result<ParcelFilter, ApiError> {
        let short = |name: &str,
                     value: Option<String>,
                     max: usize|
         -> Result<Option<String>, ApiError> {
            match value
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                Some(v) if v.chars().count() > max => Err(ApiError::detail(Code::QueryInvalid)(
                    format!("{name} is longer than {max} characters"),
                )),
                other => Ok(other),
            }
        };
        let phone_tail = short("phone_tail", self.phone_tail, 4)?;
        if let Some(tail) = &phone_tail {
            domain::phone::parse_tail(tail).map_err(ApiError::detail(Code::QueryInvalid))?;
        }
        let waybill = short("waybill", self.waybill, domain::limits::WAYBILL_CHARS_MAX)?
            .map(|w| {
                domain::WaybillNo::parse(&w)
                    .map(|w| w.to_string())
                    .map_err(ApiError::detail(Code::QueryInvalid))
            })
            .transpose()?;
        let state = self
            .state
            .map(|s| {
                ParcelState::parse(&s).ok_or_else(|| {
                    ApiError::detail(Code::QueryInvalid)(format!("unknown state {s:?}"))
                })
            })
            .transpose()?;
        let carrier = self
            .carrier
            .map(|c| Carrier::parse(&c).map_err(ApiError::detail(Code::CarrierUnknown)))
            .transpose()?;
        let limit = app::paging::page_size(self.limit)?;
        Ok(ParcelFilter {
            station_id: station_id.or(self.station_id),
            carrier,
            state,
            pickup_code: short("code", self.code, 40)?,
            phone_tail,
            waybill,
            stored_before: None,
            created_from: None,
            created_before: None,
            after_id: self.after_id,
            limit,
        })
    }
}

/// `GET /api/audit`: the audit trail, newest first, filtered.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    act: Option<String>,
    actor_user_id: Option<i64>,
    station_id: Option<i64>,
    object_kind: Option<String>,
    object_id: Option<i64>,
    /// The cursor (`app::paging`): the trail is newest first, so the next
    /// page holds the rows before this sequence number. `before_seq` is its
    /// older name.
    #[serde(alias = "before_seq")]
    after_id: Option<i64>,
    limit: Option<u32>,
}

pub async fn audit_trail(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult {
    // An over-long text filter can match nothing: cut at a bound rather
    // than carry it into the query.
    let short = |value: Option<String>| value.map(|v| v.chars().take(64).collect::<String>());
    let filter = app::ports::audit::AuditFilter {
        act: short(query.act),
        actor_user_id: query.actor_user_id,
        station_id: query.station_id,
        object_kind: short(query.object_kind),
        object_id: query.object_id,
        from_ms: None,
        to_ms: None,
        before_seq: query.after_id,
        limit: app::paging::page_size(query.limit)?,
    };
    let limit = filter.limit;
    let rows = state.app.audit_trail(&principal, filter).await?;
    ok(app::paging::Page::of(rows, limit, |row| row.seq).map(views::AuditEntry::from))
}

/// `GET /api/audit/verify`: walks the chain.
pub async fn audit_verify(State(state): State<AppState>, Caller(principal): Caller) -> ApiResult {
    ok(state.app.verify_audit(&principal).await?)
}

pub async fn station_parcels(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ParcelQuery>,
) -> ApiResult {
    let page = state
        .app
        .station_parcels(&principal, station_id, query.into_filter(Some(station_id))?)
        .await?;
    shaped(views::page(&principal, page))
}

pub async fn parcels(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiQuery(query): ApiQuery<ParcelQuery>,
) -> ApiResult {
    let page = state
        .app
        .search(&principal, query.into_filter(None)?)
        .await?;
    shaped(views::page(&principal, page))
}

pub async fn returns(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
) -> ApiResult {
    ok(state.app.return_list(&principal, station_id).await?)
}

pub async fn parcel(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
) -> ApiResult {
    shaped(views::parcel(
        &principal,
        state.app.parcel(&principal, parcel_id).await?,
    ))
}

pub async fn parcel_events(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
) -> ApiResult {
    shaped(views::events(
        &principal,
        state.app.parcel_events(&principal, parcel_id).await?,
    ))
}

pub async fn parcel_phone(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
) -> ApiResult {
    ok(json!({ "phone": state.app.parcel_phone(&principal, parcel_id).await? }))
}

pub async fn pickup(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
    ApiJson(proof): ApiJson<PickupProof>,
) -> ApiResult {
    ok(state.app.pick_up(&principal, parcel_id, proof).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    slot_id: i64,
}

pub async fn move_parcel(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
    ApiJson(body): ApiJson<MoveRequest>,
) -> ApiResult {
    ok(state
        .app
        .move_parcel(&principal, parcel_id, body.slot_id)
        .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemRequest {
    kind: ProblemKind,
    note: Option<String>,
}

pub async fn problem(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
    ApiJson(body): ApiJson<ProblemRequest>,
) -> ApiResult {
    ok(state
        .app
        .report_problem(&principal, parcel_id, body.kind, body.note)
        .await?)
}

pub async fn return_parcel(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
) -> ApiResult {
    ok(state.app.return_to_carrier(&principal, parcel_id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    source: String,
}

pub async fn consent(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
    ApiJson(body): ApiJson<ConsentRequest>,
) -> ApiResult {
    ok(state
        .app
        .grant_consent(&principal, parcel_id, &body.source)
        .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MisrouteRequest {
    station_id: i64,
    note: Option<String>,
}

pub async fn misroute(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
    ApiJson(body): ApiJson<MisrouteRequest>,
) -> ApiResult {
    ok(state
        .app
        .record_misroute(&principal, parcel_id, body.station_id, body.note)
        .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentreScan {
    action: String,
}

pub async fn centre_scan(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(parcel_id): ApiPath<i64>,
    ApiJson(body): ApiJson<CentreScan>,
) -> ApiResult {
    let action = match body.action.as_str() {
        "arrive" => Action::ArriveAtCentre,
        "sort" => Action::Sort,
        "dispatch" => Action::Dispatch,
        other => {
            return Err(AppError::new(Code::CentreActionUnknown)
                .with("action", format!("{other:?}"))
                .into());
        }
    };
    ok(state.app.centre_scan(&principal, parcel_id, action).await?)
}

#[derive(Deserialize)]
pub struct Manifest {
    parcels: Vec<ManifestRow>,
}

pub async fn manifest(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(carrier): ApiPath<String>,
    ApiJson(body): ApiJson<Manifest>,
) -> ApiResult {
    let carrier = Carrier::parse(&carrier).map_err(ApiError::detail(Code::CarrierUnknown))?;
    ok(state
        .app
        .announce(&principal, carrier, &body.parcels, 1)
        .await?)
}

pub async fn holding_job(State(state): State<AppState>, Caller(principal): Caller) -> ApiResult {
    ok(state.app.run_holding(&principal).await?)
}

pub async fn dispatch_plan(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiJson(request): ApiJson<app::dispatch::DispatchRequest>,
) -> ApiResult {
    ok(state.app.plan_dispatch(&principal, &request).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressText {
    text: String,
}

/// Parses one address. Phone numbers found in it come back masked: the
/// caller sent them, and echoing them whole would put them in logs and
/// caches along the way.
pub async fn parse_address(
    Caller(_principal): Caller,
    ApiJson(body): ApiJson<AddressText>,
) -> ApiResult {
    let mut parsed = address::parse(&body.text).map_err(ApiError::detail(Code::AddressInvalid))?;
    for phone in parsed
        .phone
        .iter_mut()
        .chain(parsed.other_phones.iter_mut())
    {
        if let Ok(mobile) = domain::Phone::parse(&phone.number) {
            phone.number = mobile.masked();
        }
    }
    ok(parsed)
}

/// The landing page: what yizhan is and a door to each workplace, Chinese
/// first, English when the pages' language cookie says so (`/lang/en`).
/// Served by the API's route table (it is `GET /` in the OpenAPI
/// document); static text only, so it needs no template engine here.
pub async fn landing(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> impl IntoResponse {
    let n_stations = state
        .app
        .store
        .stations()
        .await
        .map(|s| s.len())
        .unwrap_or(0);
    let en = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| c.trim() == "yz_lang=en");
    let pick = |zh: &'static str, en_text: &'static str| if en { en_text } else { zh };
    let links = [
        (
            "/console",
            pick("驿站控制台", "Station console"),
            pick(
                "入库、货架、出库、问题件、退回",
                "Inbound, shelves, hand-out, problems, returns",
            ),
        ),
        (
            "/centre",
            pick("县级中心", "County centre"),
            pick(
                "到件扫描、分拣、装袋、交接、对账",
                "Arrival scans, sorting, bags, handover, reconciliation",
            ),
        ),
        (
            "/carrier",
            pick("快递公司门户", "Carrier portal"),
            pick(
                "预报上传、对账、费用、回调",
                "Manifests, reconciliation, fees, webhooks",
            ),
        ),
        (
            "/compliance",
            pick("合规管理", "Compliance"),
            pick("合规检查与审计记录", "Checks and the audit trail"),
        ),
        (
            "/terminal",
            pick("自助终端", "Door terminal"),
            pick(
                "驿站门口的自助取件屏",
                "The self-service pickup screen at the door",
            ),
        ),
        (
            "/api/docs",
            pick("API 文档", "API documentation"),
            pick("供快递公司系统对接", "For carriers' systems"),
        ),
    ];
    let items: String = links
        .iter()
        .map(|(href, name, what)| {
            format!("<li><a href=\"{href}\"><b>{name}</b><span>{what}</span></a></li>")
        })
        .collect();
    let stations = if en {
        format!("{n_stations} village stations are running in this county.")
    } else {
        format!("本县共有 {n_stations} 个驿站在运行。")
    };
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"/static/console.css\"><link rel=\"stylesheet\" href=\"/static/station.css\"></head>\
         <body class=\"landing\"><main><header class=\"landing-head\"><img src=\"/favicon.svg\" alt=\"\" width=\"48\" height=\"48\">\
         <h1>{title}</h1><a class=\"lang\" href=\"/lang/{other}\">{switch}</a></header>\
         <p>{lede}</p><p class=\"muted\" id=\"n-stations\">{stations}</p>\
         <ul class=\"doors\">{items}</ul>\
         <p class=\"muted\"><a href=\"/healthz\">{health}</a> · <a href=\"/api/openapi.json\">OpenAPI</a></p></main></body></html>",
        lang = if en { "en" } else { "zh-CN" },
        title = pick(
            "驿站 · 县乡村快递共配平台",
            "yizhan · county and village co-delivery"
        ),
        lede = pick(
            "快递公司预报，县级中心到件分拣，驿站入库上架，收件人凭取件码或二维码自助取件。请选择您的工作台：",
            "Carriers announce, the county centre sorts, village stations shelve, and recipients collect with their code or QR code. Choose your workplace:",
        ),
        other = if en { "zh" } else { "en" },
        switch = pick("English", "中文"),
        health = pick("健康检查", "Health check"),
    ))
}

/// The error shape, with every code of `app`'s table: a client can switch
/// on `code` and know it has seen them all.
fn error_schema() -> Value {
    let codes: Vec<&str> = app::Code::ALL.iter().map(|c| c.name()).collect();
    let kinds = [
        app::ErrorKind::InvalidRequest,
        app::ErrorKind::Auth,
        app::ErrorKind::NotFound,
        app::ErrorKind::Conflict,
        app::ErrorKind::RateLimit,
        app::ErrorKind::Internal,
    ]
    .map(app::ErrorKind::name);
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "type", "message"],
            "properties": {
                "code": {"type": "string", "enum": codes, "description": "Stable; switch on this, not on the message"},
                "type": {"type": "string", "enum": kinds},
                "message": {"type": "string", "description": "For people: Chinese when Accept-Language prefers zh, English otherwise"}
            }
        }}
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRegistrationBody {
    kind: String,
    device_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceReplacementBody {
    /// The registry row of the active device being replaced.
    device: i64,
    new_device_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPhoneBody {
    phone: Option<String>,
}

pub async fn station_devices(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
) -> ApiResult {
    ok(state.app.station_devices(&principal, station_id).await?)
}

pub async fn register_device(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
    ApiJson(body): ApiJson<DeviceRegistrationBody>,
) -> ApiResult {
    let registration = app::devices::DeviceRegistration {
        kind: &body.kind,
        device_id: &body.device_id,
    };
    ok(state
        .app
        .register_device(&principal, station_id, &registration)
        .await?)
}

pub async fn replace_device(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
    ApiJson(body): ApiJson<DeviceReplacementBody>,
) -> ApiResult {
    ok(state
        .app
        .replace_device(&principal, station_id, body.device, &body.new_device_id)
        .await?)
}

pub async fn set_contact_phone(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(station_id): ApiPath<i64>,
    ApiJson(body): ApiJson<ContactPhoneBody>,
) -> ApiResult {
    let phone = state
        .app
        .set_station_contact_phone(&principal, station_id, body.phone.as_deref())
        .await?;
    ok(json!({ "contact_phone": phone }))
}

pub async fn dropped_device_messages(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> ApiResult {
    ok(state.app.dropped_device_messages(&principal)?)
}

/// The fields of a manifest row, with the formats every manifest form
/// (JSON, CSV, .xlsx) accepts (`app::manifest`).
pub fn manifest_row_properties(with_waybill: bool) -> Value {
    let mut properties = json!({
        "recipient_name": {"type": "string", "maxLength": NAME_CHARS_MAX},
        "phone": {"type": "string", "maxLength": 32, "description": "A mainland mobile: 13812345678, +86 138 1234 5678, 17012345678-1234 (virtual number with extension)"},
        "address": {"type": "string", "maxLength": domain::limits::ADDRESS_CHARS_MAX},
        "station_id": {"type": "integer", "format": "int64", "description": "The village station it is for, if known (GET /api/stations)"},
        "size": {"type": "string", "enum": ["small", "medium", "large", "小", "中", "大"], "default": "small",
            "description": "Size class; any case; 小件/中件/大件 too; empty or absent is small"},
        "consent": {"oneOf": [{"type": "boolean"}, {"type": "integer", "enum": [0, 1]}, {"type": "string", "enum": ["true", "false", "1", "0", "是", "否", "yes", "no", "y", "n"]}],
            "description": "The recipient agreed to station delivery: true/false, 1/0, 是/否 or yes/no (any case); anything else is refused with the row's number. Absent is false."},
        "weight_grams": {"oneOf": [{"type": "integer", "minimum": 1, "maximum": domain::limits::WEIGHT_GRAMS_MAX}, {"type": "string", "pattern": "^[0-9]+$"}],
            "description": "Whole grams, 1 to 100000, as a number or digits (1250, not 1.25 or 1.25kg). Fees are by weight bracket; absent falls into the lowest bracket."}
    });
    if with_waybill {
        properties["waybill"] = json!({"type": "string", "minLength": domain::limits::WAYBILL_CHARS_MIN, "maxLength": domain::limits::WAYBILL_CHARS_MAX});
    }
    properties
}

/// Request body schemas for the OpenAPI document.
pub fn schemas() -> Value {
    let carriers: Vec<&str> = Carrier::ALL.iter().map(|c| c.code()).collect();
    let mut schemas = json!({
        "Error": error_schema(),
        "Login": {"type": "object", "required": ["username", "password"], "properties": {"username": {"type": "string"}, "password": {"type": "string", "format": "password"}}},
        "InboundScan": {"type": "object", "required": ["carrier", "waybill"], "properties": {
            "carrier": {"type": "string", "enum": carriers},
            "waybill": {"type": "string", "minLength": 6, "maxLength": 40},
            "recipient_name": {"type": "string", "maxLength": 64},
            "phone": {"type": "string", "description": "13812345678, +86…, 138****1234, 17012345678-1234"},
            "size": {"type": "string", "enum": ["small", "medium", "large"]},
            "consent": {"type": "boolean"}}},
        "InboundBatch": {"type": "object", "required": ["scans"], "properties": {"scans": {"type": "array", "maxItems": 500, "items": {"$ref": "#/components/schemas/InboundScan"}}}},
        "PickupProof": {"oneOf": [
            {"type": "object", "required": ["method", "code", "phone_tail"], "properties": {"method": {"enum": ["code_and_phone_tail"]}, "code": {"type": "string"}, "phone_tail": {"type": "string", "pattern": "^[0-9]{4}$"}}},
            {"type": "object", "required": ["method", "terminal"], "properties": {"method": {"enum": ["self_checkout_scan"]}, "terminal": {"type": "string"}}},
            {"type": "object", "required": ["method", "shown"], "properties": {"method": {"enum": ["staff_assisted"]}, "shown": {"enum": ["message", "id_card", "app_qr_code"]}, "note": {"type": "string"}}}]},
        "MoveRequest": {"type": "object", "required": ["slot_id"], "properties": {"slot_id": {"type": "integer"}}},
        "ProblemRequest": {"type": "object", "required": ["kind"], "properties": {"kind": {"enum": ["damaged", "wrong_address", "refused", "lost"]}, "note": {"type": "string", "maxLength": 500}}},
        "ConsentRequest": {"type": "object", "required": ["source"], "properties": {"source": {"type": "string", "maxLength": 64}}},
        "AddressText": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "maxLength": 512, "example": "张三 13812345678 四川省成都市武侯区簇桥街道"}}},
        "DispatchRequest": {"type": "object", "required": ["centre"], "properties": {
            "centre": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
            "fleet": {"type": "object", "properties": {"vans": {"type": "integer"}, "van_parcels_max": {"type": "integer"}, "van_volume_max": {"type": "integer"},
                "unmanned": {"type": "integer"}, "unmanned_compartments": {"type": "integer"}, "unmanned_range_km": {"type": "integer"}}},
            "iterations": {"type": "integer", "maximum": 20000}, "seed": {"type": "integer"}}},
        "NewWebhook": {"type": "object", "required": ["url"], "properties": {
            "url": {"type": "string", "maxLength": 500, "example": "https://carrier.example/yizhan/events"},
            "event_kinds": {"type": "array", "items": {"enum": domain::webhook::webhook_event_names()}, "description": "empty or absent: every event"}}},
        "WebhookPatch": {"type": "object", "properties": {
            "url": {"type": "string", "maxLength": 500},
            "event_kinds": {"type": "array", "items": {"enum": domain::webhook::webhook_event_names()}},
            "active": {"type": "boolean"}}},
        "WebhookRotation": {"type": "object", "properties": {
            "overlap_hours": {"type": "integer", "minimum": 0, "maximum": app::webhooks::ROTATION_OVERLAP_HOURS_MAX, "description": "how long the old secret keeps signing beside the new one; default 24"}}},
        "MisrouteRequest": {"type": "object", "required": ["station_id"], "properties": {
            "station_id": {"type": "integer", "description": "The station the parcel really belongs at"},
            "note": {"type": "string", "maxLength": 500}}},
        "DeviceRegistration": {"type": "object", "required": ["kind", "device_id"], "properties": {
            "kind": {"enum": ["door", "lights", "scanner"]},
            "device_id": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$", "example": "front"}}},
        "DeviceReplacement": {"type": "object", "required": ["device", "new_device_id"], "properties": {
            "device": {"type": "integer", "description": "The registry row (`id`) of the active device being replaced"},
            "new_device_id": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$", "example": "front-2"}}},
        "ContactPhone": {"type": "object", "required": ["phone"], "properties": {
            "phone": {"type": ["string", "null"], "maxLength": 32, "example": "0571-8800 1234", "description": "public; null clears it"}}},
        "CentreScan": {"type": "object", "required": ["action"], "properties": {"action": {"enum": ["arrive", "sort", "dispatch"]}}},
        "Manifest": {"type": "object", "required": ["parcels"], "properties": {"parcels": {"type": "array", "maxItems": 500,
            "description": "Each waybill once per manifest (a second row is refused by its number); a waybill announced before with the same data counts as already known, with other data it is refused (correct it with PUT /api/carriers/{carrier}/parcels/{waybill}).",
            "items": {"type": "object", "required": ["waybill"], "properties": manifest_row_properties(true)}}}}
    });
    if let Value::Object(map) = &mut schemas {
        map.extend(crate::county::schemas());
        map.extend(views::schemas());
        map.extend(crate::sending::request_schemas());
    }
    schemas
}

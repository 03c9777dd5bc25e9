//! The sender's JSON API (`/api/send/…`, issue 14, `docs/sending.md`, "The
//! sender's API"): the same use cases as the sender's pages, for a kiosk's
//! own software, a shop's app or a carrier's mini-program. Senders are not
//! users: a one-time code to their phone opens a sender session, whose
//! token comes back as `Authorization: Bearer <token>` on every other call
//! ([`SenderCaller`]). A staff token opens no sender route and a sender
//! token no staff route. Every order route answers 404 for an order that is
//! not the caller's. Also the public quote and inspection catalogue, and the
//! kiosk fleet's daily report for county staff.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::tracking::ClientIp;
use app::sending::{
    AddressEntry, OrderContents, OrderDetail, OrderRecord, Party, PaymentRecord, SendLabel,
    SenderRecord,
};
use app::{AppError, Code};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use domain::Phone;
use domain::sending::inspection::{self, Evidence, Need, Rule};
use domain::sending::{DocumentKind, OrderState, Payer, Platform, Quote};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

type ApiResult = Result<Json<Value>, ApiError>;

fn ok(value: impl Serialize) -> ApiResult {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ApiError::from(AppError::Internal(e.to_string())))
}

/// The sender a bearer token's session belongs to. A missing header is
/// `token_missing`; a staff token, an ended or an unknown session is
/// `send_session_invalid` (both 401).
pub struct SenderCaller(pub SenderRecord, String);

impl FromRequestParts<AppState> for SenderCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ApiError::new(Code::TokenMissing))?;
        // A sender token is 64 hex characters; anything longer is not one
        // and is not worth a database look-up.
        if token.len() > 128 {
            return Err(ApiError::new(Code::SendSessionInvalid));
        }
        let sender = state.app.sender_session(token).await?;
        Ok(SenderCaller(sender, token.to_string()))
    }
}

// ---- what the API answers ----

/// The sender as they see themselves: the phone masked, the document's
/// kind and masked number once verified (never the number or the name).
#[derive(Serialize)]
pub struct SenderView {
    id: i64,
    phone: Phone,
    verified: bool,
    document_kind: Option<&'static str>,
    document_masked: Option<String>,
    verified_at: Option<DateTime<Utc>>,
}

impl From<&SenderRecord> for SenderView {
    fn from(sender: &SenderRecord) -> Self {
        SenderView {
            id: sender.id,
            phone: sender.phone.clone(),
            verified: sender.verified_at.is_some(),
            document_kind: sender.document_kind.map(DocumentKind::code),
            document_masked: sender.document_masked.clone(),
            verified_at: sender.verified_at,
        }
    }
}

/// One side of an order as the API shows it: the phone masked (the sender
/// typed it; an answer glanced at or logged by a client needs no more).
#[derive(Serialize)]
struct PartyView {
    name: String,
    phone: Phone,
    division: String,
    address: String,
}

impl From<&Party> for PartyView {
    fn from(party: &Party) -> Self {
        PartyView {
            name: party.name.clone(),
            phone: party.phone.clone(),
            division: party.division.clone(),
            address: party.address.clone(),
        }
    }
}

/// An order as its sender sees it.
#[derive(Serialize)]
struct OrderView {
    id: i64,
    state: OrderState,
    state_zh: &'static str,
    channel: String,
    kiosk_id: Option<i64>,
    from: PartyView,
    to: PartyView,
    category: Option<String>,
    weight_grams: Option<u32>,
    size_cm: Option<[u32; 3]>,
    price_fen: Option<i64>,
    quote: Option<Quote>,
    payer: String,
    return_code: Option<String>,
    carrier: domain::Carrier,
    waybill: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    collected_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
}

impl From<&OrderRecord> for OrderView {
    fn from(order: &OrderRecord) -> Self {
        OrderView {
            id: order.id,
            state: order.state,
            state_zh: order.state.name_zh(),
            channel: order.channel.clone(),
            kiosk_id: order.kiosk_id,
            from: (&order.from).into(),
            to: (&order.to).into(),
            category: order.category.clone(),
            weight_grams: order.weight_grams,
            size_cm: order.size_cm.map(|(l, w, h)| [l, w, h]),
            price_fen: order.price_fen.map(|fen| fen.0),
            quote: order
                .quote
                .clone()
                .and_then(|quote| serde_json::from_value(quote).ok()),
            payer: order.payer.clone(),
            return_code: order.return_code.clone(),
            carrier: order.carrier,
            waybill: order.waybill.clone(),
            created_at: order.created_at,
            updated_at: order.updated_at,
            accepted_at: order.accepted_at,
            collected_at: order.collected_at,
            cancelled_at: order.cancelled_at,
        }
    }
}

/// A payment as its payer sees it: the QR code's content only while it
/// can still be paid.
#[derive(Serialize)]
struct PaymentView {
    merchant_order_no: String,
    amount_fen: i64,
    status: domain::sending::PaymentStatus,
    qr_content: Option<String>,
    created_at: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    refunded_at: Option<DateTime<Utc>>,
}

impl From<&PaymentRecord> for PaymentView {
    fn from(payment: &PaymentRecord) -> Self {
        PaymentView {
            merchant_order_no: payment.merchant_order_no.clone(),
            amount_fen: payment.amount.0,
            status: payment.status,
            qr_content: (payment.status == domain::sending::PaymentStatus::Pending)
                .then(|| payment.qr_content.clone()),
            created_at: payment.created_at,
            paid_at: payment.paid_at,
            refunded_at: payment.refunded_at,
        }
    }
}

/// An order with what happened to it; events without who did them (a
/// staff member's username is not the sender's business).
#[derive(Serialize)]
struct OrderDetailView {
    order: OrderView,
    events: Vec<Value>,
    inspections: Vec<Value>,
    payments: Vec<PaymentView>,
}

impl From<&OrderDetail> for OrderDetailView {
    fn from(detail: &OrderDetail) -> Self {
        OrderDetailView {
            order: (&detail.order).into(),
            events: detail
                .events
                .iter()
                .map(|event| {
                    json!({
                        "kind": event.kind,
                        "from_state": event.from_state,
                        "to_state": event.to_state,
                        "at": event.at,
                    })
                })
                .collect(),
            inspections: detail
                .inspections
                .iter()
                .map(|inspection| {
                    json!({
                        "category": inspection.category,
                        "outcome": inspection.outcome,
                        "rule": inspection.rule,
                        "at": inspection.at,
                    })
                })
                .collect(),
            payments: detail.payments.iter().map(PaymentView::from).collect(),
        }
    }
}

#[derive(Serialize)]
struct AddressView {
    id: i64,
    role: String,
    name: String,
    phone: Phone,
    division: String,
    address: String,
    last_used_at: DateTime<Utc>,
}

impl From<&AddressEntry> for AddressView {
    fn from(entry: &AddressEntry) -> Self {
        AddressView {
            id: entry.id,
            role: entry.role.clone(),
            name: entry.party.name.clone(),
            phone: entry.party.phone.clone(),
            division: entry.party.division.clone(),
            address: entry.party.address.clone(),
            last_used_at: entry.last_used_at,
        }
    }
}

// ---- signing in ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    phone: String,
}

fn mobile(text: &str) -> Result<Phone, ApiError> {
    if text.len() > 32 {
        return Err(ApiError::new(Code::SendPhoneInvalid));
    }
    Phone::parse(text)
        .ok()
        .filter(|phone| matches!(phone, Phone::Mobile(_)))
        .ok_or_else(|| ApiError::new(Code::SendPhoneInvalid))
}

/// `POST /api/send/code`: texts a one-time code. Besides the use case's
/// limit per phone, a client address may ask only a few codes a minute
/// ([`CodeLimiter`]): nobody may turn the endpoint into a text-message
/// pump against many numbers.
pub async fn request_code(
    State(state): State<AppState>,
    Extension(limiter): Extension<Arc<CodeLimiter>>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult {
    let phone = mobile(&body.phone)?;
    limiter
        .allow(client)
        .map_err(|wait| crate::tracking::too_many(wait, "验证码请求", "code requests"))?;
    ok(state.app.request_send_code(&phone).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    phone: String,
    code: String,
}

/// `POST /api/send/session`: the code opens a session.
pub async fn open_session(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SessionRequest>,
) -> ApiResult {
    let phone = mobile(&body.phone)?;
    if body.code.len() > 16 {
        return Err(ApiError::new(Code::SendCodeWrong));
    }
    let signed_in = state.app.verify_send_code(&phone, &body.code).await?;
    ok(json!({
        "token": signed_in.token,
        "expires_at": signed_in.expires_at,
        "sender": SenderView::from(&signed_in.sender),
    }))
}

/// `DELETE /api/send/session`: the token opens nothing from now on.
pub async fn close_session(
    State(state): State<AppState>,
    SenderCaller(_, token): SenderCaller,
) -> Result<StatusCode, ApiError> {
    state.app.end_sender_session(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(SenderCaller(sender, _): SenderCaller) -> ApiResult {
    ok(SenderView::from(&sender))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRequest {
    kind: DocumentKind,
    number: String,
    name: String,
}

/// `POST /api/send/identity`: the real-name check (实名收寄).
pub async fn identity(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiJson(body): ApiJson<IdentityRequest>,
) -> ApiResult {
    if body.number.len() > 64 {
        return Err(AppError::new(Code::DocumentInvalid)
            .with_detail("the number is longer than any document's")
            .into());
    }
    let sender = state
        .app
        .verify_sender_identity(&sender, &body.name, body.kind, &body.number)
        .await?;
    ok(SenderView::from(&sender))
}

// ---- addresses and orders ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParseRequest {
    text: String,
}

/// `POST /api/send/parse`: one pasted text read into a party for the
/// sender to confirm. The phone comes back whole: the sender pasted it a
/// moment ago and must confirm it.
pub async fn parse(
    State(state): State<AppState>,
    SenderCaller(_, _): SenderCaller,
    ApiJson(body): ApiJson<ParseRequest>,
) -> ApiResult {
    let parsed = state.app.parse_party(&body.text)?;
    ok(json!({
        "name": parsed.name,
        "phone": parsed.phone.as_ref().map(Phone::full),
        "division": parsed.division,
        "division_names": parsed.division_names,
        "detail": parsed.detail,
        "confidence": parsed.confidence,
        "ambiguous": parsed.ambiguous,
    }))
}

pub async fn addresses(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
) -> ApiResult {
    let book = state.app.send_address_book(&sender).await?;
    ok(book.iter().map(AddressView::from).collect::<Vec<_>>())
}

/// One party of a new order: an address book entry, or the four fields
/// the sender confirmed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyInput {
    address_id: Option<i64>,
    name: Option<String>,
    phone: Option<String>,
    division: Option<String>,
    detail: Option<String>,
}

impl PartyInput {
    async fn party(
        self,
        state: &AppState,
        sender: &SenderRecord,
        role: (&'static str, &'static str),
    ) -> Result<Party, ApiError> {
        let incomplete = || {
            ApiError::from(
                AppError::new(Code::SendPartyIncomplete).with_words("party", role.0, role.1),
            )
        };
        match self {
            PartyInput {
                address_id: Some(id),
                name: None,
                phone: None,
                division: None,
                detail: None,
            } => state
                .app
                .send_address_book(sender)
                .await?
                .into_iter()
                .find(|entry| entry.id == id)
                .map(|entry| entry.party)
                .ok_or_else(|| {
                    AppError::new(Code::SendAddressUnknown)
                        .with("id", id)
                        .into()
                }),
            PartyInput {
                address_id: None,
                name: Some(name),
                phone: Some(phone),
                division: Some(division),
                detail: Some(detail),
            } => Ok(state.app.confirm_party(&name, &phone, &division, &detail)?),
            _ => Err(incomplete()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    from: PartyInput,
    to: PartyInput,
    /// The kiosk's code when the order starts at a kiosk (its QR code).
    kiosk: Option<String>,
}

/// `POST /api/send/orders`: a draft from two confirmed parties. The
/// channel is `api`; with a kiosk's code the order is that kiosk's.
pub async fn create_order(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiJson(body): ApiJson<NewOrder>,
) -> ApiResult {
    let from = body
        .from
        .party(&state, &sender, ("寄件人", "sender"))
        .await?;
    let to = body
        .to
        .party(&state, &sender, ("收件人", "recipient"))
        .await?;
    let order = state
        .app
        .create_send_order_via(&sender, "api", body.kiosk.as_deref(), from, to)
        .await?;
    ok(OrderView::from(&order))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    after_id: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/send/orders`: the sender's orders, newest first.
pub async fn orders(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<OrdersQuery>,
    SenderCaller(sender, _): SenderCaller,
) -> ApiResult {
    let limit = app::paging::page_size(query.limit)?;
    let rows = state
        .app
        .sender_orders(&sender, query.after_id, Some(limit))
        .await?;
    ok(app::paging::Page::of(rows, limit, |order| order.id).map(|order| OrderView::from(&order)))
}

pub async fn order(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiPath(order_id): ApiPath<i64>,
) -> ApiResult {
    let detail = state.app.send_order_detail(&sender, order_id).await?;
    ok(OrderDetailView::from(&detail))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentsRequest {
    category: String,
    #[serde(default)]
    declarations: Vec<Need>,
    /// `photo:{id}` from `POST …/photos` of this order.
    document_photo: Option<String>,
    package_photo: Option<String>,
    weight_grams: u32,
    size_cm: Option<[u32; 3]>,
}

/// `PUT /api/send/orders/{order_id}/contents`: inspection (验视) and the
/// quote. A refusal names its rule and is recorded.
pub async fn contents(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiPath(order_id): ApiPath<i64>,
    ApiJson(body): ApiJson<ContentsRequest>,
) -> ApiResult {
    if body.declarations.len() > 8 {
        return Err(AppError::new(Code::BodyInvalid)
            .with("field", "declarations")
            .with_detail("at most 8 declarations")
            .into());
    }
    let order = state
        .app
        .set_send_contents(
            &sender,
            order_id,
            OrderContents {
                category: body.category,
                evidence: Evidence {
                    package_photo: body.package_photo,
                    document_photo: body.document_photo,
                    declarations: body.declarations,
                },
                weight_grams: body.weight_grams,
                size_cm: body.size_cm.map(|[l, w, h]| (l, w, h)),
            },
        )
        .await?;
    ok(OrderView::from(&order))
}

/// `POST /api/send/orders/{order_id}/photos`: the photo itself as the body
/// (JPEG, PNG or WebP, read from its bytes; at most
/// `app::sending::PHOTO_BYTES_MAX`), kept sealed; the answer names it for
/// the contents' evidence.
pub async fn photo(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiPath(order_id): ApiPath<i64>,
    body: Bytes,
) -> ApiResult {
    let reference = state
        .app
        .upload_send_photo(&sender, order_id, &body)
        .await?;
    ok(json!({ "photo": reference }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// With `return_code`: the platform that prepays a return.
    platform: Option<Platform>,
    return_code: Option<String>,
}

/// `POST /api/send/orders/{order_id}/submit`: a waybill number from the
/// pool; then a QR payment, or acceptance at once with a platform's return
/// code.
pub async fn submit(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiPath(order_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SubmitRequest>,
) -> ApiResult {
    let payer = match (body.platform, body.return_code) {
        (None, None) => Payer::Sender,
        (Some(platform), Some(code)) => Payer::platform(platform, &code)
            .map_err(|error| AppError::new(Code::SendReturnCodeInvalid).with_detail(error))?,
        _ => {
            return Err(AppError::new(Code::SendReturnCodeInvalid)
                .with_detail("platform and return_code come together, or neither")
                .into());
        }
    };
    let started = state
        .app
        .submit_send_order(&sender, order_id, payer)
        .await?;
    ok(json!({
        "order": OrderView::from(&started.order),
        "payment": started.payment.as_ref().map(PaymentView::from),
    }))
}

/// `POST /api/send/orders/{order_id}/payments`: another QR code (the first
/// was lost or ran out); whichever is paid first pays the order.
pub async fn pay_again(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiPath(order_id): ApiPath<i64>,
) -> ApiResult {
    let payment = state.app.start_payment(&sender, order_id).await?;
    ok(PaymentView::from(&payment))
}

pub async fn cancel(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiPath(order_id): ApiPath<i64>,
) -> ApiResult {
    let order = state.app.cancel_send_order(&sender, order_id).await?;
    ok(OrderView::from(&order))
}

// ---- the label ----

async fn own_label(
    state: &AppState,
    sender: &SenderRecord,
    order_id: i64,
) -> Result<SendLabel, ApiError> {
    Ok(state.app.send_label(sender, order_id).await?)
}

pub async fn label(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiPath(order_id): ApiPath<i64>,
) -> ApiResult {
    ok(own_label(&state, &sender, order_id).await?)
}

fn file(content_type: &str, name: String, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The label for a printer: ZPL II (Zebra and compatibles), TSPL (TSC and
/// most kiosk printers, text in GB 18030) or PDF (any printer, 76×130 mm).
pub async fn label_file(
    State(state): State<AppState>,
    SenderCaller(sender, _): SenderCaller,
    ApiPath((order_id, format)): ApiPath<(i64, String)>,
) -> Result<Response, ApiError> {
    let format = app::sending::LabelFormat::parse(&format)?;
    let label = own_label(&state, &sender, order_id).await?;
    Ok(file(
        format.content_type(),
        format.file_name(&label),
        format.render(&label),
    ))
}

// ---- public: quote and catalogue ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteQuery {
    from: String,
    to: String,
    weight_grams: u32,
    size: Option<String>,
    category: Option<String>,
}

/// `GET /api/send/quote`: the price today by the tariff in force (the same
/// figure `yizhan send quote` prints and an order is charged).
pub async fn quote(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<QuoteQuery>,
) -> ApiResult {
    let size = query
        .size
        .as_deref()
        .map(domain::sending::tariff::parse_size)
        .transpose()
        .map_err(|error| AppError::new(Code::SendSizeInvalid).with_detail(error))?;
    let category = query.category.as_deref().filter(|c| c.len() <= 64);
    ok(state
        .app
        .send_quote(&query.from, &query.to, query.weight_grams, size, category)?)
}

/// `GET /api/send/catalogue`: the inspection catalogue (收寄验视), each
/// category with its rule: allowed, prohibited (naming the rule) or
/// restricted (naming what it needs).
pub async fn catalogue() -> ApiResult {
    let rows: Vec<Value> = inspection::CATALOGUE
        .iter()
        .map(|category| {
            let (rule, rule_zh, needs) = match category.rule {
                Rule::Allowed => ("allowed", None, None),
                Rule::Prohibited { rule_zh, .. } => ("prohibited", Some(rule_zh), None),
                Rule::Restricted { needs } => ("restricted", None, Some(needs)),
            };
            json!({
                "code": category.code,
                "name_zh": category.name_zh,
                "name_en": category.name_en,
                "rule": rule,
                "rule_zh": rule_zh,
                "needs": needs,
                "needs_zh": needs.map(Need::text_zh),
            })
        })
        .collect();
    ok(rows)
}

// ---- county staff: the kiosk fleet's daily report ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    day: Option<NaiveDate>,
}

/// `GET /api/kiosks/report`: the fleet's daily report (每日通报) for a
/// Shanghai day, default yesterday; county staff and the administrator.
pub async fn kiosk_report(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ReportQuery>,
    Caller(principal): Caller,
) -> ApiResult {
    let today = state.app.today();
    let day = query
        .day
        .unwrap_or_else(|| today.pred_opt().unwrap_or(today));
    ok(state.app.kiosk_report(&principal, day).await?)
}

// ---- the code limiter ----

/// Token buckets for `POST /api/send/code`: each client address may ask a
/// code about once a minute after a burst of five, and everyone together a
/// few a second, so nobody turns the endpoint into a text-message pump.
/// The use case's own limit (five an hour per phone) still holds. Real
/// time: this guards the process, it is not a business rule.
pub struct CodeLimiter(crate::tracking::Limiter);

impl Default for CodeLimiter {
    fn default() -> Self {
        CodeLimiter(crate::tracking::Limiter::new(crate::tracking::Rates {
            client_burst: 5.0,
            client_per_second: 1.0 / 60.0,
            all_burst: 60.0,
            all_per_second: 5.0,
        }))
    }
}

impl CodeLimiter {
    pub fn allow(&self, client: Option<std::net::IpAddr>) -> Result<(), std::time::Duration> {
        self.0.allow(client)
    }
}

/// The request bodies of the sending routes, for the OpenAPI document.
pub fn request_schemas() -> serde_json::Map<String, Value> {
    let documents: Vec<&str> = DocumentKind::ALL.iter().map(|k| k.code()).collect();
    let platforms: Vec<&str> = Platform::ALL.iter().map(|p| p.code()).collect();
    let needs = [
        Need::PrescriptionOrInvoicePhoto,
        Need::LiquidDeclaration,
        Need::BatteryDeclaration,
        Need::FoodDeclaration,
    ]
    .map(Need::code);
    let schemas = json!({
        "SendCodeRequest": {"type": "object", "required": ["phone"], "properties": {
            "phone": {"type": "string", "maxLength": 32, "example": "13812345678", "description": "A mainland mobile number"}}},
        "SendSessionRequest": {"type": "object", "required": ["phone", "code"], "properties": {
            "phone": {"type": "string", "maxLength": 32},
            "code": {"type": "string", "pattern": "^[0-9]{6}$", "description": "The six digits texted; 5 minutes, 5 tries"}}},
        "SendIdentity": {"type": "object", "required": ["kind", "number", "name"], "properties": {
            "kind": {"type": "string", "enum": documents},
            "number": {"type": "string", "maxLength": 64, "description": "The document's number; a 居民身份证 is checked by its GB 11643 check character"},
            "name": {"type": "string", "maxLength": domain::limits::NAME_CHARS_MAX}}},
        "SendPartyInput": {"type": "object", "description": "Either address_id alone (an entry of GET /api/send/addresses) or all of name, phone, division and detail", "properties": {
            "address_id": {"type": "integer", "format": "int64"},
            "name": {"type": "string", "maxLength": domain::limits::NAME_CHARS_MAX},
            "phone": {"type": "string", "maxLength": 32},
            "division": {"type": "string", "pattern": "^[0-9]{6,12}$", "description": "A division code at county level or below (NBS 2023)"},
            "detail": {"type": "string", "maxLength": domain::limits::ADDRESS_CHARS_MAX}}},
        "SendNewOrder": {"type": "object", "required": ["from", "to"], "properties": {
            "from": {"$ref": "#/components/schemas/SendPartyInput"},
            "to": {"$ref": "#/components/schemas/SendPartyInput"},
            "kiosk": {"type": "string", "maxLength": app::sending::KIOSK_CODE_CHARS_MAX, "description": "The kiosk's code from its QR link, when the order starts at a kiosk"}}},
        "SendContents": {"type": "object", "required": ["category", "weight_grams"], "properties": {
            "category": {"type": "string", "maxLength": 64, "description": "A code of GET /api/send/catalogue"},
            "declarations": {"type": "array", "maxItems": 8, "items": {"type": "string", "enum": needs}},
            "document_photo": {"type": "string", "maxLength": inspection::PHOTO_REF_CHARS_MAX, "description": "photo:{id} from POST …/photos of this order (a medicine's prescription or invoice)"},
            "package_photo": {"type": "string", "maxLength": inspection::PHOTO_REF_CHARS_MAX, "description": "photo:{id} of the open package"},
            "weight_grams": {"type": "integer", "minimum": 1, "maximum": domain::county::WEIGHT_GRAMS_MAX},
            "size_cm": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "integer", "minimum": 1, "maximum": 300}}}},
        "SendSubmit": {"type": "object", "properties": {
            "platform": {"type": "string", "enum": platforms, "description": "With return_code: the platform that prepays a return"},
            "return_code": {"type": "string", "minLength": 6, "maxLength": domain::sending::order::RETURN_CODE_CHARS_MAX}}},
        "PresaleOrders": {"type": "object", "required": ["orders"], "properties": {"orders": {"type": "array", "minItems": 1, "maxItems": PRESALE_ORDERS_PER_REQUEST_MAX, "items": {
            "type": "object", "required": ["order_no", "phone", "items", "amount_fen", "pickup"], "properties": {
                "order_no": {"type": "string", "maxLength": 64, "description": "The shop's order number; unique in the campaign (a repeat is left as it is)"},
                "phone": {"type": "string", "maxLength": 32, "description": "The buyer's mobile"},
                "items": {"type": "string", "maxLength": 200},
                "amount_fen": {"type": "integer", "format": "int64", "minimum": 0},
                "pickup": {"type": "string", "maxLength": 64, "description": "A station's number or whole name, or 送货上门 / home"},
                "name": {"type": "string", "maxLength": domain::limits::NAME_CHARS_MAX},
                "address": {"type": "string", "maxLength": domain::limits::ADDRESS_CHARS_MAX, "description": "Needed for home delivery"}}}}}},
        "PaymentNotice": {"type": "object", "description": "The provider's notice (the simulated provider's shape; a real provider's adapter reads its own). Signed in X-Payment-Signature.",
            "required": ["merchant_order_no", "amount_fen", "transaction_id", "trade_state", "paid_at_ms"], "properties": {
            "merchant_order_no": {"type": "string", "maxLength": 64, "example": "YZS12-000000042"},
            "amount_fen": {"type": "integer", "format": "int64"},
            "transaction_id": {"type": "string", "maxLength": 64},
            "trade_state": {"type": "string", "enum": ["SUCCESS"]},
            "paid_at_ms": {"type": "integer", "format": "int64", "description": "Unix milliseconds"}}},
    });
    match schemas {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

// ---- community pre-sale: a shop's orders over the API ----

/// One order as a shop's system sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresaleOrderInput {
    order_no: String,
    phone: String,
    items: String,
    amount_fen: i64,
    /// A station's number or whole name, or `送货上门` / `home`.
    pickup: String,
    name: Option<String>,
    /// Needed for home delivery.
    address: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresaleOrders {
    orders: Vec<PresaleOrderInput>,
}

/// Most orders one request carries; a bigger batch is sent in parts (the
/// file import's own bound is larger, for a file a person uploads once).
pub const PRESALE_ORDERS_PER_REQUEST_MAX: usize = 1_000;

/// `POST /api/presale/campaigns/{campaign_id}/orders`: a shop's system
/// pushes a campaign's orders (线上预售+线下自提). The same use case as the
/// file import: orders for a station are shelved there with a pickup code
/// and the arrival message, home deliveries listed; an order number the
/// campaign has is left as it is (a repeat changes nothing); each refused
/// order is named by its place in the list, the good ones are kept.
/// County staff and the administrator (a shop's integration is given a
/// county account).
pub async fn presale_orders(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(campaign_id): ApiPath<i64>,
    ApiJson(body): ApiJson<PresaleOrders>,
) -> ApiResult {
    if body.orders.is_empty() || body.orders.len() > PRESALE_ORDERS_PER_REQUEST_MAX {
        return Err(AppError::new(Code::BodyInvalid)
            .with("field", "orders")
            .with_detail(format!(
                "send 1 to {PRESALE_ORDERS_PER_REQUEST_MAX} orders a request"
            ))
            .into());
    }
    // The file import's grid: a header the parser knows, then one row per
    // order; the amount as yuan text, as a shop's file writes it.
    let mut grid = vec![
        [
            "order_no", "phone", "items", "amount", "pickup", "name", "address",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for order in body.orders {
        let sign = if order.amount_fen < 0 { "-" } else { "" };
        let fen = order.amount_fen.unsigned_abs();
        grid.push(vec![
            order.order_no,
            order.phone,
            order.items,
            format!("{sign}{}.{:02}", fen / 100, fen % 100),
            order.pickup,
            order.name.unwrap_or_default(),
            order.address.unwrap_or_default(),
        ]);
    }
    let outcome = state
        .app
        .import_presale_orders(&principal, campaign_id, &grid)
        .await?;
    ok(json!({
        "n_orders": outcome.n_orders,
        "n_new": outcome.n_new,
        "n_stored": outcome.n_stored,
        "n_home": outcome.n_home,
        "n_known": outcome.n_known,
        // Line 2 of the grid is the first order.
        "rejected": outcome.rejected.iter().map(|row| json!({
            "index": row.line.saturating_sub(2),
            "order_no": row.order_no,
            "reason": row.reason,
        })).collect::<Vec<_>>(),
    }))
}

/// `GET /api/presale/campaigns/{campaign_id}/report`: orders, stored,
/// waiting, picked up, home delivery and revenue, per station.
pub async fn presale_report(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(campaign_id): ApiPath<i64>,
) -> ApiResult {
    ok(state.app.presale_report(&principal, campaign_id).await?)
}

//! The kiosk's screen `/kiosk` (寄件宝, issue 14, branch kiosk-dev): a touch
//! page run on the kiosk, paired by county staff like the door terminal (a
//! device session for that kiosk, cookie `yz_kiosk_screen`, not a staff
//! login). A sender signs in with the phone and a one-time code (their own
//! session on this screen, cookie `yz_kiosk_sender`, 30 minutes), passes
//! the real-name check once, pastes both addresses, and the kiosk's devices
//! do the rest: the camera's package photo and the scale's weight go into
//! the inspection, the quote, payment by QR code, the label printed by the
//! kiosk's printer, and "put the parcel in the bin" until the bin reports
//! it. Every rule is the use cases'; each handler parses, calls the `App`,
//! renders. The screen refreshes itself (`<meta http-equiv="refresh">`)
//! while it waits for a device or a payment; no script but the demo's
//! payment button (`static/send.js`).
//!
//! Beside it, the centre's two buttons on a kiosk's page: register the
//! kiosk's devices, and pair this browser as the kiosk's screen.

use crate::centre::Operator;
use crate::i18n::Tr;
use crate::{
    Language, SESSION_COOKIE, WebError, WebState, cookie, csrf_matches, csrf_token, field, removal,
    render,
};
use app::AppError;
use app::county::print;
use app::kiosks::KioskRecord;
use app::sending::SenderRecord;
use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, body::Bytes, http::HeaderMap};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use domain::Phone;
use domain::sending::inspection::{self, Evidence, Rule};
use domain::sending::{DocumentKind, OrderState, Payer};
use serde::Deserialize;

/// The paired screen's device session.
pub const SCREEN_COOKIE: &str = "yz_kiosk_screen";
/// The sender signed in at this screen (not the phone's `yz_sender`).
pub const KIOSK_SENDER_COOKIE: &str = "yz_kiosk_sender";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/kiosk", get(home))
        .route("/kiosk/code", post(send_code))
        .route("/kiosk/verify", post(verify))
        .route("/kiosk/identity", post(identity))
        .route("/kiosk/orders", post(create))
        .route("/kiosk/orders/{order_id}", get(order_page))
        .route("/kiosk/orders/{order_id}/photo", post(photo))
        .route("/kiosk/orders/{order_id}/contents", post(contents))
        .route("/kiosk/orders/{order_id}/submit", post(submit))
        .route("/kiosk/orders/{order_id}/print", post(print_label))
        .route("/kiosk/done", post(done))
        .route("/kiosk/device/photo", post(device_photo))
        .route("/centre/kiosks/{id}/devices", post(register_devices))
        .route("/centre/kiosks/{id}/screen", post(pair_screen))
}

/// The paired screen: its kiosk, the sender signed in at it (if any) and
/// the CSRF token of its forms.
pub struct Screen {
    kiosk: KioskRecord,
    sender: Option<(SenderRecord, String)>,
    csrf: String,
    tr: Tr,
    token: String,
}

impl Screen {
    fn app_err(&self) -> impl Fn(AppError) -> WebError + use<> {
        let tr = self.tr;
        move |error| WebError::from_app(error, tr)
    }

    fn check(&self, state: &WebState, given: &str) -> Result<(), WebError> {
        if csrf_matches(&state.app.secrets.web_key, &screen_seed(&self.token), given) {
            Ok(())
        } else {
            Err(WebError::csrf(self.tr))
        }
    }

    fn sender(&self) -> Result<&SenderRecord, WebError> {
        self.sender
            .as_ref()
            .map(|(sender, _)| sender)
            .ok_or_else(|| {
                WebError::from_app(AppError::new(app::Code::SendSessionInvalid), self.tr)
            })
    }
}

fn screen_seed(token: &str) -> String {
    format!("kiosk-screen:{token}")
}

/// The screen, or `None` when this browser is not a paired kiosk screen.
pub struct MaybeScreen(Option<Screen>, Tr);

impl FromRequestParts<WebState> for MaybeScreen {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let tr = Tr(crate::i18n::from_cookie(
            jar.get(crate::LANG_COOKIE).map(Cookie::value),
        ));
        let Some(token) = jar.get(SCREEN_COOKIE).map(|c| c.value().to_string()) else {
            return Ok(MaybeScreen(None, tr));
        };
        let kiosk = match state.app.kiosk_screen(&token).await {
            Ok(kiosk) => kiosk,
            Err(AppError::Unauthenticated) => return Ok(MaybeScreen(None, tr)),
            Err(error) => return Err(WebError::from_app(error, tr).into_response()),
        };
        let sender = match jar.get(KIOSK_SENDER_COOKIE).map(|c| c.value().to_string()) {
            Some(sender_token) => state
                .app
                .sender_session(&sender_token)
                .await
                .ok()
                .map(|record| (record, sender_token)),
            None => None,
        };
        Ok(MaybeScreen(
            Some(Screen {
                csrf: csrf_token(&state.app.secrets.web_key, &screen_seed(&token)),
                kiosk,
                sender,
                tr,
                token,
            }),
            tr,
        ))
    }
}

impl MaybeScreen {
    fn paired(self) -> Result<Screen, WebError> {
        let tr = self.1;
        self.0
            .ok_or_else(|| WebError::from_app(AppError::Unauthenticated, tr))
    }
}

struct CategoryRow {
    code: &'static str,
    name: &'static str,
}

/// Everything one screen shows; `step` picks the part.
#[derive(Template)]
#[template(path = "kiosk/screen.html")]
struct ScreenPage {
    t: Tr,
    step: &'static str,
    kiosk: String,
    host: String,
    csrf: String,
    phone: String,
    demo_code: Option<String>,
    /// Seconds until the screen reloads itself while it waits.
    refresh: Option<u32>,
    order_id: i64,
    order_state: String,
    capture: String,
    capture_status: String,
    photo: Option<String>,
    weight: Option<u32>,
    categories: Vec<CategoryRow>,
    price: Option<String>,
    pay_qr: Option<String>,
    simulated: Option<(String, String)>,
    print: String,
    print_status: String,
    print_failed: Option<String>,
    waybill: String,
    dropped: bool,
}

impl ScreenPage {
    fn new(t: Tr, step: &'static str, screen: Option<&Screen>) -> ScreenPage {
        ScreenPage {
            t,
            step,
            kiosk: screen.map(|s| s.kiosk.code.clone()).unwrap_or_default(),
            host: screen
                .map(|s| s.kiosk.host_name.clone())
                .unwrap_or_default(),
            csrf: screen.map(|s| s.csrf.clone()).unwrap_or_default(),
            phone: String::new(),
            demo_code: None,
            refresh: None,
            order_id: 0,
            order_state: String::new(),
            capture: String::new(),
            capture_status: String::new(),
            photo: None,
            weight: None,
            categories: Vec::new(),
            price: None,
            pay_qr: None,
            simulated: None,
            print: String::new(),
            print_status: String::new(),
            print_failed: None,
            waybill: String::new(),
            dropped: false,
        }
    }
}

async fn home(State(_state): State<WebState>, screen: MaybeScreen) -> Response {
    let t = screen.1;
    let Some(screen) = screen.0 else {
        return render(ScreenPage::new(t, "unpaired", None));
    };
    let step = match &screen.sender {
        None => "phone",
        Some((sender, _)) if !sender.is_verified() => "identity",
        Some(_) => "addresses",
    };
    render(ScreenPage::new(t, step, Some(&screen)))
}

#[derive(Deserialize)]
struct PhoneForm {
    csrf: String,
    phone: String,
}

async fn send_code(
    State(state): State<WebState>,
    screen: MaybeScreen,
    Form(form): Form<PhoneForm>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    screen.check(&state, &form.csrf)?;
    let t = screen.tr;
    let phone = Phone::parse(field(t, &form.phone)?)
        .map_err(|_| WebError::from_app(AppError::new(app::Code::SendPhoneInvalid), t))?;
    let sent = state
        .app
        .request_send_code(&phone)
        .await
        .map_err(screen.app_err())?;
    let mut page = ScreenPage::new(t, "code", Some(&screen));
    page.phone = phone.full().to_string();
    page.demo_code = sent.demo_code;
    Ok(render(page))
}

#[derive(Deserialize)]
struct VerifyForm {
    csrf: String,
    phone: String,
    code: String,
}

async fn verify(
    State(state): State<WebState>,
    screen: MaybeScreen,
    jar: CookieJar,
    Form(form): Form<VerifyForm>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    screen.check(&state, &form.csrf)?;
    let t = screen.tr;
    let phone = Phone::parse(field(t, &form.phone)?)
        .map_err(|_| WebError::from_app(AppError::new(app::Code::SendPhoneInvalid), t))?;
    let sign_in = state
        .app
        .verify_send_code(&phone, field(t, &form.code)?)
        .await
        .map_err(screen.app_err())?;
    let jar = jar.add(cookie(
        &state,
        KIOSK_SENDER_COOKIE,
        sign_in.token,
        chrono::Duration::minutes(30),
    ));
    Ok((jar, Redirect::to("/kiosk")).into_response())
}

#[derive(Deserialize)]
struct IdentityForm {
    csrf: String,
    kind: String,
    name: String,
    number: String,
}

async fn identity(
    State(state): State<WebState>,
    screen: MaybeScreen,
    Form(form): Form<IdentityForm>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    screen.check(&state, &form.csrf)?;
    let t = screen.tr;
    let kind = DocumentKind::parse(&form.kind)
        .ok_or_else(|| WebError::from_app(AppError::new(app::Code::DocumentInvalid), t))?;
    state
        .app
        .verify_sender_identity(
            screen.sender()?,
            field(t, &form.name)?,
            kind,
            field(t, &form.number)?,
        )
        .await
        .map_err(screen.app_err())?;
    Ok(Redirect::to("/kiosk").into_response())
}

#[derive(Deserialize)]
struct AddressesForm {
    csrf: String,
    from_text: String,
    to_text: String,
}

/// Both pasted texts are read by smart paste and confirmed as read: a text
/// without a name, a mobile number or a division is refused with the
/// use case's reason, and the sender types it again.
async fn create(
    State(state): State<WebState>,
    screen: MaybeScreen,
    Form(form): Form<AddressesForm>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    screen.check(&state, &form.csrf)?;
    let t = screen.tr;
    let sender = screen.sender()?;
    let party = |text: &str| -> Result<app::sending::Party, WebError> {
        let parsed = state
            .app
            .parse_party(field(t, text)?)
            .map_err(screen.app_err())?;
        state
            .app
            .confirm_party(
                parsed.name.as_deref().unwrap_or_default(),
                &parsed
                    .phone
                    .map(|p| p.full().to_string())
                    .unwrap_or_default(),
                parsed.division.as_deref().unwrap_or_default(),
                &parsed.detail,
            )
            .map_err(screen.app_err())
    };
    let from = party(&form.from_text)?;
    let to = party(&form.to_text)?;
    let order = state
        .app
        .create_send_order_via(sender, "kiosk", Some(&screen.kiosk.code), from, to)
        .await
        .map_err(screen.app_err())?;
    Ok(Redirect::to(&format!("/kiosk/orders/{}", order.id)).into_response())
}

#[derive(Deserialize, Default)]
struct OrderQuery {
    #[serde(default)]
    capture: String,
    #[serde(default)]
    print: String,
}

fn command_id(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    .then_some(text)
}

async fn order_page(
    State(state): State<WebState>,
    screen: MaybeScreen,
    Path(order_id): Path<i64>,
    Query(query): Query<OrderQuery>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    let t = screen.tr;
    let app = &state.app;
    let sender = screen.sender()?;
    let detail = app
        .send_order_detail(sender, order_id)
        .await
        .map_err(screen.app_err())?;
    let order = &detail.order;
    if order.kiosk_id != Some(screen.kiosk.id) {
        return Err(WebError::from_app(AppError::NotFound("send order"), t));
    }
    let mut page = ScreenPage::new(t, "order", Some(&screen));
    page.order_id = order.id;
    page.order_state = if t.is_en() {
        order.state.name_en()
    } else {
        order.state.name_zh()
    }
    .into();
    page.waybill = order.waybill.clone().unwrap_or_default();
    page.price = order
        .price_fen
        .map(|fen| format!("{:.2}", fen.0 as f64 / 100.0));
    match order.state {
        OrderState::Draft => {
            if let Some(id) = command_id(&query.capture) {
                let capture = app
                    .kiosk_command_state(&screen.kiosk, id)
                    .await
                    .map_err(screen.app_err())?;
                page.capture = id.to_string();
                page.capture_status = capture.status.into();
                page.photo = capture.photo;
                if page.photo.is_none() && capture.status == "pending" {
                    page.refresh = Some(2);
                }
            }
            page.weight = app
                .kiosk_weight(&screen.kiosk)
                .await
                .ok()
                .and_then(|w| w.grams);
            page.categories = inspection::CATALOGUE
                .iter()
                .filter(|c| matches!(c.rule, Rule::Allowed))
                .map(|c| CategoryRow {
                    code: c.code,
                    name: if t.is_en() { c.name_en } else { c.name_zh },
                })
                .collect();
        }
        OrderState::AwaitingPayment => {
            let pending = detail.pending_payment();
            page.pay_qr = pending.map(|p| print::qr_svg(&p.qr_content));
            page.simulated = match pending {
                Some(payment) => app
                    .simulated_payment_callback(sender, &payment.merchant_order_no)
                    .await
                    .map_err(screen.app_err())?,
                None => None,
            };
            page.refresh = Some(3);
        }
        OrderState::Accepted | OrderState::Collected => {
            if let Some(id) = command_id(&query.print) {
                let printed = app
                    .kiosk_command_state(&screen.kiosk, id)
                    .await
                    .map_err(screen.app_err())?;
                page.print = id.to_string();
                page.print_status = printed.status.into();
                if printed.status == "failed" || printed.status == "expired" {
                    page.print_failed =
                        Some(printed.outcome.unwrap_or_else(|| printed.status.into()));
                }
            }
            page.dropped = app
                .kiosk_dropped(&screen.kiosk, sender, order.id)
                .await
                .map_err(screen.app_err())?
                .is_some();
            if page.print_status == "pending" || (page.print_status == "done" && !page.dropped) {
                page.refresh = Some(2);
            }
        }
        OrderState::Cancelled => {}
    }
    Ok(render(page))
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn photo(
    State(state): State<WebState>,
    screen: MaybeScreen,
    Path(order_id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    screen.check(&state, &form.csrf)?;
    let capture = state
        .app
        .kiosk_capture_photo(&screen.kiosk, screen.sender()?, order_id)
        .await
        .map_err(screen.app_err())?;
    Ok(Redirect::to(&format!("/kiosk/orders/{order_id}?capture={capture}")).into_response())
}

#[derive(Deserialize)]
struct ContentsForm {
    csrf: String,
    category: String,
    #[serde(default)]
    capture: String,
}

/// The inspection with what the devices gave: the scale's settled weight
/// (read now, by the use case) and the camera's photo of this capture.
async fn contents(
    State(state): State<WebState>,
    screen: MaybeScreen,
    Path(order_id): Path<i64>,
    Form(form): Form<ContentsForm>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    screen.check(&state, &form.csrf)?;
    let app = &state.app;
    let weight = app
        .kiosk_weight(&screen.kiosk)
        .await
        .map_err(screen.app_err())?;
    let photo = match command_id(&form.capture) {
        Some(id) => {
            app.kiosk_command_state(&screen.kiosk, id)
                .await
                .map_err(screen.app_err())?
                .photo
        }
        None => None,
    };
    app.set_send_contents(
        screen.sender()?,
        order_id,
        app::sending::OrderContents {
            category: field(screen.tr, &form.category)?.to_string(),
            evidence: Evidence {
                package_photo: photo,
                ..Evidence::default()
            },
            weight_grams: weight.grams.unwrap_or_default(),
            size_cm: None,
        },
    )
    .await
    .map_err(screen.app_err())?;
    Ok(Redirect::to(&format!(
        "/kiosk/orders/{order_id}?capture={}",
        command_id(&form.capture).unwrap_or_default()
    ))
    .into_response())
}

async fn submit(
    State(state): State<WebState>,
    screen: MaybeScreen,
    Path(order_id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    screen.check(&state, &form.csrf)?;
    state
        .app
        .submit_send_order(screen.sender()?, order_id, Payer::Sender)
        .await
        .map_err(screen.app_err())?;
    Ok(Redirect::to(&format!("/kiosk/orders/{order_id}")).into_response())
}

async fn print_label(
    State(state): State<WebState>,
    screen: MaybeScreen,
    Path(order_id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    screen.check(&state, &form.csrf)?;
    let command = state
        .app
        .kiosk_print_label(&screen.kiosk, screen.sender()?, order_id)
        .await
        .map_err(screen.app_err())?;
    Ok(Redirect::to(&format!("/kiosk/orders/{order_id}?print={command}")).into_response())
}

/// The sender is done: their session at this screen ends.
async fn done(
    State(state): State<WebState>,
    screen: MaybeScreen,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let screen = screen.paired()?;
    screen.check(&state, &form.csrf)?;
    // Ended on the server too: the kiosk is a public machine, and the
    // next person at it must not inherit the session.
    if let Some((_, token)) = &screen.sender {
        state
            .app
            .end_sender_session(token)
            .await
            .map_err(screen.app_err())?;
    }
    Ok((
        jar.remove(removal(KIOSK_SENDER_COOKIE)),
        Redirect::to("/kiosk"),
    )
        .into_response())
}

/// The kiosk camera's upload (`docs/devices.md`, "Kiosks"): the JPEG as
/// the body, the capture command's id in `X-Yizhan-Command` and the
/// camera's signature in `X-Yizhan-Signature`. Answers 201 with the
/// photo's reference, or the refusal as JSON.
async fn device_photo(
    State(state): State<WebState>,
    Language(t): Language,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(128)
            .collect::<String>()
    };
    let reference = state
        .app
        .receive_kiosk_photo(
            &header("x-yizhan-command"),
            &header("x-yizhan-signature"),
            &body,
        )
        .await
        .map_err(|e| WebError::from_app(e, t).json())?;
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(serde_json::json!({ "photo": reference })),
    )
        .into_response())
}

async fn register_devices(
    State(state): State<WebState>,
    operator: Operator,
    Path(kiosk_id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    state
        .app
        .register_kiosk_devices(&operator.principal, kiosk_id)
        .await
        .map_err(operator.app_err())?;
    Ok(Redirect::to(&format!("/centre/kiosks/{kiosk_id}#devices")).into_response())
}

/// Turns this browser into the kiosk's screen: it gets the screen's token
/// and loses the staff session, so a sender at the kiosk can never reach
/// the centre.
async fn pair_screen(
    State(state): State<WebState>,
    operator: Operator,
    Path(kiosk_id): Path<i64>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let token = state
        .app
        .pair_kiosk_screen(&operator.principal, kiosk_id)
        .await
        .map_err(operator.app_err())?;
    state.app.sign_out(&operator.token).await.ok();
    let jar = jar
        .remove(removal(SESSION_COOKIE))
        .remove(removal(KIOSK_SENDER_COOKIE))
        .add(cookie(
            &state,
            SCREEN_COOKIE,
            token,
            chrono::Duration::days(365),
        ));
    Ok((jar, Redirect::to("/kiosk")).into_response())
}

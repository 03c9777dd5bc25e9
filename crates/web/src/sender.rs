//! The sender's own pages at `/send` (issue 14, branch send-flow): sign in
//! with the phone and a one-time code, paste the two addresses and confirm
//! what was read (or pick them from the address book), the real-name form
//! on the first order, the contents from the inspection catalogue with the
//! photo or declaration a restricted one needs, the quote, payment by QR
//! code (a platform's return code prepays), the sender's orders, cancel
//! before collection, and the sender's own privacy label.
//!
//! Senders are not users: their session is its own cookie (`yz_sender`,
//! HttpOnly, SameSite=Lax), separate from staff sessions, and every form
//! carries a CSRF token derived from it (before sign-in, from the
//! pre-session cookie as the console's sign-in does). Phone-first layout;
//! Chinese first, English by the usual switch.

use crate::i18n::Tr;
use crate::{
    Language, WebError, WebState, cookie, csrf_matches, csrf_token, field, local, removal, render,
};
use app::county::print;
use app::sending::{
    AddressEntry, OrderContents, OrderDetail, OrderRecord, ParsedParty, Party, SendLabel,
    SenderRecord,
};
use app::{AppError, Code};
use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Multipart, Path, Query, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, extract::DefaultBodyLimit};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use domain::Phone;
use domain::sending::inspection::{self, Evidence, Need, Rule};
use domain::sending::{DocumentKind, OrderState, Payer, Platform};
use serde::Deserialize;

/// The sender's session cookie: not the staff's `yz_session`.
pub const SENDER_COOKIE: &str = "yz_sender";
/// The kiosk whose QR code opened `/send` (`/send?kiosk=CODE`), until the
/// order is made.
pub const KIOSK_COOKIE: &str = "yz_kiosk";
/// The contents form carries a photo; a little over the photo's limit so
/// the use case, not the framework, says what is wrong with a big one.
const CONTENTS_BODY_MAX: usize = app::sending::PHOTO_BYTES_MAX + 64 * 1024;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/send", get(home))
        .route("/send/login", get(login_page))
        .route("/send/code", post(send_code))
        .route("/send/verify", post(verify))
        .route("/send/logout", post(logout))
        .route("/send/identity", post(identity))
        .route("/send/new", get(new_page).post(parse))
        .route("/send/orders", post(create))
        .route("/send/orders/{order_id}", get(order_page))
        .route(
            "/send/orders/{order_id}/contents",
            post(contents).layer(DefaultBodyLimit::max(CONTENTS_BODY_MAX)),
        )
        .route("/send/orders/{order_id}/submit", post(submit))
        .route("/send/orders/{order_id}/pay", post(pay_again))
        .route("/send/orders/{order_id}/cancel", post(cancel))
        .route("/send/orders/{order_id}/label", get(label))
        // label.zpl, label.tspl, label.pdf (`app::sending::LabelFormat`).
        .route("/send/orders/{order_id}/{label_file}", get(label_file))
        .route("/static/send.js", get(script))
}

/// A signed-in sender, from the sender cookie; anyone else is sent to the
/// sign-in page.
pub struct Sender {
    pub record: SenderRecord,
    pub csrf: String,
    pub tr: Tr,
    token: String,
}

impl Sender {
    fn app_err(&self) -> impl Fn(AppError) -> WebError + use<> {
        let tr = self.tr;
        move |error| WebError::from_app(error, tr)
    }

    fn check(&self, state: &WebState, given: &str) -> Result<(), WebError> {
        if csrf_matches(&state.app.secrets.web_key, &sender_seed(&self.token), given) {
            Ok(())
        } else {
            Err(WebError::csrf(self.tr))
        }
    }
}

/// The CSRF seed of a sender session: its own prefix, so a staff
/// session's token never passes for a sender's and back.
fn sender_seed(token: &str) -> String {
    format!("sender:{token}")
}

impl FromRequestParts<WebState> for Sender {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let tr = Tr(crate::i18n::from_cookie(
            jar.get(crate::LANG_COOKIE).map(Cookie::value),
        ));
        let to_login = || Redirect::to("/send/login").into_response();
        let Some(token) = jar.get(SENDER_COOKIE).map(|c| c.value().to_string()) else {
            return Err(to_login());
        };
        match state.app.sender_session(&token).await {
            Ok(record) => Ok(Sender {
                csrf: csrf_token(&state.app.secrets.web_key, &sender_seed(&token)),
                record,
                tr,
                token,
            }),
            Err(error) if error.code() == Code::SendSessionInvalid => Err(to_login()),
            Err(error) => Err(WebError::from_app(error, tr).into_response()),
        }
    }
}

// ---- signing in ----

#[derive(Template)]
#[template(path = "send/login.html")]
struct LoginPage {
    t: Tr,
    csrf: String,
    /// Set once a code was sent: the page asks for it.
    phone: Option<String>,
    /// The demo shows the code (there is no SMS gateway in a demo).
    demo_code: Option<String>,
    kiosk: Option<String>,
}

fn pre_csrf(state: &WebState, seed: &str) -> String {
    csrf_token(&state.app.secrets.web_key, &format!("pre:{seed}"))
}

fn check_pre(state: &WebState, seed: &str, given: &str, t: Tr) -> Result<(), WebError> {
    if csrf_matches(&state.app.secrets.web_key, &format!("pre:{seed}"), given) {
        Ok(())
    } else {
        Err(WebError::csrf(t))
    }
}

#[derive(Deserialize)]
struct KioskQuery {
    kiosk: Option<String>,
}

/// Remembers the kiosk whose QR code opened the page, for the next order.
fn with_kiosk(
    state: &WebState,
    jar: CookieJar,
    kiosk: Option<&str>,
    t: Tr,
) -> Result<CookieJar, WebError> {
    match kiosk {
        Some(code) => {
            let code = app::sending::kiosk_code(code).map_err(|e| WebError::from_app(e, t))?;
            Ok(jar.add(cookie(
                state,
                KIOSK_COOKIE,
                code,
                chrono::Duration::hours(state.app.settings.sending.session_hours),
            )))
        }
        None => Ok(jar),
    }
}

async fn home(
    State(state): State<WebState>,
    Language(t): Language,
    Query(query): Query<KioskQuery>,
    jar: CookieJar,
    sender: Option<Sender>,
) -> Result<Response, WebError> {
    let jar = with_kiosk(&state, jar, query.kiosk.as_deref(), t)?;
    let Some(sender) = sender else {
        return Ok((jar, Redirect::to("/send/login")).into_response());
    };
    let orders = state
        .app
        .sender_orders(&sender.record, None, None)
        .await
        .map_err(sender.app_err())?;
    let kiosk = jar.get(KIOSK_COOKIE).map(|c| c.value().to_string());
    Ok((
        jar,
        render(HomePage {
            t: sender.tr,
            csrf: sender.csrf.clone(),
            phone: sender.record.phone.masked(),
            verified: sender.record.document_masked.clone(),
            orders: orders.iter().map(|o| OrderRow::of(o, sender.tr)).collect(),
            kiosk,
        }),
    )
        .into_response())
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Sender
where
    WebState: axum::extract::FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let state = <WebState as axum::extract::FromRef<S>>::from_ref(state);
        match <Sender as FromRequestParts<WebState>>::from_request_parts(parts, &state).await {
            Ok(sender) => Ok(Some(sender)),
            Err(response) if response.status().is_redirection() => Ok(None),
            Err(response) => Err(response),
        }
    }
}

async fn login_page(
    State(state): State<WebState>,
    Language(t): Language,
    Query(query): Query<KioskQuery>,
    jar: CookieJar,
) -> Result<Response, WebError> {
    let jar = with_kiosk(&state, jar, query.kiosk.as_deref(), t)?;
    let (jar, seed) = crate::console::pre_session(&state, jar);
    let kiosk = jar.get(KIOSK_COOKIE).map(|c| c.value().to_string());
    Ok((
        jar,
        render(LoginPage {
            t,
            csrf: pre_csrf(&state, &seed),
            phone: None,
            demo_code: None,
            kiosk,
        }),
    )
        .into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    phone: String,
    csrf: String,
}

fn phone_of(t: Tr, text: &str) -> Result<Phone, WebError> {
    Phone::parse(field(t, text)?.trim())
        .map_err(|_| WebError::from_app(AppError::new(Code::SendPhoneInvalid), t))
}

async fn send_code(
    State(state): State<WebState>,
    Language(t): Language,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let (jar, seed) = crate::console::pre_session(&state, jar);
    check_pre(&state, &seed, &form.csrf, t)?;
    let phone = phone_of(t, &form.phone)?;
    let sent = state
        .app
        .request_send_code(&phone)
        .await
        .map_err(|e| WebError::from_app(e, t))?;
    let kiosk = jar.get(KIOSK_COOKIE).map(|c| c.value().to_string());
    Ok((
        jar,
        render(LoginPage {
            t,
            csrf: pre_csrf(&state, &seed),
            phone: Some(phone.full()),
            demo_code: sent.demo_code,
            kiosk,
        }),
    )
        .into_response())
}

#[derive(Deserialize)]
struct VerifyForm {
    phone: String,
    code: String,
    csrf: String,
}

async fn verify(
    State(state): State<WebState>,
    Language(t): Language,
    jar: CookieJar,
    Form(form): Form<VerifyForm>,
) -> Result<Response, WebError> {
    let (jar, seed) = crate::console::pre_session(&state, jar);
    check_pre(&state, &seed, &form.csrf, t)?;
    let phone = phone_of(t, &form.phone)?;
    let code = field(t, &form.code)?;
    let signed_in = state
        .app
        .verify_send_code(&phone, code)
        .await
        .map_err(|e| WebError::from_app(e, t))?;
    let jar = jar.add(cookie(
        &state,
        SENDER_COOKIE,
        signed_in.token,
        chrono::Duration::hours(state.app.settings.sending.session_hours),
    ));
    Ok((jar, Redirect::to("/send")).into_response())
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn logout(
    State(state): State<WebState>,
    sender: Sender,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    sender.check(&state, &form.csrf)?;
    // Ended on the server too: a copy of the cookie opens nothing now.
    state
        .app
        .end_sender_session(&sender.token)
        .await
        .map_err(sender.app_err())?;
    let jar = jar.remove(removal(SENDER_COOKIE));
    Ok((jar, Redirect::to("/send/login")).into_response())
}

// ---- the sender's orders ----

/// One order as the lists show it: the other party's name and phone
/// masked (a list is glanced at over a shoulder).
struct OrderRow {
    id: i64,
    state: &'static str,
    state_code: &'static str,
    to: String,
    waybill: String,
    price: String,
    created: String,
}

impl OrderRow {
    fn of(order: &OrderRecord, t: Tr) -> OrderRow {
        OrderRow {
            id: order.id,
            state: state_name(order.state, t),
            state_code: order.state.code(),
            to: format!(
                "{} {}",
                app::sending::mask_name(&order.to.name),
                order.to.phone.masked()
            ),
            waybill: order.waybill.clone().unwrap_or_default(),
            price: order
                .price_fen
                .map(|fen| fen.to_string())
                .unwrap_or_default(),
            created: local(order.created_at),
        }
    }
}

pub(crate) fn state_name(state: OrderState, t: Tr) -> &'static str {
    if t.is_en() {
        state.name_en()
    } else {
        state.name_zh()
    }
}

#[derive(Template)]
#[template(path = "send/home.html")]
struct HomePage {
    t: Tr,
    csrf: String,
    phone: String,
    /// The masked document number once real-name checked.
    verified: Option<String>,
    orders: Vec<OrderRow>,
    kiosk: Option<String>,
}

// ---- a new order: paste, confirm ----

#[derive(Template)]
#[template(path = "send/new.html")]
struct NewPage {
    t: Tr,
    csrf: String,
    senders: Vec<BookRow>,
    recipients: Vec<BookRow>,
}

/// An address book entry as the picker lists it (phone masked).
struct BookRow {
    id: i64,
    text: String,
}

fn book_rows(book: &[AddressEntry], role: &str) -> Vec<BookRow> {
    book.iter()
        .filter(|entry| entry.role == role)
        .map(|entry| BookRow {
            id: entry.id,
            text: format!(
                "{} {} {}",
                entry.party.name,
                entry.party.phone.masked(),
                entry.party.address
            ),
        })
        .collect()
}

async fn new_page(State(state): State<WebState>, sender: Sender) -> Result<Response, WebError> {
    let book = state
        .app
        .send_address_book(&sender.record)
        .await
        .map_err(sender.app_err())?;
    Ok(render(NewPage {
        t: sender.tr,
        csrf: sender.csrf.clone(),
        senders: book_rows(&book, "sender"),
        recipients: book_rows(&book, "recipient"),
    }))
}

#[derive(Deserialize)]
struct PasteForm {
    csrf: String,
    #[serde(default)]
    from_text: String,
    #[serde(default)]
    to_text: String,
    #[serde(default)]
    from_book: String,
    #[serde(default)]
    to_book: String,
}

/// A party for the person to confirm, each field editable.
struct Draft {
    name: String,
    phone: String,
    division: String,
    places: String,
    detail: String,
    /// "high", "medium", "low", "none", or "book".
    confidence: String,
    ambiguous: bool,
}

impl Draft {
    fn parsed(parsed: ParsedParty) -> Draft {
        Draft {
            name: parsed.name.unwrap_or_default(),
            phone: parsed.phone.map(|p| p.full()).unwrap_or_default(),
            division: parsed.division.unwrap_or_default(),
            places: parsed.division_names.concat(),
            detail: parsed.detail,
            confidence: parsed.confidence,
            ambiguous: parsed.ambiguous,
        }
    }

    fn booked(party: &Party) -> Draft {
        let places = app::sending::division_place(&party.division);
        Draft {
            name: party.name.clone(),
            phone: party.phone.full(),
            division: party.division.clone(),
            detail: party
                .address
                .strip_prefix(&places)
                .unwrap_or(&party.address)
                .to_string(),
            places,
            confidence: "book".into(),
            ambiguous: false,
        }
    }
}

#[derive(Template)]
#[template(path = "send/confirm.html")]
struct ConfirmPage {
    t: Tr,
    csrf: String,
    /// ("from" or "to", what was read).
    parties: Vec<(&'static str, Draft)>,
}

async fn parse(
    State(state): State<WebState>,
    sender: Sender,
    Form(form): Form<PasteForm>,
) -> Result<Response, WebError> {
    sender.check(&state, &form.csrf)?;
    let book = state
        .app
        .send_address_book(&sender.record)
        .await
        .map_err(sender.app_err())?;
    let draft = |text: &str, picked: &str| -> Result<Draft, WebError> {
        if let Ok(id) = picked.trim().parse::<i64>() {
            // Only the sender's own book is searched: another's id is
            // simply not there.
            let entry = book
                .iter()
                .find(|entry| entry.id == id)
                .ok_or_else(|| WebError::from_app(AppError::NotFound("address"), sender.tr))?;
            return Ok(Draft::booked(&entry.party));
        }
        state
            .app
            .parse_party(text)
            .map(Draft::parsed)
            .map_err(sender.app_err())
    };
    let from = draft(&form.from_text, &form.from_book)?;
    let to = draft(&form.to_text, &form.to_book)?;
    Ok(render(ConfirmPage {
        t: sender.tr,
        csrf: sender.csrf.clone(),
        parties: vec![("from", from), ("to", to)],
    }))
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    from_name: String,
    from_phone: String,
    from_division: String,
    from_detail: String,
    to_name: String,
    to_phone: String,
    to_division: String,
    to_detail: String,
}

async fn create(
    State(state): State<WebState>,
    sender: Sender,
    jar: CookieJar,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    sender.check(&state, &form.csrf)?;
    let t = sender.tr;
    let party = |name: &str, phone: &str, division: &str, detail: &str| {
        state
            .app
            .confirm_party(
                field(t, name)?,
                field(t, phone)?,
                field(t, division)?,
                field(t, detail)?,
            )
            .map_err(sender.app_err())
    };
    let from = party(
        &form.from_name,
        &form.from_phone,
        &form.from_division,
        &form.from_detail,
    )?;
    let to = party(
        &form.to_name,
        &form.to_phone,
        &form.to_division,
        &form.to_detail,
    )?;
    let kiosk = jar.get(KIOSK_COOKIE).map(|c| c.value().to_string());
    let order = state
        .app
        .create_send_order_via(&sender.record, "phone", kiosk.as_deref(), from, to)
        .await
        .map_err(sender.app_err())?;
    // The kiosk is on this order now; the next one starts from its own QR.
    let jar = jar.remove(removal(KIOSK_COOKIE));
    Ok((jar, Redirect::to(&format!("/send/orders/{}", order.id))).into_response())
}

// ---- one order ----

/// A catalogue entry for the contents picker.
struct CategoryRow {
    code: &'static str,
    name: &'static str,
    /// What the rule says, shown beside the choice.
    note: &'static str,
    prohibited: bool,
}

fn catalogue(t: Tr) -> Vec<CategoryRow> {
    inspection::CATALOGUE
        .iter()
        .map(|category| {
            let (note, prohibited) = match category.rule {
                Rule::Allowed => ("", false),
                Rule::Prohibited { .. } => (t.get("send.prohibited"), true),
                Rule::Restricted { needs } => (
                    if t.is_en() {
                        needs.text_en()
                    } else {
                        needs.text_zh()
                    },
                    false,
                ),
            };
            CategoryRow {
                code: category.code,
                name: if t.is_en() {
                    category.name_en
                } else {
                    category.name_zh
                },
                note,
                prohibited,
            }
        })
        .collect()
}

/// The quote's parts, each a line for the sender to read.
struct QuoteLine {
    label: String,
    amount: String,
}

fn quote_lines(order: &OrderRecord, t: Tr) -> Vec<QuoteLine> {
    let Some(quote) = order
        .quote
        .clone()
        .and_then(|q| serde_json::from_value::<domain::sending::Quote>(q).ok())
    else {
        return Vec::new();
    };
    let zone = if t.is_en() {
        &quote.zone_name_en
    } else {
        &quote.zone_name_zh
    };
    let mut lines = vec![QuoteLine {
        label: format!(
            "{} {zone} · {} {} g",
            t.get("send.quote.first"),
            t.get("send.quote.billed"),
            quote.billed_grams
        ),
        amount: quote.first_fen.to_string(),
    }];
    if quote.steps > 0 {
        lines.push(QuoteLine {
            label: format!(
                "{} {} × {} g",
                t.get("send.quote.steps"),
                quote.steps,
                quote.step_grams
            ),
            amount: domain::Fen(quote.step_fen.0 * i64::from(quote.steps)).to_string(),
        });
    }
    for surcharge in &quote.surcharges {
        lines.push(QuoteLine {
            label: if t.is_en() {
                surcharge.name_en.clone()
            } else {
                surcharge.name_zh.clone()
            },
            amount: surcharge.fen.to_string(),
        });
    }
    if quote.minimum_applied {
        lines.push(QuoteLine {
            label: t.get("send.quote.minimum").to_string(),
            amount: String::new(),
        });
    }
    lines
}

struct EventRow {
    at: String,
    kind: String,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "send/order.html")]
struct OrderPage {
    t: Tr,
    csrf: String,
    id: i64,
    state: &'static str,
    state_code: &'static str,
    /// What the sender confirmed, their own, whole (they typed it).
    from: String,
    to: String,
    waybill: String,
    verified: Option<String>,
    editable: bool,
    quoted: bool,
    cancellable: bool,
    labelled: bool,
    category: String,
    weight_grams: String,
    quote: Vec<QuoteLine>,
    price: String,
    categories: Vec<CategoryRow>,
    documents: Vec<(&'static str, &'static str)>,
    platforms: Vec<(&'static str, &'static str)>,
    /// The QR code of the pending payment, as SVG, and its amount.
    pay_qr: Option<String>,
    pay_amount: String,
    /// The simulated provider's callback (body, signature) for the demo's
    /// pay button; never with a real provider.
    simulated: Option<(String, String)>,
    events: Vec<EventRow>,
}

fn party_text(party: &Party) -> String {
    format!("{} {} {}", party.name, party.phone.full(), party.address)
}

async fn order_page(
    State(state): State<WebState>,
    sender: Sender,
    Path(order_id): Path<i64>,
) -> Result<Response, WebError> {
    let t = sender.tr;
    let detail: OrderDetail = state
        .app
        .send_order_detail(&sender.record, order_id)
        .await
        .map_err(sender.app_err())?;
    let order = &detail.order;
    let pending = detail
        .pending_payment()
        .filter(|_| order.state == OrderState::AwaitingPayment);
    let simulated = match pending {
        Some(payment) => state
            .app
            .simulated_payment_callback(&sender.record, &payment.merchant_order_no)
            .await
            .map_err(sender.app_err())?,
        None => None,
    };
    let page = OrderPage {
        t,
        csrf: sender.csrf.clone(),
        id: order.id,
        state: state_name(order.state, t),
        state_code: order.state.code(),
        from: party_text(&order.from),
        to: party_text(&order.to),
        waybill: order.waybill.clone().unwrap_or_default(),
        verified: sender.record.document_masked.clone(),
        editable: order.state.editable(),
        quoted: order.price_fen.is_some(),
        cancellable: order
            .state
            .apply(domain::sending::OrderAction::Cancel)
            .is_ok(),
        labelled: matches!(order.state, OrderState::Accepted | OrderState::Collected),
        category: order
            .category
            .as_deref()
            .and_then(inspection::category)
            .map(|c| if t.is_en() { c.name_en } else { c.name_zh })
            .unwrap_or_default()
            .to_string(),
        weight_grams: order
            .weight_grams
            .map(|g| g.to_string())
            .unwrap_or_default(),
        quote: quote_lines(order, t),
        price: order
            .price_fen
            .map(|fen| fen.to_string())
            .unwrap_or_default(),
        categories: catalogue(t),
        documents: DocumentKind::ALL
            .iter()
            .map(|kind| {
                (
                    kind.code(),
                    if t.is_en() {
                        kind.name_en()
                    } else {
                        kind.name_zh()
                    },
                )
            })
            .collect(),
        platforms: Platform::ALL
            .iter()
            .map(|p| (p.code(), p.name_zh()))
            .collect(),
        pay_qr: pending.map(|p| print::qr_svg(&p.qr_content)),
        pay_amount: pending.map(|p| p.amount.to_string()).unwrap_or_default(),
        simulated,
        events: detail
            .events
            .iter()
            .map(|event| EventRow {
                at: local(event.at),
                kind: event.kind.clone(),
                state: state_name(event.to_state, t),
            })
            .collect(),
    };
    Ok(render(page))
}

#[derive(Deserialize)]
struct IdentityForm {
    csrf: String,
    order_id: i64,
    name: String,
    kind: String,
    number: String,
}

async fn identity(
    State(state): State<WebState>,
    sender: Sender,
    Form(form): Form<IdentityForm>,
) -> Result<Response, WebError> {
    sender.check(&state, &form.csrf)?;
    let t = sender.tr;
    let kind = DocumentKind::parse(&form.kind)
        .ok_or_else(|| WebError::from_app(AppError::new(Code::DocumentInvalid), t))?;
    state
        .app
        .verify_sender_identity(
            &sender.record,
            field(t, &form.name)?,
            kind,
            field(t, &form.number)?,
        )
        .await
        .map_err(sender.app_err())?;
    Ok(Redirect::to(&format!("/send/orders/{}", form.order_id)).into_response())
}

/// The contents form: a multipart body, for the prescription's photo.
async fn contents(
    State(state): State<WebState>,
    sender: Sender,
    Path(order_id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let t = sender.tr;
    let bad = |_| WebError::from_app(AppError::new(Code::FieldTooLong).with("max", 500), t);
    let mut csrf = String::new();
    let mut category = String::new();
    let mut declarations = Vec::new();
    let mut weight = String::new();
    let mut size = [String::new(), String::new(), String::new()];
    let mut photo: Option<Vec<u8>> = None;
    while let Some(part) = multipart.next_field().await.map_err(|_| {
        WebError::from_app(
            AppError::new(Code::SendPhotoInvalid)
                .with("max_kb", app::sending::PHOTO_BYTES_MAX / 1024),
            t,
        )
    })? {
        let name = part.name().unwrap_or_default().to_string();
        if name == "photo" {
            let bytes = part.bytes().await.map_err(|_| {
                WebError::from_app(
                    AppError::new(Code::SendPhotoInvalid)
                        .with("max_kb", app::sending::PHOTO_BYTES_MAX / 1024),
                    t,
                )
            })?;
            if !bytes.is_empty() {
                photo = Some(bytes.to_vec());
            }
            continue;
        }
        let text = part.text().await.map_err(bad)?;
        let text = field(t, &text)?.to_string();
        match name.as_str() {
            "csrf" => csrf = text,
            "category" => category = text,
            "declaration" => {
                if let Some(need) = Need::parse(&text) {
                    declarations.push(need);
                }
            }
            "weight_grams" => weight = text,
            "length_cm" => size[0] = text,
            "width_cm" => size[1] = text,
            "height_cm" => size[2] = text,
            _ => {}
        }
    }
    sender.check(&state, &csrf)?;
    let weight_grams = weight.trim().parse::<u32>().map_err(|_| {
        WebError::from_app(
            AppError::new(Code::SendWeightInvalid).with("max", domain::county::WEIGHT_GRAMS_MAX),
            t,
        )
    })?;
    let size_cm = if size.iter().all(|s| s.trim().is_empty()) {
        None
    } else {
        let side = |s: &str| s.trim().parse::<u32>().unwrap_or(0);
        Some((side(&size[0]), side(&size[1]), side(&size[2])))
    };
    let document_photo = match photo {
        Some(bytes) => Some(
            state
                .app
                .upload_send_photo(&sender.record, order_id, &bytes)
                .await
                .map_err(sender.app_err())?,
        ),
        None => None,
    };
    state
        .app
        .set_send_contents(
            &sender.record,
            order_id,
            OrderContents {
                category,
                evidence: Evidence {
                    package_photo: None,
                    document_photo,
                    declarations,
                },
                weight_grams,
                size_cm,
            },
        )
        .await
        .map_err(sender.app_err())?;
    Ok(Redirect::to(&format!("/send/orders/{order_id}")).into_response())
}

#[derive(Deserialize)]
struct SubmitForm {
    csrf: String,
    #[serde(default)]
    platform: String,
    #[serde(default)]
    return_code: String,
}

async fn submit(
    State(state): State<WebState>,
    sender: Sender,
    Path(order_id): Path<i64>,
    Form(form): Form<SubmitForm>,
) -> Result<Response, WebError> {
    sender.check(&state, &form.csrf)?;
    let t = sender.tr;
    let code = field(t, &form.return_code)?.trim();
    let payer = if code.is_empty() {
        Payer::Sender
    } else {
        let platform = Platform::parse(&form.platform)
            .ok_or_else(|| WebError::from_app(AppError::new(Code::SendReturnCodeInvalid), t))?;
        Payer::platform(platform, code)
            .map_err(|_| WebError::from_app(AppError::new(Code::SendReturnCodeInvalid), t))?
    };
    state
        .app
        .submit_send_order(&sender.record, order_id, payer)
        .await
        .map_err(sender.app_err())?;
    Ok(Redirect::to(&format!("/send/orders/{order_id}")).into_response())
}

async fn pay_again(
    State(state): State<WebState>,
    sender: Sender,
    Path(order_id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    sender.check(&state, &form.csrf)?;
    state
        .app
        .start_payment(&sender.record, order_id)
        .await
        .map_err(sender.app_err())?;
    Ok(Redirect::to(&format!("/send/orders/{order_id}")).into_response())
}

async fn cancel(
    State(state): State<WebState>,
    sender: Sender,
    Path(order_id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    sender.check(&state, &form.csrf)?;
    state
        .app
        .cancel_send_order(&sender.record, order_id)
        .await
        .map_err(sender.app_err())?;
    Ok(Redirect::to(&format!("/send/orders/{order_id}")).into_response())
}

// ---- the sender's own label ----

#[derive(Template)]
#[template(path = "centre/send_label.html")]
pub(crate) struct LabelPage {
    pub t: Tr,
    pub label: SendLabel,
    pub carrier: &'static str,
    pub barcode: String,
    pub qr: String,
    /// Where this page's printer files are (the staff's or the sender's):
    /// `{files}.zpl`, `{files}.tspl`, `{files}.pdf`.
    pub files: String,
}

impl LabelPage {
    pub(crate) fn new(t: Tr, label: SendLabel, files: String) -> LabelPage {
        LabelPage {
            t,
            carrier: label.carrier.name_zh(),
            barcode: print::code128_svg(&label.waybill),
            qr: print::qr_svg(&label.qr_payload),
            label,
            files,
        }
    }
}

/// The label of the sender's own order; anyone else's is 404.
async fn label(
    State(state): State<WebState>,
    sender: Sender,
    Path(order_id): Path<i64>,
) -> Result<Response, WebError> {
    let label = state
        .app
        .send_label(&sender.record, order_id)
        .await
        .map_err(sender.app_err())?;
    Ok(render(LabelPage::new(
        sender.tr,
        label,
        format!("/send/orders/{order_id}/label"),
    )))
}

async fn label_file(
    State(state): State<WebState>,
    sender: Sender,
    Path((order_id, file)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let format = app::sending::LabelFormat::parse(&file).map_err(sender.app_err())?;
    let label = state
        .app
        .send_label(&sender.record, order_id)
        .await
        .map_err(sender.app_err())?;
    Ok(label_download(&label, format))
}

/// The label as a file for a printer, downloaded (never shown inline: a
/// PDF or program opened by the browser is one click from the printer
/// dialog anyway, and a download keeps its name).
pub(crate) fn label_download(label: &SendLabel, format: app::sending::LabelFormat) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", format.file_name(label));
    (
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        format.render(label),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        crate::SEND_JS,
    )
        .into_response()
}

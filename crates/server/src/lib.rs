//! The HTTP API: JSON over axum, an OpenAPI 3 document generated from the
//! same route table that builds the router, bearer-token authentication and
//! limits on everything that comes in. No business rules: every handler
//! parses, calls one use case, and shapes the answer.

mod board;
mod county;
mod docs;
pub mod error;
pub mod extract;
mod handlers;
pub mod idempotency;
pub mod openapi;
mod payments;
pub mod proxy;
pub mod sending;
mod tracking;
pub mod views;

use app::App;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::MethodRouter;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub app: App,
}

/// One route: its method and path as the router and the OpenAPI document
/// both see them.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Needs a staff bearer token (`POST /api/login`).
    pub authenticated: bool,
    /// Needs a sender's bearer token (`POST /api/send/session`) instead:
    /// the sender's own API, `server::sending`.
    pub sender: bool,
    /// The JSON body it takes, for the document.
    pub body: Option<&'static str>,
}

const fn spec(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        summary,
        authenticated: true,
        sender: false,
        body,
    }
}

/// Every route of the API. The router and the OpenAPI document are both
/// built from this table, so neither can list a route the other lacks.
pub fn routes() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    use axum::routing::{delete, get, post, put};
    use handlers::*;
    let public = |mut s: RouteSpec| {
        s.authenticated = false;
        s
    };
    let sender = |mut s: RouteSpec| {
        s.authenticated = false;
        s.sender = true;
        s
    };
    vec![
        (
            public(spec("GET", "/healthz", "Liveness and database check", None)),
            get(healthz),
        ),
        (
            public(spec("GET", "/api/openapi.json", "This document", None)),
            get(openapi),
        ),
        (
            public(spec(
                "GET",
                "/api/docs",
                "This document as a page for people (RapiDoc, served by this server)",
                None,
            )),
            get(crate::docs::page),
        ),
        (
            public(spec(
                "GET",
                "/api/docs/{file}",
                "The API page's script, set-up and licences",
                None,
            )),
            get(crate::docs::asset),
        ),
        (
            public(spec(
                "POST",
                "/api/login",
                "Sign in; returns a bearer token",
                Some("Login"),
            )),
            post(login),
        ),
        (
            spec("GET", "/api/me", "Who the token belongs to", None),
            get(me),
        ),
        (
            spec(
                "POST",
                "/api/users/{username}/disable",
                "Disable an account (admins): no sign-in, its tokens stop working at once",
                None,
            ),
            post(disable_user),
        ),
        (
            spec(
                "POST",
                "/api/users/{username}/enable",
                "Enable a disabled account again (admins)",
                None,
            ),
            post(enable_user),
        ),
        (
            spec(
                "POST",
                "/api/users/{username}/revoke-tokens",
                "End every token of an account (admins); it may sign in again",
                None,
            ),
            post(revoke_user_tokens),
        ),
        (
            spec("GET", "/api/stations", "Stations the caller may see", None),
            get(stations),
        ),
        (
            spec("GET", "/api/stations/{station_id}", "One station", None),
            get(station),
        ),
        (
            spec(
                "GET",
                "/api/stations/{station_id}/slots",
                "Slots with occupancy",
                None,
            ),
            get(slots),
        ),
        (
            spec(
                "GET",
                "/api/stations/{station_id}/devices",
                "The station's device registry with liveness and door sensor (keeper, county staff)",
                None,
            ),
            get(station_devices),
        ),
        (
            spec(
                "POST",
                "/api/stations/{station_id}/devices",
                "Register a device; its messages are accepted from now on (keeper, county staff)",
                Some("DeviceRegistration"),
            ),
            post(register_device),
        ),
        (
            spec(
                "POST",
                "/api/stations/{station_id}/devices/replace",
                "Replace an active device with a new id; the old id is refused from now on (keeper, county staff)",
                Some("DeviceReplacement"),
            ),
            post(replace_device),
        ),
        (
            spec(
                "PUT",
                "/api/stations/{station_id}/contact-phone",
                "Set the station's public phone, shown at the door terminal when the door cannot open",
                Some("ContactPhone"),
            ),
            put(set_contact_phone),
        ),
        (
            spec(
                "GET",
                "/api/devices/dropped",
                "Device messages the MQTT bridge dropped since start, per reason (admins, county staff)",
                None,
            ),
            get(dropped_device_messages),
        ),
        (
            spec(
                "GET",
                "/api/stations/{station_id}/summary",
                "Parcels per state at the station",
                None,
            ),
            get(summary),
        ),
        (
            spec(
                "POST",
                "/api/stations/{station_id}/inbound",
                "Scan one parcel in; the same waybill again returns the same slot and code",
                Some("InboundScan"),
            ),
            post(inbound),
        ),
        (
            spec(
                "POST",
                "/api/stations/{station_id}/inbound/batch",
                "Scan up to 500 parcels in one transaction",
                Some("InboundBatch"),
            ),
            post(inbound_batch),
        ),
        (
            spec(
                "GET",
                "/api/stations/{station_id}/parcels",
                "Find parcels by pickup code, phone tail, waybill or state",
                None,
            ),
            get(station_parcels),
        ),
        (
            spec(
                "GET",
                "/api/stations/{station_id}/returns",
                "Parcels past their holding period",
                None,
            ),
            get(returns),
        ),
        (
            spec(
                "GET",
                "/api/parcels",
                "Find parcels county-wide (carriers see their own)",
                None,
            ),
            get(parcels),
        ),
        (
            spec(
                "GET",
                "/api/parcels/{parcel_id}",
                "One parcel; phone masked",
                None,
            ),
            get(parcel),
        ),
        (
            spec(
                "GET",
                "/api/parcels/{parcel_id}/events",
                "The parcel's events",
                None,
            ),
            get(parcel_events),
        ),
        (
            spec(
                "GET",
                "/api/parcels/{parcel_id}/phone",
                "The whole phone number, for those who must call (audited)",
                None,
            ),
            get(parcel_phone),
        ),
        (
            spec(
                "POST",
                "/api/parcels/{parcel_id}/pickup",
                "Hand out against the recipient's own proof",
                Some("PickupProof"),
            ),
            post(pickup),
        ),
        (
            spec(
                "POST",
                "/api/parcels/{parcel_id}/move",
                "Move to another slot of the station",
                Some("MoveRequest"),
            ),
            post(move_parcel),
        ),
        (
            spec(
                "POST",
                "/api/parcels/{parcel_id}/problem",
                "Mark a problem",
                Some("ProblemRequest"),
            ),
            post(problem),
        ),
        (
            spec(
                "POST",
                "/api/parcels/{parcel_id}/return",
                "Return to the carrier",
                None,
            ),
            post(return_parcel),
        ),
        (
            spec(
                "POST",
                "/api/parcels/{parcel_id}/consent",
                "Record the recipient's consent to station delivery",
                Some("ConsentRequest"),
            ),
            post(consent),
        ),
        (
            spec(
                "POST",
                "/api/parcels/{parcel_id}/misroute",
                "Record a misroute (county staff): the parcel may then be scanned in at the named station only",
                Some("MisrouteRequest"),
            ),
            post(misroute),
        ),
        (
            spec(
                "POST",
                "/api/parcels/{parcel_id}/centre-scan",
                "County centre scan: arrive, sort, dispatch",
                Some("CentreScan"),
            ),
            post(centre_scan),
        ),
        (
            spec(
                "POST",
                "/api/carriers/{carrier}/manifest",
                "Announce parcels (up to 500 rows)",
                Some("Manifest"),
            ),
            post(manifest),
        ),
        (
            spec(
                "PUT",
                "/api/carriers/{carrier}/parcels/{waybill}",
                "Correct an announcement while the parcel is still announced: the body replaces every announced field",
                Some("Announcement"),
            ),
            put(county::correct_announcement),
        ),
        (
            spec(
                "DELETE",
                "/api/carriers/{carrier}/parcels/{waybill}",
                "Cancel an announcement while the parcel is still announced: it becomes cancelled",
                None,
            ),
            delete(county::cancel_announcement),
        ),
        (
            spec(
                "POST",
                "/api/county/contractors/{contractor_id}/deliveries",
                "A township contractor's delivery report (county staff enter it): each parcel gets its delivered event",
                Some("ContractorDeliveries"),
            ),
            post(county::contractor_deliveries),
        ),
        (
            spec(
                "POST",
                "/api/jobs/holding",
                "Run the holding-period job now",
                None,
            ),
            post(holding_job),
        ),
        (
            spec(
                "POST",
                "/api/address/parse",
                "Parse a free-text address into name, phone (masked) and division codes",
                Some("AddressText"),
            ),
            post(parse_address),
        ),
        (
            spec(
                "POST",
                "/api/dispatch/plan",
                "Plan routes for the parcels waiting at the county centre (vans, unmanned vehicles)",
                Some("DispatchRequest"),
            ),
            post(dispatch_plan),
        ),
        (
            spec(
                "GET",
                "/api/carriers/{carrier}/agreement",
                "Every version of the carrier's agreement",
                None,
            ),
            get(county::agreements),
        ),
        (
            spec(
                "POST",
                "/api/carriers/{carrier}/agreement",
                "Add a version of the carrier's agreement (county staff)",
                Some("AgreementRequest"),
            ),
            post(county::create_agreement),
        ),
        (
            spec(
                "GET",
                "/api/carriers/{carrier}/fees",
                "The carrier's fee ledger (?from=&to= Shanghai dates, after_id, limit)",
                None,
            ),
            get(county::fees),
        ),
        (
            spec(
                "GET",
                "/api/carriers/{carrier}/fees/summary",
                "Fees per mode, version and bracket over a period",
                None,
            ),
            get(county::fee_summary),
        ),
        (
            spec(
                "GET",
                "/api/carriers/{carrier}/reconciliation",
                "Announced versus arrived: missing and unannounced parcels (?from=&to=)",
                None,
            ),
            get(county::reconciliation),
        ),
        (
            spec(
                "GET",
                "/api/county/routes",
                "Joint delivery routes and their townships",
                None,
            ),
            get(county::routes),
        ),
        (
            spec(
                "POST",
                "/api/county/routes",
                "Add a joint delivery route",
                Some("NewRoute"),
            ),
            post(county::create_route),
        ),
        (
            spec(
                "GET",
                "/api/county/contractors",
                "Township contractors",
                None,
            ),
            get(county::contractors),
        ),
        (
            spec(
                "POST",
                "/api/county/contractors",
                "Add a township contractor",
                Some("NewContractor"),
            ),
            post(county::create_contractor),
        ),
        (
            spec(
                "GET",
                "/api/county/routes/{route_id}/handover",
                "Printable handover list (交接单) of a route (?day=)",
                None,
            ),
            get(county::route_handover),
        ),
        (
            spec(
                "GET",
                "/api/county/contractors/{contractor_id}/handover",
                "Printable handover list (交接单) of a contractor (?day=)",
                None,
            ),
            get(county::contractor_handover),
        ),
        (
            spec(
                "POST",
                "/api/centre/arrivals",
                "Arrival scan at the county centre: sorts to a bag or queues for a person",
                Some("ArrivalScan"),
            ),
            post(county::arrival),
        ),
        (
            spec(
                "GET",
                "/api/centre/manual-queue",
                "Parcels waiting for manual resolution, with the reason",
                None,
            ),
            get(county::manual_queue),
        ),
        (
            spec(
                "POST",
                "/api/parcels/{parcel_id}/resolve",
                "Resolve a queued parcel by choosing its division",
                Some("Resolution"),
            ),
            post(county::resolve),
        ),
        (
            spec("GET", "/api/bags", "The day's bags (?day=)", None),
            get(county::bags),
        ),
        (
            spec(
                "GET",
                "/api/audit",
                "The audit trail, newest first (?act=&actor_user_id=&station_id=&object_kind=&object_id=&before_seq=&limit=); admins, compliance officers and auditors",
                None,
            ),
            get(audit_trail),
        ),
        (
            spec(
                "GET",
                "/api/audit/verify",
                "Walk the audit trail's hash chain: count, head hash, the first broken row",
                None,
            ),
            get(audit_verify),
        ),
        (
            spec(
                "GET",
                "/api/bags/{bag_id}",
                "One bag with counts per carrier",
                None,
            ),
            get(county::bag),
        ),
        (
            spec(
                "GET",
                "/api/bags/{bag_id}/label",
                "Printable bag label with its QR code",
                None,
            ),
            get(county::bag_label),
        ),
        (
            spec(
                "POST",
                "/api/bags/{bag_id}/dispatch",
                "Hand a bag over: its parcels are dispatched",
                None,
            ),
            post(county::dispatch_bag),
        ),
        (
            spec(
                "POST",
                "/api/stations/{station_id}/bags/accept",
                "The station takes a whole bag in (idempotent)",
                Some("BagScan"),
            ),
            post(county::accept_bag),
        ),
        (
            spec(
                "POST",
                "/api/carriers/{carrier}/webhooks",
                "Subscribe a carrier's endpoint to parcel events; the signing secret is in this answer only",
                Some("NewWebhook"),
            ),
            post(tracking::create_webhook),
        ),
        (
            spec(
                "GET",
                "/api/carriers/{carrier}/webhooks",
                "A carrier's webhook subscriptions (no secrets)",
                None,
            ),
            get(tracking::list_webhooks),
        ),
        (
            spec(
                "GET",
                "/api/carriers/{carrier}/webhook-attempts",
                "Every attempt to deliver to the carrier: status code, error, next attempt",
                None,
            ),
            get(tracking::webhook_attempts),
        ),
        (
            spec(
                "PUT",
                "/api/webhooks/{subscription_id}",
                "Change a subscription's URL, events or active flag",
                Some("WebhookPatch"),
            ),
            put(tracking::update_webhook),
        ),
        (
            spec(
                "GET",
                "/api/webhooks/{subscription_id}/deliveries",
                "A subscription's deliveries: status, attempts, next attempt, last answer",
                None,
            ),
            get(tracking::webhook_deliveries),
        ),
        (
            spec(
                "DELETE",
                "/api/webhooks/{subscription_id}",
                "Delete a subscription: no more deliveries, its pending ones closed; frees a place under the cap",
                None,
            ),
            delete(tracking::delete_webhook),
        ),
        (
            spec(
                "POST",
                "/api/webhooks/{subscription_id}/rotate-secret",
                "A new signing secret, shown in this answer only; the old one keeps signing beside it for overlap_hours (default 24)",
                Some("WebhookRotation"),
            ),
            post(tracking::rotate_webhook_secret),
        ),
        (
            spec(
                "POST",
                "/api/webhooks/{subscription_id}/test",
                "Send a signed test event to the subscription's endpoint (through the relay, logged)",
                None,
            ),
            post(tracking::test_webhook),
        ),
        (
            spec(
                "GET",
                "/api/carriers/{carrier}/events",
                "The carrier's parcel events as webhooks carry them, after a cursor (?after=<id>&limit=), to backfill",
                None,
            ),
            get(tracking::carrier_events),
        ),
        (
            public(spec(
                "GET",
                "/api/track/{waybill}",
                "Public tracking by waybill: status, place and timeline, no personal data (rate-limited)",
                None,
            )),
            get(tracking::track),
        ),
        (
            public(spec(
                "POST",
                "/api/payments/callback",
                "The payment provider's signed callback (signature in X-Payment-Signature); a repeat answers success and pays nothing twice",
                Some("PaymentNotice"),
            )),
            post(crate::payments::callback),
        ),
        (
            spec(
                "GET",
                "/api/board",
                "The county board's figures over Shanghai days (?from=&to=; county staff and the administrator)",
                None,
            ),
            get(crate::board::figures),
        ),
        (
            spec(
                "GET",
                "/api/board/daily",
                "The daily report of a Shanghai day with the day before's figures (?day=, default yesterday)",
                None,
            ),
            get(crate::board::daily),
        ),
        (
            public(spec(
                "POST",
                "/api/send/code",
                "Text a one-time code to the sender's mobile (5 an hour a phone; a few a minute a client)",
                Some("SendCodeRequest"),
            )),
            post(crate::sending::request_code),
        ),
        (
            public(spec(
                "POST",
                "/api/send/session",
                "Open a sender session with the code; the token in the answer is the sender's bearer token",
                Some("SendSessionRequest"),
            )),
            post(crate::sending::open_session),
        ),
        (
            sender(spec(
                "DELETE",
                "/api/send/session",
                "Sign out: the token opens nothing from now on",
                None,
            )),
            delete(crate::sending::close_session),
        ),
        (
            sender(spec(
                "GET",
                "/api/send/me",
                "The signed-in sender (phone masked, real-name state)",
                None,
            )),
            get(crate::sending::me),
        ),
        (
            sender(spec(
                "POST",
                "/api/send/identity",
                "Real-name check (实名收寄): the document, sealed; needed before the first order is submitted",
                Some("SendIdentity"),
            )),
            post(crate::sending::identity),
        ),
        (
            sender(spec(
                "POST",
                "/api/send/parse",
                "Smart paste: one text read into name, phone, division and detail for the sender to confirm",
                Some("AddressText"),
            )),
            post(crate::sending::parse),
        ),
        (
            sender(spec(
                "GET",
                "/api/send/addresses",
                "The sender's address book, most recent first (phones masked)",
                None,
            )),
            get(crate::sending::addresses),
        ),
        (
            sender(spec(
                "POST",
                "/api/send/orders",
                "Start an order from two confirmed parties (or address book entries), optionally at a kiosk",
                Some("SendNewOrder"),
            )),
            post(crate::sending::create_order),
        ),
        (
            sender(spec(
                "GET",
                "/api/send/orders",
                "The sender's orders, newest first",
                None,
            )),
            get(crate::sending::orders),
        ),
        (
            sender(spec(
                "GET",
                "/api/send/orders/{order_id}",
                "One of the sender's orders with its events, inspections and payments",
                None,
            )),
            get(crate::sending::order),
        ),
        (
            sender(spec(
                "PUT",
                "/api/send/orders/{order_id}/contents",
                "Inspection (验视) and quote: the category with its evidence, weight and size",
                Some("SendContents"),
            )),
            put(crate::sending::contents),
        ),
        (
            sender(spec(
                "POST",
                "/api/send/orders/{order_id}/photos",
                "Upload a photo (prescription, invoice or the open package) as the body; the answer names it for the evidence",
                None,
            )),
            post(crate::sending::photo).layer(DefaultBodyLimit::max(app::sending::PHOTO_BYTES_MAX)),
        ),
        (
            sender(spec(
                "POST",
                "/api/send/orders/{order_id}/submit",
                "Submit: a waybill number, then a QR payment (or accepted at once with a platform's return code)",
                Some("SendSubmit"),
            )),
            post(crate::sending::submit),
        ),
        (
            sender(spec(
                "POST",
                "/api/send/orders/{order_id}/payments",
                "Another QR payment for an order awaiting payment",
                None,
            )),
            post(crate::sending::pay_again),
        ),
        (
            sender(spec(
                "POST",
                "/api/send/orders/{order_id}/cancel",
                "Cancel before collection; a payment made is refunded",
                None,
            )),
            post(crate::sending::cancel),
        ),
        (
            sender(spec(
                "GET",
                "/api/send/orders/{order_id}/label",
                "The privacy label's fields (masked names and phones)",
                None,
            )),
            get(crate::sending::label),
        ),
        (
            sender(spec(
                "GET",
                "/api/send/orders/{order_id}/{label_file}",
                "The label for a printer: label.zpl (ZPL II), label.tspl (TSPL, GB 18030) or label.pdf (76×130 mm)",
                None,
            )),
            get(crate::sending::label_file),
        ),
        (
            public(spec(
                "GET",
                "/api/send/quote",
                "The price from one division to another today, by the tariff in force",
                None,
            )),
            get(crate::sending::quote),
        ),
        (
            public(spec(
                "GET",
                "/api/send/catalogue",
                "The inspection catalogue: each category allowed, prohibited (with its rule) or restricted (with what it needs)",
                None,
            )),
            get(crate::sending::catalogue),
        ),
        (
            spec(
                "GET",
                "/api/kiosks/report",
                "The kiosk fleet's daily report (每日通报) for a Shanghai day (county staff and the administrator)",
                None,
            ),
            get(crate::sending::kiosk_report),
        ),
        (
            spec(
                "POST",
                "/api/presale/campaigns/{campaign_id}/orders",
                "A shop pushes a pre-sale campaign's orders: shelved at their stations or listed for home delivery; a known order number changes nothing (county staff)",
                Some("PresaleOrders"),
            ),
            post(crate::sending::presale_orders),
        ),
        (
            spec(
                "GET",
                "/api/presale/campaigns/{campaign_id}/report",
                "A pre-sale campaign's report: orders, stored, waiting, picked up, home delivery, revenue, per station (county staff)",
                None,
            ),
            get(crate::sending::presale_report),
        ),
        (public(spec("GET", "/", "Landing page", None)), get(landing)),
    ]
}

pub fn router(state: AppState) -> Router {
    layered(api(state))
}

/// The API's routes, without the common layers (to merge other routers in
/// before [`layered`]).
pub fn api(state: AppState) -> Router {
    let mut router = Router::new();
    for (spec, method_router) in routes() {
        router = router.route(spec.path, method_router);
    }
    router
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::localize,
        ))
        .with_state(state)
}

/// The limits every route gets: body size, a time-out, request tracing,
/// and the security headers of a server reached over plain HTTP.
pub fn layered(router: Router) -> Router {
    layered_for(router, false)
}

/// The content security policy of every page and answer. Scripts only from
/// our own files (no inline script, no `javascript:` links, no inline event
/// handlers: the console and terminal scripts are files under `/static`);
/// inline styles are allowed because printed labels and lists carry their
/// page size in a `<style>` element, and a style cannot run code. No page
/// may be framed (clickjacking the door terminal or the console).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// [`layered`], for a server reached over HTTPS (`https`: its public URL is
/// `https://…`) or not: HSTS only over HTTPS, where it can be honoured.
pub fn layered_for(router: Router, https: bool) -> Router {
    layered_with_deadline(router, https, REQUEST_DEADLINE)
}

/// How long any request may take before the caller is told so.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// [`layered_for`] with the deadline given (tests use a short one).
#[doc(hidden)]
pub fn layered_with_deadline(router: Router, https: bool, deadline: Duration) -> Router {
    use axum::http::{HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let mut router = router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // QR links carry their token in the path: no page tells another
        // site where it came from.
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    if https {
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    router
        .layer(axum::Extension(std::sync::Arc::new(
            tracking::TrackLimiter::default(),
        )))
        .layer(axum::Extension(std::sync::Arc::new(
            sending::CodeLimiter::default(),
        )))
        .layer(DefaultBodyLimit::max(domain::limits::BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                within_deadline(deadline, request, next)
            },
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// A request past its deadline is dropped (the handler's future with it, so
/// an open transaction rolls back) and the caller gets the error body every
/// other refusal has, instead of the bare 408 a timeout layer sends.
async fn within_deadline(
    deadline: Duration,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                deadline_s = deadline.as_secs_f64(),
                "request past its deadline"
            );
            error::ApiError::from(
                app::AppError::new(app::Code::RequestTimeout)
                    .with("seconds", deadline.as_secs_f64().to_string()),
            )
            .into_response()
        }
    }
}

/// The OpenAPI 3 document, from [`routes`], for a server at the default
/// public URL (`openapi::document` names the server).
pub fn openapi_document() -> serde_json::Value {
    openapi::document(&app::Settings::default().public_url)
}

//! The HTTP API: JSON over axum, an OpenAPI 3 document generated from the
//! same route table that builds the router, bearer-token authentication and
//! limits on everything that comes in. No business rules: every handler
//! parses, calls one use case, and shapes the answer.

pub mod error;
pub mod extract;
mod handlers;
mod tracking;

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
    /// Needs a bearer token.
    pub authenticated: bool,
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
        body,
    }
}

/// Every route of the API. The router and the OpenAPI document are both
/// built from this table, so neither can list a route the other lacks.
pub fn routes() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    use axum::routing::{get, post, put};
    use handlers::*;
    let public = |mut s: RouteSpec| {
        s.authenticated = false;
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
            public(spec(
                "GET",
                "/api/track/{waybill}",
                "Public tracking by waybill: status, place and timeline, no personal data (rate-limited)",
                None,
            )),
            get(tracking::track),
        ),
        (public(spec("GET", "/", "Landing page", None)), get(landing)),
    ]
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (spec, method_router) in routes() {
        router = router.route(spec.path, method_router);
    }
    router
        .fallback(handlers::not_found)
        .layer(axum::Extension(std::sync::Arc::new(
            tracking::TrackLimiter::default(),
        )))
        .layer(DefaultBodyLimit::max(domain::limits::BODY_BYTES_MAX))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The OpenAPI 3 document, from [`routes`].
pub fn openapi_document() -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut paths = Map::new();
    for (spec, _) in routes() {
        let entry = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}));
        let parameters: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                let schema = if name == "carrier" || name == "waybill" {
                    json!({"type": "string"})
                } else {
                    json!({"type": "integer", "format": "int64"})
                };
                json!({"name": name, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        let mut operation = json!({
            "summary": spec.summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Malformed request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "401": {"description": "No or expired token"},
                "403": {"description": "Not yours to act on"},
                "404": {"description": "Not found, or not yours to see"},
                "409": {"description": "Conflicts with the parcel's state"},
                "413": {"description": "Body larger than the limit"},
                "422": {"description": "Well-formed but refused; the message says why"}
            }
        });
        if spec.authenticated {
            operation["security"] = json!([{"bearer": []}]);
        }
        if let Some(body) = spec.body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}});
        }
        entry[spec.method.to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "yizhan API", "version": env!("CARGO_PKG_VERSION"), "description": "County and village express delivery: the parcel spine."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": handlers::schemas(),
        }
    })
}

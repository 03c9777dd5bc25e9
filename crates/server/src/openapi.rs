//! The OpenAPI 3 document, built from [`crate::routes`]: every operation
//! gets an id, a tag, its path and query parameters with their limits, the
//! schema of its answer and of every error. `tests/api/openapi.rs` walks
//! the document and fails on an operation that lacks any of these, and
//! checks the answers the tests receive against the schemas written here.

use crate::RouteSpec;
use domain::Carrier;
use domain::limits::PAGE_SIZE_MAX;
use serde_json::{Map, Value, json};

/// The tags, in the order the document lists them, with what each covers.
pub const TAGS: &[(&str, &str)] = &[
    ("accounts", "Signing in and the administration of accounts"),
    (
        "stations",
        "Village stations: shelves, inbound scans, searches, devices",
    ),
    (
        "parcels",
        "One parcel: its record, events and what staff do with it",
    ),
    (
        "carriers",
        "A carrier's manifests, announcements, agreements, fees and reconciliation",
    ),
    (
        "county",
        "The county centre: arrival scans, the manual queue, bags, routes, contractors, dispatch",
    ),
    (
        "webhooks",
        "Tracking back to carriers: subscriptions, deliveries, the event feed",
    ),
    ("tracking", "Public tracking by waybill"),
    ("audit", "The audit trail"),
    (
        "payments",
        "The payment provider's signed callbacks for sending orders",
    ),
    (
        "board",
        "The county board's figures and the daily report (county staff and the administrator)",
    ),
    (
        "sending",
        "Sending (寄件): the sender's own API (a sender token from POST /api/send/session), the quote, the inspection catalogue, and the kiosk fleet's daily report",
    ),
    ("system", "Health, this document and the landing page"),
];

/// The tag of a route, from its path.
pub fn tag(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "login" | "me" | "users", ..] => "accounts",
        ["api", "stations", _, "bags", ..] => "county",
        ["api", "stations" | "devices", ..] => "stations",
        ["api", "parcels", _, "resolve" | "centre-scan" | "misroute"] => "county",
        ["api", "parcels", ..] => "parcels",
        [
            "api",
            "carriers",
            _,
            "webhooks" | "webhook-attempts" | "events",
        ] => "webhooks",
        ["api", "carriers", ..] => "carriers",
        [
            "api",
            "county" | "centre" | "bags" | "dispatch" | "address" | "jobs",
            ..,
        ] => "county",
        ["api", "webhooks", ..] => "webhooks",
        ["api", "track", ..] => "tracking",
        ["api", "audit", ..] => "audit",
        ["api", "payments", ..] => "payments",
        ["api", "board", ..] => "board",
        ["api", "send" | "kiosks" | "presale", ..] => "sending",
        _ => "system",
    }
}

/// A stable operation id from the method and path: `get` + the path's
/// segments in camel case, path parameters as `By…`
/// (`GET /api/parcels/{parcel_id}/events` → `getParcelsByParcelIdEvents`).
pub fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_lowercase();
    for segment in path.split('/').filter(|s| !s.is_empty() && *s != "api") {
        let (by, name) = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => (true, name),
            None => (false, segment),
        };
        if by {
            id.push_str("By");
        }
        for word in name.split(['_', '-', '.']).filter(|w| !w.is_empty()) {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                id.extend(first.to_uppercase());
                id.push_str(chars.as_str());
            }
        }
    }
    if path == "/" {
        id.push_str("Landing");
    }
    id
}

fn carriers() -> Vec<&'static str> {
    Carrier::ALL.iter().map(|c| c.code()).collect()
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

/// The cursor and page size every paginated list takes (`app::paging`).
fn paging() -> Vec<Value> {
    vec![
        query(
            "after_id",
            json!({"type": "integer", "format": "int64", "minimum": 0}),
            "The cursor: the `next_after_id` of the previous page; absent for the first page",
        ),
        query(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": PAGE_SIZE_MAX, "default": PAGE_SIZE_MAX}),
            "Rows per page; a value outside the range is refused (`page_size`), never changed",
        ),
    ]
}

/// An older name of `after_id`, still accepted.
fn older_name(name: &str) -> Value {
    let mut parameter = query(
        name,
        json!({"type": "integer", "format": "int64", "minimum": 0}),
        "The older name of `after_id`; still accepted",
    );
    parameter["deprecated"] = json!(true);
    parameter
}

fn day(name: &str, description: &str) -> Value {
    query(
        name,
        json!({"type": "string", "format": "date", "example": "2026-12-07"}),
        &format!(
            "{description} (Asia/Shanghai calendar day, YYYY-MM-DD, years {}–{})",
            domain::limits::DATE_YEAR_MIN,
            domain::limits::DATE_YEAR_MAX
        ),
    )
}

fn day_range() -> Vec<Value> {
    vec![
        day("from", "First day, inclusive; default today"),
        day(
            "to",
            &format!(
                "Last day, inclusive; default `from` or today, whichever is later; at most {} days after `from`",
                app::county::REPORT_DAYS_MAX - 1
            ),
        ),
    ]
}

fn parcel_search(county_wide: bool) -> Vec<Value> {
    let states: Vec<&str> = domain::ParcelState::ALL.iter().map(|s| s.code()).collect();
    let mut parameters = vec![
        query(
            "code",
            json!({"type": "string", "maxLength": 40}),
            "Pickup code, as printed (`A-1-123456`)",
        ),
        query(
            "phone_tail",
            json!({"type": "string", "pattern": "^[0-9]{4}$"}),
            "Last four digits of the recipient's phone",
        ),
        query(
            "waybill",
            json!({"type": "string", "minLength": domain::limits::WAYBILL_CHARS_MIN, "maxLength": domain::limits::WAYBILL_CHARS_MAX}),
            "Waybill number",
        ),
        query(
            "state",
            json!({"type": "string", "enum": states}),
            "Parcel state",
        ),
        query(
            "carrier",
            json!({"type": "string", "enum": carriers()}),
            "Carrier code",
        ),
    ];
    if county_wide {
        parameters.push(query(
            "station_id",
            json!({"type": "integer", "format": "int64"}),
            "Only this station's parcels",
        ));
    } else {
        parameters.push(query(
            "station_id",
            json!({"type": "integer", "format": "int64"}),
            "Ignored here: the path names the station",
        ));
    }
    parameters.extend(paging());
    parameters
}

/// The query parameters of a route, with their limits. The test
/// `every_query_parameter_is_documented` asks each route with an unknown
/// parameter and compares the fields it names with this list.
pub fn query_parameters(method: &str, path: &str) -> Vec<Value> {
    match (method, path) {
        ("GET", "/api/parcels") => parcel_search(true),
        ("GET", "/api/stations/{station_id}/parcels") => parcel_search(false),
        ("GET", "/api/audit") => {
            let acts: Vec<&str> = domain::audit::Act::ALL.iter().map(|a| a.code()).collect();
            let older = older_name("before_seq");
            let mut parameters = vec![
                query(
                    "act",
                    json!({"type": "string", "enum": acts}),
                    "Only this act",
                ),
                query(
                    "actor_user_id",
                    json!({"type": "integer", "format": "int64"}),
                    "Only acts of this user",
                ),
                query(
                    "station_id",
                    json!({"type": "integer", "format": "int64"}),
                    "Only acts at this station",
                ),
                query(
                    "object_kind",
                    json!({"type": "string", "maxLength": 64}),
                    "Only acts on objects of this kind (`parcel`, `user`, …)",
                ),
                query(
                    "object_id",
                    json!({"type": "integer", "format": "int64"}),
                    "Only acts on this object",
                ),
                older,
            ];
            parameters.extend(paging());
            parameters
        }
        ("GET", "/api/carriers/{carrier}/fees") => {
            let mut parameters = day_range();
            parameters.extend(paging());
            parameters
        }
        (
            "GET",
            "/api/carriers/{carrier}/fees/summary" | "/api/carriers/{carrier}/reconciliation",
        ) => day_range(),
        (
            "GET",
            "/api/bags"
            | "/api/county/routes/{route_id}/handover"
            | "/api/county/contractors/{contractor_id}/handover",
        ) => vec![day("day", "The day; default today")],
        (
            "GET",
            "/api/webhooks/{subscription_id}/deliveries"
            | "/api/carriers/{carrier}/webhook-attempts",
        ) => paging(),
        ("GET", "/api/carriers/{carrier}/events") => {
            let mut parameters = paging();
            parameters.push(older_name("after"));
            parameters
        }
        ("GET", "/api/track/{waybill}") => vec![query(
            "carrier",
            json!({"type": "string", "enum": carriers()}),
            "The carrier, when two carriers' waybills could match",
        )],
        ("GET", "/api/board") => vec![
            day("from", "First day, inclusive; default `to`"),
            day(
                "to",
                &format!(
                    "Last day, inclusive; default today; at most {} days after `from`",
                    app::board::BOARD_DAYS_MAX - 1
                ),
            ),
        ],
        ("GET", "/api/board/daily") => vec![day("day", "The report's day; default yesterday")],
        ("GET", "/api/send/orders") => paging(),
        ("GET", "/api/send/quote") => vec![
            query(
                "from",
                json!({"type": "string", "pattern": "^[0-9]{6,12}$"}),
                "The origin's division code (county or below); required",
            ),
            query(
                "to",
                json!({"type": "string", "pattern": "^[0-9]{6,12}$"}),
                "The destination's division code; required",
            ),
            query(
                "weight_grams",
                json!({"type": "integer", "minimum": 1, "maximum": domain::county::WEIGHT_GRAMS_MAX}),
                "The weight in grams; required",
            ),
            query(
                "size",
                json!({"type": "string", "maxLength": 32, "example": "30x20x10"}),
                "LxWxH in whole centimetres, for the volumetric weight",
            ),
            query(
                "category",
                json!({"type": "string", "maxLength": 64}),
                "A category of the catalogue, for its surcharges",
            ),
        ],
        ("GET", "/api/kiosks/report") => vec![day("day", "The report's day; default yesterday")],
        ("POST", "/api/payments/callback") => vec![json!({
            "name": "X-Payment-Signature", "in": "header", "required": true,
            "schema": {"type": "string", "minLength": 1, "maxLength": crate::payments::SIGNATURE_CHARS_MAX},
            "description": "The provider's signature over the body (the simulated provider: HMAC-SHA256 in hex)"})],
        _ => Vec::new(),
    }
}

fn path_parameter(name: &str) -> Value {
    let (schema, description) = match name {
        "carrier" => (
            json!({"type": "string", "enum": carriers()}),
            "Carrier code",
        ),
        "waybill" => (
            json!({"type": "string", "minLength": domain::limits::WAYBILL_CHARS_MIN, "maxLength": domain::limits::WAYBILL_CHARS_MAX}),
            "Waybill number",
        ),
        "file" => (
            json!({"type": "string", "enum": crate::docs::FILES}),
            "File name",
        ),
        "username" => (
            json!({"type": "string", "maxLength": domain::limits::NAME_CHARS_MAX}),
            "Account name",
        ),
        "label_file" => (
            json!({"type": "string", "enum": app::sending::LabelFormat::ALL.map(|f| format!("label.{}", f.extension()))}),
            "The printer's language: label.zpl, label.tspl or label.pdf",
        ),
        _ => (
            json!({"type": "integer", "format": "int64", "minimum": 1}),
            "Id",
        ),
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema, "description": description})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn array_of(name: &str) -> Value {
    json!({"type": "array", "items": reference(name)})
}

/// A page of a paginated list (`app::paging`).
fn page_of(item: Value) -> Value {
    json!({"type": "object", "required": ["items", "next_after_id"], "properties": {
        "items": {"type": "array", "items": item},
        "next_after_id": {"type": "integer", "format": "int64", "nullable": true,
            "description": "Pass as `after_id` for the next page; null when this page is the last"},
    }})
}

/// What a route answers when it succeeds: the status, and the media type
/// and schema of the body (none for 204).
pub struct Answer {
    pub status: &'static str,
    pub description: &'static str,
    pub content: Option<(&'static str, Value)>,
}

fn json_answer(schema: Value) -> Answer {
    Answer {
        status: "200",
        description: "OK",
        content: Some(("application/json", schema)),
    }
}

fn html_answer(description: &'static str) -> Answer {
    Answer {
        status: "200",
        description,
        content: Some((
            "text/html",
            json!({"type": "string", "description": "An HTML page"}),
        )),
    }
}

/// The successful answer of every route. A route missing here answers a
/// bare object, which the document test refuses.
pub fn answer(method: &str, path: &str) -> Answer {
    if let Some(schema) = crate::views::answers(method, path) {
        return json_answer(schema);
    }
    let schema = match (method, path) {
        ("GET", "/healthz") => {
            json!({"type": "object", "required": ["status", "database"], "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "database": {"type": "string", "enum": ["sqlite", "postgres"]}}})
        }
        ("GET", "/api/openapi.json") => {
            json!({"type": "object", "description": "This OpenAPI 3.0 document",
            "required": ["openapi", "info", "paths", "components"],
            "properties": {"openapi": {"type": "string"}, "info": {"type": "object"}, "servers": {"type": "array"},
                "paths": {"type": "object"}, "components": {"type": "object"}, "tags": {"type": "array"}}})
        }
        ("GET", "/api/docs") => return html_answer("The API reference, readable by people"),
        ("GET", "/api/docs/{file}") => {
            return Answer {
                status: "200",
                description: "A script or licence of the API reference page",
                content: Some((
                    "text/javascript",
                    json!({"type": "string", "description": "A vendored file"}),
                )),
            };
        }
        ("GET", "/") => return html_answer("The landing page"),
        ("GET", "/api/bags/{bag_id}/label") => {
            return html_answer("A printable bag label (100 × 150 mm)");
        }
        ("GET", "/api/county/routes/{route_id}/handover")
        | ("GET", "/api/county/contractors/{contractor_id}/handover") => {
            return html_answer("A printable handover list (A4)");
        }
        ("DELETE", "/api/webhooks/{subscription_id}") => {
            return Answer {
                status: "204",
                description: "Deleted",
                content: None,
            };
        }
        ("POST", "/api/login") => {
            json!({"type": "object", "required": ["token", "user", "expires_in_hours"], "properties": {
            "token": {"type": "string", "description": "Send as `Authorization: Bearer <token>`"},
            "user": reference("Principal"),
            "expires_in_hours": {"type": "integer"}}})
        }
        ("GET", "/api/me") => reference("Principal"),
        ("POST", _) if path.starts_with("/api/users/") => reference("AccountView"),
        ("GET", "/api/stations/{station_id}/slots") => array_of("SlotOccupancy"),
        ("GET", "/api/stations/{station_id}/devices") => array_of("DeviceView"),
        (
            "POST",
            "/api/stations/{station_id}/devices" | "/api/stations/{station_id}/devices/replace",
        ) => reference("DeviceRecord"),
        ("PUT", "/api/stations/{station_id}/contact-phone") => {
            json!({"type": "object", "required": ["contact_phone"], "properties": {
                "contact_phone": {"type": "string", "nullable": true}}})
        }
        ("GET", "/api/devices/dropped") => json!({"type": "object",
            "description": "Messages dropped since start, per reason",
            "additionalProperties": {"type": "integer"}}),
        ("GET", "/api/stations/{station_id}/summary") => {
            let states: Vec<&str> = domain::ParcelState::ALL.iter().map(|s| s.code()).collect();
            json!({"type": "object", "description": format!("Parcels per state ({})", states.join(", ")),
                "additionalProperties": {"type": "integer"}})
        }
        ("POST", "/api/stations/{station_id}/inbound") => reference("InboundOutcome"),
        ("POST", "/api/stations/{station_id}/inbound/batch") => reference("BatchOutcome"),
        ("GET", "/api/stations/{station_id}/returns") => array_of("StaffParcelRecord"),
        ("GET", "/api/parcels/{parcel_id}/phone") => {
            json!({"type": "object", "required": ["phone"],
            "properties": {"phone": {"type": "string", "nullable": true, "description": "The whole number (audited)"}}})
        }
        (
            "POST",
            "/api/parcels/{parcel_id}/pickup"
            | "/api/parcels/{parcel_id}/move"
            | "/api/parcels/{parcel_id}/problem"
            | "/api/parcels/{parcel_id}/return"
            | "/api/parcels/{parcel_id}/consent"
            | "/api/parcels/{parcel_id}/centre-scan",
        ) => reference("StaffParcel"),
        ("POST", "/api/parcels/{parcel_id}/misroute") => reference("MisrouteRecord"),
        ("POST", "/api/carriers/{carrier}/manifest") => reference("ManifestOutcome"),
        ("PUT" | "DELETE", "/api/carriers/{carrier}/parcels/{waybill}") => {
            json!({"oneOf": [reference("StaffParcel"), reference("CarrierParcel")],
                "description": "The parcel after the change; staff get the first, carriers the second"})
        }
        ("POST", "/api/county/contractors/{contractor_id}/deliveries") => {
            reference("DeliveryReport")
        }
        ("POST", "/api/jobs/holding") => reference("HoldingReport"),
        ("POST", "/api/address/parse") => reference("ParsedAddress"),
        ("POST", "/api/dispatch/plan") => reference("DispatchPlan"),
        ("GET", "/api/carriers/{carrier}/agreement") => array_of("AgreementVersion"),
        ("POST", "/api/carriers/{carrier}/agreement") => reference("AgreementVersion"),
        ("GET", "/api/carriers/{carrier}/fees") => page_of(reference("FeeRecord")),
        ("GET", "/api/carriers/{carrier}/fees/summary") => reference("FeeSummary"),
        ("GET", "/api/carriers/{carrier}/reconciliation") => reference("Reconciliation"),
        ("GET", "/api/county/routes") => array_of("RouteRecord"),
        ("POST", "/api/county/routes") => reference("RouteRecord"),
        ("GET", "/api/county/contractors") => array_of("ContractorRecord"),
        ("POST", "/api/county/contractors") => reference("ContractorRecord"),
        ("POST", "/api/centre/arrivals" | "/api/parcels/{parcel_id}/resolve") => {
            reference("ArrivalOutcome")
        }
        ("GET", "/api/centre/manual-queue") => array_of("ManualItem"),
        ("GET", "/api/bags") => array_of("BagRecord"),
        ("GET", "/api/bags/{bag_id}") => reference("BagContents"),
        ("POST", "/api/bags/{bag_id}/dispatch") => reference("BagDispatch"),
        ("POST", "/api/stations/{station_id}/bags/accept") => reference("BagAcceptance"),
        ("GET", "/api/audit") => page_of(reference("AuditEntry")),
        ("GET", "/api/audit/verify") => reference("VerifyReport"),
        ("POST", "/api/carriers/{carrier}/webhooks") => reference("CreatedSubscription"),
        ("GET", "/api/carriers/{carrier}/webhooks") => array_of("SubscriptionView"),
        ("PUT", "/api/webhooks/{subscription_id}") => reference("SubscriptionView"),
        ("GET", "/api/webhooks/{subscription_id}/deliveries") => {
            page_of(reference("DeliveryRecord"))
        }
        ("GET", "/api/carriers/{carrier}/webhook-attempts") => page_of(reference("AttemptRecord")),
        ("POST", "/api/webhooks/{subscription_id}/rotate-secret") => reference("RotatedSecret"),
        ("POST", "/api/webhooks/{subscription_id}/test") => reference("TestDelivery"),
        ("GET", "/api/carriers/{carrier}/events") => page_of(reference("FeedEvent")),
        ("GET", "/api/track/{waybill}") => reference("TrackView"),
        ("POST", "/api/payments/callback") => reference("PaymentCallbackAnswer"),
        ("GET", "/api/board") => reference("BoardFigures"),
        ("GET", "/api/board/daily") => reference("DailyReport"),
        ("POST", "/api/send/code") => reference("SendCodeSent"),
        ("POST", "/api/send/session") => reference("SendSession"),
        ("DELETE", "/api/send/session") => {
            return Answer {
                status: "204",
                description: "Signed out",
                content: None,
            };
        }
        ("GET", "/api/send/me") | ("POST", "/api/send/identity") => reference("SenderView"),
        ("POST", "/api/send/parse") => reference("SendParsedParty"),
        ("GET", "/api/send/addresses") => array_of("SendAddress"),
        (
            "POST" | "PUT",
            "/api/send/orders"
            | "/api/send/orders/{order_id}/contents"
            | "/api/send/orders/{order_id}/cancel",
        ) => reference("SendOrder"),
        ("GET", "/api/send/orders") => page_of(reference("SendOrder")),
        ("GET", "/api/send/orders/{order_id}") => reference("SendOrderDetail"),
        ("POST", "/api/send/orders/{order_id}/photos") => reference("SendPhoto"),
        ("POST", "/api/send/orders/{order_id}/submit") => reference("SendSubmitted"),
        ("POST", "/api/send/orders/{order_id}/payments") => reference("SendPayment"),
        ("GET", "/api/send/orders/{order_id}/label") => reference("SendLabel"),
        ("GET", "/api/send/orders/{order_id}/{label_file}") => {
            return Answer {
                status: "200",
                description: "The label as a file for the printer",
                content: Some((
                    "application/octet-stream",
                    json!({"type": "string", "format": "binary", "description": "ZPL II (UTF-8), TSPL (GB 18030) or PDF, by the path's file name; the Content-Type header says which"}),
                )),
            };
        }
        ("GET", "/api/send/quote") => reference("SendQuote"),
        ("GET", "/api/send/catalogue") => array_of("SendCategory"),
        ("GET", "/api/kiosks/report") => reference("KioskDayReport"),
        ("POST", "/api/presale/campaigns/{campaign_id}/orders") => reference("PresaleImport"),
        ("GET", "/api/presale/campaigns/{campaign_id}/report") => reference("PresaleReport"),
        _ => json!({}),
    };
    json_answer(schema)
}

/// The answers' component schemas (`answers.json`, written from the types
/// the use cases return and checked against real answers by the tests).
pub fn answer_schemas() -> Map<String, Value> {
    match serde_json::from_str(include_str!("answers.json")) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The error answers every operation may give, each in the one shape.
fn error_responses() -> Map<String, Value> {
    let mut responses = Map::new();
    for (status, description) in [
        ("400", "Malformed request"),
        ("401", "No or expired token"),
        ("403", "Not yours to act on"),
        ("404", "Not found, or not yours to see"),
        ("405", "The route does not take this method"),
        (
            "409",
            "Conflicts with the object's state, or an Idempotency-Key reused",
        ),
        ("413", "Body larger than the limit"),
        ("415", "Body is not JSON"),
        ("422", "Well-formed but refused; the code says why"),
        ("429", "Too many requests; see Retry-After"),
        ("500", "Internal error (logged)"),
    ] {
        responses.insert(
            status.to_string(),
            json!({"description": description, "content": {"application/json": {"schema": reference("Error")}}}),
        );
    }
    responses
}

fn idempotency_header() -> Value {
    json!({"name": "Idempotency-Key", "in": "header", "required": false,
        "schema": {"type": "string", "minLength": 1, "maxLength": app::idempotency::KEY_CHARS_MAX, "pattern": "^[\\x21-\\x7E]+$"},
        "description": "Send the same key with the same request again (after a time-out, say) and get the first answer back without acting twice; the same key with another request is refused (409 `idempotency_key_reused`). Keys are kept 24 hours, per caller. See docs/api.md."})
}

/// One operation of the document.
fn operation(spec: &RouteSpec) -> Value {
    let mut parameters: Vec<Value> = spec
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(path_parameter)
        .collect();
    parameters.extend(query_parameters(spec.method, spec.path));
    if spec.method == "POST" && spec.authenticated {
        parameters.push(idempotency_header());
    }
    let answer = answer(spec.method, spec.path);
    let mut responses = error_responses();
    let mut success = json!({"description": answer.description});
    if let Some((media, schema)) = answer.content {
        success["content"] = json!({ media: {"schema": schema} });
    }
    responses.insert(answer.status.to_string(), success);
    let mut operation = json!({
        "operationId": operation_id(spec.method, spec.path),
        "tags": [tag(spec.path)],
        "summary": spec.summary,
        "parameters": parameters,
        "responses": responses,
    });
    if spec.authenticated {
        operation["security"] = json!([{"bearer": []}]);
    }
    if spec.sender {
        operation["security"] = json!([{"sender": []}]);
    }
    if let Some(body) = spec.body {
        operation["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": reference(body)}}});
    }
    if (spec.method, spec.path) == ("POST", "/api/send/orders/{order_id}/photos") {
        let image = json!({"schema": {"type": "string", "format": "binary",
            "maxLength": app::sending::PHOTO_BYTES_MAX,
            "description": "The photo's bytes; its type is read from them, not from the header"}});
        operation["requestBody"] = json!({"required": true, "content": {
            "image/jpeg": image, "image/png": image, "image/webp": image}});
    }
    operation
}

const DESCRIPTION: &str = "County and village express delivery: the parcel spine.\n\n\
**Errors**: every error answers `{\"error\": {\"code\", \"type\", \"message\"}}` (schema `Error`). \
`code` is stable and listed in the schema's enum; `message` is for people, in Chinese when the request's \
`Accept-Language` prefers `zh` and in English otherwise (and without the header). A 429 carries `Retry-After` in seconds.\n\n\
**Times** are RFC 3339 strings in UTC (`2026-12-07T02:30:00.123Z`); calendar days (`from`, `to`, `day`) are \
Asia/Shanghai days (`2026-12-07`). Fields ending in `_shanghai` repeat a time in Asia/Shanghai for people.\n\n\
**Lists** that can grow are paginated one way: `?after_id=&limit=` in, `{\"items\": [...], \"next_after_id\": n|null}` out; \
pass `next_after_id` back as `after_id` until it is null.\n\n\
**Idempotency**: a POST may carry `Idempotency-Key`; repeated with the same request it answers the first answer again \
without acting twice (header `Idempotent-Replayed: true`).\n\n\
**Money** is integer fen (1/100 yuan). The human-readable reference is at `/api/docs`.";

/// The whole document; `public_url` becomes its server.
pub fn document(public_url: &str) -> Value {
    let mut paths = Map::new();
    for (spec, _) in crate::routes() {
        let entry = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}));
        entry[spec.method.to_lowercase()] = operation(&spec);
    }
    let mut schemas = crate::handlers::schemas();
    if let Value::Object(map) = &mut schemas {
        map.extend(answer_schemas());
    }
    let tags: Vec<Value> = TAGS
        .iter()
        .map(|(name, description)| json!({"name": name, "description": description}))
        .collect();
    json!({
        "openapi": "3.0.3",
        "info": {"title": "yizhan API", "version": env!("CARGO_PKG_VERSION"), "description": DESCRIPTION,
            "license": {"name": "See the repository"}},
        "servers": [{"url": public_url.trim_end_matches('/'), "description": "This server (its configured public URL)"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A staff token from POST /api/login"},
                "sender": {"type": "http", "scheme": "bearer", "description": "A sender's token from POST /api/send/session (a one-time code to the sender's phone); it opens the sender's own routes only"},
            },
            "schemas": schemas,
        }
    })
}

//! Handlers for tracking back to carriers: webhook subscriptions and their
//! delivery log (carriers manage their own; county staff any), and the
//! public tracking query, which is bounded by a rate limiter because it
//! needs no token.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use app::webhooks::{Page, SubscriptionPatch};
use app::{AppError, Code};
use axum::Json;
use axum::extract::{ConnectInfo, Extension, State};
use domain::Carrier;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type ApiResult = Result<Json<Value>, ApiError>;

fn ok(value: impl serde::Serialize) -> ApiResult {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ApiError::from(AppError::Internal(e.to_string())))
}

fn carrier_of(text: &str) -> Result<Carrier, ApiError> {
    Carrier::parse(text).map_err(ApiError::detail(Code::CarrierUnknown))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    url: String,
    #[serde(default)]
    event_kinds: Vec<String>,
}

pub async fn create_webhook(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(carrier): ApiPath<String>,
    ApiJson(body): ApiJson<NewWebhook>,
) -> ApiResult {
    ok(state
        .app
        .create_webhook(
            &principal,
            carrier_of(&carrier)?,
            &body.url,
            &body.event_kinds,
        )
        .await?)
}

pub async fn list_webhooks(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(carrier): ApiPath<String>,
) -> ApiResult {
    ok(state
        .app
        .webhooks(&principal, carrier_of(&carrier)?)
        .await?)
}

pub async fn update_webhook(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(subscription_id): ApiPath<i64>,
    ApiJson(patch): ApiJson<SubscriptionPatch>,
) -> ApiResult {
    ok(state
        .app
        .update_webhook(&principal, subscription_id, patch)
        .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    after_id: Option<i64>,
    limit: Option<u32>,
}

impl PageQuery {
    fn page(&self) -> Result<Page, ApiError> {
        Ok(Page {
            after_id: self.after_id,
            limit: app::paging::page_size(self.limit)?,
        })
    }
}

pub async fn webhook_deliveries(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(subscription_id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult {
    let page = query.page()?;
    let rows = state
        .app
        .webhook_deliveries(&principal, subscription_id, page)
        .await?;
    ok(app::paging::Page::of(rows, page.limit, |d| d.id))
}

pub async fn webhook_attempts(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(carrier): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult {
    let page = query.page()?;
    let rows = state
        .app
        .webhook_attempts(&principal, carrier_of(&carrier)?, page)
        .await?;
    ok(app::paging::Page::of(rows, page.limit, |a| a.id))
}

pub async fn delete_webhook(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(subscription_id): ApiPath<i64>,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .app
        .delete_webhook(&principal, subscription_id)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    overlap_hours: Option<u32>,
}

pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(subscription_id): ApiPath<i64>,
    ApiJson(body): ApiJson<Rotation>,
) -> ApiResult {
    ok(state
        .app
        .rotate_webhook_secret(&principal, subscription_id, body.overlap_hours)
        .await?)
}

pub async fn test_webhook(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(subscription_id): ApiPath<i64>,
) -> ApiResult {
    ok(state
        .app
        .send_test_webhook(&principal, subscription_id)
        .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The cursor (`app::paging`); `after` is its older name.
    #[serde(alias = "after")]
    after_id: Option<i64>,
    limit: Option<u32>,
}

pub async fn carrier_events(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(carrier): ApiPath<String>,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> ApiResult {
    let limit = app::paging::page_size(query.limit)?;
    let feed = state
        .app
        .carrier_events(
            &principal,
            carrier_of(&carrier)?,
            query.after_id,
            Some(limit),
        )
        .await?;
    ok(app::paging::Page::of(feed.events, limit, |e| e.id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackQuery {
    carrier: Option<String>,
}

/// The public tracking query. No token; bounded per client address and in
/// total by [`TrackLimiter`].
pub async fn track(
    State(state): State<AppState>,
    Extension(limiter): Extension<Arc<TrackLimiter>>,
    ClientIp(client): ClientIp,
    ApiPath(waybill): ApiPath<String>,
    ApiQuery(query): ApiQuery<TrackQuery>,
) -> ApiResult {
    limiter
        .allow(client)
        .map_err(|wait| too_many(wait, "查询", "tracking queries"))?;
    let carrier = query.carrier.as_deref().map(carrier_of).transpose()?;
    ok(state.app.track(&waybill, carrier).await?)
}

/// The client's address when the server was started with connect info
/// (`yizhan serve` is); none otherwise (then only the shared bucket applies).
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

/// Token buckets for the public tracking query: one per client address
/// (when the server knows it) and one for everyone, so neither one client
/// nor many together can turn it into a waybill scanner or a load on the
/// database. Real time is right here: this guards the process, it is not a
/// business rule.
pub struct TrackLimiter(Limiter);

impl Default for TrackLimiter {
    fn default() -> Self {
        // A client may burst 30 queries, then about 5 a second.
        TrackLimiter(Limiter::new(Rates {
            client_burst: 30.0,
            client_per_second: 5.0,
            all_burst: 200.0,
            all_per_second: 100.0,
        }))
    }
}

impl TrackLimiter {
    /// Lets a query through, or says how long the caller should wait.
    pub fn allow(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        self.0.allow(client)
    }
}

/// The refusal of a request a [`Limiter`] held back: `rate_limited` naming
/// what was asked too often and when to try again (Shanghai time), with
/// `Retry-After`. Real time, like the limiter: this guards the process.
pub fn too_many(wait: Duration, what_zh: &'static str, what_en: &'static str) -> ApiError {
    let until = chrono::Utc::now()
        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(1));
    ApiError {
        error: AppError::new(Code::RateLimited)
            .with_words("what", what_zh, what_en)
            .with(
                "until",
                until.with_timezone(&domain::shanghai()).format("%H:%M:%S"),
            ),
        retry_after: Some(wait.as_secs_f64().ceil() as u64),
    }
}

/// How fast a [`Limiter`] refills: per client address and for everyone.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub client_burst: f64,
    pub client_per_second: f64,
    pub all_burst: f64,
    pub all_per_second: f64,
}

/// Token buckets: one per client address (when the server knows it) and
/// one shared by everyone.
pub struct Limiter {
    rates: Rates,
    state: Mutex<LimiterState>,
}

struct LimiterState {
    clients: HashMap<IpAddr, Bucket>,
    everyone: Bucket,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Client buckets kept before the table is cleared (bounded memory).
const CLIENTS_MAX: usize = 10_000;

impl Bucket {
    fn full(capacity: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: capacity,
            at: now,
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self, capacity: f64, per_second: f64, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / per_second))
        }
    }
}

impl Limiter {
    pub fn new(rates: Rates) -> Limiter {
        Limiter {
            rates,
            state: Mutex::new(LimiterState {
                clients: HashMap::new(),
                everyone: Bucket::full(rates.all_burst, Instant::now()),
            }),
        }
    }

    /// Lets a request through, or says how long the caller should wait.
    pub fn allow(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        let Rates {
            client_burst,
            client_per_second,
            all_burst,
            all_per_second,
        } = self.rates;
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ip) = client {
            if state.clients.len() >= CLIENTS_MAX && !state.clients.contains_key(&ip) {
                state.clients.clear();
            }
            let bucket = state
                .clients
                .entry(ip)
                .or_insert_with(|| Bucket::full(client_burst, now));
            bucket.take(client_burst, client_per_second, now)?;
        }
        state.everyone.take(all_burst, all_per_second, now)
    }
}

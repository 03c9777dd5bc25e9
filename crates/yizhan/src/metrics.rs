//! `GET /metrics` for operators (issue 16; docs/operations.md): Prometheus
//! text with every name prefixed `yizhan_` — request latency by route
//! template, the outbox's, webhooks' and group robots' backlogs and
//! failures, device commands pending and expired, devices online, the
//! database pools' use and the background jobs' runs. Counts and times
//! only: no id, phone, name or address is ever a label (a route is its
//! template, `/api/parcels/{parcel_id}`, never the path asked for).
//!
//! `prometheus-client` (the Prometheus project's own Rust client) rather
//! than `metrics` + `metrics-exporter-prometheus`: its registry is a value
//! we own, not a process-wide recorder, so the demo's embedded MQTT broker
//! (rumqttd, which reports through `metrics`) cannot add its unprefixed
//! series to ours, and label sets are typed structs.
//!
//! Who may read it: with `metrics.token` set, whoever sends it as a bearer
//! token; without one, only clients on the loopback address (a Prometheus
//! on the same host, or one reached through an SSH tunnel). Anyone else
//! gets 403 and nothing else.

use app::App;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    /// The matched route template, or `unmatched`.
    route: String,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
    /// `ok` or `error`.
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: String,
}

/// Everything `/metrics` shows: the registry and the series the server
/// writes as it goes; the backlogs are read from the database at each
/// scrape.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Histogram>,
    jobs: Family<JobLabels, Counter>,
    gauges: Gauges,
    /// Bearer token that opens `/metrics` from anywhere.
    token: Option<String>,
}

struct Gauges {
    outbox_pending: Gauge,
    outbox_given_up: Gauge,
    outbox_oldest: Gauge,
    webhooks_pending: Gauge,
    webhooks_failed: Gauge,
    webhooks_oldest: Gauge,
    commands_pending: Gauge,
    commands_expired: Gauge,
    commands_failed: Gauge,
    devices_online: Gauge,
    devices_offline: Gauge,
    bots_pending: Gauge,
    bots_failed: Gauge,
    manual_queue: Gauge,
    pool_size: Family<PoolLabels, Gauge>,
    pool_idle: Family<PoolLabels, Gauge>,
    pool_max: Family<PoolLabels, Gauge>,
    up: Gauge,
}

fn gauge(registry: &mut Registry, name: &str, help: &str) -> Gauge {
    let gauge = Gauge::default();
    registry.register(name, help, gauge.clone());
    gauge
}

impl Metrics {
    pub fn new(token: Option<String>) -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("yizhan");
        // 5 ms to about 20 s: a scan answers in milliseconds, a dispatch
        // plan may take seconds.
        let requests = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 13))
        });
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by method, route template and status class",
            Unit::Seconds,
            requests.clone(),
        );
        let jobs = Family::<JobLabels, Counter>::default();
        registry.register(
            "job_runs",
            "Runs of the background jobs (outbox relay, webhook relay, group robot relay, holding, retention, compliance, daily report), by outcome",
            jobs.clone(),
        );
        let pool_size = Family::<PoolLabels, Gauge>::default();
        let pool_idle = Family::<PoolLabels, Gauge>::default();
        let pool_max = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Open database connections per pool",
            pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections per pool",
            pool_idle.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Most connections a pool opens",
            pool_max.clone(),
        );
        let r = &mut registry;
        let gauges = Gauges {
            outbox_pending: gauge(r, "outbox_pending", "Messages (SMS) waiting to be sent"),
            outbox_given_up: gauge(
                r,
                "outbox_given_up",
                "Messages given up after every attempt failed",
            ),
            outbox_oldest: gauge(
                r,
                "outbox_oldest_pending_seconds",
                "Age of the oldest message waiting to be sent",
            ),
            webhooks_pending: gauge(
                r,
                "webhook_deliveries_pending",
                "Carriers' webhook deliveries waiting (first try or retry)",
            ),
            webhooks_failed: gauge(
                r,
                "webhook_deliveries_failed",
                "Webhook deliveries that failed every attempt",
            ),
            webhooks_oldest: gauge(
                r,
                "webhook_oldest_pending_seconds",
                "Age of the oldest webhook delivery waiting",
            ),
            commands_pending: gauge(
                r,
                "device_commands_pending",
                "Door and light commands not yet acknowledged",
            ),
            commands_expired: gauge(
                r,
                "device_commands_expired",
                "Device commands that passed their not-after time unacknowledged",
            ),
            commands_failed: gauge(
                r,
                "device_commands_failed",
                "Device commands a device answered as failed",
            ),
            devices_online: gauge(
                r,
                "devices_online",
                "Station devices the MQTT bridge last heard as online",
            ),
            devices_offline: gauge(
                r,
                "devices_offline",
                "Station devices the MQTT bridge last heard as offline",
            ),
            bots_pending: gauge(
                r,
                "bot_messages_pending",
                "Group robot messages waiting (first try or retry)",
            ),
            bots_failed: gauge(
                r,
                "bot_messages_failed",
                "Group robot messages that failed every attempt",
            ),
            manual_queue: gauge(
                r,
                "manual_queue_open",
                "Parcels at the centre waiting for a person to route them",
            ),
            pool_size,
            pool_idle,
            pool_max,
            up: gauge(
                r,
                "database_up",
                "1 when the last scrape could read the database",
            ),
        };
        Arc::new(Metrics {
            registry,
            requests,
            jobs,
            gauges,
            token: token.filter(|t| !t.is_empty()),
        })
    }

    /// Counts one run of a background job.
    pub fn job(&self, job: &str, ok: bool) {
        self.jobs
            .get_or_create(&JobLabels {
                job: job.to_string(),
                outcome: if ok { "ok" } else { "error" }.to_string(),
            })
            .inc();
    }

    /// Reads the backlogs and renders every series.
    pub async fn render(&self, app: &App) -> String {
        let g = &self.gauges;
        match app
            .operations_gauges(&crate::wiring::system_principal())
            .await
        {
            Ok(now) => {
                let c = &now.counts;
                let set = |gauge: &Gauge, value: u64| {
                    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
                };
                set(&g.outbox_pending, c.outbox_pending);
                set(&g.outbox_given_up, c.outbox_given_up);
                g.outbox_oldest.set(c.outbox_oldest_seconds);
                set(&g.webhooks_pending, c.webhooks_pending);
                set(&g.webhooks_failed, c.webhooks_failed);
                g.webhooks_oldest.set(c.webhooks_oldest_seconds);
                set(&g.commands_pending, c.device_commands_pending);
                set(&g.commands_expired, c.device_commands_expired);
                set(&g.commands_failed, c.device_commands_failed);
                set(&g.devices_online, c.devices_online);
                set(&g.devices_offline, c.devices_offline);
                set(&g.bots_pending, c.bots_pending);
                set(&g.bots_failed, c.bots_failed);
                set(&g.manual_queue, c.manual_queue_open);
                for pool in &now.pools {
                    let labels = PoolLabels {
                        pool: pool.pool.to_string(),
                    };
                    g.pool_size.get_or_create(&labels).set(i64::from(pool.size));
                    g.pool_idle.get_or_create(&labels).set(i64::from(pool.idle));
                    g.pool_max.get_or_create(&labels).set(i64::from(pool.max));
                }
                g.up.set(1);
            }
            Err(error) => {
                tracing::warn!(%error, "metrics: the database could not be read");
                g.up.set(0);
            }
        }
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!(%error, "metrics: encoding failed");
        }
        text
    }

    /// Whether this request may read the metrics.
    fn allows(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
        match &self.token {
            Some(token) => {
                let given = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or("");
                constant_time_eq(given.trim().as_bytes(), token.as_bytes())
            }
            None => peer.is_some_and(|peer| peer.ip().is_loopback()),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Clone)]
pub struct MetricsState {
    pub app: App,
    pub metrics: Arc<Metrics>,
}

/// `GET /metrics`.
pub fn routes(state: MetricsState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<MetricsState>, request: Request) -> Response {
    // The peer's address, when the server was started with connect info
    // (`yizhan serve` is); without it nobody is loopback.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    if !state.metrics.allows(peer, request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "指标只对本机或持有 metrics.token 的抓取方开放 / metrics are open to this host or to a scraper with the metrics.token (docs/operations.md)\n",
        )
            .into_response();
    }
    let text = state.metrics.render(&state.app).await;
    (
        [
            (
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// The layer that times every request by its route template.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    let status = format!("{}xx", response.status().as_u16() / 100);
    metrics
        .requests
        .get_or_create(&RouteLabels {
            method,
            route,
            status,
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::admin;

    async fn serve(metrics: Arc<Metrics>, app: App) -> String {
        let router = server::api(server::AppState { app: app.clone() })
            .merge(routes(MetricsState {
                app,
                metrics: metrics.clone(),
            }))
            .layer(axum::middleware::from_fn_with_state(metrics, track));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap()
        });
        base
    }

    /// `/metrics` answers Prometheus text with `yizhan_` series, times
    /// requests by their route template (never the ids in the path), counts
    /// backlogs from the database, and shows no personal data.
    #[tokio::test]
    async fn metrics_answer_prometheus_text_by_route_template_without_personal_data() {
        for backend in testkit::backends().await {
            let app = backend.app.clone();
            let station_id = testkit::station(&app, 4, 2).await;
            app.inbound(
                &admin(),
                station_id,
                testkit::scan("731234567890", "13812345678"),
            )
            .await
            .unwrap();
            let metrics = Metrics::new(None);
            metrics.job("outbox_relay", true);
            let base = serve(metrics.clone(), app.clone()).await;
            let client = reqwest::Client::new();
            // A route with an id in it, asked with a real id.
            let answered = client
                .get(format!("{base}/api/stations/{station_id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(answered.status(), 401, "no token: refused, but timed");
            let response = client.get(format!("{base}/metrics")).send().await.unwrap();
            assert_eq!(response.status(), 200, "{}", backend.name());
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/openmetrics-text")
            );
            let text = response.text().await.unwrap();
            for series in [
                "yizhan_http_request_duration_seconds_bucket",
                "yizhan_outbox_pending 1",
                "yizhan_webhook_deliveries_pending 0",
                "yizhan_device_commands_pending",
                "yizhan_device_commands_expired",
                "yizhan_devices_online",
                "yizhan_db_pool_connections{pool=",
                "yizhan_job_runs_total{job=\"outbox_relay\",outcome=\"ok\"} 1",
                "yizhan_database_up 1",
            ] {
                assert!(text.contains(series), "{series} missing in:\n{text}");
            }
            assert!(
                text.contains("route=\"/api/stations/{station_id}\""),
                "timed by template:\n{text}"
            );
            assert!(
                !text.contains(&format!("/api/stations/{station_id}\"")),
                "never by the raw path"
            );
            assert!(!text.contains("13812345678") && !text.contains("5678\""));
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                assert!(line.starts_with("yizhan_"), "unprefixed series: {line}");
            }
            backend.cleanup().await;
        }
    }

    #[tokio::test]
    async fn with_a_token_metrics_need_it_and_without_one_only_loopback_reads() {
        let backend = testkit::sqlite().await;
        let metrics = Metrics::new(Some("s3cret-token".into()));
        let base = serve(metrics, backend.app.clone()).await;
        let client = reqwest::Client::new();
        let refused = client.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(refused.status(), 403);
        let wrong = client
            .get(format!("{base}/metrics"))
            .bearer_auth("s3cret-tokeX")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 403);
        let right = client
            .get(format!("{base}/metrics"))
            .bearer_auth("s3cret-token")
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 200);
        // Without a token only the loopback address reads.
        let open = Metrics::new(None);
        let remote: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert!(!open.allows(Some(remote), &HeaderMap::new()));
        assert!(open.allows(Some(local), &HeaderMap::new()));
        assert!(!open.allows(None, &HeaderMap::new()));
    }
}

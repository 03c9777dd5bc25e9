//! Message senders beyond the log: an HTTP webhook in the shape of an SMS
//! gateway adaptor.

use crate::config::NotifyConfig;
use app::notify::{LogSender, Sender};
use app::webhooks::SendFailure;
use async_trait::async_trait;
use domain::webhook::{TargetPolicy, TargetRefusal};
use std::sync::Arc;
use std::time::Duration;

/// POSTs `{"to", "text", "template", "params"}` as JSON; any 2xx is success.
pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
}

#[async_trait]
impl Sender for WebhookSender {
    async fn send(&self, to: &str, text: &str, payload: &serde_json::Value) -> Result<(), String> {
        let body = serde_json::json!({ "to": to, "text": text, "template": payload.get("template"), "params": payload });
        let response = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("webhook unreachable: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("webhook answered {}", response.status()))
        }
    }
}

/// Posts signed webhook bodies to carriers with a timeout. Redirects are not
/// followed: a signed delivery goes to the URL the carrier registered, or
/// fails visibly in its log.
///
/// The host is resolved here, at delivery time, and every address it
/// resolves to must be public (or inside an allow-listed block, or the host
/// itself allow-listed); the connection then goes to exactly those checked
/// addresses, because the client's resolver is this check ([`GuardedResolver`]):
/// a DNS answer that changes between check and connect (rebinding) cannot
/// slip an internal address in. No proxy is used, for the same reason.
pub struct HttpWebhookSender {
    client: reqwest::Client,
    policy: Arc<TargetPolicy>,
}

impl HttpWebhookSender {
    /// `ca_file`: extra PEM CA certificates to trust beside the bundled roots.
    pub fn new(
        timeout: Duration,
        policy: TargetPolicy,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<HttpWebhookSender> {
        let policy = Arc::new(policy);
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(!policy.allow_http)
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .user_agent(concat!("yizhan-webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_file {
            builder = add_ca_file(builder, path)?;
        }
        Ok(HttpWebhookSender {
            client: builder.build()?,
            policy,
        })
    }
}

/// Trusts the CA certificates in a PEM file, beside the bundled roots.
fn add_ca_file(
    mut builder: reqwest::ClientBuilder,
    path: &std::path::Path,
) -> anyhow::Result<reqwest::ClientBuilder> {
    let pem = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("webhooks.ca_file {}: {e}", path.display()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        anyhow::anyhow!(
            "webhooks.ca_file {}: not PEM certificates: {e}",
            path.display()
        )
    })?;
    anyhow::ensure!(
        !certificates.is_empty(),
        "webhooks.ca_file {} holds no certificate",
        path.display()
    );
    for certificate in certificates {
        builder = builder.add_root_certificate(certificate);
    }
    Ok(builder)
}

/// Raised by [`GuardedResolver`]; found again in the error's chain so the
/// log says "private address" rather than "could not be reached".
#[derive(Debug)]
struct PrivateAddress;

impl std::fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused: private address")
    }
}

impl std::error::Error for PrivateAddress {}

/// The webhook client's DNS: the system resolver, then the policy on every
/// address. Refuses the whole host if any address is internal (a name that
/// answers with a public and a private address is not trusted with either).
struct GuardedResolver {
    policy: Arc<TargetPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addresses: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !policy.host_allowed(&host)
                && addresses.iter().any(|a| !policy.address_allowed(a.ip()))
            {
                tracing::warn!(host = %host, "webhook host resolves to an internal address; refused");
                return Err(Box::new(PrivateAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether the resolver refused the host: found by type, or by its text
/// where a layer in between boxed it (a `Box<dyn Error>` in a chain hides
/// its content from `is`).
fn is_private_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(current) = next {
        if current.is::<PrivateAddress>() || current.to_string() == PrivateAddress.to_string() {
            return true;
        }
        next = current.source();
    }
    false
}

/// Whether the failure was the receiver's certificate (rustls names it).
fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(current) = next {
        let text = current.to_string();
        if text.contains("certificate") || text.contains("InvalidCertificate") {
            return true;
        }
        next = current.source();
    }
    false
}

#[async_trait]
impl app::webhooks::WebhookSender for HttpWebhookSender {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, SendFailure> {
        // Address literals never reach the resolver: checked here.
        match self.policy.check_url(url) {
            Ok(_) => {}
            Err(TargetRefusal::PrivateAddress { .. }) => return Err(SendFailure::PrivateAddress),
            Err(TargetRefusal::HttpsRequired) => return Err(SendFailure::HttpsRequired),
            Err(TargetRefusal::Invalid(_)) => return Err(SendFailure::Failed),
        }
        let mut request = self.client.post(url).body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response.status().as_u16()),
            // Coarse on purpose, and without the URL (it may carry a
            // carrier's access key): the carrier's log must not tell an
            // open port from a closed one.
            Err(error) if is_private_refusal(&error) => Err(SendFailure::PrivateAddress),
            Err(error) if error.is_timeout() => Err(SendFailure::Timeout),
            Err(error) if is_tls(&error) => Err(SendFailure::Tls),
            Err(error) if error.is_connect() => Err(SendFailure::Unreachable),
            Err(error) => {
                tracing::debug!(error = %error.without_url(), "webhook sending failed");
                Err(SendFailure::Failed)
            }
        }
    }
}

pub fn from_config(config: &NotifyConfig) -> anyhow::Result<Arc<dyn Sender>> {
    match config.sender.as_str() {
        "log" => Ok(Arc::new(LogSender)),
        "webhook" => {
            let url = config.webhook_url.clone().ok_or_else(|| {
                anyhow::anyhow!("notify.sender = \"webhook\" needs notify.webhook_url")
            })?;
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?;
            Ok(Arc::new(WebhookSender { client, url }))
        }
        other => anyhow::bail!("unknown notify.sender {other:?}; use \"log\" or \"webhook\""),
    }
}

/// One configured group robot, ready to post to.
struct Bot {
    kind: domain::bot::BotKind,
    url: String,
    /// DingTalk's signing secret (加签), if the robot has one.
    secret: Option<String>,
}

/// Posts markdown messages to the managers' group robots (WeCom,
/// DingTalk) with the webhook client's guards: the host is resolved and
/// checked by [`GuardedResolver`] at each post, no proxy, no redirects, a
/// timeout, HTTPS outside the demo. The robot's URL carries its key and
/// DingTalk's secret signs; neither is ever logged or stored.
pub struct HttpBotSender {
    client: reqwest::Client,
    policy: Arc<TargetPolicy>,
    bots: std::collections::BTreeMap<String, Bot>,
    clock: Arc<dyn app::ports::Clock>,
}

impl HttpBotSender {
    pub fn new(
        bots: &std::collections::BTreeMap<String, crate::config::BotConfig>,
        timeout: Duration,
        policy: TargetPolicy,
        clock: Arc<dyn app::ports::Clock>,
    ) -> anyhow::Result<HttpBotSender> {
        let policy = Arc::new(policy);
        let mut configured = std::collections::BTreeMap::new();
        for (name, bot) in bots {
            domain::bot::check_bot_name(name).map_err(|e| anyhow::anyhow!("bots.{name}: {e}"))?;
            let kind = domain::bot::BotKind::parse(&bot.kind)
                .map_err(|e| anyhow::anyhow!("bots.{name}.kind: {e}"))?;
            // Checked at start, so a typo shows now and not at 8 a.m.;
            // the URL itself is not printed (it holds the robot's key).
            policy.check_url(&bot.url).map_err(|refusal| {
                anyhow::anyhow!(
                    "bots.{name}.url is refused: {}",
                    match refusal {
                        TargetRefusal::HttpsRequired => "it must be https://".to_string(),
                        TargetRefusal::PrivateAddress { .. } =>
                            "it is an internal address".to_string(),
                        TargetRefusal::Invalid(detail) => detail,
                    }
                )
            })?;
            configured.insert(
                name.clone(),
                Bot {
                    kind,
                    url: bot.url.clone(),
                    secret: bot.secret.clone().filter(|s| !s.is_empty()),
                },
            );
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .https_only(!policy.allow_http)
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .user_agent(concat!("yizhan-bots/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpBotSender {
            client,
            policy,
            bots: configured,
            clock,
        })
    }

    /// Whether a robot of this name is configured.
    pub fn has(&self, name: &str) -> bool {
        self.bots.contains_key(name)
    }
}

#[async_trait]
impl app::bots::BotSender for HttpBotSender {
    async fn post(
        &self,
        bot: &str,
        title: &str,
        markdown: &str,
    ) -> Result<(), app::bots::BotFailure> {
        use app::bots::BotFailure;
        let Some(robot) = self.bots.get(bot) else {
            return Err(BotFailure::UnknownBot);
        };
        match self.policy.check_url(&robot.url) {
            Ok(_) => {}
            Err(TargetRefusal::PrivateAddress { .. }) => return Err(BotFailure::PrivateAddress),
            Err(TargetRefusal::HttpsRequired) => return Err(BotFailure::HttpsRequired),
            Err(TargetRefusal::Invalid(_)) => return Err(BotFailure::Failed),
        }
        let url = match (&robot.secret, robot.kind) {
            (Some(secret), domain::bot::BotKind::DingTalk) => domain::bot::dingtalk_signed_url(
                &robot.url,
                secret,
                self.clock.now().timestamp_millis(),
            ),
            _ => robot.url.clone(),
        };
        let body = domain::bot::body(robot.kind, title, markdown);
        let response = match self.client.post(&url).json(&body).send().await {
            Ok(response) => response,
            // Coarse and without the URL: it holds the robot's key.
            Err(error) if is_private_refusal(&error) => return Err(BotFailure::PrivateAddress),
            Err(error) if error.is_timeout() => return Err(BotFailure::Timeout),
            Err(error) if is_tls(&error) => return Err(BotFailure::Tls),
            Err(error) if error.is_connect() => return Err(BotFailure::Unreachable),
            Err(_) => return Err(BotFailure::Failed),
        };
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(BotFailure::HttpStatus(status));
        }
        let text = response.text().await.map_err(|_| BotFailure::Failed)?;
        domain::bot::reply_errcode(&text).map_err(BotFailure::Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A local stand-in for an SMS gateway: answers 503 to its first call,
    /// then 200, and keeps what it received.
    async fn gateway() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
        let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let seen = received.clone();
        let handler = move |axum::Json(body): axum::Json<serde_json::Value>| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push(body);
                if seen.len() == 1 {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::OK
                }
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(
                listener,
                axum::Router::new().route("/sms", axum::routing::post(handler)),
            )
            .await
            .unwrap()
        });
        (url, received)
    }

    #[tokio::test]
    async fn webhook_posts_the_message_and_reports_failures() {
        let (url, received) = gateway().await;
        let config = NotifyConfig {
            sender: "webhook".into(),
            webhook_url: Some(url),
            merge_seconds: 0,
        };
        let sender = from_config(&config).unwrap();
        let payload = serde_json::json!({"template": "arrival", "codes": ["A-1-0001"]});
        let first = sender
            .send("13812345678", "【驿站】您的包裹已到", &payload)
            .await;
        assert!(
            first.unwrap_err().contains("503"),
            "a gateway error is reported, so the relay retries"
        );
        sender
            .send("13812345678", "【驿站】您的包裹已到", &payload)
            .await
            .unwrap();
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 2);
        assert_eq!(received[1]["to"], "13812345678");
        assert_eq!(received[1]["template"], "arrival");
        assert_eq!(received[1]["params"]["codes"][0], "A-1-0001");
    }

    #[test]
    fn misconfiguration_is_refused_clearly() {
        let config = NotifyConfig {
            sender: "webhook".into(),
            webhook_url: None,
            merge_seconds: 0,
        };
        assert!(
            from_config(&config)
                .err()
                .unwrap()
                .to_string()
                .contains("webhook_url")
        );
        let config = NotifyConfig {
            sender: "carrier-pigeon".into(),
            webhook_url: None,
            merge_seconds: 0,
        };
        assert!(
            from_config(&config)
                .err()
                .unwrap()
                .to_string()
                .contains("unknown notify.sender")
        );
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_an_internal_address() {
        use reqwest::dns::Resolve;
        let strict = GuardedResolver {
            policy: Arc::new(TargetPolicy::default()),
        };
        let refused = strict.resolve("localhost".parse().unwrap()).await;
        assert!(refused.err().unwrap().is::<PrivateAddress>());
        let gateway = GuardedResolver {
            policy: Arc::new(TargetPolicy {
                allow_http: false,
                allow: vec![domain::webhook::AllowEntry::parse("localhost").unwrap()],
            }),
        };
        let addresses: Vec<_> = gateway
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(
            addresses.iter().all(|a| a.ip().is_loopback()),
            "{addresses:?}"
        );
    }

    /// A name that is not local-looking but resolves inside (this machine's
    /// own host name, on most machines 127.0.1.1 or a private address) is
    /// refused through the client's resolver, and named as such in the log.
    #[tokio::test]
    async fn a_host_name_that_resolves_inside_is_refused_as_a_private_address() {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let name = name.trim().to_ascii_lowercase();
        let resolved: Vec<std::net::SocketAddr> =
            match tokio::net::lookup_host((name.as_str(), 80)).await {
                Ok(addresses) => addresses.collect(),
                Err(_) => Vec::new(),
            };
        if name.is_empty()
            || name.contains('_')
            || resolved.iter().all(|a| domain::webhook::is_public(a.ip()))
        {
            eprintln!("SKIP: host name {name:?} does not resolve to an internal address here");
            return;
        }
        let policy = TargetPolicy {
            allow_http: true,
            allow: Vec::new(),
        };
        let sender = HttpWebhookSender::new(Duration::from_secs(5), policy, None).unwrap();
        use app::webhooks::WebhookSender as _;
        assert_eq!(
            sender
                .post(&format!("http://{name}:9/hook"), &[], "{}")
                .await,
            Err(SendFailure::PrivateAddress)
        );
    }
}

//! Message senders beyond the log: an HTTP webhook in the shape of an SMS
//! gateway adaptor.

use crate::config::NotifyConfig;
use app::notify::{LogSender, Sender};
use async_trait::async_trait;
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
pub struct HttpWebhookSender {
    client: reqwest::Client,
}

impl HttpWebhookSender {
    pub fn new(timeout: Duration) -> anyhow::Result<HttpWebhookSender> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("yizhan-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(HttpWebhookSender { client })
    }
}

#[async_trait]
impl app::webhooks::WebhookSender for HttpWebhookSender {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<u16, String> {
        let mut request = self.client.post(url).body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response.status().as_u16()),
            // Without the URL: it may carry a carrier's access key in its query.
            Err(error) if error.is_timeout() => Err("the receiver did not answer in time".into()),
            Err(error) if error.is_connect() => Err("the receiver could not be reached".into()),
            Err(error) => Err(format!("sending failed: {}", error.without_url())),
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
}

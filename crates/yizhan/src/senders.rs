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

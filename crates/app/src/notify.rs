//! Messages to recipients: what goes into the outbox when a parcel is
//! shelved or waits too long, and the relay that sends it — merging pending
//! notices for one recipient at one station into a single message.

use crate::App;
pub use crate::effects::notices::TOPIC_SMS;
use crate::error::AppResult;
use crate::ports::PendingMessage;
use async_trait::async_trait;
use chrono::{DateTime, Duration};
use serde_json::json;

/// After this many failed attempts a message is given up and kept for
/// inspection, never deleted.
pub const SEND_ATTEMPTS_MAX: u32 = 8;

/// A way to deliver a text message: the log, an SMS gateway's webhook.
#[async_trait]
pub trait Sender: Send + Sync {
    /// `to` is the whole number; senders must not log it.
    async fn send(&self, to: &str, text: &str, payload: &serde_json::Value) -> Result<(), String>;
}

/// The Chinese text of a message, from its payload.
pub fn render(payload: &serde_json::Value) -> String {
    let text = |key: &str| {
        payload
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let codes: Vec<String> = payload
        .get("codes")
        .and_then(|v| v.as_array())
        .map(|codes| {
            codes
                .iter()
                .filter_map(|c| c.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    match payload.get("template").and_then(|v| v.as_str()) {
        Some("arrival") if codes.len() > 1 => format!(
            "【驿站】您有{}个包裹已到{}，取件码：{}（自助取件请同时输入手机号后4位）。请于{}前取件。{}",
            codes.len(),
            text("station"),
            codes.join("、"),
            text("expires"),
            qr_line(&text("qr_url"))
        ),
        Some("arrival") => format!(
            "【驿站】您的包裹已到{}，取件码：{}（自助取件请同时输入手机号后4位）。请于{}前取件。{}",
            text("station"),
            codes.join("、"),
            text("expires"),
            qr_line(&text("qr_url"))
        ),
        Some("reminder") => format!(
            "【驿站】您在{}的包裹（取件码{}）已存放{}天，请于{}前取件，逾期将退回。",
            text("station"),
            codes.join("、"),
            payload
                .get("days")
                .and_then(|v| v.as_u64())
                .unwrap_or_default(),
            text("expires")
        ),
        Some("consent_request") => format!(
            "【驿站】您的{}包裹（尾号{}）已到{}。是否同意放驿站代收？请回复或联系站长确认。",
            text("carrier"),
            text("waybill_tail"),
            text("station")
        ),
        // Sending (issue 14): the one-time code that proves a sender's phone.
        Some("send_code") => format!(
            "【驿站寄件】验证码 {}，{} 分钟内有效。请勿告诉他人。",
            text("code"),
            payload
                .get("minutes")
                .and_then(|v| v.as_u64())
                .unwrap_or_default()
        ),
        // Invoice reminders to the person chasing a debt (branch money2,
        // issue 15).
        Some("invoice_reminder") => {
            let step = payload
                .get("step")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or_default();
            let when = match step {
                s if s < 0 => format!("将于{}天后到期", -s),
                0 => "今天到期".to_string(),
                s => format!("已逾期{s}天"),
            };
            format!(
                "【驿站财务】{}（{}）{}月账单尚欠{}，到期日{}，{}。请跟进催收。",
                text("carrier_zh"),
                text("carrier"),
                text("month"),
                text("owed"),
                text("due"),
                when
            )
        }
        Some("exposure_alert") => format!(
            "【驿站财务】{}（{}）欠费超限：应收净额{}，逾期超过90天{}{}。{}",
            text("carrier_zh"),
            text("carrier"),
            text("exposure"),
            text("over_90"),
            payload
                .get("limit")
                .and_then(|v| v.as_str())
                .map(|l| format!("，信用额度{l}"))
                .unwrap_or_default(),
            if payload.get("held").and_then(serde_json::Value::as_bool) == Some(true) {
                "已暂停接收其新的预报，待财务解除。"
            } else {
                "请尽快催收。"
            }
        ),
        _ => "【驿站】您有一条新消息。".to_string(),
    }
}

fn qr_line(url: &str) -> String {
    if url.is_empty() {
        String::new()
    } else {
        format!("自助取件可扫码：{url}")
    }
}

/// The arrival notice's link to a signed, expiring QR code that opens the
/// station's door terminal for this recipient (`crate::qr`), added when the
/// message is sent so the outbox never holds a credential longer than needed.
fn add_qr_link(payload: &mut serde_json::Value, key: &[u8], public_url: &str) {
    if payload.get("template").and_then(|v| v.as_str()) != Some("arrival") {
        return;
    }
    let field = |name: &str| payload.get(name).and_then(|v| v.as_i64());
    let parcel_id = payload
        .get("parcel_ids")
        .and_then(|v| v.get(0))
        .and_then(|v| v.as_i64());
    let (Some(station_id), Some(parcel_id), Some(expires_at)) =
        (field("station_id"), parcel_id, field("expires_at"))
    else {
        return;
    };
    let Some(expires_at) = DateTime::from_timestamp(expires_at, 0) else {
        return;
    };
    let token = crate::qr::sign(
        key,
        crate::qr::QrClaim {
            station_id,
            parcel_id,
            expires_at,
        },
    );
    payload["qr_url"] = json!(format!("{}/q/{token}", public_url.trim_end_matches('/')));
}

/// Folds pending messages that share a merge key into one payload, in
/// outbox order: codes and parcel ids are concatenated.
pub fn merge(group: &[PendingMessage]) -> serde_json::Value {
    let mut merged = group[0].payload.clone();
    for message in &group[1..] {
        for key in ["codes", "parcel_ids"] {
            if let (Some(into), Some(from)) = (
                merged.get_mut(key).and_then(|v| v.as_array_mut()),
                message.payload.get(key).and_then(|v| v.as_array()),
            ) {
                into.extend(from.iter().cloned());
            }
        }
    }
    merged
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RelayReport {
    pub n_sent: u32,
    pub n_merged: u32,
    pub n_failed: u32,
}

impl App {
    /// Sends what is due in the outbox once. Safe to run from several
    /// places: a message is marked sent only after its sender said so, and
    /// a sender that fails is retried later with exponential back-off.
    pub async fn relay_once(&self, sender: &dyn Sender, limit: u32) -> AppResult<RelayReport> {
        let now = self.now();
        let pending = self.store.pending_messages(now, limit).await?;
        let mut groups: Vec<Vec<PendingMessage>> = Vec::new();
        for message in pending {
            match groups.iter_mut().find(|group| {
                message.merge_key.is_some() && group[0].merge_key == message.merge_key
            }) {
                Some(group) => group.push(message),
                None => groups.push(vec![message]),
            }
        }
        let mut report = RelayReport::default();
        for group in groups {
            let mut payload = merge(&group);
            add_qr_link(
                &mut payload,
                &self.secrets.qr_key,
                &self.settings.public_url,
            );
            let to = payload
                .get("to")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let text = render(&payload);
            let ids: Vec<i64> = group.iter().map(|m| m.id).collect();
            match sender.send(&to, &text, &payload).await {
                Ok(()) => {
                    self.store.mark_sent(&ids, now).await?;
                    report.n_sent += 1;
                    report.n_merged += group.len() as u32 - 1;
                }
                Err(error) => {
                    report.n_failed += 1;
                    for message in &group {
                        let attempts = message.attempts + 1;
                        let retry_at = now + Duration::seconds(10 * 2i64.pow(attempts.min(12)));
                        self.store
                            .mark_failed(
                                message.id,
                                &error,
                                retry_at,
                                attempts >= SEND_ATTEMPTS_MAX,
                            )
                            .await?;
                    }
                    tracing::warn!(n_messages = group.len(), error = %error, "message send failed; will retry");
                }
            }
        }
        Ok(report)
    }
}

/// Logs that a message would go out, instead of sending it (the demo and
/// tests). The log holds neither the text nor the number: the text carries
/// pickup codes and a QR link, either of which collects a parcel, and logs
/// are read, copied and kept by more people than the recipient. What is
/// logged is enough to follow the relay: the template, how many codes, the
/// masked number and the text's length.
pub struct LogSender;

#[async_trait]
impl Sender for LogSender {
    async fn send(&self, to: &str, text: &str, payload: &serde_json::Value) -> Result<(), String> {
        let to = domain::Phone::parse(to)
            .map(|phone| phone.masked())
            .unwrap_or_else(|_| "(not a mobile number)".to_string());
        let template = payload
            .get("template")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("?");
        let n_codes = payload
            .get("codes")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        tracing::info!(
            to = %to,
            template,
            n_codes,
            text_chars = text.chars().count(),
            "message (log sender; text not logged)"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(id: i64, code: &str) -> PendingMessage {
        PendingMessage {
            id,
            topic: TOPIC_SMS.into(),
            merge_key: Some("arrival:1:13812345678".into()),
            payload: json!({"template": "arrival", "to": "13812345678", "station": "石桥村驿站", "codes": [code], "parcel_ids": [id], "expires": "12月06日"}),
            attempts: 0,
        }
    }

    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Issue 11, finding 11: the log sender wrote the whole text, pickup
    /// codes included, to the log.
    #[test]
    fn the_log_sender_logs_no_code_no_link_and_no_whole_number() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let mut payload = pending(1, "A-1-0007").payload;
        payload["codes"] = json!(["A-1-0007", "B-2-0042"]);
        let text = format!("{} https://yz.example/q/SECRET-TOKEN", render(&payload));
        assert!(
            text.contains("A-1-0007"),
            "the message carries the code: {text}"
        );
        tracing::subscriber::with_default(subscriber, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime
                .block_on(LogSender.send("13812345678", &text, &payload))
                .unwrap();
        });
        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("log sender"), "the capture works: {logs}");
        assert!(
            logs.contains("138****5678"),
            "the masked number is there: {logs}"
        );
        assert!(logs.contains("n_codes=2"), "{logs}");
        for secret in ["A-1-0007", "B-2-0042", "13812345678", "SECRET-TOKEN", "/q/"] {
            assert!(!logs.contains(secret), "{secret} in the log: {logs}");
        }
    }

    #[test]
    fn merged_arrivals_read_as_one_message() {
        let merged = merge(&[pending(1, "A-1-480217"), pending(2, "A-1-093355")]);
        assert_eq!(merged["parcel_ids"], json!([1, 2]));
        assert_eq!(
            render(&merged),
            "【驿站】您有2个包裹已到石桥村驿站，取件码：A-1-480217、A-1-093355（自助取件请同时输入手机号后4位）。请于12月06日前取件。"
        );
        assert_eq!(
            render(&pending(3, "B-2-771204").payload),
            "【驿站】您的包裹已到石桥村驿站，取件码：B-2-771204（自助取件请同时输入手机号后4位）。请于12月06日前取件。"
        );
    }
}

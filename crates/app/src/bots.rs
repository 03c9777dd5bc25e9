//! The group robots' outbox (shared): a message for a managers' group chat
//! on WeCom or DingTalk is written to `bot_messages` inside the transaction
//! of what caused it ([`enqueue`]: the daily report, a day's receipts
//! list), and the relay ([`App::relay_bot_messages_once`]) sends due
//! messages through the [`BotSender`] port with retries and back-off, like
//! the carriers' webhook relay. Robots are named in the configuration
//! (`[bots.NAME]`); a message names its robot, and the binary's sender
//! knows each robot's platform, URL and signing secret, which never reach
//! the database or the log.

use crate::App;
use crate::error::AppResult;
pub use crate::ports::board::{BotAttempt, BotStatus, DueBotMessage, NewBotMessage};
use crate::ports::prelude::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::webhook::RetryPolicy;
use serde::Serialize;

/// How failed robot messages are tried again: a robot limits messages per
/// minute (20 on both platforms), so the first retry waits a minute, then
/// doubling to half an hour, for about a day in all.
pub const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 10,
    base_seconds: 60,
    max_delay_seconds: 1800,
};

/// Longest de-duplication key.
pub const DEDUP_KEY_CHARS_MAX: usize = 200;

/// Why a robot message did not go out. Coarse on purpose: the robot's URL
/// holds its key, so no transport error text is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotFailure {
    /// No robot of that name is configured: not retried.
    UnknownBot,
    /// The robot's URL is, or resolves to, an internal address.
    PrivateAddress,
    HttpsRequired,
    Timeout,
    Unreachable,
    Tls,
    /// The robot answered with this HTTP status.
    HttpStatus(u16),
    /// The robot answered 200 with this non-zero `errcode` (too many
    /// messages, a wrong signature or key); `None` when the answer was not
    /// the robot's JSON.
    Refused(Option<i64>),
    Failed,
}

impl BotFailure {
    /// The stored code.
    pub fn code(self) -> String {
        match self {
            BotFailure::UnknownBot => "unknown_bot".into(),
            BotFailure::PrivateAddress => "private_address".into(),
            BotFailure::HttpsRequired => "https_required".into(),
            BotFailure::Timeout => "timeout".into(),
            BotFailure::Unreachable => "unreachable".into(),
            BotFailure::Tls => "tls".into(),
            BotFailure::HttpStatus(status) => format!("http_{status}"),
            BotFailure::Refused(Some(code)) => format!("errcode_{code}"),
            BotFailure::Refused(None) => "bad_answer".into(),
            BotFailure::Failed => "failed".into(),
        }
    }
}

/// Sends one markdown message to a configured robot. The binary's adapter
/// posts with the webhook client's guards (no internal addresses, no
/// proxy, no redirects, a timeout) and signs DingTalk's; tests may use
/// anything that speaks HTTP.
#[async_trait]
pub trait BotSender: Send + Sync {
    async fn post(&self, bot: &str, title: &str, markdown: &str) -> Result<(), BotFailure>;
}

/// Writes a message for robot `bot` inside the open transaction; false if
/// a message with `dedup_key` was written before (it is not written again).
pub async fn enqueue(
    tx: &mut dyn Tx,
    bot: &str,
    dedup_key: &str,
    title: &str,
    markdown: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let message = NewBotMessage {
        bot: bot.chars().take(domain::bot::BOT_NAME_CHARS_MAX).collect(),
        dedup_key: dedup_key.chars().take(DEDUP_KEY_CHARS_MAX).collect(),
        title: title.chars().take(domain::bot::TITLE_CHARS_MAX).collect(),
        markdown: domain::bot::cut_at_line(markdown, domain::bot::MARKDOWN_BYTES_MAX),
        available_at: now,
    };
    Ok(tx.enqueue_bot_message(&message, now).await?)
}

/// What one relay pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BotRelayReport {
    pub n_sent: u32,
    pub n_retrying: u32,
    pub n_failed: u32,
    /// The batch was full: more may be due.
    pub more_due: bool,
}

impl App {
    /// Sends the robot messages that are due, oldest first, at most
    /// `limit`. A sent message is done; a failure is tried again on
    /// [`RETRY`]'s schedule until its attempts run out; a message for a
    /// robot nobody configured fails at once. Safe to run from several
    /// places: an attempt is recorded only over the attempts it read.
    pub async fn relay_bot_messages_once(
        &self,
        sender: &dyn BotSender,
        limit: u32,
    ) -> AppResult<BotRelayReport> {
        let due = self.store.due_bot_messages(self.now(), limit).await?;
        let mut report = BotRelayReport {
            more_due: due.len() as u32 >= limit,
            ..BotRelayReport::default()
        };
        for message in due {
            let now = self.now();
            let attempt = message.attempts + 1;
            let result = sender
                .post(&message.bot, &message.title, &message.markdown)
                .await;
            let (status, error, next_attempt_at) = match result {
                Ok(()) => (BotStatus::Sent, None, None),
                Err(failure @ BotFailure::UnknownBot) => {
                    (BotStatus::Failed, Some(failure.code()), None)
                }
                Err(failure) => match RETRY.delay_after(attempt, &message.dedup_key) {
                    Some(delay) => (BotStatus::Pending, Some(failure.code()), Some(now + delay)),
                    None => (BotStatus::Failed, Some(failure.code()), None),
                },
            };
            tracing::info!(
                bot = %message.bot,
                message = message.id,
                attempt,
                outcome = status.code(),
                error = error.as_deref().unwrap_or(""),
                "group robot message"
            );
            match status {
                BotStatus::Sent => report.n_sent += 1,
                BotStatus::Pending => report.n_retrying += 1,
                BotStatus::Failed => report.n_failed += 1,
            }
            self.store
                .record_bot_attempt(&BotAttempt {
                    id: message.id,
                    attempt,
                    at: now,
                    status,
                    error,
                    next_attempt_at,
                })
                .await?;
        }
        Ok(report)
    }
}

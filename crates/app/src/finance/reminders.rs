//! Invoice reminders (issue 15 point 3; branch `money2`, session 10): before
//! and after an invoice's due day — by default 3 days before, on the day, and
//! 1, 7 and 30 days after (`Settings::invoice_reminder_days`) — a message to
//! the debtor's responsible person through the outbox. Once per invoice and
//! step: the outbox's dedup key `invoice-reminder:<statement>:<step>` makes a
//! second run (the hourly job, a restart, the command) write nothing. A step
//! missed while the server was down is sent up to two days late, never later.
//! A debtor with nobody responsible (or no phone) is counted, not messaged.

use super::must_keep_books;
use crate::App;
use crate::error::AppResult;
use crate::ports::OutboxMessage;
use domain::Principal;
use serde::Serialize;

/// Most statements looked at in one run.
const STATEMENTS_MAX: u32 = 5_000;
/// How many days late a missed step is still sent.
pub const REMINDER_CATCH_UP_DAYS: i64 = 2;
/// The message template (`notify::render`).
pub const TEMPLATE_INVOICE_REMINDER: &str = "invoice_reminder";

/// What one reminder run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReminderRun {
    /// Messages written to the outbox now.
    pub queued: u32,
    /// Steps due that were written before (nothing new).
    pub repeats: u32,
    /// Steps due for a debtor with nobody (or no phone) to tell.
    pub nobody: u32,
}

impl App {
    /// Writes the reminders due today (Shanghai) for every invoice still
    /// owed on: county staff, the administrator and the system's jobs.
    pub async fn send_invoice_reminders(&self, principal: &Principal) -> AppResult<ReminderRun> {
        must_keep_books(principal)?;
        let today = self.today();
        let now = self.now();
        let steps = &self.settings.invoice_reminder_days;
        let statements = self.store.statements(None, STATEMENTS_MAX).await?;
        let terms = self.store.debtor_terms_all().await?;
        let mut run = ReminderRun::default();
        for s in statements.iter().filter(|s| s.net.0 > 0) {
            let due_steps = domain::collection::reminder_steps_due(
                steps,
                s.due_day,
                today,
                REMINDER_CATCH_UP_DAYS,
            );
            if due_steps.is_empty() {
                continue;
            }
            let responsible = terms
                .iter()
                .find(|t| t.carrier == s.carrier)
                .and_then(|t| t.responsible.as_ref());
            let Some((person, phone)) = responsible.and_then(|r| r.phone.as_ref().map(|p| (r, p)))
            else {
                run.nobody += due_steps.len() as u32;
                continue;
            };
            let mut tx = self.store.begin().await?;
            for step in due_steps {
                let written = tx
                    .enqueue(
                        &OutboxMessage {
                            topic: crate::effects::notices::TOPIC_SMS.into(),
                            dedup_key: format!("invoice-reminder:{}:{step}", s.id),
                            merge_key: None,
                            payload: serde_json::json!({
                                "template": TEMPLATE_INVOICE_REMINDER,
                                "to": phone.full(),
                                "person": person.name,
                                "carrier": s.carrier.code(),
                                "carrier_zh": s.carrier.name_zh(),
                                "month": s.month.to_string(),
                                "statement_id": s.id,
                                "owed": s.net.to_string(),
                                "due": s.due_day.to_string(),
                                "step": step,
                            }),
                            available_at: now,
                        },
                        now,
                    )
                    .await?;
                if written {
                    run.queued += 1;
                } else {
                    run.repeats += 1;
                }
            }
            tx.commit().await?;
        }
        if run.queued > 0 {
            tracing::info!(
                queued = run.queued,
                nobody = run.nobody,
                "invoice reminders"
            );
        }
        Ok(run)
    }
}

//! Minimisation and retention (issue 12, `docs/privacy.md`): a parcel's
//! personal data is erased a while after it left the station, and rows
//! that serve throttling, sign-in and device delivery only for a while are
//! pruned. Message bodies are emptied when they are sent (in the store's
//! `mark_sent`), so nothing here waits for them. Run by `yizhan retention
//! run` and by `serve`'s background job; every pass is bounded batches, so
//! an interrupted run loses nothing and the next one goes on.

use crate::ports::PruneKind;
use crate::{App, AppResult};
use chrono::Duration;
use serde::Serialize;

/// Rows per statement: small enough that SQLite's one writer is never held
/// for long while the door terminals wait.
const BATCH: u32 = 500;

/// The periods, in days; defaults and settings in `docs/privacy.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    /// After a parcel is picked up or returned, its recipient's name,
    /// phone, address and pickup code are kept this long (questions,
    /// complaints), then erased.
    pub parcel_days: u32,
    pub code_attempt_days: u32,
    pub device_command_days: u32,
    pub pickup_session_days: u32,
    /// Counted from the token's expiry.
    pub expired_token_days: u32,
    /// A sent message keeps only its template and times (its body is
    /// emptied when sent); the row goes after this.
    pub sent_message_days: u32,
    /// A sender's address book entry not used for this long is erased.
    pub send_address_days: u32,
    /// An inspection's photos (a prescription is health data) are kept
    /// this long after the order was collected or cancelled, for a
    /// dispute about what was inside, then erased.
    pub send_photo_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            parcel_days: 30,
            code_attempt_days: 30,
            device_command_days: 30,
            pickup_session_days: 30,
            expired_token_days: 30,
            sent_message_days: 90,
            send_address_days: 365,
            send_photo_days: 180,
        }
    }
}

impl RetentionSettings {
    pub fn days_for(&self, kind: PruneKind) -> u32 {
        match kind {
            PruneKind::CodeAttempts => self.code_attempt_days,
            PruneKind::DeviceCommands => self.device_command_days,
            PruneKind::PickupSessions => self.pickup_session_days,
            PruneKind::ExpiredTokens => self.expired_token_days,
            PruneKind::SentMessages => self.sent_message_days,
            // A day, fixed: the promise made to integrators (docs/api.md).
            PruneKind::IdempotencyKeys => 1,
            // Sending's one-time codes and sessions age like the
            // terminal's code attempts and the staff's tokens.
            PruneKind::SendCodes => self.code_attempt_days,
            PruneKind::SenderSessions => self.expired_token_days,
            PruneKind::SendAddresses => self.send_address_days,
            PruneKind::SendPhotos => self.send_photo_days,
        }
    }
}

/// What one run removed, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub parcels_erased: u64,
    pub pruned: Vec<(&'static str, u64)>,
}

impl App {
    /// Erases and prunes everything past its period. Safe to run at any
    /// time and from several processes: each statement picks rows by age.
    pub async fn run_retention(&self) -> AppResult<RetentionReport> {
        let now = self.now();
        let settings = &self.settings.retention;
        let mut report = RetentionReport::default();
        let before = now - Duration::days(i64::from(settings.parcel_days));
        loop {
            let erased = self.store.erase_parcels_left_before(before, BATCH).await?;
            report.parcels_erased += erased;
            if erased < u64::from(BATCH) {
                break;
            }
        }
        for kind in PruneKind::ALL {
            let before = now - Duration::days(i64::from(settings.days_for(kind)));
            let mut total = 0;
            loop {
                let pruned = self.store.prune(kind, before, BATCH).await?;
                total += pruned;
                if pruned < u64::from(BATCH) {
                    break;
                }
            }
            report.pruned.push((kind.code(), total));
        }
        tracing::info!(
            parcels_erased = report.parcels_erased,
            pruned = ?report.pruned,
            "retention run"
        );
        crate::audit::record_alone(
            &*self.store,
            &crate::audit::Actor::system("retention"),
            now,
            crate::audit::Act::RetentionRun,
            crate::audit::Object::county("retention"),
            serde_json::json!({ "parcels_erased": report.parcels_erased, "pruned": report.pruned }),
        )
        .await?;
        Ok(report)
    }

    /// Seals every value still in plain text or under an older data key,
    /// in batches; the number of rows changed. Run at start-up and by
    /// `yizhan keys rotate`; after a crash the next run goes on where this
    /// one stopped.
    pub async fn seal_personal_data(&self) -> AppResult<u64> {
        let mut total = 0;
        loop {
            let sealed = self.store.seal_batch(BATCH).await?;
            total += sealed;
            if sealed == 0 {
                return Ok(total);
            }
        }
    }
}

//! Personal data's lifetime (issue 12): sealing values left in plain text
//! by an older version or under an older data key, erasing a parcel's
//! personal data after it has left the station, and pruning the rows that
//! only serve throttling and delivery for a while. The store does the
//! sealing itself (it holds the `Keys`); these calls only drive it in
//! bounded batches, so each is resumable after a crash.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Rows older than their period that retention removes or empties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneKind {
    /// `code_attempts`: the terminal's throttle and the keeper's alert.
    CodeAttempts,
    /// `device_commands` that finished (acknowledged, expired or failed).
    DeviceCommands,
    /// `pickup_sessions` that ended.
    PickupSessions,
    /// `api_tokens` past their expiry: sign-in records.
    ExpiredTokens,
    /// `outbox` messages sent or given up: their rows (template and time)
    /// are kept until then for the keeper's view of what went out.
    SentMessages,
    /// `idempotency_keys` of the API, kept a day
    /// (`app::idempotency::KEY_HOURS`).
    IdempotencyKeys,
    /// `send_codes` past their expiry (sending's one-time codes).
    SendCodes,
    /// `sender_sessions` past their expiry.
    SenderSessions,
    /// `send_addresses` (a sender's address book) not used for a while.
    SendAddresses,
    /// `send_photos` (prescriptions, invoices, packages) of orders that
    /// were collected or cancelled a while ago.
    SendPhotos,
}

impl PruneKind {
    pub const ALL: [PruneKind; 10] = [
        PruneKind::CodeAttempts,
        PruneKind::DeviceCommands,
        PruneKind::PickupSessions,
        PruneKind::ExpiredTokens,
        PruneKind::SentMessages,
        PruneKind::IdempotencyKeys,
        PruneKind::SendCodes,
        PruneKind::SenderSessions,
        PruneKind::SendAddresses,
        PruneKind::SendPhotos,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PruneKind::CodeAttempts => "code_attempts",
            PruneKind::DeviceCommands => "device_commands",
            PruneKind::PickupSessions => "pickup_sessions",
            PruneKind::ExpiredTokens => "expired_tokens",
            PruneKind::SentMessages => "sent_messages",
            PruneKind::IdempotencyKeys => "idempotency_keys",
            PruneKind::SendCodes => "send_codes",
            PruneKind::SenderSessions => "sender_sessions",
            PruneKind::SendAddresses => "send_addresses",
            PruneKind::SendPhotos => "send_photos",
        }
    }
}

#[async_trait]
pub trait PrivacyStore {
    /// Seals up to `limit` rows' personal data that are plain text or
    /// sealed under a data key other than the current one, and replaces
    /// plain look-up values with keyed hashes; the number of rows changed
    /// (0 when nothing is left). Each batch commits on its own.
    async fn seal_batch(&self, limit: u32) -> StoreResult<u64>;
    /// Empties the name, phone, address, their hashes and the pickup code
    /// of up to `limit` parcels picked up or returned before `before`; the
    /// number erased. Station, carrier, times, states, events and fee rows
    /// stay.
    async fn erase_parcels_left_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64>;
    /// Deletes up to `limit` rows of `kind` older than `before`.
    async fn prune(&self, kind: PruneKind, before: DateTime<Utc>, limit: u32) -> StoreResult<u64>;
}

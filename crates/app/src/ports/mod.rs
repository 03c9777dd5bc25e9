//! The ports the use cases need from the outside world — storage, a clock —
//! and the plain records that cross them. Adapters live in other crates
//! (`store`, the binary); nothing here knows SQL or HTTP.
//!
//! Storage is cut by area: each area has a trait for work inside a
//! transaction (`…Tx`) and one for work outside (`…Store`), and its records,
//! in its own module. The store implements each area trait in its own
//! module, so a new query touches two files: the area's port here and its
//! module in `store`. [`Tx`] and [`Store`] are the sum of the areas.
//! Ports import no use-case module: records live here, and use cases
//! re-export the ones their callers name.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub mod approvals;
pub mod audit;
pub mod compliance;
pub mod county;
pub mod devices;
pub mod fleet;
pub mod idempotency;
pub mod ledger;
pub mod outbox;
pub mod parcels;
pub mod payments;
pub mod privacy;
pub mod sending;
pub mod terminal;
pub mod users;
pub mod webhooks;
// Seeing (issue 16, branch board).
pub mod board;
// branch kiosks (issue 14).
pub mod kiosks;
// The sorting hub's board (issue 16, point 4).
pub mod hub;
// branch claims (issue 15).
pub mod claims;
// branch presale (issue 14).
pub mod presale;

pub use approvals::{ApprovalStore, ApprovalTx};
pub use audit::{AuditStore, AuditTx};
pub use board::{BoardStore, BoardTx};
pub use compliance::{ComplianceStore, ComplianceTx};
pub use county::{CountyStore, CountyTx};
pub use devices::{DeviceStore, DeviceTx};
pub use fleet::{FleetStore, FleetTx};
pub use hub::{HubStore, HubTx};
pub use idempotency::IdempotencyStore;
pub use kiosks::{KioskStore, KioskTx};
// branch kiosk-dev (issue 14, session 10).
pub use kiosks::{KioskDeviceStore, KioskDeviceTx};
pub use ledger::{LedgerStore, LedgerTx};
pub use outbox::*;
pub use parcels::*;
pub use presale::{PresaleStore, PresaleTx};
pub use privacy::{PrivacyStore, PruneKind};
pub use sending::{SendingStore, SendingTx};
pub use terminal::{TerminalStore, TerminalTx};
pub use users::*;
pub use webhooks::{WebhookStore, WebhookTx};
// branch claims (issue 15).
pub use claims::{ClaimsStore, ClaimsTx};

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule in the database refused the write (an active pickup
    /// code or a slot place taken by a concurrent writer).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage failure: {0}")]
    Backend(String),
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Where randomness comes from: the secret part of pickup codes. The domain
/// has none; a test that needs a fixed sequence passes a seeded one
/// (`testkit::SeededRandom`).
pub trait Random: Send + Sync {
    /// A uniform draw from `0..bound`; `bound` is at least 1.
    fn below(&self, bound: u64) -> u64;
}

/// The operating system's generator: what every deployment uses.
pub struct OsRandom;

impl Random for OsRandom {
    fn below(&self, bound: u64) -> u64 {
        rand::Rng::gen_range(&mut rand::rngs::OsRng, 0..bound.max(1))
    }
}

/// Work inside one transaction: every area's transactional port. Dropping
/// it without `commit` rolls back.
#[async_trait]
pub trait Tx:
    ParcelTx
    + OutboxTx
    + TerminalTx
    + DeviceTx
    + CountyTx
    + WebhookTx
    + AuditTx
    + UserTx
    + ComplianceTx
    + ApprovalTx
    + SendingTx
    + BoardTx
    + LedgerTx
    + FleetTx
    + KioskTx
    + HubTx
    + ClaimsTx
    + PresaleTx
    + KioskDeviceTx
    + Send
{
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// The whole store: every area's port, and transactions.
#[async_trait]
pub trait Store:
    ParcelStore
    + OutboxStore
    + UserStore
    + TerminalStore
    + DeviceStore
    + CountyStore
    + WebhookStore
    + PrivacyStore
    + AuditStore
    + ComplianceStore
    + ApprovalStore
    + IdempotencyStore
    + SendingStore
    + BoardStore
    + LedgerStore
    + FleetStore
    + KioskStore
    + HubStore
    + ClaimsStore
    + PresaleStore
    + KioskDeviceStore
    + Send
    + Sync
{
    /// Which database this is, for logs and benchmarks.
    fn backend(&self) -> &'static str;
    async fn begin(&self) -> StoreResult<Box<dyn Tx + '_>>;

    /// Adds a station in a transaction of its own: for set-up code, the
    /// demo and tests. `App::create_station` does it inside the transaction
    /// that writes its audit row.
    async fn create_station(
        &self,
        station: &NewStation,
        now: DateTime<Utc>,
    ) -> StoreResult<StationRecord> {
        let mut tx = self.begin().await?;
        let created = tx.create_station(station, now).await?;
        tx.commit().await?;
        Ok(created)
    }
}

/// Every port trait, for `use app::ports::prelude::*`: calling an area's
/// method on a `dyn Tx` or `dyn Store` needs its trait in scope.
pub mod prelude {
    pub use super::{
        ApprovalStore, ApprovalTx, AuditStore, AuditTx, Clock, ComplianceStore, ComplianceTx,
        CountyStore, CountyTx, DeviceStore, DeviceTx, OutboxStore, OutboxTx, ParcelStore, ParcelTx,
        PrivacyStore, Store, TerminalStore, TerminalTx, Tx, UserStore, UserTx, WebhookStore,
        WebhookTx,
    };
    pub use super::{SendingStore, SendingTx};
    // Seeing (issue 16, branch board).
    pub use super::{BoardStore, BoardTx};
    pub use super::{ClaimsStore, ClaimsTx};
    pub use super::{FleetStore, FleetTx};
    pub use super::{HubStore, HubTx};
    pub use super::{KioskDeviceStore, KioskDeviceTx};
    pub use super::{KioskStore, KioskTx};
    pub use super::{LedgerStore, LedgerTx};
    pub use super::{PresaleStore, PresaleTx};
}

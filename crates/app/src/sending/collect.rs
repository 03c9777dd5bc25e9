//! Collection (揽收, issue 14): a courier (county staff) opens a run at one
//! kiosk, scans each item out of its bin, and closes the run. A scan of an
//! accepted order of that kiosk collects it — the state move through
//! `OrderState::apply`, its `send_order_events` row and the responsible
//! staff's commission (`commission:<order>` in the ledger), in one
//! transaction; anything else is flagged extra. Closing records every
//! order still waiting in the bin as missing, with the run's counts.

use crate::App;
use crate::error::{AppError, AppResult, Code};
use crate::ledger::{Account, AccountKind, NewTransfer, TransferKind};
pub use crate::ports::kiosks::{CollectionRecord, CollectionScan, KioskOrder, KioskRecord};
use crate::ports::prelude::*;
use crate::ports::sending::OrderEvent;
use chrono::{DateTime, Utc};
use domain::kiosk::{COLLECTION_SCANS_MAX, KioskStatus, ScanOutcome};
use domain::sending::{OrderAction, OrderState};
use domain::{Fen, Principal};
use serde::Serialize;

/// A run as the courier's page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionView {
    pub run: CollectionRecord,
    pub kiosk: KioskRecord,
    /// What is still waiting in the bin.
    pub bin: Vec<KioskOrder>,
    pub scans: Vec<CollectionScan>,
}

/// What one scan did.
#[derive(Debug, Clone, Serialize)]
pub struct ScanResult {
    pub waybill: String,
    pub outcome: ScanOutcome,
    /// The commission credited to the kiosk's staff, when collected.
    pub commission_fen: Option<i64>,
}

impl App {
    fn may_collect(principal: &Principal) -> AppResult<()> {
        if principal.may_run_county() {
            Ok(())
        } else {
            Err(AppError::Forbidden("collection"))
        }
    }

    /// Opens a collection run at a kiosk for the signed-in courier.
    pub async fn start_collection(
        &self,
        principal: &Principal,
        kiosk_id: i64,
    ) -> AppResult<CollectionRecord> {
        Self::may_collect(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let kiosk = tx
            .kiosk_for_update(kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        if kiosk.status == KioskStatus::Retired {
            return Err(AppError::new(Code::KioskRetired).with("kiosk", kiosk.code));
        }
        let id = tx
            .insert_collection(kiosk_id, principal.user_id, now)
            .await?;
        let run = tx
            .collection_for_update(id)
            .await?
            .ok_or(AppError::NotFound("collection"))?;
        tx.commit().await?;
        Ok(run)
    }

    pub async fn collection_view(
        &self,
        principal: &Principal,
        run_id: i64,
    ) -> AppResult<CollectionView> {
        Self::may_collect(principal)?;
        let run = self
            .store
            .collection(run_id)
            .await?
            .ok_or(AppError::NotFound("collection"))?;
        let kiosk = self
            .store
            .kiosk(run.kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        Ok(CollectionView {
            bin: self.store.kiosk_bin(run.kiosk_id).await?,
            scans: self.store.collection_scans(run_id).await?,
            kiosk,
            run,
        })
    }

    /// Scans one waybill out of the bin in an open run.
    pub async fn collect_scan(
        &self,
        principal: &Principal,
        run_id: i64,
        waybill: &str,
    ) -> AppResult<ScanResult> {
        Self::may_collect(principal)?;
        let waybill = waybill.trim().to_ascii_uppercase();
        if waybill.is_empty() || waybill.chars().count() > domain::limits::WAYBILL_CHARS_MAX {
            return Err(AppError::new(Code::CollectionWaybillInvalid)
                .with("max", domain::limits::WAYBILL_CHARS_MAX));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let run = self.open_run(&mut *tx, principal, run_id).await?;
        // The kiosk's row serialises scans of its bin (two couriers, or a
        // scanner that sends twice).
        let kiosk = tx
            .kiosk_for_update(run.kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        let scans = tx.collection_scans_in(run_id).await?;
        if scans.len() as u32 >= COLLECTION_SCANS_MAX {
            return Err(
                AppError::new(Code::CollectionTooManyScans).with("max", COLLECTION_SCANS_MAX)
            );
        }
        let seen = scans
            .iter()
            .any(|s| s.waybill == waybill && s.outcome != ScanOutcome::Missing);
        let order = tx.send_order_by_waybill(&waybill).await?;
        let mut commission_fen = None;
        let (outcome, order_id) = match order {
            _ if seen => (ScanOutcome::Repeat, None),
            Some(order)
                if order.kiosk_id == Some(kiosk.id) && order.state == OrderState::Accepted =>
            {
                commission_fen = self
                    .collect_order_in(&mut *tx, principal, &kiosk, order.id, now)
                    .await?;
                (ScanOutcome::Collected, Some(order.id))
            }
            Some(order) => (ScanOutcome::Extra, Some(order.id)),
            None => (ScanOutcome::Extra, None),
        };
        tx.insert_collection_scan(&CollectionScan {
            collection_id: run_id,
            waybill: waybill.clone(),
            order_id,
            outcome,
            at: now,
        })
        .await?;
        tx.commit().await?;
        Ok(ScanResult {
            waybill,
            outcome,
            commission_fen,
        })
    }

    /// Closes a run: what is still waiting in the kiosk's bin is recorded
    /// missing, and the run keeps its counts.
    pub async fn close_collection(
        &self,
        principal: &Principal,
        run_id: i64,
    ) -> AppResult<CollectionRecord> {
        Self::may_collect(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut run = self.open_run(&mut *tx, principal, run_id).await?;
        tx.kiosk_for_update(run.kiosk_id).await?;
        let scans = tx.collection_scans_in(run_id).await?;
        let missing = tx.kiosk_bin_in(run.kiosk_id).await?;
        for order in &missing {
            tx.insert_collection_scan(&CollectionScan {
                collection_id: run_id,
                waybill: order.waybill.clone().unwrap_or_default(),
                order_id: Some(order.id),
                outcome: ScanOutcome::Missing,
                at: now,
            })
            .await?;
        }
        let count = |outcome| scans.iter().filter(|s| s.outcome == outcome).count() as u32;
        run.n_collected = count(ScanOutcome::Collected);
        run.n_extra = count(ScanOutcome::Extra);
        run.n_missing = missing.len() as u32;
        run.closed_at = Some(now);
        tx.close_collection(&run).await?;
        tx.commit().await?;
        tracing::info!(
            run = run_id,
            kiosk = run.kiosk_id,
            n_collected = run.n_collected,
            n_extra = run.n_extra,
            n_missing = run.n_missing,
            "collection closed"
        );
        Ok(run)
    }

    async fn open_run(
        &self,
        tx: &mut dyn Tx,
        principal: &Principal,
        run_id: i64,
    ) -> AppResult<CollectionRecord> {
        let run = tx
            .collection_for_update(run_id)
            .await?
            .ok_or(AppError::NotFound("collection"))?;
        // A run is its courier's; the administrator may finish anyone's.
        if run.courier_user_id != principal.user_id && principal.role != domain::Role::Admin {
            return Err(AppError::NotFound("collection"));
        }
        if run.closed_at.is_some() {
            return Err(AppError::new(Code::CollectionClosed));
        }
        Ok(run)
    }

    /// Moves one accepted order to collected: the state machine, the order
    /// with its version check, its event, and the responsible staff's
    /// commission, all in `tx`. Returns the commission posted.
    async fn collect_order_in(
        &self,
        tx: &mut dyn Tx,
        principal: &Principal,
        kiosk: &KioskRecord,
        order_id: i64,
        now: DateTime<Utc>,
    ) -> AppResult<Option<i64>> {
        let mut order = tx
            .order_for_update(order_id)
            .await?
            .ok_or(AppError::NotFound("send order"))?;
        let from = order.state;
        let next = from
            .apply(OrderAction::Collect)
            .map_err(|_| super::orders::state_refusal(from, OrderAction::Collect.code()))?;
        order.state = next;
        order.collected_at = Some(now);
        order.updated_at = now;
        order.version += 1;
        if !tx.update_order(&order).await? {
            return Err(AppError::Contended("send order".into()));
        }
        tx.insert_order_event(&OrderEvent {
            order_id,
            kind: OrderAction::Collect.code().into(),
            from_state: Some(from),
            to_state: next,
            at: now,
            actor: crate::actor_of(principal),
            details: serde_json::json!({ "kiosk": kiosk.code, "waybill": order.waybill }),
        })
        .await?;
        // The carrier hears of it in the same transaction (tracking reads
        // the order's events).
        super::emit_send_event(tx, &order, super::SendEvent::Collected, now).await?;
        let price = Fen(order.price_fen.map_or(0, |fen| fen.0));
        let amount = self.settings.kiosks.commission.for_price(price);
        if amount.0 <= 0 {
            return Ok(None);
        }
        crate::ledger::post(
            tx,
            &NewTransfer {
                id: format!("commission:{order_id}"),
                debit: Account::of(AccountKind::SendingRevenue),
                credit: Account::of(AccountKind::CommissionPayable),
                amount,
                kind: TransferKind::KioskCommission,
                reference: format!(
                    "staff {} kiosk {} waybill {}",
                    kiosk.staff,
                    kiosk.code,
                    order.waybill.as_deref().unwrap_or("")
                ),
                parcel_id: None,
                reverses: None,
                at_ms: now.timestamp_millis(),
            },
            now,
        )
        .await?;
        Ok(Some(amount.0))
    }
}

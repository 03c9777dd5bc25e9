//! Contractor mode's last step: the township contractor reports which
//! parcels it delivered, the county centre enters the report, and each
//! parcel gets its `delivered` event through the one transition path — so
//! the carrier's webhook and event feed hear of it like any other event,
//! and the fee rule runs on it (in contractor mode the fee accrued at the
//! bag handover, `dispatched`; `delivered` closes the parcel's story).

use super::*;
use crate::transition;
use domain::{Action, ParcelState};

/// Most parcels in one report (a batch's limit).
pub const DELIVERY_REPORT_MAX: usize = domain::limits::BATCH_PARCELS_MAX;

/// One parcel of a contractor's delivery report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveredParcel {
    pub carrier: Carrier,
    pub waybill: String,
}

/// A row of the report that was not taken, with why.
#[derive(Debug, Clone, Serialize)]
pub struct RefusedDelivery {
    /// 0-based position in the report.
    pub index: usize,
    pub waybill: String,
    pub code: Code,
    /// Why, in English until the caller picks a language
    /// ([`DeliveryReport::in_lang`]).
    pub reason: String,
    #[serde(skip)]
    pub error: AppError,
}

/// What a delivery report did.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryReport {
    pub contractor_id: i64,
    /// Parcels now `delivered`.
    pub n_delivered: u32,
    /// Parcels reported before (nothing changed).
    pub n_already: u32,
    pub rejected: Vec<RefusedDelivery>,
}

impl DeliveryReport {
    /// The refusals' reasons in `lang`.
    pub fn in_lang(mut self, lang: crate::Lang) -> DeliveryReport {
        for row in &mut self.rejected {
            row.reason = row.error.message(lang);
        }
        self
    }
}

impl App {
    /// Records a contractor's delivery report: each parcel must have been
    /// handed to this contractor (its bag's target) and dispatched. One
    /// transaction; refused rows are listed, the others kept; reporting a
    /// parcel again changes nothing.
    pub async fn contractor_delivered(
        &self,
        principal: &Principal,
        contractor_id: i64,
        parcels: &[DeliveredParcel],
    ) -> AppResult<DeliveryReport> {
        self.must_run_county(principal)?;
        if parcels.is_empty() || parcels.len() > DELIVERY_REPORT_MAX {
            return Err(AppError::new(Code::BatchSize)
                .with("max", DELIVERY_REPORT_MAX)
                .with("n", parcels.len()));
        }
        let by = self.by(principal);
        let mut tx = self.store.begin().await?;
        let config = tx.county_config().await?;
        if !config.contractors.iter().any(|c| c.id == contractor_id) {
            return Err(AppError::NotFound("contractor"));
        }
        let mut report = DeliveryReport {
            contractor_id,
            n_delivered: 0,
            n_already: 0,
            rejected: Vec::new(),
        };
        for (index, item) in parcels.iter().enumerate() {
            let mut refuse = |error: AppError| {
                report.rejected.push(RefusedDelivery {
                    index,
                    waybill: item.waybill.chars().take(64).collect(),
                    code: error.code(),
                    reason: error.message(crate::Lang::En),
                    error,
                })
            };
            let waybill = match WaybillNo::parse(&item.waybill) {
                Ok(waybill) => waybill,
                Err(error) => {
                    refuse(AppError::new(Code::WaybillInvalid).with_detail(error));
                    continue;
                }
            };
            let Some(mut parcel) = tx.parcel_by_waybill(item.carrier, &waybill).await? else {
                refuse(AppError::NotFound("parcel"));
                continue;
            };
            let routing = tx.routing(parcel.id).await?;
            let with_contractor = matches!(
                routing.map(|r| r.target),
                Some(Target::Contractor { contractor_id: id }) if id == contractor_id
            );
            if !with_contractor {
                refuse(AppError::new(Code::NotWithContractor));
                continue;
            }
            match parcel.state {
                ParcelState::Delivered => {
                    report.n_already += 1;
                    continue;
                }
                ParcelState::Dispatched => {}
                _ => {
                    refuse(AppError::new(Code::NotWithContractor));
                    continue;
                }
            }
            transition::apply(
                &mut *tx,
                by,
                None,
                &mut parcel,
                Action::ReportDelivered,
                serde_json::json!({ "contractor_id": contractor_id }),
            )
            .await?;
            report.n_delivered += 1;
        }
        tx.commit().await?;
        tracing::info!(
            contractor = contractor_id,
            n_delivered = report.n_delivered,
            n_refused = report.rejected.len(),
            "contractor delivery report"
        );
        Ok(report)
    }
}

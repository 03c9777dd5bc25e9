//! Reconciliation of announced against arrived, and the fee ledger.

use super::*;

impl App {
    /// An export over more days than `approvals.export_days_max` needs a
    /// second person (`app::approvals`): the approval that covers it, or
    /// none when it is under the threshold.
    async fn bulk_export_gate(
        &self,
        principal: &Principal,
        what: &'static str,
        carrier: Carrier,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<Option<i64>> {
        let thresholds = &self.settings.approvals;
        if !domain::approval::applies_to(principal) || !thresholds.export_needs_approval(from, to) {
            return Ok(None);
        }
        let scope = domain::approval::Scope::Export {
            what,
            carrier: Some(carrier.code()),
            from,
            to,
        };
        crate::approvals::require(&*self.store, thresholds, principal, &scope, self.now())
            .await
            .map(Some)
    }

    /// Announced versus arrived for a carrier over Shanghai days `from..=to`.
    pub async fn reconcile(
        &self,
        principal: &Principal,
        carrier: Carrier,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<Reconciliation> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        check_range(from, to)?;
        let approval = self
            .bulk_export_gate(principal, "reconciliation", carrier, from, to)
            .await?;
        let end = day_start(to + chrono::Duration::days(1));
        let (missing, unannounced) = self
            .store
            .reconcile(carrier, day_start(from), end, RECONCILE_LIST_MAX)
            .await?;
        let view = |parcels: Vec<ParcelRecord>| {
            parcels
                .into_iter()
                .map(|p| ReconciledParcel {
                    parcel_id: p.id,
                    waybill: p.waybill,
                    state: p.state,
                    created_at: p.created_at,
                })
                .collect()
        };
        let (missing, unannounced): (Vec<ReconciledParcel>, Vec<ReconciledParcel>) =
            (view(missing), view(unannounced));
        crate::audit::record_alone(
            &*self.store,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::DataExported,
            crate::audit::Object::county("reconciliation"),
            crate::approvals::named(
                serde_json::json!({
                    "export": "reconciliation",
                    "carrier": carrier.code(),
                    "from": from.to_string(),
                    "to": to.to_string(),
                    "missing": missing.len(),
                    "unannounced": unannounced.len(),
                }),
                approval,
            ),
        )
        .await?;
        Ok(Reconciliation {
            carrier,
            from,
            to,
            missing,
            unannounced,
        })
    }

    /// The carrier's fee ledger over Shanghai days `from..=to`, a page at a time.
    pub async fn fee_ledger(
        &self,
        principal: &Principal,
        carrier: Carrier,
        from: NaiveDate,
        to: NaiveDate,
        after_id: Option<i64>,
        limit: Option<u32>,
    ) -> AppResult<Vec<FeeRecord>> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        check_range(from, to)?;
        let limit = crate::paging::page_size(limit)?;
        let approval = self
            .bulk_export_gate(principal, "fee_ledger", carrier, from, to)
            .await?;
        let page = self
            .store
            .fees(carrier, from, to, after_id.unwrap_or(0), limit)
            .await?;
        crate::audit::record_alone(
            &*self.store,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::DataExported,
            crate::audit::Object::county("fee_ledger"),
            crate::approvals::named(
                serde_json::json!({
                    "export": "fee_ledger",
                    "carrier": carrier.code(),
                    "from": from.to_string(),
                    "to": to.to_string(),
                    "after_id": after_id,
                    "rows": page.len(),
                }),
                approval,
            ),
        )
        .await?;
        Ok(page)
    }

    pub async fn fee_summary(
        &self,
        principal: &Principal,
        carrier: Carrier,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<FeeSummary> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        check_range(from, to)?;
        let rows = self.store.fee_summary(carrier, from, to).await?;
        Ok(FeeSummary {
            carrier,
            from,
            to,
            n_parcels: rows.iter().map(|r| r.n_parcels).sum(),
            total: Fen(rows.iter().map(|r| r.total.0).sum()),
            rows,
        })
    }
}

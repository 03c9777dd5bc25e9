//! The carriers' waybill number pools: ranges uploaded by county staff,
//! numbers handed out in order inside the order's transaction, an alert when
//! less than a tenth is left.

use super::*;
use crate::ports::sending::{NewWaybillRange, SendAlert, WaybillRange};
use domain::Principal;

/// Most numbers in one uploaded range.
pub const RANGE_NUMBERS_MAX: i64 = 10_000_000;

impl App {
    /// Adds a range of waybill numbers for a carrier: `prefix` followed by
    /// `first..=last` zero-padded to `digits`. Every number must be a valid
    /// waybill number and no range of the carrier may overlap it.
    pub async fn add_waybill_range(
        &self,
        principal: &Principal,
        carrier: Carrier,
        prefix: &str,
        first: i64,
        last: i64,
        digits: u32,
    ) -> AppResult<WaybillRange> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("county centre"));
        }
        let prefix = prefix.trim().to_ascii_uppercase();
        let invalid = |detail: String| AppError::new(Code::SendRangeInvalid).with_detail(detail);
        if prefix.len() > 8 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid("the prefix is at most 8 letters and digits".into()));
        }
        if first < 0 || last < first || last - first + 1 > RANGE_NUMBERS_MAX {
            return Err(invalid(format!(
                "first..=last must be 0 <= first <= last with at most {RANGE_NUMBERS_MAX} numbers"
            )));
        }
        if !(1..=18).contains(&digits) || last.to_string().len() > digits as usize {
            return Err(invalid(
                "digits must be 1 to 18 and hold the last number".into(),
            ));
        }
        for n in [first, last] {
            let waybill = format!("{prefix}{n:0width$}", width = digits as usize);
            domain::WaybillNo::parse(&waybill)
                .map_err(|error| invalid(format!("{waybill}: {error}")))?;
        }
        let existing = self.store.waybill_ranges(carrier).await?;
        if existing.iter().any(|range| {
            range.prefix == prefix
                && range.digits == digits
                && range.first <= last
                && first <= range.last
        }) {
            return Err(AppError::new(Code::SendRangeOverlaps));
        }
        let range = self
            .store
            .add_waybill_range(&NewWaybillRange {
                carrier,
                prefix,
                first,
                last,
                digits,
                actor: crate::actor_of(principal),
                now: self.now(),
            })
            .await?;
        crate::audit::record_alone(
            &*self.store,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::WaybillRangeAdded,
            crate::audit::Object::new("waybill_range", range.id),
            serde_json::json!({ "carrier": carrier.code(), "numbers": last - first + 1 }),
        )
        .await?;
        Ok(range)
    }

    /// A carrier's ranges with what is left of each.
    pub async fn waybill_ranges(
        &self,
        principal: &Principal,
        carrier: Carrier,
    ) -> AppResult<Vec<WaybillRange>> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("county centre"));
        }
        Ok(self.store.waybill_ranges(carrier).await?)
    }

    /// Sending's alerts (a pool running low), newest first.
    pub async fn send_alerts(&self, principal: &Principal) -> AppResult<Vec<SendAlert>> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("county centre"));
        }
        Ok(self.store.send_alerts(50).await?)
    }
}

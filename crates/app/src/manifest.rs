//! Carriers announce parcels (预报) before they arrive: one row per parcel,
//! idempotent per carrier and waybill. Refused rows are reported with their
//! reason; the good rows are kept.

use crate::App;
use crate::error::{AppError, AppResult};
use crate::inbound::record;
use crate::ports::NewParcel;
use domain::limits::{ADDRESS_CHARS_MAX, BATCH_PARCELS_MAX, NAME_CHARS_MAX, text_field};
use domain::station::SizeClass;
use domain::{Carrier, ParcelState, Phone, Principal, WaybillNo};
use serde::{Deserialize, Serialize};

/// One manifest row as text, before parsing: the same shape for JSON, CSV
/// and spreadsheets.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ManifestRow {
    pub waybill: String,
    #[serde(default)]
    pub recipient_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub station_id: Option<i64>,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub consent: Option<bool>,
    /// Grams; fees are by weight bracket.
    #[serde(default)]
    pub weight_grams: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectedRow {
    /// 1-based row number in what the caller sent (after any header).
    pub row: usize,
    pub waybill: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ManifestOutcome {
    pub n_announced: usize,
    pub n_already_known: usize,
    pub rejected: Vec<RejectedRow>,
}

fn parse_row(row: &ManifestRow) -> Result<NewParcel, String> {
    let waybill = WaybillNo::parse(&row.waybill).map_err(|e| e.to_string())?;
    let recipient_name = row
        .recipient_name
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|name| text_field("recipient name", name, NAME_CHARS_MAX).map(String::from))
        .transpose()?;
    let phone = row
        .phone
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(Phone::parse)
        .transpose()
        .map_err(|e| format!("phone: {e}"))?;
    let address = row
        .address
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|a| text_field("address", a, ADDRESS_CHARS_MAX).map(String::from))
        .transpose()?;
    let size = row
        .size
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| SizeClass::parse(s.trim()))
        .transpose()?
        .unwrap_or(SizeClass::Small);
    Ok(NewParcel {
        carrier: Carrier::Ems, // replaced by the caller's carrier
        waybill,
        state: ParcelState::Announced,
        recipient_name,
        phone,
        address,
        size,
        weight_grams: match row.weight_grams {
            Some(w) if w == 0 || w > domain::limits::WEIGHT_GRAMS_MAX => {
                return Err(format!(
                    "weight {w} g is outside 1..={} g",
                    domain::limits::WEIGHT_GRAMS_MAX
                ));
            }
            weight => weight,
        },
        consent: row.consent.unwrap_or(false),
        station_id: row.station_id,
    })
}

impl App {
    /// Announces up to [`BATCH_PARCELS_MAX`] parcels in one transaction.
    pub async fn announce(
        &self,
        principal: &Principal,
        carrier: Carrier,
        rows: &[ManifestRow],
        first_row_number: usize,
    ) -> AppResult<ManifestOutcome> {
        if rows.len() > BATCH_PARCELS_MAX {
            return Err(AppError::Invalid(format!(
                "a manifest request holds at most {BATCH_PARCELS_MAX} rows; split it"
            )));
        }
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        let now = self.now();
        let mut outcome = ManifestOutcome::default();
        let mut tx = self.store.begin().await?;
        for (idx, row) in rows.iter().enumerate() {
            let row_number = first_row_number + idx;
            let reject = |reason: String| RejectedRow {
                row: row_number,
                waybill: row.waybill.chars().take(64).collect(),
                reason,
            };
            let mut parcel = match parse_row(row) {
                Ok(parcel) => parcel,
                Err(reason) => {
                    outcome.rejected.push(reject(reason));
                    continue;
                }
            };
            parcel.carrier = carrier;
            if let Some(station_id) = parcel.station_id
                && tx.station(station_id).await?.is_none()
            {
                outcome
                    .rejected
                    .push(reject(format!("no station {station_id}")));
                continue;
            }
            if tx
                .parcel_by_waybill(carrier, &parcel.waybill)
                .await?
                .is_some()
            {
                outcome.n_already_known += 1;
                continue;
            }
            let stored = tx.insert_parcel(&parcel, now).await?;
            record(
                &mut *tx,
                &stored,
                "announced",
                None,
                principal,
                now,
                serde_json::json!({}),
            )
            .await?;
            outcome.n_announced += 1;
        }
        tx.commit().await?;
        tracing::info!(carrier = %carrier, n_announced = outcome.n_announced, n_known = outcome.n_already_known, n_rejected = outcome.rejected.len(), "manifest");
        Ok(outcome)
    }
}

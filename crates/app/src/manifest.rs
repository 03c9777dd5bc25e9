//! Carriers announce parcels (预报) before they arrive: one row per parcel,
//! idempotent per carrier and waybill. Refused rows are reported with their
//! reason; the good rows are kept.

use crate::App;
use crate::error::{AppError, AppResult, Code};
use crate::ports::NewParcel;
use crate::transition;
use domain::limits::{
    ADDRESS_CHARS_MAX, BATCH_PARCELS_MAX, MANIFEST_CHUNK_ROWS, NAME_CHARS_MAX, text_field,
};
use domain::station::SizeClass;
use domain::{Carrier, ParcelState, Phone, Principal, WaybillNo};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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

/// Parses and checks one row without IO, so a file import can do it on its
/// reader thread and leave the writer only writing. The carrier is the
/// importing carrier's.
pub fn parse_row_for(carrier: Carrier, row: &ManifestRow) -> Result<NewParcel, String> {
    let mut parcel = parse_row(row)?;
    parcel.carrier = carrier;
    Ok(parcel)
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
        self.announce_rows(
            principal,
            carrier,
            rows,
            first_row_number,
            BATCH_PARCELS_MAX,
        )
        .await
    }

    /// Announces one chunk of a manifest file, up to
    /// [`MANIFEST_CHUNK_ROWS`] rows in one transaction: a crash leaves whole
    /// chunks, and re-importing the file announces only what is missing.
    pub async fn announce_file_chunk(
        &self,
        principal: &Principal,
        carrier: Carrier,
        rows: &[ManifestRow],
        first_row_number: usize,
    ) -> AppResult<ManifestOutcome> {
        self.announce_rows(
            principal,
            carrier,
            rows,
            first_row_number,
            MANIFEST_CHUNK_ROWS,
        )
        .await
    }

    /// Announces one chunk of a manifest file whose rows were already parsed
    /// with [`parse_row_for`] (on the file reader's thread): up to
    /// [`MANIFEST_CHUNK_ROWS`] parcels in one transaction. Refusals name the
    /// index in `parcels` plus `first_row_number`.
    pub async fn announce_parsed_chunk(
        &self,
        principal: &Principal,
        carrier: Carrier,
        parcels: Vec<NewParcel>,
        first_row_number: usize,
    ) -> AppResult<ManifestOutcome> {
        if parcels.len() > MANIFEST_CHUNK_ROWS {
            return Err(AppError::new(Code::ManifestSize).with("max", MANIFEST_CHUNK_ROWS));
        }
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        if let Some(other) = parcels.iter().find(|p| p.carrier != carrier) {
            return Err(AppError::new(Code::ManifestCarrierMismatch)
                .with_words("carrier", carrier.name_zh(), carrier.code())
                .with_words("other", other.carrier.name_zh(), other.carrier.code()));
        }
        let mut outcome = ManifestOutcome::default();
        let good = parcels.into_iter().enumerate().collect();
        self.write_announcements(principal, carrier, good, first_row_number, &mut outcome)
            .await?;
        Ok(outcome)
    }

    /// Parses every row first (no IO), then writes the new parcels and their
    /// events (`write_announcements`).
    async fn announce_rows(
        &self,
        principal: &Principal,
        carrier: Carrier,
        rows: &[ManifestRow],
        first_row_number: usize,
        rows_max: usize,
    ) -> AppResult<ManifestOutcome> {
        if rows.len() > rows_max {
            return Err(AppError::new(Code::ManifestSize).with("max", rows_max));
        }
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        let mut outcome = ManifestOutcome::default();
        let mut good: Vec<(usize, NewParcel)> = Vec::with_capacity(rows.len());
        for (idx, row) in rows.iter().enumerate() {
            match parse_row_for(carrier, row) {
                Ok(parcel) => good.push((idx, parcel)),
                Err(reason) => outcome.rejected.push(RejectedRow {
                    row: first_row_number + idx,
                    waybill: row.waybill.chars().take(64).collect(),
                    reason,
                }),
            }
        }
        self.write_announcements(principal, carrier, good, first_row_number, &mut outcome)
            .await?;
        Ok(outcome)
    }

    /// Writes parsed parcels (each with its index among the rows sent) and
    /// their events in one transaction with a few multi-row statements: the
    /// database, not a look-up per row, decides which waybills are new
    /// (`ON CONFLICT DO NOTHING`).
    async fn write_announcements(
        &self,
        principal: &Principal,
        carrier: Carrier,
        good: Vec<(usize, NewParcel)>,
        first_row_number: usize,
        outcome: &mut ManifestOutcome,
    ) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        // A manifest names few stations; each is looked up once.
        let mut station_known: HashMap<i64, bool> = HashMap::new();
        let mut parcels: Vec<NewParcel> = Vec::with_capacity(good.len());
        for (idx, parcel) in good {
            if let Some(station_id) = parcel.station_id {
                let known = match station_known.get(&station_id) {
                    Some(known) => *known,
                    None => {
                        let known = tx.station(station_id).await?.is_some();
                        station_known.insert(station_id, known);
                        known
                    }
                };
                if !known {
                    outcome.rejected.push(RejectedRow {
                        row: first_row_number + idx,
                        waybill: parcel.waybill.as_str().to_string(),
                        reason: format!("no station {station_id}"),
                    });
                    continue;
                }
            }
            parcels.push(parcel);
        }
        let inserted = transition::announce_many(&mut *tx, self.by(principal), &parcels).await?;
        outcome.n_announced = inserted.len();
        outcome.n_already_known = parcels.len() - inserted.len();
        tx.commit().await?;
        outcome.rejected.sort_by_key(|r| r.row);
        tracing::info!(carrier = %carrier, n_announced = outcome.n_announced, n_known = outcome.n_already_known, n_rejected = outcome.rejected.len(), "manifest");
        Ok(())
    }
}

//! Carriers announce parcels (预报) before they arrive: one row per parcel,
//! idempotent per carrier and waybill. Refused rows are reported with their
//! reason; the good rows are kept. A waybill twice in one manifest is
//! refused at its second line; a waybill announced before with other data
//! is refused too (nothing is overwritten) and is corrected or cancelled
//! with its own calls ([`App::correct_announcement`],
//! [`App::cancel_announcement`]). Field formats (`docs/county.md`,
//! "Manifest formats"): `consent` takes `true`/`false`, `1`/`0`, `是`/`否`,
//! `yes`/`no`; `weight_grams` whole grams; `size` `small`/`medium`/`large`
//! or `小`/`中`/`大`.

use crate::App;
use crate::error::{AppError, AppResult, Code};
use crate::ports::{NewParcel, ParcelRecord};
use crate::transition;
use domain::limits::{
    ADDRESS_CHARS_MAX, BATCH_PARCELS_MAX, MANIFEST_CHUNK_ROWS, NAME_CHARS_MAX, text_field,
};
use domain::station::SizeClass;
use domain::{Carrier, ParcelState, Phone, Principal, WaybillNo};
use serde::{Deserialize, Deserializer, Serialize};
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
    /// `true`/`false`, `1`/`0`, `是`/`否` or `yes`/`no` ([`parse_flag`]).
    #[serde(default, deserialize_with = "flag")]
    pub consent: Option<bool>,
    /// Whole grams; fees are by weight bracket ([`parse_grams`]).
    #[serde(default, deserialize_with = "grams")]
    pub weight_grams: Option<u32>,
}

/// What a manifest cell may hold: JSON gives typed values, CSV and
/// spreadsheets text (or numbers the reader guessed).
#[derive(Deserialize)]
#[serde(untagged)]
enum Cell {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// The words accepted for a yes/no column, in every manifest form.
pub const FLAG_WORDS: &str = "true/false, 1/0, 是/否 or yes/no";

/// A yes/no cell: `true`/`false`, `1`/`0`, `是`/`否`, `yes`/`no`, `y`/`n`
/// (any case); empty is absent.
pub fn parse_flag(text: &str) -> Result<Option<bool>, String> {
    match text.trim().to_lowercase().as_str() {
        "" => Ok(None),
        "true" | "1" | "是" | "yes" | "y" => Ok(Some(true)),
        "false" | "0" | "否" | "no" | "n" => Ok(Some(false)),
        other => Err(format!(
            "consent {other:?} is not a yes/no; use {FLAG_WORDS}"
        )),
    }
}

/// A weight cell: whole grams, as a number or digits (`1250`, not `1.25`
/// or `1.25kg`); empty is absent. The range is checked with the row.
pub fn parse_grams(text: &str) -> Result<Option<u32>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u32>().map(Some).map_err(|_| {
        format!(
            "weight_grams {text:?} is not whole grams; write grams as digits (1250 for 1.25 kg)"
        )
    })
}

fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    use serde::de::Error;
    match Option::<Cell>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Cell::Bool(value)) => Ok(Some(value)),
        Some(Cell::Int(value)) => parse_flag(&value.to_string()).map_err(D::Error::custom),
        Some(Cell::Float(value)) => parse_flag(&value.to_string()).map_err(D::Error::custom),
        Some(Cell::Text(text)) => parse_flag(&text).map_err(D::Error::custom),
    }
}

fn grams<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    use serde::de::Error;
    match Option::<Cell>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Cell::Int(value)) => parse_grams(&value.to_string()).map_err(D::Error::custom),
        Some(Cell::Float(value)) if value.fract() == 0.0 && value.abs() < 1e10 => {
            parse_grams(&format!("{value:.0}")).map_err(D::Error::custom)
        }
        Some(Cell::Float(value)) => parse_grams(&value.to_string()).map_err(D::Error::custom),
        Some(Cell::Text(text)) => parse_grams(&text).map_err(D::Error::custom),
        Some(Cell::Bool(value)) => parse_grams(&value.to_string()).map_err(D::Error::custom),
    }
}

/// A size cell: `small`/`medium`/`large` (any case) or `小`/`中`/`大`
/// (`小件`…); empty is small.
pub fn parse_size(text: &str) -> Result<SizeClass, String> {
    match text.trim().to_lowercase().as_str() {
        "" | "small" | "小" | "小件" => Ok(SizeClass::Small),
        "medium" | "中" | "中件" => Ok(SizeClass::Medium),
        "large" | "大" | "大件" => Ok(SizeClass::Large),
        other => Err(format!(
            "unknown size class {other:?}; use small, medium or large (小/中/大)"
        )),
    }
}

/// The waybills seen so far in one manifest, with the row each was first
/// seen at: a waybill twice in one file is refused at its second row.
#[derive(Debug)]
pub struct SeenWaybills {
    first: HashMap<String, usize>,
    /// What the rows are called in the refusal: `line` (files) or `row`.
    unit: &'static str,
}

impl SeenWaybills {
    /// For a file whose rows are named by `unit` (`line` for files, `row`
    /// for the JSON API's array).
    pub fn new(unit: &'static str) -> SeenWaybills {
        SeenWaybills {
            first: HashMap::new(),
            unit,
        }
    }

    /// Notes `waybill` at `row`; the reason to refuse it when it was seen
    /// before.
    pub fn check(&mut self, waybill: &WaybillNo, row: usize) -> Result<(), String> {
        match self.first.entry(waybill.as_str().to_string()) {
            std::collections::hash_map::Entry::Occupied(first) => Err(format!(
                "the same waybill as {} {}: announce each parcel once per manifest",
                self.unit,
                first.get()
            )),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(row);
                Ok(())
            }
        }
    }
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
    let size = parse_size(row.size.as_deref().unwrap_or_default())?;
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

/// The fields a repeated announcement would change on the parcel announced
/// before (none: the repeat is idempotent). The weight is compared only
/// while the parcel is announced: the centre's scale may set it later.
pub fn differences(row: &NewParcel, known: &ParcelRecord) -> Vec<&'static str> {
    let mut fields = Vec::new();
    // A parcel that has left (its personal data erased after a while) or
    // was cancelled is not compared: there is nothing left to correct.
    if known.state.is_terminal() {
        return fields;
    }
    if row.recipient_name != known.recipient_name {
        fields.push("recipient_name");
    }
    if row.phone != known.phone {
        fields.push("phone");
    }
    if row.address != known.address {
        fields.push("address");
    }
    if row.station_id.is_some() && row.station_id != known.station_id {
        fields.push("station_id");
    }
    if row.size != known.size {
        fields.push("size");
    }
    if row.consent != known.consent && known.state == ParcelState::Announced {
        fields.push("consent");
    }
    if row.weight_grams != known.weight_grams && known.state == ParcelState::Announced {
        fields.push("weight_grams");
    }
    fields
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
        let mut seen = SeenWaybills::new("row");
        for (idx, row) in rows.iter().enumerate() {
            let row_number = first_row_number + idx;
            match parse_row_for(carrier, row)
                .and_then(|parcel| seen.check(&parcel.waybill, row_number).map(|()| parcel))
            {
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
        // Exposure control (branch money2, issue 15): a held carrier's new
        // announcements are refused; parcels announced before are not held.
        if tx
            .open_exposure_incident_in(carrier)
            .await?
            .is_some_and(|incident| incident.holds())
        {
            return Err(AppError::new(Code::CarrierHeld).with_words(
                "carrier",
                carrier.name_zh(),
                carrier.code(),
            ));
        }
        // A manifest names few stations; each is looked up once.
        let mut station_known: HashMap<i64, bool> = HashMap::new();
        let mut parcels: Vec<NewParcel> = Vec::with_capacity(good.len());
        let mut rows: Vec<usize> = Vec::with_capacity(good.len());
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
            rows.push(first_row_number + idx);
        }
        let inserted = transition::announce_many(&mut *tx, self.by(principal), &parcels).await?;
        outcome.n_announced = inserted.len();
        // The rest were announced before: the same data is an idempotent
        // repeat; other data is reported, never written over.
        // (Each inserted waybill stands for its first row; a repeat in the
        // same chunk is compared like any known parcel.)
        let mut new: std::collections::HashSet<&str> =
            inserted.iter().map(|p| p.waybill.as_str()).collect();
        for (parcel, row) in parcels.iter().zip(&rows) {
            if new.remove(parcel.waybill.as_str()) {
                continue;
            }
            let known = tx.parcel_by_waybill(carrier, &parcel.waybill).await?;
            match known.map(|known| differences(parcel, &known)) {
                Some(fields) if !fields.is_empty() => outcome.rejected.push(RejectedRow {
                    row: *row,
                    waybill: parcel.waybill.as_str().to_string(),
                    reason: format!(
                        "already announced with other {}; nothing was changed: correct it with PUT /api/carriers/{}/parcels/{} or cancel it with DELETE",
                        fields.join(", "),
                        carrier.code(),
                        parcel.waybill
                    ),
                }),
                _ => outcome.n_already_known += 1,
            }
        }
        tx.commit().await?;
        outcome.rejected.sort_by_key(|r| r.row);
        tracing::info!(carrier = %carrier, n_announced = outcome.n_announced, n_known = outcome.n_already_known, n_rejected = outcome.rejected.len(), "manifest");
        Ok(())
    }

    /// Corrects an announcement while the parcel is still announced (not
    /// yet seen anywhere): `row` replaces every announced field (a field
    /// left out is cleared). Recorded as an `announcement_corrected` event
    /// naming the fields changed (not their values).
    pub async fn correct_announcement(
        &self,
        principal: &Principal,
        carrier: Carrier,
        row: &ManifestRow,
    ) -> AppResult<ParcelRecord> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        let new = parse_row_for(carrier, row)
            .map_err(|reason| AppError::new(Code::AnnouncementInvalid).with_detail(reason))?;
        let mut tx = self.store.begin().await?;
        let mut parcel = self
            .announced_parcel(&mut *tx, carrier, &new.waybill)
            .await?;
        if let Some(station_id) = new.station_id
            && tx.station(station_id).await?.is_none()
        {
            return Err(AppError::new(Code::AnnouncementInvalid)
                .with_detail(format!("no station {station_id}")));
        }
        let fields = differences(&new, &parcel);
        if fields.is_empty() {
            return Ok(parcel);
        }
        parcel.recipient_name = new.recipient_name;
        parcel.phone = new.phone;
        parcel.address = new.address;
        parcel.station_id = new.station_id;
        parcel.size = new.size;
        parcel.consent = new.consent;
        parcel.weight_grams = new.weight_grams;
        transition::apply(
            &mut *tx,
            self.by(principal),
            None,
            &mut parcel,
            domain::Action::CorrectAnnouncement,
            serde_json::json!({ "fields": fields }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(carrier = %carrier, parcel = parcel.id, ?fields, "announcement corrected");
        Ok(parcel)
    }

    /// Cancels an announcement while the parcel is still announced: it
    /// becomes `cancelled` (kept, with its events, so the carrier's records
    /// and the reconciliation stay whole) and is no longer expected.
    pub async fn cancel_announcement(
        &self,
        principal: &Principal,
        carrier: Carrier,
        waybill: &WaybillNo,
    ) -> AppResult<ParcelRecord> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        let mut tx = self.store.begin().await?;
        let mut parcel = self.announced_parcel(&mut *tx, carrier, waybill).await?;
        transition::apply(
            &mut *tx,
            self.by(principal),
            None,
            &mut parcel,
            domain::Action::CancelAnnouncement,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(carrier = %carrier, parcel = parcel.id, "announcement cancelled");
        Ok(parcel)
    }

    /// The carrier's parcel with this waybill, if it is still announced.
    async fn announced_parcel(
        &self,
        tx: &mut dyn crate::ports::Tx,
        carrier: Carrier,
        waybill: &WaybillNo,
    ) -> AppResult<ParcelRecord> {
        let parcel = tx
            .parcel_by_waybill(carrier, waybill)
            .await?
            .ok_or(AppError::NotFound("parcel"))?;
        if parcel.state != ParcelState::Announced {
            return Err(AppError::new(Code::AnnouncementSettled).with("state", parcel.state.code()));
        }
        Ok(parcel)
    }
}

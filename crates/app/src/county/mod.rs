//! The county co-delivery centre: carriers' agreements and fees, the
//! arrival scan with its route decision, bags, handover to routes and
//! contractors, a station accepting a whole bag, the manual-resolution
//! queue and the announced-versus-arrived reconciliation. The rules are in
//! `domain::county`; this module reads what they need and writes their
//! outcome in one transaction per change.

pub use crate::ports::county::{
    AgreementVersion, BagRecord, BagStatus, ContractorRecord, FeeRecord, FeeSummaryRow, ManualItem,
    NewFee, RouteRecord, RoutingRecord,
};
mod agreements;
mod arrival;
mod bags;
pub mod deliveries;
pub mod print;
mod reports;

use crate::error::{AppError, AppResult, Code, text_invalid};
use crate::ports::{NewParcel, ParcelRecord, StoreError, Tx};
use crate::shelve::{BatchOutcome, InboundScan};
use crate::{App, actor_of};
use chrono::{DateTime, NaiveDate, Utc};
use domain::county::{
    Decision, Destination, Period, Target, Terms, Unresolved, decide, parse_township,
};
use domain::limits::{ADDRESS_CHARS_MAX, NAME_CHARS_MAX, text_field};
use domain::{
    Action, Carrier, Fen, ParcelState, Phone, Principal, WaybillNo, day_start, shanghai_day,
};
use serde::{Deserialize, Serialize};

/// Longest date range one report or reconciliation covers.
pub const REPORT_DAYS_MAX: i64 = 366;
/// Most parcels listed in each list of a reconciliation.
pub const RECONCILE_LIST_MAX: u32 = 10_000;

/// A new version of a carrier's agreement, as the API takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementRequest {
    pub effective_from: NaiveDate,
    #[serde(default)]
    pub effective_to: Option<NaiveDate>,
    pub terms: Terms,
}

/// Reads a scanned bag label (or a bare bag id typed in).
pub fn parse_bag_label(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let digits = text.strip_prefix("YZBAG:").unwrap_or(text);
    digits
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("{text:?} is not a bag label (YZBAG:<id>)"))
}

#[derive(Debug, Clone, Serialize)]
pub struct FeeSummary {
    pub carrier: Carrier,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: Vec<FeeSummaryRow>,
    pub n_parcels: u64,
    pub total: Fen,
}

/// The centre's arrival scan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalScan {
    pub carrier: Carrier,
    pub waybill: WaybillNo,
    /// From the centre's scale; kept if the manifest had none.
    #[serde(default)]
    pub weight_grams: Option<u32>,
    /// For a parcel the carrier never announced: the address on its label.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub recipient_name: Option<String>,
    #[serde(default)]
    pub phone: Option<Phone>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManualReason {
    pub reason: Unresolved,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArrivalOutcome {
    pub parcel_id: i64,
    pub carrier: Carrier,
    pub waybill: WaybillNo,
    pub state: ParcelState,
    /// The carrier announced it (预报) before it arrived.
    pub announced: bool,
    /// Already scanned at the centre; nothing changed.
    pub duplicate: bool,
    pub routing: Option<RoutingRecord>,
    pub manual: Option<ManualReason>,
}

/// An operator's choice for a parcel in the manual queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// The destination's division: a 9-digit township or a 12-digit village.
    pub division: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BagAcceptance {
    pub bag_id: i64,
    /// The bag had been accepted before; nothing changed.
    pub duplicate: bool,
    pub n_parcels: usize,
    #[serde(flatten)]
    pub inbound: BatchOutcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct BagDispatch {
    pub bag_id: i64,
    pub duplicate: bool,
    pub n_dispatched: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReconciledParcel {
    pub parcel_id: i64,
    pub waybill: WaybillNo,
    pub state: ParcelState,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    pub carrier: Carrier,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Announced in the range, never seen since.
    pub missing: Vec<ReconciledParcel>,
    /// Arrived at the centre in the range, never announced.
    pub unannounced: Vec<ReconciledParcel>,
}

/// A bag with what is in it, for labels and handover lists.
#[derive(Debug, Clone, Serialize)]
pub struct BagContents {
    pub bag: BagRecord,
    /// Who receives the bag, as people name it.
    pub destination: String,
    pub per_carrier: Vec<(Carrier, u32)>,
    pub n_parcels: u32,
}

/// 交接单: the bags handed to one route or contractor on one day.
#[derive(Debug, Clone, Serialize)]
pub struct HandoverList {
    pub title: String,
    pub day: NaiveDate,
    pub bags: Vec<BagContents>,
    pub per_carrier: Vec<(Carrier, u32)>,
    pub n_parcels: u32,
}

/// Who a bag or a route decision is for, by name: the route, the township
/// contractor and the station, whichever the target has.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetNames {
    pub route: Option<String>,
    pub contractor: Option<String>,
    pub station: Option<String>,
}

/// The centre's figures for one Shanghai day (the console's start page).
#[derive(Debug, Clone, Serialize)]
pub struct CentreDay {
    pub day: NaiveDate,
    /// Arrival scans that day.
    pub arrivals: u64,
    /// Parcels waiting in the manual queue now (any day).
    pub manual: usize,
    pub open_bags: usize,
    pub closed_bags: usize,
    pub dispatched_bags: usize,
    pub accepted_bags: usize,
}

/// A division an operator may choose for a queued parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DivisionChoice {
    /// 9-digit township or 12-digit village code.
    pub code: String,
    /// From the county down, e.g. "彭州市 丽春镇 白果村".
    pub name: String,
    pub village: bool,
}

/// A parcel in the manual queue as the centre console shows it: the
/// address text it could not be routed by and the parser's candidates.
#[derive(Debug, Clone, Serialize)]
pub struct ManualEntry {
    #[serde(flatten)]
    pub item: ManualItem,
    pub waybill: WaybillNo,
    pub address: Option<String>,
    pub choices: Vec<DivisionChoice>,
}

/// Most divisions offered for one address (a county's townships and the
/// served townships' villages fit).
pub const DIVISION_CHOICES_MAX: usize = 300;

/// Most parcels one bulk resolution places.
pub const RESOLVE_MANY_MAX: usize = 200;

/// What to offer for an address: the parser's ambiguous candidates at
/// township or village level, the villages of a township it found, the
/// townships of a county it found, and then the townships the centre
/// serves (`served`). Never a guess: only lists to choose from.
pub fn division_choices(address: Option<&str>, served: &[String]) -> Vec<DivisionChoice> {
    use address::Level;
    let table = address::divisions();
    let mut out: Vec<DivisionChoice> = Vec::new();
    let push = |code: &str, out: &mut Vec<DivisionChoice>| {
        if out.iter().any(|c| c.code == code) || out.len() >= DIVISION_CHOICES_MAX {
            return;
        }
        let Some(division) = table.get(code) else {
            return;
        };
        if division.level() < Level::Township {
            return;
        }
        let name = division
            .path()
            .iter()
            .filter(|d| d.level() >= Level::County)
            .map(|d| d.name())
            .collect::<Vec<_>>()
            .join(" ");
        out.push(DivisionChoice {
            code: division.code(),
            name,
            village: division.level() == Level::Village,
        });
    };
    if let Some(Ok(parsed)) = address.map(address::parse) {
        for note in &parsed.notes {
            if let address::Note::Ambiguous { candidates, .. } = note {
                for place in candidates {
                    push(&place.code, &mut out);
                }
            }
        }
        match (&parsed.county, &parsed.township, &parsed.village) {
            (_, _, Some(village)) => push(&village.code, &mut out),
            (_, Some(township), None) => {
                push(&township.code, &mut out);
                if let Some(division) = table.get(&township.code) {
                    for child in division.children() {
                        push(&child.code(), &mut out);
                    }
                }
            }
            (Some(county), None, None) => {
                if let Some(division) = table.get(&county.code) {
                    for child in division.children() {
                        push(&child.code(), &mut out);
                    }
                }
            }
            _ => {}
        }
    }
    for township in served {
        push(township, &mut out);
        if let Some(division) = table.get(township) {
            for child in division.children() {
                push(&child.code(), &mut out);
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverTo {
    Route(i64),
    Contractor(i64),
}

/// A date the caller gave lies in the years the API takes
/// ([`domain::limits::DATE_YEAR_MIN`] to `DATE_YEAR_MAX`).
pub fn check_day(day: NaiveDate) -> AppResult<()> {
    use chrono::Datelike;
    use domain::limits::{DATE_YEAR_MAX, DATE_YEAR_MIN};
    if (DATE_YEAR_MIN..=DATE_YEAR_MAX).contains(&day.year()) {
        Ok(())
    } else {
        Err(AppError::new(Code::DateOutOfRange)
            .with("date", day)
            .with("min", DATE_YEAR_MIN)
            .with("max", DATE_YEAR_MAX))
    }
}

fn check_range(from: NaiveDate, to: NaiveDate) -> AppResult<()> {
    if to < from {
        return Err(AppError::new(Code::DateRange)
            .with("from", from)
            .with("to", to));
    }
    if (to - from).num_days() >= REPORT_DAYS_MAX {
        return Err(AppError::new(Code::DateRangeTooLong).with("max", REPORT_DAYS_MAX));
    }
    Ok(())
}

fn check_weight(weight: Option<u32>) -> AppResult<()> {
    match weight {
        Some(w) if w == 0 || w > domain::limits::WEIGHT_GRAMS_MAX => {
            Err(AppError::new(Code::WeightInvalid)
                .with("grams", w)
                .with("max", domain::limits::WEIGHT_GRAMS_MAX))
        }
        _ => Ok(()),
    }
}

/// The destination divisions in an address text; ambiguity is kept, never
/// guessed away.
pub fn destination_of(address: &str) -> Destination {
    match address::parse(address) {
        Ok(parsed) => Destination {
            township: parsed.township.as_ref().map(|p| p.code.clone()),
            village: parsed.village.as_ref().map(|p| p.code.clone()),
            ambiguous: parsed.township.is_none()
                && parsed
                    .notes
                    .iter()
                    .any(|note| matches!(note, address::Note::Ambiguous { .. })),
        },
        Err(_) => Destination::default(),
    }
}

impl App {
    /// The days a report covers when the caller leaves them open: from
    /// today, to the later of `from` and today (so a range starting in the
    /// past runs up to today, and one starting later covers its first day).
    pub fn report_days(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> AppResult<(NaiveDate, NaiveDate)> {
        for day in from.iter().chain(to.iter()) {
            check_day(*day)?;
        }
        let today = self.today();
        let from = from.unwrap_or(today);
        Ok((from, to.unwrap_or(from.max(today))))
    }

    /// The day a caller named, or today.
    pub fn day_or_today(&self, day: Option<NaiveDate>) -> AppResult<NaiveDate> {
        match day {
            Some(day) => check_day(day).map(|()| day),
            None => Ok(self.today()),
        }
    }

    fn must_run_county(&self, principal: &Principal) -> AppResult<()> {
        if principal.may_run_county() {
            Ok(())
        } else {
            Err(AppError::Forbidden("county centre"))
        }
    }
}

//! The sorting hub's board (issue 16, point 4; migration 0037): the plan in
//! force, the imports of the hub's logs, and the counts tallied from them
//! (`sort::hub_kpi`). Counts are kept per Shanghai day and hour; an import
//! replaces the counts of the days it covers, so a corrected export for a
//! day replaces that day and nothing else.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sort::hub_kpi::{ChuteHour, HourRow};
use sort::hub_log::TruckRow;

/// A plan adopted for the hub, with its layout and what the simulator made
/// of it, so the board can set the measured day beside the plan.
#[derive(Debug, Clone, Serialize)]
pub struct HubPlanRecord {
    pub id: i64,
    pub name: String,
    /// `sort::layout::to_json` of the hub's layout.
    pub layout: String,
    /// JSON of the plan's `sort::ChuteAssignment`s.
    pub assignments: String,
    /// JSON of the plan's simulated figures (`app::sort_plans::hub::PlanFigures`).
    pub simulated: String,
    pub adopted_at: DateTime<Utc>,
    pub adopted_by: String,
}

#[derive(Debug, Clone)]
pub struct NewHubPlan {
    pub name: String,
    pub layout: String,
    pub assignments: String,
    pub simulated: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HubLogKind {
    /// The sorter's item log.
    Items,
    /// The yard's truck log.
    Trucks,
}

impl HubLogKind {
    pub fn code(self) -> &'static str {
        match self {
            HubLogKind::Items => "items",
            HubLogKind::Trucks => "trucks",
        }
    }

    pub fn parse(text: &str) -> Option<HubLogKind> {
        match text {
            "items" => Some(HubLogKind::Items),
            "trucks" => Some(HubLogKind::Trucks),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewHubImport {
    pub kind: HubLogKind,
    /// SHA-256 of the file's cells: the same file twice is one import.
    pub fingerprint: String,
    pub file_name: String,
    pub plan_id: Option<i64>,
    pub rows: u64,
    pub bad: u64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub username: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HubImportRecord {
    pub id: i64,
    pub kind: HubLogKind,
    pub file_name: String,
    pub plan_id: Option<i64>,
    pub rows: u64,
    pub bad: u64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub imported_at: DateTime<Utc>,
    pub imported_by: String,
}

#[async_trait]
pub trait HubTx: Send {
    async fn insert_hub_plan(
        &mut self,
        plan: &NewHubPlan,
        username: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;
    /// `None` when a file of this kind with this fingerprint was imported
    /// before (nothing is written).
    async fn insert_hub_import(
        &mut self,
        import: &NewHubImport,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>>;
    /// Deletes the item counts of `days` and writes these in their place.
    async fn replace_hub_counts(
        &mut self,
        import_id: i64,
        days: &[NaiveDate],
        hours: &[HourRow],
        chute_hours: &[ChuteHour],
    ) -> StoreResult<()>;
    /// Deletes the truck visits that arrived on `days` and writes these.
    async fn replace_hub_trucks(
        &mut self,
        import_id: i64,
        days: &[NaiveDate],
        trucks: &[TruckRow],
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait HubStore: Send + Sync {
    /// The latest plan adopted.
    async fn hub_plan_in_force(&self) -> StoreResult<Option<HubPlanRecord>>;
    async fn hub_plan(&self, id: i64) -> StoreResult<Option<HubPlanRecord>>;
    /// The plan the item counts of `day` were tallied against.
    async fn hub_day_plan(&self, day: NaiveDate) -> StoreResult<Option<i64>>;
    /// Counts of the days `from..=to`, in day, hour, equipment order.
    async fn hub_hours(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<HourRow>>;
    async fn hub_chute_hours(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<ChuteHour>>;
    /// Truck visits that arrived on the days `from..=to`, in arrival order.
    async fn hub_trucks(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<TruckRow>>;
    /// The days with item counts, newest first, at most `limit`.
    async fn hub_days(&self, limit: u32) -> StoreResult<Vec<NaiveDate>>;
    /// The latest imports, newest first.
    async fn hub_imports(&self, limit: u32) -> StoreResult<Vec<HubImportRecord>>;
}

//! The sorting hub's board (issue 16, point 4): a plan adopted for the hub
//! (its layout, chute assignments and what the simulator made of it), the
//! hub's own logs imported — the sorter's items and the yard's trucks, in
//! the format of `crates/sort/LOG.md` — and the eleven indicators per hour,
//! shift and day with the plan's simulated figures beside them. The logs
//! are tallied by the pure `sort` crate on the blocking pool; only the
//! counts are kept (`ports::hub`), so a year of a busy hub stays small.
//! County staff and the administrator only.

use super::SortSource;
use crate::App;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code};
pub use crate::ports::hub::{HubImportRecord, HubLogKind, HubPlanRecord};
use crate::ports::hub::{NewHubImport, NewHubPlan};
use chrono::NaiveDate;
use domain::Principal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sort::hub_kpi::{self, Figures, Shift};
use sort::hub_log::{self, BadRow, TruckRow};

/// Longest file name kept.
const FILE_NAME_CHARS_MAX: usize = 200;
/// Longest plan name.
pub const PLAN_NAME_CHARS_MAX: usize = 64;
/// Days offered in the board's day list.
const DAYS_LISTED: u32 = 90;
/// Imports listed on the board.
const IMPORTS_LISTED: u32 = 20;

/// What the simulator made of the plan: the figures the board sets beside
/// the measured ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFigures {
    pub nameplate_per_hour: f64,
    pub throughput_per_hour: f64,
    pub half_loop_drop_rate: f64,
    pub recirculation_rate: f64,
    pub force_eject_rate: f64,
    pub chute_utilisation_mean: f64,
    pub chutes: usize,
    pub destinations: usize,
}

/// A plan as the board shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HubPlanView {
    pub id: i64,
    pub name: String,
    pub adopted_at: chrono::DateTime<chrono::Utc>,
    pub adopted_by: String,
    pub simulated: PlanFigures,
}

/// One log imported, and what was wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct HubImportReport {
    pub kind: HubLogKind,
    /// `None` when the same file had been imported before: nothing changed.
    pub import_id: Option<i64>,
    pub rows: usize,
    pub days: Vec<NaiveDate>,
    pub bad: Vec<BadRow>,
    pub bad_count: usize,
}

/// The board of one day.
#[derive(Debug, Clone, Serialize)]
pub struct HubBoard {
    pub day: NaiveDate,
    /// Days with counts, newest first.
    pub days: Vec<NaiveDate>,
    /// The plan the day was tallied against, else the plan in force.
    pub plan: Option<HubPlanView>,
    pub figures: Figures,
    pub shifts: Vec<(Shift, Figures)>,
    /// Hours with items, in order.
    pub hours: Vec<(u8, Figures)>,
    pub trucks: Vec<TruckRow>,
    pub imports: Vec<HubImportRecord>,
}

fn plan_view(record: &HubPlanRecord) -> AppResult<HubPlanView> {
    let simulated: PlanFigures = serde_json::from_str(&record.simulated)
        .map_err(|error| AppError::Internal(format!("hub plan {}: {error}", record.id)))?;
    Ok(HubPlanView {
        id: record.id,
        name: record.name.clone(),
        adopted_at: record.adopted_at,
        adopted_by: record.adopted_by.clone(),
        simulated,
    })
}

/// The hub and plan of a stored record.
pub fn hub_and_plan(record: &HubPlanRecord) -> AppResult<(sort::Hub, sort::Plan)> {
    let hub = sort::layout::parse_json(&record.layout)
        .map_err(|error| AppError::Internal(format!("hub plan {} layout: {error}", record.id)))?;
    let assignments: Vec<sort::ChuteAssignment> = serde_json::from_str(&record.assignments)
        .map_err(|error| AppError::Internal(format!("hub plan {}: {error}", record.id)))?;
    let plan = sort::Plan::from_assignments(&hub, &record.name, &assignments)
        .map_err(|error| AppError::Internal(format!("hub plan {}: {error}", record.id)))?;
    Ok((hub, plan))
}

/// SHA-256 over the cells, so the same file read twice is one import.
fn fingerprint(grid: &[Vec<String>]) -> String {
    let mut hasher = Sha256::new();
    for row in grid {
        for cell in row {
            hasher.update(cell.as_bytes());
            hasher.update([0x1f]);
        }
        hasher.update([0x1e]);
    }
    hex::encode(hasher.finalize())
}

impl App {
    fn must_run_hub(&self, principal: &Principal) -> AppResult<()> {
        if principal.may_run_county() {
            Ok(())
        } else {
            Err(AppError::Forbidden("sorting hub"))
        }
    }

    /// Adopts a plan for the hub: the layout is optimised and simulated as
    /// on the sort plan page, and the result kept as the plan in force.
    /// Audited (`hub_plan_adopted`).
    pub async fn adopt_hub_plan(
        &self,
        principal: &Principal,
        name: &str,
        source: SortSource,
        seed: u64,
    ) -> AppResult<HubPlanView> {
        self.must_run_hub(principal)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > PLAN_NAME_CHARS_MAX {
            return Err(AppError::new(Code::HubPlanNameInvalid).with("max", PLAN_NAME_CHARS_MAX));
        }
        let planned = self.plan_sort(principal, source, seed).await?;
        let ours = &planned.evaluation.ours;
        let layout = planned.hub.layout();
        let simulated = PlanFigures {
            nameplate_per_hour: planned.hub.nameplate_per_hour(),
            throughput_per_hour: ours.indicators.throughput_per_hour,
            half_loop_drop_rate: ours.indicators.half_loop_drop_rate,
            recirculation_rate: ours.indicators.recirculation_rate,
            force_eject_rate: ours.indicators.force_eject_rate,
            chute_utilisation_mean: ours.indicators.chute_utilisation_mean,
            chutes: layout.chutes.len(),
            destinations: layout.destinations.len(),
        };
        let new = NewHubPlan {
            name: name.to_string(),
            layout: sort::layout::to_json(layout),
            assignments: serde_json::to_string(&ours.assignments)
                .map_err(|error| AppError::Internal(error.to_string()))?,
            simulated: serde_json::to_string(&simulated)
                .map_err(|error| AppError::Internal(error.to_string()))?,
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_hub_plan(&new, &principal.username, now).await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::HubPlanAdopted,
            Object::new("hub_plan", id),
            serde_json::json!({
                "name": name,
                "chutes": simulated.chutes,
                "destinations": simulated.destinations,
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(plan = id, "hub plan adopted");
        Ok(HubPlanView {
            id,
            name: name.to_string(),
            adopted_at: now,
            adopted_by: principal.username.clone(),
            simulated,
        })
    }

    /// Imports one of the hub's logs, read by the caller into a grid of
    /// cells. Rows that cannot be read are reported and the others kept;
    /// the counts of each day the file covers replace that day's; the same
    /// file twice changes nothing. The item log is tallied against the plan
    /// in force, so one must have been adopted. Audited (`hub_log_imported`).
    pub async fn import_hub_log(
        &self,
        principal: &Principal,
        kind: HubLogKind,
        file_name: &str,
        grid: Vec<Vec<String>>,
    ) -> AppResult<HubImportReport> {
        self.must_run_hub(principal)?;
        let plan = match kind {
            HubLogKind::Items => Some(
                self.store
                    .hub_plan_in_force()
                    .await?
                    .ok_or_else(|| AppError::new(Code::HubPlanMissing))?,
            ),
            HubLogKind::Trucks => self.store.hub_plan_in_force().await?,
        };
        let unreadable =
            |error: hub_log::LogError| AppError::new(Code::HubLogUnreadable).with_detail(error);
        enum Parsed {
            Items(hub_kpi::Tally, Vec<BadRow>, usize),
            Trucks(Vec<TruckRow>, Vec<BadRow>, usize),
        }
        let plan_for_tally = plan.clone();
        let (fingerprint, parsed) = self
            .blocking
            .run(move || -> AppResult<(String, Parsed)> {
                let fingerprint = fingerprint(&grid);
                let parsed = match kind {
                    HubLogKind::Items => {
                        let read = hub_log::read_items(&grid).map_err(unreadable)?;
                        let record = plan_for_tally
                            .as_ref()
                            .ok_or_else(|| AppError::new(Code::HubPlanMissing))?;
                        let (hub, plan) = hub_and_plan(record)?;
                        let tally = hub_kpi::tally(&hub, &plan, &read.rows);
                        Parsed::Items(tally, read.bad, read.bad_count)
                    }
                    HubLogKind::Trucks => {
                        let read = hub_log::read_trucks(&grid).map_err(unreadable)?;
                        Parsed::Trucks(read.rows, read.bad, read.bad_count)
                    }
                };
                Ok((fingerprint, parsed))
            })
            .await??;
        let (rows, days, mut bad, bad_count) = match &parsed {
            Parsed::Items(tally, bad, bad_count) => {
                let mut all = bad.clone();
                all.extend(tally.bad.iter().cloned());
                (
                    tally.rows + bad_count,
                    tally.days.clone(),
                    all,
                    bad_count + tally.bad_count,
                )
            }
            Parsed::Trucks(trucks, bad, bad_count) => {
                let mut days: Vec<NaiveDate> = trucks.iter().map(|t| t.arrived_at.date()).collect();
                days.sort_unstable();
                days.dedup();
                (trucks.len() + bad_count, days, bad.clone(), *bad_count)
            }
        };
        bad.sort_by_key(|b| b.row);
        bad.truncate(hub_log::BAD_ROWS_REPORTED_MAX);
        if days.is_empty() {
            let first = bad
                .first()
                .map(|b| format!("row {}: {}", b.row, b.why))
                .unwrap_or_else(|| "the file has no rows under its header".into());
            return Err(AppError::new(Code::HubLogUnreadable)
                .with_detail(format!("no row could be read ({first})")));
        }
        let now = self.now();
        let file_name: String = file_name.trim().chars().take(FILE_NAME_CHARS_MAX).collect();
        let import = NewHubImport {
            kind,
            fingerprint,
            file_name: file_name.clone(),
            plan_id: plan.as_ref().map(|p| p.id),
            rows: rows as u64,
            bad: bad_count as u64,
            first_day: days.first().copied(),
            last_day: days.last().copied(),
            username: principal.username.clone(),
        };
        let mut tx = self.store.begin().await?;
        let Some(import_id) = tx.insert_hub_import(&import, now).await? else {
            return Ok(HubImportReport {
                kind,
                import_id: None,
                rows,
                days,
                bad,
                bad_count,
            });
        };
        match &parsed {
            Parsed::Items(tally, _, _) => {
                tx.replace_hub_counts(import_id, &tally.days, &tally.hours, &tally.chute_hours)
                    .await?
            }
            Parsed::Trucks(trucks, _, _) => tx.replace_hub_trucks(import_id, &days, trucks).await?,
        }
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::HubLogImported,
            Object::new("hub_import", import_id),
            serde_json::json!({
                "kind": kind.code(),
                "file": file_name,
                "rows": rows,
                "bad": bad_count,
                "first_day": import.first_day,
                "last_day": import.last_day,
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            import = import_id,
            kind = kind.code(),
            rows,
            bad = bad_count,
            days = days.len(),
            "hub log imported"
        );
        Ok(HubImportReport {
            kind,
            import_id: Some(import_id),
            rows,
            days,
            bad,
            bad_count,
        })
    }

    /// The hub's board for a Shanghai day (`None`: the newest day with
    /// figures, else today): the day's figures, each shift's and each
    /// hour's, the yard's trucks, with the plan beside.
    pub async fn hub_board(
        &self,
        principal: &Principal,
        day: Option<NaiveDate>,
    ) -> AppResult<HubBoard> {
        self.must_run_hub(principal)?;
        let days = self.store.hub_days(DAYS_LISTED).await?;
        let day = day
            .or_else(|| days.first().copied())
            .unwrap_or_else(|| self.today());
        let plan_id = self.store.hub_day_plan(day).await?;
        let plan = match plan_id {
            Some(id) => self.store.hub_plan(id).await?,
            None => self.store.hub_plan_in_force().await?,
        };
        let plan = plan.as_ref().map(plan_view).transpose()?;
        let nameplate = plan
            .as_ref()
            .map(|p| p.simulated.nameplate_per_hour)
            .unwrap_or(0.0);
        let hours = self.store.hub_hours(day, day).await?;
        let chute_hours = self.store.hub_chute_hours(day, day).await?;
        let trucks = self.store.hub_trucks(day, day).await?;
        let figures = hub_kpi::figures(nameplate, &hours, &chute_hours, &trucks);
        let shifts = Shift::ALL
            .iter()
            .map(|&shift| {
                let in_shift = |hour: u8| Shift::of(hour) == shift;
                let hours: Vec<_> = hours.iter().filter(|h| in_shift(h.hour)).cloned().collect();
                let chutes: Vec<_> = chute_hours
                    .iter()
                    .filter(|c| in_shift(c.hour))
                    .cloned()
                    .collect();
                let trucks: Vec<_> = trucks
                    .iter()
                    .filter(|t| in_shift(chrono::Timelike::hour(&t.arrived_at) as u8))
                    .cloned()
                    .collect();
                (shift, hub_kpi::figures(nameplate, &hours, &chutes, &trucks))
            })
            .collect();
        let mut hour_list: Vec<u8> = hours.iter().map(|h| h.hour).collect();
        hour_list.dedup();
        let per_hour = hour_list
            .into_iter()
            .map(|hour| {
                let hours: Vec<_> = hours.iter().filter(|h| h.hour == hour).cloned().collect();
                let chutes: Vec<_> = chute_hours
                    .iter()
                    .filter(|c| c.hour == hour)
                    .cloned()
                    .collect();
                (hour, hub_kpi::figures(nameplate, &hours, &chutes, &[]))
            })
            .collect();
        Ok(HubBoard {
            day,
            days,
            plan,
            figures,
            shifts,
            hours: per_hour,
            trucks,
            imports: self.store.hub_imports(IMPORTS_LISTED).await?,
        })
    }
}

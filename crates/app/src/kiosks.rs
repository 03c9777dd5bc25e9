//! The kiosk fleet (寄件宝, issue 14, branch kiosks): county staff create,
//! edit and retire kiosks (each change audited in its own transaction),
//! import them in bulk from a CSV or .xlsx file (each bad row reported, the
//! good ones kept), list them with filters, open one with its orders, its
//! bin and its collection runs, and read the daily report (每日通报) built
//! by `domain::kiosk::day_report` from each kiosk's day counts.

use crate::App;
use crate::audit::{Actor, Object};
use crate::error::{AppError, AppResult, Code};
pub use crate::ports::kiosks::{
    CollectionRecord, CollectionScan, HistoryOrder, KioskFields, KioskFilter, KioskOrder,
    KioskRecord,
};
use crate::ports::{GeoPoint, StoreError};
use chrono::NaiveDate;
use domain::audit::Act;
use domain::kiosk::{
    Commission, FleetDayReport, KIOSK_IMPORT_ROWS_MAX, KioskFacts, KioskStatus, Scenario,
};
use domain::{Principal, Role};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The kiosk fleet's tunables.
#[derive(Debug, Clone, Copy)]
pub struct KioskSettings {
    /// Orders a kiosk needs in a Shanghai day to count as active.
    pub active_orders_min: u32,
    /// What each collected order earns the kiosk's responsible staff.
    pub commission: Commission,
}

impl Default for KioskSettings {
    fn default() -> Self {
        KioskSettings {
            active_orders_min: 1,
            commission: Commission::PerOrderFen(50),
        }
    }
}

/// Orders a kiosk's page lists.
pub const KIOSK_ORDERS_SHOWN: u32 = 50;
/// Collection runs a kiosk's page lists.
pub const KIOSK_RUNS_SHOWN: u32 = 20;

/// A kiosk as a person typed it (a form, a JSON body or an import row).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct KioskInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub host_name: String,
    #[serde(default)]
    pub scenario: String,
    #[serde(default)]
    pub division: String,
    #[serde(default)]
    pub lat: String,
    #[serde(default)]
    pub lon: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub placed_on: String,
    /// The responsible staff member's username.
    #[serde(default)]
    pub staff: String,
    #[serde(default)]
    pub branch: String,
}

/// One row of an import refused, with its line and why.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedKioskRow {
    pub line: usize,
    pub code: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct KioskImport {
    pub n_created: u32,
    pub rejected: Vec<RejectedKioskRow>,
}

/// A kiosk's page: the kiosk, its bin, its latest orders and runs.
#[derive(Debug, Clone, Serialize)]
pub struct KioskView {
    pub kiosk: KioskRecord,
    pub bin: Vec<KioskOrder>,
    pub orders: Vec<KioskOrder>,
    pub runs: Vec<CollectionRecord>,
}

fn invalid(detail: impl Into<String>) -> AppError {
    AppError::new(Code::KioskInvalid).with_detail(detail.into())
}

fn conflict_or(error: StoreError, code: Code) -> AppError {
    match error {
        StoreError::Conflict(_) => AppError::new(code),
        other => other.into(),
    }
}

impl App {
    fn may_run_kiosks(principal: &Principal) -> AppResult<()> {
        if principal.may_run_county() {
            Ok(())
        } else {
            Err(AppError::Forbidden("kiosk"))
        }
    }

    /// Checks what was typed: the code, host, scenario, a division in the
    /// NBS 2023 table, coordinates, the placement day, a county staff
    /// member, the branch.
    async fn kiosk_fields(&self, input: &KioskInput) -> AppResult<KioskFields> {
        let code = domain::kiosk::parse_code(&input.code).map_err(invalid)?;
        let text = |value: &str, what: &str| -> AppResult<String> {
            let value = value.trim();
            let n = value.chars().count();
            if n == 0 || n > domain::limits::NAME_CHARS_MAX {
                return Err(invalid(format!("{what}: 1 to 64 characters")));
            }
            Ok(value.to_string())
        };
        let host_name = text(&input.host_name, "host_name")?;
        let branch = text(&input.branch, "branch")?;
        let scenario = Scenario::parse(&input.scenario).ok_or_else(|| {
            invalid(format!(
                "scenario: one of {}",
                Scenario::ALL.map(Scenario::code).join(", ")
            ))
        })?;
        let division = input.division.trim().to_string();
        if !matches!(division.len(), 6 | 9 | 12) || address::divisions().get(&division).is_none() {
            return Err(invalid(
                "division: a county, township or village code of the NBS 2023 table",
            ));
        }
        let coordinate = |value: &str, what: &str| -> AppResult<f64> {
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| invalid(format!("{what}: a number of degrees")))
        };
        let location = GeoPoint {
            lat: coordinate(&input.lat, "lat")?,
            lon: coordinate(&input.lon, "lon")?,
        };
        // China lies within these; a swapped pair or a typo lands outside.
        if !(3.0..=54.0).contains(&location.lat) || !(73.0..=136.0).contains(&location.lon) {
            return Err(invalid(
                "lat 3 to 54 and lon 73 to 136 (a place in China; are they swapped?)",
            ));
        }
        let placed_on = NaiveDate::parse_from_str(input.placed_on.trim(), "%Y-%m-%d")
            .ok()
            .filter(|day| {
                (domain::limits::DATE_YEAR_MIN..=domain::limits::DATE_YEAR_MAX)
                    .contains(&chrono::Datelike::year(day))
            })
            .ok_or_else(|| invalid("placed_on: a day as YYYY-MM-DD"))?;
        let staff = self
            .store
            .user_by_name(input.staff.trim())
            .await?
            .filter(|user| {
                matches!(user.role, Role::CountyOperator | Role::Admin)
                    && user.disabled_at.is_none()
            })
            .ok_or_else(|| {
                AppError::new(Code::KioskStaffUnknown).with("staff", input.staff.trim())
            })?;
        Ok(KioskFields {
            code,
            host_name,
            scenario,
            division,
            location,
            placed_on,
            staff_user_id: staff.id,
            branch,
        })
    }

    /// Places a new kiosk (in service from its placement day).
    pub async fn create_kiosk(
        &self,
        principal: &Principal,
        input: &KioskInput,
    ) -> AppResult<KioskRecord> {
        Self::may_run_kiosks(principal)?;
        let fields = self.kiosk_fields(input).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_kiosk(&fields, now)
            .await
            .map_err(|e| conflict_or(e, Code::KioskCodeTaken))?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::KioskCreated,
            Object::new("kiosk", id),
            serde_json::json!({ "code": fields.code, "scenario": fields.scenario.code(), "branch": fields.branch }),
        )
        .await?;
        let stored = tx
            .kiosk_for_update(id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Changes a kiosk's fields (not its status; see `retire_kiosk`).
    pub async fn update_kiosk(
        &self,
        principal: &Principal,
        kiosk_id: i64,
        input: &KioskInput,
    ) -> AppResult<KioskRecord> {
        Self::may_run_kiosks(principal)?;
        let fields = self.kiosk_fields(input).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut kiosk = tx
            .kiosk_for_update(kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        if kiosk.status == KioskStatus::Retired {
            return Err(AppError::new(Code::KioskRetired).with("kiosk", kiosk.code.clone()));
        }
        let mut changed = Vec::new();
        let mut note = |name: &'static str, differs: bool| {
            if differs {
                changed.push(name);
            }
        };
        note("code", kiosk.code != fields.code);
        note("host_name", kiosk.host_name != fields.host_name);
        note("scenario", kiosk.scenario != fields.scenario);
        note("division", kiosk.division != fields.division);
        note("location", kiosk.location != fields.location);
        note("placed_on", kiosk.placed_on != fields.placed_on);
        note("staff", kiosk.staff_user_id != fields.staff_user_id);
        note("branch", kiosk.branch != fields.branch);
        if changed.is_empty() {
            return Ok(kiosk);
        }
        kiosk.code = fields.code;
        kiosk.host_name = fields.host_name;
        kiosk.scenario = fields.scenario;
        kiosk.division = fields.division;
        kiosk.location = fields.location;
        kiosk.placed_on = fields.placed_on;
        kiosk.staff_user_id = fields.staff_user_id;
        kiosk.branch = fields.branch;
        kiosk.updated_at = now;
        tx.update_kiosk(&kiosk)
            .await
            .map_err(|e| conflict_or(e, Code::KioskCodeTaken))?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::KioskUpdated,
            Object::new("kiosk", kiosk_id),
            serde_json::json!({ "code": kiosk.code, "changed": changed }),
        )
        .await?;
        let stored = tx
            .kiosk_for_update(kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Suspends a kiosk or puts it back in service; either way it still
    /// counts as placed.
    pub async fn set_kiosk_suspended(
        &self,
        principal: &Principal,
        kiosk_id: i64,
        suspended: bool,
    ) -> AppResult<KioskRecord> {
        Self::may_run_kiosks(principal)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut kiosk = tx
            .kiosk_for_update(kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        if kiosk.status == KioskStatus::Retired {
            return Err(AppError::new(Code::KioskRetired).with("kiosk", kiosk.code.clone()));
        }
        let status = if suspended {
            KioskStatus::Suspended
        } else {
            KioskStatus::InService
        };
        if kiosk.status == status {
            return Ok(kiosk);
        }
        kiosk.status = status;
        kiosk.updated_at = now;
        tx.update_kiosk(&kiosk).await?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::KioskUpdated,
            Object::new("kiosk", kiosk_id),
            serde_json::json!({ "code": kiosk.code, "status": status.code() }),
        )
        .await?;
        tx.commit().await?;
        Ok(kiosk)
    }

    /// Takes a kiosk away: it no longer counts as placed from today. Its
    /// bin must be empty (a waiting item would be lost to collection).
    pub async fn retire_kiosk(
        &self,
        principal: &Principal,
        kiosk_id: i64,
    ) -> AppResult<KioskRecord> {
        Self::may_run_kiosks(principal)?;
        let now = self.now();
        let today = self.today();
        let mut tx = self.store.begin().await?;
        let mut kiosk = tx
            .kiosk_for_update(kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        if kiosk.status == KioskStatus::Retired {
            return Ok(kiosk);
        }
        let waiting = tx.kiosk_bin_in(kiosk_id).await?.len();
        if waiting > 0 {
            return Err(AppError::new(Code::KioskBinNotEmpty)
                .with("kiosk", kiosk.code.clone())
                .with("n", waiting));
        }
        kiosk.status = KioskStatus::Retired;
        kiosk.retired_on = Some(today.max(kiosk.placed_on));
        kiosk.updated_at = now;
        tx.update_kiosk(&kiosk).await?;
        crate::audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::KioskRetired,
            Object::new("kiosk", kiosk_id),
            serde_json::json!({ "code": kiosk.code, "retired_on": kiosk.retired_on }),
        )
        .await?;
        tx.commit().await?;
        Ok(kiosk)
    }

    /// Creates the kiosks of an import: every row is checked, each bad row
    /// reported with its line and reason, and the good ones created in one
    /// transaction with an audit row each. `rows` are the file's rows with
    /// their line numbers, or why a row could not be read.
    pub async fn import_kiosks(
        &self,
        principal: &Principal,
        rows: Vec<(usize, Result<KioskInput, String>)>,
    ) -> AppResult<KioskImport> {
        Self::may_run_kiosks(principal)?;
        if rows.len() > KIOSK_IMPORT_ROWS_MAX {
            return Err(AppError::new(Code::KioskImportTooLarge).with("max", KIOSK_IMPORT_ROWS_MAX));
        }
        let mut outcome = KioskImport::default();
        let mut good: Vec<(usize, KioskFields)> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (line, row) in rows {
            let input = match row {
                Ok(input) => input,
                Err(reason) => {
                    outcome.rejected.push(RejectedKioskRow {
                        line,
                        code: String::new(),
                        reason,
                    });
                    continue;
                }
            };
            match self.kiosk_fields(&input).await {
                Ok(fields) => {
                    if let Some(first) = seen.get(&fields.code) {
                        outcome.rejected.push(RejectedKioskRow {
                            line,
                            code: fields.code.clone(),
                            reason: format!("the code is also on line {first}"),
                        });
                        continue;
                    }
                    if self.store.kiosk_by_code(&fields.code).await?.is_some() {
                        outcome.rejected.push(RejectedKioskRow {
                            line,
                            code: fields.code.clone(),
                            reason: AppError::new(Code::KioskCodeTaken).message(crate::Lang::En),
                        });
                        continue;
                    }
                    seen.insert(fields.code.clone(), line);
                    good.push((line, fields));
                }
                Err(error) => outcome.rejected.push(RejectedKioskRow {
                    line,
                    code: input.code.trim().to_string(),
                    reason: error.message(crate::Lang::En),
                }),
            }
        }
        if good.is_empty() {
            return Ok(outcome);
        }
        let now = self.now();
        let actor = Actor::of(principal);
        let mut tx = self.store.begin().await?;
        for (_, fields) in &good {
            let id = tx
                .insert_kiosk(fields, now)
                .await
                .map_err(|e| conflict_or(e, Code::KioskCodeTaken))?;
            crate::audit::record(
                &mut *tx,
                &actor,
                now,
                Act::KioskCreated,
                Object::new("kiosk", id),
                serde_json::json!({ "code": fields.code, "scenario": fields.scenario.code(), "branch": fields.branch, "import": true }),
            )
            .await?;
            outcome.n_created += 1;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn kiosks(
        &self,
        principal: &Principal,
        filter: &KioskFilter,
    ) -> AppResult<Vec<KioskRecord>> {
        Self::may_run_kiosks(principal)?;
        Ok(self.store.kiosks(filter).await?)
    }

    pub async fn kiosk_view(&self, principal: &Principal, kiosk_id: i64) -> AppResult<KioskView> {
        Self::may_run_kiosks(principal)?;
        let kiosk = self
            .store
            .kiosk(kiosk_id)
            .await?
            .ok_or(AppError::NotFound("kiosk"))?;
        Ok(KioskView {
            bin: self.store.kiosk_bin(kiosk_id).await?,
            orders: self
                .store
                .kiosk_orders(kiosk_id, KIOSK_ORDERS_SHOWN)
                .await?,
            runs: self.store.collections(kiosk_id, KIOSK_RUNS_SHOWN).await?,
            kiosk,
        })
    }

    /// The daily report (每日通报) of the kiosk fleet for a Shanghai day.
    pub async fn kiosk_report(
        &self,
        principal: &Principal,
        day: NaiveDate,
    ) -> AppResult<FleetDayReport> {
        Self::may_run_kiosks(principal)?;
        let kiosks = self.store.kiosks(&KioskFilter::default()).await?;
        let facts: Vec<KioskFacts> = kiosks
            .into_iter()
            .map(|k| KioskFacts {
                id: k.id,
                code: k.code,
                host_name: k.host_name,
                scenario: k.scenario,
                branch: k.branch,
                staff: k.staff,
                placed_on: k.placed_on,
                retired_on: k.retired_on,
            })
            .collect();
        let before = day.pred_opt().ok_or_else(|| invalid("day"))?;
        let next = day.succ_opt().ok_or_else(|| invalid("day"))?;
        let counts_of = |rows: Vec<(i64, domain::kiosk::DayCounts)>| -> HashMap<_, _> {
            rows.into_iter().collect()
        };
        let today = counts_of(
            self.store
                .kiosk_day_counts(domain::day_start(day), domain::day_start(next))
                .await?,
        );
        let previous = counts_of(
            self.store
                .kiosk_day_counts(domain::day_start(before), domain::day_start(day))
                .await?,
        );
        Ok(domain::kiosk::day_report(
            day,
            &facts,
            &today,
            &previous,
            self.settings.kiosks.active_orders_min,
        ))
    }

    /// The branches named by kiosks, for the list's filter.
    pub async fn kiosk_branches(&self, principal: &Principal) -> AppResult<Vec<String>> {
        Self::may_run_kiosks(principal)?;
        let kiosks = self.store.kiosks(&KioskFilter::default()).await?;
        let branches: BTreeMap<String, ()> = kiosks.into_iter().map(|k| (k.branch, ())).collect();
        Ok(branches.into_keys().collect())
    }
}

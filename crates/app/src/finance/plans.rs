//! Collection plans (周、旬清欠计划, issue 15 point 3; branch `money2`,
//! session 10). Finance makes a plan for a week (Monday to Sunday) or a
//! ten-day period (上旬 1–10, 中旬 11–20, 下旬 21 to the end; Shanghai days)
//! with a target in fen per responsible person, and optionally per debtor.
//! Progress is never typed in: it is the money written off (核销 transfers
//! crediting a debtor's receivable) inside the period, read from the ledger.
//! A person's debtors are those whose terms name them today, plus those they
//! have a debtor target for. Targets change only while the period is open
//! (its last day not past); each change is audited (`collection_plan_set`).

use super::{must_keep_books, must_read_books};
use crate::App;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code};
pub use crate::ports::claims::{NewPlan, NewPlanTarget, PlanRecord, PlanTarget};
use chrono::NaiveDate;
use domain::collection::{self, PlanKind};
use domain::{Carrier, Fen, Principal, Role};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most plans the list shows.
const PLANS_LISTED_MAX: u32 = 200;
/// How far ahead a plan may be made, in days.
const PLAN_DAYS_AHEAD_MAX: i64 = 366;

/// One target as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRequest {
    /// The responsible person's username.
    pub username: String,
    /// A debtor; `None`: the person's whole target.
    #[serde(default)]
    pub carrier: Option<Carrier>,
    pub target: Fen,
}

/// One debtor behind a person: its target (if set) and what was written off
/// for it in the period.
#[derive(Debug, Clone, Serialize)]
pub struct DebtorProgress {
    pub carrier: Carrier,
    pub target: Option<Fen>,
    pub done: Fen,
    /// Whether the debtor's terms name this person today.
    pub assigned: bool,
}

/// One responsible person's progress in a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PersonProgress {
    pub user_id: i64,
    pub username: String,
    pub name: String,
    /// Their whole target, or the sum of their debtor targets when they have
    /// no whole target.
    pub target: Fen,
    pub done: Fen,
    pub percent: i64,
    pub debtors: Vec<DebtorProgress>,
}

/// A plan with its progress, read from the ledger now.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    pub plan: PlanRecord,
    pub open: bool,
    pub targets: Vec<PlanTarget>,
    pub people: Vec<PersonProgress>,
    pub target: Fen,
    pub done: Fen,
    pub percent: i64,
}

impl App {
    /// Makes the plan for the week or ten-day period holding `day` (Shanghai),
    /// or returns the one made already: county staff and the administrator.
    /// A period already over, or more than a year ahead, is refused.
    pub async fn make_collection_plan(
        &self,
        principal: &Principal,
        kind: PlanKind,
        day: NaiveDate,
        note: &str,
    ) -> AppResult<PlanRecord> {
        must_keep_books(principal)?;
        let today = self.today();
        let period = kind.period_of(day);
        if !period.is_open(today) || (period.first - today).num_days() > PLAN_DAYS_AHEAD_MAX {
            return Err(AppError::new(Code::CollectionPlanClosed)
                .with("first", period.first.to_string())
                .with("last", period.last.to_string()));
        }
        let note = check_note(note)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = match tx
            .insert_plan(&NewPlan {
                period,
                note,
                at_ms: now.timestamp_millis(),
                by: principal.username.clone(),
            })
            .await?
        {
            Some(id) => id,
            None => {
                let existing = tx.plan_of_period_in(period).await?.ok_or_else(|| {
                    AppError::Internal("a plan's period is taken by nothing".into())
                })?;
                tx.commit().await?;
                return Ok(existing);
            }
        };
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::CollectionPlanSet,
            Object::new("collection_plan", id),
            serde_json::json!({
                "kind": period.kind.code(),
                "first": period.first.to_string(),
                "last": period.last.to_string(),
                "targets": [],
            }),
        )
        .await?;
        let plan = tx
            .lock_plan(id)
            .await?
            .ok_or_else(|| AppError::Internal("plan not read back".into()))?;
        tx.commit().await?;
        Ok(plan)
    }

    /// Replaces an open plan's targets (and note): county staff and the
    /// administrator. Each person must be an enabled county staff or
    /// administrator account; one target per person and debtor; each more
    /// than 0 and at most 10,000,000 yuan. Audited `collection_plan_set`.
    pub async fn set_collection_targets(
        &self,
        principal: &Principal,
        plan_id: i64,
        note: &str,
        targets: &[TargetRequest],
    ) -> AppResult<PlanView> {
        must_keep_books(principal)?;
        if targets.len() > collection::TARGETS_MAX {
            return Err(AppError::new(Code::CollectionTargetInvalid)
                .with("row", targets.len())
                .with_words("reason", "目标行数过多", "there are too many targets"));
        }
        let note = check_note(note)?;
        let mut rows: Vec<NewPlanTarget> = Vec::with_capacity(targets.len());
        let mut described = Vec::with_capacity(targets.len());
        for (i, target) in targets.iter().enumerate() {
            let row = i + 1;
            let refused = |zh: &'static str, en: &'static str| {
                AppError::new(Code::CollectionTargetInvalid)
                    .with("row", row)
                    .with_words("reason", zh, en)
            };
            if target.target.0 <= 0 || target.target.0 > collection::TARGET_FEN_MAX {
                return Err(refused(
                    "目标金额须大于零且不超过一千万元",
                    "the target must be more than zero and at most 10,000,000 yuan",
                ));
            }
            let username = target.username.trim();
            let user = self.store.user_by_name(username).await?;
            let user = match user {
                Some(u)
                    if matches!(u.role, Role::Admin | Role::CountyOperator)
                        && u.disabled_at.is_none() =>
                {
                    u
                }
                _ => {
                    return Err(refused(
                        "责任人须为启用的县级中心员工或管理员账号",
                        "the person must be an enabled county staff or administrator account",
                    ));
                }
            };
            if rows
                .iter()
                .any(|r| r.user_id == user.id && r.carrier == target.carrier)
            {
                return Err(refused(
                    "同一责任人、同一欠费单位只能有一个目标",
                    "one target per person and debtor",
                ));
            }
            described.push(serde_json::json!({
                "username": user.username,
                "carrier": target.carrier.map(|c| c.code()),
                "target_fen": target.target.0,
            }));
            rows.push(NewPlanTarget {
                user_id: user.id,
                carrier: target.carrier,
                target: target.target,
            });
        }
        let now = self.now();
        let today = self.today();
        let mut tx = self.store.begin().await?;
        let plan = tx
            .lock_plan(plan_id)
            .await?
            .ok_or(AppError::NotFound("collection plan"))?;
        if !plan.period.is_open(today) {
            return Err(AppError::new(Code::CollectionPlanClosed)
                .with("first", plan.period.first.to_string())
                .with("last", plan.period.last.to_string()));
        }
        let before = tx.plan_targets_in(plan_id).await?;
        tx.replace_plan_targets(
            plan_id,
            &note,
            &rows,
            now.timestamp_millis(),
            &principal.username,
        )
        .await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::CollectionPlanSet,
            Object::new("collection_plan", plan_id),
            serde_json::json!({
                "kind": plan.period.kind.code(),
                "first": plan.period.first.to_string(),
                "last": plan.period.last.to_string(),
                "targets_before": before.len(),
                "targets": described,
            }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(plan = plan_id, targets = rows.len(), "collection plan set");
        self.collection_plan(principal, plan_id).await
    }

    /// Every plan, the latest period first, each with its progress: finance
    /// staff and the auditor.
    pub async fn collection_plans(&self, principal: &Principal) -> AppResult<Vec<PlanView>> {
        must_read_books(principal)?;
        let plans = self.store.collection_plans(PLANS_LISTED_MAX).await?;
        let mut views = Vec::with_capacity(plans.len());
        for plan in plans {
            views.push(self.plan_view(plan).await?);
        }
        Ok(views)
    }

    /// One plan with its progress and the people and debtors behind it:
    /// finance staff and the auditor.
    pub async fn collection_plan(&self, principal: &Principal, id: i64) -> AppResult<PlanView> {
        must_read_books(principal)?;
        let plan = self
            .store
            .collection_plan(id)
            .await?
            .ok_or(AppError::NotFound("collection plan"))?;
        self.plan_view(plan).await
    }

    /// The plan for its spreadsheet: as [`App::collection_plan`], and
    /// recorded as `data_exported`.
    pub async fn export_collection_plan(
        &self,
        principal: &Principal,
        id: i64,
    ) -> AppResult<PlanView> {
        let view = self.collection_plan(principal, id).await?;
        audit::record_alone(
            &*self.store,
            &Actor::of(principal),
            self.now(),
            Act::DataExported,
            Object::new("collection_plan", id),
            serde_json::json!({
                "export": "collection_plan",
                "first": view.plan.period.first.to_string(),
                "people": view.people.len(),
            }),
        )
        .await?;
        Ok(view)
    }

    async fn plan_view(&self, plan: PlanRecord) -> AppResult<PlanView> {
        let targets = self.store.plan_targets(plan.id).await?;
        let (from, to) = plan.period.span_ms();
        // Progress is money collected and written off (核销): a bad debt
        // (坏账) leaves the books by another kind and is not counted.
        let written: BTreeMap<Carrier, Fen> = self
            .store
            .credited_between(domain::ledger::TransferKind::WriteOff, from, to)
            .await?
            .into_iter()
            .collect();
        let terms = self.store.debtor_terms_all().await?;
        let people = progress(&targets, &written, |carrier| {
            terms
                .iter()
                .find(|t| t.carrier == carrier)
                .and_then(|t| t.responsible.as_ref())
                .map(|r| r.user_id)
        });
        let target = Fen(people.iter().map(|p| p.target.0).sum());
        let done = Fen(people.iter().map(|p| p.done.0).sum());
        Ok(PlanView {
            open: plan.period.is_open(self.today()),
            percent: collection::percent(done, target),
            plan,
            targets,
            people,
            target,
            done,
        })
    }
}

/// Each person's progress: their debtors are those whose terms name them
/// (`responsible_of`) and those they have a debtor target for.
fn progress(
    targets: &[PlanTarget],
    written: &BTreeMap<Carrier, Fen>,
    responsible_of: impl Fn(Carrier) -> Option<i64>,
) -> Vec<PersonProgress> {
    let mut people: Vec<PersonProgress> = Vec::new();
    for t in targets {
        if people.iter().any(|p| p.user_id == t.user_id) {
            continue;
        }
        let mine: Vec<&PlanTarget> = targets.iter().filter(|x| x.user_id == t.user_id).collect();
        let mut debtors: Vec<DebtorProgress> = Vec::new();
        for carrier in Carrier::ALL.iter().copied() {
            let assigned = responsible_of(carrier) == Some(t.user_id);
            let target = mine
                .iter()
                .find(|x| x.carrier == Some(carrier))
                .map(|x| x.target);
            if assigned || target.is_some() {
                debtors.push(DebtorProgress {
                    carrier,
                    target,
                    done: written.get(&carrier).copied().unwrap_or(Fen(0)),
                    assigned,
                });
            }
        }
        let whole = mine.iter().find(|x| x.carrier.is_none()).map(|x| x.target);
        let target = whole.unwrap_or(Fen(mine
            .iter()
            .filter(|x| x.carrier.is_some())
            .map(|x| x.target.0)
            .sum()));
        let done = Fen(debtors.iter().map(|d| d.done.0).sum());
        people.push(PersonProgress {
            user_id: t.user_id,
            username: t.username.clone(),
            name: t.name.clone(),
            target,
            done,
            percent: collection::percent(done, target),
            debtors,
        });
    }
    people
}

fn check_note(note: &str) -> AppResult<String> {
    let note = note.trim();
    if note.chars().count() > collection::NOTE_CHARS_MAX {
        return Err(AppError::new(Code::CollectionTargetInvalid)
            .with("row", 0)
            .with_words("reason", "备注过长", "the note is too long"));
    }
    Ok(note.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(user_id: i64, carrier: Option<Carrier>, fen: i64) -> PlanTarget {
        PlanTarget {
            user_id,
            username: format!("u{user_id}"),
            name: format!("U{user_id}"),
            carrier,
            target: Fen(fen),
        }
    }

    #[test]
    fn a_person_is_measured_by_their_debtors_write_offs() {
        let targets = vec![
            target(1, None, 10_000),
            target(1, Some(Carrier::Yto), 3_000),
            target(2, Some(Carrier::Sto), 4_000),
        ];
        let written: BTreeMap<Carrier, Fen> = [
            (Carrier::Zto, Fen(2_500)),
            (Carrier::Yto, Fen(1_500)),
            (Carrier::Sto, Fen(1_000)),
            (Carrier::Yunda, Fen(9_999)),
        ]
        .into_iter()
        .collect();
        // ZTO is person 1's by its terms; YTO by a debtor target; Yunda is
        // nobody's in the plan.
        let people = progress(&targets, &written, |c| (c == Carrier::Zto).then_some(1));
        assert_eq!(people.len(), 2);
        assert_eq!(people[0].target, Fen(10_000));
        assert_eq!(people[0].done, Fen(4_000));
        assert_eq!(people[0].percent, 40);
        assert_eq!(people[0].debtors.len(), 2);
        assert_eq!(
            people[1].target,
            Fen(4_000),
            "the sum of the debtor targets"
        );
        assert_eq!(people[1].done, Fen(1_000));
        assert_eq!(people[1].percent, 25);
    }
}

//! Maker–checker (issue 12, point 5; `domain::approval`). Shared layer: a
//! use case whose act may need a second person calls [`require`] (or
//! [`reveal_gate`]) before acting and names the approval it used in its
//! audit row. Deciding and listing requests are `App` methods here too.
//!
//! The maker's refused attempt files the request itself (in its own
//! transaction, so the refusal does not roll it back), and the next attempt
//! with the same scope goes through once a checker approved it: the maker
//! never has to fill in a separate form, and a request can only ever cover
//! exactly the act that was attempted.

use crate::App;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code};
use crate::ports::approvals::{ApprovalFilter, ApprovalRecord, NewApproval};
use crate::ports::prelude::*;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use domain::Principal;
use domain::approval::{self as rules, Facts, Scope, State, Thresholds};
use serde::Serialize;

/// Longest refusal note.
pub const NOTE_CHARS_MAX: usize = 200;
/// Most requests one list shows.
const LIST_MAX: u32 = 200;

/// A request as people see it: its state now, and the scope in words.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalView {
    #[serde(flatten)]
    pub record: ApprovalRecord,
    pub state: State,
}

fn facts(record: &ApprovalRecord) -> Facts {
    Facts {
        kind: record.kind,
        requested_at: record.requested_at,
        decision: record.decision,
        decided_at: record.decided_at,
        used_at: record.used_at,
    }
}

/// A request's state at `now` (for an act that checks its own approval
/// inside its transaction, as a write-off does).
pub fn state_of(record: &ApprovalRecord, thresholds: &Thresholds, now: DateTime<Utc>) -> State {
    facts(record).state(thresholds, now)
}

fn view(record: ApprovalRecord, thresholds: &Thresholds, now: DateTime<Utc>) -> ApprovalView {
    let state = facts(&record).state(thresholds, now);
    ApprovalView { record, state }
}

/// Whether `maker` may act on `scope` now: `Ok(Some(id))` with the approval
/// that covers it, or — when no fresh approval does — files the request
/// (once per scope while one is pending) and refuses with
/// `approval_required`. Call it only when the threshold is crossed.
pub async fn require(
    store: &dyn Store,
    thresholds: &Thresholds,
    maker: &Principal,
    scope: &Scope,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let canonical = scope.canonical();
    let mut tx = store.begin().await?;
    let latest = tx.latest_approval(maker.user_id, &canonical).await?;
    let id = match latest.map(|r| (facts(&r).state(thresholds, now), r.id)) {
        Some((State::Approved, id)) => return Ok(id),
        Some((State::Pending, id)) => id,
        _ => {
            let id = tx
                .insert_approval(&NewApproval {
                    kind: scope.kind(),
                    scope: canonical.clone(),
                    requested_by: maker.user_id,
                    requested_at: now,
                })
                .await?;
            audit::record(
                &mut *tx,
                &Actor::of(maker),
                now,
                Act::ApprovalRequested,
                Object::new("approval", id),
                serde_json::json!({ "kind": scope.kind().code(), "scope": canonical }),
            )
            .await?;
            tracing::info!(approval = id, user = %maker.username, kind = scope.kind().code(), "second-person approval requested");
            id
        }
    };
    tx.commit().await?;
    Err(AppError::new(Code::ApprovalRequired).with("id", id))
}

/// An act's audit details with the approval it used, when one was needed
/// (a row without the key was under the threshold).
pub fn named(mut details: serde_json::Value, approval: Option<i64>) -> serde_json::Value {
    if let (Some(id), Some(map)) = (approval, details.as_object_mut()) {
        map.insert("approval".into(), id.into());
    }
    details
}

/// The start of `now`'s Shanghai day, which the reveal count runs from.
fn shanghai_day_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let local = now.with_timezone(&offset).date_naive();
    local
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_local_timezone(offset)
        .single()
        .expect("fixed offset")
        .with_timezone(&Utc)
}

/// The gate before a whole phone is revealed, inside the reveal's own
/// transaction (after the audit head is locked, so two reveals cannot both
/// be the last one allowed): `Ok(None)` under the day's count, `Ok(Some(id))`
/// with a single-use approval now spent. Over the count without one, the
/// caller drops its transaction and calls [`require`] to file the request.
pub async fn reveal_gate(
    tx: &mut dyn Tx,
    thresholds: &Thresholds,
    maker: &Principal,
    parcel_id: i64,
    now: DateTime<Utc>,
) -> AppResult<Result<Option<i64>, Scope>> {
    if !rules::applies_to(maker) {
        return Ok(Ok(None));
    }
    let today = tx
        .phone_reveals_since(maker.user_id, shanghai_day_start(now))
        .await?;
    if !thresholds.reveal_needs_approval(today) {
        return Ok(Ok(None));
    }
    let scope = Scope::Phone { parcel_id };
    let latest = tx
        .latest_approval(maker.user_id, &scope.canonical())
        .await?;
    if let Some(record) = latest
        && facts(&record).state(thresholds, now) == State::Approved
        && tx.use_approval(record.id, now).await?
    {
        return Ok(Ok(Some(record.id)));
    }
    Ok(Err(scope))
}

impl App {
    /// Requests to decide (for those who may check: everyone's undecided
    /// requests but their own) and the caller's own requests.
    pub async fn approvals(
        &self,
        principal: &Principal,
    ) -> AppResult<(Vec<ApprovalView>, Vec<ApprovalView>)> {
        if !rules::applies_to(principal) {
            return Err(AppError::Forbidden("approval"));
        }
        let now = self.now();
        let thresholds = &self.settings.approvals;
        let to_decide = if rules::is_checker(principal) {
            let since = now - Duration::hours(thresholds.request_hours);
            self.store
                .approvals(ApprovalFilter::UndecidedSince(since), LIST_MAX)
                .await?
                .into_iter()
                .filter(|r| r.requested_by != principal.user_id)
                .map(|r| view(r, thresholds, now))
                .filter(|v| v.state == State::Pending)
                .collect()
        } else {
            Vec::new()
        };
        let mine = self
            .store
            .approvals(ApprovalFilter::MadeBy(principal.user_id), LIST_MAX)
            .await?
            .into_iter()
            .map(|r| view(r, thresholds, now))
            .collect();
        Ok((to_decide, mine))
    }

    /// Approves or refuses a pending request; a refusal says why.
    pub async fn decide_approval(
        &self,
        principal: &Principal,
        approval_id: i64,
        approve: bool,
        note: Option<&str>,
    ) -> AppResult<ApprovalView> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > NOTE_CHARS_MAX) || (!approve && note.is_none())
        {
            return Err(AppError::new(Code::ApprovalNoteRequired).with("max", NOTE_CHARS_MAX));
        }
        let now = self.now();
        let thresholds = &self.settings.approvals;
        let mut tx = self.store.begin().await?;
        let record = tx
            .approval_in_tx(approval_id)
            .await?
            .ok_or(AppError::NotFound("approval"))?;
        if record.requested_by == principal.user_id {
            return Err(AppError::new(Code::ApprovalOwnRequest));
        }
        if !rules::may_check(principal, record.requested_by) {
            return Err(AppError::Forbidden("approval"));
        }
        let state = facts(&record).state(thresholds, now);
        if state != State::Pending
            || !tx
                .decide_approval(approval_id, principal.user_id, approve, note, now)
                .await?
        {
            return Err(AppError::new(Code::ApprovalNotPending)
                .with("id", approval_id)
                .with_words("state", state_zh(state), state.code()));
        }
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            if approve {
                Act::ApprovalGranted
            } else {
                Act::ApprovalRefused
            },
            Object::new("approval", approval_id),
            serde_json::json!({
                "kind": record.kind.code(),
                "scope": record.scope,
                "maker": record.requested_by,
            }),
        )
        .await?;
        let decided = tx
            .approval_in_tx(approval_id)
            .await?
            .ok_or(AppError::NotFound("approval"))?;
        tx.commit().await?;
        tracing::info!(approval = approval_id, user = %principal.username, approve, "approval decided");
        Ok(view(decided, thresholds, now))
    }
}

fn state_zh(state: State) -> &'static str {
    match state {
        State::Pending => "待审批",
        State::Approved => "批准",
        State::Refused => "拒绝",
        State::Used => "使用",
        State::Expired => "过期",
    }
}

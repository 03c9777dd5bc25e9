//! Maker–checker requests behind `app::ports::{ApprovalTx, ApprovalStore}`.
//! Deciding and using are conditional updates, so two checkers (or two
//! uses) racing cannot both win.

use crate::rows::{corrupt, get, time};
use crate::{Db, DbTx, backend_error, ms};
use app::ports::approvals::{ApprovalFilter, ApprovalRecord, NewApproval};
use app::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::approval::Kind;
use sqlx::Row;
use sqlx::any::AnyRow;

const COLUMNS: &str = "a.id, a.kind, a.scope, a.requested_by, m.username AS requester, a.requested_at, \
     a.decision, a.decided_by, c.username AS decider, a.decided_at, a.note, a.used_at";
const FROM: &str =
    "approvals a JOIN users m ON m.id = a.requested_by LEFT JOIN users c ON c.id = a.decided_by";

fn approval_from(row: &AnyRow) -> StoreResult<ApprovalRecord> {
    let kind: String = get(row, "kind")?;
    let decision: Option<String> = get(row, "decision")?;
    let decision = match decision.as_deref() {
        None => None,
        Some("approved") => Some(true),
        Some("refused") => Some(false),
        Some(other) => return Err(corrupt("approval decision", other)),
    };
    let opt_time = |name: &str| -> StoreResult<Option<DateTime<Utc>>> {
        get::<Option<i64>>(row, name)?.map(time).transpose()
    };
    Ok(ApprovalRecord {
        id: get(row, "id")?,
        kind: Kind::parse(&kind).ok_or_else(|| corrupt("approval kind", &kind))?,
        scope: get(row, "scope")?,
        requested_by: get(row, "requested_by")?,
        requester: get(row, "requester")?,
        requested_at: time(get(row, "requested_at")?)?,
        decision,
        decided_by: get(row, "decided_by")?,
        decider: get(row, "decider")?,
        decided_at: opt_time("decided_at")?,
        note: get(row, "note")?,
        used_at: opt_time("used_at")?,
    })
}

#[async_trait]
impl ApprovalTx for DbTx {
    async fn latest_approval(
        &mut self,
        requested_by: i64,
        scope: &str,
    ) -> StoreResult<Option<ApprovalRecord>> {
        let row = self
            .optional(
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM {FROM} WHERE a.requested_by = $1 AND a.scope = $2 ORDER BY a.id DESC LIMIT 1"
                ))
                .bind(requested_by)
                .bind(scope.to_string()),
            )
            .await?;
        row.as_ref().map(approval_from).transpose()
    }

    async fn approval_in_tx(&mut self, approval_id: i64) -> StoreResult<Option<ApprovalRecord>> {
        let row = self
            .optional(
                sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = $1"))
                    .bind(approval_id),
            )
            .await?;
        row.as_ref().map(approval_from).transpose()
    }

    async fn insert_approval(&mut self, approval: &NewApproval) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO approvals (kind, scope, requested_by, requested_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(approval.kind.code())
                .bind(approval.scope.clone())
                .bind(approval.requested_by)
                .bind(ms(approval.requested_at)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("no approval id returned".into()))?;
        row.try_get(0).map_err(backend_error)
    }

    async fn decide_approval(
        &mut self,
        approval_id: i64,
        decided_by: i64,
        approved: bool,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE approvals SET decision = $1, decided_by = $2, decided_at = $3, note = $4 \
                     WHERE id = $5 AND decision IS NULL",
                )
                .bind(if approved { "approved" } else { "refused" })
                .bind(decided_by)
                .bind(ms(now))
                .bind(note.map(str::to_string))
                .bind(approval_id),
            )
            .await?;
        Ok(n == 1)
    }

    async fn use_approval(&mut self, approval_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let n = self
            .execute(
                sqlx::query(
                    "UPDATE approvals SET used_at = $1 WHERE id = $2 AND decision = 'approved' AND used_at IS NULL",
                )
                .bind(ms(now))
                .bind(approval_id),
            )
            .await?;
        Ok(n == 1)
    }

    async fn phone_reveals_since(
        &mut self,
        user_id: i64,
        since: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let row = self
            .optional(
                sqlx::query(
                    "SELECT COUNT(*) FROM audit_log WHERE actor_user_id = $1 AND act = 'phone_revealed' AND at >= $2",
                )
                .bind(user_id)
                .bind(ms(since)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("no count returned".into()))?;
        let n: i64 = row.try_get(0).map_err(backend_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[async_trait]
impl ApprovalStore for Db {
    async fn approvals(
        &self,
        filter: ApprovalFilter,
        limit: u32,
    ) -> StoreResult<Vec<ApprovalRecord>> {
        let (condition, order, bound) = match filter {
            ApprovalFilter::UndecidedSince(since) => (
                "a.decision IS NULL AND a.requested_at >= $1",
                "a.id",
                ms(since),
            ),
            ApprovalFilter::MadeBy(user_id) => ("a.requested_by = $1", "a.id DESC", user_id),
        };
        let sql =
            format!("SELECT {COLUMNS} FROM {FROM} WHERE {condition} ORDER BY {order} LIMIT $2");
        let query = sqlx::query(&sql).bind(bound);
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
        rows.iter().map(approval_from).collect()
    }

    async fn approval(&self, approval_id: i64) -> StoreResult<Option<ApprovalRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = $1"))
            .bind(approval_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?;
        row.as_ref().map(approval_from).transpose()
    }
}

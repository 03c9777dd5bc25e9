//! The audit trail, behind `app::ports::{AuditTx, AuditStore}`. The store
//! only keeps rows: the hashes are computed by `domain::audit`, and the
//! triggers of migration 0013 refuse UPDATE and DELETE.

use crate::rows::get;
use crate::{Backend, Db, DbTx, backend_error};
use app::ports::audit::{AuditFilter, AuditRow};
use app::ports::*;
use async_trait::async_trait;
use sqlx::any::AnyRow;

const AUDIT_COLUMNS: &str = "seq, at, actor_user_id, actor, actor_role, act, object_kind, object_id, station_id, details, prev_hash, hash";

/// The advisory lock key of the audit chain on PostgreSQL: any constant
/// no other lock uses ("audit" in ASCII).
const AUDIT_LOCK_KEY: i64 = 0x61_75_64_69_74;

fn audit_row(row: &AnyRow) -> StoreResult<AuditRow> {
    Ok(AuditRow {
        seq: get(row, "seq")?,
        at_ms: get(row, "at")?,
        actor_user_id: get(row, "actor_user_id")?,
        actor: get(row, "actor")?,
        actor_role: get(row, "actor_role")?,
        act: get(row, "act")?,
        object_kind: get(row, "object_kind")?,
        object_id: get(row, "object_id")?,
        station_id: get(row, "station_id")?,
        details: get(row, "details")?,
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

#[async_trait]
impl AuditTx for DbTx {
    async fn lock_audit_head(&mut self) -> StoreResult<Option<(i64, String)>> {
        if self.backend == Backend::Postgres {
            // Held to the end of this transaction: a second appender waits
            // here and then reads the head this one wrote.
            self.execute(sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK_KEY))
                .await?;
        }
        let row = self
            .optional(sqlx::query(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            ))
            .await?;
        row.map(|row| Ok((get(&row, "seq")?, get(&row, "hash")?)))
            .transpose()
    }

    async fn insert_audit(&mut self, row: &AuditRow) -> StoreResult<()> {
        self.execute(
            sqlx::query(&format!(
                "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(row.seq)
            .bind(row.at_ms)
            .bind(row.actor_user_id)
            .bind(row.actor.clone())
            .bind(row.actor_role.clone())
            .bind(row.act.clone())
            .bind(row.object_kind.clone())
            .bind(row.object_id)
            .bind(row.station_id)
            .bind(row.details.clone())
            .bind(row.prev_hash.clone())
            .bind(row.hash.clone()),
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl AuditStore for Db {
    async fn audit_rows_after(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(audit_row).collect()
    }

    async fn audit_head(&self) -> StoreResult<Option<AuditRow>> {
        let row = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"
        ))
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.as_ref().map(audit_row).transpose()
    }

    async fn audit_search(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditRow>> {
        // Every condition is always present and switched off by a NULL, so
        // the statement is one text with fixed parameters on both databases.
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE \
             ($1 IS NULL OR act = $1) AND ($2 IS NULL OR actor_user_id = $2) \
             AND ($3 IS NULL OR station_id = $3) AND ($4 IS NULL OR object_kind = $4) \
             AND ($5 IS NULL OR object_id = $5) AND ($6 IS NULL OR at >= $6) \
             AND ($7 IS NULL OR at < $7) AND ($8 IS NULL OR seq < $8) \
             ORDER BY seq DESC LIMIT $9"
        );
        let rows = sqlx::query(&sql)
            .bind(filter.act.clone())
            .bind(filter.actor_user_id)
            .bind(filter.station_id)
            .bind(filter.object_kind.clone())
            .bind(filter.object_id)
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.before_seq)
            .bind(i64::from(filter.limit))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
        rows.iter().map(audit_row).collect()
    }
}

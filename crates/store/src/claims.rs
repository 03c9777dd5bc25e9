//! Claims and write-offs (branch `claims`, issue 15 point 4), behind
//! `app::ports::claims::{ClaimsTx, ClaimsStore}`. Migration 0035: a claim per
//! receipt (the receipt is the key), write-offs by request key, payments per
//! invoice with the statement's paid total kept beside them.

use crate::county::{carrier, day_text, parse_day};
use crate::ledger::{
    ACCOUNT_COLUMNS, RECEIPT_COLUMNS, STATEMENT_COLUMNS, account_from, receipt_from, statement_from,
};
use crate::rows::{corrupt, get};
use crate::{Backend, Db, DbTx, backend_error};
use app::ports::StoreResult;
use app::ports::claims::{
    ClaimEnd, ClaimRecord, ClaimsStore, ClaimsTx, CreditRule, IncidentRecord, NewPlan,
    NewPlanTarget, NewWriteOff, PaymentRecord, PlanRecord, PlanTarget, WriteOffRecord,
};
use app::ports::ledger::{Account, AccountRecord, ReceiptRecord, StatementRecord};
use async_trait::async_trait;
use domain::collection::{Period, PlanKind};
use domain::{Carrier, Fen};
use sqlx::any::AnyRow;

const CLAIM_COLUMNS: &str = "id, receipt_id, carrier, amount_fen, transfer_id, claimed_at, claimed_by, ended_at, ended_by, end_reason, end_transfer_id";
const WRITE_OFF_COLUMNS: &str = "id, request_key, carrier, amount_fen, at, by_user, approval_id";
const PAYMENT_COLUMNS: &str =
    "id, write_off_id, statement_id, carrier, amount_fen, transfer_id, at";

fn claim_from(row: &AnyRow) -> StoreResult<ClaimRecord> {
    let ended_at: Option<i64> = get(row, "ended_at")?;
    let ended = match ended_at {
        Some(at_ms) => Some(ClaimEnd {
            at_ms,
            by: get::<Option<String>>(row, "ended_by")?.unwrap_or_default(),
            reason: get::<Option<String>>(row, "end_reason")?.unwrap_or_default(),
            transfer_id: get::<Option<String>>(row, "end_transfer_id")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(ClaimRecord {
        id: get(row, "id")?,
        ended,
        receipt_id: get(row, "receipt_id")?,
        carrier: carrier(row)?,
        amount: Fen(get(row, "amount_fen")?),
        transfer_id: get(row, "transfer_id")?,
        at_ms: get(row, "claimed_at")?,
        by: get(row, "claimed_by")?,
    })
}

fn write_off_from(row: &AnyRow) -> StoreResult<WriteOffRecord> {
    Ok(WriteOffRecord {
        id: get(row, "id")?,
        key: get(row, "request_key")?,
        carrier: carrier(row)?,
        amount: Fen(get(row, "amount_fen")?),
        at_ms: get(row, "at")?,
        by: get(row, "by_user")?,
        approval_id: get(row, "approval_id")?,
    })
}

fn payment_from(row: &AnyRow) -> StoreResult<PaymentRecord> {
    Ok(PaymentRecord {
        id: get(row, "id")?,
        write_off_id: get(row, "write_off_id")?,
        statement_id: get(row, "statement_id")?,
        carrier: carrier(row)?,
        amount: Fen(get(row, "amount_fen")?),
        transfer_id: get(row, "transfer_id")?,
        at_ms: get(row, "at")?,
    })
}

#[async_trait]
impl ClaimsTx for DbTx {
    async fn account_in(&mut self, account: &Account) -> StoreResult<Option<AccountRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE code = $1"
            ))
            .bind(account.code()),
        )
        .await?
        .as_ref()
        .map(account_from)
        .transpose()
    }

    async fn receipt_in(&mut self, id: i64) -> StoreResult<Option<ReceiptRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE id = $1"
            ))
            .bind(id),
        )
        .await?
        .as_ref()
        .map(receipt_from)
        .transpose()
    }

    async fn insert_claim(&mut self, c: &ClaimRecord) -> StoreResult<bool> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO receipt_claims (receipt_id, carrier, amount_fen, transfer_id, claimed_at, claimed_by) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING receipt_id"
                )
                .bind(c.receipt_id)
                .bind(c.carrier.code())
                .bind(c.amount.0)
                .bind(c.transfer_id.clone())
                .bind(c.at_ms)
                .bind(c.by.clone()),
            )
            .await?;
        Ok(row.is_some())
    }

    async fn claim_in(&mut self, receipt_id: i64) -> StoreResult<Option<ClaimRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {CLAIM_COLUMNS} FROM receipt_claims WHERE receipt_id = $1 AND ended_at IS NULL"
            ))
            .bind(receipt_id),
        )
        .await?
        .as_ref()
        .map(claim_from)
        .transpose()
    }

    async fn claims_count_in(&mut self, receipt_id: i64) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query("SELECT COUNT(*) AS n FROM receipt_claims WHERE receipt_id = $1")
                    .bind(receipt_id),
            )
            .await?
            .ok_or_else(|| corrupt("claims", "no count"))?;
        get(&row, "n")
    }

    async fn end_claim(&mut self, claim_id: i64, end: &ClaimEnd) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "UPDATE receipt_claims SET ended_at = $1, ended_by = $2, end_reason = $3, end_transfer_id = $4 \
                 WHERE id = $5 AND ended_at IS NULL",
            )
            .bind(end.at_ms)
            .bind(end.by.clone())
            .bind(end.reason.clone())
            .bind(end.transfer_id.clone())
            .bind(claim_id),
        )
        .await?;
        Ok(())
    }

    async fn lock_statements_of(&mut self, carrier: Carrier) -> StoreResult<Vec<StatementRecord>> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        sqlx::query(&format!(
            "SELECT {STATEMENT_COLUMNS} FROM statements WHERE carrier = $1 ORDER BY id{lock}"
        ))
        .bind(carrier.code())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(statement_from)
        .collect()
    }

    async fn write_off_by_key(&mut self, key: &str) -> StoreResult<Option<WriteOffRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {WRITE_OFF_COLUMNS} FROM write_offs WHERE request_key = $1"
            ))
            .bind(key.to_string()),
        )
        .await?
        .as_ref()
        .map(write_off_from)
        .transpose()
    }

    async fn insert_write_off(&mut self, w: &NewWriteOff) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO write_offs (request_key, carrier, amount_fen, at, by_user, approval_id) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(w.key.clone())
                .bind(w.carrier.code())
                .bind(w.amount.0)
                .bind(w.at_ms)
                .bind(w.by.clone())
                .bind(w.approval_id),
            )
            .await?
            .ok_or_else(|| corrupt("write-off", "no id returned"))?;
        get(&row, "id")
    }

    async fn payments_of_write_off(
        &mut self,
        write_off_id: i64,
    ) -> StoreResult<Vec<PaymentRecord>> {
        sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM invoice_payments WHERE write_off_id = $1 ORDER BY id"
        ))
        .bind(write_off_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(payment_from)
        .collect()
    }

    async fn insert_invoice_payment(&mut self, p: &PaymentRecord) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO invoice_payments (write_off_id, statement_id, carrier, amount_fen, transfer_id, at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(p.write_off_id)
                .bind(p.statement_id)
                .bind(p.carrier.code())
                .bind(p.amount.0)
                .bind(p.transfer_id.clone())
                .bind(p.at_ms),
            )
            .await?
            .ok_or_else(|| corrupt("payment", "no id returned"))?;
        self.execute(
            sqlx::query(
                "UPDATE statements SET paid_fen = paid_fen + $1, updated_at = $2 WHERE id = $3",
            )
            .bind(p.amount.0)
            .bind(p.at_ms)
            .bind(p.statement_id),
        )
        .await?;
        get(&row, "id")
    }

    // branch money2 (issue 15, session 10): collection plans.
    async fn insert_plan(&mut self, new: &NewPlan) -> StoreResult<Option<i64>> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO collection_plans (kind, first_day, last_day, note, created_at, created_by, updated_at, updated_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(new.period.kind.code())
                .bind(day_text(new.period.first))
                .bind(day_text(new.period.last))
                .bind(new.note.clone())
                .bind(new.at_ms)
                .bind(new.by.clone()),
            )
            .await?;
        row.as_ref().map(|row| get(row, "id")).transpose()
    }

    async fn plan_of_period_in(&mut self, period: Period) -> StoreResult<Option<PlanRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {PLAN_COLUMNS} FROM collection_plans WHERE kind = $1 AND first_day = $2"
            ))
            .bind(period.kind.code())
            .bind(day_text(period.first)),
        )
        .await?
        .as_ref()
        .map(plan_from)
        .transpose()
    }

    async fn lock_plan(&mut self, id: i64) -> StoreResult<Option<PlanRecord>> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        self.optional(
            sqlx::query(&format!(
                "SELECT {PLAN_COLUMNS} FROM collection_plans WHERE id = $1{lock}"
            ))
            .bind(id),
        )
        .await?
        .as_ref()
        .map(plan_from)
        .transpose()
    }

    async fn plan_targets_in(&mut self, plan_id: i64) -> StoreResult<Vec<PlanTarget>> {
        sqlx::query(&format!(
            "{TARGET_SELECT} WHERE t.plan_id = $1 ORDER BY t.id"
        ))
        .bind(plan_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?
        .iter()
        .map(target_from)
        .collect()
    }

    async fn replace_plan_targets(
        &mut self,
        plan_id: i64,
        note: &str,
        targets: &[NewPlanTarget],
        at_ms: i64,
        by: &str,
    ) -> StoreResult<()> {
        self.execute(
            sqlx::query("DELETE FROM collection_targets WHERE plan_id = $1").bind(plan_id),
        )
        .await?;
        for t in targets {
            self.execute(
                sqlx::query(
                    "INSERT INTO collection_targets (plan_id, user_id, carrier, target_fen) VALUES ($1, $2, $3, $4)",
                )
                .bind(plan_id)
                .bind(t.user_id)
                .bind(t.carrier.map_or("", |c| c.code()))
                .bind(t.target.0),
            )
            .await?;
        }
        self.execute(
            sqlx::query(
                "UPDATE collection_plans SET note = $1, updated_at = $2, updated_by = $3 WHERE id = $4",
            )
            .bind(note.to_string())
            .bind(at_ms)
            .bind(by.to_string())
            .bind(plan_id),
        )
        .await?;
        Ok(())
    }

    // branch money2: exposure control.
    async fn credit_rule_in(&mut self, carrier: Carrier) -> StoreResult<Option<CreditRule>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {RULE_COLUMNS} FROM credit_limits WHERE carrier = $1"
            ))
            .bind(carrier.code()),
        )
        .await?
        .as_ref()
        .map(rule_from)
        .transpose()
    }

    async fn put_credit_rule(&mut self, rule: &CreditRule) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "INSERT INTO credit_limits (carrier, limit_fen, hold, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (carrier) DO UPDATE SET limit_fen = excluded.limit_fen, hold = excluded.hold, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(rule.carrier.code())
            .bind(rule.limit.map(|f| f.0))
            .bind(i64::from(rule.hold))
            .bind(rule.updated_at_ms)
            .bind(rule.updated_by.clone()),
        )
        .await?;
        Ok(())
    }

    async fn open_exposure_incident_in(
        &mut self,
        carrier: Carrier,
    ) -> StoreResult<Option<IncidentRecord>> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        self.optional(
            sqlx::query(&format!(
                "SELECT {INCIDENT_COLUMNS} FROM exposure_incidents WHERE carrier = $1 AND cleared_at IS NULL{lock}"
            ))
            .bind(carrier.code()),
        )
        .await?
        .as_ref()
        .map(incident_from)
        .transpose()
    }

    async fn insert_exposure_incident(&mut self, i: &IncidentRecord) -> StoreResult<Option<i64>> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO exposure_incidents (carrier, exposure_fen, over_90_fen, limit_fen, held, opened_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(i.carrier.code())
                .bind(i.exposure.0)
                .bind(i.over_90.0)
                .bind(i.limit.map(|f| f.0))
                .bind(i64::from(i.held))
                .bind(i.opened_at_ms),
            )
            .await?;
        row.as_ref().map(|row| get(row, "id")).transpose()
    }

    async fn update_exposure_incident(&mut self, i: &IncidentRecord) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "UPDATE exposure_incidents SET held = $1, released_at = $2, released_by = $3, cleared_at = $4 WHERE id = $5",
            )
            .bind(i64::from(i.held))
            .bind(i.released_at_ms)
            .bind(i.released_by.clone())
            .bind(i.cleared_at_ms)
            .bind(i.id),
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl ClaimsStore for Db {
    async fn unclaimed_receipts(&self, limit: u32) -> StoreResult<Vec<ReceiptRecord>> {
        sqlx::query(&format!(
            "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE NOT EXISTS \
             (SELECT 1 FROM receipt_claims c WHERE c.receipt_id = receipts.id AND c.ended_at IS NULL) ORDER BY day, id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(receipt_from)
        .collect()
    }

    async fn claims_of(&self, carrier: Carrier, limit: u32) -> StoreResult<Vec<ClaimRecord>> {
        sqlx::query(&format!(
            "SELECT {CLAIM_COLUMNS} FROM receipt_claims WHERE carrier = $1 ORDER BY claimed_at DESC, id DESC LIMIT $2"
        ))
        .bind(carrier.code())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(claim_from)
        .collect()
    }

    async fn payments_of(&self, carrier: Carrier, limit: u32) -> StoreResult<Vec<PaymentRecord>> {
        sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM invoice_payments WHERE carrier = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(carrier.code())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(payment_from)
        .collect()
    }

    async fn all_claims(&self) -> StoreResult<Vec<ClaimRecord>> {
        sqlx::query(&format!(
            "SELECT {CLAIM_COLUMNS} FROM receipt_claims WHERE ended_at IS NULL ORDER BY receipt_id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(claim_from)
        .collect()
    }

    // branch money2 (issue 15, session 10): collection plans.
    async fn collection_plans(&self, limit: u32) -> StoreResult<Vec<PlanRecord>> {
        sqlx::query(&format!(
            "SELECT {PLAN_COLUMNS} FROM collection_plans ORDER BY first_day DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(plan_from)
        .collect()
    }

    async fn collection_plan(&self, id: i64) -> StoreResult<Option<PlanRecord>> {
        sqlx::query(&format!(
            "SELECT {PLAN_COLUMNS} FROM collection_plans WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?
        .as_ref()
        .map(plan_from)
        .transpose()
    }

    async fn plan_targets(&self, plan_id: i64) -> StoreResult<Vec<PlanTarget>> {
        sqlx::query(&format!(
            "{TARGET_SELECT} WHERE t.plan_id = $1 ORDER BY t.id"
        ))
        .bind(plan_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(target_from)
        .collect()
    }

    async fn credited_between(
        &self,
        kind: domain::ledger::TransferKind,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<(Carrier, Fen)>> {
        let rows = sqlx::query(
            "SELECT credit_account, CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS fen \
             FROM ledger_transfers WHERE kind = $3 AND at >= $1 AND at < $2 \
             GROUP BY credit_account ORDER BY credit_account",
        )
        .bind(from_ms)
        .bind(to_ms)
        .bind(kind.code())
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        let mut sums = Vec::with_capacity(rows.len());
        for row in &rows {
            let code: String = get(row, "credit_account")?;
            let account = Account::parse(&code).ok_or_else(|| corrupt("ledger account", &code))?;
            if let (domain::ledger::AccountKind::CarrierReceivable, Some(carrier)) =
                (account.kind, account.carrier)
            {
                sums.push((carrier, Fen(get(row, "fen")?)));
            }
        }
        Ok(sums)
    }

    // branch money2: exposure control.
    async fn credit_rules(&self) -> StoreResult<Vec<CreditRule>> {
        sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM credit_limits ORDER BY carrier"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(rule_from)
        .collect()
    }

    async fn open_exposure_incidents(&self) -> StoreResult<Vec<IncidentRecord>> {
        sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM exposure_incidents WHERE cleared_at IS NULL ORDER BY carrier"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?
        .iter()
        .map(incident_from)
        .collect()
    }
}

// branch money2 (issue 15, session 10): collection plans (周、旬清欠计划).

const PLAN_COLUMNS: &str =
    "id, kind, first_day, last_day, note, created_at, created_by, updated_at, updated_by";
const TARGET_SELECT: &str = "SELECT t.user_id, t.carrier, t.target_fen, u.username, u.display_name \
     FROM collection_targets t JOIN users u ON u.id = t.user_id";

fn plan_from(row: &AnyRow) -> StoreResult<PlanRecord> {
    let kind: String = get(row, "kind")?;
    let first: String = get(row, "first_day")?;
    let last: String = get(row, "last_day")?;
    Ok(PlanRecord {
        id: get(row, "id")?,
        period: Period {
            kind: PlanKind::parse(&kind).ok_or_else(|| corrupt("plan kind", &kind))?,
            first: parse_day(&first)?,
            last: parse_day(&last)?,
        },
        note: get(row, "note")?,
        created_at_ms: get(row, "created_at")?,
        created_by: get(row, "created_by")?,
        updated_at_ms: get(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
    })
}

fn target_from(row: &AnyRow) -> StoreResult<PlanTarget> {
    let code: String = get(row, "carrier")?;
    Ok(PlanTarget {
        user_id: get(row, "user_id")?,
        username: get(row, "username")?,
        name: get(row, "display_name")?,
        carrier: if code.is_empty() {
            None
        } else {
            Some(Carrier::parse(&code).map_err(|_| corrupt("carrier", &code))?)
        },
        target: Fen(get(row, "target_fen")?),
    })
}

// branch money2: exposure control.

const RULE_COLUMNS: &str = "carrier, limit_fen, hold, updated_at, updated_by";
const INCIDENT_COLUMNS: &str = "id, carrier, exposure_fen, over_90_fen, limit_fen, held, opened_at, released_at, released_by, cleared_at";

fn rule_from(row: &AnyRow) -> StoreResult<CreditRule> {
    let limit: Option<i64> = get(row, "limit_fen")?;
    let hold: i64 = get(row, "hold")?;
    Ok(CreditRule {
        carrier: carrier(row)?,
        limit: limit.map(Fen),
        hold: hold != 0,
        updated_at_ms: get(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
    })
}

fn incident_from(row: &AnyRow) -> StoreResult<IncidentRecord> {
    let limit: Option<i64> = get(row, "limit_fen")?;
    let held: i64 = get(row, "held")?;
    Ok(IncidentRecord {
        id: get(row, "id")?,
        carrier: carrier(row)?,
        exposure: Fen(get(row, "exposure_fen")?),
        over_90: Fen(get(row, "over_90_fen")?),
        limit: limit.map(Fen),
        held: held != 0,
        opened_at_ms: get(row, "opened_at")?,
        released_at_ms: get(row, "released_at")?,
        released_by: get(row, "released_by")?,
        cleared_at_ms: get(row, "cleared_at")?,
    })
}

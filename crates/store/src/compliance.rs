//! The compliance rules' queries and the findings, behind
//! `app::ports::{ComplianceTx, ComplianceStore}`. Each query returns ids
//! and counts only: evidence never carries a name, phone or address.

use crate::rows::{corrupt, get, time};
use crate::{Db, DbTx, backend_error, ms};
use app::ports::compliance::{Candidate, FindingEvent, FindingRecord, NewFinding};
use app::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use domain::Role;
use domain::compliance::{FindingStatus, Rule, Thresholds};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

const FINDING_COLUMNS: &str = "f.id, f.rule, f.subject, f.station_id, f.evidence, f.responsible_user_id, \
     u.username AS responsible, f.due_at, f.status, f.found_at, f.last_seen_at, f.updated_at";

/// Most candidates one rule reports per run: a flood of one kind is one
/// problem to look at, and a run stays bounded.
const CANDIDATES_PER_RULE_MAX: i64 = 500;

const DAY_MS: i64 = 86_400_000;

fn status(code: &str) -> StoreResult<FindingStatus> {
    FindingStatus::parse(code).ok_or_else(|| corrupt("finding status", code))
}

fn finding_from(row: &AnyRow) -> StoreResult<FindingRecord> {
    Ok(FindingRecord {
        id: get(row, "id")?,
        rule: get(row, "rule")?,
        subject: get(row, "subject")?,
        station_id: get(row, "station_id")?,
        evidence: get(row, "evidence")?,
        responsible_user_id: get(row, "responsible_user_id")?,
        responsible: get(row, "responsible")?,
        due_at: time(get(row, "due_at")?)?,
        status: status(&get::<String>(row, "status")?)?,
        found_at: time(get(row, "found_at")?)?,
        last_seen_at: time(get(row, "last_seen_at")?)?,
        updated_at: time(get(row, "updated_at")?)?,
    })
}

/// The Shanghai day of `at`, for subjects that are per day.
fn shanghai_day(at: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    at.with_timezone(&offset).date_naive().to_string()
}

#[async_trait]
impl ComplianceTx for DbTx {
    async fn unfixed_finding(&mut self, rule: Rule, subject: &str) -> StoreResult<Option<i64>> {
        let row = self
            .optional(
                sqlx::query(
                    "SELECT id FROM findings WHERE rule = $1 AND subject = $2 AND status <> 'fixed'",
                )
                .bind(rule.code())
                .bind(subject.to_string()),
            )
            .await?;
        row.map(|row| get(&row, "id")).transpose()
    }

    async fn insert_finding(&mut self, finding: &NewFinding) -> StoreResult<i64> {
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO findings (rule, subject, station_id, evidence, responsible_user_id, due_at, status, found_at, last_seen_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7, $7) RETURNING id",
                )
                .bind(finding.rule.code())
                .bind(finding.subject.clone())
                .bind(finding.station_id)
                .bind(finding.evidence.clone())
                .bind(finding.responsible_user_id)
                .bind(ms(finding.due_at))
                .bind(ms(finding.found_at)),
            )
            .await?
            .ok_or_else(|| StoreError::Backend("no finding id returned".into()))?;
        row.try_get(0).map_err(backend_error)
    }

    async fn touch_finding(
        &mut self,
        finding_id: i64,
        evidence: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.execute(
            sqlx::query("UPDATE findings SET evidence = $1, last_seen_at = $2 WHERE id = $3")
                .bind(evidence.to_string())
                .bind(ms(now))
                .bind(finding_id),
        )
        .await?;
        Ok(())
    }

    async fn set_finding(
        &mut self,
        finding_id: i64,
        status: FindingStatus,
        responsible_user_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "UPDATE findings SET status = $1, responsible_user_id = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(status.code())
            .bind(responsible_user_id)
            .bind(ms(now))
            .bind(finding_id),
        )
        .await?;
        Ok(())
    }

    async fn insert_finding_event(
        &mut self,
        finding_id: i64,
        event: &FindingEvent,
    ) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "INSERT INTO finding_history (finding_id, at, actor, status, responsible_user_id, note) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(finding_id)
            .bind(ms(event.at))
            .bind(event.actor.clone())
            .bind(event.status.code())
            .bind(event.responsible_user_id)
            .bind(event.note.clone()),
        )
        .await?;
        Ok(())
    }
}

impl Db {
    async fn rows(&self, query: crate::Q<'_>) -> StoreResult<Vec<AnyRow>> {
        query.fetch_all(&self.reader).await.map_err(backend_error)
    }
}

#[async_trait]
impl ComplianceStore for Db {
    async fn rule_candidates(
        &self,
        rule: Rule,
        now: DateTime<Utc>,
        thresholds: &Thresholds,
    ) -> StoreResult<Vec<Candidate>> {
        let now_ms = ms(now);
        let window_start = ms(now - Duration::days(thresholds.window_days));
        let day_ago = now_ms - DAY_MS;
        let limit = CANDIDATES_PER_RULE_MAX;
        let day = shanghai_day(now);
        let mut out = Vec::new();
        match rule {
            Rule::PickupWithoutProof => {
                // Every pickup the use cases write names its proof; one
                // without came in some other way.
                let rows = self
                    .rows(
                        sqlx::query(
                            "SELECT parcel_id, id, station_id FROM parcel_events \
                             WHERE kind = 'picked_up' AND at >= $1 AND details NOT LIKE '%\"proof\"%' \
                             ORDER BY id LIMIT $2",
                        )
                        .bind(window_start)
                        .bind(limit),
                    )
                    .await?;
                for row in rows {
                    let parcel: i64 = get(&row, "parcel_id")?;
                    let event: i64 = get(&row, "id")?;
                    out.push(Candidate {
                        subject: format!("parcel:{parcel}"),
                        station_id: get(&row, "station_id")?,
                        user_id: None,
                        evidence: json!({ "parcel": parcel, "event": event }),
                    });
                }
            }
            Rule::StoredWithoutConsent => {
                let rows = self
                    .rows(
                        sqlx::query(
                            "SELECT id, station_id FROM parcels WHERE state = 'stored' AND consent = 0 ORDER BY id LIMIT $1",
                        )
                        .bind(limit),
                    )
                    .await?;
                for row in rows {
                    let parcel: i64 = get(&row, "id")?;
                    out.push(Candidate {
                        subject: format!("parcel:{parcel}"),
                        station_id: get(&row, "station_id")?,
                        user_id: None,
                        evidence: json!({ "parcel": parcel }),
                    });
                }
            }
            Rule::HeldPastLimitUnreminded => {
                let rows = self
                    .rows(
                        sqlx::query(
                            "SELECT p.id, p.station_id, p.stored_at FROM parcels p JOIN stations s ON s.id = p.station_id \
                             WHERE p.state = 'stored' AND p.reminders_sent = '' AND p.stored_at + s.holding_days * $1 < $2 \
                             ORDER BY p.id LIMIT $3",
                        )
                        .bind(DAY_MS)
                        .bind(now_ms)
                        .bind(limit),
                    )
                    .await?;
                for row in rows {
                    let parcel: i64 = get(&row, "id")?;
                    let stored_at: i64 = get(&row, "stored_at")?;
                    out.push(Candidate {
                        subject: format!("parcel:{parcel}"),
                        station_id: get(&row, "station_id")?,
                        user_id: None,
                        evidence: json!({ "parcel": parcel, "days_held": (now_ms - stored_at) / DAY_MS }),
                    });
                }
            }
            Rule::PhoneRevealsAboveDailyCount => {
                let rows = self
                    .rows(
                        sqlx::query(
                            "SELECT actor_user_id, COUNT(*) AS n FROM audit_log \
                             WHERE act = 'phone_revealed' AND at >= $1 AND actor_user_id IS NOT NULL \
                             GROUP BY actor_user_id HAVING COUNT(*) > $2 ORDER BY actor_user_id LIMIT $3",
                        )
                        .bind(day_ago)
                        .bind(i64::from(thresholds.phone_reveals_per_day))
                        .bind(limit),
                    )
                    .await?;
                for row in rows {
                    let user: i64 = get(&row, "actor_user_id")?;
                    let n: i64 = get(&row, "n")?;
                    out.push(Candidate {
                        subject: format!("user:{user}:{day}"),
                        station_id: None,
                        user_id: Some(user),
                        evidence: json!({ "user": user, "reveals_24h": n, "threshold": thresholds.phone_reveals_per_day }),
                    });
                }
            }
            Rule::WebhookFailingOverADay => {
                let rows = self
                    .rows(
                        sqlx::query(
                            "SELECT subscription_id, COUNT(*) AS n, MIN(id) AS first_id FROM webhook_deliveries \
                             WHERE status <> 'delivered' AND attempts > 0 AND created_at < $1 AND created_at >= $2 \
                             GROUP BY subscription_id ORDER BY subscription_id LIMIT $3",
                        )
                        .bind(day_ago)
                        .bind(window_start)
                        .bind(limit),
                    )
                    .await?;
                for row in rows {
                    let subscription: i64 = get(&row, "subscription_id")?;
                    out.push(Candidate {
                        subject: format!("webhook_subscription:{subscription}"),
                        station_id: None,
                        user_id: None,
                        evidence: json!({
                            "subscription": subscription,
                            "undelivered": get::<i64>(&row, "n")?,
                            "first_delivery": get::<i64>(&row, "first_id")?,
                        }),
                    });
                }
            }
            Rule::DeviceOfflineOverAnHour => {
                let rows = self
                    .rows(
                        sqlx::query(
                            "SELECT state_topic, station_id, device_kind, device_id, changed_at FROM device_status \
                             WHERE online = 0 AND changed_at < $1 ORDER BY state_topic LIMIT $2",
                        )
                        .bind(now_ms - 3_600_000)
                        .bind(limit),
                    )
                    .await?;
                for row in rows {
                    let topic: String = get(&row, "state_topic")?;
                    let changed_at: i64 = get(&row, "changed_at")?;
                    out.push(Candidate {
                        subject: format!("device:{topic}"),
                        station_id: get(&row, "station_id")?,
                        user_id: None,
                        evidence: json!({
                            "device_kind": get::<String>(&row, "device_kind")?,
                            "device": get::<String>(&row, "device_id")?,
                            "offline_minutes": (now_ms - changed_at) / 60_000,
                        }),
                    });
                }
            }
            Rule::TerminalThrottleBurst => {
                let rows = self
                    .rows(
                        sqlx::query(
                            "SELECT station_id, terminal, COUNT(*) AS n FROM code_attempts \
                             WHERE succeeded = 0 AND at >= $1 GROUP BY station_id, terminal \
                             HAVING COUNT(*) >= $2 ORDER BY station_id, terminal LIMIT $3",
                        )
                        .bind(day_ago)
                        .bind(i64::from(thresholds.terminal_failures_per_day))
                        .bind(limit),
                    )
                    .await?;
                for row in rows {
                    let station: i64 = get(&row, "station_id")?;
                    let terminal: String = get(&row, "terminal")?;
                    out.push(Candidate {
                        subject: format!("terminal:{station}:{terminal}:{day}"),
                        station_id: Some(station),
                        user_id: None,
                        evidence: json!({ "station": station, "terminal": terminal, "wrong_codes_24h": get::<i64>(&row, "n")? }),
                    });
                }
            }
            Rule::UserIdle90Days => {
                // Terminals and carriers' systems work by token, not by
                // signing in: they are not people who could be idle.
                let rows = self
                    .rows(
                        sqlx::query(
                            "SELECT id, role FROM users WHERE disabled_at IS NULL \
                             AND role NOT IN ('station_terminal', 'carrier_integrator') \
                             AND COALESCE(last_sign_in_at, created_at) < $1 ORDER BY id LIMIT $2",
                        )
                        .bind(ms(now - Duration::days(thresholds.idle_days)))
                        .bind(limit),
                    )
                    .await?;
                for row in rows {
                    let user: i64 = get(&row, "id")?;
                    out.push(Candidate {
                        subject: format!("user:{user}"),
                        station_id: None,
                        user_id: Some(user),
                        evidence: json!({ "user": user, "role": get::<String>(&row, "role")?, "idle_days_over": thresholds.idle_days }),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn responsible_for(
        &self,
        role: Role,
        station_id: Option<i64>,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(u.id) AS id FROM users u WHERE u.role = $1 AND u.disabled_at IS NULL \
             AND ($2 IS NULL OR EXISTS (SELECT 1 FROM user_stations us WHERE us.user_id = u.id AND us.station_id = $2))",
        )
        .bind(role.code())
        .bind(station_id)
        .fetch_one(&self.reader)
        .await
        .map_err(backend_error)?;
        get(&row, "id")
    }

    async fn findings(
        &self,
        status: Option<FindingStatus>,
        limit: u32,
    ) -> StoreResult<Vec<FindingRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {FINDING_COLUMNS} FROM findings f LEFT JOIN users u ON u.id = f.responsible_user_id \
             WHERE ($1 IS NULL OR f.status = $1) ORDER BY f.found_at, f.id LIMIT $2"
        ))
        .bind(status.map(FindingStatus::code))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(finding_from).collect()
    }

    async fn finding(&self, finding_id: i64) -> StoreResult<Option<FindingRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {FINDING_COLUMNS} FROM findings f LEFT JOIN users u ON u.id = f.responsible_user_id WHERE f.id = $1"
        ))
        .bind(finding_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.as_ref().map(finding_from).transpose()
    }

    async fn finding_history(&self, finding_id: i64) -> StoreResult<Vec<FindingEvent>> {
        let rows = sqlx::query(
            "SELECT at, actor, status, responsible_user_id, note FROM finding_history WHERE finding_id = $1 ORDER BY id",
        )
        .bind(finding_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(FindingEvent {
                    at: time(get(row, "at")?)?,
                    actor: get(row, "actor")?,
                    status: status(&get::<String>(row, "status")?)?,
                    responsible_user_id: get(row, "responsible_user_id")?,
                    note: get(row, "note")?,
                })
            })
            .collect()
    }

    async fn note_sign_in(&self, user_id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
            .bind(ms(now))
            .bind(user_id)
            .execute(&self.writer)
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}

/// What [`Db::plant_breaches`] breaks: three parcels stored at the station,
/// an account to leave idle and a webhook subscription to fail.
#[derive(Debug, Clone)]
pub struct BreachPlan {
    pub station_id: i64,
    /// Stored parcels: the first is handed out without proof, the second
    /// loses its consent, the third has been held too long unreminded.
    pub parcels: [i64; 3],
    pub idle_user_id: i64,
    pub subscription_id: i64,
}

impl Db {
    /// Writes, behind the use cases' backs, one breach for each compliance
    /// rule that the use cases themselves make impossible or slow to reach
    /// (a pickup without proof, a code without consent, a month of idling):
    /// for the demo, so the officer's page has something to show, and for
    /// the test that the checks find the demo's breaches. Whole-phone
    /// reveals above the daily count go through the real use case instead
    /// (the audit trail is chained). Never called by `serve`.
    pub async fn plant_breaches(&self, plan: &BreachPlan, now: DateTime<Utc>) -> StoreResult<()> {
        let now_ms = ms(now);
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        let [handed_out, unconsented, overdue] = plan.parcels;
        let statements: Vec<crate::Q<'_>> = vec![
            // Picked up with nothing in the event that shows the proof.
            sqlx::query("UPDATE slot_places SET parcel_id = NULL WHERE parcel_id = $1").bind(handed_out),
            sqlx::query("UPDATE parcels SET state = 'picked_up', slot_id = NULL, pickup_code = NULL, version = version + 1, updated_at = $2 WHERE id = $1")
                .bind(handed_out)
                .bind(now_ms),
            sqlx::query("INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, at, actor, station_id, idempotency_key, details) \
                         VALUES ($1, 'picked_up', 'stored', 'picked_up', $2, 'legacy_import', $3, $4, '{}')")
                .bind(handed_out)
                .bind(now_ms)
                .bind(plan.station_id)
                .bind(format!("planted:{handed_out}:pickup")),
            // On the shelf with a code but no consent.
            sqlx::query("UPDATE parcels SET consent = 0 WHERE id = $1").bind(unconsented),
            // Stored twelve days ago, never reminded.
            sqlx::query("UPDATE parcels SET stored_at = $2, reminders_sent = '' WHERE id = $1")
                .bind(overdue)
                .bind(now_ms - 12 * DAY_MS),
            // Nobody has signed in for 100 days.
            sqlx::query("UPDATE users SET created_at = $2, last_sign_in_at = $2 WHERE id = $1")
                .bind(plan.idle_user_id)
                .bind(now_ms - 100 * DAY_MS),
            // A delivery tried and failing since two days ago.
            sqlx::query("INSERT INTO webhook_deliveries (subscription_id, carrier, delivery_key, event_kind, payload, created_at, status, attempts, next_attempt_at, last_status_code) \
                         SELECT id, carrier, $2, 'test', '{}', $3, 'pending', 5, $4, 503 FROM webhook_subscriptions WHERE id = $1")
                .bind(plan.subscription_id)
                .bind(format!("planted:{}:failing", plan.subscription_id))
                .bind(now_ms - 2 * DAY_MS)
                .bind(now_ms + 3_600_000),
            // The door controller went quiet two hours ago.
            sqlx::query("INSERT INTO device_status (state_topic, station_id, device_kind, device_id, online, changed_at) VALUES ($1, $2, 'door', 'door-1', 0, $3) \
                         ON CONFLICT (state_topic) DO UPDATE SET online = 0, changed_at = excluded.changed_at")
                .bind(format!("yizhan/stations/{}/door/door-1/state", plan.station_id))
                .bind(plan.station_id)
                .bind(now_ms - 2 * 3_600_000),
        ];
        for statement in statements {
            statement.execute(&mut *tx).await.map_err(backend_error)?;
        }
        // A burst of wrong codes at the door terminal in the last hour.
        for i in 0..12 {
            sqlx::query("INSERT INTO code_attempts (station_id, terminal, source, phone_tail, succeeded, at) VALUES ($1, 'door', 'planted', '0000', 0, $2)")
                .bind(plan.station_id)
                .bind(now_ms - 60_000 * (i + 1))
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)
    }
}

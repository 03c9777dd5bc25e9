//! Seeing (issue 16) behind `app::ports::board`: the group robots' outbox
//! (`bot_messages`), the board's counts read straight from the event
//! tables with their indexes (ARCHITECTURE.md, "The board reads the event
//! tables"), and the operators' gauges. Counts only; nothing personal is
//! read.

use crate::rows::{get, time};
use crate::{Backend, Db, DbTx, backend_error, ms};
use app::ports::board::{
    BotAttempt, BotStatus, DeviceChange, DueBotMessage, FeeCount, FlowCount, NewBotMessage,
    OperationsCounts, PoolUse, StationCounts, WebhookCount,
};
use app::ports::{BoardStore, BoardTx, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// Milliseconds in a day, and Shanghai's offset from UTC: a Shanghai day
/// number is `(at + OFFSET) / DAY` in integer arithmetic on both databases.
const DAY_MS: i64 = 86_400_000;
const SHANGHAI_OFFSET_MS: i64 = 8 * 3_600_000;

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn day_of_number(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date") + chrono::Duration::days(n)
}

/// The Shanghai day number of `day` (days since 1970-01-01).
fn day_number(day: NaiveDate) -> i64 {
    (day - NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date")).num_days()
}

impl Db {
    /// Drops every daily aggregate, so the roll-up job starts over (the
    /// benchmark and the tests; a changed aggregate definition).
    pub async fn forget_board_rollups(&self) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        for table in [
            "board_flow_daily",
            "board_station_daily",
            "board_count_daily",
            "board_fee_daily",
            "board_days",
        ] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)
    }
}

/// `$first, $first+1, …` for `n` bound values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl BoardTx for DbTx {
    async fn enqueue_bot_message(
        &mut self,
        message: &NewBotMessage,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let query = sqlx::query(
            "INSERT INTO bot_messages (bot, dedup_key, title, markdown, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(message.bot.clone())
        .bind(message.dedup_key.clone())
        .bind(message.title.clone())
        .bind(message.markdown.clone())
        .bind(ms(now))
        .bind(ms(message.available_at));
        let done = query.execute(&mut *self.tx).await.map_err(backend_error)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl BoardStore for Db {
    async fn due_bot_messages(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DueBotMessage>> {
        let rows = sqlx::query(
            "SELECT id, bot, dedup_key, title, markdown, attempts FROM bot_messages \
             WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(DueBotMessage {
                    id: get(row, "id")?,
                    bot: get(row, "bot")?,
                    dedup_key: get(row, "dedup_key")?,
                    title: get(row, "title")?,
                    markdown: get(row, "markdown")?,
                    attempts: u32::try_from(get::<i64>(row, "attempts")?).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn record_bot_attempt(&self, attempt: &BotAttempt) -> StoreResult<()> {
        let sent_at = (attempt.status == BotStatus::Sent).then(|| ms(attempt.at));
        sqlx::query(
            "UPDATE bot_messages SET status = $1, attempts = $2, last_error = $3, \
             next_attempt_at = $4, sent_at = $5 \
             WHERE id = $6 AND status = 'pending' AND attempts = $7",
        )
        .bind(attempt.status.code())
        .bind(i64::from(attempt.attempt))
        .bind(attempt.error.clone())
        .bind(ms(attempt.next_attempt_at.unwrap_or(attempt.at)))
        .bind(sent_at)
        .bind(attempt.id)
        .bind(i64::from(attempt.attempt.saturating_sub(1)))
        .execute(&self.writer)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn bot_message_status(&self, dedup_key: &str) -> StoreResult<Option<(BotStatus, u32)>> {
        let row = sqlx::query("SELECT status, attempts FROM bot_messages WHERE dedup_key = $1")
            .bind(dedup_key.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(backend_error)?;
        let Some(row) = row else { return Ok(None) };
        let status: String = get(&row, "status")?;
        let status = match status.as_str() {
            "pending" => BotStatus::Pending,
            "sent" => BotStatus::Sent,
            "failed" => BotStatus::Failed,
            other => return Err(crate::rows::corrupt("bot message status", other)),
        };
        let attempts: i64 = get(&row, "attempts")?;
        Ok(Some((status, u32::try_from(attempts).unwrap_or(0))))
    }

    fn pool_use(&self) -> Vec<PoolUse> {
        let of = |name: &'static str, pool: &sqlx::AnyPool| PoolUse {
            pool: name,
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        };
        match self.backend {
            Backend::Sqlite => vec![of("writer", &self.writer), of("reader", &self.reader)],
            // One pool serves both on PostgreSQL.
            Backend::Postgres => vec![of("shared", &self.writer)],
        }
    }

    async fn operations_counts(&self, now: DateTime<Utc>) -> StoreResult<OperationsCounts> {
        let row = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND gave_up = 0) AS outbox_pending, \
             (SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND gave_up = 1) AS outbox_given_up, \
             (SELECT COALESCE(MIN(created_at), $1) FROM outbox WHERE sent_at IS NULL AND gave_up = 0) AS outbox_oldest, \
             (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending') AS webhooks_pending, \
             (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'failed') AS webhooks_failed, \
             (SELECT COALESCE(MIN(created_at), $1) FROM webhook_deliveries WHERE status = 'pending') AS webhooks_oldest, \
             (SELECT COUNT(*) FROM device_commands WHERE status = 'pending') AS commands_pending, \
             (SELECT COUNT(*) FROM device_commands WHERE status = 'expired') AS commands_expired, \
             (SELECT COUNT(*) FROM device_commands WHERE status = 'failed') AS commands_failed, \
             (SELECT COUNT(*) FROM device_status WHERE online = 1) AS devices_online, \
             (SELECT COUNT(*) FROM device_status WHERE online = 0) AS devices_offline, \
             (SELECT COUNT(*) FROM bot_messages WHERE status = 'pending') AS bots_pending, \
             (SELECT COUNT(*) FROM bot_messages WHERE status = 'failed') AS bots_failed, \
             (SELECT COUNT(*) FROM manual_queue WHERE resolved_at IS NULL) AS manual_open",
        )
        .bind(ms(now))
        .fetch_one(&self.reader)
        .await
        .map_err(backend_error)?;
        let n = |column: &str| -> StoreResult<u64> { Ok(count(get::<i64>(&row, column)?)) };
        let age = |column: &str| -> StoreResult<i64> {
            Ok(((ms(now) - get::<i64>(&row, column)?) / 1000).max(0))
        };
        Ok(OperationsCounts {
            outbox_pending: n("outbox_pending")?,
            outbox_given_up: n("outbox_given_up")?,
            outbox_oldest_seconds: age("outbox_oldest")?,
            webhooks_pending: n("webhooks_pending")?,
            webhooks_failed: n("webhooks_failed")?,
            webhooks_oldest_seconds: age("webhooks_oldest")?,
            device_commands_pending: n("commands_pending")?,
            device_commands_expired: n("commands_expired")?,
            device_commands_failed: n("commands_failed")?,
            devices_online: n("devices_online")?,
            devices_offline: n("devices_offline")?,
            bots_pending: n("bots_pending")?,
            bots_failed: n("bots_failed")?,
            manual_queue_open: n("manual_open")?,
        })
    }

    async fn flow_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        kinds: &[&str],
    ) -> StoreResult<Vec<FlowCount>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT (e.at + {SHANGHAI_OFFSET_MS}) / {DAY_MS} AS day_no, e.kind AS kind, p.carrier AS carrier, \
             r.mode AS mode, COUNT(*) AS n \
             FROM parcel_events e JOIN parcels p ON p.id = e.parcel_id \
             LEFT JOIN parcel_routing r ON r.parcel_id = e.parcel_id \
             WHERE e.at >= $1 AND e.at < $2 AND e.kind IN ({}) \
             GROUP BY (e.at + {SHANGHAI_OFFSET_MS}) / {DAY_MS}, e.kind, p.carrier, r.mode",
            placeholders(3, kinds.len())
        );
        let mut query = sqlx::query(&sql).bind(ms(from)).bind(ms(to));
        for kind in kinds {
            query = query.bind(kind.to_string());
        }
        let rows = query.fetch_all(&self.reader).await.map_err(backend_error)?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in &rows {
            counts.push(FlowCount {
                day: day_of_number(get(row, "day_no")?),
                kind: get(row, "kind")?,
                carrier: get(row, "carrier")?,
                mode: get(row, "mode")?,
                n: count(get(row, "n")?),
            });
        }
        counts.sort_by(|a, b| {
            (a.day, &a.kind, &a.carrier, &a.mode).cmp(&(b.day, &b.kind, &b.carrier, &b.mode))
        });
        Ok(counts)
    }

    async fn manual_queue_age(&self) -> StoreResult<(u64, Option<DateTime<Utc>>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM manual_queue WHERE resolved_at IS NULL",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(backend_error)?;
        let oldest: Option<i64> = get(&row, "oldest")?;
        Ok((count(get(&row, "n")?), oldest.map(time).transpose()?))
    }

    async fn dwell_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bounds_hours: &[i64],
    ) -> StoreResult<Vec<u64>> {
        // The bucket index as a CASE over the bounds: the database counts,
        // nothing but the counts travel.
        let mut case = String::from("CASE");
        for (idx, hours) in bounds_hours.iter().enumerate() {
            case.push_str(&format!(
                " WHEN e.at - p.stored_at < {} THEN {idx}",
                hours * 3_600_000
            ));
        }
        case.push_str(&format!(" ELSE {} END", bounds_hours.len()));
        let sql = format!(
            "SELECT {case} AS bucket, COUNT(*) AS n FROM parcel_events e JOIN parcels p ON p.id = e.parcel_id \
             WHERE e.kind = 'picked_up' AND e.at >= $1 AND e.at < $2 AND p.stored_at IS NOT NULL \
             GROUP BY {case}"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(from))
            .bind(ms(to))
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
        let mut buckets = vec![0u64; bounds_hours.len() + 1];
        for row in &rows {
            let bucket: i64 = get(row, "bucket")?;
            if let Some(slot) = usize::try_from(bucket)
                .ok()
                .and_then(|b| buckets.get_mut(b))
            {
                *slot = count(get(row, "n")?);
            }
        }
        Ok(buckets)
    }

    async fn messages_written(
        &self,
        template: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM outbox WHERE template = $1 AND created_at >= $2 AND created_at < $3",
        )
        .bind(template.to_string())
        .bind(ms(from))
        .bind(ms(to))
        .fetch_one(&self.reader)
        .await
        .map_err(backend_error)?;
        Ok(count(get(&row, "n")?))
    }

    async fn station_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<StationCounts>> {
        let mut by_station: BTreeMap<i64, StationCounts> = BTreeMap::new();
        let stations = sqlx::query("SELECT id FROM stations ORDER BY id")
            .fetch_all(&self.reader)
            .await
            .map_err(backend_error)?;
        for row in &stations {
            let id: i64 = get(row, "id")?;
            by_station.insert(
                id,
                StationCounts {
                    station_id: id,
                    ..StationCounts::default()
                },
            );
        }
        // A self-service pickup is the recipient's checkout at the
        // terminal: the event's actor is the station's terminal (or its
        // checkout scanner), never a person of staff.
        let events = sqlx::query(
            "SELECT station_id, \
             CAST(SUM(CASE WHEN kind IN ('stored', 'awaiting_consent') THEN 1 ELSE 0 END) AS BIGINT) AS n_in, \
             CAST(SUM(CASE WHEN kind = 'picked_up' THEN 1 ELSE 0 END) AS BIGINT) AS n_out, \
             CAST(SUM(CASE WHEN kind = 'picked_up' AND actor LIKE 'station_terminal:%' THEN 1 ELSE 0 END) AS BIGINT) AS n_self \
             FROM parcel_events WHERE at >= $1 AND at < $2 AND station_id IS NOT NULL \
             AND kind IN ('stored', 'awaiting_consent', 'picked_up') GROUP BY station_id",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        for row in &events {
            let id: i64 = get(row, "station_id")?;
            if let Some(counts) = by_station.get_mut(&id) {
                counts.n_in = count(get(row, "n_in")?);
                counts.n_picked_up = count(get(row, "n_out")?);
                counts.n_self_service = count(get(row, "n_self")?);
            }
        }
        let overdue = sqlx::query(&format!(
            "SELECT p.station_id AS station_id, COUNT(*) AS n FROM parcels p JOIN stations s ON s.id = p.station_id \
             WHERE p.state = 'stored' AND p.stored_at + s.holding_days * {DAY_MS} < $1 GROUP BY p.station_id"
        ))
        .bind(ms(now))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        for row in &overdue {
            let id: i64 = get(row, "station_id")?;
            if let Some(counts) = by_station.get_mut(&id) {
                counts.n_past_holding = count(get(row, "n")?);
            }
        }
        let devices = sqlx::query(
            "SELECT d.station_id AS station_id, COUNT(*) AS total, \
             CAST(SUM(CASE WHEN s.online = 1 THEN 1 ELSE 0 END) AS BIGINT) AS online \
             FROM devices d LEFT JOIN device_status s ON s.station_id = d.station_id \
             AND s.device_kind = d.kind AND s.device_id = d.device_id \
             WHERE d.retired_at IS NULL GROUP BY d.station_id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        for row in &devices {
            let id: i64 = get(row, "station_id")?;
            if let Some(counts) = by_station.get_mut(&id) {
                counts.devices_total = count(get(row, "total")?);
                counts.devices_online = count(get::<Option<i64>>(row, "online")?.unwrap_or(0));
            }
        }
        Ok(by_station.into_values().collect())
    }

    async fn device_changes(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<DeviceChange>> {
        let rows = sqlx::query(
            "SELECT c.state_topic, c.station_id, c.online, c.at FROM device_status_changes c \
             JOIN (SELECT state_topic, MAX(at) AS at FROM device_status_changes WHERE at < $1 GROUP BY state_topic) last \
             ON last.state_topic = c.state_topic AND last.at = c.at \
             UNION ALL \
             SELECT state_topic, station_id, online, at FROM device_status_changes WHERE at >= $1 AND at < $2 \
             ORDER BY 1, 4",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(DeviceChange {
                    state_topic: get(row, "state_topic")?,
                    station_id: get(row, "station_id")?,
                    online: get::<i64>(row, "online")? != 0,
                    at: time(get(row, "at")?)?,
                })
            })
            .collect()
    }

    async fn fee_counts(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<FeeCount>> {
        let rows = sqlx::query(
            "SELECT carrier, mode, COUNT(*) AS n, CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS fen \
             FROM fee_ledger WHERE day >= $1 AND day <= $2 GROUP BY carrier, mode ORDER BY carrier, mode",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(fee_count_from).collect()
    }

    async fn webhook_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<WebhookCount>> {
        let rows = sqlx::query(
            "SELECT carrier, status, COUNT(*) AS n FROM webhook_deliveries \
             WHERE created_at >= $1 AND created_at < $2 GROUP BY carrier, status ORDER BY carrier, status",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(WebhookCount {
                    carrier: get(row, "carrier")?,
                    status: get(row, "status")?,
                    n: count(get(row, "n")?),
                })
            })
            .collect()
    }

    async fn rolled_days(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<NaiveDate>> {
        let rows = sqlx::query(
            "SELECT day_no FROM board_days WHERE day_no >= $1 AND day_no <= $2 ORDER BY day_no",
        )
        .bind(day_number(from))
        .bind(day_number(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| Ok(day_of_number(get(row, "day_no")?)))
            .collect()
    }

    async fn rolled_flow(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<FlowCount>> {
        let rows = sqlx::query(
            "SELECT kind, carrier, mode, CAST(SUM(n) AS BIGINT) AS n FROM board_flow_daily \
             WHERE day_no >= $1 AND day_no <= $2 GROUP BY kind, carrier, mode",
        )
        .bind(day_number(from))
        .bind(day_number(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in &rows {
            let mode: String = get(row, "mode")?;
            counts.push(FlowCount {
                day: from,
                kind: get(row, "kind")?,
                carrier: get(row, "carrier")?,
                mode: (!mode.is_empty()).then_some(mode),
                n: count(get(row, "n")?),
            });
        }
        Ok(counts)
    }

    async fn rolled_flow_by_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, String, u64)>> {
        let rows = sqlx::query(
            "SELECT day_no, kind, CAST(SUM(n) AS BIGINT) AS n FROM board_flow_daily \
             WHERE day_no >= $1 AND day_no <= $2 GROUP BY day_no, kind",
        )
        .bind(day_number(from))
        .bind(day_number(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok((
                    day_of_number(get(row, "day_no")?),
                    get(row, "kind")?,
                    count(get(row, "n")?),
                ))
            })
            .collect()
    }

    async fn rolled_stations(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<StationCounts>> {
        let rows = sqlx::query(
            "SELECT station_id, CAST(SUM(n_in) AS BIGINT) AS n_in, \
             CAST(SUM(n_picked_up) AS BIGINT) AS n_out, CAST(SUM(n_self) AS BIGINT) AS n_self \
             FROM board_station_daily WHERE day_no >= $1 AND day_no <= $2 \
             GROUP BY station_id ORDER BY station_id",
        )
        .bind(day_number(from))
        .bind(day_number(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(StationCounts {
                    station_id: get(row, "station_id")?,
                    n_in: count(get(row, "n_in")?),
                    n_picked_up: count(get(row, "n_out")?),
                    n_self_service: count(get(row, "n_self")?),
                    ..StationCounts::default()
                })
            })
            .collect()
    }

    async fn rolled_counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<BTreeMap<String, u64>> {
        let rows = sqlx::query(
            "SELECT metric, CAST(SUM(n) AS BIGINT) AS n FROM board_count_daily \
             WHERE day_no >= $1 AND day_no <= $2 GROUP BY metric",
        )
        .bind(day_number(from))
        .bind(day_number(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| Ok((get(row, "metric")?, count(get(row, "n")?))))
            .collect()
    }

    async fn rolled_fees(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<FeeCount>> {
        let rows = sqlx::query(
            "SELECT carrier, mode, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(fen) AS BIGINT) AS fen \
             FROM board_fee_daily WHERE day_no >= $1 AND day_no <= $2 \
             GROUP BY carrier, mode ORDER BY carrier, mode",
        )
        .bind(day_number(from))
        .bind(day_number(to))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(fee_count_from).collect()
    }

    async fn roll_up_day(
        &self,
        day: NaiveDate,
        kinds: &[&str],
        bounds_hours: &[i64],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let day_no = day_number(day);
        let rolled: Option<i64> =
            sqlx::query_scalar("SELECT day_no FROM board_days WHERE day_no = $1")
                .bind(day_no)
                .fetch_optional(&self.reader)
                .await
                .map_err(backend_error)?;
        if rolled.is_some() {
            return Ok(false);
        }
        // Counted on the reader pool with the very queries the board runs
        // over a day not rolled up (so the sums equal a recount,
        // tests/board.rs), and only the small result written: on SQLite the
        // one writer is held for a few inserts, not for the counting, so
        // inbound scans do not wait behind a day's roll-up. A closed day's
        // events do not change, so reading before the write loses nothing.
        let start = DateTime::from_timestamp_millis(day_no * DAY_MS - SHANGHAI_OFFSET_MS)
            .ok_or_else(|| StoreError::Backend(format!("day {day} out of range")))?;
        let end = start + chrono::Duration::milliseconds(DAY_MS);
        let flow = self.flow_counts(start, end, kinds).await?;
        let stations: Vec<StationCounts> = self
            .station_counts(start, end, now)
            .await?
            .into_iter()
            .filter(|s| s.n_in + s.n_picked_up + s.n_self_service > 0)
            .collect();
        let mut counts: Vec<(String, u64)> = self
            .dwell_counts(start, end, bounds_hours)
            .await?
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(idx, n)| {
                let bound = bounds_hours
                    .get(idx)
                    .map_or(String::new(), |hours| hours.to_string());
                (format!("dwell:{bound}"), n)
            })
            .collect();
        let messages = sqlx::query(
            "SELECT template, COUNT(*) AS n FROM outbox \
             WHERE template IS NOT NULL AND created_at >= $1 AND created_at < $2 GROUP BY template",
        )
        .bind(ms(start))
        .bind(ms(end))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        for row in &messages {
            let template: String = get(row, "template")?;
            counts.push((format!("message:{template}"), count(get(row, "n")?)));
        }
        let fees = self.fee_counts(day, day).await?;

        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        // The day's row first: a second roll-up of the same day (two
        // servers, or a job overlapping itself) writes nothing.
        let claimed = sqlx::query(
            "INSERT INTO board_days (day_no, rolled_at) VALUES ($1, $2) ON CONFLICT (day_no) DO NOTHING",
        )
        .bind(day_no)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        if claimed.rows_affected() == 0 {
            tx.rollback().await.map_err(backend_error)?;
            return Ok(false);
        }
        let n = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        let backend = self.backend;
        crate::insert_rows(
            &mut tx,
            backend,
            "board_flow_daily (day_no, kind, carrier, mode, n)",
            5,
            &flow,
            |q, row| {
                q.bind(day_no)
                    .bind(row.kind.clone())
                    .bind(row.carrier.clone())
                    .bind(row.mode.clone().unwrap_or_default())
                    .bind(n(row.n))
            },
        )
        .await?;
        crate::insert_rows(
            &mut tx,
            backend,
            "board_station_daily (day_no, station_id, n_in, n_picked_up, n_self)",
            5,
            &stations,
            |q, row| {
                q.bind(day_no)
                    .bind(row.station_id)
                    .bind(n(row.n_in))
                    .bind(n(row.n_picked_up))
                    .bind(n(row.n_self_service))
            },
        )
        .await?;
        crate::insert_rows(
            &mut tx,
            backend,
            "board_count_daily (day_no, metric, n)",
            3,
            &counts,
            |q, (metric, value)| q.bind(day_no).bind(metric.clone()).bind(n(*value)),
        )
        .await?;
        crate::insert_rows(
            &mut tx,
            backend,
            "board_fee_daily (day_no, carrier, mode, n, fen)",
            5,
            &fees,
            |q, row| {
                q.bind(day_no)
                    .bind(row.carrier.clone())
                    .bind(row.mode.clone())
                    .bind(n(row.n))
                    .bind(row.fen)
            },
        )
        .await?;
        tx.commit().await.map_err(backend_error)?;
        Ok(true)
    }

    async fn first_event_day(&self) -> StoreResult<Option<NaiveDate>> {
        // Events are written in time order, so the first by id is the
        // earliest (to the second), and the primary key finds it at once.
        let at: Option<i64> =
            sqlx::query_scalar("SELECT at FROM parcel_events ORDER BY id LIMIT 1")
                .fetch_optional(&self.reader)
                .await
                .map_err(backend_error)?;
        Ok(at.map(|at| day_of_number((at + SHANGHAI_OFFSET_MS).div_euclid(DAY_MS))))
    }
}

/// A row of `carrier, mode, n, fen`: the fees counted live and summed from
/// the daily aggregates read the same.
fn fee_count_from(row: &sqlx::any::AnyRow) -> StoreResult<FeeCount> {
    Ok(FeeCount {
        carrier: get(row, "carrier")?,
        mode: get(row, "mode")?,
        n: count(get(row, "n")?),
        fen: get(row, "fen")?,
    })
}

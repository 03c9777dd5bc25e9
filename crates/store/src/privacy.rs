//! Sealing, erasure and pruning behind `app::ports::PrivacyStore`
//! (issue 12). Every call works on a bounded batch in its own transaction
//! and picks its rows by what they hold (plain text, an older key id, an
//! age), so a crash between batches loses nothing and the next call goes
//! on where the last one stopped.

use crate::rows::*;
use crate::{Db, backend_error, ms};
use app::keys::SEALED_PREFIX;
use app::ports::{PrivacyStore, PruneKind, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::Phone;
use sqlx::Row;

/// A plain phone from an older row, checked: a value the domain would not
/// accept is a fault, reported without the value.
fn phone_of(text: &str) -> StoreResult<Phone> {
    Phone::parse(text).map_err(|_| corrupt("phone", "(hidden)"))
}

impl Db {
    /// Parcels whose name, phone or address is plain or under an older key.
    async fn seal_parcels(&self, limit: u32) -> StoreResult<u64> {
        let current = format!("{SEALED_PREFIX}{}:%", self.keys.current_id());
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        let rows = sqlx::query(
            "SELECT id, version, recipient_name, phone, address FROM parcels \
             WHERE (phone IS NOT NULL AND phone NOT LIKE $1) \
                OR (recipient_name IS NOT NULL AND recipient_name NOT LIKE $1) \
                OR (address IS NOT NULL AND address NOT LIKE $1) \
             ORDER BY id LIMIT $2",
        )
        .bind(current)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?;
        let mut changed = 0;
        for row in &rows {
            let id: i64 = get(row, "id")?;
            let version: i64 = get(row, "version")?;
            let name = open(&self.keys, SEALED_NAME, get(row, "recipient_name")?)?;
            let phone = open(&self.keys, SEALED_PHONE, get(row, "phone")?)?
                .map(|p| phone_of(&p))
                .transpose()?;
            let address = open(&self.keys, SEALED_ADDRESS, get(row, "address")?)?;
            let sealed = seal_recipient(
                &self.keys,
                name.as_deref(),
                phone.as_ref(),
                address.as_deref(),
            );
            // The version is checked, not moved: a transition that wrote
            // this parcel meanwhile wrote sealed values itself and wins.
            changed += sqlx::query(
                "UPDATE parcels SET recipient_name = $1, phone = $2, phone_tail = $3, phone_hash = $4, address = $5 \
                 WHERE id = $6 AND version = $7",
            )
            .bind(sealed.name)
            .bind(sealed.phone)
            .bind(sealed.phone_tail)
            .bind(sealed.phone_hash)
            .bind(sealed.address)
            .bind(id)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?
            .rows_affected();
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(changed.max(rows.len() as u64))
    }

    /// Standing consents keyed by a plain number become keyed by its hash
    /// (a hash is 43 characters of base64; a number is shorter).
    async fn hash_consents(&self, limit: u32) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        let rows = sqlx::query(
            "SELECT phone, station_ok, source, recorded_at FROM consents WHERE length(phone) <> 43 LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?;
        for row in &rows {
            let plain: String = get(row, "phone")?;
            let phone = phone_of(&plain)?;
            sqlx::query(
                "INSERT INTO consents (phone, station_ok, source, recorded_at) VALUES ($1, $2, $3, $4) ON CONFLICT (phone) DO NOTHING",
            )
            .bind(self.keys.phone_hash(&phone))
            .bind(get::<i64>(row, "station_ok")?)
            .bind(get::<String>(row, "source")?)
            .bind(get::<i64>(row, "recorded_at")?)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
            sqlx::query("DELETE FROM consents WHERE phone = $1")
                .bind(plain)
                .execute(&mut *tx)
                .await
                .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(rows.len() as u64)
    }

    /// Outbox rows: a sent row's body is emptied; a waiting one is sealed
    /// under the current key and its merge key hashed.
    async fn seal_outbox(&self, limit: u32) -> StoreResult<u64> {
        let current = format!("{SEALED_PREFIX}{}:%", self.keys.current_id());
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        let rows = sqlx::query(
            "SELECT id, payload, merge_key, sent_at, gave_up FROM outbox \
             WHERE payload <> '' AND (payload NOT LIKE $1 OR sent_at IS NOT NULL OR gave_up = 1) \
             ORDER BY id LIMIT $2",
        )
        .bind(current)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?;
        for row in &rows {
            let id: i64 = get(row, "id")?;
            let stored: String = get(row, "payload")?;
            let plain = self
                .keys
                .open(SEALED_OUTBOX, &stored)
                .map_err(|error| StoreError::Backend(error.to_string()))?;
            let template = serde_json::from_str::<serde_json::Value>(&plain)
                .ok()
                .and_then(|v| v.get("template").and_then(|t| t.as_str()).map(String::from));
            let done =
                get::<Option<i64>>(row, "sent_at")?.is_some() || get::<i64>(row, "gave_up")? != 0;
            let payload = if done {
                String::new()
            } else {
                self.keys.seal(SEALED_OUTBOX, &plain)
            };
            // A hashed merge key is base64url; an older plain one holds a
            // colon.
            let merge_key = get::<Option<String>>(row, "merge_key")?.map(|key| {
                if key.contains(':') {
                    self.keys.lookup_hash("merge", &key)
                } else {
                    key
                }
            });
            sqlx::query(
                "UPDATE outbox SET payload = $1, merge_key = $2, template = COALESCE(template, $3) WHERE id = $4",
            )
            .bind(payload)
            .bind(merge_key)
            .bind(template)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(rows.len() as u64)
    }

    /// A single sealed column of a small table (contractors' phones,
    /// webhook secrets): plain or older-key values are sealed again.
    async fn seal_column(
        &self,
        table: &str,
        key_column: &str,
        column: &str,
        sealed_as: &str,
        limit: u32,
    ) -> StoreResult<u64> {
        let current = format!("{SEALED_PREFIX}{}:%", self.keys.current_id());
        let mut tx = self.writer.begin().await.map_err(backend_error)?;
        // Table and column names are this module's constants, never input.
        let rows = sqlx::query(&format!(
            "SELECT {key_column} AS k, {column} AS v FROM {table} WHERE {column} IS NOT NULL AND {column} NOT LIKE $1 LIMIT $2"
        ))
        .bind(current)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend_error)?;
        for row in &rows {
            let stored: String = get(row, "v")?;
            let plain = self
                .keys
                .open(sealed_as, &stored)
                .map_err(|error| StoreError::Backend(error.to_string()))?;
            sqlx::query(&format!(
                "UPDATE {table} SET {column} = $1 WHERE {key_column} = $2"
            ))
            .bind(self.keys.seal(sealed_as, &plain))
            .bind(row.try_get::<i64, _>("k").map_err(backend_error)?)
            .execute(&mut *tx)
            .await
            .map_err(backend_error)?;
        }
        tx.commit().await.map_err(backend_error)?;
        Ok(rows.len() as u64)
    }
}

#[async_trait]
impl PrivacyStore for Db {
    async fn seal_batch(&self, limit: u32) -> StoreResult<u64> {
        let mut changed = self.seal_parcels(limit).await?;
        changed += self.hash_consents(limit).await?;
        changed += self.seal_outbox(limit).await?;
        changed += self
            .seal_column("contractors", "id", "phone", SEALED_CONTRACTOR_PHONE, limit)
            .await?;
        changed += self
            .seal_column(
                "stations",
                "id",
                "contact_phone",
                SEALED_CONTACT_PHONE,
                limit,
            )
            .await?;
        // Sending (issue 14): senders, their address books and orders.
        for (table, column, sealed_as) in crate::sending::SEALED_COLUMNS {
            changed += self
                .seal_column(table, "id", column, sealed_as, limit)
                .await?;
        }
        // Pre-sale (issue 14, branch presale): home deliveries' buyers.
        for (table, column, sealed_as) in crate::presale::SEALED_COLUMNS {
            changed += self
                .seal_column(table, "id", column, sealed_as, limit)
                .await?;
        }
        for column in ["secret", "previous_secret"] {
            changed += self
                .seal_column(
                    "webhook_subscriptions",
                    "id",
                    column,
                    SEALED_WEBHOOK_SECRET,
                    limit,
                )
                .await?;
        }
        Ok(changed)
    }

    async fn erase_parcels_left_before(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        // A picked-up or returned parcel changes no more, so its last
        // change is when it left the station.
        Ok(sqlx::query(
            "UPDATE parcels SET recipient_name = NULL, phone = NULL, phone_tail = NULL, phone_hash = NULL, address = NULL, pickup_code = NULL \
             WHERE id IN (SELECT id FROM parcels WHERE state IN ('picked_up', 'returned') AND updated_at < $1 \
               AND (recipient_name IS NOT NULL OR phone IS NOT NULL OR address IS NOT NULL OR pickup_code IS NOT NULL) \
               ORDER BY id LIMIT $2)",
        )
        .bind(ms(before))
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await
        .map_err(backend_error)?
        .rows_affected())
    }

    async fn prune(&self, kind: PruneKind, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        let (table, condition) = match kind {
            PruneKind::CodeAttempts => ("code_attempts", "at < $1"),
            PruneKind::DeviceCommands => (
                "device_commands",
                "status <> 'pending' AND COALESCE(finished_at, not_after) < $1",
            ),
            PruneKind::PickupSessions => ("pickup_sessions", "state <> 'open' AND ended_at < $1"),
            PruneKind::ExpiredTokens => ("api_tokens", "expires_at < $1"),
            PruneKind::SentMessages => (
                "outbox",
                "((sent_at IS NOT NULL AND sent_at < $1) OR (gave_up = 1 AND available_at < $1))",
            ),
            PruneKind::IdempotencyKeys => ("idempotency_keys", "created_at < $1"),
            PruneKind::SendCodes => ("send_codes", "expires_at < $1"),
            PruneKind::SenderSessions => ("sender_sessions", "expires_at < $1"),
            PruneKind::SendAddresses => ("send_addresses", "last_used_at < $1"),
            PruneKind::SendPhotos => (
                "send_photos",
                "order_id IN (SELECT id FROM send_orders \
                 WHERE state IN ('collected', 'cancelled') AND updated_at < $1)",
            ),
        };
        Ok(sqlx::query(&format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {condition} ORDER BY id LIMIT $2)"
        ))
        .bind(ms(before))
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await
        .map_err(backend_error)?
        .rows_affected())
    }
}

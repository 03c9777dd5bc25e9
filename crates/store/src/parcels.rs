//! Stations, slots, parcels and their events, and standing consent: the
//! spine's tables behind `app::ports::{ParcelTx, ParcelStore}`.

use crate::rows::*;
use crate::{BULK_ROWS, Backend, Db, DbTx, backend_error, by_id, ms, values_list};
use app::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::station::SizeClass;
use domain::{Carrier, ParcelState, Phone, WaybillNo};
use sqlx::Row;

#[async_trait]
impl ParcelTx for DbTx {
    async fn station(&mut self, id: i64) -> StoreResult<Option<StationRecord>> {
        by_id(&mut *self.tx, STATION_COLUMNS, "stations", id, station_from).await
    }

    async fn parcel(&mut self, id: i64) -> StoreResult<Option<ParcelRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {PARCEL_COLUMNS} FROM parcels WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        row.map(|row| parcel_from(&self.keys, &row)).transpose()
    }

    async fn parcel_by_waybill(
        &mut self,
        carrier: Carrier,
        waybill: &WaybillNo,
    ) -> StoreResult<Option<ParcelRecord>> {
        let sql =
            format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE carrier = $1 AND waybill = $2");
        let query = sqlx::query(&sql)
            .bind(carrier.code())
            .bind(waybill.as_str());
        self.optional(query)
            .await?
            .map(|row| parcel_from(&self.keys, &row))
            .transpose()
    }

    async fn parcels_with_waybill(
        &mut self,
        waybill: &WaybillNo,
    ) -> StoreResult<Vec<ParcelRecord>> {
        let sql =
            format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE waybill = $1 ORDER BY id LIMIT 20");
        let rows = sqlx::query(&sql)
            .bind(waybill.as_str())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend_error)?;
        rows.iter()
            .map(|row| parcel_from(&self.keys, row))
            .collect()
    }

    async fn insert_parcel(
        &mut self,
        parcel: &NewParcel,
        now: DateTime<Utc>,
    ) -> StoreResult<ParcelRecord> {
        let sealed = seal_recipient(
            &self.keys,
            parcel.recipient_name.as_deref(),
            parcel.phone.as_ref(),
            parcel.address.as_deref(),
        );
        let query = sqlx::query(
            "INSERT INTO parcels (carrier, waybill, state, recipient_name, phone, phone_tail, address, size, consent, station_id, created_at, updated_at, weight_grams, phone_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13) RETURNING id",
        )
        .bind(parcel.carrier.code())
        .bind(parcel.waybill.as_str())
        .bind(parcel.state.code())
        .bind(sealed.name)
        .bind(sealed.phone)
        .bind(sealed.phone_tail)
        .bind(sealed.address)
        .bind(parcel.size.code())
        .bind(i64::from(parcel.consent))
        .bind(parcel.station_id)
        .bind(ms(now))
        .bind(parcel.weight_grams.map(i64::from))
        .bind(sealed.phone_hash);
        let row = self
            .optional(query)
            .await?
            .ok_or_else(|| StoreError::Backend("insert returned no id".into()))?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        Ok(ParcelRecord {
            id,
            carrier: parcel.carrier,
            waybill: parcel.waybill.clone(),
            state: parcel.state,
            problem: None,
            recipient_name: parcel.recipient_name.clone(),
            phone: parcel.phone.clone(),
            address: parcel.address.clone(),
            size: parcel.size,
            weight_grams: parcel.weight_grams,
            consent: parcel.consent,
            station_id: parcel.station_id,
            slot_id: None,
            pickup_code: None,
            stored_at: None,
            reminders_sent: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 0,
        })
    }

    async fn insert_new_parcels(
        &mut self,
        parcels: &[NewParcel],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ParcelRecord>> {
        let mut inserted = Vec::with_capacity(parcels.len());
        for chunk in parcels.chunks(BULK_ROWS) {
            // SQLite gets no RETURNING: sqlx's SQLite worker hands rows back
            // through a channel of 50, one thread switch per few rows, which
            // cost a third of an import. The new rows are read back as one
            // aggregated row instead (see `new_parcel_keys`).
            let returning = match self.backend {
                Backend::Sqlite => "",
                Backend::Postgres => " RETURNING id, carrier, waybill",
            };
            let sql = format!(
                "INSERT INTO parcels (carrier, waybill, state, recipient_name, phone, phone_tail, address, size, consent, station_id, weight_grams, created_at, updated_at, phone_hash) VALUES {} \
                 ON CONFLICT (carrier, waybill) DO NOTHING{returning}",
                values_list(self.backend, chunk.len(), 14)
            );
            let mut query = sqlx::query(&sql);
            for parcel in chunk {
                let sealed = seal_recipient(
                    &self.keys,
                    parcel.recipient_name.as_deref(),
                    parcel.phone.as_ref(),
                    parcel.address.as_deref(),
                );
                query = query
                    .bind(parcel.carrier.code())
                    .bind(parcel.waybill.as_str())
                    .bind(parcel.state.code())
                    .bind(sealed.name)
                    .bind(sealed.phone)
                    .bind(sealed.phone_tail)
                    .bind(sealed.address)
                    .bind(parcel.size.code())
                    .bind(i64::from(parcel.consent))
                    .bind(parcel.station_id)
                    .bind(parcel.weight_grams.map(i64::from))
                    .bind(ms(now))
                    .bind(ms(now))
                    .bind(sealed.phone_hash);
            }
            let keys: Vec<(i64, String, String)> = match self.backend {
                Backend::Sqlite => {
                    let before = self.max_parcel_id().await?;
                    let n_inserted = self.execute(query).await?;
                    self.new_parcel_keys(before, n_inserted).await?
                }
                Backend::Postgres => query
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(|row| {
                        Ok((
                            row.try_get(0).map_err(backend_error)?,
                            row.try_get(1).map_err(backend_error)?,
                            row.try_get(2).map_err(backend_error)?,
                        ))
                    })
                    .collect::<StoreResult<_>>()?,
            };
            // Map the returned keys back to the rows sent. A waybill repeated
            // within the slice is inserted once; the first occurrence wins, as
            // a row-by-row import would have it.
            let mut by_key: std::collections::HashMap<(&str, &str), &NewParcel> =
                std::collections::HashMap::with_capacity(chunk.len());
            for parcel in chunk {
                by_key
                    .entry((parcel.carrier.code(), parcel.waybill.as_str()))
                    .or_insert(parcel);
            }
            for (id, carrier, waybill) in keys {
                let parcel = by_key
                    .get(&(carrier.as_str(), waybill.as_str()))
                    .ok_or_else(|| {
                        StoreError::Backend(format!("insert returned an unknown waybill {waybill}"))
                    })?;
                inserted.push(ParcelRecord {
                    id,
                    carrier: parcel.carrier,
                    waybill: parcel.waybill.clone(),
                    state: parcel.state,
                    problem: None,
                    recipient_name: parcel.recipient_name.clone(),
                    phone: parcel.phone.clone(),
                    address: parcel.address.clone(),
                    size: parcel.size,
                    consent: parcel.consent,
                    station_id: parcel.station_id,
                    weight_grams: parcel.weight_grams,
                    slot_id: None,
                    pickup_code: None,
                    stored_at: None,
                    reminders_sent: Vec::new(),
                    created_at: now,
                    updated_at: now,
                    version: 0,
                });
            }
        }
        Ok(inserted)
    }

    async fn insert_events(&mut self, events: &[NewEvent]) -> StoreResult<u64> {
        let mut n_inserted = 0;
        for chunk in events.chunks(BULK_ROWS) {
            let sql = format!(
                "INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, at, actor, station_id, idempotency_key, details) VALUES {} \
                 ON CONFLICT (idempotency_key) DO NOTHING",
                values_list(self.backend, chunk.len(), 9)
            );
            let mut query = sqlx::query(&sql);
            for event in chunk {
                query = query
                    .bind(event.parcel_id)
                    .bind(event.kind.as_str())
                    .bind(event.from_state.map(|s| s.code()))
                    .bind(event.to_state.code())
                    .bind(ms(event.at))
                    .bind(event.actor.as_str())
                    .bind(event.station_id)
                    .bind(event.idempotency_key.as_str())
                    .bind(event.details.to_string());
            }
            n_inserted += self.execute(query).await?;
        }
        Ok(n_inserted)
    }

    async fn update_parcel(&mut self, parcel: &ParcelRecord) -> StoreResult<()> {
        // The address is not rewritten: no transition changes it, and
        // sealing it again would cost a random nonce and a cipher pass.
        let sealed = seal_recipient(
            &self.keys,
            parcel.recipient_name.as_deref(),
            parcel.phone.as_ref(),
            None,
        );
        let query = sqlx::query(
            "UPDATE parcels SET state = $1, problem = $2, recipient_name = $3, phone = $4, phone_tail = $5, consent = $6, station_id = $7, \
             slot_id = $8, pickup_code = $9, stored_at = $10, reminders_sent = $11, updated_at = $12, weight_grams = $15, phone_hash = $16, version = version + 1 \
             WHERE id = $13 AND version = $14",
        )
        .bind(parcel.state.code())
        .bind(parcel.problem.map(problem_code))
        .bind(sealed.name)
        .bind(sealed.phone)
        .bind(sealed.phone_tail)
        .bind(i64::from(parcel.consent))
        .bind(parcel.station_id)
        .bind(parcel.slot_id)
        .bind(parcel.pickup_code.clone())
        .bind(parcel.stored_at.map(ms))
        .bind(join_days(&parcel.reminders_sent))
        .bind(ms(parcel.updated_at))
        .bind(parcel.id)
        .bind(parcel.version)
        .bind(parcel.weight_grams.map(i64::from))
        .bind(sealed.phone_hash);
        match self.execute(query).await? {
            1 => Ok(()),
            _ => Err(StoreError::Conflict(format!(
                "parcel {} version {}",
                parcel.id, parcel.version
            ))),
        }
    }

    async fn lock_station(&mut self, station_id: i64) -> StoreResult<()> {
        // SQLite has one writer connection, so the transaction is already
        // alone; PostgreSQL takes the station's row lock.
        if self.backend == Backend::Postgres {
            self.optional(
                sqlx::query("SELECT id FROM stations WHERE id = $1 FOR UPDATE").bind(station_id),
            )
            .await?;
        }
        Ok(())
    }

    async fn code_active(&mut self, station_id: i64, code: &str) -> StoreResult<bool> {
        let row = self
            .optional(sqlx::query("SELECT id FROM parcels WHERE station_id = $1 AND pickup_code = $2 AND state = 'stored' LIMIT 1").bind(station_id).bind(code.to_string()))
            .await?;
        Ok(row.is_some())
    }

    async fn free_place(
        &mut self,
        station_id: i64,
        sizes: &[SizeClass],
    ) -> StoreResult<Option<(SlotRecord, u32)>> {
        for size in sizes {
            let sql = format!(
                "SELECT {SLOT_COLUMNS_S}, sp.place FROM slot_places sp JOIN slots s ON s.id = sp.slot_id \
                 WHERE sp.station_id = $1 AND sp.size = $2 AND sp.parcel_id IS NULL ORDER BY sp.slot_id, sp.place LIMIT 1"
            );
            let query = sqlx::query(&sql).bind(station_id).bind(size.code());
            if let Some(row) = self.optional(query).await? {
                let place: i64 = row.try_get("place").map_err(backend_error)?;
                return Ok(Some((slot_from(&row)?, place as u32)));
            }
        }
        Ok(None)
    }

    async fn occupy(&mut self, slot_id: i64, place: u32, parcel_id: i64) -> StoreResult<()> {
        let query = sqlx::query("UPDATE slot_places SET parcel_id = $1 WHERE slot_id = $2 AND place = $3 AND parcel_id IS NULL")
            .bind(parcel_id)
            .bind(slot_id)
            .bind(i64::from(place));
        match self.execute(query).await? {
            1 => Ok(()),
            _ => Err(StoreError::Conflict(format!(
                "slot {slot_id} place {place} is taken"
            ))),
        }
    }

    async fn free_place_in(&mut self, slot_id: i64) -> StoreResult<Option<u32>> {
        let row = self
            .optional(sqlx::query("SELECT place FROM slot_places WHERE slot_id = $1 AND parcel_id IS NULL ORDER BY place LIMIT 1").bind(slot_id))
            .await?;
        row.map(|row| {
            row.try_get::<i64, _>(0)
                .map(|place| place as u32)
                .map_err(backend_error)
        })
        .transpose()
    }

    async fn rewrite_announced(&mut self, parcel: &ParcelRecord) -> StoreResult<()> {
        let sealed = seal_recipient(&self.keys, None, None, parcel.address.as_deref());
        self.execute(
            sqlx::query("UPDATE parcels SET address = $1, size = $2 WHERE id = $3")
                .bind(sealed.address)
                .bind(parcel.size.code())
                .bind(parcel.id),
        )
        .await?;
        Ok(())
    }

    async fn release_place(&mut self, parcel_id: i64) -> StoreResult<()> {
        self.execute(
            sqlx::query("UPDATE slot_places SET parcel_id = NULL WHERE parcel_id = $1")
                .bind(parcel_id),
        )
        .await?;
        Ok(())
    }

    async fn slot(&mut self, slot_id: i64) -> StoreResult<Option<SlotRecord>> {
        by_id(&mut *self.tx, SLOT_COLUMNS, "slots", slot_id, slot_from).await
    }

    async fn insert_event(&mut self, event: &NewEvent) -> StoreResult<bool> {
        let query = sqlx::query(
            "INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, at, actor, station_id, idempotency_key, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(event.parcel_id)
        .bind(event.kind.clone())
        .bind(event.from_state.map(|s| s.code()))
        .bind(event.to_state.code())
        .bind(ms(event.at))
        .bind(event.actor.clone())
        .bind(event.station_id)
        .bind(event.idempotency_key.clone())
        .bind(event.details.to_string());
        Ok(self.execute(query).await? == 1)
    }

    async fn event_by_key(&mut self, key: &str) -> StoreResult<Option<EventRecord>> {
        let row = self
            .optional(
                sqlx::query(&format!(
                    "SELECT {EVENT_COLUMNS} FROM parcel_events WHERE idempotency_key = $1"
                ))
                .bind(key.to_string()),
            )
            .await?;
        row.map(|row| event_from(&row)).transpose()
    }

    async fn misrouted_to(&mut self, parcel_id: i64) -> StoreResult<Option<i64>> {
        let row = self
            .optional(
                sqlx::query(
                    "SELECT to_station_id FROM misroutes WHERE parcel_id = $1 ORDER BY id DESC LIMIT 1",
                )
                .bind(parcel_id),
            )
            .await?;
        row.map(|row| get::<i64>(&row, "to_station_id")).transpose()
    }

    async fn insert_misroute(&mut self, misroute: &NewMisroute) -> StoreResult<MisrouteRecord> {
        let query = sqlx::query(
            "INSERT INTO misroutes (parcel_id, from_station_id, to_station_id, note, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(misroute.parcel_id)
        .bind(misroute.from_station_id)
        .bind(misroute.to_station_id)
        .bind(misroute.note.clone())
        .bind(misroute.recorded_by.clone())
        .bind(ms(misroute.recorded_at));
        let row = self
            .optional(query)
            .await?
            .ok_or_else(|| StoreError::Backend("insert returned no id".into()))?;
        Ok(MisrouteRecord {
            id: row.try_get(0).map_err(backend_error)?,
            parcel_id: misroute.parcel_id,
            from_station_id: misroute.from_station_id,
            to_station_id: misroute.to_station_id,
            note: misroute.note.clone(),
            recorded_by: misroute.recorded_by.clone(),
            recorded_at: misroute.recorded_at,
        })
    }

    async fn standing_consent(&mut self, phone: &Phone) -> StoreResult<Option<bool>> {
        let row = self
            .optional(
                sqlx::query("SELECT station_ok FROM consents WHERE phone = $1")
                    .bind(self.keys.phone_hash(phone)),
            )
            .await?;
        row.map(|row| {
            row.try_get::<i64, _>(0)
                .map(|ok| ok != 0)
                .map_err(backend_error)
        })
        .transpose()
    }

    async fn create_station(
        &mut self,
        station: &NewStation,
        now: DateTime<Utc>,
    ) -> StoreResult<StationRecord> {
        let row = sqlx::query(
            "INSERT INTO stations (name, township, division_code, code_format, holding_days, reminder_days, created_at, lat_e6, lon_e6) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(station.name.clone())
        .bind(station.township.clone())
        .bind(station.division_code.clone())
        .bind(station.code_format.source().to_string())
        .bind(i64::from(station.holding.holding_days))
        .bind(join_days(&station.holding.reminder_days))
        .bind(ms(now))
        .bind(station.location.map(|p| p.to_e6().0))
        .bind(station.location.map(|p| p.to_e6().1))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        let id: i64 = row.try_get(0).map_err(backend_error)?;
        for slot in &station.slots {
            let row = sqlx::query("INSERT INTO slots (station_id, shelf, tier, slot, size, capacity) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(id)
                .bind(slot.shelf.clone())
                .bind(i64::from(slot.tier))
                .bind(i64::from(slot.slot))
                .bind(slot.size.code())
                .bind(i64::from(slot.capacity))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(backend_error)?;
            let slot_id: i64 = row.try_get(0).map_err(backend_error)?;
            for place in 0..slot.capacity {
                sqlx::query(
                    "INSERT INTO slot_places (slot_id, place, station_id, size) VALUES ($1, $2, $3, $4)",
                )
                .bind(slot_id)
                .bind(i64::from(place))
                .bind(id)
                .bind(slot.size.code())
                .execute(&mut *self.tx)
                .await
                .map_err(backend_error)?;
            }
        }
        Ok(StationRecord {
            id,
            name: station.name.clone(),
            township: station.township.clone(),
            division_code: station.division_code.clone(),
            location: station.location,
            code_format: station.code_format.clone(),
            holding: station.holding.clone(),
        })
    }
}

#[async_trait]
impl ParcelStore for Db {
    async fn stations(&self) -> StoreResult<Vec<StationRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {STATION_COLUMNS} FROM stations ORDER BY id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(station_from).collect()
    }

    async fn station(&self, id: i64) -> StoreResult<Option<StationRecord>> {
        by_id(&self.reader, STATION_COLUMNS, "stations", id, station_from).await
    }

    async fn slots(&self, station_id: i64) -> StoreResult<Vec<SlotOccupancy>> {
        let rows = sqlx::query(&format!(
            "SELECT {SLOT_COLUMNS_S}, COUNT(sp.parcel_id) AS n_parcels FROM slots s LEFT JOIN slot_places sp ON sp.slot_id = s.id \
             WHERE s.station_id = $1 GROUP BY s.id, s.station_id, s.shelf, s.tier, s.slot, s.size, s.capacity ORDER BY s.id"
        ))
        .bind(station_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let n_parcels: i64 = row.try_get("n_parcels").map_err(backend_error)?;
                Ok(SlotOccupancy {
                    slot: slot_from(row)?,
                    n_parcels: n_parcels as u32,
                    n_overdue: 0,
                })
            })
            .collect()
    }

    async fn slot(&self, slot_id: i64) -> StoreResult<Option<SlotRecord>> {
        by_id(&self.reader, SLOT_COLUMNS, "slots", slot_id, slot_from).await
    }

    async fn parcel(&self, id: i64) -> StoreResult<Option<ParcelRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {PARCEL_COLUMNS} FROM parcels WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.map(|row| parcel_from(&self.keys, &row)).transpose()
    }

    async fn parcels(&self, filter: &ParcelFilter) -> StoreResult<Vec<ParcelRecord>> {
        // Conditions are fixed text with numbered parameters; values are
        // always bound, never spliced into the SQL.
        let mut conditions = vec!["id > $1".to_string()];
        let mut texts: Vec<String> = Vec::new();
        let mut numbers: Vec<i64> = vec![filter.after_id.unwrap_or(0)];
        let add_number = |conditions: &mut Vec<String>,
                          column: &str,
                          value: i64,
                          op: &str,
                          numbers: &mut Vec<i64>| {
            numbers.push(value);
            conditions.push(format!("{column} {op} ${}", numbers.len()));
        };
        if let Some(station_id) = filter.station_id {
            add_number(&mut conditions, "station_id", station_id, "=", &mut numbers);
        }
        if let Some(before) = filter.stored_before {
            add_number(&mut conditions, "stored_at", ms(before), "<=", &mut numbers);
        }
        if let Some(from) = filter.created_from {
            add_number(&mut conditions, "created_at", ms(from), ">=", &mut numbers);
        }
        if let Some(before) = filter.created_before {
            add_number(&mut conditions, "created_at", ms(before), "<", &mut numbers);
        }
        let n_numbers = numbers.len();
        let mut add_text = |column: &str, value: String| {
            texts.push(value);
            conditions.push(format!("{column} = ${}", n_numbers + texts.len()));
        };
        if let Some(carrier) = filter.carrier {
            add_text("carrier", carrier.code().to_string());
        }
        if let Some(state) = filter.state {
            add_text("state", state.code().to_string());
        }
        if let Some(code) = &filter.pickup_code {
            add_text("pickup_code", code.clone());
        }
        if let Some(tail) = &filter.phone_tail {
            add_text("phone_tail", self.keys.tail_hash(tail));
        }
        if let Some(waybill) = &filter.waybill {
            add_text("waybill", waybill.clone());
        }
        let sql = format!(
            "SELECT {PARCEL_COLUMNS} FROM parcels WHERE {} ORDER BY id LIMIT {}",
            conditions.join(" AND "),
            filter.limit.min(1_000)
        );
        let mut query = sqlx::query(&sql);
        for number in numbers {
            query = query.bind(number);
        }
        for text in texts {
            query = query.bind(text);
        }
        let rows = query.fetch_all(&self.reader).await.map_err(backend_error)?;
        rows.iter()
            .map(|row| parcel_from(&self.keys, row))
            .collect()
    }

    async fn events(&self, parcel_id: i64) -> StoreResult<Vec<EventRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM parcel_events WHERE parcel_id = $1 ORDER BY id"
        ))
        .bind(parcel_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(event_from).collect()
    }

    async fn count_by_state(
        &self,
        station_id: Option<i64>,
    ) -> StoreResult<Vec<(ParcelState, u64)>> {
        let rows =
            match station_id {
                Some(id) => sqlx::query(
                    "SELECT state, COUNT(*) AS n FROM parcels WHERE station_id = $1 GROUP BY state",
                )
                .bind(id)
                .fetch_all(&self.reader)
                .await,
                None => {
                    sqlx::query("SELECT state, COUNT(*) AS n FROM parcels GROUP BY state")
                        .fetch_all(&self.reader)
                        .await
                }
            }
            .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state").map_err(backend_error)?;
                let n: i64 = row.try_get("n").map_err(backend_error)?;
                Ok((parse_state(&state)?, n as u64))
            })
            .collect()
    }

    async fn set_standing_consent(
        &self,
        phone: &Phone,
        station_ok: bool,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO consents (phone, station_ok, source, recorded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (phone) DO UPDATE SET station_ok = excluded.station_ok, source = excluded.source, recorded_at = excluded.recorded_at",
        )
        // Keyed by the phone's keyed hash, never the number.
        .bind(self.keys.phone_hash(phone))
        .bind(i64::from(station_ok))
        .bind(source.to_string())
        .bind(ms(now))
        .execute(&self.writer)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn count_events(
        &self,
        station_id: i64,
        kinds: &[&str],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT kind, COUNT(*) FROM parcel_events WHERE station_id = $1 AND at >= $2 AND at < $3 GROUP BY kind",
        )
        .bind(station_id)
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        let mut counts = Vec::new();
        for row in &rows {
            let kind: String = row.try_get(0).map_err(backend_error)?;
            let n: i64 = row.try_get(1).map_err(backend_error)?;
            if kinds.contains(&kind.as_str()) {
                counts.push((kind, u64::try_from(n).unwrap_or(0)));
            }
        }
        Ok(counts)
    }
}

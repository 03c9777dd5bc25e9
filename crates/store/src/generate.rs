//! The board benchmark's county (`yizhan bench board`, issue 16): about a
//! year of a busy county's parcels with their events, routing, bags and
//! fees, written with multi-row inserts in big transactions so ten million
//! parcels load in minutes rather than hours. Benchmark data only: the
//! rows are shaped like the real ones (the same kinds, actors, modes and
//! Shanghai days the board counts) but skip the rules, the outbox and the
//! audit trail, and carry no personal data.

use crate::{Backend, Db, StoreError, backend_error};
use chrono::{Duration, NaiveDate};

/// What to generate.
#[derive(Debug, Clone)]
pub struct CountySpec {
    pub parcels: u64,
    /// Shanghai days, ending with `last_day`.
    pub days: u32,
    pub last_day: NaiveDate,
    /// Stations created beforehand (the parcels are spread over them).
    pub station_ids: Vec<i64>,
    pub seed: u64,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generated {
    pub parcels: u64,
    pub events: u64,
    pub fees: u64,
}

const MODES: [&str; 3] = ["joint", "contractor", "station"];
/// The carriers' codes with their weights (a county's rough shares).
const CARRIERS: [(&str, u64); 9] = [
    ("ZTO", 22),
    ("YTO", 18),
    ("YUNDA", 15),
    ("STO", 12),
    ("JT", 12),
    ("EMS", 8),
    ("JD", 6),
    ("SF", 5),
    ("DEPPON", 2),
];
const HOUR: i64 = 3_600_000;
/// Parcels per transaction, and rows per INSERT statement.
const PARCELS_PER_TX: u64 = 20_000;
const ROWS_PER_STATEMENT: usize = 1_000;

/// splitmix64: a fast, seeded, good-enough spread for benchmark data.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Rows of one table gathered into multi-row INSERT statements.
struct Rows {
    head: &'static str,
    rows: Vec<String>,
    statements: Vec<String>,
}

impl Rows {
    fn new(head: &'static str) -> Rows {
        Rows {
            head,
            rows: Vec::with_capacity(ROWS_PER_STATEMENT),
            statements: Vec::new(),
        }
    }

    fn push(&mut self, row: String) {
        self.rows.push(row);
        if self.rows.len() == ROWS_PER_STATEMENT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.rows.is_empty() {
            self.statements
                .push(format!("{} VALUES {}", self.head, self.rows.join(",")));
            self.rows.clear();
        }
    }

    fn take(&mut self) -> Vec<String> {
        self.flush();
        std::mem::take(&mut self.statements)
    }
}

impl Db {
    /// Writes the benchmark county of `spec` after what the database holds;
    /// `progress` hears the parcels written so far after each transaction.
    pub async fn generate_county(
        &self,
        spec: &CountySpec,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<Generated, StoreError> {
        if spec.station_ids.is_empty() || spec.days == 0 {
            return Ok(Generated::default());
        }
        let first_day = spec.last_day - Duration::days(i64::from(spec.days) - 1);
        let now_ms = chrono::Utc::now().timestamp_millis();
        // One agreement per carrier, for the fees' reference.
        for (code, _) in CARRIERS {
            sqlx::query(
                "INSERT INTO agreements (carrier, created_at) VALUES ($1, $2) ON CONFLICT (carrier) DO NOTHING",
            )
            .bind(code)
            .bind(now_ms)
            .execute(&self.writer)
            .await
            .map_err(backend_error)?;
        }
        let mut agreements = Vec::new();
        for (code, _) in CARRIERS {
            let id: i64 = sqlx::query_scalar("SELECT id FROM agreements WHERE carrier = $1")
                .bind(code)
                .fetch_one(&self.writer)
                .await
                .map_err(backend_error)?;
            agreements.push(id);
        }
        // One bag per day and mode: the routing rows need one to name.
        let mut bags = Vec::new();
        for d in 0..spec.days {
            let day = first_day + Duration::days(i64::from(d));
            let mut ids = [0i64; 3];
            for (m, mode) in MODES.iter().enumerate() {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO bags (bag_key, day, mode, status, created_at) \
                     VALUES ($1, $2, $3, 'dispatched', $4) RETURNING id",
                )
                .bind(format!("bench:{day}:{mode}:{}", spec.seed))
                .bind(day.to_string())
                .bind(*mode)
                .bind(now_ms)
                .fetch_one(&self.writer)
                .await
                .map_err(backend_error)?;
                ids[m] = id;
            }
            bags.push(ids);
        }
        let first_id: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM parcels")
                .fetch_one(&self.writer)
                .await
                .map_err(backend_error)?;
        let first_id = first_id + 1;
        let carrier_total: u64 = CARRIERS.iter().map(|(_, w)| w).sum();
        let mut done = Generated::default();
        let mut start = 0u64;
        while start < spec.parcels {
            let end = (start + PARCELS_PER_TX).min(spec.parcels);
            let mut parcels = Rows::new(
                "INSERT INTO parcels (id, carrier, waybill, state, size, consent, station_id, stored_at, created_at, updated_at, version)",
            );
            let mut events = Rows::new(
                "INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, at, actor, station_id, idempotency_key, details)",
            );
            let mut routing = Rows::new(
                "INSERT INTO parcel_routing (parcel_id, carrier, township, mode, station_id, bag_id, decided_at, decided_by)",
            );
            let mut fees = Rows::new(
                "INSERT INTO fee_ledger (carrier, agreement_id, agreement_version, parcel_id, event_key, event_kind, mode, township, bracket, amount_fen, at, day)",
            );
            for i in start..end {
                let id = first_id + i as i64;
                let r = mix(spec.seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
                let d = (i * u64::from(spec.days) / spec.parcels) as i64;
                let day = first_day + Duration::days(d);
                let day_start = domain::day_start(day).timestamp_millis();
                let mut pick = r % carrier_total;
                let mut c = 0;
                while pick >= CARRIERS[c].1 {
                    pick -= CARRIERS[c].1;
                    c += 1;
                }
                let carrier = CARRIERS[c].0;
                let m = match (r >> 8) % 10 {
                    0..=4 => 0,
                    5 | 6 => 1,
                    _ => 2,
                };
                let mode = MODES[m];
                let station =
                    spec.station_ids[((r >> 16) % spec.station_ids.len() as u64) as usize];
                // Announced in the small hours, at the centre in the morning.
                let t0 = day_start + ((r >> 24) % (8 * HOUR as u64)) as i64;
                let t_arrive = t0 + 2 * HOUR + ((r >> 32) % (HOUR as u64)) as i64;
                let t_sort = t_arrive + 10 * 60_000;
                let t_dispatch = t_arrive + 2 * HOUR;
                let t_store = t_dispatch + 3 * HOUR;
                let returned = (r >> 40).is_multiple_of(50);
                // Dwell: most within a day, a long tail to a week.
                let dwell = match (r >> 44) % 100 {
                    0..=59 => ((r >> 50) % (24 * HOUR as u64)) as i64,
                    60..=84 => 24 * HOUR + ((r >> 50) % (24 * HOUR as u64)) as i64,
                    85..=94 => 48 * HOUR + ((r >> 50) % (24 * HOUR as u64)) as i64,
                    _ => 72 * HOUR + ((r >> 50) % (96 * HOUR as u64)) as i64,
                };
                let t_out = if returned {
                    t_store + 7 * 24 * HOUR
                } else {
                    t_store + dwell
                };
                let self_service = (r >> 58) % 10 < 6;
                let (final_state, last) = if m == 1 {
                    ("delivered", t_dispatch + 4 * HOUR)
                } else if returned {
                    ("returned", t_out)
                } else {
                    ("picked_up", t_out)
                };
                let stored_at = if m == 1 {
                    "NULL".to_string()
                } else {
                    t_store.to_string()
                };
                let at_station = if m == 1 {
                    "NULL".to_string()
                } else {
                    station.to_string()
                };
                parcels.push(format!(
                    "({id},'{carrier}','B{:012}','{final_state}','small',1,{at_station},{stored_at},{t0},{last},6)",
                    spec.seed % 1000 * 1_000_000_000 + i
                ));
                let mut event =
                    |n: u32, kind: &str, from: &str, to: &str, at: i64, actor: &str, st: &str| {
                        events.push(format!(
                            "({id},'{kind}',{from},'{to}',{at},'{actor}',{st},'g:{id}:{n}','{{}}')"
                        ));
                    };
                event(
                    0,
                    "announced",
                    "NULL",
                    "announced",
                    t0,
                    "carrier:api",
                    "NULL",
                );
                event(
                    1,
                    "arrived_at_centre",
                    "'announced'",
                    "arrived_at_centre",
                    t_arrive,
                    "user:centre",
                    "NULL",
                );
                event(
                    2,
                    "sorted",
                    "'arrived_at_centre'",
                    "sorted",
                    t_sort,
                    "user:centre",
                    "NULL",
                );
                event(
                    3,
                    "dispatched",
                    "'sorted'",
                    "dispatched",
                    t_dispatch,
                    "user:centre",
                    "NULL",
                );
                let mut n_events = 4;
                if m == 1 {
                    event(
                        4,
                        "delivered",
                        "'dispatched'",
                        "delivered",
                        last,
                        "contractor",
                        "NULL",
                    );
                    n_events += 1;
                } else {
                    event(
                        4,
                        "stored",
                        "'dispatched'",
                        "stored",
                        t_store,
                        "user:keeper",
                        &at_station,
                    );
                    let actor = if self_service && !returned {
                        format!("station_terminal:{station}")
                    } else {
                        "user:keeper".to_string()
                    };
                    event(
                        5,
                        final_state,
                        "'stored'",
                        final_state,
                        t_out,
                        &actor,
                        &at_station,
                    );
                    n_events += 2;
                }
                routing.push(format!(
                    "({id},'{carrier}','{:09}','{mode}',{},{},{t_arrive},'user:centre')",
                    station % 1000,
                    if m == 1 {
                        "NULL".to_string()
                    } else {
                        station.to_string()
                    },
                    bags[d as usize][m]
                ));
                // The fee accrues on the mode's delivering event.
                let (fee_event, fee_at) = match m {
                    0 if !returned => (Some(("picked_up", 5)), t_out),
                    1 => (Some(("dispatched", 3)), t_dispatch),
                    2 => (Some(("stored", 4)), t_store),
                    _ => (None, 0),
                };
                if let Some((kind, n)) = fee_event {
                    let fee_day = (chrono::DateTime::from_timestamp_millis(fee_at)
                        .unwrap_or_default()
                        + Duration::hours(8))
                    .date_naive();
                    fees.push(format!(
                        "('{carrier}',{},1,{id},'g:{id}:{n}','{kind}','{mode}','{:09}',0,{},{fee_at},'{fee_day}')",
                        agreements[c],
                        station % 1000,
                        80 + (r >> 20) % 120
                    ));
                    done.fees += 1;
                }
                done.events += n_events;
            }
            let mut tx = self.writer.begin().await.map_err(backend_error)?;
            for statement in parcels
                .take()
                .into_iter()
                .chain(routing.take())
                .chain(events.take())
                .chain(fees.take())
            {
                sqlx::raw_sql(&statement)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
            }
            tx.commit().await.map_err(backend_error)?;
            done.parcels += end - start;
            progress(done.parcels);
            start = end;
        }
        if self.backend == Backend::Postgres {
            // The ids were given explicitly: move the sequence past them.
            sqlx::raw_sql(
                "SELECT setval(pg_get_serial_sequence('parcels', 'id'), (SELECT MAX(id) FROM parcels))",
            )
            .execute(&self.writer)
            .await
            .map_err(backend_error)?;
        }
        Ok(done)
    }
}

//! Seeing (issue 16): the county board's figures over a day or a range of
//! Shanghai days, the daily report (日报) with rankings and day-on-day
//! change and its push to the managers' group robot, and the operators'
//! gauges behind `/metrics`. County staff and the administrator read them;
//! every figure is a count or a sum, never a person's data.
//!
//! The board sums daily aggregates for the days a job has rolled up and
//! counts the events directly only for the rest (today): nothing is added
//! to the inbound path, a figure is never staler than the last committed
//! scan, and a year's range stays fast (ARCHITECTURE.md, "The board's daily
//! aggregates"; `yizhan bench board`).

use crate::App;
use crate::error::{AppError, AppResult, Code};
use crate::ports::board::{DeviceChange, StationCounts};
pub use crate::ports::board::{OperationsCounts, PoolUse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::{Carrier, Principal};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Longest range the board covers at once, in days.
pub const BOARD_DAYS_MAX: i64 = 366;
/// A station taking fewer parcels a day than this is a low-efficiency
/// outlet (the seed's line: 104,100 such outlets in China).
pub const LOW_EFFICIENCY_PER_DAY: u64 = 300;
/// The flow's steps, in order, as event kinds; `stored` counts parcels
/// scanned in at a station with or without consent yet.
pub const FLOW_KINDS: &[&str] = &[
    "announced",
    "arrived_at_centre",
    "sorted",
    "dispatched",
    "stored",
    "awaiting_consent",
    "picked_up",
    "returned",
    "problem",
];
/// The flow's steps as the board shows them: (key, 中文, English, kinds).
pub const FLOW_STEPS: &[(&str, &str, &str, &[&str])] = &[
    ("announced", "预报", "Announced", &["announced"]),
    ("arrived", "到中心", "Arrived", &["arrived_at_centre"]),
    ("sorted", "已分拣", "Sorted", &["sorted"]),
    ("dispatched", "已发运", "Dispatched", &["dispatched"]),
    ("stored", "入站", "Stored", &["stored", "awaiting_consent"]),
    ("picked_up", "已取件", "Picked up", &["picked_up"]),
    ("returned", "退回", "Returned", &["returned"]),
];
/// Upper bounds (hours) of the dwell-time buckets; one more bucket holds
/// longer waits.
pub const DWELL_BOUNDS_HOURS: &[i64] = &[4, 12, 24, 48, 72, 168];

/// One step's count for a carrier in a mode.
#[derive(Debug, Clone, Serialize)]
pub struct FlowCell {
    pub step: &'static str,
    pub carrier: Carrier,
    /// The county mode (`joint`, `contractor`, `station`), or none when the
    /// centre did not route the parcel (announced only, or a station scan).
    pub mode: Option<String>,
    pub n: u64,
}

/// One day's count of every step.
#[derive(Debug, Clone, Serialize)]
pub struct FlowDay {
    pub day: NaiveDate,
    /// In the order of [`FLOW_STEPS`].
    pub steps: Vec<u64>,
}

/// One dwell bucket.
#[derive(Debug, Clone, Serialize)]
pub struct DwellBucket {
    /// Hours at the bucket's upper end; none for the last.
    pub up_to_hours: Option<i64>,
    pub n: u64,
}

/// One station's row.
#[derive(Debug, Clone, Serialize)]
pub struct StationRow {
    pub station_id: i64,
    pub name: String,
    pub township: String,
    pub n_in: u64,
    /// Parcels in per day over the range.
    pub in_per_day: f64,
    /// Under [`LOW_EFFICIENCY_PER_DAY`] a day.
    pub low_efficiency: bool,
    pub n_picked_up: u64,
    pub n_self_service: u64,
    /// Self-service share of pickups, 0–1 (none without pickups).
    pub self_service_share: Option<f64>,
    pub n_past_holding: u64,
    pub devices_online: u64,
    pub devices_total: u64,
    /// Share of the range its devices were online, over the time their
    /// state was known (`None` when it never was).
    pub device_uptime: Option<f64>,
    /// WGS-84 degrees, when the station has a place.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// One carrier's row.
#[derive(Debug, Clone, Serialize)]
pub struct CarrierRow {
    pub carrier: Carrier,
    pub name_zh: &'static str,
    /// Parcels arrived at the centre, by mode (`joint`, `contractor`,
    /// `station`, `unrouted`).
    pub arrived_by_mode: BTreeMap<String, u64>,
    pub n_arrived: u64,
    pub n_fees: u64,
    pub fees_fen: i64,
    pub webhooks_delivered: u64,
    pub webhooks_pending: u64,
    pub webhooks_failed: u64,
}

/// Everything the board shows for a range of Shanghai days.
#[derive(Debug, Clone, Serialize)]
pub struct BoardFigures {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub n_days: i64,
    pub generated_at: DateTime<Utc>,
    /// Step totals in the order of [`FLOW_STEPS`].
    pub totals: Vec<u64>,
    pub flow: Vec<FlowCell>,
    pub by_day: Vec<FlowDay>,
    pub manual_queue: u64,
    /// Hours the oldest open manual-queue parcel has waited.
    pub manual_queue_oldest_hours: Option<i64>,
    /// Problems reported in the range.
    pub problems_reported: u64,
    pub pickups: u64,
    pub within_24h: u64,
    pub within_48h: u64,
    pub within_72h: u64,
    pub dwell: Vec<DwellBucket>,
    pub reminders_sent: u64,
    pub past_holding: u64,
    pub stations: Vec<StationRow>,
    pub carriers: Vec<CarrierRow>,
}

impl BoardFigures {
    /// A step's total by its key.
    pub fn total(&self, step: &str) -> u64 {
        FLOW_STEPS
            .iter()
            .position(|(key, ..)| *key == step)
            .and_then(|idx| self.totals.get(idx).copied())
            .unwrap_or(0)
    }

    /// Share of pickups within `n` hours of reaching the shelf, 0–1.
    pub fn pickup_share(&self, within: u64) -> Option<f64> {
        (self.pickups > 0).then(|| within as f64 / self.pickups as f64)
    }
}

/// The operators' gauges (`/metrics`).
#[derive(Debug, Clone)]
pub struct OperationsGauges {
    pub counts: OperationsCounts,
    pub pools: Vec<PoolUse>,
}

fn check_days(from: NaiveDate, to: NaiveDate) -> AppResult<()> {
    use chrono::Datelike;
    use domain::limits::{DATE_YEAR_MAX, DATE_YEAR_MIN};
    for day in [from, to] {
        if !(DATE_YEAR_MIN..=DATE_YEAR_MAX).contains(&day.year()) {
            return Err(AppError::new(Code::DateOutOfRange)
                .with("date", day)
                .with("min", DATE_YEAR_MIN)
                .with("max", DATE_YEAR_MAX));
        }
    }
    if to < from {
        return Err(AppError::new(Code::DateRange)
            .with("from", from)
            .with("to", to));
    }
    if (to - from).num_days() >= BOARD_DAYS_MAX {
        return Err(AppError::new(Code::DateRangeTooLong).with("max", BOARD_DAYS_MAX));
    }
    Ok(())
}

fn step_of(kind: &str) -> Option<usize> {
    FLOW_STEPS
        .iter()
        .position(|(_, _, _, kinds)| kinds.contains(&kind))
}

/// How long after a Shanghai day ends the job waits before rolling it up:
/// a transaction begun before midnight commits its events within this.
pub const ROLL_UP_GRACE_MINUTES: i64 = 10;

/// What one run of the roll-up job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RollUp {
    /// Days rolled up by this run.
    pub days: u32,
}

/// The runs of consecutive days of `from..=to` not in `rolled`.
fn gaps(
    from: NaiveDate,
    to: NaiveDate,
    rolled: &BTreeSet<NaiveDate>,
) -> Vec<(NaiveDate, NaiveDate)> {
    let mut gaps = Vec::new();
    let mut open: Option<NaiveDate> = None;
    let mut day = from;
    while day <= to {
        match (rolled.contains(&day), open) {
            (false, None) => open = Some(day),
            (true, Some(start)) => {
                gaps.push((start, day - Duration::days(1)));
                open = None;
            }
            _ => {}
        }
        day += Duration::days(1);
    }
    if let Some(start) = open {
        gaps.push((start, to));
    }
    gaps
}

/// `[start, end)` of Shanghai days `from..=to`.
fn span(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        domain::day_start(from),
        domain::day_start(to) + Duration::days(1),
    )
}

/// Adds the counts of the range in `more` to `into`, station by station
/// (what is counted now stays `into`'s).
/// Each station's device uptime over `[from, to)`: the time its devices
/// were online over the time their state was known, from each device's
/// changes in time order (the first may be before `from`: the state the
/// range began in).
pub fn uptime_by_station(
    changes: &[DeviceChange],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BTreeMap<i64, f64> {
    let mut sums: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (idx, change) in changes.iter().enumerate() {
        let next = changes
            .get(idx + 1)
            .filter(|next| next.state_topic == change.state_topic)
            .map_or(to, |next| next.at);
        let (start, end) = (change.at.max(from), next.min(to));
        if end <= start {
            continue;
        }
        let span = (end - start).num_milliseconds();
        let (online, observed) = sums.entry(change.station_id).or_default();
        *observed += span;
        if change.online {
            *online += span;
        }
    }
    sums.into_iter()
        .filter(|(_, (_, observed))| *observed > 0)
        .map(|(station, (online, observed))| (station, online as f64 / observed as f64))
        .collect()
}

fn add_station_counts(into: &mut [StationCounts], more: Vec<StationCounts>) {
    for more in more {
        if let Some(counts) = into.iter_mut().find(|c| c.station_id == more.station_id) {
            counts.n_in += more.n_in;
            counts.n_picked_up += more.n_picked_up;
            counts.n_self_service += more.n_self_service;
        }
    }
}

impl App {
    /// Rolls every closed Shanghai day since the first event that is not
    /// rolled up yet into the board's daily aggregates (the job in `serve`,
    /// and `yizhan bench board`). A day closes [`ROLL_UP_GRACE_MINUTES`]
    /// after its midnight. Each day is its own transaction, so the job can
    /// stop anywhere and start again.
    pub async fn roll_up_board(&self, principal: &Principal) -> AppResult<RollUp> {
        self.must_see_board(principal)?;
        let now = self.now();
        let Some(first) = self.store.first_event_day().await? else {
            return Ok(RollUp::default());
        };
        let last = domain::shanghai_day(now - Duration::minutes(ROLL_UP_GRACE_MINUTES))
            - Duration::days(1);
        if last < first {
            return Ok(RollUp::default());
        }
        let rolled: BTreeSet<NaiveDate> = self
            .store
            .rolled_days(first, last)
            .await?
            .into_iter()
            .collect();
        let mut done = RollUp::default();
        for (from, to) in gaps(first, last, &rolled) {
            let mut day = from;
            while day <= to {
                if self
                    .store
                    .roll_up_day(day, FLOW_KINDS, DWELL_BOUNDS_HOURS, self.now())
                    .await?
                {
                    done.days += 1;
                }
                day += Duration::days(1);
            }
        }
        if done.days > 0 {
            tracing::info!(days = done.days, "board's daily aggregates rolled up");
        }
        Ok(done)
    }
}

impl App {
    fn must_see_board(&self, principal: &Principal) -> AppResult<()> {
        if principal.may_run_county() {
            Ok(())
        } else {
            Err(AppError::Forbidden("board"))
        }
    }

    /// The board's figures for Shanghai days `from..=to` (county staff and
    /// the administrator).
    pub async fn board(
        &self,
        principal: &Principal,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<BoardFigures> {
        self.must_see_board(principal)?;
        check_days(from, to)?;
        let now = self.now();
        let start = domain::day_start(from);
        let end = domain::day_start(to) + Duration::days(1);
        let n_days = (to - from).num_days() + 1;
        let store = &*self.store;

        // Rolled-up days are summed from the daily aggregates; the rest
        // (today, and any day the job has not reached) are counted from
        // the events, a run of consecutive days at a time.
        let rolled: BTreeSet<NaiveDate> = store.rolled_days(from, to).await?.into_iter().collect();
        let gaps = gaps(from, to, &rolled);
        let any_rolled = !rolled.is_empty();
        // Rolled-up days come summed over the range, and per day and kind
        // for the chart; days counted live give both from their rows.
        let (mut counts, mut day_counts) = if any_rolled {
            (
                store.rolled_flow(from, to).await?,
                store.rolled_flow_by_day(from, to).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        for (gap_from, gap_to) in &gaps {
            let (gap_start, gap_end) = span(*gap_from, *gap_to);
            let live = store.flow_counts(gap_start, gap_end, FLOW_KINDS).await?;
            day_counts.extend(live.iter().map(|c| (c.day, c.kind.clone(), c.n)));
            counts.extend(live);
        }
        let rolled_counts = if any_rolled {
            store.rolled_counts(from, to).await?
        } else {
            BTreeMap::new()
        };
        let mut totals = vec![0u64; FLOW_STEPS.len()];
        let mut by_day: BTreeMap<NaiveDate, Vec<u64>> = BTreeMap::new();
        let mut cells: BTreeMap<(usize, Carrier, Option<String>), u64> = BTreeMap::new();
        let mut problems_reported = 0;
        let mut arrived: BTreeMap<Carrier, BTreeMap<String, u64>> = BTreeMap::new();
        for count in &counts {
            if count.kind == "problem" {
                problems_reported += count.n;
                continue;
            }
            let Some(step) = step_of(&count.kind) else {
                continue;
            };
            let Ok(carrier) = Carrier::parse(&count.carrier) else {
                continue;
            };
            totals[step] += count.n;
            *cells
                .entry((step, carrier, count.mode.clone()))
                .or_default() += count.n;
            if FLOW_STEPS[step].0 == "arrived" {
                *arrived
                    .entry(carrier)
                    .or_default()
                    .entry(count.mode.clone().unwrap_or_else(|| "unrouted".into()))
                    .or_default() += count.n;
            }
        }
        for (day, kind, n) in &day_counts {
            if let Some(step) = step_of(kind) {
                by_day
                    .entry(*day)
                    .or_insert_with(|| vec![0; FLOW_STEPS.len()])[step] += n;
            }
        }
        // Every day of the range has its row, empty or not, so a chart's
        // axis shows the quiet days too.
        let mut days = Vec::new();
        let mut day = from;
        while day <= to {
            days.push(FlowDay {
                day,
                steps: by_day
                    .remove(&day)
                    .unwrap_or_else(|| vec![0; FLOW_STEPS.len()]),
            });
            day += Duration::days(1);
        }
        let flow = cells
            .into_iter()
            .map(|((step, carrier, mode), n)| FlowCell {
                step: FLOW_STEPS[step].0,
                carrier,
                mode,
                n,
            })
            .collect();

        let (manual_queue, oldest) = store.manual_queue_age().await?;
        let rolled_count = |metric: &str| rolled_counts.get(metric).copied().unwrap_or(0);
        let mut dwell_counts: Vec<u64> = DWELL_BOUNDS_HOURS
            .iter()
            .map(|hours| rolled_count(&format!("dwell:{hours}")))
            .chain(std::iter::once(rolled_count("dwell:")))
            .collect();
        let mut reminders_sent = rolled_count("message:reminder");
        for (gap_from, gap_to) in &gaps {
            let (gap_start, gap_end) = span(*gap_from, *gap_to);
            let direct = store
                .dwell_counts(gap_start, gap_end, DWELL_BOUNDS_HOURS)
                .await?;
            for (sum, n) in dwell_counts.iter_mut().zip(direct) {
                *sum += n;
            }
            reminders_sent += store
                .messages_written("reminder", gap_start, gap_end)
                .await?;
        }
        let pickups: u64 = dwell_counts.iter().sum();
        let within = |hours: i64| -> u64 {
            DWELL_BOUNDS_HOURS
                .iter()
                .zip(&dwell_counts)
                .filter(|(bound, _)| **bound <= hours)
                .map(|(_, n)| n)
                .sum()
        };
        let dwell = dwell_counts
            .iter()
            .enumerate()
            .map(|(idx, n)| DwellBucket {
                up_to_hours: DWELL_BOUNDS_HOURS.get(idx).copied(),
                n: *n,
            })
            .collect();

        let stations = store.stations().await?;
        // The first direct call also brings what is counted now (past
        // holding, devices); with no day to count directly, an empty span.
        let mut station_counts = match gaps.first() {
            Some((gap_from, gap_to)) => {
                let (gap_start, gap_end) = span(*gap_from, *gap_to);
                store.station_counts(gap_start, gap_end, now).await?
            }
            None => store.station_counts(end, end, now).await?,
        };
        for (gap_from, gap_to) in gaps.iter().skip(1) {
            let (gap_start, gap_end) = span(*gap_from, *gap_to);
            add_station_counts(
                &mut station_counts,
                store.station_counts(gap_start, gap_end, now).await?,
            );
        }
        if any_rolled {
            add_station_counts(&mut station_counts, store.rolled_stations(from, to).await?);
        }
        // Uptime up to now: the rest of the range has not happened yet.
        let uptime_end = end.min(now).max(start);
        let uptime = uptime_by_station(
            &store.device_changes(start, uptime_end).await?,
            start,
            uptime_end,
        );
        let mut station_rows = Vec::new();
        let mut past_holding = 0;
        for counts in station_counts {
            let Some(station) = stations.iter().find(|s| s.id == counts.station_id) else {
                continue;
            };
            past_holding += counts.n_past_holding;
            let in_per_day = counts.n_in as f64 / n_days as f64;
            station_rows.push(StationRow {
                station_id: station.id,
                name: station.name.clone(),
                township: station.township.clone(),
                n_in: counts.n_in,
                in_per_day: (in_per_day * 10.0).round() / 10.0,
                low_efficiency: in_per_day < LOW_EFFICIENCY_PER_DAY as f64,
                n_picked_up: counts.n_picked_up,
                n_self_service: counts.n_self_service,
                self_service_share: (counts.n_picked_up > 0)
                    .then(|| counts.n_self_service as f64 / counts.n_picked_up as f64),
                n_past_holding: counts.n_past_holding,
                devices_online: counts.devices_online,
                devices_total: counts.devices_total,
                device_uptime: uptime.get(&station.id).copied(),
                lat: station.location.map(|l| l.lat),
                lon: station.location.map(|l| l.lon),
            });
        }

        let mut fees = if any_rolled {
            store.rolled_fees(from, to).await?
        } else {
            Vec::new()
        };
        for (gap_from, gap_to) in &gaps {
            fees.extend(store.fee_counts(*gap_from, *gap_to).await?);
        }
        let webhooks = store.webhook_counts(start, end).await?;
        let mut carriers = Vec::new();
        for carrier in Carrier::ALL {
            let code = carrier.code();
            let arrived_by_mode = arrived.remove(&carrier).unwrap_or_default();
            let n_arrived = arrived_by_mode.values().sum();
            let (n_fees, fees_fen) = fees
                .iter()
                .filter(|f| f.carrier == code)
                .fold((0, 0), |(n, fen), f| (n + f.n, fen + f.fen));
            let webhook = |status: &str| -> u64 {
                webhooks
                    .iter()
                    .filter(|w| w.carrier == code && w.status == status)
                    .map(|w| w.n)
                    .sum()
            };
            carriers.push(CarrierRow {
                carrier,
                name_zh: carrier.name_zh(),
                arrived_by_mode,
                n_arrived,
                n_fees,
                fees_fen,
                webhooks_delivered: webhook("delivered"),
                webhooks_pending: webhook("pending"),
                webhooks_failed: webhook("failed"),
            });
        }
        Ok(BoardFigures {
            from,
            to,
            n_days,
            generated_at: now,
            totals,
            flow,
            by_day: days,
            manual_queue,
            manual_queue_oldest_hours: oldest.map(|at| (now - at).num_hours().max(0)),
            problems_reported,
            pickups,
            within_24h: within(24),
            within_48h: within(48),
            within_72h: within(72),
            dwell,
            reminders_sent,
            past_holding,
            stations: station_rows,
            carriers,
        })
    }

    /// The backlogs and pool use operators alert on (`/metrics`): the
    /// administrator, county staff, or the server itself.
    pub async fn operations_gauges(&self, principal: &Principal) -> AppResult<OperationsGauges> {
        self.must_see_board(principal)?;
        Ok(OperationsGauges {
            counts: self.store.operations_counts(self.now()).await?,
            pools: self.store.pool_use(),
        })
    }
}

/// One headline figure of the daily report with the day before's.
#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub value: u64,
    pub previous: u64,
}

impl Headline {
    /// Day-on-day change in per cent; none when the day before had none.
    pub fn change_percent(&self) -> Option<f64> {
        (self.previous > 0).then(|| {
            ((self.value as f64 - self.previous as f64) / self.previous as f64 * 1000.0).round()
                / 10.0
        })
    }

    /// The change as people read it: `+12.5%`, `-3.0%`, or `—`.
    pub fn change_text(&self) -> String {
        match self.change_percent() {
            Some(p) if p > 0.0 => format!("+{p:.1}%"),
            Some(p) => format!("{p:.1}%"),
            None if self.value > 0 => "new".into(),
            None => "—".into(),
        }
    }
}

/// Reads one figure of the board.
type Figure = fn(&BoardFigures) -> u64;

/// The daily report (日报): a day's figures beside the day before's, with
/// the stations and carriers ranked.
#[derive(Debug, Clone, Serialize)]
pub struct DailyReport {
    pub day: NaiveDate,
    pub headlines: Vec<Headline>,
    /// Stations by parcels in, most first.
    pub stations: Vec<StationRow>,
    /// Carriers by parcels arrived at the centre, most first (only those
    /// with any flow or fee).
    pub carriers: Vec<CarrierRow>,
    pub figures: BoardFigures,
    pub previous: BoardFigures,
}

impl DailyReport {
    /// The report as a group robot's markdown message: (title, text).
    pub fn markdown(&self, lang: crate::Lang) -> (String, String) {
        let en = lang == crate::Lang::En;
        let title = if en {
            format!("Daily report {}", self.day)
        } else {
            format!("县域快递日报 {}", self.day)
        };
        let mut text = format!("### {title}\n");
        for headline in &self.headlines {
            text.push_str(&format!(
                "- {}: **{}** ({} {})\n",
                if en { headline.en } else { headline.zh },
                headline.value,
                if en { "day on day" } else { "环比" },
                headline.change_text()
            ));
        }
        let low: Vec<&StationRow> = self.stations.iter().filter(|s| s.low_efficiency).collect();
        text.push_str(&if en {
            format!(
                "\n**Stations** ({} under {LOW_EFFICIENCY_PER_DAY} a day)\n",
                low.len()
            )
        } else {
            format!(
                "\n**驿站排名**（日均低于 {LOW_EFFICIENCY_PER_DAY} 件：{} 个）\n",
                low.len()
            )
        });
        for (rank, station) in self.stations.iter().take(10).enumerate() {
            let share = station
                .self_service_share
                .map(|s| format!("{:.0}%", s * 100.0))
                .unwrap_or_else(|| "—".into());
            text.push_str(&if en {
                format!(
                    "{}. {} in {} · picked up {} · self-service {share}\n",
                    rank + 1,
                    station.name,
                    station.n_in,
                    station.n_picked_up
                )
            } else {
                format!(
                    "{}. {} 入站 {} · 取件 {} · 自助 {share}\n",
                    rank + 1,
                    station.name,
                    station.n_in,
                    station.n_picked_up
                )
            });
        }
        if !self.carriers.is_empty() {
            text.push_str(if en {
                "\n**Carriers**\n"
            } else {
                "\n**快递公司**\n"
            });
            for (rank, carrier) in self.carriers.iter().enumerate() {
                let name = if en {
                    carrier.carrier.code()
                } else {
                    carrier.name_zh
                };
                text.push_str(&if en {
                    format!(
                        "{}. {name} arrived {} · fees {:.2} yuan · webhooks failed {}\n",
                        rank + 1,
                        carrier.n_arrived,
                        carrier.fees_fen as f64 / 100.0,
                        carrier.webhooks_failed
                    )
                } else {
                    format!(
                        "{}. {name} 到中心 {} · 派费 {:.2} 元 · 回调失败 {}\n",
                        rank + 1,
                        carrier.n_arrived,
                        carrier.fees_fen as f64 / 100.0,
                        carrier.webhooks_failed
                    )
                });
            }
        }
        (title, text)
    }
}

impl App {
    /// The daily report for Shanghai day `day` (county staff and the
    /// administrator).
    pub async fn daily_report(
        &self,
        principal: &Principal,
        day: NaiveDate,
    ) -> AppResult<DailyReport> {
        let figures = self.board(principal, day, day).await?;
        let before = day.pred_opt().unwrap_or(day);
        let previous = self.board(principal, before, before).await?;
        let mut headlines = Vec::new();
        for (idx, (key, zh, en, _)) in FLOW_STEPS.iter().enumerate() {
            headlines.push(Headline {
                key,
                zh,
                en,
                value: figures.totals[idx],
                previous: previous.totals[idx],
            });
        }
        let extra: [(&str, &str, &str, Figure); 5] = [
            (
                "within_24h",
                "24小时内取件",
                "Picked up within 24 h",
                |f| f.within_24h,
            ),
            ("problems", "问题件", "Problems reported", |f| {
                f.problems_reported
            }),
            ("reminders", "催取提醒", "Reminders sent", |f| {
                f.reminders_sent
            }),
            (
                "past_holding",
                "超期滞留",
                "Past the holding period",
                |f| f.past_holding,
            ),
            ("manual_queue", "待人工分拣", "Manual queue", |f| {
                f.manual_queue
            }),
        ];
        for (key, zh, en, of) in extra {
            headlines.push(Headline {
                key,
                zh,
                en,
                value: of(&figures),
                previous: of(&previous),
            });
        }
        let mut stations = figures.stations.clone();
        stations.sort_by(|a, b| b.n_in.cmp(&a.n_in).then(a.station_id.cmp(&b.station_id)));
        let mut carriers: Vec<CarrierRow> = figures
            .carriers
            .iter()
            .filter(|c| c.n_arrived > 0 || c.n_fees > 0)
            .cloned()
            .collect();
        carriers.sort_by(|a, b| {
            b.n_arrived
                .cmp(&a.n_arrived)
                .then(a.carrier.cmp(&b.carrier))
        });
        Ok(DailyReport {
            day,
            headlines,
            stations,
            carriers,
            figures,
            previous,
        })
    }

    /// Queues the daily report of `day` for group robot `bot`, once per day
    /// and robot however often it is pushed; false if it was queued before.
    pub async fn push_daily_report(
        &self,
        principal: &Principal,
        day: NaiveDate,
        bot: &str,
        lang: crate::Lang,
    ) -> AppResult<bool> {
        domain::bot::check_bot_name(bot)
            .map_err(|detail| AppError::new(Code::BotNameInvalid).with_detail(detail))?;
        let report = self.daily_report(principal, day).await?;
        let (title, text) = report.markdown(lang);
        let mut tx = self.store.begin().await?;
        let written = crate::bots::enqueue(
            &mut *tx,
            bot,
            &format!("daily:{day}:{bot}"),
            &title,
            &text,
            self.now(),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(%day, bot, written, "daily report queued for the group robot");
        Ok(written)
    }
}

/// One station's economics.
#[derive(Debug, Clone)]
pub struct StationEconomics {
    pub station: StationRow,
    pub estimate: domain::economics::Estimate,
}

/// Station economics over a range: per station, the county's total and
/// average per station, and the national extrapolation of that average.
#[derive(Debug, Clone)]
pub struct Economics {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub assumptions: domain::economics::Assumptions,
    pub stations: Vec<StationEconomics>,
    pub county_labour_saved: f64,
    pub county_sending_added: f64,
    /// Per station, the county's average.
    pub average_labour_saved: f64,
    pub average_sending_added: f64,
}

impl App {
    /// What the county's self-service stations are worth a year, from their
    /// self-service pickups over `from..=to` and the assumptions given
    /// (county staff and the administrator).
    pub async fn station_economics(
        &self,
        principal: &Principal,
        from: NaiveDate,
        to: NaiveDate,
        assumptions: domain::economics::Assumptions,
    ) -> AppResult<Economics> {
        let figures = self.board(principal, from, to).await?;
        let stations: Vec<StationEconomics> = figures
            .stations
            .into_iter()
            .map(|station| StationEconomics {
                estimate: domain::economics::estimate(
                    &assumptions,
                    station.n_self_service,
                    figures.n_days,
                ),
                station,
            })
            .collect();
        let county_labour_saved = stations.iter().map(|s| s.estimate.labour_saved).sum();
        let county_sending_added = stations.iter().map(|s| s.estimate.sending_added).sum();
        let n = stations.len().max(1) as f64;
        Ok(Economics {
            from,
            to,
            assumptions,
            average_labour_saved: county_labour_saved / n,
            average_sending_added: county_sending_added / n,
            stations,
            county_labour_saved,
            county_sending_added,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(topic: &str, station_id: i64, online: bool, minute: i64) -> DeviceChange {
        DeviceChange {
            state_topic: topic.into(),
            station_id,
            online,
            at: DateTime::from_timestamp(minute * 60, 0).unwrap(),
        }
    }

    #[test]
    fn uptime_counts_online_time_over_known_time_per_station() {
        let at = |minute: i64| DateTime::from_timestamp(minute * 60, 0).unwrap();
        let changes = vec![
            // Online since before the range, off for 30 of its 100 minutes.
            change("a/door", 1, true, -50),
            change("a/door", 1, false, 20),
            change("a/door", 1, true, 50),
            // Known only from minute 60, online all of its 40 known minutes.
            change("a/light", 1, true, 60),
            // Another station: offline the whole range.
            change("b/door", 2, false, -10),
        ];
        let uptime = uptime_by_station(&changes, at(0), at(100));
        let one = uptime[&1];
        assert!((one - (70.0 + 40.0) / 140.0).abs() < 1e-12, "{one}");
        assert_eq!(uptime[&2], 0.0);
        assert!(!uptime.contains_key(&3));
        // A range before anything was known has no figure.
        assert!(uptime_by_station(&changes[3..4], at(0), at(50)).is_empty());
    }
}

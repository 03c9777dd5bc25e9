//! The fleet's tables (issue 20): vehicles and compartments, zones,
//! missions with their stops and parcels, incidents, the append-only
//! take-over log and the latest positions. Lists of ids and geofences are
//! stored as JSON text.

use crate::rows::{corrupt, get, time};
use crate::{Backend, Db, DbTx, backend_error, ms};
use app::ports::GeoPoint;
use app::ports::fleet::*;
use app::ports::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::fleet::{VehicleKind, Zone, ZoneKind};
use domain::station::SizeClass;
use sqlx::any::AnyRow;

const VEHICLE_COLUMNS: &str = "id, code, name, kind, battery_wh, consumption_wh_per_km, speed_limit_kmh, \
     operating_areas, station_ids, depot_lat_e6, depot_lon_e6, driver, status, created_at";
const MISSION_COLUMNS: &str =
    "id, vehicle_id, status, planned_departure, created_at, created_by, started_at, ended_at";
const STOP_COLUMNS: &str = "id, mission_id, seq, station_id, lat_e6, lon_e6, planned_arrival, arrived_at, status, \
     collect_from_vehicle, collection_opened_at";
const LOAD_COLUMNS: &str = "id, mission_id, stop_id, parcel_id, waybill, compartment, compartment_code, status, loaded_at, ended_at";
const INCIDENT_COLUMNS: &str = "id, vehicle_id, mission_id, rule, subject, opened_at, lat_e6, lon_e6, evidence, command, \
     status, operator_id, closed_at, cause";
const LOG_COLUMNS: &str = "id, incident_id, vehicle_id, at, user_id, username, act, why, what";
const ZONE_COLUMNS: &str = "id, name, kind, polygon, windows, speed_limit_kmh, station_id";

fn opt_time(row: &AnyRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    get::<Option<i64>>(row, column)?.map(time).transpose()
}

fn ids_json(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

fn ids_from(text: &str) -> StoreResult<Vec<i64>> {
    serde_json::from_str(text).map_err(|_| corrupt("id list", text))
}

fn u32_of(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn vehicle_from(row: &AnyRow, compartments: Vec<Compartment>) -> StoreResult<VehicleRecord> {
    let kind: String = get(row, "kind")?;
    let status: String = get(row, "status")?;
    Ok(VehicleRecord {
        id: get(row, "id")?,
        code: get(row, "code")?,
        name: get(row, "name")?,
        kind: VehicleKind::parse(&kind).ok_or_else(|| corrupt("vehicle kind", &kind))?,
        compartments,
        battery_wh: u32_of(get(row, "battery_wh")?),
        consumption_wh_per_km: u32_of(get(row, "consumption_wh_per_km")?),
        speed_limit_kmh: u32_of(get(row, "speed_limit_kmh")?),
        operating_areas: ids_from(&get::<String>(row, "operating_areas")?)?,
        station_ids: ids_from(&get::<String>(row, "station_ids")?)?,
        depot: GeoPoint::from_e6(get(row, "depot_lat_e6")?, get(row, "depot_lon_e6")?),
        driver: get(row, "driver")?,
        status: VehicleStatus::parse(&status).ok_or_else(|| corrupt("vehicle status", &status))?,
        created_at: time(get(row, "created_at")?)?,
    })
}

fn compartment_from(row: &AnyRow) -> StoreResult<(i64, Compartment)> {
    let size: String = get(row, "size")?;
    Ok((
        get(row, "vehicle_id")?,
        Compartment {
            number: u32_of(get(row, "number")?),
            size: SizeClass::parse(&size).map_err(|_| corrupt("compartment size", &size))?,
        },
    ))
}

fn mission_from(row: &AnyRow) -> StoreResult<MissionRecord> {
    let status: String = get(row, "status")?;
    Ok(MissionRecord {
        id: get(row, "id")?,
        vehicle_id: get(row, "vehicle_id")?,
        status: MissionStatus::parse(&status).ok_or_else(|| corrupt("mission status", &status))?,
        planned_departure: time(get(row, "planned_departure")?)?,
        created_at: time(get(row, "created_at")?)?,
        created_by: get(row, "created_by")?,
        started_at: opt_time(row, "started_at")?,
        ended_at: opt_time(row, "ended_at")?,
    })
}

fn stop_from(row: &AnyRow) -> StoreResult<MissionStopRecord> {
    Ok(MissionStopRecord {
        id: get(row, "id")?,
        mission_id: get(row, "mission_id")?,
        seq: u32_of(get(row, "seq")?),
        station_id: get(row, "station_id")?,
        location: GeoPoint::from_e6(get(row, "lat_e6")?, get(row, "lon_e6")?),
        planned_arrival: time(get(row, "planned_arrival")?)?,
        arrived_at: opt_time(row, "arrived_at")?,
        status: get(row, "status")?,
        collect_from_vehicle: get::<i64>(row, "collect_from_vehicle")? != 0,
        collection_opened_at: opt_time(row, "collection_opened_at")?,
    })
}

fn load_from(row: &AnyRow) -> StoreResult<MissionParcelRecord> {
    let status: String = get(row, "status")?;
    Ok(MissionParcelRecord {
        id: get(row, "id")?,
        mission_id: get(row, "mission_id")?,
        stop_id: get(row, "stop_id")?,
        parcel_id: get(row, "parcel_id")?,
        waybill: get(row, "waybill")?,
        compartment: get::<Option<i64>>(row, "compartment")?.map(u32_of),
        compartment_code: get(row, "compartment_code")?,
        status: LoadStatus::parse(&status).ok_or_else(|| corrupt("load status", &status))?,
        loaded_at: opt_time(row, "loaded_at")?,
        ended_at: opt_time(row, "ended_at")?,
    })
}

fn incident_from(row: &AnyRow) -> StoreResult<IncidentRecord> {
    let status: String = get(row, "status")?;
    Ok(IncidentRecord {
        id: get(row, "id")?,
        vehicle_id: get(row, "vehicle_id")?,
        mission_id: get(row, "mission_id")?,
        rule: get(row, "rule")?,
        subject: get(row, "subject")?,
        opened_at: time(get(row, "opened_at")?)?,
        position: GeoPoint::from_e6(get(row, "lat_e6")?, get(row, "lon_e6")?),
        evidence: get(row, "evidence")?,
        command: get(row, "command")?,
        status: IncidentStatus::parse(&status)
            .ok_or_else(|| corrupt("incident status", &status))?,
        operator_id: get(row, "operator_id")?,
        closed_at: opt_time(row, "closed_at")?,
        cause: get(row, "cause")?,
    })
}

fn log_from(row: &AnyRow) -> StoreResult<IncidentLogEntry> {
    let act: String = get(row, "act")?;
    Ok(IncidentLogEntry {
        id: get(row, "id")?,
        incident_id: get(row, "incident_id")?,
        vehicle_id: get(row, "vehicle_id")?,
        at: time(get(row, "at")?)?,
        user_id: get(row, "user_id")?,
        username: get(row, "username")?,
        act: IncidentAct::parse(&act).ok_or_else(|| corrupt("incident act", &act))?,
        why: get(row, "why")?,
        what: get(row, "what")?,
    })
}

fn zone_from(row: &AnyRow) -> StoreResult<Zone> {
    let kind: String = get(row, "kind")?;
    let polygon: String = get(row, "polygon")?;
    let windows: String = get(row, "windows")?;
    Ok(Zone {
        id: get(row, "id")?,
        name: get(row, "name")?,
        kind: ZoneKind::parse(&kind).ok_or_else(|| corrupt("zone kind", &kind))?,
        area: serde_json::from_str(&polygon).map_err(|_| corrupt("zone polygon", &polygon))?,
        speed_limit_kmh: get::<Option<i64>>(row, "speed_limit_kmh")?.map(u32_of),
        windows: serde_json::from_str(&windows).map_err(|_| corrupt("zone windows", &windows))?,
        station_id: get(row, "station_id")?,
    })
}

impl DbTx {
    async fn compartments_of(&mut self, vehicle_id: i64) -> StoreResult<Vec<Compartment>> {
        let rows = sqlx::query(
            "SELECT vehicle_id, number, size FROM vehicle_compartments WHERE vehicle_id = $1 ORDER BY number",
        )
        .bind(vehicle_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| compartment_from(row).map(|(_, c)| c))
            .collect()
    }
}

#[async_trait]
impl FleetTx for DbTx {
    async fn insert_vehicle(
        &mut self,
        vehicle: &NewVehicle,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let (lat_e6, lon_e6) = vehicle.depot.to_e6();
        let row = sqlx::query(
            "INSERT INTO vehicles (code, name, kind, battery_wh, consumption_wh_per_km, speed_limit_kmh, operating_areas, \
             station_ids, depot_lat_e6, depot_lon_e6, driver, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'available', $12) RETURNING id",
        )
        .bind(vehicle.code.clone())
        .bind(vehicle.name.trim().to_string())
        .bind(vehicle.kind.code())
        .bind(i64::from(vehicle.battery_wh))
        .bind(i64::from(vehicle.consumption_wh_per_km))
        .bind(i64::from(vehicle.speed_limit_kmh))
        .bind(ids_json(&vehicle.operating_areas))
        .bind(ids_json(&vehicle.station_ids))
        .bind(lat_e6)
        .bind(lon_e6)
        .bind(vehicle.driver.clone())
        .bind(ms(now))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        let id: i64 = get(&row, "id")?;
        for compartment in &vehicle.compartments {
            sqlx::query(
                "INSERT INTO vehicle_compartments (vehicle_id, number, size) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(i64::from(compartment.number))
            .bind(compartment.size.code())
            .execute(&mut *self.tx)
            .await
            .map_err(backend_error)?;
        }
        Ok(id)
    }

    async fn vehicle_for_update(&mut self, id: i64) -> StoreResult<Option<VehicleRecord>> {
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let Some(row) = self
            .optional(
                sqlx::query(&format!(
                    "SELECT {VEHICLE_COLUMNS} FROM vehicles WHERE id = $1{lock}"
                ))
                .bind(id),
            )
            .await?
        else {
            return Ok(None);
        };
        let compartments = self.compartments_of(id).await?;
        vehicle_from(&row, compartments).map(Some)
    }

    async fn set_vehicle_status(&mut self, id: i64, status: VehicleStatus) -> StoreResult<()> {
        self.execute(
            sqlx::query("UPDATE vehicles SET status = $1 WHERE id = $2")
                .bind(status.code())
                .bind(id),
        )
        .await?;
        Ok(())
    }

    async fn insert_zone(&mut self, zone: &Zone, now: DateTime<Utc>) -> StoreResult<i64> {
        let polygon = serde_json::to_string(&zone.area)
            .map_err(|e| StoreError::Backend(format!("zone polygon: {e}")))?;
        let windows = serde_json::to_string(&zone.windows)
            .map_err(|e| StoreError::Backend(format!("zone windows: {e}")))?;
        let row = sqlx::query(
            "INSERT INTO fleet_zones (name, kind, polygon, windows, speed_limit_kmh, station_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(zone.name.trim().to_string())
        .bind(zone.kind.code())
        .bind(polygon)
        .bind(windows)
        .bind(zone.speed_limit_kmh.map(i64::from))
        .bind(zone.station_id)
        .bind(ms(now))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        get(&row, "id")
    }

    async fn insert_mission(
        &mut self,
        mission: &NewMission,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO missions (vehicle_id, status, planned_departure, created_at, created_by) \
             VALUES ($1, 'planned', $2, $3, $4) RETURNING id",
        )
        .bind(mission.vehicle_id)
        .bind(ms(mission.planned_departure))
        .bind(ms(now))
        .bind(mission.created_by.clone())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        let mission_id: i64 = get(&row, "id")?;
        for (seq, stop) in mission.stops.iter().enumerate() {
            let (lat_e6, lon_e6) = stop.location.to_e6();
            let row = sqlx::query(
                "INSERT INTO mission_stops (mission_id, seq, station_id, lat_e6, lon_e6, planned_arrival, status, \
                 collect_from_vehicle) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) RETURNING id",
            )
            .bind(mission_id)
            .bind(seq as i64 + 1)
            .bind(stop.station_id)
            .bind(lat_e6)
            .bind(lon_e6)
            .bind(ms(stop.planned_arrival))
            .bind(i64::from(stop.collect_from_vehicle))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(backend_error)?;
            let stop_id: i64 = get(&row, "id")?;
            for parcel in &stop.parcels {
                sqlx::query(
                    "INSERT INTO mission_parcels (mission_id, stop_id, parcel_id, waybill, compartment, compartment_code, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(mission_id)
                .bind(stop_id)
                .bind(parcel.parcel_id)
                .bind(parcel.waybill.clone())
                .bind(parcel.compartment.map(i64::from))
                .bind(parcel.compartment_code.clone())
                .bind(parcel.status.code())
                .execute(&mut *self.tx)
                .await
                .map_err(backend_error)?;
            }
        }
        Ok(mission_id)
    }

    async fn mission_in(&mut self, id: i64) -> StoreResult<Option<MissionRecord>> {
        self.optional(
            sqlx::query(&format!(
                "SELECT {MISSION_COLUMNS} FROM missions WHERE id = $1"
            ))
            .bind(id),
        )
        .await?
        .map(|row| mission_from(&row))
        .transpose()
    }

    async fn set_mission_status(
        &mut self,
        id: i64,
        status: MissionStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sql = match status {
            MissionStatus::UnderWay => {
                "UPDATE missions SET status = $1, started_at = $2 WHERE id = $3"
            }
            MissionStatus::Done | MissionStatus::Cancelled => {
                "UPDATE missions SET status = $1, ended_at = $2 WHERE id = $3"
            }
            // Nothing goes back to planned.
            MissionStatus::Planned => return Ok(()),
        };
        self.execute(sqlx::query(sql).bind(status.code()).bind(ms(now)).bind(id))
            .await?;
        Ok(())
    }

    async fn mission_stops_in(&mut self, mission_id: i64) -> StoreResult<Vec<MissionStopRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {STOP_COLUMNS} FROM mission_stops WHERE mission_id = $1 ORDER BY seq"
        ))
        .bind(mission_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        rows.iter().map(stop_from).collect()
    }

    async fn mission_parcels_in(
        &mut self,
        mission_id: i64,
    ) -> StoreResult<Vec<MissionParcelRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {LOAD_COLUMNS} FROM mission_parcels WHERE mission_id = $1 ORDER BY id"
        ))
        .bind(mission_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        rows.iter().map(load_from).collect()
    }

    async fn set_load_status(
        &mut self,
        mission_parcel_id: i64,
        from: LoadStatus,
        to: LoadStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let sql = if to == LoadStatus::Loaded {
            "UPDATE mission_parcels SET status = $1, loaded_at = $2 WHERE id = $3 AND status = $4"
        } else {
            "UPDATE mission_parcels SET status = $1, ended_at = $2 WHERE id = $3 AND status = $4"
        };
        let changed = self
            .execute(
                sqlx::query(sql)
                    .bind(to.code())
                    .bind(ms(now))
                    .bind(mission_parcel_id)
                    .bind(from.code()),
            )
            .await?;
        Ok(changed == 1)
    }

    async fn set_stop_status(
        &mut self,
        stop_id: i64,
        status: &str,
        arrived_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        self.execute(
            sqlx::query(
                "UPDATE mission_stops SET status = $1, arrived_at = COALESCE($2, arrived_at) WHERE id = $3",
            )
            .bind(status.to_string())
            .bind(arrived_at.map(ms))
            .bind(stop_id),
        )
        .await?;
        Ok(())
    }

    async fn open_stop_for_collection(
        &mut self,
        stop_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed = self
            .execute(
                sqlx::query(
                    "UPDATE mission_stops SET collection_opened_at = $1, arrived_at = COALESCE(arrived_at, $2) \
                     WHERE id = $3 AND status = 'pending' AND collect_from_vehicle = 1 \
                     AND collection_opened_at IS NULL",
                )
                .bind(ms(now))
                .bind(ms(now))
                .bind(stop_id),
            )
            .await?;
        Ok(changed == 1)
    }

    async fn insert_incident(&mut self, incident: &NewIncident) -> StoreResult<Option<i64>> {
        let (lat_e6, lon_e6) = incident.position.to_e6();
        let row = self
            .optional(
                sqlx::query(
                    "INSERT INTO vehicle_incidents (vehicle_id, mission_id, rule, subject, opened_at, lat_e6, lon_e6, evidence, command, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open') \
                     ON CONFLICT (vehicle_id, rule, subject, opened_at) DO NOTHING RETURNING id",
                )
                .bind(incident.vehicle_id)
                .bind(incident.mission_id)
                .bind(incident.rule.clone())
                .bind(incident.subject.clone())
                .bind(ms(incident.opened_at))
                .bind(lat_e6)
                .bind(lon_e6)
                .bind(incident.evidence.clone())
                .bind(incident.command.clone()),
            )
            .await?;
        row.map(|row| get(&row, "id")).transpose()
    }

    async fn incident_in(&mut self, id: i64) -> StoreResult<Option<IncidentRecord>> {
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        self.optional(
            sqlx::query(&format!(
                "SELECT {INCIDENT_COLUMNS} FROM vehicle_incidents WHERE id = $1{lock}"
            ))
            .bind(id),
        )
        .await?
        .map(|row| incident_from(&row))
        .transpose()
    }

    async fn set_incident_status(
        &mut self,
        id: i64,
        from: IncidentStatus,
        to: IncidentStatus,
        operator_id: Option<i64>,
        cause: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let changed = self
            .execute(
                sqlx::query(
                    "UPDATE vehicle_incidents SET status = $1, operator_id = $2, cause = COALESCE($3, cause), \
                     closed_at = CASE WHEN $1 = 'closed' THEN $4 ELSE closed_at END \
                     WHERE id = $5 AND status = $6",
                )
                .bind(to.code())
                .bind(operator_id)
                .bind(cause.map(str::to_string))
                .bind(ms(now))
                .bind(id)
                .bind(from.code()),
            )
            .await?;
        Ok(changed == 1)
    }

    async fn append_incident_log(&mut self, entry: &IncidentLogEntry) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO incident_log (incident_id, vehicle_id, at, user_id, username, act, why, what) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(entry.incident_id)
        .bind(entry.vehicle_id)
        .bind(ms(entry.at))
        .bind(entry.user_id)
        .bind(entry.username.clone())
        .bind(entry.act.code())
        .bind(entry.why.clone())
        .bind(entry.what.clone())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(backend_error)?;
        get(&row, "id")
    }

    async fn set_vehicle_position(&mut self, position: &VehiclePosition) -> StoreResult<()> {
        let (lat_e6, lon_e6) = position.position.to_e6();
        self.execute(
            sqlx::query(
                "INSERT INTO vehicle_positions (vehicle_id, at, lat_e6, lon_e6, speed_dkmh, battery_pct) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (vehicle_id) DO UPDATE SET at = excluded.at, lat_e6 = excluded.lat_e6, \
                 lon_e6 = excluded.lon_e6, speed_dkmh = excluded.speed_dkmh, battery_pct = excluded.battery_pct \
                 WHERE excluded.at > vehicle_positions.at",
            )
            .bind(position.vehicle_id)
            .bind(ms(position.at))
            .bind(lat_e6)
            .bind(lon_e6)
            .bind((position.speed_kmh * 10.0).round() as i64)
            .bind(i64::from(position.battery_pct)),
        )
        .await?;
        Ok(())
    }
}

impl Db {
    async fn with_compartments(&self, rows: Vec<AnyRow>) -> StoreResult<Vec<VehicleRecord>> {
        let compartment_rows = sqlx::query(
            "SELECT vehicle_id, number, size FROM vehicle_compartments ORDER BY vehicle_id, number",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        let mut by_vehicle: std::collections::HashMap<i64, Vec<Compartment>> =
            std::collections::HashMap::new();
        for row in &compartment_rows {
            let (vehicle_id, compartment) = compartment_from(row)?;
            by_vehicle.entry(vehicle_id).or_default().push(compartment);
        }
        rows.iter()
            .map(|row| {
                let id: i64 = get(row, "id")?;
                vehicle_from(row, by_vehicle.remove(&id).unwrap_or_default())
            })
            .collect()
    }
}

#[async_trait]
impl FleetStore for Db {
    async fn vehicles(&self) -> StoreResult<Vec<VehicleRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {VEHICLE_COLUMNS} FROM vehicles ORDER BY id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        self.with_compartments(rows).await
    }

    async fn vehicle(&self, id: i64) -> StoreResult<Option<VehicleRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {VEHICLE_COLUMNS} FROM vehicles WHERE id = $1"
        ))
        .bind(id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        Ok(self.with_compartments(rows).await?.pop())
    }

    async fn vehicle_by_code(&self, code: &str) -> StoreResult<Option<VehicleRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {VEHICLE_COLUMNS} FROM vehicles WHERE code = $1"
        ))
        .bind(code.to_string())
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        Ok(self.with_compartments(rows).await?.pop())
    }

    async fn zones(&self) -> StoreResult<Vec<Zone>> {
        let rows = sqlx::query(&format!(
            "SELECT {ZONE_COLUMNS} FROM fleet_zones ORDER BY id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(zone_from).collect()
    }

    async fn missions(&self, active_only: bool, limit: u32) -> StoreResult<Vec<MissionRecord>> {
        let filter = if active_only {
            "WHERE status IN ('planned', 'under_way') "
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT {MISSION_COLUMNS} FROM missions {filter}ORDER BY id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(mission_from).collect()
    }

    async fn mission(&self, id: i64) -> StoreResult<Option<MissionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {MISSION_COLUMNS} FROM missions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.map(|row| mission_from(&row)).transpose()
    }

    async fn active_mission(&self, vehicle_id: i64) -> StoreResult<Option<MissionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {MISSION_COLUMNS} FROM missions WHERE vehicle_id = $1 AND status IN ('planned', 'under_way')"
        ))
        .bind(vehicle_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.map(|row| mission_from(&row)).transpose()
    }

    async fn mission_stops(&self, mission_id: i64) -> StoreResult<Vec<MissionStopRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {STOP_COLUMNS} FROM mission_stops WHERE mission_id = $1 ORDER BY seq"
        ))
        .bind(mission_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(stop_from).collect()
    }

    async fn mission_parcels(&self, mission_id: i64) -> StoreResult<Vec<MissionParcelRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {LOAD_COLUMNS} FROM mission_parcels WHERE mission_id = $1 ORDER BY id"
        ))
        .bind(mission_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(load_from).collect()
    }

    async fn incidents(
        &self,
        after_id: Option<i64>,
        open_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<IncidentRecord>> {
        let filter = if open_only {
            " AND status <> 'closed'"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM vehicle_incidents WHERE id > $1{filter} ORDER BY id LIMIT $2"
        ))
        .bind(after_id.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(incident_from).collect()
    }

    async fn vehicle_taken_over(&self, vehicle_id: i64) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT id FROM vehicle_incidents WHERE vehicle_id = $1 AND status = 'taken_over' LIMIT 1",
        )
        .bind(vehicle_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        Ok(row.is_some())
    }

    async fn incident(&self, id: i64) -> StoreResult<Option<IncidentRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM vehicle_incidents WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend_error)?;
        row.map(|row| incident_from(&row)).transpose()
    }

    async fn incident_log(&self, incident_id: i64) -> StoreResult<Vec<IncidentLogEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {LOG_COLUMNS} FROM incident_log WHERE incident_id = $1 ORDER BY id"
        ))
        .bind(incident_id)
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter().map(log_from).collect()
    }

    async fn vehicle_positions(&self) -> StoreResult<Vec<VehiclePosition>> {
        let rows = sqlx::query(
            "SELECT vehicle_id, at, lat_e6, lon_e6, speed_dkmh, battery_pct FROM vehicle_positions ORDER BY vehicle_id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(backend_error)?;
        rows.iter()
            .map(|row| {
                Ok(VehiclePosition {
                    vehicle_id: get(row, "vehicle_id")?,
                    at: time(get(row, "at")?)?,
                    position: GeoPoint::from_e6(get(row, "lat_e6")?, get(row, "lon_e6")?),
                    speed_kmh: get::<i64>(row, "speed_dkmh")? as f64 / 10.0,
                    battery_pct: u32_of(get(row, "battery_pct")?),
                })
            })
            .collect()
    }
}

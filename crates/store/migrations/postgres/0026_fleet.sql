-- Vehicles, geofences and missions (issue 20, branch vehicles). A vehicle
-- is a van or an unmanned vehicle with numbered compartments; zones are the
-- safe-driving system's geofences (domain::fleet); a mission is one
-- vehicle's ordered stops with the parcels loaded per compartment.
CREATE TABLE vehicles (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('van', 'unmanned')),
    battery_wh BIGINT NOT NULL,
    consumption_wh_per_km BIGINT NOT NULL,
    speed_limit_kmh BIGINT NOT NULL,
    -- JSON arrays of ids: operating areas it is cleared for, stations it may
    -- serve (empty: every one).
    operating_areas TEXT NOT NULL,
    station_ids TEXT NOT NULL,
    depot_lat_e6 BIGINT NOT NULL,
    depot_lon_e6 BIGINT NOT NULL,
    driver TEXT,
    status TEXT NOT NULL CHECK (status IN ('available', 'on_mission', 'broken_down', 'retired')),
    created_at BIGINT NOT NULL
);
CREATE TABLE vehicle_compartments (
    vehicle_id BIGINT NOT NULL REFERENCES vehicles(id),
    number BIGINT NOT NULL,
    size TEXT NOT NULL CHECK (size IN ('small', 'medium', 'large')),
    PRIMARY KEY (vehicle_id, number)
);
CREATE TABLE fleet_zones (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- JSON [[lon, lat], ...] and [{weekdays, start_minute, end_minute}, ...]
    polygon TEXT NOT NULL,
    windows TEXT NOT NULL,
    speed_limit_kmh BIGINT,
    station_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE TABLE missions (
    id BIGSERIAL PRIMARY KEY,
    vehicle_id BIGINT NOT NULL REFERENCES vehicles(id),
    status TEXT NOT NULL CHECK (status IN ('planned', 'under_way', 'done', 'cancelled')),
    planned_departure BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT
);
-- One mission at a time per vehicle.
CREATE UNIQUE INDEX missions_one_active ON missions (vehicle_id) WHERE status IN ('planned', 'under_way');
CREATE TABLE mission_stops (
    id BIGSERIAL PRIMARY KEY,
    mission_id BIGINT NOT NULL REFERENCES missions(id),
    seq BIGINT NOT NULL,
    station_id BIGINT NOT NULL,
    lat_e6 BIGINT NOT NULL,
    lon_e6 BIGINT NOT NULL,
    planned_arrival BIGINT NOT NULL,
    arrived_at BIGINT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'moved')),
    UNIQUE (mission_id, seq)
);
CREATE TABLE mission_parcels (
    id BIGSERIAL PRIMARY KEY,
    mission_id BIGINT NOT NULL REFERENCES missions(id),
    stop_id BIGINT NOT NULL REFERENCES mission_stops(id),
    parcel_id BIGINT NOT NULL,
    waybill TEXT NOT NULL,
    compartment BIGINT,
    compartment_code TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'loaded', 'handed_over', 'moved', 'returned')),
    loaded_at BIGINT,
    ended_at BIGINT
);
-- A parcel is aboard (or planned aboard) at most one vehicle; a compartment
-- holds at most one parcel at a time.
CREATE UNIQUE INDEX mission_parcels_one_active ON mission_parcels (parcel_id) WHERE status IN ('planned', 'loaded');
CREATE UNIQUE INDEX mission_parcels_compartment ON mission_parcels (mission_id, compartment) WHERE status IN ('planned', 'loaded') AND compartment IS NOT NULL;
CREATE INDEX mission_parcels_mission ON mission_parcels (mission_id, stop_id);

-- The safe-driving system's incidents (issue 20, branch vehicles): one row
-- per incident the rules raised (domain::fleet::rules), with its evidence;
-- the take-over log says who took a vehicle over, acted, handed it back and
-- closed the incident, when, why and what, and is append-only; the latest
-- telemetry per vehicle feeds the map.
CREATE TABLE vehicle_incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vehicle_id INTEGER NOT NULL REFERENCES vehicles(id),
    mission_id INTEGER,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    lat_e6 INTEGER NOT NULL,
    lon_e6 INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    command TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'taken_over', 'closed')),
    operator_id INTEGER,
    closed_at INTEGER,
    cause TEXT,
    UNIQUE (vehicle_id, rule, subject, opened_at)
);
CREATE INDEX vehicle_incidents_open ON vehicle_incidents (vehicle_id) WHERE status <> 'closed';
-- At most one take-over at a time per vehicle.
CREATE UNIQUE INDEX vehicle_incidents_one_takeover ON vehicle_incidents (vehicle_id) WHERE status = 'taken_over';
CREATE TABLE incident_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES vehicle_incidents(id),
    vehicle_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    user_id INTEGER,
    username TEXT NOT NULL,
    act TEXT NOT NULL CHECK (act IN ('taken_over', 'acted', 'handed_back', 'closed')),
    why TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX incident_log_incident ON incident_log (incident_id, id);
CREATE TRIGGER incident_log_no_update BEFORE UPDATE ON incident_log
BEGIN
    SELECT RAISE(ABORT, 'the incident log is append-only');
END;
CREATE TRIGGER incident_log_no_delete BEFORE DELETE ON incident_log
BEGIN
    SELECT RAISE(ABORT, 'the incident log is append-only');
END;
CREATE TABLE vehicle_positions (
    vehicle_id INTEGER PRIMARY KEY REFERENCES vehicles(id),
    at INTEGER NOT NULL,
    lat_e6 INTEGER NOT NULL,
    lon_e6 INTEGER NOT NULL,
    speed_dkmh INTEGER NOT NULL,
    battery_pct INTEGER NOT NULL
);

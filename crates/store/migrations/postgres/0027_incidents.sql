-- The safe-driving system's incidents (issue 20, branch vehicles): one row
-- per incident the rules raised (domain::fleet::rules), with its evidence;
-- the take-over log says who took a vehicle over, acted, handed it back and
-- closed the incident, when, why and what, and is append-only; the latest
-- telemetry per vehicle feeds the map.
CREATE TABLE vehicle_incidents (
    id BIGSERIAL PRIMARY KEY,
    vehicle_id BIGINT NOT NULL REFERENCES vehicles(id),
    mission_id BIGINT,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    lat_e6 BIGINT NOT NULL,
    lon_e6 BIGINT NOT NULL,
    evidence TEXT NOT NULL,
    command TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'taken_over', 'closed')),
    operator_id BIGINT,
    closed_at BIGINT,
    cause TEXT,
    UNIQUE (vehicle_id, rule, subject, opened_at)
);
CREATE INDEX vehicle_incidents_open ON vehicle_incidents (vehicle_id) WHERE status <> 'closed';
-- At most one take-over at a time per vehicle.
CREATE UNIQUE INDEX vehicle_incidents_one_takeover ON vehicle_incidents (vehicle_id) WHERE status = 'taken_over';
CREATE TABLE incident_log (
    id BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES vehicle_incidents(id),
    vehicle_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    user_id BIGINT,
    username TEXT NOT NULL,
    act TEXT NOT NULL CHECK (act IN ('taken_over', 'acted', 'handed_back', 'closed')),
    why TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX incident_log_incident ON incident_log (incident_id, id);
CREATE FUNCTION incident_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the incident log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER incident_log_no_change BEFORE UPDATE OR DELETE ON incident_log
    FOR EACH ROW EXECUTE FUNCTION incident_log_append_only();
CREATE TABLE vehicle_positions (
    vehicle_id BIGINT PRIMARY KEY REFERENCES vehicles(id),
    at BIGINT NOT NULL,
    lat_e6 BIGINT NOT NULL,
    lon_e6 BIGINT NOT NULL,
    speed_dkmh BIGINT NOT NULL,
    battery_pct BIGINT NOT NULL
);

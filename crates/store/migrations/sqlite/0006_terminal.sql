-- The 24-hour station: self-service pickup sessions at the door terminal,
-- code attempts (for throttling), alerts to the keeper, device liveness as
-- the bridge last heard it, and the server's own signing keys.

-- Random keys the server signs with (QR codes in messages, console CSRF
-- tokens). Created on first start; never logged, never sent.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- One customer at the terminal: the parcels they may take, the colour their
-- slots light in, and how the session ended.
CREATE TABLE pickup_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id INTEGER NOT NULL REFERENCES stations(id),
    terminal TEXT NOT NULL,
    colour TEXT NOT NULL,
    -- JSON array of {parcel_id, segment, slot}: what the customer may take
    -- and which light segment shows it
    items TEXT NOT NULL,
    -- open, done (everything taken), ended (by the customer), expired (idle)
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    ended_at INTEGER
);
-- No two customers at a station see the same colour at the same time.
CREATE UNIQUE INDEX pickup_sessions_open_colour ON pickup_sessions (station_id, colour) WHERE state = 'open';
CREATE INDEX pickup_sessions_open ON pickup_sessions (state, last_activity_at);

-- Every code entered at a terminal, kept for throttling and for the keeper.
CREATE TABLE code_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id INTEGER NOT NULL,
    terminal TEXT NOT NULL,
    -- the phone tail typed with the code, if any (four digits, not a number)
    phone_tail TEXT,
    succeeded INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX code_attempts_terminal ON code_attempts (station_id, terminal, at);
CREATE INDEX code_attempts_tail ON code_attempts (station_id, phone_tail, at);

-- What the keeper should look at: repeated failed codes, wrong parcels.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT
);
CREATE INDEX alerts_station ON alerts (station_id, at);

-- Device liveness as the MQTT bridge last heard it (retained state and
-- last wills), so any server process can show offline devices.
CREATE TABLE device_status (
    state_topic TEXT PRIMARY KEY,
    station_id INTEGER NOT NULL,
    device_kind TEXT NOT NULL,
    device_id TEXT NOT NULL,
    online INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX device_status_station ON device_status (station_id);

-- The keeper's day summary counts events per station and day.
CREATE INDEX parcel_events_station_at ON parcel_events (station_id, at);

-- The parcel spine. Times are Unix milliseconds (UTC); money is integer fen.
CREATE TABLE stations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    township TEXT NOT NULL,
    division_code TEXT,
    code_format TEXT NOT NULL,
    holding_days INTEGER NOT NULL,
    reminder_days TEXT NOT NULL,
    next_seq INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

CREATE TABLE slots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id INTEGER NOT NULL REFERENCES stations(id),
    shelf TEXT NOT NULL,
    tier INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    size TEXT NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 1),
    UNIQUE (station_id, shelf, tier, slot)
);

CREATE TABLE parcels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    carrier TEXT NOT NULL,
    waybill TEXT NOT NULL,
    state TEXT NOT NULL,
    problem TEXT,
    recipient_name TEXT,
    phone TEXT,
    phone_tail TEXT,
    address TEXT,
    size TEXT NOT NULL,
    consent INTEGER NOT NULL DEFAULT 0,
    station_id INTEGER REFERENCES stations(id),
    slot_id INTEGER REFERENCES slots(id),
    pickup_code TEXT,
    stored_at INTEGER,
    reminders_sent TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    UNIQUE (carrier, waybill),
    CHECK (state <> 'stored' OR (pickup_code IS NOT NULL AND slot_id IS NOT NULL))
);
-- An active pickup code is unique within its station.
CREATE UNIQUE INDEX parcels_active_code ON parcels (station_id, pickup_code) WHERE state = 'stored';
CREATE INDEX parcels_station_state ON parcels (station_id, state, id);
CREATE INDEX parcels_tail ON parcels (station_id, phone_tail);
CREATE INDEX parcels_waybill ON parcels (waybill);

-- One row per unit of a slot's capacity: the database itself refuses to put
-- more parcels on a slot than it was sized for, or one parcel in two places.
CREATE TABLE slot_places (
    slot_id INTEGER NOT NULL REFERENCES slots(id),
    place INTEGER NOT NULL,
    station_id INTEGER NOT NULL REFERENCES stations(id),
    -- The slot's size, copied so that finding the first free place of a
    -- size is one index seek, not a sort of every free place.
    size TEXT NOT NULL,
    parcel_id INTEGER UNIQUE REFERENCES parcels(id),
    PRIMARY KEY (slot_id, place)
);
CREATE INDEX slot_places_free ON slot_places (station_id, size, parcel_id, slot_id, place);

CREATE TABLE parcel_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parcel_id INTEGER NOT NULL REFERENCES parcels(id),
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    station_id INTEGER,
    idempotency_key TEXT NOT NULL UNIQUE,
    details TEXT NOT NULL
);
CREATE INDEX parcel_events_parcel ON parcel_events (parcel_id, id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    merge_key TEXT,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    available_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER,
    gave_up INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, gave_up, available_at);

CREATE TABLE consents (
    phone TEXT PRIMARY KEY,
    station_ok INTEGER NOT NULL,
    source TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    carrier TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE user_stations (
    user_id INTEGER NOT NULL REFERENCES users(id),
    station_id INTEGER NOT NULL REFERENCES stations(id),
    PRIMARY KEY (user_id, station_id)
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- The parcel spine. Times are Unix milliseconds (UTC); money is integer fen.
CREATE TABLE stations (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    township TEXT NOT NULL,
    division_code TEXT,
    code_format TEXT NOT NULL,
    holding_days BIGINT NOT NULL,
    reminder_days TEXT NOT NULL,
    next_seq BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE slots (
    id BIGSERIAL PRIMARY KEY,
    station_id BIGINT NOT NULL REFERENCES stations(id),
    shelf TEXT NOT NULL,
    tier BIGINT NOT NULL,
    slot BIGINT NOT NULL,
    size TEXT NOT NULL,
    capacity BIGINT NOT NULL CHECK (capacity >= 1),
    UNIQUE (station_id, shelf, tier, slot)
);

CREATE TABLE parcels (
    id BIGSERIAL PRIMARY KEY,
    carrier TEXT NOT NULL,
    waybill TEXT NOT NULL,
    state TEXT NOT NULL,
    problem TEXT,
    recipient_name TEXT,
    phone TEXT,
    phone_tail TEXT,
    address TEXT,
    size TEXT NOT NULL,
    consent BIGINT NOT NULL DEFAULT 0,
    station_id BIGINT REFERENCES stations(id),
    slot_id BIGINT REFERENCES slots(id),
    pickup_code TEXT,
    stored_at BIGINT,
    reminders_sent TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
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
    slot_id BIGINT NOT NULL REFERENCES slots(id),
    place BIGINT NOT NULL,
    station_id BIGINT NOT NULL REFERENCES stations(id),
    -- The slot's size, copied so that finding the first free place of a
    -- size is one index seek, not a sort of every free place.
    size TEXT NOT NULL,
    parcel_id BIGINT UNIQUE REFERENCES parcels(id),
    PRIMARY KEY (slot_id, place)
);
CREATE INDEX slot_places_free ON slot_places (station_id, size, parcel_id, slot_id, place);

CREATE TABLE parcel_events (
    id BIGSERIAL PRIMARY KEY,
    parcel_id BIGINT NOT NULL REFERENCES parcels(id),
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    station_id BIGINT,
    idempotency_key TEXT NOT NULL UNIQUE,
    details TEXT NOT NULL
);
CREATE INDEX parcel_events_parcel ON parcel_events (parcel_id, id);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    merge_key TEXT,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    available_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT,
    gave_up BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, gave_up, available_at);

CREATE TABLE consents (
    phone TEXT PRIMARY KEY,
    station_ok BIGINT NOT NULL,
    source TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    carrier TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_stations (
    user_id BIGINT NOT NULL REFERENCES users(id),
    station_id BIGINT NOT NULL REFERENCES stations(id),
    PRIMARY KEY (user_id, station_id)
);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

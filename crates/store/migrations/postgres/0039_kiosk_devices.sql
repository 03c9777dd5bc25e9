-- The kiosk's devices and screen (issue 14, branch kiosk-dev). A kiosk's
-- controller, scale, drop-bin sensor, camera and printer speak the device
-- protocol on `yizhan/v1/kiosks/{kiosk}/{kind}/{device}/…` (docs/devices.md,
-- "Kiosks"). Times are Unix milliseconds.

-- The kiosks' device registry: a kiosk belongs to the county, not to a
-- station, so its devices have their own table beside `devices` with the
-- same shape (kind, id, credential reference, last seen, retirement) and
-- what the kiosk's devices report (online, the bin's fill, the paper).
CREATE TABLE kiosk_devices (
    id BIGSERIAL PRIMARY KEY,
    kiosk_id BIGINT NOT NULL REFERENCES kiosks(id),
    kind TEXT NOT NULL CHECK (kind IN ('controller', 'scale', 'bin', 'camera', 'printer')),
    device_id TEXT NOT NULL,
    model TEXT,
    firmware TEXT,
    credential_ref TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    registered_by TEXT NOT NULL,
    last_seen_at BIGINT,
    online BIGINT NOT NULL DEFAULT 0,
    -- the bin: how full (0-100) and since when its sensor says full
    fill_pct BIGINT,
    full_since BIGINT,
    -- the printer: ok, low, out
    paper TEXT,
    retired_at BIGINT
);
CREATE UNIQUE INDEX kiosk_devices_active ON kiosk_devices (kiosk_id, kind, device_id) WHERE retired_at IS NULL;

-- What the devices reported that matters to an order: the scale's settled
-- weights, the bin's drops (with the order they name, when they name one of
-- the kiosk's), and the bin's full and emptied moments. Append-only.
CREATE TABLE kiosk_device_events (
    id BIGSERIAL PRIMARY KEY,
    kiosk_id BIGINT NOT NULL REFERENCES kiosks(id),
    kind TEXT NOT NULL CHECK (kind IN ('weight', 'drop', 'bin_full', 'bin_ok')),
    device_id TEXT NOT NULL,
    grams BIGINT,
    fill_pct BIGINT,
    ref_text TEXT,
    order_id BIGINT,
    at BIGINT NOT NULL
);
CREATE INDEX kiosk_device_events_kiosk ON kiosk_device_events (kiosk_id, kind, id);
CREATE INDEX kiosk_device_events_order ON kiosk_device_events (order_id);
CREATE FUNCTION kiosk_device_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'kiosk device events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER kiosk_device_events_no_change BEFORE UPDATE OR DELETE ON kiosk_device_events
    FOR EACH ROW EXECUTE FUNCTION kiosk_device_events_append_only();

-- Alerts for the centre and the courier (a bin full: one per incident).
CREATE TABLE kiosk_alerts (
    id BIGSERIAL PRIMARY KEY,
    kiosk_id BIGINT NOT NULL REFERENCES kiosks(id),
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    raised_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX kiosk_alerts_open ON kiosk_alerts (resolved_at, kiosk_id);

-- The camera's captures: the command that asked for a photo, for which
-- order and sender, and the photo the camera posted back (send_photos).
CREATE TABLE kiosk_captures (
    command_id TEXT PRIMARY KEY,
    kiosk_id BIGINT NOT NULL REFERENCES kiosks(id),
    order_id BIGINT NOT NULL,
    sender_id BIGINT NOT NULL,
    requested_at BIGINT NOT NULL,
    photo_id BIGINT,
    received_at BIGINT
);

-- The kiosk's screen, paired by county staff like the door terminal: a
-- device session (the token's SHA-256), not a staff login. Pairing again
-- revokes the earlier screen.
CREATE TABLE kiosk_screens (
    id BIGSERIAL PRIMARY KEY,
    kiosk_id BIGINT NOT NULL REFERENCES kiosks(id),
    token_hash TEXT NOT NULL UNIQUE,
    paired_at BIGINT NOT NULL,
    paired_by TEXT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX kiosk_screens_kiosk ON kiosk_screens (kiosk_id);

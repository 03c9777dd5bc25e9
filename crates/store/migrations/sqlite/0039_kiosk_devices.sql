-- The kiosk's devices and screen (issue 14, branch kiosk-dev). A kiosk's
-- controller, scale, drop-bin sensor, camera and printer speak the device
-- protocol on `yizhan/v1/kiosks/{kiosk}/{kind}/{device}/…` (docs/devices.md,
-- "Kiosks"). Times are Unix milliseconds.

-- The kiosks' device registry: a kiosk belongs to the county, not to a
-- station, so its devices have their own table beside `devices` with the
-- same shape (kind, id, credential reference, last seen, retirement) and
-- what the kiosk's devices report (online, the bin's fill, the paper).
CREATE TABLE kiosk_devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk_id INTEGER NOT NULL REFERENCES kiosks(id),
    kind TEXT NOT NULL CHECK (kind IN ('controller', 'scale', 'bin', 'camera', 'printer')),
    device_id TEXT NOT NULL,
    model TEXT,
    firmware TEXT,
    credential_ref TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    registered_by TEXT NOT NULL,
    last_seen_at INTEGER,
    online INTEGER NOT NULL DEFAULT 0,
    -- the bin: how full (0-100) and since when its sensor says full
    fill_pct INTEGER,
    full_since INTEGER,
    -- the printer: ok, low, out
    paper TEXT,
    retired_at INTEGER
);
CREATE UNIQUE INDEX kiosk_devices_active ON kiosk_devices (kiosk_id, kind, device_id) WHERE retired_at IS NULL;

-- What the devices reported that matters to an order: the scale's settled
-- weights, the bin's drops (with the order they name, when they name one of
-- the kiosk's), and the bin's full and emptied moments. Append-only.
CREATE TABLE kiosk_device_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk_id INTEGER NOT NULL REFERENCES kiosks(id),
    kind TEXT NOT NULL CHECK (kind IN ('weight', 'drop', 'bin_full', 'bin_ok')),
    device_id TEXT NOT NULL,
    grams INTEGER,
    fill_pct INTEGER,
    ref_text TEXT,
    order_id INTEGER,
    at INTEGER NOT NULL
);
CREATE INDEX kiosk_device_events_kiosk ON kiosk_device_events (kiosk_id, kind, id);
CREATE INDEX kiosk_device_events_order ON kiosk_device_events (order_id);
CREATE TRIGGER kiosk_device_events_no_update BEFORE UPDATE ON kiosk_device_events
BEGIN
    SELECT RAISE(ABORT, 'kiosk device events are append-only');
END;
CREATE TRIGGER kiosk_device_events_no_delete BEFORE DELETE ON kiosk_device_events
BEGIN
    SELECT RAISE(ABORT, 'kiosk device events are append-only');
END;

-- Alerts for the centre and the courier (a bin full: one per incident).
CREATE TABLE kiosk_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk_id INTEGER NOT NULL REFERENCES kiosks(id),
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    raised_at INTEGER NOT NULL,
    resolved_at INTEGER
);
CREATE INDEX kiosk_alerts_open ON kiosk_alerts (resolved_at, kiosk_id);

-- The camera's captures: the command that asked for a photo, for which
-- order and sender, and the photo the camera posted back (send_photos).
CREATE TABLE kiosk_captures (
    command_id TEXT PRIMARY KEY,
    kiosk_id INTEGER NOT NULL REFERENCES kiosks(id),
    order_id INTEGER NOT NULL,
    sender_id INTEGER NOT NULL,
    requested_at INTEGER NOT NULL,
    photo_id INTEGER,
    received_at INTEGER
);

-- The kiosk's screen, paired by county staff like the door terminal: a
-- device session (the token's SHA-256), not a staff login. Pairing again
-- revokes the earlier screen.
CREATE TABLE kiosk_screens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk_id INTEGER NOT NULL REFERENCES kiosks(id),
    token_hash TEXT NOT NULL UNIQUE,
    paired_at INTEGER NOT NULL,
    paired_by TEXT NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX kiosk_screens_kiosk ON kiosk_screens (kiosk_id);

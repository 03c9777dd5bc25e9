-- The station's device registry (issue 19): every door controller, light
-- strip and checkout scanner the server accepts messages from. A message on a
-- device topic whose device is not registered here (or is retired) is
-- refused by the bridge: not stored, no console entry.
CREATE TABLE devices (
    id BIGSERIAL PRIMARY KEY,
    -- no foreign key, like device_commands and device_status: the devices
    -- tests run stations of their own ids on a shared broker
    station_id BIGINT NOT NULL,
    -- door, lights, scanner
    kind TEXT NOT NULL,
    device_id TEXT NOT NULL,
    -- as the device last reported them in its state message, if it did
    model TEXT,
    firmware TEXT,
    -- how the device proves itself: its broker login and the version of its
    -- derived command key (devices::auth); never a secret
    credential_ref TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    registered_by TEXT NOT NULL,
    last_seen_at BIGINT,
    -- the door sensor's last word (open, closed, forced) and since when
    door_sensor TEXT,
    door_sensor_at BIGINT,
    -- set when the device is replaced or retired; it is then refused
    retired_at BIGINT,
    replaced_by BIGINT
);
-- One active device per station, kind and id.
CREATE UNIQUE INDEX devices_active ON devices (station_id, kind, device_id) WHERE retired_at IS NULL;
CREATE INDEX devices_station ON devices (station_id);

-- Devices the bridge already heard from stay accepted after the upgrade.
INSERT INTO devices (station_id, kind, device_id, credential_ref, registered_at, registered_by, last_seen_at)
SELECT station_id, device_kind, device_id,
       'yizhan-s' || station_id || '-' || device_kind || '-' || device_id || '; command key v1',
       changed_at, 'migration 0010', changed_at
FROM device_status WHERE station_id IN (SELECT id FROM stations);

-- The station's public phone number, shown at the door terminal when the
-- door could not open.
ALTER TABLE stations ADD COLUMN contact_phone TEXT;

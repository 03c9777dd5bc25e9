-- Commands to station devices (doors, light strips): the devices' outbox.
-- A row is written in the same transaction as the change that called for it;
-- the MQTT bridge publishes it, re-publishes it under the same command id
-- until the device acknowledges it or its not-after time passes.
CREATE TABLE device_commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id TEXT NOT NULL UNIQUE,
    station_id INTEGER NOT NULL,
    device_kind TEXT NOT NULL,
    device_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- pending, done, expired, failed
    status TEXT NOT NULL DEFAULT 'pending',
    outcome TEXT,
    finished_at INTEGER
);
CREATE INDEX device_commands_due ON device_commands (status, next_attempt_at);

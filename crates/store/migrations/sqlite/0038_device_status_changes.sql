-- Device liveness over time (issue 16: "device uptime" per station on the
-- board): every change of a device's online state as the MQTT bridge heard
-- it, appended by the same write that updates device_status, so the
-- board can tell how much of a range each station's devices were online.
-- Times are Unix milliseconds.
CREATE TABLE device_status_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state_topic TEXT NOT NULL,
    station_id BIGINT NOT NULL,
    online BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX device_status_changes_topic_at ON device_status_changes (state_topic, at);
CREATE INDEX device_status_changes_at ON device_status_changes (at);

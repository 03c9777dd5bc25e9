-- A county operator's record that a parcel belongs at another station than
-- the one it was addressed to (issue 11, finding 4): a keeper may scan a
-- parcel in only at the station it is addressed to, or at the station of its
-- latest misroute. Rows are never changed; a later misroute wins.
CREATE TABLE misroutes (
    id BIGSERIAL PRIMARY KEY,
    parcel_id BIGINT NOT NULL REFERENCES parcels(id),
    from_station_id BIGINT REFERENCES stations(id),
    to_station_id BIGINT NOT NULL REFERENCES stations(id),
    note TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX misroutes_parcel ON misroutes (parcel_id, id);

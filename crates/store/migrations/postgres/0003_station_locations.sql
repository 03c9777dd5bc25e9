-- Where a station is, in millionths of a degree (WGS-84), for planning routes.
ALTER TABLE stations ADD COLUMN lat_e6 BIGINT;
ALTER TABLE stations ADD COLUMN lon_e6 BIGINT;

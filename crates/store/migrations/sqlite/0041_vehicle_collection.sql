-- Collecting straight from a vehicle's compartment (issue 20, branch
-- vehicles2): a stop the plan marks "collect from the vehicle", and when its
-- parcels were put up for collection there (codes issued, recipients told).
ALTER TABLE mission_stops ADD COLUMN collect_from_vehicle INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mission_stops ADD COLUMN collection_opened_at INTEGER;

-- County co-delivery: carriers' agreements (versioned), the county's routes
-- and contractors, each parcel's route decision, bags, the manual-resolution
-- queue and the fee ledger. Days are Asia/Shanghai dates as 'YYYY-MM-DD'
-- text, which sorts like the dates; times are Unix milliseconds (UTC).
ALTER TABLE parcels ADD COLUMN weight_grams INTEGER;

CREATE TABLE agreements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    carrier TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- A change to an agreement is a new version; old versions stay, so a fee
-- always names the version it was computed from.
CREATE TABLE agreement_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agreement_id INTEGER NOT NULL REFERENCES agreements(id),
    carrier TEXT NOT NULL,
    version INTEGER NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to TEXT,
    terms TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (agreement_id, version)
);
CREATE INDEX agreement_versions_carrier ON agreement_versions (carrier, version);

CREATE TABLE county_routes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE county_route_townships (
    route_id INTEGER NOT NULL REFERENCES county_routes(id),
    township TEXT NOT NULL,
    PRIMARY KEY (route_id, township)
);

CREATE TABLE contractors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    township TEXT NOT NULL,
    phone TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX contractors_township ON contractors (township);

-- A cage or bag for one target (route and station, contractor, or station);
-- at most one open bag per target.
CREATE TABLE bags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bag_key TEXT NOT NULL,
    day TEXT NOT NULL,
    mode TEXT NOT NULL,
    route_id INTEGER REFERENCES county_routes(id),
    contractor_id INTEGER REFERENCES contractors(id),
    station_id INTEGER REFERENCES stations(id),
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    dispatched_at INTEGER,
    accepted_at INTEGER
);
CREATE UNIQUE INDEX bags_open_key ON bags (bag_key) WHERE status = 'open';
CREATE INDEX bags_day ON bags (day, status);

-- Where the centre sent a parcel, and under which mode (which decides the
-- event its fee accrues on).
CREATE TABLE parcel_routing (
    parcel_id INTEGER PRIMARY KEY REFERENCES parcels(id),
    carrier TEXT NOT NULL,
    township TEXT NOT NULL,
    village TEXT,
    mode TEXT NOT NULL,
    route_id INTEGER REFERENCES county_routes(id),
    contractor_id INTEGER REFERENCES contractors(id),
    station_id INTEGER REFERENCES stations(id),
    bag_id INTEGER NOT NULL REFERENCES bags(id),
    decided_at INTEGER NOT NULL,
    decided_by TEXT NOT NULL
);
CREATE INDEX parcel_routing_bag ON parcel_routing (bag_id);

-- Parcels the route decision could not place, with the reason.
CREATE TABLE manual_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parcel_id INTEGER NOT NULL UNIQUE REFERENCES parcels(id),
    carrier TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by TEXT,
    resolution TEXT
);
CREATE INDEX manual_queue_open ON manual_queue (resolved_at, id);

-- Delivery fees, ledger-ready: append-only. One fee per parcel, one per
-- event; the triggers refuse any change or removal.
CREATE TABLE fee_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    carrier TEXT NOT NULL,
    agreement_id INTEGER NOT NULL REFERENCES agreements(id),
    agreement_version INTEGER NOT NULL,
    parcel_id INTEGER NOT NULL UNIQUE REFERENCES parcels(id),
    event_key TEXT NOT NULL UNIQUE,
    event_kind TEXT NOT NULL,
    mode TEXT NOT NULL,
    township TEXT NOT NULL,
    weight_grams INTEGER,
    bracket INTEGER NOT NULL,
    amount_fen INTEGER NOT NULL,
    at INTEGER NOT NULL,
    day TEXT NOT NULL
);
CREATE INDEX fee_ledger_carrier_day ON fee_ledger (carrier, day, id);
CREATE TRIGGER fee_ledger_no_update BEFORE UPDATE ON fee_ledger
BEGIN
    SELECT RAISE(ABORT, 'the fee ledger is append-only');
END;
CREATE TRIGGER fee_ledger_no_delete BEFORE DELETE ON fee_ledger
BEGIN
    SELECT RAISE(ABORT, 'the fee ledger is append-only');
END;

CREATE INDEX parcel_events_kind_at ON parcel_events (kind, at);

-- The sorting hub's board (issue 16, point 4; crates/sort/LOG.md). A plan
-- adopted for the hub keeps its layout and what the simulator made of it;
-- the hub's logs (the sorter's items, the yard's trucks) are imported once
-- each by fingerprint and tallied into counts per Shanghai day (YYYY-MM-DD)
-- and hour. An import replaces the counts of the days it covers in its
-- transaction, so a day is wholly one import's. Times of adoption and
-- import are Unix milliseconds; the trucks' times are the hub's local time
-- as the yard wrote them (YYYY-MM-DD HH:MM:SS).
CREATE TABLE hub_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    layout TEXT NOT NULL,
    assignments TEXT NOT NULL,
    simulated TEXT NOT NULL,
    adopted_at BIGINT NOT NULL,
    adopted_by TEXT NOT NULL
);

CREATE TABLE hub_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('items', 'trucks')),
    fingerprint TEXT NOT NULL,
    file_name TEXT NOT NULL,
    plan_id BIGINT REFERENCES hub_plans(id),
    n_rows BIGINT NOT NULL,
    n_bad BIGINT NOT NULL,
    first_day TEXT,
    last_day TEXT,
    imported_at BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    UNIQUE (kind, fingerprint)
);

-- Per day, hour and equipment ('' the loop sorter): what became of the
-- items inducted in that hour.
CREATE TABLE hub_hours (
    day TEXT NOT NULL,
    hour BIGINT NOT NULL CHECK (hour BETWEEN 0 AND 23),
    equipment TEXT NOT NULL,
    items BIGINT NOT NULL,
    sorted BIGINT NOT NULL,
    half_loop BIGINT NOT NULL,
    recirculated BIGINT NOT NULL,
    no_read BIGINT NOT NULL,
    missorted BIGINT NOT NULL,
    exception BIGINT NOT NULL,
    import_id BIGINT NOT NULL REFERENCES hub_imports(id),
    plan_id BIGINT NOT NULL REFERENCES hub_plans(id),
    PRIMARY KEY (day, hour, equipment)
);

-- Items dropped per day, hour and chute.
CREATE TABLE hub_chute_hours (
    day TEXT NOT NULL,
    hour BIGINT NOT NULL CHECK (hour BETWEEN 0 AND 23),
    chute TEXT NOT NULL,
    items BIGINT NOT NULL,
    import_id BIGINT NOT NULL REFERENCES hub_imports(id),
    PRIMARY KEY (day, hour, chute)
);

CREATE TABLE hub_trucks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    day TEXT NOT NULL,
    truck TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    arrived_at TEXT NOT NULL,
    planned_arrival TEXT,
    unload_start TEXT,
    unload_end TEXT,
    planned_departure TEXT,
    departed_at TEXT,
    import_id BIGINT NOT NULL REFERENCES hub_imports(id)
);
CREATE INDEX hub_trucks_day ON hub_trucks (day, arrived_at);

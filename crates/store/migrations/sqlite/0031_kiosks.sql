-- The kiosk fleet and collection (issue 14, branch kiosks). A kiosk
-- (寄件宝) stands at a host site of one of ten scenarios, placed on a
-- Shanghai day, with a responsible staff member (a county user) and a
-- branch (支局). A collection run (揽收) is one courier emptying one kiosk's
-- bin: each scan is a row, and closing the run records the waiting orders
-- not scanned as missing. Times are Unix milliseconds; days YYYY-MM-DD.

CREATE TABLE kiosks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    host_name TEXT NOT NULL,
    scenario TEXT NOT NULL,
    division TEXT NOT NULL,
    lat_e6 INTEGER NOT NULL,
    lon_e6 INTEGER NOT NULL,
    placed_on TEXT NOT NULL,
    staff_user_id INTEGER NOT NULL REFERENCES users(id),
    branch TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('in_service', 'suspended', 'retired')),
    retired_on TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX kiosks_branch ON kiosks (branch, code);

-- The daily report counts a day's orders per kiosk by when they were
-- accepted and collected: these keep it to the day's rows.
CREATE INDEX send_orders_kiosk_accepted ON send_orders (accepted_at, kiosk_id);
CREATE INDEX send_orders_kiosk_collected ON send_orders (collected_at, kiosk_id);
CREATE INDEX send_orders_kiosk_bin ON send_orders (kiosk_id, state, id);

CREATE TABLE kiosk_collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kiosk_id INTEGER NOT NULL REFERENCES kiosks(id),
    courier_user_id INTEGER NOT NULL REFERENCES users(id),
    started_at INTEGER NOT NULL,
    closed_at INTEGER,
    n_collected INTEGER NOT NULL DEFAULT 0,
    n_extra INTEGER NOT NULL DEFAULT 0,
    n_missing INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX kiosk_collections_kiosk ON kiosk_collections (kiosk_id, id);

-- Every scan and every missing item of a run; append-only.
CREATE TABLE kiosk_collection_scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL REFERENCES kiosk_collections(id),
    waybill TEXT NOT NULL,
    order_id INTEGER,
    outcome TEXT NOT NULL CHECK (outcome IN ('collected', 'repeat', 'extra', 'missing')),
    at INTEGER NOT NULL
);
CREATE INDEX kiosk_collection_scans_run ON kiosk_collection_scans (collection_id, id);
CREATE TRIGGER kiosk_collection_scans_no_update BEFORE UPDATE ON kiosk_collection_scans
BEGIN
    SELECT RAISE(ABORT, 'collection scans are append-only');
END;
CREATE TRIGGER kiosk_collection_scans_no_delete BEFORE DELETE ON kiosk_collection_scans
BEGIN
    SELECT RAISE(ABORT, 'collection scans are append-only');
END;

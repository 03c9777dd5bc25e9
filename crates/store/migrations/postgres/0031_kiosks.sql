-- The kiosk fleet and collection (issue 14, branch kiosks). A kiosk
-- (寄件宝) stands at a host site of one of ten scenarios, placed on a
-- Shanghai day, with a responsible staff member (a county user) and a
-- branch (支局). A collection run (揽收) is one courier emptying one kiosk's
-- bin: each scan is a row, and closing the run records the waiting orders
-- not scanned as missing. Times are Unix milliseconds; days YYYY-MM-DD.

CREATE TABLE kiosks (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    host_name TEXT NOT NULL,
    scenario TEXT NOT NULL,
    division TEXT NOT NULL,
    lat_e6 BIGINT NOT NULL,
    lon_e6 BIGINT NOT NULL,
    placed_on TEXT NOT NULL,
    staff_user_id BIGINT NOT NULL REFERENCES users(id),
    branch TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('in_service', 'suspended', 'retired')),
    retired_on TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX kiosks_branch ON kiosks (branch, code);

-- The daily report counts a day's orders per kiosk by when they were
-- accepted and collected: these keep it to the day's rows.
CREATE INDEX send_orders_kiosk_accepted ON send_orders (accepted_at, kiosk_id);
CREATE INDEX send_orders_kiosk_collected ON send_orders (collected_at, kiosk_id);
CREATE INDEX send_orders_kiosk_bin ON send_orders (kiosk_id, state, id);

CREATE TABLE kiosk_collections (
    id BIGSERIAL PRIMARY KEY,
    kiosk_id BIGINT NOT NULL REFERENCES kiosks(id),
    courier_user_id BIGINT NOT NULL REFERENCES users(id),
    started_at BIGINT NOT NULL,
    closed_at BIGINT,
    n_collected BIGINT NOT NULL DEFAULT 0,
    n_extra BIGINT NOT NULL DEFAULT 0,
    n_missing BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX kiosk_collections_kiosk ON kiosk_collections (kiosk_id, id);

-- Every scan and every missing item of a run; append-only.
CREATE TABLE kiosk_collection_scans (
    id BIGSERIAL PRIMARY KEY,
    collection_id BIGINT NOT NULL REFERENCES kiosk_collections(id),
    waybill TEXT NOT NULL,
    order_id BIGINT,
    outcome TEXT NOT NULL CHECK (outcome IN ('collected', 'repeat', 'extra', 'missing')),
    at BIGINT NOT NULL
);
CREATE INDEX kiosk_collection_scans_run ON kiosk_collection_scans (collection_id, id);
CREATE FUNCTION kiosk_collection_scans_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'collection scans are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER kiosk_collection_scans_no_change BEFORE UPDATE OR DELETE ON kiosk_collection_scans
    FOR EACH ROW EXECUTE FUNCTION kiosk_collection_scans_append_only();

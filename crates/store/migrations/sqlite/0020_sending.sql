-- Sending (issue 14): senders with their real-name record, one-time codes
-- and sessions proving a sender's phone, the address book, orders with
-- their events and inspections, payments, the carriers' waybill number
-- pools and sending alerts. Phones, names, addresses and document numbers
-- are sealed by the store (`enc1:…`); phones are found by their keyed hash.
-- Times are Unix milliseconds, money integer fen.

CREATE TABLE senders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone_hash TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    real_name TEXT,
    document_kind TEXT,
    document_number TEXT,
    document_masked TEXT,
    verified_at INTEGER,
    created_at INTEGER NOT NULL
);

-- Only the code's keyed hash is kept; a code is spent once.
CREATE TABLE send_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone_hash TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX send_codes_phone ON send_codes (phone_hash, created_at);

CREATE TABLE sender_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id INTEGER NOT NULL REFERENCES senders(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE send_addresses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id INTEGER NOT NULL REFERENCES senders(id),
    role TEXT NOT NULL,
    entry_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    division TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    UNIQUE (sender_id, role, entry_hash)
);

CREATE TABLE send_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sender_id INTEGER NOT NULL REFERENCES senders(id),
    state TEXT NOT NULL,
    channel TEXT NOT NULL,
    kiosk_id INTEGER,
    from_name TEXT NOT NULL,
    from_phone TEXT NOT NULL,
    from_division TEXT NOT NULL,
    from_address TEXT NOT NULL,
    to_name TEXT NOT NULL,
    to_phone TEXT NOT NULL,
    to_division TEXT NOT NULL,
    to_address TEXT NOT NULL,
    category TEXT,
    evidence TEXT NOT NULL,
    weight_grams INTEGER,
    length_cm INTEGER,
    width_cm INTEGER,
    height_cm INTEGER,
    quote TEXT,
    price_fen INTEGER,
    payer TEXT NOT NULL,
    return_code TEXT,
    carrier TEXT NOT NULL,
    waybill TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    accepted_at INTEGER,
    collected_at INTEGER,
    cancelled_at INTEGER,
    version INTEGER NOT NULL
);
CREATE INDEX send_orders_sender ON send_orders (sender_id, id);
CREATE INDEX send_orders_state ON send_orders (state, updated_at);

-- Every change of an order's state; append-only.
CREATE TABLE send_order_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES send_orders(id),
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX send_order_events_order ON send_order_events (order_id, id);
CREATE TRIGGER send_order_events_no_update BEFORE UPDATE ON send_order_events
BEGIN
    SELECT RAISE(ABORT, 'order events are append-only');
END;
CREATE TRIGGER send_order_events_no_delete BEFORE DELETE ON send_order_events
BEGIN
    SELECT RAISE(ABORT, 'order events are append-only');
END;

-- Every inspection (收寄验视), accepted or refused with its rule; append-only.
CREATE TABLE send_inspections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES send_orders(id),
    category TEXT NOT NULL,
    outcome TEXT NOT NULL,
    rule TEXT,
    package_photo TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX send_inspections_order ON send_inspections (order_id, id);
CREATE TRIGGER send_inspections_no_update BEFORE UPDATE ON send_inspections
BEGIN
    SELECT RAISE(ABORT, 'inspections are append-only');
END;
CREATE TRIGGER send_inspections_no_delete BEFORE DELETE ON send_inspections
BEGIN
    SELECT RAISE(ABORT, 'inspections are append-only');
END;

-- One row per QR code shown; at most one payment of an order stays paid.
CREATE TABLE send_payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES send_orders(id),
    merchant_order_no TEXT NOT NULL UNIQUE,
    amount_fen INTEGER NOT NULL,
    status TEXT NOT NULL,
    qr_content TEXT NOT NULL,
    provider_txn TEXT,
    created_at INTEGER NOT NULL,
    paid_at INTEGER,
    refunded_at INTEGER
);
CREATE INDEX send_payments_order ON send_payments (order_id);
CREATE UNIQUE INDEX send_payments_one_paid ON send_payments (order_id) WHERE status = 'paid';

-- A carrier's waybill numbers: prefix + zero-padded numbers first..=last,
-- handed out in order from `next`.
CREATE TABLE waybill_ranges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    carrier TEXT NOT NULL,
    prefix TEXT NOT NULL,
    first_no INTEGER NOT NULL,
    last_no INTEGER NOT NULL,
    next_no INTEGER NOT NULL,
    digits INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX waybill_ranges_carrier ON waybill_ranges (carrier, id);

CREATE TABLE send_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    message TEXT NOT NULL,
    at INTEGER NOT NULL
);

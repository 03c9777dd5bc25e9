-- Sending (issue 14): senders with their real-name record, one-time codes
-- and sessions proving a sender's phone, the address book, orders with
-- their events and inspections, payments, the carriers' waybill number
-- pools and sending alerts. Phones, names, addresses and document numbers
-- are sealed by the store (`enc1:…`); phones are found by their keyed hash.
-- Times are Unix milliseconds, money integer fen.

CREATE TABLE senders (
    id BIGSERIAL PRIMARY KEY,
    phone_hash TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    real_name TEXT,
    document_kind TEXT,
    document_number TEXT,
    document_masked TEXT,
    verified_at BIGINT,
    created_at BIGINT NOT NULL
);

-- Only the code's keyed hash is kept; a code is spent once.
CREATE TABLE send_codes (
    id BIGSERIAL PRIMARY KEY,
    phone_hash TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX send_codes_phone ON send_codes (phone_hash, created_at);

CREATE TABLE sender_sessions (
    id BIGSERIAL PRIMARY KEY,
    sender_id BIGINT NOT NULL REFERENCES senders(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE send_addresses (
    id BIGSERIAL PRIMARY KEY,
    sender_id BIGINT NOT NULL REFERENCES senders(id),
    role TEXT NOT NULL,
    entry_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    division TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    UNIQUE (sender_id, role, entry_hash)
);

CREATE TABLE send_orders (
    id BIGSERIAL PRIMARY KEY,
    sender_id BIGINT NOT NULL REFERENCES senders(id),
    state TEXT NOT NULL,
    channel TEXT NOT NULL,
    kiosk_id BIGINT,
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
    weight_grams BIGINT,
    length_cm BIGINT,
    width_cm BIGINT,
    height_cm BIGINT,
    quote TEXT,
    price_fen BIGINT,
    payer TEXT NOT NULL,
    return_code TEXT,
    carrier TEXT NOT NULL,
    waybill TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    accepted_at BIGINT,
    collected_at BIGINT,
    cancelled_at BIGINT,
    version BIGINT NOT NULL
);
CREATE INDEX send_orders_sender ON send_orders (sender_id, id);
CREATE INDEX send_orders_state ON send_orders (state, updated_at);

-- Every change of an order's state; append-only.
CREATE TABLE send_order_events (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES send_orders(id),
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX send_order_events_order ON send_order_events (order_id, id);
CREATE FUNCTION send_order_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'order events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER send_order_events_no_change BEFORE UPDATE OR DELETE ON send_order_events
    FOR EACH ROW EXECUTE FUNCTION send_order_events_append_only();

-- Every inspection (收寄验视), accepted or refused with its rule; append-only.
CREATE TABLE send_inspections (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES send_orders(id),
    category TEXT NOT NULL,
    outcome TEXT NOT NULL,
    rule TEXT,
    package_photo TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX send_inspections_order ON send_inspections (order_id, id);
CREATE FUNCTION send_inspections_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'inspections are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER send_inspections_no_change BEFORE UPDATE OR DELETE ON send_inspections
    FOR EACH ROW EXECUTE FUNCTION send_inspections_append_only();

-- One row per QR code shown; at most one payment of an order stays paid.
CREATE TABLE send_payments (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES send_orders(id),
    merchant_order_no TEXT NOT NULL UNIQUE,
    amount_fen BIGINT NOT NULL,
    status TEXT NOT NULL,
    qr_content TEXT NOT NULL,
    provider_txn TEXT,
    created_at BIGINT NOT NULL,
    paid_at BIGINT,
    refunded_at BIGINT
);
CREATE INDEX send_payments_order ON send_payments (order_id);
CREATE UNIQUE INDEX send_payments_one_paid ON send_payments (order_id) WHERE status = 'paid';

-- A carrier's waybill numbers: prefix + zero-padded numbers first..=last,
-- handed out in order from `next`.
CREATE TABLE waybill_ranges (
    id BIGSERIAL PRIMARY KEY,
    carrier TEXT NOT NULL,
    prefix TEXT NOT NULL,
    first_no BIGINT NOT NULL,
    last_no BIGINT NOT NULL,
    next_no BIGINT NOT NULL,
    digits BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX waybill_ranges_carrier ON waybill_ranges (carrier, id);

CREATE TABLE send_alerts (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    message TEXT NOT NULL,
    at BIGINT NOT NULL
);

-- Statements (对账单, issue 15, point 2): per carrier per Shanghai month,
-- listing the fee-accrual transfers of the carrier's receivable with the
-- parcel behind each (waybill, mode, bracket, agreement version). A
-- transfer is on at most one statement. The carrier confirms or disputes
-- each line; finance resolves a dispute by upholding it or by a reversing
-- or adjusting transfer (credited_fen), never by changing the line's
-- amount. Each statement is an invoice due on due_day.
CREATE TABLE statements (
    id BIGSERIAL PRIMARY KEY,
    carrier TEXT NOT NULL,
    month TEXT NOT NULL,
    status TEXT NOT NULL,
    n_lines BIGINT NOT NULL,
    issued_fen BIGINT NOT NULL,
    credited_fen BIGINT NOT NULL,
    due_day TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    issued_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX statements_carrier_month ON statements (carrier, month);

CREATE TABLE statement_lines (
    id BIGSERIAL PRIMARY KEY,
    statement_id BIGINT NOT NULL REFERENCES statements(id),
    transfer_id TEXT NOT NULL UNIQUE,
    parcel_id BIGINT,
    waybill TEXT NOT NULL,
    mode TEXT NOT NULL,
    bracket BIGINT NOT NULL,
    agreement_version BIGINT NOT NULL,
    day TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    status TEXT NOT NULL,
    dispute_reason TEXT,
    answered_at BIGINT,
    answered_by TEXT,
    resolution_note TEXT,
    resolution_transfer_id TEXT,
    credited_fen BIGINT NOT NULL,
    resolved_at BIGINT,
    resolved_by TEXT
);
CREATE INDEX statement_lines_statement ON statement_lines (statement_id, id);

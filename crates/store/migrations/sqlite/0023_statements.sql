-- Statements (对账单, issue 15, point 2): per carrier per Shanghai month,
-- listing the fee-accrual transfers of the carrier's receivable with the
-- parcel behind each (waybill, mode, bracket, agreement version). A
-- transfer is on at most one statement. The carrier confirms or disputes
-- each line; finance resolves a dispute by upholding it or by a reversing
-- or adjusting transfer (credited_fen), never by changing the line's
-- amount. Each statement is an invoice due on due_day.
CREATE TABLE statements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    carrier TEXT NOT NULL,
    month TEXT NOT NULL,
    status TEXT NOT NULL,
    n_lines INTEGER NOT NULL,
    issued_fen INTEGER NOT NULL,
    credited_fen INTEGER NOT NULL,
    due_day TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    issued_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX statements_carrier_month ON statements (carrier, month);

CREATE TABLE statement_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    transfer_id TEXT NOT NULL UNIQUE,
    parcel_id INTEGER,
    waybill TEXT NOT NULL,
    mode TEXT NOT NULL,
    bracket INTEGER NOT NULL,
    agreement_version INTEGER NOT NULL,
    day TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    status TEXT NOT NULL,
    dispute_reason TEXT,
    answered_at INTEGER,
    answered_by TEXT,
    resolution_note TEXT,
    resolution_transfer_id TEXT,
    credited_fen INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by TEXT
);
CREATE INDEX statement_lines_statement ON statement_lines (statement_id, id);

-- Claims (认领) and write-offs (核销), issue 15 point 4 (branch claims): a
-- receipt in unapplied cash is claimed once for a debtor (receipt_id is the
-- key, so of two people claiming at once exactly one inserts), which posts
-- `claim:<receipt>` (unapplied cash → the carrier's credit). A write-off
-- applies the carrier's credit to its open invoices (statements), each
-- application one `invoice_payments` row and one transfer; a request key
-- makes a repeated write-off one write-off. `statements.paid_fen` is the sum
-- of the statement's payments, kept in the paying transaction, so a
-- statement's net (issued − credited − paid) is what is still owed. A
-- negative payment is a resolved dispute giving paid money back to the
-- carrier's credit. All three tables are append-only.
ALTER TABLE statements ADD COLUMN paid_fen INTEGER NOT NULL DEFAULT 0;

CREATE TABLE receipt_claims (
    receipt_id INTEGER PRIMARY KEY REFERENCES receipts(id),
    carrier TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    transfer_id TEXT NOT NULL UNIQUE,
    claimed_at INTEGER NOT NULL,
    claimed_by TEXT NOT NULL
);
CREATE INDEX receipt_claims_carrier ON receipt_claims (carrier, claimed_at);

CREATE TABLE write_offs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_key TEXT NOT NULL UNIQUE,
    carrier TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    at INTEGER NOT NULL,
    by_user TEXT NOT NULL,
    approval_id INTEGER
);

CREATE TABLE invoice_payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    write_off_id INTEGER REFERENCES write_offs(id),
    statement_id INTEGER NOT NULL REFERENCES statements(id),
    carrier TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen <> 0),
    transfer_id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL
);
CREATE INDEX invoice_payments_statement ON invoice_payments (statement_id, id);
CREATE INDEX invoice_payments_carrier ON invoice_payments (carrier, id);

CREATE TRIGGER receipt_claims_no_update BEFORE UPDATE ON receipt_claims
BEGIN
    SELECT RAISE(ABORT, 'claims are append-only');
END;
CREATE TRIGGER receipt_claims_no_delete BEFORE DELETE ON receipt_claims
BEGIN
    SELECT RAISE(ABORT, 'claims are append-only');
END;
CREATE TRIGGER write_offs_no_update BEFORE UPDATE ON write_offs
BEGIN
    SELECT RAISE(ABORT, 'write-offs are append-only');
END;
CREATE TRIGGER write_offs_no_delete BEFORE DELETE ON write_offs
BEGIN
    SELECT RAISE(ABORT, 'write-offs are append-only');
END;
CREATE TRIGGER invoice_payments_no_update BEFORE UPDATE ON invoice_payments
BEGIN
    SELECT RAISE(ABORT, 'payments are append-only');
END;
CREATE TRIGGER invoice_payments_no_delete BEFORE DELETE ON invoice_payments
BEGIN
    SELECT RAISE(ABORT, 'payments are append-only');
END;

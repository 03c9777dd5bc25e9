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
ALTER TABLE statements ADD COLUMN paid_fen BIGINT NOT NULL DEFAULT 0;

CREATE TABLE receipt_claims (
    receipt_id BIGINT PRIMARY KEY REFERENCES receipts(id),
    carrier TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    transfer_id TEXT NOT NULL UNIQUE,
    claimed_at BIGINT NOT NULL,
    claimed_by TEXT NOT NULL
);
CREATE INDEX receipt_claims_carrier ON receipt_claims (carrier, claimed_at);

CREATE TABLE write_offs (
    id BIGSERIAL PRIMARY KEY,
    request_key TEXT NOT NULL UNIQUE,
    carrier TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    at BIGINT NOT NULL,
    by_user TEXT NOT NULL,
    approval_id BIGINT
);

CREATE TABLE invoice_payments (
    id BIGSERIAL PRIMARY KEY,
    write_off_id BIGINT REFERENCES write_offs(id),
    statement_id BIGINT NOT NULL REFERENCES statements(id),
    carrier TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen <> 0),
    transfer_id TEXT NOT NULL UNIQUE,
    at BIGINT NOT NULL
);
CREATE INDEX invoice_payments_statement ON invoice_payments (statement_id, id);
CREATE INDEX invoice_payments_carrier ON invoice_payments (carrier, id);

CREATE FUNCTION claims_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'claims, write-offs and payments are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER receipt_claims_no_change BEFORE UPDATE OR DELETE ON receipt_claims
    FOR EACH ROW EXECUTE FUNCTION claims_append_only();
CREATE TRIGGER write_offs_no_change BEFORE UPDATE OR DELETE ON write_offs
    FOR EACH ROW EXECUTE FUNCTION claims_append_only();
CREATE TRIGGER invoice_payments_no_change BEFORE UPDATE OR DELETE ON invoice_payments
    FOR EACH ROW EXECUTE FUNCTION claims_append_only();

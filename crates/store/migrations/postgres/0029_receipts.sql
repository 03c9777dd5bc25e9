-- Money received (issue 15, point 4): each bank statement imported, and
-- each line of money received in it, kept once by its stable fingerprint
-- (`domain::bank`), so the same file twice or overlapping exports add
-- nothing the second time. Each receipt posts `bank:<fingerprint>`
-- (payment clearing debited, unapplied cash credited) in the import's
-- transaction. Receipts are never changed or removed.
CREATE TABLE bank_imports (
    id BIGSERIAL PRIMARY KEY,
    file_name TEXT NOT NULL,
    at BIGINT NOT NULL,
    by_user TEXT NOT NULL,
    n_lines BIGINT NOT NULL,
    n_new BIGINT NOT NULL,
    n_known BIGINT NOT NULL,
    n_bad BIGINT NOT NULL,
    n_not_received BIGINT NOT NULL,
    new_fen BIGINT NOT NULL
);

CREATE TABLE receipts (
    id BIGSERIAL PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    day TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    payer_name TEXT NOT NULL,
    payer_account TEXT NOT NULL,
    reference TEXT NOT NULL,
    serial TEXT,
    import_id BIGINT NOT NULL REFERENCES bank_imports(id),
    transfer_id TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX receipts_day ON receipts (day, id);
CREATE FUNCTION receipts_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'receipts are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER receipts_no_change BEFORE UPDATE OR DELETE ON receipts
    FOR EACH ROW EXECUTE FUNCTION receipts_append_only();

-- Money received (issue 15, point 4): each bank statement imported, and
-- each line of money received in it, kept once by its stable fingerprint
-- (`domain::bank`), so the same file twice or overlapping exports add
-- nothing the second time. Each receipt posts `bank:<fingerprint>`
-- (payment clearing debited, unapplied cash credited) in the import's
-- transaction. Receipts are never changed or removed.
CREATE TABLE bank_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name TEXT NOT NULL,
    at INTEGER NOT NULL,
    by_user TEXT NOT NULL,
    n_lines INTEGER NOT NULL,
    n_new INTEGER NOT NULL,
    n_known INTEGER NOT NULL,
    n_bad INTEGER NOT NULL,
    n_not_received INTEGER NOT NULL,
    new_fen INTEGER NOT NULL
);

CREATE TABLE receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL UNIQUE,
    day TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    payer_name TEXT NOT NULL,
    payer_account TEXT NOT NULL,
    reference TEXT NOT NULL,
    serial TEXT,
    import_id INTEGER NOT NULL REFERENCES bank_imports(id),
    transfer_id TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX receipts_day ON receipts (day, id);
CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts
BEGIN
    SELECT RAISE(ABORT, 'receipts are append-only');
END;
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN
    SELECT RAISE(ABORT, 'receipts are append-only');
END;

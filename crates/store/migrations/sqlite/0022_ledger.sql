-- The double-entry ledger (issue 15, point 1), after TigerBeetle's model.
-- Transfers move an amount in fen from a debit account to a credit account
-- under a unique id; they are never changed or removed (the triggers below
-- refuse it), and a correction is a reversing transfer. Each row holds the
-- previous row's hash and its own (SHA-256 over `domain::ledger::encode`),
-- so `yizhan ledger check` finds a change made past the triggers. Rows are
-- appended by `app::ledger::post`, by SQLite's single writer.
CREATE TABLE ledger_transfers (
    seq INTEGER PRIMARY KEY,
    transfer_id TEXT NOT NULL UNIQUE,
    debit_account TEXT NOT NULL,
    credit_account TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    parcel_id INTEGER,
    reverses TEXT,
    at INTEGER NOT NULL,
    posted_at INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account, seq);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account, seq);
CREATE INDEX ledger_transfers_parcel ON ledger_transfers (parcel_id, kind);
CREATE INDEX ledger_transfers_kind_at ON ledger_transfers (kind, at);

CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
BEGIN
    SELECT RAISE(ABORT, 'ledger transfers are append-only');
END;
CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
BEGIN
    SELECT RAISE(ABORT, 'ledger transfers are append-only');
END;

-- Each account's debit and credit totals, cached: updated in the posting
-- transaction, checked against the sums of the transfers by the ledger check.
CREATE TABLE ledger_accounts (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    carrier TEXT,
    debits_fen INTEGER NOT NULL,
    credits_fen INTEGER NOT NULL,
    n_transfers INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ledger_accounts_kind ON ledger_accounts (kind, carrier);

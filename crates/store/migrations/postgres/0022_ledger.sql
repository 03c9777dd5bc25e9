-- The double-entry ledger (issue 15, point 1), after TigerBeetle's model.
-- Transfers move an amount in fen from a debit account to a credit account
-- under a unique id; they are never changed or removed (the triggers below
-- refuse it), and a correction is a reversing transfer. Each row holds the
-- previous row's hash and its own (SHA-256 over `domain::ledger::encode`),
-- so `yizhan ledger check` finds a change made past the triggers. Rows are
-- appended by `app::ledger::post` under a transaction-scoped advisory lock,
-- so the chain never forks.
CREATE TABLE ledger_transfers (
    seq BIGINT PRIMARY KEY,
    transfer_id TEXT NOT NULL UNIQUE,
    debit_account TEXT NOT NULL,
    credit_account TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    parcel_id BIGINT,
    reverses TEXT,
    at BIGINT NOT NULL,
    posted_at BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account, seq);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account, seq);
CREATE INDEX ledger_transfers_parcel ON ledger_transfers (parcel_id, kind);
CREATE INDEX ledger_transfers_kind_at ON ledger_transfers (kind, at);

CREATE FUNCTION ledger_transfers_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger transfers are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_transfers_no_change BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_transfers_append_only();

-- Each account's debit and credit totals, cached: updated in the posting
-- transaction, checked against the sums of the transfers by the ledger check.
CREATE TABLE ledger_accounts (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    carrier TEXT,
    debits_fen BIGINT NOT NULL,
    credits_fen BIGINT NOT NULL,
    n_transfers BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ledger_accounts_kind ON ledger_accounts (kind, carrier);

-- Collection plans (周、旬清欠计划), issue 15 point 3 (branch money2, session
-- 10): a plan per week or ten-day period (one per kind and first day), with
-- targets in fen per responsible person (carrier '') and optionally per
-- debtor. Progress is not stored: it is read from the ledger's write-off
-- transfers inside the period. Targets are replaced while the period is
-- open; each change is audited (collection_plan_set).
CREATE TABLE collection_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (kind, first_day)
);
CREATE INDEX collection_plans_first_day ON collection_plans (first_day);

CREATE TABLE collection_targets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id INTEGER NOT NULL REFERENCES collection_plans(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    carrier TEXT NOT NULL DEFAULT '',
    target_fen INTEGER NOT NULL CHECK (target_fen > 0),
    UNIQUE (plan_id, user_id, carrier)
);

-- Exposure control (issue 15 point 5, branch money2): a credit limit per
-- carrier and its rule (hold = 1: new manifests from the carrier are refused
-- while an incident is held and not released). An incident opens when the
-- carrier's exposure (receivable less credit) passes its limit or it owes
-- on an invoice more than 90 days overdue; its alerts go out once; finance
-- releases a hold; the incident is cleared when the debt is back within
-- terms. One open (not cleared) incident per carrier.
CREATE TABLE credit_limits (
    carrier TEXT PRIMARY KEY,
    limit_fen INTEGER,
    hold INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE exposure_incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    carrier TEXT NOT NULL,
    exposure_fen INTEGER NOT NULL,
    over_90_fen INTEGER NOT NULL,
    limit_fen INTEGER,
    held INTEGER NOT NULL DEFAULT 0,
    opened_at INTEGER NOT NULL,
    released_at INTEGER,
    released_by TEXT,
    cleared_at INTEGER
);
CREATE UNIQUE INDEX exposure_incidents_open ON exposure_incidents (carrier) WHERE cleared_at IS NULL;

-- Corrections (issue 15, branch money2): a claim for the wrong debtor is
-- ended (un-claimed) by a reversing transfer, and the receipt may be claimed
-- again. Claims get their own id; one live (not ended) claim per receipt; a
-- claim is never deleted and only its end is ever written, once.
CREATE TABLE receipt_claims_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    receipt_id INTEGER NOT NULL REFERENCES receipts(id),
    carrier TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    transfer_id TEXT NOT NULL UNIQUE,
    claimed_at INTEGER NOT NULL,
    claimed_by TEXT NOT NULL,
    ended_at INTEGER,
    ended_by TEXT,
    end_reason TEXT,
    end_transfer_id TEXT UNIQUE
);
INSERT INTO receipt_claims_new (receipt_id, carrier, amount_fen, transfer_id, claimed_at, claimed_by)
    SELECT receipt_id, carrier, amount_fen, transfer_id, claimed_at, claimed_by FROM receipt_claims ORDER BY receipt_id;
DROP TABLE receipt_claims;
ALTER TABLE receipt_claims_new RENAME TO receipt_claims;
CREATE UNIQUE INDEX receipt_claims_live ON receipt_claims (receipt_id) WHERE ended_at IS NULL;
CREATE INDEX receipt_claims_carrier ON receipt_claims (carrier, claimed_at);
CREATE TRIGGER receipt_claims_no_delete BEFORE DELETE ON receipt_claims
BEGIN
    SELECT RAISE(ABORT, 'claims are append-only');
END;
CREATE TRIGGER receipt_claims_end_once BEFORE UPDATE ON receipt_claims
WHEN OLD.ended_at IS NOT NULL OR NEW.receipt_id <> OLD.receipt_id OR NEW.carrier <> OLD.carrier
    OR NEW.amount_fen <> OLD.amount_fen OR NEW.transfer_id <> OLD.transfer_id
    OR NEW.claimed_at <> OLD.claimed_at OR NEW.claimed_by <> OLD.claimed_by OR NEW.id <> OLD.id
BEGIN
    SELECT RAISE(ABORT, 'claims are append-only; a claim ends once');
END;

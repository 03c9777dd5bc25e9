-- Collection plans (周、旬清欠计划), issue 15 point 3 (branch money2, session
-- 10): a plan per week or ten-day period (one per kind and first day), with
-- targets in fen per responsible person (carrier '') and optionally per
-- debtor. Progress is not stored: it is read from the ledger's write-off
-- transfers inside the period. Targets are replaced while the period is
-- open; each change is audited (collection_plan_set).
CREATE TABLE collection_plans (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (kind, first_day)
);
CREATE INDEX collection_plans_first_day ON collection_plans (first_day);

CREATE TABLE collection_targets (
    id BIGSERIAL PRIMARY KEY,
    plan_id BIGINT NOT NULL REFERENCES collection_plans(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    carrier TEXT NOT NULL DEFAULT '',
    target_fen BIGINT NOT NULL CHECK (target_fen > 0),
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
    limit_fen BIGINT,
    hold BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE exposure_incidents (
    id BIGSERIAL PRIMARY KEY,
    carrier TEXT NOT NULL,
    exposure_fen BIGINT NOT NULL,
    over_90_fen BIGINT NOT NULL,
    limit_fen BIGINT,
    held BIGINT NOT NULL DEFAULT 0,
    opened_at BIGINT NOT NULL,
    released_at BIGINT,
    released_by TEXT,
    cleared_at BIGINT
);
CREATE UNIQUE INDEX exposure_incidents_open ON exposure_incidents (carrier) WHERE cleared_at IS NULL;

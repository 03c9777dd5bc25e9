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

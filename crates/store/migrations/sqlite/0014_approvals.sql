-- Maker–checker (issue 12, point 5; domain::approval): a sensitive act
-- above a threshold waits for a second person. One row per request; the
-- decision and, for a single-use approval, its use. Scopes hold ids, codes
-- and dates only, never personal data. Nobody decides their own request:
-- refused by app::approvals and by this table.
CREATE TABLE approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    requested_by INTEGER NOT NULL REFERENCES users(id),
    requested_at INTEGER NOT NULL,
    decision TEXT CHECK (decision IN ('approved', 'refused')),
    decided_by INTEGER REFERENCES users(id),
    decided_at INTEGER,
    note TEXT,
    used_at INTEGER,
    CHECK (decided_by IS NULL OR decided_by <> requested_by),
    CHECK ((decision IS NULL) = (decided_by IS NULL))
);
CREATE INDEX approvals_maker_scope ON approvals (requested_by, scope, id);
CREATE INDEX approvals_undecided ON approvals (requested_at) WHERE decision IS NULL;

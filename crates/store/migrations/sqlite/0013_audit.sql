-- The audit trail (issue 12, point 4): append-only and hash-chained. Each
-- row holds the previous row's hash and its own (SHA-256 over the encoding
-- in `domain::audit::encode`, described in docs/security.md). Rows are
-- appended by `app::audit` in the transaction of the act they record, by
-- SQLite's single writer; the triggers refuse any change or removal.
-- Details hold ids, counts and masked phones only: this table can never be
-- edited, so the retention job could not erase personal data from it.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_user_id INTEGER,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    act TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id INTEGER,
    station_id INTEGER,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_act_at ON audit_log (act, at);
CREATE INDEX audit_log_actor_at ON audit_log (actor_user_id, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Compliance findings (issue 12, point 6): one row per breach a rule found,
-- with its evidence (ids and counts, no personal data), the person
-- responsible, a due date and a status. At most one finding per rule and
-- subject is not yet fixed, so re-running the checks adds nothing new for a
-- breach already found.
CREATE TABLE findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    station_id INTEGER,
    evidence TEXT NOT NULL,
    responsible_user_id INTEGER,
    due_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    found_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX findings_one_unfixed ON findings (rule, subject) WHERE status <> 'fixed';
CREATE INDEX findings_status ON findings (status, found_at);

-- What happened to a finding: found, assigned, explained, fixed, escalated.
CREATE TABLE finding_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id INTEGER NOT NULL REFERENCES findings(id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    status TEXT NOT NULL,
    responsible_user_id INTEGER,
    note TEXT
);
CREATE INDEX finding_history_finding ON finding_history (finding_id, id);

-- When the account last signed in, for the idle-account rule.
ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER;

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

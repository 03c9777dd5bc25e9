-- The audit trail (issue 12, point 4): append-only and hash-chained. Each
-- row holds the previous row's hash and its own (SHA-256 over the encoding
-- in `domain::audit::encode`, described in docs/security.md). Rows are
-- appended by `app::audit` in the transaction of the act they record, under
-- a transaction-scoped advisory lock so the chain never forks; the triggers
-- refuse any change or removal. Details hold ids, counts and masked phones
-- only: this table can never be edited, so the retention job could not
-- erase personal data from it.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_user_id BIGINT,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    act TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id BIGINT,
    station_id BIGINT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_act_at ON audit_log (act, at);
CREATE INDEX audit_log_actor_at ON audit_log (actor_user_id, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Compliance findings (issue 12, point 6): one row per breach a rule found,
-- with its evidence (ids and counts, no personal data), the person
-- responsible, a due date and a status. At most one finding per rule and
-- subject is not yet fixed, so re-running the checks adds nothing new for a
-- breach already found.
CREATE TABLE findings (
    id BIGSERIAL PRIMARY KEY,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    station_id BIGINT,
    evidence TEXT NOT NULL,
    responsible_user_id BIGINT,
    due_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    found_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX findings_one_unfixed ON findings (rule, subject) WHERE status <> 'fixed';
CREATE INDEX findings_status ON findings (status, found_at);

-- What happened to a finding: found, assigned, explained, fixed, escalated.
CREATE TABLE finding_history (
    id BIGSERIAL PRIMARY KEY,
    finding_id BIGINT NOT NULL REFERENCES findings(id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    status TEXT NOT NULL,
    responsible_user_id BIGINT,
    note TEXT
);
CREATE INDEX finding_history_finding ON finding_history (finding_id, id);

-- When the account last signed in, for the idle-account rule.
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT;

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

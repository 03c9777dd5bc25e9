-- The arrears ledger (欠费台账, issue 15, point 3). Each debtor (a carrier)
-- has its terms: the county staff member responsible for collecting from it
-- (a user, with the phone they are reached on) and its payment terms in
-- days (资金缴纳时限), which date each statement's invoice. Changing them is
-- audited (`debtor_terms_set`), so the row holds only the current terms.
CREATE TABLE debtor_terms (
    carrier TEXT PRIMARY KEY,
    responsible_user_id BIGINT REFERENCES users(id),
    responsible_phone TEXT,
    payment_days BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- The history of chasing a debtor: who called whom, when, how, what was
-- said and what was promised (an amount by a day). History is never
-- rewritten: UPDATE and DELETE are refused.
CREATE TABLE debtor_contacts (
    id BIGSERIAL PRIMARY KEY,
    carrier TEXT NOT NULL,
    at BIGINT NOT NULL,
    by_user TEXT NOT NULL,
    contacted TEXT NOT NULL,
    channel TEXT NOT NULL,
    note TEXT NOT NULL,
    promised_fen BIGINT,
    promised_by TEXT
);
CREATE INDEX debtor_contacts_carrier ON debtor_contacts (carrier, id);
CREATE FUNCTION debtor_contacts_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'debtor contacts are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER debtor_contacts_no_change BEFORE UPDATE OR DELETE ON debtor_contacts
    FOR EACH ROW EXECUTE FUNCTION debtor_contacts_append_only();

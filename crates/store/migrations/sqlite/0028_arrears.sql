-- The arrears ledger (欠费台账, issue 15, point 3). Each debtor (a carrier)
-- has its terms: the county staff member responsible for collecting from it
-- (a user, with the phone they are reached on) and its payment terms in
-- days (资金缴纳时限), which date each statement's invoice. Changing them is
-- audited (`debtor_terms_set`), so the row holds only the current terms.
CREATE TABLE debtor_terms (
    carrier TEXT PRIMARY KEY,
    responsible_user_id INTEGER REFERENCES users(id),
    responsible_phone TEXT,
    payment_days INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

-- The history of chasing a debtor: who called whom, when, how, what was
-- said and what was promised (an amount by a day). History is never
-- rewritten: UPDATE and DELETE are refused.
CREATE TABLE debtor_contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    carrier TEXT NOT NULL,
    at INTEGER NOT NULL,
    by_user TEXT NOT NULL,
    contacted TEXT NOT NULL,
    channel TEXT NOT NULL,
    note TEXT NOT NULL,
    promised_fen INTEGER,
    promised_by TEXT
);
CREATE INDEX debtor_contacts_carrier ON debtor_contacts (carrier, id);
CREATE TRIGGER debtor_contacts_no_update BEFORE UPDATE ON debtor_contacts
BEGIN
    SELECT RAISE(ABORT, 'debtor contacts are append-only');
END;
CREATE TRIGGER debtor_contacts_no_delete BEFORE DELETE ON debtor_contacts
BEGIN
    SELECT RAISE(ABORT, 'debtor contacts are append-only');
END;

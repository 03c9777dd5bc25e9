-- Idempotency keys of the JSON API (issue 13, item 4): a POST sent again
-- with the same `Idempotency-Key` and the same request gets the first
-- answer back without acting twice; the same key with another request is
-- refused. Keys are per caller (user) and kept 24 hours (the retention job
-- prunes them). `response` is empty while the first request is running.
CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    response TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

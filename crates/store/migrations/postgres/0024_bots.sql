-- Seeing (issue 16): messages for the managers' group chats through group
-- robots (WeCom, DingTalk) — the robots' outbox, written in the same
-- transaction as what caused it (the daily report, a day's receipts list)
-- and sent by the relay with retries. Figures only, never personal data;
-- the robot is named as configured (`[bots.NAME]`), its URL and secret stay
-- in the configuration.
CREATE TABLE bot_messages (
    id BIGSERIAL PRIMARY KEY,
    bot TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    markdown TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- pending, sent, failed
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    sent_at BIGINT
);
CREATE INDEX bot_messages_due ON bot_messages (status, next_attempt_at);

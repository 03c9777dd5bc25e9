-- Tracking back to carriers. A subscription is a carrier's endpoint with its
-- signing secret (kept whole: it must sign every delivery; shown once at
-- creation and never returned again) and the public event names it hears,
-- comma-separated.
CREATE TABLE webhook_subscriptions (
    id BIGSERIAL PRIMARY KEY,
    carrier TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    event_kinds TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_carrier ON webhook_subscriptions (carrier, id);

-- The webhooks' outbox: one row per (event, subscription), written in the
-- same transaction as the event. The delivery key (event idempotency key +
-- subscription) is unique, so a delivery is written at most once; the
-- payload is the exact body that is signed and sent.
CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    subscription_id BIGINT NOT NULL REFERENCES webhook_subscriptions(id),
    carrier TEXT NOT NULL,
    delivery_key TEXT NOT NULL UNIQUE,
    event_kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- pending, delivered, failed
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_status_code BIGINT,
    last_error TEXT,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id);

-- Every attempt, per carrier: what the receiver answered and what happens next.
CREATE TABLE webhook_attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries(id),
    carrier TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    at BIGINT NOT NULL,
    status_code BIGINT,
    error TEXT,
    next_attempt_at BIGINT,
    status TEXT NOT NULL
);
CREATE INDEX webhook_attempts_carrier ON webhook_attempts (carrier, id);

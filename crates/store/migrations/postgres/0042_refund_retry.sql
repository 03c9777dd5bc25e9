-- Issue 14 (session 10): refunds the provider failed are retried by a job.
-- The amount to give back is kept with the payment when the refund is
-- owed: a payment refunded for a wrong amount gives back what was paid,
-- not what was asked (NULL on older rows: the asked amount). The partial
-- index lets the job find what waits without reading every payment.
ALTER TABLE send_payments ADD COLUMN refund_fen BIGINT;
ALTER TABLE send_payments ADD COLUMN refund_attempts BIGINT NOT NULL DEFAULT 0;
CREATE INDEX send_payments_refunds ON send_payments (id) WHERE status = 'refund_requested';

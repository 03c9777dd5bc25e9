-- Webhook secret rotation and deletion (issue 11). During a rotation the
-- previous secret keeps signing beside the new one until
-- previous_secret_until; a deleted subscription stays as a tombstone so its
-- delivery log keeps its references, and is never read as live again.
ALTER TABLE webhook_subscriptions ADD COLUMN previous_secret TEXT;
ALTER TABLE webhook_subscriptions ADD COLUMN previous_secret_until INTEGER;
ALTER TABLE webhook_subscriptions ADD COLUMN deleted_at INTEGER;

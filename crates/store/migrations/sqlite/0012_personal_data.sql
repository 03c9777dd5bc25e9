-- Issue 12: personal data sealed at rest. recipient_name, phone and address
-- now hold `enc1:{key id}:…` values (XChaCha20-Poly1305 under the key file's
-- data key), phone_tail holds the tail's keyed hash and phone_hash the whole
-- number's, for look-ups. Rows written before this migration are sealed by
-- the start-up step in batches (`App::seal_personal_data`), not here: SQL has
-- no key.
ALTER TABLE parcels ADD COLUMN phone_hash TEXT;
CREATE INDEX parcels_phone_hash ON parcels (station_id, phone_hash);
-- Retention finds parcels that left the station by state and time.
CREATE INDEX parcels_state_updated ON parcels (state, updated_at);
-- A message's template outlives its body, which is emptied once sent.
ALTER TABLE outbox ADD COLUMN template TEXT;
CREATE INDEX outbox_sent ON outbox (sent_at);
CREATE INDEX code_attempts_at ON code_attempts (at);

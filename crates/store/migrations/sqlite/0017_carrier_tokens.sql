-- The carrier portal (issue 13): a carrier's system holds long-lived API
-- tokens that its staff list and revoke, told apart from sign-in sessions
-- (kind 'session') by kind 'api', with when each last authenticated.
ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'session';
ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

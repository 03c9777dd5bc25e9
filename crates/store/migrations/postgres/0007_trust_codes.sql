-- Issue 11 (trust): pickup codes, the door throttle, accounts.

-- The door terminal throttles wrong codes per source address too.
ALTER TABLE code_attempts ADD COLUMN source TEXT NOT NULL DEFAULT '';
CREATE INDEX code_attempts_source ON code_attempts (station_id, source, at);

-- Pickup codes' secret part is random now; the guessable counter {seq:N}
-- is no longer a valid template. Codes already handed out stay as they are
-- (they are checked by value); new ones use six random digits.
UPDATE stations SET code_format =
    replace(replace(replace(replace(code_format,
        '{seq:3}', '{code:6}'), '{seq:4}', '{code:6}'), '{seq:5}', '{code:6}'), '{seq:6}', '{code:6}');

-- An administrator may disable an account: its tokens stop working at once
-- and it cannot sign in until enabled again.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

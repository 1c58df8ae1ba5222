-- A signature's two dates and its re-checks. signed_at stays the date shown (the reply's published date when it is
-- plausible); received_at is when this server received the reply. The re-check (memo signatures recheck, and the
-- server in the background) fetches each standing signature's note again: checked_at is its last attempt,
-- check_result what it found, check_failures how many attempts in a row could not tell (network, 5xx),
-- next_check_at when it is due again (0: due now, as every signature stored before this migration is).
ALTER TABLE signatures ADD COLUMN received_at BIGINT NOT NULL DEFAULT 0;
UPDATE signatures SET received_at = signed_at;
ALTER TABLE signatures ADD COLUMN checked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signatures ADD COLUMN check_result TEXT NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN check_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signatures ADD COLUMN next_check_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX signatures_recheck ON signatures (next_check_at, id) WHERE withdrawn_at IS NULL AND status = 'active';

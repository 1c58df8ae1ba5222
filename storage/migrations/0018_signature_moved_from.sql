-- A signature carried over to the account its signer moved to (Move) keeps the account that wrote the note: the note's
-- author, which the re-check compares with the note's attributedTo. Empty for a signature never moved.
ALTER TABLE signatures ADD COLUMN moved_from TEXT NOT NULL DEFAULT '';

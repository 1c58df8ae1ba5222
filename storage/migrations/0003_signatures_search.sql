-- Signature search and the listed page at a million rows.
-- search_text holds display name, handle and instance folded by the application (lower case, accents removed), so
-- a search behaves the same on both engines (SQLite's LOWER only knows ASCII). Rows written before this migration
-- get an ASCII-lowered copy.
ALTER TABLE signatures ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE signatures SET search_text = LOWER(display_name || ' ' || handle || ' ' || domain);

-- The listed signatures (standing, public or unlisted) in id order: keyset pages in either direction read only
-- this index. Its condition is written exactly as the queries write it, which SQLite needs to use a partial index.
CREATE INDEX signatures_listed ON signatures (id) WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility IN ('public', 'unlisted');
CREATE INDEX signatures_listed_domain ON signatures (domain, id) WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility IN ('public', 'unlisted');

-- Counting signatures by state without reading the table: each count reads a partial index, the large one
-- (signatures_listed, from 0003) only its entries. Conditions are written exactly as CountSignatures writes them.
CREATE INDEX signatures_private ON signatures (id) WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility NOT IN ('public', 'unlisted');
CREATE INDEX signatures_withdrawn ON signatures (id) WHERE withdrawn_at IS NOT NULL;
CREATE INDEX signatures_hidden ON signatures (id) WHERE withdrawn_at IS NULL AND status = 'hidden';

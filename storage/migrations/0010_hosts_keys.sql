-- One row per key id. A key id that several cached actors claim is dropped from all of them: each is fetched
-- again, from the key's own URL, the next time it signs. The unique index then keeps it so (the older index on
-- key_id stays for the lookups, which name any key id).
UPDATE actors SET key_id = '', public_key_pem = ''
    WHERE key_id <> '' AND key_id IN (SELECT key_id FROM actors WHERE key_id <> '' GROUP BY key_id HAVING COUNT(*) > 1);
CREATE UNIQUE INDEX actors_key_id_unique ON actors (key_id) WHERE key_id <> '';

-- Hosts in canonical form (content.CanonicalHost), as far as SQL does it cheaply: lower case, no trailing dot.
-- Rows written from now on are canonical in full (IDNA in ASCII, no default port).
-- Blocks: where two spellings of one domain were both blocked, the smallest is kept, then renamed.
DELETE FROM blocks WHERE kind = 'domain' AND EXISTS (
    SELECT 1 FROM blocks b WHERE b.kind = 'domain' AND LOWER(RTRIM(b.value, '.')) = LOWER(RTRIM(blocks.value, '.')) AND b.value < blocks.value);
UPDATE blocks SET value = LOWER(RTRIM(value, '.')) WHERE kind = 'domain' AND value <> LOWER(RTRIM(value, '.'));
UPDATE signatures SET domain = LOWER(RTRIM(domain, '.')) WHERE domain <> LOWER(RTRIM(domain, '.'));
UPDATE actors SET domain = LOWER(RTRIM(domain, '.')) WHERE domain <> LOWER(RTRIM(domain, '.'));
UPDATE followers SET domain = LOWER(RTRIM(domain, '.')) WHERE domain <> LOWER(RTRIM(domain, '.'));
UPDATE copies SET domain = LOWER(RTRIM(domain, '.')) WHERE domain <> LOWER(RTRIM(domain, '.'));
UPDATE deliveries SET domain = LOWER(RTRIM(domain, '.')) WHERE domain <> LOWER(RTRIM(domain, '.'));
-- A failing domain's record under another spelling is dropped: the next failure records it again.
DELETE FROM domains WHERE domain <> LOWER(RTRIM(domain, '.'));

-- Signature search served from an index: a trigram GIN index over search_text answers LIKE '%word%' for words of
-- 3 characters or more without reading every row. pg_trgm ships with PostgreSQL (Debian's postgresql-contrib,
-- installed with the server) and is a trusted extension: the database's owner may create it. It goes to public
-- unless it is already installed elsewhere, so that dropping the memo's own schema never takes it along.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
DO $$
BEGIN
    EXECUTE format('CREATE INDEX signatures_search ON signatures USING gin (search_text %I.gin_trgm_ops)',
        (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'));
END
$$;

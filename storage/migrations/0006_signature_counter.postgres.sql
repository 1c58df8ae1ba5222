-- The signature counts, kept by a trigger in the transaction that changes a signature, so that pages and
-- collections read four numbers instead of counting a million rows (see the SQLite version of this migration).
CREATE TABLE signature_counts (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    public    BIGINT NOT NULL,
    private   BIGINT NOT NULL,
    withdrawn BIGINT NOT NULL,
    hidden    BIGINT NOT NULL
);
INSERT INTO signature_counts (id, public, private, withdrawn, hidden) SELECT 1,
    (SELECT COUNT(*) FROM signatures WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility IN ('public', 'unlisted')),
    (SELECT COUNT(*) FROM signatures WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility NOT IN ('public', 'unlisted')),
    (SELECT COUNT(*) FROM signatures WHERE withdrawn_at IS NOT NULL),
    (SELECT COUNT(*) FROM signatures WHERE withdrawn_at IS NULL AND status = 'hidden');
CREATE FUNCTION signature_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE signature_counts SET
            public    = public    - (OLD.withdrawn_at IS NULL AND OLD.status <> 'hidden' AND OLD.visibility IN ('public', 'unlisted'))::int,
            private   = private   - (OLD.withdrawn_at IS NULL AND OLD.status <> 'hidden' AND OLD.visibility NOT IN ('public', 'unlisted'))::int,
            withdrawn = withdrawn - (OLD.withdrawn_at IS NOT NULL)::int,
            hidden    = hidden    - (OLD.withdrawn_at IS NULL AND OLD.status = 'hidden')::int
        WHERE id = 1;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE signature_counts SET
            public    = public    + (NEW.withdrawn_at IS NULL AND NEW.status <> 'hidden' AND NEW.visibility IN ('public', 'unlisted'))::int,
            private   = private   + (NEW.withdrawn_at IS NULL AND NEW.status <> 'hidden' AND NEW.visibility NOT IN ('public', 'unlisted'))::int,
            withdrawn = withdrawn + (NEW.withdrawn_at IS NOT NULL)::int,
            hidden    = hidden    + (NEW.withdrawn_at IS NULL AND NEW.status = 'hidden')::int
        WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER signature_counts_insert_delete AFTER INSERT OR DELETE ON signatures
    FOR EACH ROW EXECUTE FUNCTION signature_counts_change();
CREATE TRIGGER signature_counts_update AFTER UPDATE OF withdrawn_at, status, visibility ON signatures
    FOR EACH ROW EXECUTE FUNCTION signature_counts_change();

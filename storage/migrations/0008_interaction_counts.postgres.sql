-- The interaction counts of each object, kept by a trigger in the transaction that changes an interaction (see
-- the SQLite version of this migration).
CREATE TABLE interaction_counts (
    object_iri TEXT PRIMARY KEY,
    replies    BIGINT NOT NULL,
    likes      BIGINT NOT NULL,
    shares     BIGINT NOT NULL
);
INSERT INTO interaction_counts (object_iri, replies, likes, shares)
SELECT object_iri,
    SUM(CASE WHEN kind = 'reply' AND visibility IN ('public', 'unlisted') THEN 1 ELSE 0 END),
    SUM(CASE WHEN kind = 'like' THEN 1 ELSE 0 END),
    SUM(CASE WHEN kind = 'announce' THEN 1 ELSE 0 END)
FROM interactions GROUP BY object_iri;
CREATE FUNCTION interaction_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE interaction_counts SET
            replies = replies - (OLD.kind = 'reply' AND OLD.visibility IN ('public', 'unlisted'))::int,
            likes   = likes   - (OLD.kind = 'like')::int,
            shares  = shares  - (OLD.kind = 'announce')::int
        WHERE object_iri = OLD.object_iri;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO interaction_counts AS c (object_iri, replies, likes, shares) VALUES (NEW.object_iri,
            (NEW.kind = 'reply' AND NEW.visibility IN ('public', 'unlisted'))::int, (NEW.kind = 'like')::int,
            (NEW.kind = 'announce')::int)
        ON CONFLICT (object_iri) DO UPDATE SET
            replies = c.replies + excluded.replies, likes = c.likes + excluded.likes, shares = c.shares + excluded.shares;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER interaction_counts_insert_delete AFTER INSERT OR DELETE ON interactions
    FOR EACH ROW EXECUTE FUNCTION interaction_counts_change();
CREATE TRIGGER interaction_counts_update AFTER UPDATE OF kind, visibility, object_iri ON interactions
    FOR EACH ROW EXECUTE FUNCTION interaction_counts_change();

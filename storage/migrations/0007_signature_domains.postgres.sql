-- Listed signatures per instance, kept by a trigger like signature_counts (see the SQLite version).
CREATE TABLE signature_domains (
    domain TEXT PRIMARY KEY,
    listed BIGINT NOT NULL
);
CREATE INDEX signature_domains_listed ON signature_domains (listed, domain);
INSERT INTO signature_domains (domain, listed)
    SELECT domain, COUNT(*) FROM signatures
    WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility IN ('public', 'unlisted') GROUP BY domain;
CREATE FUNCTION signature_domains_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND (OLD.withdrawn_at IS NULL AND OLD.status <> 'hidden' AND OLD.visibility IN ('public', 'unlisted')) THEN
        UPDATE signature_domains SET listed = listed - 1 WHERE domain = OLD.domain;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND (NEW.withdrawn_at IS NULL AND NEW.status <> 'hidden' AND NEW.visibility IN ('public', 'unlisted')) THEN
        INSERT INTO signature_domains (domain, listed) VALUES (NEW.domain, 1)
            ON CONFLICT (domain) DO UPDATE SET listed = signature_domains.listed + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER signature_domains_insert_delete AFTER INSERT OR DELETE ON signatures
    FOR EACH ROW EXECUTE FUNCTION signature_domains_change();
CREATE TRIGGER signature_domains_update AFTER UPDATE OF withdrawn_at, status, visibility, domain ON signatures
    FOR EACH ROW EXECUTE FUNCTION signature_domains_change();

-- Listed signatures per instance, kept by triggers like signature_counts (0006): the list's "count per instance"
-- reads the largest rows of a small table instead of grouping a million signatures.
CREATE TABLE signature_domains (
    domain TEXT PRIMARY KEY,
    listed BIGINT NOT NULL
);
CREATE INDEX signature_domains_listed ON signature_domains (listed, domain);
INSERT INTO signature_domains (domain, listed)
    SELECT domain, COUNT(*) FROM signatures
    WHERE withdrawn_at IS NULL AND status <> 'hidden' AND visibility IN ('public', 'unlisted') GROUP BY domain;
CREATE TRIGGER signature_domains_insert AFTER INSERT ON signatures WHEN NEW.withdrawn_at IS NULL AND NEW.status <> 'hidden' AND NEW.visibility IN ('public', 'unlisted') BEGIN
    INSERT INTO signature_domains (domain, listed) VALUES (NEW.domain, 1)
        ON CONFLICT (domain) DO UPDATE SET listed = listed + 1;
END;
CREATE TRIGGER signature_domains_update AFTER UPDATE OF withdrawn_at, status, visibility, domain ON signatures BEGIN
    UPDATE signature_domains SET listed = listed - 1 WHERE domain = OLD.domain AND (OLD.withdrawn_at IS NULL AND OLD.status <> 'hidden' AND OLD.visibility IN ('public', 'unlisted'));
    INSERT INTO signature_domains (domain, listed) SELECT NEW.domain, 1 WHERE NEW.withdrawn_at IS NULL AND NEW.status <> 'hidden' AND NEW.visibility IN ('public', 'unlisted')
        ON CONFLICT (domain) DO UPDATE SET listed = listed + 1;
END;
CREATE TRIGGER signature_domains_delete AFTER DELETE ON signatures WHEN OLD.withdrawn_at IS NULL AND OLD.status <> 'hidden' AND OLD.visibility IN ('public', 'unlisted') BEGIN
    UPDATE signature_domains SET listed = listed - 1 WHERE domain = OLD.domain;
END;

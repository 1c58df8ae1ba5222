-- The signature counts, kept by triggers in the transaction that changes a signature, so that pages and
-- collections read four numbers instead of counting a million rows. The states are those of CountSignatures:
-- public (listed), private, withdrawn, hidden.
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
CREATE TRIGGER signature_counts_insert AFTER INSERT ON signatures BEGIN
    UPDATE signature_counts SET
        public    = public    + (NEW.withdrawn_at IS NULL AND NEW.status <> 'hidden' AND NEW.visibility IN ('public', 'unlisted')),
        private   = private   + (NEW.withdrawn_at IS NULL AND NEW.status <> 'hidden' AND NEW.visibility NOT IN ('public', 'unlisted')),
        withdrawn = withdrawn + (NEW.withdrawn_at IS NOT NULL),
        hidden    = hidden    + (NEW.withdrawn_at IS NULL AND NEW.status = 'hidden')
    WHERE id = 1;
END;
CREATE TRIGGER signature_counts_update AFTER UPDATE OF withdrawn_at, status, visibility ON signatures BEGIN
    UPDATE signature_counts SET
        public    = public    - (OLD.withdrawn_at IS NULL AND OLD.status <> 'hidden' AND OLD.visibility IN ('public', 'unlisted'))
                              + (NEW.withdrawn_at IS NULL AND NEW.status <> 'hidden' AND NEW.visibility IN ('public', 'unlisted')),
        private   = private   - (OLD.withdrawn_at IS NULL AND OLD.status <> 'hidden' AND OLD.visibility NOT IN ('public', 'unlisted'))
                              + (NEW.withdrawn_at IS NULL AND NEW.status <> 'hidden' AND NEW.visibility NOT IN ('public', 'unlisted')),
        withdrawn = withdrawn - (OLD.withdrawn_at IS NOT NULL) + (NEW.withdrawn_at IS NOT NULL),
        hidden    = hidden    - (OLD.withdrawn_at IS NULL AND OLD.status = 'hidden') + (NEW.withdrawn_at IS NULL AND NEW.status = 'hidden')
    WHERE id = 1;
END;
CREATE TRIGGER signature_counts_delete AFTER DELETE ON signatures BEGIN
    UPDATE signature_counts SET
        public    = public    - (OLD.withdrawn_at IS NULL AND OLD.status <> 'hidden' AND OLD.visibility IN ('public', 'unlisted')),
        private   = private   - (OLD.withdrawn_at IS NULL AND OLD.status <> 'hidden' AND OLD.visibility NOT IN ('public', 'unlisted')),
        withdrawn = withdrawn - (OLD.withdrawn_at IS NOT NULL),
        hidden    = hidden    - (OLD.withdrawn_at IS NULL AND OLD.status = 'hidden')
    WHERE id = 1;
END;

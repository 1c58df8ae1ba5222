-- Signature search served from an index, kept by triggers in the same transactions as the rows: an FTS5 table
-- over search_text (words already folded by the application, see storage/search.go). Queries are prefixes of
-- words, so no positions are kept (detail=none) and prefixes of 2 and 3 characters have their own entries.
CREATE VIRTUAL TABLE signatures_fts USING fts5(search_text, content='signatures', content_rowid='id', tokenize='unicode61', prefix='2 3', detail=none);
INSERT INTO signatures_fts (signatures_fts) VALUES ('rebuild');
CREATE TRIGGER signatures_fts_insert AFTER INSERT ON signatures BEGIN
    INSERT INTO signatures_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER signatures_fts_delete AFTER DELETE ON signatures BEGIN
    INSERT INTO signatures_fts (signatures_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER signatures_fts_update AFTER UPDATE OF search_text ON signatures BEGIN
    INSERT INTO signatures_fts (signatures_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO signatures_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
-- Every word ever indexed and how many rows had it, to spell a prefix out as the few words it stands for and to
-- look up the rarest word of a query (see storage/search.go). The
-- application adds the words of each row it writes; storage.Optimize fills it after a bulk load.
CREATE TABLE search_words (word TEXT PRIMARY KEY, rows BIGINT NOT NULL DEFAULT 0) WITHOUT ROWID;
-- FTS5's own list of its words, which Optimize reads (it counts rows per word, too slow for each query).
CREATE VIRTUAL TABLE signatures_fts_words USING fts5vocab(signatures_fts, 'row');
INSERT INTO search_words (word, rows) SELECT term, doc FROM signatures_fts_words WHERE true ON CONFLICT DO NOTHING;

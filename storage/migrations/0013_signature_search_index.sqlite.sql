-- Signature search served from an index: an FTS5 table with the trigram tokenizer over search_text, kept by
-- triggers in the same transactions as the rows. Trigrams answer substring queries of 3 characters or more, so
-- "elo" finds "éloïse" as a plain LIKE '%elo%' did, without reading every row.
CREATE VIRTUAL TABLE signatures_fts USING fts5(search_text, content='signatures', content_rowid='id', tokenize='trigram');
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

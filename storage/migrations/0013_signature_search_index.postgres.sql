-- Signature search served from an index: a GIN index of the words of search_text (already folded and cut by the
-- application, see storage/search.go). The words are kept in a stored column, so that testing a row costs no
-- parsing. The 'simple' configuration keeps every word as it is: no stemming, no stop words, no extension to
-- install. PostgreSQL maintains column and index in the same transactions as the rows.
ALTER TABLE signatures ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED;
CREATE INDEX signatures_search ON signatures USING gin (search_vector);
-- Every word ever indexed, in byte order, and how many rows had it, to spell a prefix out as the few words it
-- stands for and to look up the rarest word of a query (see
-- storage/search.go). The application adds the words of each row it writes; storage.Optimize fills it after a
-- bulk load.
CREATE TABLE search_words (word TEXT COLLATE "C" PRIMARY KEY, rows BIGINT NOT NULL DEFAULT 0);
INSERT INTO search_words (word, rows) SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM signatures') ON CONFLICT DO NOTHING;

package storage

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/memo-fediverse/memo/content"
)

// Signature search. Each signature keeps search_text: the words of its display name, handle, instance and reply
// text, folded in Go the way the signing phrases are (content.Fold: accents removed, case folded) and cut at
// everything that is not a letter or a digit, so that both engines index the same words ("Éloïse" is found by
// "eloise", "piaille.fr" is the words piaille and fr). A query is cut the same way; a signature matches when each
// word of the query begins one of its words: "elo" finds "Éloïse", "piaille" its instance, "u42" its handle.
//
// Both engines answer from an index (migration 0013), kept in the rows' own transactions: FTS5 on SQLite (by
// triggers), a GIN index of the stored to_tsvector('simple', search_text) on PostgreSQL. On SQLite the index is walked in
// id order and joined to the rows, so a page of a common word stops after its 50 rows and a rare word reads only
// its own rows.

// searchTokens folds s and cuts it into words of letters and digits.
func searchTokens(s string) []string {
	return strings.FieldsFunc(content.Fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// SearchTextOf is what a signature's search_text holds; the load tool's seeding uses it too.
func SearchTextOf(displayName, handle, domain, contentHTML string) string {
	return strings.Join(searchTokens(displayName+" "+handle+" "+domain+" "+content.PlainText(contentHTML)), " ")
}

func searchTextOf(g Signature) string {
	return SearchTextOf(g.DisplayName, g.Handle, g.Domain, g.Content)
}

// maxSearchWords bounds the words of one query: each is one more index lookup.
const maxSearchWords = 8

// searchSQL is how a query reads signatures: the table expression, the id column to order and page by, and the
// condition (no leading AND; empty for no search) with its arguments.
type searchSQL struct {
	from, id, cond string
	args           []any
}

func (s *Store) searchFor(ctx context.Context, q string) (searchSQL, error) {
	words := searchTokens(q)
	if len(words) == 0 {
		if strings.TrimSpace(q) != "" {
			// Punctuation alone: no word to look for, so nothing is found (rather than everything).
			return searchSQL{from: ` FROM signatures`, id: `id`, cond: `1 = 0`}, nil
		}
		return searchSQL{from: ` FROM signatures`, id: `id`}, nil
	}
	seen := map[string]bool{}
	var uniq []string
	for _, w := range words {
		if !seen[w] && len(uniq) < maxSearchWords {
			seen[w] = true
			uniq = append(uniq, w)
		}
	}
	// Each word is looked up in the index, or checked on the rows the index found: the index reads the rarest word
	// only. Walking a word most rows have in step with a rare one costs a seek in its long list per match; testing
	// the rare word's rows for it costs one comparison each. Words hold letters and digits only: quoting them is enough in both query
	// languages, and they cannot hold LIKE's wildcards.
	type lookup struct {
		term, check string
		checkArgs   []any
		rows        int64
	}
	var looks []lookup
	for _, w := range uniq {
		spelled, rows, err := s.prefixWords(ctx, w)
		if err != nil {
			return searchSQL{}, err
		}
		var l lookup
		l.rows = rows
		switch {
		case len(spelled) == 0 && s.dialect == SQLite:
			l.term = `"` + w + `"*`
		case len(spelled) == 0:
			l.term = `'` + w + `':*`
		case s.dialect == SQLite:
			l.term = `("` + strings.Join(spelled, `" OR "`) + `")`
		default:
			l.term = `('` + strings.Join(spelled, `' | '`) + `')`
		}
		// On the row: a word of search_text that begins with w (search_text is words joined by single spaces).
		l.check, l.checkArgs = `(' ' || signatures.search_text) LIKE ?`, []any{"% " + w + "%"}
		looks = append(looks, l)
	}
	rarest := 0
	for i, l := range looks {
		if l.rows < looks[rarest].rows {
			rarest = i
		}
	}
	var checks []string
	var checkArgs []any
	for i, l := range looks {
		if i != rarest {
			checks = append(checks, l.check)
			checkArgs = append(checkArgs, l.checkArgs...)
		}
	}
	withChecks := func(sq searchSQL) searchSQL {
		if len(checks) > 0 {
			sq.cond += " AND " + strings.Join(checks, " AND ")
			sq.args = append(sq.args, checkArgs...)
		}
		return sq
	}
	terms := []string{looks[rarest].term}
	if s.dialect == SQLite {
		// CROSS JOIN keeps the index as the outer loop, in rowid order.
		return withChecks(searchSQL{
			from: ` FROM signatures_fts CROSS JOIN signatures ON signatures.id = signatures_fts.rowid`,
			id:   `signatures_fts.rowid`, cond: `signatures_fts MATCH ?`, args: []any{strings.Join(terms, " AND ")},
		}), nil
	}
	query := strings.Join(terms, " & ")
	// Ordered by id, PostgreSQL's planner walks the id index and tests each row until the page is full: right for
	// a common word, but for a word on one row in a thousand that is most of the table.
	// Walking reads about 50 × rows ÷ matches rows, finding the matches in the GIN index then sorting them about
	// matches rows: the walk pays when there are more than √(50 × rows) matches. Counting up to that many reads
	// the index and at most that many rows. "id + 0" is no index.
	var n int
	dense := denseMatches(ctx, s)
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM (SELECT 1 FROM signatures WHERE search_vector @@ to_tsquery('simple', $1) LIMIT $2) AS x`, query, dense); err != nil {
		return searchSQL{}, fmt.Errorf("search %q: %w", q, err)
	}
	id := `id`
	if n < dense {
		id = `(id + 0)`
	}
	return withChecks(searchSQL{from: ` FROM signatures`, id: id, cond: `search_vector @@ to_tsquery('simple', ?)`, args: []any{query}}), nil
}

// denseMatches is how many matches make a PostgreSQL search walk the rows in id order (see searchFor).
func denseMatches(ctx context.Context, s *Store) int {
	t, err := s.CountSignatures(ctx)
	if err != nil {
		return 1000
	}
	return max(100, int(math.Sqrt(50*float64(t.Total()))))
}

// maxPrefixWords is how many indexed words a prefix may stand for and still be spelled out.
const maxPrefixWords = 16

// prefixWords lists the indexed words that begin with w and how many rows have them (as search_words counts
// them), or nil when there are more than maxPrefixWords or none (then the index answers the prefix itself, and
// the count is unknown: the largest).
//
// Both indexes answer a prefix query by merging the lists of rows of every word it stands for, whole, before the
// other words of the query are looked at: "example" as a prefix would read every row of a million on the same
// instance name. Spelled out as the few words it stands for ("example" OR "examples"), it is read like any word.
func (s *Store) prefixWords(ctx context.Context, w string) ([]string, int64, error) {
	if s.dialect == SQLite && len([]rune(w)) <= 3 {
		return nil, math.MaxInt64, nil // prefixes of 2 or 3 characters have their own entries in the FTS5 index (prefix='2 3')
	}
	var found []struct {
		Word string `db:"word"`
		Rows int64  `db:"rows"`
	}
	if err := s.db.SelectContext(ctx, &found, s.rebind(`SELECT word, rows FROM search_words WHERE word >= ? AND word < ? ORDER BY word LIMIT ?`),
		w, w+"\U0010FFFF", maxPrefixWords+1); err != nil {
		return nil, 0, fmt.Errorf("search words %q: %w", w, err)
	}
	if len(found) == 0 || len(found) > maxPrefixWords {
		return nil, math.MaxInt64, nil
	}
	words := make([]string, len(found))
	var rows int64
	for i, f := range found {
		words[i] = f.Word
		rows += f.Rows
	}
	return words, rows, nil
}

// addSearchWords records the words of a search_text in search_words and counts one more row for each: a
// count of the rows that ever had the word, enough to tell a rare word from a common one.
func (t *Tx) addSearchWords(ctx context.Context, text string) error {
	seen := map[string]bool{}
	var args []any
	for _, w := range strings.Fields(text) {
		if !seen[w] {
			seen[w] = true
			args = append(args, w)
		}
	}
	if len(args) == 0 {
		return nil
	}
	q := `INSERT INTO search_words (word, rows) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, 1),", len(args)), ",") +
		` ON CONFLICT (word) DO UPDATE SET rows = search_words.rows + 1`
	if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("record search words: %w", err)
	}
	return nil
}

// and is the condition with a leading AND, for queries that already have a WHERE.
func (q searchSQL) and() string {
	if q.cond == "" {
		return ""
	}
	return " AND " + q.cond
}

// searchTextVersion names how search_text is computed now; rows written by an older version are refreshed once.
// Version 2 adds the reply's text, the full Unicode case fold and the cut into words.
const searchTextVersion = "2"

// refreshSearchText recomputes search_text of rows written before searchTextVersion, in batches, once per
// database: SQL cannot fold like content.Fold, so the migration could not.
func (s *Store) refreshSearchText(ctx context.Context) error {
	if v, err := s.Meta(ctx, "search_text_version"); err == nil && v == searchTextVersion {
		return nil
	}
	type row struct {
		ID          int64  `db:"id"`
		DisplayName string `db:"display_name"`
		Handle      string `db:"handle"`
		Domain      string `db:"domain"`
		Content     string `db:"content"`
		SearchText  string `db:"search_text"`
	}
	var after int64
	for {
		var rows []row
		if err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT id, display_name, handle, domain, content, search_text FROM signatures WHERE id > ? ORDER BY id LIMIT 1000`), after); err != nil {
			return fmt.Errorf("refresh search text: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		err := s.InTx(ctx, func(t *Tx) error {
			for _, r := range rows {
				text := SearchTextOf(r.DisplayName, r.Handle, r.Domain, r.Content)
				if err := t.addSearchWords(ctx, text); err != nil {
					return err
				}
				if text == r.SearchText {
					continue
				}
				if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE signatures SET search_text = ? WHERE id = ?`), text, r.ID); err != nil {
					return fmt.Errorf("refresh search text of %d: %w", r.ID, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		after = rows[len(rows)-1].ID
	}
	return s.SetMeta(ctx, "search_text_version", searchTextVersion)
}

// Optimize is what a bulk load of signatures (rows written by SQL, not through AddSignature) is followed by: their
// words recorded in search_words, fresh statistics for the planner and, on SQLite, the search index merged into
// one segment (rows stored one by one keep it merged as they go; a bulk load leaves
// hundreds of segments that every prefix query would read). PostgreSQL's VACUUM also clears the dead versions of
// the counts row its triggers leave.
func (s *Store) Optimize(ctx context.Context) error {
	stmts := []string{`INSERT INTO signatures_fts (signatures_fts) VALUES ('optimize')`,
		`INSERT INTO search_words (word, rows) SELECT term, doc FROM signatures_fts_words WHERE true ON CONFLICT (word) DO UPDATE SET rows = excluded.rows`, `ANALYZE`}
	if s.dialect == Postgres {
		stmts = []string{`INSERT INTO search_words (word, rows) SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM signatures') ON CONFLICT (word) DO UPDATE SET rows = excluded.rows`,
			`VACUUM (ANALYZE) signatures, signature_counts, signature_domains, search_words`}
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("optimize: %s: %w", q, err)
		}
	}
	return nil
}

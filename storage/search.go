package storage

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/memo-fediverse/memo/content"
)

// Signature search. Each signature keeps search_text: its display name, handle, instance and the text of its reply,
// folded in Go the way the signing phrases are (content.Fold: accents removed, case folded), so that both engines
// compare the same characters ("Éloïse" is found by "eloise"). A query is cut into words; a signature matches when
// every word appears in its search_text, anywhere: "elo" finds "Éloïse", "example.social" finds its instance.
//
// The index (migration 0013) is a trigram index on both engines: FTS5's trigram tokenizer on SQLite, pg_trgm's GIN
// index on PostgreSQL. Trigrams serve words of 3 characters or more; a query made only of shorter words is still
// answered, by reading the rows.

// minIndexedWord is the shortest word a trigram index can look up.
const minIndexedWord = 3

// SearchFold is how names and queries are compared: accents removed, case folded, spaces collapsed.
func SearchFold(s string) string {
	return strings.Join(strings.Fields(content.Fold(s)), " ")
}

// SearchTextOf is what a signature's search_text holds; the load tool's seeding uses it too.
func SearchTextOf(displayName, handle, domain, contentHTML string) string {
	return SearchFold(displayName + " " + handle + " " + domain + " " + content.PlainText(contentHTML))
}

func searchTextOf(g Signature) string {
	return SearchTextOf(g.DisplayName, g.Handle, g.Domain, g.Content)
}

// searchWords cuts a query into distinct folded words.
func searchWords(q string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.Fields(SearchFold(q)) {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// searchCond is the condition on signatures (no leading AND) that a query adds, empty for an empty query.
func searchCond(d Dialect, q string) (string, []any) {
	words := searchWords(q)
	if len(words) == 0 {
		return "", nil
	}
	var conds, match []string
	var args []any
	for _, w := range words {
		if d == SQLite && len([]rune(w)) >= minIndexedWord {
			// An FTS5 string in double quotes is a phrase; with trigrams, a phrase matches as a substring.
			match = append(match, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
			continue
		}
		// PostgreSQL's trigram index serves LIKE '%word%' itself; on SQLite this is a short word checked on the row.
		conds = append(conds, `search_text LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(w)+"%")
	}
	if len(match) > 0 {
		conds = append([]string{`id IN (SELECT rowid FROM signatures_fts WHERE signatures_fts MATCH ?)`}, conds...)
		args = append([]any{strings.Join(match, " AND ")}, args...)
	}
	return strings.Join(conds, " AND "), args
}

// searchClause is searchCond with a leading AND, for queries that already have a WHERE.
func (s *Store) searchClause(q string) (string, []any) {
	cond, args := searchCond(s.dialect, q)
	if cond == "" {
		return "", nil
	}
	return " AND " + cond, args
}

// searchTextVersion names how search_text is computed now; rows written by an older version are refreshed once.
// Version 2 adds the reply's text and the full Unicode case fold.
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
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			for _, r := range rows {
				text := SearchTextOf(r.DisplayName, r.Handle, r.Domain, r.Content)
				if text == r.SearchText {
					continue
				}
				if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE signatures SET search_text = ? WHERE id = ?`), text, r.ID); err != nil {
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

package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// The web pages read signatures with these rules: a row counts while it stands (not withdrawn, not hidden by a
// moderator, as CountSignatures counts); it is listed by name only when its reply was 'public' or 'unlisted'
// (followers-only and direct replies are private signatures, counted but never named).
const (
	activeWhere = `withdrawn_at IS NULL AND status <> 'hidden'`
	listedWhere = activeWhere + ` AND visibility IN ('public', 'unlisted')`
)

// ListedSignature is what the web shows of one signature: public profile data only, never the evidence.
type ListedSignature struct {
	ID          int64     `db:"id"`
	ActorIRI    string    `db:"actor_iri"`
	ActorType   string    `db:"actor_type"`
	Handle      string    `db:"handle"`
	DisplayName string    `db:"display_name"`
	Domain      string    `db:"domain"`
	ProfileURL  string    `db:"profile_url"`
	NoteIRI     string    `db:"note_iri"`
	Revision    int       `db:"revision"`
	SignedMS    int64     `db:"signed_at"`
	SignedAt    time.Time `db:"-"`
}

const listedCols = `id, actor_iri, actor_type, handle, display_name, domain, profile_url, note_iri, revision, signed_at`

// SignatureQuery selects a page of listed signatures, oldest first (signature number order). Search matches the
// display name, the handle or the instance. After and Before are keyset cursors (signature ids); at most one is set.
type SignatureQuery struct {
	Search string
	After  int64
	Before int64
	Limit  int
}

// ListedSignatures returns one page of listed signatures in ascending id order.
func (s *Store) ListedSignatures(ctx context.Context, q SignatureQuery) ([]ListedSignature, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	sq, err := s.searchFor(ctx, q.Search)
	if err != nil {
		return nil, err
	}
	where, args := sq.and(), sq.args
	order := "ASC"
	switch {
	case q.Before > 0:
		where += ` AND ` + sq.id + ` < ?`
		args = append(args, q.Before)
		order = "DESC"
	case q.After > 0:
		where += ` AND ` + sq.id + ` > ?`
		args = append(args, q.After)
	}
	args = append(args, q.Limit)
	var out []ListedSignature
	query := `SELECT ` + listedCols + sq.from + ` WHERE ` + listedWhere + where + ` ORDER BY ` + sq.id + ` ` + order + ` LIMIT ?`
	if err := s.db.SelectContext(ctx, &out, s.rebind(query), args...); err != nil {
		return nil, fmt.Errorf("list signatures: %w", err)
	}
	if order == "DESC" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	for i := range out {
		out[i].SignedAt = fromMS(out[i].SignedMS)
	}
	return out, nil
}

// countListedSignatures counts the listed signatures a search matches.
func (s *Store) countListedSignatures(ctx context.Context, search string) (int, error) {
	sq, err := s.searchFor(ctx, search)
	if err != nil {
		return 0, err
	}
	where, args := sq.and(), sq.args
	query := `SELECT COUNT(*)` + sq.from + ` WHERE ` + listedWhere + where
	if where == "" {
		// Without a search every listed signature matches: read the kept count, not a million rows.
		query = `SELECT public FROM signature_counts WHERE id = 1`
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(query), args...); err != nil {
		return 0, fmt.Errorf("count listed signatures: %w", err)
	}
	return n, nil
}

// CountListedSignaturesUpTo counts the listed signatures a search finds, stopping past limit: a word that most
// signers share would otherwise cost as many index reads as it has matches, on every page of its results. It
// returns limit+1 when there are more than limit.
func (s *Store) CountListedSignaturesUpTo(ctx context.Context, search string, limit int) (int, error) {
	sq, err := s.searchFor(ctx, search)
	if err != nil {
		return 0, err
	}
	where, args := sq.and(), sq.args
	if where == "" {
		n, err := s.countListedSignatures(ctx, "")
		return min(n, limit+1), err
	}
	args = append(args, limit+1)
	var n int
	query := `SELECT COUNT(*) FROM (SELECT ` + sq.id + sq.from + ` WHERE ` + listedWhere + where + ` LIMIT ?) AS x`
	if err := s.db.GetContext(ctx, &n, s.rebind(query), args...); err != nil {
		return 0, fmt.Errorf("count listed signatures: %w", err)
	}
	return n, nil
}

// HasListedSignature tells whether a listed signature exists on the given side of id, for pagination links.
func (s *Store) HasListedSignature(ctx context.Context, search string, beyond int64, after bool) (bool, error) {
	sq, err := s.searchFor(ctx, search)
	if err != nil {
		return false, err
	}
	where, args := sq.and(), sq.args
	// The ORDER BY matters on PostgreSQL: without it, the generic plan of the prepared statement is a sequential
	// scan that stops at the first match, which is the whole table when there is none, on every
	// page; ordered by id, the plan walks the index from beyond.
	cmp := " AND " + sq.id + " < ? ORDER BY " + sq.id + " DESC"
	if after {
		cmp = " AND " + sq.id + " > ? ORDER BY " + sq.id
	}
	args = append(args, beyond)
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(`SELECT COUNT(*) FROM (SELECT `+sq.id+sq.from+` WHERE `+listedWhere+where+cmp+` LIMIT 1) AS x`), args...); err != nil {
		return false, fmt.Errorf("look for more signatures: %w", err)
	}
	return n > 0, nil
}

// ListedSignatureByID returns one listed signature; a private, hidden or withdrawn one is ErrNotFound.
func (s *Store) ListedSignatureByID(ctx context.Context, id int64) (ListedSignature, error) {
	var sig ListedSignature
	if err := getRow(ctx, s.db, &sig, "signature "+strconv.FormatInt(id, 10), s.rebind(`SELECT `+listedCols+` FROM signatures WHERE id = ? AND `+listedWhere), id); err != nil {
		return sig, err
	}
	sig.SignedAt = fromMS(sig.SignedMS)
	return sig, nil
}

// CurrentRevisionNumber returns the number of the latest revision (ErrNotFound before the first), a cheap query
// that lets the home page reuse what it rendered for that revision.
func (s *Store) CurrentRevisionNumber(ctx context.Context) (int, error) {
	var n sql.NullInt64
	if err := s.db.GetContext(ctx, &n, `SELECT MAX(number) FROM revisions`); err != nil {
		return 0, fmt.Errorf("current revision number: %w", err)
	}
	if !n.Valid {
		return 0, ErrNotFound
	}
	return int(n.Int64), nil
}

// FrontState is what the home page shows that changes: the current revision's number and the signature count.
type FrontState struct {
	Revision   int `db:"revision"`
	Signatures int `db:"signatures"`
}

// FrontState reads both in one round trip, since the home page is the busiest page (ErrNotFound before the first
// revision).
func (s *Store) FrontState(ctx context.Context) (FrontState, error) {
	var row struct {
		Revision   sql.NullInt64 `db:"revision"`
		Signatures int           `db:"signatures"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT (SELECT MAX(number) FROM revisions) AS revision, (SELECT public + private FROM signature_counts WHERE id = 1) AS signatures`)
	if err != nil {
		return FrontState{}, fmt.Errorf("front page state: %w", err)
	}
	if !row.Revision.Valid {
		return FrontState{}, ErrNotFound
	}
	return FrontState{Revision: int(row.Revision.Int64), Signatures: row.Signatures}, nil
}

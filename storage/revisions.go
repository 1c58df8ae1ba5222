package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// Revision is one published version of the memo.
type Revision struct {
	Number      int       `db:"number"`
	Title       string    `db:"title"`
	Summary     string    `db:"summary"`
	Markdown    string    `db:"markdown"`
	HTML        string    `db:"html"`
	Changelog   string    `db:"changelog"`
	PublishedAt time.Time `db:"-"`
	PublishedMS int64     `db:"published_at"`
}

func (r *Revision) fill() { r.PublishedAt = fromMS(r.PublishedMS) }

const revisionCols = `number, title, summary, markdown, html, changelog, published_at`

// AddRevision is Store.AddRevision in a transaction, so that the revision and its outgoing activities commit
// together.
func (t *Tx) AddRevision(ctx context.Context, rev Revision) (int, error) {
	if t.tx.DriverName() == "pgx" {
		// Serialise publishers: MAX+1 under READ COMMITTED would hand two of them the same number. SQLite
		// transactions here start IMMEDIATE, which already serialises writers.
		if _, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(727275)`); err != nil {
			return 0, fmt.Errorf("lock revisions: %w", err)
		}
	}
	var last sql.NullInt64
	if err := t.tx.GetContext(ctx, &last, `SELECT MAX(number) FROM revisions`); err != nil {
		return 0, fmt.Errorf("read last revision: %w", err)
	}
	number := int(last.Int64) + 1
	if rev.PublishedAt.IsZero() {
		rev.PublishedAt = time.Now()
	}
	_, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO revisions (`+revisionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		number, rev.Title, rev.Summary, rev.Markdown, rev.HTML, rev.Changelog, ms(rev.PublishedAt))
	if err != nil {
		return 0, fmt.Errorf("insert revision %d: %w", number, err)
	}
	return number, nil
}

// CurrentRevision returns the latest revision.
func (s *Store) CurrentRevision(ctx context.Context) (Revision, error) {
	var r Revision
	if err := getRow(ctx, s.db, &r, "current revision", `SELECT `+revisionCols+` FROM revisions ORDER BY number DESC LIMIT 1`); err != nil {
		return r, err
	}
	r.fill()
	return r, nil
}

// Revision returns revision number n.
func (s *Store) Revision(ctx context.Context, n int) (Revision, error) {
	var r Revision
	if err := getRow(ctx, s.db, &r, "revision "+strconv.Itoa(n), s.rebind(`SELECT `+revisionCols+` FROM revisions WHERE number = ?`), n); err != nil {
		return r, err
	}
	r.fill()
	return r, nil
}

// Revisions lists every revision, newest first, without their text.
func (s *Store) Revisions(ctx context.Context) ([]Revision, error) {
	var out []Revision
	if err := s.db.SelectContext(ctx, &out, `SELECT number, title, summary, '' AS markdown, '' AS html, changelog, published_at FROM revisions ORDER BY number DESC`); err != nil {
		return nil, fmt.Errorf("list revisions: %w", err)
	}
	for i := range out {
		out[i].fill()
	}
	return out, nil
}

// SeedRevision stores rev as revision 1 unless a revision 1 exists (two processes starting together on a fresh
// database both try; one wins).
func (s *Store) SeedRevision(ctx context.Context, rev Revision) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO revisions (`+revisionCols+`) VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO NOTHING`),
		rev.Title, rev.Summary, rev.Markdown, rev.HTML, rev.Changelog, ms(rev.PublishedAt))
	if err != nil {
		return fmt.Errorf("seed revision 1: %w", err)
	}
	return nil
}

// RevisionPublishedAt returns when revision n was published, without its text (the memo's text is 70 KB, read
// for every signature until this).
func (s *Store) RevisionPublishedAt(ctx context.Context, n int) (time.Time, error) {
	var at int64
	if err := getRow(ctx, s.db, &at, "revision "+strconv.Itoa(n)+" date", s.rebind(`SELECT published_at FROM revisions WHERE number = ?`), n); err != nil {
		return time.Time{}, err
	}
	return fromMS(at), nil
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

// PublishedObjectCount counts what the publication has put out: the memo, the impulses that stand and the public
// notes (NodeInfo's localPosts).
func (s *Store) PublishedObjectCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT
		(SELECT CASE WHEN COUNT(*) > 0 THEN 1 ELSE 0 END FROM revisions)
		+ (SELECT COUNT(*) FROM impulses WHERE retracted_at IS NULL)
		+ (SELECT COUNT(*) FROM notes WHERE public = TRUE AND deleted_at IS NULL)`)
	if err != nil {
		return 0, fmt.Errorf("count published objects: %w", err)
	}
	return n, nil
}

package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// InRawTx gives tests that write rows by SQL (bulk loads for benchmarks) a transaction of the store's pool.
func (s *Store) InRawTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.InTx(ctx, func(t *Tx) error { return fn(t.tx) })
}

// Reads and writes only tests use.

// CopyByActor returns one known copy, or ErrNotFound.
func (s *Store) CopyByActor(ctx context.Context, actorIRI string) (Copy, error) {
	var c Copy
	if err := getRow(ctx, s.db, &c, "read copy "+actorIRI, s.rebind(`SELECT `+copyCols+` FROM copies c WHERE c.actor_iri = ?`), actorIRI); err != nil {
		return c, err
	}
	c.Since = fromMS(c.SinceMS)
	return c, nil
}

// FollowersPage lists followers newest first, those after the cursor `after` (a Follower.Cursor; empty for the
// first page). Keyset pagination on (created_at, actor_iri) keeps pages stable while followers come and go.
func (s *Store) FollowersPage(ctx context.Context, after string, limit int) ([]Follower, error) {
	q, args := `SELECT `+followerCols+` FROM followers`, []any{}
	if after != "" {
		msPart, iri, ok := strings.Cut(after, ",")
		at, err := strconv.ParseInt(msPart, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("followers page: bad cursor %q", after)
		}
		q += ` WHERE created_at < ? OR (created_at = ? AND actor_iri < ?)`
		args = append(args, at, at, iri)
	}
	q += ` ORDER BY created_at DESC, actor_iri DESC LIMIT ?`
	args = append(args, limit)
	var out []Follower
	if err := s.db.SelectContext(ctx, &out, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("followers page: %w", err)
	}
	for i := range out {
		out[i].CreatedAt = fromMS(out[i].CreatedMS)
	}
	return out, nil
}

// InsertInboxActivity stores a received activity unless its id is known; it reports whether it was new. A replay
// therefore stores nothing and has no second effect.
func (s *Store) InsertInboxActivity(ctx context.Context, a InboxActivity) (bool, error) {
	return s.InsertInboxActivityWithActor(ctx, a, nil)
}

// InteractionsPage lists the interactions of kind on objectIRI, oldest first, those after the activity IRI
// `after` (empty for the first page).
func (s *Store) InteractionsPage(ctx context.Context, objectIRI, kind, after string, limit int) ([]Interaction, error) {
	q, args := `SELECT `+interactionCols+` FROM interactions WHERE object_iri = ? AND kind = ?`, []any{objectIRI, kind}
	if after != "" {
		q += ` AND (created_at, activity_iri) > (SELECT created_at, activity_iri FROM interactions WHERE activity_iri = ?)`
		args = append(args, after)
	}
	q += ` ORDER BY created_at, activity_iri LIMIT ?`
	args = append(args, limit)
	var out []Interaction
	if err := s.db.SelectContext(ctx, &out, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("%s of %s: %w", kind, objectIRI, err)
	}
	for i := range out {
		out[i].CreatedAt = fromMS(out[i].CreatedMS)
	}
	return out, nil
}

// DeleteNote marks a note deleted. It reports ErrNotFound for an unknown or already deleted slug.
func (s *Store) DeleteNote(ctx context.Context, slug string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE notes SET deleted_at = ? WHERE slug = ? AND deleted_at IS NULL`), ms(s.now()), slug)
	if err != nil {
		return fmt.Errorf("delete note %s: %w", slug, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// EraseSignature deletes the actor's signature row entirely (the actor was deleted). It tells whether there was
// one.
func (s *Store) EraseSignature(ctx context.Context, actorIRI string) (bool, error) {
	var erased bool
	err := s.InTx(ctx, func(t *Tx) error {
		note, err := t.EraseSignature(ctx, actorIRI)
		erased = note != ""
		return err
	})
	return erased, err
}

// CountListedSignatures counts the listed signatures a search matches, without the cap.
func (s *Store) CountListedSignatures(ctx context.Context, search string) (int, error) {
	return s.countListedSignatures(ctx, search)
}

package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// interactions.visibility holds "public", "unlisted", "followers" or "direct". Only public and unlisted replies are
// listed or counted: the others were not addressed to the world.

// Interaction kinds.
const (
	KindLike     = "like"
	KindAnnounce = "announce"
	KindReply    = "reply"
)

// Interaction is a like, boost or reply of one of our objects, keyed by the remote activity's id. For replies,
// NoteIRI is the reply's id and Content its sanitised HTML.
type Interaction struct {
	ActivityIRI string    `db:"activity_iri"`
	Kind        string    `db:"kind"`
	ActorIRI    string    `db:"actor_iri"`
	ObjectIRI   string    `db:"object_iri"`
	NoteIRI     string    `db:"note_iri"`
	Content     string    `db:"content"`
	Visibility  string    `db:"visibility"`
	CreatedMS   int64     `db:"created_at"`
	CreatedAt   time.Time `db:"-"`
}

const interactionCols = `activity_iri, kind, actor_iri, object_iri, note_iri, content, visibility, created_at`

// AddInteraction stores an interaction once; the same activity id again changes nothing.
func (t *Tx) AddInteraction(ctx context.Context, i Interaction) (bool, error) {
	if i.CreatedAt.IsZero() {
		i.CreatedAt = t.s.now()
	}
	if i.Visibility == "" {
		i.Visibility = "public"
	}
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO interactions (activity_iri, kind, actor_iri, object_iri, note_iri, content, visibility, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (activity_iri) DO NOTHING`),
		i.ActivityIRI, i.Kind, i.ActorIRI, i.ObjectIRI, i.NoteIRI, i.Content, i.Visibility, ms(i.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("add %s %s: %w", i.Kind, i.ActivityIRI, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveInteraction removes the interaction made by activityIRI of one of kinds, only if actorIRI made it (an
// actor can undo only its own likes and boosts).
func (t *Tx) RemoveInteraction(ctx context.Context, activityIRI, actorIRI string, kinds ...string) (bool, error) {
	q, args, err := sqlx.In(`DELETE FROM interactions WHERE activity_iri = ? AND actor_iri = ? AND kind IN (?)`, activityIRI, actorIRI, kinds)
	if err != nil {
		return false, fmt.Errorf("remove interaction %s: %w", activityIRI, err)
	}
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(q), args...)
	if err != nil {
		return false, fmt.Errorf("remove interaction %s: %w", activityIRI, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveInteractionsLike removes the interactions of kind by actorIRI on objectIRI. Undo with an inline object
// whose id we never saw (Misskey re-mints some ids) still cancels the actor's like or boost of that object.
func (t *Tx) RemoveInteractionsLike(ctx context.Context, actorIRI, kind, objectIRI string) (int, error) {
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`DELETE FROM interactions WHERE actor_iri = ? AND kind = ? AND object_iri = ?`), actorIRI, kind, objectIRI)
	if err != nil {
		return 0, fmt.Errorf("remove %s of %s by %s: %w", kind, objectIRI, actorIRI, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RemoveReply removes the reply whose note is noteIRI, only if actorIRI wrote it.
func (t *Tx) RemoveReply(ctx context.Context, noteIRI, actorIRI string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`DELETE FROM interactions WHERE kind = 'reply' AND note_iri = ? AND actor_iri = ?`), noteIRI, actorIRI)
	if err != nil {
		return false, fmt.Errorf("remove reply %s: %w", noteIRI, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// UpdateReply replaces the content and visibility of the reply whose note is noteIRI, only if actorIRI wrote
// it (an edit on the remote server). It reports whether there was such a reply.
func (t *Tx) UpdateReply(ctx context.Context, noteIRI, actorIRI, content, visibility string) (bool, error) {
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`UPDATE interactions SET content = ?, visibility = ? WHERE kind = 'reply' AND note_iri = ? AND actor_iri = ?`), content, visibility, noteIRI, actorIRI)
	if err != nil {
		return false, fmt.Errorf("update reply %s: %w", noteIRI, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// LocalObjectExists tells whether one of our objects exists: kind is "revision" (key: its number), "impulse"
// (slug) or "note" (slug). Likes and boosts of anything else are refused.
func (s *Store) LocalObjectExists(ctx context.Context, kind, key string) (bool, error) {
	var q string
	switch kind {
	case "revision":
		q = `SELECT COUNT(*) FROM revisions WHERE CAST(number AS TEXT) = ?`
	case "impulse":
		q = `SELECT COUNT(*) FROM impulses WHERE slug = ? AND retracted_at IS NULL`
	case "note":
		q = `SELECT COUNT(*) FROM notes WHERE slug = ? AND deleted_at IS NULL`
	default:
		return false, fmt.Errorf("local object kind %q", kind)
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.rebind(q), key); err != nil {
		return false, fmt.Errorf("%s %s exists: %w", kind, key, err)
	}
	return n > 0, nil
}

// InteractionCounts are the totals of an object's replies, likes and shares (boosts).
type InteractionCounts struct {
	Replies int `db:"replies"`
	Likes   int `db:"likes"`
	Shares  int `db:"shares"`
}

// InteractionCounts counts the interactions recorded on one of our objects.
func (s *Store) InteractionCounts(ctx context.Context, objectIRI string) (InteractionCounts, error) {
	// Kept by triggers (migration 0008); an object nobody interacted with has no row.
	var c InteractionCounts
	err := getRow(ctx, s.db, &c, "interaction counts of "+objectIRI, s.rebind(`SELECT replies, likes, shares FROM interaction_counts WHERE object_iri = ?`), objectIRI)
	if errors.Is(err, ErrNotFound) {
		return InteractionCounts{}, nil
	}
	return c, err
}

// ReplyIRIs lists the IRIs of the public and unlisted replies to an object, oldest first, skipping offset.
func (s *Store) ReplyIRIs(ctx context.Context, objectIRI string, offset, limit int) ([]string, error) {
	out := []string{}
	err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT CASE WHEN note_iri <> '' THEN note_iri ELSE activity_iri END
		FROM interactions WHERE object_iri = ? AND kind = 'reply' AND visibility IN ('public', 'unlisted')
		ORDER BY created_at, activity_iri LIMIT ? OFFSET ?`), objectIRI, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("replies of %s: %w", objectIRI, err)
	}
	return out, nil
}

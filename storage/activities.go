package storage

import (
	"context"
	"fmt"
	"time"
)

// Activity is an outgoing activity as stored: its exact JSON body is what every delivery sends.
type Activity struct {
	ID          int64     `db:"id"`
	IRI         string    `db:"iri"`
	Type        string    `db:"type"`
	ObjectIRI   string    `db:"object_iri"`
	Body        string    `db:"body"`
	InOutbox    bool      `db:"in_outbox"`
	PublishedMS int64     `db:"published_at"`
	PublishedAt time.Time `db:"-"`
}

// Recipient is one inbox a delivery goes to; Domain groups deliveries for per-domain limits and availability.
type Recipient struct {
	Inbox  string
	Domain string
}

const activityCols = `id, iri, type, object_iri, body, in_outbox, published_at`

// InsertActivity stores an outgoing activity and one pending delivery per recipient, in the caller's
// transaction, so that nothing is sent that was not stored and nothing stored is forgotten (transactional outbox).
// Recipients are deduplicated by inbox. An activity whose IRI exists already is left as it is (idempotent).
func (t *Tx) InsertActivity(ctx context.Context, a Activity, recipients []Recipient) error {
	if a.PublishedAt.IsZero() {
		a.PublishedAt = t.s.now()
	}
	res, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO activities (iri, type, object_iri, body, in_outbox, published_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (iri) DO NOTHING`),
		a.IRI, a.Type, a.ObjectIRI, a.Body, a.InOutbox, ms(a.PublishedAt))
	if err != nil {
		return fmt.Errorf("insert activity %s: %w", a.IRI, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	now := ms(t.s.now())
	seen := map[string]bool{}
	for _, r := range recipients {
		if r.Inbox == "" || seen[r.Inbox] {
			continue
		}
		seen[r.Inbox] = true
		if _, err := t.tx.ExecContext(ctx, t.tx.Rebind(`INSERT INTO deliveries (activity_iri, inbox, domain, state, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (activity_iri, inbox) DO NOTHING`),
			a.IRI, r.Inbox, r.Domain, now, now, now); err != nil {
			return fmt.Errorf("enqueue delivery of %s to %s: %w", a.IRI, r.Inbox, err)
		}
	}
	return nil
}

// InsertActivity is Tx.InsertActivity in a transaction of its own.
func (s *Store) InsertActivity(ctx context.Context, a Activity, recipients []Recipient) error {
	return s.InTx(ctx, func(t *Tx) error { return t.InsertActivity(ctx, a, recipients) })
}

// ActivityByIRI returns one stored outgoing activity.
func (s *Store) ActivityByIRI(ctx context.Context, iri string) (Activity, error) {
	var a Activity
	if err := getRow(ctx, s.db, &a, "activity "+iri, s.rebind(`SELECT `+activityCols+` FROM activities WHERE iri = ?`), iri); err != nil {
		return a, err
	}
	a.PublishedAt = fromMS(a.PublishedMS)
	return a, nil
}

// OutboxPage lists public activities newest first, those with id < before (0 for the first page).
func (s *Store) OutboxPage(ctx context.Context, before int64, limit int) ([]Activity, error) {
	if before <= 0 {
		before = 1 << 62
	}
	var out []Activity
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+activityCols+` FROM activities WHERE in_outbox = TRUE AND id < ? ORDER BY id DESC LIMIT ?`), before, limit); err != nil {
		return nil, fmt.Errorf("outbox page: %w", err)
	}
	for i := range out {
		out[i].PublishedAt = fromMS(out[i].PublishedMS)
	}
	return out, nil
}

// OutboxCount counts the public activities.
func (s *Store) OutboxCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM activities WHERE in_outbox = TRUE`); err != nil {
		return 0, fmt.Errorf("outbox count: %w", err)
	}
	return n, nil
}

// OutboxPageAfter lists public activities with id > after, newest first: the page just newer than a given one,
// which an OrderedCollectionPage links as prev.
func (s *Store) OutboxPageAfter(ctx context.Context, after int64, limit int) ([]Activity, error) {
	var out []Activity
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+activityCols+` FROM activities WHERE in_outbox = TRUE AND id > ? ORDER BY id ASC LIMIT ?`), after, limit); err != nil {
		return nil, fmt.Errorf("outbox page after %d: %w", after, err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	for i := range out {
		out[i].PublishedAt = fromMS(out[i].PublishedMS)
	}
	return out, nil
}
